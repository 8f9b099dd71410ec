"""Confidence intervals honest for the number of points: the percentile bootstrap over groups (enough groups),
a t interval on a line in log-log space, a residual bootstrap for a nonlinear law on few points; and the rule
that picks one (`interval_rule`)."""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from scalinglaws import ScalingLawsError

__all__ = ["MIN_DISTINCT_RESAMPLES", "MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP"]

# A percentile interval needs refits on at least this many different resamples of the data.
MIN_DISTINCT_RESAMPLES = 5


# Below this many independent points (groups), no percentile bootstrap over the points: resampling 3 points
# can only return the fits through subsets of them (for a line, the slopes through pairs), a handful of
# values whose percentiles are no interval. Those fits get a Student-t interval (lines in log-log space) or
# a residual bootstrap (nonlinear laws) instead; see `interval_rule`.
MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP = 6




CI_BOOTSTRAP = "percentile bootstrap over groups"


CI_RESIDUAL = "residual bootstrap"


CI_RESIDUAL_WILD = "residual bootstrap (wild: each group's residuals times a random sign)"


def bootstrap(
    fit_once: Callable[[np.ndarray], np.ndarray | None],
    group_idx: list[np.ndarray],
    n_params: int,
    n_boot: int,
    seed: int,
    strata: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, int, int]:
    """Refit on ``n_boot`` resamples of whole groups (optionally within strata of groups); returns the
    refits, the number that failed and the number of distinct resamples refitted."""
    if n_boot < 0:
        raise ScalingLawsError(f"n_boot must be >= 0, got {n_boot}")
    rng = np.random.default_rng(seed)
    boot = np.full((n_boot, n_params), np.nan)
    failed = 0
    n_groups = len(group_idx)
    distinct = set()  # the resamples (as multisets of groups) that were refitted
    for b in range(n_boot):
        if strata is None:
            pick = rng.integers(0, n_groups, size=n_groups)
        else:
            pick = np.concatenate([rng.choice(s, size=len(s), replace=True) for s in strata])
        idx = np.concatenate([group_idx[i] for i in pick])
        theta = try_refit(fit_once, idx)
        if theta is None:
            failed += 1
            continue
        boot[b] = theta
        distinct.add(tuple(np.sort(pick)))
    return boot, failed, len(distinct)


def try_refit(fn: Callable[[Any], np.ndarray | None], arg: Any) -> np.ndarray | None:
    """One bootstrap refit; None when it fails (no solution, or parameters that are not finite)."""
    try:
        with np.errstate(all="ignore"):
            theta = fn(arg)
    except (ValueError, FloatingPointError, OverflowError, np.linalg.LinAlgError):
        return None
    return theta if theta is not None and np.all(np.isfinite(theta)) else None


def residual_bootstrap(
    refit: Callable[[np.ndarray], np.ndarray | None],
    log_pred: np.ndarray,
    resid: np.ndarray,
    codes: np.ndarray,
    n_free: int,
    n_params: int,
    n_boot: int,
    seed: int,
) -> tuple[np.ndarray, int, int, str]:
    """Refit ``n_boot`` synthetic data sets at the fitted points' own x: log y* = log y_hat + r*. Returns the
    refits, the number that failed, the number of distinct synthetic sets refitted, and the method's name.

    Each point its own group: r* drawn with replacement from the fit's log residuals, centred and scaled by
    sqrt(n / (n - p)) (p free parameters: fitted residuals are smaller than the errors by about that
    factor). Groups of several rows (e.g. the eval points of one run): each row keeps its own residual
    (scaled the same way), each group's multiplied by one random sign (the wild cluster bootstrap), so the
    correlation within a group is kept. What it covers: the scatter of the points about the fitted law, taken
    to be alike at every x (or symmetric, wild); not a wrong law, not errors in x."""
    rng = np.random.default_rng(seed)
    n = len(resid)
    scaled = np.asarray(resid, dtype=float) * math.sqrt(n / (n - n_free))
    n_groups = int(np.max(codes)) + 1
    by_row = n_groups == n
    if by_row:
        scaled = scaled - scaled.mean()
    boot = np.full((n_boot, n_params), np.nan)
    failed, distinct = 0, set()
    for b in range(n_boot):
        if by_row:
            pick = rng.integers(0, n, size=n)
            r, key = scaled[pick], tuple(pick)
        else:
            signs = rng.choice(np.array([-1.0, 1.0]), size=n_groups)
            r, key = scaled * signs[codes], tuple(signs)
        theta = try_refit(refit, log_pred + r)
        if theta is None:
            failed += 1
            continue
        boot[b] = theta
        distinct.add(key)
    return boot, failed, len(distinct), CI_RESIDUAL if by_row else CI_RESIDUAL_WILD


def percentile_ci(boot: np.ndarray, names: Sequence[str], level: float) -> dict[str, tuple[float, float]]:
    q = 100 * (1 - level) / 2
    out = {}
    for j, name in enumerate(names):
        col = boot[:, j] if boot.size else np.zeros(0)
        col = col[np.isfinite(col)]
        if len(col) < 10:  # too few refits for a percentile interval to mean anything
            out[name] = (math.nan, math.nan)
        else:
            lo, hi = np.percentile(col, [q, 100 - q])
            out[name] = (float(lo), float(hi))
    return out


class LineT(NamedTuple):
    """Student-t inference for a fitted line y = b0 + b1 z (log space; b0 is y at z = 0).

    Exact for least squares when the points scatter independently, normally and alike about a true line;
    for a Huber fit it treats the Huber coefficients as if they were least squares (they are, when no
    residual leaves the quadratic zone). It covers that scatter only: not a law that is not a line."""

    b: np.ndarray  # (b0, b1)
    cov: np.ndarray  # their 2 x 2 covariance
    dof: int
    q: float  # the t quantile of the interval's level

    def value_ci(self, z0: float) -> tuple[float, float]:
        """Interval of the line's value b0 + b1 z0."""
        v = np.array([1.0, z0])
        est, se = float(v @ self.b), math.sqrt(max(float(v @ self.cov @ v), 0.0))
        return est - self.q * se, est + self.q * se

    def slope_ci(self) -> tuple[float, float]:
        se = math.sqrt(max(float(self.cov[1, 1]), 0.0))
        return float(self.b[1]) - self.q * se, float(self.b[1]) + self.q * se

    def crossing_ci(self, y0: float) -> tuple[float, float] | None:
        """Fieller's interval for the z where the line reaches y0, z* = (y0 - b0) / b1: the z whose value
        interval contains y0. None when it is unbounded (the slope's interval reaches 0)."""
        (b0, b1), v, q2 = self.b, self.cov, self.q**2
        a = y0 - b0
        qa = b1 * b1 - q2 * v[1, 1]
        qb = -2.0 * (a * b1 + q2 * v[0, 1])
        qc = a * a - q2 * v[0, 0]
        disc = qb * qb - 4 * qa * qc
        if not qa > 0 or disc < 0:
            return None
        root = math.sqrt(disc)
        return (-qb - root) / (2 * qa), (-qb + root) / (2 * qa)

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws of (b0, b1) from their multivariate t distribution (for prediction intervals)."""
        w, vecs = np.linalg.eigh(self.cov)
        root = vecs * np.sqrt(np.clip(w, 0.0, None))
        z = rng.standard_normal((n, 2)) @ root.T
        return self.b + z / np.sqrt(rng.chisquare(self.dof, size=(n, 1)) / self.dof)


def line_t(z: np.ndarray, y: np.ndarray, b: np.ndarray, codes: np.ndarray, level: float) -> tuple[LineT | None, str]:
    """The t inference of the line with coefficients ``b`` fitted to (z, y): (LineT, how it was made), or
    (None, why there is none). Every point its own group: the classical variance s^2 (X'X)^-1, s^2 from the
    n - 2 degrees of freedom of the residuals. Groups of several rows: the cluster-robust (CR1) variance,
    t with groups - 2 degrees of freedom (rows of a group are not independent points)."""
    from scipy.stats import t as student_t

    n = len(y)
    X = np.column_stack([np.ones(n), z])
    r = y - X @ b
    bread = np.linalg.inv(X.T @ X)
    n_groups = int(np.max(codes)) + 1
    if n_groups == n:
        dof, unit = n - 2, "points"
        cov = bread * float(r @ r) / dof if dof >= 1 else None
    else:
        dof, unit = n_groups - 2, "groups"
        scores = np.zeros((n_groups, 2))
        np.add.at(scores, codes, X * r[:, None])
        cov = bread @ (scores.T @ scores) @ bread * (n_groups / (n_groups - 1)) * ((n - 1) / (n - 2))
    if dof < 1:
        return None, (f"only 2 {unit}: a line through 2 {unit} leaves no scatter to estimate its uncertainty "
                      f"from (need 3 for a t interval, {MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP} for a bootstrap)")
    how = f"t interval ({n} points)" if unit == "points" else f"t interval ({n_groups} groups, cluster-robust)"
    return LineT(np.asarray(b, dtype=float), cov, dof, float(student_t.ppf((1 + level) / 2, dof))), how


def image_interval(f: Callable[[float], float], lo: float, hi: float) -> tuple[float, float] | str:
    """f([lo, hi]) for an f that is finite and monotone there; else why not (e.g. -1/s over an interval of
    s that contains 0 is unbounded)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "its interval is not finite"
    with np.errstate(all="ignore"):
        v = np.array([f(t) for t in np.linspace(lo, hi, 257)], dtype=float)
    d = np.diff(v)
    if not np.all(np.isfinite(v)) or not (np.all(d >= 0) or np.all(d <= 0)):
        return "its interval is unbounded (the t interval it comes from reaches the point where it is infinite)"
    return float(v.min()), float(v.max())


class Line(NamedTuple):
    """A law that is a straight line in log-log space, as its t interval needs it: the line's points and
    how its coefficients (b0 = log y at z = 0, slope b1) relate to the optimiser's and the reported
    parameters."""

    z: np.ndarray  # centred log x of each point of the line
    y: np.ndarray  # log y of each point
    codes: np.ndarray  # each point's group, 0 .. groups - 1
    coef: Callable[[np.ndarray], np.ndarray]  # optimiser parameters -> (b0, b1)
    internal: Callable[[np.ndarray], np.ndarray]  # (b0, b1) -> optimiser parameters
    intervals: Callable[[LineT], dict[str, tuple[float, float] | str]]  # reported name -> interval, or why none


def interval_rule(*, converged: bool, n_boot: int, n_points: int, n_free: int, line: bool) -> tuple[str, str]:
    """Which interval a fit gets: ("bootstrap" | "t" | "residual" | "none", why none).

    - none when the fit did not converge (resampling around a point that is no optimum means nothing) or
      with n_boot = 0 (point estimates only);
    - at least MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP independent points: the percentile bootstrap over groups
      (covers the scatter of the points, and a law that fits them badly as far as resampling shows it);
    - fewer, a line in log-log space: Student-t on its coefficients, n - 2 degrees of freedom (`LineT`);
    - fewer, a nonlinear law with more points than free parameters: the residual bootstrap
      (`residual_bootstrap`, x fixed);
    - else none: as many parameters as points leaves no scatter to estimate anything from.
    """
    if not converged:
        return "none", "the full fit did not converge"
    if n_boot == 0:
        return "none", "n_boot=0: point estimates only"
    if n_points >= MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP:
        return "bootstrap", ""
    if line:
        return "t", ""
    if n_points > n_free:
        return "residual", ""
    return "none", (f"{n_points} independent point(s) for {n_free} free parameters: no scatter left to "
                    f"estimate an interval from")


def decades(x: np.ndarray | None) -> float:
    """log10(max/min) of the law's main variable over the fitted points: how far the data reach."""
    if x is None or len(x) == 0:
        return math.nan
    x = np.asarray(x, dtype=float)
    return float(np.log10(np.max(x) / np.min(x)))


