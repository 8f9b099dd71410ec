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

Modules: core (result, robust least squares, bootstrap, the fitting protocols), kaplan, chinchilla,
frontier, blas (one BLAS thread per fit).
"""

from .core import (  # noqa: F401
    FitResult,
    FitWarning,
    HUBER_SCALE,
    MIN_DISTINCT_RESAMPLES,
    POLISH_MAX_NFEV,
    POLISH_TOL,
    Prediction,
    _ModelFn,
    _array,
    _bootstrap,
    _finish,
    _fit_loglinear,
    _group_index,
    _line_starts,
    _percentile_ci,
    _points_frame,
    _robust_lsq,
    _same_length,
    _solve_and_finish,
)
from .blas import (  # noqa: F401
    _blas_serial,
    _openblas_thread_controls,
    _single_thread_blas,
)
from .kaplan import (  # noqa: F401
    _bcrit_model,
    _cb_model,
    _nd_model,
    _ns_model,
    _power_law_e_model,
    _power_law_model,
    c_min_adjust,
    collapse_variable,
    fit_bcrit_vs_loss,
    fit_critical_batch,
    fit_kaplan_nd,
    fit_kaplan_ns,
    fit_power_law,
    kaplan_nd_loss,
    kaplan_nd_overfit,
    kaplan_ns_loss,
    overfit_delta,
    s_min_adjust,
)
from .frontier import (  # noqa: F401
    _frontier_model,
    compute_frontier,
    fit_frontier_n_opt,
    frontier_fit_rows,
)
from .chinchilla import (  # noqa: F401
    VANISHED_SHARE,
    _a2_allocator,
    _a2_model,
    _a3_allocator,
    _a3_model,
    _isoflop_minimum,
    chinchilla_approach2,
    chinchilla_approach3,
    chinchilla_init_grid,
    chinchilla_loss,
    chinchilla_objective,
    vanished_terms,
)

__all__ = [
    "HUBER_SCALE",
    "FitWarning",
    "Prediction",
    "FitResult",
    "fit_power_law",
    "kaplan_nd_loss",
    "overfit_delta",
    "collapse_variable",
    "kaplan_nd_overfit",
    "fit_kaplan_nd",
    "kaplan_ns_loss",
    "fit_kaplan_ns",
    "fit_critical_batch",
    "fit_bcrit_vs_loss",
    "s_min_adjust",
    "c_min_adjust",
    "compute_frontier",
    "frontier_fit_rows",
    "fit_frontier_n_opt",
    "chinchilla_approach2",
    "chinchilla_loss",
    "chinchilla_init_grid",
    "chinchilla_objective",
    "vanished_terms",
    "chinchilla_approach3",
]
