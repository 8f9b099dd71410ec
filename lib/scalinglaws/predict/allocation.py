"""Compute -> plan: the model size N, tokens D (and for Kaplan batch and steps) that spend a training budget
of C FLOPs best under each law, and the loss they reach.

Kaplan's plan (Sec. 6.1, Table 6) is stated in C_min, the compute at a batch far below the critical one;
the user's budget C is read the way Chinchilla App. D.4 reads it: training at B = B_crit costs twice the
minimum, C = 2 C_min (Kaplan Eq. 5.5), so C_min = C/2 and D = C/(6N) spends C. Chinchilla's plan is the
closed-form minimum of its Approach 3 law under C = 6ND (Hoffmann Eq. 4).
"""

from __future__ import annotations

from .. import ScalingLawsError
from ..paper import KAPLAN, PF_DAY_FLOP, Constant
from .fmt import fmt
from .laws import NDLaw, chinchilla_law, cpu_laws, paper_laws
from .limits import C_RANGE, D_RANGE, N_RANGE, check_derived, check_finite, computed

__all__ = ["GPU_PEAK_BF16_FLOPS", "DEFAULT_MFU", "LOSS_CAVEAT", "gpu_hours_to_flops", "kaplan_allocation",
           "chinchilla_allocation", "predict_compute", "usable_laws"]

# Dense (no 2:4 sparsity) BF16 tensor-core peaks, SXM parts. The datasheets quote the sparse figure
# with an asterisk; dense is half of it.
GPU_PEAK_BF16_FLOPS: dict[str, Constant] = {
    "h100": Constant("h100", 989.4e12, "NVIDIA H100 Tensor Core GPU datasheet / Hopper whitepaper (SXM5)",
                     "FLOP/s", "BF16 dense; the datasheet's 1,979 TFLOPS is with sparsity"),
    "h200": Constant("h200", 989.4e12, "NVIDIA H200 Tensor Core GPU datasheet (SXM)", "FLOP/s",
                     "BF16 dense; same GH100 compute as the H100 SXM, 1,979 TFLOPS with sparsity"),
    "a100": Constant("a100", 312e12, "NVIDIA A100 Tensor Core GPU datasheet (SXM)", "FLOP/s",
                     "BF16 dense; 624 TFLOPS with sparsity"),
}
# Model FLOPs utilisation assumed for --gpu-hours: 0.4 is typical of well-tuned large dense-model
# training; small models and poor parallelism get far less.
DEFAULT_MFU = 0.4

LOSS_CAVEAT = ("Losses are in nats/token on each study's own data and tokenizer (Kaplan: WebText2, GPT-2 BPE; "
               "Chinchilla: MassiveText, SentencePiece; cpu: Project Gutenberg, 1024-token BPE): compare a "
               "law's numbers with each other, not across laws.")


def gpu_hours_to_flops(hours: float, gpu: str, mfu: float = DEFAULT_MFU) -> tuple[float, str]:
    """Training FLOPs from GPU-hours: hours * 3600 s * peak BF16 dense FLOP/s * MFU, and the assumption
    in words (printed with the answer, since every number downstream scales with it)."""
    peak = GPU_PEAK_BF16_FLOPS[gpu]
    flops = hours * 3600.0 * peak.value * mfu
    return flops, (f"C = {fmt(hours)} GPU-hours x 3600 s x {peak.value / 1e12:g} TFLOP/s "
                   f"({gpu.upper()} BF16 dense peak; {peak.source}) x MFU {mfu:g} = {fmt(flops)} FLOPs")


def kaplan_allocation(C: float) -> dict:
    """Kaplan's compute-efficient plan for a budget of C FLOPs trained at the critical batch size:
    C_min = C/2 (Eq. 5.5 at B = B_crit, as Chinchilla App. D.4 reads it), in PF-days; then (Table 6)
    N = 1.3e9 C_min^0.73 (non-embedding), batch B = B_crit = 2.0e6 C_min^0.24 tokens, D = C/(6N) tokens
    (the whole budget), steps S = D/B, and the loss L(C_min) = (C_c^min / C_min)^0.050 (Eq. 1.3)."""
    k = KAPLAN
    c_min = C / 2.0 / PF_DAY_FLOP  # PF-days
    N = k["N_opt_coef"].value * c_min ** k["N_opt_exponent"].value
    D = C / (6.0 * N)
    batch = k["B_opt_coef"].value * c_min ** k["B_opt_exponent"].value
    return {
        "law": "kaplan", "title": "Kaplan 2020 (Sec. 6.1, Table 6)",
        "N": N, "N_counts": "non-embedding", "D": D, "tokens_per_parameter": D / N,
        "flops_6ND": 6 * N * D, "C_min": c_min * PF_DAY_FLOP,
        "batch_tokens": batch, "steps": D / batch,
        "steps_min": k["S_opt_coef"].value * c_min ** k["S_opt_exponent"].value,
        "D_table6": k["D_opt_coef"].value * c_min ** k["D_opt_exponent"].value,
        "loss": (k["C_c_min"].value / c_min) ** k["alpha_C_min"].value,
    }


def chinchilla_allocation(C: float, law: NDLaw) -> dict:
    """The closed-form minimum of L = E + A/N^alpha + B/D^beta under C = 6 N D (Hoffmann Eq. 4):
    G = (alpha A / (beta B))^(1/(alpha+beta)), N_opt = G (C/6)^(beta/(alpha+beta)),
    D_opt = (C/6)^(alpha/(alpha+beta)) / G."""
    p = law.params
    al, be = p["alpha"], p["beta"]
    G = (al * p["A"] / (be * p["B"])) ** (1.0 / (al + be))
    N = G * (C / 6.0) ** (be / (al + be))
    D = (C / 6.0) ** (al / (al + be)) / G
    return {"law": law.key, "title": law.title, "N": N, "N_counts": law.counts, "D": D,
            "tokens_per_parameter": D / N, "flops_6ND": 6 * N * D, "batch_tokens": None, "steps": None,
            "loss": law.loss(N, D)}


def usable_laws(laws: list[NDLaw], alternative: str, others: int = 0) -> tuple[list[NDLaw], list[str]]:
    """The laws that may be used, and a loud warning for each left out because its own results say it is not
    usable. Nothing left to answer with (no usable law and no ``others`` columns): a one-line ScalingLawsError
    naming why and ``alternative``."""
    ok = [law for law in laws if not law.problems]
    dropped = [law for law in laws if law.problems]
    if dropped and not ok and not others:
        law = dropped[0]
        raise ScalingLawsError(f"{law.title} is not usable for prediction: {'; '.join(law.problems)}; "
                               f"use {alternative}")
    return ok, [f"NOT SHOWN: {law.title} is not usable for prediction: {'; '.join(law.problems)}" for law in dropped]


_PLAN_FIX = "ask for a budget nearer to the laws' own ranges"


def _checked(col: dict, C: float) -> dict:
    """A plan whose N, D and loss are numbers this tool prints (one-line refusal otherwise)."""
    fix = _PLAN_FIX
    check_derived(col["title"], "N", col["N"], N_RANGE, "parameters", fix)
    check_derived(col["title"], "D", col["D"], D_RANGE, "tokens", fix)
    check_finite(f"{col['title']} at C = {fmt(C)} FLOPs", col, fix)
    return col


def _kaplan_reading(col: dict, C: float) -> str:
    return (f"Kaplan: C is the budget of a run at the critical batch size, which costs twice the minimum compute "
            f"(Eq. 5.5), so the plan is Table 6's at C_min = C/2 = {fmt(col['C_min'])} FLOPs. This reading reproduces "
            f"Chinchilla App. D.4, which takes 4.68e9 parameters as Kaplan's optimum for 1e21 FLOPs.")


def _kaplan_note(col: dict, C: float) -> str:
    return (f"Kaplan: D = C/(6N) spends the budget (6·N·D = {col['flops_6ND'] / C:.2f} C), {col['D'] / col['D_table6']:.2f}x "
            f"Table 6's D = 2e10·C_min^0.27, whose coefficient is rounded; the batch is B_crit = 2.0e6·C_min^0.24 "
            f"tokens and the steps D/B_crit = {col['steps'] / col['steps_min']:.2f} S_min (Eq. 5.4: 2 S_min at B_crit).")


def _chinchilla_note(col: dict, law: NDLaw, C: float) -> str:
    printed_law = chinchilla_law(rounded=True)
    printed, p, q = chinchilla_allocation(C, printed_law), law.params, printed_law.params
    return (f"Chinchilla: computed with the unrounded Approach 3 fit (alpha {p['alpha']:.4f}, beta {p['beta']:.4f}; "
            f"scalinglaws.paper), which reproduces the paper's Table A3 within 5% up to 67B parameters; Eq. 10 as printed (alpha {q['alpha']:g}, "
            f"beta {q['beta']:g}) would give N = {fmt(printed['N'])} ({printed['N'] / col['N'] - 1:+.0%}) and "
            f"D = {fmt(printed['D'])} ({printed['D'] / col['D'] - 1:+.0%}) here. The plan has "
            f"{col['tokens_per_parameter']:.0f} tokens per parameter; Table 3 (Approach 1) has ~20 at every size.")


def predict_compute(C: float, laws: list[str], results_dir=None, assumptions: list[str] | None = None) -> dict:
    """Compute-optimal N, D and loss for C FLOPs under each law in ``laws`` (kaplan, chinchilla, cpu)."""
    check_derived("the budget", "C", C, C_RANGE, "FLOPs", "ask for less compute")
    columns, warns, notes, assumptions = [], [], [], list(assumptions or [])
    papers = paper_laws()
    if "kaplan" in laws:
        col = _checked(computed("Kaplan 2020", _PLAN_FIX, kaplan_allocation, C), C)
        columns.append(col)
        warns += papers["kaplan"].extrapolation_warnings(col["N"], col["D"], col["title"])
        assumptions.append(_kaplan_reading(col, C))
        notes.append(_kaplan_note(col, C))
    chosen = ([papers["chinchilla"]] if "chinchilla" in laws else []) + \
             ([cpu_laws(results_dir, need=("approach3",))["cpu-approach3"]] if "cpu" in laws else [])
    alternative = ("--laws kaplan chinchilla (the papers' constants), or re-run notebook 06b when more runs "
                   "determine the fit")
    chosen, dropped = usable_laws(chosen, alternative, others=len(columns))
    warns = dropped + warns
    for law in chosen:
        col = _checked(computed(law.title, _PLAN_FIX, chinchilla_allocation, C, law), C)
        columns.append(col)
        warns += law.extrapolation_warnings(col["N"], col["D"])
        notes.append(_chinchilla_note(col, law, C) if law.key == "chinchilla" else law.interval_note())
    notes.append("N counts non-embedding parameters for Kaplan and this study, all parameters for Chinchilla.")
    notes.append(LOSS_CAVEAT)
    return {"question": "compute", "inputs": {"compute_flops": C, "compute_pf_days": C / PF_DAY_FLOP},
            "assumptions": assumptions, "laws": columns, "warnings": warns, "notes": notes}
