"""What one training step and one eval point need: the model and optimizer (Trainer), the run's progress
(Progress), the divergence and early-stopping rules, the metrics row, the progress log; shared by the
one-at-a-time loop (loop.py) and stacked training (batched.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import platform
import sys
from dataclasses import dataclass, field

import torch
from tqdm import tqdm  # plain text bars: tqdm.auto warns in a kernel without widgets, naming a site-packages path in the output

from scalinglaws import ScalingLawsError
from scalinglaws.data.windows import batch_starts, gather_windows, subset_tokens
from scalinglaws.training.evaluate import EvalSets, Scorer, validation_windows
from scalinglaws.training.model import build_model
from scalinglaws.training.schedule import get_lr
from scalinglaws.training.spec import RunSpec

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


class Trainer:
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
class Progress:
    """Everything about a run's progress that is not in the model and optimizer; a checkpoint holds it."""

    rows: list = field(default_factory=list)  # metrics.jsonl so far
    step: int = 0
    best: float = math.inf
    best_step: int = 0
    since_best: int = 0  # evals since the best validation loss
    train_s: float = 0.0  # training time, evaluations excluded
    extra_rows: list = field(default_factory=list)  # evals.jsonl so far
    # Cooldown branches (training/branches.py). origin: where a branch's stable phase came from
    # (branches.FROM_PARENT or RECOMPUTED; "" for every other run). carry_sum/carry_n: the train loss summed
    # since the last eval when a run starts between eval points (a branch at its trunk's checkpoint); the
    # loop takes them over at its start. shadows: a trunk's progress of each of its branches (loop.Shadows).
    origin: str = ""
    carry_sum: float = 0.0
    carry_n: int = 0
    shadows: dict = field(default_factory=dict)

    def record_eval(self, val: float) -> None:
        if val < self.best:
            self.best, self.best_step, self.since_best = val, self.step, 0
        else:
            self.since_best += 1


def eval_point(spec: RunSpec, tr: Trainer, p: Progress, extra: EvalSets, out: Log, train_loss: float,
                limit: float) -> tuple[str, str] | None:
    """One eval point of a run, for train_run's loop and batched.py's alike: the validation loss, its
    metrics row, the extra sets, the log line and the early-stopping rule. Returns (status, reason) when
    the run ends here, else None."""
    val = tr.evaluate()
    if reason := diverged_val(val, p.step, limit):
        return "diverged", reason
    p.rows.append(metrics_row(spec, tr, p, train_loss=train_loss, val=val))
    p.extra_rows += extra.rows(tr.scorer, p.step, p.step * spec.tokens_per_step)
    p.record_eval(val)
    out.eval(p.rows[-1], p.extra_rows[len(p.extra_rows) - len(extra.names):])
    if _early_stop(spec, p):
        return "early_stopped", f"no improvement in {spec.patience} evals after step {p.best_step}"
    return None


def diverged_train(loss: float, step: int, vocab_size: int, limit: float) -> str:
    """Why this step's train loss means the run diverged, or ""."""
    if not math.isfinite(loss):
        return f"non-finite train loss ({loss}) at step {step}"
    if loss > limit:
        return (f"train loss {loss:.4g} at step {step} is more than {DIVERGE_MARGIN_NATS:g} nats "
                f"above the uniform loss ln({vocab_size}) = {math.log(vocab_size):.3f}")
    return ""


def diverged_interval(run_sum: float, run_n: int, step: int, limit: float) -> str:
    """The same for the mean train loss of an eval interval (CUDA: read once per interval), or ""."""
    if not math.isfinite(run_sum):
        return f"non-finite train loss before step {step}"
    if run_sum / run_n > limit:
        return (f"mean train loss {run_sum / run_n:.4g} before step {step} is more than "
                f"{DIVERGE_MARGIN_NATS:g} nats above the uniform loss")
    return ""


def diverged_val(val: float, step: int, limit: float) -> str:
    if not math.isfinite(val):
        return f"non-finite validation loss at step {step}"
    if val > limit:
        return f"validation loss {val:.4g} at step {step} is more than {DIVERGE_MARGIN_NATS:g} nats above the uniform loss"
    return ""


def metrics_row(spec: RunSpec, tr: Trainer, p: Progress, *, train_loss: float, val: float) -> dict:
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


def _early_stop(spec: RunSpec, p: Progress) -> bool:
    """`patience` evals without improvement *and* the step count well past the best one, so the
    unigram plateau of the first ~100 steps does not stop a run."""
    return bool(spec.patience) and p.since_best >= spec.patience and p.step >= 2 * p.best_step + spec.warmup








class Log:
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


