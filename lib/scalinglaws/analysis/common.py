"""The analysis behind each notebook: tables from the run store, fits, figures, results records.

Notebooks call these one step at a time; nothing here trains (training goes through Study.ensure).
Every number written to ``NN_results.json`` is computed here from runs and fits; interpretations are
assembled from those numbers (`interpret_*`), never typed in ahead of them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from scalinglaws import ScalingLawsError
from scalinglaws import fit as F
from scalinglaws.analysis import plots as P
from scalinglaws.findings import against_paper
from scalinglaws.numbers import num
from scalinglaws.records import Record, derive_status, from_fit, legacy_key

# Significant digits kept in NN_results.json (the figures' CSVs keep full precision).
RESULTS_SIG_DIGITS = 6


def _clean(v):
    if v is None:
        return None
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else float(f"{float(v):.{RESULTS_SIG_DIGITS}g}")
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


@dataclass
class Results:
    """A notebook's typed results records (scalinglaws.records.Record), written as NN_results.json.

    Every record has a stable ``key`` (the claims table and `predict` read keys, never labels), its display
    ``label``, and what the verdict rule needs to know about the evidence: ``n_points`` (independent points:
    sizes, stairs, minima, targets -- never runs or seeds), ``span`` (decades of the design variable),
    ``status`` (records.STATUSES) and how the interval was made (``ci_method``)."""

    notebook: str  # "01"
    out_dir: Path
    records: list = field(default_factory=list)
    # what a record's ``seeds`` says when it does not say otherwise: the study's one seed (start_notebook sets
    # "single seed (0)"); a record that pools replicates passes seeds=seeds_entered(...) itself
    default_seeds: int | str | None = None

    def _append(self, rec: Record) -> dict:
        if rec.seeds is None and self.default_seeds is not None:
            rec = dataclasses.replace(rec, seeds=self.default_seeds)
        d = {k: _clean(v) for k, v in rec.to_json().items()}
        if any(r["key"] == d["key"] for r in self.records):
            raise ScalingLawsError(f"results of notebook {self.notebook}: two records with key {d['key']!r}")
        self.records.append(d)
        return d

    def add(self, label, value, ci=None, paper_value=None, units="", note="", *, key=None, n_points=None,
            span=None, status=None, ci_method=None, seeds=None, unreliable="", boot_failed=None, boot_total=None):
        """A value measured without a FitResult (a count, a difference, a range, a bootstrap of its own). Its
        status comes from ``status`` if given, else from the value, n_points, the failed share of its own
        bootstrap (boot_failed of boot_total) and ``unreliable`` (records.derive_status)."""
        lo, hi = ci if ci is not None else (None, None)
        value, lo, hi = _clean(value), _clean(lo), _clean(hi)
        if not boot_total:
            boot_failed = boot_total = None
        if status is None:
            status = derive_status(has_value=value is not None, converged=True, boot_failed=boot_failed,
                                   boot_total=boot_total, n_points=n_points, unreliable=unreliable)
            if status == "unreliable" and not unreliable:
                note = f"{note} [unreliable: {boot_failed}/{boot_total} bootstrap refits failed]".strip()
        if unreliable and status == "unreliable":
            note = f"{note} [unreliable: {unreliable}]".strip()
        return self._append(Record(key or legacy_key(label), label, value, lo, hi, _clean(paper_value), units, note,
                                   status, n_points, _clean(span), ci_method if lo is not None else None,
                                   boot_failed, boot_total, seeds))

    def add_fit(self, fit: F.FitResult | None, name: str, label: str, paper_value=None, units="", note="", *,
                key=None, n_points=None, span=None, seeds=None, unreliable=""):
        """One parameter of a fit: value, interval, and the fit's own account of its evidence (n_points, span,
        ci_method, failed refits); arguments given here win (e.g. the sizes behind a frontier's stairs)."""
        return self._append(from_fit(fit, name, key or legacy_key(label), label, paper_value=paper_value,
                                     units=units, note=note, n_points=n_points, span=span, seeds=seeds,
                                     unreliable=unreliable))

    def frame(self) -> pd.DataFrame:
        cols = ["key", "label", "value", "ci_low", "ci_high", "paper_value", "units", "status", "n_points", "span",
                "note"]
        return pd.DataFrame(self.records, columns=[*cols, "ci_method", "seeds"])[cols]

    def get(self, key_or_label: str) -> dict:
        return next(r for r in self.records if key_or_label in (r["key"], r["label"]))

    def save(self) -> Path:
        path = Path(self.out_dir) / f"{self.notebook}_results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.records, indent=1, ensure_ascii=False) + "\n")
        return path


def seeds_entered(runs: pd.DataFrame, by: str = "N") -> str:
    """What a record's seeds were: "single seed (s)" when every `by` group has one seed, else how many seeds
    entered at how many of the groups (e.g. "seeds 0, 1, 2 at 3 of 7 sizes; seed 0 at the others")."""
    per = runs.groupby(by)["seed"].nunique()
    seeds = sorted(int(x) for x in runs["seed"].unique())
    if per.max() <= 1:
        return f"single seed ({', '.join(map(str, seeds))})"
    many = int((per > 1).sum())
    rest = "" if many == len(per) else f"; seed {min(seeds)} at the others"
    return f"seeds {', '.join(map(str, seeds))} at {many} of {len(per)} {'sizes' if by == 'N' else by + ' values'}{rest}"


def try_fit(fn, *args, quiet: bool = False, **kw):
    """Run a fit; return None (and say why, unless quiet) when the data cannot support it (e.g. too few sizes
    on the frontier, no interior IsoFLOP minimum), so a notebook reports that instead of crashing."""
    try:
        return fn(*args, **kw)
    except ScalingLawsError as e:
        if not quiet:
            print(f"not fitted ({getattr(fn, '__name__', fn)}): {e}")
        return None


def usable(fit) -> bool:
    return fit is not None and fit.converged


def pm(fit: F.FitResult, name: str, digits: int = 3) -> str:
    """'0.071 [0.065, 0.078]' for interpretations."""
    v, (lo, hi) = fit.params[name], fit.ci[name]
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{num(v, digits)} (no interval)"
    return f"{num(v, digits)} [95% CI {num(lo, digits)}, {num(hi, digits)}]"


def versus_paper(value: float, ci: tuple[float, float], paper_value: float, converged: bool = True) -> str:
    """Where the paper's value sits against our estimate (findings.against_paper, the claims table's rule),
    true in every branch: a failed fit makes no comparison; without an interval only the two numbers are
    set side by side."""
    if not converged or not np.isfinite(value):
        return "The fit did not converge, so there is nothing to compare with the paper's value."
    _, side = against_paper(value, ci, paper_value)
    if side == "no interval":
        return f"There is no interval to judge it by ({value:.3g} against {paper_value:.3g})."
    return f"The paper's value lies {side} our interval."


def fit_versus_paper(fit, name: str, paper_value: float) -> str:
    """versus_paper for one parameter of a fit (None or a failed fit: no comparison)."""
    if fit is None:
        return versus_paper(math.nan, (math.nan, math.nan), paper_value, converged=False)
    return versus_paper(fit.params[name], fit.ci.get(name, (math.nan, math.nan)), paper_value, fit.converged)


def save(study, fig, data, name: str) -> dict:
    return P.save_figure(fig, data, study.figures_dir, name)


def readable_warnings() -> None:
    """Warnings in a notebook as one line ("FitWarning: ..."), without the library file and line that
    Python prints by default: the cell that raised it is the place a reader needs."""
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"{category.__name__}: {message}\n"


def smoke_banner(study) -> str:
    if study.is_smoke:
        return ("SMOKE PROFILE: this run only exercises the code paths. Its models are tiny and barely "
                "trained; none of the numbers or fits below mean anything.")
    return f"Profile '{study.profile.name}': {study.profile.note}."


def final_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run: shape, N, tokens, final and best validation loss, status. No runs (a grid this
    profile leaves empty): an empty table with these columns."""
    cols = ["run_id", "label", "n_layer", "d_model", "n_head_eff", "d_ff_eff", "aspect_ratio", "N", "N_total",
            "batch_size", "peak_lr", "lr_source", "seed", "tokens", "data_tokens", "step", "epochs", "C", "C_full",
            "final_val_loss", "best_val_loss", "status"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    f = runs[runs["is_final"]].copy()
    f = f[f["status"] != "diverged"]
    return f[[c for c in cols if c in f.columns]].sort_values("N").reset_index(drop=True)


def final_for(specs, runs: pd.DataFrame) -> pd.DataFrame:
    """final_table with one row per *spec* (a run shared by two grid entries, e.g. the default shape
    in the aspect-ratio and the head-count series, appears under each of their labels)."""
    f = final_table(runs).drop(columns=["label"], errors="ignore")
    labels = pd.DataFrame({"run_id": [s.run_id for s in specs], "label": [s.label for s in specs]})
    return labels.merge(f, on="run_id", how="inner")


def tokens_to_reach(curve: pd.DataFrame, target: float, x: str = "tokens") -> float:
    """First x at which the validation loss reaches `target`, interpolated in log-log between evals
    (NaN if never reached)."""
    c = curve.sort_values("step")
    v = c["val_loss"].to_numpy(float)
    xs = c[x].to_numpy(float)
    hit = np.flatnonzero(v <= target)
    if len(hit) == 0:
        return math.nan
    i = hit[0]
    if i == 0:
        return float(xs[0])
    l0, l1, x0, x1 = np.log(v[i - 1]), np.log(v[i]), np.log(xs[i - 1]), np.log(xs[i])
    return float(np.exp(x0 + (np.log(target) - l0) * (x1 - x0) / (l1 - l0)))
