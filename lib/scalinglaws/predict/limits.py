"""What `scalinglaws predict` agrees to answer: every input and every derived number (C, N, D, loss) finite
and inside a sane range, or a one-line ScalingLawsError. An absurd input (``--gpu-hours 1e308``) would
otherwise overflow to inf or print a 100-digit number with exit status 0.

The ranges are wide on purpose: they refuse nonsense, not extrapolation (each law warns about that itself).
"""

from __future__ import annotations

import math

from .. import ScalingLawsError
from .fmt import fmt

__all__ = ["C_RANGE", "N_RANGE", "D_RANGE", "LOSS_MAX", "N_BOOT_MAX", "check_positive", "check_input", "check_n_boot",
           "check_derived", "check_finite", "computed"]

# Training compute in FLOPs: from one parameter trained on one token (6·1·1) to 1e30, orders of magnitude
# beyond any training run published so far.
C_RANGE = (6.0, 1e30)
# Parameters and tokens: at least one, at most 1e16 (orders of magnitude beyond today's largest models and
# datasets).
N_RANGE = (1.0, 1e16)
D_RANGE = (1.0, 1e16)
# A loss in nats/token above 100 would be a uniform guess over e^100 ≈ 2.7e43 tokens; no vocabulary is near.
LOSS_MAX = 100.0
# Bootstrap resamples for --run: each one refits the curve and keeps a row, so 1e9 asked for 22.6 GB; the 95%
# percentile interval settles within a few thousand.
N_BOOT_MAX = 10_000


def check_positive(name: str, x: float | None) -> None:
    """An option's value: a finite number > 0 (or not given)."""
    if x is None:
        return
    if not (math.isfinite(x) and x > 0):
        raise ScalingLawsError(f"{name} {x:g}: must be a finite number > 0")


def check_input(name: str, x: float | None, rng: tuple[float, float], unit: str) -> None:
    """An option's value: finite, > 0 and inside ``rng`` (one line naming the option and the range)."""
    if x is None:
        return
    check_positive(name, x)
    lo, hi = rng
    if not lo <= x <= hi:
        raise ScalingLawsError(f"{name} {x:g}: outside {fmt(lo)} to {fmt(hi)} {unit}, the range this tool answers for")


def check_n_boot(n_boot: int | None) -> None:
    if n_boot is None:
        return
    if n_boot < 0:
        raise ScalingLawsError(f"--n-boot {n_boot}: must be a whole number >= 0")
    if n_boot > N_BOOT_MAX:
        raise ScalingLawsError(f"--n-boot {n_boot}: at most {N_BOOT_MAX} (each resample refits the curve and is "
                               "kept in memory; the 95% interval settles within a few thousand)")


def _real(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_derived(what: str, name: str, x: float, rng: tuple[float, float], unit: str, fix: str) -> None:
    """A number the tool computed (C from GPU-hours, a law's N or D): finite and inside ``rng``, else a one-line
    refusal saying which law gave it and how to ask for something sensible (``fix``)."""
    lo, hi = rng
    if not _real(x):
        raise ScalingLawsError(f"{what}: {name} is not a real number ({x!r}); {fix}")
    if not (math.isfinite(x) and lo <= x <= hi):
        raise ScalingLawsError(f"{what}: {name} = {fmt(x)} {unit} is outside {fmt(lo)} to {fmt(hi)}, the range this "
                               f"tool answers for; {fix}")


def check_finite(what: str, column: dict, fix: str) -> None:
    """Every number of a law's answer is finite (None stands for one that does not exist)."""
    for key, x in column.items():
        if isinstance(x, complex) or (isinstance(x, float) and not math.isfinite(x)):
            raise ScalingLawsError(f"{what}: {key} = {x!r} is not a finite real number; {fix}")


def computed(what: str, fix: str, fn, *args):
    """``fn(*args)``, with an arithmetic overflow (a power too large for a float) as a one-line refusal."""
    try:
        return fn(*args)
    except (OverflowError, ZeroDivisionError) as e:
        raise ScalingLawsError(f"{what}: {e.__class__.__name__} ({e}); {fix}") from None
