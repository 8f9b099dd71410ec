"""Convergence by budget (notebook 01): the gain per doubling, converged fits, seed spread."""

import math

import pandas as pd
import pytest
from scalinglaws.analysis import convergence as cv


def _budgets():
    # the ladder budget and the families' branches (2M) and trunks (32M): one point per size and budget
    ladder = pd.DataFrame({"n_layer": [2, 3], "d_model": [16, 48], "N": [6592, 84912], "tokens": [8e6, 8e6],
                           "final_val_loss": [4.55, 3.8], "peak_lr": [0.014, 0.006]})
    family = pd.DataFrame({"n_layer": [2, 2, 2, 3, 3], "d_model": [16, 16, 16, 48, 48], "N": [6592] * 3 + [84912] * 2,
                           "tokens": [2e6, 8e6, 32e6, 2e6, 8e6], "final_val_loss": [4.60, 4.55, 4.53, 4.1, 3.8],
                           "peak_lr": [0.014] * 3 + [0.006] * 2})
    return cv.budget_table(ladder, family)


def test_convergence_is_the_gain_per_doubling_between_the_two_largest_budgets():
    b = _budgets()
    assert len(b) == 5 and b[b.N == 6592].L.iloc[0] == 4.60  # the ladder run and its family member count once
    conv = cv.convergence_by_budget(b).set_index("N")
    assert conv.loc[6592, "gain_per_doubling"] == pytest.approx(0.01) and bool(conv.loc[6592, "converged"])
    assert conv.loc[84912, "gain_pct"] == pytest.approx(100 * 0.15 / 3.8) and not conv.loc[84912, "converged"]
    text = cv.interpret_convergence(cv.convergence_by_budget(b), {"without 1-layer": None})
    assert text.startswith("1 of 2 sizes") and "Too few sizes converged" in text


def test_holdout_predicts_the_largest_converged_size_from_the_others():
    N = [1e3, 2e3, 4e3, 8e3, 16e3]
    conv = pd.DataFrame({"n_layer": [2] * 5, "N": N, "L_at_max": [(1e6 / n) ** 0.1 for n in N], "converged": True})
    h = cv.holdout(conv)
    assert h["N_held"] == 16e3 and abs(h["err"]) < 1e-9  # an exact power law predicts its own next point
    bent = conv.assign(L_at_max=conv["L_at_max"] + [0, 0, 0, 0, 0.05])
    assert cv.holdout(bent)["err"] == pytest.approx(-0.05, abs=1e-9)  # measured above the law: under-predicted
    few = cv.holdout(conv.iloc[:3])
    assert math.isnan(few["err"]) and "3 converged size(s)" in few["why"]


def test_converged_fits_leave_out_one_layer_models():
    conv = pd.DataFrame({"n_layer": [1, 2, 2, 2], "N": [3e3, 6e3, 1.4e4, 2.5e4], "converged": [True] * 4,
                         "L_at_max": [5.0, 4.6, 4.4, 4.25]})
    fits = cv.converged_fits(conv, n_boot=20, seed=0)
    assert len(fits["without 1-layer"].points) == 3 and len(fits["with 1-layer"].points) == 4
    assert cv.converged_fits(conv.iloc[:3], n_boot=0, seed=0)["without 1-layer"] is None  # 2 sizes: no fit


def test_seed_spread_pools_replicates():
    f = pd.DataFrame({"N": [1, 1, 1, 2, 2, 3], "final_val_loss": [4.0, 4.1, 4.2, 3.0, 3.2, 2.0]})
    s = cv.seed_spread(f, ["N"])
    assert list(s.N) == [1, 2]  # a configuration with one seed has no spread
    assert cv.pooled_sd(s) == pytest.approx(math.sqrt((2 * 0.1**2 + 1 * 0.02) / 3))




def _law_budgets(alphas: dict) -> pd.DataFrame:
    """Budgets whose losses follow L = (1e9/N)^alpha exactly, one alpha per budget (tokens -> alpha)."""
    rows = []
    for t, a in alphas.items():
        for i, N in enumerate([3e3, 6e3, 1.4e4, 2.5e4, 8e4]):
            rows.append({"n_layer": 2, "d_model": 16 + i, "N": N, "tokens": t, "L": (1e9 / N) ** a})
    return pd.DataFrame(rows)


def test_fixed_budget_fits_recover_each_budgets_slope_and_say_how_it_moves():
    fits = cv.fixed_budget_fits(_law_budgets({2e6: 0.02, 8e6: 0.05}), n_boot=0, seed=0)
    assert sorted(fits) == [2_000_000, 8_000_000]
    assert fits[2_000_000].params["alpha"] == pytest.approx(0.02, rel=1e-3)
    assert fits[8_000_000].params["alpha"] == pytest.approx(0.05, rel=1e-3)
    text = cv.interpret_fixed_budgets(fits)
    assert "not converged losses" in text and "grows with every larger budget" in text
    falling = cv.interpret_fixed_budgets(cv.fixed_budget_fits(_law_budgets({2e6: 0.05, 8e6: 0.02}), 0, 0))
    assert "shrinks with every larger budget" in falling
    mixed = cv.interpret_fixed_budgets(cv.fixed_budget_fits(_law_budgets({2e6: 0.02, 4e6: 0.05, 8e6: 0.03}), 0, 0))
    assert "does not move monotonically" in mixed
    one = cv.interpret_fixed_budgets(cv.fixed_budget_fits(_law_budgets({2e6: 0.02}), 0, 0))
    assert "From the smallest" not in one and "2e+06 tokens (5 sizes)" in one
    two_sizes = _law_budgets({2e6: 0.02}).iloc[:2]
    assert cv.fixed_budget_fits(two_sizes, 0, 0) == {}
    assert cv.interpret_fixed_budgets({}).startswith("No token budget")


def _conv(n_deep_converged: int, n_one_layer: int = 1) -> pd.DataFrame:
    n = 7
    layers = [1] * n_one_layer + [2] * (n - n_one_layer)
    conv_flags = [True] * n_one_layer + [i < n_deep_converged for i in range(n - n_one_layer)]
    N = [3e3 * 2 ** i for i in range(n)]
    return pd.DataFrame({"n_layer": layers, "N": N, "converged": conv_flags, "L_at_max": [(1e9 / x) ** 0.07 for x in N]})


def test_converged_claim_needs_five_deep_sizes_and_says_why_not():
    few = _conv(2)
    c = cv.converged_claim(few, cv.converged_fits(few, 0, 0))
    assert not c["ok"] and c["fit"] is None
    assert c["reason"] == ("3 of 7 sizes meet the <1%-per-doubling criterion (2 without 1-layer models, which "
                           "Kaplan leave out); a converged L(N) needs >= 5")
    enough = _conv(5)
    c = cv.converged_claim(enough, cv.converged_fits(enough, 0, 0))
    assert c["ok"] and c["fit"].params["alpha"] == pytest.approx(0.07, rel=1e-3) and c["converged_deep"] == 5
    assert "rests on 5 converged sizes" in cv.interpret_alpha_N_claim(c, None, 0.076)


def test_alpha_N_claim_sentence_in_every_branch():
    few = _conv(2)
    c = cv.converged_claim(few, cv.converged_fits(few, 0, 0))
    assert "not fitted either" in cv.interpret_alpha_N_claim(c, None, 0.076)
    single = pd.DataFrame([{"n_layer": 1 if N < 4e3 else 2, "N": N, "tokens": D,
                            "final_val_loss": ((1e9 / N) ** (0.07 / 0.1) + 1e10 / D) ** 0.1}
                           for N in (3e3, 6e3, 1.4e4, 2.5e4, 8e4) for D in (2e6, 8e6, 3.2e7)])
    deep = cv.nd_limit_fit(single, n_boot=0, seed=0, without_1_layer=True)
    assert deep.params["alpha_N"] == pytest.approx(0.07, rel=1e-2) and deep.n_points == 4  # sizes, not runs
    text = cv.interpret_alpha_N_claim(c, deep, 0.076)
    assert "reads Eq. 1.5's D -> infinity limit" in text and "over 4 sizes" in text and "not a measured" in text
    assert cv.nd_limit_fit(single[single.N < 1e4], 0, 0, without_1_layer=True) is None  # one deep size


def test_nd_limit_stability_flags_a_limit_that_moves_with_the_budgets_fitted():
    import numpy as np
    from types import SimpleNamespace

    rows = []
    for n in (6e3, 1.5e4, 2.5e4, 8e4, 2e5):
        for d in (5e5, 1e6, 2e6, 4e6, 8e6):
            rows.append({"n_layer": 2, "N": n, "tokens": d,
                         "final_val_loss": ((1e9 / n) ** (0.076 / 0.095) + 3e8 / d) ** 0.095})  # Eq. 1.5 exactly
    single = pd.DataFrame(rows)
    exact = SimpleNamespace(converged=True, ci={"alpha_N": (0.07, 0.082)})
    st = cv.nd_limit_stability(single, exact)
    assert st["split"] == 2e6 and abs(st["low"] - 0.076) < 2e-3 and abs(st["high"] - 0.076) < 2e-3 and st["why"] == ""
    narrow = SimpleNamespace(converged=True, ci={"alpha_N": (0.0761, 0.0762)})  # an interval no half can hit
    assert "moves from" in cv.nd_limit_stability(single, narrow)["why"]
    assert cv.nd_limit_stability(single, None)["why"] == "" and np.isnan(cv.nd_limit_stability(single, None)["low"])


def test_ladder_replicates_add_the_seed_runs_of_ladder_sizes_only():
    ladder = pd.DataFrame({"label": ["model_size"] * 2, "N": [1e3, 2e3], "seed": [0, 0], "final_val_loss": [5.0, 4.8]})
    seeds = pd.DataFrame({"label": ["seed 1", "shape aspect=4 N~3e4 seed 1"], "N": [1e3, 3e4], "seed": [1, 1],
                          "final_val_loss": [5.01, 4.5]})
    pts = cv.ladder_replicates(ladder, seeds)
    assert list(pts.label) == ["model_size", "model_size", "seed 1"]  # the shape replicate is not a ladder size's
    assert cv.ladder_replicates(ladder, seeds.iloc[:0]).equals(ladder)
