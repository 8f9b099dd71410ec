"""Verdict rule v2: what a claim's typed results records (scalinglaws.records) can say about it, decided in one
place by pure functions of the records' fields. Every `reason` is computed from the same numbers as the word.

Words:
- "reproduced": the paper's value inside our 95% interval, the claim's rival value (if it names one) outside,
  and a design with enough independent points over enough range (records.MIN_POINTS over records.MIN_SPAN
  decades unless the claim overrides them with a reason). A null claim is reproduced only as equivalence: the
  whole interval inside target ± δ. A sign or bound claim: the whole interval on the claimed side.
- "consistent, inconclusive": the paper's value (or the claimed side, or the target) inside the interval, but
  the rival is too, or the design is too thin (few points, short range, unrecorded design, a record marked
  few_points or unreliable), or a null interval reaches beyond ± δ.
- "inconclusive": the interval excludes the paper's value but the design is too thin to contradict it, or a
  value has no interval at all, or a null interval excludes the target yet overlaps ± δ.
- "contradicted at this scale": the interval excludes the paper's value (for a null claim: lies wholly outside
  ± δ; for a sign claim: wholly on the other side) and the design has the points and range to say so.
- "not testable at this scale": the notebook computed that its design cannot reach the claim's regime and wrote
  the claim's record with status "untestable" and the reason in its note.
- "not measured": no record, no value, a failed fit or one that did not converge.

A record marked few_points or unreliable is never reproduced or contradicted. There is no "within 50%".
`rival=None` means no rival: reproduction then needs only the paper's value inside with enough design.

    from scalinglaws.verdicts import judge_value
    v = judge_value(rec, paper=0.73, rival=0.50)
    v.word, v.reason    # "reproduced", "0.73 inside [0.7, 0.887], rival 0.5 outside; 7 sizes over 1.7 decades"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from scalinglaws.numbers import interval, num

from . import ScalingLawsError
from .records import MIN_POINTS, MIN_SPAN, Record

REPRODUCED = "reproduced"
CONSISTENT_INCONCLUSIVE = "consistent, inconclusive"
INCONCLUSIVE = "inconclusive"
CONTRADICTED = "contradicted at this scale"
NOT_TESTABLE = "not testable at this scale"
NOT_MEASURED = "not measured"
WORDS = (REPRODUCED, CONSISTENT_INCONCLUSIVE, INCONCLUSIVE, CONTRADICTED, NOT_TESTABLE, NOT_MEASURED)


@dataclass(frozen=True)
class Design:
    """The least design a claim needs: independent points (``noun``: what one is) over decades of range."""

    min_points: int = MIN_POINTS
    min_span: float = MIN_SPAN
    noun: str = "points"


@dataclass(frozen=True)
class Verdict:
    word: str
    reason: str
    records: tuple = ()  # the records judged (Record), first the claim's own
    parts: tuple = ()  # a multi-record claim: the verdict of each record

    def __post_init__(self):
        if self.word not in WORDS:
            raise ScalingLawsError(f"verdict word {self.word!r} is not one of {WORDS}")
        if not self.reason:
            raise ScalingLawsError("a verdict needs its reason")

    @property
    def record(self) -> Record | None:
        return self.records[0] if self.records else None

    def __iter__(self):
        # `word, why, rec = verdict(...)`, as callers of the old tuple-returning findings.verdict wrote
        return iter((self.word, self.reason, self.record))


def _g(x: float) -> str:
    return num(x)


def _iv(lo: float, hi: float) -> str:
    return interval(lo, hi) or "(no interval)"


def unusable(rec: Record | None, missing: str = "no record in the results") -> Verdict | None:
    """The verdict when a record holds no measurement to judge (None when it does): no record or no value or a
    failed or unconverged fit is "not measured"; a record the notebook marked untestable is "not testable"."""
    if rec is None:
        return Verdict(NOT_MEASURED, missing)
    rs = (rec,)
    if rec.status == "untestable":
        return Verdict(NOT_TESTABLE, f"{rec.key}: {rec.note}", rs)
    if rec.status == "failed" or rec.value is None:
        return Verdict(NOT_MEASURED, f"{rec.key}: the fit failed, no value" + (f" ({rec.note})" if rec.note else ""), rs)
    if rec.status == "not_converged":
        return Verdict(NOT_MEASURED, f"{rec.key}: the fit did not converge, so {_g(rec.value)} is no measurement", rs)
    return None


def design_shortfall(rec: Record, design: Design) -> str:
    """Why the record's design cannot support a firm verdict ("" when it can): its status, its independent
    points against design.min_points, its range against design.min_span (unrecorded counts as too little)."""
    out = []
    if rec.status == "few_points":
        out.append("the record is marked few points")
    if rec.status == "unreliable":
        out.append("the record is marked unreliable")
    if rec.n_points is None:
        out.append(f"its number of independent {design.noun} is not recorded")
    elif rec.n_points < design.min_points:
        out.append(f"{rec.n_points} {design.noun}, fewer than {design.min_points}")
    if design.min_span > 0:
        if rec.span is None:
            out.append("the range it spans is not recorded")
        elif rec.span < design.min_span:
            out.append(f"{rec.span:.2g} decades, less than {design.min_span:g}")
    return "; ".join(out)


def design_text(rec: Record, design: Design) -> str:
    """'7 sizes over 2.1 decades' (for a design without a range requirement, the points alone)."""
    n = f"{rec.n_points} {design.noun}"
    return n if design.min_span <= 0 or rec.span is None else f"{n} over {rec.span:.2g} decades"


def paper_side(ci: tuple | None, paper: float) -> str:
    """Where a value sits against an interval: "inside", "below", "above", or "no interval"."""
    if ci is None or ci[0] is None or ci[1] is None:
        return "no interval"
    lo, hi = ci
    return "inside" if lo <= paper <= hi else ("below" if paper < lo else "above")


def judge_value(rec: Record | None, paper: float, rival: float | None = None, design: Design = Design()) -> Verdict:
    """A claimed value (Kaplan's a = 0.73) against our interval, with the rival value another theory gives."""
    if (v := unusable(rec)) is not None:
        return v
    rs = (rec,)
    if rec.interval is None:
        return Verdict(INCONCLUSIVE, f"no interval: {_g(rec.value)} against the paper's {_g(paper)} "
                                     "can neither reproduce nor contradict it", rs)
    lo, hi = rec.interval
    where, gap = _iv(lo, hi), design_shortfall(rec, design)
    side = paper_side((lo, hi), paper)
    if side == "inside":
        if rival is not None and lo <= rival <= hi:
            return Verdict(CONSISTENT_INCONCLUSIVE, f"{_g(paper)} inside {where}, but so is the rival {_g(rival)}"
                           + (f"; and {gap}" if gap else ""), rs)
        rival_text = "no rival named" if rival is None else f"rival {_g(rival)} outside"
        if gap:
            return Verdict(CONSISTENT_INCONCLUSIVE, f"{_g(paper)} inside {where} ({rival_text}), but {gap}", rs)
        return Verdict(REPRODUCED, f"{_g(paper)} inside {where}, {rival_text}; {design_text(rec, design)}", rs)
    if gap:
        return Verdict(INCONCLUSIVE, f"{_g(paper)} {side} {where}, but {gap}: too little to contradict it", rs)
    return Verdict(CONTRADICTED, f"{_g(paper)} {side} {where}; {design_text(rec, design)}", rs)


def judge_null(rec: Record | None, delta: float, target: float = 0.0, design: Design = Design()) -> Verdict:
    """A claim of no effect (γ = 0, slope = 1), judged as equivalence: the whole interval within target ± delta."""
    if not delta > 0:
        raise ScalingLawsError(f"a null claim needs an equivalence margin delta > 0, got {delta!r}")
    if (v := unusable(rec)) is not None:
        return v
    rs = (rec,)
    margin = f"{target:g} ± {delta:g}"
    if rec.interval is None:
        return Verdict(INCONCLUSIVE, f"no interval: {_g(rec.value)} alone cannot show the effect within {margin}", rs)
    lo, hi = rec.interval
    where, gap = _iv(lo, hi), design_shortfall(rec, design)
    if target - delta <= lo and hi <= target + delta:
        if gap:
            return Verdict(CONSISTENT_INCONCLUSIVE, f"{where} within {margin}, but {gap}", rs)
        return Verdict(REPRODUCED, f"{where} within {margin} (equivalence); {design_text(rec, design)}", rs)
    if hi < target - delta or lo > target + delta:
        if gap:
            return Verdict(INCONCLUSIVE, f"{where} wholly outside {margin}, but {gap}: too little to contradict it", rs)
        return Verdict(CONTRADICTED, f"{where} wholly outside {margin}; {design_text(rec, design)}", rs)
    if lo <= target <= hi:
        return Verdict(CONSISTENT_INCONCLUSIVE, f"{where} includes {target:g} but reaches beyond {margin}: "
                                                "no equivalence shown", rs)
    return Verdict(INCONCLUSIVE, f"{where} excludes {target:g} but overlaps {margin}: an effect whose size "
                                 "against the margin is unsettled", rs)


def judge_side(rec: Record | None, threshold: float = 0.0, side: str = ">", design: Design = Design()) -> Verdict:
    """A sign or bound claim (an exponent > 0; a range ≥ 40): the whole interval on the claimed side."""
    if side not in (">", "<"):
        raise ScalingLawsError(f"side must be '>' or '<', got {side!r}")
    if (v := unusable(rec)) is not None:
        return v
    rs = (rec,)
    claimed, other = ("above", "below") if side == ">" else ("below", "above")
    thr = _g(threshold)
    if rec.interval is None:
        where = claimed if (rec.value > threshold if side == ">" else rec.value < threshold) else f"not {claimed}"
        return Verdict(INCONCLUSIVE, f"no interval: {_g(rec.value)} is {where} {thr}, with nothing to say how surely", rs)
    lo, hi = rec.interval
    where, gap = _iv(lo, hi), design_shortfall(rec, design)
    on_side, against = (lo > threshold, hi < threshold) if side == ">" else (hi < threshold, lo > threshold)
    if on_side:
        if gap:
            return Verdict(CONSISTENT_INCONCLUSIVE, f"{where} {claimed} {thr}, but {gap}", rs)
        return Verdict(REPRODUCED, f"{where} {claimed} {thr}; {design_text(rec, design)}", rs)
    if against:
        if gap:
            return Verdict(INCONCLUSIVE, f"{where} {other} {thr}, but {gap}: too little to contradict it", rs)
        return Verdict(CONTRADICTED, f"{where} {other} {thr}; {design_text(rec, design)}", rs)
    return Verdict(CONSISTENT_INCONCLUSIVE, f"{where} includes {thr}", rs)


def judge_less(rec: Record | None, other: Record | None, design: Design = Design()) -> Verdict:
    """A claim that one quantity is smaller than another (a residual without embeddings below the one with):
    reproduced when the intervals do not overlap in the claimed order (conservative for paired quantities),
    contradicted when they do not overlap the other way."""
    if (v := unusable(rec)) is not None:
        return v
    if (v := unusable(other, "no record of the quantity to compare with")) is not None:
        return Verdict(v.word, v.reason, (rec,) + v.records)
    rs = (rec, other)
    if rec.interval is None or other.interval is None:
        order = "below" if rec.value < other.value else "not below"
        return Verdict(INCONCLUSIVE, f"no interval: {rec.key} {_g(rec.value)} is {order} {other.key} "
                                     f"{_g(other.value)}, with nothing to say how surely", rs)
    (a_lo, a_hi), (b_lo, b_hi) = rec.interval, other.interval
    pair = f"{rec.key} {_iv(a_lo, a_hi)} vs {other.key} {_iv(b_lo, b_hi)}"
    gap = "; ".join(s for s in (design_shortfall(rec, design), design_shortfall(other, design)) if s)
    if a_hi < b_lo:
        if gap:
            return Verdict(CONSISTENT_INCONCLUSIVE, f"{pair}: below, but {gap}", rs)
        return Verdict(REPRODUCED, f"{pair}: wholly below; {design_text(rec, design)}", rs)
    if a_lo > b_hi:
        if gap:
            return Verdict(INCONCLUSIVE, f"{pair}: above, but {gap}: too little to contradict it", rs)
        return Verdict(CONTRADICTED, f"{pair}: wholly above; {design_text(rec, design)}", rs)
    return Verdict(CONSISTENT_INCONCLUSIVE, f"{pair}: the intervals overlap", rs)


def combine(parts: Sequence[Verdict], each: str = "records") -> Verdict:
    """One verdict for a claim made of every one of several records (one per text set, per target loss):
    reproduced only when every part is; contradicted when any part is; not testable / not measured when no
    part measured anything; otherwise consistent, inconclusive when every measured part is reproduced or
    consistent, and inconclusive when one is not."""
    if not parts:
        return Verdict(NOT_MEASURED, f"no {each} in the results")
    words = [p.word for p in parts]
    tally = ", ".join(f"{words.count(w)} {w}" for w in WORDS if w in words)
    items = "; ".join(f"{_item(p)}: {p.word}" for p in parts)
    reason = f"{tally} of {len(parts)} {each} (reproduced only if all are, contradicted if any is) — {items}"
    measured = [w for w in words if w not in (NOT_MEASURED, NOT_TESTABLE)]
    if CONTRADICTED in words:
        word = CONTRADICTED
    elif all(w == REPRODUCED for w in words):
        word = REPRODUCED
    elif not measured:
        word = NOT_TESTABLE if NOT_TESTABLE in words else NOT_MEASURED
    elif all(w in (REPRODUCED, CONSISTENT_INCONCLUSIVE) for w in measured):
        word = CONSISTENT_INCONCLUSIVE
    else:
        word = INCONCLUSIVE
    return Verdict(word, reason, tuple(r for p in parts for r in p.records), tuple(parts))


def _item(v: Verdict) -> str:
    """A part's name: its record key's item after ':' (ood.alpha_N:fortunes -> fortunes)."""
    return v.record.key.split(":", 1)[-1] if v.record is not None else "?"
