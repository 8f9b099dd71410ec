"""Every notebook runs end to end at the smoke profile and writes its figures and results table."""

import json
import time

import pytest

from scalinglaws.study import NOTEBOOKS, run_study

EXPECTED_FIGURES = {
    "01_model_size": ["01_loss_vs_N", "01_depth_collapse", "01_appendix_lr_sweep"],
    "02_dataset_size": ["02_early_stopping", "02_loss_vs_D"],
    "03_model_shape": ["03_shape"],
    "04_overfitting": ["04_LND"],
    "05_sample_efficiency": ["05_learning_curves", "05_tokens_to_target", "05_LNS_fit", "05_predict_from_first_half"],
    "06_compute_allocation": ["06_frontier", "06_frontier_fits", "06_critical_batch", "06_isoflop", "06_allocation"],
}


@pytest.fixture(scope="module")
def smoke_dirs(tmp_path_factory, small_tokens):
    root = tmp_path_factory.mktemp("study")
    return root / "runs", root / "figures", root / "notebooks"


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_notebook_runs_at_smoke(nb, smoke_dirs):
    runs, figs, out = smoke_dirs
    t0 = time.perf_counter()
    run_study("smoke", [nb[:2]], runs_dir=str(runs), figures_dir=str(figs), out=str(out))
    took = time.perf_counter() - t0
    for name in EXPECTED_FIGURES[nb]:
        for ext in ("png", "svg", "csv"):
            assert (figs / f"{name}.{ext}").stat().st_size > 0, f"{name}.{ext}"
    records = json.loads((figs / f"{nb[:2]}_results.json").read_text())
    assert records and {"quantity", "value", "ci_low", "ci_high", "paper_value", "units", "note"} <= set(records[0])
    assert (out / f"{nb}.ipynb").exists()
    assert took < 120, f"{nb} took {took:.0f}s at smoke"


def test_unknown_profile_is_a_clear_error():
    from scalinglaws import ScalingLawsError

    with pytest.raises(ScalingLawsError, match="unknown profile 'huge'"):
        run_study("huge", ["01"])
