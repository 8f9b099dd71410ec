"""Which data-limited runs measure a data limit (notebooks 02 and 04), and the points Eq. 1.5 is fitted on.

A run on a D-token subset repeats it for many epochs (Profile.data_max_epochs, capped) at a constant LR
after warmup, with 10% dropout, and stops early when the validation loss stops improving. Its best loss
is L(N, D) only if more epochs would not lower it. Two ways a run shows that, both from its own curve:

- past its minimum: it stopped early, or its best eval lies in the first half of its steps (the later
  evals are all worse) — the model was memorising the subset;
- saturated: its best loss is at the end, but doubling the epochs (the first half of the run against
  the whole) lowered it by less than SATURATION — the same test notebook 01 applies to model size.

A run that is neither was still improving at its cap; its best loss is only an upper bound on L(N, D),
and the fits leave it out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scalinglaws.analysis import plots as P
from scalinglaws.analysis.common import final_table

# Relative gain of the best loss from the first half of a run to its end below which the run counts as
# saturated in epochs: 1% of the loss, about twice the seed-to-seed scatter of a final loss here (0.5%).
SATURATION = 0.01


def classify(runs: pd.DataFrame, saturation: float = SATURATION) -> pd.DataFrame:
    """final_table plus, per run: best_step, gain_last_doubling (relative), `limit` ("past its minimum",
    "saturated" or "still improving") and reached_min (True for the first two: the point is fitted)."""
    f = final_table(runs)
    if f.empty:
        return f.assign(best_step=[], gain_last_doubling=[], limit=[], reached_min=[])
    rows = []
    for rid, g in runs[runs["run_id"].isin(f["run_id"])].groupby("run_id"):
        g = g.sort_values("step")
        best_i = int(g["val_loss"].to_numpy().argmin())
        best_step = int(g["step"].iloc[best_i])
        last = int(g["step"].iloc[-1])
        first_half = g[g["step"] <= last / 2]["val_loss"]
        best = float(g["val_loss"].min())
        gain = float(first_half.min() / best - 1) if len(first_half) else float("nan")
        status = g["status"].iloc[-1]
        if status == "early_stopped" or best_step <= last / 2:
            limit = "past its minimum"
        elif np.isfinite(gain) and gain < saturation:
            limit = "saturated"
        else:
            limit = "still improving"
        rows.append({"run_id": rid, "best_step": best_step, "gain_last_doubling": gain, "limit": limit})
    f = f.merge(pd.DataFrame(rows), on="run_id", how="left")
    f["reached_min"] = f["limit"] != "still improving"
    return f


def counts(table: pd.DataFrame) -> str:
    """'a past their minimum, b saturated, c still improving (of n)' for a classify() table."""
    c = table["limit"].value_counts()
    return (f"{int(c.get('past its minimum', 0))} past their minimum, {int(c.get('saturated', 0))} saturated, "
            f"{int(c.get('still improving', 0))} still improving (of {len(table)})")


def large_n_agreement(table: pd.DataFrame, rel_tol: float = 0.01) -> pd.DataFrame:
    """Per subset size D: the best losses of the two largest model sizes and whether they agree within
    rel_tol (then the larger model is no longer what limits the loss: L(D) is read in its large-N limit)."""
    sizes = sorted(table["N"].unique())[-2:]
    rows = []
    for D, g in table[table["N"].isin(sizes)].groupby("data_tokens"):
        if g["N"].nunique() < 2:
            continue
        small, big = (g[g.N == n].iloc[0] for n in sizes)
        rows.append({"D": float(D), "N_second": float(small.N), "L_second": float(small.best_val_loss),
                     "N_largest": float(big.N), "L_largest": float(big.best_val_loss),
                     "both_reached_min": bool(small.reached_min and big.reached_min),
                     "agree": bool(abs(small.best_val_loss / big.best_val_loss - 1) <= rel_tol)})
    return pd.DataFrame(rows, columns=["D", "N_second", "L_second", "N_largest", "L_largest", "both_reached_min", "agree"])


def nd_points(overfit_runs: pd.DataFrame, ladder_runs: pd.DataFrame) -> pd.DataFrame:
    """(N, D, L) points for Eq. 1.5: each subset run's best validation loss at its D (reached_min: past
    its minimum or saturated); each ladder run of the same shape, trained once through fresh data, as
    the point D = tokens seen."""
    o = classify(overfit_runs)
    o = o.assign(D=o["data_tokens"].astype(float), L=o["best_val_loss"], kind="subset (" + o["limit"] + ")")
    shapes = set(zip(o["n_layer"], o["d_model"]))
    lf = final_table(ladder_runs)
    lf = lf[[s in shapes for s in zip(lf["n_layer"], lf["d_model"])]]
    # A run through fresh data: its loss at D = tokens seen is L(N, D) without repetition (nothing to stop).
    lf = lf.assign(D=lf["tokens"].astype(float), L=lf["best_val_loss"], kind="no repetition (ladder run)",
                   reached_min=True, limit="single epoch")
    cols = ["run_id", "n_layer", "d_model", "N", "D", "L", "tokens", "kind", "limit", "reached_min"]
    return pd.concat([o, lf], ignore_index=True)[cols]


def curves_figure(runs: pd.DataFrame, table: pd.DataFrame):
    """Validation curves against tokens processed, one per subset, each run's best eval marked by what
    it shows (past its minimum / saturated / still improving)."""
    fig, ax = P.new_figure(figsize=(6.5, 4.2))
    curves = runs[runs["run_id"].isin(table["run_id"])]
    drawn = P.learning_curves(ax, curves, x="tokens", y="val_loss", hue="data_tokens", run="run_id",
                              color_label="D (tokens in the subset)")
    best = curves.loc[curves.groupby("run_id")["val_loss"].idxmin()].merge(table[["run_id", "limit"]], on="run_id")
    marks = {"past its minimum": ("v", "red"), "saturated": ("s", "darkorange"), "still improving": ("o", "grey")}
    for limit, (m, c) in marks.items():
        b = best[best["limit"] == limit]
        if len(b):
            ax.scatter(b["tokens"], b["val_loss"], marker=m, color=c, s=28, zorder=5, label=f"best: {limit}")
    ax.legend(fontsize="small")
    ax.set_xlabel("tokens processed (repeating the subset)")
    ax.set_ylabel("validation loss (nats/token)")
    data = pd.concat([drawn.assign(series="curve"),
                      best[["run_id", "data_tokens", "tokens", "val_loss", "limit"]].assign(series="best")], ignore_index=True)
    return fig, data


# Kaplan et al. leave out of their data-limited fits the runs with fewer than about 40 optimizer steps per epoch:
# with a handful of steps per pass, where the run stops is set by the step count and the eval grid as much as
# by the data.
MIN_STEPS_PER_EPOCH = 40


def usability(table: pd.DataFrame, min_steps: float = MIN_STEPS_PER_EPOCH) -> pd.DataFrame:
    """classify() table plus, per run: steps_per_epoch (optimizer steps per pass over its subset), early_min
    (its best loss is an early-stopping minimum: past its minimum), usable (both that and >= min_steps steps per
    epoch: a point Kaplan would keep) and caveat (why not, "" when usable)."""
    t = table.copy()
    t["steps_per_epoch"] = t["step"].astype(float) / t["epochs"].astype(float)
    t["early_min"] = t["limit"] == "past its minimum"
    few = t["steps_per_epoch"] < min_steps
    t["usable"] = t["early_min"] & ~few
    t["caveat"] = [
        "; ".join(([f"{s:.3g} steps/epoch < {min_steps:g}"] if f else []) +
                  ([] if m else [f"no early-stopping minimum ({lim})"]))
        for s, f, m, lim in zip(t["steps_per_epoch"], few, t["early_min"], t["limit"])]
    return t


def usability_note(fitted: pd.DataFrame, min_steps: float = MIN_STEPS_PER_EPOCH) -> str:
    """One sentence for the record of a fit on `fitted` (a usability() table): how many of its points a
    Kaplan-style analysis would keep, and each other point's caveat (D in tokens)."""
    n_ok = int(fitted["usable"].sum())
    bad = fitted[~fitted["usable"]].sort_values("data_tokens")
    head = (f"{n_ok} of {len(fitted)} fitted points are usable (an early-stopping minimum with >= {min_steps:g} "
            "optimizer steps per epoch)")
    if bad.empty:
        return head
    return head + "; " + "; ".join(f"D={d:.3g}: {c}" for d, c in zip(bad["data_tokens"], bad["caveat"]))


def interpret_usability(fitted: pd.DataFrame, min_steps: float = MIN_STEPS_PER_EPOCH) -> str:
    """What the usable count means for the L(D) fit, true in every branch."""
    n_ok, n = int(fitted["usable"].sum()), len(fitted)
    if n == 0:
        return "No run measures a data limit, so nothing is fitted."
    if n_ok == n:
        return f"All {n} fitted points are early-stopping minima with >= {min_steps:g} steps per epoch."
    return (f"Only {n_ok} of the {n} fitted points are early-stopping minima with >= {min_steps:g} optimizer steps per "
            f"epoch; the others (marked in the table and figure) would be left out by Kaplan's criterion, so alpha_D "
            f"rests on {n_ok} usable point{'s' if n_ok != 1 else ''} and is recorded as few points.")
