"""Notebook 05 (sample efficiency): tokens to reach a target loss by size, the L(N, S) fit with its
sensitivity to the warmup cut, and the hold-out prediction of each curve's end from its first half.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scalinglaws import ScalingLawsError, fit as F
from scalinglaws.analysis.common import tokens_to_reach


def before_cooldown(curves: pd.DataFrame) -> pd.DataFrame:
    """Learning curves without the cooldown of WSD runs (the rows up to the step where it starts): Eq. 1.6
    describes how the loss falls with steps at the peak LR; a cooldown's extra drop is annealing, not more
    steps (Hägele et al. 2024), and would be read as a steeper step law. Cosine runs are kept whole (their LR
    falls from the end of warmup on: there is no annealing-free stretch to keep)."""
    if curves.empty or "schedule" not in curves:
        return curves
    keep = (curves["schedule"] != "wsd") | (curves["step"] <= curves["decay_start"])
    out = curves[keep].copy()
    last = out.groupby("run_id")["step"].transform("max")
    out["is_final"] = out["step"] == last  # each curve's last kept point is its end
    return out


def target_losses(final: pd.DataFrame, k: int = 3) -> list[float]:
    """k targets every model can reach down to one only the 3 largest reach: between the smallest
    model's final loss and the third-largest model's, log-spaced, slightly inside both ends."""
    f = final.sort_values("N")
    hi = float(f["final_val_loss"].iloc[0]) * 1.01
    lo = float(f["final_val_loss"].iloc[-min(3, len(f))]) * 1.01
    if lo >= hi:
        lo = float(f["final_val_loss"].min()) * 1.01
    # one target per loss as the records name it (3 decimals): equal ends would give k equal targets
    out: dict[str, float] = {}
    for x in np.geomspace(hi, lo, k):
        out.setdefault(f"{x:.3f}", float(x))
    return list(out.values())


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


WARMUP_CUTS = (1.0, 2.0, 4.0)  # the Eq. 1.6 fit starts after each run's warmup times these


def alpha_s_by_warmup_cut(runs: pd.DataFrame, cuts=WARMUP_CUTS, *, n_boot: int, seed: int):
    """Eq. 1.6 fitted on every run's evals after `cut` × its own warmup, for each cut: a table (cut, alpha_S,
    lo, hi, points kept, decades of S kept) and the fits by cut. A cut that leaves too little to fit is a row
    of NaN (said in `message`)."""
    rows, fits = [], {}
    for cut in cuts:
        warm = runs["warmup"].to_numpy(float) * cut
        try:
            f = F.fit_kaplan_ns(runs["N"], runs["step"], runs["val_loss"], warmup_steps=warm, groups=runs["run_id"],
                                n_boot=n_boot, seed=seed)
        except ScalingLawsError as e:
            rows.append({"cut": cut, "alpha_S": np.nan, "lo": np.nan, "hi": np.nan, "converged": False,
                         "points": 0, "S_decades": np.nan, "message": str(e)})
            continue
        fits[cut] = f
        S = runs["step"].to_numpy(float)[runs["step"].to_numpy(float) > warm]
        lo, hi = f.ci["alpha_S"]
        rows.append({"cut": cut, "alpha_S": f.params["alpha_S"] if f.converged else np.nan, "lo": lo, "hi": hi,
                     "converged": bool(f.converged), "points": len(f.points),
                     "S_decades": float(np.log10(S.max() / S.min())), "message": ""})
    return pd.DataFrame(rows), fits


def per_run_alpha_s(runs: pd.DataFrame) -> pd.DataFrame:
    """Each run's own learning curve after its warmup, L(S) = E + (S_c/S)^α_S (the N term of Eq. 1.6 is a
    constant E within one run): one α_S per run (NaN where the curve cannot support the fit)."""
    rows = []
    for rid, g in runs.groupby("run_id"):
        a = g[g["step"] > g["warmup"]]
        try:
            f = F.fit_power_law(a["step"], a["val_loss"], irreducible=True, n_boot=0)
            alpha = f.params["alpha"] if f.converged else np.nan
        except ScalingLawsError:
            alpha = np.nan
        rows.append({"run_id": rid, "N": float(g["N"].iloc[0]), "alpha_S": alpha, "points": len(a)})
    return pd.DataFrame(rows).sort_values("N").reset_index(drop=True)


def alpha_s_unreliable(cuts: pd.DataFrame, *, s_is_s_min: bool) -> str:
    """Why the α_S record cannot decide Kaplan's claim ("" when nothing speaks against it): the estimate moves
    across the warmup cuts by more than the width of its own interval (the first cut's), or it has no interval to
    compare with; or S is raw optimizer steps, not S_min (Kaplan's α_S is defined on S_min, Sec. 5.1)."""
    why = []
    ok = cuts[np.isfinite(cuts["alpha_S"])]
    ref = cuts.iloc[0]
    width = float(ref["hi"] - ref["lo"])
    move = float(ok["alpha_S"].max() - ok["alpha_S"].min()) if len(ok) else np.nan
    cut_text = "/".join(f"x{c:g}" for c in cuts["cut"])
    if not np.isfinite(width):
        why.append(f"no interval at the warmup cut x{ref['cut']:g} to weigh its movement across cuts {cut_text} against")
    elif len(ok) < len(cuts):
        why.append(f"{len(cuts) - len(ok)} of the warmup cuts {cut_text} gave no converged fit")
    elif move > width:
        why.append(f"alpha_S moves by {move:.2g} across warmup cuts {cut_text}, more than its own interval width {width:.2g}")
    if not s_is_s_min:
        why.append("S is raw optimizer steps at the profile's fixed batch, not S_min (Kaplan's 0.76 is fitted on S_min): "
                   "a different quantity, which cannot contradict or reproduce the claim")
    return "; ".join(why)


def alpha_s_note(cuts: pd.DataFrame, per_run: pd.DataFrame) -> str:
    """The warmup-cut sensitivity and the per-run spread of α_S, for the record's note."""
    by_cut = ", ".join(f"x{r.cut:g}: " + (f"{r.alpha_S:.2g}" if np.isfinite(r.alpha_S) else "no fit") for r in cuts.itertuples())
    ok = cuts["alpha_S"].dropna()
    pr = per_run["alpha_S"].dropna()
    s = f"Eq. 1.6 on steps after warmup; warmup cuts {by_cut}"
    if len(ok):
        s += f" (range {ok.min():.2g}-{ok.max():.2g}; interval width at x{cuts.cut.iloc[0]:g}: {cuts.hi.iloc[0] - cuts.lo.iloc[0]:.2g})"
    if len(pr):
        s += f"; per-run fits {pr.min():.2g}-{pr.max():.2g} (median {pr.median():.2g}, {len(pr)} of {len(per_run)} runs)"
    return s


def interpret_alpha_s(cuts: pd.DataFrame, per_run: pd.DataFrame, paper: float, unreliable: str) -> str:
    """Where the raw-step α_S sits against the paper's value, with its warmup-cut range and per-run spread, and
    why it does or does not decide the claim; true in every branch."""
    ref = cuts.iloc[0]
    if not np.isfinite(ref["alpha_S"]):
        return f"Eq. 1.6 did not give an alpha_S after the warmup (cut x{ref['cut']:g}), so there is nothing to compare with {paper:g}."
    s = f"alpha_S = {ref['alpha_S']:.2g}"
    has_ci = np.isfinite(ref["lo"]) and np.isfinite(ref["hi"])
    if has_ci:
        s += f" [{ref['lo']:.2g}, {ref['hi']:.2g}]"
        s += (f", with the paper's {paper:g} inside" if ref["lo"] <= paper <= ref["hi"]
              else f", the paper's {paper:g} {'above' if paper > ref['hi'] else 'below'} the interval")
    else:
        s += f" (no interval) against the paper's {paper:g}"
    ok = cuts["alpha_S"].dropna()
    s += f"; across warmup cuts {'/'.join(f'x{c:g}' for c in cuts['cut'])} it ranges {ok.min():.2g}-{ok.max():.2g}"
    pr = per_run["alpha_S"].dropna()
    if len(pr):
        s += f", and fitted run by run {pr.min():.2g}-{pr.max():.2g}"
    s += ". " + (f"It does not decide the claim: {unreliable}." if unreliable
                 else "Nothing here speaks against reading it as Kaplan's alpha_S.")
    return s


def interpret_holdout(pred: pd.DataFrame) -> str:
    """The first-half forecast of each final loss: median |error|, the range of signed errors, and whether the
    sign changes with N (counted along the runs sorted by N); true in every branch."""
    p = pred.sort_values("N")
    e = p["error_pct"].to_numpy(float)
    s = (f"From the first half of each curve the law predicts the final loss with a median |error| of "
         f"{np.median(np.abs(e)):.2f}% (signed errors {e.min():+.1f}% to {e.max():+.1f}% over {len(e)} runs); ")
    sign = np.sign(e[e != 0])
    flips = int((np.diff(sign) != 0).sum())
    if (e > 0).all():
        return s + "it over-predicts every run."
    if (e < 0).all():
        return s + "it under-predicts every run."
    if flips == 0:
        return s + "every run with an error has the same sign; the rest are predicted exactly."
    if flips == 1:
        first = "under" if sign[0] < 0 else "over"
        last = "over" if first == "under" else "under"
        n_at = float(p.loc[p["error_pct"] != 0, "N"].to_numpy()[int(np.argmax(sign != sign[0]))])
        return s + (f"the sign changes once with N: it {first}-predicts the smaller models and {last}-predicts "
                    f"from N = {n_at:,.0f} up, so its error depends on model size, not just on noise.")
    return s + f"the sign changes {flips} times along N, so the errors show no single direction with model size."


def interpret_tokens_to_target(reach_fits: pd.DataFrame) -> str:
    """The tokens-to-target exponents: their range and how many intervals lie wholly above 0; true in every branch."""
    if not len(reach_fits):
        return "No target loss was reached by 3 or more sizes, so there is no tokens-to-target fit."
    above = int((reach_fits["lo"] > 0).sum())
    s = (f"The tokens needed to reach a target loss fall as N^-k with k from {reach_fits.exponent.min():.2f} to "
         f"{reach_fits.exponent.max():.2f} across {len(reach_fits)} target losses; {above} of {len(reach_fits)} "
         f"intervals lie wholly above 0")
    if above == len(reach_fits):
        return s + ", so at every target the larger models need fewer tokens."
    if (reach_fits["hi"] < 0).any():
        return s + ", and at least one lies wholly below 0: there the larger models need more tokens."
    models = "/".join(str(int(m)) for m in reach_fits.loc[reach_fits["lo"] <= 0, "models"])
    return s + f"; the rest reach 0 (fits on {models} models), so there the data cannot tell whether size helps."
