"""Notebook 04 (overfitting): the rule D ∝ N^(α_N/α_D) from the L(N, D) fit, on the data-limited points,
and whether α_N is determined there (leave one size out).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scalinglaws import ScalingLawsError
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


# alpha_N counts as undetermined by a set of (N, D) points when leaving out one model size at a time moves it by
# more than this factor (max/min of the leave-one-size-out estimates), or a refit fails: then the ratio
# alpha_N/alpha_D is set by which sizes happen to be in the set, not by the law. Deterministic (no bootstrap),
# so a point-estimate re-run reaches the same status.
JACKKNIFE_FACTOR = 2.0


def leave_one_size_out(pts: pd.DataFrame) -> pd.DataFrame:
    """Eq. 1.5 refitted on `pts` (columns N, D, L) without each model size in turn: N_left_out, alpha_N,
    alpha_D, ratio (alpha_N/alpha_D), converged. A refit that cannot be made has NaNs and converged False."""
    rows = []
    for n in sorted(pts["N"].unique()):
        t = pts[pts["N"] != n]
        try:
            f = F.fit_kaplan_nd(t["N"], t["D"], t["L"], n_boot=0)
            a_n, a_d, ok = f.params["alpha_N"], f.params["alpha_D"], bool(f.converged)
        except ScalingLawsError:
            a_n, a_d, ok = math.nan, math.nan, False
        rows.append({"N_left_out": float(n), "alpha_N": a_n, "alpha_D": a_d, "ratio": a_n / a_d, "converged": ok})
    return pd.DataFrame(rows, columns=["N_left_out", "alpha_N", "alpha_D", "ratio", "converged"])


def alpha_N_determined(jack: pd.DataFrame, factor: float = JACKKNIFE_FACTOR) -> tuple[bool, str]:
    """(determined, reason) from a leave_one_size_out() table; the reason is the computed sentence a record
    marked unreliable carries ("" when determined)."""
    if len(jack) < 3:
        return False, f"{len(jack)} model sizes: too few to leave one out and still fit alpha_N"
    bad = jack[~jack["converged"] | ~np.isfinite(jack["alpha_N"]) | (jack["alpha_N"] <= 0)]
    if len(bad):
        left = ", ".join(f"{n:,.0f}" for n in bad["N_left_out"])
        rest = jack.drop(bad.index)["alpha_N"]
        others = f" (the other refits give {rest.min():.3g} to {rest.max():.3g})" if len(rest) else ""
        return False, f"alpha_N undetermined: refitting without size N = {left} fails or does not converge{others}"
    lo, hi = float(jack["alpha_N"].min()), float(jack["alpha_N"].max())
    if hi / lo > factor:
        return False, (f"alpha_N undetermined: leaving out one size at a time moves it from {lo:.3g} to {hi:.3g} "
                       f"(more than {factor:g}x)")
    return True, ""


def interpret_ratio(dl_ratio: dict | None, all_ratio: dict | None, paper_value: float) -> str:
    """The two exponent ratios side by side, true in every branch. Each dict: value, ci, n, determined, reason."""
    parts = []
    for name, r in (("on the data-limited points (the claim's record)", dl_ratio),
                    ("on every fitted point, single-epoch ladder runs included", all_ratio)):
        if r is None:
            parts.append(f"alpha_N/alpha_D {name}: not fitted.")
            continue
        ci = r["ci"]
        iv = f" [95% CI {ci[0]:.3g}, {ci[1]:.3g}]" if ci is not None and all(np.isfinite(ci)) else " (no interval)"
        trust = "" if r["determined"] else f"; {r['reason']}, so the ratio is no measurement of Eq. 1.5's exponent"
        parts.append(f"alpha_N/alpha_D {name}: {r['value']:.3g}{iv} from {r['n']} (N, D) points{trust}.")
    parts.append(f"The paper has {paper_value}.")
    return " ".join(parts)
