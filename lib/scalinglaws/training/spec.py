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

from scalinglaws import ScalingLawsError
from scalinglaws.data.corpus import corpus_fingerprint
from scalinglaws.training.lr import LR_RULE_SOURCE, default_lr, round_lr
from scalinglaws.training.model import (
    ARCHS,
    Shape,
    ShapeError,
    embedding_params,
    kaplan_approx_params,
    non_embedding_params,
    train_flops_per_token,
)

SPEC_VERSION = 3  # bump when the training code changes numerics, so old runs are not reused
# 3: the `kernels` field (fast: exact GELU + fused chunked head loss); 2 trained what kernels="reference" trains


class SpecError(ScalingLawsError):
    pass


# The type each field must have (n_layer & co. are checked with their ranges in RunSpec.validate).
# numbers.Real admits ints and numpy scalars; bools are refused where a number is meant.
_FIELD_TYPES = {
    **dict.fromkeys(("lr", "min_lr_ratio", "decay_frac", "weight_decay", "beta1", "beta2", "grad_clip",
                     "dropout"), numbers.Real),
    **dict.fromkeys(("data_tokens", "eval_points", "eval_tokens", "patience"), numbers.Integral),
    **dict.fromkeys(("corpus", "data_sampling", "schedule", "precision", "kernels", "arch", "branch_from"), str),
}  # compile and noise_scale: their own checks below say "use True or False"
_KIND_WORDS = {numbers.Real: "a number", numbers.Integral: "a whole number", str: "a string"}


# (field, largest accepted value, why): see RunSpec.validate.
_SIZE_CAPS = (
    ("n_layer", 1_000, "no transformer this study could train is that deep"),
    ("d_model", 65_536, "wider than any published language model"),
    ("n_head", 65_536, "more heads than any d_model accepted here"),
    ("d_ff", 4 * 65_536, "4 x the widest d_model accepted"),
    ("n_ctx", 1 << 20, "a million-token context"),
    ("vocab_size", 1 << 20, "a million-token vocabulary"),
    ("batch_size", 1 << 20, "a million sequences per step"),
    ("tokens", 10**13, "10 trillion tokens, more than any model was trained on by 2024"),
    ("schedule_tokens", 10**13, "as tokens"),
    ("seed", 2**32 - 1, "torch and numpy seeds are 32-bit"),
)


@dataclass(frozen=True)
class RunSpec:
    # --- model shape (GPT-2 block stack) ---
    n_layer: int
    d_model: int
    n_head: int = 0  # 0 = d_model // 16 (head dimension 16), at least 1
    d_ff: int = 0  # 0 = 4·d_model, GPT-2's ratio
    n_ctx: int = 128  # context length in tokens; also the eval window
    # "gpt2" (the transformer) or "lstm" (Kaplan Sec. 3.2.1: n_layer LSTM layers of width d_model; see
    # model.py for its parameter convention). Same data, context, loss, schedule and optimizer path.
    # Hashed only when not "gpt2", so every run trained before the field existed keeps its address.
    arch: str = "gpt2"
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
    lr: float | None = None  # peak learning rate; None = the starting rule for this N (training/lr.py)
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
    # "fast": exact (erf) GELU, as nanoGPT, and the fused chunked output-head loss (scalinglaws.training.loss);
    # "reference": GPT-2's tanh GELU and logits -> cross_entropy, the plain transformers path. Same
    # model family and loss; final losses agree within seed noise, and "fast" is the faster one
    # (measurements: docs/decisions.md, 2026-12-03).
    kernels: str = "fast"
    # torch.compile of the block stack (inductor). Off by default: it did not pay for its compile time
    # on the CPUs measured (docs/decisions.md); for GPU sessions to measure.
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
    # --- cooldown branches (training/branches.py) ---
    # A branch is a WSD run whose stable phase is another run's (the trunk's, by run id) up to step
    # branch_step, its own cooldown start: it starts from the trunk's checkpoint at that step, or trains
    # the stable phase itself when there is none. Either way it trains what a from-scratch WSD run of the
    # same budget trains (same warmup, peak and data order before branch_step); the address names the trunk
    # and the step so the store records where a branch came from. Hashed only when set (earlier addresses).
    branch_from: str = ""
    branch_step: int = 0
    # --- descriptive only (not hashed) ---
    lr_source: str = field(default="manual", compare=False)
    label: str = field(default="", compare=False)

    # Fields excluded from the content hash: they describe, they do not change numbers.
    _UNHASHED = ("lr_source", "label", "corpus")

    def __post_init__(self):
        # lr=None: the starting rule for this size, rounded as every LR is. Resolved here, so the address and
        # config.json always hold a number. A shape too broken to count its parameters keeps None, and
        # validate() names the broken field.
        if self.lr is None:
            try:
                lr = round_lr(default_lr(self.n_params))
            except Exception:  # noqa: BLE001 - any broken shape (no parameters, bad types): validate() reports it
                return
            object.__setattr__(self, "lr", lr)
            if self.lr_source == "manual":
                object.__setattr__(self, "lr_source", LR_RULE_SOURCE)

    def shape(self) -> Shape:
        n_head = self.n_head or max(1, self.d_model // 16)
        d_ff = self.d_ff or 4 * self.d_model
        return Shape(self.n_layer, self.d_model, n_head, d_ff, self.n_ctx, self.vocab_size, self.arch)

    @property
    def n_params(self) -> int:
        """Non-embedding N (Kaplan's convention; for an LSTM see model.py)."""
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
        for name in ("n_head", "d_ff", "seed", "tokens", "schedule_tokens", "warmup_steps", "branch_step"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 0:
                raise SpecError(f"invalid run spec: {name}={v!r} must be a whole number >= 0")
        # Caps on the sizes a user types. Far above anything this study trains (its largest profile: a few
        # dozen layers, d_model in the low thousands, 1e10 tokens), they refuse a typo (1e6 for 1e3) at
        # once, before a folder exists, instead of minutes of allocating a model no machine holds
        # (n_layer=100000 ran silently for 5 min) or a run folder left half written. seed: torch and
        # numpy seed with 32 bits (numpy refuses 2**32 and above, deep inside the run).
        for name, cap, why in _SIZE_CAPS:
            v = getattr(self, name)
            if v > cap:
                raise SpecError(f"invalid run spec: {name}={v:,} is above {cap:,} ({why}); use {name} <= {cap:,}")
        # Then the type of every other field, so a wrong one is a one-line SpecError, not a TypeError
        # from a comparison below (e.g. lr=(0.003, 'sweep') from a sweep table).
        for name, kind in _FIELD_TYPES.items():
            v = getattr(self, name)
            if name == "lr" and v is None:  # unresolved only when the shape is broken: checked below
                continue
            if not isinstance(v, kind) or isinstance(v, bool):
                raise SpecError(f"invalid run spec: {name}={v!r} must be {_KIND_WORDS[kind]}")
        if self.arch not in ARCHS:
            raise SpecError(f"invalid run spec: arch={self.arch!r}: use 'gpt2' (the transformer) or 'lstm'")
        try:
            self.shape().validate()
        except ShapeError as e:
            raise SpecError(str(e)) from None
        checks = [
            # warmup_steps >= the schedule: the LR never leaves the warmup ramp, and the run reports "ok"
            # having trained at a fraction of its LR (--warmup-steps 1000000 learned nothing)
            (self.warmup_steps < self.schedule_steps,
             f"warmup_steps={self.warmup_steps:,} is not below the schedule's {self.schedule_steps:,} steps; "
             "use fewer warmup steps (0 = min(200, 5% of the steps))"),
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
            (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, f"beta1={self.beta1}, beta2={self.beta2} must be in [0, 1)"),
            (self.weight_decay >= 0 and self.grad_clip >= 0, "weight_decay and grad_clip must be >= 0 (grad_clip 0 = off)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise SpecError(f"invalid run spec: {msg}")
        self._validate_branch()
        return self

    @property
    def decay_start(self) -> int:
        """The first step of a WSD schedule's cooldown (schedule.get_lr); a branch's branch_step."""
        total = self.schedule_steps
        return max(self.warmup, total - max(1, round(self.decay_frac * total)))

    def _validate_branch(self) -> None:
        if not self.branch_from:
            if self.branch_step:
                raise SpecError(f"invalid run spec: branch_step={self.branch_step} without branch_from: "
                                "set both (training.branches.branch_specs does) or neither")
            return
        pre = f"invalid branch spec (branch_from={self.branch_from!r})"
        checks = [
            (len(self.branch_from) == 16 and all(c in "0123456789abcdef" for c in self.branch_from),
             "branch_from must be the trunk's run id (16 hex digits)"),
            (self.schedule == "wsd", f"schedule={self.schedule!r}: a branch is a cooldown, use schedule='wsd'"),
            (self.warmup_steps > 0, "set warmup_steps explicitly (the automatic warmup depends on the budget, so "
                                    "trunk and branch would warm up differently)"),
            (self.branch_step == self.decay_start < self.steps,
             f"branch_step={self.branch_step} must be the cooldown start ({self.decay_start}) and before the last "
             f"step ({self.steps}); use training.branches.branch_specs"),
            (self.patience == 0 and not self.noise_scale, "branches take no early stopping (patience=0) and no "
                                                          "noise_scale (the trunk measures neither for them)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise SpecError(f"{pre}: {msg}")

    def hashed_fields(self) -> dict:
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
        if self.arch == "gpt2":
            d.pop("arch")
        if not self.branch_from:  # only branches name a trunk: every other run keeps its address
            d.pop("branch_from")
            d.pop("branch_step")
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
        return {
            "arch": self.arch,
            "N": self.n_params,
            "N_embedding": embedding_params(s),
            "N_total": self.n_params + embedding_params(s),
            "N_kaplan_approx": kaplan_approx_params(s),
            "n_head": s.n_head if self.arch == "gpt2" else None,  # an LSTM has neither
            "d_ff": s.d_ff if self.arch == "gpt2" else None,
            "aspect_ratio": s.d_model / s.n_layer,
            "steps": self.steps,
            "schedule_steps": self.schedule_steps,
            "warmup_steps": self.warmup,
            "flops_per_token": train_flops_per_token(s),
        }

