"""The laws of the loss in model size N and training tokens D that `scalinglaws predict` answers with: the
papers' published constants (`paper_laws`) or this study's fits read from its results files (`cpu_laws`),
each with where its numbers come from and, for this study's, whether its notebook found them usable.

Units: parameters (Kaplan and this study: non-embedding; Chinchilla: all), tokens, nats/token.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from scalinglaws.data.paths import checkout_relative, project_root

from .. import ScalingLawsError
from ..fit.chinchilla import e_unidentified
from ..paper import CHINCHILLA, KAPLAN
from ..records import read_results, record_label
from .fmt import fmt

__all__ = ["NDLaw", "chinchilla_law", "paper_laws", "cpu_laws", "record_problems", "CPU_STUDY_N_RANGE",
           "CPU_STUDY_D_RANGE", "CPU_SLACK", "OK_STATUS"]

# What this study trained (the cpu profile's run store): non-embedding N from 3.3e3 to 3.9e5, and from
# 3e4 tokens (the smallest data subset, repeated) to 3.2e7 tokens processed. --laws cpu warns beyond
# 10x either way: closer than that, a fit over ~2 decades is a modest extrapolation.
CPU_STUDY_N_RANGE = (3e3, 4e5)
CPU_STUDY_D_RANGE = (3e4, 4e7)
CPU_SLACK = 10.0

RESULTS_FIX = "re-run notebook {nb} (scalinglaws study --profile cpu --notebooks {nb}) or pass --results-dir"

# A typed results record carries a status; only "ok" may be used to predict. The others ("few_points",
# "not_converged", "unreliable", "untestable", "failed", or one this version does not know) each say the
# value is not a law to extrapolate. Records without a status mark an unusable fit in their note instead.
OK_STATUS = "ok"
_NOT_RELIABLE = re.compile(r"\[not reliable here: ([^\]]*)\]")


@dataclass(frozen=True)
class NDLaw:
    """One law of the loss in model size N and training tokens D, with where its numbers come from.

    form "kaplan":     L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D        (Kaplan Eq. 1.5)
    form "chinchilla": L = E + A/N^alpha + B/D^beta                          (Hoffmann Eq. 2 / Eq. 10)
    ``overfit``: (coefficient, exponent) of Kaplan's rule D >~ k N^p (Eq. 4.4), for the Eq. 1.5 form.
    ``intervals``: the 95% interval of each parameter, where the source has one.
    ``problems``: why the law must not be used to predict (empty when it may), from its results records.
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
    problems: tuple[str, ...] = ()

    def loss(self, N: float, D: float) -> float:
        """Loss in nats/token; D = inf gives the unlimited-data limit L(N, inf)."""
        p = self.params
        if self.form == "kaplan":
            # scalinglaws.fit imports scipy (~0.7 s), which `predict --compute` never needs otherwise.
            from ..fit import kaplan_nd_loss

            return float(kaplan_nd_loss(N, D, p["alpha_N"], p["alpha_D"], p["N_c"], p["D_c"]))
        return p["E"] + p["A"] / N ** p["alpha"] + (0.0 if math.isinf(D) else p["B"] / D ** p["beta"])

    def extrapolation_warnings(self, N: float, D: float, title: str | None = None) -> list[str]:
        """Say plainly when N or D lies outside where the law was fitted (beyond ``slack`` times its edges)."""
        out = []
        for name, x, (lo, hi), unit in (("N", N, self.n_range, f"parameters ({self.counts})"),
                                        ("D", D, self.d_range, "tokens")):
            if x < lo / self.slack or x > hi * self.slack:
                side, factor = ("below", lo / x) if x < lo else ("above", x / hi)
                out.append(f"{title or self.title}: {name} = {fmt(x)} {unit} is {fmt(factor)}x {side} the range "
                           f"the law was fitted on ({fmt(lo)} to {fmt(hi)}): an extrapolation")
        return out

    def interval_note(self) -> str:
        """The per-parameter bootstrap intervals. The results files keep marginal intervals only, not the joint
        bootstrap draws a prediction interval needs, so the predictions themselves get none."""
        parts = []
        for name, value in self.params.items():
            lo, hi = self.intervals.get(name, (None, None))
            band = f"[{fmt(lo)}, {fmt(hi)}]" if lo is not None and hi is not None else "(no interval)"
            parts.append(f"{name} {fmt(value)} {band}")
        return (f"{self.title} parameters with 95% bootstrap intervals: {', '.join(parts)}. The results files hold "
                f"per-parameter intervals only, not the joint draws, so its predictions have no interval.")


# ============================================================================ the papers


def chinchilla_law(rounded: bool = False) -> NDLaw:
    """Hoffmann's Approach 3 law. By default with the unrounded fit of the paper's TeX source: Eq. 10 prints
    alpha 0.34 and beta 0.28, and those rounded exponents put N_opt ~20% low and D_opt ~25-30% high against
    the paper's own Table A3 (Besiroglu et al. 2024); ``rounded=True`` gives Eq. 10 as printed."""
    h = CHINCHILLA
    if rounded:
        params = {q: h[q].value for q in ("E", "A", "B", "alpha", "beta")}
        title = "Chinchilla 2022 (Approach 3, Eq. 10 as printed)"
    else:
        params = {"E": math.exp(h["ln_E_unrounded"].value), "A": math.exp(h["ln_A_unrounded"].value),
                  "B": math.exp(h["ln_B_unrounded"].value), "alpha": h["alpha_unrounded"].value,
                  "beta": h["beta_unrounded"].value}
        title = "Chinchilla 2022 (Approach 3, Eq. 10 unrounded)"
    return NDLaw(key="chinchilla", title=title, form="chinchilla", params=params, counts="all parameters",
                 n_range=(h["N_min_studied"].value, h["N_max_studied"].value),
                 d_range=(h["D_min_studied"].value, h["D_max_studied"].value))


def paper_laws() -> dict[str, NDLaw]:
    """The two papers' L(N, D) laws with their published constants (Chinchilla's unrounded)."""
    k = KAPLAN
    kaplan = NDLaw(
        key="kaplan", title="Kaplan 2020 (Eq. 1.5)", form="kaplan",
        params={"alpha_N": k["nd_alpha_N"].value, "alpha_D": k["nd_alpha_D"].value,
                "N_c": k["nd_N_c"].value, "D_c": k["nd_D_c"].value},
        counts="non-embedding",
        n_range=(k["N_min_studied"].value, k["N_max_studied"].value),
        d_range=(k["D_min_studied"].value, k["D_max_studied"].value),
        overfit=(k["overfit_D_coef"].value, k["D_over_N_exponent"].value),
    )
    return {"kaplan": kaplan, "chinchilla": chinchilla_law()}


# ============================================================================ this study's fits


def _shown(path: Path) -> str:
    """A path as the user would type it (relative to the checkout when inside it)."""
    return checkout_relative(path)


def _read_results(results_dir: Path, nb: str) -> dict[str, dict]:
    """figures/<profile>/<nb>_results.json as {label: record} (typed records are also found by their key)."""
    path = results_dir / f"{nb}_results.json"
    if not path.is_file():
        raise ScalingLawsError(f"no {_shown(path)} (this study's fits for --laws cpu); {RESULTS_FIX.format(nb=nb)}")
    records = read_results(path)  # checked: a file that is not a list of result records is one line naming it
    return {**{record_label(r): r for r in records}, **{r["key"]: r for r in records if "key" in r}}


def _need(results: dict[str, dict], quantity: str, path: Path, nb: str) -> dict:
    """The record of one fitted quantity, or the one-line error naming it and the fix."""
    rec = results.get(quantity)
    try:
        ok = rec is not None and rec.get("value") is not None and math.isfinite(float(rec["value"]))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ScalingLawsError(f"{_shown(path)} has no value for {quantity!r}, which --laws cpu needs; "
                               f"{RESULTS_FIX.format(nb=nb)}")
    return rec


def _require_positive(params: dict[str, float], names: dict[str, str], path: Path, nb: str,
                      zero_ok: tuple[str, ...] = ()) -> None:
    """Every constant of a law > 0 (``zero_ok``: >= 0): a negative scale or exponent is not a law to evaluate."""
    for p, x in params.items():
        if x < 0 or (x == 0 and p not in zero_ok):
            raise ScalingLawsError(f"{_shown(path)}: {names[p]!r} = {x:g} must be > 0 for --laws cpu; "
                                   f"{RESULTS_FIX.format(nb=nb)}")


def record_problems(rec: dict) -> list[str]:
    """Why a results record must not be used to predict: its ``status`` when it has one (typed records; only
    "ok" passes), else the notebook's "[not reliable here: ...]" marks in its note. Empty when usable."""
    note = rec.get("note") or ""
    marks = _NOT_RELIABLE.findall(note)
    status = rec.get("status")
    if status is not None:
        if status == OK_STATUS:
            return []
        return [f"status {status!r}" + (f" ({'; '.join(marks)})" if marks else "")]
    return marks


def _floor_problem(rec: dict) -> str | None:
    """E of an Approach 3 fit whose 95% interval reaches down to (near) zero: the runs do not determine it (the
    notebooks' rule, fit.chinchilla.e_unidentified, applied again to a results file that may predate their mark)."""
    lo, hi, value = rec.get("ci_low"), rec.get("ci_high"), float(rec["value"])
    if lo is None or not value > 0 or not e_unidentified(value, float(lo)):
        return None
    return (f"the irreducible loss E = {fmt(value)} is not determined by the runs (its 95% interval "
            f"[{fmt(lo)}, {fmt(hi)}] reaches down to zero)")


def _study_values(results_dir: Path, nb: str, names: dict[str, str]):
    """(params, intervals, problems, records) from this study's results file; ``names`` maps law parameter ->
    quantity. A reason shared by several records (the notebook marks every parameter of a fit) is said once."""
    path = results_dir / f"{nb}_results.json"
    results = _read_results(results_dir, nb)
    recs = {p: _need(results, q, path, nb) for p, q in names.items()}
    params = {p: float(r["value"]) for p, r in recs.items()}
    _require_positive(params, names, path, nb, zero_ok=("E",))
    intervals = {p: (r.get("ci_low"), r.get("ci_high")) for p, r in recs.items()}
    found = [f"notebook {nb} gives {names[p]!r} {why}" if why.startswith("status") else
             f"notebook {nb} marks this fit as not reliable here: {why}"
             for p, r in recs.items() for why in record_problems(r)]
    return params, intervals, tuple(dict.fromkeys(found)), recs


def cpu_laws(results_dir: str | Path | None = None, *, need: tuple[str, ...] = ("approach3", "eq1.5")) -> dict[str, NDLaw]:
    """This study's fits (figures/cpu): Eq. 1.5 and the overfitting rule from notebook 04, the Approach 3
    parametric law from notebook 06b. Only the laws in ``need`` are read, so a question that does not use
    a file does not fail on it. (Notebook 01's L(N) is the final loss of the ladder at its fixed token
    budget, not a law in N and D, so it is not used here.)"""
    results_dir = _results_dir(results_dir)
    study = {"counts": "non-embedding", "n_range": CPU_STUDY_N_RANGE, "d_range": CPU_STUDY_D_RANGE, "slack": CPU_SLACK}
    out: dict[str, NDLaw] = {}
    if "eq1.5" in need:
        params, intervals, problems, _ = _study_values(results_dir, "04", {
            "alpha_N": "alpha_N (Eq. 1.5)", "alpha_D": "alpha_D (Eq. 1.5)", "N_c": "N_c (Eq. 1.5)",
            "D_c": "D_c (Eq. 1.5)", "k": "overfitting rule coefficient k",
            "p": "overfitting rule exponent alpha_N/alpha_D"})
        overfit = (params.pop("k"), params.pop("p"))  # D >~ k N^p, the study's own Eq. 4.4
        intervals = {q: intervals[q] for q in params}
        out["cpu-eq1.5"] = NDLaw(key="cpu-eq1.5", title="cpu study (Eq. 1.5, notebook 04)", form="kaplan",
                                 params=params, intervals=intervals, problems=problems, overfit=overfit, **study)
    if "approach3" in need:
        names = {q: f"{q} (Approach 3)" for q in ("E", "A", "B", "alpha", "beta")}
        params, intervals, problems, recs = _study_values(results_dir, "06b", names)
        floor = _floor_problem(recs["E"])
        out["cpu-approach3"] = NDLaw(key="cpu-approach3", title="cpu study (Approach 3, notebook 06b)",
                                     form="chinchilla", params=params, intervals=intervals,
                                     problems=problems + ((floor,) if floor else ()), **study)
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
                               "pass --results-dir <folder holding 04_results.json and 06b_results.json>")
    return root / "figures" / "cpu"
