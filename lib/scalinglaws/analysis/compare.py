"""Compare a re-computed results file (CSV or JSON) with the committed one, number by number.

Why not bytes: floating-point sums differ between CPUs (Intel with AMX vs AMD EPYC) and thread counts,
so a fit re-run on the same data lands slightly apart (e.g. 0.021024833749770117
vs 0.021024833749769985; up to ~3e-7 relative where an optimiser stops). Re-computed numbers must agree within a stated relative tolerance (RTOL); everything
that is not a number (column names, labels, run ids, notes) must agree exactly; a number printed inside
a text (a note such as "0.0515 [0.047, 0.059]") may differ by one unit in its last printed digit, which
is what a rounding flip of the same value looks like. A results file's records are matched by key (typed
records, scalinglaws.records) or quantity (old records); a record's status, ci_method, n_points and seeds are
decisions, compared exactly.

    from scalinglaws.analysis.compare import compare_files
    problems = compare_files("figures/cpu/01_loss_vs_N.csv", "/tmp/fresh/01_loss_vs_N.csv")
"""

from __future__ import annotations

import csv
import json
import math
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from scalinglaws.findings import unmeasured  # which records hold no measurement: the claims table's rule

# Relative tolerance for numbers re-computed on another CPU or thread count. Deterministic arithmetic on
# the same data agrees to ~1e-15, but a fit agrees only as far as its optimiser's stopping rule pins it:
# least_squares stops when the step or gradient falls below 1e-8, so the same fit on two CPUs can differ
# by a few 1e-7 relative (measured: docs/decisions.md, 2026-12-02). 1e-6 holds that with room and is still far below any interval the study reports. ATOL: two numbers
# this close to zero count as equal (a residual of 3e-17 vs -2e-17).
RTOL = 1e-6
ATOL = 1e-12
# Interval endpoints (ci_low, ci_high of a results record) are percentiles of bootstrap refits, which are
# not polished like the full-data fit (their spread is the point): they agree within this fraction of
# the interval's width (measured: 0.095863 vs 0.0958636 for an interval 0.069 wide, between OpenBLAS
# kernels). A thousandth of the width is far below the Monte Carlo error of the interval itself.
CI_WIDTH_TOL = 1e-3

_NUMBER = re.compile(r"[-+]?(?:\d+(?:,\d{3})*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def numbers_close(a: float, b: float, rtol: float = RTOL, atol: float = ATOL, sig_digits: int | None = None) -> bool:
    """Within atol + rtol·max(|a|, |b|). With ``sig_digits`` (numbers stored rounded to that many
    significant digits, as the results tables are: analysis.Results keeps 6), also when they differ by one
    unit in the last kept digit, e.g. 176.313 vs 176.314: two values 1e-7 apart can round either side."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    diff = abs(a - b)
    if diff <= atol + rtol * max(abs(a), abs(b)):
        return True
    if sig_digits is not None and max(abs(a), abs(b)) > 0:
        unit = 10.0 ** (math.floor(math.log10(max(abs(a), abs(b)))) - (sig_digits - 1))
        return diff <= unit * (1 + 1e-9)
    return False


def _as_float(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def _last_digit_unit(token: str) -> Decimal:
    """One unit in the last printed digit of a number as written ("0.0515" -> 0.0001, "1.2e+03" -> 100)."""
    d = Decimal(token.replace(",", ""))
    return Decimal(1).scaleb(d.as_tuple().exponent)


def texts_match(a: str, b: str) -> bool:
    """Same words; numbers inside equal or one unit apart in their last printed digit."""
    if a == b:
        return True
    if _NUMBER.sub("#", a) != _NUMBER.sub("#", b):
        return False
    for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b)):
        if x == y:
            continue
        try:
            dx, dy = Decimal(x.replace(",", "")), Decimal(y.replace(",", ""))
            unit = max(_last_digit_unit(x), _last_digit_unit(y))
        except InvalidOperation:
            return False
        if abs(dx - dy) > unit:
            return False
    return True


def _compare_unmeasured(a: dict, b: dict, where: str, out: list[str]) -> None:
    """Records whose value is no measurement: same fields, still marked (status, or an old note's mark), same
    words. Identity and status are compared exactly by compare_records."""
    if set(a) != set(b):
        out.append(f"{where}: keys differ: {sorted(set(a) ^ set(b))}")
    if "note" in a and (not unmeasured(b) or _NUMBER.sub("#", str(a["note"])) != _NUMBER.sub("#", str(b.get("note")))):
        out.append(f"{where}: no longer marked the same way: {a.get('note')!r} vs {b.get('note')!r}")


def _compare_values(a, b, where: str, out: list[str], rtol: float, atol: float, sig_digits: int | None = None) -> None:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        if a != b:
            out.append(f"{where}: {a!r} != {b!r}")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if not numbers_close(float(a), float(b), rtol, atol, sig_digits):
            out.append(f"{where}: {a!r} vs {b!r} (relative tolerance {rtol:g})")
    elif isinstance(a, str) and isinstance(b, str):
        if not texts_match(a, b):
            out.append(f"{where}: text differs: {a!r} vs {b!r}")
    elif isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            out.append(f"{where}: keys differ: {sorted(set(a) ^ set(b))}")
        for k in sorted(set(a) & set(b)):
            _compare_values(a[k], b[k], f"{where}.{k}", out, rtol, atol, sig_digits)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{where}: {len(a)} vs {len(b)} entries")
        for i, (x, y) in enumerate(zip(a, b)):
            _compare_values(x, y, f"{where}[{i}]", out, rtol, atol, sig_digits)
    else:
        out.append(f"{where}: {type(a).__name__} {a!r} vs {type(b).__name__} {b!r}")


def compare_csv(a: Path, b: Path, rtol: float = RTOL, atol: float = ATOL, skip_columns=()) -> list[str]:
    with open(a, newline="") as fa, open(b, newline="") as fb:
        ra, rb = list(csv.reader(fa)), list(csv.reader(fb))
    out: list[str] = []
    if len(ra) != len(rb):
        return [f"{a.name}: {len(ra)} vs {len(rb)} lines"]
    header = ra[0] if ra else []
    # A number is only as precise as the quantities it was computed from, whose size is the column's:
    # a small difference of two large numbers (e.g. a prediction error in % of a loss) carries their
    # absolute error, not a relative one. So the tolerance of a cell is rtol times the column's largest
    # magnitude (measured: error_pct 0.8562349516634482 vs 0.8562338243514489 between OpenBLAS kernels,
    # 1.3e-6 relative, from predictions that agree to 1e-8).
    scale: dict[int, float] = {}
    for la in ra[1:]:
        for j, x in enumerate(la):
            fx = _as_float(x)
            if fx is not None and math.isfinite(fx):
                scale[j] = max(scale.get(j, 0.0), abs(fx))
    for i, (la, lb) in enumerate(zip(ra, rb)):
        if len(la) != len(lb):
            out.append(f"{a.name} line {i + 1}: {len(la)} vs {len(lb)} cells")
            continue
        for j, (x, y) in enumerate(zip(la, lb)):
            if x == y:
                continue
            col = header[j] if i and j < len(header) else f"column {j + 1}"
            if i and col in skip_columns:
                continue
            fx, fy = _as_float(x), _as_float(y)
            if fx is not None and fy is not None:
                if not numbers_close(fx, fy, rtol, max(atol, rtol * scale.get(j, 0.0))):
                    out.append(f"{a.name} line {i + 1} {col}: {x} vs {y} (relative tolerance {rtol:g})")
            elif not texts_match(x, y):
                out.append(f"{a.name} line {i + 1} {col}: {x!r} vs {y!r}")
    return out


# Record fields compared exactly: identity, the record's status, how its interval was made and the design it
# rests on are decisions, not floating-point results; a change in any is a change of the study.
EXACT_FIELDS = ("key", "quantity", "status", "ci_method", "n_points", "seeds")
_ENDS = ("ci_low", "ci_high")


def _identity(r: dict):
    """A record's identity: its key (typed records), else its quantity (old records)."""
    return r["key"] if "key" in r else r.get("quantity")


def _is_records(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(r, dict) and ("key" in r or "quantity" in r) for r in v)


def compare_records(va: list[dict], vb: list[dict], name: str, rtol: float = RTOL, atol: float = ATOL,
                    unmeasured_flags=None, sig_digits: int | None = None) -> list[str]:
    """Two lists of results records matched by key (or quantity, for old records): the same records in the
    same order; EXACT_FIELDS equal; interval ends within CI_WIDTH_TOL of the interval's width; other numbers
    within rtol; texts equal up to a rounding flip. ``unmeasured_flags`` (by position in ``va``; default: each
    record's own status, findings.unmeasured) marks records compared by their mark and words only."""
    out: list[str] = []
    ida, idb = [_identity(r) for r in va], [_identity(r) for r in vb]
    for ids, side in ((ida, "committed"), (idb, "re-computed")):
        for i in sorted({i for i in ids if ids.count(i) > 1}, key=str):
            out.append(f"{name}: {i!r} appears twice in the {side} file")
    out += [f"{name}: {i!r} not re-created" for i in ida if i not in idb]
    out += [f"{name}: {i!r} is new" for i in idb if i not in ida]
    common = [i for i in ida if i in idb]
    if common != [i for i in idb if i in ida]:
        out.append(f"{name}: the records come in another order")
    if unmeasured_flags is None:
        unmeasured_flags = [unmeasured(r) if "status" in r else False for r in va]
    flag = {ida[j]: bool(f) for j, f in enumerate(unmeasured_flags) if j < len(ida)}
    by_b = {_identity(r): r for r in vb}
    for x in va:
        i = _identity(x)
        if i not in by_b:
            continue
        y, where = by_b[i], f"{name}[{i}]"
        for k in EXACT_FIELDS:
            if (k in x or k in y) and x.get(k) != y.get(k):
                out.append(f"{where}.{k}: {x.get(k)!r} != {y.get(k)!r} (compared exactly)")
        if flag.get(i):
            _compare_unmeasured(x, y, where, out)
            continue
        if all(isinstance(x.get(k), (int, float)) for k in _ENDS):
            width = abs(x["ci_high"] - x["ci_low"])
            for k in _ENDS:
                if not isinstance(y.get(k), (int, float)) or not numbers_close(
                        float(x[k]), float(y[k]), rtol, max(atol, CI_WIDTH_TOL * width), sig_digits):
                    out.append(f"{where}.{k}: {x[k]!r} vs {y.get(k)!r} (tolerance {CI_WIDTH_TOL:g} of the interval's width)")
            skip = EXACT_FIELDS + _ENDS
        else:
            skip = EXACT_FIELDS
        _compare_values({k: v for k, v in x.items() if k not in skip}, {k: v for k, v in y.items() if k not in skip},
                        where, out, rtol, atol, sig_digits)
    return out


def compare_json(a: Path, b: Path, rtol: float = RTOL, atol: float = ATOL, unmeasured=None,
                 sig_digits: int | None = None) -> list[str]:
    """A results file (a JSON list of records) is compared record by record (compare_records; ``unmeasured``:
    flags by position in ``a``, see there); any other JSON value by structure, numbers within rtol.
    ``sig_digits``: the numbers were stored rounded to that many significant digits (see numbers_close)."""
    out: list[str] = []
    va, vb = json.loads(Path(a).read_text()), json.loads(Path(b).read_text())
    if _is_records(va) and _is_records(vb):
        return compare_records(va, vb, Path(a).name, rtol, atol, unmeasured, sig_digits)
    _compare_values(va, vb, Path(a).name, out, rtol, atol, sig_digits)
    return out


def compare_files(committed: str | Path, fresh: str | Path, rtol: float = RTOL, atol: float = ATOL, *,
                  skip_columns=(), unmeasured=None, sig_digits: int | None = None) -> list[str]:
    """Differences between two results files beyond the tolerances (empty list: they agree).
    skip_columns: CSV columns not compared; unmeasured, sig_digits: see compare_json."""
    committed, fresh = Path(committed), Path(fresh)
    if not fresh.exists():
        return [f"{committed.name}: not re-created"]
    if committed.suffix == ".csv":
        return compare_csv(committed, fresh, rtol, atol, skip_columns)
    if committed.suffix == ".json":
        return compare_json(committed, fresh, rtol, atol, unmeasured, sig_digits)
    raise ValueError(f"compare_files: no comparison for {committed.suffix} files")
