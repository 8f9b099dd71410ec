"""The notebooks' analysis helpers (scalinglaws.analysis): what they conclude from fits."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scalinglaws import paper
from scalinglaws.analysis import allocation, common, critical_batch
from scalinglaws.fit import FitResult


def test_chinchilla_interpretation_says_whether_the_two_exponents_agree():
    def f(a, lo, hi):
        return SimpleNamespace(params={"a": a}, ci={"a": (lo, hi)})

    agree = allocation.interpret_chinchilla(f(0.77, 0.70, 0.89), f(0.79, 0.54, 0.94), None)
    assert "overlap: at this scale the two methods agree" in agree
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


def test_results_note_why_a_fit_has_no_interval(tmp_path):
    """A converged fit whose parameter has no interval carries the fit's reason into the results file."""
    f = FitResult(law="chinchilla_approach3", params={"E": 1e-26, "alpha": 0.05}, ci={"E": (np.nan, np.nan), "alpha": (0.03, 0.06)},
                  boot=np.empty((0, 2)), param_names=("E", "alpha"), residuals=np.empty(0), points=pd.DataFrame(), converged=True,
                  message="L-BFGS-B from 17 start(s): ok; no interval for E: the E term is at most 3e-27 of every fitted loss (it vanished)",
                  n_boot=0, seed=0, no_interval={"E": "the E term is at most 3e-27 of every fitted loss (it vanished)"})
    res = common.Results("06", tmp_path)
    res.add_fit(f, "E", "E (Approach 3)", paper.CHINCHILLA["E"].value, "nats/token", "L = E + A/N^alpha + B/D^beta")
    res.add_fit(f, "alpha", "alpha (Approach 3)", paper.CHINCHILLA["alpha"].value)
    assert res.get("E (Approach 3)")["note"] == "L = E + A/N^alpha + B/D^beta [no interval for E: the E term is at most 3e-27 of every fitted loss (it vanished)]"
    assert res.get("E (Approach 3)")["ci_low"] is None
    assert res.get("alpha (Approach 3)")["note"] == "" and res.get("alpha (Approach 3)")["ci_low"] == 0.03


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

    store = Path(__file__).resolve().parents[1] / "runs" / "cpu"
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


def _fit(params, ci, converged=True, L=(4.0, 5.0)):
    return SimpleNamespace(params=params, ci=ci, converged=converged, points=pd.DataFrame({"L": list(L)}))


def test_bcrit_interpretation_is_true_in_every_branch():
    assert critical_batch.interpret_bcrit(None).startswith("No B_crit(L) fit")
    failed = critical_batch.interpret_bcrit(_fit({"alpha_B": -0.17}, {"alpha_B": (-0.35, -0.11)}, converged=False))
    assert "did not converge" in failed and "no claim" in failed and "grows" not in failed
    zero = critical_batch.interpret_bcrit(_fit({"alpha_B": 0.1}, {"alpha_B": (-0.2, 0.4)}))
    assert "includes 0" in zero and "no dependence" in zero
    grows = critical_batch.interpret_bcrit(_fit({"alpha_B": 0.2}, {"alpha_B": (0.1, 0.3)}))
    assert grows.startswith("B_crit grows as the loss falls, as in the paper")
    shrinks = critical_batch.interpret_bcrit(_fit({"alpha_B": -0.17}, {"alpha_B": (-0.35, -0.11)}))
    assert shrinks.startswith("B_crit shrinks as the loss falls, the opposite") and "grows" not in shrinks
    nan = critical_batch.interpret_bcrit(_fit({"alpha_B": 0.2}, {"alpha_B": (np.nan, np.nan)}))
    assert "grows" in nan and "no interval" in nan


def test_methods_agree_when_the_two_intervals_overlap():
    def a(v, lo, hi):
        return SimpleNamespace(params={"a": v}, ci={"a": (lo, hi)})

    assert allocation.methods_agree(a(0.77, 0.70, 0.89), a(0.79, 0.54, 0.94)) is True
    assert allocation.methods_agree(a(0.73, 0.70, 0.76), a(0.50, 0.45, 0.55)) is False
    assert allocation.methods_agree(a(0.73, np.nan, np.nan), a(0.50, 0.45, 0.55)) is None
    assert allocation.methods_agree(None, a(0.50, 0.45, 0.55)) is None


def test_approach3_is_not_used_for_claims_when_unreliable():
    ok, why = allocation.approach3_reliable(_fit({"E": 1.7}, {}, L=(3.0, 4.0)))
    assert ok and why == ""
    ok, why = allocation.approach3_reliable(_fit({"E": 1e-26}, {}, L=(3.0, 4.0)))
    assert not ok and "E went to (near) zero" in why
    assert allocation.approach3_reliable(_fit({"E": 1.7}, {}, converged=False)) == (False, "fit did not converge")
    assert allocation.approach3_reliable(None)[0] is False
    text = allocation.interpret_chinchilla(None, None, SimpleNamespace(
        params={"alpha": 0.05, "beta": 0.8, "E": 1e-26, "a": 0.94}, converged=True,
        ci={k: (np.nan, np.nan) for k in ("alpha", "beta", "E", "a")}, points=pd.DataFrame({"L": [3.0, 4.0]})))
    assert "not reliable here" in text and "not used to allocate compute" in text
