"""generalization and context: the laws recover known synthetic truths, and every printed sentence is true
in each branch."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
from scalinglaws.analysis import context_and_lstm as cx
from scalinglaws.analysis import generalization as gz


def _final(slope, offset, n=6, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    x = np.linspace(4.2, 5.0, n)
    return pd.DataFrame({"run_id": [f"r{i}" for i in range(n)], "set": "s", "val_loss": x,
                         "loss": offset + x + (slope - 1) * (x - x.mean()) + rng.normal(0, noise, n)})


def test_offset_line_recovers_slope_and_offset():
    line = gz.offset_line(_final(1.0, 0.5, noise=0.005), "s", n_boot=100)
    assert abs(line.slope - 1) < 0.05 and abs(line.offset_at_ref - 0.5) < 0.02
    assert line.slope_ci[0] <= 1 <= line.slope_ci[1]
    assert "constant offset" in gz.describe_offset(line) and "inside" in gz.describe_offset(line)
    steep = gz.offset_line(_final(1.6, 0.5, noise=0.002), "s", n_boot=100)
    assert steep.slope_ci[0] > 1 and "widens" in gz.describe_offset(steep)
    flat = gz.offset_line(_final(0.5, 0.5, noise=0.002), "s", n_boot=100)
    assert flat.slope_ci[1] < 1 and "narrows" in gz.describe_offset(flat)
    assert gz.offset_line(_final(1.0, 0.5, n=2), "s") is None  # too few runs: no line


TRUNK_STEPS = (5, 12, 25, 50, 100, 200, 320, 360, 400)  # warmup 10, stable phase to step 320, cooldown after


def _books(step, size):
    return 4.6 - 0.1 * size + 1.5 * step ** -0.5


def _trunk_and_branches(n_sizes, shift, drop=-0.2, slope=0.9, noise=0.0, seed=0, gain=None):
    """(evals, roles) of n_sizes sizes on text "s", each a WSD trunk of 400 steps (warmup 10, cooldown from step
    320) whose stable-phase points lie on its own relation L_other = 0.8 + slope·L_books, with branches of 100 and
    200 steps whose ends lie `drop` nats below the trunk's books loss at the same step and `shift` nats off that
    relation (or, with `gain`, `gain` nats from the trunk's other-text loss there). Points the comparison must
    not read (warmup, the trunk's cooldown, a branch's points before its end) are planted far off the relation."""
    rng = np.random.default_rng(seed)
    specs, rows = [], []
    for k in range(n_sizes):
        trunk = SimpleNamespace(run_id=f"t{k}", branch_from="", schedule="wsd", warmup=10, decay_start=320, tokens=40_000)
        specs.append(trunk)
        for step in TRUNK_STEPS:
            x = _books(step, k)
            y = 0.8 + slope * x + (0.0 if 10 < step <= 320 else 3.0)
            rows.append({"run_id": trunk.run_id, "step": step, "tokens": 100 * step, "set": "s", "loss": y, "N": 1e4 * (k + 1),
                         "val_loss": x, "is_final": step == 400})
        for budget in (100, 200):
            b = SimpleNamespace(run_id=f"t{k}b{budget}", branch_from=trunk.run_id, schedule="wsd", warmup=10,
                                decay_start=int(0.8 * budget), tokens=100 * budget)
            specs.append(b)
            x_t = _books(budget, k)
            x_b = x_t + drop
            y_b = (0.8 + slope * x_t + gain) if gain is not None else (0.8 + slope * x_b + shift)
            rows.append({"run_id": b.run_id, "step": budget, "tokens": 100 * budget, "set": "s", "N": 1e4 * (k + 1),
                         "loss": y_b + rng.normal(0, noise), "val_loss": x_b, "is_final": True})
            rows.append({"run_id": b.run_id, "step": budget // 2, "tokens": 50 * budget, "set": "s", "N": 1e4 * (k + 1),
                         "loss": 99.0, "val_loss": x_b, "is_final": False})
    return pd.DataFrame(rows), gz.run_roles(specs)


def _shift(n_sizes, shift, **kw):
    ev, roles = _trunk_and_branches(n_sizes, shift, **kw)
    return gz.anneal_shift(gz.phase_points(ev, roles), "s", n_boot=400, seed=1)


def test_phase_points_read_the_trunks_stable_phase_and_the_branch_ends_only():
    ev, roles = _trunk_and_branches(2, 0.0)
    assert list(roles.role) == ["trunk", "branch", "branch"] * 2 and set(roles.family) == {"t0", "t1"}
    pts = gz.phase_points(ev, roles)
    stable, ends = pts[pts.point == gz.STABLE], pts[pts.point == gz.END]
    assert sorted(stable[stable.family == "t0"].step) == [12, 25, 50, 100, 200, 320]  # no warmup, no cooldown
    assert sorted(ends.step) == [100, 100, 200, 200] and (pts.loss < 50).all()  # branch ends only, final rows
    cosine = gz.run_roles([SimpleNamespace(run_id="c", branch_from="", schedule="cosine", warmup=5, decay_start=9,
                                           tokens=10)])
    assert gz.phase_points(ev.assign(run_id="c"), cosine).empty  # a cosine run has no constant-LR phase


def test_anneal_shift_tells_a_relation_annealing_keeps_from_one_it_changes():
    delta = gz.claim_delta("ood.anneal_shift:*")
    same = _shift(6, 0.0, noise=0.01)  # branch ends on their trunks' line
    moved = _shift(6, 0.15, noise=0.01)  # annealing lifts the other text 0.15 nats off the line
    for a in (same, moved):
        assert a["n_sizes"] == 6 and a["n_ends"] == 12 and a["ci_method"] == "percentile bootstrap over 6 sizes"
        assert abs(a["slope"] - 0.9) < 1e-6 and abs(a["drop"] + 0.2) < 1e-9 and a["extrapolated"] == 0
        assert gz.anneal_testable(a, delta)["testable"]  # the cooldown moves the line's prediction 0.18 > 0.05
    assert abs(same["mean"]) < 0.01 and -delta < same["ci"][0] < same["ci"][1] < delta
    assert abs(moved["mean"] - 0.15) < 0.01 and moved["ci"][0] > delta
    said_same = gz.describe_anneal("s", same, delta, gz.anneal_testable(same, delta))
    said_moved = gz.describe_anneal("s", moved, delta, gz.anneal_testable(moved, delta))
    assert "lie on one line" in said_same and "changes the relation" not in said_same and "few points" not in said_same
    assert "annealing changes the relation" in said_moved and "worse" in said_moved and "one line" not in said_moved
    # the rival of "one line": the cooldown lowers the books loss but leaves the other text where the trunk was
    unchanged = _shift(6, 0.0, gain=0.0)
    assert abs(unchanged["mean"] - 0.18) < 1e-6 and unchanged["ci"][0] > delta
    lower = _shift(6, -0.15, noise=0.01)
    assert "lies below the margin" in gz.describe_anneal("s", lower, delta, gz.anneal_testable(lower, delta))


def test_anneal_shift_with_few_sizes_or_a_cooldown_too_small_to_tell():
    delta = 0.05
    few = _shift(3, 0.0, noise=0.01)
    assert few["ci_method"] == "Student-t over 3 sizes (2 degrees of freedom)" and few["ci"][0] < few["mean"] < few["ci"][1]
    said = gz.describe_anneal("s", few, delta, gz.anneal_testable(few, delta))
    assert "few points: 3 sizes, fewer than 5" in said
    assert "of 3 sizes; few points)" in gz.describe_cooldown(few) and "few points" not in gz.describe_cooldown(_shift(6, 0.0))
    tiny = _shift(6, 0.0, drop=-0.02, noise=0.001)  # the cooldown barely moves the books loss
    reach = gz.anneal_testable(tiny, delta)
    assert not reach["testable"] and "cannot tell one line from" in reach["reason"] and "-0.020" in reach["reason"]
    assert "cannot tell one line from" in gz.describe_anneal("s", tiny, delta, reach)
    none = gz.anneal_shift(gz.phase_points(*_trunk_and_branches(2, 0.0)), "other text", n_boot=50)
    assert none["mean"] is None and not gz.anneal_testable(none, delta)["testable"]
    assert "no branch end" in gz.describe_anneal("other text", none, delta, gz.anneal_testable(none, delta))
    assert "No branch end" in gz.describe_cooldown(none)
    assert gz.anneal_shift(gz.phase_points(*_trunk_and_branches(6, 0.0)), "s", n_boot=0)["ci"] == (None, None)
    assert gz.mean_interval([0.1], n_boot=100) == ((None, None), None)  # one size: no interval


def _ash(mean, lo, hi, n=6):
    return {"mean": mean, "ci": (lo, hi), "ci_method": "m", "n_sizes": n, "move": -0.2, "drop": -0.2, "slope": 1.0}


def test_anneal_sentence_in_every_branch():
    ok = {"testable": True, "reason": "r"}
    assert "inconclusive" in gz.describe_anneal("s", _ash(0.01, -0.08, 0.1), 0.05, ok)
    assert "lie above the relation" in gz.describe_anneal("s", _ash(0.05, 0.01, 0.09), 0.05, ok)
    assert "no interval" in gz.describe_anneal("s", _ash(0.0, None, None), 0.05, ok)
    assert gz.claim_delta("ood.anneal_shift:*") == 0.05  # the notebook's margin is the claim's


def _line(slope, ci, offset=0.9, ref=4.4):
    return gz.Line("s", slope, ci, offset, (offset - 0.05, offset + 0.05), ref, 7, 200)


def test_offset_sentence_names_the_ratio_rival_in_every_branch():
    r, (rlo, rhi) = gz.ratio_slope(_line(1.0, (0.9, 1.1)))
    assert abs(r - 5.3 / 4.4) < 1e-12 and rlo < r < rhi  # a constant ratio: slope = L_other / L_books
    both = gz.describe_offset(_line(0.92, (0.83, 1.37)))  # fortunes today
    assert "cannot tell a constant offset from a constant ratio" in both
    assert "ratio's slope is outside" in gz.describe_offset(_line(1.0, (0.95, 1.05)))
    ratio = gz.describe_offset(_line(1.2, (1.1, 1.3)))
    assert "1 is outside" in ratio and "not a constant offset" in ratio
    assert "narrows" in gz.describe_offset(_line(0.87, (0.75, 0.96)))  # gcide today: neither
    assert "widens" in gz.describe_offset(_line(1.8, (1.5, 2.1)))
    assert "no interval" in gz.describe_offset(_line(1.0, (float("nan"), float("nan"))))


def test_vocab_check_marks_text_worse_than_a_uniform_guess():
    ln_v = np.log(1024)
    oov = gz.vocab_check([ln_v + 0.5] * 6 + [ln_v - 0.1], 1024)  # linux-kernel-docs today: 6 of 7 above
    assert oov["oov"] and (oov["k"], oov["n"]) == (6, 7) and "6 of 7 sizes" in oov["reason"] and "6.93" in oov["reason"]
    ok = gz.vocab_check([5.3, 5.2, 5.1, 5.0, 4.9, 4.8, 4.7], 1024)
    assert not ok["oov"] and ok["k"] == 0 and "out of this tokenizer's reach" not in ok["reason"]
    assert not gz.vocab_check([ln_v + 1] * 3 + [ln_v - 1] * 4, 1024)["oov"]  # a minority above: still in reach
    assert not gz.vocab_check([], 1024)["oov"]
    said = gz.describe_sets(["fortunes"], {"linux": oov["reason"]})
    assert "1 text set(s): fortunes" in said and "linux (6 of 7" in said
    assert "no set was left out" in gz.describe_sets(["a", "b"], {})


def test_position_law_and_late_gain_branches():
    t = np.arange(1, 129)
    small = 4.5 + (3 / t) ** 0.5
    big = 4.2 + (3 / t) ** 0.5 - 0.002 * np.log(t)  # better everywhere, more so late
    pos = cx.position_table([{"run_id": "a", "N": 1e3, "losses": small}, {"run_id": "b", "N": 1e5, "losses": big}])
    fit = cx.fit_position_law(pos[pos.run_id == "a"], n_boot=20)
    assert abs(fit.params["alpha"] - 0.5) < 0.02 and abs(fit.params["E"] - 4.5) < 0.02
    g = cx.late_gain(pos, "a", "b", (2, 8), (64, 128))
    assert g["late_gain"] > g["early_gain"] > 0 and "as Kaplan found" in cx.describe_late_gain(g, 1e3, 1e5)
    worse = cx.late_gain(pos, "b", "a", (2, 8), (64, 128))  # the "larger" model is worse everywhere
    assert "higher by" in cx.describe_late_gain(worse, 1e5, 1e3) and "does not improve" in cx.describe_late_gain(worse, 1e5, 1e3)
    flat_after_16 = pd.DataFrame({"t": t, "loss": 4.5 + np.where(t < 16, (16 / t) ** 0.5 - 1, 0.0)})
    assert cx.plateau_position(flat_after_16) == 16  # an LSTM-like curve: context beyond 16 tokens does not help
    assert cx.plateau_position(pos[pos.run_id == "a"]) == 128  # a power law still falls > 1% per doubling at the end
    assert cx.plateau_position(pd.DataFrame({"t": t, "loss": 5 - 0.01 * t})) == 128
