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
- ``ratio_slope``: the rival of a constant offset. A constant ratio L_other = r·L_books has slope
  r = L_other/L_books; read at the line's reference loss it is (offset + ref)/ref, about 1.2 for a text
  0.9 nats above books at 4.4 nats. A slope interval holding both 1 and r cannot tell the two apart.
- ``vocab_check``: a text whose loss exceeds ln(vocab), a uniform guess over the tokenizer's vocabulary, at
  most sizes lies outside what this tokenizer and these models cover: its numbers test nothing about
  generalisation, so its records are marked untestable and it leaves the all-sets claims.

Losses are in nats per token of the study's tokenizer; the offset depends on that tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from scalinglaws import ScalingLawsError

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


def ratio_slope(line: Line) -> tuple[float, tuple[float, float]]:
    """The slope a constant ratio L_other = r·L_books would give, r = L_other/L_books at the line's reference
    loss, with its interval from the offset's (nats; ref > 0)."""
    lo, hi = line.offset_ci
    return (line.offset_at_ref + line.ref) / line.ref, ((lo + line.ref) / line.ref, (hi + line.ref) / line.ref)


def vocab_check(final_losses, vocab_size: int) -> dict:
    """Whether a text is out of reach of the tokenizer: k of n final losses (one per size, nats/token) above
    ln(vocab_size), the loss of a uniform guess over the vocabulary. Out of vocabulary when most sizes are
    (k > n/2): a model that cannot beat a uniform guess there has learnt nothing about that text."""
    x = np.asarray(final_losses, dtype=float)
    x = x[np.isfinite(x)]
    ln_v = float(np.log(vocab_size))
    k, n = int(np.sum(x > ln_v)), int(len(x))
    oov = n > 0 and k > n / 2
    reason = (f"{k} of {n} sizes score above ln({vocab_size}) = {ln_v:.2f} nats/token, the loss of a uniform guess "
              f"over the vocabulary" + (": the text is out of this tokenizer's reach, so it tests nothing about "
                                        "generalisation" if oov else ""))
    return {"k": k, "n": n, "ln_vocab": ln_v, "oov": oov, "reason": reason}


def claim_delta(key: str) -> float:
    """The equivalence margin of the registry's null claim decided by `key` (findings.FINDINGS), so the
    notebook's sentence and the verdict use one margin."""
    from scalinglaws.findings import FINDINGS  # the registry imports analysis-free modules only; read it late

    for f in FINDINGS:
        for c in f.claims:
            if key in c.keys and c.delta is not None:
                return float(c.delta)
    raise ScalingLawsError(f"no null claim with key {key!r} in scalinglaws.findings: name one of its claims' keys")


def describe_offset(line: Line) -> str:
    """One sentence, true in every branch, on a constant offset (slope 1) against its rival, a constant ratio
    (slope r = L_other/L_books): which of the two the slope interval holds."""
    lo, hi = line.slope_ci
    r, _ = ratio_slope(line)
    s = (f"{line.set}: slope {line.slope:.2f} [{lo:.2f}, {hi:.2f}], offset {line.offset_at_ref:+.3f} nats at "
         f"L_books = {line.ref:.2f}; a constant ratio would give slope {r:.2f}")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return s + " (no interval: too few runs to resample)."
    one, ratio = lo <= 1 <= hi, lo <= r <= hi
    if one and ratio:
        return s + ": the interval holds both 1 and the ratio's slope, so it cannot tell a constant offset from a constant ratio."
    if one:
        return s + ": a slope of 1 (a constant offset) is inside the interval and the ratio's slope is outside."
    if ratio:
        return s + ": the ratio's slope is inside the interval and 1 is outside, so the gap scales with the loss (not a constant offset)."
    if hi < 1:
        return s + ": the slope is below 1, so the gap narrows as the in-distribution loss falls (neither a constant offset nor a constant ratio)."
    return s + ": the slope is above 1, so the gap widens as the in-distribution loss falls (neither a constant offset nor a constant ratio)."


def describe_phase(set_name: str, pr: dict, delta: float) -> str:
    """One sentence on whether mid-training points follow the across-size line, true in every branch, judged
    as equivalence within ±delta nats (the claim's margin): an interval reaching beyond ±delta is inconclusive."""
    if pr["mean"] is None:
        return f"{set_name}: no mid-training points to compare."
    lo, hi = pr["ci"]
    s = f"{set_name}: mid-training points lie {pr['mean']:+.3f} nats from the across-size line"
    if lo is None:
        return s + " (no interval)."
    s += f" [{lo:+.3f}, {hi:+.3f}] over {pr['n_runs']} runs, margin ±{delta:g}"
    if -delta <= lo and hi <= delta:
        return s + ": the whole interval is inside the margin, so the loss on this text depends on the in-distribution loss, not on the phase of training."
    if lo > delta or hi < -delta:
        side, how = ("above", "worse") if lo > delta else ("below", "better")
        return s + (f": the whole interval lies {side} the margin, so at equal in-distribution loss a model mid-training "
                    f"does {how} on this text than a smaller finished one.")
    if lo <= 0 <= hi:
        return s + ": zero is inside but the interval reaches beyond the margin, so this is inconclusive."
    side = "above" if lo > 0 else "below"
    return s + f": they lie {side} the line, by an amount the interval cannot settle against the margin (inconclusive)."


def describe_sets(judged: list, excluded: dict) -> str:
    """Which text sets the all-sets claims are judged over, and why any are left out (excluded: set -> reason)."""
    s = f"The all-sets claims are judged over {len(judged)} text set(s): {', '.join(judged) or 'none'}"
    if not excluded:
        return s + "; no set was left out."
    return s + "; left out as untestable: " + "; ".join(f"{k} ({v})" for k, v in excluded.items()) + "."
