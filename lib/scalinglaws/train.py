"""train_run(spec) -> run_dir: one idempotent, resumable GPT-2 training run.

    from scalinglaws import RunSpec, train_run
    run_dir = train_run(RunSpec(n_layer=2, d_model=32, tokens=2_000_000), "runs/demo")

The run folder (``<runs_dir>/<spec.run_id>/``):
- ``config.json``   the spec, derived quantities (N, FLOPs/token), versions, corpus fingerprint and split
- ``metrics.jsonl`` one row per eval: step, tokens, C (6N·tokens), C_full, lr, train/val loss, wall seconds
- ``summary.json``  final and best validation loss, step of best, tokens/s, status
- ``DONE``          written last and atomically; a folder without it is never read as a result
- ``ckpt.pt``       resume point while the run is unfinished (git-ignored, removed at the end)
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from . import ScalingLawsError, __version__
from .config import RunSpec, SpecError, eval_steps, get_lr
from .data import batch_starts, eval_starts, file_lock, gather_windows, prepare_tokens, subset_tokens


# How far above ln(vocab) a loss may go before the run counts as diverged (see the training loop).
DIVERGE_MARGIN_NATS = 3.0
# RunSpec.noise_scale: steps between gradient-noise measurements. Each costs one forward/backward on half
# a batch, i.e. ~3% of the training time at 1/16.
NOISE_EVERY = 16


class RunError(ScalingLawsError):
    pass


def write_json_atomic(path: Path, obj, *, lines: bool = False) -> None:
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
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def is_done(run_dir: Path) -> bool:
    return (Path(run_dir) / "DONE").exists()


def _versions() -> dict:
    import torch
    import transformers

    return {
        "scalinglaws": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
    }


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
# every page of them in again, step after step (the speed it costs: docs/decisions.md, 2026-11-28).
# Numerics are unchanged: only where memory comes from.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MALLOC_SETTINGS = {_M_MMAP_THRESHOLD: 32 << 20, _M_TRIM_THRESHOLD: 1 << 30, _M_TOP_PAD: 64 << 20}


def tune_allocator() -> bool:
    """Keep freed memory in the process (no mmap below 32 MB, no trimming); True if applied. A no-op
    off glibc (macOS, musl): those allocators are left as they are."""
    import ctypes
    import ctypes.util

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return all(libc.mallopt(k, v) == 1 for k, v in _MALLOC_SETTINGS.items())
    except (OSError, AttributeError):  # pragma: no cover - no libc or no mallopt
        return False


def resolve_device(device: str | None) -> str:
    import torch

    device = device or "cpu"
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RunError(f"device={device!r} but torch sees no CUDA GPU; use device='cpu' or install a CUDA torch")
    if not (device == "cpu" or device.startswith("cuda")):
        raise RunError(f"device={device!r}: use 'cpu', 'cuda' or 'auto'")
    return device


class _Trainer:
    """The loop's state, so that train_run reads top to bottom and resume is one load."""

    def __init__(self, spec: RunSpec, data, device: str):
        import torch

        from .loss import linear_cross_entropy
        from .model import build_model

        self.spec, self.device = spec, device
        self.model = build_model(spec.shape(), dropout=spec.dropout, seed=spec.seed, kernels=spec.kernels).to(device)
        decay, no_decay = [], []
        for name, p in self.model.named_parameters():
            # Decay only matrices (not biases, layer norms or embeddings), as GPT-2/nanoGPT do.
            (decay if p.dim() >= 2 and "wte" not in name and "wpe" not in name else no_decay).append(p)
        kw = dict(lr=spec.lr, betas=(spec.beta1, spec.beta2), eps=1e-8)
        groups = [{"params": decay, "weight_decay": spec.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        try:  # fused AdamW: one kernel per step instead of a Python loop over tensors
            self.opt = torch.optim.AdamW(groups, fused=True, **kw)
        except (RuntimeError, TypeError):  # pragma: no cover - older torch / unsupported device
            self.opt = torch.optim.AdamW(groups, foreach=True, **kw)
        self.train_tokens = subset_tokens(data.train, spec.data_tokens, spec.data_sampling)
        val = data.validation
        self.eval_x = torch.from_numpy(gather_windows(val, eval_starts(len(val), spec.n_ctx, spec.eval_tokens), spec.n_ctx))
        self.autocast = (
            torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)
            if spec.precision == "bf16"
            else torch.autocast(device_type=device.split(":")[0], enabled=False)
        )
        self.torch = torch
        self.head_loss = linear_cross_entropy
        self.head_dtype = torch.bfloat16 if spec.precision == "bf16" else torch.float32  # head matmuls
        # What loss() calls: the block stack (fast kernels) or the whole model (reference), compiled if
        # the spec asks; self.model keeps the plain modules, so checkpoints and state_dict are unchanged.
        self.body = self.model.transformer if spec.kernels == "fast" else self.model
        if spec.compile:
            self.body = torch.compile(self.body, dynamic=False)
        self.on_cuda = device.startswith("cuda")
        # Sums of |G_small|^2 and |G_big|^2 over the noise measurements since the last eval, and their count.
        self.noise = [0.0, 0.0, 0]

    def loss(self, w):
        """Mean next-token cross-entropy (nats/token) of windows w (batch, n_ctx + 1)."""
        torch = self.torch
        x, y = w[:, :-1], w[:, 1:]
        if self.spec.kernels == "fast":  # the block stack, then the fused chunked head loss (scalinglaws.loss)
            with self.autocast:
                h = self.body(input_ids=x).last_hidden_state
            return self.head_loss(h, self.model.lm_head.weight, y, dtype=self.head_dtype)
        with self.autocast:
            logits = self.body(input_ids=x).logits
        return torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1))

    def step(self, step: int) -> float:
        spec, torch = self.spec, self.torch
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
        torch = self.torch
        self.model.eval()
        total, n = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(self.eval_x), 64):
                w = self.eval_x[i : i + 64].to(self.device)
                total += self.loss(w).item() * len(w)
                n += len(w)
        self.model.train()
        return total / n

    def state(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "opt": self.opt.state_dict(),
            "torch_rng": self.torch.get_rng_state(),
            "noise": list(self.noise),
        }

    def load(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.torch.set_rng_state(state["torch_rng"])
        self.noise = list(state.get("noise", [0.0, 0.0, 0]))


def train_run(
    spec: RunSpec,
    runs_dir: str | os.PathLike = "runs/default",
    *,
    device: str | None = "cpu",
    threads: int | None = None,
    log: str = "auto",
    checkpoint_every_s: float = 30.0,
    stop_after_step: int | None = None,
) -> Path:
    """Train `spec` into ``runs_dir/<spec.run_id>`` unless it is already DONE; return the run folder.

    log: "auto" (a tqdm bar on a terminal, one line per eval otherwise), "eval", "bar" or "none".
    stop_after_step: for tests of resume; stops (as a kill would) after checkpointing at that step.
    """
    spec = spec.validate()
    device = resolve_device(device)
    run_dir = Path(runs_dir) / spec.run_id
    if is_done(run_dir):
        return run_dir
    # Data problems surface before the run folder exists, so a failed start leaves nothing behind.
    data = prepare_tokens(spec.corpus, spec.vocab_size, quiet=log == "none")
    check_data(spec, data)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with file_lock(run_dir / ".lock", waiting=f"run {spec.run_id} (N={spec.n_params:,})"):
            if is_done(run_dir):  # trained by another process while we waited for the lock
                return run_dir
            return _train_locked(spec, data, run_dir, device, threads, log, checkpoint_every_s, stop_after_step)
    except OSError as e:
        # Permission, not a directory, disk full: one line naming the folder. Nothing is marked DONE, and
        # the last checkpoint (written every checkpoint_every_s) stays, so the run resumes from it.
        hint = {28: "free some disk space", 13: "choose a folder you can write to (--runs-dir)",
                20: "a path component is a file, not a folder"}.get(e.errno, "check the folder")
        ckpt = run_dir / "ckpt.pt"
        state = ("the run is not marked done and resumes from its last checkpoint" if ckpt.is_file() else
                 "the run is not marked done and starts over next time")
        raise RunError(f"cannot write run {spec.run_id} in {run_dir.parent}: {e.strerror or e} ({hint}); {state}") from None


def _train_locked(spec, data, run_dir, device, threads, log, checkpoint_every_s, stop_after_step) -> Path:
    import torch

    if threads:
        torch.set_num_threads(threads)
    malloc_tuned = tune_allocator()  # see _MALLOC_SETTINGS; where memory comes from, not what is computed
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 matmuls for any fp32 work on GPU
        torch.backends.cudnn.allow_tf32 = True
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
    })

    tr = _Trainer(spec, data, device)
    desc = spec.describe()
    fpt = desc["flops_per_token"]
    evals = set(eval_steps(spec))
    ckpt_path = run_dir / "ckpt.pt"
    rows, step, best, best_step, since_best, train_s = [], 0, math.inf, 0, 0, 0.0
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, weights_only=False)
        tr.load(ck["state"])
        rows, step, best, best_step, since_best, train_s = (
            ck["rows"], ck["step"], ck["best"], ck["best_step"], ck["since_best"], ck["train_s"])

    bar = None
    mode = log if log != "auto" else ("bar" if sys.stderr.isatty() else "eval")
    if mode == "bar":
        from tqdm.auto import tqdm

        bar = tqdm(total=spec.steps, initial=step, desc=f"N={spec.n_params:.2g} {spec.run_id[:8]}", leave=False)
    status, reason = "ok", ""
    # A loss this far above the uniform loss ln(vocab) (what predicting every token equally likely
    # scores) is no learning curve: the run has exploded. Stopped and recorded as diverged at once, not
    # left to finish as "ok" (seen: --lr 1e3 ended "ok" at 1.5e8 nats). Healthy runs start at ~ln(vocab)
    # and fall; transient spikes of high-LR sweep runs stay well inside the margin.
    limit = math.log(spec.vocab_size) + DIVERGE_MARGIN_NATS
    last_ckpt = time.perf_counter()
    run_sum, run_n = 0.0, 0
    t0 = time.perf_counter()
    while step < spec.steps:
        loss = tr.step(step)  # a float on CPU; a device tensor on CUDA (no per-step sync)
        step += 1
        if bar:
            bar.update(1)
        if not tr.on_cuda and not math.isfinite(loss):
            status, reason = "diverged", f"non-finite train loss ({loss}) at step {step}"
            break
        if not tr.on_cuda and loss > limit:
            status, reason = "diverged", (f"train loss {loss:.4g} at step {step} is more than {DIVERGE_MARGIN_NATS:g} nats "
                                          f"above the uniform loss ln({spec.vocab_size}) = {math.log(spec.vocab_size):.3f}")
            break
        run_sum, run_n = run_sum + loss, run_n + 1
        if step in evals:
            if tr.on_cuda:
                run_sum = float(run_sum)  # the one sync per eval interval
                if not math.isfinite(run_sum):
                    status, reason = "diverged", f"non-finite train loss before step {step}"
                    break
                if run_sum / run_n > limit:
                    status, reason = "diverged", (f"mean train loss {run_sum / run_n:.4g} before step {step} is more than "
                                                  f"{DIVERGE_MARGIN_NATS:g} nats above the uniform loss")
                    break
            train_s += time.perf_counter() - t0
            val = tr.evaluate()
            if not math.isfinite(val) or val > limit:
                status, reason = "diverged", (f"non-finite validation loss at step {step}" if not math.isfinite(val) else
                                              f"validation loss {val:.4g} at step {step} is more than "
                                              f"{DIVERGE_MARGIN_NATS:g} nats above the uniform loss")
                break
            tokens = step * spec.tokens_per_step
            rows.append({
                "step": step,
                "tokens": tokens,
                "epochs": tokens / len(tr.train_tokens),
                "C": fpt["kaplan"] * tokens,  # Kaplan: 6·N·tokens (non-embedding N)
                "C_full": fpt["full"] * tokens,  # incl. attention context and de-embedding
                "lr": get_lr(step - 1, spec),
                "train_loss": run_sum / run_n,  # mean train loss since the previous eval
                "val_loss": val,
                "wall_s": round(train_s, 3),
            })
            if spec.noise_scale:
                # Means since the previous eval of the squared gradient norms at batch b (half) and B
                # (sequences); analysis.noise_scale turns them into B_simple (McCandlish et al. App. A).
                g_s, g_b, n_m = tr.noise
                rows[-1].update({"noise_b": spec.batch_size // 2, "noise_B": spec.batch_size, "noise_n": n_m,
                                 "noise_g2_b": g_s / n_m if n_m else None, "noise_g2_B": g_b / n_m if n_m else None})
                tr.noise = [0.0, 0.0, 0]
            run_sum, run_n = 0.0, 0
            if val < best:
                best, best_step, since_best = val, step, 0
            else:
                since_best += 1
            if mode == "eval":
                print(f"[{spec.run_id[:8]} N={spec.n_params:.3g}] step {step}/{spec.steps} "
                      f"tokens {tokens:.3g} train {rows[-1]['train_loss']:.4f} val {val:.4f}", flush=True)
            # Early stopping needs `patience` evals without improvement *and* the step count well past
            # the best one, so the unigram plateau of the first ~100 steps does not stop a run.
            if spec.patience and since_best >= spec.patience and step >= 2 * best_step + spec.warmup:
                status, reason = "early_stopped", f"no improvement in {spec.patience} evals after step {best_step}"
                break
            now = time.perf_counter()
            if step < spec.steps and (now - last_ckpt > checkpoint_every_s or stop_after_step is not None):
                torch.save({"state": tr.state(), "rows": rows, "step": step, "best": best, "best_step": best_step,
                            "since_best": since_best, "train_s": train_s}, run_dir / "ckpt.pt.tmp")
                os.replace(run_dir / "ckpt.pt.tmp", ckpt_path)
                write_json_atomic(run_dir / "metrics.jsonl", rows, lines=True)
                last_ckpt = time.perf_counter()
            if stop_after_step is not None and step >= stop_after_step:
                if bar:
                    bar.close()
                return run_dir  # simulated kill: checkpoint written, no DONE
            t0 = time.perf_counter()
    if bar:
        bar.close()
    if status == "ok" and step == spec.steps and (not rows or rows[-1]["step"] != step):  # pragma: no cover
        raise RunError("internal: the last step was not evaluated")
    write_json_atomic(run_dir / "metrics.jsonl", rows, lines=True)
    tokens_done = step * spec.tokens_per_step
    summary = {
        "run_id": spec.run_id,
        "status": status,
        "reason": reason,
        "N": spec.n_params,
        "steps": step,
        "tokens": tokens_done,
        "final_val_loss": rows[-1]["val_loss"] if rows else None,
        "best_val_loss": best if math.isfinite(best) else None,
        "best_step": best_step,
        "best_tokens": best_step * spec.tokens_per_step,
        "train_seconds": round(train_s, 3),
        "tokens_per_s": tokens_done / train_s if train_s > 0 else None,
        # what metrics.jsonl held when the run finished: store._read_verified compares, so a later edit,
        # truncation or bad copy of the curve is caught even where the last line still matches
        "metrics_sha256": file_sha256(run_dir / "metrics.jsonl"),
    }
    write_json_atomic(run_dir / "summary.json", summary)
    (run_dir / "DONE.tmp").write_text(f"{status}\n")
    os.replace(run_dir / "DONE.tmp", run_dir / "DONE")  # atomic: the run is now a result
    ckpt_path.unlink(missing_ok=True)
    return run_dir
