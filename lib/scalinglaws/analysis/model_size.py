"""Notebook 01 (model size): the LR sweeps behind every size, and whether models of every depth fall on one
trend in non-embedding N (the depth collapse, with a paired interval over models).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scalinglaws import fit as F
from scalinglaws.analysis import plots as P
from scalinglaws.analysis.common import pm


def lr_sweep_figure(study, rule):
    fig, (a1, a2) = P.new_figure(1, 2, figsize=(10, 4))
    if rule.sweeps.empty:
        a1.text(0.5, 0.5, "no sweep at this profile\n(library default rule)", ha="center", transform=a1.transAxes)
        a2.axis("off")
        return fig, pd.DataFrame({"note": ["no sweep at this profile"]})
    sw = rule.sweeps.dropna(subset=["final_val_loss"])
    drawn = P.learning_curves(a1, sw.rename(columns={"final_val_loss": "loss"}), x="peak_lr", y="loss", hue="N",
                               color_label="N (non-embedding parameters)")
    a1.set_xlabel("peak learning rate")
    a1.set_ylabel("final validation loss (sweep budget)")
    where = getattr(study, "lr_store", "")
    a1.set_title(f"LR sweeps of {where} (one line per model size)" if where else "LR sweeps (one line per model size)")
    best = rule.best
    d2 = P.powerlaw_plot(a2, best["N"], best["best_lr"], None, label_x="N (non-embedding)", label_y="best peak LR",
                         data_label="sweep optimum")
    ns = np.geomspace(best["N"].min(), best["N"].max(), 50)
    a2.plot(ns, [rule(n) for n in ns], "k--", lw=1, label=f"lr = {rule.A:.3g}·(N/1e4)^{rule.B:.2f}")
    a2.legend(fontsize="small")
    data = {"sweeps": drawn, "best": d2, "rule": pd.DataFrame({"x": ns, "y": [rule(n) for n in ns]})}
    return fig, data


def loss_vs_N_figure(points: pd.DataFrame, fit_final, conv: pd.DataFrame, conv_fit, fixed: dict, budgets: pd.DataFrame,
                     ladder_tok: int, paper_alpha: float):
    """Kaplan Fig. 1 (right) at our scale, two panels. Left: final losses at the ladder budget (every seed) with
    their power-law fit (dashed), the paper's slope alpha_N drawn as a dotted line through the geometric middle of
    those points (so only the slopes differ), the converged sizes (squares, fitted without 1-layer models) and the
    fixed-budget fits at the other budgets (triangles, dash-dot). Right: the fit's log residuals.

    ``points``: N, final_val_loss; ``conv``: convergence_by_budget's table; ``conv_fit``: the converged fit
    without 1-layer models or None; ``fixed``: {tokens: FitResult} incl. the ladder budget; ``budgets``: N,
    tokens, L. Returns (fig, data), data keyed fit / converged / residuals / other_budgets / paper_slope."""
    fig, (ax, ax2) = P.new_figure(1, 2, figsize=(10, 4))
    d1 = P.powerlaw_plot(ax, points["N"], points["final_val_loss"], fit_final, label_x="N (non-embedding parameters)",
                         label_y="final validation loss (nats/token)", paper_alpha=paper_alpha,
                         data_label=f"final loss at {ladder_tok:.2g} tokens")
    paper_line = P.reference_slope(ax, points["N"], points["final_val_loss"], paper_alpha,
                                   f"Kaplan et al. 2020 slope (α_N = {paper_alpha:g}), anchored at our middle size")
    ok = conv[conv.converged & (conv.n_layer > 1)]
    ax.plot(ok["N"], ok["L_at_max"], "s", mfc="none", ms=9, color="C3",
            label="converged sizes (no 1-layer)" + (f": α_N = {pm(conv_fit, 'alpha', 2)}" if conv_fit is not None else ""))
    if conv_fit is not None:
        xs = ok["N"].sort_values().to_numpy()
        ax.plot(xs, conv_fit.predict(xs), "-", color="C3", lw=1)
    other = []
    for i, (t, f) in enumerate(sorted((t, f) for t, f in fixed.items() if t != ladder_tok)):
        g = budgets[budgets.tokens == t].sort_values("N")
        ax.plot(g.N, g.L, "^", ms=4, color=f"C{4 + i}", label=f"fixed budget {t:.2g} tokens: α_N = {pm(f, 'alpha', 2)}")
        ax.plot(g.N, f.predict(g.N.to_numpy()), "-.", color=f"C{4 + i}", lw=1)  # dash-dot: dotted is the paper's
        other.append(g.assign(L_fit=f.predict(g.N.to_numpy())))
    P.legend_below(ax)
    d2 = P.residual_plot(ax2, fit_final, label_x="N (non-embedding parameters)")
    ax2.set_ylabel("ln(observed / fitted loss), ladder budget")
    data = {"fit": d1, "converged": conv, "residuals": d2,
            "other_budgets": pd.concat(other, ignore_index=True) if other else pd.DataFrame(),
            "paper_slope": paper_line}
    return fig, data


def depth_collapse(final: pd.DataFrame, n_boot: int, seed: int):
    """Kaplan Fig. 6: fit one power law per view (total parameters vs non-embedding N) to all depths;
    the residual spread says which view collapses the depths onto one trend."""
    out, fits = [], {}
    for view in ("N_total", "N"):
        fit = F.fit_power_law(final[view], final["final_val_loss"], n_boot=n_boot, seed=seed)
        fits[view] = fit
        r = pd.Series(fit.residuals, index=final.index)
        one = final["n_layer"] == 1
        out.append({"view": view, "rms_residual": float(np.sqrt(np.mean(r**2))),
                    "rms_residual_without_1_layer": float(np.sqrt(np.mean(r[~one] ** 2))) if (~one).sum() > 2 else math.nan,
                    "mean_residual_1_layer": float(r[one].mean()) if one.any() else math.nan})
    return fits, pd.DataFrame(out)


def depth_figure(final: pd.DataFrame, fits: dict):
    fig, axes = P.new_figure(1, 2, figsize=(10, 4))
    data = {}
    for ax, view, title in zip(axes, ("N_total", "N"), ("with embeddings", "non-embedding")):
        for depth, g in final.groupby("n_layer"):
            ax.plot(g[view], g["final_val_loss"], "o-", ms=4, label=f"{depth} layer{'s' if depth > 1 else ''}")
        xs = np.geomspace(final[view].min(), final[view].max(), 60)
        ax.plot(xs, fits[view].predict(xs), "k--", lw=1, label="one power law, all depths")
        ax.set_xlabel(f"parameters ({title})")
        ax.set_ylabel("final validation loss (nats/token)")
        P.log_axes(ax)
        ax.legend(fontsize="x-small")
        data[view] = final[["n_layer", "d_model", view, "final_val_loss"]].rename(columns={view: "params"})
    return fig, data


def _rms_residual(x: pd.Series, L: pd.Series) -> float:
    """rms log-residual of one power law L(x) (the fit depth_collapse uses; no interval needed here)."""
    fit = F.fit_power_law(x, L, n_boot=0)
    return float(np.sqrt(np.mean(np.asarray(fit.residuals) ** 2)))


def depth_difference(final: pd.DataFrame, n_boot: int, seed: int, without_1_layer: bool = False) -> dict:
    """Kaplan Fig. 6 as one paired number: rms residual of one power law in non-embedding N minus the rms
    residual of one power law in total parameters, on the same models (below 0: leaving the embeddings out
    collapses the depths better). Interval: percentile bootstrap over models, both views refitted on the same
    resample (paired), so the shared scatter of the losses cancels; none when n_boot is 0.

    Returns value, ci (or None), n_models, span (decades of non-embedding N), resamples (refitted), models."""
    t = final[final["n_layer"] > 1] if without_1_layer else final
    t = t.reset_index(drop=True)
    if t["N"].nunique() < 3:
        return {"value": math.nan, "ci": None, "n_models": len(t), "span": math.nan, "resamples": 0,
                "models": "2+ layers" if without_1_layer else "all depths"}
    value = _rms_residual(t["N"], t["final_val_loss"]) - _rms_residual(t["N_total"], t["final_val_loss"])
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(max(n_boot, 0)):
        s = t.iloc[rng.integers(0, len(t), len(t))]
        if s["N"].nunique() < 3 or s["N_total"].nunique() < 3:  # a line through < 3 distinct sizes: no residual
            continue
        diffs.append(_rms_residual(s["N"], s["final_val_loss"]) - _rms_residual(s["N_total"], s["final_val_loss"]))
    ci = (float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))) if len(diffs) >= 20 else None
    return {"value": float(value), "ci": ci, "n_models": len(t), "span": float(np.log10(t["N"].max() / t["N"].min())),
            "resamples": len(diffs), "models": "2+ layers" if without_1_layer else "all depths"}


def interpret_depth(all_depths: dict, deeper: dict) -> str:
    """What the paired depth comparison says, true in every branch: for each model set, which view fits the
    depths more tightly and whether the paired interval excludes 0."""
    parts = []
    for d in (all_depths, deeper):
        if not np.isfinite(d["value"]):
            parts.append(f"{d['models']}: fewer than 3 sizes, no comparison.")
            continue
        view = "non-embedding N" if d["value"] < 0 else ("total parameters" if d["value"] > 0 else "neither view")
        head = (f"{d['models']} ({d['n_models']} models): rms residual (non-embedding) minus (total) = {d['value']:+.4f}"
                f" log-loss, so {view} fits the depths more tightly")
        if d["ci"] is None:
            parts.append(head + "; no interval (no bootstrap), so not how surely.")
            continue
        lo, hi = d["ci"]
        where = ("the interval excludes 0" if lo > 0 or hi < 0 else "the interval includes 0: the two views are not told apart")
        parts.append(head + f" [95% CI {lo:+.4f}, {hi:+.4f}]; {where}.")
    return " ".join(parts)
