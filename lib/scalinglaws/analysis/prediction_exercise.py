"""Scoring a compute-optimal prediction against an IsoFLOP slice (notebook 09, scalinglaws.exercise).

Pure functions of tables: nothing here reads a store or trains. The answer key is a slice of runs that
share one full compute budget C_full (each size trained for its own number of tokens, its cosine set for
that budget); its loss at any N between its sizes is the parabola in log N through the three slice sizes
nearest that N (the "key curve"). The best achievable loss is the key curve's minimum over the slice, so
a prediction's regret (its loss minus the best) is never negative by construction and is 0 at the key's
optimum. The key's own noise is the seed-to-seed standard deviation of its best size.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scalinglaws import ScalingLawsError
from scalinglaws.analysis import plots as P

GRID_POINTS = 801  # points of the key curve in log N (a 10^-3-decade step over a slice of ~2 decades)
NOISE_SDS = 2.0  # a regret or error smaller than this many seed sd is within the key's noise


def key_curve(n: np.ndarray, loss: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The key's loss at each N in `at`: a parabola in log N through the 3 slice sizes nearest it (log N).
    `at` outside the slice's sizes gives NaN: the key does not extrapolate."""
    logn, loss = np.log(np.asarray(n, float)), np.asarray(loss, float)
    if len(np.unique(logn)) < 3:
        raise ScalingLawsError(f"an answer key needs at least 3 model sizes on its slice, it has "
                               f"{len(np.unique(logn))}")
    x = np.log(np.atleast_1d(np.asarray(at, float)))
    out = np.full(x.shape, math.nan)
    for i, xi in enumerate(x):
        if not (logn.min() - 1e-12 <= xi <= logn.max() + 1e-12):
            continue
        near = np.argsort(np.abs(logn - xi), kind="stable")[:3]
        out[i] = np.polyval(np.polyfit(logn[near], loss[near], 2), xi)
    return out


def key_optimum(n: np.ndarray, loss: np.ndarray) -> tuple[float, float]:
    """(N, loss) at the minimum of the key curve, on a grid of GRID_POINTS in log N over the slice."""
    grid = np.exp(np.linspace(np.log(np.min(n)), np.log(np.max(n)), GRID_POINTS))
    curve = key_curve(n, loss, grid)
    i = int(np.nanargmin(curve))
    return float(grid[i]), float(curve[i])


def score(n_pred: float, loss_pred: float, slice_: pd.DataFrame, noise_sd: float) -> dict:
    """A prediction (non-embedding N and the loss it predicts at the key's budget) against the key's slice
    (columns N, loss). Returns the numbers `describe` turns into sentences:
    loss_at_N (the key curve at N; NaN outside the slice), best_N and best_loss (the curve's minimum),
    regret (loss_at_N - best_loss) and regret_pct, loss_error (predicted - loss_at_N), loss_error_vs_best
    (predicted - best_loss), decades (log10 N / best_N), inside (N within the slice's sizes), below/above
    (the slice sizes either side of N), noise_sd."""
    if not (n_pred > 0 and math.isfinite(n_pred)):
        raise ScalingLawsError(f"predicted N={n_pred!r} must be a positive number of non-embedding parameters")
    if not (loss_pred > 0 and math.isfinite(loss_pred)):
        raise ScalingLawsError(f"predicted loss={loss_pred!r} must be a positive number (nats per token)")
    n, loss = slice_["N"].to_numpy(float), slice_["loss"].to_numpy(float)
    best_n, best_loss = key_optimum(n, loss)
    at = float(key_curve(n, loss, [n_pred])[0])
    sizes = np.sort(np.unique(n))
    below, above = sizes[sizes <= n_pred], sizes[sizes >= n_pred]
    return {"N": float(n_pred), "predicted_loss": float(loss_pred), "loss_at_N": at, "best_N": best_n,
            "best_loss": best_loss, "regret": at - best_loss, "regret_pct": 100 * (at / best_loss - 1),
            "loss_error": loss_pred - at, "loss_error_vs_best": loss_pred - best_loss,
            "decades": math.log10(n_pred / best_n), "inside": bool(len(below) and len(above)),
            "below": float(below[-1]) if len(below) else math.nan, "above": float(above[0]) if len(above) else math.nan,
            "noise_sd": float(noise_sd)}


def _size_words(s: dict) -> str:
    if s["inside"]:
        if s["below"] == s["above"]:
            return f"exactly one of the key's sizes (N = {s['N']:,.0f})"
        return f"between the key's sizes N = {s['below']:,.0f} and {s['above']:,.0f}"
    side = "smaller" if math.isnan(s["below"]) else "larger"
    return f"{side} than every size of the key (its sizes span {s['slice_min']:,.0f}-{s['slice_max']:,.0f})"


def describe(s: dict, slice_: pd.DataFrame) -> list[str]:
    """The score as sentences, each computed from the numbers (true in every branch)."""
    s = {**s, "slice_min": float(slice_["N"].min()), "slice_max": float(slice_["N"].max())}
    tol = NOISE_SDS * s["noise_sd"] if math.isfinite(s["noise_sd"]) else math.nan
    factor = 10 ** abs(s["decades"])
    where = "at" if factor < 1.005 else f"{factor:.2f}× {'above' if s['decades'] > 0 else 'below'}"
    lines = [f"Your N = {s['N']:,.0f} is {where} the key's compute-optimal N ≈ {s['best_N']:,.0f} "
             f"({s['decades']:+.2f} decades), {_size_words(s)}."]
    if not s["inside"]:
        lines.append("The key has no run there, so it cannot say what loss that size reaches: no regret is scored.")
        lines.append(f"Your predicted loss {s['predicted_loss']:.4f} is {s['loss_error_vs_best']:+.4f} nats from the "
                     f"best loss on the slice ({s['best_loss']:.4f}).")
        return lines
    lines.append(f"Trained at the key's budget, your model reaches {s['loss_at_N']:.4f} nats; the best on the slice is "
                 f"{s['best_loss']:.4f}: a regret of {s['regret']:.4f} nats ({s['regret_pct']:.2f}%).")
    lines.append(f"Your predicted loss {s['predicted_loss']:.4f} is off by {s['loss_error']:+.4f} nats from what your "
                 f"model reaches ({s['loss_error_vs_best']:+.4f} from the best).")
    if math.isnan(tol):
        lines.append("The key has no seed spread, so it cannot say which of these differences are noise.")
        return lines
    for what, v in (("regret", s["regret"]), ("loss error", s["loss_error"])):
        within = abs(v) <= tol
        lines.append(f"Your {what} ({abs(v):.4f}) is {'within' if within else 'beyond'} the key's noise "
                     f"({NOISE_SDS:g} × seed sd = {tol:.4f}): " + ("the key cannot tell it from zero." if within
                                                                    else "a real difference."))
    return lines


def check_figure(s: dict, slice_: pd.DataFrame, seeds: pd.DataFrame, flops: float):
    """The key's slice (loss vs N, log axes), its curve, the seeds of its best size, and the prediction.
    Returns (fig, data) for plots.save_figure; data has one row per plotted point: series, N, loss."""
    n, loss = slice_["N"].to_numpy(float), slice_["loss"].to_numpy(float)
    grid = np.exp(np.linspace(np.log(n.min()), np.log(n.max()), 200))
    curve = key_curve(n, loss, grid)
    fig, ax = P.new_figure()
    ax.plot(grid, curve, "-", color="0.6", lw=1, label="key curve (parabola through the 3 nearest sizes)")
    ax.plot(n, loss, "o", color="C0", label=f"answer key: IsoFLOP slice, C_full = {flops:.2g} FLOPs")
    ax.plot(seeds["N"], seeds["loss"], "x", color="C0", ms=5, label="the key's best size, each seed")
    ax.axhspan(s["best_loss"] - NOISE_SDS * s["noise_sd"], s["best_loss"] + NOISE_SDS * s["noise_sd"], color="C0",
               alpha=0.1, lw=0, label=f"best loss ± {NOISE_SDS:g} seed sd")
    ax.axvline(s["N"], color="C3", ls="--", lw=1)
    if s["inside"]:
        ax.plot([s["N"]], [s["loss_at_N"]], "s", color="C3", label="your N: its loss on the key")
    ax.plot([s["N"]], [s["predicted_loss"]], "*", color="C3", ms=10, label="your predicted loss")
    ax.set_xlabel("non-embedding parameters N")
    ax.set_ylabel("final validation loss (nats/token)")
    P.log_axes(ax)
    ax.legend(fontsize=6, loc="best")
    data = pd.concat([
        pd.DataFrame({"series": "key slice", "N": n, "loss": loss}),
        pd.DataFrame({"series": "key seeds", "N": seeds["N"].to_numpy(float), "loss": seeds["loss"].to_numpy(float)}),
        pd.DataFrame({"series": "key curve", "N": grid, "loss": curve}),
        pd.DataFrame({"series": ["your N on the key", "your predicted loss"], "N": [s["N"]] * 2,
                      "loss": [s["loss_at_N"], s["predicted_loss"]]}),
    ], ignore_index=True)
    return fig, data
