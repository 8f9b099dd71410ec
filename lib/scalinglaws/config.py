"""RunSpec: everything that determines one training run, and its content address.

A spec is a frozen dataclass. Its hash (the run folder's name) covers every field that changes the
numbers, plus the corpus *fingerprint* (not the string naming it), so the same books reached through a
mirror or a download share runs. Fields that only describe a run (where its LR came from, a label)
are recorded in config.json but do not enter the hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
from dataclasses import dataclass, field

from . import ScalingLawsError
from .model import Shape, ShapeError, non_embedding_params, train_flops_per_token

SPEC_VERSION = 3  # bump when the training code changes numerics, so old runs are not reused
# 3: the `kernels` field (fast: exact GELU + fused chunked head loss); 2 trained what kernels="reference" trains


class SpecError(ScalingLawsError):
    pass


@dataclass(frozen=True)
class RunSpec:
    # --- model shape (GPT-2 block stack) ---
    n_layer: int
    d_model: int
    n_head: int = 0  # 0 = d_model // 16 (head dimension 16), at least 1
    d_ff: int = 0  # 0 = 4·d_model, GPT-2's ratio
    n_ctx: int = 128  # context length in tokens; also the eval window
    # --- data ---
    corpus: str = "gutenberg"
    vocab_size: int = 1024  # byte-level BPE trained on the train split (see README: why 1024)
    data_tokens: int = 0  # 0 = the whole train split; else a subset of D tokens (nested L(D) subsets)
    # How a subset of data_tokens is drawn: "prefix" = the first D tokens of the train split (a few books:
    # quantity confounded with diversity, 3e4 tokens is part of one book); "chunks" = fixed-size chunks
    # drawn at random across every book (data.subset_tokens), the same chunks for every model and seed,
    # so subsets nest. Hashed only when not "prefix", so earlier runs keep their address.
    data_sampling: str = "prefix"
    # --- budget ---
    tokens: int = 1_000_000  # training tokens processed (steps = tokens // (batch_size·n_ctx))
    batch_size: int = 16  # sequences per optimizer step
    # --- optimizer: AdamW, linear warmup then decay (get_lr) ---
    lr: float = 3e-3  # peak learning rate
    warmup_steps: int = 0  # 0 = min(200, 5% of the schedule)
    schedule_tokens: int = 0  # 0 = the run's own budget; else the decay is set for this many tokens
    min_lr_ratio: float = 0.1  # floor of the decay as a fraction of the peak
    # "cosine": cosine decay from the end of warmup to the end of the schedule (GPT-2/3, Kaplan).
    # "wsd": warmup-stable-decay, the peak held until the last `decay_frac` of the schedule, then a linear
    # cooldown to the floor (Hägele et al. 2024 show it matches cosine; the loss during the stable phase
    # is the same for every budget, so one run's stretch is honest for shorter budgets with their own cooldown).
    # Both hashed only when not the default, so runs trained before they existed keep their address.
    schedule: str = "cosine"
    decay_frac: float = 0.2
    weight_decay: float = 0.0  # tiny models underfit; decay only slows them here
    beta1: float = 0.9
    beta2: float = 0.95  # GPT-style; more stable than 0.999 at high LR
    grad_clip: float = 1.0  # global-norm clipping, as GPT-2/3
    dropout: float = 0.0  # Kaplan used 10% on data-limited runs; 0 elsewhere (tiny models underfit)
    seed: int = 0  # model init and data order
    precision: str = "fp32"  # "fp32" or "bf16" (autocast); part of the hash since it changes numerics
    # "fast": exact (erf) GELU, as nanoGPT, and the fused chunked output-head loss (scalinglaws.loss);
    # "reference": GPT-2's tanh GELU and logits -> cross_entropy, the plain transformers path. Same
    # model family and loss; benchmarks/check_numerics.py --compare kernels records that final losses
    # agree within seed noise, and bench_speed.py that "fast" is 1.1-2x faster on this CPU.
    kernels: str = "fast"
    # torch.compile of the block stack (inductor). Off by default: on this CPU it measured 0.89-0.99x
    # eager speed after 10-14 s of compiling per shape (README "Speed"); for GPU sessions to measure.
    # Hashed only when on, so the runs trained before this field existed keep their address.
    compile: bool = False
    # --- evaluation and stopping ---
    eval_points: int = 24  # log-spaced eval steps (plus the last), resolving curves early and late
    eval_tokens: int = 65_536  # fixed validation budget per eval (same windows for every run)
    patience: int = 0  # 0 = no early stopping; else stop after this many evals without improvement
    # Measure the gradient noise scale B_simple = tr(Sigma)/|G|^2 during training (McCandlish et al. 2018,
    # App. A): every NOISE_EVERY steps one extra forward/backward on half the batch; the two gradient
    # norms give unbiased |G|^2 and tr(Sigma). Leaves the training step itself unchanged. Hashed only when on.
    noise_scale: bool = False
    # --- descriptive only (not hashed) ---
    lr_source: str = field(default="manual", compare=False)
    label: str = field(default="", compare=False)

    # Fields excluded from the content hash: they describe, they do not change numbers.
    _UNHASHED = ("lr_source", "label", "corpus")

    def shape(self) -> Shape:
        n_head = self.n_head or max(1, self.d_model // 16)
        d_ff = self.d_ff or 4 * self.d_model
        return Shape(self.n_layer, self.d_model, n_head, d_ff, self.n_ctx, self.vocab_size)

    @property
    def n_params(self) -> int:
        """Non-embedding N (Kaplan's convention)."""
        return non_embedding_params(self.shape())

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.n_ctx

    @property
    def steps(self) -> int:
        return self.tokens // self.tokens_per_step

    @property
    def schedule_steps(self) -> int:
        return max(1, (self.schedule_tokens or self.tokens) // self.tokens_per_step)

    @property
    def warmup(self) -> int:
        return self.warmup_steps or max(1, min(200, self.schedule_steps // 20))

    def validate(self) -> "RunSpec":
        # Checked first, one by one: later checks divide by these.
        for name in ("n_layer", "d_model", "n_ctx", "batch_size", "vocab_size"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 1:
                raise SpecError(f"invalid run spec: {name}={v!r} must be a whole number >= 1")
        for name in ("n_head", "d_ff", "seed", "tokens", "schedule_tokens", "warmup_steps"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 0:
                raise SpecError(f"invalid run spec: {name}={v!r} must be a whole number >= 0")
        try:
            self.shape().validate()
        except ShapeError as e:
            raise SpecError(str(e)) from None
        checks = [
            (self.tokens > 0 and self.steps >= 1, f"tokens={self.tokens} gives no step at batch_size·n_ctx={self.tokens_per_step}"),
            (self.batch_size >= 1, f"batch_size={self.batch_size} must be >= 1"),
            (math.isfinite(self.lr) and self.lr > 0, f"lr={self.lr} must be a positive number"),
            (0 <= self.min_lr_ratio <= 1, f"min_lr_ratio={self.min_lr_ratio} must be in [0, 1]"),
            (self.precision in ("fp32", "bf16"), f"precision={self.precision!r}: use 'fp32' or 'bf16'"),
            (self.kernels in ("fast", "reference"), f"kernels={self.kernels!r}: use 'fast' or 'reference'"),
            (isinstance(self.compile, bool), f"compile={self.compile!r}: use True or False"),
            (isinstance(self.noise_scale, bool), f"noise_scale={self.noise_scale!r}: use True or False"),
            (self.data_sampling in ("prefix", "chunks"), f"data_sampling={self.data_sampling!r}: use 'prefix' or 'chunks'"),
            (not self.noise_scale or self.batch_size >= 2, "noise_scale needs batch_size >= 2 (it compares two batch sizes)"),
            (self.schedule in ("cosine", "wsd"), f"schedule={self.schedule!r}: use 'cosine' or 'wsd'"),
            (0 < self.decay_frac <= 1, f"decay_frac={self.decay_frac} must be in (0, 1]"),
            (self.data_tokens >= 0, f"data_tokens={self.data_tokens} must be >= 0 (0 = whole train split)"),
            (self.data_tokens == 0 or self.data_tokens > self.n_ctx + 1, f"data_tokens={self.data_tokens} must exceed n_ctx+1"),
            (self.eval_points >= 1 and self.eval_tokens >= self.n_ctx, "eval_points >= 1 and eval_tokens >= n_ctx"),
            (0 <= self.dropout < 1, f"dropout={self.dropout} must be in [0, 1)"),
            (self.patience >= 0, "patience must be >= 0"),
        ]
        for ok, msg in checks:
            if not ok:
                raise SpecError(f"invalid run spec: {msg}")
        return self

    def hashed_fields(self) -> dict:
        from .data import corpus_fingerprint

        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in self._UNHASHED}
        if not self.compile:  # added after SPEC_VERSION 3's runs: hashed only when switched on
            d.pop("compile")
        if not self.noise_scale:
            d.pop("noise_scale")
        if self.data_sampling == "prefix":
            d.pop("data_sampling")
        if self.schedule == "cosine":  # likewise: the default schedule keeps every earlier address
            d.pop("schedule")
            d.pop("decay_frac")
        d["corpus_fingerprint"] = corpus_fingerprint(self.corpus)
        d["spec_version"] = SPEC_VERSION
        return d

    @property
    def run_id(self) -> str:
        blob = json.dumps(self.hashed_fields(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def replace(self, **kw) -> "RunSpec":
        return dataclasses.replace(self, **kw)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise SpecError(f"unknown run spec fields {sorted(unknown)}")
        return cls(**d)

    def describe(self) -> dict:
        """Derived quantities recorded beside the spec (N, FLOPs per token, steps)."""
        s = self.shape()
        from .model import embedding_params, kaplan_approx_params

        return {
            "N": self.n_params,
            "N_embedding": embedding_params(s),
            "N_total": self.n_params + embedding_params(s),
            "N_kaplan_approx": kaplan_approx_params(s),
            "n_head": s.n_head,
            "d_ff": s.d_ff,
            "aspect_ratio": s.d_model / s.n_layer,
            "steps": self.steps,
            "schedule_steps": self.schedule_steps,
            "warmup_steps": self.warmup,
            "flops_per_token": train_flops_per_token(s),
        }


def get_lr(step: int, spec: RunSpec) -> float:
    """Stateless schedule (step counts from 0): linear warmup to the peak, then decay to
    min_lr_ratio·peak at the end of the schedule (the run's own budget unless schedule_tokens says
    otherwise); flat after. "cosine": cosine decay over everything after warmup. "wsd": the peak until
    the last decay_frac of the schedule, then a linear cooldown."""
    peak, warm, total, floor = spec.lr, spec.warmup, spec.schedule_steps, spec.min_lr_ratio
    if step < warm:
        return peak * (step + 1) / warm
    if step >= total:
        return peak * floor
    if spec.schedule == "wsd":
        decay_start = max(warm, total - max(1, round(spec.decay_frac * total)))
        if step < decay_start:
            return peak
        progress = (step - decay_start) / max(1, total - decay_start)
        return peak * (1 - (1 - floor) * progress)
    progress = (step - warm) / max(1, total - warm)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def eval_steps(spec: RunSpec) -> list[int]:
    """Log-spaced steps at which validation loss is measured (1-based step counts), always ending
    with the last step, so curves are resolved early and late with a fixed number of evals."""
    import numpy as np

    last = spec.steps
    pts = np.unique(np.round(np.geomspace(1, last, spec.eval_points)).astype(int))
    return sorted(set(int(p) for p in pts if 1 <= p <= last) | {last})
