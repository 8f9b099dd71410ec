"""The study's findings in one registry: notebook, title, the run grids it reads, its main figure, and the
paper's claims it tests with the rule that turns its results into a verdict.

`scalinglaws study` (which grids to train first), `scalinglaws report` (both results tables) and the
tests read this; adding a finding is an entry here plus its notebook source.

A claim's verdict is computed from the notebook's results file (figures/<profile>/NN_results.json), never
typed in: "reproduced", "partly reproduced", "not reproduced at this scale", or "not measured here" when
the quantity is missing, its fit did not converge, or the notebook marked it as not reliable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Claim:
    text: str  # the paper's claim, in a few words
    quantities: tuple  # results quantities to read, first present wins (e.g. converged before fixed-budget)
    rule: str = "interval"  # how the verdict is made; see verdict()
    paper: float | None = None  # the paper's value when the results record has none
    other: str = ""  # a second quantity some rules compare with
    context: str = ""  # a quantity that says why the claim's own quantity may be missing (e.g. runs fitted)


@dataclass(frozen=True)
class Finding:
    nb: str  # "01"
    name: str  # notebook file stem
    title: str
    grids: tuple  # experiments.FINDINGS this notebook reads
    figure: str  # main figure (figures/<profile>/<figure>.png)
    claims: tuple = field(default_factory=tuple)


FINDINGS = (
    Finding("01", "01_model_size", "1. Model size L(N)",
            ("model_size", "seeds", "convergence", "lr_check", "isoflop", "depth"), "01_loss_vs_N", (
                Claim("L(N) ∝ N^-α_N with α_N ≈ 0.076 for converged models (non-embedding N)",
                      ("alpha_N (converged sizes, without 1-layer)", "alpha_N (final loss at the ladder budget)")),
                Claim("without embeddings, models of all depths fall on one trend",
                      ("rms residual, one power law vs non-embedding N",), rule="smaller",
                      other="rms residual, one power law vs total params"),
            )),
    Finding("02", "02_dataset_size", "2. Dataset size L(D)", ("dataset_size", "overfitting"), "02_loss_vs_D", (
        Claim("early-stopped L(D) ∝ D^-α_D with α_D ≈ 0.095", ("alpha_D",), context="runs past their minimum (fitted)"),
    )),
    Finding("03", "03_model_shape", "3. Model shape", ("model_size", "shape", "seeds"), "03_shape", (
        Claim("at fixed N, aspect ratios over ~40× stay within a few % of the best",
              ("aspect-ratio range within 3% of best (N≈1e+05)", "aspect-ratio range within 3% of best (N≈2.5e+04)",
               "aspect-ratio range within 3% of best (N≈3e+04)"), rule="at_least"),
    )),
    Finding("04", "04_overfitting", "4. Overfitting L(N, D)", ("model_size", "overfitting"), "04_LND", (
        Claim("overfitting depends on N^0.74/D (α_N/α_D in Eq. 1.5)", ("overfitting rule exponent alpha_N/alpha_D",),
              context="points fitted (minima or single-epoch)"),
    )),
    Finding("05", "05_sample_efficiency", "5. Sample efficiency L(N, S)", ("model_size",), "05_learning_curves", (
        Claim("learning curves follow Eq. 1.6 with α_S ≈ 0.76", ("alpha_S",)),
        Claim("larger models reach a given loss with fewer tokens", ("tokens-to-target exponent",), rule="all_positive"),
    )),
    Finding("06", "06_compute_allocation", "6. Compute allocation",
            ("model_size", "batch", "kaplan", "convergence", "isoflop", "isoflop_full"), "06_contrast", (
                Claim("on the compute frontier L ∝ C^-0.050", ("alpha_C^min (frontier on C_min)", "alpha_C (frontier, C=6ND, fixed batch)")),
                Claim("compute-optimal N ∝ C^0.73 (frontier)", ("N_opt exponent a (frontier, Kaplan counting)", "N_opt exponent a (frontier)")),
                Claim("B_crit ∝ L^(-1/α_B) with α_B ≈ 0.21", ("alpha_B",)),
                Claim("B_crit depends on the loss, not on N", ("gamma: d log B_simple / d log N at equal loss",), rule="zero_inside"),
                Claim("Chinchilla: with matched schedules N_opt ∝ C^~0.5",
                      ("a (Approach 2, IsoFLOP, C_full)", "a (Approach 2, IsoFLOP, C=6ND)", "a (Approach 2, IsoFLOP)")),
            )),
)

NOTEBOOKS = [f.name for f in FINDINGS]
NOTEBOOK_FINDINGS = {f.name: f.grids for f in FINDINGS}

# "partly reproduced": the paper's value is outside our interval but our estimate is within this relative
# distance of it (same direction, same order) -- a difference of degree, not of kind.
PARTLY_REL = 0.5

NOT_MEASURED_MARKS = ("fit did not converge", "not reliable here", "(it vanished)")


def _find(records: list[dict], name: str) -> dict | None:
    exact = [r for r in records if r["quantity"] == name]
    if exact:
        return exact[0]
    return None


def verdict(claim: Claim, records: list[dict]) -> tuple[str, str, dict | None]:
    """(verdict, what it rests on, the record used) for one claim, from a notebook's results records."""
    if claim.rule == "all_positive":
        rows = [r for r in records if r["quantity"].startswith(claim.quantities[0]) and r["value"] is not None]
        if not rows:
            return "not measured here", "no such quantity in the results", None
        lows = [r["ci_low"] for r in rows]
        if all(lo is not None and lo > 0 for lo in lows):
            return "reproduced", f"all {len(rows)} exponents positive with intervals above 0", rows[0]
        if all(r["value"] > 0 for r in rows):
            return "partly reproduced", f"all {len(rows)} exponents positive, not every interval above 0", rows[0]
        return "not reproduced at this scale", f"{sum(r['value'] <= 0 for r in rows)} of {len(rows)} exponents not positive", rows[0]
    rec = next((r for q in claim.quantities if (r := _find(records, q)) is not None), None)
    if rec is None or rec["value"] is None:
        ctx = _find(records, claim.context) if claim.context else None
        if ctx is not None and ctx["value"] is not None:
            return "not measured here", f"{ctx['quantity']}: {ctx['value']:g} {ctx['note']}".strip(), rec
        return "not measured here", "no value in the results", rec
    if any(m in (rec.get("note") or "") for m in NOT_MEASURED_MARKS):
        return "not measured here", "the notebook marks this fit as not a measurement (see its note)", rec
    v, lo, hi = rec["value"], rec["ci_low"], rec["ci_high"]
    pv = rec["paper_value"] if rec["paper_value"] is not None else claim.paper
    if claim.rule == "smaller":
        o = _find(records, claim.other)
        if o is None or o["value"] is None:
            return "not measured here", f"no {claim.other}", rec
        if v < o["value"]:
            return "reproduced", f"{v:.3g} without embeddings vs {o['value']:.3g} with", rec
        return "not reproduced at this scale", f"{v:.3g} without embeddings vs {o['value']:.3g} with (no tighter)", rec
    if claim.rule == "zero_inside":
        if lo is None or hi is None:
            return "not measured here", "no interval", rec
        if lo <= 0 <= hi:
            return "reproduced", f"{v:.2g} [{lo:.2g}, {hi:.2g}] includes 0", rec
        return "not reproduced at this scale", f"{v:.2g} [{lo:.2g}, {hi:.2g}] excludes 0", rec
    if pv is None:
        return "not measured here", "no paper value to compare with", rec
    if claim.rule == "at_least":
        if v >= pv:
            return "reproduced", f"{v:.3g} ≥ {pv:.3g}", rec
        if v >= pv * (1 - PARTLY_REL):
            return "partly reproduced", f"{v:.3g} against {pv:.3g}", rec
        return "not reproduced at this scale", f"{v:.3g} against {pv:.3g}", rec
    # "interval": the paper's value inside our 95% interval
    if lo is not None and hi is not None and lo <= pv <= hi:
        return "reproduced", "paper's value inside our interval", rec
    close = pv != 0 and math.copysign(1, v) == math.copysign(1, pv) and abs(v / pv - 1) <= PARTLY_REL
    where = "no interval" if lo is None else ("paper's value below our interval" if pv < lo else "paper's value above our interval")
    if close:
        return "partly reproduced", f"{where}, within {int(100 * PARTLY_REL)}% of it", rec
    return "not reproduced at this scale", where, rec
