"""The findings registry: every notebook and grid is in it, and each claim's verdict is true in every branch."""

import math

from scalinglaws import findings as FR
from scalinglaws.analysis.common import versus_paper
from scalinglaws.findings import Claim, against_paper, verdict
from scalinglaws.study.profiles import GRIDS


def rec(q, v, lo=None, hi=None, paper=None, note=""):
    return {"quantity": q, "value": v, "ci_low": lo, "ci_high": hi, "paper_value": paper, "units": "", "note": note}


def test_registry_covers_every_notebook_and_grid():
    from scalinglaws.runner import repo_root

    assert [f.nb for f in FR.FINDINGS] == sorted(f.nb for f in FR.FINDINGS)
    assert {g for f in FR.FINDINGS for g in f.grids} == set(GRIDS)
    for f in FR.FINDINGS:
        assert (repo_root() / "notebooks" / f"{f.name}.ipynb").exists() and f.claims


def test_interval_verdicts():
    c = Claim("x", ("a", "b"))
    assert verdict(c, [rec("b", 0.07, 0.06, 0.08, 0.076)])[0] == "reproduced"  # first present quantity wins
    assert verdict(c, [rec("a", 0.05, 0.045, 0.055, 0.076), rec("b", 0.07, 0.06, 0.08, 0.076)])[0] == "partly reproduced"
    word, why, _ = verdict(c, [rec("a", 0.2, 0.15, 0.25, 0.076)])
    assert word == "not reproduced at this scale" and why == "paper's value below our interval"
    assert verdict(c, [rec("a", -0.05, -0.06, -0.04, 0.076)])[0] == "not reproduced at this scale"  # opposite sign
    assert verdict(c, [])[0] == "not measured here"
    assert verdict(c, [rec("a", 0.07, 0.06, 0.08, 0.076, note="[fit did not converge: ...]")])[0] == "not measured here"
    assert verdict(c, [rec("a", 0.07, 0.06, 0.08, 0.076, note="x [not reliable here: E vanished]")])[0] == "not measured here"
    assert verdict(c, [rec("a", None)])[0] == "not measured here"


def test_other_rules():
    pos = Claim("p", ("tokens-to-target exponent",), rule="all_positive")
    rows = [rec("tokens-to-target exponent at L=4", 0.4, 0.1, 0.6), rec("tokens-to-target exponent at L=5", 0.3, 0.05, 0.5)]
    assert verdict(pos, rows)[0] == "reproduced"
    rows[1] = rec("tokens-to-target exponent at L=5", 0.3, -0.05, 0.5)
    assert verdict(pos, rows)[0] == "partly reproduced"
    rows[1] = rec("tokens-to-target exponent at L=5", -0.1, -0.3, 0.1)
    assert verdict(pos, rows)[0] == "not reproduced at this scale"
    z = Claim("z", ("g",), rule="zero_inside")
    assert verdict(z, [rec("g", 0.1, -0.1, 0.3)])[0] == "reproduced"
    assert verdict(z, [rec("g", 0.4, 0.2, 0.6)])[0] == "not reproduced at this scale"
    assert verdict(z, [rec("g", 0.4)])[0] == "not measured here"
    at = Claim("s", ("r",), rule="at_least")
    assert [verdict(at, [rec("r", v, paper=40)])[0] for v in (45, 22, 10)] == [
        "reproduced", "partly reproduced", "not reproduced at this scale"]
    sm = Claim("d", ("non",), rule="smaller", other="tot")
    assert verdict(sm, [rec("non", 0.02), rec("tot", 0.03)])[0] == "reproduced"
    assert verdict(sm, [rec("non", 0.03), rec("tot", 0.02)])[0] == "not reproduced at this scale"
    assert verdict(sm, [rec("non", 0.03)])[0] == "not measured here"


def test_report_tables_come_from_the_results_files(tmp_path, capsys):
    import json

    from scalinglaws.report import claims_markdown, results_markdown

    (tmp_path / "02_results.json").write_text(json.dumps([rec("alpha_D", 0.09, 0.08, 0.1, 0.095, note="a | b")]))
    claims = claims_markdown("cpu", figures_dir=str(tmp_path)).splitlines()
    assert len(claims) == 2 + sum(len(f.claims) for f in FR.FINDINGS)  # every claim has a row, measured or not
    row = next(line for line in claims if "α_D ≈ 0.095" in line)
    assert "0.09 [0.08, 0.1] (alpha_D)" in row and "**reproduced**" in row
    assert sum("**not measured here**" in line for line in claims) == len(claims) - 3
    full = results_markdown("cpu", figures_dir=str(tmp_path)).splitlines()
    assert len(full) == 3 and "a \\| b" in full[2]  # a "|" in a note does not break the table


def test_a_missing_measurement_says_why_when_the_notebook_recorded_it():
    c = Claim("L(D)", ("alpha_D",), context="runs past their minimum (fitted)")
    word, why, _ = verdict(c, [rec("runs past their minimum (fitted)", 0, note="of 5")])
    assert word == "not measured here" and why == "runs past their minimum (fitted): 0 of 5"


def test_notebook_sentences_and_the_claims_table_judge_alike():
    """analysis.versus_paper (a notebook's sentence) and the claims table's interval rule are one rule
    (findings.against_paper): inside the interval is reproduced and said so; outside, both name the side."""
    c = Claim("x", ("a",))
    for v, lo, hi, side, word in ((0.07, 0.06, 0.08, "inside", "reproduced"),
                                  (0.1, 0.09, 0.11, "below", "partly reproduced"),
                                  (0.2, 0.15, 0.25, "below", "not reproduced at this scale"),
                                  (0.05, 0.04, 0.06, "above", "partly reproduced"),
                                  (-0.05, -0.06, -0.04, "above", "not reproduced at this scale"),
                                  (0.07, math.nan, math.nan, "no interval", "partly reproduced")):
        assert against_paper(v, (lo, hi), 0.076) == (word, side)
        none = (None if math.isnan(lo) else lo, None if math.isnan(hi) else hi)
        table, why, _ = verdict(c, [rec("a", v, *none, 0.076)])
        sentence = versus_paper(v, (lo, hi), 0.076)
        assert table == word and side in why and side in sentence, (v, lo, hi, why, sentence)
