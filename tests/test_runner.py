"""`run_study`: training first, for the grids the chosen notebooks read, then the notebooks; the LR source."""

import os

import pytest
from scalinglaws.findings import NOTEBOOKS
from scalinglaws.study.plan import Study
from scalinglaws.study.profiles import GRIDS


def test_full_study_trains_everything_before_the_notebooks(tmp_path, monkeypatch):
    """run_study calls train_all once, before any notebook executes, for the grids the chosen notebooks
    read (every grid for all of them), with the notebook parameters that change which runs exist."""
    import papermill as pm
    from scalinglaws import runner as study_mod

    events = []
    monkeypatch.setattr(Study, "train_all", lambda self, findings=None: events.append(
        ("train_all", self.profile.name, self.profile.scale, tuple(findings or ()))) or 0)
    def fake_execute(src, dst, **kw):  # writes its output, as papermill does on success
        import nbformat

        events.append(("nb", src[-30:]))
        nbformat.write(nbformat.v4.new_notebook(), dst)

    monkeypatch.setattr(pm, "execute_notebook", fake_execute)
    kw = dict(runs_dir=str(tmp_path / "runs"), figures_dir=str(tmp_path / "figs"), out=str(tmp_path / "nb"))
    times = study_mod.run_study("smoke", extra_parameters={"scale": 2.0}, **kw)
    assert events[0][:3] == ("train_all", "smoke", 2.0) and [e[0] for e in events[1:]] == ["nb"] * len(NOTEBOOKS)
    assert set(events[0][3]) == set(GRIDS)  # the notebooks together read every grid
    assert "train" in times and (tmp_path / "runs" / "study_times.json").exists()
    events.clear()
    study_mod.run_study("smoke", ["03"], **kw)  # one section: its own grids first, then the notebook
    assert [e[0] for e in events] == ["train_all", "nb"] and set(events[0][3]) == {"model_size", "shape", "seeds"}
    events.clear()
    study_mod.run_study("smoke", ["03"], pretrain=False, **kw)
    assert [e[0] for e in events] == ["nb"]


def test_lr_from_reads_the_reference_sweeps_and_falls_back_without_them(small_tokens, tmp_path, monkeypatch):
    """Profile.lr_from: a profile takes its LR rule and ladder LRs from the sweeps in the
    reference profile's store (read only, nothing trained in its own store); when that store lacks a
    sweep run, or the runs would differ (another seed), it sweeps itself instead."""
    import dataclasses
    import math
    import shutil

    from scalinglaws.store.ensure import MissingRunsError
    from scalinglaws.study import profiles as ex

    # budgets a third of smoke's: the test is about where LRs come from, not what they are
    base = dataclasses.replace(ex.PROFILES["smoke"], tune_lr=True, ladder=((1, 16), (2, 16)),
                               batch_sizes=(4, 8), batch_model=(1, 16), ladder_tokens=8 * 64 * 20,
                               batch_tokens=16 * 64 * 10)
    monkeypatch.setitem(ex.PROFILES, "ref", dataclasses.replace(base, name="ref"))
    monkeypatch.setitem(ex.PROFILES, "user", dataclasses.replace(base, name="user", lr_from="ref",
                                                                ladder=((2, 16),)))
    kw = dict(figures_dir=tmp_path / "figs", workers=1, log="none")  # in-process: no worker start-up per sweep round
    ref = Study("ref", runs_dir=tmp_path / "runs" / "ref", **kw)
    ref.train_all(findings=("model_size",))
    ref_rule = ref.lr_rule()

    user = Study("user", runs_dir=tmp_path / "runs" / "user", **kw)
    rule = user.lr_rule()
    assert (rule.A, rule.B) == (ref_rule.A, ref_rule.B) and "read from ref/" in rule.source
    assert user.lr_store == "runs/ref"
    lr, src = user.lr_for(2, 16)
    assert lr == ref.lr_for(2, 16)[0] and src == "sweep (this size in runs/ref)"
    # Another batch size: the size's LR scaled by √(B / profile batch), rounded like every LR in an address
    lr4, src4 = user.lr_for(2, 16, 4)
    assert lr4 == ref.lr_for(2, 16, 4)[0] == float(f"{lr * math.sqrt(4 / 8):.3g}") and src4.endswith("× √(4/8)")
    assert not (tmp_path / "runs" / "user").exists()  # nothing trained or even created in its own store

    # Without the reference runs (another seed's would have other ids; or one run deleted) the
    # profile sweeps itself: with training forbidden, that shows as its own store missing runs.
    monkeypatch.setenv("SCALINGLAWS_NO_TRAIN", "1")
    other_seed = Study("user", runs_dir=tmp_path / "runs" / "user", seed=1, **kw)
    with pytest.raises(MissingRunsError, match="runs/user"):
        other_seed.lr_rule()
    shutil.rmtree(next((tmp_path / "runs" / "ref").glob("*/DONE")).parent)
    with pytest.raises(MissingRunsError, match="runs/user"):
        Study("user", runs_dir=tmp_path / "runs" / "user", **kw).lr_rule()


def test_last_notebook_times_give_the_study_an_eta_and_never_fail(tmp_path):
    import json

    from scalinglaws.runner import _last_notebook_times

    (tmp_path / "study_times.json").write_text(json.dumps({"profile": "cpu", "seconds": {"train": 9.0, "01_model_size": 30.5}}))
    assert _last_notebook_times(tmp_path, "cpu") == {"01_model_size": 30.5}  # training time is not a notebook's
    assert _last_notebook_times(tmp_path, "quick") == {}  # another profile's times say nothing here
    (tmp_path / "study_times.json").write_text("{not json")
    assert _last_notebook_times(tmp_path, "cpu") == {}
    assert _last_notebook_times(tmp_path / "missing", "cpu") == {}


def test_notebook_kernels_put_their_sockets_outside_the_checkout():
    """papermill's kernels talk over IPC sockets, which are files: never in notebooks/ (jupyter_client's
    default, kernel-ipc-1..5 in the working folder), and never the same names for two kernels."""
    import tempfile

    from scalinglaws.runner import _ipc_kernel_manager, repo_root

    km_class = _ipc_kernel_manager()
    a, b = km_class(), km_class()
    assert a.transport == "ipc" and a.ip != b.ip
    assert os.path.dirname(a.ip) == tempfile.gettempdir() and len(a.ip) + 3 < 100
    assert not str(a.ip).startswith(str(repo_root()))
