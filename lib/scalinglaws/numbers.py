"""How the study writes a number, in one place: a value, an interval, and "value [low, high] (paper X)".

The notebooks' legends and printed lines, the results and claims tables, the verdicts' reasons and
`scalinglaws predict` all write numbers through these, so one quantity reads the same everywhere:
3 significant digits, whole numbers below a million with thousands separators (2,048 tokens, not 2.05e+03),
powers of ten as 1e9 (not 1e+09), and a dash for a number that does not exist. Imports nothing.
"""

from __future__ import annotations

import math
import re

MISSING = "–"  # a number that does not exist (no fit, no interval)


def num(x, digits: int = 3, *, missing: str = MISSING) -> str:
    """One number: ``digits`` significant digits; whole numbers below 1e6 as integers with separators;
    ``missing`` for None or NaN; "inf"/"-inf" for infinities (never a 100-digit number)."""
    if x is None:
        return missing
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(x):
        return missing
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x.is_integer() and abs(x) < 1e6:
        return f"{int(x):,}"
    s = f"{x:.{digits}g}"
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), s)


def interval(lo, hi, digits: int = 3) -> str:
    """``"[lo, hi]"``; "" when either end does not exist (say "no interval" where it matters)."""
    if lo is None or hi is None or not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
        return ""
    return f"[{num(lo, digits)}, {num(hi, digits)}]"


def estimate(value, ci=None, paper=None, *, symbol: str = "", digits: int = 3) -> str:
    """``"α = 0.0912 [0.081, 0.102] (paper 0.076)"``: the value, its interval where there is one, the paper's
    value where there is one; ``symbol`` names the quantity (legends), or is left out (tables)."""
    iv = interval(*ci, digits=digits) if ci is not None else ""
    s = (f"{symbol} = " if symbol else "") + num(value, digits) + (f" {iv}" if iv else "")
    return s + (f" (paper {num(paper, digits)})" if paper is not None else "")
