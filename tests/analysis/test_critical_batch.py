"""Critical batch size (notebook 06): gradient noise windows, B_crit from curves at several batch sizes,
the LR check, and whether B_crit depends on the loss or on N. Synthetic inputs with known answers."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scalinglaws.analysis import critical_batch as bs

# ------------------------------------------------------------------ data subsets







def test_noise_windows_recover_a_known_noise_scale():
    S, n_ctx = 12.0, 64  # tr(Sigma) = 12 |G|^2: B_simple = 12 sequences = 768 tokens
    rows = []
    for step in range(101, 1101, 50):
        G2 = 1.0 / step  # |G| shrinks as training goes on; the ratio does not
        rows.append({"run_id": "r", "N": 1e4, "batch_size": 16, "label": "", "step": step, "warmup": 100,
                     "val_loss": 5.0 - step / 1e3, "n_ctx": n_ctx, "noise_b": 8, "noise_B": 16, "noise_n": 4,
                     "noise_g2_b": G2 * (1 + S / 8), "noise_g2_B": G2 * (1 + S / 16)})
    w = bs.noise_windows(pd.DataFrame(rows), min_measurements=8)
    assert len(w) == 10 and np.allclose(w["B_simple"], S * n_ctx)


def test_simple_vs_crit_pairs_each_target_with_nearby_windows():
    w = pd.DataFrame({"L": [4.0, 4.05, 4.5, 5.0], "B_simple": [100.0, 300.0, 50.0, float("nan")]})
    t = pd.DataFrame({"target": [4.02, 6.0], "B_crit": [100.0, 10.0]})
    out = bs.simple_vs_crit(w, t)
    assert out.iloc[0]["windows"] == 2 and out.iloc[0]["ratio_simple_to_crit"] == 2.0  # median of 100, 300
    assert out.iloc[1]["windows"] == 0 and math.isnan(out.iloc[1]["ratio_simple_to_crit"])


def _windows(gamma, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i, N in enumerate([3e3, 1e4, 3e4, 1e5, 3e5]):
        for L in np.linspace(4.0, 5.5, 8):
            B = 2000 * L ** (-1 / 0.2) * 1e3 * (N / 1e4) ** gamma * math.exp(rng.normal(0, 0.05))
            rows.append({"run_id": f"r{i}", "N": N, "L": L, "B_simple": B})
    return pd.DataFrame(rows)


def test_loss_or_size_tells_loss_dependence_from_size_dependence():
    alone = bs.loss_or_size(_windows(0.0), n_boot=60, seed=0)
    assert abs(alone["alpha_B"] - 0.2) < 0.02 and alone["gamma_ci"][0] <= 0 <= alone["gamma_ci"][1]
    assert "no dependence on N beyond the loss is resolved" in bs.interpret_loss_or_size(alone)
    assert "too noisy" not in bs.interpret_loss_or_size(alone)  # the loss trend is resolved in these windows
    noisy = dict(alone, alpha_B_ci=(-17.8, 14.0))
    assert "not resolved either" in bs.interpret_loss_or_size(noisy)
    sized = bs.loss_or_size(_windows(0.5), n_boot=60, seed=0)
    assert sized["gamma_ci"][0] > 0.3 and "grows with N" in bs.interpret_loss_or_size(sized)
    few = bs.loss_or_size(_windows(0.0).query("N < 5e3"), n_boot=10, seed=0)
    assert math.isnan(few["gamma"]) and "too few" in bs.interpret_loss_or_size(few)


def test_critical_batch_recovers_the_hyperbola_from_curves():
    """Curves built so that reaching loss L takes S = S_min(L)(1 + B_crit(L)/B) steps at batch B."""
    n_ctx = 64
    rows = []
    for b in (2, 4, 8, 16, 32, 64):
        B = b * n_ctx
        for step in np.unique(np.geomspace(1, 40_000, 300).astype(int)):
            # invert S(L): S_min(L) = 1e5 / L^6, B_crit(L) = 2e3 * (5/L)^4 tokens; solve for L by bisection
            lo, hi = 2.0, 8.0
            for _ in range(60):
                mid = (lo + hi) / 2
                S_need = 1e5 / mid**6 * (1 + 2e3 * (5 / mid) ** 4 / B)
                lo, hi = (mid, hi) if S_need > step else (lo, mid)
            rows.append({"run_id": f"b{b}", "batch_size": b, "n_ctx": n_ctx, "seed": 0, "label": f"batch={b}",
                         "step": int(step), "warmup": 0, "peak_lr": 1.0, "lr": 1.0, "val_loss": (lo + hi) / 2})
    curves = pd.DataFrame(rows)
    table, fits = bs.critical_batch(curves, below=5.0, n_targets=3, n_boot=20, seed=0)
    assert len(table) == 3 and all(f.converged for f in fits)
    for r in table.itertuples():
        assert r.target < 5.0
        assert abs(math.log(r.B_crit / (2e3 * (5 / r.target) ** 4))) < 0.1  # within 10%
    # a target above the plateau or one some batch size never reaches is not used
    assert all(t < 5.0 for t in bs.batch_targets(bs.stable_phase(curves), 5.0, 4))
    assert bs.batch_targets(bs.stable_phase(curves), 1.0, 4) == []


def _hyperbola_curves(warmup=0):
    """Curves on which reaching L takes S = S_min(L)(1 + B_crit(L)/B) + warmup steps at batch B (tokens)."""
    n_ctx, rows = 64, []
    for b in (2, 4, 8, 16, 32, 64):
        B = b * n_ctx
        for step in np.unique(np.geomspace(1, 4e6, 400).astype(int)):
            lo, hi = 2.0, 8.0
            for _ in range(50):
                mid = (lo + hi) / 2
                S_need = 1e7 / mid**6 * (1 + 2e3 * (5 / mid) ** 4 / B) + warmup
                lo, hi = (mid, hi) if S_need > step else (lo, mid)
            rows.append({"run_id": f"b{b}", "batch_size": b, "n_ctx": n_ctx, "seed": 0, "label": f"batch={b}",
                         "step": int(step), "warmup": 0, "peak_lr": 1.0, "lr": 1.0, "val_loss": (lo + hi) / 2})
    return pd.DataFrame(rows)


def test_warmup_sensitivity_recovers_b_crit_once_the_extra_steps_are_subtracted():
    """200 steps added to every run (a warmup that does not count): subtracting them recovers B_crit, counting
    them inflates S_min and so lowers B_crit = E_min/S_min."""
    t = bs.warmup_sensitivity(_hyperbola_curves(warmup=200), below=5.0, n_targets=3, subtracts=(0, 200))
    assert set(t.warmup_subtracted) == {0, 200} and len(t) == 6
    for target, g in t.groupby("target"):
        true = 2e3 * (5 / target) ** 4
        right = float(g[g.warmup_subtracted == 200].B_crit.iloc[0])
        counted = float(g[g.warmup_subtracted == 0].B_crit.iloc[0])
        assert abs(math.log(right / true)) < 0.1 and counted < right
    top = t[t.target == t.target.max()]
    text = bs.interpret_warmup_sensitivity(top)
    assert text.startswith("At the highest target") and "0 / 200 warmup steps" in text
    big = pd.DataFrame({"target": [5.0] * 3, "warmup_subtracted": [0, 50, 100], "B_crit": [1348.0, 2522.0, 38329.0]})
    assert "factor 28.4" in bs.interpret_warmup_sensitivity(big) and "as much as on the data" in bs.interpret_warmup_sensitivity(big)
    small = big.assign(B_crit=[1000.0, 1100.0, 1300.0])
    assert "less than one step" in bs.interpret_warmup_sensitivity(small)
    assert "not measured in full" in bs.interpret_warmup_sensitivity(big.assign(B_crit=[1.0, np.nan, 2.0]))
    assert "not measured" in bs.interpret_warmup_sensitivity(big.iloc[:0])


def test_a_b_crit_the_batches_do_not_bracket_is_flagged():
    grid = [256.0 * 2**k for k in range(6)]  # 256 .. 8192 tokens
    assert bs.beyond_grid(2000.0, grid) == ""
    assert "at or beyond the largest batch tried (8,192" in bs.beyond_grid(8028.0, grid)  # within half a step
    assert "at or beyond" in bs.beyond_grid(11516.0, grid)
    assert bs.beyond_grid(5700.0, grid) == ""  # more than half a step (8192/1.41 = 5793) below the largest
    assert "at or below the smallest" in bs.beyond_grid(300.0, grid)
    table, _ = bs.critical_batch(_hyperbola_curves(), below=5.0, n_targets=3, n_boot=0, seed=0)
    assert (table.n_batches == 6).all()
    for r in table.itertuples():  # batches of 128..4096 tokens: flagged exactly where the true B_crit leaves them
        true = 2e3 * (5 / r.target) ** 4
        assert (r.unreliable != "") == (true >= 4096 / math.sqrt(2)), (r.target, true, r.unreliable)


def test_lr_check_reads_the_scaled_lr_against_its_neighbours():
    rows = [{"batch_size": 4, "peak_lr": lr, "final_val_loss": L, "is_final": True, "seed": 0, "label": lab}
            for lr, L, lab in [(0.01, 4.0, "batch=4"), (0.005, 4.1, "batch=4 lr-check x0.5"), (0.02, 3.95, "batch=4 lr-check x2")]]
    t = bs.lr_check(pd.DataFrame(rows))
    assert t.iloc[0]["scaled_minus_best"] == pytest.approx(0.05) and t.iloc[0]["L_lr_x2"] == 3.95


# ------------------------------------------------------------------ convergence by budget









# ------------------------------------------------------------------ interpretations, every branch





# ------------------------------------------------------------------ the grids measure what they claim



def _fit(params, ci, converged=True, L=(4.0, 5.0)):
    return SimpleNamespace(params=params, ci=ci, converged=converged, points=pd.DataFrame({"L": list(L)}))


def test_bcrit_interpretation_is_true_in_every_branch():
    assert bs.interpret_bcrit(None).startswith("No B_crit(L) fit")
    failed = bs.interpret_bcrit(_fit({"alpha_B": -0.17}, {"alpha_B": (-0.35, -0.11)}, converged=False))
    assert "did not converge" in failed and "no claim" in failed and "grows" not in failed
    zero = bs.interpret_bcrit(_fit({"alpha_B": 0.1}, {"alpha_B": (-0.2, 0.4)}))
    assert "includes 0" in zero and "no dependence" in zero
    grows = bs.interpret_bcrit(_fit({"alpha_B": 0.2}, {"alpha_B": (0.1, 0.3)}))
    assert grows.startswith("B_crit grows as the loss falls, as in the paper")
    shrinks = bs.interpret_bcrit(_fit({"alpha_B": -0.17}, {"alpha_B": (-0.35, -0.11)}))
    assert shrinks.startswith("B_crit shrinks as the loss falls, the opposite") and "grows" not in shrinks
    nan = bs.interpret_bcrit(_fit({"alpha_B": 0.2}, {"alpha_B": (np.nan, np.nan)}))
    assert "grows" in nan and "no interval" in nan




def test_equal_loss_is_untestable_when_no_loss_level_is_shared_by_all_sizes():
    w = _windows(0.0)
    assert bs.shared_loss_range(w)["why"] == ""  # every size measured from 4.0 to 5.5
    apart = pd.concat([w[w.N < 1e5].assign(L=lambda d: d.L + 1.0), w[w.N >= 1e5]], ignore_index=True)
    sh = bs.shared_loss_range(apart)
    assert sh["low"] == pytest.approx(5.0) and sh["high"] == pytest.approx(5.5) and sh["why"] == ""
    apart = pd.concat([w[w.N < 1e5].assign(L=lambda d: d.L + 2.0), w[w.N >= 1e5]], ignore_index=True)
    sh = bs.shared_loss_range(apart)
    assert "no loss level is shared by all 5 sizes" in sh["why"] and "6.00 nats" in sh["why"]
    los = bs.loss_or_size(w, n_boot=20, seed=0)
    text = bs.interpret_loss_or_size(los, sh)
    assert text.startswith("Whether B_crit depends on N beyond the loss is not testable") and "resolved" not in text
    assert "not testable" not in bs.interpret_loss_or_size(los, bs.shared_loss_range(w))
    assert bs.shared_loss_range(w[w.N == 3e3])["why"].startswith("B_simple was measured at 1 size")


def test_leave_one_size_out_finds_an_unstable_exponent():
    from scalinglaws import fit as F

    rng = np.random.default_rng(0)
    rows = []
    for i, N in enumerate(np.geomspace(1e4, 1e6, 6)):
        for x in np.geomspace(1e2, 1e4, 8):
            rows.append({"run_id": f"r{i}", "N": N, "x": x, "y": 50 * x**-0.3 * math.exp(rng.normal(0, 0.01))})
    d = pd.DataFrame(rows)
    loo = bs.leave_one_out(F.fit_power_law, d, "N", "alpha", x="x", y="y")
    assert len(loo) == 6 and np.allclose(loo, 0.3, atol=0.01) and bs.unstable_reason("alpha", loo) == ""
    assert "more than a factor 2" in bs.unstable_reason("alpha_S", pd.Series([0.058, 0.081, 0.151]))
    assert "more than a factor 2" in bs.unstable_reason("alpha_S", pd.Series([-0.1, 0.2]))
    assert "1 of 2 leave-one-size-out refits" in bs.unstable_reason("alpha_S", pd.Series([0.1, np.nan]))
