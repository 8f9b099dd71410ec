"""Training through Slurm job arrays (scalinglaws.store.slurm), against a real Slurm cluster.

The cluster tests need `sinfo` to answer and submitit to be installed; without them they are skipped with
the reason (a laptop), or fail when SCALINGLAWS_REQUIRE_SLURM is set (CI, after .ci/run started one). A
single-node cluster on this machine: `sudo bash scripts/slurm_local.sh start`. Jobs inherit this process's
environment (sbatch --export=ALL): the session's SCALINGLAWS_CACHE, the Gutenberg mirror, HF_*_OFFLINE.
About a minute in all on 2 idle cores; the two `slow` ones (a requeue, a kill) take most of it.
"""

import contextlib
import io
import os
import subprocess
import sys
import time

import pytest
from scalinglaws import ScalingLawsError
from scalinglaws.store.ensure import ensure_runs
from scalinglaws.store.slurm import SlurmError, SlurmExecutor, SlurmJobError, SlurmOptions, slurm_available
from scalinglaws.store.tables import load_runs
from scalinglaws.training.loop import train_run
from scalinglaws.training.run_folder import is_done, read_metrics, read_summary
from scalinglaws.training.spec import RunSpec

SMALL_CORPUS, SMALL_VOCAB = "gutenberg:12", 512  # conftest's small corpus
# make test-slow: needs a cluster (CI starts one before it)
pytestmark = pytest.mark.slow


def _why_no_slurm() -> str:
    try:
        import submitit  # noqa: F401
    except ImportError:
        return "submitit is not installed (pip install -e '.[slurm]')"
    return slurm_available()


@pytest.fixture(scope="module")
def slurm():
    """Skip (or, with SCALINGLAWS_REQUIRE_SLURM, fail) unless a Slurm cluster takes jobs from here."""
    why = _why_no_slurm()
    if why:
        if os.environ.get("SCALINGLAWS_REQUIRE_SLURM"):
            pytest.fail(f"SCALINGLAWS_REQUIRE_SLURM is set but Slurm is not usable here: {why}")
        pytest.skip(f"no Slurm cluster reachable ({why}); start one: sudo bash scripts/slurm_local.sh start")


# Quick to notice state changes; checkpoints at every evaluation (so a kill always finds one).
OPTS = SlurmOptions(poll_s=1.0, grace_s=3.0, mem_gb=2.0, time_min=10, cpus_per_task=1, checkpoint_every_s=0.0)


def _spec(tokens: int, **kw) -> RunSpec:
    """conftest's tiny_spec (~1e4 parameters on the small corpus) at another budget."""
    return RunSpec(n_layer=2, d_model=16, n_ctx=64, corpus=SMALL_CORPUS, vocab_size=SMALL_VOCAB, tokens=tokens,
                   batch_size=16, lr=2e-2, eval_points=6, eval_tokens=8192, **kw)


def _curve(run_dir):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in read_metrics(run_dir)]


# ---------------------------------------------------------------------------------------------
# Without a cluster: options, the optional dependency
# ---------------------------------------------------------------------------------------------

def test_options_from_a_toml_file_with_one_line_errors(tmp_path, monkeypatch):
    cfg = tmp_path / "slurm.toml"
    cfg.write_text('partition = "gpu"\ntime_min = 30\nmem_gb = 8\nsetup = ["module load cuda"]\n'
                   '[sbatch]\nconstraint = "a100"\n')
    o = SlurmOptions.from_file(cfg)
    assert (o.partition, o.time_min, o.mem_gb) == ("gpu", 30, 8.0)
    assert o.setup == ("module load cuda",) and o.sbatch == {"constraint": "a100"}
    assert o.cpus_per_task == SlurmOptions().cpus_per_task  # the rest keep their defaults
    monkeypatch.setenv("SCALINGLAWS_SLURM_CONFIG", str(cfg))
    assert SlurmOptions.load().partition == "gpu"
    for text, words in (('partiton = "x"', ["unknown Slurm option 'partiton'", "did you mean 'partition'"]),
                        ('time_min = "1h"', ["time_min", "must be int"]),
                        ("time_min = 0", ["time_min = 0 must be >= 1"]),
                        ("mem_gb = [", ["not valid TOML"])):
        cfg.write_text(text + "\n")
        with pytest.raises(SlurmError) as e:
            SlurmOptions.from_file(cfg)
        assert all(w in str(e.value) for w in words) and "\n" not in str(e.value), str(e.value)
    with pytest.raises(SlurmError, match="cannot read the Slurm config"):
        SlurmOptions.from_file(tmp_path / "missing.toml")


def test_importing_scalinglaws_never_needs_submitit_and_its_absence_is_one_line():
    code = ("import sys; sys.modules['submitit'] = None\n"
            "import scalinglaws, scalinglaws.store.ensure, scalinglaws.cli, scalinglaws.study.plan, scalinglaws.store.slurm\n"
            "from scalinglaws import ScalingLawsError\n"
            "from scalinglaws.store.ensure import ensure_runs\n"
            "try:\n"
            "    scalinglaws.store.slurm.SlurmExecutor()\n"
            "except ScalingLawsError as e:\n"
            "    print('ERR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ERR the Slurm executor needs submitit" in out.stdout and "pip install -e '.[slurm]'" in out.stdout


def test_an_unknown_executor_name_is_refused(tmp_path):
    with pytest.raises(ScalingLawsError, match="executor='slrum'"):
        ensure_runs([], tmp_path, executor="slrum")


def test_cli_stops_on_a_bad_slurm_config_in_one_line(tmp_path, monkeypatch, capsys):
    from scalinglaws.cli import main

    monkeypatch.setenv("SCALINGLAWS_SLURM_CONFIG", "")  # restored after the test (the CLI sets it)
    (tmp_path / "s.toml").write_text("mem = 4\n")
    assert main(["study", "--train-only", "--profile", "smoke", "--executor", "slurm",
                 "--slurm-config", str(tmp_path / "s.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "unknown Slurm option 'mem'" in err and err.count("\n") == 1


# ---------------------------------------------------------------------------------------------
# On a cluster
# ---------------------------------------------------------------------------------------------

def test_cli_train_through_slurm(slurm, small_tokens, tmp_path, monkeypatch, capsys):
    from scalinglaws.cli import main

    monkeypatch.setenv("SCALINGLAWS_SLURM_CONFIG", "")
    cfg = tmp_path / "slurm.toml"
    cfg.write_text("poll_s = 1.0\ngrace_s = 3.0\nmem_gb = 2.0\ntime_min = 10\n")
    args = ["train", "--n-layer", "2", "--d-model", "16", "--n-ctx", "64", "--corpus", SMALL_CORPUS, "--vocab",
            str(SMALL_VOCAB), "--tokens", str(16 * 64 * 40), "--lr", "0.02", "--runs-dir", str(tmp_path / "runs")]
    assert main(args + ["--executor", "slurm", "--slurm-config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "[slurm] submitted 1 run(s) as job " in out and "status ok" in out
    assert os.environ["SCALINGLAWS_SLURM_CONFIG"] == str(cfg)  # where notebooks' kernels would look

GOOD = [_spec(16 * 64 * 40, seed=s) for s in (0, 1)]
# Fails in its job, after the submission (ensure_runs builds token caches first, so a missing corpus would
# fail before any job): the subset asked for is larger than the corpus.
BAD = _spec(16 * 64 * 40, seed=2, data_tokens=10**9)


@pytest.fixture(scope="module")
def sweep(slurm, small_tokens, tmp_path_factory):
    """Three runs as one job array through ensure_runs: two train, one fails in its job."""
    root = tmp_path_factory.mktemp("slurm_sweep")
    ex = SlurmExecutor(OPTS)
    out, t0 = io.StringIO(), time.perf_counter()
    with contextlib.redirect_stdout(out), pytest.raises(ScalingLawsError) as err:
        ensure_runs(GOOD + [BAD], root / "runs", executor=ex, log="run")
    return dict(root=root, runs=root / "runs", ex=ex, out=out.getvalue(), err=str(err.value),
                seconds=time.perf_counter() - t0)


def test_a_sweep_through_slurm_lands_in_the_store_as_trained_here(sweep):
    """Same losses, step for step, as the same specs trained in this process at the same thread count."""
    runs = sweep["runs"]
    assert all(is_done(runs / s.run_id) for s in GOOD)
    assert len(sweep["ex"].arrays) == 1  # one job array for the three runs
    for s in GOOD:
        local = train_run(s, sweep["root"] / "local", threads=1, log="none")
        assert _curve(runs / s.run_id) == _curve(local)
        assert read_summary(runs / s.run_id)["final_val_loss"] == read_summary(local)["final_val_loss"]
    assert set(load_runs(GOOD, runs)["run_id"]) == {s.run_id for s in GOOD}
    lines = [ln for ln in sweep["out"].splitlines() if ln.startswith("[slurm]") and " pending, " in ln]
    assert lines[0] == "[slurm] 3 pending, 0 running, 0 done, 0 failed" and lines[-1].endswith("2 done, 1 failed")
    assert len(lines) == len(set(lines))  # one line per change of the counts, not one per look


def test_jobs_see_the_submitting_environment(sweep):
    job_logs = [p.read_text() for p in (sweep["runs"] / ".slurm").glob("*_log.out")]
    assert len(job_logs) == 3
    for var in ("SCALINGLAWS_CACHE", "HF_HUB_OFFLINE", "SCALINGLAWS_GUTENBERG_MIRROR"):
        if var in os.environ:
            assert all(f"{var}={os.environ[var]}" in log for log in job_logs), var


def test_a_failed_job_is_reported_with_its_run_job_and_log_and_the_others_go_on(sweep):
    err, out = sweep["err"], sweep["out"]
    assert err.startswith("1 run(s) failed; first: ") and BAD.run_id in err and "\n" not in err
    assert "Slurm job " in err and "exceeds the corpus" in err
    log = err.rsplit("log: ", 1)[1]
    assert os.path.exists(log) and "exceeds the corpus" in open(log).read()
    assert f"[slurm] run {BAD.run_id} (job " in out and "FAILED" in out
    assert not is_done(sweep["runs"] / BAD.run_id) and all(is_done(sweep["runs"] / s.run_id) for s in GOOD)


def test_running_the_sweep_again_submits_nothing(sweep):
    ex = SlurmExecutor(OPTS)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        df = ensure_runs(GOOD, sweep["runs"], executor=ex, log="run")
    assert ex.arrays == [] and "[slurm]" not in out.getvalue() and "[ensure_runs]" not in out.getvalue()
    assert set(df["run_id"]) == {s.run_id for s in GOOD}


# A run long enough to be interrupted after its first checkpoint (written at its first evaluation), and to
# outlast the test cluster's KillWait (2 s from scancel's SIGTERM to SIGKILL; submitit ignores SIGTERM).
LONG = _spec(16 * 64 * 1400, seed=5)  # the small corpus has 1.46M train tokens


@pytest.fixture(scope="module")
def long_reference(slurm, small_tokens, tmp_path_factory):
    return train_run(LONG, tmp_path_factory.mktemp("slurm_long_local"), threads=1, log="none")


def _start_and_wait_for_checkpoint(ex, spec, runs, timeout=120):
    fut = ex.submit(spec, runs)
    ex.flush()
    ckpt, t0 = runs / spec.run_id / "ckpt.pt", time.monotonic()
    while not ckpt.exists():
        assert not fut.done(), "the run ended before its first checkpoint was seen: make LONG longer"
        assert time.monotonic() - t0 < timeout, "no checkpoint after 2 minutes (is the cluster busy?)"
        time.sleep(0.1)
    return fut


@pytest.mark.slow
def test_a_job_at_its_time_limit_requeues_itself_and_resumes_to_the_same_curve(slurm, long_reference, tmp_path):
    """USR2 (what Slurm sends signal_delay_s before the time limit): submitit calls TrainJob.checkpoint,
    requeues the job, and the requeued job resumes from ckpt.pt; the same Future gets the run folder."""
    ex = SlurmExecutor(OPTS)
    try:
        fut = _start_and_wait_for_checkpoint(ex, LONG, tmp_path)
        subprocess.run(["scancel", "--signal=USR2", ex.job_id(fut)], check=True)
        run_dir = fut.result(timeout=240)
    finally:
        ex.shutdown()
    assert _curve(run_dir) == _curve(long_reference)
    log = ex.log_paths(fut)[0].read_text()
    assert "requeueing; the run resumes from its last checkpoint" in log and "(restart 1)" in log
    assert "resuming from its checkpoint at step " in log


@pytest.mark.slow
def test_a_cancelled_job_is_reported_and_its_resubmission_resumes_to_the_same_curve(slurm, long_reference, tmp_path):
    """scancel mid-run: the job's Future fails naming the job and its log (the run keeps its checkpoint, no
    DONE); ensure_runs then submits the run again, and it resumes from the checkpoint to the same curve."""
    ex = SlurmExecutor(OPTS)
    try:
        fut = _start_and_wait_for_checkpoint(ex, LONG, tmp_path)
        job = ex.job_id(fut)
        subprocess.run(["scancel", job], check=True)
        try:
            fut.result(timeout=120)
            pytest.fail("the run finished before the cancelled job was killed: make LONG longer")
        except SlurmJobError as e:
            err = e
    finally:
        ex.shutdown()
    assert err.job_id == job and err.run_id == LONG.run_id and os.path.exists(err.log)
    assert "ended (CANCELLED) without a result" in str(err) and f"log: {err.log}" in str(err)
    assert (tmp_path / LONG.run_id / "ckpt.pt").exists() and not is_done(tmp_path / LONG.run_id)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ensure_runs([LONG], tmp_path, executor=SlurmExecutor(OPTS), log="run")
    assert _curve(tmp_path / LONG.run_id) == _curve(long_reference)
    logs = "".join(p.read_text() for p in (tmp_path / ".slurm").glob("*_log.out"))
    assert "resuming from its checkpoint at step " in logs


def test_eval_sets_reach_the_jobs_and_are_scored_at_every_eval(slurm, small_tokens, tmp_path):
    """ensure_runs(eval_sets=...) through Slurm: the job evaluates them during training (every eval
    point), as a run trained here does, not only at the end from kept weights."""
    from scalinglaws.training.run_folder import read_sidecars

    spec = _spec(16 * 64 * 40, seed=7)
    with contextlib.redirect_stdout(io.StringIO()):
        ensure_runs([spec], tmp_path / "runs", executor=SlurmExecutor(OPTS), log="none", eval_sets=["ood:fortunes"])
    sets = read_sidecars(tmp_path / "runs" / spec.run_id)["sets"]
    assert sets["ood:fortunes"]["evaluated"] == "during training"
    assert sets["ood:fortunes"]["points"] == len(read_metrics(tmp_path / "runs" / spec.run_id))
