"""train_run(spec) -> run_dir: one idempotent, resumable training run (GPT-2, or an LSTM baseline).

    from scalinglaws import RunSpec, train_run
    run_dir = train_run(RunSpec(n_layer=2, d_model=32, tokens=2_000_000), "runs/demo")

The loop reads top to bottom in ``_train_locked``: a step (trainer.Trainer.step), the divergence check, and
at an eval point (trainer.eval_point) the metrics row, early stopping and a checkpoint; then ``finish_run``
writes metrics, sidecars, weights, the summary and the checksums, and last the atomic DONE. Checkpoints
load weights-only; a cooldown branch starts from its trunk's checkpoint (branches.py). The files of a run
folder and their checks: run_folder.py.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import pickle
import platform
import stat
import sys
import time
import warnings
import zipfile
from dataclasses import asdict
from pathlib import Path

import torch

from scalinglaws import __version__
from scalinglaws.data.paths import file_lock
from scalinglaws.data.tokens import prepare_tokens
from scalinglaws.training.branches import check_branch_of
from scalinglaws.training.evaluate import VAL, EvalSets, evaluate_run, save_weights
from scalinglaws.training.run_folder import (
    FROM_PARENT,
    RECOMPUTED,
    checkpoint_name,
    file_sha256,
    is_done,
    refuse_links,
    tmp_path,
    writable,
    write_checksums,
    write_json_atomic,
    write_sidecars,
)
from scalinglaws.training.schedule import eval_steps
from scalinglaws.training.spec import RunSpec
from scalinglaws.training.trainer import (
    DIVERGE_MARGIN_NATS,
    Log,
    Progress,
    RunError,
    Trainer,
    check_data,
    diverged_interval,
    diverged_train,
    diverged_val,
    eval_point,
    metrics_row,
    resolve_device,
    tune_allocator,
)


def train_run(
    spec: RunSpec,
    runs_dir: str | os.PathLike = "runs/default",
    *,
    device: str | None = "cpu",
    threads: int | None = None,
    log: str = "auto",
    checkpoint_every_s: float = 30.0,
    stop_after_step: int | None = None,
    eval_sets=None,
    branches=None,
) -> Path:
    """Train `spec` into ``runs_dir/<spec.run_id>`` unless it is already DONE; return the run folder.

    log: "auto" (a tqdm bar on a terminal, one line per eval otherwise), "eval", "bar" or "none".
    stop_after_step: for tests of resume; stops (as a kill would) after checkpointing at that step.
    eval_sets: extra text to evaluate at every eval point, e.g. ["ood"], ["ood:fortunes", "gutenberg:3"]
      (names: evaluate.py). An argument, not a RunSpec field: what a run is also measured on does not
      change what it trains, so it must not change its address, config.json, metrics or summary; the
      losses go to the evals.jsonl sidecar, and the final loss by position on every set to positions.json.
      A run already DONE gets the sets it lacks at its final point only, from its kept weights
      (evaluate.evaluate_run); for every point of such a run, train the spec again in a scratch store.
    branches: cooldown branches of this run (branches.branch_specs): while training, it keeps the checkpoint
      each one starts from (ckpt_step<s>.pt). Changes nothing of this run. A run already DONE writes none:
      its branches then train their stable phase themselves (the same numbers).
    """
    spec = spec.validate()
    for b in branches or ():
        check_branch_of(spec, b)
    device = resolve_device(device)
    run_dir = Path(runs_dir) / spec.run_id
    refuse_links(run_dir)  # before anything is read from, or written to, the folder
    if is_done(run_dir):
        if eval_sets:
            evaluate_run(run_dir, eval_sets, device=device)
        return run_dir
    # Data problems (and unknown eval sets) surface before the run folder exists, so a failed start
    # leaves nothing behind.
    data = prepare_tokens(spec.corpus, spec.vocab_size, quiet=log == "none")
    check_data(spec, data)
    extra = EvalSets(eval_sets, data, spec)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with file_lock(run_dir / ".lock", waiting=f"run {spec.run_id} (N={spec.n_params:,})"):
            if is_done(run_dir):  # trained by another process while we waited for the lock
                return run_dir
            return _train_locked(spec, data, extra, run_dir, device, threads, log, checkpoint_every_s, stop_after_step,
                                 branches or [])
    except OSError as e:
        # Permission, not a directory, disk full: one line naming the folder. Nothing is marked DONE, and
        # the last checkpoint (written every checkpoint_every_s) stays, so the run resumes from it.
        hint = {28: "free some disk space", 13: "choose a folder you can write to (--runs-dir)",
                20: "a path component is a file, not a folder"}.get(e.errno, "check the folder")
        ckpt = run_dir / "ckpt.pt"
        state = ("the run is not marked done and resumes from its last checkpoint" if ckpt.is_file() else
                 "the run is not marked done and starts over next time")
        raise RunError(f"cannot write run {spec.run_id} in {run_dir.parent}: {e.strerror or e} ({hint}); {state}") from None


def _train_locked(spec, data, extra, run_dir, device, threads, log, checkpoint_every_s, stop_after_step,
                  branches) -> Path:
    if threads:
        torch.set_num_threads(threads)
    malloc_tuned = tune_allocator()  # see _MALLOC_SETTINGS; where memory comes from, not what is computed
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 matmuls for any fp32 work on GPU
        torch.backends.cudnn.allow_tf32 = True
    write_config(spec, data, run_dir, device, malloc_tuned)

    tr, p = start_or_resume(spec, data, device, run_dir)
    out = Log(log, spec, p.step)
    evals = set(eval_steps(spec))
    limit = math.log(spec.vocab_size) + DIVERGE_MARGIN_NATS  # see DIVERGE_MARGIN_NATS
    shadows = Shadows(spec, branches, run_dir, p, limit) if branches else None
    status, reason = "ok", ""
    # train loss summed since the last eval (a branch started from its trunk's checkpoint brings its own)
    run_sum, run_n = p.carry_sum, p.carry_n
    p.carry_sum, p.carry_n = 0.0, 0
    last_ckpt = time.perf_counter()
    t0 = time.perf_counter()
    while p.step < spec.steps:
        loss = tr.step(p.step)  # a float on CPU; a device tensor on CUDA (no per-step sync)
        p.step += 1
        out.tick()
        if not tr.on_cuda and (reason := diverged_train(loss, p.step, spec.vocab_size, limit)):
            status = "diverged"
            break
        run_sum, run_n = run_sum + loss, run_n + 1
        if shadows:  # the branches' rows and checkpoints: like evals, not training time
            t0 += shadows.after_step(tr, p.step, loss, p.train_s + time.perf_counter() - t0)
        if p.step not in evals:
            continue

        # --- an eval point: its time is not training time ---
        if tr.on_cuda:
            run_sum = float(run_sum)  # the one sync per eval interval
            if reason := diverged_interval(run_sum, run_n, p.step, limit):
                status = "diverged"
                break
        p.train_s += time.perf_counter() - t0
        ended = eval_point(spec, tr, p, extra, out, run_sum / run_n, limit)
        run_sum, run_n = 0.0, 0
        if ended:
            status, reason = ended
            break
        if p.step < spec.steps and (time.perf_counter() - last_ckpt > checkpoint_every_s or stop_after_step is not None):
            p.shadows = shadows.export() if shadows else {}
            save_checkpoint(run_dir, tr, p)
            last_ckpt = time.perf_counter()
        if stop_after_step is not None and p.step >= stop_after_step:
            out.close()
            return run_dir  # simulated kill: checkpoint written, no DONE
        t0 = time.perf_counter()
    out.close()
    return finish_run(spec, run_dir, tr, extra, p, status, reason)


def _versions() -> dict:
    return {
        "scalinglaws": __version__,
        "torch": torch.__version__,
        "transformers": importlib.metadata.version("transformers"),  # without importing it (seconds)
        "python": platform.python_version(),
    }


def finish_run(spec: RunSpec, run_dir: Path, tr: Trainer, extra: EvalSets, p: Progress, status: str, reason: str) -> Path:
    """Write metrics, sidecars and weights, then the summary, the checksums, then DONE (atomic: the run is a
    result)."""
    if status == "ok" and p.step == spec.steps and (not p.rows or p.rows[-1]["step"] != p.step):  # pragma: no cover
        raise RunError("internal: the last step was not evaluated")
    write_json_atomic(run_dir / "metrics.jsonl", p.rows, lines=True)
    positions = None
    if status != "diverged" and p.rows:  # the final weights are those of the last eval
        positions = {"step": p.step, "tokens": p.step * spec.tokens_per_step, "n_ctx": spec.n_ctx,
                     "windows": {VAL: len(tr.eval_x), **{n: extra.info[n]["windows"] for n in extra.names}},
                     "losses": {VAL: tr.scorer.position_loss(tr.eval_x).tolist(), **extra.positions(tr.scorer)}}
    rows = [r for r in p.extra_rows if r["set"] in extra.names]  # a resumed run may have been asked for others
    points = {n: sum(r["set"] == n for r in rows) for n in extra.names}  # fewer than evals if added at a resume
    sets = {n: {**extra.info[n], "evaluated": "during training", "points": points[n]} for n in extra.names}
    write_sidecars(run_dir, run_id=spec.run_id, rows=rows, positions=positions, sets=sets,
                   weights_sha256=save_weights(tr.model, spec, run_dir))
    write_json_atomic(run_dir / "summary.json", _summary(spec, run_dir, p, status, reason))
    write_checksums(run_dir)  # of every file above; read_verified compares them on every read
    done = writable(run_dir / "DONE")
    tmp_path(done).write_text(f"{status}\n")
    os.replace(tmp_path(done), done)  # atomic: the run is now a result
    (run_dir / "ckpt.pt").unlink(missing_ok=True)
    return run_dir


def _summary(spec: RunSpec, run_dir: Path, p: Progress, status: str, reason: str) -> dict:
    tokens_done = p.step * spec.tokens_per_step
    return {
        "run_id": spec.run_id,
        "status": status,
        "reason": reason,
        "N": spec.n_params,
        "steps": p.step,
        "tokens": tokens_done,
        "final_val_loss": p.rows[-1]["val_loss"] if p.rows else None,
        "best_val_loss": p.best if math.isfinite(p.best) else None,
        "best_step": p.best_step,
        "best_tokens": p.best_step * spec.tokens_per_step,
        "train_seconds": round(p.train_s, 3),
        "tokens_per_s": tokens_done / p.train_s if p.train_s > 0 else None,
        # what metrics.jsonl held when the run finished: store._read_verified compares, so a later edit,
        # truncation or bad copy of the curve is caught even where the last line still matches
        "metrics_sha256": file_sha256(run_dir / "metrics.jsonl"),
        # cooldown branches (branches.py), only where there are any, so other summaries are as before:
        # where a branch's stable phase came from, and the checkpoints a trunk keeps for its branches
        **({"branch": {"parent": spec.branch_from, "step": spec.branch_step, "start": p.origin}}
           if spec.branch_from else {}),
        **({"branch_checkpoints": kept} if (kept := sorted(f.name for f in run_dir.glob("ckpt_step*.pt"))) else {}),
    }


def write_config(spec: RunSpec, data, run_dir: Path, device: str, malloc_tuned: bool,
                  execution: dict | None = None) -> None:
    """execution: how the run was trained when not alone (batched.py: {"mode": "batched", ...}); absent
    for a run trained one at a time, so those config.json files are as before it existed."""
    write_json_atomic(run_dir / "config.json", {
        "run_id": spec.run_id,
        "spec": spec.to_dict(),
        "derived": spec.describe(),
        "corpus": {
            "name": spec.corpus,
            "fingerprint": data.fingerprint,
            "split_tokens": data.meta["tokens"],
            "documents": data.meta["documents"],
            # "by document" (the usual case) or "by position" for a corpus of one or two texts
            "split": data.meta.get("source", {}).get("split", "by document"),
            "train_tokens_used": spec.data_tokens or data.meta["tokens"]["train"],
        },
        "versions": _versions(),
        "device": device,
        "threads": torch.get_num_threads(),
        "malloc_tuned": malloc_tuned,
        **({"execution": execution} if execution else {}),
    })


def save_checkpoint(run_dir: Path, tr: Trainer, p: Progress) -> None:
    """ckpt.pt (weights, optimizer, RNG and Progress) and the metrics so far, each replaced atomically."""
    path = writable(run_dir / "ckpt.pt")
    torch.save({"state": tr.state(), **asdict(p)}, tmp_path(path))
    os.replace(tmp_path(path), path)
    write_json_atomic(run_dir / "metrics.jsonl", p.rows, lines=True)


class DamagedCheckpoint(Exception):
    """ckpt.pt does not load as a checkpoint of this run (resume); start_or_resume starts over."""


# What a ckpt.pt that does not load raises: torch.load on a truncated or foreign file (RuntimeError from
# the zip reader, EOFError, KeyError, BadZipFile), the weights-only unpickler on anything but tensors,
# numbers, strings and containers (UnpicklingError: a crafted pickle is refused here, its code never run),
# and Trainer.load or Progress on the wrong contents (KeyError, TypeError, ValueError, RuntimeError).
_LOAD_ERRORS = (pickle.UnpicklingError, EOFError, RuntimeError, ValueError, KeyError, TypeError, AttributeError,
                IndexError, zipfile.BadZipFile)
_PROGRESS_TYPES = {"rows": list, "step": int, "best": (int, float), "best_step": int, "since_best": int,
                   "train_s": (int, float), "extra_rows": list, "origin": str, "carry_sum": (int, float),
                   "carry_n": int, "shadows": dict}


def start_or_resume(spec: RunSpec, data, device: str, run_dir: Path) -> tuple[Trainer, Progress]:
    """A trainer and its progress: restored from run_dir/ckpt.pt when there is one, else a fresh start.
    A checkpoint that does not load is deleted and the run starts over, as if it never existed (a new
    Trainer: build_model reseeds, so the run is the one a clean start trains), with one line saying so;
    never an error at every later attempt."""
    tr = Trainer(spec, data, device)
    try:
        p = resume(run_dir, tr)
        if p.step:  # an interrupted run goes on: say so, or a restart looks like a fresh run
            print(f"[scalinglaws] resuming run {spec.run_id} from step {p.step:,} of {spec.steps:,} (its checkpoint)",
                  file=sys.stderr, flush=True)
    except DamagedCheckpoint as e:
        print(f"[scalinglaws] run {spec.run_id}: checkpoint damaged: starting over ({e}; deleted)",
              file=sys.stderr, flush=True)
        (run_dir / "ckpt.pt").unlink(missing_ok=True)
        tr, p = Trainer(spec, data, device), Progress()
    if spec.branch_from and not p.origin:  # a branch's first start; its own checkpoints record the origin
        return start_branch(spec, data, device, run_dir, tr)
    return tr, p


def start_branch(spec: RunSpec, data, device: str, run_dir: Path, tr: Trainer) -> tuple[Trainer, Progress]:
    """A cooldown branch's start: its trunk's checkpoint at the branch point (the trunk's weights,
    optimizer and RNG there, and this branch's progress up to it), or, without a checkpoint that loads
    and holds this branch, the stable phase trained here from step 0 (the same steps, so the same
    numbers: see branches.py), said in one line."""
    path = run_dir.parent / spec.branch_from / checkpoint_name(spec.branch_step)
    try:
        if path.parent.is_symlink() or not stat.S_ISREG(os.lstat(path).st_mode):
            raise DamagedCheckpoint(f"{path} is not a plain file")
        ck = _load_weights_only(path)
        p = _progress(ck["branches"][spec.run_id])
        if p.step != spec.branch_step:
            raise ValueError(f"it holds step {p.step}")
        tr.load(ck["state"])
        p.origin = FROM_PARENT
        return tr, p
    except torch.OutOfMemoryError:
        raise
    except FileNotFoundError:
        why = f"trunk {spec.branch_from} keeps no {path.name}"
    except (DamagedCheckpoint, *_LOAD_ERRORS) as e:
        why = f"{path} does not load for it ({e.__class__.__name__})"
    print(f"[scalinglaws] branch {spec.run_id}: {why}: training its stable phase from step 0 "
          "(the same steps as the trunk's)", file=sys.stderr, flush=True)
    return Trainer(spec, data, device), Progress(origin=RECOMPUTED)  # a fresh trainer: tr may be half loaded


def _load_weights_only(path: Path) -> dict:
    with warnings.catch_warnings():  # a foreign pickle's protocol warning: it is refused just below anyway
        warnings.filterwarnings("ignore", message="Detected pickle protocol")
        # map_location: a checkpoint written on a GPU loads anywhere; Trainer.load moves it to the device
        return torch.load(path, map_location="cpu", weights_only=True)


def _progress(ck: dict) -> Progress:
    """The Progress saved in a checkpoint (ckpt.pt, or a branch's entry in its trunk's ckpt_step<s>.pt),
    every field checked for its type (TypeError otherwise)."""
    p = Progress(**{k: ck[k] for k in ("rows", "step", "best", "best_step", "since_best", "train_s")},
                 # checkpoints from before eval sets, or branches, have none of these
                 **{k: ck[k] for k in ("extra_rows", "origin", "carry_sum", "carry_n", "shadows") if k in ck})
    bad = [k for k, t in _PROGRESS_TYPES.items() if not isinstance(getattr(p, k), t)]
    if bad:
        raise TypeError(f"progress fields of the wrong type: {', '.join(bad)}")
    return p


def resume(run_dir: Path, tr: Trainer) -> Progress:
    """The progress saved in run_dir/ckpt.pt, with the trainer restored to it; a fresh start without one.
    Raises DamagedCheckpoint when the file does not load (the trainer may then be half restored)."""
    path = run_dir / "ckpt.pt"
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return Progress()
    if not stat.S_ISREG(mode):  # a link (refuse_links says so first), folder or pipe: nothing a run writes
        raise RunError(f"{path} is not a plain file, so not a checkpoint a run wrote: remove it (rm -r {path}) "
                       "and run again; the run starts over")
    try:
        ck = _load_weights_only(path)
        p = _progress(ck)
        tr.load(ck["state"])
    except torch.OutOfMemoryError:
        raise  # the device is full, the checkpoint is fine: never delete it for that
    except _LOAD_ERRORS as e:
        raise DamagedCheckpoint(f"{path} does not load: {e.__class__.__name__}") from None
    return p


class Shadows:
    """What a trunk keeps for its cooldown branches (branches.py) while it trains its stable phase: each
    branch's progress as the branch itself would have it (its metrics rows at its own eval steps, from the
    trunk's weights, which are the branch's there), and at each branch point the checkpoint the branches
    there start from: ckpt_step<s>.pt = {"state": the trainer, "branches": {run id: progress}}. The trunk's
    own numbers are untouched (evaluation changes no weight and draws no random number)."""

    def __init__(self, trunk: RunSpec, branches: list[RunSpec], run_dir: Path, p: Progress, limit: float):
        self.run_dir, self.limit = run_dir, limit
        self.specs = {b.run_id: b for b in branches if b.branch_step > p.step}  # earlier points have passed
        self.evals = {i: set(eval_steps(b)) for i, b in self.specs.items()}
        self.live: dict[str, Progress] = {}
        for i in self.specs:
            if p.step == 0:
                self.live[i] = Progress()
            elif i in p.shadows:  # a resumed trunk: the branches' progress was in its checkpoint
                self.live[i] = _progress(p.shadows[i])
        if dropped := len(self.specs) - len(self.live):
            print(f"[scalinglaws] trunk {trunk.run_id}: {dropped} branch(es) asked for after it started: they will "
                  "train their stable phase themselves", file=sys.stderr, flush=True)

    def after_step(self, tr: Trainer, step: int, loss, train_s: float) -> float:
        """Account optimizer step `step` (1-based, just taken, its train loss `loss`) for every branch
        still before its branch point; returns the seconds spent (evaluations, checkpoints)."""
        t0, val = time.perf_counter(), None
        for i, bp in list(self.live.items()):
            b = self.specs[i]
            bp.step, bp.train_s = step, train_s
            bp.carry_sum, bp.carry_n = bp.carry_sum + loss, bp.carry_n + 1
            if step in self.evals[i]:
                val = tr.evaluate() if val is None else val  # one evaluation per step for every branch
                if diverged_val(val, step, self.limit):  # the branch stops there too: it retrains to say so
                    del self.live[i]
                    continue
                bp.rows.append(metrics_row(b, tr, bp, train_loss=float(bp.carry_sum) / bp.carry_n, val=val))
                bp.record_eval(val)
                bp.carry_sum, bp.carry_n = 0.0, 0
        here = [i for i in self.live if self.specs[i].branch_step == step]
        if here:
            path = writable(self.run_dir / checkpoint_name(step))
            entries = {i: {**asdict(self.live.pop(i)), "shadows": {}} for i in here}
            for e in entries.values():
                e["carry_sum"] = float(e["carry_sum"])  # a device tensor on CUDA
            torch.save({"state": tr.state(), "branches": entries}, tmp_path(path))
            os.replace(tmp_path(path), path)
        return time.perf_counter() - t0

    def export(self) -> dict:
        """The branches' progress so far, for the trunk's ckpt.pt (plain data: weights-only loadable)."""
        return {i: {**asdict(bp), "carry_sum": float(bp.carry_sum)} for i, bp in self.live.items()}
