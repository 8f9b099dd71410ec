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


def test_full_study_trains_everything_before_the_notebooks(tmp_path, monkeypatch):
    """run_study over all six notebooks calls train_all once, before any notebook executes, with the
    notebook parameters that change which runs exist; a one-section re-run does not."""
    import papermill as pm

    from scalinglaws import study as study_mod

    events = []
    monkeypatch.setattr(Study, "train_all", lambda self: events.append(("train_all", self.profile.name,
                                                                         self.profile.scale)) or 0)
    monkeypatch.setattr(pm, "execute_notebook", lambda src, dst, **kw: events.append(("nb", src[-30:])))
    kw = dict(runs_dir=str(tmp_path / "runs"), figures_dir=str(tmp_path / "figs"), out=str(tmp_path / "nb"))
    times = study_mod.run_study("smoke", extra_parameters={"scale": 2.0}, **kw)
    assert events[0] == ("train_all", "smoke", 2.0) and [e[0] for e in events[1:]] == ["nb"] * 6
    assert "train" in times and (tmp_path / "runs" / "study_times.json").exists()
    events.clear()
    study_mod.run_study("smoke", ["03"], **kw)
    assert [e[0] for e in events] == ["nb"]
