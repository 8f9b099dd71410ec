"""The run store: content-addressed run folders, `ensure_runs`, and tidy DataFrames.

    from scalinglaws.store import ensure_runs
    df = ensure_runs(specs, "runs/cpu", workers=2)   # trains only what is missing

``runs/<store>/<spec.run_id>/`` is one run (see train.py). Only folders with ``DONE`` are results.
``ensure_runs`` de-duplicates specs, trains the missing ones through an Executor (local worker
processes; the interface is small so a cluster engine can be added without touching notebooks), and
returns one row per eval point with the spec's fields and derived quantities as columns.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Callable, Iterable, Protocol

import pandas as pd

from . import ScalingLawsError
from .config import RunSpec
from .data import prepare_tokens
from .train import is_done, train_run

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
        f: Future = Future()
        try:
            f.set_result(train_run(spec, runs_dir, threads=self.threads, **kw))
        except Exception as e:  # noqa: BLE001 - reported per run by ensure_runs
            f.set_exception(e)
        return f

    def shutdown(self):
        pass


class MissingRunsError(ScalingLawsError):
    """Runs asked of a store that may only be read."""


def _worker_init(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


class ProcessExecutor:
    """Local worker processes (spawned, so each has a clean torch thread pool)."""

    def __init__(self, workers: int, threads: int):
        import multiprocessing as mp

        self.pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                        initializer=_worker_init, initargs=(threads,))
        self.threads = threads

    def submit(self, spec, runs_dir, **kw) -> Future:
        return self.pool.submit(train_run, spec, runs_dir, threads=self.threads, **kw)

    def shutdown(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


def ensure_runs(
    specs: Iterable[RunSpec],
    runs_dir: str | os.PathLike,
    *,
    workers: int | None = None,
    threads: int | None = None,
    device: str = "cpu",
    executor: Executor | None = None,
    log: str = "run",
    raise_on_error: bool = True,
    train: bool = True,
) -> pd.DataFrame:
    """Train whatever of `specs` is missing from `runs_dir`, then return their metrics as a DataFrame.

    workers/threads: None = auto_layout. log: "run" (one line per finished run), "eval" (one per
    eval), "bar", or "none". Diverged runs are reported (and kept, with status "diverged") instead of
    raising; other failures raise after all runs were attempted unless raise_on_error=False.
    train=False (or env SCALINGLAWS_NO_TRAIN set): read only; raises MissingRunsError if a run is missing.
    """
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
        auto_w, auto_t = auto_layout(missing, device=device)
        workers = workers or auto_w
        threads = threads or (auto_t if workers == auto_w else max(1, (os.cpu_count() or 1) // workers))
        if executor is None:
            executor = InlineExecutor(threads) if workers == 1 else ProcessExecutor(workers, threads)
        train_log = {"run": "none", "eval": "eval", "bar": "bar", "none": "none"}[log]
        say(f"[ensure_runs] {len(specs)} runs, {len(specs) - len(missing)} cached, training {len(missing)} "
            f"({workers} worker(s) x {threads} thread(s), {device})")
        t0 = time.perf_counter()
        futures = {executor.submit(s, str(runs_dir), device=device, log=train_log): s for s in missing}
        try:
            for i, (fut, s) in enumerate(futures.items(), 1):
                try:
                    rd = fut.result()
                    summ = read_summary(rd)
                    val = summ["final_val_loss"]  # None when a run diverged before its first eval
                    say(f"[ensure_runs] {i}/{len(missing)} N={s.n_params:,} tokens={s.tokens:.3g} "
                        f"{summ['status']} val={'none' if val is None else format(val, '.4f')} "
                        f"({summ['tokens_per_s'] or 0:,.0f} tok/s, "
                        f"{time.perf_counter() - t0:.0f}s elapsed)")
                    if summ["status"] == "diverged":
                        say(f"[ensure_runs]   diverged: {summ['reason']} (run {s.run_id})")
                except Exception as e:  # noqa: BLE001
                    errors.append(f"{s.run_id} (N={s.n_params:,}): {e.__class__.__name__}: {e}")
                    say(f"[ensure_runs] {i}/{len(missing)} FAILED {errors[-1]}")
        finally:
            executor.shutdown()
    if errors and raise_on_error:
        raise ScalingLawsError(f"{len(errors)} run(s) failed; first: {errors[0]}")
    return load_runs(specs, runs_dir)


def read_summary(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "summary.json").read_text())


def read_metrics(run_dir: Path) -> list[dict]:
    text = (Path(run_dir) / "metrics.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


SPEC_COLUMNS = [f.name for f in fields(RunSpec)]


def _run_frame(spec: RunSpec, run_dir: Path) -> pd.DataFrame:
    rows = read_metrics(run_dir)
    summ = read_summary(run_dir)
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
    """Every run folder in a store: shape, N, tokens, status, final loss (unfinished ones too)."""
    out = []
    for cfg in sorted(Path(runs_dir).glob("*/config.json")):
        rd = cfg.parent
        c = json.loads(cfg.read_text())
        sp, dv = c["spec"], c["derived"]
        row = {"run_id": rd.name, "n_layer": sp["n_layer"], "d_model": sp["d_model"], "N": dv["N"],
               "tokens": sp["tokens"], "data_tokens": sp["data_tokens"], "batch_size": sp["batch_size"],
               "lr": sp["lr"], "label": sp.get("label", ""), "status": "unfinished", "final_val_loss": None}
        if is_done(rd):
            s = read_summary(rd)
            row.update(status=s["status"], final_val_loss=s["final_val_loss"])
        out.append(row)
    return pd.DataFrame(out)
