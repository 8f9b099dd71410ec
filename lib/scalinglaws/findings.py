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
    grids: tuple  # the run grids (study.profiles.GRIDS) this notebook reads
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
    Finding("07", "07_generalization", "7. Generalisation to other text", ("generalization",), "07_other_vs_books", (
        Claim("loss on other text falls with N as a power law", ("alpha_N on ",), rule="all_positive"),
        Claim("other text: a roughly constant offset (slope 1 against the training loss)",
              ("slope dL_other/dL_books across sizes (",), rule="each_inside", paper=1.0),
        Claim("generalisation depends on the in-distribution loss, not on the training phase",
              ("mid-training points from the across-size line (",), rule="each_inside", paper=0.0),
    )),
    Finding("08", "08_context_and_lstm", "8. Context and LSTMs", ("generalization", "lstm"), "08_loss_by_position", (
        Claim("transformers beat LSTMs of the same N", ("LSTM minus transformer loss at matched N (mean)",), rule="positive"),
        Claim("larger models gain more at later positions in the context",
              ("late minus early gain from the smallest to the largest transformer",), rule="positive"),
    )),
)

NOTEBOOKS = [f.name for f in FINDINGS]
NOTEBOOK_FINDINGS = {f.name: f.grids for f in FINDINGS}


@dataclass(frozen=True)
class Exercise:
    nb: str
    name: str
    title: str
    figure: str


# Exercises: notebooks that are no finding of the study (no grids, no claims; scalinglaws.exercise). `scalinglaws
# study` runs them only when named (--notebooks 09); the tests execute them at smoke with the findings' notebooks.
EXERCISES = (Exercise("09", "09_prediction_exercise", "9. Predict the compute-optimal model (exercise)",
                      "09_prediction_check"),)
EXERCISE_NOTEBOOKS = [e.name for e in EXERCISES]

REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_MEASURED = (
    "reproduced", "partly reproduced", "not reproduced at this scale", "not measured here")

# "partly reproduced": the paper's value is outside our interval but our estimate is within this relative
# distance of it (same direction, same order) -- a difference of degree, not of kind.
PARTLY_REL = 0.5

# Notes by which a results record says its value is no measurement: analysis.Results.add_fit writes "fit did
# not converge", fit.vanished_terms' reason ends "(it vanished)", notebook 06 marks an Approach 3 fit whose E
# went to zero "not reliable here". The claims table does not judge such a value, and the reproduction check
# (scalinglaws.analysis.compare) compares only its mark and words: an optimiser's resting point on a flat direction
# moves with the CPU.
UNMEASURED_MARKS = ("fit did not converge", "not reliable here", "(it vanished)")


# A note with this mark: the fit rests on so few points (fewer than FEW_POINTS) that its bootstrap interval
# understates the uncertainty; such a claim is at most "partly reproduced".
FEW_POINTS_MARK = "(few points)"
FEW_POINTS = 5


def unmeasured(record: dict) -> bool:
    """Whether a results-table record marks its value as no measurement (see UNMEASURED_MARKS)."""
    return any(m in str(record.get("note") or "") for m in UNMEASURED_MARKS)


def against_paper(value: float, ci: tuple, paper_value: float) -> tuple[str, str]:
    """The paper's value against our estimate and interval: (verdict, where), ``where`` being "inside",
    "below" or "above" our interval, or "no interval" (an end None or NaN). Inside: reproduced; outside
    or without an interval: partly reproduced when our estimate has the paper's sign and lies within
    PARTLY_REL of it, else not reproduced. The one rule behind the claims table (`verdict`) and the
    notebooks' sentences (analysis.versus_paper)."""
    lo, hi = ci
    have_ci = lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)
    if have_ci and lo <= paper_value <= hi:
        return REPRODUCED, "inside"
    where = ("below" if paper_value < lo else "above") if have_ci else "no interval"
    close = (paper_value != 0 and math.copysign(1, value) == math.copysign(1, paper_value)
             and abs(value / paper_value - 1) <= PARTLY_REL)
    return (PARTLY if close else NOT_REPRODUCED), where


def _find(records: list[dict], name: str) -> dict | None:
    return next((r for r in records if r["quantity"] == name), None)


def verdict(claim: Claim, records: list[dict]) -> tuple[str, str, dict | None]:
    """(verdict, what it rests on, the record used) for one claim, from a notebook's results records."""
    if claim.rule == "all_positive":
        rows = [r for r in records if r["quantity"].startswith(claim.quantities[0]) and r["value"] is not None]
        if not rows:
            return NOT_MEASURED, "no such quantity in the results", None
        lows = [r["ci_low"] for r in rows]
        if all(lo is not None and lo > 0 for lo in lows):
            return REPRODUCED, f"all {len(rows)} exponents positive with intervals above 0", rows[0]
        if all(r["value"] > 0 for r in rows):
            return PARTLY, f"all {len(rows)} exponents positive, not every interval above 0", rows[0]
        return NOT_REPRODUCED, f"{sum(r['value'] <= 0 for r in rows)} of {len(rows)} exponents not positive", rows[0]
    if claim.rule == "each_inside":
        # one row per text set (quantities sharing a prefix): how many intervals hold the paper's value
        rows = [r for r in records if r["quantity"].startswith(claim.quantities[0]) and r["value"] is not None
                and not unmeasured(r)]
        with_ci = [r for r in rows if r["ci_low"] is not None and r["ci_high"] is not None]
        if not with_ci:
            return NOT_MEASURED, "no such quantity with an interval in the results", None
        inside = [r for r in with_ci if r["ci_low"] <= claim.paper <= r["ci_high"]]
        word = REPRODUCED if len(inside) == len(with_ci) else PARTLY if inside else NOT_REPRODUCED
        return word, f"{claim.paper:g} inside the interval for {len(inside)} of {len(with_ci)} sets", with_ci[0]
    rec = next((r for q in claim.quantities if (r := _find(records, q)) is not None), None)
    if rec is None or rec["value"] is None:
        ctx = _find(records, claim.context) if claim.context else None
        if ctx is not None and ctx["value"] is not None:
            return NOT_MEASURED, f"{ctx['quantity']}: {ctx['value']:g} {ctx['note']}".strip(), rec
        return NOT_MEASURED, "no value in the results", rec
    if unmeasured(rec):
        return NOT_MEASURED, "the notebook marks this fit as not a measurement (see its note)", rec
    v, lo, hi = rec["value"], rec["ci_low"], rec["ci_high"]
    pv = rec["paper_value"] if rec["paper_value"] is not None else claim.paper
    if claim.rule == "smaller":
        o = _find(records, claim.other)
        if o is None or o["value"] is None:
            return NOT_MEASURED, f"no {claim.other}", rec
        if v < o["value"]:
            return REPRODUCED, f"{v:.3g} without embeddings vs {o['value']:.3g} with", rec
        return NOT_REPRODUCED, f"{v:.3g} without embeddings vs {o['value']:.3g} with (no tighter)", rec
    if claim.rule == "positive":  # a difference that should be above zero (no interval: judged by its sign)
        if lo is not None and hi is not None:
            if lo > 0:
                return REPRODUCED, f"{v:.3g} [{lo:.3g}, {hi:.3g}] above 0", rec
            return (PARTLY, f"{v:.3g} > 0 but its interval reaches {lo:.3g}", rec) if v > 0 else \
                (NOT_REPRODUCED, f"{v:.3g} is not above 0", rec)
        return (PARTLY, f"{v:.3g} > 0 (no interval)", rec) if v > 0 else (NOT_REPRODUCED, f"{v:.3g} is not above 0", rec)
    if claim.rule == "zero_inside":
        if lo is None or hi is None:
            return NOT_MEASURED, "no interval", rec
        if lo <= 0 <= hi:
            return REPRODUCED, f"{v:.2g} [{lo:.2g}, {hi:.2g}] includes 0", rec
        return NOT_REPRODUCED, f"{v:.2g} [{lo:.2g}, {hi:.2g}] excludes 0", rec
    if pv is None:
        return NOT_MEASURED, "no paper value to compare with", rec
    if claim.rule == "at_least":
        if v >= pv:
            return REPRODUCED, f"{v:.3g} ≥ {pv:.3g}", rec
        if v >= pv * (1 - PARTLY_REL):
            return PARTLY, f"{v:.3g} against {pv:.3g}", rec
        return NOT_REPRODUCED, f"{v:.3g} against {pv:.3g}", rec
    # "interval": the paper's value inside our 95% interval
    word, where = against_paper(v, (lo, hi), pv)
    if word == REPRODUCED and FEW_POINTS_MARK in str(rec.get("note") or ""):
        return PARTLY, "paper's value inside our interval, but from so few points that the interval understates the uncertainty", rec
    if word == REPRODUCED:
        return word, "paper's value inside our interval", rec
    why = where if where == "no interval" else f"paper's value {where} our interval"
    return word, (f"{why}, within {int(100 * PARTLY_REL)}% of it" if word == PARTLY else why), rec
