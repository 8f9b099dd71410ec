"""The analysis behind each notebook: tables from the run store, fits, figures, results records.

Notebooks call these one step at a time; nothing here trains (training goes through Study.ensure).
Every number written to ``NN_results.json`` is computed here from runs and fits; interpretations are
assembled from those numbers (`interpret_*`), never typed in ahead of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scalinglaws import fit as F
from scalinglaws.analysis.common import tokens_to_reach


def target_losses(final: pd.DataFrame, k: int = 3) -> list[float]:
    """k targets every model can reach down to one only the 3 largest reach: between the smallest
    model's final loss and the third-largest model's, log-spaced, slightly inside both ends."""
    f = final.sort_values("N")
    hi = float(f["final_val_loss"].iloc[0]) * 1.01
    lo = float(f["final_val_loss"].iloc[-min(3, len(f))]) * 1.01
    if lo >= hi:
        lo = float(f["final_val_loss"].min()) * 1.01
    return [float(x) for x in np.geomspace(hi, lo, k)]


def steps_to_targets(curves: pd.DataFrame, targets: list[float]) -> pd.DataFrame:
    rows = []
    for rid, g in curves.groupby("run_id"):
        for t in targets:
            rows.append({"run_id": rid, "N": float(g["N"].iloc[0]), "target": t,
                         "tokens": tokens_to_reach(g, t, "tokens"), "steps": tokens_to_reach(g, t, "step")})
    return pd.DataFrame(rows)


def holdout_prediction(curves: pd.DataFrame, n_boot: int, seed: int, frac: float = 0.5) -> pd.DataFrame:
    """'When to stop': fit Eq. 1.6 on the first `frac` of every curve (steps), predict each run's
    final loss, and compare with what it reached."""
    early = curves[curves["step"] <= frac * curves.groupby("run_id")["step"].transform("max")]
    fit = F.fit_kaplan_ns(early["N"], early["step"], early["val_loss"], warmup_steps=early["warmup"],
                          groups=early["run_id"], n_boot=n_boot, seed=seed)
    last = curves.loc[curves.groupby("run_id")["step"].idxmax()]
    pred = fit.predict_interval(last["N"].to_numpy(float), last["step"].to_numpy(float))
    return pd.DataFrame({"run_id": last["run_id"].to_numpy(), "N": last["N"].to_numpy(float),
                         "final_step": last["step"].to_numpy(float), "actual": last["val_loss"].to_numpy(float),
                         "predicted": pred.estimate, "pred_low": pred.low, "pred_high": pred.high}).assign(
        error_pct=lambda d: 100 * (d["predicted"] / d["actual"] - 1)).sort_values("N").reset_index(drop=True), fit
