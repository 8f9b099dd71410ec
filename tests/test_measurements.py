"""The study-v2 measurements: data subsets, gradient noise scale, critical batch, convergence by budget,
the allocation ablation. Synthetic inputs with known answers, plus two tiny training runs."""

import math

import numpy as np
import pandas as pd
import pytest
from scalinglaws.analysis import allocation as al
from scalinglaws.analysis import common as an
from scalinglaws.analysis import convergence as cv
from scalinglaws.analysis import critical_batch as bs
from scalinglaws.data.windows import SUBSET_CHUNK, subset_tokens
from scalinglaws.training.spec import RunSpec, SpecError

# ------------------------------------------------------------------ data subsets

def test_chunk_subsets_nest_and_span_the_split():
    train = np.arange(200 * SUBSET_CHUNK, dtype=np.uint16 if 200 * SUBSET_CHUNK < 65536 else np.uint32)
    small, big = subset_tokens(train, 3 * SUBSET_CHUNK + 5, "chunks"), subset_tokens(train, 20 * SUBSET_CHUNK, "chunks")
    assert len(small) == 3 * SUBSET_CHUNK + 5 and len(big) == 20 * SUBSET_CHUNK
    assert np.array_equal(small, big[: len(small)])  # nested: a smaller subset is the start of a larger one
    starts = big[::SUBSET_CHUNK] // SUBSET_CHUNK  # which chunk of the split each came from
    assert len(set(starts)) == 20 and np.ptp(starts) > 100  # 20 different chunks from across the split
    assert np.array_equal(subset_tokens(train, 1000, "prefix"), train[:1000])
    assert subset_tokens(train, 0, "chunks") is train


def test_new_spec_fields_keep_old_addresses_and_validate():
    base = RunSpec(n_layer=1, d_model=16)
    assert "noise_scale" not in base.hashed_fields() and "data_sampling" not in base.hashed_fields()
    assert base.replace(noise_scale=True).run_id != base.run_id
    assert base.replace(data_tokens=10_000, data_sampling="chunks").run_id != base.replace(data_tokens=10_000).run_id
    with pytest.raises(SpecError, match="data_sampling"):
        base.replace(data_sampling="random").validate()
    with pytest.raises(SpecError, match="noise_scale needs batch_size >= 2"):
        base.replace(noise_scale=True, batch_size=1).validate()


def test_noise_scale_measures_without_changing_training(tiny_spec, small_tokens, runs_dir):
    """The measurement's extra half-batch backward leaves the training step itself bit for bit alone."""
    from scalinglaws.store.tables import load_runs
    from scalinglaws.training.loop import train_run

    plain, measured = tiny_spec.replace(tokens=16 * 64 * 80), tiny_spec.replace(tokens=16 * 64 * 80, noise_scale=True)
    for s in (plain, measured):
        train_run(s, runs_dir, log="none", threads=1)
    df = load_runs([plain, measured], runs_dir)
    a, b = (df[df.run_id == s.run_id].reset_index(drop=True) for s in (plain, measured))
    assert np.array_equal(a["val_loss"].to_numpy(), b["val_loss"].to_numpy())
    assert (b["noise_n"] > 0).any() and b["noise_g2_b"].dropna().gt(0).all()
    # E|G_b|^2 = |G|^2 + tr(Sigma)/b > E|G_B|^2 for b < B: on average the half batch's gradient is longer
    m = b.dropna(subset=["noise_g2_b"])  # evals with at least one measurement since the previous one
    assert len(m) >= 2 and (m["noise_g2_b"] > m["noise_g2_B"]).mean() > 0.5


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
    n_ctx, Bc = 64, {}
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


def test_lr_check_reads_the_scaled_lr_against_its_neighbours():
    rows = [{"batch_size": 4, "peak_lr": lr, "final_val_loss": L, "is_final": True, "seed": 0, "label": lab}
            for lr, L, lab in [(0.01, 4.0, "batch=4"), (0.005, 4.1, "batch=4 lr-check x0.5"), (0.02, 3.95, "batch=4 lr-check x2")]]
    t = bs.lr_check(pd.DataFrame(rows))
    assert t.iloc[0]["scaled_minus_best"] == pytest.approx(0.05) and t.iloc[0]["L_lr_x2"] == 3.95


# ------------------------------------------------------------------ convergence by budget

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


# ------------------------------------------------------------------ interpretations, every branch

def test_versus_paper_is_true_in_every_branch():
    assert "inside" in an.versus_paper(0.07, (0.06, 0.08), 0.076)
    assert "below" in an.versus_paper(0.1, (0.09, 0.11), 0.076)
    assert "above" in an.versus_paper(0.05, (0.04, 0.06), 0.076)
    assert "no interval" in an.versus_paper(0.05, (math.nan, math.nan), 0.076)
    assert "did not converge" in an.versus_paper(-0.001, (math.nan, math.nan), 0.076, converged=False)
    assert "did not converge" in an.fit_versus_paper(None, "alpha", 0.076)


def test_ablation_story_says_what_moved_and_what_was_not_resolved():
    t = pd.DataFrame([{"analysis": "1", "how": "", "a": 0.8, "a_low": 0.7, "a_high": 0.9},
                      {"analysis": "2", "how": "", "a": 0.75, "a_low": 0.6, "a_high": 0.85},
                      {"analysis": "3", "how": "", "a": 0.45, "a_low": 0.40, "a_high": 0.50},
                      {"analysis": "4", "how": "", "a": math.nan, "a_low": math.nan, "a_high": math.nan},
                      {"analysis": "5", "how": "", "a": 0.5, "a_low": math.nan, "a_high": math.nan}])
    lines = al.interpret_ablation(t).splitlines()
    assert "nearer Kaplan" in lines[0] and "not resolved" in lines[1]
    assert "down by 0.30" in lines[2] and "beyond the intervals" in lines[2] and "nearer Chinchilla" in lines[2]
    assert lines[3].endswith("not fitted here.") and "judge" not in lines[4] and "step before" not in lines[4]


# ------------------------------------------------------------------ the grids measure what they claim

def test_grids_follow_the_measurement_design():
    from scalinglaws.study.plan import LRRule, Study

    st = Study("cpu", log="none")
    st._rule = LRRule(0.02, -0.5, "test rule")  # no store needed: every LR from this rule
    batch = [s for s in st.grid("batch") if "lr-check" not in s.label and "seed" not in s.label]
    assert len({s.batch_size for s in batch}) >= 5 and max(s.batch_size for s in batch) / min(s.batch_size for s in batch) >= 16
    assert {s.warmup for s in batch} == {st.profile.batch_warmup} and {s.schedule for s in batch} == {"wsd"}
    assert min(s.steps for s in batch) >= st.profile.batch_min_steps and all(s.noise_scale for s in batch)
    lrs = {s.batch_size: s.lr for s in batch}
    assert lrs[64] / lrs[16] == pytest.approx(2.0, rel=0.01)  # √(64/16)
    kap = st.grid("kaplan")
    assert all(s.warmup == int(0.25 * s.steps) and s.schedule_tokens == 4 * s.tokens for s in kap)
    aspect = [s.run_id for s in st.grid("shape") if "aspect=" in s.label]
    assert len(aspect) == len(set(aspect))  # aspects that round to one shape are trained and shown once
    for s in st.grid("dataset_size") + st.grid("overfitting"):
        assert s.dropout == 0.1 and s.data_sampling == "chunks" and s.patience > 0


@pytest.mark.parametrize("profile", ["smoke", "quick", "cpu", "gpu"])
def test_every_grid_of_every_profile_is_a_valid_spec(profile, monkeypatch, tmp_path):
    """A grid that asks for an impossible shape (e.g. d_model 56 with 3 heads) fails here, not after an hour
    of training the grids before it."""
    from scalinglaws.study.plan import LRRule, Study
    from scalinglaws.study.profiles import GRIDS

    monkeypatch.setattr(Study, "train_tokens", lambda self: 42_000_000)  # the gutenberg train split, no cache needed
    # LSTM LRs without their sweeps (which would train): one fixed LR per size
    monkeypatch.setattr(Study, "lstm_lrs", lambda self: pd.DataFrame(
        [{"n_layer": l, "d_model": d, "N": 0, "best_lr": 3e-3, "at_edge": False} for l, d in self.profile.lstm_ladder]))
    st = Study(profile, runs_dir=tmp_path / "runs", figures_dir=tmp_path / "figs", log="none")
    st._rule = LRRule(0.02, -0.5, "test rule")
    for g in GRIDS:
        for s in st.grid(g):
            s.validate()
