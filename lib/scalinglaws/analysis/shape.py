"""Notebook 03 (model shape): each shape's loss penalty against the best at its N, and the contiguous range of
aspect ratios within tolerance of the best (3% plus the seed noise of the difference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglaws import ScalingLawsError
from scalinglaws.analysis import plots as P

_SHAPE = ["kind", "size", "n_layer", "d_model", "n_head_eff", "d_ff_eff"]


def shape_table(final: pd.DataFrame, alpha_N: float) -> pd.DataFrame:
    """Loss increase (%) over the best shape of each group, after correcting small N differences
    with the L(N) slope: L_corrected = L·(N/N_ref)^α_N, N_ref the group's median N (Kaplan Fig. 5).

    `final` may hold several seeds of a shape (labels "... seed k"): their final losses are averaged into one
    row per shape and group, whose `seeds` column counts them."""
    f = final.copy()
    f["kind"] = f["label"].str.extract(r"shape (\w+)=")[0]
    f["size"] = f["label"].str.extract(r"N~([\d.e+]+)")[0]
    ff_size = f.loc[f["kind"] == "aspect", "size"].iloc[0] if (f["kind"] == "aspect").any() else None
    f.loc[f["kind"] != "aspect", "size"] = ff_size
    f = f.drop_duplicates([*_SHAPE, "run_id"]) if "run_id" in f else f
    f = (f.groupby(_SHAPE, dropna=False, sort=False)
         .agg(label=("label", "first"), aspect_ratio=("aspect_ratio", "first"), N=("N", "first"),
              final_val_loss=("final_val_loss", "mean"), seeds=("final_val_loss", "size"))
         .reset_index())
    f["ff_ratio"] = f["d_ff_eff"] / f["d_model"]
    f["head_dim"] = f["d_model"] / f["n_head_eff"]
    out = []
    for (kind, size), g in f.groupby(["kind", "size"], dropna=False):
        g = g.copy()
        n_ref = float(np.median(g["N"]))
        g["L_corrected"] = g["final_val_loss"] * (g["N"] / n_ref) ** alpha_N
        g["increase_pct"] = 100 * (g["L_corrected"] / g["L_corrected"].min() - 1)
        out.append(g)
    return pd.concat(out, ignore_index=True)


def within_range(t: pd.DataFrame, var: str, pct: float) -> tuple[float, float, float]:
    """Smallest and largest value of `var` among shapes within pct% of the best, and their ratio
    (not necessarily contiguous: see contiguous_range)."""
    ok = t[t["increase_pct"] <= pct][var]
    return float(ok.min()), float(ok.max()), float(ok.max() / ok.min())


@dataclass(frozen=True)
class AspectRange:
    """The contiguous stretch of aspect ratios around the best shape whose penalty is within tolerance."""

    lo: float  # ends of the contiguous stretch within tolerance
    hi: float
    strict_lo: float  # the same with the bare pct (no seed noise)
    strict_hi: float
    tried_lo: float  # ends of the shapes tried
    tried_hi: float
    n_tried: int  # shapes tried (independent points)
    seeds: int  # fewest seeds behind a shape of the group
    pct: float
    noise_pct: float  # pooled seed sd, % of the loss (NaN: no replicates)
    one_layer: bool  # whether 1-layer shapes entered

    @property
    def ratio(self) -> float:
        return self.hi / self.lo

    @property
    def strict_ratio(self) -> float:
        return self.strict_hi / self.strict_lo

    @property
    def tried_ratio(self) -> float:
        return self.tried_hi / self.tried_lo

    @property
    def span(self) -> float:
        """Decades of aspect ratio the shapes tried cover."""
        return math.log10(self.tried_ratio)

    @property
    def open_ends(self) -> list[str]:
        """Ends where the stretch reaches the last shape tried: the true range may go further there."""
        return [w for w, a, b in (("deeper", self.lo, self.tried_lo), ("wider", self.hi, self.tried_hi)) if a == b]


def _stretch(a: np.ndarray, ok: np.ndarray, best: int) -> tuple[float, float]:
    """From the best shape (index into a sorted array), extend left and right while shapes are within tolerance."""
    i = j = best
    while i > 0 and ok[i - 1]:
        i -= 1
    while j < len(a) - 1 and ok[j + 1]:
        j += 1
    return float(a[i]), float(a[j])


def contiguous_range(g: pd.DataFrame, pct: float, noise_pct: float, *, one_layer: bool = True) -> AspectRange:
    """Aspect ratios around the best shape of one group (rows of shape_table) within tolerance, contiguously.

    Penalties are taken over the best shape among those kept (without 1-layer shapes: over the best deeper one,
    as Kaplan left 1-layer models out). A shape is within tolerance when its penalty is at most
    pct + 2·sd_diff, sd_diff = noise_pct·sqrt(1/n_shape + 1/n_best) the seed sd of the difference between two
    seed means (n = seeds behind each); without seed replicates (noise_pct NaN) the tolerance is pct alone.
    The stretch stops at the first shape outside it on each side, however good the shapes beyond are."""
    t = g if one_layer else g[g["n_layer"] > 1]
    if not len(t):  # one shape is a range of 1x, which range_status reports as untestable
        raise ScalingLawsError(f"an aspect-ratio range needs at least 1 shape{'' if one_layer else ' with more than one layer'}, "
                               "got none: add aspect ratios to the profile's shape grid")
    t = t.sort_values("aspect_ratio")
    a = t["aspect_ratio"].to_numpy(float)
    lc = t["L_corrected"].to_numpy(float)
    n = t["seeds"].to_numpy(float) if "seeds" in t else np.ones(len(t))
    best = int(np.argmin(lc))
    pen = 100 * (lc / lc[best] - 1)
    noise = 0.0 if not np.isfinite(noise_pct) else noise_pct
    tol = pct + 2 * noise * np.sqrt(1 / n + 1 / n[best])
    lo, hi = _stretch(a, pen <= tol, best)
    slo, shi = _stretch(a, pen <= pct, best)
    return AspectRange(lo, hi, slo, shi, float(a[0]), float(a[-1]), len(t), int(n.min()), pct, float(noise_pct), one_layer)


def range_status(r: AspectRange, claim_ratio: float) -> tuple[str, str]:
    """The record's status and note: "untestable" (with the computed reason) when the shapes tried span less
    than the claimed range, so no stretch within tolerance could reach it; else "ok"."""
    seeds = "single seed" if r.seeds == 1 else f"{r.seeds} seeds per shape"
    tol = (f"within {r.pct:g}% + 2 seed sd of the difference (pooled sd {r.noise_pct:.2g}%)" if np.isfinite(r.noise_pct)
           else f"within {r.pct:g}% (no seed replicates)")
    note = (f"contiguous aspect {r.lo:.3g} to {r.hi:.3g} {tol}; within {r.pct:g}% alone {r.strict_lo:.3g} to "
            f"{r.strict_hi:.3g}; {r.n_tried} shapes tried {r.tried_lo:.3g}-{r.tried_hi:.3g} "
            f"({'with' if r.one_layer else 'without'} 1-layer shapes), {seeds}")
    if r.open_ends:
        note += f"; the stretch reaches the {' and '.join(r.open_ends)} end of the sweep, so it may go further"
    if r.tried_ratio < claim_ratio:
        return "untestable", (f"the shapes tried span {r.tried_ratio:.3g}x ({r.span:.2g} decades), less than the "
                              f"{claim_ratio:g}x ({math.log10(claim_ratio):.2g} decades) the claim needs; " + note)
    return "ok", note


def interpret_aspect_range(size: float, without: AspectRange, with_one: AspectRange | None, worst_pct: float,
                           claim_ratio: float = 40.0) -> str:
    """One sentence per group: the contiguous stretch without (and with) 1-layer shapes against the claim."""
    tol = (f"{without.pct:g}% + twice the seed noise" if np.isfinite(without.noise_pct) else f"{without.pct:g}%")
    s = (f"N≈{size:,.0f}: without 1-layer shapes, aspect ratios {without.lo:.3g} to {without.hi:.3g} "
         f"({without.ratio:.3g}x, a contiguous stretch) are within {tol} of the best "
         f"({without.strict_lo:.3g} to {without.strict_hi:.3g}, {without.strict_ratio:.3g}x, within {without.pct:g}% alone)")
    if with_one is not None and (with_one.lo, with_one.hi) != (without.lo, without.hi):
        s += f"; with 1-layer shapes {with_one.lo:.3g} to {with_one.hi:.3g} ({with_one.ratio:.3g}x)"
    s += f"; the worst shape tried costs {worst_pct:.1f}%. "
    if without.tried_ratio < claim_ratio:
        s += (f"The shapes with more than one layer were tried over only {without.tried_ratio:.3g}x, less than the "
              f"{claim_ratio:g}x of the claim, so this sweep cannot test it.")
    elif without.ratio >= claim_ratio:
        s += f"Like Kaplan, the stretch within tolerance is at least {claim_ratio:g}x wide."
    else:
        s += (f"The stretch within tolerance is narrower than Kaplan's {claim_ratio:g}x although the sweep is wider: "
              "shape matters more here.")
    if without.seeds == 1:
        s += " (Single seed per shape: one run's luck can move an end.)"
    return s


def distinguishable(table: pd.DataFrame, noise_pct: float) -> pd.Series:
    """Whether each shape's penalty exceeds twice the seed sd of its difference from its group's best,
    noise_pct·sqrt(1/n_shape + 1/n_best) (n = seeds behind each mean); all True without seed replicates."""
    if not np.isfinite(noise_pct):
        return pd.Series(True, index=table.index)
    best_seeds = table.loc[table.groupby(["kind", "size"], dropna=False)["L_corrected"].transform("idxmin"), "seeds"]
    sd_diff = noise_pct * np.sqrt(1 / table["seeds"] + 1 / best_seeds.to_numpy())
    return table["increase_pct"] > 2 * sd_diff


# (kind in shape_table, column, x label): the three panels of Kaplan Fig. 5, all ratios of counts (no unit)
SHAPE_PANELS = (("aspect", "aspect_ratio", "aspect ratio d_model / n_layer (width per layer)"),
                ("ff", "ff_ratio", "feed-forward ratio d_ff / d_model"),
                ("heads", "head_dim", "head dimension d_model / n_head (channels per head)"))


def shape_figure(table: pd.DataFrame, noise_pct: float, pct: float = 3.0):
    """Kaplan Fig. 5 at our scale: each shape's loss increase over the best of its group (%, y) against the
    aspect ratio, the feed-forward ratio and the head dimension (log x, one line per target N), with the
    ``pct`` tolerance as a dotted line and, where there are seed replicates, a grey band 0 ± 2·noise_pct
    (twice the pooled seed sd of one run's loss, in % of the loss): penalties inside it are not told apart from
    seed noise. Returns (fig, data): data keyed aspect / ff / heads (the plotted rows) and, with a band,
    seed_noise (its two edges in the increase_pct column)."""
    fig, axes = P.new_figure(1, 3, figsize=(14, 4))
    fig.subplots_adjust(wspace=0.35)
    # one colour per target N in every panel, so the legend below the figure holds for all three
    colors = {size: f"C{i}" for i, size in enumerate(sorted(table["size"].dropna().unique(), key=float, reverse=True))}
    plotted, band, handles = {}, None, {}
    for ax, (kind, var, xl) in zip(axes, SHAPE_PANELS):
        t = table[table.kind == kind]
        for size, g in t.groupby("size"):
            g = g.sort_values(var)
            (ln,) = ax.plot(g[var], g["increase_pct"], "o-", color=colors[size], zorder=3,
                            label=f"N ≈ {float(size):,.0f} (non-embedding)")
            handles.setdefault(ln.get_label(), ln)
        band = P.noise_band(ax, 2 * noise_pct, f"seed noise: ±2 pooled seed sd (±{2 * noise_pct:.2g}% of the loss)")
        tol = ax.axhline(pct, color="0.3", ls=":", lw=1.0, label=f"{pct:g}% tolerance")
        ax.set_xlabel(xl)
        ax.set_ylabel("loss increase over the best shape (%)")
        if len(t):
            P.log_axes(ax, y=False)
        else:
            ax.text(0.5, 0.5, f"no {kind} shapes at this profile", ha="center", transform=ax.transAxes)
        plotted[kind] = t[["size", var, "N", "final_val_loss", "L_corrected", "increase_pct"]]
    extra = [tol, *(p for p in axes[-1].patches if p.get_label().startswith("seed noise"))]  # the band, if drawn
    axes[1].legend(handles=[*handles.values(), *extra], loc="upper center", bbox_to_anchor=(0.5, -0.2),
                   fontsize="small", ncol=len(handles) + len(extra))
    if band is not None:
        plotted["seed_noise"] = pd.DataFrame({"increase_pct": band["y"].to_numpy()})
    if not np.isfinite(noise_pct):
        axes[0].text(0.98, 0.02, "no seed replicates: no noise band", ha="right", fontsize="x-small",
                     transform=axes[0].transAxes)
    return fig, plotted
