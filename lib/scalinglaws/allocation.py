"""Compute allocation under two counting conventions, and why Kaplan and Chinchilla disagree (notebook 06).

Counting conventions (Pearce & Song 2024 show the choice alone moves the allocation exponent):
- "kaplan": N = non-embedding parameters, C = 6·N·tokens (Kaplan et al. 2020);
- "full":   N = all parameters (embeddings included), C = C_full, every forward FLOP ×3 (attention over the
            context and the de-embedding included; Hoffmann et al. count N this way).

Allocation methods:
- the frontier: lower envelope of learning curves (Kaplan Sec. 6), each curve read part-way through a
  schedule set for its own budget;
- IsoFLOP (Chinchilla Approach 2): runs with equal budgets and schedules matched to their own length.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import fit as F
from .analysis import try_fit, usable

CONVENTIONS = {
    "kaplan": {"N": "N", "C": "C", "describe": "non-embedding N, C = 6ND"},
    "full": {"N": "N_total", "C": "C_full", "describe": "all parameters, C_full (context + de-embedding)"},
}


def frontier(curves: pd.DataFrame, convention: str, max_loss: float, n_boot: int, seed: int) -> dict:
    """The compute frontier of a ladder's learning curves under a convention, and its two fits: L(C) on the
    frontier rows to fit (F.frontier_fit_rows: attained, not the edge sizes, below max_loss; two sizes
    needed) and N_opt(C). Returns {"env", "keep", "fit_C", "fit_Nopt"} (fits None when not possible)."""
    n_col, c_col = CONVENTIONS[convention]["N"], CONVENTIONS[convention]["C"]
    if curves.empty:
        print(f"no frontier ({convention} counting): no runs")
        return {"env": pd.DataFrame(columns=[c_col, "L", n_col, "run", "attained"]), "keep": np.zeros(0, bool),
                "fit_C": None, "fit_Nopt": None}
    env = F.compute_frontier(curves, c_col=c_col, l_col="val_loss", n_col=n_col, run_col="run_id")
    env = env.rename(columns={"val_loss": "L"})
    keep = F.frontier_fit_rows(env, n_col=n_col, l_col="L", max_loss=max_loss)
    rows = env[keep]
    fit_C = None
    if rows[n_col].nunique() >= 2:
        fit_C = try_fit(F.fit_power_law, rows[c_col], rows["L"], groups=rows[n_col], n_boot=n_boot, seed=seed)
    else:
        print(f"not fitted (L(C), {convention} counting): {rows[n_col].nunique()} interior size(s) below the unigram loss")
    fit_N = try_fit(F.fit_frontier_n_opt, env, c_col=c_col, n_col=n_col, l_col="L", max_loss=max_loss,
                    n_boot=n_boot, seed=seed)
    return {"env": env, "keep": keep, "fit_C": fit_C, "fit_Nopt": fit_N}


def isoflop(final: pd.DataFrame, convention: str, n_boot: int, seed: int):
    """Chinchilla Approach 2 on runs grouped by their budget label ("... C=<budget>"), with N under the
    convention. The budget is exact within a group only for the convention the grid was built in
    (isoflop: kaplan, isoflop-full: full). Returns (table, fit or None)."""
    n_col = CONVENTIONS[convention]["N"]
    t = final.copy()
    t["budget"] = t["label"].astype(str).str.extract(r"C=([\d.e+]+)")[0].astype(float)
    t = t.dropna(subset=["budget"])
    if t.empty:
        print(f"not fitted (Approach 2, {convention} counting): no IsoFLOP runs at this profile")
        return t, None
    d = pd.DataFrame({"N": t[n_col].to_numpy(float), "C": t["budget"].to_numpy(float),
                      "L": t["final_val_loss"].to_numpy(float)})
    fit = try_fit(F.chinchilla_approach2, d, n_col="N", c_col="C", l_col="L", n_boot=n_boot, seed=seed)
    return t, fit


def exponent_row(step: str, fit, name: str, how: str) -> dict:
    """One row of the ablation table: the allocation exponent a (N_opt ∝ C^a) of one analysis."""
    ok = usable(fit)
    lo, hi = fit.ci.get(name, (math.nan, math.nan)) if ok else (math.nan, math.nan)
    return {"analysis": step, "how": how, "a": fit.params[name] if ok else math.nan, "a_low": lo, "a_high": hi}


def interpret_ablation(table: pd.DataFrame, kaplan_paper: float = 0.73, chinchilla_paper: float = 0.50) -> str:
    """Step by step, how each change moves a, true in every branch: a step whose exponent or whose
    predecessor's is missing says so; a move counts only when the two intervals do not overlap."""
    lines = []
    prev = None
    for r in table.itertuples():
        if not np.isfinite(r.a):
            lines.append(f"- {r.analysis}: not fitted here.")
            prev = None
            continue
        ci = f" [95% CI {r.a_low:.2f}, {r.a_high:.2f}]" if np.isfinite(r.a_low) and np.isfinite(r.a_high) else " (no interval)"
        nearer = "Kaplan's 0.73" if abs(r.a - kaplan_paper) < abs(r.a - chinchilla_paper) else "Chinchilla's ~0.5"
        line = f"- {r.analysis}: a = {r.a:.2f}{ci}, nearer {nearer}"
        if prev is not None:
            overlap = (np.isfinite([prev.a_low, prev.a_high, r.a_low, r.a_high]).all()
                       and max(prev.a_low, r.a_low) <= min(prev.a_high, r.a_high))
            no_ci = not np.isfinite([prev.a_low, prev.a_high, r.a_low, r.a_high]).all()
            move = "up" if r.a > prev.a else "down"
            if no_ci:
                line += f"; {move} from the step before by {abs(r.a - prev.a):.2f}, without intervals to judge it"
            elif overlap:
                line += f"; {move} by {abs(r.a - prev.a):.2f} from the step before, within the intervals (not resolved)"
            else:
                line += f"; {move} by {abs(r.a - prev.a):.2f} from the step before, beyond the intervals"
        lines.append(line + ".")
        prev = r
    return "\n".join(lines)
