"""Notebook 04: whether a set of (N, D) points determines alpha_N (leave one size out), and the ratio sentence."""

import numpy as np
import pandas as pd
import pytest
from scalinglaws.analysis import overfitting as ov


def _points(Ns, Ds, aN=0.076, aD=0.1, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    rows = [{"N": N, "D": D, "L": ((1e10 / N) ** (aN / aD) + 5e9 / D) ** aD * np.exp(rng.normal(0, noise))}
            for N in Ns for D in Ds]
    return pd.DataFrame(rows)


def test_points_that_span_both_limits_determine_alpha_N():
    pts = _points([3e3, 1e4, 3e4, 1e5, 3e5], [1e4, 1e5, 1e6, 1e7, 1e8])
    jack = ov.leave_one_size_out(pts)
    assert len(jack) == 5 and jack.converged.all()
    assert jack.alpha_N.to_numpy() == pytest.approx(0.076, rel=1e-2)
    assert ov.alpha_N_determined(jack) == (True, "")


def test_alpha_N_undetermined_when_one_size_moves_it_or_a_refit_fails():
    jack = pd.DataFrame({"N_left_out": [1e3, 1e4, 1e5], "alpha_N": [0.02, 0.09, 0.16], "alpha_D": [0.1] * 3,
                         "ratio": [0.2, 0.9, 1.6], "converged": [True] * 3})
    ok, why = ov.alpha_N_determined(jack)
    assert not ok and why == "alpha_N undetermined: leaving out one size at a time moves it from 0.02 to 0.16 (more than 2x)"
    assert ov.alpha_N_determined(jack, factor=10) == (True, "")
    failed = jack.assign(converged=[True, False, True])
    assert ov.alpha_N_determined(failed)[1] == ("alpha_N undetermined: refitting without size N = 10,000 fails or does not converge "
                                            "(the other refits give 0.02 to 0.16)")
    assert not ov.alpha_N_determined(jack.iloc[:2])[0]


def test_ratio_sentence_in_every_branch():
    good = {"value": 0.61, "ci": (0.53, 1.04), "n": 13, "determined": True, "reason": ""}
    bad = {"value": 0.95, "ci": (0.15, 12.8), "n": 9, "determined": False, "reason": "alpha_N undetermined: x"}
    text = ov.interpret_ratio(bad, good, 0.74)
    assert "data-limited points (the claim's record): 0.95 [95% CI 0.15, 12.8] from 9 (N, D) points; alpha_N undetermined: x, so" in text
    assert "single-epoch ladder runs included: 0.61 [95% CI 0.53, 1.04] from 13 (N, D) points." in text
    assert text.endswith("The paper has 0.74.")
    none = ov.interpret_ratio(None, {**good, "ci": (float("nan"), float("nan"))}, 0.74)
    assert "not fitted." in none and "0.61 (no interval)" in none
