"""One typed results record: what a notebook measured, how well the design can support it, and whether it is a
measurement at all. The claims table (scalinglaws.verdicts) judges these fields, never the words of a note.

    from scalinglaws.records import Record, from_fit, load_records
    rec = from_fit(fit, "alpha", "alpha_N.converged", "alpha_N (converged sizes)", paper_value=0.076)
    rec.status, rec.n_points, rec.span          # "ok", 7, 2.07
    records = load_records("figures/cpu/01_results.json")   # old untyped files load too

Fields (JSON names): key (stable id, e.g. "alpha_N.converged"; a per-item record adds ":<item>", e.g.
"ood.alpha_N:fortunes"), label (display text, the old "quantity"), value, ci_low, ci_high (95% interval or
null), paper_value, units, note, status (one of STATUSES), n_points (independent points: sizes, stairs, minima,
targets -- never runs or seeds), span (decades of the design variable covered), ci_method, boot_failed and
boot_total (bootstrap refits that failed, of how many), seeds (how many seeds entered, or a sentence such as
"single seed").

Statuses: "ok"; "few_points" (fewer than MIN_POINTS independent points: a bootstrap over 3 points understates
the uncertainty); "not_converged" (the optimiser stopped without converging: its value is no measurement);
"unreliable" (more than UNRELIABLE_BOOT_FRACTION of the bootstrap refits failed, or the notebook found the value
unreliable, e.g. a term that vanished); "untestable" (a computed condition shows the design cannot reach the
claim's regime; the note says which); "failed" (no value).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable

from . import ScalingLawsError

STATUSES = ("ok", "few_points", "not_converged", "unreliable", "untestable", "failed")

# Registry-wide minimum design for a fit to count as evidence: at least MIN_POINTS independent points over at
# least MIN_SPAN decades of the design variable. Below 5 points a percentile bootstrap has too few distinct
# resamples to describe the uncertainty (3 points and a 2-parameter law leave ~1 degree of freedom), and
# within one decade a power law cannot be told from a gentle curve. A claim may override both with a reason
# (findings.Claim.min_points / min_span / why).
MIN_POINTS = 5
MIN_SPAN = 1.0

# More failed bootstrap refits than this fraction: the interval comes from the resamples that happened to
# fit, a biased subset (the same threshold as fit.core's FitWarning).
UNRELIABLE_BOOT_FRACTION = 0.1

# Marks by which an old untyped record (before `status` existed) said its value is no measurement:
# analysis.Results.add_fit wrote "fit did not converge", fit.vanished_terms' reason ends "(it vanished)",
# notebook 06 marked an Approach 3 fit whose E went to zero "not reliable here"; a record resting on fewer
# than MIN_POINTS points carried FEW_POINTS_MARK. Read only for old files (read_record).
NOT_CONVERGED_MARK = "fit did not converge"
UNRELIABLE_MARKS = ("not reliable here", "(it vanished)")
UNMEASURED_MARKS = (NOT_CONVERGED_MARK,) + UNRELIABLE_MARKS
FEW_POINTS_MARK = "(few points)"

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.:=+\-]*$")
LEGACY_FIELDS = ("quantity", "value", "ci_low", "ci_high", "paper_value", "units", "note")


@dataclass(frozen=True)
class Record:
    key: str
    label: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    paper_value: float | None = None
    units: str = ""
    note: str = ""
    status: str = "ok"
    n_points: int | None = None
    span: float | None = None
    ci_method: str | None = None
    boot_failed: int | None = None
    boot_total: int | None = None
    seeds: int | str | None = None

    def __post_init__(self):
        where = f"results record {self.key!r}"
        if not isinstance(self.key, str) or not _KEY.match(self.key):
            raise ScalingLawsError(f"results record key {self.key!r}: use letters, digits and _.:=+- "
                                   "(e.g. 'alpha_N.converged', 'ood.alpha_N:fortunes')")
        if self.status not in STATUSES:
            raise ScalingLawsError(f"{where}: status {self.status!r} is not one of {', '.join(STATUSES)}")
        for name in ("value", "ci_low", "ci_high", "paper_value", "span"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise ScalingLawsError(f"{where}: {name} = {v!r} is not a finite number (write null for none)")
        if self.value is None and self.status not in ("failed", "untestable"):
            raise ScalingLawsError(f"{where}: no value, so its status must be 'failed' (or 'untestable'), not {self.status!r}")
        if self.value is not None and self.status == "failed":
            raise ScalingLawsError(f"{where}: status 'failed' means no value, but value = {self.value!r}")
        if self.status == "untestable" and not str(self.note).strip():
            raise ScalingLawsError(f"{where}: an 'untestable' record must say in its note why the design cannot reach the claim")
        if (self.ci_low is None) != (self.ci_high is None):
            raise ScalingLawsError(f"{where}: an interval needs both ends (ci_low {self.ci_low!r}, ci_high {self.ci_high!r})")
        if self.ci_low is not None and self.ci_low > self.ci_high:
            raise ScalingLawsError(f"{where}: ci_low {self.ci_low!r} above ci_high {self.ci_high!r}")
        for name in ("n_points", "boot_failed", "boot_total"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise ScalingLawsError(f"{where}: {name} = {v!r} is not a count")
        if self.span is not None and self.span < 0:
            raise ScalingLawsError(f"{where}: span {self.span!r} decades is negative")
        if self.boot_failed is not None and self.boot_total is not None and self.boot_failed > self.boot_total:
            raise ScalingLawsError(f"{where}: {self.boot_failed} failed refits of only {self.boot_total}")

    @property
    def interval(self) -> tuple[float, float] | None:
        return None if self.ci_low is None else (float(self.ci_low), float(self.ci_high))

    def to_json(self) -> dict:
        """The record as written to NN_results.json (typed field names, fixed order)."""
        return asdict(self)

    def legacy(self) -> dict:
        """The old 7-field record ({quantity, ...}) for readers not yet moved to typed records."""
        return {"quantity": self.label, **{k: getattr(self, k) for k in LEGACY_FIELDS[1:]}}

    def __getitem__(self, name: str) -> Any:
        # Transitional: code written for the old dicts (study.claims_markdown reads r["quantity"], r["value"])
        # keeps working on a Record; "quantity" is the display label.
        if name == "quantity":
            return self.label
        if name in _FIELD_NAMES:
            return getattr(self, name)
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        # without it, `"label" in record` would iterate __getitem__ with 0, 1, ... and raise KeyError(0)
        return name == "quantity" or name in _FIELD_NAMES

    def get(self, name: str, default: Any = None) -> Any:
        """dict.get for a Record: readers of results records take typed records and old dicts alike."""
        return self[name] if name in self else default


_FIELD_NAMES = tuple(f.name for f in fields(Record))


# ------------------------------------------------------------------------------------------------ from a fit

def _count(v) -> int | None:
    try:
        return None if v is None or isinstance(v, bool) else int(v)
    except (TypeError, ValueError):
        return None


def _span_decades(v) -> float | None:
    """A fit's span: a number of decades, or (low, high) of the design variable."""
    if v is None:
        return None
    if isinstance(v, (tuple, list)) and len(v) == 2:
        lo, hi = (float(x) for x in v)
        return math.log10(hi / lo) if lo > 0 and hi >= lo else None
    try:
        s = float(v)
    except (TypeError, ValueError):
        return None
    return s if math.isfinite(s) and s >= 0 else None


def _points_design(fit) -> tuple[int | None, float | None]:
    """Independent points and decades spanned, read from an older FitResult's fitted rows: distinct bootstrap
    groups (sizes resampled whole) when recorded, else distinct values of a single input; (None, None) for a
    law of several inputs, where rows are not independent points."""
    pts = getattr(fit, "points", None)
    inputs = tuple(getattr(fit, "inputs", ()) or ())
    if pts is None or not hasattr(pts, "columns") or len(pts) == 0:
        return None, None
    x = pts[inputs[0]] if len(inputs) == 1 and inputs[0] in pts.columns else None
    if "group" in pts.columns:
        n = int(pts["group"].nunique())
    elif x is not None:
        n = int(x.nunique())
    else:
        return None, None
    span = None
    if x is not None:
        lo, hi = float(x.min()), float(x.max())
        span = math.log10(hi / lo) if lo > 0 else None
    return n, span


def _finite(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def derive_status(*, has_value: bool, converged: bool, boot_failed: int | None, boot_total: int | None,
                  n_points: int | None, unreliable: str = "") -> str:
    """failed (no value) > not_converged > unreliable (> UNRELIABLE_BOOT_FRACTION of refits failed, or the
    caller's reason) > few_points (n_points < MIN_POINTS) > ok. Unknown n_points is not judged here: the
    verdict treats an unrecorded design as insufficient."""
    if not has_value:
        return "failed"
    if not converged:
        return "not_converged"
    if unreliable or (boot_total and boot_failed is not None and boot_failed > UNRELIABLE_BOOT_FRACTION * boot_total):
        return "unreliable"
    if n_points is not None and n_points < MIN_POINTS:
        return "few_points"
    return "ok"


def from_fit(fit, param: str, key: str, label: str, *, paper_value: float | None = None, units: str = "",
             note: str = "", n_points: int | None = None, span: float | None = None, ci_method: str | None = None,
             seeds: int | str | None = None, unreliable: str = "") -> Record:
    """A typed record for one parameter of a fit (None: the fit failed). Reads the fit's converged, message,
    ci, and where present ci_method, n_points, span, boot_failed/boot_total (or the older n_boot_failed/n_boot);
    arguments given here win. ``unreliable``: the caller's reason to mark the value unreliable."""
    if fit is None:
        return Record(key, label, None, paper_value=paper_value, units=units,
                      note=_join(note, "no fit: the data could not support one"), status="failed",
                      n_points=n_points, span=span, seeds=seeds)
    value = _finite(getattr(fit, "params", {}).get(param))
    converged = bool(getattr(fit, "converged", False))
    lo, hi = (getattr(fit, "ci", {}) or {}).get(param, (None, None))
    lo, hi = _finite(lo), _finite(hi)
    if lo is None or hi is None or value is None or not converged:
        lo = hi = None  # no interval around a failed or unconverged fit
    boot_failed = _count(getattr(fit, "boot_failed", getattr(fit, "n_boot_failed", None)))
    boot_total = _count(getattr(fit, "boot_total", getattr(fit, "n_boot", None)))
    if boot_total == 0:
        boot_failed = boot_total = None  # no bootstrap was asked for
    fit_n, fit_span = _points_design(fit)
    n_points = n_points if n_points is not None else _count(getattr(fit, "n_points", None))
    n_points = n_points if n_points is not None else fit_n
    span = span if span is not None else _span_decades(getattr(fit, "span", None))
    span = span if span is not None else fit_span
    ci_method = ci_method or getattr(fit, "ci_method", None) or (
        f"percentile bootstrap, {int(100 * getattr(fit, 'level', 0.95))}%" if lo is not None else None)
    status = derive_status(has_value=value is not None, converged=converged, boot_failed=boot_failed,
                           boot_total=boot_total, n_points=n_points, unreliable=unreliable)
    message = str(getattr(fit, "message", "") or "")
    if status == "not_converged":
        note = _join(note, f"[{NOT_CONVERGED_MARK}: {message}]" if message else f"[{NOT_CONVERGED_MARK}]")
    elif status == "unreliable":
        why = unreliable or f"{boot_failed}/{boot_total} bootstrap refits failed"
        note = _join(note, f"[unreliable: {why}]")
    elif status == "failed":
        note = _join(note, f"[no value for {param}: {message}]" if message else f"[no value for {param}]")
    elif lo is None and hasattr(fit, "no_interval_reason") and param in getattr(fit, "ci", {}):
        note = _join(note, f"[{fit.no_interval_reason(param)}]" if fit.no_interval_reason(param) else "")
    return Record(key, label, value, lo, hi, paper_value, units, note, status, n_points, span, ci_method,
                  boot_failed, boot_total, seeds)


def _join(a: str, b: str) -> str:
    return " ".join(s for s in (str(a).strip(), str(b).strip()) if s)


# ------------------------------------------------------------------------------------------------ reading

# The old quantities the claims read (analysis.Results, before typed records) and their keys. Per-item
# quantities (one per text set, target loss, size) keep their item after ":" (LEGACY_PREFIXES); every other
# quantity gets a key made from its words (legacy_key).
LEGACY_KEYS = {
    "alpha_N (final loss at the ladder budget)": "alpha_N.fixed_budget",
    "alpha_N (converged sizes, without 1-layer)": "alpha_N.converged",
    "alpha_N (converged sizes, with 1-layer)": "alpha_N.converged.with_1_layer",
    "alpha_N (D->inf limit of Eq. 1.5, single-epoch runs)": "alpha_N.nd_limit",
    "sizes meeting the convergence criterion": "convergence.sizes_converged",
    "rms residual, one power law vs total params": "depth.rms_residual.total",
    "rms residual, one power law vs non-embedding N": "depth.rms_residual.nonembedding",
    "alpha_D": "alpha_D",
    "runs past their minimum (fitted)": "dataset.runs_fitted",
    "overfitting rule exponent alpha_N/alpha_D": "overfit.exponent_ratio",
    "points fitted (minima or single-epoch)": "overfit.points_fitted",
    "alpha_S": "alpha_S",
    "alpha_C^min (frontier on C_min)": "alpha_C_min.frontier",
    "alpha_C (frontier, C=6ND, fixed batch)": "alpha_C.frontier_fixed_batch",
    "N_opt exponent a (frontier, Kaplan counting)": "a.frontier.kaplan_counting",
    "N_opt exponent a (frontier, full counting)": "a.frontier.full_counting",
    "N_opt exponent a (frontier)": "a.frontier",
    "alpha_B": "alpha_B",
    "gamma: d log B_simple / d log N at equal loss": "bcrit.gamma_N",
    "a (Approach 2, IsoFLOP, C_full)": "a.approach2.c_full",
    "a (Approach 2, IsoFLOP, C=6ND)": "a.approach2.c_6nd",
    "a (Approach 2, IsoFLOP)": "a.approach2",
    "a (Approach 3)": "a.approach3",
    "LSTM minus transformer loss at matched N (mean)": "lstm.gap",
    "late minus early gain from the smallest to the largest transformer": "context.late_gain",
}
LEGACY_PREFIXES = (
    ("aspect-ratio range within 3% of best (", "shape.aspect_range"),
    ("tokens-to-target exponent at ", "tokens_to_target.exponent"),
    ("alpha_N on ood:", "ood.alpha_N"),
    ("slope dL_other/dL_books across sizes (ood:", "ood.slope"),
    ("mid-training points from the across-size line (ood:", "ood.phase_deviation"),
    ("alpha_t, loss by position (", "context.alpha_t"),
)


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.=+\-]+", "_", text.replace("≈", "=").replace("%", "pct").replace("*", "_star")).strip("_.")
    return s or "x"


def legacy_key(quantity: str) -> str:
    """The key an old quantity maps to: LEGACY_KEYS, then LEGACY_PREFIXES (item kept after ":"), else its words."""
    if quantity in LEGACY_KEYS:
        return LEGACY_KEYS[quantity]
    for prefix, key in LEGACY_PREFIXES:
        if quantity.startswith(prefix):
            item = quantity[len(prefix):].rstrip(")").replace(",", "")
            return f"{key}:{_slug(item)}"
    slug = _slug(quantity)
    return slug if slug[0].isalpha() else f"q_{slug}"


def legacy_status(rec: dict) -> str:
    """An old record's status from its value and note marks."""
    note = str(rec.get("note") or "")
    if rec.get("value") is None:
        return "failed"
    if NOT_CONVERGED_MARK in note:
        return "not_converged"
    if any(m in note for m in UNRELIABLE_MARKS):
        return "unreliable"
    if FEW_POINTS_MARK in note:
        return "few_points"
    return "ok"


def read_record(rec: dict | Record) -> Record:
    """A Record from a typed record (has "key") or an old untyped one (has "quantity"). An old record's design
    (n_points, span, seeds, ci_method) was not written, so it is unknown (None): the verdicts treat it as
    insufficient."""
    if isinstance(rec, Record):
        return rec
    if not isinstance(rec, dict):
        raise ScalingLawsError(f"a results record must be a JSON object, got {type(rec).__name__}")
    if "key" in rec:
        unknown = set(rec) - set(_FIELD_NAMES)
        if unknown:
            raise ScalingLawsError(f"results record {rec.get('key')!r}: unknown field(s) {sorted(unknown)}")
        return Record(**{k: rec[k] for k in _FIELD_NAMES if k in rec})
    if "quantity" in rec:
        missing = [k for k in LEGACY_FIELDS if k not in rec]
        if missing:
            raise ScalingLawsError(f"old results record {rec.get('quantity')!r} lacks {missing}")
        q = str(rec["quantity"])
        return Record(legacy_key(q), q, rec["value"], rec["ci_low"], rec["ci_high"], rec["paper_value"],
                      str(rec["units"] or ""), str(rec["note"] or ""), legacy_status(rec))
    raise ScalingLawsError(f"a results record needs a 'key' (typed) or a 'quantity' (old format): {sorted(rec)}")


def read_records(records: Iterable[dict | Record]) -> list[Record]:
    out = [read_record(r) for r in records]
    seen: set[str] = set()
    for r in out:
        if r.key in seen:
            raise ScalingLawsError(f"results key {r.key!r} appears twice; every record needs its own key")
        seen.add(r.key)
    return out


def load_records(path: str | Path) -> list[Record]:
    """Every record of a results file (figures/<profile>/<nb>_results.json), old or typed, checked (read_results)."""
    return read_records(read_results(Path(path)))


def record_label(r: dict) -> str:
    """A record's display text: `label` (typed records) or `quantity` (results files written before them)."""
    return r["label"] if "label" in r else r["quantity"]


# ------------------------------------------------------------------- reading a results file (report, predict, tests)

_RECORD_NUMBERS = ("value", "ci_low", "ci_high", "paper_value")
_RECORD_KEYS = (*_RECORD_NUMBERS, "units", "note")  # and a name: "key" + "label" (typed records) or "quantity"


def read_results(path: Path) -> list[dict]:
    """The records of one NN_results.json, checked: a file that is not a list of result records is one
    line naming it (not a traceback naming none). A NaN or infinite number (json reads both) is no
    measurement: it becomes None, so the claim's verdict is "not measured", never "not reproduced"."""
    fix = f"re-run its notebook to rewrite it (scalinglaws study --notebooks {path.name.split('_')[0]})"
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ScalingLawsError(f"results file {path} does not read as JSON ({e.__class__.__name__}: {e}); {fix}") from None
    if not isinstance(records, list):
        raise ScalingLawsError(f"results file {path} holds a {type(records).__name__}, not a list of records; {fix}")
    out = []
    for i, r in enumerate(records):
        named = isinstance(r, dict) and (isinstance(r.get("label"), str) or isinstance(r.get("quantity"), str))
        if not named or any(k not in r for k in _RECORD_KEYS):
            raise ScalingLawsError(f"results file {path}: record {i} is not a result record "
                                   f"(needs a label, {', '.join(_RECORD_KEYS)}); {fix}")
        bad = [k for k in _RECORD_NUMBERS if r[k] is not None and (isinstance(r[k], bool) or not isinstance(r[k], (int, float)))]
        if bad:
            raise ScalingLawsError(f"results file {path}: record {i} ({record_label(r)}) has a non-number "
                                   f"{bad[0]}={r[bad[0]]!r}; {fix}")
        nonfinite = {k: None for k in _RECORD_NUMBERS if r[k] is not None and not math.isfinite(r[k])}
        if "value" in nonfinite and "status" in r:  # a typed record: no value is no measurement
            nonfinite.update(status="failed", ci_low=None, ci_high=None,
                             note=f"{r['note']} [non-finite value {r['value']!r} in the results file]".strip())
        out.append({**r, **nonfinite})
    return out

