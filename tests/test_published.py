"""The published figures can never drift from the published runs.

Re-executes every notebook at the `cpu` profile against the committed run store (runs/cpu) into a
temporary figures folder and checks that (1) nothing is trained, and (2) every committed figure CSV in
figures/cpu/ is reproduced byte for byte, as is every results table.
"""

import filecmp
from pathlib import Path

import pytest

from scalinglaws.study import NOTEBOOKS, run_study

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "runs" / "cpu"
FIGS = ROOT / "figures" / "cpu"

pytestmark = pytest.mark.skipif(not (FIGS / "01_results.json").exists(), reason="no committed cpu reference yet")


def _done_stamps():
    return {p.parent.name: p.stat().st_mtime_ns for p in STORE.glob("*/DONE")}


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_committed_figures_reproduce_from_committed_runs(nb, tmp_path):
    committed = sorted(FIGS.glob(f"{nb[:2]}_*.csv")) + [FIGS / f"{nb[:2]}_results.json"]
    assert committed[-1].exists(), f"no committed results table for {nb}"
    before = _done_stamps()
    run_study("cpu", [nb[:2]], runs_dir=str(STORE), figures_dir=str(tmp_path), out=str(tmp_path / "nb"))
    assert _done_stamps() == before, "re-running a notebook against the committed store trained something"
    for f in committed:
        assert filecmp.cmp(f, tmp_path / f.name, shallow=False), f"{f.name} differs from the committed one"
