"""benchmarks/gpu_session.sh, rehearsed on CPU at the smoke profile: a second device window continues
where the first stopped (content addressing skips the DONE runs it brought back) and brings back every
small file a notebook reads, sidecars included."""

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # make test-slow: a rehearsal of the device script (trains the smoke store)


def test_a_later_window_resumes_from_the_runs_brought_back(smoke_store, tmp_path):
    work = tmp_path / "tree"
    work.mkdir()
    for name in ("lib", "benchmarks"):
        (work / name).symlink_to(ROOT / name)
    # what the first window brought back and the project committed: the small files of its DONE runs
    done = sorted(p.parent for p in smoke_store.runs.glob("*/DONE"))
    for rd in done:
        dst = work / "runs" / "smoke" / rd.name
        dst.mkdir(parents=True)
        for f in rd.iterdir():
            if f.is_file() and f.name not in ("model.safetensors", "ckpt.pt") and not f.name.startswith("."):
                shutil.copy2(f, dst / f.name)
    env = {**os.environ, "PYTHON": sys.executable, "BENCH": "0"}
    out = subprocess.run(["bash", str(ROOT / "benchmarks/gpu_session.sh"), str(tmp_path / "out"), "240", "smoke", "cpu"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=600)
    log = out.stdout + out.stderr
    assert f"already DONE in runs/smoke: {len(done)} runs" in log, log[-3000:]
    assert "benchmarks: skipped" in log
    train_log = (tmp_path / "out" / "train_log.txt").read_text()
    assert "training" not in train_log, train_log[-2000:]  # nothing left to train: every run was resumed
    with tarfile.open(tmp_path / "out" / "runs_smoke.tgz") as tar:
        names = tar.getnames()
    assert sum(n.endswith("/DONE") for n in names) == len(done)
    sidecars = [p for p in smoke_store.runs.glob("*/evals.jsonl")]
    assert sidecars and sum(n.endswith("/evals.jsonl") for n in names) == len(sidecars)
    assert not any(n.endswith(("model.safetensors", "ckpt.pt")) for n in names)
