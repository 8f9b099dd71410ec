"""Typed results records (scalinglaws.records): validation, status from a fit, and old files still load."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scalinglaws import ScalingLawsError
from scalinglaws import fit as F
from scalinglaws.records import (
    MIN_POINTS,
    STATUSES,
    Record,
    derive_status,
    from_fit,
    legacy_key,
    load_records,
    read_record,
    read_records,
)

FIGS = Path(__file__).resolve().parents[1] / "figures" / "cpu"


def old(q, v, lo=None, hi=None, paper=None, note=""):
    return {"quantity": q, "value": v, "ci_low": lo, "ci_high": hi, "paper_value": paper, "units": "", "note": note}


@pytest.mark.parametrize("kw, says", [
    (dict(status="partly"), "not one of"),
    (dict(value=math.nan), "not a finite number"),
    (dict(value=math.inf), "not a finite number"),
    (dict(value=None), "must be 'failed'"),
    (dict(status="failed"), "means no value"),
    (dict(ci_low=0.1), "needs both ends"),
    (dict(ci_low=0.9, ci_high=0.1), "above ci_high"),
    (dict(n_points=2.5), "not a count"),
    (dict(boot_failed=5, boot_total=3), "failed refits of only 3"),
    (dict(key="alpha N"), "key"),
    (dict(value=None, status="untestable"), "must say in its note"),
])
def test_invalid_records_are_refused_with_a_reason(kw, says):
    base = dict(key="alpha_N.converged", label="alpha_N", value=0.07)
    with pytest.raises(ScalingLawsError, match=says):
        Record(**{**base, **kw})


def test_status_derivation_order():
    base = dict(has_value=True, converged=True, boot_failed=0, boot_total=200, n_points=7)
    assert derive_status(**base) == "ok"
    assert derive_status(**{**base, "n_points": MIN_POINTS - 1}) == "few_points"
    assert derive_status(**{**base, "boot_failed": 21}) == "unreliable"  # > 10% of 200
    assert derive_status(**{**base, "boot_failed": 20}) == "ok"
    assert derive_status(**{**base, "n_points": 3, "boot_failed": 50}) == "unreliable"  # unreliable wins over few
    assert derive_status(**base, unreliable="E vanished") == "unreliable"
    assert derive_status(**{**base, "converged": False, "boot_failed": 200}) == "not_converged"
    assert derive_status(**{**base, "has_value": False, "converged": False}) == "failed"
    assert derive_status(**{**base, "n_points": None}) == "ok"  # unknown design: judged by the verdict, not here
    assert set(STATUSES) == {"ok", "few_points", "not_converged", "unreliable", "untestable", "failed"}


def test_from_a_real_fit_reads_points_span_and_bootstrap():
    rng = np.random.default_rng(0)
    N = np.repeat(np.geomspace(1e3, 1e6, 7), 2)  # 7 sizes x 2 seeds over 3 decades
    L = (1e13 / N) ** 0.076 * np.exp(rng.normal(0, 0.003, N.size))
    fit = F.fit_power_law(N, L, groups=N, n_boot=60, seed=0)
    r = from_fit(fit, "alpha", "alpha_N.converged", "alpha_N (converged)", paper_value=0.076, seeds=2)
    assert r.status == "ok" and r.n_points == 7 and r.span == pytest.approx(3.0)
    assert r.ci_low < 0.076 < r.ci_high and r.boot_total == 60 and r.boot_failed == fit.n_boot_failed
    assert r.ci_method.startswith("percentile bootstrap") and r.seeds == 2
    # fewer than 6 independent points: a t interval on the line, no bootstrap over points (fit.core)
    few = from_fit(F.fit_power_law(N[:8], L[:8], groups=N[:8], n_boot=60, seed=0), "alpha", "a.x", "a")
    assert few.n_points == 4 and few.boot_failed is None and few.status == "few_points"
    assert few.ci_method.startswith("t interval")
    three = from_fit(F.fit_power_law(N[:6], L[:6], groups=N[:6], n_boot=60, seed=0), "alpha", "a.x", "a")
    assert three.n_points == 3 and three.status == "few_points" and three.ci_low < three.value < three.ci_high
    mine = from_fit(fit, "alpha", "a.y", "a", n_points=4, span=0.5)  # the caller's count wins
    assert (mine.n_points, mine.span, mine.status) == (4, 0.5, "few_points")


def _fake(**kw):
    base = dict(params={"a": 0.7}, ci={"a": (0.6, 0.8)}, converged=True, message="", n_boot=100, n_boot_failed=0,
                points=None, inputs=())
    return SimpleNamespace(**{**base, **kw})


def test_from_fit_old_and_new_fit_fields():
    # an older FitResult: n_boot / n_boot_failed, no n_points: unknown design
    r = from_fit(_fake(n_boot_failed=11), "a", "a.frontier", "a")
    assert r.status == "unreliable" and (r.boot_failed, r.boot_total) == (11, 100) and r.n_points is None
    assert "11/100 bootstrap refits failed" in r.note
    # the new fields, when the fit has them
    r = from_fit(_fake(boot_failed=2, boot_total=400, n_points=6, span=(1e3, 1e5), ci_method="BCa"), "a", "a.f", "a")
    assert (r.status, r.boot_total, r.n_points, r.span, r.ci_method) == ("ok", 400, 6, 2.0, "BCa")
    nc = from_fit(_fake(converged=False, message="max iterations"), "a", "a.f", "a")
    assert nc.status == "not_converged" and nc.interval is None and "max iterations" in nc.note
    assert from_fit(_fake(params={"a": math.nan}), "a", "a.f", "a").status == "failed"
    none = from_fit(None, "a", "a.f", "a", note="2 sizes on the frontier")
    assert none.status == "failed" and none.value is None and "2 sizes" in none.note
    assert from_fit(_fake(), "a", "a.f", "a", unreliable="E went to zero").status == "unreliable"


def test_old_records_map_to_keys_and_statuses():
    r = read_record(old("alpha_D", 0.093, 0.087, 0.099, 0.095, "L(D) (few points): 3 runs"))
    assert (r.key, r.status, r.n_points, r.span) == ("alpha_D", "few_points", None, None)
    assert read_record(old("alpha_B", -0.17, note="[fit did not converge: 3/200]")).status == "not_converged"
    assert read_record(old("E (Approach 3)", 1e-9, note="x [not reliable here: E vanished]")).status == "unreliable"
    assert read_record(old("alpha_N (converged sizes, without 1-layer)", None)).status == "failed"
    assert legacy_key("alpha_N on ood:fortunes") == "ood.alpha_N:fortunes"
    assert legacy_key("aspect-ratio range within 3% of best (N≈1e+05)") == "shape.aspect_range:N=1e+05"
    assert legacy_key("alpha_t, loss by position (N=389,360)") == "context.alpha_t:N=389360"
    assert legacy_key("B*") == "B_star" and legacy_key("N range") == "N_range"
    typed = read_record(Record("lstm.gap", "LSTM gap", 0.05, n_points=4).to_json())
    assert typed.n_points == 4 and typed["quantity"] == "LSTM gap"  # old-style access to the label
    with pytest.raises(ScalingLawsError, match="unknown field"):
        read_record({"key": "a.b", "label": "x", "value": 1.0, "colour": "red"})
    with pytest.raises(ScalingLawsError, match="needs a 'key'"):
        read_record({"value": 1.0})
    with pytest.raises(ScalingLawsError, match="twice"):
        read_records([old("alpha_D", 1.0), old("alpha_D", 2.0)])


def test_typed_records_round_trip_through_json(tmp_path):
    recs = [Record("alpha_N.converged", "alpha_N", 0.07, 0.06, 0.08, 0.076, "", "", "ok", 7, 2.1, "bootstrap", 0, 200, 3),
            Record("alpha_N.nd_limit", "x", None, status="untestable", note="no size converged")]
    p = tmp_path / "01_results.json"
    p.write_text(json.dumps([r.to_json() for r in recs]))
    assert load_records(p) == recs
    assert recs[0].legacy() == {"quantity": "alpha_N", "value": 0.07, "ci_low": 0.06, "ci_high": 0.08,
                                "paper_value": 0.076, "units": "", "note": ""}


@pytest.mark.skipif(not (FIGS / "01_results.json").exists(), reason="no committed cpu results")
def test_every_committed_results_file_loads():
    from scalinglaws.findings import FINDINGS

    files = sorted(FIGS.glob("*_results.json"))
    assert [f.name for f in files] == sorted(f"{x.nb}_results.json" for x in FINDINGS)  # one per finding, no stale one
    for f in files:
        recs = load_records(f)
        assert len(recs) == len(json.loads(f.read_text())) and all(r.key for r in recs)
    assert pd.Series([r.status for f in files for r in load_records(f)]).isin(STATUSES).all()


def test_a_record_answers_membership_and_get_like_the_old_dicts():
    r = Record("a.x", "a", 0.5, 0.4, 0.6, n_points=7, span=1.2)
    assert "label" in r and "quantity" in r and "n_points" in r and "nope" not in r and 0 not in r
    assert r.get("n_points") == 7 and r.get("quantity") == "a" and r.get("nope", "d") == "d"
