"""The cost estimate of a study (scalinglaws.study.estimate): it lists the runs a cold study trains, and its
per-shape timing predicts a real run's training time on this machine."""

import json

import pytest
from scalinglaws.study.estimate import _pack, cost_key, planned_runs, time_shape
from scalinglaws.study.plan import Study
from scalinglaws.study.profiles import GRIDS


def test_planned_runs_cover_the_study(tmp_path, monkeypatch):
    """Every run the Study's grids ask for (whatever their LRs) has a planned run of the same cost (shape,
    batch, evaluation) and the same number of steps, and nothing else is planned besides the sweeps."""
    import pandas as pd
    from scalinglaws.study.plan import LRRule

    plan = planned_runs("smoke", runs_dir=tmp_path / "runs")
    monkeypatch.setattr(Study, "lstm_lrs", lambda self: pd.DataFrame(
        [{"n_layer": l, "d_model": d, "N": 0, "best_lr": 3e-3, "at_edge": False} for l, d in self.profile.lstm_ladder]))
    st = Study("smoke", runs_dir=tmp_path / "runs", figures_dir=tmp_path / "fig", log="none")
    st._rule = LRRule(0.02, -0.5, "test rule")  # no sweeps trained: LRs do not change a run's cost
    specs = [s for g in GRIDS for s in st.grid(g)]
    ids = {s.run_id for s in specs}
    # a cooldown branch whose trunk is planned costs its steps after the branch point (trained from the trunk's checkpoint)
    study = {(cost_key(s), s.steps - (s.branch_step if s.branch_from in ids else 0)) for s in specs}
    grids = plan[plan.grid != "lr-sweep"]
    assert set(zip(grids.key, grids.steps)) == study
    assert grids["branch"].sum() == sum(1 for s in {s.run_id: s for s in specs}.values() if s.branch_from in ids) > 0
    assert plan.run_id.is_unique
    # extra eval sets are costed on the grid that asks for them, and nowhere else
    assert set(plan.loc[plan.extra_sets > 0, "grid"]) == {"generalization"}
    # every run ends with an eval (a branch with few evals after its branch point still has its last one)
    assert (plan.evals >= 1).all() and (plan.loc[~plan.branch, "evals"] >= 2).all() and (plan.steps > 0).all()


def test_tuned_profile_plans_its_sweeps(tmp_path, monkeypatch):
    """A tuned profile plans the first round of every ladder and LSTM sweep (3 LRs per size)."""
    monkeypatch.setattr(Study, "train_tokens", lambda self: 42_000_000)  # the gutenberg train split, no cache needed
    plan = planned_runs("cpu", runs_dir=tmp_path / "cpu")
    p = Study("cpu", runs_dir=tmp_path / "cpu", figures_dir=tmp_path / "fig", log="none").profile
    sweeps = plan[plan.grid == "lr-sweep"]
    assert len(sweeps[sweeps.arch == "gpt2"]) == len(p.ladder) * len(p.sweep_factors)
    assert len(sweeps[sweeps.arch == "lstm"]) == len(p.lstm_ladder) * len(p.sweep_factors)
    # a ladder size and a shape variant of the same (n_layer, d_model) stay two runs (their LRs differ)
    assert plan.run_id.is_unique


def test_lr_from_reference_skips_the_ladder_sweeps(tmp_path, monkeypatch):
    """quick reads its ladder LRs from runs/cpu when that store holds them: no ladder sweeps planned; with
    an empty reference beside it, it plans its own."""
    from scalinglaws.data.paths import project_root

    ref = project_root() / "runs" / "cpu"
    if not any(ref.glob("*/DONE")):
        pytest.skip("no runs/cpu store in this checkout")
    monkeypatch.setattr(Study, "train_tokens", lambda self: 42_000_000)  # the gutenberg train split, no cache needed
    with_ref = planned_runs("quick", runs_dir=ref.parent / "quick")
    alone = planned_runs("quick", runs_dir=tmp_path / "quick")
    assert not ((with_ref.grid == "lr-sweep") & (with_ref.arch == "gpt2")).any()
    assert ((alone.grid == "lr-sweep") & (alone.arch == "gpt2")).sum() == 4 * 3


def test_pack_is_longest_first():
    assert _pack([3, 3, 2, 2, 2], 2) == 7  # 3+2+2 | 3+2: the longest-first greedy packing
    assert _pack([5, 1, 1], 3) == 5
    assert _pack([1.0] * 4, 1) == 4.0


def test_cost_key_ignores_lr_seed_and_budget(tiny_spec):
    a = tiny_spec
    assert cost_key(a) == cost_key(a.replace(lr=a.lr * 2, seed=3, tokens=a.tokens * 2))
    assert cost_key(a) != cost_key(a.replace(d_model=a.d_model * 2))
    assert cost_key(a) != cost_key(a.replace(batch_size=a.batch_size * 2))


def test_timing_predicts_a_real_run(tiny_spec, small_tokens, tmp_path):
    """steps x the timed step time is the run's measured training time within a factor of 3 (timings
    on a shared 2-core machine vary; a wrong unit or a missing backward pass would be off by far more)."""
    from scalinglaws.training.loop import train_run

    spec = tiny_spec
    t = time_shape(spec, steps=6)
    assert t["step_s"] > 0 and t["eval_s"] > 0
    run = train_run(spec, tmp_path, threads=1, log="none")
    measured = json.loads((run / "summary.json").read_text())["train_seconds"]
    predicted = spec.steps * t["step_s"]
    assert predicted / 3 < measured < predicted * 3, (predicted, measured)


def test_estimate_command(tmp_path, capsys, small_tokens):
    """`scalinglaws estimate` prints the total and one line per grid, and writes one CSV row per planned run."""
    import pandas as pd
    from scalinglaws.cli import main

    out = tmp_path / "est.csv"
    assert main(["estimate", "--profile", "smoke", "--workers", "1", "--quiet", "--runs-dir", str(tmp_path / "runs"),
                 "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    rows = pd.read_csv(out)
    assert text.startswith(f"smoke: {len(rows)} runs") and "min of training on 1 worker(s)" in text
    assert (rows.seconds > 0).all() and set(rows.grid) >= {"model_size", "lr-sweep", "generalization"}
    assert len(rows) == len(planned_runs("smoke", runs_dir=tmp_path / "runs"))


def test_paper_estimate_costs_each_run_at_the_measured_throughput_of_its_size(tmp_path, monkeypatch):
    """On paper for another device: seconds = trained tokens / throughput at N (log-interpolated between the
    measured sizes, flat beyond them); several processes sharing the device divide by the measured gains."""
    from scalinglaws.study.estimate import estimate_from_throughput

    speed = {"machine": {"gpu": "Test GPU"}, "throughput": [{"N": 1e3, "ours": 1e5}, {"N": 1e5, "ours": 1e7}],
             "layout": [{"ratio": 2.0}, {"ratio": 4.0}]}
    f = tmp_path / "speed.json"
    f.write_text(json.dumps(speed))
    e = estimate_from_throughput("smoke", f, runs_dir=tmp_path / "runs")
    r = e.runs
    # smoke's sizes (N of a few thousand) sit between the two points: throughput = 1e5 * (N / 1e3) on this line
    inside = r[(r.N > 1e3) & (r.N < 1e5)]
    assert len(inside) and ((inside.tokens_per_s / (1e5 * inside.N / 1e3)).sub(1).abs() < 1e-9).all()
    assert e.one_process_s == pytest.approx((r.tokens_trained / r.tokens_per_s).sum())
    assert e.shared_s == pytest.approx((e.one_process_s / 4, e.one_process_s / 2))
    assert "Test GPU" in e.summary() and "on paper" in e.summary()
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    from scalinglaws import ScalingLawsError
    with pytest.raises(ScalingLawsError, match="not a speed benchmark result"):
        estimate_from_throughput("smoke", bad)
