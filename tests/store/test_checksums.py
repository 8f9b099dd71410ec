"""Every byte a result depends on is verified on read: run files against checksums.json, the summary's
numbers against metrics.jsonl, the token cache against the checksums written when it was built."""

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from scalinglaws.store.tables import list_runs, load_runs
from scalinglaws.training.run_folder import (
    CHECKED_FILES,
    CHECKSUMS_FILE,
    CorruptRunError,
    read_checksums,
    read_spec,
    verify_checksums,
    verify_run,
    write_checksums,
)

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "runs" / "cpu"


def _migration():
    spec = importlib.util.spec_from_file_location("migrate_checksums", ROOT / "scripts" / "migrate_checksums.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass looks its module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def old_store(tmp_path):
    """Three published runs trained before checksums (no metrics_sha256 in their summary), copied into a
    scratch store as they were before the migration: without checksums.json."""
    old = [p.parent for p in sorted(STORE.glob("*/summary.json"))
           if "metrics_sha256" not in json.loads(p.read_text())][:3]
    if len(old) < 3:
        pytest.skip("no published cpu store")
    for r in old:
        shutil.copytree(r, tmp_path / r.name, ignore=shutil.ignore_patterns(CHECKSUMS_FILE, ".lock"))
    return tmp_path


@pytest.fixture
def stamped(old_store):
    assert _migration().migrate(old_store).stamped
    return old_store


def _edit_metrics(run: Path, i: int, delta: float) -> None:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rows[i]["val_loss"] += delta
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _edit_summary(run: Path, **changes) -> None:
    summ = json.loads((run / "summary.json").read_text())
    summ.update({k: v(summ) for k, v in changes.items()})
    (run / "summary.json").write_text(json.dumps(summ, indent=1, sort_keys=True) + "\n")


def test_a_trained_run_checksums_every_file_it_keeps(tiny_spec, small_tokens, runs_dir):
    from scalinglaws.training.loop import train_run

    run = train_run(tiny_spec.replace(tokens=16 * 64 * 40), runs_dir, log="none", threads=1, eval_sets=["ood"])
    files = read_checksums(run)
    assert set(files) == set(CHECKED_FILES)  # config, metrics, summary and the three sidecars
    assert verify_run(run) == ""
    (run / "positions.json").unlink()  # a sidecar removed is not "a run without positions"
    assert "positions.json is missing" in verify_run(run)


def test_an_edited_mid_curve_loss_is_refused_on_load_and_by_runs_check(stamped, capsys):
    from scalinglaws.cli import main

    a = sorted(stamped.iterdir())[0]
    spec = read_spec(a)
    before = load_runs([spec], stamped)
    n = len(before)
    _edit_metrics(a, n // 2, +0.01)  # mid-curve: the last, the lowest and every summary number unchanged
    with pytest.raises(CorruptRunError) as e:
        load_runs([spec], stamped)
    msg = str(e.value)
    assert "\n" not in msg and a.name in msg and "metrics.jsonl differs" in msg
    assert f"rm -r {a}" in msg and f"git checkout -- {a}" in msg
    assert main(["runs", "--runs-dir", str(stamped), "--check", "--format", "csv"]) == 1
    err = capsys.readouterr().err
    assert "1 corrupt run(s)" in err and a.name in err and "metrics.jsonl differs" in err and f"rm -r {a}" in err


@pytest.mark.parametrize("field,change,says", [
    ("best_val_loss", lambda s: s["best_val_loss"] + 0.1, "best loss"),
    ("best_step", lambda s: s["best_step"] - 1, "best loss"),
    ("final_val_loss", lambda s: s["final_val_loss"] - 0.01, "final loss"),
    ("steps", lambda s: s["steps"] + 1, "ends at step"),
    ("tokens", lambda s: s["tokens"] * 2, "summary.json's tokens"),
    ("best_tokens", lambda s: s["best_tokens"] + 1, "summary.json's best_tokens"),
])
def test_an_edited_summary_number_is_refused_even_with_its_checksum_restamped(stamped, field, change, says):
    a = sorted(stamped.iterdir())[1]
    _edit_summary(a, **{field: change})
    assert says in verify_run(a)
    with pytest.raises(CorruptRunError, match="summary.json differs"):
        verify_checksums(a)  # its checksum alone catches it too
    write_checksums(a)  # and a re-stamped checksum does not bless it: the numbers must be those of the curve
    assert says in verify_run(a)
    with pytest.raises(CorruptRunError, match=f"run {a.name} in .* is corrupt: .*{says}"):
        load_runs([read_spec(a)], stamped)
    table = list_runs(stamped).set_index("run_id")
    assert table.loc[a.name, "status"] == "corrupt" and (table["status"] != "corrupt").sum() == 2


def test_a_file_added_or_a_bad_checksums_file_is_refused(stamped):
    a, b, c = sorted(stamped.iterdir())
    (a / "evals.json").write_text(json.dumps({"run_id": a.name, "sets": {}, "files": {}}))
    assert "evals.json was added after the run finished" in verify_run(a)
    sums = json.loads((b / CHECKSUMS_FILE).read_text())
    sums["files"]["../../etc/passwd"] = "0" * 64  # never a path: nothing outside the folder is opened
    (b / CHECKSUMS_FILE).write_text(json.dumps(sums))
    assert "is not a file of a run" in verify_run(b)
    (c / CHECKSUMS_FILE).unlink()
    assert "no checksums.json" in verify_run(c) and "migrate_checksums.py" in verify_run(c)


def test_migration_stamps_checks_and_is_idempotent(old_store, capsys):
    mig = _migration()
    runs = sorted(old_store.iterdir())
    assert all("no checksums.json" in verify_run(r) for r in runs)  # before: refused, never read unverified
    metrics = {r.name: (r / "metrics.jsonl").read_bytes() for r in runs}
    assert mig.main([str(old_store)]) == 0
    assert f"{old_store}: 3 stamped, 0 already" in capsys.readouterr().out
    assert all(verify_run(r) == "" for r in runs)
    assert {r.name: (r / "metrics.jsonl").read_bytes() for r in runs} == metrics  # nothing recomputed
    stamps = {r.name: (r / CHECKSUMS_FILE).stat().st_mtime_ns for r in runs}
    assert mig.main([str(old_store)]) == 0
    assert f"{old_store}: 0 stamped, 3 already had checksums (verified), 0 refused" in capsys.readouterr().out
    assert stamps == {r.name: (r / CHECKSUMS_FILE).stat().st_mtime_ns for r in runs}


def test_migration_refuses_a_run_whose_summary_disagrees_with_its_metrics(old_store, capsys):
    mig = _migration()
    a, b, c = sorted(old_store.iterdir())
    _edit_summary(a, best_val_loss=lambda s: s["best_val_loss"] + 0.1)
    n = len((b / "metrics.jsonl").read_text().splitlines())
    _edit_metrics(b, n // 2, -5.0)  # a mid-curve loss below the summary's best: the curve was edited
    assert mig.main([str(old_store)]) == 1
    out = capsys.readouterr()
    assert f"{old_store}: 1 stamped, 0 already had checksums (verified), 2 refused" in out.out
    assert f"refused {a.name}: summary.json's best loss" in out.out and f"refused {b.name}: " in out.out
    assert "2 run(s) refused" in out.err
    assert not (a / CHECKSUMS_FILE).exists() and not (b / CHECKSUMS_FILE).exists()  # never blessed
    assert verify_run(c) == "" and "best loss" in verify_run(a)  # still refused on every read
    m = mig.migrate(old_store)  # again: the same two refused, the good one verified
    assert (len(m.stamped), len(m.already), [r for r, _ in m.refused]) == (0, 1, [a.name, b.name])


# --- the token cache ---------------------------------------------------------------------------------

@pytest.fixture
def cache_copy(small_tokens, tmp_path, monkeypatch):
    """The session's small token cache copied into a cache folder of this test alone."""
    from scalinglaws.data import tokens as T

    monkeypatch.setenv("SCALINGLAWS_CACHE", str(tmp_path))
    root = tmp_path / "tokens" / small_tokens.root.name
    shutil.copytree(small_tokens.root, root)
    T._verified.clear()  # as a new process: nothing verified yet
    return small_tokens, root


def test_a_damaged_token_cache_block_is_detected_and_rebuilt(cache_copy, capsys):
    from conftest import SMALL_CORPUS, SMALL_VOCAB
    from scalinglaws.data.tokens import prepare_tokens

    tokens, root = cache_copy
    good = np.array(tokens.train)
    assert np.array_equal(prepare_tokens(SMALL_CORPUS, SMALL_VOCAB, quiet=True).train, good)
    assert capsys.readouterr().err == ""
    st = os.stat(root / "train.bin")
    with open(root / "train.bin", "r+b") as fh:  # one block of tokens overwritten in the middle
        fh.seek(st.st_size // 2)
        fh.write(bytes(64))
    os.utime(root / "train.bin", ns=(st.st_atime_ns, st.st_mtime_ns))  # even with its mtime put back
    from scalinglaws.data import tokens as T

    T._verified.clear()  # a new process
    data = prepare_tokens(SMALL_CORPUS, SMALL_VOCAB, quiet=True)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "token cache damaged: rebuilding" in err[0] and "train.bin differs" in err[0]
    assert np.array_equal(np.array(data.train), good)  # the rebuild is the cache it was


def test_a_token_cache_changed_in_this_process_is_checked_again(cache_copy, capsys):
    from conftest import SMALL_CORPUS, SMALL_VOCAB
    from scalinglaws.data.tokens import cache_damage, prepare_tokens

    tokens, root = cache_copy
    prepare_tokens(SMALL_CORPUS, SMALL_VOCAB, quiet=True)
    with open(root / "validation.bin", "ab") as fh:  # a size change after this process verified it
        fh.write(b"\0\0")
    assert "validation.bin has" in cache_damage(root, tokens.fingerprint, SMALL_VOCAB)
    (root / "checksums.json").unlink()  # a cache built before checksums is not trusted either
    assert "no checksums.json" in cache_damage(root, tokens.fingerprint, SMALL_VOCAB)
