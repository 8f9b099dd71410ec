"""Fits of every scaling law in Kaplan et al. 2020 and Hoffmann et al. 2022 (Chinchilla).

All fits share one shape of result, `FitResult`: point estimates from a fit to all points,
percentile bootstrap confidence intervals, the bootstrap parameter sets, log-space residuals,
the points used, and an explicit ``converged`` flag with a ``message`` (a fit that stops at
its iteration limit, at a parameter bound, or never leaves its start says so).

Conventions
-----------
* Losses are in nats per token; all fits are done on ``log L`` (or on the log of whatever
  quantity the law predicts), so a residual of 0.01 means the law misses by about 1 %.
* "Robust" means a Huber loss on the log residuals. ``huber_scale`` (default 0.02, i.e. about
  2 % of the loss) is where the loss turns from quadratic to linear: points further off than
  that are down-weighted. Chinchilla Approach 3 instead uses the paper's delta = 1e-3.
* Constants with a huge range (N_c ~ 1e13, D_c, S_c, B*) are never optimised directly.
  Internally each law is written in centred log coordinates ``z = log X - mean(log X)`` with
  an intercept ``u`` equal to the log-loss the term predicts at the centre of the data; this
  keeps the problem well conditioned and the constants are recovered as
  ``X_c = exp(u / alpha + mean(log X))``.
* Bootstrap: resample whole *groups* (pass ``groups``, e.g. one run id per point, so all eval
  points of a run go in or out together; by default every point is its own group), refit
  starting from the full-data optimum, and report the ``(1-level)/2`` and ``(1+level)/2``
  percentiles. Seeded (``seed``), ``n_boot`` resamples; a resample whose refit fails is a row
  of NaN in ``boot`` and is counted in ``n_boot_failed``.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, minimize
from scipy.special import huber as _huber

from scalinglaws import ScalingLawsError

__all__ = [
    "FitResult",
    "FitWarning",
    "Prediction",
    "HUBER_SCALE",
    "fit_power_law",
    "fit_kaplan_nd",
    "kaplan_nd_loss",
    "kaplan_nd_overfit",
    "overfit_delta",
    "collapse_variable",
    "fit_kaplan_ns",
    "kaplan_ns_loss",
    "fit_critical_batch",
    "critical_batch_table",
    "fit_bcrit_vs_loss",
    "s_min_adjust",
    "c_min_adjust",
    "compute_frontier",
    "frontier_fit_rows",
    "fit_frontier_n_opt",
    "chinchilla_approach2",
    "chinchilla_approach3",
    "chinchilla_loss",
    "chinchilla_init_grid",
    "chinchilla_objective",
]

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


# ============================================================================ result type


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
        """Why ``name`` has no interval, as `_finish` wrote it into ``message`` ("no interval for
        <name>: ..." or "no interval: ..."); "" when it has one or no reason was recorded."""
        if np.all(np.isfinite(self.ci[name])):
            return ""
        why = [m for m in self.message.split("; ") if m.startswith((f"no interval for {name}:", "no interval:"))]
        return why[0] if why else ""

    def half_width(self, name: str) -> float:
        lo, hi = self.ci[name]
        return (hi - lo) / 2


# ============================================================================ BLAS threads


@functools.lru_cache(maxsize=1)
def _openblas_thread_controls() -> tuple[tuple[Any, Any], ...]:
    """(get, set) thread-count functions of every OpenBLAS loaded in this process (Linux only).

    The optimisers here work on 2-7 parameters. OpenBLAS nevertheless wakes its thread pool for
    the tiny factorisations inside L-BFGS-B and least_squares, which made each iteration about
    6x slower (150 us vs 27 us on a 2-core machine). numpy and scipy wheels each bundle their
    own OpenBLAS (symbols prefixed ``scipy_``), so we find them in /proc/self/maps.
    """
    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln and ln.split()[-1].startswith("/")})
    except OSError:
        return ()
    controls = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("", "64_"):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    controls.append((get, set_))
    return tuple(controls)


@contextmanager
def _single_thread_blas():
    controls = _openblas_thread_controls()
    before = [get() for get, _ in controls]
    for _, set_ in controls:
        set_(1)
    try:
        yield
    finally:
        for (_, set_), n in zip(controls, before):
            set_(n)


def _blas_serial(fn: Callable) -> Callable:
    """Run a fit with OpenBLAS limited to one thread (restored afterwards)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _single_thread_blas():
            return fn(*args, **kwargs)

    return wrapper


# ============================================================================ helpers


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
) -> tuple[np.ndarray, int]:
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
            message += (f"; no interval: only {distinct} distinct resample(s) of the {len(group_idx)} {unit} "
                        f"could be refitted (need {MIN_DISTINCT_RESAMPLES})")
    for name, why in (unidentified or {}).items():
        # A flat direction of the objective: refits started at the optimum do not move along it, so the
        # bootstrap would return the same value every time, an interval of zero width for a parameter
        # the data do not determine at all.
        boot[:, names.index(name)] = np.nan
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
) -> tuple[Any, bool, str]:
    """Huber least squares from several starts; keep the lowest cost among those that ran.

    ``polish`` (the full-data fit of every law; not its bootstrap refits, which only need to be as
    exact as their spread): continue from the best result with tolerances near machine precision.
    scipy's defaults stop when the step or gradient falls below 1e-8, and where exactly depends on the
    CPU's floating-point sums: the same fit differed by up to 4.5e-6 relative between OpenBLAS kernels.
    Polished, a published estimate is a property of the data, not of the machine.

    Returns (best scipy result or None, converged, message). ``converged`` requires scipy's
    own success flag (gradient/step/cost tolerance met, not the evaluation limit) and no
    parameter pinned at a bound. A start that already satisfies the gradient tolerance (e.g.
    the OLS start of a line whose residuals all sit inside the Huber zone) is a true optimum.
    """
    if f_scale <= 0:
        raise ScalingLawsError(f"huber_scale must be > 0, got {f_scale}")
    lb, ub = bounds if bounds is not None else (-np.inf, np.inf)
    best = None
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
        if best is None or r.cost < best.cost:
            best = r
    if best is None:
        return None, False, "no start gave finite residuals"
    msg = f"least_squares (trf, huber f_scale={f_scale:g}) from {len(starts)} start(s): {best.message}"
    converged = bool(best.success)
    if bounds is not None and np.any(best.active_mask != 0):
        pinned = [n for n, a in zip(names, best.active_mask) if a != 0]
        msg += f"; parameter(s) {pinned} stopped at a bound"
        converged = False
    if polish and converged:
        try:
            with np.errstate(all="ignore"):
                p = least_squares(resid, best.x, bounds=(lb, ub), method="trf", loss="huber", f_scale=f_scale,
                                  x_scale="jac", ftol=POLISH_TOL, xtol=POLISH_TOL, gtol=POLISH_TOL,
                                  max_nfev=POLISH_MAX_NFEV)
            if np.isfinite(p.cost) and p.cost <= best.cost:
                p.success = best.success
                best = p
        except ValueError:
            pass
    return best, converged, msg


def _line_starts(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS intercept and slope of y on z (a start for robust fits)."""
    if np.ptp(z) == 0:
        raise ValueError("all x equal")
    slope, intercept = np.polyfit(z, y, 1)
    return np.array([intercept, slope])


def _points_frame(columns: dict[str, np.ndarray], codes: np.ndarray, pred: np.ndarray, resid: np.ndarray, output: str) -> pd.DataFrame:
    df = pd.DataFrame(columns)
    df["group"] = codes
    df[f"{output}_pred"] = pred
    df["residual"] = resid
    return df


# ============================================================================ power law


# Models are module-level functions (not closures) so that a FitResult can be pickled.


def _power_law_model(p: dict[str, float], x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", over="ignore"):
        return np.power(p["X_c"] / np.asarray(x, dtype=float), p["alpha"])


def _power_law_e_model(p: dict[str, float], x: np.ndarray) -> np.ndarray:
    return _power_law_model(p, x) + p["E"]


def _frontier_model(p: dict[str, float], C: np.ndarray) -> np.ndarray:
    return p["k"] * np.power(np.asarray(C, dtype=float), p["a"])


def _bcrit_model(p: dict[str, float], L: np.ndarray) -> np.ndarray:
    return p["B_star"] / np.power(np.asarray(L, dtype=float), 1.0 / p["alpha_B"])


def _a2_model(p: dict[str, float], C: np.ndarray) -> np.ndarray:
    return p["k_N"] * np.power(np.asarray(C, dtype=float), p["a"])


def _a2_allocator(p: dict[str, float], C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    C = np.asarray(C, dtype=float)
    return p["k_N"] * np.power(C, p["a"]), p["k_D"] * np.power(C, p["b"])


@_blas_serial
def fit_power_law(
    x: Any,
    L: Any,
    *,
    irreducible: bool = False,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    huber_scale: float = HUBER_SCALE,
    max_iter: int | None = None,
) -> FitResult:
    """L(X) = (X_c / X)^alpha  [+ E if ``irreducible``], fitted on log L with a Huber loss.

    Kaplan Eqs. 1.1-1.3 (X = N, D or C_min). Parameters: ``X_c`` (units of X), ``alpha`` [, ``E``
    in units of L]. Internally log L = u - alpha z (+ irreducible: logaddexp(log E, u - alpha z))
    with z = log X - mean(log X).
    """
    x = _array("x", x)
    L = _array("L", L)
    n = _same_length(x=x, L=L)
    k = 3 if irreducible else 2
    if n <= k or len(np.unique(x)) < k:
        raise ScalingLawsError(f"power-law fit needs more than {k} points at {k}+ distinct x; got {n} points")
    codes, group_idx = _group_index(groups, n)
    m = float(np.mean(np.log(x)))
    zall, yall = np.log(x) - m, np.log(L)
    names = ("X_c", "alpha", "E") if irreducible else ("X_c", "alpha")
    law = "power_law+E" if irreducible else "power_law"

    if irreducible:
        e_hi = float(np.log(L.max()))
        bounds = (np.array([-np.inf, 1e-4, e_hi - 30.0]), np.array([np.inf, 10.0, e_hi]))
        pnames = ("u", "alpha", "log_E")
    else:
        bounds = None
        pnames = ("u", "alpha")

    def solve(idx: np.ndarray, starts: list[np.ndarray] | None):
        full = starts is None  # the full-data fit (bootstrap refits pass the optimum as their start)
        z, y = zall[idx], yall[idx]
        if len(np.unique(z)) < k:
            return None, False, "too few distinct x"
        if irreducible:
            def resid(t):
                return np.logaddexp(t[2], t[0] - t[1] * z) - y

            if starts is None:
                starts = []
                lmin = float(np.exp(y.min()))
                for frac in (0.0, 0.3, 0.6, 0.85):
                    E0 = frac * lmin
                    u, s = _line_starts(z, np.log(np.exp(y) - E0))
                    starts.append(np.array([u, max(-s, 1e-3), np.log(E0) if E0 > 0 else e_hi - 10.0]))
        else:
            def resid(t):
                return t[0] - t[1] * z - y

            if starts is None:
                u, s = _line_starts(z, y)
                starts = [np.array([u, -s])]
        return _robust_lsq(resid, starts, names=pnames, bounds=bounds, f_scale=huber_scale, max_iter=max_iter,
                           polish=full)

    def natural(t: np.ndarray) -> np.ndarray:
        Xc = np.exp(t[0] / t[1] + m) if t[1] != 0 else np.nan
        return np.array([Xc, t[1], np.exp(t[2])]) if irreducible else np.array([Xc, t[1]])

    with np.errstate(all="ignore"):
        best, converged, msg = solve(np.arange(n), None)
    if best is None:
        raise ScalingLawsError(f"{law}: {msg}")
    t_hat = best.x
    if t_hat[1] <= 0:
        # (X_c/X)^alpha with alpha <= 0 does not fall with X; X_c = exp(u/alpha + m) is then
        # meaningless (0 or inf), so the fit is reported as failed rather than as a law.
        converged = False
        msg = f"non-positive exponent alpha={t_hat[1]:.3g}: the data do not fall with x, so there is no power law to report; {msg}"

    def fit_once(idx):
        r, ok, _ = solve(idx, [t_hat])
        return natural(r.x) if (r is not None and ok and r.x[1] > 0) else None

    theta = natural(t_hat)
    model = _power_law_e_model if irreducible else _power_law_model
    pred = model(dict(zip(names, theta)), x)
    resid = np.log(L) - np.log(pred)
    return _finish(
        law=law, names=names, theta=theta, fit_once=fit_once, group_idx=group_idx, n_boot=n_boot,
        seed=seed, level=level, converged=converged, message=msg, residuals=resid,
        points=_points_frame({"x": x, "L": L}, codes, pred, resid, "L"), model=model, inputs=("x",),
        objective=2 * best.cost,
    )


def _solve_and_finish(
    solve: Callable, natural: Callable, *, n: int, law: str, names: tuple[str, ...], model: _ModelFn,
    inputs: dict[str, np.ndarray], output: str, observed: np.ndarray, extra_columns: dict | None = None,
    codes: np.ndarray, group_idx: list[np.ndarray], n_boot: int, seed: int, level: float,
    message_suffix: str = "", strata: list[np.ndarray] | None = None,
) -> FitResult:
    """The tail every robust least-squares law shares: fit all points, bootstrap by refitting resampled
    groups from the full-data optimum, compute log residuals, and package a FitResult."""
    with np.errstate(all="ignore"):
        best, converged, msg = solve(np.arange(n), None)
    if best is None:
        raise ScalingLawsError(f"{law}: {msg}")

    def fit_once(idx):
        r, ok, _ = solve(idx, [best.x])
        return natural(r.x) if (r is not None and ok) else None

    theta = natural(best.x)
    pred = model(dict(zip(names, theta)), *inputs.values())
    resid = np.log(observed) - np.log(pred)
    columns = {**inputs, **(extra_columns or {}), output: observed}
    return _finish(
        law=law, names=names, theta=theta, fit_once=fit_once, group_idx=group_idx, n_boot=n_boot,
        seed=seed, level=level, converged=converged, message=msg + message_suffix, residuals=resid,
        points=_points_frame(columns, codes, pred, resid, output), model=model, inputs=tuple(inputs),
        output=output, objective=2 * best.cost, strata=strata,
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
    model: _ModelFn,
    strata_of_groups: list[np.ndarray] | None = None,
) -> FitResult:
    """Robust fit of log y = c + s log x. Parameters are (coef k = y at x = 1, exponent s) by default,
    or ``transform(c, s)`` for laws written differently (e.g. B* / L^(1/alpha_B))."""
    n = _same_length(x=x, y=y)
    if n < 3 or len(np.unique(x)) < 2:
        raise ScalingLawsError(f"{law}: need at least 3 points at 2+ distinct {x_name}; got {n}")
    codes, group_idx = _group_index(groups, n)
    m = float(np.mean(np.log(x)))
    zall, yall = np.log(x) - m, np.log(y)
    transform = transform or (lambda c, s: (math.exp(c), s))

    def solve(idx, starts):
        full = starts is None  # the full-data fit (bootstrap refits pass the optimum as their start)
        z, ly = zall[idx], yall[idx]
        if len(np.unique(z)) < 2:
            return None, False, "too few distinct x"
        if starts is None:
            starts = [_line_starts(z, ly)]

        def resid(t):
            return t[0] + t[1] * z - ly

        return _robust_lsq(resid, starts, names=("intercept", "slope"), f_scale=huber_scale, max_iter=max_iter,
                           polish=full)

    def natural(t):
        # intercept at z = 0 is log y at x = exp(m); move it to x = 1.
        return np.array(transform(t[0] - t[1] * m, t[1]), dtype=float)

    return _solve_and_finish(solve, natural, n=n, law=law, names=names, model=model, inputs={x_name: x},
                             output=y_name, observed=y, codes=codes, group_idx=group_idx, n_boot=n_boot,
                             seed=seed, level=level, strata=strata_of_groups)


# ============================================================================ Kaplan Eq. 1.5


def kaplan_nd_loss(N: Any, D: Any, alpha_N: float, alpha_D: float, N_c: float, D_c: float) -> np.ndarray:
    """Kaplan Eq. 1.5: L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D (D may be inf)."""
    N = np.asarray(N, dtype=float)
    D = np.asarray(D, dtype=float)
    with np.errstate(divide="ignore"):
        s1 = (alpha_N / alpha_D) * (np.log(N_c) - np.log(N))
        s2 = np.log(D_c) - np.log(D)  # -inf when D = inf: the L(N) limit
    return np.exp(alpha_D * np.logaddexp(s1, s2))


def overfit_delta(L: Any, L_inf: Any) -> np.ndarray:
    """Kaplan Sec. 4.2: the overfitting penalty delta L = L(N, D) / L(N, inf) - 1."""
    return np.asarray(L, dtype=float) / np.asarray(L_inf, dtype=float) - 1.0


def collapse_variable(N: Any, D: Any, alpha_N: float, alpha_D: float) -> np.ndarray:
    """Kaplan Eq. 4.3: delta L depends on N and D only through N^(alpha_N/alpha_D) / D."""
    return np.power(np.asarray(N, dtype=float), alpha_N / alpha_D) / np.asarray(D, dtype=float)


def kaplan_nd_overfit(N: Any, D: Any, alpha_N: float, alpha_D: float, N_c: float, D_c: float) -> np.ndarray:
    """delta L predicted by Eq. 1.5: (1 + (N/N_c)^(alpha_N/alpha_D) D_c/D)^alpha_D - 1 (Eq. 4.3)."""
    N = np.asarray(N, dtype=float)
    D = np.asarray(D, dtype=float)
    return np.power(1 + np.power(N / N_c, alpha_N / alpha_D) * D_c / D, alpha_D) - 1


def _nd_model(p: dict[str, float], N: np.ndarray, D: np.ndarray) -> np.ndarray:
    return kaplan_nd_loss(N, D, p["alpha_N"], p["alpha_D"], p["N_c"], p["D_c"])


@_blas_serial
def fit_kaplan_nd(
    N: Any,
    D: Any,
    L: Any,
    *,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    huber_scale: float = HUBER_SCALE,
    max_iter: int | None = None,
) -> FitResult:
    """Kaplan Eq. 1.5, L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D, fitted on log L.

    N in parameters (Kaplan: non-embedding), D in tokens, L the early-stopped test loss.
    Parameters: alpha_N, alpha_D, N_c, D_c. Internally
    log L = alpha_D * logaddexp((u_N - alpha_N zN)/alpha_D, (u_D - alpha_D zD)/alpha_D), where
    u_N, u_D are the log-losses of each limit at the centre of the data; 12 starts.
    """
    N, D, L = _array("N", N), _array("D", D), _array("L", L)
    n = _same_length(N=N, D=D, L=L)
    if n <= 4 or len(np.unique(N)) < 2 or len(np.unique(D)) < 2:
        raise ScalingLawsError(f"kaplan_nd: need > 4 points over 2+ distinct N and D; got {n}")
    codes, group_idx = _group_index(groups, n)
    mN, mD = float(np.mean(np.log(N))), float(np.mean(np.log(D)))
    zN_all, zD_all, y_all = np.log(N) - mN, np.log(D) - mD, np.log(L)
    names = ("alpha_N", "alpha_D", "N_c", "D_c")
    bounds = (np.array([1e-4, 1e-4, -np.inf, -np.inf]), np.array([5.0, 5.0, np.inf, np.inf]))

    def solve(idx, starts):
        full = starts is None  # the full-data fit (bootstrap refits pass the optimum as their start)
        zN, zD, y = zN_all[idx], zD_all[idx], y_all[idx]
        if len(np.unique(zN)) < 2 or len(np.unique(zD)) < 2:
            return None, False, "too few distinct N or D"

        def resid(t):
            aN, aD, uN, uD = t
            return aD * np.logaddexp((uN - aN * zN) / aD, (uD - aD * zD) / aD) - y

        if starts is None:
            yb = float(np.median(y))
            starts = [
                np.array([aN, aD, yb + duN, yb + duD])
                for aN in (0.05, 0.15)
                for aD in (0.05, 0.15)
                for duN, duD in ((0.0, -0.1), (-0.1, 0.0), (-0.03, -0.03))
            ]
        return _robust_lsq(resid, starts, names=("alpha_N", "alpha_D", "u_N", "u_D"), bounds=bounds, polish=full,
                           f_scale=huber_scale, max_iter=max_iter)

    def natural(t):
        aN, aD, uN, uD = t
        return np.array([aN, aD, np.exp(uN / aN + mN), np.exp(uD / aD + mD)])

    return _solve_and_finish(solve, natural, n=n, law="kaplan_nd", names=names, model=_nd_model,
                             inputs={"N": N, "D": D}, output="L", observed=L, codes=codes, group_idx=group_idx,
                             n_boot=n_boot, seed=seed, level=level)


# ============================================================================ Kaplan Eq. 1.6


def kaplan_ns_loss(N: Any, S: Any, alpha_N: float, alpha_S: float, N_c: float, S_c: float) -> np.ndarray:
    """Kaplan Eq. 1.6: L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S."""
    N = np.asarray(N, dtype=float)
    S = np.asarray(S, dtype=float)
    return np.power(N_c / N, alpha_N) + np.power(S_c / S, alpha_S)


def _ns_model(p: dict[str, float], N: np.ndarray, S: np.ndarray) -> np.ndarray:
    return kaplan_ns_loss(N, S, p["alpha_N"], p["alpha_S"], p["N_c"], p["S_c"])


@_blas_serial
def fit_kaplan_ns(
    N: Any,
    S: Any,
    L: Any,
    *,
    warmup_steps: Any = 0.0,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    huber_scale: float = HUBER_SCALE,
    max_iter: int | None = None,
) -> FitResult:
    """Kaplan Eq. 1.6, L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S, on learning curves.

    ``S`` should be S_min (Eq. 5.4, see `s_min_adjust`) when the batch size differs from B_crit.
    Points with ``S <= warmup_steps`` are dropped (the law describes training after warmup);
    ``warmup_steps`` is one number or one per point (each run's own effective warmup, the runs
    table's ``warmup_steps`` column). Pass ``groups`` = run id so the bootstrap resamples whole
    learning curves.
    Parameters: alpha_N, alpha_S, N_c, S_c.
    """
    N, S, L = _array("N", N), _array("S", S), _array("L", L)
    n_all = _same_length(N=N, S=S, L=L)
    warm = np.asarray(warmup_steps, dtype=float).reshape(-1)
    if warm.size not in (1, n_all) or not np.all(np.isfinite(warm)) or np.any(warm < 0):
        raise ScalingLawsError(f"warmup_steps must be one number >= 0 or one per point ({n_all}); got {warm.size} value(s)")
    keep = S > warm
    warm_text = f"{warm[0]:g}" if np.ptp(warm) == 0 else f"{warm.min():g}-{warm.max():g} (per run)"
    if groups is not None:
        g = np.asarray(groups).reshape(-1)
        if len(g) != n_all:
            raise ScalingLawsError(f"groups has {len(g)} entries for {n_all} points")
        groups = g[keep]
    N, S, L = N[keep], S[keep], L[keep]
    n = len(L)
    if n <= 4 or len(np.unique(N)) < 2 or len(np.unique(S)) < 2:
        raise ScalingLawsError(f"kaplan_ns: need > 4 points after warmup over 2+ distinct N and S; got {n}")
    codes, group_idx = _group_index(groups, n)
    mN, mS = float(np.mean(np.log(N))), float(np.mean(np.log(S)))
    zN_all, zS_all, y_all = np.log(N) - mN, np.log(S) - mS, np.log(L)
    names = ("alpha_N", "alpha_S", "N_c", "S_c")
    bounds = (np.array([1e-4, 1e-4, -np.inf, -np.inf]), np.array([5.0, 10.0, np.inf, np.inf]))

    def solve(idx, starts):
        full = starts is None  # the full-data fit (bootstrap refits pass the optimum as their start)
        zN, zS, y = zN_all[idx], zS_all[idx], y_all[idx]
        if len(np.unique(zN)) < 2 or len(np.unique(zS)) < 2:
            return None, False, "too few distinct N or S"

        def resid(t):
            aN, aS, uN, uS = t
            return np.logaddexp(uN - aN * zN, uS - aS * zS) - y

        if starts is None:
            yb = float(np.median(y))
            starts = [
                np.array([aN, aS, yb + duN, yb + duS])
                for aN in (0.05, 0.15)
                for aS in (0.3, 0.8)
                for duN, duS in ((-0.1, -2.0), (-0.5, -1.0), (-1.0, -0.5))
            ]
        return _robust_lsq(resid, starts, names=("alpha_N", "alpha_S", "u_N", "u_S"), bounds=bounds, polish=full,
                           f_scale=huber_scale, max_iter=max_iter)

    def natural(t):
        aN, aS, uN, uS = t
        return np.array([aN, aS, np.exp(uN / aN + mN), np.exp(uS / aS + mS)])

    return _solve_and_finish(solve, natural, n=n, law="kaplan_ns", names=names, model=_ns_model,
                             inputs={"N": N, "S": S}, output="L", observed=L, codes=codes, group_idx=group_idx,
                             n_boot=n_boot, seed=seed, level=level,
                             message_suffix=f"; {int((~keep).sum())} point(s) at S <= warmup_steps={warm_text} dropped")


# ============================================================================ critical batch size


def _cb_model(p: dict[str, float], B: np.ndarray) -> np.ndarray:
    # Steps to reach the target loss at batch size B: S = S_min (1 + B_crit / B).
    return p["S_min"] * (1 + p["B_crit"] / np.asarray(B, dtype=float))


@_blas_serial
def fit_critical_batch(
    steps: Any,
    examples: Any,
    *,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    huber_scale: float = HUBER_SCALE,
    max_iter: int | None = None,
) -> FitResult:
    """Fit (S/S_min - 1)(E/E_min - 1) = 1 (Kaplan Eq. 5.1, McCandlish et al. 2018) for one target loss.

    ``steps`` S and ``examples`` E (= B S; tokens or sequences, B_crit comes out in the same
    unit per step) needed to first reach the target loss, one pair per batch size of a sweep.
    With B = E/S the hyperbola is exactly S = S_min (1 + B_crit/B) and E = E_min (1 + B/B_crit),
    B_crit = E_min / S_min, so we fit log S = log S_min + log(1 + B_crit/B) robustly in
    (log S_min, log B_crit). Parameters: S_min, E_min, B_crit. ``predict(B)`` gives S.
    """
    S, E = _array("steps", steps), _array("examples", examples)
    n = _same_length(steps=S, examples=E)
    B = E / S
    if n < 3 or len(np.unique(B)) < 3:
        raise ScalingLawsError(f"critical batch: need at least 3 distinct batch sizes; got {len(np.unique(B))}")
    codes, group_idx = _group_index(groups, n)
    lB_all, lS_all = np.log(B), np.log(S)
    names = ("S_min", "E_min", "B_crit")
    # Keep B_crit within 1e4x of the sweep: beyond that the data only bound it from one side.
    lo_b, hi_b = lB_all.min() - math.log(1e4), lB_all.max() + math.log(1e4)
    bounds = (np.array([-np.inf, lo_b]), np.array([np.inf, hi_b]))

    def solve(idx, starts):
        full = starts is None  # the full-data fit (bootstrap refits pass the optimum as their start)
        lB, lS = lB_all[idx], lS_all[idx]
        if len(np.unique(lB)) < 3:
            return None, False, "too few distinct batch sizes"

        def resid(t):
            return t[0] + np.logaddexp(0.0, t[1] - lB) - lS

        if starts is None:
            starts = []
            for q in (0.25, 0.5, 0.75):
                lbc = float(np.quantile(lB, q))
                starts.append(np.array([float(np.min(lS - np.logaddexp(0.0, lbc - lB))), lbc]))
        return _robust_lsq(resid, starts, names=("log_S_min", "log_B_crit"), bounds=bounds, polish=full,
                           f_scale=huber_scale, max_iter=max_iter)

    def natural(t):
        s_min, b_crit = math.exp(t[0]), math.exp(t[1])
        return np.array([s_min, s_min * b_crit, b_crit])

    return _solve_and_finish(solve, natural, n=n, law="critical_batch", names=names, model=_cb_model,
                             inputs={"B": B}, output="S", observed=S, extra_columns={"E": E}, codes=codes,
                             group_idx=group_idx, n_boot=n_boot, seed=seed, level=level)


def critical_batch_table(
    df: pd.DataFrame,
    *,
    target_col: str = "target",
    steps_col: str = "steps",
    examples_col: str = "examples",
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    huber_scale: float = HUBER_SCALE,
) -> pd.DataFrame:
    """`fit_critical_batch` for every target loss in ``df`` (one row per batch size and target).

    Returns one row per target: S_min, E_min, B_crit with ``*_low``/``*_high`` CI columns,
    ``n_points``, ``converged`` and ``message``; feed ``target`` and ``B_crit`` to
    `fit_bcrit_vs_loss`. Targets with fewer than 3 batch sizes get NaN and say why.
    """
    for col in (target_col, steps_col, examples_col):
        if col not in df.columns:
            raise ScalingLawsError(f"critical_batch_table: column {col!r} not in {list(df.columns)}")
    rows = []
    for target, g in df.groupby(target_col, sort=True):
        row: dict[str, Any] = {"target": target, "n_points": len(g)}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FitWarning)
                r = fit_critical_batch(g[steps_col], g[examples_col], n_boot=n_boot, seed=seed, level=level,
                                       huber_scale=huber_scale)
        except ScalingLawsError as err:
            rows.append({**row, "converged": False, "message": str(err)})
            continue
        for name in r.param_names:
            row[name] = r.params[name]
            row[f"{name}_low"], row[f"{name}_high"] = r.ci[name]
        rows.append({**row, "converged": r.converged, "message": r.message})
    cols = ["target", "S_min", "S_min_low", "S_min_high", "E_min", "E_min_low", "E_min_high",
            "B_crit", "B_crit_low", "B_crit_high", "n_points", "converged", "message"]
    return pd.DataFrame(rows).reindex(columns=cols)


@_blas_serial
def fit_bcrit_vs_loss(
    L_targets: Any,
    B_crit: Any,
    *,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    huber_scale: float = HUBER_SCALE,
    max_iter: int | None = None,
) -> FitResult:
    """Kaplan Eq. 1.4 / 5.3: B_crit(L) = B* / L^(1/alpha_B), fitted on log B_crit vs log L.

    Parameters: B_star (units of B_crit, Kaplan: tokens), alpha_B. ``predict(L)`` gives B_crit.
    """
    L, Bc = _array("L_targets", L_targets), _array("B_crit", B_crit)

    def transform(c, s):
        # log B = log B* - (1/alpha_B) log L  =>  slope s = -1/alpha_B.
        return (math.exp(c), -1.0 / s if s != 0 else math.nan)

    res = _fit_loglinear(
        L, Bc, law="bcrit_vs_loss", names=("B_star", "alpha_B"), x_name="L", y_name="B_crit", groups=groups,
        n_boot=n_boot, seed=seed, level=level, huber_scale=huber_scale, max_iter=max_iter,
        transform=transform, model=_bcrit_model,
    )
    if res.params["alpha_B"] <= 0:
        res.converged = False
        res.message += "; fitted B_crit grows with loss (alpha_B <= 0): not Kaplan's law"
        warnings.warn(f"bcrit_vs_loss: {res.message}", FitWarning, stacklevel=2)
    return res


def s_min_adjust(S: Any, B: Any, B_crit: Any) -> np.ndarray:
    """Kaplan Eq. 5.4: S_min = S / (1 + B_crit(L)/B), the steps at B >> B_crit."""
    return np.asarray(S, dtype=float) / (1 + np.asarray(B_crit, dtype=float) / np.asarray(B, dtype=float))


def c_min_adjust(C: Any, B: Any, B_crit: Any) -> np.ndarray:
    """Kaplan Eq. 5.5: C_min = C / (1 + B/B_crit(L)), the compute at B << B_crit."""
    return np.asarray(C, dtype=float) / (1 + np.asarray(B, dtype=float) / np.asarray(B_crit, dtype=float))


# ============================================================================ compute frontier


def compute_frontier(
    df: pd.DataFrame,
    c_col: str = "C",
    l_col: str = "L",
    n_col: str = "N",
    *,
    run_col: str | None = None,
    n_grid: int = 200,
) -> pd.DataFrame:
    """Lower envelope of learning curves in (C, L) (Kaplan Fig. 13-14).

    Each run's curve (grouped by ``run_col``, default ``n_col``) is interpolated linearly in
    (log C, log L) on a shared log-spaced grid of ``n_grid`` compute values, within the compute
    range that run covers; at each grid value the envelope keeps the lowest loss and the model
    size (and run) that achieves it. Returns columns ``c_col, l_col, n_col, "run", "attained"``.

    The envelope is monotone: with more compute one can always stop where a smaller budget got to, so
    where the run that held the frontier has ended and no curve present at that C is lower (e.g. only a
    larger model still early in its run), the frontier carries the best loss reached at a smaller C,
    with that run's N, and ``attained`` is False there. Those stretches say nothing about which model
    is best at that C or how low loss could go, so fits of L(C) and N_opt(C) use attained rows only.
    """
    for col in (c_col, l_col, n_col) + ((run_col,) if run_col else ()):
        if col not in df.columns:
            raise ScalingLawsError(f"compute_frontier: column {col!r} not in {list(df.columns)}")
    if n_grid < 2:
        raise ScalingLawsError("compute_frontier: n_grid must be >= 2")
    run_key = run_col or n_col
    C = _array(c_col, df[c_col])
    _array(l_col, df[l_col])
    grid = np.exp(np.linspace(np.log(C.min()), np.log(C.max()), n_grid))
    lg = np.log(grid)
    best_l = np.full(n_grid, np.inf)
    best_n = np.full(n_grid, np.nan)
    best_run = np.full(n_grid, None, dtype=object)
    for run, g in df.groupby(run_key, sort=True):
        g = g.sort_values(c_col)
        lc = np.log(g[c_col].to_numpy(float))
        ll = np.log(g[l_col].to_numpy(float))
        lc, first = np.unique(lc, return_index=True)  # np.interp needs strictly increasing x
        ll = ll[first]
        inside = (lg >= lc[0]) & (lg <= lc[-1])
        if not inside.any():
            continue
        vals = np.interp(lg[inside], lc, ll) if len(lc) > 1 else np.full(inside.sum(), ll[0])
        loss = np.exp(vals)
        idx = np.flatnonzero(inside)
        better = loss < best_l[idx]
        best_l[idx[better]] = loss[better]
        best_n[idx[better]] = float(g[n_col].iloc[0])
        best_run[idx[better]] = run
    ok = np.isfinite(best_l)
    grid, best_l, best_n, best_run = grid[ok], best_l[ok], best_n[ok], best_run[ok]
    # carry the best loss reached so far forward (ties count as attained: a flat curve is still a curve)
    src = np.zeros(len(best_l), dtype=int)
    for i in range(1, len(best_l)):
        src[i] = i if best_l[i] <= best_l[src[i - 1]] else src[i - 1]
    return pd.DataFrame({c_col: grid, l_col: best_l[src], n_col: best_n[src], "run": best_run[src],
                         "attained": src == np.arange(len(src))})


@_blas_serial
def frontier_fit_rows(
    envelope: pd.DataFrame,
    *,
    n_col: str = "N",
    l_col: str = "L",
    drop_edge_sizes: bool = True,
    max_loss: float | None = None,
) -> np.ndarray:
    """Which rows of a compute frontier (from `compute_frontier`) locate the compute-efficient law,
    as a boolean mask; both frontier fits (L(C) and N_opt(C)) use it.

    - ``attained`` rows only: a carried-forward stretch is no loss reached at that C.
    - ``drop_edge_sizes``: not the stretches held by the smallest or largest model trained. They are
      censored: there a smaller (larger) model that was not trained may be the efficient one, so
      neither the size nor the loss is the frontier's.
    - ``max_loss`` (e.g. the unigram entropy of the data): only losses below it. Above the loss of
      the best context-free model, models are still learning token frequencies (the early
      transient, where which model leads is noise at the first evals), not the power-law regime.
    """
    for col in (n_col,) + ((l_col,) if max_loss is not None else ()):
        if col not in envelope.columns:
            raise ScalingLawsError(f"frontier_fit_rows: column {col!r} not in envelope")
    Nn = envelope[n_col].to_numpy(float)
    keep = envelope["attained"].to_numpy(bool, copy=True) if "attained" in envelope.columns else np.ones(len(Nn), dtype=bool)
    if drop_edge_sizes and len(Nn):
        keep &= (Nn > Nn.min()) & (Nn < Nn.max())
    if max_loss is not None:
        keep &= envelope[l_col].to_numpy(float) < max_loss
    return keep


def fit_frontier_n_opt(
    envelope: pd.DataFrame,
    *,
    c_col: str = "C",
    n_col: str = "N",
    l_col: str = "L",
    drop_edge_sizes: bool = True,
    max_loss: float | None = None,
    stair_centres: bool = True,
    c_range: tuple[float, float] | None = None,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    huber_scale: float = HUBER_SCALE,
    max_iter: int | None = None,
) -> FitResult:
    """N_opt = k C^a fitted to the model sizes on the compute frontier (Kaplan Sec. 6.1: a ≈ 0.73).

    The envelope is a staircase (one model size per stretch of C). Its rows are chosen by
    `frontier_fit_rows`: attained rows, by default (``drop_edge_sizes``) not the censored stretches
    won by the smallest and the largest model trained, and with ``max_loss`` only losses below it;
    ``c_range=(lo, hi)`` restricts the fit further. By default the bootstrap resamples whole stairs (``groups`` = the
    N column) since grid points on one stair are not independent.
    Parameters: k (N at C = 1 in your compute unit), a.
    """
    for col in (c_col, n_col):
        if col not in envelope.columns:
            raise ScalingLawsError(f"fit_frontier_n_opt: column {col!r} not in envelope")
    C = _array(c_col, envelope[c_col])
    Nn = _array(n_col, envelope[n_col])
    keep = frontier_fit_rows(envelope, n_col=n_col, l_col=l_col, drop_edge_sizes=drop_edge_sizes, max_loss=max_loss)
    if c_range is not None:
        keep &= (C >= c_range[0]) & (C <= c_range[1])
    if groups is not None:
        groups = np.asarray(groups).reshape(-1)
        if len(groups) != len(C):
            raise ScalingLawsError(f"groups has {len(groups)} entries for {len(C)} envelope rows")
        groups = groups[keep]
    C, Nn = C[keep], Nn[keep]
    if stair_centres:
        # One point per model size: the mean log C of the grid points it wins. For N_opt ∝ C^a
        # the switch from N_k to N_k+1 happens near N_opt = sqrt(N_k N_k+1), so a stair's
        # log-centre lies on the true line, while fitting every grid point of a staircase
        # is biased by the stair widths at the ends.
        frame = pd.DataFrame({"lc": np.log(C), "N": Nn, "g": groups if groups is not None else Nn})
        agg = frame.groupby("N", sort=True).agg(lc=("lc", "mean"), g=("g", "first"))
        C, Nn = np.exp(agg["lc"].to_numpy()), agg.index.to_numpy(float)
        groups = agg["g"].to_numpy()
    if len(np.unique(Nn)) < 2:
        raise ScalingLawsError(
            "fit_frontier_n_opt: fewer than 2 model sizes on the envelope's fitted rows (attained, not the "
            "smallest or largest size trained, below max_loss); train more sizes or pass drop_edge_sizes=False"
        )
    if groups is None:
        groups = Nn
    return _fit_loglinear(
        C, Nn, law="frontier_n_opt", names=("k", "a"), x_name="C", y_name="N_opt", groups=groups,
        n_boot=n_boot, seed=seed, level=level, huber_scale=huber_scale, max_iter=max_iter,
        model=_frontier_model,
    )


# ============================================================================ Chinchilla Approach 2


def _isoflop_minimum(logN: np.ndarray, L: np.ndarray) -> tuple[float, float, float]:
    """Parabola L = p2 t^2 + p1 t + p0 in t = log N (centred); returns (log N*, L*, p2) or NaNs."""
    if len(np.unique(logN)) < 3:
        return math.nan, math.nan, math.nan
    c = float(np.mean(logN))
    p2, p1, p0 = np.polyfit(logN - c, L, 2)
    if not p2 > 0:  # no minimum: the budget's curve is not U-shaped
        return math.nan, math.nan, float(p2)
    t = -p1 / (2 * p2)
    return c + t, p0 - p1 * p1 / (4 * p2), float(p2)


@_blas_serial
def chinchilla_approach2(
    df: pd.DataFrame,
    *,
    n_col: str = "N",
    c_col: str = "C",
    l_col: str = "L",
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    require_interior: bool = True,
    huber_scale: float = HUBER_SCALE,
    max_iter: int | None = None,
) -> FitResult:
    """Chinchilla Approach 2 (IsoFLOP profiles, Hoffmann Sec. 3.2).

    ``df`` holds one row per run: N (parameters), C (the run's FLOP budget; runs sharing a
    budget must share the exact value) and L (final loss). For each budget a parabola of L in
    log N gives N_opt(C); D_opt = C / (6 N_opt). Then N_opt = k_N C^a and D_opt = k_D C^b are
    fitted in log space (b = 1 - a by construction). The bootstrap resamples runs (or
    ``groups``) *within* each budget and redoes everything. Budgets whose parabola opens
    downward are dropped (noted in ``message``), and so, with ``require_interior``, are budgets
    whose parabola's minimum lies outside the model sizes trained at that budget (an
    extrapolated minimum says more about the parabola than the data). ``tables["minima"]`` lists each budget's
    minimum with bootstrap intervals; ``predict(C)`` gives N_opt and ``optimal_allocation(C)``
    gives (N_opt, D_opt).
    """
    for col in (n_col, c_col, l_col):
        if col not in df.columns:
            raise ScalingLawsError(f"chinchilla_approach2: column {col!r} not in {list(df.columns)}")
    N = _array(n_col, df[n_col])
    C = _array(c_col, df[c_col])
    L = _array(l_col, df[l_col])
    n = len(L)
    codes, group_idx = _group_index(groups, n)
    budgets = np.unique(C)
    if len(budgets) < 2:
        raise ScalingLawsError("chinchilla_approach2: need at least 2 distinct budgets C")
    # Each group must sit inside one budget, so resampling within budgets is well defined.
    budget_of_group = []
    for gi in group_idx:
        b = np.unique(C[gi])
        if len(b) != 1:
            raise ScalingLawsError("chinchilla_approach2: a group spans several budgets")
        budget_of_group.append(b[0])
    budget_of_group = np.asarray(budget_of_group)
    strata = [np.flatnonzero(budget_of_group == b) for b in budgets]
    logN_all = np.log(N)
    names = ("k_N", "a", "k_D", "b")

    def minima(idx):
        out = []
        for b in budgets:
            sel = idx[C[idx] == b]
            lnopt, lmin, curv = _isoflop_minimum(logN_all[sel], L[sel])
            if require_interior and np.isfinite(lnopt) and not (logN_all[sel].min() <= lnopt <= logN_all[sel].max()):
                lnopt = lmin = math.nan
            out.append((b, lnopt, lmin, curv, len(sel)))
        return np.array(out, dtype=float)

    def line(lc, ly, start=None):
        z = lc - lc_mean
        starts = [start] if start is not None else [_line_starts(z, ly)]

        def resid(t):
            return t[0] + t[1] * z - ly

        return _robust_lsq(resid, starts, names=("intercept", "slope"), f_scale=huber_scale, max_iter=max_iter,
                           polish=start is None)

    lc_mean = float(np.mean(np.log(budgets)))

    def params_from(mins, start=None):
        ok = np.isfinite(mins[:, 1])
        if ok.sum() < 2:
            return None, None, False, "fewer than 2 budgets with a parabola minimum"
        lc = np.log(mins[ok, 0])
        lnopt = mins[ok, 1]
        r, conv, msg = line(lc, lnopt, start)
        if r is None:
            return None, None, False, msg
        c0, a = r.x[0] - r.x[1] * lc_mean, r.x[1]
        # D_opt = C/(6 N_opt) => log D_opt = -log 6 - c0 + (1 - a) log C exactly.
        theta = np.array([math.exp(c0), a, math.exp(-math.log(6.0) - c0), 1.0 - a])
        return theta, r, conv, msg

    with np.errstate(all="ignore"):
        mins = minima(np.arange(n))
        theta, best, converged, msg = params_from(mins)
    if theta is None:
        raise ScalingLawsError(f"chinchilla_approach2: {msg}")
    dropped = int((~np.isfinite(mins[:, 1])).sum())
    if dropped:
        msg += f"; {dropped} budget(s) without an (interior) parabola minimum dropped"

    boot_minima: list[np.ndarray] = []

    def fit_once(idx):
        mm = minima(idx)
        boot_minima.append(mm[:, 1])
        t, _, ok, _ = params_from(mm, best.x)
        return t if ok else None

    mins_df = pd.DataFrame(
        {
            "C": mins[:, 0],
            "N_opt": np.exp(mins[:, 1]),
            "D_opt": mins[:, 0] / (6 * np.exp(mins[:, 1])),
            "L_min": mins[:, 2],
            "curvature": mins[:, 3],
            "n_runs": mins[:, 4].astype(int),
        }
    )
    ok = np.isfinite(mins[:, 1])
    pred = _a2_model(dict(zip(names, theta)), mins[ok, 0])
    resid = mins[ok, 1] - np.log(pred)
    res = _finish(
        law="chinchilla_approach2", names=names, theta=theta, fit_once=fit_once, group_idx=group_idx, n_boot=n_boot,
        seed=seed, level=level, converged=converged, message=msg, residuals=resid,
        points=mins_df[ok].assign(N_opt_pred=pred, residual=resid), model=_a2_model, inputs=("C",), output="N_opt",
        objective=2 * best.cost, strata=strata, tables={"minima": mins_df}, allocator=_a2_allocator,
    )
    q = 100 * (1 - level) / 2
    if boot_minima:
        bm = np.exp(np.stack(boot_minima))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns for degenerate budgets
            lo, hi = np.nanpercentile(bm, [q, 100 - q], axis=0)
        mins_df["N_opt_low"], mins_df["N_opt_high"] = lo, hi
    else:
        mins_df["N_opt_low"] = mins_df["N_opt_high"] = np.nan
    runs = pd.DataFrame({"N": N, "C": C, "L": L, "group": codes})
    res.tables = {"minima": mins_df, "runs": runs}
    return res


# ============================================================================ Chinchilla Approach 3

# A term of L = E + A/N^alpha + B/D^beta below this share of every fitted loss has vanished: the fit
# cannot tell its size (1e-6 of a ~4-nat loss is far below any run-to-run noise).
VANISHED_SHARE = 1e-6


def chinchilla_loss(N: Any, D: Any, E: float, A: float, B: float, alpha: float, beta: float) -> np.ndarray:
    """Hoffmann Eq. 2: L(N, D) = E + A/N^alpha + B/D^beta."""
    return E + A / np.power(np.asarray(N, dtype=float), alpha) + B / np.power(np.asarray(D, dtype=float), beta)


def chinchilla_init_grid(kind: str = "coarse") -> np.ndarray:
    """Starting points (a, b, e, alpha, beta) with A, B, E = exp(a, b, e) (App. D.2's names).

    ``"full"``: Hoffmann App. D.2, a, b in {0, 5, ..., 25}, e in {-1, -0.5, ..., 1},
    alpha, beta in {0, 0.5, ..., 2}: 6*6*5*5*5 = 4500 starts.
    ``"coarse"``: a subset of it, a, b in {0, 10, 20}, e in {-1, 0, 1}, alpha, beta in
    {0, 0.5, 1} (243 starts; every published exponent is below 1). On the Epoch anchor data
    56 of these 243 starts (342 of the 4500) end within 1e-6 of the 4500-start optimum, and
    the coarse fit takes ~1.5 s against ~14 s for the full grid (2-core machine).
    """
    if kind == "full":
        ab, e, ex = np.arange(0, 26, 5.0), np.arange(-1, 1.01, 0.5), np.arange(0, 2.01, 0.5)
    elif kind == "coarse":
        ab, e, ex = np.array([0.0, 10.0, 20.0]), np.array([-1.0, 0.0, 1.0]), np.array([0.0, 0.5, 1.0])
    else:
        raise ScalingLawsError(f"init_grid must be 'coarse', 'full' or an array of starts, not {kind!r}")
    return np.array(list(itertools.product(ab, ab, e, ex, ex)), dtype=float)


def chinchilla_objective(theta: np.ndarray, logN: np.ndarray, logD: np.ndarray, logL: np.ndarray,
                         delta: float = 1e-3) -> tuple[float, np.ndarray]:
    """Sum over points of Huber_delta(LSE(a - alpha log N, b - beta log D, e) - log L), and its gradient.

    Huber as in scipy.special.huber: r^2/2 for |r| <= delta, delta(|r| - delta/2) beyond.
    Summed, not averaged (averaging makes L-BFGS-B stop near its start; anchors README).
    """
    a, b, e, al, be = theta
    t1 = a - al * logN
    t2 = b - be * logD
    m = np.maximum(np.maximum(t1, t2), e)
    w1, w2, w3 = np.exp(t1 - m), np.exp(t2 - m), np.exp(e - m)
    s = w1 + w2 + w3
    r = m + np.log(s) - logL
    f = float(np.sum(_huber(delta, r)))
    psi = np.clip(r, -delta, delta) / s  # dHuber/dr times the softmax normaliser
    p1, p2 = psi * w1, psi * w2
    grad = np.array([p1.sum(), p2.sum(), float(np.sum(psi * w3)), -float(p1 @ logN), -float(p2 @ logD)])
    return f, grad


def vanished_terms(p: dict[str, float], N: Any, D: Any) -> dict[str, str]:
    """Parameters of an Approach 3 fit that the data do not determine, with the reason.

    A term of L = E + A/N^alpha + B/D^beta that is below VANISHED_SHARE of every fitted loss is a flat
    direction of the objective (e.g. E -> 0 when the data cannot separate it from the power-law terms):
    its parameters, and the allocation exponents that use them, get no interval."""
    N, D = np.asarray(N, dtype=float), np.asarray(D, dtype=float)
    terms = {"E": np.full(N.shape, p["E"]), "A": p["A"] / N ** p["alpha"], "B": p["B"] / D ** p["beta"]}
    pred = terms["E"] + terms["A"] + terms["B"]
    out: dict[str, str] = {}
    for term, params in (("E", ("E",)), ("A", ("A", "alpha", "a", "b")), ("B", ("B", "beta", "a", "b"))):
        share = float(np.max(terms[term] / pred))
        if share < VANISHED_SHARE:
            for q in params:
                out.setdefault(q, f"the {term} term is at most {share:.1g} of every fitted loss (it vanished)")
    return out


def _a3_model(p: dict[str, float], N: np.ndarray, D: np.ndarray) -> np.ndarray:
    return chinchilla_loss(N, D, p["E"], p["A"], p["B"], p["alpha"], p["beta"])


def _a3_allocator(p: dict[str, float], C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Hoffmann Eq. 4 with C = 6 N D: N_opt = G (C/6)^a, D_opt = G^-1 (C/6)^b,
    # G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta), b = alpha/(alpha+beta).
    al, be = p["alpha"], p["beta"]
    G = (al * p["A"] / (be * p["B"])) ** (1.0 / (al + be))
    x = np.asarray(C, dtype=float) / 6.0
    return G * np.power(x, be / (al + be)), np.power(x, al / (al + be)) / G


@_blas_serial
def chinchilla_approach3(
    N: Any,
    D: Any,
    L: Any,
    *,
    init_grid: str | np.ndarray = "coarse",
    huber_delta: float = 1e-3,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    boot_starts: int = 2,
    max_iter: int = 15000,
) -> FitResult:
    """Chinchilla Approach 3 (Hoffmann Sec. 3.3, App. D.2): L(N, D) = E + A/N^alpha + B/D^beta.

    Fitted as the paper does: log L_hat = LSE(log A - alpha log N, log B - beta log D, log E)
    (App. D.2 calls the logs a, b, e; ``init_grid`` rows are (log A, log B, log E, alpha, beta));
    objective = *sum* of Huber_delta (delta = 1e-3) on log L residuals;
    L-BFGS-B (unbounded, analytic gradient) from every start of ``init_grid`` and the lowest
    objective kept, then polished from there with tight tolerances (ftol 1e-15, gtol 1e-12).
    N in parameters, D in tokens (D = C/(6N) when only C is known).

    Parameters: E, A, B, alpha, beta and the derived allocation exponents (Hoffmann Eq. 4, not
    the logs above) a = beta/(alpha+beta) (N_opt ∝ C^a) and b = alpha/(alpha+beta) (D_opt ∝ C^b). Bootstrap refits start from the full-fit optimum and
    ``boot_starts - 1`` perturbations of it (exponents scaled by 0.8 and 1.25 with A, B
    rescaled to keep each term's value at the data's centre), keeping the best.

    ``converged`` requires the polished fit to end with L-BFGS-B's convergence message, or the
    same optimum (objective within 1e-6 relative) to be reached from at least 2 grid starts.
    A bootstrap refit that hits ``max_iter`` counts as failed (NaN row).
    """
    N, D, L = _array("N", N), _array("D", D), _array("L", L)
    n = _same_length(N=N, D=D, L=L)
    if n <= 5:
        raise ScalingLawsError(f"chinchilla_approach3: need more than 5 points; got {n}")
    if huber_delta <= 0:
        raise ScalingLawsError("huber_delta must be > 0")
    codes, group_idx = _group_index(groups, n)
    lN_all, lD_all, lL_all = np.log(N), np.log(D), np.log(L)
    starts = chinchilla_init_grid(init_grid) if isinstance(init_grid, str) else np.asarray(init_grid, dtype=float)
    if starts.ndim != 2 or starts.shape[1] != 5 or len(starts) == 0:
        raise ScalingLawsError("init_grid array must have shape (k, 5): columns a, b, e, alpha, beta")
    names = ("E", "A", "B", "alpha", "beta", "a", "b")

    # L-BFGS-B's default stopping rule (relative reduction of f below ~2e-9) fires within a few
    # iterations of a start that is already near an optimum of this nearly piecewise-linear
    # objective, so a refit seeded at the optimum would barely move and the bootstrap would look
    # far too certain. Polishing and bootstrap refits therefore use tight tolerances; the grid
    # search itself keeps scipy's defaults, as in the paper's procedure.
    tight = {"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-12}
    default = {"maxiter": max_iter}

    def run(idx, x0s, options):
        lN, lD, lL = lN_all[idx], lD_all[idx], lL_all[idx]
        results = []
        for x0 in x0s:
            with np.errstate(all="ignore"):
                r = minimize(chinchilla_objective, x0, args=(lN, lD, lL, huber_delta), jac=True,
                             method="L-BFGS-B", options=options)
            if np.isfinite(r.fun) and np.all(np.isfinite(r.x)):
                results.append(r)
        return results

    def natural(x):
        a, b, e, al, be = x
        s = al + be
        return np.array([np.exp(e), np.exp(a), np.exp(b), al, be,
                         be / s if s != 0 else math.nan, al / s if s != 0 else math.nan])

    results = run(np.arange(n), starts, default)
    if not results:
        raise ScalingLawsError("chinchilla_approach3: no start gave a finite objective")
    funs = np.array([r.fun for r in results])
    best = results[int(np.argmin(funs))]
    n_same = int(np.sum(np.abs(funs - best.fun) <= 1e-6 * abs(best.fun) + 1e-15))
    polished = run(np.arange(n), [best.x], tight)
    final = polished[0] if polished and polished[0].fun <= best.fun else best
    converged = bool(final.success) or n_same >= 2
    msg = (f"L-BFGS-B from {len(starts)} start(s): best objective {best.fun:.6g} (sum of Huber, "
           f"delta={huber_delta:g}), reached within 1e-6 by {n_same}; polished with tight "
           f"tolerances to {final.fun:.6g}: {final.message}")
    if best.nit == 0:
        msg += "; the best start is the initial point itself (0 iterations)"
    if not converged:
        msg += "; not accepted as converged (L-BFGS-B did not report convergence and no second start agrees)"
    x_hat = final.x

    # Small init grid for the bootstrap, seeded from the optimum: the optimum itself and the
    # exponents scaled by 0.8 / 1.25 with a, b shifted so A/N^alpha and B/D^beta keep their
    # value at the centre of the data.
    mN, mD = float(np.mean(lN_all)), float(np.mean(lD_all))
    boot_x0 = [x_hat]
    for f in (0.8, 1.25):
        a, b, e, al, be = x_hat
        boot_x0.append(np.array([a + (f - 1) * al * mN, b + (f - 1) * be * mD, e, f * al, f * be]))
    boot_x0 = boot_x0[: max(1, boot_starts)]

    def fit_once(idx):
        rs = run(idx, boot_x0, tight)
        if not rs:
            return None
        r = min(rs, key=lambda r_: r_.fun)
        if not r.success and r.nit >= max_iter:
            return None
        return natural(r.x)

    theta = natural(x_hat)
    p_hat = dict(zip(names, theta))
    pred = _a3_model(p_hat, N, D)
    resid = np.log(L) - np.log(pred)
    # A term that is a negligible share of every fitted loss (e.g. E -> 0 when the data cannot separate it
    # from the power-law terms) is a flat direction: its parameters, and the allocation exponents that
    # use them, are not determined by the data.
    return _finish(
        law="chinchilla_approach3", names=names, theta=theta, fit_once=fit_once, group_idx=group_idx,
        n_boot=n_boot, seed=seed, level=level, converged=converged, message=msg, residuals=resid,
        points=_points_frame({"N": N, "D": D, "L": L}, codes, pred, resid, "L"), model=_a3_model,
        inputs=("N", "D"), objective=final.fun, allocator=_a3_allocator,
        tables={"starts": pd.DataFrame({"objective": funs})}, unidentified=vanished_terms(p_hat, N, D),
    )
