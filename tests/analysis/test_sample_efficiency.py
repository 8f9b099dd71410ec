"""Learning-curve fits (notebook 05) start after each run's own warmup."""


import numpy as np
import pytest


def test_kaplan_ns_drops_each_points_own_warmup():
    """warmup_steps may be one per point (each run's own warmup): every point at S <= its run's warmup is
    left out of the fit, and the message says how many and which warmups."""
    from scalinglaws import fit as F

    N = np.repeat([1e4, 3e4, 1e5], 8)
    S = np.tile(np.geomspace(10, 4000, 8), 3)
    L = (8e8 / N) ** 0.076 + (2e3 / S) ** 0.5
    warm = np.repeat([50.0, 100.0, 400.0], 8)
    r = F.fit_kaplan_ns(N, S, L, warmup_steps=warm, n_boot=0)
    kept = S > warm
    assert len(r.points) == kept.sum() and (r.points["S"] > np.repeat([50, 100, 400], 8)[kept]).all()
    assert f"{(~kept).sum()} point(s) at S <= warmup_steps=50-400 (per run) dropped" in r.message
    with pytest.raises(Exception, match="one per point"):
        F.fit_kaplan_ns(N, S, L, warmup_steps=[1.0, 2.0])


def test_learning_curve_fits_on_the_store_start_after_each_runs_warmup():
    """Regression (issue 15): the runs table carried the spec's warmup_steps=0 ("automatic"), so the
    Eq. 1.6 fits kept every eval inside warmup. The table must carry the effective warmup, and the
    Eq. 1.6 fit on the published depth runs must drop every point at or before it."""
    import json
    from pathlib import Path

    from scalinglaws.store.tables import load_runs
    from scalinglaws.training.spec import RunSpec

    store = Path(__file__).resolve().parents[2] / "runs" / "cpu"
    specs = [RunSpec.from_dict(json.loads(c.read_text())["spec"]) for c in sorted(store.glob("*/config.json"))]
    specs = [s for s in specs if s.label.startswith("depth")]
    if not specs:
        pytest.skip("no published cpu store")
    runs = load_runs(specs, store)
    want = {s.run_id: s.warmup for s in specs}
    assert runs["warmup"].tolist() == [want[r] for r in runs["run_id"]] and runs["warmup"].min() > 1
    early = runs["step"] <= runs["warmup"]
    assert early.any(), "the published curves have evals inside warmup: the check below needs them"
    from scalinglaws import fit as F

    # the Eq. 1.6 fit as notebook 05 calls it, on the runs table's per-run warmup
    ns = F.fit_kaplan_ns(runs["N"], runs["step"], runs["val_loss"], warmup_steps=runs["warmup"],
                         groups=runs["run_id"], n_boot=0, seed=0)
    assert len(ns.points) == (~early).sum()
    assert ns.points["S"].min() > runs["warmup"].min()
    assert f"{early.sum()} point(s) at S <= warmup_steps=" in ns.message




def _curves(alphas, warm=100.0, n_steps=12, noise=0.0, seed=0):
    """Synthetic learning curves after warmup: run i has L = E_i + (S_c/S)^alpha_i at log-spaced steps."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for i, a in enumerate(alphas):
        N = 1e4 * 3 ** i
        E = (1e9 / N) ** 0.08
        for S in np.geomspace(10, 5000, n_steps):
            L = E + (300 / S) ** a
            rows.append({"run_id": f"r{i}", "N": N, "step": float(S), "warmup": warm,
                         "val_loss": L * (1 + noise * rng.standard_normal())})
    return pd.DataFrame(rows)


def test_per_run_alpha_s_recovers_each_runs_own_exponent():
    from scalinglaws.analysis import sample_efficiency as se

    per = se.per_run_alpha_s(_curves([0.3, 0.5, 0.7]))
    assert per["alpha_S"].to_numpy() == pytest.approx([0.3, 0.5, 0.7], rel=0.05)
    assert (per["points"] == (np.geomspace(10, 5000, 12) > 100).sum()).all()


def test_warmup_cuts_table_and_unreliable_reasons():
    import pandas as pd

    from scalinglaws.analysis import sample_efficiency as se

    cuts, fits = se.alpha_s_by_warmup_cut(_curves([0.5] * 4, noise=0.002), (1, 2), n_boot=20, seed=0)
    assert list(cuts["cut"]) == [1, 2] and set(fits) == {1, 2}
    assert cuts["points"].iloc[0] > cuts["points"].iloc[1] and cuts["converged"].all()
    assert cuts["alpha_S"].to_numpy() == pytest.approx([0.5, 0.5], abs=0.1)

    def table(a, lo, hi):
        return pd.DataFrame({"cut": [1.0, 2.0, 4.0], "alpha_S": a, "lo": lo, "hi": hi})

    stable = table([0.44, 0.40, 0.42], [0.3, 0.3, 0.3], [0.6, 0.5, 0.5])
    assert se.alpha_s_unreliable(stable, s_is_s_min=True) == ""
    moving = table([0.44, 0.16, 0.18], [0.40, 0.1, 0.1], [0.50, 0.3, 0.3])
    assert se.alpha_s_unreliable(moving, s_is_s_min=True) == \
        "alpha_S moves by 0.28 across warmup cuts x1/x2/x4, more than its own interval width 0.1"
    raw = se.alpha_s_unreliable(stable, s_is_s_min=False)
    assert raw.startswith("S is raw optimizer steps") and "moves" not in raw
    no_ci = table([0.44, 0.40, 0.42], [np.nan] * 3, [np.nan] * 3)
    assert se.alpha_s_unreliable(no_ci, s_is_s_min=True).startswith("no interval at the warmup cut x1")
    lost = table([0.44, np.nan, 0.42], [0.3, np.nan, 0.3], [0.6, np.nan, 0.5])
    assert se.alpha_s_unreliable(lost, s_is_s_min=True) == "1 of the warmup cuts x1/x2/x4 gave no converged fit"
    assert "x2: no fit, x4: 0.42 (range 0.42-0.44" in se.alpha_s_note(lost, pd.DataFrame({"alpha_S": [np.nan]}))

    per = pd.DataFrame({"alpha_S": [0.12, 0.5, 0.68, np.nan]})
    note = se.alpha_s_note(moving, per)
    assert "x1: 0.44, x2: 0.16, x4: 0.18 (range 0.16-0.44; interval width at x1: 0.1)" in note
    assert "per-run fits 0.12-0.68 (median 0.5, 3 of 4 runs)" in note
    s = se.interpret_alpha_s(moving, per, 0.76, se.alpha_s_unreliable(moving, s_is_s_min=False))
    assert s.startswith("alpha_S = 0.44 [0.4, 0.5], the paper's 0.76 above the interval; across warmup cuts x1/x2/x4 "
                        "it ranges 0.16-0.44, and fitted run by run 0.12-0.68. It does not decide the claim: alpha_S moves")
    s = se.interpret_alpha_s(stable, per, 0.5, "")
    assert "the paper's 0.5 inside" in s and s.endswith("Nothing here speaks against reading it as Kaplan's alpha_S.")
    assert "(no interval) against the paper's 0.76" in se.interpret_alpha_s(no_ci, per, 0.76, "x")
    assert "did not give an alpha_S" in se.interpret_alpha_s(table([np.nan] * 3, [np.nan] * 3, [np.nan] * 3), per, 0.76, "")


def test_holdout_sentence_reports_abs_error_signed_range_and_sign_changes_with_N():
    import pandas as pd

    from scalinglaws.analysis import sample_efficiency as se

    def pred(errs):
        return pd.DataFrame({"N": [1e4 * 2 ** i for i in range(len(errs))][::-1], "error_pct": errs[::-1]})

    s = se.interpret_holdout(pred([-3.6, -4.7, -1.7, 0.9, 4.4, 8.1, 8.2]))
    assert s.startswith("From the first half of each curve the law predicts the final loss with a median |error| of "
                        "4.40% (signed errors -4.7% to +8.2% over 7 runs); the sign changes once with N: it "
                        "under-predicts the smaller models and over-predicts from N = 80,000 up")
    assert se.interpret_holdout(pred([1.0, 2.0, 3.0])).endswith("it over-predicts every run.")
    assert se.interpret_holdout(pred([-1.0, -2.0])).endswith("it under-predicts every run.")
    assert se.interpret_holdout(pred([2.0, -1.0])).endswith("over-predicts the smaller models and under-predicts "
                                                             "from N = 20,000 up, so its error depends on model size, not just on noise.")
    assert "the sign changes 2 times along N" in se.interpret_holdout(pred([1.0, -1.0, 1.0]))
    assert "same sign; the rest are predicted exactly" in se.interpret_holdout(pred([0.0, 1.0, 2.0]))


def test_tokens_to_target_sentence_counts_intervals_above_zero():
    import pandas as pd

    from scalinglaws.analysis import sample_efficiency as se

    rf = pd.DataFrame({"exponent": [0.41, 0.38, 0.40], "lo": [-1.2, 0.06, 0.16], "hi": [2.0, 0.7, 0.6], "models": [3, 4, 7]})
    s = se.interpret_tokens_to_target(rf)
    assert "k from 0.38 to 0.41 across 3 target losses; 2 of 3 intervals lie wholly above 0; the rest reach 0 " \
           "(fits on 3 models)" in s
    assert se.interpret_tokens_to_target(rf.assign(lo=0.1)).endswith("at every target the larger models need fewer tokens.")
    assert "wholly below 0" in se.interpret_tokens_to_target(rf.assign(hi=[-0.1, 0.7, 0.6]))
    assert se.interpret_tokens_to_target(rf.iloc[:0]).startswith("No target loss")


def test_tokens_to_target_fit_is_least_squares_with_a_t_interval_on_three_models():
    """Tokens are no loss: notebook 05 fits them with huber_scale=None; 3 models give a Student-t interval
    and a few_points record."""
    from scalinglaws import fit as F
    from scalinglaws.records import from_fit

    N = np.array([1e5, 2e5, 4e5])
    tokens = 3e9 * N ** -0.4 * np.array([1.02, 0.97, 1.01])
    ft = F.fit_power_law(N, tokens, n_boot=50, seed=0, huber_scale=None)
    assert ft.ci_method.startswith("t interval") and ft.ci["alpha"][0] < 0.4 < ft.ci["alpha"][1]
    r = from_fit(ft, "alpha", "tokens_to_target.exponent:L=4.000", "tokens-to-target exponent at L=4.000",
                 n_points=3, span=float(np.log10(4)))
    assert r.status == "few_points" and r.n_points == 3


def test_curves_end_where_the_cooldown_starts_and_cosine_runs_stay_whole():
    import pandas as pd
    from scalinglaws.analysis import sample_efficiency as se

    wsd = pd.DataFrame({"run_id": "w", "schedule": "wsd", "decay_start": 80, "step": [10, 50, 80, 90, 100],
                        "val_loss": [5.0, 4.5, 4.3, 4.1, 4.0], "is_final": [False] * 4 + [True]})
    cos = pd.DataFrame({"run_id": "c", "schedule": "cosine", "decay_start": 80, "step": [10, 50, 100],
                        "val_loss": [5.0, 4.5, 4.2], "is_final": [False, False, True]})
    out = se.before_cooldown(pd.concat([wsd, cos], ignore_index=True))
    assert list(out[out.run_id == "w"].step) == [10, 50, 80] and list(out[out.run_id == "c"].step) == [10, 50, 100]
    assert set(out.loc[out.is_final, "step"]) == {80, 100}  # each curve's end is its last kept point


def test_targets_are_distinct_as_the_records_name_them():
    import pandas as pd
    from scalinglaws.analysis import sample_efficiency as se

    same = pd.DataFrame({"N": [1e3, 2e3, 4e3], "final_val_loss": [5.3, 5.3, 5.3]})  # nothing separates the sizes
    assert len(se.target_losses(same, k=3)) == 1
    spread = pd.DataFrame({"N": [1e3, 2e3, 4e3, 8e3], "final_val_loss": [5.0, 4.6, 4.3, 4.0]})
    t = se.target_losses(spread, k=3)
    assert len(t) == 3 and len({f"{x:.3f}" for x in t}) == 3
