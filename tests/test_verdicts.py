"""Verdict rule v2 (scalinglaws.verdicts): every branch, and a reason that states the numbers it rests on."""

import pytest
from scalinglaws import ScalingLawsError
from scalinglaws.records import Record
from scalinglaws.verdicts import (
    CONSISTENT_INCONCLUSIVE,
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_MEASURED,
    NOT_TESTABLE,
    REPRODUCED,
    Design,
    Verdict,
    combine,
    judge_less,
    judge_null,
    judge_side,
    judge_value,
)


def rec(v=0.77, lo=0.70, hi=0.89, n=7, span=2.1, status="ok", key="a.frontier", note=""):
    return Record(key, key, v, lo, hi, n_points=n, span=span, status=status, note=note)


# ---------------------------------------------------------------- a claimed value against a rival

def test_reproduced_needs_paper_inside_rival_outside_and_design():
    v = judge_value(rec(), paper=0.73, rival=0.50)
    assert v.word == REPRODUCED
    assert v.reason == "0.73 inside [0.7, 0.89], rival 0.5 outside; 7 points over 2.1 decades"
    assert v.record.key == "a.frontier"
    word, why, r = v  # unpacks like the old (word, why, record) tuple
    assert (word, why, r) == (v.word, v.reason, v.record)


def test_no_rival_judges_by_interval_and_design_only():
    v = judge_value(rec(0.095, 0.087, 0.099), paper=0.095)
    assert v.word == REPRODUCED and "no rival named" in v.reason


def test_rival_inside_is_inconclusive():
    # Chinchilla's 0.49 and Kaplan's 0.73 both inside one interval: the data cannot choose
    v = judge_value(rec(0.61, 0.42, 0.75), paper=0.49, rival=0.73)
    assert v.word == CONSISTENT_INCONCLUSIVE and "so is the rival 0.73" in v.reason


@pytest.mark.parametrize("kw, says", [
    (dict(n=3), "3 points, fewer than 5"),
    (dict(n=None), "number of independent points is not recorded"),
    (dict(span=0.5), "0.5 decades, less than 1"),
    (dict(span=None), "range it spans is not recorded"),
    (dict(status="few_points", n=3), "marked few points"),
    (dict(status="unreliable"), "marked unreliable"),
])
def test_thin_design_keeps_a_consistent_value_inconclusive(kw, says):
    v = judge_value(rec(**kw), paper=0.73, rival=0.50)
    assert v.word == CONSISTENT_INCONCLUSIVE and says in v.reason, v.reason


def test_contradicted_only_with_the_design_to_say_so():
    v = judge_value(rec(0.083, 0.069, 0.112), paper=0.21)
    assert v.word == CONTRADICTED and v.reason == "0.21 above [0.069, 0.112]; 7 points over 2.1 decades"
    low = judge_value(rec(0.3, 0.25, 0.35), paper=0.21)
    assert low.word == CONTRADICTED and "0.21 below" in low.reason
    thin = judge_value(rec(0.083, 0.069, 0.112, n=4), paper=0.21)
    assert thin.word == INCONCLUSIVE and "too little to contradict" in thin.reason and "4 points" in thin.reason
    short = judge_value(rec(0.083, 0.069, 0.112, span=0.06), paper=0.21, design=Design(min_span=0.1))
    assert short.word == INCONCLUSIVE and "less than 0.1" in short.reason
    # a claim's override lowers the bar with a reason: 0.06 decades pass a 0.05 minimum
    assert judge_value(rec(0.083, 0.069, 0.112, span=0.06), 0.21, design=Design(min_span=0.05)).word == CONTRADICTED


def test_a_value_without_interval_is_never_judged_firmly():
    v = judge_value(rec(0.75, None, None), paper=0.73)
    assert v.word == INCONCLUSIVE and v.reason.startswith("no interval")


def test_not_measured_and_not_testable():
    assert judge_value(None, 0.73).word == NOT_MEASURED
    failed = Record("alpha_N.converged", "x", None, status="failed", note="no fit")
    assert judge_value(failed, 0.076).word == NOT_MEASURED
    nc = rec(status="not_converged")
    v = judge_value(nc, 0.73)
    assert v.word == NOT_MEASURED and "did not converge" in v.reason
    un = Record("alpha_N.converged", "x", None, status="untestable", note="2 of 7 sizes converged; a fit needs 5")
    v = judge_value(un, 0.076)
    assert v.word == NOT_TESTABLE and "2 of 7 sizes converged" in v.reason


# ---------------------------------------------------------------- null claims: equivalence within ±δ

def test_null_reproduced_only_as_equivalence():
    v = judge_null(rec(0.01, -0.05, 0.08), delta=0.1)
    assert v.word == REPRODUCED and "within 0 ± 0.1 (equivalence)" in v.reason
    wide = judge_null(rec(0.006, -0.082, 0.126), delta=0.1)  # includes 0 but no power to exclude 0.12
    assert wide.word == CONSISTENT_INCONCLUSIVE and "reaches beyond 0 ± 0.1" in wide.reason
    assert judge_null(rec(0.01, -0.05, 0.08, n=3), delta=0.1).word == CONSISTENT_INCONCLUSIVE


def test_null_contradicted_or_unsettled_outside_zero():
    out = judge_null(rec(0.4, 0.2, 0.6), delta=0.1)
    assert out.word == CONTRADICTED and "wholly outside" in out.reason
    assert judge_null(rec(0.4, 0.2, 0.6, n=3), delta=0.1).word == INCONCLUSIVE
    straddle = judge_null(rec(-0.044, -0.074, -0.011), delta=0.05)  # excludes 0 but may be inside the margin
    assert straddle.word == INCONCLUSIVE and "excludes 0 but overlaps" in straddle.reason
    slope = judge_null(rec(0.92, 0.83, 1.1), delta=0.2, target=1.0)
    assert slope.word == REPRODUCED and "1 ± 0.2" in slope.reason
    assert judge_null(rec(0.1, None, None), delta=0.1).word == INCONCLUSIVE
    with pytest.raises(ScalingLawsError, match="margin"):
        judge_null(rec(), delta=0)


# ---------------------------------------------------------------- sign and bound claims

def test_sign_claims():
    assert judge_side(rec(0.4, 0.16, 0.59)).word == REPRODUCED
    assert judge_side(rec(0.4, -0.1, 0.59)).word == CONSISTENT_INCONCLUSIVE
    v = judge_side(rec(-0.06, -0.09, -0.03))
    assert v.word == CONTRADICTED and "below 0" in v.reason
    assert judge_side(rec(-0.06, -0.09, -0.03, n=4)).word == INCONCLUSIVE
    assert judge_side(rec(0.4, 0.16, 0.59, n=3)).word == CONSISTENT_INCONCLUSIVE
    nointerval = judge_side(rec(-0.058, None, None))
    assert nointerval.word == INCONCLUSIVE and "-0.058 is not above 0" in nointerval.reason
    bound = judge_side(rec(22, None, None), threshold=40)
    assert bound.word == INCONCLUSIVE and "22 is not above 40" in bound.reason
    assert judge_side(rec(-0.5, -0.6, -0.4), side="<").word == REPRODUCED


def test_multi_record_claims_aggregate_explicitly():
    yes = judge_side(rec(0.4, 0.16, 0.59, key="t:L=4.6"))
    maybe = judge_side(rec(0.4, -0.1, 0.59, key="t:L=4.3"))
    no = judge_side(rec(-0.4, -0.6, -0.2, key="t:L=4.0"))
    missing = judge_side(Record("t:L=3.9", "x", None, status="failed"))
    assert combine([yes, yes]).word == REPRODUCED  # all
    some = combine([yes, maybe], "target losses")
    assert some.word == CONSISTENT_INCONCLUSIVE
    assert some.reason.startswith("1 reproduced, 1 consistent, inconclusive of 2 target losses")
    assert "L=4.3: consistent, inconclusive" in some.reason and len(some.parts) == 2
    assert combine([yes, no]).word == CONTRADICTED  # any contradicted
    assert combine([no, no]).word == CONTRADICTED  # none hold
    thin = judge_side(rec(-0.4, -0.6, -0.2, n=3, key="t:L=4.1"))
    assert combine([yes, thin]).word == INCONCLUSIVE
    assert combine([yes, missing]).word == CONSISTENT_INCONCLUSIVE  # a part unmeasured: not all reproduced
    assert combine([missing]).word == NOT_MEASURED and combine([]).word == NOT_MEASURED
    nt = judge_side(Record("t:L=3.8", "x", None, status="untestable", note="no size reaches this loss"))
    assert combine([missing, nt]).word == NOT_TESTABLE


def test_order_claims():
    non = rec(0.02, 0.018, 0.022, key="depth.rms_residual.nonembedding")
    tot = rec(0.03, 0.027, 0.034, key="depth.rms_residual.total")
    assert judge_less(non, tot).word == REPRODUCED
    assert judge_less(tot, non).word == CONTRADICTED
    overlap = rec(0.025, 0.02, 0.03, key="depth.rms_residual.total")
    assert judge_less(non, overlap).word == CONSISTENT_INCONCLUSIVE
    v = judge_less(rec(0.0263, None, None, key="n"), rec(0.02, None, None, key="t"))
    assert v.word == INCONCLUSIVE and "0.0263 is not below t 0.02" in v.reason
    assert judge_less(non, None).word == NOT_MEASURED
    assert judge_less(rec(0.02, 0.018, 0.022, n=3, key="n"), tot).word == CONSISTENT_INCONCLUSIVE


def test_verdict_words_are_checked():
    with pytest.raises(ScalingLawsError):
        Verdict("partly reproduced", "within 50%")
