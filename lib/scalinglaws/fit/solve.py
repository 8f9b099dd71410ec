"""Robust least squares in log space from several starts (Huber or plain), with an optional polish, and the
starts a bootstrap refit may begin from."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from scipy.optimize import least_squares

from scalinglaws import ScalingLawsError
from scalinglaws.fit.result import HUBER_SCALE_LOSS, Solution, no_solution

__all__ = ["REFIT_EXTRA_STARTS", "SAME_OPTIMUM_RTOL"]

# A bootstrap refit also starts from at most this many of the full-data fit's other end points: a refit
# then costs at most two solves, the second from up to three starts.
REFIT_EXTRA_STARTS = 3


# Objectives within this relative distance are one optimum (Approach 3's "reached within 1e-6" too): far
# above how far apart unpolished fits of one well-determined optimum stop (at most 1e-10 relative on the
# calibration data), far below a different basin. Along a flat valley a start that gets further down by
# more than this is simply the better fit of that resample.
SAME_OPTIMUM_RTOL = 1e-6


# An end point whose objective on all points is more than this multiple of the optimum's fits most points
# worse; a resample of the same points does not reverse that, so it is no start for a refit (Eq. 1.5's
# stray starts end 15-20x above its optimum on the calibration data, and were never chosen by a refit).
OTHER_BASIN_MAX_RATIO = 2.0


def same_objective(a: float, b: float) -> bool:
    return abs(a - b) <= SAME_OPTIMUM_RTOL * abs(b) + 1e-15


def distinct_ends(ends: Sequence[tuple[np.ndarray, float]], best: float) -> tuple[np.ndarray, ...]:
    """Where a fit's starts ended, (x, objective) pairs, as starts for bootstrap refits: other optima than
    the one at objective ``best`` (one per distinct objective, lowest first, at most REFIT_EXTRA_STARTS),
    within OTHER_BASIN_MAX_RATIO of it."""
    kept: list[tuple[np.ndarray, float]] = []
    for x, obj in sorted(ends, key=lambda e: e[1]):
        if not (np.isfinite(obj) and np.all(np.isfinite(x))) or obj > OTHER_BASIN_MAX_RATIO * best:
            continue
        if same_objective(obj, best) or any(same_objective(obj, o) for _, o in kept):
            continue
        kept.append((np.asarray(x, dtype=float), float(obj)))
        if len(kept) == REFIT_EXTRA_STARTS:
            break
    return tuple(x for x, _ in kept)


POLISH_TOL = 1e-15


POLISH_MAX_NFEV = 200


def robust_lsq(
    resid: Callable[[np.ndarray], np.ndarray],
    starts: Sequence[np.ndarray],
    *,
    names: Sequence[str],
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    f_scale: float | None = HUBER_SCALE_LOSS,
    max_iter: int | None = None,
    polish: bool = False,
) -> Solution:
    """Huber least squares from several starts (plain least squares when ``f_scale`` is None); keep the
    lowest cost among those that ran.

    ``polish`` (the full-data fit of every law; not its bootstrap refits, which only need to be as
    exact as their spread): continue from the best result with tolerances near machine precision.
    scipy's defaults stop when the step or gradient falls below 1e-8, and where exactly depends on the
    CPU's floating-point sums: the same fit differed by up to 4.5e-6 relative between OpenBLAS kernels.
    Polished, a published estimate is a property of the data, not of the machine.

    Returns a `Solution` with objective = 2 × scipy's cost (the sum of Huber terms, or of squares) and, as
    ``refit_starts``, where the other starts ended (`distinct_ends`). ``converged`` requires
    scipy's own success flag (gradient/step/cost tolerance met, not the evaluation limit) and no
    parameter pinned at a bound. A start that already satisfies the gradient tolerance (e.g.
    the OLS start of a line whose residuals all sit inside the Huber zone) is a true optimum.
    """
    if f_scale is not None and not f_scale > 0:
        raise ScalingLawsError(f"huber_scale must be > 0 (or None for least squares), got {f_scale}")
    loss, scale = ("linear", 1.0) if f_scale is None else ("huber", float(f_scale))
    lb, ub = bounds if bounds is not None else (-np.inf, np.inf)
    best = None
    ends = []
    for x0 in starts:
        x0 = np.asarray(x0, dtype=float)
        if bounds is not None:
            # least_squares needs a strictly feasible start; nudge starts off finite bounds.
            with np.errstate(invalid="ignore"):
                lo = np.where(np.isfinite(lb), lb + 1e-9 * (1 + np.abs(lb)), -np.inf)
                hi = np.where(np.isfinite(ub), ub - 1e-9 * (1 + np.abs(ub)), np.inf)
            x0 = np.clip(x0, lo, hi)
        try:
            with np.errstate(all="ignore"):
                r = least_squares(
                    resid, x0, bounds=(lb, ub), method="trf", loss=loss, f_scale=scale,
                    max_nfev=max_iter, x_scale="jac",
                )
        except ValueError:  # residuals not finite at the start
            continue
        if not np.isfinite(r.cost):
            continue
        ends.append((r.x, 2 * float(r.cost)))
        if best is None or r.cost < best.cost:
            best = r
    if best is None:
        return no_solution("no start gave finite residuals")
    how = "least squares" if f_scale is None else f"huber f_scale={f_scale:g}"
    msg = f"least_squares (trf, {how}) from {len(starts)} start(s): {best.message}"
    converged = bool(best.success)
    if bounds is not None and np.any(best.active_mask != 0):
        pinned = [n for n, a in zip(names, best.active_mask) if a != 0]
        msg += f"; parameter(s) {pinned} stopped at a bound"
        converged = False
    # Measured before polishing, against the best start's own end point (polishing lowers only that one).
    others = distinct_ends(ends, 2 * float(best.cost))
    if polish and converged:
        try:
            with np.errstate(all="ignore"):
                p = least_squares(resid, best.x, bounds=(lb, ub), method="trf", loss=loss, f_scale=scale,
                                  x_scale="jac", ftol=POLISH_TOL, xtol=POLISH_TOL, gtol=POLISH_TOL,
                                  max_nfev=POLISH_MAX_NFEV)
            if np.isfinite(p.cost) and p.cost <= best.cost:
                best = p
        except ValueError:
            pass
    return Solution(best.x, 2 * float(best.cost), converged, msg, refit_starts=others)


def line_starts(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS intercept and slope of y on z (a start for robust fits)."""
    if np.ptp(z) == 0:
        raise ValueError("all x equal")
    slope, intercept = np.polyfit(z, y, 1)
    return np.array([intercept, slope])


