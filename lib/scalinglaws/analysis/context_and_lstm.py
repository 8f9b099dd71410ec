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

from scalinglaws import fit as F

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
    """Where more context stops helping: positions are grouped in doubling bins [1], [2, 4), [4, 8), ...
    (bin means average out the noise of single positions), and this is the first position of the first bin
    from which every doubling of the position lowers the mean loss by less than `tol` (relative). n_ctx when
    the last doubling still helps (the curve is still falling at the end of the context)."""
    g = one_run.sort_values("t")
    t, L = g["t"].to_numpy(int), g["loss"].to_numpy(float)
    n_ctx = int(t.max())
    starts = [1]
    while starts[-1] * 4 <= n_ctx + 1:  # keep only full bins [s, 2s) that have a full bin after them
        starts.append(starts[-1] * 2)
    means = [float(L[(t >= s) & (t < 2 * s)].mean()) for s in starts]
    gains = [(a - b) / a for a, b in zip(means[:-1], means[1:])]
    first = len(gains)  # index of the first bin from which every later gain is below tol
    for k in range(len(gains) - 1, -1, -1):
        if gains[k] >= tol:
            break
        first = k
    return n_ctx if first == len(gains) else int(starts[first])


def describe_late_gain(g: dict, n_small: float, n_big: float) -> str:
    """One sentence, true in every branch (gains are small − big, in nats: positive = the larger model is better)."""
    def by(x):
        return f"lower by {x:.3f}" if x > 0 else f"higher by {-x:.3f}" if x < 0 else "unchanged"

    s = (f"Going from N = {n_small:,.0f} to N = {n_big:,.0f}, the loss is {by(g['early_gain'])} nats at positions "
         f"{g['early'][0]}-{g['early'][1]} and {by(g['late_gain'])} at positions {g['late'][0]}-{g['late'][1]}")
    if g["late_gain"] > g["early_gain"] and g["late_gain"] > 0:
        return s + ": the larger model gains more late in the context, as Kaplan found."
    if g["late_gain"] <= 0:
        return s + ": the larger model does not improve late in the context here (Kaplan found it gains most there)."
    return s + ": the larger model does not gain more late in the context (Kaplan found it does)."
