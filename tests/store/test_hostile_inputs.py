"""A store nobody can use against its owner: a damaged or crafted checkpoint never runs code and never
blocks a run (it starts over), training never writes through a symbolic link, and a sidecar index can
only name the run's own sidecar files."""

import io
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from scalinglaws import ScalingLawsError
from scalinglaws.store.tables import list_runs
from scalinglaws.training.batched import train_batched
from scalinglaws.training.loop import train_run
from scalinglaws.training.run_folder import (
    CorruptRunError,
    LinkError,
    read_evals,
    read_metrics,
    read_sidecars,
    read_spec,
    verify_run,
    write_json_atomic,
)

STORE = Path(__file__).resolve().parents[2] / "runs" / "cpu"


def _strip_wall(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


class _Payload:
    """Unpickling this calls open(marker, "w"): the file appears only if the pickle's code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _crafted_raw(ck: Path, marker: Path) -> None:
    ck.write_bytes(pickle.dumps({"state": _Payload(marker)}))  # a bare pickle: torch's legacy format path


def _crafted_zip(ck: Path, marker: Path) -> None:
    buf = io.BytesIO()
    torch.save({"state": _Payload(marker)}, buf)  # torch's own zip format, the payload inside data.pkl
    ck.write_bytes(buf.getvalue())


def _truncated(ck: Path, marker: Path) -> None:
    data = ck.read_bytes()
    ck.write_bytes(data[: len(data) // 2])  # a copy or a disk that stopped half way


def _half_loadable(ck: Path, marker: Path) -> None:
    # Loads, and its weights fit the model, but its optimizer state does not: Trainer.load restores the
    # weights before it fails, so starting over must not keep them.
    ck_ = torch.load(ck, weights_only=True)
    ck_["state"]["opt"] = {"state": {}, "param_groups": []}
    torch.save(ck_, ck)


def _wrong_types(ck: Path, marker: Path) -> None:
    ck_ = torch.load(ck, weights_only=True)
    ck_["step"] = "40"
    torch.save(ck_, ck)


@pytest.fixture
def short_spec(tiny_spec):
    return tiny_spec.replace(tokens=16 * 64 * 120)  # 120 steps: a few seconds


@pytest.fixture
def clean_run(small_tokens, short_spec, tmp_path):
    """The run trained from scratch without interruption: what any start-over must reproduce."""
    return train_run(short_spec, tmp_path / "clean", threads=1, log="none")


@pytest.mark.parametrize("damage", [_truncated, _crafted_raw, _crafted_zip, _half_loadable, _wrong_types],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_bad_checkpoint_starts_the_run_over_without_running_its_code(small_tokens, short_spec, runs_dir,
                                                                        clean_run, tmp_path, capfd, damage):
    part = train_run(short_spec, runs_dir, threads=1, log="none", stop_after_step=40)
    ck = part / "ckpt.pt"
    assert ck.is_file() and not (part / "DONE").exists()
    marker = tmp_path / "marker"
    damage(ck, marker)
    capfd.readouterr()
    done = train_run(short_spec, runs_dir, threads=1, log="none")
    assert not marker.exists()  # the crafted pickle's code never ran
    err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "checkpoint damaged: starting over" in err[0] and short_spec.run_id in err[0]
    assert (done / "DONE").read_text() == "ok\n" and not ck.exists()
    # a start over is a clean start: the same curve as the run never interrupted
    assert _strip_wall(read_metrics(done)) == _strip_wall(read_metrics(clean_run))
    assert verify_run(done) == ""


def test_a_good_checkpoint_still_resumes_with_weights_only_loading(small_tokens, short_spec, runs_dir, clean_run,
                                                                   capfd):
    part = train_run(short_spec, runs_dir, threads=1, log="none", stop_after_step=40)
    resumed_from = read_metrics(part)[-1]["step"]
    capfd.readouterr()
    done = train_run(short_spec, runs_dir, threads=1, log="none")
    assert "checkpoint damaged" not in capfd.readouterr().err and resumed_from >= 40
    assert _strip_wall(read_metrics(done)) == _strip_wall(read_metrics(clean_run))


def _victim(tmp_path) -> Path:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "config.json").write_text("precious\n")
    return victim


def _assert_untouched(victim: Path) -> None:
    assert sorted(p.name for p in victim.iterdir()) == ["config.json"]
    assert (victim / "config.json").read_text() == "precious\n"


@pytest.mark.parametrize("trainer", ["train_run", "train_batched"])
def test_a_symlinked_run_folder_is_refused_and_its_target_untouched(small_tokens, tiny_spec, runs_dir, tmp_path,
                                                                    trainer):
    victim = _victim(tmp_path)
    runs_dir.mkdir()
    link = runs_dir / tiny_spec.run_id
    link.symlink_to(victim, target_is_directory=True)
    train = train_run if trainer == "train_run" else lambda s, d, **kw: train_batched([s], d, **kw)
    with pytest.raises(LinkError) as e:
        train(tiny_spec, runs_dir, threads=1, log="none")
    msg = str(e.value)
    assert "\n" not in msg and str(link) in msg and "remove the link" in msg
    assert isinstance(e.value, ScalingLawsError)
    _assert_untouched(victim)


@pytest.mark.parametrize("name", ["config.json.tmp", "ckpt.pt", "metrics.jsonl.tmp", ".lock"])
def test_a_symlinked_file_in_a_run_folder_is_refused(small_tokens, tiny_spec, runs_dir, tmp_path, name):
    victim = _victim(tmp_path)
    run_dir = runs_dir / tiny_spec.run_id
    run_dir.mkdir(parents=True)
    (run_dir / name).symlink_to(victim / "config.json")
    with pytest.raises(LinkError, match="remove the link") as e:
        train_run(tiny_spec, runs_dir, threads=1, log="none")
    assert str(run_dir / name) in str(e.value)
    _assert_untouched(victim)


def test_the_write_helper_refuses_links_and_never_follows_them(tmp_path):
    victim = _victim(tmp_path)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "summary.json").symlink_to(victim / "config.json")
    with pytest.raises(LinkError, match="summary.json is a symbolic link"):
        write_json_atomic(run_dir / "summary.json", {"x": 1})
    (run_dir / "summary.json").unlink()
    (run_dir / "summary.json.tmp").symlink_to(victim / "config.json")
    with pytest.raises(LinkError, match=r"summary.json.tmp is a symbolic link"):
        write_json_atomic(run_dir / "summary.json", {"x": 1})
    _assert_untouched(victim)
    (run_dir / "summary.json.tmp").unlink()
    write_json_atomic(run_dir / "summary.json", {"x": 1})  # a plain folder is written as before
    assert json.loads((run_dir / "summary.json").read_text()) == {"x": 1}


@pytest.fixture
def sidecar_store(tmp_path):
    """One published run with sidecars, copied into a scratch store."""
    # a trunk or a from-scratch run: a cooldown branch alone is (rightly) reported as missing its trunk
    runs = sorted(p.parent for p in STORE.glob("*/evals.json") if not read_spec(p.parent).branch_from)
    if not runs:
        pytest.skip("no published cpu store with sidecars")
    shutil.copytree(runs[0], tmp_path / "store" / runs[0].name)
    return tmp_path / "store"


@pytest.mark.parametrize("name", ["/etc/hostname", "/dev/zero", "../DONE", "../../x/evals.jsonl",
                                  "sub/evals.jsonl", "config.json", ""])
def test_a_sidecar_index_can_only_name_the_runs_sidecars(sidecar_store, capsys, name):
    from scalinglaws.cli import main

    run_dir = next(sidecar_store.iterdir())
    assert verify_run(run_dir) == "" and read_sidecars(run_dir) is not None  # intact before the edit
    index = json.loads((run_dir / "evals.json").read_text())
    index["files"] = {name: "0" * 64}
    (run_dir / "evals.json").write_text(json.dumps(index))
    with pytest.raises(CorruptRunError) as e:
        read_evals(run_dir)
    msg = str(e.value)
    assert "\n" not in msg and run_dir.name in msg and f"rm -r {run_dir}" in msg and "not a sidecar file" in msg
    row = list_runs(sidecar_store).iloc[0]
    assert row["status"] == "corrupt" and "not a sidecar file" in row["problem"]
    assert main(["runs", "--runs-dir", str(sidecar_store), "--check", "--format", "csv"]) == 1
    assert "not a sidecar file" in capsys.readouterr().err


@pytest.mark.parametrize("make", ["symlink", "fifo"])
def test_a_sidecar_that_is_not_a_plain_file_is_corrupt_not_read(sidecar_store, make):
    run_dir = next(sidecar_store.iterdir())
    (run_dir / "evals.jsonl").unlink()
    if make == "symlink":
        (run_dir / "evals.jsonl").symlink_to("/etc/hostname")
    else:
        os.mkfifo(run_dir / "evals.jsonl")  # reading it would block for ever
    problem = verify_run(run_dir)
    assert "evals.jsonl is" in problem and ("symbolic link" in problem or "not a plain file" in problem)
    assert list_runs(sidecar_store).iloc[0]["status"] == "corrupt"


def test_a_symlinked_finished_run_folder_is_corrupt_when_read(sidecar_store, tmp_path):
    run_dir = next(sidecar_store.iterdir())
    elsewhere = tmp_path / "elsewhere"
    run_dir.rename(elsewhere)
    run_dir.symlink_to(elsewhere, target_is_directory=True)
    assert "run folder is a symbolic link" in verify_run(run_dir)
