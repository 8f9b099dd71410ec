"""GPT-2-style models through `transformers` (and an LSTM baseline), with Kaplan's parameter and
compute accounting.

Conventions (Kaplan et al. 2020, Sec. 2.1):
- N is the *non-embedding* parameter count: token and position embeddings are excluded, and the
  output head is tied to the token embedding (as in GPT-2), so it is not counted again.
  Layer norms and biases are counted (Kaplan's 12·n_layer·d_model² drops them; we keep both).
- C = 6·N·tokens is Kaplan's training compute (forward + backward, embeddings and attention
  context ignored). At this study's tiny sizes the attention-context term 2·n_layer·n_ctx·d_model
  and the de-embedding (logits) 2·d_model·n_vocab are not negligible, so we also record the fuller
  count C_full = 3·(2N + 2·n_layer·n_ctx·d_model + 2·d_model·n_vocab) per token.

LSTM (``arch="lstm"``, Kaplan Sec. 3.2.1 / Fig. 7): token embedding (vocab × d_model), n_layer
``torch.nn.LSTM`` layers of hidden size d_model, and an output head *tied* to the token embedding (as
GPT-2's; Press & Wolf 2017), with no position embedding. N counts every parameter except the token
embedding (the tied head is the same matrix): per layer the four gates' input and recurrent matrices
and PyTorch's two bias vectors, 8·d² + 8·d. Its forward FLOPs per token are 2N plus the de-embedding
2·d_model·n_vocab (no attention context term), so C = 6N holds for it as for the transformer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scalinglaws import ScalingLawsError

ARCHS = ("gpt2", "lstm")


class ShapeError(ScalingLawsError):
    pass


@dataclass(frozen=True)
class Shape:
    n_layer: int
    d_model: int
    n_head: int
    d_ff: int  # feed-forward width; GPT-2 uses 4·d_model
    n_ctx: int
    vocab_size: int
    arch: str = "gpt2"  # "lstm": n_head and d_ff are unused

    def validate(self) -> "Shape":
        for name in ("n_layer", "d_model", "n_head", "d_ff", "n_ctx", "vocab_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ShapeError(f"invalid shape: {name}={v!r} must be a positive integer")
        if self.arch not in ARCHS:
            raise ShapeError(f"invalid shape: arch={self.arch!r}: use 'gpt2' (the transformer) or 'lstm'")
        if self.arch == "gpt2" and self.d_model % self.n_head:
            raise ShapeError(
                f"invalid shape: d_model={self.d_model} is not divisible by n_head={self.n_head}; "
                f"pick n_head from {[h for h in range(1, self.d_model + 1) if self.d_model % h == 0][:8]}..."
            )
        return self


def non_embedding_params(s: Shape) -> int:
    """Exact non-embedding N for a transformers GPT-2 block stack (biases and layer norms included), or
    for the LSTM stack (see the module docstring)."""
    d, f = s.d_model, s.d_ff
    if s.arch == "lstm":
        return s.n_layer * (8 * d * d + 8 * d)  # W_ih, W_hh (4d × d each), b_ih, b_hh (4d each)
    per_layer = (
        2 * d  # ln_1 weight + bias
        + d * 3 * d + 3 * d  # c_attn: q, k, v projections
        + d * d + d  # attn c_proj
        + 2 * d  # ln_2
        + d * f + f  # mlp c_fc
        + f * d + d  # mlp c_proj
    )
    return s.n_layer * per_layer + 2 * d  # + final ln_f


def embedding_params(s: Shape) -> int:
    """Token + position embeddings (the LSTM has no position embedding); the tied output head shares
    the token matrix."""
    if s.arch == "lstm":
        return s.vocab_size * s.d_model
    return s.vocab_size * s.d_model + s.n_ctx * s.d_model


def total_params(s: Shape) -> int:
    return non_embedding_params(s) + embedding_params(s)


def kaplan_approx_params(s: Shape) -> int:
    """Kaplan's N ≈ 2·d_model·n_layer·(2·d_attn + d_ff) = 12·n_layer·d_model² when d_ff = 4·d_model
    (for an LSTM, its matrices alone: 8·n_layer·d_model²)."""
    if s.arch == "lstm":
        return 8 * s.n_layer * s.d_model**2
    return 2 * s.d_model * s.n_layer * (2 * s.d_model + s.d_ff)


def forward_flops_per_token(s: Shape) -> dict[str, int]:
    """Forward FLOPs per token, split into Kaplan's terms (Table 1): 2N, attention context, de-embedding."""
    n = non_embedding_params(s)
    return {
        "params": 2 * n,
        "context": 0 if s.arch == "lstm" else 2 * s.n_layer * s.n_ctx * s.d_model,  # attention only
        "deembed": 2 * s.d_model * s.vocab_size,
    }


def train_flops_per_token(s: Shape) -> dict[str, float]:
    """Training FLOPs per token: Kaplan's C = 6N, and the full count 3× (all forward terms)."""
    fwd = forward_flops_per_token(s)
    return {"kaplan": 6.0 * non_embedding_params(s), "full": 3.0 * sum(fwd.values())}


def shape_for_params(
    target_n: float,
    aspect: float = 32.0,
    *,
    head_dim: int = 16,
    ff_ratio: int = 4,
    n_ctx: int = 128,
    vocab_size: int = 1024,
    tolerance: float = 0.2,
) -> Shape:
    """A shape whose non-embedding N is within `tolerance` (in log N) of `target_n`, with the aspect
    ratio d_model/n_layer as close to `aspect` as the integer grid allows.

    For each depth, d_model is the multiple of head_dim that brings N ≈ 2·(2+ff)·n_layer·d² closest
    to the target; among depths whose N is within tolerance, the closest aspect ratio wins (else the
    closest N). Kaplan varied shape at fixed N the same way and corrected the residual N differences
    with the L(N) fit.
    """
    if target_n <= 0 or aspect <= 0:
        raise ShapeError(f"target_n and aspect must be positive (got {target_n}, {aspect})")
    cands = []
    for n_layer in range(1, 129):
        d_est = math.sqrt(target_n / (2 * (2 + ff_ratio) * n_layer))
        best_d = None
        for k in (math.floor(d_est / head_dim), math.ceil(d_est / head_dim)):
            if k < 1:
                continue
            d = k * head_dim
            s = Shape(n_layer, d, max(1, d // head_dim), ff_ratio * d, n_ctx, vocab_size)
            err = abs(math.log(non_embedding_params(s) / target_n))
            if best_d is None or err < best_d[0]:
                best_d = (err, s)
        if best_d:
            cands.append((best_d[0], abs(math.log(best_d[1].d_model / n_layer / aspect)), best_d[1]))
    ok = [c for c in cands if c[0] <= tolerance]
    if ok:
        return min(ok, key=lambda c: (c[1], c[0]))[2]
    return min(cands, key=lambda c: (c[0], c[1]))[2]


# GELU variant by RunSpec.kernels. GPT-2 used the tanh approximation ("gelu_new"); nanoGPT and this
# study's "fast" kernels use the exact erf GELU (the two differ by < 1e-3), whose backward is the
# faster kernel on CPU (timings: docs/decisions.md, 2026-12-03).
ACTIVATION = {"fast": "gelu", "reference": "gelu_new"}


def build_model(s: Shape, *, dropout: float = 0.0, seed: int | None = None, kernels: str = "fast"):
    """A `transformers` GPT2LMHeadModel with tied embeddings and SDPA attention, or for
    ``s.arch == "lstm"`` an lstm.LSTMLM. Both have ``lm_head`` (tied to the token embedding) and a trunk
    (``trunk(model)``) that maps token ids to final hidden states."""
    s.validate()
    # torch and transformers are imported here, not at the top: the accounting above is used (by
    # config, experiments, predict) without them, and importing torch takes seconds.
    import torch

    if s.arch == "lstm":
        from scalinglaws.training.lstm import LSTMLM  # a torch module, so imported with torch

        if seed is not None:
            torch.manual_seed(seed)
        return LSTMLM(s.vocab_size, s.d_model, s.n_layer, dropout=dropout)
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(
        vocab_size=s.vocab_size,
        n_positions=s.n_ctx,
        n_embd=s.d_model,
        n_layer=s.n_layer,
        n_head=s.n_head,
        n_inner=s.d_ff,
        activation_function=ACTIVATION[kernels],  # see ACTIVATION
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        tie_word_embeddings=True,  # GPT-2 ties the output head to the token embedding
        bos_token_id=0,
        eos_token_id=0,
        use_cache=False,  # training only; the KV cache just costs memory
    )
    cfg._attn_implementation = "sdpa"
    if seed is not None:
        torch.manual_seed(seed)
    model = GPT2LMHeadModel(cfg)
    return model


def trunk(model):
    """The part of a model from token ids to final hidden states (``.last_hidden_state`` of its output):
    GPT-2's block stack (``model.transformer``) or the LSTM's embedding + layers."""
    return model.trunk if hasattr(model, "trunk") else model.transformer
