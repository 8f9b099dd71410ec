"""Compute allocation (notebook 06): the Chinchilla contrast, the frontier, Approach 3 and the ablation story."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scalinglaws.analysis import allocation
from scalinglaws.analysis import allocation as al


def test_chinchilla_interpretation_says_whether_the_two_exponents_agree():
    def f(a, lo, hi):
        return SimpleNamespace(params={"a": a}, ci={"a": (lo, hi)})

    agree = allocation.interpret_chinchilla(f(0.77, 0.70, 0.89), f(0.79, 0.54, 0.94), None)
    assert "overlap: at this scale the two methods are not told apart" in agree and "not resolved" in agree
    apart = allocation.interpret_chinchilla(f(0.73, 0.70, 0.76), f(0.50, 0.45, 0.55), None)
    assert "do not overlap" in apart and "larger" in apart and "opposite" not in apart
    opposite = allocation.interpret_chinchilla(f(0.24, 0.11, 0.30), f(0.79, 0.54, 0.94), None)
    assert "smaller" in opposite and "opposite" in opposite
    no_ci = allocation.interpret_chinchilla(f(0.77, float("nan"), float("nan")), f(0.79, 0.54, 0.94), None)
    assert "overlap" not in no_ci


def test_frontier_loss_fit_needs_two_model_sizes(capsys):
    """One size's stretch of the frontier is its own learning curve: no L(C) frontier fit from it."""
    C = np.geomspace(1e11, 1e13, 12)
    one = pd.DataFrame({"C": C, "L": 30.0 * C**-0.05, "N": 25_000.0})
    assert allocation.frontier_loss_fit(one, n_boot=0, seed=0) is None
    assert "1 model size(s)" in capsys.readouterr().out
    two = one.assign(N=np.where(C < 1e12, 25_000.0, 85_000.0))
    r = allocation.frontier_loss_fit(two, n_boot=0, seed=0)
    assert r.converged and r.params["alpha"] == pytest.approx(0.05, rel=1e-6)








def _fit(params, ci, converged=True, L=(4.0, 5.0), no_interval=None):
    return SimpleNamespace(params=params, ci=ci, converged=converged, points=pd.DataFrame({"L": list(L)}),
                           no_interval=no_interval or {})


def test_methods_agree_when_the_two_intervals_overlap():
    def a(v, lo, hi):
        return SimpleNamespace(params={"a": v}, ci={"a": (lo, hi)})

    assert allocation.methods_agree(a(0.77, 0.70, 0.89), a(0.79, 0.54, 0.94)) is True
    assert allocation.methods_agree(a(0.73, 0.70, 0.76), a(0.50, 0.45, 0.55)) is False
    assert allocation.methods_agree(a(0.73, np.nan, np.nan), a(0.50, 0.45, 0.55)) is None
    assert allocation.methods_agree(None, a(0.50, 0.45, 0.55)) is None


def test_approach3_is_not_used_for_claims_when_unreliable():
    ok, why = allocation.approach3_reliable(_fit({"E": 1.7}, {"E": (1.5, 1.9)}, L=(3.0, 4.0)))
    assert ok and why == ""
    ok, why = allocation.approach3_reliable(_fit({"E": 1e-26}, {"E": (0.0, 0.1)}, L=(3.0, 4.0)))
    assert not ok and "E went to (near) zero" in why
    # E well away from zero, but its interval reaches within 1% of zero: not identified (the cpu study's case)
    ok, why = allocation.approach3_reliable(_fit({"E": 3.57}, {"E": (5.6e-9, 3.81)}, L=(3.9, 5.0)))
    assert not ok and "within 1% of zero" in why and "E unidentified" in why
    # just above 1% of E: identified
    assert allocation.approach3_reliable(_fit({"E": 3.57}, {"E": (0.04, 3.81)}, L=(3.9, 5.0)))[0]
    # no interval: nothing shows that E is identified; a check fit with one decides instead
    assert allocation.approach3_reliable(_fit({"E": 3.57}, {}, L=(3.9, 5.0)))[0] is False
    check = _fit({"E": 3.5}, {"E": (3.2, 3.8)})
    assert allocation.approach3_reliable(_fit({"E": 3.57}, {}, L=(3.9, 5.0)), check) == (True, "")
    vanished = _fit({"E": 1.7}, {"E": (1.5, 1.9)}, no_interval={"alpha": "the A term is at most 1e-08 of every fitted loss (it vanished)"})
    ok, why = allocation.approach3_reliable(vanished)
    assert not ok and "(it vanished)" in why
    assert allocation.approach3_reliable(_fit({"E": 1.7}, {}, converged=False)) == (False, "fit did not converge")
    assert allocation.approach3_reliable(None)[0] is False
    text = allocation.interpret_chinchilla(None, None, SimpleNamespace(
        params={"alpha": 0.05, "beta": 0.8, "E": 1e-26, "a": 0.94}, converged=True, no_interval={},
        ci={k: (np.nan, np.nan) for k in ("alpha", "beta", "E", "a")}, points=pd.DataFrame({"L": [3.0, 4.0]})))
    assert "not reliable here" in text and "not used to allocate compute" in text and "no tokens-per-parameter" in text


def test_a_check_fit_is_needed_only_to_judge_an_e_without_interval():
    assert allocation.needs_check_fit(_fit({"E": 3.57}, {"E": (np.nan, np.nan)}))
    assert not allocation.needs_check_fit(_fit({"E": 3.57}, {"E": (3.0, 3.8)}))
    assert not allocation.needs_check_fit(_fit({"E": 3.57}, {"E": (np.nan, np.nan)}, converged=False))
    assert not allocation.needs_check_fit(_fit({"E": 0.0}, {"E": (np.nan, np.nan)}, no_interval={"E": "x (it vanished)"}))
    assert not allocation.needs_check_fit(None)


def _frontiers(sizes, a_k, a_f, noise, seed=0):
    """Frontier envelopes under both countings for the same runs: size k holds C in a stair around its centre."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, n in enumerate(sizes):
        e = rng.normal(0, noise, 2)
        ck, cf = (n / 1e-3) ** (1 / a_k) * np.exp(e[0]), (3 * n / 1e-2) ** (1 / a_f) * np.exp(e[1])
        for f in (0.8, 1.0, 1.25):
            rows.append({"run": f"r{i}", "N": n, "N_total": 3 * n, "C": ck * f, "C_full": cf * f, "L": 5.0,
                         "attained": True})
    env = pd.DataFrame(rows)
    keep = np.ones(len(env), bool)
    return {"env": env, "keep": keep}, {"env": env, "keep": keep}


def test_counting_shift_is_the_difference_of_the_paired_slopes_with_a_paired_interval():
    k, f = _frontiers([1e4, 3e4, 1e5, 3e5], 0.75, 0.55, noise=0.05)
    sh = al.counting_shift(k, f, n_boot=0, seed=0)
    ck = al.stair_centres(k["env"], k["keep"], "kaplan")
    cf = al.stair_centres(f["env"], f["keep"], "full")
    expect = np.polyfit(ck["lc"], np.log(ck["N"]), 1)[0] - np.polyfit(cf["lc"], np.log(cf["N"]), 1)[0]
    assert sh["value"] == pytest.approx(expect) and sh["n_points"] == 4
    assert sh["ci_method"] == "paired t interval (4 sizes)" and sh["ci"][0] < sh["value"] < sh["ci"][1]
    assert sh["ci"][0] > 0  # a true shift of 0.20 with small scatter is resolved
    assert "excludes 0" in al.interpret_counting_shift(sh) and "larger" in al.interpret_counting_shift(sh)
    # the same exponent under both countings: the shift's interval includes 0
    k0, f0 = _frontiers([1e4, 3e4, 1e5, 3e5], 0.6, 0.6, noise=0.05, seed=1)
    s0 = al.counting_shift(k0, f0, n_boot=0, seed=0)
    assert s0["ci"][0] <= 0 <= s0["ci"][1] and "not resolved" in al.interpret_counting_shift(s0)
    # six sizes or more: a paired bootstrap over sizes
    k6, f6 = _frontiers(list(np.geomspace(1e4, 1e6, 7)), 0.75, 0.55, noise=0.05)
    s6 = al.counting_shift(k6, f6, n_boot=200, seed=0)
    assert s6["ci_method"] == "paired percentile bootstrap over 7 sizes" and s6["ci"][0] < 0.2 < s6["ci"][1]
    assert "no interval" in al.interpret_counting_shift(al.counting_shift(k6, f6, n_boot=0, seed=0))
    # two shared sizes: nothing to pair
    k2, f2 = _frontiers([1e4, 3e4], 0.75, 0.55, noise=0.0)
    s2 = al.counting_shift(k2, f2, n_boot=0, seed=0)
    assert math.isnan(s2["value"]) and "not measured" in al.interpret_counting_shift(s2)


def test_eq18_gives_kaplans_own_consistency():
    assert float(al.eq18_alpha_c_min(0.076, 0.76, 0.21)) == pytest.approx(0.052, abs=5e-4)  # Kaplan: 0.052 vs 0.050
    assert math.isnan(float(al.eq18_alpha_c_min(0.076, 0.76, -0.2)))  # a law that does not fall: no prediction


def _draw_fit(names, values, draws):
    return SimpleNamespace(params=dict(zip(names, values)), ci={n: (v * 0.9, v * 1.1) for n, v in zip(names, values)},
                           converged=True, param_names=tuple(names), boot=np.asarray(draws, float))


def test_eq18_consistency_propagates_the_fits_draws():
    rng = np.random.default_rng(0)
    ns = _draw_fit(("alpha_N", "alpha_S"), (0.076, 0.76), np.column_stack([rng.normal(0.076, 0.004, 300), rng.normal(0.76, 0.04, 300)]))
    b = _draw_fit(("alpha_B",), (0.21,), rng.normal(0.21, 0.01, (300, 1)))
    c = _draw_fit(("alpha",), (0.052,), rng.normal(0.052, 0.001, (300, 1)))
    out = al.eq18_consistency(ns, b, c, seed=0)
    assert out["predicted"] == pytest.approx(0.0520, abs=2e-4) and out["draws"] == 300
    lo, hi = out["predicted_ci"]
    assert lo < out["predicted"] < hi and hi - lo < 0.01
    dl, dh = out["difference_ci"]
    assert dl < 0 < dh and "within ±0.01: the relation holds here" in al.interpret_eq18(out)
    off = al.eq18_consistency(ns, b, _draw_fit(("alpha",), (0.09,), rng.normal(0.09, 0.001, (300, 1))), seed=0)
    assert off["difference"] < -0.03 and "do not satisfy Eq. 1.8" in al.interpret_eq18(off)
    wide = dict(out, difference_ci=(-0.02, 0.005))
    assert "not resolved" in al.interpret_eq18(wide)
    bare = al.eq18_consistency(_draw_fit(("alpha_N", "alpha_S"), (0.076, 0.76), np.empty((0, 2))), b, c, seed=0)
    assert math.isnan(bare["predicted_ci"][0]) and "no interval" in al.interpret_eq18(bare)
    assert "not computed" in al.interpret_eq18(al.eq18_consistency(None, b, c, seed=0))
    assert "not reliable here: x" in al.interpret_eq18(out, unreliable="x")


def _rec(key, value, lo=None, hi=None, status="ok", n=7, span=1.5):
    return {"key": key, "label": key, "value": value, "ci_low": lo, "ci_high": hi, "paper_value": None, "units": "",
            "note": "n", "status": status, "n_points": n, "span": span}


def test_kaplan_or_chinchilla_says_which_the_interval_admits():
    both = al.kaplan_or_chinchilla(_rec("a.approach2.c_full", 0.58, 0.17, 0.99, status="few_points", n=3))
    assert "consistent with both, inconclusive" in both
    k = al.kaplan_or_chinchilla(_rec("a", 0.77, 0.6, 0.95))
    assert "holds Kaplan's 0.73 and excludes Chinchilla's 0.49." in k
    c = al.kaplan_or_chinchilla(_rec("a", 0.5, 0.4, 0.6, status="few_points", n=3))
    assert "holds Chinchilla's 0.49 and excludes Kaplan's 0.73 (few points" in c
    assert "excludes both" in al.kaplan_or_chinchilla(_rec("a", 1.2, 1.1, 1.3))
    assert "without an interval" in al.kaplan_or_chinchilla(_rec("a", 0.7))
    assert "not reliable here" in al.kaplan_or_chinchilla(_rec("a.approach3", 0.76, 0.69, 0.97, status="unreliable"))
    assert "no measurement (failed)" in al.kaplan_or_chinchilla(_rec("a", None, status="failed"))


def test_the_conclusion_reads_the_claims_verdicts_from_the_records():
    recs = [_rec("a.frontier.kaplan_counting", 0.77, 0.58, 0.96, status="few_points", n=4),
            _rec("consistency.alpha_C_min.difference", -0.02, -0.03, -0.012, n=4, span=1.85)]
    text = al.conclude_claims(recs)
    assert "- compute-optimal N ∝ C^0.73 (frontier): consistent, inconclusive" in text
    assert "- Eq. 1.8: α_C^min follows from α_N, α_S, α_B: inconclusive" in text
    assert "on the compute frontier L ∝ C_min^-0.050: not measured" in text
    assert len(text.splitlines()) == sum(len(f.claims) for f in al.FINDINGS if f.nb == "06")
    chin = al.conclude_claims([_rec("a.approach2.c_full", 0.5, 0.41, 0.58, n=5, span=1.2)], "06b")
    assert "- Chinchilla: with matched schedules N_opt ∝ C^~0.5: reproduced" in chin
    assert len(chin.splitlines()) == sum(len(f.claims) for f in al.FINDINGS if f.nb == "06b")
