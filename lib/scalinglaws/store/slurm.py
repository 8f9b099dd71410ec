"""Train the study's runs on a Slurm cluster: job arrays submitted through submitit (the `slurm` extra).

    from scalinglaws.store.ensure import ensure_runs
    ensure_runs(specs, "runs/cpu", executor="slurm")        # options: $SCALINGLAWS_SLURM_CONFIG, else defaults
    scalinglaws study --profile cpu --executor slurm --slurm-config slurm.toml

`SlurmExecutor` is a store.Executor: ``submit(spec, runs_dir, device=, log=)`` queues a run and returns a
Future of its run folder; ``flush()`` sends everything queued as one job array (ensure_runs calls it after
its submits; a plain caller's queue is flushed by itself a second after its last submit). A monitor
thread follows the jobs with ``squeue`` (no accounting database needed) and prints one line whenever the
counts pending / running / done / failed change. A failed job fails its Future with its run id, Slurm
job id and log path (ensure_runs goes on with the others and raises one summary at the end).

Each array task calls ``train_run(spec, runs_dir)`` (TrainJob). The run folder's lock and DONE file make
double training impossible, so the store must be on a filesystem whose ``flock`` works across nodes
(docs/slurm.md). On preemption or at the time limit Slurm sends USR2 ``signal_delay_s`` before the end;
submitit calls ``TrainJob.checkpoint``, which resubmits the same call, and requeues the job: train_run
resumes from the run's ckpt.pt (written every ``checkpoint_every_s`` at evaluations), to the same curve.

Options (SlurmOptions; a TOML file of these keys, see docs/slurm.md) and their defaults are below.
submitit is imported only here, and only when a job is submitted: ``import scalinglaws`` never needs it.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import tomllib
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from pathlib import Path

from scalinglaws import ScalingLawsError
from scalinglaws.training.run_folder import read_metrics

try:  # a real submitit Checkpointable when the extra is installed; the module imports without it
    from submitit.helpers import Checkpointable as _Checkpointable
except ImportError:  # pragma: no cover - exercised on machines without the extra
    _Checkpointable = object

CONFIG_ENV = "SCALINGLAWS_SLURM_CONFIG"
INSTALL_HINT = "pip install -e '.[slurm]'"

# squeue states (squeue --states=all): waiting for a node, on a node, and ended (or absent from the queue).
PENDING_STATES = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD",
                  "SUSPENDED", "STOPPED", "PREEMPTED", "RESIZING"}
RUNNING_STATES = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING"}


class SlurmError(ScalingLawsError):
    """Slurm or submitit is not usable here, or the cluster refused a submission."""


class SlurmJobError(ScalingLawsError):
    """A run's job ended without its run folder: the message names the run, the job and its log."""

    def __init__(self, message: str, *, run_id: str = "", job_id: str = "", log: str = ""):
        super().__init__(message)
        self.run_id, self.job_id, self.log = run_id, job_id, log


@dataclass
class SlurmOptions:
    """What each training job asks of Slurm, and how this process follows the jobs. Defaults in comments."""

    partition: str = ""  # "" = the cluster's default partition
    time_min: int = 120  # time limit per job, minutes; a job reaching it is requeued (max_requeues times)
    cpus_per_task: int = 1  # CPUs per run = torch threads (1 thread per run is fastest per core here: store.py)
    gpus_per_task: int = -1  # -1 = 1 when the device is cuda, else 0 (asked as --gpus-per-node: 1 task per job)
    mem_gb: float = 4.0  # memory per job (--mem)
    account: str = ""  # --account, "" = none
    qos: str = ""  # --qos, "" = none
    array_parallelism: int = 64  # array tasks running at once (--array=0-N%K); ensure_runs(workers=K) sets it
    log_dir: str = ""  # submitit's folder (scripts, pickles, logs); "" = <runs_dir>/.slurm. Shared by the nodes
    signal_delay_s: int = 120  # USR2 this long before the time limit: checkpoint and requeue
    max_requeues: int = 3  # requeues at the time limit (preemptions do not count)
    checkpoint_every_s: float = 60.0  # train_run's checkpoint interval in jobs: the most work a kill can lose
    poll_s: float = 10.0  # seconds between squeue calls
    grace_s: float = 30.0  # a job that left the queue without a result file is failed after this long
    cancel_on_exit: bool = True  # scancel unfinished jobs when the submitting process stops (Ctrl-C, error)
    job_name: str = "scalinglaws"
    setup: tuple = ()  # shell lines run in each job before training, e.g. ["module load cuda/12.4"]
    sbatch: dict = field(default_factory=dict)  # any other sbatch option: {constraint = "a100", exclude = "n7"}

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def replace(self, **kw) -> "SlurmOptions":
        return dataclasses.replace(self, **{k: v for k, v in kw.items() if v is not None})

    @classmethod
    def from_dict(cls, d: dict, source: str = "options") -> "SlurmOptions":
        d = dict(d.get("slurm", d)) if isinstance(d.get("slurm"), dict) else dict(d)  # [slurm] table or top level
        unknown = sorted(set(d) - set(cls.keys()))
        if unknown:
            near = difflib.get_close_matches(unknown[0], cls.keys(), n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise SlurmError(f"{source}: unknown Slurm option '{unknown[0]}'{hint}; the options are: {', '.join(cls.keys())}")
        out = {}
        for f in dataclasses.fields(cls):
            if f.name not in d:
                continue
            v, default = d[f.name], getattr(cls(), f.name)
            try:
                if isinstance(default, bool):
                    if not isinstance(v, bool):
                        raise TypeError
                elif isinstance(default, (int, float)) and not isinstance(v, bool):
                    v = type(default)(v)
                    if isinstance(default, int) and v != d[f.name]:
                        raise TypeError
                elif isinstance(default, tuple):
                    if isinstance(v, str) or not all(isinstance(x, str) for x in v):
                        raise TypeError
                    v = tuple(v)
                elif isinstance(default, dict):
                    if not isinstance(v, dict):
                        raise TypeError
                elif not isinstance(v, type(default)):
                    raise TypeError
            except (TypeError, ValueError):
                kind = {bool: "true or false", tuple: "a list of strings", dict: "a table"}.get(
                    type(default), type(default).__name__)
                raise SlurmError(f"{source}: Slurm option {f.name} = {d[f.name]!r} must be {kind}") from None
            out[f.name] = v
        opts = cls(**out)
        for name in ("time_min", "cpus_per_task", "array_parallelism"):
            if getattr(opts, name) < 1:
                raise SlurmError(f"{source}: Slurm option {name} = {getattr(opts, name)} must be >= 1")
        if opts.mem_gb <= 0 or opts.poll_s <= 0:
            raise SlurmError(f"{source}: mem_gb and poll_s must be > 0")
        return opts

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "SlurmOptions":
        path = Path(path).expanduser()
        try:
            with open(path, "rb") as fh:
                d = tomllib.load(fh)
        except OSError as e:
            raise SlurmError(f"cannot read the Slurm config {path}: {e.strerror or e}") from None
        except tomllib.TOMLDecodeError as e:
            raise SlurmError(f"the Slurm config {path} is not valid TOML: {e}") from None
        return cls.from_dict(d, source=str(path))

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "SlurmOptions":
        """Options from `path`, else from the file named by $SCALINGLAWS_SLURM_CONFIG, else the defaults."""
        path = path or os.environ.get(CONFIG_ENV)
        return cls.from_file(path) if path else cls()


def _submitit():
    try:  # the optional `slurm` extra: a one-line error naming it when absent
        import submitit
    except ImportError:
        raise SlurmError(f"the Slurm executor needs submitit, which is not installed: {INSTALL_HINT}") from None
    return submitit


def slurm_available() -> str:
    """"" when this machine can submit to a Slurm cluster (sbatch, squeue and sinfo work), else why not."""
    for cmd in ("sbatch", "squeue", "scancel", "sinfo"):
        if shutil.which(cmd) is None:
            return f"{cmd} not found (not on a Slurm cluster's login node?)"
    try:
        r = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"sinfo did not answer: {e}"
    if r.returncode != 0:
        said = (r.stderr or r.stdout).strip()
        return f"sinfo failed: {said.splitlines()[-1] if said else f'exit status {r.returncode}'}"
    return ""


class TrainJob(_Checkpointable):
    """What each array task runs: ``train_run(spec, runs_dir, ...)``; returns the run folder (str).

    A submitit Checkpointable: on preemption or at the time limit, ``checkpoint`` resubmits the same
    call and submitit requeues the job; the requeued call finds the run's ckpt.pt and resumes from it."""

    def __call__(self, spec, runs_dir: str, device: str = "cpu", threads: int | None = None,
                 checkpoint_every_s: float = 60.0, eval_sets=None) -> str:
        from scalinglaws.training.loop import (
            train_run,  # torch (seconds): only the array task on the compute node trains
        )

        env = os.environ
        job = (f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}" if env.get("SLURM_ARRAY_TASK_ID")
               else env.get("SLURM_JOB_ID", "?"))
        run_dir = Path(runs_dir) / spec.run_id
        resume = ""
        if (run_dir / "ckpt.pt").exists():
            try:
                resume = f", resuming from its checkpoint at step {read_metrics(run_dir)[-1]['step']}"
            except Exception:  # noqa: BLE001 - only a log line
                resume = ", resuming from its checkpoint"
        seen = " ".join(f"{k}={env[k]}" for k in ("SCALINGLAWS_CACHE", "SCALINGLAWS_GUTENBERG_MIRROR",
                                                  "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if k in env)
        print(f"[scalinglaws] job {job} on {socket.gethostname()} (restart {env.get('SLURM_RESTART_COUNT', '0')}): "
              f"run {spec.run_id} N={spec.n_params:,} into {runs_dir}{resume}", flush=True)
        print(f"[scalinglaws] environment: {seen or '(no SCALINGLAWS_/HF_ variables)'}", flush=True)
        return str(train_run(spec, runs_dir, device=device, threads=threads, log="eval",
                             checkpoint_every_s=checkpoint_every_s, eval_sets=eval_sets))

    def checkpoint(self, *args, **kwargs):
        """Called by submitit on USR2 (preemption, or signal_delay_s before the time limit): the same call
        again. The run's own checkpoint (ckpt.pt, at most checkpoint_every_s old) is what it resumes from."""
        print("[scalinglaws] preempted or at the time limit: requeueing; the run resumes from its last checkpoint",
              flush=True)
        return _submitit().helpers.DelayedSubmission(self, *args, **kwargs)


def _settle(fut: Future, result=None, error: BaseException | None = None) -> None:
    """Resolve a Future unless it was cancelled meanwhile (shutdown)."""
    try:
        fut.set_exception(error) if error is not None else fut.set_result(result)
    except InvalidStateError:
        pass


@dataclass
class _Tracked:
    spec: object
    runs_dir: str
    future: Future
    job: object = None  # submitit.slurm.slurm.SlurmJob
    state: str = "pending"  # pending | running | done | failed
    gone_since: float | None = None  # when the job was first seen ended or absent without a result
    eval_sets: tuple = ()  # extra sets the run evaluates at every eval point (train_run's eval_sets)

    @property
    def job_id(self) -> str:
        return self.job.job_id if self.job is not None else ""


class SlurmExecutor:
    """store.Executor on Slurm through submitit: queued runs go out as one job array per flush.

    options: a SlurmOptions, else loaded from `config` (a TOML file), else $SCALINGLAWS_SLURM_CONFIG, else
    the defaults; keyword overrides (threads= sets cpus_per_task, parallelism= array_parallelism, or any
    SlurmOptions field) apply on top. log=False: no progress lines."""

    def __init__(self, options: SlurmOptions | None = None, *, config: str | os.PathLike | None = None,
                 threads: int | None = None, parallelism: int | None = None, log: bool = True, **overrides):
        opts = options or SlurmOptions.load(config)
        if overrides:
            given = {k: v for k, v in overrides.items() if v is not None}
            opts = SlurmOptions.from_dict({**dataclasses.asdict(opts), **given})
        self.options = opts.replace(cpus_per_task=threads, array_parallelism=parallelism)
        self._submitit = _submitit()
        why = slurm_available()
        if why:
            raise SlurmError(f"cannot submit to Slurm from here: {why}")
        # The line and its newline in one write: print(msg) writes them separately, and the monitor thread's
        # status lines then ran into the main thread's output ("... 0 failed[ensure_runs] ...").
        self._say = (lambda msg: print(msg + "\n", end="", flush=True)) if log else (lambda msg: None)
        self._lock = threading.RLock()
        self._poll_lock = threading.Lock()  # poll() from the monitor thread and from a caller, one at a time
        self._queue: list[tuple[_Tracked, str]] = []  # (run, device) not yet submitted
        self._tracked: list[_Tracked] = []
        self._last_submit = 0.0
        self._counts: tuple | None = None
        self._squeue_warned = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.arrays: list[str] = []  # Slurm job ids of the arrays (or single jobs) submitted

    # ------------------------------------------------------------------ Executor protocol
    def submit(self, spec, runs_dir, device: str = "cpu", log: str = "none", **kw) -> Future:
        """Queue a run (jobs log every evaluation to their own files, whatever `log` says)."""
        fut: Future = Future()
        with self._lock:
            self._queue.append((_Tracked(spec, str(runs_dir), fut, eval_sets=tuple(kw.get("eval_sets") or ())),
                                device or "cpu"))
            self._last_submit = time.monotonic()
        self._ensure_thread()
        return fut

    def flush(self) -> list[str]:
        """Submit every queued run: one job array per (store, device); returns the Slurm job ids."""
        with self._lock:
            queue, self._queue = self._queue, []
        groups: dict[tuple[str, str], list[_Tracked]] = {}
        for t, device in queue:
            groups.setdefault((t.runs_dir, device), []).append(t)
        ids = []
        for (runs_dir, device), runs in groups.items():
            try:
                ids.append(self._submit_array(runs, runs_dir, device))
            except BaseException:
                for t in runs:
                    t.future.cancel()
                raise
        return ids

    def shutdown(self) -> None:
        """Stop following the jobs. Unfinished ones are cancelled (cancel_on_exit): their runs resume from
        their checkpoints the next time they are asked for."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        with self._lock:
            queue, self._queue = self._queue, []
            open_ = [t for t in self._tracked if not t.future.done()]
        for t, _ in queue:
            t.future.cancel()
        if open_ and self.options.cancel_on_exit:
            ids = [t.job_id for t in open_]
            subprocess.run(["scancel", *ids], capture_output=True, timeout=60)
            shown = ", ".join(ids[:4]) + (" ..." if len(ids) > 4 else "")
            self._say(f"[slurm] cancelled {len(ids)} unfinished job(s) ({shown}); "
                      "their runs resume from their last checkpoints when asked for again")
        for t in open_:
            t.future.cancel()

    def describe(self) -> str:
        o = self.options
        return (f"Slurm job array, {o.cpus_per_task} CPU(s) x {o.cpus_per_task} thread(s), {o.mem_gb:g} GB, "
                f"{o.time_min} min per run" + (f", partition {o.partition}" if o.partition else ""))

    # ------------------------------------------------------------------ helpers
    def job_id(self, future: Future) -> str:
        """The Slurm job id ("<array>_<task>") of a submitted run's Future ("" while queued)."""
        with self._lock:
            return next((t.job_id for t in self._tracked if t.future is future), "")

    def log_paths(self, future: Future) -> tuple[Path, Path] | None:
        """(stdout, stderr) log files of a submitted run's job."""
        with self._lock:
            t = next((t for t in self._tracked if t.future is future), None)
        return (t.job.paths.stdout, t.job.paths.stderr) if t is not None and t.job is not None else None

    def _log_dir(self, runs_dir: str) -> Path:
        return Path(self.options.log_dir).expanduser() if self.options.log_dir else Path(runs_dir) / ".slurm"

    def _executor(self, folder: Path, device: str):
        """The submitit executor for one array."""
        o = self.options
        ex = self._submitit.SlurmExecutor(folder=folder, max_num_timeout=o.max_requeues)
        gpus = o.gpus_per_task if o.gpus_per_task >= 0 else (1 if device.startswith("cuda") else 0)
        params = dict(job_name=o.job_name, time=o.time_min, cpus_per_task=o.cpus_per_task,
                      mem=f"{round(o.mem_gb * 1024)}M", signal_delay_s=o.signal_delay_s,
                      array_parallelism=o.array_parallelism,
                      # the jobs see this process's environment (SCALINGLAWS_CACHE, HF_*_OFFLINE, ...),
                      # whatever the site's default for sbatch --export is
                      additional_parameters={"export": "ALL", **o.sbatch})
        params.update({k: v for k, v in (("partition", o.partition), ("account", o.account), ("qos", o.qos)) if v})
        if gpus:
            params["gpus_per_node"] = gpus
        if o.setup:
            params["setup"] = list(o.setup)
        try:
            ex.update_parameters(**params)
        except ValueError as e:
            raise SlurmError(f"submitit refused the Slurm options: {str(e).splitlines()[0]}") from None
        return ex

    def _submit_array(self, runs: list[_Tracked], runs_dir: str, device: str) -> str:
        folder = self._log_dir(runs_dir)
        folder.mkdir(parents=True, exist_ok=True)
        ex = self._executor(folder, device)
        fn = TrainJob()
        try:
            with ex.batch():
                jobs = [ex.submit(fn, t.spec, t.runs_dir, device=device, threads=self.options.cpus_per_task,
                                  checkpoint_every_s=self.options.checkpoint_every_s,
                                  eval_sets=list(t.eval_sets) or None) for t in runs]
        except Exception as e:  # noqa: BLE001 - sbatch's own message, in one line
            lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()] or [e.__class__.__name__]
            errs = [ln for ln in lines if "error" in ln.lower()]
            raise SlurmError(f"sbatch refused the job array of {len(runs)} run(s): {(errs or lines)[-1]}") from None
        with self._lock:
            for t, j in zip(runs, jobs):
                t.job = j
                self._tracked.append(t)
            array = jobs[0].job_id.split("_")[0]
            self.arrays.append(array)
        o = self.options
        what = f"job array {array} ({len(runs)} tasks)" if len(runs) > 1 else f"job {array}"
        self._say(f"[slurm] submitted {len(runs)} run(s) as {what}, each {o.cpus_per_task} CPU(s), {o.mem_gb:g} GB, "
                  f"{o.time_min} min, device {device}; logs in {folder}")
        self._report(force=True)
        return array

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._watch, name="slurm-monitor", daemon=True)
                self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(min(self.options.poll_s, 1.0) if self._queue else self.options.poll_s):
            try:
                if self._queue and time.monotonic() - self._last_submit > 1.0:
                    try:
                        self.flush()  # a caller of the plain protocol (no flush): its submits, one array
                    except ScalingLawsError as e:
                        self._say(f"[slurm] submission failed: {e}")
                self.poll()
            except Exception as e:  # noqa: BLE001 - the monitor must not die silently
                self._say(f"[slurm] monitor error (retrying): {e.__class__.__name__}: {e}")

    def poll(self) -> None:
        """One look at the jobs: resolve the Futures of finished ones, print a line if the counts changed."""
        with self._poll_lock:
            self._poll()

    def _poll(self) -> None:
        with self._lock:
            active = [t for t in self._tracked if not t.future.done()]
        if not active:
            return
        states = self._squeue({t.job_id.split("_")[0] for t in active})
        now = time.monotonic()
        for t in active:
            outcome = self._result(t)
            if outcome is not None:
                kind, value = outcome
                if kind == "success":
                    t.state = "done"
                    _settle(t.future, result=Path(value))
                else:
                    last = [ln.strip() for ln in str(value).strip().splitlines() if ln.strip()]
                    # the traceback's last line, without the module path: "RunError: data_tokens=..."
                    why = re.sub(r"^(?:\w+\.)+(\w+: )", r"\1", last[-1]) if last else "the job raised an error"
                    self._fail(t, why)
                continue
            if states is None:  # squeue did not answer: wait for the next look
                continue
            st = states.get(t.job_id, "")
            if st in PENDING_STATES:
                t.state, t.gone_since = "pending", None
            elif st in RUNNING_STATES:
                t.state, t.gone_since = "running", None
            else:  # ended (or no longer in the queue) without a result file: give the filesystem a moment
                t.gone_since = t.gone_since or now
                if now - t.gone_since >= self.options.grace_s:
                    self._fail(t, f"the job ended ({st or 'no longer in the queue'}) without a result "
                                  "(cancelled, out of memory, node failure or time limit?)")
        self._report()

    def _fail(self, t: _Tracked, why: str) -> None:
        t.state = "failed"
        log = str(t.job.paths.stderr)
        msg = f"Slurm job {t.job_id} failed: {why}; log: {log}"
        self._say(f"[slurm] run {t.spec.run_id} (job {t.job_id}) FAILED: {why}; log: {log}")
        _settle(t.future, error=SlurmJobError(msg, run_id=t.spec.run_id, job_id=t.job_id, log=log))

    def _result(self, t: _Tracked):
        p = t.job.paths.result_pickle
        if not p.exists():
            return None
        try:
            return self._submitit.core.utils.pickle_load(p)
        except Exception as e:  # noqa: BLE001 - a half-visible file on a slow filesystem: next look
            late = t.gone_since is not None and time.monotonic() - t.gone_since > self.options.grace_s
            return ("error", f"unreadable result file {p}: {e}") if late else None

    def _squeue(self, arrays: set[str]) -> dict[str, str] | None:
        """{job id: state} of these jobs (array tasks one by one), including recently ended ones;
        None if squeue failed."""
        cmd = ["squeue", "-h", "-r", "--states=all", "-o", "%i|%T", "-j", ",".join(sorted(arrays))]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            r = subprocess.CompletedProcess(cmd, 1, "", str(e))
        if r.returncode != 0:
            if "Invalid job id" in r.stderr:  # every job asked about has left the controller's memory
                return {}
            if not self._squeue_warned:
                self._squeue_warned = True
                self._say(f"[slurm] squeue failed ({r.stderr.strip() or r.returncode}); still waiting for result files")
            return None
        out = {}
        for line in r.stdout.splitlines():
            jid, _, st = line.strip().partition("|")
            if jid:
                out[jid] = st.strip().split()[0] if st.strip() else ""
        return out

    def _report(self, force: bool = False) -> None:
        with self._lock:
            states = [t.state for t in self._tracked]
        counts = tuple(states.count(s) for s in ("pending", "running", "done", "failed"))
        if counts != self._counts or force:
            self._counts = counts
            self._say("[slurm] {} pending, {} running, {} done, {} failed".format(*counts))


__all__ = ["SlurmExecutor", "SlurmOptions", "SlurmError", "SlurmJobError", "TrainJob", "slurm_available"]
