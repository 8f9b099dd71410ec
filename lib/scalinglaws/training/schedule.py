"""The learning-rate schedule and the evaluation steps of a run: pure functions of (step, spec).

    from scalinglaws.training.schedule import eval_steps, get_lr
    lr = get_lr(step, spec)   # the LR of optimizer step `step` (counting from 0)
    eval_steps(spec)          # the step counts (from 1) after which the validation loss is measured

Pure functions of the step, so a resumed run follows the same schedule and evaluates at the same
points as an uninterrupted one. (``config.get_lr`` and ``config.eval_steps`` are the same functions.)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only: config imports this module
    from scalinglaws.training.spec import RunSpec


def get_lr(step: int, spec: RunSpec) -> float:
    """Linear warmup to the peak, then decay to min_lr_ratio·peak at the end of the schedule (the run's
    own budget unless schedule_tokens says otherwise); flat after. "cosine": cosine decay over everything
    after warmup. "wsd": the peak until the last decay_frac of the schedule, then a linear cooldown."""
    peak, warm, total, floor = spec.lr, spec.warmup, spec.schedule_steps, spec.min_lr_ratio
    if step < warm:
        return peak * (step + 1) / warm
    if step >= total:
        return peak * floor
    if spec.schedule == "wsd":
        decay_start = spec.decay_start  # max(warmup, total - round(decay_frac·total)): spec.py
        if step < decay_start:
            return peak
        progress = (step - decay_start) / max(1, total - decay_start)
        return peak * (1 - (1 - floor) * progress)
    progress = (step - warm) / max(1, total - warm)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def eval_steps(spec: RunSpec) -> list[int]:
    """Log-spaced steps at which validation loss is measured (1-based step counts), always ending
    with the last step, so curves are resolved early and late with a fixed number of evals."""
    last = spec.steps
    pts = np.unique(np.round(np.geomspace(1, last, spec.eval_points)).astype(int))
    return sorted(set(int(p) for p in pts if 1 <= p <= last) | {last})
