"""The language-model loss: next-token cross-entropy through the tied output head, computed in
cache-sized row chunks with its gradient formed on the way (a fused linear + cross-entropy).

    from scalinglaws.training.loss import linear_cross_entropy
    loss = linear_cross_entropy(hidden, model.lm_head.weight, targets)   # mean nats per token

Why: at this study's sizes the output head dominates the step. For a batch of 16×128 tokens and a
1,024-token vocabulary the logits are a 2,048×1,024 fp32 matrix (8 MB, beyond this CPU's 2 MB L2);
the usual path (logits → log_softmax → nll_loss, then their backward) writes, zero-fills and re-reads
it several times, and measured 10 of the 17 ms of a step for the smallest ladder model. Here each
chunk of 256 rows (1 MB) is multiplied, soft-maxed and turned into its gradient while in cache, and
the backward only scales the stored gradients. The value is the same cross-entropy (same math, fp32
softmax, different rounding order); `benchmarks/check_numerics.py --compare kernels` records that
final losses agree with the reference path within seed-to-seed noise.
"""

from __future__ import annotations

import torch

CHUNK_ROWS = 256  # rows per chunk on CPU: 256 × 1,024 fp32 logits = 1 MB, inside one core's L2
# On a GPU the step is bound by kernel launches, not cache: few large chunks (16,384 × 1,024 fp32 logits
# = 64 MB); the gpu profile's whole batch (128 × 128 tokens) is one chunk.
GPU_CHUNK_ROWS = 16_384


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, w, y, dtype, chunk):
        # h: (M, d) final hidden states; w: (V, d) output head (tied token embedding); y: (M,) targets.
        # Matmuls run in `dtype` (bf16 under bf16 precision), the softmax and the loss in fp32.
        need_grad = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        m = h.shape[0]
        wd = w.to(dtype)
        total = torch.zeros((), dtype=torch.float32, device=h.device)
        grad_h = torch.empty(h.shape, dtype=h.dtype, device=h.device) if need_grad else None
        grad_w = torch.zeros(w.shape, dtype=torch.float32, device=w.device) if need_grad else None
        for s in range(0, m, chunk):
            hc, yc = h[s : s + chunk].to(dtype), y[s : s + chunk, None]
            z = (hc @ wd.t()).float()  # logits of this chunk
            zy = z.gather(1, yc)
            zmax = z.amax(1, keepdim=True)
            z.sub_(zmax).exp_()
            zsum = z.sum(1, keepdim=True)
            total += (zsum.log() + zmax - zy).sum()  # log-sum-exp minus the target logit
            if need_grad:
                z.div_(zsum)  # softmax
                z.scatter_add_(1, yc, torch.full_like(zy, -1.0))  # minus the one-hot target
                g = z.to(dtype)
                grad_h[s : s + chunk] = g @ wd
                grad_w += (g.t() @ hc).float()
        if need_grad:
            ctx.save_for_backward(grad_h, grad_w)
            ctx.w_dtype, ctx.m = w.dtype, m
        return total / m

    @staticmethod
    def backward(ctx, grad_out):
        grad_h, grad_w = ctx.saved_tensors
        scale = grad_out / ctx.m  # d(mean)/d(row sum)
        return grad_h * scale.to(grad_h.dtype), (grad_w * scale).to(ctx.w_dtype), None, None, None


def linear_cross_entropy(h, w, y, *, dtype=None, chunk: int | None = None):
    """Mean cross-entropy (nats/token) of logits h @ w.T against targets y, never materialising all
    logits at once. h: (..., d), w: (V, d), y: (...) int64. dtype: matmul dtype (default h's).
    chunk: rows per chunk (default CHUNK_ROWS on CPU, GPU_CHUNK_ROWS on a GPU)."""
    h2 = h.reshape(-1, h.shape[-1])
    chunk = chunk or (CHUNK_ROWS if h2.device.type == "cpu" else GPU_CHUNK_ROWS)
    return _LinearCrossEntropy.apply(h2, w, y.reshape(-1), dtype or h2.dtype, chunk)
