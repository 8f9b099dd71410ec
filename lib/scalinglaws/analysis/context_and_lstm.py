"""Loss by position in the context (Kaplan et al. 2020, App. D.5, Fig. 20) and LSTMs against
transformers (Sec. 3.2.1, Fig. 7), measured on this study's runs.

A run records, at its final evaluation, the mean validation loss of the token at each position
t = 1..n_ctx (t = 1 predicts the second token of a window from the first alone). Kaplan: the per-token
loss falls as a power law in t towards a floor, larger models gain more at later positions, and LSTMs
match transformers on early tokens but plateau after ~100 tokens of context.

Laws (fitted with scalinglaws.fit, Huber in log space, intervals by bootstrap over positions):
    L(t) = L_inf + (t_c / t)^alpha_t        per model, positions t >= T_MIN

App. D.5's claim is that alpha_t grows with N: ``alpha_t_trend`` is the slope of alpha_t against log10 N
across sizes. The per-position losses of all sizes are means over the SAME evaluation windows, so their
position-to-position scatter is shared (it is the windows' content, correlated ~0.9 across sizes); an
interval that resamples each size on its own treats that shared scatter as independent and is wrong. A run
stores only the mean loss per position (positions.json: no per-window losses), so windows cannot be
resampled: the interval resamples positions within doubling bins, the SAME positions for every size
(paired), and refits every size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scipy.optimize import least_squares

from scalinglaws import ScalingLawsError
from scalinglaws import fit as F
from scalinglaws.fit.result import HUBER_SCALE_LOSS

# The first positions carry almost no context and sit near the unigram loss; Kaplan's power law
# describes the rest. Fits start here.
T_MIN = 2


def position_table(rows: list[dict]) -> pd.DataFrame:
    """Long table (run_id, N, arch, n_ctx, t, loss) from one dict per run with keys run_id, N, arch,
    and `losses` (mean loss at positions 1..n_ctx)."""
    out = []
    for r in rows:
        losses = np.asarray(r["losses"], dtype=float)
        out.append(pd.DataFrame({"run_id": r["run_id"], "N": r["N"], "arch": r.get("arch", "gpt2"),
                                 "n_ctx": len(losses), "t": np.arange(1, len(losses) + 1), "loss": losses}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["run_id", "N", "arch", "n_ctx", "t", "loss"])


def fit_position_law(one_run: pd.DataFrame, *, n_boot: int = 200, seed: int = 0):
    """L(t) = L_inf + (t_c/t)^alpha_t on one run's positions t >= T_MIN (FitResult: X_c = t_c, alpha, E)."""
    g = one_run[one_run["t"] >= T_MIN]
    return F.fit_power_law(g["t"], g["loss"], irreducible=True, n_boot=n_boot, seed=seed)


# Kaplan Fig. 7 (right): LSTMs match transformers on early tokens; the LSTM's curve flattens and the gap
# opens beyond about this many tokens of context.
LSTM_GAP_ONSET = 100


def doubling_bins(t_min: int, n_ctx: int) -> list[np.ndarray]:
    """Positions t_min..n_ctx in doubling bins [t_min, 2 t_min), [2 t_min, 4 t_min), ...; the last bin runs to
    n_ctx (so each bin holds a share of the positions that grows with t, like the log-spaced design)."""
    bins, s = [], t_min
    while s <= n_ctx:
        e = n_ctx + 1 if 4 * s > n_ctx + 1 else 2 * s
        bins.append(np.arange(s, e))
        s = e
    return bins


def _alpha_refit(t: np.ndarray, L: np.ndarray, fit, m: float) -> float | None:
    """alpha_t of L = E + (t_c/t)^alpha refitted on (t, L), warm-started from the full fit `fit`, with the
    objective of scalinglaws.fit.fit_power_law(irreducible=True): Huber on log L, z = log t − m, the same
    bounds (alpha in [1e-4, 10]). None when the solver fails."""
    z, y = np.log(t) - m, np.log(L)
    a = fit.params["alpha"]
    start = np.array([a * (np.log(fit.params["X_c"]) - m), a, np.log(fit.params["E"])])
    e_hi = float(y.max())
    lo, hi = np.array([-np.inf, 1e-4, e_hi - 30.0]), np.array([np.inf, 10.0, e_hi])
    start = np.clip(start, lo + 1e-9, hi - 1e-9)
    if not (np.all(np.isfinite(start)) and np.all(np.isfinite(y))):
        return None  # no finite start (a fit with E or t_c at 0 or infinity): this refit fails
    r = least_squares(lambda p: np.logaddexp(p[2], p[0] - p[1] * z) - y, start, bounds=(lo, hi), loss="huber",
                      f_scale=HUBER_SCALE_LOSS)
    if not r.success or not (lo[1] * 1.01 < r.x[1] < hi[1] * 0.99):
        return None  # failed, or stopped at a bound of alpha: a bound is no estimate, and would drag the interval
    return float(r.x[1])


def alpha_t_trend(pos: pd.DataFrame, *, n_boot: int = 200, seed: int = 0, level: float = 0.95) -> dict | None:
    """Slope of alpha_t against log10 N across the runs of `pos` (run_id, N, t, loss; one curve per size), with
    a paired bootstrap: each replicate draws positions with replacement within doubling bins of t >= T_MIN, the
    same draw for every size, refits every size and takes the slope again. None with fewer than 3 sizes
    fitted. Returns slope, ci, alphas {N: alpha_t}, n_sizes, span (decades of N), boot_failed, boot_total."""
    curves = {}
    for rid, g in pos.groupby("run_id"):
        g = g[g["t"] >= T_MIN].sort_values("t")
        try:
            fit = fit_position_law(g, n_boot=0)
        except Exception:  # noqa: BLE001 - a size whose law cannot be fitted leaves the trend
            continue
        p = [fit.params.get(k) for k in ("X_c", "alpha", "E")]
        if any(v is None or not np.isfinite(v) or v <= 0 for v in p):
            continue  # no usable law for this size (E or t_c at 0 or infinity): it cannot be refitted
        curves[float(g["N"].iloc[0])] = (g["t"].to_numpy(float), g["loss"].to_numpy(float), fit)
    if len(curves) < 3:
        return None
    Ns = np.array(sorted(curves))
    x = np.log10(Ns)
    alphas = np.array([curves[n][2].params["alpha"] for n in Ns])
    slope = float(np.polyfit(x, alphas, 1)[0])
    t_all = curves[Ns[0]][0]
    if any(not np.array_equal(curves[n][0], t_all) for n in Ns):
        raise ScalingLawsError("alpha_t_trend needs every size scored at the same positions (one n_ctx): "
                               "pass curves of one context length")
    m = float(np.mean(np.log(t_all)))
    index = {int(v): i for i, v in enumerate(t_all)}
    bins = [np.array([index[int(v)] for v in b if int(v) in index]) for b in doubling_bins(T_MIN, int(t_all.max()))]
    bins = [b for b in bins if len(b)]
    rng = np.random.default_rng(seed)
    boots, failed = [], 0
    for _ in range(max(n_boot, 0)):
        idx = np.concatenate([rng.choice(b, len(b), replace=True) for b in bins])  # one draw, every size
        a = [_alpha_refit(curves[n][0][idx], curves[n][1][idx], curves[n][2], m) for n in Ns]
        if any(v is None for v in a) or len(np.unique(idx)) < 3:
            failed += 1
            continue
        boots.append(float(np.polyfit(x, np.array(a), 1)[0]))
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    ci = tuple(float(v) for v in np.percentile(boots, q)) if boots else (None, None)
    return {"slope": slope, "ci": ci, "alphas": dict(zip(Ns.tolist(), alphas.tolist())), "n_sizes": int(len(Ns)),
            "span": float(x.max() - x.min()), "boot_failed": failed, "boot_total": max(n_boot, 0),
            "n_bins": len(bins), "share_positive": float(np.mean(np.array(boots) > 0)) if boots else None,
            "mc_unstable": monte_carlo_unstable(boots, q)}


def monte_carlo_unstable(boots, q, value: float = 0.0) -> str:
    """Why an interval's verdict on `value` is Monte Carlo noise, or "": the two halves of the bootstrap
    (alternate replicates) disagree on whether `value` lies inside the interval, so another bootstrap seed
    could flip it. Such an interval supports neither side."""
    b = np.asarray(boots, dtype=float)
    if b.size < 40:
        return ""
    inside = [bool(lo <= value <= hi) for lo, hi in (np.percentile(half, q) for half in (b[0::2], b[1::2]))]
    if inside[0] == inside[1]:
        return ""
    return (f"the two halves of the bootstrap ({b.size // 2} replicates each) disagree on whether {value:g} is inside "
            f"the interval: its end is within Monte Carlo error of {value:g}")


def describe_alpha_t_trend(tr: dict) -> str:
    """One sentence, true in every branch, on whether alpha_t grows with N (App. D.5)."""
    a = tr["alphas"]
    s = (f"alpha_t goes from {a[min(a)]:.2f} at N = {min(a):,.0f} to {a[max(a)]:.2f} at N = {max(a):,.0f}; "
         f"its slope against log10 N is {tr['slope']:+.2f}")
    lo, hi = tr["ci"]
    if lo is None:
        return s + " (no interval), which cannot say whether the exponent grows with N."
    s += (f" [{lo:+.2f}, {hi:+.2f}] (paired bootstrap over positions in {tr['n_bins']} doubling bins; "
          f"{tr['share_positive']:.1%} of replicates above 0)")
    if lo > 0:
        return s + ": the exponent grows with N, as Kaplan's App. D.5 found."
    if hi < 0:
        return s + ": the exponent falls with N, the opposite of Kaplan's App. D.5."
    return s + ": zero is inside the interval, so whether the exponent changes with N is not settled here."


def per_position_noise(one_run: pd.DataFrame, t_from: int = 8) -> float:
    """Scatter (nats) of one curve's per-position mean losses around their smooth trend: the sd of differences
    of adjacent positions over sqrt(2), from t_from on (where the trend changes little from one position to
    the next)."""
    g = one_run.sort_values("t")
    d = np.diff(g[g["t"] >= t_from]["loss"].to_numpy(float))
    return float(np.std(d, ddof=1) / np.sqrt(2)) if len(d) >= 2 else float("nan")


def plateau_comparison(tf: pd.DataFrame, lstm: pd.DataFrame, t_tf: int, t_ls: int) -> dict:
    """How much more the transformer's loss falls than the LSTM's from the LSTM's plateau position to the end
    of the context (nats: [tf(bin at t_ls) − tf(last bin)] − [lstm(same) − lstm(same)], bin means), with its
    noise: 2 standard errors from each curve's per-position noise and the bins' sizes."""
    def bin_mean(g, a, b):
        x = g[(g["t"] >= a) & (g["t"] < b)]["loss"].to_numpy(float)
        return float(x.mean()), len(x)

    n_ctx = int(min(tf["t"].max(), lstm["t"].max()))
    first, last = (t_ls, min(2 * t_ls, n_ctx)), (max(n_ctx // 2, 2 * t_ls), n_ctx + 1)
    (tf_a, na), (tf_b, nb) = bin_mean(tf, *first), bin_mean(tf, *last)
    (ls_a, _), (ls_b, _) = bin_mean(lstm, *first), bin_mean(lstm, *last)
    s_tf, s_ls = per_position_noise(tf), per_position_noise(lstm)
    se = float(np.sqrt((s_tf ** 2 + s_ls ** 2) * (1 / na + 1 / nb)))
    return {"t_tf": int(t_tf), "t_ls": int(t_ls), "extra_drop": (tf_a - tf_b) - (ls_a - ls_b), "noise": 2 * se,
            "sigma": (s_tf, s_ls), "bins": (first, last)}


def describe_plateau(pc: dict, n_ctx: int) -> str:
    """One sentence, true in every branch, on whether the LSTM plateaus earlier than the transformer (Kaplan):
    an earlier plateau position counts only if, after it, the transformer's loss falls more than the LSTM's by
    more than the noise of per-position means."""
    t_tf, t_ls = pc["t_tf"], pc["t_ls"]
    s = (f"At matched N, more context stops helping the LSTM after {t_ls} tokens and the transformer after {t_tf}"
         + (" (still improving at the end of the context)" if t_tf >= n_ctx else ""))
    if t_ls >= t_tf:
        return s + ": the LSTM does not plateau earlier here."
    (a, _), (b, e) = pc["bins"]
    s += (f"; from positions {a}+ to {b}-{e - 1} the transformer's loss falls {pc['extra_drop']:+.3f} nats more "
          f"than the LSTM's, against a noise of ±{pc['noise']:.3f} (per-position noise {pc['sigma'][0]:.3f} and "
          f"{pc['sigma'][1]:.3f} nats)")
    if pc["extra_drop"] > pc["noise"]:
        return s + ": the LSTM plateaus earlier, as Kaplan found."
    return s + ": within the noise, so an earlier LSTM plateau cannot be told here."


# Why a profile trains no context long enough for Kaplan's LSTM gap (gap_testable's `why_not_longer`): a design
# decision recorded beside the computed shortfall (a judgement of the study's budget, not a number computed here):
# the cpu profile is sized for 2 CPU cores, and a transformer and LSTM ladder at n_ctx 512 was not affordable there.
WHY_NO_LONGER_CONTEXT = {
    "cpu": "a comparison at n_ctx 512 was not affordable on the 2 CPU cores this profile is sized for",
}


def why_no_longer_context(profile_name: str) -> str:
    """The recorded reason a profile trains no longer context (WHY_NO_LONGER_CONTEXT), or a plain statement."""
    return WHY_NO_LONGER_CONTEXT.get(profile_name, f"the {profile_name} profile trains no longer-context ladder")


def gap_testable(n_ctx: int, onset: int = LSTM_GAP_ONSET, why_not_longer: str = "") -> dict:
    """Whether a context of n_ctx tokens can show Kaplan's LSTM-transformer gap, which opens beyond ~onset
    tokens: testable when at least half of a window's positions lie past the onset (n_ctx >= 2·onset), so a
    loss averaged over positions is dominated by the regime the claim is about. why_not_longer: why the design
    has no longer context, added to the reason when it is untestable."""
    past = max(n_ctx - onset, 0)
    ok = n_ctx >= 2 * onset
    reason = (f"Kaplan's LSTM-transformer gap opens beyond ~{onset} tokens of context (Fig. 7); with n_ctx = "
              f"{n_ctx}, {past} of {n_ctx} positions ({past / n_ctx:.0%}) lie past it"
              + ("" if ok else f", so a loss averaged over the context cannot show the gap (needs n_ctx >= {2 * onset})"
                 + (f"; {why_not_longer}" if why_not_longer else "")))
    return {"testable": ok, "reason": reason, "past": past}


def late_gain(pos: pd.DataFrame, small: str, big: str, early: tuple[int, int], late: tuple[int, int]) -> dict:
    """How much `big` improves on `small` (nats, small − big) averaged over early and over late positions.
    Kaplan: larger models improve more at later positions (late gain > early gain)."""
    a = pos[pos.run_id == small].set_index("t")["loss"]
    b = pos[pos.run_id == big].set_index("t")["loss"]
    d = (a - b).dropna()
    e = float(d.loc[early[0]:early[1]].mean())
    l_ = float(d.loc[late[0]:late[1]].mean())
    return {"early_gain": e, "late_gain": l_, "early": early, "late": late}


def plateau_position(one_run: pd.DataFrame, tol: float = 0.01) -> int:
    """Where more context stops helping: positions are grouped in doubling bins [1], [2, 4), [4, 8), ...
    (bin means average out the noise of single positions), and this is the first position of the first bin
    from which every doubling of the position lowers the mean loss by less than `tol` (relative). n_ctx when
    the last doubling still helps (the curve is still falling at the end of the context)."""
    g = one_run.sort_values("t")
    t, L = g["t"].to_numpy(int), g["loss"].to_numpy(float)
    n_ctx = int(t.max())
    starts = [1]
    while starts[-1] * 4 <= n_ctx + 1:  # keep only full bins [s, 2s) that have a full bin after them
        starts.append(starts[-1] * 2)
    means = [float(L[(t >= s) & (t < 2 * s)].mean()) for s in starts]
    gains = [(a - b) / a for a, b in zip(means[:-1], means[1:])]
    first = len(gains)  # index of the first bin from which every later gain is below tol
    for k in range(len(gains) - 1, -1, -1):
        if gains[k] >= tol:
            break
        first = k
    return n_ctx if first == len(gains) else int(starts[first])


def describe_late_gain(g: dict, n_small: float, n_big: float) -> str:
    """One sentence, true in every branch (gains are small − big, in nats: positive = the larger model is better)."""
    def by(x):
        return f"lower by {x:.3f}" if x > 0 else f"higher by {-x:.3f}" if x < 0 else "unchanged"

    s = (f"Going from N = {n_small:,.0f} to N = {n_big:,.0f}, the loss is {by(g['early_gain'])} nats at positions "
         f"{g['early'][0]}-{g['early'][1]} and {by(g['late_gain'])} at positions {g['late'][0]}-{g['late'][1]}")
    if g["late_gain"] > g["early_gain"] and g["late_gain"] > 0:
        return s + ": the larger model gains more late in the context, as Kaplan found."
    if g["late_gain"] <= 0:
        return s + ": the larger model does not improve late in the context here (Kaplan found it gains most there)."
    return s + ": the larger model does not gain more late in the context (Kaplan found it does)."


def binned_positions(pos: pd.DataFrame, per_decade: int = 10) -> pd.DataFrame:
    """The loss by position averaged over log-spaced bins of t (about `per_decade` per decade; each bin's
    positions get equal weight): one point per bin and run instead of n_ctx, so curves of several sizes
    can be read apart (raw per-position means zig-zag with the shared windows' content). Columns run_id, N,
    arch, t (the bin's geometric centre), loss, positions (how many the bin averages)."""
    cols = ["run_id", "N", "arch", "t", "loss", "positions"]
    if pos.empty:
        return pd.DataFrame(columns=cols)
    t_max = int(pos["t"].max())
    edges = np.unique(np.round(np.geomspace(1, t_max + 1, max(2, int(per_decade * np.log10(t_max + 1)) + 1))).astype(int))
    which = np.digitize(pos["t"].to_numpy(), edges[1:-1])
    g = pos.assign(bin=which).groupby(["run_id", "bin"], sort=False)
    out = g.agg(N=("N", "first"), arch=("arch", "first"), t=("t", lambda t: float(np.exp(np.log(t).mean()))),
                loss=("loss", "mean"), positions=("t", "size")).reset_index()
    return out[cols].sort_values(["N", "run_id", "t"]).reset_index(drop=True)


def loss_by_position_figure(pos: pd.DataFrame, pair: tuple | None):
    """Left: loss against position (log-binned, log-log) per transformer size, coloured and listed by N (log
    colour bar in parameters). Right: the matched transformer–LSTM pair (run ids) on the same axes.
    Returns (figure, the binned table drawn)."""
    import matplotlib as mpl

    from scalinglaws.analysis import plots as P

    b = binned_positions(pos)
    fig, (ax, ax2) = P.new_figure(1, 2, figsize=(12, 4.3))
    tf = b[b["arch"] == "transformer"]
    if len(tf):
        norm, _ = P.log_colorbar(ax, tf["N"], "N (non-embedding parameters)", cmap="viridis")
        cmap = mpl.colormaps["viridis"]
        for _, g in sorted(tf.groupby("run_id"), key=lambda kv: kv[1]["N"].iloc[0]):  # legend in order of N
            ax.plot(g["t"], g["loss"], "-", marker="o", ms=2.5, lw=1.2, color=cmap(norm(g["N"].iloc[0])),
                    label=f"N = {g['N'].iloc[0]:,.0f}")
        P.log_axes(ax)
        ax.legend(fontsize="x-small", ncol=2, title="transformer, by N", title_fontsize="x-small")
    ax.set_xlabel("position t in the context (tokens; log-spaced bins)")
    ax.set_ylabel("mean loss at position t (nats/token)")
    if pair is not None:
        for rid, arch, c in ((pair[0], "transformer", "C0"), (pair[1], "LSTM", "C1")):
            g = b[b["run_id"] == rid]
            ax2.plot(g["t"], g["loss"], "-", marker="o", ms=2.5, color=c, label=f"{arch}, N = {g['N'].iloc[0]:,.0f}")
        P.log_axes(ax2)
        ax2.legend(fontsize="small")
    ax2.set_xlabel("position t in the context (tokens; log-spaced bins)")
    ax2.set_ylabel("mean loss at position t (nats/token)")
    return fig, b
