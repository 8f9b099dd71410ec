"""Generalisation to other text (Kaplan et al. 2020, Sec. 3.2.2, Fig. 8), measured on this study's runs.

Kaplan: the loss on other distributions is the training-distribution loss plus a roughly constant offset;
it improves smoothly with model size, and it depends on the in-distribution loss only, not on how far into
training a model is. Here each run evaluates extra text sets (the books' validation split is "in
distribution"; ../shared/ood holds dictionary definitions, quotations, technical documentation and
Python source) at every eval point, and this module turns those curves into numbers:

- ``offset_line``: L_other = a + b·L_books over the final points of the runs (across sizes), a Huber
  line fitted with SciPy, intervals by resampling runs. A constant offset is b = 1.
- ``phase_residual``: how far the runs' mid-training points lie from that across-size line (nats). Zero
  means generalisation depends on the in-distribution loss alone, not on the training phase.

Losses are in nats per token of the study's tokenizer; the offset depends on that tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

# Huber transition for loss-vs-loss lines, in nats: about the seed-to-seed scatter of a final loss here.
HUBER_NATS = 0.02


@dataclass
class Line:
    """L_other = offset_at_ref + slope·(L_books − ref): the offset is read at `ref` (inside the data)."""

    set: str
    slope: float
    slope_ci: tuple[float, float]
    offset_at_ref: float
    offset_ci: tuple[float, float]
    ref: float  # in-distribution loss at which the offset is read (nats)
    n_runs: int
    n_boot: int
    x_range: tuple[float, float] = (float("nan"), float("nan"))  # in-distribution losses the line was fitted on

    def predict(self, l_books) -> np.ndarray:
        return self.offset_at_ref + self.ref + self.slope * (np.asarray(l_books, dtype=float) - self.ref)


def _huber_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(intercept at x = 0 of the centred data, slope) of a Huber line y ≈ c + b·x."""
    b0, c0 = np.polyfit(x, y, 1) if len(np.unique(x)) > 1 else (0.0, float(np.mean(y)))
    r = least_squares(lambda t: t[0] + t[1] * x - y, [c0, b0], loss="huber", f_scale=HUBER_NATS)
    return float(r.x[0]), float(r.x[1])


def offset_line(final: pd.DataFrame, set_name: str, *, n_boot: int = 200, seed: int = 0,
                level: float = 0.95) -> Line | None:
    """Fit the across-size line for one set from `final` (one row per run: run_id, val_loss, `set`, loss).
    None when fewer than 3 runs have the set. Intervals: percentiles over refits on runs resampled with
    replacement (n_boot ≤ 0: no interval)."""
    f = final[final["set"] == set_name].dropna(subset=["val_loss", "loss"])
    if f["run_id"].nunique() < 3:
        return None
    x, y = f["val_loss"].to_numpy(float), f["loss"].to_numpy(float)
    ref = float(np.mean(x))
    c, b = _huber_line(x - ref, y)
    boots = []
    rng = np.random.default_rng(seed)
    for _ in range(max(n_boot, 0)):
        i = rng.integers(0, len(x), len(x))
        if len(np.unique(x[i])) < 2:
            continue
        boots.append(_huber_line(x[i] - ref, y[i]))
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    if boots:
        cb = np.array(boots)
        oc = tuple(np.percentile(cb[:, 0] - ref, q))  # offset = L_other − L_books at ref
        sc = tuple(np.percentile(cb[:, 1], q))
    else:
        oc = sc = (float("nan"), float("nan"))
    return Line(set_name, b, (float(sc[0]), float(sc[1])), c - ref, (float(oc[0]), float(oc[1])), ref,
                int(f["run_id"].nunique()), len(boots), (float(x.min()), float(x.max())))


def phase_residual(curves: pd.DataFrame, line: Line, *, n_boot: int = 200, seed: int = 0,
                   level: float = 0.95) -> dict:
    """Mean residual (nats) of the mid-training points (after warmup, before the final eval) from the
    across-size line, with an interval from resampling runs; also its range of in-distribution losses.
    Only points whose in-distribution loss lies inside the range of the final points count: the line is
    compared where it was measured, not extrapolated to the early, high-loss part of training.
    curves: every eval point (run_id, val_loss, set, loss, is_final, after_warmup)."""
    c = curves[(curves["set"] == line.set) & ~curves["is_final"] & curves["after_warmup"]]
    lo, hi = line.x_range
    c = c[c["val_loss"].between(lo, hi)]
    if c.empty:
        return {"mean": None, "ci": (None, None), "n_points": 0, "n_runs": 0}
    r = c["loss"].to_numpy(float) - line.predict(c["val_loss"].to_numpy(float))
    per_run = pd.Series(r).groupby(c["run_id"].to_numpy()).mean()
    rng = np.random.default_rng(seed)
    boots = [float(per_run.iloc[rng.integers(0, len(per_run), len(per_run))].mean()) for _ in range(max(n_boot, 0))]
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    ci = tuple(float(v) for v in np.percentile(boots, q)) if boots else (None, None)
    return {"mean": float(per_run.mean()), "ci": ci, "n_points": int(len(r)), "n_runs": int(len(per_run)),
            "val_range": (float(c["val_loss"].min()), float(c["val_loss"].max()))}


def describe_offset(line: Line) -> str:
    """One sentence, true in every branch, on whether the offset is constant (slope 1 inside the interval)."""
    lo, hi = line.slope_ci
    s = f"{line.set}: slope {line.slope:.2f} [{lo:.2f}, {hi:.2f}], offset {line.offset_at_ref:+.3f} nats at L_books = {line.ref:.2f}"
    if not np.isfinite(lo):
        return s + " (no interval: too few runs to resample)."
    if lo <= 1 <= hi:
        return s + ": a slope of 1 (a constant offset) is inside the interval."
    if hi < 1:
        return s + ": the slope is below 1, so the gap narrows as the in-distribution loss falls (offset not constant)."
    return s + ": the slope is above 1, so the gap widens as the in-distribution loss falls (offset not constant)."


def describe_phase(set_name: str, pr: dict) -> str:
    """One sentence on whether mid-training points follow the across-size line, true in every branch."""
    if pr["mean"] is None:
        return f"{set_name}: no mid-training points to compare."
    lo, hi = pr["ci"]
    s = f"{set_name}: mid-training points lie {pr['mean']:+.3f} nats from the across-size line"
    if lo is None:
        return s + " (no interval)."
    s += f" [{lo:+.3f}, {hi:+.3f}] over {pr['n_runs']} runs"
    if lo <= 0 <= hi:
        return s + ": zero is inside the interval, so the loss on this text depends on the in-distribution loss, not on the phase of training."
    side = "above" if lo > 0 else "below"
    return s + f": they lie {side} it, so at equal in-distribution loss a model mid-training does {'worse' if lo > 0 else 'better'} on this text than a smaller finished one."
