"""The findings registry: every notebook and grid is in it, every claim names its record key, rival or margin,
and its verdict (rule v2, scalinglaws.verdicts) is computed from record fields, true in every branch."""

import json
import math

import pytest
from scalinglaws import ScalingLawsError
from scalinglaws import findings as FR
from scalinglaws.analysis.common import versus_paper
from scalinglaws.findings import Claim, against_paper, unmeasured, verdict
from scalinglaws.records import Record
from scalinglaws.study.profiles import GRIDS


def rec(key, v, lo=None, hi=None, n=7, span=2.0, status="ok", note=""):
    return Record(key, key, v, lo, hi, n_points=n, span=span, status=status, note=note).to_json()


def old(q, v, lo=None, hi=None, paper=None, note=""):
    return {"quantity": q, "value": v, "ci_low": lo, "ci_high": hi, "paper_value": paper, "units": "", "note": note}


def claim(name):
    return next(c for f in FR.FINDINGS for c in f.claims if c.text.startswith(name))


def test_registry_covers_every_notebook_and_grid():
    from scalinglaws.runner import repo_root

    assert [f.nb for f in FR.FINDINGS] == sorted(f.nb for f in FR.FINDINGS)
    assert {g for f in FR.FINDINGS for g in f.grids} == set(GRIDS)
    for f in FR.FINDINGS:
        assert (repo_root() / "notebooks" / f"{f.name}.ipynb").exists() and f.claims


def test_every_claim_names_what_decides_it():
    for f in FR.FINDINGS:
        assert FR.REQUIRED_KEYS[f.nb]
        for k in FR.REQUIRED_KEYS[f.nb]:  # a valid record key, or a per-item prefix "<key>:*"
            Record(k[:-2] + ":x" if k.endswith(":*") else k, "label", 1.0)
        for c in f.claims:
            assert c.keys and c.basis, c.text
            if c.kind == "null":
                assert c.delta > 0
    # the two allocation claims name each other as rivals: one set of runs cannot reproduce both with one interval
    assert (claim("compute-optimal N").paper, claim("compute-optimal N").rival) == (0.73, 0.50)
    assert (claim("Chinchilla").paper, claim("Chinchilla").rival) == (0.49, 0.73)
    assert claim("overfitting depends").rival == 1.0 and claim("B_crit depends").delta == 0.1


def test_claims_refuse_incomplete_definitions():
    with pytest.raises(ScalingLawsError, match="needs `why`"):
        Claim("x", ("a",), paper=1.0, min_points=3)
    with pytest.raises(ScalingLawsError, match="margin"):
        Claim("x", ("a",), kind="null", paper=0.0)
    with pytest.raises(ScalingLawsError, match="needs `other`"):
        Claim("x", ("a",), kind="less")
    with pytest.raises(ScalingLawsError, match="needs `each`"):
        Claim("x", ("a:*",), kind="above", paper=0.0)


def test_kaplan_and_chinchilla_cannot_both_be_reproduced_from_one_interval():
    both = [rec("a.frontier.kaplan_counting", 0.61, 0.42, 0.75), rec("a.approach2.c_full", 0.61, 0.42, 0.75)]
    assert verdict(claim("compute-optimal N"), both).word == FR.CONSISTENT_INCONCLUSIVE
    assert verdict(claim("Chinchilla"), both).word == FR.CONSISTENT_INCONCLUSIVE
    kaplan = [rec("a.frontier.kaplan_counting", 0.77, 0.70, 0.89, n=7, span=1.7)]
    v = verdict(claim("compute-optimal N"), kaplan)
    assert v.word == FR.REPRODUCED and v.reason == "0.73 inside [0.7, 0.89], rival 0.5 outside; 7 sizes on the frontier over 1.7 decades"
    assert verdict(claim("compute-optimal N"), [rec("a.frontier.kaplan_counting", 0.77, 0.70, 0.89, n=4)]).word \
        == FR.CONSISTENT_INCONCLUSIVE


def test_first_present_key_wins_and_missing_records_say_why():
    c = claim("Chinchilla")
    v = verdict(c, [rec("a.approach2", 0.3, 0.2, 0.35), rec("a.approach2.c_6nd", 0.5, 0.45, 0.55)])
    assert v.record.key == "a.approach2.c_6nd" and v.word == FR.REPRODUCED
    c01 = claim("L(N)")
    v = verdict(c01, [old("sizes meeting the convergence criterion", 2, note="of 7")])
    assert v.word == FR.NOT_MEASURED and v.reason == ("no record alpha_N.converged or alpha_N.nd_limit.without_1_layer in the results; "
                                                      "sizes meeting the convergence criterion: 2 of 7")
    un = Record("alpha_N.converged", "alpha_N", None, status="untestable", note="2 of 7 sizes converged; a fit needs 5")
    assert verdict(c01, [un]).word == FR.NOT_TESTABLE
    assert verdict(c01, [rec("alpha_N.converged", 0.07, status="not_converged")]).word == FR.NOT_MEASURED


def test_null_and_per_set_claims_through_the_registry():
    g = claim("B_crit depends")
    assert verdict(g, [rec("bcrit.gamma_N", 0.006, -0.082, 0.126)]).word == FR.CONSISTENT_INCONCLUSIVE
    assert verdict(g, [rec("bcrit.gamma_N", 0.006, -0.05, 0.07)]).word == FR.REPRODUCED
    phase = claim("generalisation depends")  # min_span 0: a mean shift has no range, only sizes
    sets = [rec("ood.anneal_shift:a", -0.01, -0.04, 0.02, n=5, span=None),
            rec("ood.anneal_shift:b", -0.01, -0.03, 0.01, n=5, span=None)]
    assert verdict(phase, sets).word == FR.REPRODUCED
    sets[1] = rec("ood.anneal_shift:b", -0.044, -0.074, -0.011, n=5, span=None)
    v = verdict(phase, sets)
    assert v.word == FR.INCONCLUSIVE and "b: inconclusive" in v.reason and len(v.records) == 2
    sign = claim("loss on other text")
    texts = [rec(f"ood.alpha_N:{s}", 0.02, 0.019, 0.022) for s in ("x", "y")]
    assert verdict(sign, texts).word == FR.REPRODUCED
    assert verdict(sign, texts + [rec("ood.alpha_N:z", -0.02, -0.03, -0.01)]).word == FR.CONTRADICTED
    assert verdict(sign, []).word == FR.NOT_MEASURED


def test_depth_claim_reads_the_paired_difference_without_1_layer_models():
    c = claim("without embeddings")
    key = "depth.rms_residual.difference.without_1_layer"
    assert verdict(c, [rec(key, -0.006, -0.009, -0.002, n=7)]).word == FR.REPRODUCED
    assert verdict(c, [rec(key, 0.006, 0.001, 0.011, n=7)]).word == FR.CONTRADICTED
    assert verdict(c, [rec(key, 0.003, -0.003, 0.007, n=7)]).word == FR.CONSISTENT_INCONCLUSIVE
    assert verdict(c, [rec("depth.rms_residual.difference", -0.006, -0.009, -0.002, n=10)]).word == FR.NOT_MEASURED


def test_alpha_N_claim_falls_back_to_the_nd_limit_only_when_converged_is_untestable():
    c = claim("L(N)")
    un = Record("alpha_N.converged", "alpha_N", None, status="untestable", note="1 of 7 sizes converge").to_json()
    nd = rec("alpha_N.nd_limit.without_1_layer", 0.077, 0.063, 0.09, n=6, span=1.77)
    v = verdict(c, [un, nd])
    assert v.word == FR.REPRODUCED and v.record.key == "alpha_N.nd_limit.without_1_layer"
    assert v.reason.startswith("alpha_N.converged not testable (1 of 7 sizes converge); read alpha_N.nd_limit")
    assert verdict(c, [un]).word == FR.NOT_TESTABLE
    conv = rec("alpha_N.converged", 0.05, 0.045, 0.055, n=6)
    assert verdict(c, [conv, nd]).record.key == "alpha_N.converged"  # a measured converged fit wins


def test_unmeasured_reads_status_then_old_marks():
    assert unmeasured({"status": "not_converged", "note": ""}) and unmeasured({"status": "unreliable"})
    assert not unmeasured({"status": "few_points", "note": "[fit did not converge]"})  # status wins
    assert unmeasured(old("a", 1.0, note="[fit did not converge: x]")) and not unmeasured(old("a", 1.0))
    assert unmeasured(Record("a", "a", None, status="failed"))


def test_report_tables_come_from_the_results_files(tmp_path):
    from scalinglaws.report import claims_markdown, results_markdown

    (tmp_path / "02_results.json").write_text(json.dumps([old("alpha_D", 0.09, 0.08, 0.1, 0.095, note="a | b")]))
    claims = claims_markdown("cpu", figures_dir=str(tmp_path)).splitlines()
    assert len(claims) == 2 + sum(len(f.claims) for f in FR.FINDINGS)  # every claim has a row, measured or not
    row = next(line for line in claims if "α_D ≈ 0.095" in line)
    # an old record does not say how many dataset sizes it rests on: consistent, never reproduced
    assert "| 0.09 [0.08, 0.1] |" in row and "**consistent, inconclusive**" in row  # value [CI]; the why names the record
    assert "dataset sizes is not recorded" in row
    assert sum("**not measured**" in line for line in claims) == len(claims) - 3
    full = results_markdown("cpu", figures_dir=str(tmp_path)).splitlines()
    assert len(full) == 3 and "a \\| b" in full[2]  # a "|" in a note does not break the table


def test_notebook_sentences_name_the_side_but_never_reproduce():
    """analysis.versus_paper (a notebook's sentence) and the claims table share paper_side; an interval
    alone never makes a verdict of reproduced or contradicted (that needs the design)."""
    for v, lo, hi, side in ((0.07, 0.06, 0.08, "inside"), (0.1, 0.09, 0.11, "below"), (0.05, 0.04, 0.06, "above"),
                            (0.07, math.nan, math.nan, "no interval")):
        word, where = against_paper(v, (lo, hi), 0.076)
        assert where == side and word in (FR.CONSISTENT_INCONCLUSIVE, FR.INCONCLUSIVE)
        assert (word == FR.CONSISTENT_INCONCLUSIVE) == (side == "inside")
        assert side in versus_paper(v, (lo, hi), 0.076)
