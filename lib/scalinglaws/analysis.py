"""The analysis behind each notebook: tables from the run store, fits, figures, results records.

Notebooks call these one step at a time; nothing here trains (training goes through Study.ensure).
Every number written to ``NN_results.json`` is computed here from runs and fits; interpretations are
assembled from those numbers (`interpret_*`), never typed in ahead of them.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import ScalingLawsError
from . import fit as F
from . import plots as P
from .data import checkout_relative as where  # noqa: F401 - the notebooks print paths with an.where
from .data import corpus_fingerprint, prepare_tokens, unigram_entropy
from .findings import against_paper


# ---------------------------------------------------------------------------------------------
# Results table
# ---------------------------------------------------------------------------------------------

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
    """Records {quantity, value, ci_low, ci_high, paper_value, units, note}, written as NN_results.json."""

    notebook: str  # "01"
    out_dir: Path
    records: list = field(default_factory=list)

    def add(self, quantity, value, ci=None, paper_value=None, units="", note=""):
        lo, hi = ci if ci is not None else (None, None)
        self.records.append({"quantity": quantity, "value": _clean(value), "ci_low": _clean(lo),
                             "ci_high": _clean(hi), "paper_value": _clean(paper_value), "units": units,
                             "note": note})

    def add_fit(self, fit: F.FitResult, name: str, quantity: str, paper_value=None, units="", note=""):
        if not fit.converged:
            note += f" [fit did not converge: {fit.message}]"
        elif fit.no_interval_reason(name):  # a converged fit without an interval for this parameter says why
            note += f" [{fit.no_interval_reason(name)}]"
        self.add(quantity, fit.params[name], fit.ci.get(name), paper_value, units, note.strip())

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records, columns=["quantity", "value", "ci_low", "ci_high", "paper_value", "units", "note"])

    def get(self, quantity: str) -> dict:
        return next(r for r in self.records if r["quantity"] == quantity)

    def save(self) -> Path:
        path = Path(self.out_dir) / f"{self.notebook}_results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.records, indent=1, ensure_ascii=False) + "\n")
        return path


def try_fit(fn, *args, **kw):
    """Run a fit; return None (and say why) when the data cannot support it (e.g. too few sizes on
    the frontier, no interior IsoFLOP minimum), so a notebook reports that instead of crashing."""
    try:
        return fn(*args, **kw)
    except ScalingLawsError as e:
        print(f"not fitted ({getattr(fn, '__name__', fn)}): {e}")
        return None


# Statistics of the data that notebooks need, kept in the run store beside the runs they describe, so
# re-executing a notebook against a finished store never rebuilds the tokenizer and token cache (minutes)
# just to read them. Keyed by corpus fingerprint and vocabulary, like the runs' content addresses.
DATA_STATS_FILE = "data_stats.json"


def unigram_loss(study) -> float:
    """Entropy of the validation split's token frequencies (nats/token): the loss of the best
    context-free model. A learning curve above it is still learning token frequencies.
    Read from the store's data_stats.json when recorded there; else computed and recorded."""
    p = study.profile
    key = f"{corpus_fingerprint(p.corpus)}:vocab={p.vocab_size}"
    path = Path(study.runs_dir) / DATA_STATS_FILE
    stats = json.loads(path.read_text()) if path.exists() else {}
    if key in stats:
        return float(stats[key]["unigram_entropy_validation"])
    value = unigram_entropy(prepare_tokens(p.corpus, p.vocab_size, quiet=True).validation, p.vocab_size)
    stats[key] = {"corpus": p.corpus, "vocab_size": p.vocab_size, "unigram_entropy_validation": value}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(stats, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only store: the value is still right, only not remembered
    return value


def frontier_loss_fit(rows: pd.DataFrame, n_boot: int, seed: int):
    """L = (C_c/C)^alpha_C on the frontier rows to fit (columns C, L, N; see F.frontier_fit_rows),
    resampling whole model sizes. None, and why, with fewer than two sizes: one size's stretch of the
    frontier is that model's own learning curve, not the frontier's law."""
    k = rows["N"].nunique()
    if k < 2:
        print(f"not fitted (L(C) on the frontier): {k} model size(s) on the frontier rows to fit; one size's stretch "
              "is its own learning curve, not the frontier")
        return None
    return try_fit(F.fit_power_law, rows["C"], rows["L"], groups=rows["N"], n_boot=n_boot, seed=seed)


def usable(fit) -> bool:
    return fit is not None and fit.converged


def pm(fit: F.FitResult, name: str, digits: int = 3) -> str:
    """'0.071 [0.065, 0.078]' for interpretations."""
    v, (lo, hi) = fit.params[name], fit.ci[name]
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{v:.{digits}g} (no interval)"
    return f"{v:.{digits}g} [95% CI {lo:.{digits}g}, {hi:.{digits}g}]"


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


# ---------------------------------------------------------------------------------------------
# Tables from the store
# ---------------------------------------------------------------------------------------------

def final_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run: shape, N, tokens, final and best validation loss, status. No runs (a grid this
    profile leaves empty): an empty table with these columns."""
    cols = ["run_id", "label", "n_layer", "d_model", "n_head_eff", "d_ff_eff", "aspect_ratio", "N", "N_total",
            "batch_size", "lr", "lr_source", "seed", "tokens", "data_tokens", "step", "epochs", "C", "C_full",
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


# ---------------------------------------------------------------------------------------------
# 01 model size
# ---------------------------------------------------------------------------------------------

def lr_sweep_figure(study, rule):
    fig, (a1, a2) = P.new_figure(1, 2, figsize=(10, 4))
    if rule.sweeps.empty:
        a1.text(0.5, 0.5, "no sweep at this profile\n(library default rule)", ha="center", transform=a1.transAxes)
        a2.axis("off")
        return fig, pd.DataFrame({"note": ["no sweep at this profile"]})
    sw = rule.sweeps.dropna(subset=["final_val_loss"])
    drawn = P.learning_curves(a1, sw.rename(columns={"final_val_loss": "loss"}), x="lr", y="loss", hue="N")
    a1.set_xlabel("peak learning rate")
    a1.set_ylabel("final validation loss (sweep budget)")
    where = getattr(study, "lr_store", "")
    a1.set_title(f"LR sweeps of {where} (one line per model size)" if where else "LR sweeps (one line per model size)")
    best = rule.best
    d2 = P.powerlaw_plot(a2, best["N"], best["best_lr"], None, label_x="N (non-embedding)", label_y="best peak LR",
                         data_label="sweep optimum")
    ns = np.geomspace(best["N"].min(), best["N"].max(), 50)
    a2.plot(ns, [rule(n) for n in ns], "k--", lw=1, label=f"lr = {rule.A:.3g}·(N/1e4)^{rule.B:.2f}")
    a2.legend(fontsize="small")
    data = {"sweeps": drawn, "best": d2, "rule": pd.DataFrame({"x": ns, "y": [rule(n) for n in ns]})}
    return fig, data


def depth_collapse(final: pd.DataFrame, n_boot: int, seed: int):
    """Kaplan Fig. 6: fit one power law per view (total parameters vs non-embedding N) to all depths;
    the residual spread says which view collapses the depths onto one trend."""
    out, fits = [], {}
    for view in ("N_total", "N"):
        fit = F.fit_power_law(final[view], final["final_val_loss"], n_boot=n_boot, seed=seed)
        fits[view] = fit
        r = pd.Series(fit.residuals, index=final.index)
        one = final["n_layer"] == 1
        out.append({"view": view, "rms_residual": float(np.sqrt(np.mean(r**2))),
                    "rms_residual_without_1_layer": float(np.sqrt(np.mean(r[~one] ** 2))) if (~one).sum() > 2 else math.nan,
                    "mean_residual_1_layer": float(r[one].mean()) if one.any() else math.nan})
    return fits, pd.DataFrame(out)


def depth_figure(final: pd.DataFrame, fits: dict):
    fig, axes = P.new_figure(1, 2, figsize=(10, 4))
    data = {}
    for ax, view, title in zip(axes, ("N_total", "N"), ("with embeddings", "non-embedding")):
        for depth, g in final.groupby("n_layer"):
            ax.plot(g[view], g["final_val_loss"], "o-", ms=4, label=f"{depth} layer{'s' if depth > 1 else ''}")
        xs = np.geomspace(final[view].min(), final[view].max(), 60)
        ax.plot(xs, fits[view].predict(xs), "k--", lw=1, label="one power law, all depths")
        ax.set_xlabel(f"parameters ({title})")
        ax.set_ylabel("final validation loss (nats/token)")
        P.log_axes(ax)
        ax.legend(fontsize="x-small")
        data[view] = final[["n_layer", "d_model", view, "final_val_loss"]].rename(columns={view: "params"})
    return fig, data


# ---------------------------------------------------------------------------------------------
# 02 dataset size / 04 overfitting
# ---------------------------------------------------------------------------------------------

# Which data-limited runs measure a data limit, and the (N, D) points of Eq. 1.5: scalinglaws.data_limits.


def overfit_rule(nd: F.FitResult, tolerance: float = 0.02) -> dict:
    """From Eq. 1.5, δL <= tolerance  <=>  D >= k·N^(α_N/α_D) with
    k = D_c·N_c^(−α_N/α_D) / ((1+tol)^(1/α_D) − 1). Point estimate and bootstrap CI of k and the exponent."""
    def k_of(p):
        e = p["alpha_N"] / p["alpha_D"]
        return p["D_c"] * p["N_c"] ** (-e) / ((1 + tolerance) ** (1 / p["alpha_D"]) - 1), e

    k, e = k_of(nd.params)
    boot = [dict(zip(nd.param_names, row)) for row in nd.boot if np.all(np.isfinite(row))]
    ks = np.array([k_of(b) for b in boot]) if boot else np.full((1, 2), np.nan)
    q = lambda a: (float(np.nanpercentile(a, 2.5)), float(np.nanpercentile(a, 97.5)))  # noqa: E731
    return {"k": k, "k_ci": q(ks[:, 0]), "exponent": e, "exponent_ci": q(ks[:, 1]), "tolerance": tolerance}


# ---------------------------------------------------------------------------------------------
# 05 sample efficiency
# ---------------------------------------------------------------------------------------------

def target_losses(final: pd.DataFrame, k: int = 3) -> list[float]:
    """k targets every model can reach down to one only the 3 largest reach: between the smallest
    model's final loss and the third-largest model's, log-spaced, slightly inside both ends."""
    f = final.sort_values("N")
    hi = float(f["final_val_loss"].iloc[0]) * 1.01
    lo = float(f["final_val_loss"].iloc[-min(3, len(f))]) * 1.01
    if lo >= hi:
        lo = float(f["final_val_loss"].min()) * 1.01
    return [float(x) for x in np.geomspace(hi, lo, k)]


def steps_to_targets(curves: pd.DataFrame, targets: list[float]) -> pd.DataFrame:
    rows = []
    for rid, g in curves.groupby("run_id"):
        for t in targets:
            rows.append({"run_id": rid, "N": float(g["N"].iloc[0]), "target": t,
                         "tokens": tokens_to_reach(g, t, "tokens"), "steps": tokens_to_reach(g, t, "step")})
    return pd.DataFrame(rows)


def holdout_prediction(curves: pd.DataFrame, n_boot: int, seed: int, frac: float = 0.5) -> pd.DataFrame:
    """'When to stop': fit Eq. 1.6 on the first `frac` of every curve (steps), predict each run's
    final loss, and compare with what it reached."""
    early = curves[curves["step"] <= frac * curves.groupby("run_id")["step"].transform("max")]
    fit = F.fit_kaplan_ns(early["N"], early["step"], early["val_loss"], warmup_steps=early["warmup_steps"],
                          groups=early["run_id"], n_boot=n_boot, seed=seed)
    last = curves.loc[curves.groupby("run_id")["step"].idxmax()]
    pred = fit.predict_interval(last["N"].to_numpy(float), last["step"].to_numpy(float))
    return pd.DataFrame({"run_id": last["run_id"].to_numpy(), "N": last["N"].to_numpy(float),
                         "final_step": last["step"].to_numpy(float), "actual": last["val_loss"].to_numpy(float),
                         "predicted": pred.estimate, "pred_low": pred.low, "pred_high": pred.high}).assign(
        error_pct=lambda d: 100 * (d["predicted"] / d["actual"] - 1)).sort_values("N").reset_index(drop=True), fit


# ---------------------------------------------------------------------------------------------
# 03 shape
# ---------------------------------------------------------------------------------------------

def shape_table(final: pd.DataFrame, alpha_N: float) -> pd.DataFrame:
    """Loss increase (%) over the best shape of each group, after correcting small N differences
    with the L(N) slope: L_corrected = L·(N/N_ref)^α_N, N_ref the group's median N (Kaplan Fig. 5)."""
    f = final.copy()
    f["kind"] = f["label"].str.extract(r"shape (\w+)=")[0]
    f["size"] = f["label"].str.extract(r"N~([\d.e+]+)")[0]
    ff_size = f.loc[f["kind"] == "aspect", "size"].iloc[0] if (f["kind"] == "aspect").any() else None
    f.loc[f["kind"] != "aspect", "size"] = ff_size
    f["ff_ratio"] = f["d_ff_eff"] / f["d_model"]
    f["head_dim"] = f["d_model"] / f["n_head_eff"]
    out = []
    for (kind, size), g in f.groupby(["kind", "size"], dropna=False):
        g = g.copy()
        n_ref = float(np.median(g["N"]))
        g["L_corrected"] = g["final_val_loss"] * (g["N"] / n_ref) ** alpha_N
        g["increase_pct"] = 100 * (g["L_corrected"] / g["L_corrected"].min() - 1)
        out.append(g)
    return pd.concat(out, ignore_index=True)


def within_range(t: pd.DataFrame, var: str, pct: float) -> tuple[float, float, float]:
    """Smallest and largest value of `var` among shapes within pct% of the best, and their ratio."""
    ok = t[t["increase_pct"] <= pct][var]
    return float(ok.min()), float(ok.max()), float(ok.max() / ok.min())


# ---------------------------------------------------------------------------------------------
# 06 compute allocation
# ---------------------------------------------------------------------------------------------

def interpret_chinchilla(a_kaplan: F.FitResult | None, a2: F.FitResult | None, a3: F.FitResult | None) -> str:
    parts = []
    if a_kaplan is not None:
        parts.append(f"The Kaplan-style frontier (lower envelope of learning curves, each curve read at "
                     f"intermediate steps of a schedule set for its own full budget) gives N_opt ∝ C^{pm(a_kaplan, 'a', 2)}.")
    if a2 is not None:
        parts.append(f"IsoFLOP profiles with schedules matched to each budget (Chinchilla Approach 2) give "
                     f"N_opt ∝ C^{pm(a2, 'a', 2)}.")
    agree = methods_agree(a_kaplan, a2)
    if agree:
        parts.append("The two intervals overlap: at this scale the two methods agree, and the contrast found at "
                     "scale (Kaplan 0.73 against Chinchilla's ~0.5) does not appear.")
    elif agree is False:
        larger = a_kaplan.params["a"] > a2.params["a"]
        parts.append(f"The two intervals do not overlap: the frontier's exponent is {'larger' if larger else 'smaller'} "
                     f"than the IsoFLOP one, {'the' if larger else 'the opposite of the'} ordering found at scale "
                     "(Kaplan 0.73 against Chinchilla ~0.5).")
    if a3 is not None:
        parts.append(f"The parametric fit (Approach 3) gives α = {pm(a3, 'alpha', 2)}, β = {pm(a3, 'beta', 2)}, "
                     f"E = {pm(a3, 'E', 3)} nats, so a = β/(α+β) = {pm(a3, 'a', 2)}.")
        ok, why = approach3_reliable(a3)
        if not ok:
            parts.append(f"Its {why}, so α, β and a from Approach 3 are not reliable here (and it is not used "
                         "to allocate compute below).")
    return " ".join(parts)


def approach3_reliable(a3: F.FitResult | None) -> tuple[bool, str]:
    """Whether an Approach 3 fit can be used for claims (allocation, tokens per parameter), and why not.

    Not when it failed, nor when its irreducible loss E is under 5% of the smallest loss it fits: over a
    small range of N and D the data cannot separate E from the power-law terms, and the exponents move
    with wherever E ended (a narrative threshold, broader than the fit's 1e-6 no-interval rule)."""
    if a3 is None or not a3.converged:
        return False, "fit did not converge"
    if a3.params["E"] < 0.05 * float(np.min(a3.points["L"])):
        return False, ("irreducible loss E went to (near) zero: over this small range of N and D the data cannot "
                       "separate E from the power-law terms")
    return True, ""


def interpret_bcrit(fit_B: F.FitResult | None, paper_alpha_B: float = 0.21) -> str:
    """What the B_crit(L) = B*/L^(1/alpha_B) fit says, true in every branch: no fit, a failed fit, a trend
    whose interval includes zero (no trend resolved), B_crit growing as the loss falls (alpha_B > 0, the
    paper's finding) or shrinking (alpha_B < 0, the opposite)."""
    if fit_B is None:
        return "No B_crit(L) fit: fewer than three target losses gave a critical batch size."
    if not fit_B.converged:
        return (f"The B_crit(L) fit did not converge (alpha_B ended at {fit_B.params['alpha_B']:.2g}), so this study "
                f"makes no claim about how the critical batch depends on the loss (paper: alpha_B = {paper_alpha_B}).")
    a = fit_B.params["alpha_B"]
    lo, hi = fit_B.ci["alpha_B"]
    if np.isfinite(lo) and np.isfinite(hi) and lo <= 0 <= hi:
        return (f"alpha_B = {pm(fit_B, 'alpha_B', 2)}: the interval includes 0, so no dependence of B_crit on the loss "
                f"is resolved here (paper: alpha_B = {paper_alpha_B}, B_crit grows as the loss falls).")
    direction = ("grows as the loss falls, as in the paper" if a > 0 else
                 "shrinks as the loss falls, the opposite of the paper's finding")
    return f"B_crit {direction}: alpha_B = {pm(fit_B, 'alpha_B', 2)} (paper {paper_alpha_B})."


def methods_agree(a_kaplan: F.FitResult | None, a2: F.FitResult | None) -> bool | None:
    """Whether the two N_opt exponents' intervals overlap; None when either is missing or has no interval."""
    if a_kaplan is None or a2 is None:
        return None
    (lo1, hi1), (lo2, hi2) = a_kaplan.ci["a"], a2.ci["a"]
    if not all(np.isfinite([lo1, hi1, lo2, hi2])):
        return None
    return bool(max(lo1, lo2) <= min(hi1, hi2))
