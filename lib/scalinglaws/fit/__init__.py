"""Fits of every scaling law in Kaplan et al. 2020 and Hoffmann et al. 2022 (Chinchilla).

All fits share one shape of result, `FitResult`: point estimates from a fit to all points,
confidence intervals and how they were made (``ci_method``), the bootstrap parameter sets, log-space
residuals, the points used, how many independent points (``n_points``) and decades of the law's main
variable (``span``) the fit rests on, and an explicit ``converged`` flag with a ``message`` (a fit that
stops at its iteration limit, at a parameter bound, or never leaves its start says so).

Conventions
-----------
* Losses are in nats per token; all fits are done on ``log L`` (or on the log of whatever
  quantity the law predicts), so a residual of 0.01 means the law misses by about 1 %.
* "Robust" means a Huber loss on the log residuals. ``huber_scale`` is where the loss turns from
  quadratic to linear: points further off than that are down-weighted. It belongs to the quantity:
  laws of the loss use HUBER_SCALE_LOSS = 0.02 (about 2 % of the loss, the run-to-run scatter of small
  LMs); lines through quantities that are no loss (log N_opt, log B_crit, log steps: scatter ~0.1)
  default to least squares (``huber_scale=None``; why: `scalinglaws.fit.core`). Chinchilla Approach 3
  instead uses the paper's delta = 1e-3.
* Constants with a huge range (N_c ~ 1e13, D_c, S_c, B*) are never optimised directly.
  Internally each law is written in centred log coordinates ``z = log X - mean(log X)`` with
  an intercept ``u`` equal to the log-loss the term predicts at the centre of the data; this
  keeps the problem well conditioned and the constants are recovered as
  ``X_c = exp(u / alpha + mean(log X))``.
* Intervals, by the number of independent points n (groups; `scalinglaws.fit.core.interval_rule`):
  - n >= MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP = 6: percentile bootstrap. Resample whole *groups*
    (pass ``groups``, e.g. one run id per point, so all eval points of a run go in or out together;
    by default every point is its own group), refit from the full-data optimum and from up to three
    other places where the full-data fit's starts ended (the lower objective wins; see
    `scalinglaws.fit.core`), and report the ``(1-level)/2`` and ``(1+level)/2`` percentiles.
  - fewer, a line in log-log space (power laws without E, N_opt(C), B_crit(L), Approach 2's line):
    Student-t on the line's coefficients, n - 2 degrees of freedom (groups of several rows:
    cluster-robust variance, groups - 2); none with 2 points.
  - fewer, a nonlinear law: residual bootstrap (x fixed; groups of rows: one random sign per group);
    none when n <= the number of free parameters.
  Seeded (``seed``), ``n_boot`` resamples (``n_boot=0``: no interval at all); a resample whose refit
  fails is a row of NaN in ``boot``, counted in ``n_boot_failed`` (= ``boot_failed``) of ``boot_total``;
  more than 10 % failed sets ``boot_unreliable``.

Modules: core (result, robust least squares, bootstrap, and the one protocol every law is fitted by,
documented there), kaplan, chinchilla, frontier, blas (one BLAS thread per fit).
"""

from . import chinchilla, core, frontier, intervals, kaplan, result, solve
from .chinchilla import *  # noqa: F401,F403 - each module's __all__ is its public API
from .core import *  # noqa: F401, F403
from .frontier import *  # noqa: F401,F403
from .intervals import *  # noqa: F401,F403
from .kaplan import *  # noqa: F401,F403
from .result import *  # noqa: F401,F403
from .solve import *  # noqa: F401,F403

# A new law is a function in its paper's module, listed in that module's __all__: nothing to add here
# (a module for a new paper adds its two import lines).
__all__ = [*result.__all__, *intervals.__all__, *solve.__all__, *core.__all__, *kaplan.__all__, *frontier.__all__, *chinchilla.__all__]
