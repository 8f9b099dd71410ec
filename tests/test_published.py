"""The published results can never drift from the published runs.

Re-executes every notebook at the `cpu` profile against the committed run store (runs/cpu) into a
temporary folder, checks that nothing is trained, and compares every committed figure CSV and results
table in figures/cpu/ with the re-computed one, parsed, number by number (scalinglaws.analysis.compare):

- numbers within a relative tolerance of 1e-6 (compare.RTOL): a re-fit of the same data on another CPU
  (Intel with AMX vs AMD EPYC) or thread count agrees only as far as its optimiser's stopping rule pins
  it (measured: up to 3.2e-7 relative), and a results-table value, stored at 6 significant digits, may
  flip by one unit in its last digit;
- everything that is not a number exactly (labels, run ids, column names, the words of notes);
- a value the study itself marks as no measurement — a fit that did not converge, or a term that
  vanished — only by that mark: where an optimiser stops on a flat direction depends on the CPU's
  floating-point sums (measured: Approach 3's vanished E is 1.2e-26 on the Intel machine that first
  published, 8.1e-18 on an AMD EPYC, from the same runs).

The suite runs the fast form: the notebooks with n_boot=-1 (point estimates, no bootstrap: ~1 min on an
AMD EPYC instead of ~3), compared on everything the bootstrap does not produce. The full form re-runs
every bootstrap and compares intervals too:

    SCALINGLAWS_FULL_REPRODUCTION=1 .venv/bin/python -m pytest tests/test_published.py
"""

import json
import os
from pathlib import Path

import pytest
from scalinglaws.analysis.common import RESULTS_SIG_DIGITS
from scalinglaws.analysis.compare import RTOL, compare_files
from scalinglaws.findings import NOTEBOOKS, key, unmeasured
from scalinglaws.runner import run_study

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "runs" / "cpu"
FIGS = ROOT / "figures" / "cpu"
FULL = bool(os.environ.get("SCALINGLAWS_FULL_REPRODUCTION"))

# Figure-table columns that hold bootstrap intervals (absent from a point-estimate re-run).
BOOTSTRAP_COLUMNS = {"pred_low", "pred_high", "lo", "hi", "B_crit_low", "B_crit_high", "ci_low", "ci_high", "a_low", "a_high",
                     "delta_low", "delta_high"}

pytestmark = pytest.mark.skipif(not (FIGS / "01_results.json").exists(), reason="no committed cpu reference yet")


def _done_stamps():
    return {p.parent.name: p.stat().st_mtime_ns for p in STORE.glob("*/DONE")}


def _point_estimate_problems(committed: Path, fresh: Path) -> list[str]:
    """Compare a committed file with a re-run made without the bootstrap: drop what the bootstrap makes."""
    if committed.suffix == ".json":
        a, b = json.loads(committed.read_text()), json.loads(fresh.read_text())
        if [r.get("key", r.get("quantity")) for r in a] != [r.get("key", r.get("quantity")) for r in b]:
            return [f"{committed.name}: records differ"]
        # status is left out here: without a bootstrap a record cannot see its failed refits (FULL compares it)
        keep = ("key", "label", "value", "paper_value", "units", "n_points")
        tmp_a, tmp_b = fresh.with_suffix(".committed.cmp.json"), fresh.with_suffix(".fresh.cmp.json")
        tmp_a.write_text(json.dumps([{k: r[k] for k in keep if k in r} for r in a]))
        tmp_b.write_text(json.dumps([{k: r[k] for k in keep if k in r} for r in b]))
        return compare_files(tmp_a, tmp_b, unmeasured=[unmeasured(r) for r in a], sig_digits=RESULTS_SIG_DIGITS)
    return compare_files(committed, fresh, skip_columns=BOOTSTRAP_COLUMNS)


@pytest.mark.slow  # make test-slow: eight notebooks re-executed on the committed store (~2 min)
@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_committed_results_reproduce_from_committed_runs(nb, tmp_path, monkeypatch):
    committed = sorted(FIGS.glob(f"{key(nb)}_*.csv")) + [FIGS / f"{key(nb)}_results.json"]
    assert committed[-1].exists(), f"no committed results table for {nb}"
    # A run missing from the committed store fails at once (MissingRunsError), never trains into it.
    monkeypatch.setenv("SCALINGLAWS_NO_TRAIN", "1")
    before = _done_stamps()
    run_study("cpu", [key(nb)], runs_dir=str(STORE), figures_dir=str(tmp_path), out=str(tmp_path / "nb"),
              extra_parameters=None if FULL else {"n_boot": -1})
    assert _done_stamps() == before, "re-running a notebook against the committed store trained something"
    problems = []
    for f in committed:
        if FULL:
            recs = json.loads(f.read_text()) if f.suffix == ".json" else None
            problems += compare_files(f, tmp_path / f.name, unmeasured=[unmeasured(r) for r in recs] if recs else None,
                                      sig_digits=RESULTS_SIG_DIGITS if recs else None)
        else:
            problems += _point_estimate_problems(f, tmp_path / f.name)
    assert not problems, f"{len(problems)} difference(s) beyond relative {RTOL:g}: " + "; ".join(problems[:8])


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_committed_results_carry_every_key_the_claims_read(nb):
    """The claims table reads records by key (findings.REQUIRED_KEYS): a committed results file without one
    would silently turn its claim into "not measured"."""
    from scalinglaws.findings import REQUIRED_KEYS

    keys = [r.get("key") for r in json.loads((FIGS / f"{key(nb)}_results.json").read_text())]
    missing = [k for k in REQUIRED_KEYS[key(nb)] if not any(
        key == k or (k.endswith(":*") and str(key).startswith(k[:-1])) for key in keys)]
    assert not missing, f"{nb}: no record for {missing}"
