"""train_run(spec) -> run_dir: one idempotent, resumable training run (GPT-2, or an LSTM baseline).

    from scalinglaws import RunSpec, train_run
    run_dir = train_run(RunSpec(n_layer=2, d_model=32, tokens=2_000_000), "runs/demo")

Where things are: the LR schedule and the eval steps in schedule.py; the model in model.py; the loss
(training, validation, extra sets, by position) in evaluate.Scorer; one optimizer step in
``_Trainer.step``; the loop in ``_train_locked``, with a helper for each thing it does at an eval point.

The run folder (``<runs_dir>/<spec.run_id>/``):
- ``config.json``   the spec, derived quantities (N, FLOPs/token), versions, corpus fingerprint and split
- ``metrics.jsonl`` one row per eval: step, tokens, C (6N·tokens), C_full, lr, train/val loss, wall seconds
- ``summary.json``  final and best validation loss, step of best, tokens/s, status
- ``evals.jsonl``, ``positions.json``, ``evals.json``  sidecars (store.py): losses on extra eval sets at
  every eval point, the final loss at each position in the context, and their checksums
- ``model.safetensors``  the final weights, with the spec (git-ignored: not part of the published store)
- ``DONE``          written last and atomically; a folder without it is never read as a result
- ``ckpt.pt``       resume point while the run is unfinished (git-ignored, removed at the end)

Extra eval sets never change a run: same address, same metrics.jsonl and summary.json as without them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.metadata
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import ScalingLawsError, __version__
from .config import RunSpec, SpecError  # noqa: F401 - SpecError: importable from here as before
from .data import batch_starts, file_lock, gather_windows, prepare_tokens, subset_tokens
from .evaluate import VAL, EvalSets, Scorer, evaluate_run, save_weights, validation_windows
from .model import build_model
from .schedule import eval_steps, get_lr
from .store import file_sha256, is_done, write_json_atomic, write_sidecars  # noqa: F401 - is_done: re-exported

# How far above ln(vocab) a loss may go before the run counts as diverged. A loss that far above the
# uniform loss (every token equally likely) is no learning curve: the run has exploded, and is stopped
# and recorded as diverged at once rather than left to finish as "ok". Healthy runs start at ~ln(vocab)
# and fall; transient spikes of high-LR sweep runs stay well inside the margin.
DIVERGE_MARGIN_NATS = 3.0
# RunSpec.noise_scale: steps between gradient-noise measurements. Each costs one forward/backward on half
# a batch, so measuring every 16th step adds ~3% to the training time.
NOISE_EVERY = 16


class RunError(ScalingLawsError):
    pass


def check_data(spec: RunSpec, data) -> None:
    """Fail before any work if the corpus cannot supply what the spec asks for."""
    n_train = data.meta["tokens"]["train"]
    if spec.data_tokens:
        if spec.data_tokens > n_train:
            raise RunError(
                f"data_tokens={spec.data_tokens:,} exceeds the corpus's {n_train:,} train tokens; lower data_tokens or use a larger corpus"
            )
    elif spec.tokens > n_train:
        raise RunError(
            f"the corpus has {n_train:,} train tokens, fewer than the {spec.tokens:,} requested without repetition; "
            "lower tokens, use a larger corpus, or set data_tokens to repeat a subset"
        )
    n_val = data.meta["tokens"]["validation"]
    if n_val <= spec.n_ctx + 1:
        raise RunError(f"validation split has {n_val} tokens, too few for n_ctx={spec.n_ctx}; use a larger corpus")


# glibc malloc settings for a training process (mallopt parameter numbers from malloc.h). By default
# glibc serves blocks above a (dynamic) threshold with mmap and trims freed memory at the heap top back
# to the OS, so a training step that frees and re-allocates the same multi-MB activations can fault
# every page of them in again, step after step (what it cost: docs/decisions.md, 2026-11-28).
# Numerics are unchanged: only where memory comes from.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MALLOC_SETTINGS = {_M_MMAP_THRESHOLD: 32 << 20, _M_TRIM_THRESHOLD: 1 << 30, _M_TOP_PAD: 64 << 20}


def tune_allocator() -> bool:
    """Keep freed memory in the process (no mmap below 32 MB, no trimming); True if applied. A no-op
    off glibc (macOS, musl): those allocators are left as they are."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return all(libc.mallopt(k, v) == 1 for k, v in _MALLOC_SETTINGS.items())
    except (OSError, AttributeError):  # pragma: no cover - no libc or no mallopt
        return False


def resolve_device(device: str | None) -> str:
    device = device or "cpu"
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RunError(f"device={device!r} but torch sees no CUDA GPU; use device='cpu' or install a CUDA torch")
    if not (device == "cpu" or device.startswith("cuda")):
        raise RunError(f"device={device!r}: use 'cpu', 'cuda' or 'auto'")
    return device


# ---------------------------------------------------------------------------------------------
# The model, its optimizer and one training step
# ---------------------------------------------------------------------------------------------

def make_optimizer(model, spec: RunSpec) -> torch.optim.Optimizer:
    """AdamW that decays only matrices (not biases, layer norms or embeddings), as GPT-2/nanoGPT do."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and "wte" not in name and "wpe" not in name else no_decay).append(p)
    kw = dict(lr=spec.lr, betas=(spec.beta1, spec.beta2), eps=1e-8)
    groups = [{"params": decay, "weight_decay": spec.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    try:  # fused AdamW: one kernel per step instead of a Python loop over tensors
        return torch.optim.AdamW(groups, fused=True, **kw)
    except (RuntimeError, TypeError):  # pragma: no cover - older torch / unsupported device
        return torch.optim.AdamW(groups, foreach=True, **kw)


class _Trainer:
    """Model, optimizer, data and the loss: what one step needs, and what a checkpoint saves."""

    def __init__(self, spec: RunSpec, data, device: str):
        self.spec, self.device = spec, device
        self.model = build_model(spec.shape(), dropout=spec.dropout, seed=spec.seed, kernels=spec.kernels).to(device)
        self.opt = make_optimizer(self.model, spec)
        self.train_tokens = subset_tokens(data.train, spec.data_tokens, spec.data_sampling)
        self.eval_x = validation_windows(spec, data)
        self.scorer = Scorer(self.model, spec, device)
        self.autocast = self.scorer.autocast
        self.on_cuda = device.startswith("cuda")
        # Sums of |G_small|^2 and |G_big|^2 over the noise measurements since the last eval, and their count.
        self.noise = [0.0, 0.0, 0]

    def loss(self, w):
        """Mean next-token cross-entropy (nats/token) of windows w (batch, n_ctx + 1)."""
        return self.scorer.loss(w)

    def step(self, step: int) -> float:
        spec = self.spec
        starts = batch_starts(len(self.train_tokens), spec.n_ctx, spec.batch_size, spec.seed, step)
        w = torch.from_numpy(gather_windows(self.train_tokens, starts, spec.n_ctx)).to(self.device, non_blocking=True)
        lr = get_lr(step, spec)
        for g in self.opt.param_groups:
            g["lr"] = lr
        measure = spec.noise_scale and step % NOISE_EVERY == 0
        if measure:  # gradient of the mean loss over the first half of the batch, outside .grad
            params = [p for p in self.model.parameters() if p.requires_grad]
            grads = torch.autograd.grad(self.loss(w[: spec.batch_size // 2]), params)
            g2_small = float(sum((g.float() ** 2).sum() for g in grads))
        loss = self.loss(w)
        loss.backward()
        if measure:  # the whole batch's gradient norm, before clipping
            g2_big = float(sum((p.grad.float() ** 2).sum() for p in self.model.parameters() if p.grad is not None))
            self.noise = [self.noise[0] + g2_small, self.noise[1] + g2_big, self.noise[2] + 1]
        if spec.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), spec.grad_clip)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        # On CUDA, .item() would wait for the GPU every step and leave it idle while Python prepares
        # the next one; the loop sums the loss on the device and reads it only at eval points.
        return loss.detach() if self.on_cuda else loss.item()

    def evaluate(self) -> float:
        """Validation loss on the fixed validation windows."""
        return self.scorer.mean_loss(self.eval_x)

    def take_noise(self) -> list:
        """The noise-scale sums since the last call (and start new ones)."""
        noise, self.noise = self.noise, [0.0, 0.0, 0]
        return noise

    def state(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "opt": self.opt.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "noise": list(self.noise),
        }

    def load(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        torch.set_rng_state(state["torch_rng"])
        self.noise = list(state.get("noise", [0.0, 0.0, 0]))


@dataclass
class _Progress:
    """Everything about a run's progress that is not in the model and optimizer; a checkpoint holds it."""

    rows: list = field(default_factory=list)  # metrics.jsonl so far
    step: int = 0
    best: float = math.inf
    best_step: int = 0
    since_best: int = 0  # evals since the best validation loss
    train_s: float = 0.0  # training time, evaluations excluded
    extra_rows: list = field(default_factory=list)  # evals.jsonl so far

    def record_eval(self, val: float) -> None:
        if val < self.best:
            self.best, self.best_step, self.since_best = val, self.step, 0
        else:
            self.since_best += 1


# ---------------------------------------------------------------------------------------------
# train_run and its loop
# ---------------------------------------------------------------------------------------------

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
    """
    spec = spec.validate()
    device = resolve_device(device)
    run_dir = Path(runs_dir) / spec.run_id
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
            return _train_locked(spec, data, extra, run_dir, device, threads, log, checkpoint_every_s, stop_after_step)
    except OSError as e:
        # Permission, not a directory, disk full: one line naming the folder. Nothing is marked DONE, and
        # the last checkpoint (written every checkpoint_every_s) stays, so the run resumes from it.
        hint = {28: "free some disk space", 13: "choose a folder you can write to (--runs-dir)",
                20: "a path component is a file, not a folder"}.get(e.errno, "check the folder")
        ckpt = run_dir / "ckpt.pt"
        state = ("the run is not marked done and resumes from its last checkpoint" if ckpt.is_file() else
                 "the run is not marked done and starts over next time")
        raise RunError(f"cannot write run {spec.run_id} in {run_dir.parent}: {e.strerror or e} ({hint}); {state}") from None


def _train_locked(spec, data, extra, run_dir, device, threads, log, checkpoint_every_s, stop_after_step) -> Path:
    if threads:
        torch.set_num_threads(threads)
    malloc_tuned = tune_allocator()  # see _MALLOC_SETTINGS; where memory comes from, not what is computed
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 matmuls for any fp32 work on GPU
        torch.backends.cudnn.allow_tf32 = True
    _write_config(spec, data, run_dir, device, malloc_tuned)

    tr = _Trainer(spec, data, device)
    p = _resume(run_dir, tr)
    out = _Log(log, spec, p.step)
    evals = set(eval_steps(spec))
    limit = math.log(spec.vocab_size) + DIVERGE_MARGIN_NATS  # see DIVERGE_MARGIN_NATS
    status, reason = "ok", ""
    run_sum, run_n = 0.0, 0  # train loss summed since the last eval
    last_ckpt = time.perf_counter()
    t0 = time.perf_counter()
    while p.step < spec.steps:
        loss = tr.step(p.step)  # a float on CPU; a device tensor on CUDA (no per-step sync)
        p.step += 1
        out.tick()
        if not tr.on_cuda and (reason := _diverged_train(loss, p.step, spec.vocab_size, limit)):
            status = "diverged"
            break
        run_sum, run_n = run_sum + loss, run_n + 1
        if p.step not in evals:
            continue

        # --- an eval point: its time is not training time ---
        if tr.on_cuda:
            run_sum = float(run_sum)  # the one sync per eval interval
            if reason := _diverged_interval(run_sum, run_n, p.step, limit):
                status = "diverged"
                break
        p.train_s += time.perf_counter() - t0
        ended = _eval_point(spec, tr, p, extra, out, run_sum / run_n, limit)
        run_sum, run_n = 0.0, 0
        if ended:
            status, reason = ended
            break
        if p.step < spec.steps and (time.perf_counter() - last_ckpt > checkpoint_every_s or stop_after_step is not None):
            _save_checkpoint(run_dir, tr, p)
            last_ckpt = time.perf_counter()
        if stop_after_step is not None and p.step >= stop_after_step:
            out.close()
            return run_dir  # simulated kill: checkpoint written, no DONE
        t0 = time.perf_counter()
    out.close()
    return _finish(spec, run_dir, tr, extra, p, status, reason)


def _eval_point(spec: RunSpec, tr: _Trainer, p: _Progress, extra: EvalSets, out: _Log, train_loss: float,
                limit: float) -> tuple[str, str] | None:
    """One eval point of a run, for train_run's loop and batched.py's alike: the validation loss, its
    metrics row, the extra sets, the log line and the early-stopping rule. Returns (status, reason) when
    the run ends here, else None."""
    val = tr.evaluate()
    if reason := _diverged_val(val, p.step, limit):
        return "diverged", reason
    p.rows.append(_metrics_row(spec, tr, p, train_loss=train_loss, val=val))
    p.extra_rows += extra.rows(tr.scorer, p.step, p.step * spec.tokens_per_step)
    p.record_eval(val)
    out.eval(p.rows[-1], p.extra_rows[len(p.extra_rows) - len(extra.names):])
    if _early_stop(spec, p):
        return "early_stopped", f"no improvement in {spec.patience} evals after step {p.best_step}"
    return None


def _diverged_train(loss: float, step: int, vocab_size: int, limit: float) -> str:
    """Why this step's train loss means the run diverged, or ""."""
    if not math.isfinite(loss):
        return f"non-finite train loss ({loss}) at step {step}"
    if loss > limit:
        return (f"train loss {loss:.4g} at step {step} is more than {DIVERGE_MARGIN_NATS:g} nats "
                f"above the uniform loss ln({vocab_size}) = {math.log(vocab_size):.3f}")
    return ""


def _diverged_interval(run_sum: float, run_n: int, step: int, limit: float) -> str:
    """The same for the mean train loss of an eval interval (CUDA: read once per interval), or ""."""
    if not math.isfinite(run_sum):
        return f"non-finite train loss before step {step}"
    if run_sum / run_n > limit:
        return (f"mean train loss {run_sum / run_n:.4g} before step {step} is more than "
                f"{DIVERGE_MARGIN_NATS:g} nats above the uniform loss")
    return ""


def _diverged_val(val: float, step: int, limit: float) -> str:
    if not math.isfinite(val):
        return f"non-finite validation loss at step {step}"
    if val > limit:
        return f"validation loss {val:.4g} at step {step} is more than {DIVERGE_MARGIN_NATS:g} nats above the uniform loss"
    return ""


def _metrics_row(spec: RunSpec, tr: _Trainer, p: _Progress, *, train_loss: float, val: float) -> dict:
    """One line of metrics.jsonl (the key order is part of the file's bytes, and so of its checksum)."""
    fpt = spec.describe()["flops_per_token"]
    tokens = p.step * spec.tokens_per_step
    row = {
        "step": p.step,
        "tokens": tokens,
        "epochs": tokens / len(tr.train_tokens),
        "C": fpt["kaplan"] * tokens,  # Kaplan: 6·N·tokens (non-embedding N)
        "C_full": fpt["full"] * tokens,  # incl. attention context and de-embedding
        "lr": get_lr(p.step - 1, spec),  # the LR of the step just taken
        "train_loss": train_loss,  # mean train loss since the previous eval
        "val_loss": val,
        "wall_s": round(p.train_s, 3),
    }
    if spec.noise_scale:
        # Means since the previous eval of the squared gradient norms at batch b (half) and B
        # (sequences); analysis.noise_scale turns them into B_simple (McCandlish et al. App. A).
        g_s, g_b, n_m = tr.take_noise()
        row.update({"noise_b": spec.batch_size // 2, "noise_B": spec.batch_size, "noise_n": n_m,
                    "noise_g2_b": g_s / n_m if n_m else None, "noise_g2_B": g_b / n_m if n_m else None})
    return row


def _early_stop(spec: RunSpec, p: _Progress) -> bool:
    """`patience` evals without improvement *and* the step count well past the best one, so the
    unigram plateau of the first ~100 steps does not stop a run."""
    return bool(spec.patience) and p.since_best >= spec.patience and p.step >= 2 * p.best_step + spec.warmup


# ---------------------------------------------------------------------------------------------
# Run folder: config, checkpoint, the end
# ---------------------------------------------------------------------------------------------

def _versions() -> dict:
    return {
        "scalinglaws": __version__,
        "torch": torch.__version__,
        "transformers": importlib.metadata.version("transformers"),  # without importing it (seconds)
        "python": platform.python_version(),
    }


def _write_config(spec: RunSpec, data, run_dir: Path, device: str, malloc_tuned: bool,
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


def _save_checkpoint(run_dir: Path, tr: _Trainer, p: _Progress) -> None:
    """ckpt.pt (weights, optimizer, RNG and _Progress) and the metrics so far, each replaced atomically."""
    torch.save({"state": tr.state(), **asdict(p)}, run_dir / "ckpt.pt.tmp")
    os.replace(run_dir / "ckpt.pt.tmp", run_dir / "ckpt.pt")
    write_json_atomic(run_dir / "metrics.jsonl", p.rows, lines=True)


def _resume(run_dir: Path, tr: _Trainer) -> _Progress:
    """The progress saved in run_dir/ckpt.pt, with the trainer restored to it; a fresh start without one."""
    path = run_dir / "ckpt.pt"
    if not path.exists():
        return _Progress()
    ck = torch.load(path, weights_only=False)
    tr.load(ck["state"])
    return _Progress(**{k: ck[k] for k in ("rows", "step", "best", "best_step", "since_best", "train_s")},
                     extra_rows=ck.get("extra_rows", []))  # checkpoints from before eval sets have none


def _finish(spec: RunSpec, run_dir: Path, tr: _Trainer, extra: EvalSets, p: _Progress, status: str, reason: str) -> Path:
    """Write metrics, sidecars and weights, then the summary, then DONE (atomic: the run is a result)."""
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
    (run_dir / "DONE.tmp").write_text(f"{status}\n")
    os.replace(run_dir / "DONE.tmp", run_dir / "DONE")  # atomic: the run is now a result
    (run_dir / "ckpt.pt").unlink(missing_ok=True)
    return run_dir


def _summary(spec: RunSpec, run_dir: Path, p: _Progress, status: str, reason: str) -> dict:
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
    }


class _Log:
    """Progress output: a tqdm bar ("bar"), a line per eval ("eval") or nothing ("none")."""

    def __init__(self, log: str, spec: RunSpec, step: int):
        self.mode = log if log != "auto" else ("bar" if sys.stderr.isatty() else "eval")
        self.spec = spec
        self.bar = (tqdm(total=spec.steps, initial=step, desc=f"N={spec.n_params:.2g} {spec.run_id[:8]}", leave=False)
                    if self.mode == "bar" else None)

    def tick(self) -> None:
        if self.bar:
            self.bar.update(1)

    def eval(self, row: dict, extra_rows: list[dict]) -> None:
        if self.mode == "eval":
            s = self.spec
            sets = "".join(f" {r['set']} {r['loss']:.4f}" for r in extra_rows)
            print(f"[{s.run_id[:8]} N={s.n_params:.3g}] step {row['step']}/{s.steps} "
                  f"tokens {row['tokens']:.3g} train {row['train_loss']:.4f} val {row['val_loss']:.4f}{sets}", flush=True)

    def close(self) -> None:
        if self.bar:
            self.bar.close()
