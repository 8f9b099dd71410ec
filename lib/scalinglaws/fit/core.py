"""The machinery every law shares: the result (`FitResult`), robust least squares in log space, the
bootstrap over groups, and the one protocol every law is fitted by. Conventions: see `scalinglaws.fit`.

The law protocol
----------------
A law is one public function ``fit_<law>(...)`` in the module of its paper (kaplan, chinchilla, frontier),
listed in that module's ``__all__`` (which `scalinglaws.fit` re-exports), plus its test. The function:

1. checks its inputs (`_array`, `_same_length`) and groups the points for the bootstrap (`_group_index`);
2. writes ``solve(idx, starts) -> Solution``, which fits the points ``idx``: from the law's own starts
   for those points and polished when ``starts`` is None (the full-data fit), else from ``starts`` (a
   bootstrap refit). The full-data fit's `Solution` lists in ``refit_starts`` where its other starts
   ended (`_robust_lsq` does this; `_distinct_ends` picks them), best first. ``Solution.x`` is None (and
   ``message`` says why) when the points cannot support the law (e.g. too few distinct x);
3. writes ``natural(x)``: the optimiser's internal parameters -> the reported ones, in the order of ``names``;
4. returns ``_solve_and_finish(solve, natural, ...)``: the full fit, the bootstrap, log residuals, the
   points table and the `FitResult`. Optional: ``reject(params)``, why a solution is no law (e.g. an
   exponent <= 0), one rule for the full fit and every refit.

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
with `_robust_lsq` (Huber, several starts, optional polish).
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

__all__ = ["FitResult", "FitWarning", "Prediction", "HUBER_SCALE", "MIN_DISTINCT_RESAMPLES", "REFIT_EXTRA_STARTS",
           "SAME_OPTIMUM_RTOL"]

# Default Huber transition for log-space residuals: 0.02 in log L is ~2 % of the loss, about
# the run-to-run scatter of small language models.
HUBER_SCALE = 0.02


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
    log). ``ci[name] = (low, high)`` is the percentile bootstrap interval at ``level``.
    ``residuals`` are log(observed) - log(predicted) at ``points`` (the rows actually fitted).
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
        """Why ``name`` has no interval ("no interval for <name>: ..." or "no interval: ..."), as `_finish`
        recorded it in ``no_interval``; "" when it has one or no reason was recorded."""
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
        try:
            with np.errstate(all="ignore"):
                theta = fit_once(idx)
        except (ValueError, FloatingPointError, OverflowError, np.linalg.LinAlgError):
            theta = None
        if theta is None or not np.all(np.isfinite(theta)):
            failed += 1
            continue
        boot[b] = theta
        distinct.add(tuple(np.sort(pick)))
    return boot, failed, len(distinct)


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


def _finish(
    *,
    law: str,
    names: Sequence[str],
    theta: np.ndarray,
    fit_once: Callable[[np.ndarray], np.ndarray | None],
    group_idx: list[np.ndarray],
    n_boot: int,
    seed: int,
    level: float,
    converged: bool,
    message: str,
    residuals: np.ndarray,
    points: pd.DataFrame,
    model: _ModelFn,
    inputs: tuple[str, ...],
    output: str = "L",
    objective: float = math.nan,
    strata: list[np.ndarray] | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
    allocator: Callable | None = None,
    unidentified: dict[str, str] | None = None,
) -> FitResult:
    """The common end of every fit: bootstrap (if converged), intervals, messages, the FitResult.
    ``unidentified``: parameter name -> why the data do not determine it; it gets no interval."""
    if not 0 < level < 1:
        raise ScalingLawsError(f"level must be in (0, 1), got {level}")
    names = tuple(names)
    if converged and not np.all(np.isfinite(np.asarray(theta, dtype=float))):
        # The optimiser can stop "successfully" at a degenerate point: e.g. losses flat in N give
        # alpha -> 0 and N_c = exp(c/alpha) -> inf. That is no law, so it is reported as a failure.
        converged = False
        bad = ", ".join(f"{n}={v:.3g}" for n, v in zip(names, theta) if not np.isfinite(v))
        message += f"; degenerate fit: {bad} is not finite (no trend for this law to describe)"
    if converged:
        boot, failed, distinct = _bootstrap(fit_once, group_idx, len(names), n_boot, seed, strata)
    else:
        # Resampling around a point that is not an optimum would give meaningless intervals.
        boot, failed = np.full((n_boot, len(names)), np.nan), n_boot
        if n_boot:
            message += "; bootstrap skipped because the full fit did not converge"
    no_interval: dict[str, str] = {}
    if converged and n_boot:
        if failed:
            message += f"; {failed}/{n_boot} bootstrap refits failed"
        if failed > 0.1 * n_boot:
            warnings.warn(f"{law}: {failed}/{n_boot} bootstrap refits failed; intervals are less reliable", FitWarning, stacklevel=3)
        if distinct < MIN_DISTINCT_RESAMPLES:
            # E.g. 3 points and a 2-parameter law: only resamples holding all three can be refitted, and
            # each is the data itself, so every refit is the same number and a percentile "interval"
            # would be a single point. No interval is the honest answer; said last, so a one-line note
            # can quote it.
            boot[:] = np.nan
            unit = "points" if all(len(g) == 1 for g in group_idx) else "groups (each resampled whole)"
            no_interval["*"] = (f"only {distinct} distinct resample(s) of the {len(group_idx)} {unit} "
                                f"could be refitted (need {MIN_DISTINCT_RESAMPLES})")
            message += f"; no interval: {no_interval['*']}"
    for name, why in (unidentified or {}).items():
        # A flat direction of the objective: refits started at the optimum do not move along it, so the
        # bootstrap would return the same value every time, an interval of zero width for a parameter
        # the data do not determine at all.
        boot[:, names.index(name)] = np.nan
        no_interval[name] = why
        message += f"; no interval for {name}: {why}"
    if not converged:
        warnings.warn(f"{law}: {message}", FitWarning, stacklevel=3)
    ci = _percentile_ci(boot, names, level)
    return FitResult(
        law=law,
        params={n: float(v) for n, v in zip(names, theta)},
        ci=ci,
        boot=boot,
        param_names=names,
        residuals=np.asarray(residuals, dtype=float),
        points=points.reset_index(drop=True),
        converged=bool(converged),
        message=message,
        n_boot=int(n_boot),
        seed=int(seed),
        level=float(level),
        n_boot_failed=int(failed),
        objective=float(objective),
        inputs=inputs,
        output=output,
        tables=dict(tables or {}),
        model=model,
        allocator=allocator,
        no_interval=no_interval,
    )


# Tolerances of the polishing step of _robust_lsq (near machine precision; it ends on its evaluation
# cap when no step can lower the cost any more, which is the point).
POLISH_TOL = 1e-15
POLISH_MAX_NFEV = 200


def _robust_lsq(
    resid: Callable[[np.ndarray], np.ndarray],
    starts: Sequence[np.ndarray],
    *,
    names: Sequence[str],
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    f_scale: float = HUBER_SCALE,
    max_iter: int | None = None,
    polish: bool = False,
) -> Solution:
    """Huber least squares from several starts; keep the lowest cost among those that ran.

    ``polish`` (the full-data fit of every law; not its bootstrap refits, which only need to be as
    exact as their spread): continue from the best result with tolerances near machine precision.
    scipy's defaults stop when the step or gradient falls below 1e-8, and where exactly depends on the
    CPU's floating-point sums: the same fit differed by up to 4.5e-6 relative between OpenBLAS kernels.
    Polished, a published estimate is a property of the data, not of the machine.

    Returns a `Solution` with objective = 2 × scipy's cost (the sum of Huber terms) and, as
    ``refit_starts``, where the other starts ended (`_distinct_ends`). ``converged`` requires
    scipy's own success flag (gradient/step/cost tolerance met, not the evaluation limit) and no
    parameter pinned at a bound. A start that already satisfies the gradient tolerance (e.g.
    the OLS start of a line whose residuals all sit inside the Huber zone) is a true optimum.
    """
    if f_scale <= 0:
        raise ScalingLawsError(f"huber_scale must be > 0, got {f_scale}")
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
                    resid, x0, bounds=(lb, ub), method="trf", loss="huber", f_scale=f_scale,
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
    msg = f"least_squares (trf, huber f_scale={f_scale:g}) from {len(starts)} start(s): {best.message}"
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
                p = least_squares(resid, best.x, bounds=(lb, ub), method="trf", loss="huber", f_scale=f_scale,
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
    solve: Callable[[np.ndarray, list[np.ndarray] | None], Solution],
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
    columns: dict[str, np.ndarray] | None = None,
    message_suffix: str = "",
    reject: Callable[[dict[str, float]], str] | None = None,
    strata: list[np.ndarray] | None = None,
    allocator: Callable | None = None,
    unidentified: Callable[[dict[str, float]], dict[str, str]] | None = None,
) -> FitResult:
    """The end of every law (the protocol above): fit the ``n`` data rows, bootstrap by refitting resampled
    groups through the same ``solve`` (from the optimum and from the fit's other end points), compute log
    residuals of ``observed`` against ``model`` at ``inputs``, and package a FitResult.

    ``reject(params)``: why a solution is no law of this kind (e.g. an exponent <= 0), "" when it is one;
    the one rule for the full fit (which then has not converged, so no bootstrap) and every refit (which
    then counts as failed). ``columns``: the data columns of the points table (default: the inputs, then
    the output). ``codes``: each point's group, or None when the points are not the resampled rows
    (Approach 2 fits one point per budget). ``unidentified(params)``: parameter -> why the data do not
    determine it (it gets no interval)."""
    with np.errstate(all="ignore"):
        full = solve(np.arange(n), None)
    if full.x is None:
        raise ScalingLawsError(f"{law}: {full.message}")
    theta = natural(full.x)
    params = dict(zip(names, theta))
    converged, message = full.converged, full.message + message_suffix
    why = reject(params) if reject is not None else ""
    if why:
        converged, message = False, f"{why}; {message}"

    others = list(full.refit_starts[:REFIT_EXTRA_STARTS])

    def fit_once(idx):
        s = solve(idx, [full.x])
        if others:
            o = solve(idx, others)
            if o.x is not None and (s.x is None or (o.objective < s.objective
                                                    and not _same_objective(o.objective, s.objective))):
                s = o  # the lowest objective wins; if it did not converge (e.g. at a bound), the refit fails
        if s.x is None or not s.converged:
            return None
        t = natural(s.x)
        return None if (reject is not None and reject(dict(zip(names, t)))) else t

    pred = model(params, *inputs.values())
    resid = np.log(observed) - np.log(pred)
    return _finish(
        law=law, names=names, theta=theta, fit_once=fit_once, group_idx=group_idx, n_boot=n_boot,
        seed=seed, level=level, converged=converged, message=message, residuals=resid,
        points=_points_frame(columns or {**inputs, output: observed}, codes, pred, resid, output), model=model,
        inputs=tuple(inputs), output=output, objective=full.objective, strata=strata, tables=full.tables,
        allocator=allocator, unidentified=unidentified(params) if unidentified else None,
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
    huber_scale: float,
    max_iter: int | None,
    transform: Callable[[float, float], tuple[float, float]] | None = None,
    reject: Callable[[dict[str, float]], str] | None = None,
    model: _ModelFn,
    strata_of_groups: list[np.ndarray] | None = None,
) -> FitResult:
    """Robust fit of log y = c + s log x. Parameters are (coef k = y at x = 1, exponent s) by default,
    or ``transform(c, s)`` for laws written differently (e.g. B* / L^(1/alpha_B)). ``reject``: see
    `_solve_and_finish`."""
    n = _same_length(x=x, y=y)
    if n < 3 or len(np.unique(x)) < 2:
        raise ScalingLawsError(f"{law}: need at least 3 points at 2+ distinct {x_name}; got {n}")
    codes, group_idx = _group_index(groups, n)
    m = float(np.mean(np.log(x)))
    zall, yall = np.log(x) - m, np.log(y)
    transform = transform or (lambda c, s: (math.exp(c), s))

    def solve(idx, starts):
        z, ly = zall[idx], yall[idx]
        if len(np.unique(z)) < 2:
            return _no_solution("too few distinct x")

        def resid(t):
            return t[0] + t[1] * z - ly

        return _robust_lsq(resid, starts or [_line_starts(z, ly)], names=("intercept", "slope"),
                           f_scale=huber_scale, max_iter=max_iter, polish=starts is None)

    def natural(t):
        # intercept at z = 0 is log y at x = exp(m); move it to x = 1.
        return np.array(transform(t[0] - t[1] * m, t[1]), dtype=float)

    return _solve_and_finish(solve, natural, n=n, law=law, names=names, model=model, inputs={x_name: x},
                             output=y_name, observed=y, codes=codes, group_idx=group_idx, n_boot=n_boot,
                             seed=seed, level=level, reject=reject, strata=strata_of_groups)
