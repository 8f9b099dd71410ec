"""scalinglaws.compare: how re-computed results are compared with committed ones across CPUs."""

import json

from scalinglaws.analysis.compare import compare_files, numbers_close, texts_match
from scalinglaws.findings import unmeasured


def test_numbers_within_the_stated_tolerance_only():
    # measured: the same fit on an Intel (AMX) and an AMD EPYC machine
    assert numbers_close(0.021024833749770117, 0.021024833749769985)
    assert not numbers_close(0.0210248, 0.0210249)
    assert numbers_close(3e-17, -2e-17) and not numbers_close(1e-6, 2e-6)
    assert numbers_close(float("nan"), float("nan")) and not numbers_close(float("nan"), 1.0)
    assert numbers_close(float("inf"), float("inf")) and not numbers_close(float("inf"), 1e308)
    # measured between the two CPUs: an Eq. 1.5 fit stops 3.2e-7 apart (within RTOL = 1e-6)
    assert numbers_close(4.63059192735734, 4.630590463058561) and not numbers_close(4.6305, 4.6306)
    # values stored at 6 significant digits may flip by one unit in the last one, not two
    assert numbers_close(176.313, 176.314, sig_digits=6) and not numbers_close(176.313, 176.315, sig_digits=6)
    assert numbers_close(1645660000000000.0, 1645650000000000.0, sig_digits=6)
    assert not numbers_close(176.313, 176.314)


def test_text_with_numbers_allows_only_a_rounding_flip():
    assert texts_match("alpha 0.0515 [0.047, 0.059]", "alpha 0.0516 [0.047, 0.059]")
    assert not texts_match("alpha 0.0515 [0.047, 0.059]", "alpha 0.0517 [0.047, 0.059]")
    assert not texts_match("alpha 0.0515 [0.047, 0.059]", "beta 0.0515 [0.047, 0.059]")
    assert texts_match("N 1,448 to 3e+05", "N 1,449 to 3e+05") and not texts_match("N 1,448", "N 1,458")


def test_csv_and_json_files(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("run,x,lo\nr1,0.021024833749770117,1.0\nr2,2,3\n")
    b.write_text("run,x,lo\nr1,0.021024833749769985,9.0\nr2,2,3\n")
    assert compare_files(a, b, skip_columns={"lo"}) == []
    (problem,) = compare_files(a, b)
    assert "line 2 lo: 1.0 vs 9.0" in problem
    b.write_text("run,x,lo\nr9,0.021024833749769985,1.0\nr2,2,3\n")
    assert "'r1' vs 'r9'" in compare_files(a, b)[0]
    ja, jb = tmp_path / "a.json", tmp_path / "b.json"
    rec = {"quantity": "alpha_B", "value": -0.169, "note": "[fit did not converge: 3/200 refits failed]"}
    ja.write_text(json.dumps([rec, {"quantity": "a", "value": 0.77, "note": ""}]))
    jb.write_text(json.dumps([dict(rec, value=-0.142, note="[fit did not converge: 7/200 refits failed]"),
                              {"quantity": "a", "value": 0.77, "note": ""}]))
    flags = [unmeasured(r) for r in json.loads(ja.read_text())]
    assert flags == [True, False]
    assert compare_files(ja, jb, unmeasured=flags) == []
    assert len(compare_files(ja, jb)) == 2  # value and note, when not told they are no measurement
    jb.write_text(json.dumps([dict(rec, value=-0.142, note="converged"), {"quantity": "a", "value": 0.78, "note": ""}]))
    problems = compare_files(ja, jb, unmeasured=flags)
    assert any("no longer marked" in p for p in problems) and any("0.77 vs 0.78" in p for p in problems)


def test_csv_tolerance_scales_with_the_column(tmp_path):
    """A small number computed as a difference of large ones carries their absolute error: the tolerance
    of a cell is RTOL times its column's largest magnitude (measured case: error_pct between kernels)."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("error_pct\n0.8562349516634482\n-4.4\n")
    b.write_text("error_pct\n0.8562338243514489\n-4.4\n")
    assert compare_files(a, b) == []
    b.write_text("error_pct\n0.8563\n-4.4\n")
    assert len(compare_files(a, b)) == 1


def test_interval_endpoints_agree_within_a_thousandth_of_their_width(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    rec = {"quantity": "alpha_N", "value": 0.0321, "ci_low": 0.0267, "ci_high": 0.095863, "note": ""}
    a.write_text(json.dumps([rec]))
    b.write_text(json.dumps([dict(rec, ci_high=0.0958636)]))  # measured between OpenBLAS kernels
    assert compare_files(a, b, unmeasured=[False], sig_digits=6) == []
    b.write_text(json.dumps([dict(rec, ci_high=0.0960)]))
    assert "interval's width" in compare_files(a, b, unmeasured=[False], sig_digits=6)[0]
    b.write_text(json.dumps([dict(rec, value=0.0322)]))  # the estimate itself keeps the tight tolerance
    assert "0.0321 vs 0.0322" in compare_files(a, b, unmeasured=[False], sig_digits=6)[0]


def _typed(key, value, lo=None, hi=None, status="ok", n=7, method="percentile bootstrap, 95%", note=""):
    return {"key": key, "label": key, "value": value, "ci_low": lo, "ci_high": hi, "paper_value": None, "units": "",
            "note": note, "status": status, "n_points": n, "span": 2.0, "ci_method": method, "boot_failed": 0,
            "boot_total": 200, "seeds": 1}


def test_records_are_matched_by_key_and_decisions_compared_exactly(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    recs = [_typed("alpha_N.converged", 0.0712, 0.06, 0.08), _typed("lstm.gap", 0.05)]
    a.write_text(json.dumps(recs))
    b.write_text(json.dumps([dict(recs[0], value=0.07120000001), recs[1]]))
    assert compare_files(a, b) == []  # numbers within tolerance
    b.write_text(json.dumps([dict(recs[0], status="few_points", n_points=4, ci_method="BCa"), recs[1]]))
    problems = compare_files(a, b)
    assert len(problems) == 3 and all("compared exactly" in p for p in problems)
    assert any("[alpha_N.converged].n_points: 7 != 4" in p for p in problems)
    b.write_text(json.dumps([recs[1], recs[0]]))
    assert compare_files(a, b) == ["a.json: the records come in another order"]
    b.write_text(json.dumps([recs[0], _typed("lstm.gap_v2", 0.05)]))
    assert set(compare_files(a, b)) == {"a.json: 'lstm.gap' not re-created", "a.json: 'lstm.gap_v2' is new"}


def test_unconverged_typed_records_compare_by_status_and_words(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    nc = _typed("alpha_B", -0.169, status="not_converged", note="[fit did not converge: 3/200 refits failed]")
    a.write_text(json.dumps([nc]))
    b.write_text(json.dumps([dict(nc, value=-0.142, note="[fit did not converge: 7/200 refits failed]")]))
    assert compare_files(a, b) == []  # its status says it is no measurement: no flags needed
    b.write_text(json.dumps([dict(nc, value=-0.142, status="ok")]))
    assert any("status" in p and "compared exactly" in p for p in compare_files(a, b))


def test_old_records_are_matched_by_quantity(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    r1 = {"quantity": "alpha_D", "value": 0.09, "ci_low": None, "ci_high": None, "paper_value": 0.095, "units": "", "note": ""}
    r2 = dict(r1, quantity="D_c", value=1e12)
    a.write_text(json.dumps([r1, r2]))
    b.write_text(json.dumps([r1]))
    assert compare_files(a, b, unmeasured=[False, False]) == ["a.json: 'D_c' not re-created"]
