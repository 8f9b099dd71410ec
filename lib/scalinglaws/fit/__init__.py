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
  from the full-data optimum and from up to three other places where the full-data fit's
  starts ended (the lower objective wins; see `scalinglaws.fit.core`), and report the
  ``(1-level)/2`` and ``(1+level)/2`` percentiles. Seeded (``seed``), ``n_boot`` resamples; a
  resample whose refit fails is a row of NaN in ``boot`` and is counted in ``n_boot_failed``.

Modules: core (result, robust least squares, bootstrap, and the one protocol every law is fitted by,
documented there), kaplan, chinchilla, frontier, blas (one BLAS thread per fit).
"""

from . import chinchilla, core, frontier, kaplan
from .chinchilla import *  # noqa: F401,F403 - each module's __all__ is its public API
from .core import *  # noqa: F401,F403
from .frontier import *  # noqa: F401,F403
from .kaplan import *  # noqa: F401,F403

# A new law is a function in its paper's module, listed in that module's __all__: nothing to add here
# (a module for a new paper adds its two import lines).
__all__ = [*core.__all__, *kaplan.__all__, *frontier.__all__, *chinchilla.__all__]
