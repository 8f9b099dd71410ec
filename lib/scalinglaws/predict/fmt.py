"""Numbers as `scalinglaws predict` prints them: 3 significant digits, JSON without inf or NaN."""

from __future__ import annotations

import math

from scalinglaws.numbers import num as _num

__all__ = ["fmt", "loss3", "num", "ci", "clean", "ratio"]

# A loss is printed with 3 decimals; beyond this it would be a long run of digits (an absurd law or input),
# so it is printed like any other large number instead.
_DECIMAL_LIMIT = 1e6


def fmt(x) -> str:
    """3 significant digits; powers of ten as e9, not e+09; "—" for a number that does not exist."""
    return _num(x, missing="—")


def loss3(x, sign: bool = False) -> str:
    """A loss in nats/token (or a difference of two, ``sign=True``) with 3 decimals, never a 100-digit number."""
    x = float(x)
    if not (math.isfinite(x) and abs(x) < _DECIMAL_LIMIT):
        return ("+" if sign and x > 0 else "") + fmt(x)
    return f"{x:+.3f}" if sign else f"{x:.3f}"


def ratio(x: float) -> str:
    """Tokens per parameter: one decimal where that reads well, else 3 significant digits."""
    return f"{x:.1f}" if 0.1 <= x < 1e4 else fmt(x)


def num(x) -> float | None:
    """A finite float, or None (JSON has no inf or NaN)."""
    x = float(x)
    return x if math.isfinite(x) else None


def ci(pair) -> list[float | None]:
    return [num(pair[0]), num(pair[1])]


def clean(x):
    """The report with every non-finite float as None: JSON has no inf or NaN."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
