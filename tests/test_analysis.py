"""The notebooks' analysis helpers (scalinglaws.analysis): what they conclude from fits."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from scalinglaws import analysis
from scalinglaws.fit import FitResult


def test_chinchilla_interpretation_says_whether_the_two_exponents_agree():
    def f(a, lo, hi):
        return SimpleNamespace(params={"a": a}, ci={"a": (lo, hi)})

    agree = analysis.interpret_chinchilla(f(0.77, 0.70, 0.89), f(0.79, 0.54, 0.94), None)
    assert "overlap: at this scale the two methods agree" in agree
    apart = analysis.interpret_chinchilla(f(0.73, 0.70, 0.76), f(0.50, 0.45, 0.55), None)
    assert "do not overlap" in apart and "larger" in apart and "opposite" not in apart
    opposite = analysis.interpret_chinchilla(f(0.24, 0.11, 0.30), f(0.79, 0.54, 0.94), None)
    assert "smaller" in opposite and "opposite" in opposite
    no_ci = analysis.interpret_chinchilla(f(0.77, float("nan"), float("nan")), f(0.79, 0.54, 0.94), None)
    assert "overlap" not in no_ci


def test_frontier_loss_fit_needs_two_model_sizes(capsys):
    """One size's stretch of the frontier is its own learning curve: no L(C) frontier fit from it."""
    C = np.geomspace(1e11, 1e13, 12)
    one = pd.DataFrame({"C": C, "L": 30.0 * C**-0.05, "N": 25_000.0})
    assert analysis.frontier_loss_fit(one, n_boot=0, seed=0) is None
    assert "1 model size(s)" in capsys.readouterr().out
    two = one.assign(N=np.where(C < 1e12, 25_000.0, 85_000.0))
    r = analysis.frontier_loss_fit(two, n_boot=0, seed=0)
    assert r.converged and r.params["alpha"] == pytest.approx(0.05, rel=1e-6)


def test_results_note_why_a_fit_has_no_interval(tmp_path):
    """A converged fit whose parameter has no interval carries the fit's reason into the results file."""
    f = FitResult(law="chinchilla_approach3", params={"E": 1e-26, "alpha": 0.05}, ci={"E": (np.nan, np.nan), "alpha": (0.03, 0.06)},
                  boot=np.empty((0, 2)), param_names=("E", "alpha"), residuals=np.empty(0), points=pd.DataFrame(), converged=True,
                  message="L-BFGS-B from 17 start(s): ok; no interval for E: the E term is at most 3e-27 of every fitted loss (it vanished)",
                  n_boot=0, seed=0)
    res = analysis.Results("06", tmp_path)
    res.add_fit(f, "E", "E (Approach 3)", 1.69, "nats/token", "L = E + A/N^alpha + B/D^beta")
    res.add_fit(f, "alpha", "alpha (Approach 3)", 0.34)
    assert res.get("E (Approach 3)")["note"] == "L = E + A/N^alpha + B/D^beta [no interval for E: the E term is at most 3e-27 of every fitted loss (it vanished)]"
    assert res.get("E (Approach 3)")["ci_low"] is None
    assert res.get("alpha (Approach 3)")["note"] == "" and res.get("alpha (Approach 3)")["ci_low"] == 0.03
