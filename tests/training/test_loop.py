"""Training runs on the real corpus: learning, determinism, resume, divergence, bad inputs."""

import json

import pytest
from scalinglaws.data.tokens import unigram_entropy
from scalinglaws.store.ensure import ensure_runs
from scalinglaws.store.tables import list_runs, load_runs
from scalinglaws.training.loop import train_run
from scalinglaws.training.run_folder import read_metrics, read_summary
from scalinglaws.training.schedule import eval_steps, get_lr
from scalinglaws.training.spec import RunSpec
from scalinglaws.training.trainer import RunError


def test_schedule_warmup_stable_decay():
    """schedule="wsd": warmup, the peak held, then a linear cooldown over the last decay_frac to the floor;
    the stable phase is the same whatever the budget; the default schedule keeps every earlier address."""
    s = RunSpec(n_layer=1, d_model=16, tokens=16 * 128 * 1000, lr=1e-2, warmup_steps=100, schedule="wsd")
    assert get_lr(0, s) == pytest.approx(1e-4) and get_lr(99, s) == pytest.approx(1e-2)
    assert all(get_lr(i, s) == 1e-2 for i in range(100, 800))  # stable until the last 20%
    assert get_lr(900, s) == pytest.approx(1e-2 * (1 - 0.9 * 0.5))  # half-way down the cooldown
    assert get_lr(1000, s) == pytest.approx(1e-3) and get_lr(5000, s) == pytest.approx(1e-3)
    lrs = [get_lr(i, s) for i in range(800, 1000)]
    assert all(a > b for a, b in zip(lrs, lrs[1:]))
    longer = s.replace(tokens=s.tokens * 4)
    assert [get_lr(i, longer) for i in range(800)] == [get_lr(i, s) for i in range(800)]
    plain = RunSpec(n_layer=1, d_model=16)
    assert "schedule" not in plain.hashed_fields() and "decay_frac" not in plain.hashed_fields()
    assert plain.run_id != plain.replace(schedule="wsd").run_id
    assert plain.replace(schedule="wsd").run_id != plain.replace(schedule="wsd", decay_frac=0.1).run_id
    with pytest.raises(Exception, match="use 'cosine' or 'wsd'"):
        plain.replace(schedule="linear").validate()


def _strip_wall(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def test_schedule_warmup_then_cosine():
    s = RunSpec(n_layer=1, d_model=16, tokens=16 * 128 * 1000, lr=1e-2, warmup_steps=100)
    assert get_lr(0, s) == pytest.approx(1e-4)
    assert get_lr(99, s) == pytest.approx(1e-2)
    assert get_lr(550, s) == pytest.approx(1e-2 * (0.1 + 0.9 * 0.5), rel=1e-6)  # half-way: mid of cosine
    assert get_lr(1000, s) == pytest.approx(1e-3)
    lrs = [get_lr(i, s) for i in range(100, 1000)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))
    longer = s.replace(schedule_tokens=s.tokens * 4)  # schedule set for a longer budget
    assert get_lr(999, longer) > 0.8 * 1e-2
    ev = eval_steps(s)
    assert ev[0] == 1 and ev[-1] == 1000 and len(ev) <= s.eval_points + 1
    assert ev[2] - ev[1] < ev[-1] - ev[-2]  # log-spaced


def test_tiny_model_learns_below_unigram_entropy(small_tokens, tiny_spec, runs_dir):
    assert 5e3 < tiny_spec.n_params < 2e4
    rd = train_run(tiny_spec, runs_dir, threads=2, log="none")
    s = read_summary(rd)
    h1 = unigram_entropy(small_tokens.validation, 512)
    assert s["status"] == "ok" and s["steps"] == 300
    # A context-free model cannot beat the unigram entropy; a transformer must, clearly.
    assert s["final_val_loss"] < h1 - 0.3, (s["final_val_loss"], h1)
    rows = read_metrics(rd)
    assert rows[0]["val_loss"] > rows[-1]["val_loss"]
    assert rows[-1]["C"] == 6 * tiny_spec.n_params * rows[-1]["tokens"]
    assert rows[-1]["C_full"] > rows[-1]["C"]
    cfg = json.loads((rd / "config.json").read_text())
    assert cfg["corpus"]["fingerprint"] == small_tokens.fingerprint
    assert cfg["spec"]["precision"] == "fp32" and cfg["derived"]["N"] == tiny_spec.n_params
    assert (rd / "DONE").exists() and not (rd / "ckpt.pt").exists()


def test_same_spec_twice_identical_metrics(small_tokens, tiny_spec, tmp_path):
    spec = tiny_spec.replace(tokens=16 * 64 * 60)
    a = train_run(spec, tmp_path / "a", threads=1, log="none")
    b = train_run(spec, tmp_path / "b", threads=1, log="none")
    assert _strip_wall(read_metrics(a)) == _strip_wall(read_metrics(b))


def test_how_often_a_run_is_evaluated_changes_none_of_its_steps(small_tokens, tiny_spec, tmp_path):
    """The study evaluates runs whose curve no notebook reads only a few times (Profile.final_eval_points) and
    reuses their final losses as if evaluated at every point: that holds only if evaluation consumes no random
    number and changes no weight. Same steps, bit-identical final loss and losses at the shared eval steps."""
    dense = read_metrics(train_run(tiny_spec.replace(eval_points=12), tmp_path, threads=1, log="none"))
    sparse = read_metrics(train_run(tiny_spec.replace(eval_points=2), tmp_path, threads=1, log="none"))
    assert len(sparse) < len(dense) and sparse[-1]["step"] == dense[-1]["step"]
    at = {r["step"]: r["val_loss"] for r in dense}
    assert all(r["val_loss"] == at[r["step"]] for r in sparse)  # the last step and step 1, bit for bit


def test_ensure_runs_trains_only_what_is_missing(small_tokens, tiny_spec, runs_dir, capsys):
    specs = [tiny_spec.replace(tokens=16 * 64 * 40, seed=s) for s in (0, 1)]
    df = ensure_runs(specs + specs[:1], runs_dir, workers=1, log="run")  # duplicate trained once
    assert "training 2" in capsys.readouterr().out
    assert set(df["run_id"]) == {s.run_id for s in specs}
    assert {"N", "tokens", "val_loss", "C", "lr", "n_layer", "status"} <= set(df.columns)
    stamps = {s.run_id: (runs_dir / s.run_id / "DONE").stat().st_mtime_ns for s in specs}
    df2 = ensure_runs(specs, runs_dir, workers=1, log="run")
    out = capsys.readouterr().out
    assert "training" not in out
    assert stamps == {s.run_id: (runs_dir / s.run_id / "DONE").stat().st_mtime_ns for s in specs}
    assert df2.drop(columns="wall_s").equals(df.drop(columns="wall_s"))
    assert set(list_runs(runs_dir)["status"]) == {"ok"}


def test_parallel_workers_match_inline(small_tokens, tiny_spec, tmp_path):
    specs = [tiny_spec.replace(tokens=16 * 64 * 30, seed=s) for s in (3, 4)]
    inline = ensure_runs(specs, tmp_path / "a", workers=1, threads=1, log="none")
    par = ensure_runs(specs, tmp_path / "b", workers=2, threads=1, log="none")
    assert inline["val_loss"].tolist() == par["val_loss"].tolist()


def test_kill_and_resume_gives_the_same_curve(small_tokens, tiny_spec, tmp_path):
    spec = tiny_spec.replace(tokens=16 * 64 * 120)
    full = train_run(spec, tmp_path / "full", threads=1, log="none")
    part = train_run(spec, tmp_path / "resumed", threads=1, log="none", stop_after_step=40)
    assert (part / "ckpt.pt").exists() and not (part / "DONE").exists()
    assert load_runs([spec], tmp_path / "resumed").empty  # an unfinished run is never a result
    assert ensure_runs([], tmp_path / "resumed").empty
    done = train_run(spec, tmp_path / "resumed", threads=1, log="none")
    assert _strip_wall(read_metrics(done)) == _strip_wall(read_metrics(full))
    assert read_summary(done)["final_val_loss"] == read_summary(full)["final_val_loss"]


def test_divergence_is_recorded_not_raised(small_tokens, tiny_spec, runs_dir, capsys):
    spec = tiny_spec.replace(lr=1e30, grad_clip=0.0, tokens=16 * 64 * 50)  # weights overflow fp32
    df = ensure_runs([spec], runs_dir, workers=1, log="run")
    s = read_summary(runs_dir / spec.run_id)
    assert s["status"] == "diverged" and "non-finite" in s["reason"]
    assert "diverged" in capsys.readouterr().out
    assert set(df["status"]) == {"diverged"} or df.empty


def test_an_exploding_run_is_stopped_as_diverged_quickly(small_tokens, tiny_spec, runs_dir):
    """--lr 1e3 used to train to the end and end "ok" at 1.5e8 nats. A loss more than
    DIVERGE_MARGIN_NATS above ln(vocab) stops the run at that step, recorded as diverged, with its reason."""
    import math

    from scalinglaws.training.trainer import DIVERGE_MARGIN_NATS

    spec = tiny_spec.replace(lr=1e3)
    s = read_summary(train_run(spec, runs_dir, threads=1, log="none"))
    assert s["status"] == "diverged" and "above the uniform loss" in s["reason"], s
    assert s["steps"] < spec.steps // 4  # quickly, not after the whole budget
    # a healthy run of the same spec never comes near the limit
    ok = read_summary(train_run(tiny_spec, runs_dir, threads=1, log="none"))
    assert ok["status"] == "ok" and ok["final_val_loss"] < math.log(spec.vocab_size) + DIVERGE_MARGIN_NATS


def test_early_stopping_on_a_small_subset(small_tokens, tiny_spec, runs_dir):
    spec = tiny_spec.replace(n_layer=2, d_model=64, data_tokens=4096, tokens=16 * 64 * 400, lr=1e-2,
                             patience=2, eval_points=30)
    s = read_summary(train_run(spec, runs_dir, threads=2, log="none"))
    rows = read_metrics(runs_dir / spec.run_id)
    assert s["status"] == "early_stopped" and s["steps"] < spec.steps
    assert s["best_val_loss"] == min(r["val_loss"] for r in rows) < rows[-1]["val_loss"]
    assert rows[-1]["epochs"] > 1  # data repeated


@pytest.mark.parametrize("change,msg", [
    (dict(tokens=10**12), "fewer than"),
    (dict(data_tokens=10**12), "exceeds"),
])
def test_corpus_too_small_fails_before_any_work(small_tokens, tiny_spec, runs_dir, change, msg):
    spec = tiny_spec.replace(**change)
    with pytest.raises(RunError, match=msg):
        train_run(spec, runs_dir, log="none")
    assert not (runs_dir / spec.run_id).exists()


def test_missing_corpus_and_bad_shape_leave_nothing(tmp_path, runs_dir):
    from scalinglaws import ScalingLawsError

    (tmp_path / "empty").mkdir()
    for spec in [RunSpec(n_layer=1, d_model=16, corpus=str(tmp_path / "empty")),
                 RunSpec(n_layer=1, d_model=16, corpus=str(tmp_path / "nowhere")),
                 RunSpec(n_layer=1, d_model=18, n_head=4)]:
        with pytest.raises(ScalingLawsError):
            train_run(spec, runs_dir, log="none")
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_worker_layout_rule():
    from scalinglaws.store.executors import GPU_WORKERS, auto_layout

    specs = [object()] * 20
    assert auto_layout(specs, cores=2) == (2, 1)  # two single-thread workers on the 2-core machine
    assert auto_layout(specs[:1], cores=2) == (1, 2)  # the last run gets both cores
    assert auto_layout(specs, cores=16, device="cuda") == (GPU_WORKERS, 2)  # processes share one GPU
    assert auto_layout(specs[:3], cores=16, device="cuda") == (3, 2)


def test_the_layout_counts_the_cores_this_process_may_use():
    """A Slurm job step, a container or a pinned test worker may run on fewer cores than the machine has:
    the automatic layout follows the CPU affinity (checked in a child process, whose affinity it sets)."""
    import os
    import subprocess
    import sys

    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no CPU affinity on this OS")
    one = min(os.sched_getaffinity(0))
    code = ("import os\nfrom scalinglaws.store.executors import auto_layout, usable_cores\n"
            f"os.sched_setaffinity(0, {{{one}}})\nprint(usable_cores(), auto_layout([0] * 8))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "(1,", "1)"]  # one core: one process, one thread, whatever os.cpu_count() says


def test_no_train_guard_refuses_to_train(small_tokens, tiny_spec, runs_dir, monkeypatch):
    from scalinglaws import ScalingLawsError

    monkeypatch.setenv("SCALINGLAWS_NO_TRAIN", "1")
    with pytest.raises(ScalingLawsError, match="SCALINGLAWS_NO_TRAIN"):
        ensure_runs([tiny_spec], runs_dir, workers=1, log="none")
    assert not runs_dir.exists() or not any(runs_dir.iterdir())  # nothing half-started


def test_device_sum_loop_matches_per_step_item(small_tokens, tiny_spec, tmp_path, monkeypatch):
    """The CUDA loop (loss summed on the device, read at evals) gives the same metrics as the CPU loop;
    exercised here on CPU by forcing that branch."""
    from scalinglaws.training import trainer as train_mod

    spec = tiny_spec.replace(tokens=16 * 64 * 40)
    a = train_run(spec, tmp_path / "a", threads=1, log="none")
    orig = train_mod.Trainer.__init__

    def as_if_cuda(self, *args, **kw):
        orig(self, *args, **kw)
        self.on_cuda = True

    monkeypatch.setattr(train_mod.Trainer, "__init__", as_if_cuda)
    b = train_run(spec, tmp_path / "b", threads=1, log="none")
    ra, rb = _strip_wall(read_metrics(a)), _strip_wall(read_metrics(b))
    assert [r["val_loss"] for r in ra] == [r["val_loss"] for r in rb]
    assert [r["train_loss"] for r in ra] == pytest.approx([r["train_loss"] for r in rb], rel=1e-6)


def test_fast_kernels_train_like_the_reference_path(small_tokens, tiny_spec, tmp_path):
    """Same spec, fast vs reference kernels: identical initial loss (same weights, same loss math), and
    the curves stay close (the exact vs tanh GELU and the summation order differ only in rounding-level
    detail, far below the seed-to-seed noise that benchmarks/check_numerics.py records)."""
    spec = tiny_spec.replace(tokens=16 * 64 * 80)
    fast = read_metrics(train_run(spec, tmp_path, threads=1, log="none"))
    ref = read_metrics(train_run(spec.replace(kernels="reference"), tmp_path, threads=1, log="none"))
    assert fast[0]["step"] == ref[0]["step"] == 1
    assert fast[0]["train_loss"] == pytest.approx(ref[0]["train_loss"], abs=2e-3)
    assert [r["val_loss"] for r in fast] == pytest.approx([r["val_loss"] for r in ref], abs=0.03)
    assert fast[-1]["val_loss"] < fast[0]["val_loss"] - 0.5  # and both actually learned


@pytest.mark.slow  # make test-slow: inductor compiles C++ kernels (~1 min on the AMD kind)
def test_compiled_run_matches_eager_and_keeps_old_addresses(small_tokens, tiny_spec, tmp_path):
    """compile=True trains through torch.compile (inductor) to the same curve as eager within rounding,
    and enters the hash only when on, so runs trained before the field existed keep their folders."""
    import torch

    if torch.backends.cpu.get_cpu_capability() == "DEFAULT":  # e.g. ATEN_CPU_CAPABILITY=default
        pytest.skip("inductor's C++ kernels need a vectorised CPU capability (AVX2 or better)")
    assert "compile" not in tiny_spec.hashed_fields() and tiny_spec.replace(compile=True).hashed_fields()["compile"]
    spec = tiny_spec.replace(tokens=16 * 64 * 30, eval_points=3)
    eager = read_metrics(train_run(spec, tmp_path, threads=1, log="none"))
    comp = read_metrics(train_run(spec.replace(compile=True), tmp_path, threads=1, log="none"))
    assert [r["step"] for r in comp] == [r["step"] for r in eager]
    assert [r["val_loss"] for r in comp] == pytest.approx([r["val_loss"] for r in eager], abs=1e-3)


@pytest.mark.slow  # make test-slow: two fresh interpreters
def test_allocator_tuning_changes_no_number(small_tokens, tiny_spec, tmp_path):
    """train_run tunes glibc malloc (train.tune_allocator: where memory comes from, for speed); the
    losses must be bit-identical to a process with the default allocator, and config.json says which."""
    import platform
    import subprocess
    import sys

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("allocator tuning applies to glibc only")
    spec = tiny_spec.replace(tokens=16 * 64 * 30)
    code = ("import sys, torch; torch.set_num_threads(1)\n"
            "from scalinglaws.training.spec import RunSpec\nfrom scalinglaws.data.tokens import prepare_tokens\n"
            "from scalinglaws.training.trainer import Trainer, tune_allocator\n"
            "if sys.argv[1] == 'tuned': assert tune_allocator()\n"
            f"spec = RunSpec(**{spec.to_dict()!r})\n"
            "tr = Trainer(spec, prepare_tokens(spec.corpus, spec.vocab_size, quiet=True), 'cpu')\n"
            "print([tr.step(i) for i in range(spec.steps)] + [tr.evaluate()])\n")
    out = {m: subprocess.run([sys.executable, "-c", code, m], capture_output=True, text=True, check=True).stdout
           for m in ("default", "tuned")}
    assert out["default"] == out["tuned"] and len(out["default"]) > 100
    cfg = json.loads((train_run(spec, tmp_path / "runs", log="none") / "config.json").read_text())
    assert cfg["malloc_tuned"] is True


def test_workers_do_not_outlive_their_parent(tmp_path):
    """A study's training workers must end when the process that started them dies (seen: four workers
    training on for 17 minutes after their notebook's kernel was killed). The parent here starts the
    store's worker pool, gives it a long job and is killed with SIGKILL (no cleanup of its own)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    code = ("import sys, time\nfrom scalinglaws.store.executors import ProcessExecutor\n"
            "ex = ProcessExecutor(1, 1)\nf = ex.pool.submit(time.sleep, 120)\n"
            "while not ex.pool._processes: time.sleep(0.05)\n"
            "time.sleep(2)\nprint(*ex.pool._processes, flush=True)\ntime.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert workers and all(_alive(p) for p in workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.2)
        assert not any(_alive(p) for p in workers), "a worker outlived its parent"
    finally:
        parent.kill()
        for p in workers if "workers" in dir() else []:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_an_lstm_trains_through_the_same_loop(small_tokens, tiny_spec, tmp_path):
    """arch="lstm" (Kaplan Fig. 7): same data, schedule, optimizer and loop; its loss falls well below the
    uniform loss, its N follows model.py's convention, and it has its own address."""
    import math

    spec = tiny_spec.replace(arch="lstm", n_layer=1, d_model=32, lr=1e-2, tokens=16 * 64 * 200)
    assert spec.run_id != spec.replace(arch="gpt2").run_id
    rd = train_run(spec, tmp_path, threads=1, log="none")
    s, rows = read_summary(rd), read_metrics(rd)
    assert s["status"] == "ok" and s["N"] == 8 * 32 * 32 + 8 * 32 == spec.n_params
    assert rows[0]["val_loss"] > math.log(512) - 0.1 and rows[-1]["val_loss"] < rows[0]["val_loss"] - 0.6, rows[-1]
    cfg = json.loads((rd / "config.json").read_text())
    assert cfg["spec"]["arch"] == "lstm" and cfg["derived"]["N"] == spec.n_params
    from scalinglaws.training.evaluate import load_model
    from scalinglaws.training.run_folder import read_positions

    assert type(load_model(rd)).__name__ == "LSTMLM" and len(read_positions(rd)["losses"]["val"]) == spec.n_ctx
