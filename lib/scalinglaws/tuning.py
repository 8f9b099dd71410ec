"""Peak-learning-rate tuning: a small sweep helper and the default LR rule fitted to such sweeps.

At this scale the peak LR decides the L(N) slope (a 6.6e3-parameter model is best near 3e-2, a
2e5-parameter one near 3e-3), so a fixed LR for all sizes is not acceptable. Every run records where
its LR came from in ``spec.lr_source``.

    from scalinglaws.tuning import lr_sweep
    best, df = lr_sweep(spec, "runs/cpu", budget_frac=0.25)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .config import RunSpec

# Starting rule lr(N) = LR_RULE_A · (N / 1e4)^LR_RULE_B (N non-embedding), clipped to [LR_MIN, LR_MAX].
# It passes through the two optima measured on this corpus before the project began (ctx 128,
# 3M tokens: a 6.6e3-parameter model best at >= 3e-2 (5.32 nats vs 5.67 at 3e-3), a 2e5-parameter
# model best near 3e-3 and worse at 1e-2). It is only the centre of the sweeps: every profile but
# `smoke` tunes the LR of each ladder size with a sweep around it and re-fits lr(N) to the optima
# (experiments.Study.lr_rule; the fit and the sweeps are in notebook 01's appendix). Changing these
# constants changes the sweep grids, hence the run hashes of every tuned profile.
LR_RULE_A = 2.0e-2
LR_RULE_B = -0.55
LR_MIN, LR_MAX = 1e-4, 5e-2
LR_RULE_SOURCE = "starting rule lr=2.0e-2*(N/1e4)^-0.55 (untuned)"


def default_lr(n_params: float) -> float:
    return float(np.clip(LR_RULE_A * (n_params / 1e4) ** LR_RULE_B, LR_MIN, LR_MAX))


def with_default_lr(spec: RunSpec) -> RunSpec:
    return spec.replace(lr=round(default_lr(spec.n_params), 6), lr_source=LR_RULE_SOURCE)


def sweep_specs(spec: RunSpec, lrs=None, *, budget_frac: float = 0.25, n_lrs: int = 5, span: float = 4.0) -> list[RunSpec]:
    """Specs of a peak-LR sweep around the default rule: n_lrs log-spaced LRs over ×/÷ span, each
    trained on budget_frac of the spec's tokens (the cosine schedule matched to that reduced budget)."""
    if lrs is None:
        centre = default_lr(spec.n_params)
        lrs = np.geomspace(centre / span, centre * span, n_lrs)
    tokens = max(spec.tokens_per_step, int(spec.tokens * budget_frac))
    return [spec.replace(lr=float(f"{lr:.3g}"), tokens=tokens, schedule_tokens=0, patience=0,
                         lr_source="sweep", label=f"lr-sweep N={spec.n_params}") for lr in lrs]


def pick_best_lr(final: pd.DataFrame) -> float:
    """Best peak LR from a sweep's final losses: the minimum of a parabola in log LR through the best
    point and its neighbours (falls back to the best point at the edge of the sweep), so the choice is
    not quantised to the grid."""
    f = final.dropna(subset=["final_val_loss"]).sort_values("lr")
    if f.empty:
        raise ValueError("every run of the LR sweep diverged; widen the sweep towards lower LRs")
    lr, loss = f["lr"].to_numpy(), f["final_val_loss"].to_numpy()
    i = int(np.argmin(loss))
    if 0 < i < len(lr) - 1:
        x = np.log(lr[i - 1 : i + 2])
        a, b, _ = np.polyfit(x, loss[i - 1 : i + 2], 2)
        if a > 0:
            return float(np.exp(np.clip(-b / (2 * a), x[0], x[-1])))
    return float(lr[i])


def lr_sweep(spec: RunSpec, runs_dir, *, budget_frac: float = 0.25, lrs=None, n_lrs: int = 5,
             span: float = 4.0, **ensure_kw) -> tuple[RunSpec, pd.DataFrame]:
    """Run (or reuse) a peak-LR sweep for one shape; return the spec with the best LR and the sweep's
    final-loss table (all sweep runs stay in the store)."""
    from .store import ensure_runs

    specs = sweep_specs(spec, lrs, budget_frac=budget_frac, n_lrs=n_lrs, span=span)
    df = ensure_runs(specs, runs_dir, **ensure_kw)
    final = df[df["is_final"]][["run_id", "N", "lr", "final_val_loss", "status"]].copy()
    final.loc[final["status"] == "diverged", "final_val_loss"] = math.nan
    best = pick_best_lr(final)
    return spec.replace(lr=float(f"{best:.3g}"), lr_source=f"sweep best of {len(specs)} at {budget_frac:g}x budget"), final


def fit_lr_rule(sweeps: pd.DataFrame) -> dict:
    """One fit to the sweeps of all sizes: L(N_i, lr) = f_i + c·(log lr − a − b·log(N_i/1e4))².

    Each size keeps its own loss level f_i, all share the curvature c and the optimum moves as a power
    law lr*(N) = e^a·(N/1e4)^b. Pooling the sizes makes the optimum robust to the run-to-run noise of
    a single short sweep (a per-size argmin over 3 LRs jumps between grid points). Returns A = e^a,
    B = b, c and the per-size optimum lr*(N); raises ValueError if the data do not pin an optimum.
    """
    from scipy.optimize import least_squares

    d = sweeps.dropna(subset=["final_val_loss"]).copy()
    sizes = sorted(d["N"].unique())
    if len(sizes) < 2 or len(d) < len(sizes) + 3:
        raise ValueError("need sweeps at >= 2 sizes with >= 3 LRs in all to fit lr(N)")
    idx = d["N"].map({n: i for i, n in enumerate(sizes)}).to_numpy()
    x = np.log(d["lr"].to_numpy(float))
    z = np.log(d["N"].to_numpy(float) / 1e4)
    y = d["final_val_loss"].to_numpy(float)
    k = len(sizes)

    def resid(p):
        f, c, a, b = p[:k], p[k], p[k + 1], p[k + 2]
        return f[idx] + c * (x - a - b * z) ** 2 - y

    f0 = d.groupby("N")["final_val_loss"].min().to_numpy()
    best = None
    for a0 in (np.log(d["lr"]).mean(), np.log(d["lr"]).min(), np.log(d["lr"]).max()):
        for b0 in (-0.5, 0.0):
            p0 = np.concatenate([f0, [0.05, a0, b0]])
            lo = np.concatenate([np.full(k, -np.inf), [1e-6, -15, -3]])
            hi = np.concatenate([np.full(k, np.inf), [10, 2, 3]])
            r = least_squares(resid, p0, bounds=(lo, hi), loss="soft_l1", f_scale=0.02)
            if best is None or r.cost < best.cost:
                best = r
    p = best.x
    A, B = float(np.exp(p[k + 1])), float(p[k + 2])
    lr_lo, lr_hi = d["lr"].min(), d["lr"].max()
    opt = {float(n): A * (n / 1e4) ** B for n in sizes}
    # An optimum far outside every sweep is an extrapolation, not a measurement: say so.
    outside = [n for n, v in opt.items() if not (lr_lo / 2 <= v <= lr_hi * 2)]
    return {"A": A, "B": B, "c": float(p[k]), "optimum": opt, "success": bool(best.success),
            "extrapolated_sizes": outside}
