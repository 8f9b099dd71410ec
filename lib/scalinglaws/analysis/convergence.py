"""How converged each model size is, measured from its final losses at several budgets (notebook 01).

Kaplan's L(N) is the loss of a model trained to convergence (Sec. 3.1). Eq. 1.6's step term has no N, so
its "gain if the steps were doubled" is the same for every model trained the same number of steps and
cannot tell sizes apart. Here convergence is measured directly: each size's final loss at budgets a factor
2 apart, every one annealed (a WSD cooldown branch of the size's constant-LR trunk, study.plan, not a
checkpoint of a longer run), and the loss gained per doubling of tokens between the two largest budgets is
compared with the loss itself. The small sizes' trunks run on to Profile.long_tokens, so they can get there.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scalinglaws import ScalingLawsError
from scalinglaws import fit as F
from scalinglaws.analysis.common import pm
from scalinglaws.records import MIN_POINTS

# A size counts as converged when one more doubling of its tokens gains less than this fraction of its
# loss (1%, the threshold the audit of the first round used; Kaplan stop "until convergence" without one).
CONVERGED_GAIN = 0.01


def budget_table(ladder_final: pd.DataFrame, family_final: pd.DataFrame) -> pd.DataFrame:
    """One row per (size, budget): n_layer, d_model, N, tokens, L (final validation loss), peak_lr, source.

    ladder_final / family_final: analysis.final_table of the ladder runs and of every size's final-loss family
    (Study.grid("convergence"): its trunk and cooldown branches), seed 0; a run in both counts once."""
    rows = []
    for f, src in ((ladder_final, "ladder budget"), (family_final, "cooldown branch or trunk")):
        for r in f.itertuples():
            rows.append({"n_layer": r.n_layer, "d_model": r.d_model, "N": r.N, "tokens": r.tokens,
                         "L": r.final_val_loss, "peak_lr": r.peak_lr, "source": src})
    t = pd.DataFrame(rows, columns=["n_layer", "d_model", "N", "tokens", "L", "peak_lr", "source"])
    t = t.drop_duplicates(["n_layer", "d_model", "tokens"], keep="first")
    return t.sort_values(["N", "tokens"]).reset_index(drop=True)


def convergence_by_budget(budgets: pd.DataFrame, tolerance: float = CONVERGED_GAIN) -> pd.DataFrame:
    """Per size: the loss at its largest budget, the gain per doubling of tokens between its two largest
    budgets (nats, and as a fraction of that loss), and whether it meets the criterion. A size with one
    budget has no measured gain (NaN) and does not count as converged."""
    rows = []
    for (l, d), g in budgets.groupby(["n_layer", "d_model"]):
        g = g.sort_values("tokens")
        last = g.iloc[-1]
        row = {"n_layer": int(l), "d_model": int(d), "N": float(last["N"]), "budgets": len(g),
               "tokens_max": float(last["tokens"]), "L_at_max": float(last["L"]),
               "gain_per_doubling": math.nan, "gain_pct": math.nan, "gain_per_doubling_first": math.nan}
        if len(g) >= 2:
            prev = g.iloc[-2]
            doublings = math.log2(last["tokens"] / prev["tokens"])
            row["gain_per_doubling"] = float(prev["L"] - last["L"]) / doublings
            row["gain_pct"] = 100 * row["gain_per_doubling"] / float(last["L"])
            first, second = g.iloc[0], g.iloc[1]
            row["gain_per_doubling_first"] = float(first["L"] - second["L"]) / math.log2(second["tokens"] / first["tokens"])
        row["converged"] = bool(np.isfinite(row["gain_pct"]) and row["gain_pct"] < 100 * tolerance)
        rows.append(row)
    return pd.DataFrame(rows).sort_values("N").reset_index(drop=True)


def converged_fits(conv: pd.DataFrame, n_boot: int, seed: int) -> dict:
    """L(N) = (N_c/N)^alpha_N on the converged sizes' losses, without and with 1-layer models (Kaplan
    leave them out: they fall off the trend). A variant with too few sizes maps to None and says why."""
    out = {}
    for key, keep in (("without 1-layer", conv["converged"] & (conv["n_layer"] > 1)), ("with 1-layer", conv["converged"])):
        pts = conv[keep]
        if pts["N"].nunique() < 3:
            print(f"not fitted (converged L(N), {key}): {pts['N'].nunique()} converged size(s); a power law needs 3")
            out[key] = None
            continue
        out[key] = F.fit_power_law(pts["N"], pts["L_at_max"], n_boot=n_boot, seed=seed)
    return out


def holdout(conv: pd.DataFrame, without_1_layer: bool = True) -> dict:
    """Fit the converged L(N) on all converged sizes but the largest and predict the largest: the error of
    that prediction (nats, and % of the measured loss) is the law's out-of-sample check. Needs 3 sizes to fit,
    so 4 converged sizes; else {"why"}."""
    pts = conv[conv["converged"] & ((conv["n_layer"] > 1) if without_1_layer else True)].sort_values("N")
    out = {"sizes": int(len(pts)), "why": "", "N_held": math.nan, "measured": math.nan, "predicted": math.nan,
           "err": math.nan, "err_pct": math.nan}
    if len(pts) < 4:
        out["why"] = (f"{len(pts)} converged size(s){' with 2+ layers' if without_1_layer else ''}: a hold-out needs "
                      "3 to fit and 1 to predict")
        return out
    fit = F.fit_power_law(pts["N"].iloc[:-1], pts["L_at_max"].iloc[:-1], n_boot=0, seed=0)
    n, meas = float(pts["N"].iloc[-1]), float(pts["L_at_max"].iloc[-1])
    pred = float(fit.predict(np.array([n]))[0])
    out.update(N_held=n, measured=meas, predicted=pred, err=pred - meas, err_pct=100 * (pred - meas) / meas)
    return out


def lr_check_table(checks: pd.DataFrame, ladder_final: pd.DataFrame) -> pd.DataFrame:
    """Per checked size: the final loss at the tuned LR and at ×/÷√2 (same budget), and how far the best
    of the three is below the tuned one (nats; 0 when the tuned LR is best)."""
    rows = []
    for (l, d), g in checks.groupby(["n_layer", "d_model"]):
        tuned = ladder_final[(ladder_final.n_layer == l) & (ladder_final.d_model == d)]
        if tuned.empty:
            continue
        t = tuned.iloc[0]
        lo = g.loc[g["peak_lr"].idxmin()]
        hi = g.loc[g["peak_lr"].idxmax()]
        best = min(float(t.final_val_loss), float(lo.final_val_loss), float(hi.final_val_loss))
        rows.append({"n_layer": int(l), "d_model": int(d), "N": float(t.N), "lr_tuned": float(t.peak_lr),
                     "L_lr/sqrt2": float(lo.final_val_loss), "L_tuned": float(t.final_val_loss),
                     "L_lr*sqrt2": float(hi.final_val_loss),
                     "tuned_minus_best": float(t.final_val_loss) - best})
    return pd.DataFrame(rows)


def ladder_replicates(ladder_final: pd.DataFrame, seed_final: pd.DataFrame) -> pd.DataFrame:
    """The ladder's final losses with the other seeds of its sizes (the seeds grid's runs labelled "seed <k>",
    not its shape replicates): every seed of every size, one row per run."""
    reps = seed_final[seed_final["label"].astype(str).str.fullmatch(r"seed \d+")] if len(seed_final) else seed_final
    return pd.concat([ladder_final, reps], ignore_index=True) if len(reps) else ladder_final.copy()


def seed_spread(final: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Seed-to-seed spread of the final loss per configuration (`by` columns identify it, the seed is what
    varies): n seeds, mean, sd (ddof 1; NaN with one seed)."""
    g = final.groupby(by)["final_val_loss"]
    out = pd.DataFrame({"seeds": g.size(), "mean": g.mean(), "sd": g.std(ddof=1)}).reset_index()
    return out[out["seeds"] >= 2].reset_index(drop=True)


def pooled_sd(spread: pd.DataFrame) -> float:
    """Pooled seed sd over configurations: sqrt(sum (n_i − 1) sd_i² / sum (n_i − 1)); NaN without replicates."""
    ok = spread.dropna(subset=["sd"])
    dof = (ok["seeds"] - 1).sum()
    return float(np.sqrt(((ok["seeds"] - 1) * ok["sd"] ** 2).sum() / dof)) if dof > 0 else math.nan


def interpret_convergence(conv: pd.DataFrame, fits: dict, tolerance: float = CONVERGED_GAIN) -> str:
    """What the budget comparison says, true in every branch (how many sizes converged; whether a converged
    L(N) could be fitted; what the unconverged sizes' gains are)."""
    n_conv = int(conv["converged"].sum())
    measured = conv[conv["budgets"] >= 2]
    parts = [f"{n_conv} of {len(conv)} sizes gain less than {100 * tolerance:g}% of their loss per doubling of tokens "
             f"between their two largest matched budgets"]
    if len(measured):
        parts[0] += (f" (gains per doubling from {measured.gain_pct.min():.2g}% to {measured.gain_pct.max():.2g}%; "
                     f"largest size measured {measured.N.max():,.0f} parameters).")
    else:
        parts[0] += "; no size was trained at two budgets."
    fit = fits.get("without 1-layer")
    if fit is not None and fit.converged:
        parts.append(f"On the converged sizes without 1-layer models, alpha_N = {pm(fit, 'alpha')}.")
    else:
        parts.append("Too few sizes converged for a converged L(N) without 1-layer models; the final-loss slope below "
                     "is a slope at a fixed budget, not Kaplan's converged L(N).")
    return " ".join(parts)


def fixed_budget_fits(budgets: pd.DataFrame, n_boot: int, seed: int, min_sizes: int = 3) -> dict:
    """L(N) = (N_c/N)^alpha_N on the sizes trained at one token budget, per budget with >= min_sizes sizes
    ({tokens: FitResult}). Each is a slope at a fixed budget, not Kaplan's converged L(N): a size still far
    from converged sits further above its converged loss the larger it is, so the slope depends on the budget."""
    out = {}
    for tokens, g in budgets.groupby("tokens"):
        if g["N"].nunique() >= min_sizes:
            out[int(tokens)] = F.fit_power_law(g["N"], g["L"], n_boot=n_boot, seed=seed)
    return out


def interpret_fixed_budgets(fits: dict) -> str:
    """The fixed-budget slopes side by side, true in every branch: how alpha_N moves with the budget."""
    if not fits:
        return "No token budget has 3 or more sizes, so no fixed-budget slope is measured."
    items = sorted(fits.items())
    listed = "; ".join(f"{t:.2g} tokens ({f.n_points} sizes): {pm(f, 'alpha')}" for t, f in items)
    head = f"Fixed-budget slopes of L(N) (not converged losses): {listed}."
    if len(items) < 2:
        return head
    a = [f.params["alpha"] for _, f in items]
    if all(x < y for x, y in zip(a, a[1:])):
        trend = "the slope grows with every larger budget, so a slope at one budget is not the converged alpha_N."
    elif all(x > y for x, y in zip(a, a[1:])):
        trend = "the slope shrinks with every larger budget, so a slope at one budget is not the converged alpha_N."
    else:
        trend = "the slope does not move monotonically with the budget."
    return f"{head} From the smallest to the largest budget {trend}"


def converged_claim(conv: pd.DataFrame, fits: dict, min_sizes: int = MIN_POINTS) -> dict:
    """Whether the converged L(N) can carry Kaplan's claim: the fit without 1-layer models (Kaplan's) on at
    least min_sizes converged sizes. Returns ok, fit (when ok), reason (the computed sentence an "untestable"
    record carries), converged (all depths), converged_deep (2+ layers), sizes."""
    n_conv = int(conv["converged"].sum())
    n_deep = int((conv["converged"] & (conv["n_layer"] > 1)).sum())
    fit = fits.get("without 1-layer")
    ok = fit is not None and n_deep >= min_sizes
    reason = (f"{n_conv} of {len(conv)} sizes meet the <{100 * CONVERGED_GAIN:g}%-per-doubling criterion "
              f"({n_deep} without 1-layer models, which Kaplan leave out); a converged L(N) needs >= {min_sizes}")
    return {"ok": ok, "fit": fit if ok else None, "reason": reason, "converged": n_conv,
            "converged_deep": n_deep, "sizes": len(conv)}


def _depths(single: pd.DataFrame, without_1_layer: bool) -> pd.DataFrame:
    """The runs an Eq. 1.5 fit uses: all depths, or without 1-layer models (Kaplan leave them out of L(N))."""
    return single[single["n_layer"] > 1] if without_1_layer else single


def nd_limit_fit(single: pd.DataFrame, n_boot: int, seed: int, without_1_layer: bool = False):
    """Eq. 1.5 fitted to single-epoch runs with matched schedules (columns n_layer, N, tokens, final_val_loss);
    its alpha_N is the D -> infinity limit, (N_c/N)^alpha_N. Resampled by model size (groups = N): the sizes are
    the independent points, a size's runs at several budgets are not. None (and why) when it cannot be fitted."""
    s = _depths(single, without_1_layer)
    if s["N"].nunique() < 3:
        print(f"not fitted (Eq. 1.5 D->inf limit{', 2+ layers' if without_1_layer else ''}): "
              f"{s['N'].nunique()} size(s); the N term needs 3")
        return None
    try:
        return F.fit_kaplan_nd(s["N"], s["tokens"], s["final_val_loss"], groups=s["N"], n_boot=n_boot, seed=seed)
    except ScalingLawsError as e:
        print(f"not fitted (Eq. 1.5 D->inf limit): {e}")
        return None


def nd_limit_stability(single: pd.DataFrame, fit, without_1_layer: bool = False) -> dict:
    """Whether the D -> infinity limit is pinned down by the data or by Eq. 1.5's form: alpha_N refitted (point
    estimates) on the budgets up to the median budget and on those from it. An extrapolation the data pin down
    gives both inside the full fit's interval; else "why" says how far it moves (the record is then unreliable).
    Returns {"low", "high" (alpha_N of each half, NaN if not fitted), "split" (the median budget), "why"}."""
    out = {"low": math.nan, "high": math.nan, "split": math.nan, "why": ""}
    if fit is None or not fit.converged:
        return out
    s = _depths(single, without_1_layer)
    split = float(np.median(np.unique(s["tokens"])))
    out["split"] = split
    for half, part in (("low", s[s["tokens"] <= split]), ("high", s[s["tokens"] >= split])):
        try:
            f = F.fit_kaplan_nd(part["N"], part["tokens"], part["final_val_loss"], n_boot=0, seed=0)
            out[half] = float(f.params["alpha_N"]) if f.converged else math.nan
        except ScalingLawsError:
            pass
    lo, hi = fit.ci.get("alpha_N", (math.nan, math.nan))
    outside = [h for h in ("low", "high") if np.isfinite(out[h]) and np.isfinite(lo) and not lo <= out[h] <= hi]
    if outside:
        out["why"] = (f"the D->inf limit moves from {out['low']:.3g} (budgets <= {split:.3g} tokens) to {out['high']:.3g} "
                      f"(budgets >= {split:.3g}), outside its interval [{lo:.3g}, {hi:.3g}]: an extrapolation set by Eq. "
                      "1.5's form more than by the data")
    return out


def interpret_alpha_N_claim(claim: dict, nd_deep, paper_value: float) -> str:
    """Which estimate carries the converged alpha_N claim, true in every branch: the converged sizes' fit when
    enough sizes converge; else Eq. 1.5's D -> infinity limit without 1-layer models, if it was fitted."""
    if claim["ok"]:
        return (f"The converged L(N) rests on {claim['converged_deep']} converged sizes without 1-layer models: "
                f"alpha_N = {pm(claim['fit'], 'alpha')} against the paper's {paper_value}.")
    head = f"A converged L(N) cannot be fitted: {claim['reason']}."
    if nd_deep is None or not nd_deep.converged:
        return head + " Eq. 1.5's D -> infinity limit without 1-layer models was not fitted either, so the claim is not measured."
    return (head + f" The claim reads Eq. 1.5's D -> infinity limit without 1-layer models instead: alpha_N = "
            f"{pm(nd_deep, 'alpha_N')} over {nd_deep.n_points} sizes against the paper's "
            f"{paper_value}; an extrapolation through Eq. 1.5's form, not a measured converged loss.")
