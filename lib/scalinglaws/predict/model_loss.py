"""(N, D) -> loss: what an N-parameter model trained on D tokens reaches under each law (Kaplan Eq. 1.5,
Chinchilla Eq. 10, this study's fits), and Kaplan's overfitting verdict (Eqs. 4.3-4.4)."""

from __future__ import annotations

import math

from .allocation import LOSS_CAVEAT, usable_laws
from .fmt import fmt
from .laws import NDLaw, cpu_laws, paper_laws
from .limits import check_finite, computed

__all__ = ["predict_model"]


_FIX = "ask for N and D nearer to the laws' own ranges"


def _model_column(law: NDLaw, N: float, D: float) -> dict:
    L, L_inf = (computed(law.title, _FIX, law.loss, N, d) for d in (D, math.inf))
    col = {"law": law.key, "title": law.title, "N": N, "N_counts": law.counts, "D": D,
           "tokens_per_parameter": D / N, "flops_6ND": 6 * N * D, "loss": L, "loss_unlimited_data": L_inf,
           "overfit_penalty": None, "D_needed": None, "overfits": None}
    if law.form == "kaplan":
        # Eq. 1.5 is the early-stopped loss on a D-token dataset, so L(N, D)/L(N, inf) - 1 is the overfitting
        # penalty (Eq. 4.3). In Chinchilla's law D is single-epoch tokens and the gap is under-training instead.
        col["overfit_penalty"] = L / L_inf - 1.0
    if law.overfit is not None:
        # Kaplan Eq. 4.4: the penalty stays small (~2%) while D >~ k N^p.
        k, p = law.overfit
        col["D_needed"] = computed(law.title, _FIX, lambda: k * N ** p)
        col["overfits"] = bool(D < col["D_needed"])
    check_finite(f"{law.title} at N = {fmt(N)}, D = {fmt(D)}", col, _FIX)
    return col


def predict_model(N: float, D: float, laws: list[str], results_dir=None) -> dict:
    """Loss of an N-parameter model trained on D tokens under each law, and Kaplan's overfitting verdict.
    A law of this study that its own results mark unusable is left out with a warning; none left, an error."""
    papers = paper_laws()
    chosen: list[NDLaw] = [papers[k] for k in ("kaplan", "chinchilla") if k in laws]
    if "cpu" in laws:
        study = cpu_laws(results_dir)
        chosen += [study["cpu-eq1.5"], study["cpu-approach3"]]
    chosen, warns = usable_laws(chosen, "--laws kaplan chinchilla (the papers' constants)")
    columns, notes = [], []
    for law in chosen:
        col = _model_column(law, N, D)
        columns.append(col)
        warns += law.extrapolation_warnings(N, D)
        if col["overfits"] is not None:
            k, p = law.overfit
            verdict = ("overfits: D is below" if col["overfits"] else "does not overfit: D is above")
            notes.append(f"{law.title}: {verdict} {fmt(k)}·N^{p:.2f} = {fmt(col['D_needed'])} tokens "
                         f"(Kaplan Eq. 4.4); the predicted penalty L(N,D)/L(N,inf) - 1 is {100 * col['overfit_penalty']:.1f}%.")
        if law.intervals:  # this study's fits carry their parameters' intervals; the papers' constants none
            notes.append(law.interval_note())
    notes.append("The same N is read as non-embedding parameters by Kaplan's law and this study's, and as all "
                 "parameters by Chinchilla's.")
    notes.append(LOSS_CAVEAT)
    return {"question": "model", "inputs": {"params": N, "tokens": D, "compute_flops": 6 * N * D},
            "assumptions": [], "laws": columns, "warnings": warns, "notes": notes}
