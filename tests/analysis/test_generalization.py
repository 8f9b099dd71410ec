"""generalization and context: the laws recover known synthetic truths, and every printed sentence is true
in each branch."""

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


def test_phase_residual_only_inside_the_fitted_range_and_every_branch():
    f = _final(1.0, 0.5, noise=0.001)
    line = gz.offset_line(f, "s", n_boot=50)
    rows = []
    for shift, name in ((0.0, "on"), (0.2, "above")):
        for i, x in enumerate(np.linspace(4.25, 4.95, 6)):
            rows.append({"run_id": f"{name}{i}", "set": "s", "val_loss": x, "loss": line.predict([x])[0] + shift,
                         "is_final": False, "after_warmup": True})
    rows.append({"run_id": "early", "set": "s", "val_loss": 6.5, "loss": 99.0, "is_final": False, "after_warmup": True})
    c = pd.DataFrame(rows)
    on = gz.phase_residual(c[c.run_id.str.startswith(("on", "early"))], line, n_boot=50)
    assert abs(on["mean"]) < 1e-9 and on["n_points"] == 6  # the point at 6.5 nats lies outside the fitted range
    assert "depends on the in-distribution loss" in gz.describe_phase("s", on, 0.05)
    above = gz.phase_residual(c[c.run_id.str.startswith("above")], line, n_boot=50)
    said = gz.describe_phase("s", above, 0.05)
    assert abs(above["mean"] - 0.2) < 1e-9 and "lies above the margin" in said and "worse" in said
    assert "no mid-training" in gz.describe_phase("s", {"mean": None}, 0.05)


def _pr(mean, lo, hi):
    return {"mean": mean, "ci": (lo, hi), "n_runs": 5, "n_points": 15}


def test_phase_sentence_is_inconclusive_when_the_interval_exceeds_the_margin():
    wide = gz.describe_phase("s", _pr(-0.13, -0.41, 0.15), 0.05)  # linux-kernel-docs today: zero inside, ±0.41 wide
    assert "inconclusive" in wide and "depends on the in-distribution loss" not in wide
    tight = gz.describe_phase("s", _pr(-0.01, -0.04, 0.02), 0.05)
    assert "inconclusive" not in tight and "not on the phase" in tight
    off = gz.describe_phase("s", _pr(-0.044, -0.074, -0.011), 0.05)  # excludes 0, overlaps the margin
    assert "below the line" in off and "inconclusive" in off
    below = gz.describe_phase("s", _pr(-0.2, -0.3, -0.1), 0.05)
    assert "lies below the margin" in below and "better" in below
    assert "no interval" in gz.describe_phase("s", _pr(0.0, None, None), 0.05)
    assert gz.claim_delta("ood.phase_deviation:*") == 0.05  # the notebook's margin is the claim's


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
