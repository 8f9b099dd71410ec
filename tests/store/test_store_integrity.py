"""A run store that never lies: a damaged run is reported by id, path and fix, never read as a result."""

import json
import shutil
from pathlib import Path

import pytest
from scalinglaws.store.tables import list_runs, load_runs
from scalinglaws.training.run_folder import CorruptRunError, read_spec, verify_run

STORE = Path(__file__).resolve().parents[2] / "runs" / "cpu"


@pytest.fixture
def store(tmp_path):
    """Three published runs that stand alone (no cooldown branch, whose check needs its trunk) copied into a
    scratch store (the committed one is never touched)."""
    runs = sorted(p.parent for p in STORE.glob("*/DONE") if not read_spec(p.parent).branch_from)[:3]
    if len(runs) < 3:
        pytest.skip("no published cpu store")
    for r in runs:
        shutil.copytree(r, tmp_path / r.name)
    return tmp_path


def test_intact_runs_verify(store):
    assert all(verify_run(r) == "" for r in store.iterdir())
    assert set(list_runs(store)["status"]) <= {"ok", "early_stopped", "diverged"}


def test_each_kind_of_damage_is_caught(store):
    a, b, c = sorted(store.iterdir())
    lines = (a / "metrics.jsonl").read_text().splitlines()
    (a / "metrics.jsonl").write_text("\n".join(lines[:-6]) + "\n")  # the last 6 evals cut off
    assert "metrics.jsonl ends at step" in verify_run(a)
    (b / "metrics.jsonl").write_text("")
    assert "metrics.jsonl is empty" in verify_run(b)
    text = (c / "metrics.jsonl").read_text()
    (c / "metrics.jsonl").write_text(text[:-60])  # cut mid-line
    assert f"{c / 'metrics.jsonl'} line " in verify_run(c) and "is not JSON" in verify_run(c)
    table = list_runs(store).set_index("run_id")
    assert list(table["status"]) == ["corrupt"] * 3 and all(table["problem"])


def test_a_truncated_summary_or_config_does_not_hide_the_other_runs(store):
    a, b, c = sorted(store.iterdir())
    (a / "summary.json").write_text((a / "summary.json").read_text()[:20])
    (b / "config.json").write_text("{")
    table = list_runs(store).set_index("run_id")
    assert table.loc[a.name, "status"] == "corrupt" and table.loc[b.name, "status"] == "corrupt"
    assert table.loc[c.name, "status"] != "corrupt" and len(table) == 3


def test_reading_a_damaged_run_stops_with_one_line_naming_run_and_fix(store):
    a = sorted(store.iterdir())[0]
    spec = read_spec(a)
    assert len(load_runs([spec], store)) > 0
    rows = (a / "metrics.jsonl").read_text().splitlines()
    (a / "metrics.jsonl").write_text("\n".join(rows[:-1]) + "\n")
    with pytest.raises(CorruptRunError) as e:
        load_runs([spec], store)
    msg = str(e.value)
    assert "\n" not in msg and a.name in msg and f"rm -r {a}" in msg and "ends at step" in msg


def test_cli_check_exits_nonzero_on_a_corrupt_run(store, capsys):
    from scalinglaws.cli import main

    assert main(["runs", "--runs-dir", str(store), "--check", "--format", "csv"]) == 0
    a = sorted(store.iterdir())[0]
    (a / "metrics.jsonl").write_text("")
    assert main(["runs", "--runs-dir", str(store), "--check"]) == 1
    err = capsys.readouterr().err
    assert "1 corrupt run(s)" in err and a.name in err
    assert main(["runs", "--runs-dir", str(store / "typo")]) == 2
    assert "no run store at" in capsys.readouterr().err


def test_an_edit_inside_the_curve_is_caught_by_the_checksum(tiny_spec, small_tokens, tmp_path):
    """The last line still matches the summary, so only the checksum written before DONE can tell."""
    from scalinglaws.training.loop import train_run

    run = train_run(tiny_spec.replace(tokens=16 * 64 * 40), tmp_path, log="none", threads=1)
    assert verify_run(run) == "" and json.loads((run / "summary.json").read_text())["metrics_sha256"]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rows[1]["val_loss"] -= 0.5  # a better-looking curve, end unchanged
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert "checksum" in verify_run(run)


def test_a_waiting_process_says_what_it_waits_for(tmp_path, capsys):
    import threading
    import time

    from scalinglaws.data.paths import file_lock

    lock = tmp_path / ".lock"
    held = threading.Event()

    def holder():
        with file_lock(lock):
            held.set()
            time.sleep(0.3)

    t = threading.Thread(target=holder)
    t.start()
    held.wait()
    with file_lock(lock, waiting="run abc"):
        pass
    t.join()
    assert "waiting for run abc: another process holds its lock" in capsys.readouterr().out


def test_an_unwritable_store_is_one_line_and_leaves_nothing_marked_done(tiny_spec, small_tokens, tmp_path):
    import os

    from scalinglaws.training.loop import train_run
    from scalinglaws.training.trainer import RunError

    if os.geteuid() == 0:
        pytest.skip("root writes anywhere (CI runs as root); the errno mapping is covered below")
    store = tmp_path / "ro"
    store.mkdir()
    store.chmod(0o500)
    try:
        with pytest.raises(RunError, match="cannot write run .* choose a folder you can write to"):
            train_run(tiny_spec.replace(tokens=16 * 64 * 10), store, log="none")
    finally:
        store.chmod(0o700)


def test_a_full_disk_keeps_the_checkpoint_and_says_so(tiny_spec, small_tokens, tmp_path, monkeypatch):
    import errno

    from scalinglaws.training import loop as T
    from scalinglaws.training.trainer import RunError

    spec = tiny_spec.replace(tokens=16 * 64 * 40)
    real = T.write_json_atomic

    def full(path, obj, **kw):
        if path.name == "summary.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, obj, **kw)

    monkeypatch.setattr(T, "write_json_atomic", full)
    with pytest.raises(RunError, match="No space left on device \\(free some disk space\\).*resumes"):
        T.train_run(spec, tmp_path, log="none", threads=1, checkpoint_every_s=0)
    assert not (tmp_path / spec.run_id / "DONE").exists() and (tmp_path / spec.run_id / "ckpt.pt").exists()
    monkeypatch.setattr(T, "write_json_atomic", real)
    assert (T.train_run(spec, tmp_path, log="none", threads=1) / "DONE").exists()  # resumes and finishes
