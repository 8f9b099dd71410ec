"""The console script: one run end to end, listing, and one-line errors."""

import subprocess
import sys

import pytest
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


@pytest.mark.parametrize("args, says", [
    (["--d-model", "0"], "d_model=0 must be a whole number >= 1"),
    (["--batch-size", "0"], "batch_size=0 must be a whole number >= 1"),
    (["--seed", "-1"], "seed=-1 must be a whole number >= 0"),
    (["--threads", "-3"], "--threads -3: use a whole number >= 1"),
])
def test_bad_numbers_are_one_line_errors_before_any_work(args, says, tmp_path):
    """Each used to be a traceback (ZeroDivisionError before validation) or a half-made run folder."""
    runs = tmp_path / "runs"
    r = subprocess.run([sys.executable, "-m", "scalinglaws.cli", "train", "--n-layer", "1", "--d-model", "16",
                        "--tokens", "1e4", "--runs-dir", str(runs), *args], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip() == f"error: {r.stderr.strip()[7:]}" and says in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not runs.exists()


def test_report_and_device_mistakes_are_errors_not_empty_results(capsys):
    with pytest.raises(SystemExit) as e:  # a closed set: argparse refuses it with the choices, status 2
        main(["report", "--profile", "nope"])
    assert e.value.code == 2 and "invalid choice: 'nope' (choose from 'smoke', 'quick', 'cpu', 'gpu')" in capsys.readouterr().err
    import torch
    from scalinglaws import ScalingLawsError
    from scalinglaws.study.plan import Study

    if not torch.cuda.is_available():  # -p device cuda without a GPU fails before any data or training work
        with pytest.raises(ScalingLawsError, match="no CUDA GPU"):
            Study("smoke", device="cuda")
    with pytest.raises(ScalingLawsError, match="use 'cpu', 'cuda' or 'auto'"):
        Study("smoke", device="tpu")
