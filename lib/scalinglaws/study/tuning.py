"""Peak-learning-rate tuning: the starting LR rule, the specs of a sweep around it, and the best LR of a
sweep's results (the study's sweeps are run by `experiments.Study.lr_rule`).

At this scale the peak LR decides the L(N) slope (a 6.6e3-parameter model is best near 3e-2, a
2e5-parameter one near 3e-3), so a fixed LR for all sizes is not acceptable. Every run records where
its LR came from in ``spec.lr_source``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scalinglaws.training.lr import default_lr, round_lr
from scalinglaws.training.spec import RunSpec

# Starting rule lr(N) = LR_RULE_A · (N / 1e4)^LR_RULE_B (N non-embedding), clipped to [LR_MIN, LR_MAX].
# It passes through the two optima measured on this corpus before the project began (ctx 128,
# 3M tokens: a 6.6e3-parameter model best at >= 3e-2 (5.32 nats vs 5.67 at 3e-3), a 2e5-parameter
# model best near 3e-3 and worse at 1e-2). It is only the centre of the sweeps: every profile but
# `smoke` tunes the LR of each ladder size with a sweep around it and re-fits lr(N) to the optima
# (experiments.Study.lr_rule; the fit and the sweeps are in notebook 01's appendix). Changing these
# constants changes the sweep grids, hence the run hashes of every tuned profile.




def sweep_specs(spec: RunSpec, lrs=None, *, budget_frac: float = 0.25, n_lrs: int = 5, span: float = 4.0) -> list[RunSpec]:
    """Specs of a peak-LR sweep around the default rule: n_lrs log-spaced LRs over ×/÷ span, each
    trained on budget_frac of the spec's tokens (the cosine schedule matched to that reduced budget)."""
    if lrs is None:
        centre = default_lr(spec.n_params)
        lrs = np.geomspace(centre / span, centre * span, n_lrs)
    tokens = max(spec.tokens_per_step, int(spec.tokens * budget_frac))
    return [spec.replace(lr=round_lr(lr), tokens=tokens, schedule_tokens=0, patience=0,
                         lr_source="sweep", label=f"lr-sweep N={spec.n_params}") for lr in lrs]


def pick_best_lr(final: pd.DataFrame) -> float:
    """Best peak LR from a sweep's final losses: the minimum of a parabola in log LR through the best
    point and its neighbours (falls back to the best point at the edge of the sweep), so the choice is
    not quantised to the grid."""
    f = final.dropna(subset=["final_val_loss"]).sort_values("peak_lr")
    if f.empty:
        raise ValueError("every run of the LR sweep diverged; widen the sweep towards lower LRs")
    lr, loss = f["peak_lr"].to_numpy(), f["final_val_loss"].to_numpy()
    i = int(np.argmin(loss))
    if 0 < i < len(lr) - 1:
        x = np.log(lr[i - 1 : i + 2])
        a, b, _ = np.polyfit(x, loss[i - 1 : i + 2], 2)
        if a > 0:
            return float(np.exp(np.clip(-b / (2 * a), x[0], x[-1])))
    return float(lr[i])


def sweep_result(runs: pd.DataFrame, specs: list[RunSpec]) -> tuple[float, pd.DataFrame]:
    """(best peak LR, final-loss table) of one sweep's runs within a store DataFrame; diverged runs
    count as NaN loss."""
    ids = {s.run_id for s in specs}
    final = runs[runs["is_final"] & runs["run_id"].isin(ids)][["run_id", "N", "peak_lr", "final_val_loss", "status"]].copy()
    final.loc[final["status"] == "diverged", "final_val_loss"] = math.nan
    return pick_best_lr(final), final
