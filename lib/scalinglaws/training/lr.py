"""The peak learning rate a spec gets when none is given, and the one rounding rule every LR goes through.

`RunSpec(lr=None)` (the default) means "the starting rule for this N"; the study replaces it with swept LRs
(study/tuning.py), each rounded here. Rounding matters because an LR is part of a run's address: a sweep's
parabola vertex differs between CPUs in its last digits, and an unrounded LR would make each CPU ask for a
different run.
"""

from __future__ import annotations

import numpy as np

# lr(N) = A·(N/1e4)^B, N non-embedding: a starting rule read off the first sweeps (docs/decisions.md),
# clipped to where AdamW trains these models at all.
LR_RULE_A = 2.0e-2
LR_RULE_B = -0.55
LR_MIN, LR_MAX = 1e-4, 5e-2
LR_RULE_SOURCE = "starting rule lr=2.0e-2*(N/1e4)^-0.55 (untuned)"
LR_SIG_DIGITS = 3  # three significant digits: far finer than an LR sweep resolves (×√2 steps)


def default_lr(n_params: float) -> float:
    """The starting rule's peak LR for a model of n_params non-embedding parameters (not rounded)."""
    return float(np.clip(LR_RULE_A * (n_params / 1e4) ** LR_RULE_B, LR_MIN, LR_MAX))


def round_lr(lr: float) -> float:
    """Every LR that enters a run's address, rounded to LR_SIG_DIGITS significant digits."""
    return float(f"{lr:.{LR_SIG_DIGITS}g}")
