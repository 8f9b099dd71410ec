"""Token ids to the windows a step or an evaluation reads: a batch's random contiguous windows (seeded by
(seed, step), so a resumed run reads what it would have), nested data subsets, the fixed validation windows.
"""

from __future__ import annotations

import numpy as np

from scalinglaws.data.paths import CorpusError


def batch_starts(n_tokens: int, n_ctx: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """Start offsets of one batch of random contiguous windows of n_ctx+1 tokens.

    A pure function of (seed, step): a resumed run sees exactly the batches it would have seen, and the
    data order does not depend on how many steps ran before, which keeps checkpoint/resume exact.
    """
    hi = n_tokens - n_ctx - 1
    if hi <= 0:
        raise CorpusError(f"only {n_tokens} tokens available; need more than n_ctx+1 = {n_ctx + 1}")
    rng = np.random.default_rng([seed, step, 0x5CA1])
    return rng.integers(0, hi + 1, size=batch_size)


# Chunk length of "chunks" subsets (RunSpec.data_sampling): 16 windows of n_ctx=128, so the smallest
# subset of the study (3e4 tokens) spans ~15 books rather than part of one; windows that cross a chunk
# boundary (~6% at n_ctx 128) join two texts, as windows that cross a document boundary already do.
SUBSET_CHUNK = 2048


SUBSET_SEED = 0x5B5E7  # fixed: every model and seed sees the same subset of a given size


def subset_tokens(train: np.ndarray, n: int, sampling: str = "prefix") -> np.ndarray:
    """The first n tokens of the train split ("prefix"), or n tokens made of SUBSET_CHUNK-token chunks
    taken in one fixed random order from across the split ("chunks"). Both nest: a smaller subset is the
    start of a larger one."""
    if not n or n >= len(train):
        return train
    if sampling == "prefix":
        return train[:n]
    n_chunks = len(train) // SUBSET_CHUNK
    need = -(-n // SUBSET_CHUNK)
    order = np.random.default_rng(SUBSET_SEED).permutation(n_chunks)[:need]
    idx = (order[:, None] * SUBSET_CHUNK + np.arange(SUBSET_CHUNK)[None, :]).reshape(-1)[:n]
    return np.ascontiguousarray(train[idx])


def gather_windows(tokens: np.ndarray, starts: np.ndarray, n_ctx: int) -> np.ndarray:
    """(batch, n_ctx+1) int64 windows; x = w[:, :-1], y = w[:, 1:]."""
    idx = starts[:, None] + np.arange(n_ctx + 1)[None, :]
    return tokens[idx].astype(np.int64)


def eval_starts(n_tokens: int, n_ctx: int, eval_tokens: int) -> np.ndarray:
    """Fixed, evenly spaced windows over the validation split: the same eval set for every run."""
    n = max(1, eval_tokens // n_ctx)
    hi = n_tokens - n_ctx - 1
    if hi <= 0:
        raise CorpusError(f"validation split has only {n_tokens} tokens; need more than {n_ctx + 1}")
    return np.unique(np.linspace(0, hi, n).astype(np.int64))


def eval_set_starts(n_tokens: int, n_ctx: int, eval_tokens: int) -> np.ndarray:
    """Evenly spaced windows over an eval set, as eval_starts: eval_tokens // n_ctx of them, or fewer when
    the text is shorter (then as many as fit without overlapping)."""
    if n_tokens <= n_ctx + 1:
        raise CorpusError(f"an eval set has {n_tokens} tokens; it needs more than n_ctx+1 = {n_ctx + 1}")
    fit = max(1, (n_tokens - 1) // (n_ctx + 1))
    return eval_starts(n_tokens, n_ctx, min(eval_tokens // n_ctx, fit) * n_ctx)
