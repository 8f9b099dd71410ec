"""`Study.train_all` trains exactly what the notebooks will ask for (the GPU session relies on it)."""

import pytest

from scalinglaws import ScalingLawsError
from scalinglaws.experiments import FINDINGS, Study


def test_train_all_leaves_nothing_for_the_notebooks(small_tokens, tmp_path, monkeypatch):
    st = Study("smoke", runs_dir=tmp_path / "runs", figures_dir=tmp_path / "figs", workers=2, log="none")
    n = st.train_all()
    assert n > 20
    # A fresh Study (as each notebook builds) re-derives the LR rule, the batch sweeps and every grid
    # from the store alone: with training forbidden, none of it may need a run that is missing.
    monkeypatch.setenv("SCALINGLAWS_NO_TRAIN", "1")
    fresh = Study("smoke", runs_dir=tmp_path / "runs", figures_dir=tmp_path / "figs", log="none")
    for f in FINDINGS:
        df = fresh.ensure(fresh.grid(f))
        assert not df.empty
    # ...and a different profile's store is not silently accepted
    other = Study("smoke", runs_dir=tmp_path / "other", figures_dir=tmp_path / "figs", log="none")
    with pytest.raises(ScalingLawsError, match="not in"):
        other.lr_rule()
