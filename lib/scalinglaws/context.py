"""Loss by position in the context (Kaplan et al. 2020, App. D.5, Fig. 20) and LSTMs against
transformers (Sec. 3.2.1, Fig. 7), measured on this study's runs.

A run records, at its final evaluation, the mean validation loss of the token at each position
t = 1..n_ctx (t = 1 predicts the second token of a window from the first alone). Kaplan: the per-token
loss falls as a power law in t towards a floor, larger models gain more at later positions, and LSTMs
match transformers on early tokens but plateau after ~100 tokens of context.

Laws (fitted with scalinglaws.fit, Huber in log space, intervals by bootstrap over positions):
    L(t) = L_inf + (t_c / t)^alpha_t        per model, positions t >= T_MIN
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import fit as F

# The first positions carry almost no context and sit near the unigram loss; Kaplan's power law
# describes the rest. Fits start here.
T_MIN = 2


def position_table(rows: list[dict]) -> pd.DataFrame:
    """Long table (run_id, N, arch, n_ctx, t, loss) from one dict per run with keys run_id, N, arch,
    and `losses` (mean loss at positions 1..n_ctx)."""
    out = []
    for r in rows:
        losses = np.asarray(r["losses"], dtype=float)
        out.append(pd.DataFrame({"run_id": r["run_id"], "N": r["N"], "arch": r.get("arch", "gpt2"),
                                 "n_ctx": len(losses), "t": np.arange(1, len(losses) + 1), "loss": losses}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["run_id", "N", "arch", "n_ctx", "t", "loss"])


def fit_position_law(one_run: pd.DataFrame, *, n_boot: int = 200, seed: int = 0):
    """L(t) = L_inf + (t_c/t)^alpha_t on one run's positions t >= T_MIN (FitResult: X_c = t_c, alpha, E)."""
    g = one_run[one_run["t"] >= T_MIN]
    return F.fit_power_law(g["t"], g["loss"], irreducible=True, n_boot=n_boot, seed=seed)


def late_gain(pos: pd.DataFrame, small: str, big: str, early: tuple[int, int], late: tuple[int, int]) -> dict:
    """How much `big` improves on `small` (nats, small − big) averaged over early and over late positions.
    Kaplan: larger models improve more at later positions (late gain > early gain)."""
    a = pos[pos.run_id == small].set_index("t")["loss"]
    b = pos[pos.run_id == big].set_index("t")["loss"]
    d = (a - b).dropna()
    e = float(d.loc[early[0]:early[1]].mean())
    l_ = float(d.loc[late[0]:late[1]].mean())
    return {"early_gain": e, "late_gain": l_, "early": early, "late": late}


def plateau_position(one_run: pd.DataFrame, tol: float = 0.01) -> int:
    """First position after which the loss never falls more than `tol` (relative) below its value there:
    where more context stops helping. n_ctx when it keeps improving to the end."""
    g = one_run.sort_values("t")
    L = g["loss"].to_numpy(float)
    t = g["t"].to_numpy(int)
    future_min = np.minimum.accumulate(L[::-1])[::-1]
    for i in range(len(L)):
        if future_min[i] >= L[i] * (1 - tol):
            return int(t[i])
    return int(t[-1])


def describe_late_gain(g: dict, n_small: float, n_big: float) -> str:
    """One sentence, true in every branch."""
    s = (f"Going from N = {n_small:,.0f} to N = {n_big:,.0f} lowers the loss by {g['early_gain']:.3f} nats at positions "
         f"{g['early'][0]}-{g['early'][1]} and by {g['late_gain']:.3f} at positions {g['late'][0]}-{g['late'][1]}")
    if g["late_gain"] > g["early_gain"]:
        return s + ": the larger model gains more late in the context, as Kaplan found."
    return s + ": the larger model does not gain more late in the context (Kaplan found it does)."
