"""The console script: one run end to end, listing, and one-line errors."""

import subprocess
import sys

from scalinglaws.cli import main


def test_train_then_list(small_tokens, tmp_path, capsys):
    args = ["train", "--corpus", "gutenberg:12", "--vocab", "512", "--runs-dir", str(tmp_path),
            "--n-layer", "1", "--d-model", "16", "--n-ctx", "64", "--tokens", "3e4", "--batch-size", "8"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert str(tmp_path) in out and "final val loss" in out and "rule lr=" in out
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    assert "ok" in capsys.readouterr().out


def test_errors_are_one_line_without_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "scalinglaws.cli", "train", "--n-layer", "2", "--d-model", "18",
                        "--n-head", "4", "--runs-dir", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error: invalid shape") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
