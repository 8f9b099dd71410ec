"""The run store: content-addressed run folders, `ensure_runs`, and tidy DataFrames.

    from scalinglaws.store import ensure_runs
    df = ensure_runs(specs, "runs/cpu", workers=2)   # trains only what is missing

``runs/<store>/<spec.run_id>/`` is one run (see train.py). Only folders with ``DONE`` are results.
``ensure_runs`` de-duplicates specs, trains the missing ones through an Executor (local worker
processes; the interface is small so a cluster engine can be added without touching notebooks), and
returns one row per eval point with the spec's fields and derived quantities as columns.

Beside a run's results, its *sidecars* (written before DONE, never part of its address):
``evals.jsonl`` (losses on extra eval sets), ``positions.json`` (final loss by position in the context)
and ``evals.json`` (what the sets are, and the SHA-256 of both files). Read them with ``read_evals``,
``read_positions``, ``load_evals`` and ``load_positions``; ``evaluate.evaluate_run`` adds sets later.

This module imports no torch (reading a store must stay cheap); training and evaluation are imported
where they are called.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Callable, Iterable, Protocol

import pandas as pd

from . import ScalingLawsError
from .config import RunSpec
from .data import prepare_tokens, resolve_eval_sets
from .grouping import auto_group_size, plan_groups

# Sidecar files of a run folder (see the module docstring).
EVALS_FILE, POSITIONS_FILE, EVALS_SUMMARY = "evals.jsonl", "positions.json", "evals.json"


def write_json_atomic(path: Path, obj, *, lines: bool = False) -> None:
    """Write JSON (or JSON lines) to a temporary file and rename it over `path`: never half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        if lines:
            for row in obj:
                fh.write(json.dumps(row) + "\n")
        else:
            json.dump(obj, fh, indent=1, sort_keys=True)
            fh.write("\n")
    os.replace(tmp, path)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def is_done(run_dir: Path) -> bool:
    return (Path(run_dir) / "DONE").exists()

# Worker layout rule, from benchmarks/bench_speed.py on the 2-core reference machine (see README):
# these models are too small to keep two threads busy (per-op overhead and small matmuls), so two
# single-thread processes training two runs at once beat one two-thread process at every size of the
# cpu ladder. With one run left, it gets all cores. Override with workers=/threads=.
#
# On a GPU the same reasoning holds one level up: models of this study are too small to fill an H100
# from one process (each step is a few hundred short kernel launches), so up to GPU_WORKERS processes
# share the GPU, each with its share of the CPU cores for Python and launches.
GPU_WORKERS = 8


def auto_layout(specs: list[RunSpec], cores: int | None = None, device: str = "cpu") -> tuple[int, int]:
    """(workers, threads per worker) for a batch of runs on this machine."""
    cores = cores or os.cpu_count() or 1
    if device.startswith("cuda"):
        workers = max(1, min(len(specs), GPU_WORKERS, cores))
        return workers, max(1, min(2, cores // workers))
    if len(specs) <= 1 or cores == 1:
        return 1, cores
    workers = min(cores, len(specs))
    return workers, max(1, cores // workers)


def run_cost(spec: RunSpec) -> float:
    """Training FLOPs (full count): used to start the longest runs first, so the last worker is not
    left alone with a long run while the others idle."""
    return spec.tokens * spec.describe()["flops_per_token"]["full"]


class Executor(Protocol):
    """What ensure_runs needs from an engine: submit a training job, get a Future of its run folder."""

    def submit(self, spec: RunSpec, runs_dir: str, **kw) -> Future: ...

    def shutdown(self) -> None: ...


class InlineExecutor:
    """Runs jobs in this process, one after another (workers=1; also the easiest to debug)."""

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def submit(self, spec, runs_dir, **kw) -> Future:
        from .train import train_run  # imports torch (seconds): only when something is trained

        f: Future = Future()
        try:
            f.set_result(train_run(spec, runs_dir, threads=self.threads, **kw))
        except Exception as e:  # noqa: BLE001 - reported per run by ensure_runs
            f.set_exception(e)
        return f

    def submit_group(self, specs, runs_dir, **kw) -> Future:
        """Same-shape runs as one stacked model (batched.train_batched); a Future of their run folders."""
        from .batched import train_batched

        f: Future = Future()
        try:
            f.set_result(train_batched(specs, runs_dir, threads=self.threads, **kw))
        except Exception as e:  # noqa: BLE001
            f.set_exception(e)
        return f

    def shutdown(self):
        pass


class MissingRunsError(ScalingLawsError):
    """Runs asked of a store that may only be read."""


def _die_with_parent() -> None:
    """Make this worker process end when the process that started it dies (a killed notebook kernel, a
    papermill timeout), instead of training on into the store as an orphan. Linux: the kernel sends
    SIGTERM at the parent's death (PR_SET_PDEATHSIG); everywhere: a daemon thread notices the parent
    pid change within a second. The run it was training has no DONE, so it resumes (from its last
    checkpoint, if it wrote one) the next time it is asked for."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the guard was in place
        os.kill(os.getpid(), signal.SIGTERM)


def _worker_init(threads: int) -> None:
    _die_with_parent()
    import torch  # in the worker only: the parent may never need torch

    torch.set_num_threads(threads)


class ProcessExecutor:
    """Local worker processes (spawned, so each has a clean torch thread pool)."""

    def __init__(self, workers: int, threads: int):
        self.pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                        initializer=_worker_init, initargs=(threads,))
        self.threads = threads

    def submit(self, spec, runs_dir, **kw) -> Future:
        from .train import train_run  # imports torch (seconds): only when something is trained

        return self.pool.submit(train_run, spec, runs_dir, threads=self.threads, **kw)

    def submit_group(self, specs, runs_dir, **kw) -> Future:
        from .batched import train_batched

        return self.pool.submit(train_batched, specs, runs_dir, threads=self.threads, **kw)

    def shutdown(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


def ensure_runs(
    specs: Iterable[RunSpec],
    runs_dir: str | os.PathLike,
    *,
    workers: int | None = None,
    threads: int | None = None,
    device: str = "cpu",
    executor: Executor | str | None = "local",
    log: str = "run",
    raise_on_error: bool = True,
    train: bool = True,
    eval_sets=None,
    group: int | None = None,
) -> pd.DataFrame:
    """Train whatever of `specs` is missing from `runs_dir`, then return their metrics as a DataFrame.

    workers/threads: None = auto_layout. log: "run" (one line per finished run), "eval" (one per
    eval), "bar", or "none". Diverged runs are reported (and kept, with status "diverged") instead of
    raising; other failures raise after all runs were attempted unless raise_on_error=False.
    train=False (or env SCALINGLAWS_NO_TRAIN set): read only; raises MissingRunsError if a run is missing.
    executor: "local" (worker processes here), "slurm" (one Slurm job array through submitit, options from
    $SCALINGLAWS_SLURM_CONFIG; there threads = CPUs per job and workers = array tasks at once; see
    scalinglaws.slurm and docs/slurm.md) or an Executor instance.
    eval_sets: extra evaluation sets (see train_run; e.g. ["ood"]): the runs trained here evaluate them at
    every eval point; finished runs that lack one get its final-point loss from their kept weights
    (evaluate.evaluate_run; a run without kept weights is an error saying how to get them). Read the
    results with load_evals / load_positions. Not with train=False: a read-only store is not written.
    group: at most this many same-shape runs train as one stacked model (batched.py), each still its own
    run folder; 1 = one at a time; None = $SCALINGLAWS_GROUP, else grouping.auto_group_size (measured: 1
    on CPU). Runs that cannot be stacked, and executors without submit_group (Slurm), train one at a time.
    """
    if isinstance(executor, str) and executor not in ("local", "slurm"):
        raise ScalingLawsError(f"executor={executor!r}: use 'local', 'slurm' or an Executor instance")
    sets = resolve_eval_sets(eval_sets)  # a bad name fails here, before any training
    specs = list({s.run_id: s.validate() for s in specs}.values())
    runs_dir = Path(runs_dir)
    missing = sorted((s for s in specs if not is_done(runs_dir / s.run_id)), key=run_cost, reverse=True)
    say = (lambda msg: None) if log == "none" else (lambda msg: print(msg, flush=True))
    errors: list[str] = []
    if missing and (not train or os.environ.get("SCALINGLAWS_NO_TRAIN")):
        # Re-executing a notebook against a published store (e.g. the gpu reference on a CPU machine)
        # must never start training in its place.
        why = "SCALINGLAWS_NO_TRAIN is set; unset it to train them" if train else "this store is only read here"
        raise MissingRunsError(
            f"{len(missing)} of {len(specs)} runs are not in {runs_dir} (first: {missing[0].run_id}, "
            f"N={missing[0].n_params:,}) and {why}")
    if missing:
        for key in {(s.corpus, s.vocab_size) for s in missing}:  # build token caches once, up front
            prepare_tokens(*key, quiet=log == "none")
        if executor == "slurm":  # submitit is imported only here (the optional extra `slurm`)
            from .slurm import SlurmExecutor

            executor = SlurmExecutor(threads=threads, parallelism=workers, log=log != "none")
        local = executor is None or isinstance(executor, str)
        jobs = _plan_jobs(missing, group, local or hasattr(executor, "submit_group"), device)
        if hasattr(executor, "describe"):
            layout = f"{executor.describe()}, {device}"
        else:
            auto_w, auto_t = auto_layout(jobs, device=device)  # a stacked group is one job
            workers = workers or auto_w
            threads = threads or (auto_t if workers == auto_w else max(1, (os.cpu_count() or 1) // workers))
            if local:
                executor = InlineExecutor(threads) if workers == 1 else ProcessExecutor(workers, threads)
            layout = f"{workers} worker(s) x {threads} thread(s), {device}"
        train_log = {"run": "none", "eval": "eval", "bar": "bar", "none": "none"}[log]
        if any(len(j) > 1 for j in jobs):
            layout += f", {len(missing)} runs as {len(jobs)} jobs (same-shape runs stacked, up to {max(map(len, jobs))} per job)"
        say(f"[ensure_runs] {len(specs)} runs, {len(specs) - len(missing)} cached, training {len(missing)} ({layout})")
        t0 = time.perf_counter()
        total_cost, done_cost = sum(run_cost(s) for s in missing), 0.0  # for the ETA: work left / rate so far
        try:
            # eval_sets only when asked for, so an Executor that predates it keeps working without them
            kw = {"eval_sets": sets} if sets else {}
            futures = [(executor.submit(j[0], str(runs_dir), device=device, log=train_log, **kw) if len(j) == 1 else
                        executor.submit_group(j, str(runs_dir), device=device, log=train_log, **kw), j) for j in jobs]
            getattr(executor, "flush", lambda: None)()  # a batching executor (Slurm) sends one job array now
            results = ((fut, s, k) for fut, j in futures for k, s in enumerate(j))
            for i, (fut, s, k) in enumerate(results, 1):
                try:
                    rd = fut.result()
                    summ = read_summary(rd if isinstance(rd, Path) else Path(rd[k]))
                    val = summ["final_val_loss"]  # None when a run diverged before its first eval
                    done_cost += run_cost(s)
                    elapsed = time.perf_counter() - t0
                    eta = elapsed * (total_cost - done_cost) / done_cost if done_cost else 0.0
                    say(f"[ensure_runs] {i}/{len(missing)} N={s.n_params:,} tokens={s.tokens:.3g} "
                        f"{summ['status']} val={'none' if val is None else format(val, '.4f')} "
                        f"({summ['tokens_per_s'] or 0:,.0f} tok/s, {elapsed:.0f}s elapsed"
                        + (f", about {eta / 60:.1f} min left)" if i < len(missing) else ")"))
                    if summ["status"] == "diverged":
                        say(f"[ensure_runs]   diverged: {summ['reason']} (run {s.run_id})")
                except Exception as e:  # noqa: BLE001
                    errors.append(f"{s.run_id} (N={s.n_params:,}): {e.__class__.__name__}: {e}")
                    say(f"[ensure_runs] {i}/{len(missing)} FAILED {errors[-1]}")
        finally:
            executor.shutdown()
    if sets and train and not os.environ.get("SCALINGLAWS_NO_TRAIN"):
        errors += _add_eval_sets(specs, runs_dir, sets, say, device)
    if errors and raise_on_error:
        raise ScalingLawsError(f"{len(errors)} run(s) failed; first: {errors[0]}")
    return load_runs(specs, runs_dir)


def _plan_jobs(missing: list[RunSpec], group: int | None, can_group: bool, device: str) -> list[list[RunSpec]]:
    """The training jobs: lists of specs, one spec each unless `group` (or its default) stacks runs."""
    if not can_group:
        return [[s] for s in missing]
    if group is None:
        env = os.environ.get("SCALINGLAWS_GROUP", "")
        if env and not env.isdigit():
            raise ScalingLawsError(f"SCALINGLAWS_GROUP={env!r}: set a whole number of runs per stacked model (1 = off)")
        group = int(env) if env else auto_group_size(device)
    if not isinstance(group, int) or group < 1:
        raise ScalingLawsError(f"group={group!r}: use a whole number >= 1 (runs per stacked model; 1 = one at a time)")
    return plan_groups(missing, group)


def _add_eval_sets(specs: list[RunSpec], runs_dir: Path, sets: list[str], say, device: str) -> list[str]:
    """Final-point losses of `sets` for the finished runs that lack them (trained without them, or by an
    executor that does not pass them on); returns one error line per run that could not get them."""
    todo = [s for s in specs if is_done(runs_dir / s.run_id) and read_summary(runs_dir / s.run_id)["status"] != "diverged"
            and set(sets) - set(recorded_eval_sets(runs_dir / s.run_id))]  # a diverged run has no final point
    if not todo:
        return []
    from .evaluate import evaluate_run  # imports torch: only when there is something to evaluate

    say(f"[ensure_runs] adding eval sets to {len(todo)} finished run(s) from their kept weights (final point only)")
    errors = []
    for s in todo:
        try:
            evaluate_run(runs_dir / s.run_id, sets, device=device)
        except ScalingLawsError as e:
            errors.append(f"{s.run_id} (N={s.n_params:,}): {e}")
            say(f"[ensure_runs] FAILED {errors[-1]}")
    return errors


class CorruptRunError(ScalingLawsError):
    """A finished run folder whose files do not agree with each other (see verify_run)."""


def read_summary(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "summary.json").read_text())


def read_metrics(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    rows = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise CorruptRunError(f"{path} line {i} is not JSON ({e.msg})") from None
    return rows


def _read_verified(run_dir: Path) -> tuple[dict, list[dict]]:
    """(summary, metrics rows) of a DONE run folder whose files agree: config.json and summary.json
    parse and name this folder's run, every metrics line parses, and the metrics end where the summary
    says the run ended (same last step and final loss). Raises CorruptRunError saying what disagrees.
    A run cut short by a crash has no DONE and is not a result at all; this catches what happens to a
    folder after DONE (truncation, a bad copy)."""
    run_dir = Path(run_dir)
    try:
        summ = read_summary(run_dir)
        cfg_id = json.loads((run_dir / "config.json").read_text()).get("run_id")
        for name, rid in (("config.json", cfg_id), ("summary.json", summ.get("run_id"))):
            if rid != run_dir.name:
                raise CorruptRunError(f"{name} names run {rid!r}, not this folder's {run_dir.name!r}")
        rows = read_metrics(run_dir)
    except (OSError, json.JSONDecodeError, AttributeError) as e:
        raise CorruptRunError(f"unreadable: {e.__class__.__name__}: {e}") from None
    last = rows[-1] if rows else None
    if summ.get("final_val_loss") is None:
        if last is not None:
            raise CorruptRunError("summary has no final loss but metrics.jsonl has evaluations")
        return summ, rows
    if last is None:
        raise CorruptRunError(f"metrics.jsonl is empty but the summary says the run reached step {summ.get('steps')}")
    if summ.get("status") != "diverged" and last.get("step") != summ.get("steps"):
        raise CorruptRunError(f"metrics.jsonl ends at step {last.get('step')} but the summary says the run ended "
                              f"at step {summ.get('steps')}")
    if last.get("val_loss") != summ["final_val_loss"]:
        raise CorruptRunError(f"the last evaluation's loss ({last.get('val_loss')}) is not the summary's final "
                              f"loss ({summ['final_val_loss']})")
    # Last, as it says least about what is wrong: runs trained since the checksum was added carry it (older
    # runs are checked by the rules above only); it catches an edit inside the curve that leaves its end intact.
    if summ.get("metrics_sha256") and file_sha256(run_dir / "metrics.jsonl") != summ["metrics_sha256"]:
        raise CorruptRunError("metrics.jsonl differs from the file the run wrote (its checksum in summary.json "
                              "does not match)")
    return summ, rows


def verify_run(run_dir: Path) -> str:
    """Why a DONE run folder cannot be trusted (see _read_verified and read_sidecars), or "" when its
    files agree."""
    try:
        _read_verified(run_dir)
        read_sidecars(run_dir)
    except CorruptRunError as e:
        return str(e)
    return ""


# ---------------------------------------------------------------------------------------------
# Sidecars: extra eval sets and loss by position (written by train / evaluate, read here)
# ---------------------------------------------------------------------------------------------

def write_sidecars(run_dir: Path, *, run_id: str, rows: list[dict], sets: dict, positions: dict | None,
                   weights_sha256: str | None) -> None:
    """Write evals.jsonl (rows {step, tokens, set, loss}), positions.json (when given) and last evals.json:
    what each set is (sets[name]: kind, source, its hash, tokens, windows, when evaluated), the SHA-256 of
    the other two files, and of the kept weights (model.safetensors, not in the published store)."""
    run_dir = Path(run_dir)
    write_json_atomic(run_dir / EVALS_FILE, rows, lines=True)
    files = {EVALS_FILE: file_sha256(run_dir / EVALS_FILE)}
    if positions is not None:
        write_json_atomic(run_dir / POSITIONS_FILE, positions)
        files[POSITIONS_FILE] = file_sha256(run_dir / POSITIONS_FILE)
    write_json_atomic(run_dir / EVALS_SUMMARY, {"run_id": run_id, "sets": sets, "files": files,
                                                "weights_sha256": weights_sha256})


def read_sidecars(run_dir: Path) -> dict | None:
    """evals.json of a run, after checking that evals.jsonl and positions.json are the files it names
    (CorruptRunError if not); None for a run trained before sidecars existed."""
    run_dir = Path(run_dir)
    path = run_dir / EVALS_SUMMARY
    if not path.exists():
        return None
    try:
        summ = json.loads(path.read_text())
        if summ.get("run_id") != run_dir.name:
            raise CorruptRunError(f"{EVALS_SUMMARY} names run {summ.get('run_id')!r}, not this folder's {run_dir.name!r}")
        for name, sha in summ["files"].items():
            if file_sha256(run_dir / name) != sha:
                raise CorruptRunError(f"{name} differs from the file the run wrote (its checksum in {EVALS_SUMMARY} "
                                      "does not match); evaluate.evaluate_run rewrites it from kept weights")
    except (OSError, json.JSONDecodeError, KeyError, AttributeError) as e:
        raise CorruptRunError(f"sidecars unreadable: {e.__class__.__name__}: {e}") from None
    return summ


def recorded_eval_sets(run_dir: Path) -> list[str]:
    summ = read_sidecars(run_dir)
    return list(summ["sets"]) if summ else []


def read_evals(run_dir: Path) -> list[dict]:
    """The extra eval sets' rows {step, tokens, set, loss} of a run (checked; [] when it has none)."""
    if read_sidecars(run_dir) is None:
        return []
    return [json.loads(line) for line in (Path(run_dir) / EVALS_FILE).read_text().splitlines() if line.strip()]


def read_positions(run_dir: Path) -> dict | None:
    """positions.json of a run (checked): {step, tokens, n_ctx, windows: {set: n}, losses: {set: [loss at
    positions 1..n_ctx]}} with set "val" for the validation split; None when it has none (trained before
    sidecars, or diverged)."""
    summ = read_sidecars(run_dir)
    if summ is None or POSITIONS_FILE not in summ["files"]:
        return None
    return json.loads((Path(run_dir) / POSITIONS_FILE).read_text())


def load_evals(specs: Iterable[RunSpec], runs_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per (run, eval point, extra set) of the DONE runs among `specs`: run_id, N, arch, step,
    tokens, set, loss, val_loss (the validation loss at the same step, when that step has one), is_final
    (the run's last step) and after_warmup (step > the run's warmup)."""
    runs_dir = Path(runs_dir)
    out = []
    for spec in specs:
        rd = runs_dir / spec.run_id
        if not is_done(rd):
            continue
        rows = read_evals(rd)
        if not rows:
            continue
        summ, metrics = _read_checked(rd)
        val = {r["step"]: r["val_loss"] for r in metrics}
        df = pd.DataFrame(rows)
        df.insert(0, "run_id", spec.run_id)
        df["N"], df["arch"] = spec.n_params, spec.arch
        df["val_loss"] = df["step"].map(val)
        df["is_final"] = df["step"] == summ["steps"]
        df["after_warmup"] = df["step"] > spec.warmup
        out.append(df)
    cols = ["run_id", "step", "tokens", "set", "loss", "N", "arch", "val_loss", "is_final", "after_warmup"]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)


def load_positions(specs: Iterable[RunSpec], runs_dir: str | os.PathLike, set: str = "val") -> list[dict]:
    """Per run (DONE, with `set` in its positions.json): {run_id, N, arch, n_ctx, set, step, losses}, where
    losses[t-1] is the mean loss at position t = 1..n_ctx (t = 1 predicts a window's second token)."""
    runs_dir = Path(runs_dir)
    out = []
    for spec in specs:
        rd = runs_dir / spec.run_id
        pos = read_positions(rd) if is_done(rd) else None
        if pos and set in pos["losses"]:
            out.append({"run_id": spec.run_id, "N": spec.n_params, "arch": spec.arch, "n_ctx": pos["n_ctx"],
                        "set": set, "step": pos["step"], "losses": pos["losses"][set]})
    return out


def read_spec(run_dir: Path) -> RunSpec:
    """The RunSpec a run folder was trained from (its config.json)."""
    return RunSpec.from_dict(json.loads((Path(run_dir) / "config.json").read_text())["spec"])


def _read_checked(run_dir: Path) -> tuple[dict, list[dict]]:
    """_read_verified, with the run, its store and the fix in the error: what a notebook stops with."""
    try:
        return _read_verified(run_dir)
    except CorruptRunError as e:
        raise CorruptRunError(f"run {run_dir.name} in {run_dir.parent} is corrupt: {e}. "
                              f"Delete the folder and run again to re-train it (rm -r {run_dir})") from None


SPEC_COLUMNS = [f.name for f in fields(RunSpec)]


def _run_frame(spec: RunSpec, run_dir: Path) -> pd.DataFrame:
    summ, rows = _read_checked(run_dir)  # never read a damaged run as a result
    d = spec.describe()
    base = {**spec.to_dict(), "run_id": spec.run_id, "N": d["N"], "N_total": d["N_total"],
            "N_embedding": d["N_embedding"], "n_head_eff": d["n_head"], "d_ff_eff": d["d_ff"],
            "aspect_ratio": d["aspect_ratio"], "status": summ["status"],
            # The effective warmup in optimizer steps (the spec's warmup_steps=0 means "automatic";
            # RunSpec.warmup resolves it). Fits of learning curves drop S <= this, per run.
            "warmup_steps": spec.warmup,
            "final_val_loss": summ["final_val_loss"], "best_val_loss": summ["best_val_loss"],
            "tokens_per_s": summ["tokens_per_s"]}
    df = pd.DataFrame(rows) if rows else pd.DataFrame(columns=["step", "tokens", "val_loss"])
    # Per-eval columns keep their names (tokens = tokens processed so far); the spec's budget becomes
    # budget_tokens and its peak LR is `lr` (the scheduled LR at each eval is lr_now).
    df = df.rename(columns={"lr": "lr_now"})
    base["budget_tokens"] = base.pop("tokens")
    for k, v in base.items():
        df[k] = v
    df["is_final"] = df["step"] == (df["step"].max() if len(df) else 0)
    return df


def load_runs(specs: Iterable[RunSpec], runs_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per eval point for each DONE run among `specs` (runs without DONE are skipped)."""
    runs_dir = Path(runs_dir)
    frames = [_run_frame(s, runs_dir / s.run_id) for s in specs if is_done(runs_dir / s.run_id)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def list_runs(runs_dir: str | os.PathLike) -> pd.DataFrame:
    """Every run folder in a store: shape, N, tokens, status, final loss (unfinished ones too). A folder
    that fails verify_run has status "corrupt" and the reason in `problem`; one bad folder never hides
    the others."""
    runs_dir = Path(runs_dir)
    if not runs_dir.exists():
        raise ScalingLawsError(f"no run store at {runs_dir} (check the path; a new store is created by training into it)")
    if not runs_dir.is_dir():
        raise ScalingLawsError(f"{runs_dir} is a file, not a run store folder")
    out = []
    for rd in sorted(p for p in Path(runs_dir).iterdir() if p.is_dir() and ((p / "config.json").exists() or is_done(p))):
        row = {"run_id": rd.name, "n_layer": None, "d_model": None, "N": None, "tokens": None, "data_tokens": None,
               "batch_size": None, "lr": None, "label": "", "status": "unfinished", "final_val_loss": None, "problem": ""}
        try:
            c = json.loads((rd / "config.json").read_text())
            sp, dv = c["spec"], c["derived"]
            row.update(n_layer=sp["n_layer"], d_model=sp["d_model"], N=dv["N"], tokens=sp["tokens"],
                       data_tokens=sp["data_tokens"], batch_size=sp["batch_size"], lr=sp["lr"], label=sp.get("label", ""))
        except (OSError, json.JSONDecodeError, KeyError) as e:
            row.update(status="corrupt", problem=f"config.json unreadable: {e.__class__.__name__}")
        if is_done(rd) and row["status"] != "corrupt":
            try:
                s, _ = _read_verified(rd)
                read_sidecars(rd)
                row.update(status=s["status"], final_val_loss=s["final_val_loss"])
            except CorruptRunError as e:
                row.update(status="corrupt", problem=str(e))
        out.append(row)
    return pd.DataFrame(out)
