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


