"""What a fit returns: the result of a law fitted to points (`FitResult`), a prediction with its interval, and
the solution of one solve (see `scalinglaws.fit.core` for the protocol)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np
import pandas as pd

from scalinglaws import ScalingLawsError

__all__ = ["FitResult", "FitWarning", "Prediction", "HUBER_SCALE", "HUBER_SCALE_LOSS", "BOOT_UNRELIABLE_FAILURE_RATE"]

# The Huber scale is a property of the quantity fitted, not of the fitting code: it is where a residual
# stops being "noise" and starts being "an outlier", so it must be about the size of that quantity's noise.
# Log-loss fits (every law of L): 0.02 in log L is ~2 % of the loss, about the run-to-run scatter of small
# language models, known before any fit.
HUBER_SCALE_LOSS = 0.02


# Kept for callers that imported the old name: it always meant the log-loss scale.
HUBER_SCALE = HUBER_SCALE_LOSS


ModelFn = Callable[..., np.ndarray]


# More failed refits than this share of those attempted: the interval rests on the resamples that could be
# refitted, a selected subset (FitResult.boot_unreliable, and a FitWarning).
BOOT_UNRELIABLE_FAILURE_RATE = 0.1


def safe_exp(x: float) -> float:
    """exp that saturates to inf instead of raising OverflowError: a law's internal parameters map to natural
    ones through exp, and a t-interval draw on 3 points (1 degree of freedom) can be extreme."""
    with np.errstate(over="ignore"):
        return float(np.exp(x))


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


def no_solution(why: str) -> Solution:
    return Solution(None, math.nan, False, why)


@dataclass
class FitResult:
    """One fitted law.

    ``params`` and the columns of ``boot`` are in natural units (X_c in the units of X, not its
    log). ``ci[name] = (low, high)`` is the interval at ``level`` made as ``ci_method`` says (see
    `interval_rule`): "percentile bootstrap over groups", "t interval (n points)", "residual bootstrap",
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
    model: ModelFn | None = field(default=None, repr=False, compare=False)
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
        `solve_and_finish` recorded it in ``no_interval``; "" when it has one or no reason was recorded."""
        if np.all(np.isfinite(self.ci[name])):
            return ""
        if name in self.no_interval:
            return f"no interval for {name}: {self.no_interval[name]}"
        return f"no interval: {self.no_interval['*']}" if "*" in self.no_interval else ""

    def half_width(self, name: str) -> float:
        lo, hi = self.ci[name]
        return (hi - lo) / 2
