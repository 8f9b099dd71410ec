"""The critical batch size, two ways (notebook 06, Kaplan Sec. 5.1; McCandlish et al. 2018).

1. From a batch-size sweep: for each target loss, the steps S and tokens E each batch size needs to reach
   it lie on (S/S_min − 1)(E/E_min − 1) = 1, and B_crit = E_min/S_min. Measured as the papers did: every
   batch size with the same warmup (steps), then a constant LR (the wsd schedule's cooldown is not used),
   targets below the unigram plateau and reached by every batch size in that constant-LR phase.
2. From the gradient noise scale B_simple = tr(Σ)/|G|² recorded during training (RunSpec.noise_scale):
   McCandlish et al. show B_crit ≈ B_simple; Kaplan claim B_crit depends on the loss, not on N.

Batch sizes are in tokens per step (sequences × n_ctx), Kaplan's unit.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scalinglaws import fit as F
from scalinglaws.analysis import plots as P
from scalinglaws.analysis.common import pm, tokens_to_reach


def sweep_runs(curves: pd.DataFrame) -> pd.DataFrame:
    """The batch grid's runs at their scheduled LR (not the ×/÷2 LR checks)."""
    return curves[~curves["label"].str.contains("lr-check")]


def stable_phase(curves: pd.DataFrame) -> pd.DataFrame:
    """Evals after warmup and before the cooldown: where the LR is at its peak."""
    return curves[(curves["step"] > curves["warmup"]) & (curves["lr"] >= curves["peak_lr"] * (1 - 1e-9))]


def batch_targets(stable: pd.DataFrame, below: float, n: int) -> list[float]:
    """n log-spaced target losses that every run crosses inside its stable phase: below `below` (the
    unigram entropy: above it steps measure learning token frequencies) and below each run's first
    stable-phase loss, above each run's lowest stable-phase loss. [] when there is no such range."""
    first = stable.sort_values("step").groupby("run_id")["val_loss"].first()
    lowest = stable.groupby("run_id")["val_loss"].min()
    hi, lo = min(below, float(first.min())), float(lowest.max())
    if not (hi > lo * 1.002):
        return []
    return [float(x) for x in np.geomspace(hi / 1.001, lo * 1.001, n)]


def critical_batch(curves: pd.DataFrame, below: float, n_targets: int, n_boot: int, seed: int,
                   warmup_subtract: float = 0.0):
    """(table, fits): per target loss, the fitted S_min, E_min, B_crit (tokens per step) with intervals from
    resampling runs (every seed of every batch size is a run), and the (S, E) points; targets as in
    batch_targets. Steps count from the first step (the warmup is the same for every batch size), less
    ``warmup_subtract`` steps (warmup_sensitivity: how much B_crit depends on how warmup steps are counted);
    a run that reaches the target within them gives no point. ``unreliable``: beyond_grid's reason, if any."""
    runs = sweep_runs(curves)
    stable = stable_phase(runs)
    targets = batch_targets(stable, below, n_targets)
    rows, fits = [], []
    for t in targets:
        pts = []
        for rid, g in stable.groupby("run_id"):
            # Reached in the stable phase by construction; interpolate on the whole curve up to there.
            whole = runs[(runs.run_id == rid) & (runs.step <= g.step.max())]
            S = tokens_to_reach(whole, t, "step") - warmup_subtract
            if np.isfinite(S) and S > 0:
                B = float(g["batch_size"].iloc[0] * g["n_ctx"].iloc[0])
                pts.append({"target": t, "run_id": rid, "seed": int(g["seed"].iloc[0]), "batch_tokens": B,
                            "steps": S, "examples": S * B})
        pts = pd.DataFrame(pts)
        if len(pts) < 3 or pts["batch_tokens"].nunique() < 3:
            continue
        fb = F.fit_critical_batch(pts["steps"], pts["examples"], groups=pts["run_id"], n_boot=n_boot, seed=seed)
        fits.append(fb)
        rows.append({"target": t, "S_min": fb.params["S_min"], "E_min": fb.params["E_min"],
                     "B_crit": fb.params["B_crit"], "B_crit_low": fb.ci["B_crit"][0],
                     "B_crit_high": fb.ci["B_crit"][1], "converged": fb.converged, "message": fb.message,
                     "note": fb.no_interval_reason("B_crit"), "points": pts,
                     "n_batches": int(pts["batch_tokens"].nunique()),
                     "unreliable": beyond_grid(fb.params["B_crit"], pts["batch_tokens"])})
    cols = ["target", "S_min", "E_min", "B_crit", "B_crit_low", "B_crit_high", "converged", "message", "note", "points",
            "n_batches", "unreliable"]
    return pd.DataFrame(rows, columns=cols), fits


def beyond_grid(b_crit: float, batch_tokens) -> str:
    """Why a B_crit is not located by the batches tried ("" when it is): the knee of the hyperbola needs batches
    on both sides of it. A B_crit within half a grid step (in log) of the largest batch tried, or beyond it, has
    no batch above it to bend the curve (likewise below the smallest); the grid step is the geometric mean ratio
    of consecutive batch sizes (2 for a factor-2 grid: half a step is a factor 1.41)."""
    b = np.unique(np.asarray(batch_tokens, float))
    if not np.isfinite(b_crit) or len(b) < 2:
        return "" if np.isfinite(b_crit) else "no B_crit"
    half = math.sqrt((b[-1] / b[0]) ** (1 / (len(b) - 1)))
    if b_crit >= b[-1] / half:
        return (f"B_crit = {b_crit:,.0f} tokens is at or beyond the largest batch tried ({b[-1]:,.0f}; within half a "
                "grid step of it or above): no larger batch locates the knee")
    if b_crit <= b[0] * half:
        return (f"B_crit = {b_crit:,.0f} tokens is at or below the smallest batch tried ({b[0]:,.0f}; within half a "
                "grid step of it or below): no smaller batch locates the knee")
    return ""


def warmup_sensitivity(curves: pd.DataFrame, below: float, n_targets: int, subtracts=(0, 50, 100)) -> pd.DataFrame:
    """B_crit per target (point estimates) with 0, 50, ... warmup steps subtracted from every run's steps S: the
    hyperbola (S/S_min - 1)(E/E_min - 1) = 1 assumes every step counts alike, but warmup steps at a lower LR do
    not, and B_crit = E_min/S_min moves with how they are counted. Columns: target, warmup_subtracted, B_crit."""
    rows = []
    for w in subtracts:
        t, _ = critical_batch(curves, below, n_targets, n_boot=0, seed=0, warmup_subtract=float(w))
        rows += [{"target": r.target, "warmup_subtracted": int(w), "B_crit": r.B_crit} for r in t.itertuples()]
    return pd.DataFrame(rows, columns=["target", "warmup_subtracted", "B_crit"])


def interpret_warmup_sensitivity(top: pd.DataFrame, factor: float = 2.0) -> str:
    """What warmup_sensitivity's rows for one target say, true in every branch: no rows, a B_crit missing for
    some count, B_crit moving by more than ``factor`` (one step of the factor-2 batch grid) or not."""
    if top.empty:
        return "No target loss gave a B_crit, so its sensitivity to the warmup is not measured."
    t = float(top["target"].iloc[0])
    vals = ", ".join(f"{b:,.0f}" if np.isfinite(b) else "no fit" for b in top["B_crit"])
    ws = " / ".join(str(int(w)) for w in top["warmup_subtracted"])
    head = f"At the highest target (L = {t:.3f}), B_crit is {vals} tokens with {ws} warmup steps subtracted"
    b = top["B_crit"].to_numpy(float)
    if not np.all(np.isfinite(b)) or np.any(b <= 0):
        return head + ": not every count gave a B_crit, so its sensitivity is not measured in full."
    ratio = float(b.max() / b.min())
    if ratio > factor:
        return (head + f": it moves by a factor {ratio:.1f}, more than one step of the batch grid, so at this loss "
                "B_crit depends on how the warmup's steps are counted as much as on the data.")
    return head + f": it moves by a factor {ratio:.2f}, less than one step of the batch grid."


def lr_check(curves: pd.DataFrame) -> pd.DataFrame:
    """Per checked batch size: final loss at the √B-scaled LR and at ×0.5 / ×2 (same budget), and how far
    the best of the three is below the scaled one (nats)."""
    rows = []
    checks = curves[curves["is_final"] & curves["label"].str.contains("lr-check")]
    main = curves[curves["is_final"] & ~curves["label"].str.contains("lr-check") & (curves["seed"] == curves["seed"].min())]
    for b, g in checks.groupby("batch_size"):
        m = main[main.batch_size == b]
        if m.empty:
            continue
        losses = {float(r.peak_lr): float(r.final_val_loss) for r in g.itertuples()}
        scaled = float(m.iloc[0].final_val_loss)
        rows.append({"batch_size": int(b), "lr_scaled": float(m.iloc[0].peak_lr), "L_lr_x0.5": losses[min(losses)],
                     "L_scaled": scaled, "L_lr_x2": losses[max(losses)],
                     "scaled_minus_best": scaled - min(scaled, *losses.values())})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ gradient noise scale

def noise_windows(curves: pd.DataFrame, min_measurements: int = 8) -> pd.DataFrame:
    """B_simple per run along training: consecutive evals are pooled until they hold >= min_measurements
    gradient-noise measurements; in each window |G|² and tr(Σ) come from the summed norms at the two batch
    sizes b < B (sequences; McCandlish et al. 2018, App. A):
        |G|² ≈ (B|G_B|² − b|G_b|²)/(B − b),   tr(Σ) ≈ (|G_b|² − |G_B|²)/(1/b − 1/B),
    and B_simple = tr(Σ)/|G|² in tokens (× n_ctx). Only evals after warmup; a window whose |G|² estimate
    is not positive gives no B_simple (noise dominated)."""
    need = {"noise_g2_b", "noise_g2_B", "noise_n"}
    if not need <= set(curves.columns):
        return pd.DataFrame(columns=["run_id", "N", "batch_size", "L", "B_simple", "measurements"])
    c = curves[curves["noise_n"].fillna(0) > 0]
    c = c[c["step"] > c["warmup"]]
    rows = []
    for rid, g in c.sort_values("step").groupby("run_id"):
        acc = {"b": 0.0, "B": 0.0, "n": 0, "L": 0.0}
        for r in g.itertuples():
            n = int(r.noise_n)
            acc["b"] += r.noise_g2_b * n
            acc["B"] += r.noise_g2_B * n
            acc["n"] += n
            acc["L"] += r.val_loss * n
            if acc["n"] >= min_measurements:
                b, B = float(r.noise_b), float(r.noise_B)
                g2b, g2B = acc["b"] / acc["n"], acc["B"] / acc["n"]
                G2 = (B * g2B - b * g2b) / (B - b)
                tr = (g2b - g2B) / (1 / b - 1 / B)
                rows.append({"run_id": rid, "N": float(r.N), "batch_size": int(r.batch_size), "label": r.label,
                             "step": int(r.step), "L": acc["L"] / acc["n"], "measurements": acc["n"],
                             "B_simple": tr / G2 * float(r.n_ctx) if G2 > 0 and tr > 0 else math.nan})
                acc = {"b": 0.0, "B": 0.0, "n": 0, "L": 0.0}
    return pd.DataFrame(rows, columns=["run_id", "N", "batch_size", "label", "step", "L", "measurements", "B_simple"])


def simple_vs_crit(windows: pd.DataFrame, table: pd.DataFrame, rel: float = 0.02) -> pd.DataFrame:
    """Per target loss of the batch sweep: B_crit (fitted) beside the median B_simple of the windows whose
    loss lies within ±rel of the target (McCandlish et al.: B_crit ≈ B_simple up to a factor of order one)."""
    rows = []
    w = windows.dropna(subset=["B_simple"])
    for r in table.itertuples():
        near = w[(w["L"] / r.target - 1).abs() <= rel]
        b_s = float(near["B_simple"].median()) if len(near) else math.nan
        rows.append({"target": r.target, "B_crit": r.B_crit, "B_simple": b_s, "windows": len(near),
                     "ratio_simple_to_crit": b_s / r.B_crit if len(near) else math.nan})
    return pd.DataFrame(rows, columns=["target", "B_crit", "B_simple", "windows", "ratio_simple_to_crit"])


def loss_or_size(windows: pd.DataFrame, n_boot: int, seed: int) -> dict:
    """Kaplan's claim that the critical batch depends on the loss, not on N: least squares of
    log B_simple = c − (1/alpha_B) log L + gamma log N over the windows of runs of several sizes, with
    percentile intervals from resampling whole runs. gamma ≈ 0 (interval includes 0) supports the claim.
    Returns {"alpha_B", "gamma", their CIs, "sizes", "windows"}; NaN entries with fewer than 3 sizes."""
    w = windows.dropna(subset=["B_simple"])
    w = w[w["B_simple"] > 0]
    out = {"sizes": int(w["N"].nunique()), "windows": len(w), "alpha_B": math.nan, "gamma": math.nan,
           "alpha_B_ci": (math.nan, math.nan), "gamma_ci": (math.nan, math.nan)}
    if out["sizes"] < 3 or len(w) < 6:
        return out

    def solve(d):
        X = np.column_stack([np.ones(len(d)), np.log(d["L"]), np.log(d["N"])])
        coef, *_ = np.linalg.lstsq(X, np.log(d["B_simple"]), rcond=None)
        return (-1 / coef[1] if coef[1] != 0 else math.nan), coef[2]

    out["alpha_B"], out["gamma"] = solve(w)
    runs = w["run_id"].unique()
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(max(n_boot, 0)):
        pick = rng.choice(runs, size=len(runs), replace=True)
        d = pd.concat([w[w.run_id == r] for r in pick])
        if d["N"].nunique() >= 3:
            draws.append(solve(d))
    if len(draws) >= 10:
        a = np.array(draws, dtype=float)
        q = lambda x: (float(np.nanpercentile(x, 2.5)), float(np.nanpercentile(x, 97.5)))  # noqa: E731
        out["alpha_B_ci"], out["gamma_ci"] = q(a[:, 0]), q(a[:, 1])
    return out


def shared_loss_range(windows: pd.DataFrame) -> dict:
    """The loss levels at which B_simple was measured for EVERY size: from the highest per-size minimum loss to
    the lowest per-size maximum. {"low", "high", "sizes", "why"}; ``why`` (the computed reason) is non-empty
    when no loss level is shared: then "does B_crit depend on N at equal loss" compares sizes only through the
    assumed power law in L, never at equal loss, and the test cannot be made with these runs."""
    w = windows.dropna(subset=["B_simple"])
    g = w.groupby("N")["L"].agg(["min", "max"])
    out = {"low": math.nan, "high": math.nan, "sizes": len(g), "why": ""}
    if len(g) < 2:
        out["why"] = f"B_simple was measured at {len(g)} size(s)"
        return out
    lo, hi = float(g["min"].max()), float(g["max"].min())
    out.update(low=lo, high=hi)
    if lo > hi:
        n_lo, n_hi = g["min"].idxmax(), g["max"].idxmin()
        out["why"] = (f"no loss level is shared by all {len(g)} sizes: the highest per-size minimum loss "
                      f"({lo:.2f} nats, N = {n_lo:,.0f}) lies above the lowest per-size maximum ({hi:.2f}, N = "
                      f"{n_hi:,.0f}), so sizes are never compared at equal loss")
    return out


def interpret_loss_or_size(r: dict, shared: dict | None = None) -> str:
    """True in every branch: too few sizes, no loss level shared by all sizes (``shared``: shared_loss_range),
    no interval, gamma's interval containing 0 or not."""
    if not np.isfinite(r["gamma"]):
        return (f"B_simple was measured at {r['sizes']} model size(s): too few to separate a dependence on N from one "
                "on the loss.")
    if shared is not None and shared["why"]:
        return (f"Whether B_crit depends on N beyond the loss is not testable with these runs: {shared['why']}. "
                f"The regression's gamma = {r['gamma']:.2f} compares them only along its assumed power law in L.")
    lo, hi = r["gamma_ci"]
    head = f"Across {r['sizes']} model sizes, log B_simple ≈ c − (1/alpha_B) log L + gamma log N gives gamma = {r['gamma']:.2f}"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return head + " (no interval), so whether B_simple depends on N beyond the loss is not resolved."
    head += f" [95% CI {lo:.2f}, {hi:.2f}]"
    alo, ahi = r["alpha_B_ci"]
    # alpha_B = -1/slope in log L: an interval of both signs means the slope's interval includes 0
    weak = ("" if (np.isfinite(alo) and np.isfinite(ahi) and (alo > 0 or ahi < 0)) else
            " B_simple's own trend with the loss is not resolved either (its alpha_B interval spans both signs), "
            "so the windows are too noisy for this test to have much power here.")
    if lo <= 0 <= hi:
        return head + ": no dependence on N beyond the loss is resolved, as Kaplan claim for B_crit." + weak
    return head + (f": at equal loss, B_simple {'grows' if r['gamma'] > 0 else 'falls'} with N here, which Kaplan's "
                   "claim (B_crit depends on the loss alone) does not predict.") + weak


def interpret_bcrit(fit_B: F.FitResult | None, paper_alpha_B: float = 0.21) -> str:
    """What the B_crit(L) = B*/L^(1/alpha_B) fit says, true in every branch: no fit, a failed fit, a trend
    whose interval includes zero (no trend resolved), B_crit growing as the loss falls (alpha_B > 0, the
    paper's finding) or shrinking (alpha_B < 0, the opposite)."""
    if fit_B is None:
        return "No B_crit(L) fit: fewer than three target losses gave a critical batch size."
    if not fit_B.converged:
        return (f"The B_crit(L) fit did not converge (alpha_B ended at {fit_B.params['alpha_B']:.2g}), so this study "
                f"makes no claim about how the critical batch depends on the loss (paper: alpha_B = {paper_alpha_B}).")
    a = fit_B.params["alpha_B"]
    lo, hi = fit_B.ci["alpha_B"]
    if np.isfinite(lo) and np.isfinite(hi) and lo <= 0 <= hi:
        return (f"alpha_B = {pm(fit_B, 'alpha_B', 2)}: the interval includes 0, so no dependence of B_crit on the loss "
                f"is resolved here (paper: alpha_B = {paper_alpha_B}, B_crit grows as the loss falls).")
    direction = ("grows as the loss falls, as in the paper" if a > 0 else
                 "shrinks as the loss falls, the opposite of the paper's finding")
    return f"B_crit {direction}: alpha_B = {pm(fit_B, 'alpha_B', 2)} (paper {paper_alpha_B})."


# ------------------------------------------------------------------------------ fits on the adjusted axes

# Leaving out one size may move an exponent fitted on S_min or C_min by at most this factor before the fit is
# called unstable: a factor 2 is more than any comparison with the paper's value could absorb.
MAX_LEAVE_ONE_OUT_FACTOR = 2.0


def leave_one_out(fit_fn, frame: pd.DataFrame, group_col: str, param: str, **columns) -> pd.Series:
    """``param`` refitted (point estimates) with each value of ``group_col`` (a size) left out in turn:
    fit_fn(frame[columns...], groups=frame.run_id, n_boot=0, seed=0). ``columns``: the fit's positional inputs
    by column name, in order. A refit that fails or does not converge gives NaN."""
    from scalinglaws import ScalingLawsError

    out = {}
    for g in sorted(frame[group_col].unique()):
        d = frame[frame[group_col] != g]
        try:
            f = fit_fn(*(d[c] for c in columns.values()), groups=d["run_id"], n_boot=0, seed=0)
            out[g] = float(f.params[param]) if f.converged else math.nan
        except ScalingLawsError:
            out[g] = math.nan
    return pd.Series(out, dtype=float)


def unstable_reason(name: str, values: pd.Series, factor: float = MAX_LEAVE_ONE_OUT_FACTOR) -> str:
    """Why a fit is unstable ("" when it is not): some leave-one-out refit failed, or the refits' estimates span
    more than ``factor`` (or change sign)."""
    v = values.to_numpy(float)
    if len(v) == 0:
        return ""
    if not np.all(np.isfinite(v)):
        return f"{int((~np.isfinite(v)).sum())} of {len(v)} leave-one-size-out refits of {name} failed (the fit is unstable)"
    lo, hi = float(v.min()), float(v.max())
    if lo <= 0 < hi or (lo > 0 and hi / lo > factor):
        return (f"leaving out one size moves {name} from {lo:.3g} to {hi:.3g} (more than a factor {factor:g}): the fit "
                "is unstable")
    return ""


# ------------------------------------------------------------------------------ figures

BATCH_LABEL = "batch size (tokens per step)"


def critical_batch_figure(main: pd.DataFrame, table: pd.DataFrame):
    """Kaplan Fig. 10's measurement, two panels. Left: validation loss against tokens processed, one line per
    run of the batch sweep (``main``: sweep_runs' curves), coloured by its batch in tokens per step, with the
    target losses dotted. Right: per target loss (``table``: critical_batch's), the steps S and tokens E each
    batch needed and the fitted hyperbola S = S_min(1 + B_crit/B), E = S·B. Returns (fig, points): the (S, E)
    points drawn (critical_batch's point columns: target, run_id, seed, batch_tokens, steps, examples)."""
    fig, (a1, a2) = P.new_figure(1, 2, figsize=(11, 4))
    fig.subplots_adjust(wspace=0.45)
    curves = main.assign(batch_tokens=main["batch_size"] * main["n_ctx"])
    P.learning_curves(a1, curves, x="tokens", y="val_loss", hue="batch_tokens", run="run_id", color_label=BATCH_LABEL)
    for t in table["target"]:
        a1.axhline(t, color="grey", lw=0.6, ls=":")
    a1.set_xlabel("tokens processed (training tokens)")
    a1.set_ylabel("validation loss (nats/token)")
    pts = (pd.concat(list(table["points"]), ignore_index=True) if len(table)
           else pd.DataFrame(columns=["target", "run_id", "seed", "batch_tokens", "steps", "examples"]))
    for i, r in enumerate(table.itertuples()):
        g = pts[pts.target == r.target]
        flag = " (not bracketed)" if r.unreliable else ""
        a2.plot(g["steps"], g["examples"], "o", color=f"C{i}",
                label=f"L = {r.target:.2f} nats: B_crit = {P.tick_label(r.B_crit)} tokens/step{flag}")
        Bs = np.geomspace(g.batch_tokens.min() / 2, g.batch_tokens.max() * 2, 50)
        S = r.S_min * (1 + r.B_crit / Bs)
        a2.plot(S, S * Bs, "-", color=f"C{i}", lw=0.8)  # the fitted hyperbola
    a2.set_xlabel("optimizer steps S to reach the target loss (steps)")
    a2.set_ylabel("tokens E to reach the target loss (tokens)")
    if len(table):
        P.log_axes(a2)
        P.legend_below(a2)
    else:
        a2.text(0.5, 0.5, "no target loss is reached by every batch size\nbelow the unigram loss while the LR is constant",
                ha="center", transform=a2.transAxes)
    return fig, pts


def noise_scale_figure(windows: pd.DataFrame, table: pd.DataFrame):
    """B_simple per window (dots coloured by N on a log scale) and the batch sweep's B_crit with its interval
    (squares) against the validation loss; both in tokens per step on a log axis. Returns (fig, data): data keyed
    B_simple (``windows``) and B_crit (``table`` without its points and fit messages)."""
    fig, ax = P.new_figure(figsize=(6.5, 4.2))
    fig.subplots_adjust(right=0.88)
    w = windows.dropna(subset=["B_simple"])
    if len(w):
        norm, _ = P.log_colorbar(ax, w["N"], "N of the run (non-embedding parameters)")
        ax.scatter(w["L"], w["B_simple"], c=w["N"], norm=norm, cmap="viridis", s=10,
                   label="B_simple (one window of a run)")
    if len(table):
        low = table["B_crit"] - table["B_crit_low"].fillna(table["B_crit"])
        high = table["B_crit_high"].fillna(table["B_crit"]) - table["B_crit"]
        ax.errorbar(table["target"], table["B_crit"], yerr=[low, high], fmt="s", color="C3",
                    label="B_crit from the batch sweep (95% CI)")
    if not (len(w) or len(table)):
        ax.text(0.5, 0.5, "no B_simple window and no B_crit", ha="center", transform=ax.transAxes)
    ax.set_xlabel("validation loss (nats/token)")
    ax.set_ylabel("B_simple and B_crit (tokens per step)")
    if len(w) or len(table):
        P.log_axes(ax)
        ax.legend(fontsize="x-small")
    # the fit's message is left out of the saved table: it counts failed bootstrap refits, absent from a run
    # without intervals
    return fig, {"B_simple": windows, "B_crit": table.drop(columns=["points", "message"])}
