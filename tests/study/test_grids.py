"""The study's grids follow the measurement design, and every grid of every profile is a valid spec."""


import pandas as pd
import pytest


def _cpu_study():
    from scalinglaws.study.plan import LRRule, Study

    st = Study("cpu", log="none")
    st._rule = LRRule(0.02, -0.5, "test rule")  # no store needed: every LR from this rule
    st.train_tokens = lambda: 42_000_000
    return st


def test_grids_follow_the_measurement_design():
    st = _cpu_study()
    batch = [s for s in st.grid("batch") if "lr-check" not in s.label and "seed" not in s.label]
    assert len({s.batch_size for s in batch}) >= 5 and max(s.batch_size for s in batch) / min(s.batch_size for s in batch) >= 16
    assert {s.warmup for s in batch} == {st.profile.batch_warmup} and {s.schedule for s in batch} == {"wsd"}
    assert min(s.steps for s in batch) >= st.profile.batch_min_steps and all(s.noise_scale for s in batch)
    lrs = {s.batch_size: s.lr for s in batch}
    assert lrs[64] / lrs[16] == pytest.approx(2.0, rel=0.01)  # √(64/16)
    kap = st.grid("kaplan")
    assert all(s.warmup == int(0.25 * s.steps) and s.schedule_tokens == 4 * s.tokens for s in kap)
    assert {s.tokens for s in kap} == {st.profile.kaplan_tokens}
    aspect = [s.run_id for s in st.grid("shape") if "aspect=" in s.label]
    assert len(aspect) == len(set(aspect))  # aspects that round to one shape are trained and shown once
    for s in st.grid("dataset_size") + st.grid("overfitting"):
        assert s.dropout == 0.1 and s.data_sampling == "chunks" and s.patience > 0


def test_final_losses_come_from_one_trunk_per_size_with_cooldown_branches():
    """Every budget of a ladder size is a member of that size's family: one WSD trunk at its largest budget,
    branches that name it; the ladder budget of a long size is a branch; the ablation's steps change one
    thing each."""
    from scalinglaws.training.branches import check_branch_of

    st = _cpu_study()
    p = st.profile
    fams = {}
    for s in st.grid("convergence"):
        fams.setdefault((s.n_layer, s.d_model), []).append(s)
    for size, members in fams.items():
        trunk = max(members, key=lambda s: s.tokens)
        assert not trunk.branch_from and trunk.schedule == "wsd" and trunk.warmup_steps == p.final_warmup
        for b in members:
            if b is not trunk:
                check_branch_of(trunk, b)  # raises unless b trains what a from-scratch WSD run of its budget trains
        budgets = sorted(s.tokens for s in members)
        assert all(b2 / b1 <= 2.0 + 1e-9 for b1, b2 in zip(budgets, budgets[1:]))  # a factor 2 apart at most
        assert (trunk.tokens == p.long_tokens) == (size in p.long_ladder)
    ladder = {(s.n_layer, s.d_model): s for s in st.grid("model_size")}
    assert all(bool(ladder[sz].branch_from) == (sz in p.long_ladder) for sz in p.ladder)
    iso = st.grid("isoflop")
    assert {s.run_id for s in st.grid("convergence")} <= {s.run_id for s in iso}  # slices read the ladder's families
    extra = [s for s in iso if (s.n_layer, s.d_model) not in p.ladder]  # and those of the sizes between its rungs
    assert {(s.n_layer, s.d_model) for s in extra} == set(p.iso_ladder) - set(p.ladder)
    for size in p.iso_long:
        assert max(s.tokens for s in extra if (s.n_layer, s.d_model) == size) == p.iso_long_tokens
    abl = st.grid("ablation")
    c = [s for s in abl if s.label.startswith("ablation c")]
    kap = {(s.n_layer, s.d_model): s for s in st.grid("kaplan")}
    for s in c:  # (c) differs from (a) in its warmup only (and does not record the noise scale)
        k = kap[(s.n_layer, s.d_model)]
        assert s.replace(warmup_steps=k.warmup_steps, noise_scale=True).run_id == k.run_id
    d = [s for s in abl if s.label.startswith("ablation d")]
    f = [s for s in abl if s.label.startswith("ablation f")]
    assert {s.beta2 for s in f} == {0.99} and {s.beta2 for s in d} == {0.95}
    assert sorted({s.tokens for s in d}) == st.ablation_budgets() == sorted({s.tokens for s in f})


def test_every_isoflop_slice_of_the_cpu_design_holds_six_sizes_over_one_and_a_half_decades():
    """The design, before any run: at every IsoFLOP budget of either counting, at least 6 sizes have final-loss
    budgets that reach D = C / (FLOPs per token) without extrapolation, and the budgets span >= 1.5 decades.
    (Whether each slice's minimum lies inside is measured, notebook 06b.)"""
    import math

    st = _cpu_study()
    p = st.profile
    fams = {}
    for s in st.grid("isoflop"):
        fams.setdefault((s.n_layer, s.d_model), []).append(s)
    for counting, budgets in (("kaplan", p.iso_budgets), ("full", p.iso_full_budgets)):
        assert math.log10(max(budgets) / min(budgets)) >= 1.5 - 1e-9
        for C in budgets:
            inside = [size for size, members in fams.items()
                      if min(m.tokens for m in members) <= C / members[0].describe()["flops_per_token"][counting]
                      <= max(m.tokens for m in members)]
            assert len(inside) >= 6, (counting, C, inside)


def test_runs_read_for_their_final_loss_only_are_evaluated_fewer_times():
    """Sweeps, shapes, seeds, LR checks, off-ladder depths, the ablation's final-loss families and the
    IsoFLOP-only sizes are evaluated at final_eval_points; every run whose learning curve a notebook reads
    (the ladder's families, Kaplan-style runs, batch sizes, generalisation trunks) keeps eval_points."""
    st = _cpu_study()
    p = st.profile
    assert 0 < p.final_eval_points < p.eval_points
    final_only = (st.first_sweep_round() + st.grid("shape") + st.grid("seeds") + st.grid("lr_check")
                  + [s for s in st.grid("depth") if (s.n_layer, s.d_model) not in p.ladder]
                  + [s for s in st.grid("ablation") if not s.label.startswith("ablation c")]
                  + [s for s in st.grid("isoflop") if (s.n_layer, s.d_model) not in p.ladder])
    assert {s.eval_points for s in final_only} == {p.final_eval_points}
    curves = (st.grid("model_size") + st.grid("convergence") + st.grid("kaplan") + st.grid("batch")
              + [s for s in st.grid("ablation") if s.label.startswith("ablation c")]
              + [s for s in st.grid("generalization") if not s.branch_from])
    assert {s.eval_points for s in curves} == {p.eval_points}


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


