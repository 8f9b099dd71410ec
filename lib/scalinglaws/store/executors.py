"""Where runs train: in this process (InlineExecutor) or in worker processes that die with their parent
(ProcessExecutor); how many workers and threads a machine gets (auto_layout), and which runs go first.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Protocol

from scalinglaws.training.spec import RunSpec

# Worker layout rule, from benchmarks/bench_speed.py on the 2-core reference machine (see README):
# these models are too small to keep two threads busy (per-op overhead and small matmuls), so two
# single-thread processes training two runs at once beat one two-thread process at every size of the
# cpu ladder. With one run left, it gets all cores. Override with workers=/threads=.
#
# On a GPU the same reasoning holds one level up: models of this study are too small to fill an H100
# from one process (each step is a few hundred short kernel launches), so up to GPU_WORKERS processes
# share the GPU, each with its share of the CPU cores for Python and launches.
GPU_WORKERS = 8


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the OS has one (a Slurm job step, a
    container or a pinned test worker is given fewer than the machine has), else every core."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS, Windows: no affinity masks
        return os.cpu_count() or 1


def auto_layout(specs: list[RunSpec], cores: int | None = None, device: str = "cpu") -> tuple[int, int]:
    """(workers, threads per worker) for a batch of runs on this machine."""
    cores = cores or usable_cores()
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
        from scalinglaws.training.loop import train_run  # imports torch (seconds): only when something is trained

        f: Future = Future()
        try:
            f.set_result(train_run(spec, runs_dir, threads=self.threads, **kw))
        except Exception as e:  # noqa: BLE001 - reported per run by ensure_runs
            f.set_exception(e)
        return f

    def submit_group(self, specs, runs_dir, **kw) -> Future:
        """Same-shape runs as one stacked model (batched.train_batched); a Future of their run folders."""
        from scalinglaws.training.batched import train_batched

        f: Future = Future()
        try:
            f.set_result(train_batched(specs, runs_dir, threads=self.threads, **kw))
        except Exception as e:  # noqa: BLE001
            f.set_exception(e)
        return f

    def shutdown(self):
        pass


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
        from scalinglaws.training.loop import train_run  # imports torch (seconds): only when something is trained

        return self.pool.submit(train_run, spec, runs_dir, threads=self.threads, **kw)

    def submit_group(self, specs, runs_dir, **kw) -> Future:
        from scalinglaws.training.batched import train_batched

        return self.pool.submit(train_batched, specs, runs_dir, threads=self.threads, **kw)

    def shutdown(self):
        self.pool.shutdown(wait=True, cancel_futures=True)
