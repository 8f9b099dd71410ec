"""Generalisation to other text (Kaplan et al. 2020, Sec. 3.2.2, Fig. 8), measured on this study's runs.

Kaplan: the loss on other distributions is the training-distribution loss plus a roughly constant offset;
it improves smoothly with model size, and it depends on the in-distribution loss only, not on how far into
training a model is. Here each run evaluates extra text sets (the books' validation split is "in
distribution"; ../shared/ood holds dictionary definitions, quotations, technical documentation and
Python source) at every eval point, and this module turns those curves into numbers:

- ``offset_line``: L_other = a + b·L_books over the final points of the runs (across sizes: one trunk end
  per size, never its branches), a Huber line fitted with SciPy, intervals by resampling runs. A constant
  offset is b = 1.
- ``anneal_shift``: the training-phase claim without the confound of annealing. Every size is a
  constant-LR (WSD) trunk with cooldown branches; at matched training tokens a branch end differs from the
  trunk's stable-phase checkpoint only by its cooldown. The shift (nats) is how far the cooldown moves the
  loss on other text off the trunk's own relation L_other(L_books): zero means trunk points and branch ends
  lie on one line (the relation depends on the loss alone), nonzero that annealing changes it.
  ``anneal_testable`` says whether the cooldowns moved the losses far enough for the margin to tell.
- ``ratio_slope``: the rival of a constant offset. A constant ratio L_other = r·L_books has slope
  r = L_other/L_books; read at the line's reference loss it is (offset + ref)/ref, about 1.2 for a text
  0.9 nats above books at 4.4 nats. A slope interval holding both 1 and r cannot tell the two apart.
- ``vocab_check``: a text whose loss exceeds ln(vocab), a uniform guess over the tokenizer's vocabulary, at
  most sizes lies outside what this tokenizer and these models cover: its numbers test nothing about
  generalisation, so its records are marked untestable and it leaves the all-sets claims.

Losses are in nats per token of the study's tokenizer; the offset depends on that tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.stats import t as student_t

from scalinglaws import ScalingLawsError
from scalinglaws.fit.intervals import MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP
from scalinglaws.records import MIN_POINTS

# Huber transition for loss-vs-loss lines, in nats: about the seed-to-seed scatter of a final loss here.
HUBER_NATS = 0.02


@dataclass
class Line:
    """L_other = offset_at_ref + slope·(L_books − ref): the offset is read at `ref` (inside the data)."""

    set: str
    slope: float
    slope_ci: tuple[float, float]
    offset_at_ref: float
    offset_ci: tuple[float, float]
    ref: float  # in-distribution loss at which the offset is read (nats)
    n_runs: int
    n_boot: int
    x_range: tuple[float, float] = (float("nan"), float("nan"))  # in-distribution losses the line was fitted on

    def predict(self, l_books) -> np.ndarray:
        return self.offset_at_ref + self.ref + self.slope * (np.asarray(l_books, dtype=float) - self.ref)


def _huber_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(intercept at x = 0 of the centred data, slope) of a Huber line y ≈ c + b·x."""
    b0, c0 = np.polyfit(x, y, 1) if len(np.unique(x)) > 1 else (0.0, float(np.mean(y)))
    r = least_squares(lambda t: t[0] + t[1] * x - y, [c0, b0], loss="huber", f_scale=HUBER_NATS)
    return float(r.x[0]), float(r.x[1])


def offset_line(final: pd.DataFrame, set_name: str, *, n_boot: int = 200, seed: int = 0,
                level: float = 0.95) -> Line | None:
    """Fit the across-size line for one set from `final` (one row per run: run_id, val_loss, `set`, loss).
    None when fewer than 3 runs have the set. Intervals: percentiles over refits on runs resampled with
    replacement (n_boot ≤ 0: no interval)."""
    f = final[final["set"] == set_name].dropna(subset=["val_loss", "loss"])
    if f["run_id"].nunique() < 3:
        return None
    x, y = f["val_loss"].to_numpy(float), f["loss"].to_numpy(float)
    ref = float(np.mean(x))
    c, b = _huber_line(x - ref, y)
    boots = []
    rng = np.random.default_rng(seed)
    for _ in range(max(n_boot, 0)):
        i = rng.integers(0, len(x), len(x))
        if len(np.unique(x[i])) < 2:
            continue
        boots.append(_huber_line(x[i] - ref, y[i]))
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    if boots:
        cb = np.array(boots)
        oc = tuple(np.percentile(cb[:, 0] - ref, q))  # offset = L_other − L_books at ref
        sc = tuple(np.percentile(cb[:, 1], q))
    else:
        oc = sc = (float("nan"), float("nan"))
    return Line(set_name, b, (float(sc[0]), float(sc[1])), c - ref, (float(oc[0]), float(oc[1])), ref,
                int(f["run_id"].nunique()), len(boots), (float(x.min()), float(x.max())))


# ------------------------------------------------------------------------------------------------ training phase
# Kaplan's phase claim, tested without the confound of annealing: a cosine run's mid-training points have a
# higher LR than its final point, so "mid-training against final" mixes the phase of training with the LR's
# decay. Here every size is a constant-LR trunk with cooldown branches (training.branches): before its branch
# point a branch IS its trunk, so at matched training tokens a branch end differs from the trunk's checkpoint
# only by the cooldown. The question becomes: does the cooldown move the two losses along the trunk's own
# relation L_other(L_books) (the relation depends on the loss alone), or off it (annealing changes it)?

STABLE, END = "trunk stable", "branch end"


def run_roles(specs) -> pd.DataFrame:
    """One row per run of a trunk-and-branches grid: run_id, family (its trunk's run id), role ("trunk": a WSD
    run, which has a constant-LR phase; "branch": a cooldown branch; "other": e.g. a cosine run, no constant-LR
    phase), warmup and decay_start (steps) and budget (tokens)."""
    cols = ["run_id", "family", "role", "warmup", "decay_start", "budget"]
    rows = []
    for s in specs:
        role = "branch" if s.branch_from else ("trunk" if s.schedule == "wsd" else "other")
        rows.append({"run_id": s.run_id, "family": s.branch_from or s.run_id, "role": role, "warmup": int(s.warmup),
                     "decay_start": int(s.decay_start), "budget": int(s.tokens)})
    return pd.DataFrame(rows, columns=cols).drop_duplicates("run_id").reset_index(drop=True)


def phase_points(ev: pd.DataFrame, roles: pd.DataFrame) -> pd.DataFrame:
    """The eval points the phase comparison reads, from tables.load_evals rows (run_id, step, tokens, set, loss,
    N, val_loss, is_final): each trunk's points inside its stable phase (after warmup, at most decay_start steps
    taken, so every step so far at the peak LR) as "trunk stable", and each branch's final point (its cooldown
    done) as "branch end". Columns family, run_id, N, point, step, tokens, set, val_loss, loss."""
    cols = ["family", "run_id", "N", "point", "step", "tokens", "set", "val_loss", "loss"]
    e = ev.merge(roles, on="run_id", how="inner")
    stable = e[(e["role"] == "trunk") & (e["step"] > e["warmup"]) & (e["step"] <= e["decay_start"])]
    ends = e[(e["role"] == "branch") & e["is_final"].astype(bool)]
    out = pd.concat([stable.assign(point=STABLE), ends.assign(point=END)], ignore_index=True)
    if out.empty:
        return pd.DataFrame(columns=cols)
    return out.dropna(subset=["val_loss", "loss"])[cols].reset_index(drop=True)


def _at_tokens(t: pd.DataFrame, tokens: float) -> tuple[float, float, bool]:
    """(books loss, other loss) of a trunk's stable-phase points `t` (sorted by tokens, >= 2 of them) at
    `tokens`: linear in log tokens between the two points around it, or through the two nearest when it lies
    outside them (then the flag is True: matched by extrapolation)."""
    lt = np.log(t["tokens"].to_numpy(float))
    x, y = t["val_loss"].to_numpy(float), t["loss"].to_numpy(float)
    z = float(np.log(tokens))
    i = int(np.clip(np.searchsorted(lt, z), 1, len(lt) - 1))
    w = (z - lt[i - 1]) / (lt[i] - lt[i - 1])
    return x[i - 1] + w * (x[i] - x[i - 1]), y[i - 1] + w * (y[i] - y[i - 1]), not (lt[0] <= z <= lt[-1])


def _family_ends(g: pd.DataFrame) -> pd.DataFrame | None:
    """One size, one text: each branch end against its trunk at the same tokens. The trunk's relation is a
    Huber line through its stable-phase points from half the smallest branch's budget on (the part of the
    curve the comparison moves along; the early, high-loss points would bend it). None without a branch end
    or with fewer than 2 such trunk points."""
    ends = g[g["point"] == END]
    if ends.empty:
        return None
    t = g[g["point"] == STABLE].sort_values("tokens").drop_duplicates("tokens")
    t = t[t["tokens"] >= ends["tokens"].min() / 2]
    if len(t) < 2 or t["val_loss"].nunique() < 2:
        return None
    x0 = float(t["val_loss"].mean())
    _, slope = _huber_line(t["val_loss"].to_numpy(float) - x0, t["loss"].to_numpy(float))
    rows = []
    for b in ends.itertuples(index=False):
        x_t, y_t, extrapolated = _at_tokens(t, b.tokens)
        drop, gain = b.val_loss - x_t, b.loss - y_t  # what the cooldown did to each loss at these tokens
        rows.append({"family": b.family, "N": b.N, "tokens": b.tokens, "x_trunk": x_t, "y_trunk": y_t,
                     "x_end": b.val_loss, "y_end": b.loss, "slope": slope, "drop": drop, "gain": gain,
                     "move": slope * drop, "shift": gain - slope * drop, "matched_by_extrapolation": extrapolated,
                     # how far below the trunk's stable-phase losses the end lies (0: inside them)
                     "beyond": max(0.0, float(t["val_loss"].min()) - b.val_loss)})
    return pd.DataFrame(rows)


def mean_interval(values, *, n_boot: int, seed: int = 0, level: float = 0.95) -> tuple[tuple, str | None]:
    """((low, high), method) for the mean of independent values (one per size), by the fit layer's rule for few
    points: a percentile bootstrap over them from MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP values on, else a
    Student-t interval (k − 1 degrees of freedom); ((None, None), None) with fewer than 2 values or n_boot <= 0
    (no intervals asked for)."""
    v = np.asarray(values, dtype=float)
    k = len(v)
    if n_boot <= 0 or k < 2:
        return (None, None), None
    if k >= MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP:
        rng = np.random.default_rng(seed)
        boots = v[rng.integers(0, k, (n_boot, k))].mean(axis=1)
        q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
        lo, hi = np.percentile(boots, q)
        return (float(lo), float(hi)), f"percentile bootstrap over {k} sizes"
    half = float(student_t.ppf((1 + level) / 2, k - 1) * v.std(ddof=1) / np.sqrt(k))
    m = float(v.mean())
    return (m - half, m + half), f"Student-t over {k} sizes ({k - 1} degrees of freedom)"


def anneal_shift(points: pd.DataFrame, set_name: str, *, n_boot: int = 200, seed: int = 0,
                 level: float = 0.95) -> dict:
    """How far the cooldown moves a model off its trunk's relation L_other(L_books), in nats (phase_points rows).

    Per branch end, against its trunk at the same tokens: the cooldown changes the books loss by `drop` and the
    other text's by `gain`; along the trunk's relation (slope s of its stable-phase points) the books' change
    alone would change the other text's by `move` = s·drop, so `shift` = gain − move. Zero: trunk points and
    branch ends lie on one line, the relation depends on the loss alone; above zero: after a cooldown the other
    text is worse than the relation gives at that in-distribution loss. Each size's ends are averaged (they share
    one trunk), and the mean over sizes gets `mean_interval`'s interval. Returns mean, ci, ci_method, n_sizes,
    n_ends, drop, gain, move, slope (means over sizes), drop_ci, extrapolated (ends matched by extrapolation),
    beyond (the largest distance, nats, of an end below its trunk's stable-phase losses), ends (per-end rows)."""
    parts = [f for _, g in points[points["set"] == set_name].groupby("family") if (f := _family_ends(g)) is not None]
    ends = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    out = {"set": set_name, "n_sizes": len(parts), "n_ends": len(ends), "ends": ends, "mean": None, "ci": (None, None),
           "ci_method": None, "drop": None, "gain": None, "move": None, "slope": None, "drop_ci": (None, None),
           "extrapolated": 0, "beyond": 0.0}
    if not parts:
        return out
    per = ends.groupby("family")[["shift", "drop", "gain", "move", "slope"]].mean()
    out.update({k: float(per[k].mean()) for k in ("drop", "gain", "move", "slope")})
    out["mean"] = float(per["shift"].mean())
    out["ci"], out["ci_method"] = mean_interval(per["shift"], n_boot=n_boot, seed=seed, level=level)
    out["drop_ci"], _ = mean_interval(per["drop"], n_boot=n_boot, seed=seed, level=level)
    out["extrapolated"] = int(ends["matched_by_extrapolation"].sum())
    out["beyond"] = float(ends["beyond"].max())
    return out


def anneal_testable(ash: dict, delta: float) -> dict:
    """Whether the cooldowns moved the books loss far enough to test the claim within ±delta. The rival of "one
    line" is an other-text loss the cooldown leaves unchanged (gain 0), which lies −move from the relation: unless
    |move| > delta that rival is inside the margin too, and equivalence cannot tell the two apart."""
    if ash["move"] is None:
        return {"testable": False, "reason": "no branch end could be compared with its trunk at matched tokens"}
    ok = abs(ash["move"]) > delta
    reason = (f"the cooldowns changed the books loss by {ash['drop']:+.3f} nats at matched tokens, which along the "
              f"trunks' relation (slope {ash['slope']:.2f}) moves the loss on this text by {ash['move']:+.3f} nats")
    if not ok:
        reason += (f", within the ±{delta:g} margin: a loss on this text the cooldown left unchanged would lie inside "
                   "the margin too, so this design cannot tell one line from a cooldown that helps the books alone")
    return {"testable": ok, "reason": reason}


def ratio_slope(line: Line) -> tuple[float, tuple[float, float]]:
    """The slope a constant ratio L_other = r·L_books would give, r = L_other/L_books at the line's reference
    loss, with its interval from the offset's (nats; ref > 0)."""
    lo, hi = line.offset_ci
    return (line.offset_at_ref + line.ref) / line.ref, ((lo + line.ref) / line.ref, (hi + line.ref) / line.ref)


def vocab_check(final_losses, vocab_size: int) -> dict:
    """Whether a text is out of reach of the tokenizer: k of n final losses (one per size, nats/token) above
    ln(vocab_size), the loss of a uniform guess over the vocabulary. Out of vocabulary when most sizes are
    (k > n/2): a model that cannot beat a uniform guess there has learnt nothing about that text."""
    x = np.asarray(final_losses, dtype=float)
    x = x[np.isfinite(x)]
    ln_v = float(np.log(vocab_size))
    k, n = int(np.sum(x > ln_v)), int(len(x))
    oov = n > 0 and k > n / 2
    reason = (f"{k} of {n} sizes score above ln({vocab_size}) = {ln_v:.2f} nats/token, the loss of a uniform guess "
              f"over the vocabulary" + (": the text is out of this tokenizer's reach, so it tests nothing about "
                                        "generalisation" if oov else ""))
    return {"k": k, "n": n, "ln_vocab": ln_v, "oov": oov, "reason": reason}


def claim_delta(key: str) -> float:
    """The equivalence margin of the registry's null claim decided by `key` (findings.FINDINGS), so the
    notebook's sentence and the verdict use one margin."""
    from scalinglaws.findings import FINDINGS  # the registry imports analysis-free modules only; read it late

    for f in FINDINGS:
        for c in f.claims:
            if key in c.keys and c.delta is not None:
                return float(c.delta)
    raise ScalingLawsError(f"no null claim with key {key!r} in scalinglaws.findings: name one of its claims' keys")


def describe_offset(line: Line) -> str:
    """One sentence, true in every branch, on a constant offset (slope 1) against its rival, a constant ratio
    (slope r = L_other/L_books): which of the two the slope interval holds."""
    lo, hi = line.slope_ci
    r, _ = ratio_slope(line)
    s = (f"{line.set}: slope {line.slope:.2f} [{lo:.2f}, {hi:.2f}], offset {line.offset_at_ref:+.3f} nats at "
         f"L_books = {line.ref:.2f}; a constant ratio would give slope {r:.2f}")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return s + " (no interval: too few runs to resample)."
    one, ratio = lo <= 1 <= hi, lo <= r <= hi
    if one and ratio:
        return s + ": the interval holds both 1 and the ratio's slope, so it cannot tell a constant offset from a constant ratio."
    if one:
        return s + ": a slope of 1 (a constant offset) is inside the interval and the ratio's slope is outside."
    if ratio:
        return s + ": the ratio's slope is inside the interval and 1 is outside, so the gap scales with the loss (not a constant offset)."
    if hi < 1:
        return s + ": the slope is below 1, so the gap narrows as the in-distribution loss falls (neither a constant offset nor a constant ratio)."
    return s + ": the slope is above 1, so the gap widens as the in-distribution loss falls (neither a constant offset nor a constant ratio)."


def describe_anneal(set_name: str, ash: dict, delta: float, reach: dict, min_points: int = MIN_POINTS) -> str:
    """One sentence, true in every branch, on whether annealing changes the relation of the loss on other text to
    the in-distribution loss (anneal_shift, judged as equivalence within ±delta nats, the claim's margin; reach:
    anneal_testable). An interval over fewer than min_points sizes is said to be few points."""
    if ash["mean"] is None:
        return f"{set_name}: no branch end could be compared with its trunk in its stable phase."
    s = (f"{set_name}: the cooldown moves the loss on this text {ash['mean']:+.3f} nats off the trunks' relation "
         f"(branch ends against their trunks at the same tokens)")
    if not reach["testable"]:
        return s + f"; {reach['reason']}."
    lo, hi = ash["ci"]
    if lo is None:
        return s + " (no interval), which cannot settle whether annealing changes the relation."
    s += f" [{lo:+.3f}, {hi:+.3f}] ({ash['ci_method']}), margin ±{delta:g}"
    few = (f"; few points: {ash['n_sizes']} sizes, fewer than {min_points}, so not a firm finding"
           if ash["n_sizes"] < min_points else "")
    if -delta <= lo and hi <= delta:
        return s + (": the whole interval is inside the margin, so trunk points and branch ends lie on one line: the "
                    "loss on this text follows the in-distribution loss, annealed or not" + few + ".")
    if lo > delta or hi < -delta:
        side, how = ("above", "worse") if lo > delta else ("below", "better")
        return s + (f": the whole interval lies {side} the margin, so annealing changes the relation: after a "
                    f"cooldown a model does {how} on this text than the constant-LR trunk at the same "
                    f"in-distribution loss" + few + ".")
    if lo <= 0 <= hi:
        return s + ": zero is inside but the interval reaches beyond the margin, so this is inconclusive" + few + "."
    side = "above" if lo > 0 else "below"
    return s + (f": the branch ends lie {side} the relation, by an amount the interval cannot settle against the "
                f"margin (inconclusive)" + few + ".")


def describe_cooldown(ash: dict) -> str:
    """One sentence on what the cooldowns did to the books loss at matched tokens (anneal_shift's drop)."""
    if ash["drop"] is None:
        return "No branch end could be compared with its trunk at matched tokens."
    lo, hi = ash["drop_ci"]
    iv = "" if lo is None else f" [{lo:+.3f}, {hi:+.3f}]"
    s = (f"At matched tokens the cooldowns changed the books loss by {ash['drop']:+.3f}{iv} nats ({ash['n_ends']} "
         f"branch ends of {ash['n_sizes']} sizes" + ("; few points" if ash["n_sizes"] < MIN_POINTS else "") + ")")
    if ash["extrapolated"]:
        s += f"; {ash['extrapolated']} end(s) matched to the trunk by extrapolating between its eval points"
    if ash["beyond"] > 0:
        s += (f"; the furthest end lies {ash['beyond']:.3f} nats below the trunk's stable-phase losses, where the "
              "trunk's relation is extrapolated")
    return s + "."


def describe_sets(judged: list, excluded: dict) -> str:
    """Which text sets the all-sets claims are judged over, and why any are left out (excluded: set -> reason)."""
    s = f"The all-sets claims are judged over {len(judged)} text set(s): {', '.join(judged) or 'none'}"
    if not excluded:
        return s + "; no set was left out."
    return s + "; left out as untestable: " + "; ".join(f"{k} ({v})" for k, v in excluded.items()) + "."
