"""The study's findings in one registry: notebook, title, the run grids it reads, its main figure, and the
paper's claims it tests, each naming the results record (by key) that decides it.

`scalinglaws study` (which grids to train first), `scalinglaws report` (both results tables) and the
tests read this; adding a finding is an entry here plus its notebook source.

A claim's verdict is computed from the notebook's results file (figures/<profile>/<nb>_results.json), never
typed in, by the one rule of scalinglaws.verdicts: "reproduced", "consistent, inconclusive", "inconclusive",
"contradicted at this scale", "not testable at this scale" or "not measured".

Keys each notebook must write (REQUIRED_KEYS; ":*" = one record per item, key "<prefix>:<item>").
n_points counts independent points (never runs or seeds); span is decades of the design variable.

| nb | key | claim kind | paper | rival / δ | n_points | span (decades of) |
|----|-----|------------|-------|-----------|----------|-------------------|
| 01 | alpha_N.converged (untestable: then alpha_N.nd_limit.without_1_layer) | value | 0.076 | none | sizes | N |
| 01 | convergence.sizes_converged | context (why alpha_N.converged may be missing) | | | | |
| 01 | depth.rms_residual.difference.without_1_layer (paired: non-embedding − total) | sign < | 0 | | models | N |
| 02 | alpha_D (context dataset.runs_fitted) | value | 0.095 | none | usable dataset sizes (>= 40 steps/epoch, early-stopped) | D |
| 03 | shape.aspect_range:N=<size> | bound ≥ | 40 | | shapes tried | aspect ratio (≥ 1.6) |
| 04 | overfit.exponent_ratio (data-limited points; .all_points beside it) (context overfit.points_fitted) | value | 0.74 | 1.0 | (N, D) minima | D |
| 05 | alpha_S | value | 0.76 | none | sizes (curves) | steps S |
| 05 | tokens_to_target.exponent:L=<target> | sign > | 0 | | models reaching it | N |
| 06 | alpha_C_min.frontier | value | 0.050 | none | sizes on the frontier | C |
| 06 | a.frontier.kaplan_counting (then a.frontier) | value | 0.73 | 0.50 | sizes on the frontier | C |
| 06 | alpha_B | value | 0.21 | none | loss levels | L (≥ 0.1) |
| 06 | bcrit.gamma_N | null | 0 | δ 0.1 | sizes | N |
| 06 | consistency.alpha_C_min.difference | null | 0 | δ 0.01 | fewest of its fits' points | C_min |
| 06b | a.approach2.c_full (then .c_6nd, a.approach2) | value | 0.49 | 0.73 | compute budgets | C |
| 06b | a.ablation.delta.b.full (paired: all parameters/C_full − Kaplan counting, Kaplan-style runs) | sign < | 0 | | sizes on both frontiers | C |
| 06b | a.ablation.delta.c.full (paired: 100-step − 25% warmup) | sign < | 0 | | sizes on both frontiers | C |
| 06b | a.ablation.delta.d.full (paired: final losses of matched schedules − learning curves) | null | 0 | δ 0.05 | sizes on both envelopes | C |
| 06b | a.ablation.delta.e.full (paired: LR tuned − untuned) | sign < | 0 | | sizes on both envelopes | C |
| 07 | ood.alpha_N:<set> (context ood.sets_judged) | sign > | 0 | | sizes | N |
| 07 | ood.slope:<set> (rival ood.ratio_slope:<set>) | null | 1 | δ 0.1 | sizes | N |
| 07 | ood.anneal_shift:<set> | null | 0 | δ 0.05 nats | sizes (trunk + branches) | (none) |
| 08 | lstm.gap | sign > | 0 | | LSTM sizes | N |
| 08 | context.alpha_t_trend (then context.late_gain) | sign > | 0 | | sizes | N |

07: a text set scored above ln(vocab) (a uniform guess) at most sizes is out of the tokenizer's reach: its records
are written as oov.<metric>:<set> with status untestable, outside the ood.*:* claims; ood.sets_judged says which
sets those claims cover.
context.alpha_t_trend: d alpha_t / d log10 N across transformer sizes; its interval resamples positions within
doubling bins, the same draw for every size (the sizes share the evaluation windows; runs store per-position
means only). lstm.gap is written untestable when n_ctx < 2 x Kaplan's ~100-token onset of the gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import ScalingLawsError
from .records import FEW_POINTS_MARK, MIN_POINTS, MIN_SPAN, UNMEASURED_MARKS, Record, read_records  # noqa: F401
from .verdicts import (  # noqa: F401
    CONSISTENT_INCONCLUSIVE,
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_MEASURED,
    NOT_TESTABLE,
    REPRODUCED,
    WORDS,
    Design,
    Verdict,
    combine,
    judge_less,
    judge_null,
    judge_side,
    judge_value,
    paper_side,
)

KINDS = ("value", "null", "above", "below", "less")


@dataclass(frozen=True)
class Claim:
    text: str  # the paper's claim, in a few words
    keys: tuple  # record keys, first present wins; "<prefix>:*" = every record "<prefix>:<item>" (each must hold)
    kind: str = "value"  # see KINDS and verdict()
    paper: float | None = None  # value: the paper's value; null: the target (0, or 1 for a slope); above/below: the bound
    rival: float | None = None  # value: what a rival theory gives; None = no rival (value inside + design suffice)
    delta: float | None = None  # null: the equivalence margin
    other: str = ""  # less: the key this record must be below
    context: str = ""  # a key that says why the claim's own record may be missing (e.g. sizes converged)
    min_points: int | None = None  # overrides of the registry-wide design minimum, with `why`
    min_span: float | None = None
    why: str = ""
    basis: str = ""  # why this rival, margin or bound
    points: str = "points"  # what one independent point is ("sizes")
    each: str = ""  # a ":*" claim: what one record is ("text sets")
    figure: str = ""  # the figure that shows this claim, when it is not the finding's main figure

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ScalingLawsError(f"claim {self.text!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind != "less" and self.paper is None:
            raise ScalingLawsError(f"claim {self.text!r}: a {self.kind} claim needs `paper`")
        if self.kind == "null" and not (self.delta is not None and self.delta > 0):
            raise ScalingLawsError(f"claim {self.text!r}: a null claim needs an equivalence margin delta > 0")
        if self.kind == "less" and not self.other:
            raise ScalingLawsError(f"claim {self.text!r}: a 'less' claim needs `other`, the key to compare with")
        if (self.min_points is not None or self.min_span is not None) and not self.why:
            raise ScalingLawsError(f"claim {self.text!r}: overriding min_points/min_span needs `why`")
        if any(k.endswith(":*") for k in self.keys) and not self.each:
            raise ScalingLawsError(f"claim {self.text!r}: a per-item claim needs `each` (what one record is)")

    @property
    def design(self) -> Design:
        return Design(MIN_POINTS if self.min_points is None else self.min_points,
                      MIN_SPAN if self.min_span is None else self.min_span, self.points)


@dataclass(frozen=True)
class Finding:
    nb: str  # "01"
    name: str  # notebook file stem
    title: str
    grids: tuple  # the run grids (study.profiles.GRIDS) this notebook reads
    figure: str  # main figure (figures/<profile>/<figure>.png)
    claims: tuple = field(default_factory=tuple)


NO_RIVAL = "no rival: no alternative theory gives another value for this law as measured here"

# At alpha_B = 0.21, B_crit = B*/L^(1/alpha_B) changes 10^(0.1/0.21) = 3.0x over 0.1 decade of the loss.
_ALPHA_B_SPAN = 0.1

FINDINGS = (
    Finding("01", "01_model_size", "1. Model size L(N)",
            ("model_size", "seeds", "convergence", "lr_check", "isoflop", "depth"), "01_loss_vs_N", (
                Claim("L(N) ∝ N^-α_N with α_N ≈ 0.076 for converged models (non-embedding N)",
                      ("alpha_N.converged", "alpha_N.nd_limit.without_1_layer"), paper=0.076,
                      context="convergence.sizes_converged", points="sizes",
                      why="alpha_N.converged when >= 5 sizes meet the convergence criterion; where it is untestable "
                          "the claim reads Eq. 1.5's D -> infinity limit without 1-layer models: Kaplan fit Eq. 1.5 "
                          "and L(N) with the same alpha_N (0.076, Table 2 / Eq. 1.1), its N term is the converged "
                          "loss, and they leave 1-layer models out of L(N); it is an extrapolation through Eq. 1.5's "
                          "form from single-epoch runs, not a measured converged loss",
                      basis=NO_RIVAL + " (Chinchilla's alpha = 0.34 belongs to L = E + A/N^alpha, another law). "
                      "The fixed-budget fits (alpha_N.fixed_budget:<tokens>) are not this claim: their losses are "
                      "not converged."),
                Claim("without embeddings, models of all depths (2+ layers; Kaplan exempt 1-layer models) fall on "
                      "one trend", ("depth.rms_residual.difference.without_1_layer",), kind="below", paper=0.0,
                      points="models", basis="Kaplan Fig. 6: one power law in non-embedding N fits the depths "
                      "better than in total parameters, 1-layer models excepted; judged on the paired difference of "
                      "rms residuals (non-embedding minus total, bootstrap over models): below 0 reproduces, above 0 "
                      "contradicts (two separate intervals would ignore that both views fit the same losses)",
                      figure="01_depth_collapse"),
            )),
    Finding("02", "02_dataset_size", "2. Dataset size L(D)", ("dataset_size", "overfitting"), "02_loss_vs_D", (
        Claim("early-stopped L(D) ∝ D^-α_D with α_D ≈ 0.095", ("alpha_D",), paper=0.095,
              context="dataset.runs_fitted", points="usable dataset sizes", basis=NO_RIVAL),
    )),
    Finding("03", "03_model_shape", "3. Model shape", ("model_size", "shape", "seeds"), "03_shape", (
        Claim("at fixed N, aspect ratios over ~40× stay within a few % of the best", ("shape.aspect_range:*",),
              kind="above", paper=40.0, points="shapes", each="model sizes", min_span=math.log10(40),
              why="the claim is about a 40x range of aspect ratios (1.6 decades): shapes tried over less cannot "
                  "show it", basis="a bound: the aspect-ratio range within 3% of the best loss must exceed 40"),
    )),
    Finding("04", "04_overfitting", "4. Overfitting L(N, D)", ("model_size", "overfitting"), "04_LND", (
        Claim("overfitting depends on N^0.74/D (α_N/α_D in Eq. 1.5)", ("overfit.exponent_ratio",), paper=0.74,
              rival=1.0, context="overfit.points_fitted", points="(N, D) minima",
              basis="rival 1.0: overfitting set by N/D itself, data grown in proportion to the model"),
    )),
    Finding("05", "05_sample_efficiency", "5. Sample efficiency L(N, S)", ("model_size",), "05_learning_curves", (
        Claim("learning curves follow Eq. 1.6 with α_S ≈ 0.76", ("alpha_S",), paper=0.76,
              points="sizes (learning curves)", basis=NO_RIVAL),
        Claim("larger models reach a given loss with fewer tokens", ("tokens_to_target.exponent:*",), kind="above",
              paper=0.0, points="models", each="target losses",
              basis="a sign claim: tokens to a target ∝ N^-exponent with exponent > 0 (0 = no size effect)",
              figure="05_tokens_to_target"),
    )),
    Finding("06", "06_compute_allocation", "6. Compute allocation (Kaplan)",
            ("model_size", "batch", "kaplan", "convergence"), "06_frontier_fits", (
                Claim("on the compute frontier L ∝ C_min^-0.050", ("alpha_C_min.frontier",), paper=0.050,
                      points="sizes on the frontier",
                      basis=NO_RIVAL + " (Eq. 1.8's 0.054 is the same theory, not a rival)"),
                Claim("compute-optimal N ∝ C^0.73 (frontier)", ("a.frontier.kaplan_counting", "a.frontier"),
                      paper=0.73, rival=0.50, points="sizes on the frontier",
                      basis="rival 0.50: Chinchilla's equal scaling of N and D (Hoffmann 2022, Table 2)"),
                Claim("B_crit ∝ L^(-1/α_B) with α_B ≈ 0.21", ("alpha_B",), paper=0.21, points="loss levels",
                      min_span=_ALPHA_B_SPAN,
                      why="a loss cannot span decades; over 0.1 decade of L (26%) the claimed law moves B_crit "
                          "3x, two steps of the factor-2 batch grid",
                      basis="no rival: 'B_crit independent of L' is alpha_B -> infinity, outside every finite "
                            "interval, so it would judge nothing", figure="06_critical_batch"),
                Claim("B_crit depends on the loss, not on N", ("bcrit.gamma_N",), kind="null", paper=0.0, delta=0.1,
                      points="sizes",
                      basis="|gamma| <= 0.1: across two decades of N, B_crit would move < 1.6x (10^0.2), less "
                            "than one step of the factor-2 batch grid and small beside the 3x the loss moves it "
                            "over 0.1 decade of L", figure="06_noise_scale"),
                Claim("Eq. 1.8: α_C^min follows from α_N, α_S, α_B", ("consistency.alpha_C_min.difference",),
                      kind="null", paper=0.0, delta=0.01, points="independent points (fewest of its three fits)",
                      basis="|predicted - measured| <= 0.01: 20% of the paper's 0.050 and 2.5x Kaplan's own gap "
                            "(0.054 from Eq. 1.8 against 0.050 measured, which the paper calls consistent); span: "
                            "decades of C_min of the measured frontier"),
            )),
    Finding("06b", "06b_chinchilla_contrast", "6b. Kaplan vs Chinchilla on the same runs",
            ("model_size", "seeds", "isoflop", "kaplan", "ablation"), "06b_contrast", (
                Claim("Chinchilla: with matched schedules N_opt ∝ C^~0.5",
                      ("a.approach2.c_full", "a.approach2.c_6nd", "a.approach2"), paper=0.49, rival=0.73,
                      points="compute budgets", basis="rival 0.73: Kaplan's frontier exponent", figure="06b_isoflop"),
                Claim("Porian et al. 2024: counting the last layer's FLOPs and parameters lowers a", ("a.ablation.delta.b.full",),
                      kind="below", paper=0.0, points="sizes on both frontiers",
                      basis="a sign claim on the paired change of a when Kaplan-style runs are recounted in all "
                            "parameters and C_full (ablation step b); Porian et al.'s first of three factors"),
                Claim("Porian et al. 2024: a shorter warmup lowers a", ("a.ablation.delta.c.full",), kind="below", paper=0.0,
                      points="sizes on both frontiers",
                      basis="a sign claim on the paired change of a from warmup 25% of the steps to 100 steps (step c); "
                            "their second factor"),
                Claim("Porian et al. 2024: a learning-rate decay matched to each budget is not needed", ("a.ablation.delta.d.full",),
                      kind="null", paper=0.0, delta=0.05, points="sizes on both envelopes",
                      basis="|change of a| <= 0.05 when final losses of schedules matched to each budget replace learning "
                            "curves (step d): a fifth of the 0.23 between the two papers' exponents (counter to "
                            "Hoffmann et al.'s hypothesis)"),
                Claim("Porian et al. 2024: tuning the optimizer per model size lowers a", ("a.ablation.delta.e.full",),
                      kind="below", paper=0.0, points="sizes on both envelopes",
                      basis="a sign claim on the paired change of a when the LR is tuned per size (step e); their third factor"),
            )),
    Finding("07", "07_generalization", "7. Generalisation to other text", ("generalization",), "07_other_vs_books", (
        Claim("loss on other text falls with N as a power law (text sets the tokenizer covers)", ("ood.alpha_N:*",),
              kind="above", paper=0.0, context="ood.sets_judged", points="sizes", each="text sets",
              basis="a sign claim: alpha_N > 0 on every text (0 = no fall); a set scored worse than a uniform "
                    "guess (> ln vocab) at most sizes is out of the tokenizer's reach, recorded as oov.* untestable", figure="07_loss_vs_N_by_text"),
        Claim("other text: a roughly constant offset (slope 1 against the training loss; text sets the tokenizer "
              "covers)", ("ood.slope:*",), kind="null", paper=1.0, delta=0.1, context="ood.sets_judged",
              points="sizes", each="text sets",
              basis="slope within 1 ± 0.1. The rival is a constant ratio, L_other = r·L_books, whose slope is "
                    "r = L_other/L_books (records ood.ratio_slope:<set>): ~1.2 for text ~0.9 nats above books at "
                    "~4.4 nats. ± 0.1 is half the way to it, so equivalence puts the whole interval nearer the "
                    "offset than the ratio; ± 0.2 would reach the ratio itself and could not exclude it"),
        Claim("generalisation depends on the in-distribution loss, not on the training phase",
              ("ood.anneal_shift:*",), kind="null", paper=0.0, delta=0.05, context="ood.sets_judged",
              points="sizes", each="text sets",
              min_span=0.0, why="a mean shift of cooldown-branch ends off their constant-LR trunks' relation "
                                "(L_other against L_books) at matched tokens: no range to span",
              basis="within ±0.05 nats/token: about 1% of the loss at this scale (~4.4) and ~5 seed-to-seed sds "
                    "(0.0094, notebook 01). Trunk checkpoints (constant LR) against branch ends (cooled down) at "
                    "the same tokens separate annealing from the phase of training; a set whose cooldowns move "
                    "the loss along the relation by no more than the margin is written untestable (the rival, an "
                    "other-text loss the cooldown leaves unchanged, would sit inside the margin too)"),
    )),
    Finding("08", "08_context_and_lstm", "8. Context and LSTMs", ("generalization", "lstm"), "08_loss_by_position", (
        Claim("transformers beat LSTMs of the same N", ("lstm.gap",), kind="above", paper=0.0, points="LSTM sizes",
              basis="a sign claim: LSTM minus transformer loss at matched N > 0; Kaplan's gap opens beyond ~100 "
                    "tokens of context (Fig. 7), so a context too short to reach it marks the record untestable", figure="08_lstm_vs_transformer"),
        Claim("larger models gain more at later positions in the context (App. D.5: the per-position exponent "
              "grows with N)", ("context.alpha_t_trend", "context.late_gain"), kind="above", paper=0.0,
              points="sizes", basis="a sign claim: d alpha_t / d log10 N > 0 (0 = exponent independent of N), "
                                    "interval paired across sizes (they share the evaluation windows)"),
    )),
)

NOTEBOOKS = [f.name for f in FINDINGS]


def key(notebook: str) -> str:
    """A notebook's key, "06" or "06b" (the prefix of its results file and figures), from its file stem."""
    return notebook.split("_")[0]


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

def required_keys(finding: Finding) -> tuple:
    """The keys a notebook must write for its claims: each claim's first key, its `other` and `context`."""
    out = []
    for c in finding.claims:
        out += [c.keys[0]] + [k for k in (c.other, c.context) if k]
    return tuple(dict.fromkeys(out))


REQUIRED_KEYS = {f.nb: required_keys(f) for f in FINDINGS}

# A note with this mark (old records): the fit rests on fewer than FEW_POINTS points. Notebook 02 still writes it.
FEW_POINTS = MIN_POINTS


def unmeasured(record: dict | Record) -> bool:
    """Whether a results record holds no measurement: status not_converged, unreliable or failed when it has
    a status, else (old records) a mark of UNMEASURED_MARKS in its note."""
    status = record.status if isinstance(record, Record) else record.get("status")
    if status is not None:
        return status in ("not_converged", "unreliable", "failed")
    return any(m in str(record.get("note") or "") for m in UNMEASURED_MARKS)


def against_paper(value: float, ci: tuple, paper_value: float) -> tuple[str, str]:
    """(word, side) for a notebook's sentence: ``side`` is where the paper's value sits ("inside", "below",
    "above", "no interval"; verdicts.paper_side). An interval alone never reproduces or contradicts (that needs
    the design, verdicts.judge_value), so ``word`` is "consistent, inconclusive" inside, else "inconclusive"."""
    lo, hi = ci
    have = lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)
    side = paper_side((lo, hi) if have else None, paper_value)
    return (CONSISTENT_INCONCLUSIVE if side == "inside" else INCONCLUSIVE), side


def _select(claim: Claim, records: list[Record]) -> list[Record]:
    """The claim's records: the first of its keys present (a ":*" key: every record under that prefix). A key
    whose records are all "untestable" yields to a later key that is present (alpha_N.converged untestable:
    the D -> infinity limit of Eq. 1.5); with none, the untestable records are the answer."""
    untestable = []
    for k in claim.keys:
        if k.endswith(":*"):
            rows = [r for r in records if r.key.startswith(k[:-1])]
        else:
            rows = [r for r in records if r.key == k]
        if rows and all(r.status == "untestable" for r in rows):
            untestable = untestable or rows
            continue
        if rows:
            return rows
    return untestable


def _missing(claim: Claim, by_key: dict) -> Verdict:
    why = f"no record {' or '.join(claim.keys)} in the results"
    ctx = by_key.get(claim.context) if claim.context else None
    if ctx is not None and ctx.value is not None:
        why += f"; {ctx.label}: {ctx.value:g} {ctx.note}".rstrip()
    return Verdict(NOT_MEASURED, why)


def _judge(claim: Claim, rec: Record, by_key: dict) -> Verdict:
    d = claim.design
    if claim.kind == "value":
        return judge_value(rec, claim.paper, claim.rival, d)
    if claim.kind == "null":
        return judge_null(rec, claim.delta, claim.paper, d)
    if claim.kind in ("above", "below"):
        return judge_side(rec, claim.paper, ">" if claim.kind == "above" else "<", d)
    return judge_less(rec, by_key.get(claim.other), d)


def verdict(claim: Claim, records) -> Verdict:
    """The claim's verdict from a notebook's results records (typed or old dicts, or Records). Iterates as
    (word, reason, record) like the old tuple."""
    recs = read_records(records)
    by_key = {r.key: r for r in recs}
    rows = _select(claim, recs)
    if not rows:
        return _missing(claim, by_key)
    if any(k.endswith(":*") for k in claim.keys):
        return combine([_judge(claim, r, by_key) for r in rows], claim.each)
    v = _judge(claim, rows[0], by_key)
    first = by_key.get(claim.keys[0])
    if first is not None and first.status == "untestable" and rows[0].key != first.key:
        # the claim fell back to a later key: say why its first record could not decide it
        return Verdict(v.word, f"{first.key} not testable ({first.note}); read {rows[0].key}: {v.reason}", v.records, v.parts)
    return v
