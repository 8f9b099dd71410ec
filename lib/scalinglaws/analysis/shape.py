"""The analysis behind each notebook: tables from the run store, fits, figures, results records.

Notebooks call these one step at a time; nothing here trains (training goes through Study.ensure).
Every number written to ``NN_results.json`` is computed here from runs and fits; interpretations are
assembled from those numbers (`interpret_*`), never typed in ahead of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def shape_table(final: pd.DataFrame, alpha_N: float) -> pd.DataFrame:
    """Loss increase (%) over the best shape of each group, after correcting small N differences
    with the L(N) slope: L_corrected = L·(N/N_ref)^α_N, N_ref the group's median N (Kaplan Fig. 5)."""
    f = final.copy()
    f["kind"] = f["label"].str.extract(r"shape (\w+)=")[0]
    f["size"] = f["label"].str.extract(r"N~([\d.e+]+)")[0]
    ff_size = f.loc[f["kind"] == "aspect", "size"].iloc[0] if (f["kind"] == "aspect").any() else None
    f.loc[f["kind"] != "aspect", "size"] = ff_size
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
    """Smallest and largest value of `var` among shapes within pct% of the best, and their ratio."""
    ok = t[t["increase_pct"] <= pct][var]
    return float(ok.min()), float(ok.max()), float(ok.max() / ok.min())
