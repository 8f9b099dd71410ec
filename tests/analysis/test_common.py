"""Shared analysis helpers: results records and the sentences that compare with the paper."""

import math

import numpy as np
import pandas as pd
from scalinglaws import paper
from scalinglaws.analysis import common as an
from scalinglaws.fit import FitResult


def test_versus_paper_is_true_in_every_branch():
    assert "inside" in an.versus_paper(0.07, (0.06, 0.08), 0.076)
    assert "below" in an.versus_paper(0.1, (0.09, 0.11), 0.076)
    assert "above" in an.versus_paper(0.05, (0.04, 0.06), 0.076)
    assert "no interval" in an.versus_paper(0.05, (math.nan, math.nan), 0.076)
    assert "did not converge" in an.versus_paper(-0.001, (math.nan, math.nan), 0.076, converged=False)
    assert "did not converge" in an.fit_versus_paper(None, "alpha", 0.076)


def test_results_note_why_a_fit_has_no_interval(tmp_path):
    """A converged fit whose parameter has no interval carries the fit's reason into the results file."""
    f = FitResult(law="chinchilla_approach3", params={"E": 1e-26, "alpha": 0.05}, ci={"E": (np.nan, np.nan), "alpha": (0.03, 0.06)},
                  boot=np.empty((0, 2)), param_names=("E", "alpha"), residuals=np.empty(0), points=pd.DataFrame(), converged=True,
                  message="L-BFGS-B from 17 start(s): ok; no interval for E: the E term is at most 3e-27 of every fitted loss (it vanished)",
                  n_boot=0, seed=0, no_interval={"E": "the E term is at most 3e-27 of every fitted loss (it vanished)"})
    res = an.Results("06", tmp_path)
    res.add_fit(f, "E", "E (Approach 3)", paper.CHINCHILLA["E"].value, "nats/token", "L = E + A/N^alpha + B/D^beta")
    res.add_fit(f, "alpha", "alpha (Approach 3)", paper.CHINCHILLA["alpha"].value)
    assert res.get("E (Approach 3)")["note"] == "L = E + A/N^alpha + B/D^beta [no interval for E: the E term is at most 3e-27 of every fitted loss (it vanished)]"
    assert res.get("E (Approach 3)")["ci_low"] is None
    assert res.get("alpha (Approach 3)")["note"] == "" and res.get("alpha (Approach 3)")["ci_low"] == 0.03


