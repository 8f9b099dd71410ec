"""`scalinglaws predict`: the scaling laws as answers to three practical questions.

    predict_compute(C)            compute-optimal N, D and the loss for a budget of C FLOPs: Kaplan's
                                  allocation (Sec. 6.1, Table 6) beside Chinchilla's (Approach 3 closed form)
    predict_model(N, D)           the loss of an N-parameter model trained on D tokens (Kaplan Eq. 1.5,
                                  Chinchilla Eq. 10) and Kaplan's overfitting rule (Eq. 4.4)
    forecast_run(run_dir, L)      a run's loss at its planned last step, and the steps to a target loss,
                                  from its own learning curve L(S) = E + (S_c/S)^alpha fitted after warmup

Each returns a report: a plain dict of numbers (None where a number does not exist) and sentences,
ready for ``json.dumps``; `render` writes it as text. `predict` is what the CLI calls: it checks the
inputs (a ScalingLawsError, one line, for every mistake) and dispatches.

Whose laws: the papers' published constants (`paper.KAPLAN`, `paper.CHINCHILLA`), or this study's fits
(``cpu``: figures/cpu/NN_results.json written by notebooks 04 and 06).

Units: compute in FLOPs (Kaplan's in PF-days, 1 PF-day = paper.PF_DAY_FLOP), parameters, tokens, and
losses in nats/token. Kaplan's N counts non-embedding parameters, Chinchilla's all parameters; this
study's fits use non-embedding N (Kaplan's counting) throughout.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scalinglaws import ScalingLawsError
from scalinglaws.data.paths import checkout_relative, project_root
from scalinglaws.paper import CHINCHILLA, KAPLAN, PF_DAY_FLOP, Constant
from scalinglaws.training.run_folder import CorruptRunError, is_done, read_metrics, read_verified
from scalinglaws.training.spec import RunSpec

__all__ = [
    "GPU_PEAK_BF16_FLOPS",
    "DEFAULT_MFU",
    "CPU_STUDY_N_RANGE",
    "CPU_STUDY_D_RANGE",
    "NDLaw",
    "paper_laws",
    "cpu_laws",
    "gpu_hours_to_flops",
    "kaplan_allocation",
    "chinchilla_allocation",
    "predict_compute",
    "predict_model",
    "forecast_run",
    "predict",
    "render",
    "to_json",
]

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

# What this study trained (the cpu profile's run store): non-embedding N from 3.3e3 to 3.9e5, and from
# 3e4 tokens (the smallest data subset, repeated) to 3.2e7 tokens processed. --laws cpu warns beyond
# 10x either way: closer than that, a fit over ~2 decades is a modest extrapolation.
CPU_STUDY_N_RANGE = (3e3, 4e5)
CPU_STUDY_D_RANGE = (3e4, 4e7)
CPU_SLACK = 10.0

RESULTS_FIX = "re-run notebook {nb} (scalinglaws study --profile cpu --notebooks {nb}) or pass --results-dir"

_LOSS_CAVEAT = ("Losses are in nats/token on each study's own data and tokenizer (Kaplan: WebText2, GPT-2 BPE; "
                "Chinchilla: MassiveText, SentencePiece; cpu: Project Gutenberg, 1024-token BPE): compare a "
                "law's numbers with each other, not across laws.")


# ============================================================================ the laws


@dataclass(frozen=True)
class NDLaw:
    """One law of the loss in model size N and training tokens D, with where its numbers come from.

    form "kaplan":     L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D        (Kaplan Eq. 1.5)
    form "chinchilla": L = E + A/N^alpha + B/D^beta                          (Hoffmann Eq. 2 / Eq. 10)
    ``overfit``: (coefficient, exponent) of Kaplan's rule D >~ k N^p (Eq. 4.4), for the Eq. 1.5 form.
    ``intervals``: the published 95% interval of each parameter, where the source has one.
    """

    key: str
    title: str
    form: str
    params: dict[str, float]
    counts: str  # what N counts
    n_range: tuple[float, float]  # where the law was fitted (parameters, as `counts`)
    d_range: tuple[float, float]  # tokens
    slack: float = 1.0  # warn beyond range/slack .. range*slack
    overfit: tuple[float, float] | None = None
    intervals: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def loss(self, N: float, D: float) -> float:
        """Loss in nats/token; D = inf gives the unlimited-data limit L(N, inf)."""
        p = self.params
        if self.form == "kaplan":
            # scalinglaws.fit imports scipy (~0.7 s), which `predict --compute` never needs otherwise.
            from scalinglaws.fit import kaplan_nd_loss

            return float(kaplan_nd_loss(N, D, p["alpha_N"], p["alpha_D"], p["N_c"], p["D_c"]))
        return p["E"] + p["A"] / N ** p["alpha"] + (0.0 if math.isinf(D) else p["B"] / D ** p["beta"])


def paper_laws() -> dict[str, NDLaw]:
    """The two papers' L(N, D) laws with their published constants."""
    k, h = KAPLAN, CHINCHILLA
    kaplan = NDLaw(
        key="kaplan", title="Kaplan 2020 (Eq. 1.5)", form="kaplan",
        params={"alpha_N": k["nd_alpha_N"].value, "alpha_D": k["nd_alpha_D"].value,
                "N_c": k["nd_N_c"].value, "D_c": k["nd_D_c"].value},
        counts="non-embedding",
        n_range=(k["N_min_studied"].value, k["N_max_studied"].value),
        d_range=(k["D_min_studied"].value, k["D_max_studied"].value),
        overfit=(k["overfit_D_coef"].value, k["D_over_N_exponent"].value),
    )
    chinchilla = NDLaw(
        key="chinchilla", title="Chinchilla 2022 (Approach 3, Eq. 10)", form="chinchilla",
        params={q: h[q].value for q in ("E", "A", "B", "alpha", "beta")},
        counts="all parameters",
        n_range=(h["N_min_studied"].value, h["N_max_studied"].value),
        d_range=(h["D_min_studied"].value, h["D_max_studied"].value),
    )
    return {"kaplan": kaplan, "chinchilla": chinchilla}


def _read_results(results_dir: Path, nb: str) -> dict[str, dict]:
    """figures/<profile>/<nb>_results.json as {quantity: record}."""
    path = results_dir / f"{nb}_results.json"
    if not path.is_file():
        raise ScalingLawsError(f"no {_shown(path)} (this study's fits for --laws cpu); {RESULTS_FIX.format(nb=nb)}")
    try:
        records = json.loads(path.read_text())
        return {r["quantity"]: r for r in records}
    except (json.JSONDecodeError, TypeError, KeyError) as e:
        raise ScalingLawsError(f"{_shown(path)} is not a results file (a list of records with 'quantity'): "
                               f"{e.__class__.__name__}; {RESULTS_FIX.format(nb=nb)}") from None


def _shown(path: Path) -> str:
    """A path as the user would type it (relative to the checkout when inside it)."""
    return checkout_relative(path)


def _need(results: dict[str, dict], quantity: str, path: Path, nb: str) -> dict:
    """The record of one fitted quantity, or the one-line error naming it and the fix."""
    rec = results.get(quantity)
    if rec is None or rec.get("value") is None or not math.isfinite(float(rec["value"])):
        raise ScalingLawsError(f"{_shown(path)} has no value for {quantity!r}, which --laws cpu needs; "
                               f"{RESULTS_FIX.format(nb=nb)}")
    return rec


def _study_values(results_dir: Path, nb: str, names: dict[str, str]):
    """(params, intervals, notes) from this study's results file; ``names`` maps law parameter -> quantity.
    A quantity the notebook marked "[not reliable here: ...]" carries that reason into the notes."""
    path = results_dir / f"{nb}_results.json"
    results = _read_results(results_dir, nb)
    recs = {p: _need(results, q, path, nb) for p, q in names.items()}
    params = {p: float(r["value"]) for p, r in recs.items()}
    intervals = {p: (r.get("ci_low"), r.get("ci_high")) for p, r in recs.items()}
    unreliable = sorted({m for r in recs.values() for m in re.findall(r"\[not reliable here: ([^\]]*)\]", r.get("note") or "")})
    notes = tuple(f"notebook {nb} marks this fit as not reliable here: {m}" for m in unreliable)
    return params, intervals, notes


def cpu_laws(results_dir: str | Path | None = None, *, need: tuple[str, ...] = ("approach3", "eq1.5")) -> dict[str, NDLaw]:
    """This study's fits (figures/cpu): Eq. 1.5 and the overfitting rule from notebook 04, the Approach 3
    parametric law from notebook 06. Only the laws in ``need`` are read, so a question that does not use
    a file does not fail on it. (Notebook 01's L(N) is the final loss of the ladder at its fixed token
    budget, not a law in N and D, so it is not used here.)"""
    results_dir = _results_dir(results_dir)
    study = {"counts": "non-embedding", "n_range": CPU_STUDY_N_RANGE, "d_range": CPU_STUDY_D_RANGE, "slack": CPU_SLACK}
    out: dict[str, NDLaw] = {}
    if "eq1.5" in need:
        params, intervals, notes = _study_values(results_dir, "04", {
            "alpha_N": "alpha_N (Eq. 1.5)", "alpha_D": "alpha_D (Eq. 1.5)", "N_c": "N_c (Eq. 1.5)",
            "D_c": "D_c (Eq. 1.5)", "k": "overfitting rule coefficient k",
            "p": "overfitting rule exponent alpha_N/alpha_D"})
        overfit = (params.pop("k"), params.pop("p"))  # D >~ k N^p, the study's own Eq. 4.4
        out["cpu-eq1.5"] = NDLaw(key="cpu-eq1.5", title="cpu study (Eq. 1.5, notebook 04)", form="kaplan",
                                 params=params, intervals=intervals, notes=notes, overfit=overfit, **study)
    if "approach3" in need:
        params, intervals, notes = _study_values(results_dir, "06",
                                                 {q: f"{q} (Approach 3)" for q in ("E", "A", "B", "alpha", "beta")})
        out["cpu-approach3"] = NDLaw(key="cpu-approach3", title="cpu study (Approach 3, notebook 06)",
                                     form="chinchilla", params=params, intervals=intervals, notes=notes, **study)
    return out


def _results_dir(results_dir: str | Path | None) -> Path:
    if results_dir is not None:
        p = Path(results_dir).expanduser()
        if not p.is_dir():
            raise ScalingLawsError(f"--results-dir {p}: no such folder (it should hold NN_results.json files)")
        return p
    root = project_root()
    if root is None:
        raise ScalingLawsError("--laws cpu reads figures/cpu of a checkout, and this install is not one; "
                               "pass --results-dir <folder holding 04_results.json and 06_results.json>")
    return root / "figures" / "cpu"


# ============================================================================ compute -> allocation


def gpu_hours_to_flops(hours: float, gpu: str, mfu: float = DEFAULT_MFU) -> tuple[float, str]:
    """Training FLOPs from GPU-hours: hours * 3600 s * peak BF16 dense FLOP/s * MFU, and the assumption
    in words (printed with the answer, since every number downstream scales with it)."""
    peak = GPU_PEAK_BF16_FLOPS[gpu]
    flops = hours * 3600.0 * peak.value * mfu
    return flops, (f"C = {_fmt(hours)} GPU-hours x 3600 s x {peak.value / 1e12:g} TFLOP/s "
                   f"({gpu.upper()} BF16 dense peak; {peak.source}) x MFU {mfu:g} = {_fmt(flops)} FLOPs")


def kaplan_allocation(C: float) -> dict:
    """Kaplan's compute-efficient training for C FLOPs, read as C_min (Sec. 6.1, Table 6; C_min in PF-days):
    N = 1.3e9 C^0.73 (non-embedding), B = 2.0e6 C^0.24 tokens/step, S_min = 5.4e3 C^0.03 steps,
    D = 2e10 C^0.27 tokens, and the loss L(C_min) = (C_c^min / C_min)^0.050 (Eq. 1.3)."""
    k = KAPLAN
    c = C / PF_DAY_FLOP  # PF-days
    N = k["N_opt_coef"].value * c ** k["N_opt_exponent"].value
    D = k["D_opt_coef"].value * c ** k["D_opt_exponent"].value
    return {
        "law": "kaplan", "title": "Kaplan 2020 (Sec. 6.1, Table 6)",
        "N": N, "N_counts": "non-embedding", "D": D, "tokens_per_parameter": D / N,
        "flops_6ND": 6 * N * D,
        "batch_tokens": k["B_opt_coef"].value * c ** k["B_opt_exponent"].value,
        "steps": k["S_opt_coef"].value * c ** k["S_opt_exponent"].value,
        "loss": (k["C_c_min"].value / c) ** k["alpha_C_min"].value,
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


def _range_warnings(title: str, N: float, D: float, n_range, d_range, slack: float, counts: str) -> list[str]:
    """Say plainly when N or D lies outside where a law was fitted (beyond ``slack`` times its edges)."""
    out = []
    for name, x, (lo, hi), unit in (("N", N, n_range, f"parameters ({counts})"), ("D", D, d_range, "tokens")):
        if x < lo / slack or x > hi * slack:
            side, factor = ("below", lo / x) if x < lo else ("above", x / hi)
            out.append(f"{title}: {name} = {_fmt(x)} {unit} is {_fmt(factor)}x {side} the range the law was "
                       f"fitted on ({_fmt(lo)} to {_fmt(hi)}): an extrapolation")
    return out


def predict_compute(C: float, laws: list[str], results_dir=None, assumptions: list[str] | None = None) -> dict:
    """Compute-optimal N, D and loss for C FLOPs under each law in ``laws`` (kaplan, chinchilla, cpu)."""
    columns, warns, notes = [], [], []
    papers = paper_laws()
    if "kaplan" in laws:
        col = kaplan_allocation(C)
        columns.append(col)
        k = papers["kaplan"]
        warns += _range_warnings(col["title"], col["N"], col["D"], k.n_range, k.d_range, 1.0, k.counts)
        notes.append(f"Kaplan: C is read as C_min, the compute at a batch far below the critical one (Sec. 5.1). "
                     f"Its D assumes training at the critical batch size, which costs about 2 C_min (Sec. 6.3), "
                     f"so 6·N·D is {col['flops_6ND'] / C:.2f} C here. Steps are S_min, a lower bound (Table 6).")
    for key in (["chinchilla"] if "chinchilla" in laws else []) + (["cpu-approach3"] if "cpu" in laws else []):
        law = papers[key] if key == "chinchilla" else cpu_laws(results_dir, need=("approach3",))[key]
        col = chinchilla_allocation(C, law)
        columns.append(col)
        warns += _range_warnings(law.title, col["N"], col["D"], law.n_range, law.d_range, law.slack, law.counts)
        warns += [f"{law.title}: {n}" for n in law.notes]
        if key == "chinchilla":
            notes.append(f"Chinchilla: with Eq. 10's published (rounded) constants the closed form gives "
                         f"{col['tokens_per_parameter']:.0f} tokens per parameter here; the paper's Table 3 "
                         f"(Approach 1) has ~20 at every size. Besiroglu et al. 2024 found Eq. 10 inconsistent with "
                         f"Approaches 1-2 (their refit: scalinglaws.paper.EPOCH).")
        else:
            notes.append(_interval_note(law))
    notes.append("N counts non-embedding parameters for Kaplan and this study, all parameters for Chinchilla.")
    notes.append(_LOSS_CAVEAT)
    return {"question": "compute", "inputs": {"compute_flops": C, "compute_pf_days": C / PF_DAY_FLOP},
            "assumptions": assumptions or [], "laws": columns, "warnings": warns, "notes": notes}


# ============================================================================ (N, D) -> loss


def _model_column(law: NDLaw, N: float, D: float) -> dict:
    L, L_inf = law.loss(N, D), law.loss(N, math.inf)
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
        col["D_needed"] = k * N ** p
        col["overfits"] = bool(D < col["D_needed"])
    return col


def predict_model(N: float, D: float, laws: list[str], results_dir=None) -> dict:
    """Loss of an N-parameter model trained on D tokens under each law, and Kaplan's overfitting verdict."""
    chosen: list[NDLaw] = []
    papers = paper_laws()
    chosen += [papers[k] for k in ("kaplan", "chinchilla") if k in laws]
    if "cpu" in laws:
        study = cpu_laws(results_dir)
        chosen += [study["cpu-eq1.5"], study["cpu-approach3"]]
    columns, warns, notes = [], [], []
    for law in chosen:
        col = _model_column(law, N, D)
        columns.append(col)
        warns += _range_warnings(law.title, N, D, law.n_range, law.d_range, law.slack, law.counts)
        warns += [f"{law.title}: {n}" for n in law.notes]
        if col["overfits"] is not None:
            k, p = law.overfit
            verdict = ("overfits: D is below" if col["overfits"] else "does not overfit: D is above")
            notes.append(f"{law.title}: {verdict} {_fmt(k)}·N^{p:.2f} = {_fmt(col['D_needed'])} tokens "
                         f"(Kaplan Eq. 4.4); the predicted penalty L(N,D)/L(N,inf) - 1 is {100 * col['overfit_penalty']:.1f}%.")
        if law.intervals:  # this study's fits carry their parameters' intervals; the papers' constants none
            notes.append(_interval_note(law))
    notes.append("The same N is read as non-embedding parameters by Kaplan's law and this study's, and as all "
                 "parameters by Chinchilla's.")
    notes.append(_LOSS_CAVEAT)
    return {"question": "model", "inputs": {"params": N, "tokens": D, "compute_flops": 6 * N * D},
            "assumptions": [], "laws": columns, "warnings": warns, "notes": notes}


def _interval_note(law: NDLaw) -> str:
    """This study's per-parameter bootstrap intervals. The results files keep marginal intervals only, not
    the joint bootstrap draws a prediction interval needs, so the predictions themselves get none."""
    parts = []
    for name, value in law.params.items():
        lo, hi = law.intervals.get(name, (None, None))
        ci = f"[{_fmt(lo)}, {_fmt(hi)}]" if lo is not None and hi is not None else "(no interval)"
        parts.append(f"{name} {_fmt(value)} {ci}")
    return (f"{law.title} parameters with 95% bootstrap intervals: {', '.join(parts)}. The results files hold "
            f"per-parameter intervals only, not the joint draws, so its predictions have no interval.")


# ============================================================================ a run's learning curve


def _read_run(run_dir: Path):
    """(spec, metrics rows, finished) of a run folder; one-line errors for anything that is not one."""
    if not run_dir.exists():
        raise ScalingLawsError(f"--run {run_dir}: no such run folder")
    if not run_dir.is_dir():
        raise ScalingLawsError(f"--run {run_dir} is a file, not a run folder (<store>/<run id>)")
    cfg_path = run_dir / "config.json"
    try:
        spec = RunSpec.from_dict(json.loads(cfg_path.read_text())["spec"])
    except FileNotFoundError:
        raise ScalingLawsError(f"--run {run_dir} has no config.json: not a run folder of the store") from None
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ScalingLawsError(f"{cfg_path} does not hold a run spec ({e.__class__.__name__}: {e})") from None
    metrics = run_dir / "metrics.jsonl"
    if not metrics.is_file() or not metrics.read_text().strip():
        raise ScalingLawsError(f"--run {run_dir} has no evaluations yet (metrics.jsonl is missing or empty): "
                               "nothing to fit")
    finished = is_done(run_dir)
    # A finished run is checked like any result (its files must agree); a run in progress is read as it is.
    try:
        rows = read_verified(run_dir)[1] if finished else read_metrics(run_dir)
    except CorruptRunError as e:
        raise CorruptRunError(f"--run {run_dir} is corrupt: {e}") from None
    return spec, rows, finished


def _curve_points(rows: list[dict], warmup: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps, val losses) after warmup: during warmup the LR is still rising and the curve is not yet the
    power law (the study's fits drop S <= warmup too)."""
    pts = [(r.get("step"), r.get("val_loss")) for r in rows]
    pts = [(float(s), float(v)) for s, v in pts
           if isinstance(s, (int, float)) and isinstance(v, (int, float)) and s > warmup and math.isfinite(v) and v > 0]
    steps = np.array([s for s, _ in pts])
    return steps, np.array([v for _, v in pts])


def _steps_to(target: float, X_c, alpha, E):
    """Steps where E + (X_c/S)^alpha = target: S = X_c (target - E)^(-1/alpha); inf when target <= E."""
    X_c, alpha, E = (np.asarray(v, dtype=float) for v in (X_c, alpha, E))
    with np.errstate(divide="ignore", invalid="ignore"):
        S = X_c * np.power(np.maximum(target - E, 0.0), -1.0 / alpha)
    return np.where(target > E, S, np.inf)


def _quantiles_with_inf(x: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval that may include inf (an unreachable target in some bootstrap fits): no
    interpolation, so an end is a drawn value, never inf - inf."""
    q = (1 - level) / 2
    lo, hi = np.quantile(x, [q, 1 - q], method="inverted_cdf")
    return float(lo), float(hi)


def forecast_run(run_dir: str | Path, target_loss: float | None = None, n_boot: int = 200) -> dict:
    """Fit L(S) = E + (S_c/S)^alpha to a run's evaluations after warmup; predict the loss at the planned last
    step (spec.steps) and, given a target loss, the steps and tokens to reach it, with bootstrap intervals."""
    from scalinglaws import fit as F  # scipy (~0.7 s): only the --run question fits anything

    run_dir = Path(run_dir).expanduser()
    spec, rows, finished = _read_run(run_dir)
    warmup, planned = spec.warmup, spec.steps
    steps, loss = _curve_points(rows, warmup)
    if len(np.unique(steps)) < 4:
        raise ScalingLawsError(f"--run {run_dir}: {len(np.unique(steps))} evaluation(s) after warmup (step > {warmup}); "
                               "need at least 4 to fit E + (S_c/S)^alpha")
    with warnings.catch_warnings(record=True) as caught:  # reported in the output, not as stray stderr lines
        warnings.simplefilter("always", F.FitWarning)
        fit = F.fit_power_law(x=steps, L=loss, irreducible=True, n_boot=n_boot, seed=0)
    warns = [str(w.message) for w in caught if issubclass(w.category, F.FitWarning)]
    if not fit.converged and not any(fit.message in w for w in warns):
        warns.append(f"the learning-curve fit did not converge: {fit.message}")
    p, ci = fit.params, fit.ci
    pred = fit.predict_interval(x=np.array([float(planned)]))
    last_step, last_loss = int(steps.max()), float(loss[np.argmax(steps)])
    final = {"step": planned, "tokens": planned * spec.tokens_per_step, "loss": float(pred.estimate[0]),
             "low": _num(pred.low[0]), "high": _num(pred.high[0]),
             "observed": last_loss if last_step == planned else None}
    if planned > 10 * last_step:
        warns.append(f"the planned last step {planned} is {planned / last_step:.0f}x beyond the last evaluation "
                     f"({last_step}): a long extrapolation of the curve")
    report = {
        "question": "run",
        "inputs": {"run": str(run_dir), "target_loss": target_loss, "n_boot": n_boot},
        "run": {"run_id": run_dir.name, "finished": finished, "N": spec.n_params, "warmup_steps": warmup,
                "planned_steps": planned, "tokens_per_step": spec.tokens_per_step, "schedule": spec.schedule,
                "evaluations_fitted": int(len(steps)), "first_step_fitted": int(steps.min()),
                "last_step": last_step, "last_loss": last_loss},
        "fit": {"law": "L(S) = E + (S_c/S)^alpha (S in optimizer steps)",
                "S_c": p["X_c"], "S_c_ci": _ci(ci["X_c"]), "alpha": p["alpha"], "alpha_ci": _ci(ci["alpha"]),
                "E": p["E"], "E_ci": _ci(ci["E"]), "rms_log_residual": float(np.sqrt(np.mean(fit.residuals ** 2))),
                "converged": bool(fit.converged), "n_boot": n_boot, "level": fit.level},
        "final": final, "target": None, "assumptions": [], "warnings": warns,
        "notes": [_schedule_note(spec),
                  "Intervals are 95% percentile bootstrap intervals over the evaluations (the law's parameter "
                  "uncertainty); the scatter of the run itself is extra."],
    }
    if target_loss is not None:
        report["target"] = _target(fit, target_loss, steps, loss, spec.tokens_per_step)
    return report


def _target(fit, target: float, steps: np.ndarray, loss: np.ndarray, tokens_per_step: int) -> dict:
    """Steps and tokens to reach ``target`` on the fitted curve, with a bootstrap interval; whether the run
    already got there; unreachable when the target is at or below the fitted floor E."""
    p = fit.params
    reached = steps[loss <= target]
    out = {"loss": target, "reachable": bool(target > p["E"]), "steps": None, "steps_low": None, "steps_high": None,
           "tokens": None, "tokens_low": None, "tokens_high": None, "unreachable_share": None,
           "reached_at_step": int(reached.min()) if len(reached) else None}
    S = float(_steps_to(target, p["X_c"], p["alpha"], p["E"]))
    boot = fit.boot[np.all(np.isfinite(fit.boot), axis=1)] if fit.boot.size else np.zeros((0, 3))
    if len(boot):
        cols = [fit.param_names.index(n) for n in ("X_c", "alpha", "E")]
        draws = _steps_to(target, *(boot[:, c] for c in cols))
        lo, hi = _quantiles_with_inf(draws, fit.level)
        out.update(steps_low=_num(lo), steps_high=_num(hi), unreachable_share=float(np.mean(np.isinf(draws))))
    out["steps"] = _num(S)
    for k in ("", "_low", "_high"):
        s = out[f"steps{k}"]
        out[f"tokens{k}"] = None if s is None else s * tokens_per_step
    return out


def _schedule_note(spec) -> str:
    if spec.schedule == "wsd":
        decay = f"the linear cooldown over the last {spec.decay_frac:.0%} of the schedule"
    else:
        decay = "the LR decay at the end of the cosine schedule"
    return (f"The fit is one power law in steps and ignores {decay}, which lowers the loss faster near the end "
            "than the curve before it: it tends to over-predict the final loss (and the steps to a target), "
            "most for a run still early in its schedule.")


# ============================================================================ inputs and dispatch


def _positive(name: str, x: float | None) -> None:
    if x is not None and not (math.isfinite(x) and x > 0):
        raise ScalingLawsError(f"{name} {x:g}: must be a finite number > 0")


def predict(*, compute=None, gpu_hours=None, gpu=None, mfu=None, params=None, tokens=None, run=None,
            target_loss=None, laws=None, results_dir=None, n_boot=None) -> dict:
    """Check the inputs of `scalinglaws predict` (one-line ScalingLawsError for every mistake) and answer.

    Exactly one question: --compute C or --gpu-hours H --gpu G [--mfu]; --params N --tokens D; or
    --run DIR [--target-loss L]. ``laws``: a list from kaplan, chinchilla, cpu (None = both papers)."""
    for name, x in (("--compute", compute), ("--gpu-hours", gpu_hours), ("--params", params),
                    ("--tokens", tokens), ("--target-loss", target_loss)):
        _positive(name, x)
    if mfu is not None and not (math.isfinite(mfu) and 0 < mfu <= 1):
        raise ScalingLawsError(f"--mfu {mfu:g}: model FLOPs utilisation must be in (0, 1]")
    if n_boot is not None and n_boot < 0:
        raise ScalingLawsError(f"--n-boot {n_boot}: must be a whole number >= 0")
    if tokens is not None and params is None:
        raise ScalingLawsError("--tokens needs --params (the model size N it is trained with)")
    if params is not None and tokens is None:
        raise ScalingLawsError("--params needs --tokens (the training tokens D)")
    if gpu_hours is not None and gpu is None:
        raise ScalingLawsError(f"--gpu-hours needs --gpu ({', '.join(GPU_PEAK_BF16_FLOPS)})")
    for name, x, needs in (("--gpu", gpu, gpu_hours), ("--mfu", mfu, gpu_hours)):
        if x is not None and needs is None:
            raise ScalingLawsError(f"{name} applies only with --gpu-hours")
    if gpu is not None and gpu not in GPU_PEAK_BF16_FLOPS:
        raise ScalingLawsError(f"--gpu {gpu}: choose from {', '.join(GPU_PEAK_BF16_FLOPS)}")
    asked = [n for n, x in (("--compute", compute), ("--gpu-hours", gpu_hours), ("--params/--tokens", params),
                            ("--run", run)) if x is not None]
    if len(asked) > 1:
        raise ScalingLawsError(f"give one question, not {' and '.join(asked)}")
    if not asked:
        raise ScalingLawsError("nothing to predict: give --compute FLOPs, --gpu-hours H --gpu G, "
                               "--params N --tokens D, or --run RUN_DIR")
    if target_loss is not None and run is None:
        raise ScalingLawsError("--target-loss applies only with --run")
    if n_boot is not None and run is None:
        raise ScalingLawsError("--n-boot applies only with --run (the papers' laws have no bootstrap)")
    if run is not None:
        if laws is not None or results_dir is not None:
            raise ScalingLawsError("--laws and --results-dir do not apply to --run: a run is forecast from its own "
                                   "learning curve")
        return forecast_run(run, target_loss, 200 if n_boot is None else n_boot)
    laws = list(dict.fromkeys(laws or ["kaplan", "chinchilla"]))
    if results_dir is not None and "cpu" not in laws:
        raise ScalingLawsError("--results-dir is read only with --laws cpu")
    if params is not None:
        return predict_model(params, tokens, laws, results_dir)
    assumptions = []
    if gpu_hours is not None:
        compute, line = gpu_hours_to_flops(gpu_hours, gpu, DEFAULT_MFU if mfu is None else mfu)
        assumptions.append(line)
    return predict_compute(compute, laws, results_dir, assumptions)


# ============================================================================ output


def _num(x) -> float | None:
    """A finite float, or None (JSON has no inf or NaN)."""
    x = float(x)
    return x if math.isfinite(x) else None


def _ci(pair) -> list[float | None]:
    return [_num(pair[0]), _num(pair[1])]


def _fmt(x) -> str:
    """3 significant digits; powers of ten as e9, not e+09."""
    if x is None:
        return "—"
    x = float(x)
    if not math.isfinite(x):
        return "inf" if x > 0 else str(x)
    s = f"{x:.3g}"
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), s)


def _clean(x):
    """The report with every non-finite float as None: JSON has no inf or NaN (an absurd input can overflow)."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def to_json(report: dict) -> str:
    return json.dumps(_clean(report), indent=1, allow_nan=False)


def _ratio(x: float) -> str:
    return f"{x:.1f}" if 0.1 <= x < 1e4 else _fmt(x)


_COMPUTE_ROWS = [("parameters N", "N", _fmt), ("  N counts", "N_counts", str), ("training tokens D", "D", _fmt),
                 ("tokens per parameter", "tokens_per_parameter", _ratio),
                 ("6·N·D (FLOPs)", "flops_6ND", _fmt), ("batch (tokens/step)", "batch_tokens", _fmt),
                 ("steps", "steps", _fmt), ("loss (nats/token)", "loss", lambda x: f"{x:.3f}")]
_MODEL_ROWS = [("parameters N", "N", _fmt), ("  N read as", "N_counts", str), ("training tokens D", "D", _fmt),
               ("tokens per parameter", "tokens_per_parameter", _ratio),
               ("C = 6·N·D (FLOPs)", "flops_6ND", _fmt), ("loss L(N, D) (nats/token)", "loss", lambda x: f"{x:.3f}"),
               ("loss L(N, inf)", "loss_unlimited_data", lambda x: f"{x:.3f}"),
               ("overfitting penalty (Eq. 4.3)", "overfit_penalty", lambda x: f"{100 * x:.1f}%"),
               ("D needed, Eq. 4.4", "D_needed", _fmt),
               ("overfits (Eq. 4.4)", "overfits", lambda x: "yes" if x else "no")]


def _table(columns: list[dict], rows) -> list[str]:
    head = ["", *[c["title"] for c in columns]]
    rows = [r for r in rows if any(c.get(r[1]) is not None for c in columns)]  # e.g. no batch row for Chinchilla alone
    body = [[label, *[("—" if c.get(key) is None else fmt(c[key])) for c in columns]] for label, key, fmt in rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [head, *body]]


def _bullets(title: str, lines: list[str]) -> list[str]:
    return [f"{title}:", *[f"  - {x}" for x in lines]] if lines else []


def render(report: dict) -> str:
    """The report as plain text: the numbers first, then assumptions, warnings and notes."""
    q = report["question"]
    if q == "run":
        out = _render_run(report)
    elif q == "compute":
        i = report["inputs"]
        out = [f"Compute-optimal training for C = {_fmt(i['compute_flops'])} FLOPs ({_fmt(i['compute_pf_days'])} PF-days)",
               "", *_table(report["laws"], _COMPUTE_ROWS)]
    else:
        i = report["inputs"]
        out = [f"Loss of N = {_fmt(i['params'])} parameters trained on D = {_fmt(i['tokens'])} tokens "
               f"(C = 6ND = {_fmt(i['compute_flops'])} FLOPs)", "", *_table(report["laws"], _MODEL_ROWS)]
    for title, key in (("Assumptions", "assumptions"), ("Warnings", "warnings"), ("Notes", "notes")):
        block = _bullets(title, report.get(key) or [])
        out += [""] + block if block else []
    return "\n".join(out)


def _interval(est, lo, hi, fmt=_fmt) -> str:
    if lo is None and hi is None:
        return f"{fmt(est)} (no interval)"
    return f"{fmt(est)} [95% CI {fmt(lo) if lo is not None else '—'}, {fmt(hi) if hi is not None else 'unreachable'}]"


def _render_run(r: dict) -> list[str]:
    run, f, fin, t = r["run"], r["fit"], r["final"], r["target"]
    state = "finished" if run["finished"] else "in progress"
    loss3 = lambda x: f"{x:.3f}"  # noqa: E731
    out = [f"Run {run['run_id']} ({state}): N = {_fmt(run['N'])} non-embedding parameters, "
           f"{run['planned_steps']} steps planned, {run['tokens_per_step']} tokens/step, {run['schedule']} schedule",
           f"Fitted {f['law']} to {run['evaluations_fitted']} evaluations from step {run['first_step_fitted']} to "
           f"{run['last_step']} (after {run['warmup_steps']} warmup steps):",
           f"  S_c   = {_interval(f['S_c'], *f['S_c_ci'])} steps",
           f"  alpha = {_interval(f['alpha'], *f['alpha_ci'])}",
           f"  E     = {_interval(f['E'], *f['E_ci'], fmt=loss3)} nats/token",
           f"  rms log residual {f['rms_log_residual']:.4f}" + ("" if f["converged"] else "  (fit did not converge)"),
           "",
           f"Loss at the planned last step {fin['step']} ({_fmt(fin['tokens'])} tokens): "
           f"{_interval(fin['loss'], fin['low'], fin['high'], fmt=loss3)} nats/token"]
    if fin["observed"] is not None:
        out.append(f"  observed final loss {fin['observed']:.3f} (prediction - observed = {fin['loss'] - fin['observed']:+.3f})")
    if t is not None:
        out.append("")
        if not t["reachable"]:
            out.append(f"Target loss {t['loss']:g} is at or below the fitted floor E = {f['E']:.3f}: unreachable "
                       "on this curve (a larger model or more data lowers the floor).")
            if t["unreachable_share"] is not None and t["unreachable_share"] < 1:
                out.append(f"  {100 * (1 - t['unreachable_share']):.0f}% of the bootstrap fits would reach it "
                           f"(2.5th percentile: {_fmt(t['steps_low'])} steps)")
        else:
            out.append(f"Steps to reach loss {t['loss']:g}: {_interval(t['steps'], t['steps_low'], t['steps_high'])} "
                       f"({_fmt(t['tokens'])} tokens)")
            if t["unreachable_share"]:
                out.append(f"  {100 * t['unreachable_share']:.0f}% of the bootstrap fits put E at or above the target")
        if t["reached_at_step"] is not None:
            out.append(f"  observed: the run's first evaluation at or below it was at step {t['reached_at_step']}")
    return out
