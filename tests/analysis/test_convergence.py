"""Convergence by budget (notebook 01): the gain per doubling, converged fits, seed spread."""

import math

import pandas as pd
import pytest
from scalinglaws.analysis import convergence as cv


def _budgets():
    sweeps = pd.DataFrame({"n_layer": [2, 2, 3, 3], "d_model": [16, 16, 48, 48], "N": [6592, 6592, 84912, 84912],
                           "tokens": [2e6] * 4, "peak_lr": [0.01, 0.02, 0.004, 0.008], "final_val_loss": [4.62, 4.60, 4.2, 4.1],
                           "run_id": list("abcd")})
    ladder = pd.DataFrame({"n_layer": [2, 3], "d_model": [16, 48], "N": [6592, 84912], "tokens": [8e6, 8e6],
                           "final_val_loss": [4.55, 3.8], "peak_lr": [0.014, 0.006]})
    long = pd.DataFrame({"n_layer": [2], "d_model": [16], "N": [6592], "tokens": [32e6], "final_val_loss": [4.53], "peak_lr": [0.014]})
    return cv.budget_table(sweeps, ladder, long)


def test_convergence_is_the_gain_per_doubling_between_the_two_largest_budgets():
    b = _budgets()
    assert len(b) == 5 and b[b.N == 6592].L.iloc[0] == 4.60  # the sweep's best LR is that budget's point
    conv = cv.convergence_by_budget(b).set_index("N")
    assert conv.loc[6592, "gain_per_doubling"] == pytest.approx(0.01) and bool(conv.loc[6592, "converged"])
    assert conv.loc[84912, "gain_pct"] == pytest.approx(100 * 0.15 / 3.8) and not conv.loc[84912, "converged"]
    text = cv.interpret_convergence(cv.convergence_by_budget(b), {"without 1-layer": None})
    assert text.startswith("1 of 2 sizes") and "Too few sizes converged" in text


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


