"""The machinery every law shares: the result (`FitResult`), robust least squares in log space, the
bootstrap over groups, and the one protocol every law is fitted by. Conventions: see `scalinglaws.fit`.

The law protocol
----------------
A law is one public function ``fit_<law>(...)`` in the module of its paper (kaplan, chinchilla, frontier),
listed in that module's ``__all__`` (which `scalinglaws.fit` re-exports), plus its test. The function:

1. checks its inputs (`_array`, `_same_length`) and groups the points for the bootstrap (`_group_index`);
2. writes ``solve(idx, starts, ylog=None) -> Solution``, which fits the points ``idx``: from the law's own
   starts for those points and polished when ``starts`` is None (the full-data fit), else from ``starts`` (a
   bootstrap refit); ``ylog`` replaces the log observations of those points (a residual-bootstrap refit). The full-data fit's `Solution` lists in ``refit_starts`` where its other starts
   ended (`_robust_lsq` does this; `_distinct_ends` picks them), best first. ``Solution.x`` is None (and
   ``message`` says why) when the points cannot support the law (e.g. too few distinct x);
3. writes ``natural(x)``: the optimiser's internal parameters -> the reported ones, in the order of ``names``;
4. returns ``_solve_and_finish(solve, natural, ..., span_of=<its main variable>)``: the full fit, the
   intervals (`_interval_rule`), log residuals, the points table and the `FitResult`. Optional:
   ``reject(params)``, why a solution is no law (e.g. an exponent <= 0), one rule for the full fit and every
   refit; ``line``, a `_Line` for a law that is a straight line in log-log space (its t interval).

Every bootstrap refit solves the resample twice: from the full-data optimum, and from the full-data
fit's ``refit_starts`` (at most ``REFIT_EXTRA_STARTS``). The lower objective wins, the second only when
lower by more than ``SAME_OPTIMUM_RTOL`` (relative), so ties keep the refit from the optimum; a refit
whose winner did not converge fails. A refit is thus never worse than one started at the optimum alone.
Why: a refit started only at the optimum stays near it when the resample's best fit lies elsewhere, in
another basin or further along a flat valley, which narrows the interval (on 8 noisy points of
L = E + (X_c/x)^alpha, refits from the optimum stopped at objective 0.005 where a start from another end
point reached 0.0003; tests/test_fit.py). The other starts are where the law's own starts ended on all
points, not the raw starts: each lies near an optimum, so its solve costs about what one from the
optimum does (three raw starts again per resample measured 7-9x slower for the four-parameter laws, with
the same intervals on their calibration data). End points at the optimum's objective are the optimum
and those beyond ``OTHER_BASIN_MAX_RATIO`` of it are not used, so a law whose starts all end at its
optimum keeps one solve per refit. Approach 3 lists perturbations of its optimum instead (its grid's end
points are not optima; see `chinchilla_approach3`).

Laws that are a line in log-log space get all of this from `_fit_loglinear`; least-squares laws solve
with `_robust_lsq` (Huber or plain least squares, several starts, optional polish).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from scalinglaws import ScalingLawsError

__all__ = ["FitResult", "FitWarning", "Prediction", "HUBER_SCALE", "HUBER_SCALE_LOSS", "MIN_DISTINCT_RESAMPLES",
           "MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP", "BOOT_UNRELIABLE_FAILURE_RATE", "REFIT_EXTRA_STARTS",
           "SAME_OPTIMUM_RTOL"]

# The Huber scale is a property of the quantity fitted, not of the fitting code: it is where a residual
# stops being "noise" and starts being "an outlier", so it must be about the size of that quantity's noise.
# Log-loss fits (every law of L): 0.02 in log L is ~2 % of the loss, about the run-to-run scatter of small
# language models, known before any fit.
HUBER_SCALE_LOSS = 0.02
# Kept for callers that imported the old name: it always meant the log-loss scale.
HUBER_SCALE = HUBER_SCALE_LOSS
# Lines through quantities that are not a loss (log N_opt, log B_crit, log steps) default to plain least
# squares (``huber_scale=None``). Their scatter is ~0.1 in log, five times the loss scale, so 0.02 made those
# fits nearly least-absolute-deviation (full-counting frontier: a = 0.500 Huber vs 0.563 OLS on the same 4
# points). A scale estimated from the data instead (1.345 x MAD of OLS residuals) rests, on the 3-8 points
# these fits have, on a MAD that is itself uncertain by a factor ~2, and with so few points one outlier
# cannot be told from the trend anyway. Least squares is also what the Student-t interval of small fits
# (below) is exact for. A caller who knows the noise level of such a quantity can still pass a scale.


_ModelFn = Callable[..., np.ndarray]


class FitWarning(UserWarning):
    """A fit did not converge, or many bootstrap refits failed."""


class Prediction(NamedTuple):
    """A prediction with an interval from the bootstrap parameter sets (parameter uncertainty only)."""

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray


class Solution(NamedTuple):
    """What a law's ``solve`` returns for one set of points (see the protocol above)."""

    x: np.ndarray | None  # the optimiser's internal parameters; None: no solution (``message`` says why)
    objective: float  # the law's objective at x (lower is better); FitResult.objective of the full fit
    converged: bool
    message: str
    tables: dict | None = None  # full-data fit only: tables to keep in FitResult.tables
    refit_starts: tuple = ()  # full-data fit only: other starts for bootstrap refits, best first


def _no_solution(why: str) -> Solution:
    return Solution(None, math.nan, False, why)


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


def _same_objective(a: float, b: float) -> bool:
    return abs(a - b) <= SAME_OPTIMUM_RTOL * abs(b) + 1e-15


def _distinct_ends(ends: Sequence[tuple[np.ndarray, float]], best: float) -> tuple[np.ndarray, ...]:
    """Where a fit's starts ended, (x, objective) pairs, as starts for bootstrap refits: other optima than
    the one at objective ``best`` (one per distinct objective, lowest first, at most REFIT_EXTRA_STARTS),
    within OTHER_BASIN_MAX_RATIO of it."""
    kept: list[tuple[np.ndarray, float]] = []
    for x, obj in sorted(ends, key=lambda e: e[1]):
        if not (np.isfinite(obj) and np.all(np.isfinite(x))) or obj > OTHER_BASIN_MAX_RATIO * best:
            continue
        if _same_objective(obj, best) or any(_same_objective(obj, o) for _, o in kept):
            continue
        kept.append((np.asarray(x, dtype=float), float(obj)))
        if len(kept) == REFIT_EXTRA_STARTS:
            break
    return tuple(x for x, _ in kept)


@dataclass
class FitResult:
    """One fitted law.

    ``params`` and the columns of ``boot`` are in natural units (X_c in the units of X, not its
    log). ``ci[name] = (low, high)`` is the interval at ``level`` made as ``ci_method`` says (see
    `_interval_rule`): "percentile bootstrap over groups", "t interval (n points)", "residual bootstrap",
    or "none (reason)". ``boot`` holds the refits of a bootstrap, or for a t interval draws from the
    estimate's t sampling distribution (used by ``predict_interval``; no refits). ``residuals`` are
    log(observed) - log(predicted) at ``points`` (the rows actually fitted).

    ``n_points``: the independent points the fit rests on (distinct groups when ``groups`` were given, else
    rows; Approach 2: the budgets whose minima make its line). ``span``: decades, log10(max/min), of the
    law's main variable over the fitted points (each law's docstring names it). ``boot_total``: bootstrap
    refits attempted (0 for a t interval, or with no interval); ``n_boot_failed`` (alias ``boot_failed``):
    how many of them failed (a NaN row of ``boot``). ``boot_unreliable``: more than
    BOOT_UNRELIABLE_FAILURE_RATE of them failed, so the interval rests on a selected subset of resamples.
    """

    law: str
    params: dict[str, float]
    ci: dict[str, tuple[float, float]]
    boot: np.ndarray
    param_names: tuple[str, ...]
    residuals: np.ndarray
    points: pd.DataFrame
    converged: bool
    message: str
    n_boot: int
    seed: int
    level: float = 0.95
    n_boot_failed: int = 0
    objective: float = math.nan
    inputs: tuple[str, ...] = ()
    output: str = "L"
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    model: _ModelFn | None = field(default=None, repr=False, compare=False)
    allocator: Callable[..., tuple[np.ndarray, np.ndarray]] | None = field(default=None, repr=False, compare=False)
    # Why a parameter has no interval (name -> reason; "*" for every parameter), as data for notes and tables.
    no_interval: dict[str, str] = field(default_factory=dict)
    ci_method: str = "none (not recorded)"
    n_points: int = 0
    span: float = math.nan
    boot_total: int = 0

    # ---------------------------------------------------------------- bootstrap health
    @property
    def boot_failed(self) -> int:
        """Bootstrap refits that failed (the same number as ``n_boot_failed``)."""
        return self.n_boot_failed

    @property
    def boot_failure_rate(self) -> float:
        """Failed / attempted bootstrap refits; 0.0 when none were attempted (t interval, no interval)."""
        return self.n_boot_failed / self.boot_total if self.boot_total else 0.0

    @property
    def boot_unreliable(self) -> bool:
        """More than BOOT_UNRELIABLE_FAILURE_RATE of the refits failed: the interval comes from the resamples
        that could be refitted, a selected subset, and callers should mark it so."""
        return self.boot_total > 0 and self.boot_failure_rate > BOOT_UNRELIABLE_FAILURE_RATE

    # ---------------------------------------------------------------- prediction
    def _inputs(self, args: tuple, kwargs: dict) -> list[np.ndarray]:
        if self.model is None:
            raise ScalingLawsError(f"{self.law}: this result has no model to predict with")
        names = list(self.inputs)
        if len(args) > len(names):
            raise ScalingLawsError(f"{self.law}.predict takes {names}, got {len(args)} positional values")
        values = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names:
                raise ScalingLawsError(f"{self.law}.predict takes {names}, not {k!r}")
            if k in values:
                raise ScalingLawsError(f"{self.law}.predict got {k!r} twice")
            values[k] = v
        missing = [n for n in names if n not in values]
        if missing:
            raise ScalingLawsError(f"{self.law}.predict needs {missing}")
        return [np.asarray(values[n], dtype=float) for n in names]

    def predict(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """The law at the point estimate, e.g. ``fit.predict(N=1e8, D=2e9)``."""
        xs = self._inputs(args, kwargs)
        return self.model(self.params, *xs)

    def _boot_params(self) -> list[dict[str, float]]:
        ok = np.all(np.isfinite(self.boot), axis=1) if self.boot.size else np.zeros(0, bool)
        return [dict(zip(self.param_names, row)) for row in self.boot[ok]]

    def predict_interval(self, *args: Any, level: float | None = None, **kwargs: Any) -> Prediction:
        """Point prediction and the ``level`` percentile interval over the bootstrap parameter sets.

        This is a confidence interval for the *law* (parameter uncertainty); the scatter of one
        new run around the law is extra (see ``residuals``).
        """
        xs = self._inputs(args, kwargs)
        est = self.model(self.params, *xs)
        return self._interval(est, [self.model(p, *xs) for p in self._boot_params()], level)

    def _interval(self, est: np.ndarray, draws: list[np.ndarray], level: float | None) -> Prediction:
        level = self.level if level is None else level
        if not draws:
            nan = np.full(np.shape(est), np.nan)
            return Prediction(np.asarray(est), nan, nan.copy())
        arr = np.stack([np.asarray(d, dtype=float) for d in draws])
        q = 100 * (1 - level) / 2
        lo, hi = np.nanpercentile(arr, [q, 100 - q], axis=0)
        return Prediction(np.asarray(est), lo, hi)

    # ---------------------------------------------------------------- allocation
    def optimal_allocation(self, C: Any) -> tuple[np.ndarray, np.ndarray]:
        """Compute-optimal (N_opt, D_opt) at compute C (FLOP, with C = 6 N D)."""
        if self.allocator is None:
            raise ScalingLawsError(f"{self.law} has no compute-optimal allocation")
        return self.allocator(self.params, np.asarray(C, dtype=float))

    def optimal_allocation_interval(self, C: Any, level: float | None = None) -> tuple[Prediction, Prediction]:
        """(N_opt, D_opt) at C, each with a bootstrap interval."""
        if self.allocator is None:
            raise ScalingLawsError(f"{self.law} has no compute-optimal allocation")
        C = np.asarray(C, dtype=float)
        n, d = self.allocator(self.params, C)
        draws = [self.allocator(p, C) for p in self._boot_params()]
        return (
            self._interval(n, [x[0] for x in draws], level),
            self._interval(d, [x[1] for x in draws], level),
        )

    def predict_compute_optimal(self, C: Any, level: float | None = None) -> Prediction:
        """Loss at the compute-optimal allocation for compute C, with a bootstrap interval."""
        if self.allocator is None or self.model is None or tuple(self.inputs) != ("N", "D"):
            raise ScalingLawsError(f"{self.law} does not predict loss from compute")
        C = np.asarray(C, dtype=float)
        est = self.model(self.params, *self.allocator(self.params, C))
        draws = [self.model(p, *self.allocator(p, C)) for p in self._boot_params()]
        return self._interval(est, draws, level)

    # ---------------------------------------------------------------- reporting
    def summary(self) -> list[dict[str, Any]]:
        """One record per parameter: quantity, value, ci_low, ci_high."""
        return [
            {
                "quantity": name,
                "value": self.params[name],
                "ci_low": self.ci[name][0],
                "ci_high": self.ci[name][1],
            }
            for name in self.param_names
        ]

    def summary_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.summary(), columns=["quantity", "value", "ci_low", "ci_high"])

    def covers(self, name: str, value: float) -> bool:
        """Whether ``value`` lies inside the CI of ``name`` (False when the CI is undefined)."""
        lo, hi = self.ci[name]
        return bool(np.isfinite(lo) and np.isfinite(hi) and lo <= value <= hi)

    def no_interval_reason(self, name: str) -> str:
        """Why ``name`` has no interval ("no interval for <name>: ..." or "no interval: ..."), as
        `_solve_and_finish` recorded it in ``no_interval``; "" when it has one or no reason was recorded."""
        if np.all(np.isfinite(self.ci[name])):
            return ""
        if name in self.no_interval:
            return f"no interval for {name}: {self.no_interval[name]}"
        return f"no interval: {self.no_interval['*']}" if "*" in self.no_interval else ""

    def half_width(self, name: str) -> float:
        lo, hi = self.ci[name]
        return (hi - lo) / 2


def _array(name: str, values: Any, *, positive: bool = True) -> np.ndarray:
    a = np.asarray(values, dtype=float).reshape(-1)
    bad = ~np.isfinite(a)
    if bad.any():
        raise ScalingLawsError(f"{name} has {int(bad.sum())} non-finite value(s)")
    if positive and (a <= 0).any():
        raise ScalingLawsError(f"{name} must be > 0 (fits are in log space); {int((a <= 0).sum())} value(s) are not")
    return a


def _same_length(**arrays: np.ndarray) -> int:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ScalingLawsError(f"inputs differ in length: {lengths}")
    return next(iter(lengths.values()))


def _group_index(groups: Any, n: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Group codes per point and, per group, the indices of its points."""
    if groups is None:
        codes = np.arange(n)
    else:
        g = np.asarray(groups).reshape(-1)
        if len(g) != n:
            raise ScalingLawsError(f"groups has {len(g)} entries for {n} points")
        codes, _ = pd.factorize(pd.Series(g), use_na_sentinel=False)
    order = np.argsort(codes, kind="stable")
    splits = np.flatnonzero(np.diff(codes[order])) + 1
    return codes, np.split(order, splits)


# A percentile interval needs refits on at least this many different resamples of the data.
MIN_DISTINCT_RESAMPLES = 5
# Below this many independent points (groups), no percentile bootstrap over the points: resampling 3 points
# can only return the fits through subsets of them (for a line, the slopes through pairs), a handful of
# values whose percentiles are no interval. Those fits get a Student-t interval (lines in log-log space) or
# a residual bootstrap (nonlinear laws) instead; see `_interval_rule`.
MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP = 6
# More failed refits than this share of those attempted: the interval rests on the resamples that could be
# refitted, a selected subset (FitResult.boot_unreliable, and a FitWarning).
BOOT_UNRELIABLE_FAILURE_RATE = 0.1

CI_BOOTSTRAP = "percentile bootstrap over groups"
CI_RESIDUAL = "residual bootstrap"
CI_RESIDUAL_WILD = "residual bootstrap (wild: each group's residuals times a random sign)"


def _bootstrap(
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
        theta = _try_refit(fit_once, idx)
        if theta is None:
            failed += 1
            continue
        boot[b] = theta
        distinct.add(tuple(np.sort(pick)))
    return boot, failed, len(distinct)


def _try_refit(fn: Callable[[Any], np.ndarray | None], arg: Any) -> np.ndarray | None:
    """One bootstrap refit; None when it fails (no solution, or parameters that are not finite)."""
    try:
        with np.errstate(all="ignore"):
            theta = fn(arg)
    except (ValueError, FloatingPointError, OverflowError, np.linalg.LinAlgError):
        return None
    return theta if theta is not None and np.all(np.isfinite(theta)) else None


def _residual_bootstrap(
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
        theta = _try_refit(refit, log_pred + r)
        if theta is None:
            failed += 1
            continue
        boot[b] = theta
        distinct.add(key)
    return boot, failed, len(distinct), CI_RESIDUAL if by_row else CI_RESIDUAL_WILD


def _percentile_ci(boot: np.ndarray, names: Sequence[str], level: float) -> dict[str, tuple[float, float]]:
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


class _LineT(NamedTuple):
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


def _line_t(z: np.ndarray, y: np.ndarray, b: np.ndarray, codes: np.ndarray, level: float) -> tuple[_LineT | None, str]:
    """The t inference of the line with coefficients ``b`` fitted to (z, y): (_LineT, how it was made), or
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
    return _LineT(np.asarray(b, dtype=float), cov, dof, float(student_t.ppf((1 + level) / 2, dof))), how


def _image(f: Callable[[float], float], lo: float, hi: float) -> tuple[float, float] | str:
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


class _Line(NamedTuple):
    """A law that is a straight line in log-log space, as its t interval needs it: the line's points and
    how its coefficients (b0 = log y at z = 0, slope b1) relate to the optimiser's and the reported
    parameters."""

    z: np.ndarray  # centred log x of each point of the line
    y: np.ndarray  # log y of each point
    codes: np.ndarray  # each point's group, 0 .. groups - 1
    coef: Callable[[np.ndarray], np.ndarray]  # optimiser parameters -> (b0, b1)
    internal: Callable[[np.ndarray], np.ndarray]  # (b0, b1) -> optimiser parameters
    intervals: Callable[[_LineT], dict[str, tuple[float, float] | str]]  # reported name -> interval, or why none


def _interval_rule(*, converged: bool, n_boot: int, n_points: int, n_free: int, line: bool) -> tuple[str, str]:
    """Which interval a fit gets: ("bootstrap" | "t" | "residual" | "none", why none).

    - none when the fit did not converge (resampling around a point that is no optimum means nothing) or
      with n_boot = 0 (point estimates only);
    - at least MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP independent points: the percentile bootstrap over groups
      (covers the scatter of the points, and a law that fits them badly as far as resampling shows it);
    - fewer, a line in log-log space: Student-t on its coefficients, n - 2 degrees of freedom (`_LineT`);
    - fewer, a nonlinear law with more points than free parameters: the residual bootstrap
      (`_residual_bootstrap`, x fixed);
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


def _decades(x: np.ndarray | None) -> float:
    """log10(max/min) of the law's main variable over the fitted points: how far the data reach."""
    if x is None or len(x) == 0:
        return math.nan
    x = np.asarray(x, dtype=float)
    return float(np.log10(np.max(x) / np.min(x)))


POLISH_TOL = 1e-15
POLISH_MAX_NFEV = 200


def _robust_lsq(
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
    ``refit_starts``, where the other starts ended (`_distinct_ends`). ``converged`` requires
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
        return _no_solution("no start gave finite residuals")
    how = "least squares" if f_scale is None else f"huber f_scale={f_scale:g}"
    msg = f"least_squares (trf, {how}) from {len(starts)} start(s): {best.message}"
    converged = bool(best.success)
    if bounds is not None and np.any(best.active_mask != 0):
        pinned = [n for n, a in zip(names, best.active_mask) if a != 0]
        msg += f"; parameter(s) {pinned} stopped at a bound"
        converged = False
    # Measured before polishing, against the best start's own end point (polishing lowers only that one).
    others = _distinct_ends(ends, 2 * float(best.cost))
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


def _line_starts(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS intercept and slope of y on z (a start for robust fits)."""
    if np.ptp(z) == 0:
        raise ValueError("all x equal")
    slope, intercept = np.polyfit(z, y, 1)
    return np.array([intercept, slope])


def _points_frame(columns: dict[str, np.ndarray], codes: np.ndarray | None, pred: np.ndarray, resid: np.ndarray,
                  output: str) -> pd.DataFrame:
    df = pd.DataFrame(columns)
    if codes is not None:
        df["group"] = codes
    df[f"{output}_pred"] = pred
    df["residual"] = resid
    return df


def _solve_and_finish(
    solve: Callable[..., Solution],
    natural: Callable[[np.ndarray], np.ndarray],
    *,
    n: int,
    law: str,
    names: tuple[str, ...],
    model: _ModelFn,
    inputs: dict[str, np.ndarray],
    output: str,
    observed: np.ndarray,
    codes: np.ndarray | None,
    group_idx: list[np.ndarray],
    n_boot: int,
    seed: int,
    level: float,
    span_of: np.ndarray,
    columns: dict[str, np.ndarray] | None = None,
    message_suffix: str = "",
    reject: Callable[[dict[str, float]], str] | None = None,
    strata: list[np.ndarray] | None = None,
    allocator: Callable | None = None,
    unidentified: Callable[[dict[str, float]], dict[str, str]] | None = None,
    line: _Line | None = None,
    n_points: int | None = None,
    n_free: int | None = None,
) -> FitResult:
    """The end of every law (the protocol above): fit the ``n`` data rows, make the intervals
    (`_interval_rule`: a bootstrap refitting resampled groups, or residual-resampled data, through the same
    ``solve``, from the optimum and from the fit's other end points; or the t interval of ``line``), compute
    log residuals of ``observed`` against ``model`` at ``inputs``, and package a FitResult.

    ``solve(idx, starts, ylog=None)``: ``ylog`` replaces the log observations of the rows ``idx`` (the
    residual bootstrap's synthetic data; log of the law's output, as the residuals are). ``reject(params)``:
    why a solution is no law of this kind (e.g. an exponent <= 0), "" when it is one; the one rule for the
    full fit (which then has not converged, so no interval) and every refit (which then counts as failed).
    ``columns``: the data columns of the points table (default: the inputs, then the output). ``codes``:
    each point's group, or None when the points are not the resampled rows (Approach 2 fits one point per
    budget). ``unidentified(params)``: parameter -> why the data do not determine it (it gets no interval).
    ``span_of``: the law's main variable at the fitted points (FitResult.span). ``n_points``: independent
    points (default: the groups); ``n_free``: free parameters (default: one per name)."""
    if not 0 < level < 1:
        raise ScalingLawsError(f"level must be in (0, 1), got {level}")
    if n_boot < 0:
        raise ScalingLawsError(f"n_boot must be >= 0, got {n_boot}")
    with np.errstate(all="ignore"):
        full = solve(np.arange(n), None)
    if full.x is None:
        raise ScalingLawsError(f"{law}: {full.message}")
    theta = np.asarray(natural(full.x), dtype=float)
    params = dict(zip(names, theta))
    converged, message = full.converged, full.message + message_suffix
    why = reject(params) if reject is not None else ""
    if why:
        converged, message = False, f"{why}; {message}"
    if converged and not np.all(np.isfinite(theta)):
        # The optimiser can stop "successfully" at a degenerate point: e.g. losses flat in N give
        # alpha -> 0 and N_c = exp(c/alpha) -> inf. That is no law, so it is reported as a failure.
        converged = False
        bad = ", ".join(f"{k}={v:.3g}" for k, v in zip(names, theta) if not np.isfinite(v))
        message += f"; degenerate fit: {bad} is not finite (no trend for this law to describe)"

    others = list(full.refit_starts[:REFIT_EXTRA_STARTS])

    def fit_once(idx, ylog=None):
        s = solve(idx, [full.x], ylog)
        if others:
            o = solve(idx, others, ylog)
            if o.x is not None and (s.x is None or (o.objective < s.objective
                                                    and not _same_objective(o.objective, s.objective))):
                s = o  # the lowest objective wins; if it did not converge (e.g. at a bound), the refit fails
        if s.x is None or not s.converged:
            return None
        t = natural(s.x)
        return None if (reject is not None and reject(dict(zip(names, t)))) else t

    pred = model(params, *inputs.values())
    resid = np.log(observed) - np.log(pred)
    n_points = len(group_idx) if n_points is None else int(n_points)
    n_free = len(names) if n_free is None else int(n_free)
    how, why_none = _interval_rule(converged=converged, n_boot=n_boot, n_points=n_points, n_free=n_free,
                                   line=line is not None)
    k = len(names)
    boot, failed, total, no_interval = np.full((n_boot, k), np.nan), 0, 0, {}
    if how in ("bootstrap", "residual"):
        total = n_boot
        if how == "bootstrap":
            boot, failed, distinct = _bootstrap(fit_once, group_idx, k, n_boot, seed, strata)
            method = CI_BOOTSTRAP
            unit = "points" if all(len(g) == 1 for g in group_idx) else "groups (each resampled whole)"
            what = f"resample(s) of the {len(group_idx)} {unit}"
        else:
            row_codes = np.arange(n) if codes is None else codes
            boot, failed, distinct, method = _residual_bootstrap(
                lambda ylog: fit_once(np.arange(n), ylog), np.log(pred), resid, row_codes, n_free, k, n_boot, seed)
            what = f"resample(s) of the residuals of the {n_points} points"
        if failed:
            message += f"; {failed}/{total} bootstrap refits failed"
        if failed > BOOT_UNRELIABLE_FAILURE_RATE * total:
            warnings.warn(f"{law}: {failed}/{total} bootstrap refits failed; intervals are less reliable", FitWarning,
                          stacklevel=3)
        if distinct < MIN_DISTINCT_RESAMPLES:
            # E.g. every refit the same number: a percentile "interval" would be a single point. No interval
            # is the honest answer; said last, so a one-line note can quote it.
            boot[:] = np.nan
            no_interval["*"] = f"only {distinct} distinct {what} could be refitted (need {MIN_DISTINCT_RESAMPLES})"
            message += f"; no interval: {no_interval['*']}"
            method = f"none ({no_interval['*']})"
        ci = _percentile_ci(boot, names, level)
    elif how == "t":
        lt, method = _line_t(line.z, line.y, line.coef(full.x), line.codes, level)
        ci = {name: (math.nan, math.nan) for name in names}
        if lt is None:
            no_interval["*"] = method
            message += f"; no interval: {method}"
            method = f"none ({method})"
        else:
            for name, v in line.intervals(lt).items():
                if isinstance(v, str):
                    no_interval[name] = v
                    message += f"; no interval for {name}: {v}"
                else:
                    ci[name] = (float(v[0]), float(v[1]))
            with np.errstate(all="ignore"):
                boot = np.array([natural(line.internal(d)) for d in lt.draws(n_boot, np.random.default_rng(seed))],
                                dtype=float).reshape(n_boot, k)
    else:
        ci = {name: (math.nan, math.nan) for name in names}
        method = f"none ({why_none})"
        if not converged and n_boot:
            message += "; bootstrap skipped because the full fit did not converge"
        elif converged and n_boot:
            no_interval["*"] = why_none
            message += f"; no interval: {why_none}"
    for name, why_u in (unidentified(params) if unidentified else {}).items():
        # A flat direction of the objective: refits started at the optimum do not move along it, so the
        # bootstrap would return the same value every time, an interval of zero width for a parameter
        # the data do not determine at all.
        boot[:, names.index(name)] = np.nan
        ci[name] = (math.nan, math.nan)
        no_interval[name] = why_u
        message += f"; no interval for {name}: {why_u}"
    if not converged:
        warnings.warn(f"{law}: {message}", FitWarning, stacklevel=3)
    return FitResult(
        law=law, params={k_: float(v) for k_, v in zip(names, theta)}, ci=ci, boot=boot, param_names=names,
        residuals=np.asarray(resid, dtype=float),
        points=_points_frame(columns or {**inputs, output: observed}, codes, pred, resid, output).reset_index(drop=True),
        converged=bool(converged), message=message, n_boot=int(n_boot), seed=int(seed), level=float(level),
        n_boot_failed=int(failed), objective=float(full.objective), inputs=tuple(inputs), output=output,
        tables=dict(full.tables or {}), model=model, allocator=allocator, no_interval=no_interval,
        ci_method=method, n_points=n_points, span=_decades(span_of), boot_total=int(total),
    )


def _fit_loglinear(
    x: np.ndarray,
    y: np.ndarray,
    *,
    law: str,
    names: tuple[str, str],
    x_name: str,
    y_name: str,
    groups: Any,
    n_boot: int,
    seed: int,
    level: float,
    huber_scale: float | None,
    max_iter: int | None,
    transform: Callable[[float, float], tuple[float, float]] | None = None,
    reject: Callable[[dict[str, float]], str] | None = None,
    model: _ModelFn,
    strata_of_groups: list[np.ndarray] | None = None,
) -> FitResult:
    """Fit of log y = c + s log x (least squares when ``huber_scale`` is None, else Huber). Parameters are
    (coef k = y at x = 1, exponent s) by default, or ``transform(c, s)`` for laws written differently (e.g.
    B* / L^(1/alpha_B)); the first reported parameter must depend on c alone, the second on s alone (each
    monotone), so the t interval maps through it. ``reject``: see `_solve_and_finish`. With fewer than
    MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP independent points the interval is Student-t (see `_interval_rule`):
    on c (at x = 1) and s, mapped through ``transform``; FitResult.span: decades of x."""
    n = _same_length(x=x, y=y)
    if n < 3 or len(np.unique(x)) < 2:
        raise ScalingLawsError(f"{law}: need at least 3 points at 2+ distinct {x_name}; got {n}")
    codes, group_idx = _group_index(groups, n)
    m = float(np.mean(np.log(x)))
    zall, yall = np.log(x) - m, np.log(y)
    transform = transform or (lambda c, s: (math.exp(c), s))

    def solve(idx, starts, ylog=None):
        z, ly = zall[idx], (yall[idx] if ylog is None else ylog)
        if len(np.unique(z)) < 2:
            return _no_solution("too few distinct x")

        def resid(t):
            return t[0] + t[1] * z - ly

        return _robust_lsq(resid, starts or [_line_starts(z, ly)], names=("intercept", "slope"),
                           f_scale=huber_scale, max_iter=max_iter, polish=starts is None)

    def natural(t):
        # intercept at z = 0 is log y at x = exp(m); move it to x = 1.
        return np.array(transform(t[0] - t[1] * m, t[1]), dtype=float)

    def intervals(lt: _LineT) -> dict[str, tuple[float, float] | str]:
        c_hat, s_hat = float(lt.b[0] - lt.b[1] * m), float(lt.b[1])
        c_lo, c_hi = lt.value_ci(-m)  # log y at x = 1, i.e. z = -m
        s_lo, s_hi = lt.slope_ci()
        return {names[0]: _image(lambda c: transform(c, s_hat)[0], c_lo, c_hi),
                names[1]: _image(lambda s: transform(c_hat, s)[1], s_lo, s_hi)}

    line = _Line(zall, yall, codes, coef=lambda t: np.asarray(t, dtype=float), internal=lambda b: b, intervals=intervals)
    return _solve_and_finish(solve, natural, n=n, law=law, names=names, model=model, inputs={x_name: x},
                             output=y_name, observed=y, codes=codes, group_idx=group_idx, n_boot=n_boot,
                             seed=seed, level=level, reject=reject, strata=strata_of_groups, span_of=x, line=line)
