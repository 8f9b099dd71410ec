"""Two scripted students do the prediction exercise (scalinglaws.exercise) at a level, and are scored.

    PYTHONPATH=lib .venv/bin/python scripts/exercise_students.py quick      # trains ~2 x 8 small runs

Each student works in a fresh store of its own under runs/tmp/ (git-ignored), so neither reuses the
other's runs. The answer key is read from runs/cpu and nothing of it is trained. The worked solution in
docs/teaching_exercise_answers.md is these two strategies.

A, "IsoFLOP sweep": two IsoFLOP slices (4 sizes each) at 1/15 and 1/6 of the budget; Chinchilla Approach 2
  through their minima gives N_opt(C), extrapolated to the target; a power law through the two slices' minimum
  losses gives the loss there.
B, "a few large runs": three sizes at a third of the budget each (one slice); a parabola in log N gives that
  budget's best N and loss; N is scaled to the target with Chinchilla's a = 0.5 and the loss with Kaplan's
  L ∝ C^-0.050 (literature exponents, measured constants).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from scalinglaws import ScalingLawsError
from scalinglaws import fit as F
from scalinglaws.exercise import Budget, Prediction, check, shapes


def _slice(budget: Budget, C: float, picks) -> None:
    budget.train_many([{"n_layer": l, "d_model": d, "flops": C} for l, d in picks])


def _parabola_min(runs: pd.DataFrame) -> tuple[float, float]:
    x, y = np.log(runs["N"].to_numpy(float)), runs["loss"].to_numpy(float)
    p2, p1, p0 = np.polyfit(x, y, 2)
    if p2 <= 0:  # no interior minimum: the best run as is
        i = int(np.argmin(y))
        return float(np.exp(x[i])), float(y[i])
    t = float(np.clip(-p1 / (2 * p2), x.min(), x.max()))
    return float(np.exp(t)), float(np.polyval([p2, p1, p0], t))


def student_isoflop(budget: Budget) -> Prediction:
    offer = shapes(budget.level)
    budgets = (budget.flops / 15, budget.flops / 6)
    picks = [offer[0], offer[2], offer[4], offer[6]]  # 4 sizes over the offer's range, ~1.5 decades of N
    for C in budgets:
        _slice(budget, C, picks)
    runs = budget.runs.dropna(subset=["requested_flops"])
    target = budget.target_flops
    try:
        a2 = F.chinchilla_approach2(runs, n_col="N", c_col="requested_flops", l_col="loss", n_boot=0,
                                    require_interior=False)
    except ScalingLawsError as e:  # e.g. a slice without a minimum: no line
        a2, why = None, str(e)
    if a2 is not None and a2.converged:
        n_opt, why = float(a2.params["k_N"] * target ** a2.params["a"]), f"Approach 2 a = {a2.params['a']:.3f}"
    else:  # no line: the larger slice's minimum scaled with Chinchilla's a = 0.5
        n_opt = _parabola_min(runs[runs["requested_flops"] == budgets[1]])[0] * math.sqrt(target / budgets[1])
        why = f"no Approach 2 line ({why if a2 is None else a2.message}); a = 0.5 assumed"
    lmin = [_parabola_min(runs[runs["requested_flops"] == C])[1] for C in budgets]
    slope = math.log(lmin[1] / lmin[0]) / math.log(budgets[1] / budgets[0])  # d log L / d log C through the minima
    loss = lmin[1] * (target / budgets[1]) ** slope
    print(f"  A: {why}; slice minima {lmin[0]:.4f}, {lmin[1]:.4f}: L ∝ C^{slope:.3f}")
    return Prediction(n_params=n_opt, loss=loss)


def student_large_runs(budget: Budget) -> Prediction:
    offer = shapes(budget.level)
    C = budget.flops / 3
    _slice(budget, C, [offer[1], offer[3], offer[5]])
    n_star, l_star = _parabola_min(budget.runs)
    target = budget.target_flops
    print(f"  B: slice at {C:.3g}: best N {n_star:,.0f}, loss {l_star:.4f}")
    return Prediction(n_params=n_star * math.sqrt(target / C), loss=l_star * (target / C) ** -0.050)


def main(level: str = "quick") -> None:
    root = Path(__file__).resolve().parents[1]
    for name, strategy in (("A (IsoFLOP sweep)", student_isoflop), ("B (a few large runs)", student_large_runs)):
        store = root / "runs" / "tmp" / f"exercise-students-{level}" / name[0]
        budget = Budget(profile=level, runs_dir=store, workers=2, log="none")
        print(f"student {name}: budget C_full = {budget.flops:.3g}")
        pred = strategy(budget)
        print(budget.runs[["n_layer", "d_model", "N", "D", "C_full", "C_6ND", "requested_flops", "loss"]].to_string(index=False))
        print(f"  spent {budget.spent:.4g} of {budget.flops:.4g}; prediction N = {pred.n_params:,.0f}, loss {pred.loss:.4f}")
        print("  " + str(check(pred, level)).replace("\n", "\n  "))


if __name__ == "__main__":
    main(*sys.argv[1:2])
