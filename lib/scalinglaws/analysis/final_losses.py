"""Final losses at many budgets per size (cooldown branches), read as IsoFLOP slices, as Chinchilla's
Approach 1 envelope, and step by step from Kaplan's setup to Chinchilla's (notebook 06b).

A size's final-loss family (study.plan: one constant-LR trunk, a cooldown branch per smaller budget) gives
its final loss L_N(D) at budgets a factor 2 apart. Every number here is read off those final losses:
- ``isoflop_slices``: at a compute budget C, each size's L_N at D = C / (FLOPs per token), interpolated
  linearly in (log D, log L) between its two nearest budgets. No run is trained at exactly C; the error of
  that interpolation is measured by ``interpolation_error`` (leave a budget out, predict it from its
  neighbours a factor 4 apart: an upper bound for neighbours a factor 2 apart).
- ``final_curves``: the same losses as one "curve" per size, so allocation.frontier gives the envelope of
  final losses over sizes (Approach 1) exactly as it gives the envelope of learning curves (Kaplan).
- ``ablation``: Porian et al. 2024's steps, each an allocation exponent a with a paired interval of its
  change from the step before (the same sizes resampled together).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scalinglaws.analysis.allocation import CONVENTIONS, frontier, paired_shift
from scalinglaws.analysis.common import final_table, pm, usable


def size_key(df: pd.DataFrame) -> pd.Series:
    """'<n_layer>x<d_model>' per row: the name of a model size across runs (a family, or one run per step)."""
    return df["n_layer"].astype(int).astype(str) + "x" + df["d_model"].astype(int).astype(str)


def final_losses(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run (analysis.common.final_table) with its size key and FLOPs per token under both
    countings (C / tokens: 6N, and C_full / tokens)."""
    f = final_table(runs)
    if f.empty:
        return f.assign(size=pd.Series(dtype=str))
    f = f.assign(size=size_key(f))
    f["flops_kaplan"] = f["C"].astype(float) / f["tokens"].astype(float)
    f["flops_full"] = f["C_full"].astype(float) / f["tokens"].astype(float)
    return f.sort_values(["N", "tokens"]).reset_index(drop=True)


def final_curves(finals: pd.DataFrame) -> pd.DataFrame:
    """The final losses as curves for allocation.frontier: one "run" per size (run_id = its size key), a
    point per budget. The envelope of these is Approach 1's: at each C, the lowest final loss of any size
    whose budgets reach C (interpolated between its budgets, never extrapolated)."""
    return finals.assign(run_id=finals["size"], val_loss=finals["final_val_loss"])


def as_size_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Learning curves with run_id replaced by the size key (one run per size), so frontiers of different
    runs of the same sizes can be paired size by size (paired_shift)."""
    return runs if runs.empty else runs.assign(run_id=size_key(runs))


def isoflop_slices(finals: pd.DataFrame, convention: str, budgets) -> pd.DataFrame:
    """Per budget C (FLOPs under `convention`: "kaplan" = 6ND, "full" = C_full) and per size whose budgets
    reach D = C / (FLOPs per token): the final loss at D, interpolated in (log D, log L) between the two
    nearest budgets of that size. Columns: budget, size, n_layer, d_model, N, N_total, tokens (= D),
    final_val_loss, nearest_budget_ratio (D over its nearest trained budget: 1 = a trained run)."""
    per_token = f"flops_{convention}"
    rows = []
    for size, g in finals.groupby("size", sort=False):
        g = g.sort_values("tokens").drop_duplicates("tokens")
        if len(g) < 2:
            continue
        logD, logL = np.log(g["tokens"].to_numpy(float)), np.log(g["final_val_loss"].to_numpy(float))
        f = float(g[per_token].median())
        first = g.iloc[0]
        for C in budgets:
            D = float(C) / f
            if not (g["tokens"].min() * (1 - 1e-9) <= D <= g["tokens"].max() * (1 + 1e-9)):
                continue  # outside this size's budgets: no extrapolation
            near = float(g["tokens"].iloc[np.argmin(np.abs(logD - math.log(D)))])
            rows.append({"budget": float(C), "size": size, "n_layer": int(first["n_layer"]), "d_model": int(first["d_model"]),
                         "N": float(first["N"]), "N_total": float(first["N_total"]), "tokens": D,
                         "final_val_loss": math.exp(np.interp(math.log(D), logD, logL)), "nearest_budget_ratio": D / near})
    cols = ["budget", "size", "n_layer", "d_model", "N", "N_total", "tokens", "final_val_loss", "nearest_budget_ratio"]
    return pd.DataFrame(rows, columns=cols).sort_values(["budget", "N"]).reset_index(drop=True)


def interpolation_error(finals: pd.DataFrame) -> pd.DataFrame:
    """Each interior budget of each size predicted from its two neighbours (a factor 4 apart in D when the
    budgets double), linearly in (log D, log L), against the measured final loss: err = predicted − measured
    (nats). The slices interpolate between neighbours a factor 2 apart, where a smooth curve's error is
    about a quarter of this (it grows with the square of the gap)."""
    rows = []
    for size, g in finals.groupby("size", sort=False):
        g = g.sort_values("tokens").drop_duplicates("tokens")
        D, L = g["tokens"].to_numpy(float), g["final_val_loss"].to_numpy(float)
        for i in range(1, len(g) - 1):
            pred = math.exp(np.interp(math.log(D[i]), np.log(D[[i - 1, i + 1]]), np.log(L[[i - 1, i + 1]])))
            rows.append({"size": size, "N": float(g["N"].iloc[0]), "tokens": D[i], "gap": D[i + 1] / D[i - 1],
                         "measured": L[i], "predicted": pred, "err": pred - L[i]})
    return pd.DataFrame(rows, columns=["size", "N", "tokens", "gap", "measured", "predicted", "err"])


def describe_interpolation(err: pd.DataFrame, seed_sd: float) -> str:
    """One sentence on the interpolation error, true in every branch."""
    if err.empty:
        return "No size has three budgets, so the interpolation error is not measured."
    worst, med = float(err["err"].abs().max()), float(err["err"].abs().median())
    lo, hi = float(err["gap"].min()), float(err["gap"].max())
    gaps = f"{lo:.2g}" if f"{lo:.2g}" == f"{hi:.2g}" else f"{lo:.2g}-{hi:.2g}"
    s = (f"Predicting each of {len(err)} interior final losses from its neighbours (a factor {gaps} apart in D) misses "
         f"by {med:.4f} nats (median) and {worst:.4f} at most; the slices interpolate across half that gap")
    if np.isfinite(seed_sd) and seed_sd > 0:
        s += (", and even the factor-4 error is " + ("below" if worst < seed_sd else "not below")
              + f" the seed-to-seed sd of a final loss ({seed_sd:.4f} nats)")
    return s + "."


def slice_design(slices: pd.DataFrame) -> pd.DataFrame:
    """Per budget: how many sizes its slice holds, their N range, and whether the lowest loss lies inside
    (not at the smallest or largest size of the slice: then N_opt is bracketed)."""
    rows = []
    for C, g in slices.groupby("budget"):
        g = g.sort_values("N")
        best = int(np.argmin(g["final_val_loss"].to_numpy(float)))
        rows.append({"budget": C, "sizes": len(g), "N_min": g["N"].min(), "N_max": g["N"].max(),
                     "best_size": g["size"].iloc[best], "bracketed": 0 < best < len(g) - 1})
    return pd.DataFrame(rows, columns=["budget", "sizes", "N_min", "N_max", "best_size", "bracketed"])


# An IsoFLOP slice locates its minimum well when it holds at least this many sizes with the lowest loss inside
# (issue 30's standard: a parabola through 3 sizes has no freedom left to show that it is the right shape).
DENSE_SLICE_SIZES = 6


def dense_slices(slices: pd.DataFrame, min_sizes: int = DENSE_SLICE_SIZES) -> pd.DataFrame:
    """The rows of the slices that hold at least ``min_sizes`` sizes and bracket their lowest loss: Approach 2
    refitted on these alone says whether the thinner slices move its exponent."""
    if slices.empty:
        return slices
    design = slice_design(slices)
    keep = design.loc[(design["sizes"] >= min_sizes) & design["bracketed"], "budget"]
    return slices[slices["budget"].isin(keep)]


def describe_dense(all_fit, dense_fit, dense: pd.DataFrame, counting: str, min_sizes: int = DENSE_SLICE_SIZES) -> str:
    """One sentence comparing Approach 2 on every slice with Approach 2 on the dense slices, true in every branch."""
    n = int(dense["budget"].nunique()) if len(dense) else 0
    head = f"Approach 2 ({counting}) on the {n} slice(s) with >= {min_sizes} sizes bracketing their minimum"
    if not usable(dense_fit):
        return head + ": not fitted (" + ("no such slice" if n == 0 else "too few such slices for a line") + ")."
    s = f"{head}: a = {pm(dense_fit, 'a')}"
    if usable(all_fit):
        a_all, (lo, hi) = all_fit.params["a"], dense_fit.ci.get("a", (np.nan, np.nan))
        inside = np.isfinite(lo) and lo <= a_all <= hi
        s += (f", against {pm(all_fit, 'a')} on every slice: the full fit's value lies "
              + ("inside" if inside else "outside") + " the dense slices' interval")
    return s + "."


# ------------------------------------------------------------------------------------------------- the ablation
# Porian et al. 2024, Sec. 3: from Kaplan's setup to Chinchilla's, one change at a time. Step (b) recounts (a)'s
# runs (all parameters, C_full); from (c) on every step is counted both ways.
STEPS = (
    ("a", "Kaplan-style: warmup 25% of the steps, cosine set for 4x the run, untuned LR rule; learning-curve envelope"),
    ("c", "short warmup (100 steps), otherwise as (a)"),
    ("d", "schedule matched to each budget: envelope of final losses of WSD cooldowns, untuned LR rule"),
    ("e", "LR tuned per size (the ladder's own families)"),
    ("f", "AdamW beta2 0.99 instead of 0.95, LR tuned"),
)


# The same steps in a few words, for the figure's axis.
SHORT = {"a": "Kaplan-style\n(learning curves)", "b": "count all\nparams + FLOPs", "c": "short\nwarmup",
         "d": "schedule matched\nto each budget", "e": "LR tuned\nper size", "f": "AdamW\nbeta2 0.99"}


def ablation(curves: dict[str, pd.DataFrame], max_loss: float, n_boot: int, seed: int) -> tuple[pd.DataFrame, dict]:
    """The allocation exponent a (N_opt ∝ C^a, the frontier's stair centres) of every step in `curves`
    (step letter -> size curves: as_size_curves of learning curves, or final_curves of final losses) under both
    countings, with the paired change from the step before on the same sizes (paired_shift). Row (b) is (a)
    recounted: its change is the counting shift. Returns (table, frontiers {(step, convention): frontier})."""
    fr = {}
    for step, c in curves.items():
        for conv in CONVENTIONS:
            fr[(step, conv)] = frontier(c, conv, max_loss, n_boot, seed, quiet=True)
    rows = []
    order = [s for s, _ in STEPS if s in curves]

    def add(step, what, conv, prev):
        f = fr[(step, conv)]["fit_Nopt"]
        ok = f is not None and np.isfinite(f.params.get("a", math.nan))
        lo, hi = f.ci.get("a", (math.nan, math.nan)) if ok else (math.nan, math.nan)
        sh = paired_shift(fr[(step, conv)], conv, fr[prev], prev[1], n_boot, seed) if prev and ok else None
        kept = fr[(step, conv)]["env"][fr[(step, conv)]["keep"]] if len(fr[(step, conv)]["env"]) else []
        why = "" if ok else (f"{kept[CONVENTIONS[conv]['N']].nunique() if len(kept) else 0} interior size(s) hold the "
                             "envelope below the unigram loss; the N_opt fit needs 2")
        rows.append({"step": step if not (step == "a" and conv == "full") else "b", "change": what, "why": why,
                     "counting": CONVENTIONS[conv]["describe"], "a": f.params["a"] if ok else math.nan, "a_low": lo,
                     "a_high": hi, "n_points": int(f.n_points) if ok else None,
                     "span": float(f.span) if ok and np.isfinite(f.span) else None,
                     "ci_method": f.ci_method if ok else None,
                     "delta": sh["value"] if sh else math.nan, "delta_low": sh["ci"][0] if sh else math.nan,
                     "delta_high": sh["ci"][1] if sh else math.nan, "delta_n": sh["n_points"] if sh else None,
                     "delta_why": sh["why"] if sh else ("first step" if not prev else "no fit")})

    desc = dict(STEPS)
    prev_k = prev_f = None
    for step in order:
        if step == "a":
            add("a", desc["a"] + " (Kaplan counting)", "kaplan", None)
            add("a", "count every parameter and FLOP (all parameters, C_full): (a)'s runs recounted", "full", ("a", "kaplan"))
            prev_k, prev_f = ("a", "kaplan"), ("a", "full")
            continue
        add(step, desc[step], "full", prev_f)
        add(step, desc[step], "kaplan", prev_k)
        prev_k, prev_f = (step, "kaplan"), (step, "full")
    return pd.DataFrame(rows), fr


def interpret_ablation_steps(table: pd.DataFrame) -> str:
    """Which steps move a, by how much, with what paired interval; true in every branch."""
    lines = []
    for r in table.itertuples():
        if not np.isfinite(r.a):
            lines.append(f"- ({r.step}) {r.counting}: not fitted ({r.why}).")
            continue
        ci = f" [95% CI {r.a_low:.2f}, {r.a_high:.2f}]" if np.isfinite(r.a_low) and np.isfinite(r.a_high) else " (no interval)"
        line = f"- ({r.step}) {r.counting}: a = {r.a:.2f}{ci}"
        if np.isfinite(r.delta) and np.isfinite(r.delta_low) and np.isfinite(r.delta_high):
            res = "excludes 0: this change moves a" if (r.delta_low > 0 or r.delta_high < 0) else "includes 0: not resolved"
            line += (f"; change from the step before {r.delta:+.2f} [95% CI {r.delta_low:+.2f}, {r.delta_high:+.2f}] on "
                     f"{int(r.delta_n)} paired sizes, which {res}")
        elif np.isfinite(r.delta):
            line += f"; change from the step before {r.delta:+.2f}, no interval ({r.delta_why})"
        elif r.delta_why and r.delta_why != "first step":
            line += f"; change not measured ({r.delta_why})"
        lines.append(line + ".")
    return "\n".join(lines)


def ablation_plot(ax, table: pd.DataFrame, kaplan_paper: float, chinchilla_paper: float) -> None:
    """a of every ablation step (x: the step and its change, named on the axis) under both countings, with
    intervals; the papers' exponents as dashed lines. Draws on `ax`."""
    order = list(dict.fromkeys(table["step"]))
    x_of = {s: i for i, s in enumerate(order)}
    for k, (counting, g) in enumerate(table.groupby("counting", sort=False)):
        g = g[np.isfinite(g["a"])]
        if g.empty:
            continue
        x = np.array([x_of[s] for s in g["step"]], float) + (k - 0.5) * 0.12
        lo = (g["a"] - g["a_low"]).fillna(0).clip(lower=0)
        hi = (g["a_high"] - g["a"]).fillna(0).clip(lower=0)
        ax.errorbar(x, g["a"], yerr=[lo, hi], fmt="o", ms=5, capsize=3, color=f"C{k}", label=counting)
    ax.axhline(kaplan_paper, color="C2", ls="--", lw=1, label=f"Kaplan et al. 2020: {kaplan_paper}")
    ax.axhline(chinchilla_paper, color="C3", ls="--", lw=1, label=f"Hoffmann et al. 2022: {chinchilla_paper}")
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels([f"({s}) {SHORT.get(s, s)}" for s in order], fontsize="x-small")
    ax.set_xlabel("ablation step: one change from the step before (Porian et al. 2024)")
    ax.set_ylabel("a in N_opt ∝ C^a")
    ax.legend(fontsize="x-small")
