"""Final losses at many budgets per size (notebook 06b): IsoFLOP slices, the interpolation check, the ablation."""

import math

import numpy as np
import pandas as pd
import pytest
from scalinglaws.analysis import final_losses as fl

# A Chinchilla-form law L = E + A/N^alpha + B/D^beta: its IsoFLOP minimum sits at a known N_opt(C).
E, A, ALPHA, BETA = 1.8, 60.0, 0.34, 0.28


def _law(N, D, B=24.0):  # B = 24: losses of 2-5 nats with a data term of ~0.5, as in this study's runs
    return E + A / np.power(N, ALPHA) + B / np.power(D, BETA)


def _finals(sizes, budgets, noise=0.0, seed=0, B=24.0):
    """One final loss per (size, budget); FLOPs per token 6N (Kaplan) and 6N + 1e5 (full: a fixed head)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, N in enumerate(sizes):
        for D in budgets:
            L = float(_law(N, D, B)) * math.exp(rng.normal(0, noise)) if noise else float(_law(N, D, B))
            rows.append({"run_id": f"r{i}-{D}", "n_layer": 2, "d_model": 8 * (i + 1), "N": N, "N_total": N + 2e4,
                         "tokens": D, "C": 6 * N * D, "C_full": (6 * N + 1e5) * D, "final_val_loss": L})
    f = pd.DataFrame(rows)
    f["size"] = fl.size_key(f)
    f["flops_kaplan"], f["flops_full"] = f["C"] / f["tokens"], f["C_full"] / f["tokens"]
    return f


def test_a_slice_at_a_trained_budget_returns_the_trained_loss_and_never_extrapolates():
    f = _finals([1e4, 4e4], [1e6, 2e6, 4e6])
    C = 6 * 1e4 * 2e6  # exactly the first size's middle budget; the second size's D = 5e5 lies below its budgets
    sl = fl.isoflop_slices(f, "kaplan", [C])
    assert list(sl["size"]) == ["2x8"] and sl["tokens"].iloc[0] == pytest.approx(2e6)
    assert sl["final_val_loss"].iloc[0] == pytest.approx(float(_law(1e4, 2e6)))
    assert sl["nearest_budget_ratio"].iloc[0] == pytest.approx(1.0)


def test_slices_locate_the_isoflop_minimum_of_a_known_law():
    sizes = list(np.geomspace(2e3, 2e6, 13))
    budgets = list(2.0 ** np.arange(17, 31))  # 1.3e5 .. 1.1e9 tokens, a factor 2 apart
    f = _finals(sizes, budgets, B=400.0)  # a strong data term: the optimum sits inside the sizes
    C = 1e14
    sl = fl.isoflop_slices(f, "kaplan", [C])
    best = sl.loc[sl["final_val_loss"].idxmin(), "N"]
    # the exact optimum on a fine grid of N for the same C
    grid = np.geomspace(2e3, 2e6, 2000)
    exact = grid[np.argmin(_law(grid, C / (6 * grid), B=400.0))]
    assert abs(math.log(best / exact)) < math.log(10 ** 0.25)  # within one step of the 13 sizes
    design = fl.slice_design(sl)
    assert design["sizes"].iloc[0] == len(sl) >= 6 and bool(design["bracketed"].iloc[0])


def test_dense_slices_keep_only_slices_with_enough_sizes_around_their_minimum():
    """Approach 2's check on its densest slices: a slice counts when it holds >= 6 sizes and its lowest loss is
    not at an edge; the sentence says which fit moved, and says so when there is nothing to fit."""
    sizes = list(np.geomspace(2e3, 2e6, 13))
    f = _finals(sizes, list(2.0 ** np.arange(17, 31)), B=400.0)
    budgets = list(np.geomspace(1e13, 2.2e14, 5))
    sl = fl.isoflop_slices(f, "kaplan", budgets)
    thin = sl[~((sl["budget"] == budgets[0]) & (sl["N"] > sorted(sl[sl["budget"] == budgets[0]]["N"])[3]))]  # 4 sizes left
    edge = thin[~((thin["budget"] == budgets[1]) & (thin["N"] < thin.loc[thin[thin["budget"] == budgets[1]]["final_val_loss"].idxmin(), "N"]))]
    design = fl.slice_design(edge).set_index("budget")
    assert design.loc[budgets[0], "sizes"] == 4 and not design.loc[budgets[1], "bracketed"]
    dense = fl.dense_slices(edge)
    assert sorted(dense["budget"].unique()) == budgets[2:]
    assert fl.dense_slices(edge, min_sizes=100).empty
    from scalinglaws.analysis import allocation as al

    _, full = al.isoflop(sl, "kaplan", n_boot=0, seed=0)
    _, d = al.isoflop(fl.dense_slices(sl), "kaplan", n_boot=0, seed=0)
    text = fl.describe_dense(full, d, fl.dense_slices(sl), "C = 6ND")
    assert "on the 5 slice(s) with >= 6 sizes" in text and ("inside" in text or "outside" in text)
    assert "not fitted (no such slice)" in fl.describe_dense(full, None, dense.iloc[:0], "C = 6ND")


def test_interpolation_error_is_small_for_a_smooth_law_and_grows_with_curvature():
    f = _finals([1e4, 1e5], [1e6, 2e6, 4e6, 8e6])
    err = fl.interpolation_error(f)
    assert len(err) == 4 and (err["gap"] == 4).all()
    assert err["err"].abs().max() < 0.01  # a power law in D is nearly straight in log-log over a factor 4
    bent = f.copy()
    bent.loc[bent["tokens"] == 2e6, "final_val_loss"] += 0.05  # a kink at one budget
    assert fl.interpolation_error(bent)["err"].abs().max() == pytest.approx(0.05, abs=0.01)
    text = fl.describe_interpolation(err, seed_sd=0.01)
    assert "below the seed-to-seed sd" in text
    assert "not below" in fl.describe_interpolation(fl.interpolation_error(bent), seed_sd=0.01)
    assert fl.describe_interpolation(err.iloc[:0], 0.01).startswith("No size has three budgets")


def _curves_for(a_true: float, sizes, seed: int, noise: float = 0.0):
    """Final-loss curves whose envelope hands over from size to size at C ∝ N^(1/a): each size's loss is lowest
    in a stair of C centred where N_opt(C) = N."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, N in enumerate(sizes):
        centre = (N / 1e-3) ** (1 / a_true) * math.exp(rng.normal(0, noise))
        for k in np.linspace(-2, 2, 9):
            C = centre * math.exp(k)
            rows.append({"run_id": f"s{i}", "N": N, "N_total": 2 * N, "C": C, "C_full": 1.5 * C,
                         "val_loss": 3.0 - 0.05 * i + 0.2 * k * k})  # a valley, deeper for larger N: best near its centre
    return pd.DataFrame(rows)


def test_ablation_pairs_each_step_with_the_one_before_and_reads_the_change():
    sizes = list(np.geomspace(1e4, 1e6, 7))
    curves = {"a": _curves_for(0.75, sizes, 0, noise=0.02), "c": _curves_for(0.75, sizes, 1, noise=0.02),
              "d": _curves_for(0.50, sizes, 2, noise=0.02)}
    table, fr = fl.ablation(curves, max_loss=10.0, n_boot=0, seed=0)
    assert list(table["step"]) == ["a", "b", "c", "c", "d", "d"]
    a_k = table[(table.step == "a")]["a"].iloc[0]
    assert a_k == pytest.approx(0.75, abs=0.05)
    d_full = table[(table.step == "d") & (table.counting.str.startswith("all"))].iloc[0]
    assert d_full["delta"] == pytest.approx(0.50 - 0.75, abs=0.07)  # (d) moves a down by about 0.25
    assert d_full["delta_low"] < d_full["delta"] < d_full["delta_high"] and d_full["delta_high"] < 0  # resolved
    c_k = table[(table.step == "c") & (table.counting.str.startswith("non"))].iloc[0]
    assert c_k["delta_low"] <= 0 <= c_k["delta_high"]  # (c) changed nothing: its change includes 0
    text = fl.interpret_ablation_steps(table)
    assert "excludes 0: this change moves a" in text and "includes 0: not resolved" in text
    assert ("a", "kaplan") in fr and ("d", "full") in fr


def test_ablation_says_what_was_not_fitted():
    sizes = list(np.geomspace(1e4, 1e6, 7))
    table, _ = fl.ablation({"a": _curves_for(0.75, sizes, 0), "c": _curves_for(0.75, sizes[:2], 1)},
                           max_loss=10.0, n_boot=0, seed=0)
    lines = fl.interpret_ablation_steps(table).splitlines()
    assert any(line.startswith("- (c)") and "not fitted (" in line and "N_opt fit needs 2" in line for line in lines)
