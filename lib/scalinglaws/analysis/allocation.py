"""Compute allocation under two counting conventions (notebook 06), and why Kaplan and Chinchilla disagree (06b).

Counting conventions (Pearce & Song 2024 show the choice alone moves the allocation exponent):
- "kaplan": N = non-embedding parameters, C = 6·N·tokens (Kaplan et al. 2020);
- "full":   N = all parameters (embeddings included), C = C_full, every forward FLOP ×3 (attention over the
            context and the de-embedding included; Hoffmann et al. count N this way).

Allocation methods:
- the frontier: lower envelope of learning curves (Kaplan Sec. 6), each curve read part-way through a
  schedule set for its own budget;
- IsoFLOP (Chinchilla Approach 2): runs with equal budgets and schedules matched to their own length.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from scalinglaws import fit as F
from scalinglaws.analysis.common import pm, try_fit, usable
from scalinglaws.findings import FINDINGS, Claim, verdict
from scalinglaws.records import read_record
from scalinglaws.data.corpus import corpus_fingerprint
from scalinglaws.data.tokens import prepare_tokens, unigram_entropy

CONVENTIONS = {
    "kaplan": {"N": "N", "C": "C", "describe": "non-embedding N, C = 6ND"},
    "full": {"N": "N_total", "C": "C_full", "describe": "all parameters, C_full (context + de-embedding)"},
}


def frontier(curves: pd.DataFrame, convention: str, max_loss: float, n_boot: int, seed: int, quiet: bool = False) -> dict:
    """The compute frontier of a ladder's learning curves under a convention, and its two fits: L(C) on the
    frontier rows to fit (F.frontier_fit_rows: attained, not the edge sizes, below max_loss; two sizes
    needed) and N_opt(C). Returns {"env", "keep", "fit_C", "fit_Nopt"} (fits None when not possible)."""
    n_col, c_col = CONVENTIONS[convention]["N"], CONVENTIONS[convention]["C"]
    if curves.empty:
        if not quiet:
            print(f"no frontier ({convention} counting): no runs")
        return {"env": pd.DataFrame(columns=[c_col, "L", n_col, "run", "attained"]), "keep": np.zeros(0, bool),
                "fit_C": None, "fit_Nopt": None}
    env = F.compute_frontier(curves, c_col=c_col, l_col="val_loss", n_col=n_col, run_col="run_id")
    env = env.rename(columns={"val_loss": "L"})
    keep = F.frontier_fit_rows(env, n_col=n_col, l_col="L", max_loss=max_loss)
    rows = env[keep]
    fit_C = None
    if rows[n_col].nunique() >= 2:
        fit_C = try_fit(F.fit_power_law, rows[c_col], rows["L"], groups=rows[n_col], n_boot=n_boot, seed=seed, quiet=quiet)
    elif not quiet:
        print(f"not fitted (L(C), {convention} counting): {rows[n_col].nunique()} interior size(s) below the unigram loss")
    fit_N = try_fit(F.fit_frontier_n_opt, env, c_col=c_col, n_col=n_col, l_col="L", max_loss=max_loss,
                    n_boot=n_boot, seed=seed, quiet=quiet)
    return {"env": env, "keep": keep, "fit_C": fit_C, "fit_Nopt": fit_N}


def isoflop(slices: pd.DataFrame, convention: str, n_boot: int, seed: int):
    """Chinchilla Approach 2 on IsoFLOP slices (final_losses.isoflop_slices: one row per size and budget C,
    the budget in the convention's FLOPs), N under the same convention. Returns (slices, fit or None)."""
    n_col = CONVENTIONS[convention]["N"]
    if slices.empty:
        print(f"not fitted (Approach 2, {convention} counting): no IsoFLOP slice at this profile")
        return slices, None
    d = pd.DataFrame({"N": slices[n_col].to_numpy(float), "C": slices["budget"].to_numpy(float),
                      "L": slices["final_val_loss"].to_numpy(float)})
    fit = try_fit(F.chinchilla_approach2, d, n_col="N", c_col="C", l_col="L", n_boot=n_boot, seed=seed)
    return slices, fit


def stair_centres(env: pd.DataFrame, keep, convention: str) -> pd.DataFrame:
    """One point per model size on a frontier's fitted stretch, as fit_frontier_n_opt fits it: the size (under
    the convention's N) and the mean log C of the grid points it holds; indexed by run (to pair conventions)."""
    n_col, c_col = CONVENTIONS[convention]["N"], CONVENTIONS[convention]["C"]
    rows = env[np.asarray(keep, bool)]
    if rows.empty:
        return pd.DataFrame(columns=["N", "lc"])
    return pd.DataFrame({"N": rows.groupby("run")[n_col].first(),
                         "lc": np.log(rows[c_col].astype(float)).groupby(rows["run"]).mean()})


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    xc = x - x.mean()
    sxx = float(xc @ xc)
    return float(xc @ (y - y.mean()) / sxx) if sxx > 0 else math.nan


def counting_shift(fr_kaplan: dict, fr_full: dict, n_boot: int, seed: int, level: float = 0.95) -> dict:
    """a_kaplan - a_full on the same runs: paired_shift of the two countings' frontiers."""
    return paired_shift(fr_kaplan, "kaplan", fr_full, "full", n_boot, seed, level)


def paired_shift(fr_a: dict, conv_a: str, fr_b: dict, conv_b: str, n_boot: int, seed: int, level: float = 0.95) -> dict:
    """a_a - a_b: the shift of the frontier's allocation exponent between two frontiers (two countings of the
    same runs, or two ablation steps' runs of the same sizes), on the sizes both fitted stretches hold (paired by
    the env's run: a run id, or a size key where each size is one curve), with a paired interval: both slopes
    move together when the same sizes are resampled, so their difference is far better known than two unpaired
    intervals say. Fewer than 6 shared sizes: a paired t interval on n - 2 degrees of freedom (the variance of
    the difference of the two least-squares slopes, the covariance of the paired residuals included; the fit
    layer's rule: no percentile bootstrap over so few points); else a paired percentile bootstrap over sizes.
    Returns {"value", "ci", "n_points", "span" (decades of C under conv_a), "ci_method", "why"} (NaN and why
    when fewer than 3 sizes are shared)."""
    a = stair_centres(fr_a["env"], fr_a["keep"], conv_a)
    b = stair_centres(fr_b["env"], fr_b["keep"], conv_b)
    j = a.add_suffix("_k").join(b.add_suffix("_f"), how="inner")
    n = len(j)
    out = {"value": math.nan, "ci": (math.nan, math.nan), "n_points": n, "span": None, "ci_method": None, "why": ""}
    if n < 3:
        out["why"] = f"{n} size(s) on both fitted stretches: a paired shift needs 3"
        return out
    xk, yk = j["lc_k"].to_numpy(float), np.log(j["N_k"].to_numpy(float))
    xf, yf = j["lc_f"].to_numpy(float), np.log(j["N_f"].to_numpy(float))
    d = _slope(xk, yk) - _slope(xf, yf)
    out.update(value=d, span=float((xk.max() - xk.min()) / math.log(10)))
    if n < 6:
        from scipy.stats import t as student_t

        def parts(x, y):
            xc = x - x.mean()
            w = xc / float(xc @ xc)
            e = y - y.mean() - _slope(x, y) * xc
            return w, e

        wk, ek = parts(xk, yk)
        wf, ef = parts(xf, yf)
        dof = n - 2
        var = (float(ek @ ek) * float(wk @ wk) + float(ef @ ef) * float(wf @ wf)
               - 2 * float(ek @ ef) * float(wk @ wf)) / dof
        q = float(student_t.ppf((1 + level) / 2, dof))
        se = math.sqrt(max(var, 0.0))
        out.update(ci=(d - q * se, d + q * se), ci_method=f"paired t interval ({n} sizes)")
        return out
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(max(n_boot, 0)):
        i = rng.integers(0, n, n)
        draws.append(_slope(xk[i], yk[i]) - _slope(xf[i], yf[i]))
    draws = np.array(draws, float)
    draws = draws[np.isfinite(draws)]
    if len(draws) >= 10:
        lo, hi = np.percentile(draws, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
        out.update(ci=(float(lo), float(hi)), ci_method=f"paired percentile bootstrap over {n} sizes")
    else:
        out["why"] = "no bootstrap asked for: no interval"
    return out


def interpret_counting_shift(shift: dict) -> str:
    """What the paired shift a_kaplan - a_full says, true in every branch: not measured, no interval, resolved
    (interval excludes 0, either sign) or not resolved."""
    d, (lo, hi), n = shift["value"], shift["ci"], shift["n_points"]
    if not np.isfinite(d):
        return f"The counting shift of a is not measured here: {shift['why']}."
    head = (f"On the same {n} sizes, Kaplan's counting (non-embedding N, C = 6ND) gives a frontier exponent a "
            f"{abs(d):.2f} {'larger' if d > 0 else 'smaller'} than the full count (all parameters, C_full)")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return head + " (no interval), so whether counting moves a is not resolved."
    head += f": a_kaplan - a_full = {d:.2f} [95% CI {lo:.2f}, {hi:.2f}] ({shift['ci_method']})"
    if lo <= 0 <= hi:
        return head + ", which includes 0: the counting shift is not resolved."
    return head + ", which excludes 0: the counting alone moves a, resolved by the paired interval."


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


def interpret_chinchilla(a_kaplan: F.FitResult | None, a2: F.FitResult | None, a3: F.FitResult | None,
                         a3_check: F.FitResult | None = None) -> str:
    """The methods' allocation exponents side by side, true in every branch; Approach 3's numbers come with
    approach3_reliable's verdict on them (``a3_check``: its bootstrap check fit, when a3 has no interval)."""
    parts = []
    if a_kaplan is not None:
        parts.append(f"The Kaplan-style frontier (lower envelope of learning curves, each curve read at "
                     f"intermediate steps of a schedule set for its own full budget) gives N_opt ∝ C^{pm(a_kaplan, 'a', 2)}.")
    if a2 is not None:
        parts.append(f"IsoFLOP profiles with schedules matched to each budget (Chinchilla Approach 2) give "
                     f"N_opt ∝ C^{pm(a2, 'a', 2)}.")
    agree = methods_agree(a_kaplan, a2)
    if agree:
        parts.append("The two intervals overlap: at this scale the two methods are not told apart, so the contrast "
                     "found at scale (Kaplan 0.73 against Chinchilla's ~0.5) is not resolved here.")
    elif agree is False:
        larger = a_kaplan.params["a"] > a2.params["a"]
        parts.append(f"The two intervals do not overlap: the frontier's exponent is {'larger' if larger else 'smaller'} "
                     f"than the IsoFLOP one, {'the' if larger else 'the opposite of the'} ordering found at scale "
                     "(Kaplan 0.73 against Chinchilla ~0.5).")
    if a3 is not None:
        parts.append(f"The parametric fit (Approach 3) gives α = {pm(a3, 'alpha', 2)}, β = {pm(a3, 'beta', 2)}, "
                     f"E = {pm(a3, 'E', 3)} nats, so a = β/(α+β) = {pm(a3, 'a', 2)}.")
        ok, why = approach3_reliable(a3, a3_check)
        if not ok:
            parts.append(f"Its {why}, so α, β, a and the tokens per parameter from Approach 3 are not reliable "
                         "here: it is not used to allocate compute, and no tokens-per-parameter conclusion is drawn.")
    return " ".join(parts)


# Bootstrap refits of Approach 3 made only to check E when the notebook runs without intervals (n_boot = -1):
# so that the fit's reliability, and so the status of its records, does not depend on whether intervals were asked.
A3_CHECK_BOOT = 200


def approach3_reliable(a3: F.FitResult | None, check: F.FitResult | None = None) -> tuple[bool, str]:
    """Whether an Approach 3 fit can be used for claims (allocation, tokens per parameter), and why not.

    Not when it failed; nor when a term vanished (fit.vanished_terms: below 1e-6 of every loss); nor when its
    irreducible loss E is under 5% of the smallest loss it fits; nor when E's 95% interval (from ``check``, a
    bootstrap fit of the same data, default ``a3`` itself) reaches within F.E_NEAR_ZERO of zero
    (F.e_unidentified), or there is no interval to show that E is identified. In each case the data cannot separate E from the power-law terms
    over this range of N and D, and the exponents move with wherever E ends."""
    if a3 is None or not a3.converged:
        return False, "fit did not converge"
    vanished = sorted({why for why in (getattr(a3, "no_interval", {}) or {}).values() if "(it vanished)" in why})
    if vanished:
        return False, "; ".join(vanished)
    E = a3.params["E"]
    if E < 0.05 * float(np.min(a3.points["L"])):
        return False, ("irreducible loss E went to (near) zero: over this small range of N and D the data cannot "
                       "separate E from the power-law terms")
    check = a3 if check is None else check
    lo, hi = (check.ci or {}).get("E", (math.nan, math.nan))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return False, "irreducible loss E has no interval to show that the data identify it"
    if F.e_unidentified(E, lo):
        return False, (f"irreducible loss E = {E:.3g} has a 95% interval [{lo:.2g}, {hi:.3g}] that reaches within "
                       f"{100 * F.E_NEAR_ZERO:.0f}% of zero: over this range of N and D the data cannot separate E from "
                       "the power-law terms (E unidentified)")
    return True, ""


def needs_check_fit(a3: F.FitResult | None) -> bool:
    """Whether approach3_reliable needs a separate bootstrap fit (A3_CHECK_BOOT refits) to judge E: a converged
    fit without a finite interval for E and without a vanished term (which settles it already)."""
    if a3 is None or not a3.converged:
        return False
    if any("(it vanished)" in why for why in (getattr(a3, "no_interval", {}) or {}).values()):
        return False
    return not np.all(np.isfinite(a3.ci.get("E", (math.nan, math.nan))))


def methods_agree(a_kaplan: F.FitResult | None, a2: F.FitResult | None) -> bool | None:
    """Whether the two N_opt exponents' intervals overlap; None when either is missing or has no interval."""
    if a_kaplan is None or a2 is None:
        return None
    (lo1, hi1), (lo2, hi2) = a_kaplan.ci["a"], a2.ci["a"]
    if not all(np.isfinite([lo1, hi1, lo2, hi2])):
        return None
    return bool(max(lo1, lo2) <= min(hi1, hi2))


# ------------------------------------------------------------------------------ Kaplan's internal consistency

def _claim(key: str) -> Claim:
    return next(c for f in FINDINGS if f.nb in ("06", "06b") for c in f.claims if c.keys[0] == key)


# Eq. 1.8's prediction against the measured frontier exponent: a difference within this margin counts as the
# relation holding; the claim's margin (findings.py says why 0.01), so the sentence and the verdict agree.
EQ18_DELTA = _claim("consistency.alpha_C_min.difference").delta


def conclude_claims(records, nb: str = "06") -> str:
    """The notebook's conclusion, one line per claim of the paper it tests: the verdict word and its reason from
    findings.verdict on these records, the rule and the records the README's claims table is generated from, so
    the two say the same thing."""
    lines = []
    for f in FINDINGS:
        if f.nb != nb:
            continue
        for c in f.claims:
            v = verdict(c, records)
            lines.append(f"- {c.text}: {v.word} ({v.reason}).")
    return "\n".join(lines)


def kaplan_or_chinchilla(rec, kaplan: float = 0.73, chinchilla: float = 0.49) -> str:
    """Which of the two allocation exponents an a record's interval admits, true in every branch: no usable
    value (status), no interval, both inside ("consistent with both, inconclusive"), one, or neither. ``rec``: a
    results record (dict or records.Record)."""
    r = read_record(rec)
    if r.value is None or r.status in ("failed", "not_converged", "untestable"):
        return f"{r.label}: no measurement ({r.status})."
    if r.status == "unreliable":
        return f"{r.label}: {r.value:.2f} is not reliable here, so it decides nothing between {kaplan} and {chinchilla}."
    if r.interval is None:
        return f"{r.label}: {r.value:.2f} without an interval, so it decides nothing between {kaplan} and {chinchilla}."
    lo, hi = r.interval
    k_in, c_in = lo <= kaplan <= hi, lo <= chinchilla <= hi
    head = f"{r.label}: {r.value:.2f} [95% CI {lo:.2f}, {hi:.2f}]"
    if k_in and c_in:
        return head + f" holds both Kaplan's {kaplan} and Chinchilla's {chinchilla}: consistent with both, inconclusive."
    if k_in or c_in:
        yes, no = (f"Kaplan's {kaplan}", f"Chinchilla's {chinchilla}") if k_in else (f"Chinchilla's {chinchilla}", f"Kaplan's {kaplan}")
        return head + f" holds {yes} and excludes {no}" + (" (few points: not decisive)." if r.status == "few_points" else ".")
    return head + f" excludes both Kaplan's {kaplan} and Chinchilla's {chinchilla}."


def eq18_alpha_c_min(alpha_N, alpha_S, alpha_B):
    """Kaplan Eq. 1.8 (with B_crit ∝ L^-1/alpha_B, Eq. 1.6 on S_min): alpha_C^min = 1/(1/alpha_S + 1/alpha_B +
    1/alpha_N). NaN where an exponent is not positive (the derivation assumes all three laws fall)."""
    a = [np.asarray(x, float) for x in (alpha_N, alpha_S, alpha_B)]
    with np.errstate(all="ignore"):
        ok = (a[0] > 0) & (a[1] > 0) & (a[2] > 0)
        return np.where(ok, 1.0 / (1.0 / a[0] + 1.0 / a[1] + 1.0 / a[2]), np.nan)


def _draws(fit, names: tuple, rng: np.random.Generator) -> np.ndarray:
    """The fit's draws of ``names`` (bootstrap refits, or the t-distribution draws of a t interval), rows with
    every name finite, shuffled (so that pairing draws of independent fits by index pairs them at random)."""
    boot = np.asarray(getattr(fit, "boot", np.empty((0, 0))), float)
    if boot.ndim != 2 or len(boot) == 0:
        return np.empty((0, len(names)))
    cols = [list(fit.param_names).index(n) for n in names]
    d = boot[:, cols]
    d = d[np.all(np.isfinite(d), axis=1)]
    return d[rng.permutation(len(d))]


def eq18_consistency(ns_fit, b_fit, c_fit, seed: int, level: float = 0.95) -> dict:
    """Kaplan's internal consistency: alpha_C^min predicted by Eq. 1.8 from alpha_N and alpha_S (one Eq. 1.6 fit
    on S_min, ``ns_fit``) and alpha_B (the B_crit(L) fit, ``b_fit``), beside the measured frontier exponent
    (``c_fit``, L ∝ C_min^-alpha), and their difference predicted - measured.

    Intervals propagate the fits' own draws: the joint (alpha_N, alpha_S) bootstrap refits of the Eq. 1.6 fit,
    the draws of alpha_B and of the measured alpha from their t intervals (the fit layer draws those from the
    line's t distribution); draws of the three fits are paired at random (treated as independent, though
    alpha_S and alpha_C^min share the ladder runs), percentiles of the predicted value and of the difference.
    Returns {"predicted", "predicted_ci", "measured", "measured_ci", "difference", "difference_ci", "draws"}
    (NaN where a fit is missing; NaN intervals with fewer than 10 usable draws, e.g. without a bootstrap)."""
    nan2 = (math.nan, math.nan)
    out = {"predicted": math.nan, "predicted_ci": nan2, "measured": math.nan, "measured_ci": nan2,
           "difference": math.nan, "difference_ci": nan2, "draws": 0}
    if not (usable(ns_fit) and usable(b_fit) and usable(c_fit)):
        return out
    out["predicted"] = float(eq18_alpha_c_min(ns_fit.params["alpha_N"], ns_fit.params["alpha_S"], b_fit.params["alpha_B"]))
    out["measured"] = float(c_fit.params["alpha"])
    out["measured_ci"] = tuple(float(x) for x in c_fit.ci.get("alpha", nan2))
    out["difference"] = out["predicted"] - out["measured"]
    rng = np.random.default_rng(seed)
    ns, b, c = _draws(ns_fit, ("alpha_N", "alpha_S"), rng), _draws(b_fit, ("alpha_B",), rng), _draws(c_fit, ("alpha",), rng)
    n = min(len(ns), len(b), len(c))
    if n < 10:
        return out
    p = eq18_alpha_c_min(ns[:n, 0], ns[:n, 1], b[:n, 0])
    diff = p - c[:n, 0]
    keep = np.isfinite(p)
    out["draws"] = int(keep.sum())
    if out["draws"] < 10:
        return out
    q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    out["predicted_ci"] = tuple(float(x) for x in np.percentile(p[keep], q))
    out["difference_ci"] = tuple(float(x) for x in np.percentile(diff[keep], q))
    return out


def interpret_eq18(c: dict, delta: float = EQ18_DELTA, unreliable: str = "") -> str:
    """Eq. 1.8's prediction against the measured alpha_C^min, true in every branch: not computed, no interval,
    the difference's interval inside ±delta, wholly outside it, or neither; ``unreliable``: why an input is."""
    if not np.isfinite(c["predicted"]):
        return "Eq. 1.8's alpha_C^min is not computed here: one of alpha_N, alpha_S, alpha_B or the frontier fit is missing."
    pl, ph = c["predicted_ci"]
    dl, dh = c["difference_ci"]
    head = (f"Eq. 1.8 predicts alpha_C^min = 1/(1/alpha_S + 1/alpha_B + 1/alpha_N) = {c['predicted']:.3f}"
            + (f" [95% CI {pl:.3f}, {ph:.3f}]" if np.isfinite(pl) else "")
            + f" from this study's exponents, against {c['measured']:.3f} measured on the frontier (Kaplan's own: "
            "0.052 predicted against 0.050 measured)")
    tail = f" Its inputs are not reliable here: {unreliable}." if unreliable else ""
    if not (np.isfinite(dl) and np.isfinite(dh)):
        return head + f"; the difference {c['difference']:+.3f} has no interval to judge it by." + tail
    d = f"; predicted - measured = {c['difference']:+.3f} [95% CI {dl:+.3f}, {dh:+.3f}]"
    if -delta <= dl and dh <= delta:
        return head + d + f", within ±{delta:g}: the relation holds here." + tail
    if dh < -delta or dl > delta:
        return head + d + f", wholly beyond ±{delta:g}: the exponents measured here do not satisfy Eq. 1.8." + tail
    return head + d + f", reaching beyond ±{delta:g}: whether Eq. 1.8 holds here is not resolved." + tail
