"""The analysis behind each notebook: tables from the run store, fits, figures, results records.

Notebooks call these one step at a time; nothing here trains (training goes through Study.ensure).
Every number written to ``NN_results.json`` is computed here from runs and fits; interpretations are
assembled from those numbers (`interpret_*`), never typed in ahead of them.
"""

from __future__ import annotations

import numpy as np

from scalinglaws import fit as F


def overfit_rule(nd: F.FitResult, tolerance: float = 0.02) -> dict:
    """From Eq. 1.5, δL <= tolerance  <=>  D >= k·N^(α_N/α_D) with
    k = D_c·N_c^(−α_N/α_D) / ((1+tol)^(1/α_D) − 1). Point estimate and bootstrap CI of k and the exponent."""
    def k_of(p):
        e = p["alpha_N"] / p["alpha_D"]
        return p["D_c"] * p["N_c"] ** (-e) / ((1 + tolerance) ** (1 / p["alpha_D"]) - 1), e

    k, e = k_of(nd.params)
    boot = [dict(zip(nd.param_names, row)) for row in nd.boot if np.all(np.isfinite(row))]
    ks = np.array([k_of(b) for b in boot]) if boot else np.full((1, 2), np.nan)
    q = lambda a: (float(np.nanpercentile(a, 2.5)), float(np.nanpercentile(a, 97.5)))  # noqa: E731
    return {"k": k, "k_ci": q(ks[:, 0]), "exponent": e, "exponent_ci": q(ks[:, 1]), "tolerance": tolerance}
