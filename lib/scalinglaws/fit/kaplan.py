"""Kaplan et al. 2020's laws: L(X) power laws (Eqs. 1.1-1.3), L(N, D) (Eq. 1.5), L(N, S) (Eq. 1.6), the
critical batch (Eq. 5.1, B_crit(L) Eq. 1.4) and the S_min / C_min adjustments (Eqs. 5.4-5.5)."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from scalinglaws import ScalingLawsError
from scalinglaws.fit.result import safe_exp

from .blas import blas_serial
from .core import as_array, fit_loglinear, group_index, same_length, solve_and_finish
from .intervals import Line, LineT
from .result import HUBER_SCALE_LOSS, FitResult, no_solution
from .solve import line_starts, robust_lsq

__all__ = [
    "fit_power_law", "kaplan_nd_loss", "overfit_delta", "collapse_variable", "kaplan_nd_overfit", "fit_kaplan_nd",
    "kaplan_ns_loss", "fit_kaplan_ns", "fit_critical_batch", "fit_bcrit_vs_loss", "s_min_adjust", "c_min_adjust",
]



def _power_law_model(p: dict[str, float], x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", over="ignore"):
        return np.power(p["X_c"] / np.asarray(x, dtype=float), p["alpha"])


def _power_law_e_model(p: dict[str, float], x: np.ndarray) -> np.ndarray:
    return _power_law_model(p, x) + p["E"]


def _bcrit_model(p: dict[str, float], L: np.ndarray) -> np.ndarray:
    return p["B_star"] / np.power(np.asarray(L, dtype=float), 1.0 / p["alpha_B"])


@blas_serial
def fit_power_law(
    x: Any,
    L: Any,
    *,
    irreducible: bool = False,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    huber_scale: float | None = HUBER_SCALE_LOSS,
    max_iter: int | None = None,
) -> FitResult:
    """L(X) = (X_c / X)^alpha  [+ E if ``irreducible``], fitted on log L with a Huber loss.

    Kaplan Eqs. 1.1-1.3 (X = N, D or C_min). Parameters: ``X_c`` (units of X), ``alpha`` [, ``E``
    in units of L]. Internally log L = u - alpha z (+ irreducible: logaddexp(log E, u - alpha z))
    with z = log X - mean(log X). ``huber_scale``: the log-loss scale (HUBER_SCALE_LOSS); a quantity that
    is not a loss (e.g. tokens to reach a target) has other scatter: pass its scale, or None for least squares.

    Intervals (`scalinglaws.fit.core.interval_rule`): with 6+ independent points (groups) the percentile
    bootstrap over groups. Fewer: without ``irreducible``, L(X) is a line in log-log space and gets a
    Student-t interval with n - 2 degrees of freedom (groups of several rows: cluster-robust, groups - 2):
    alpha from the slope, X_c (where the line reaches L = 1) from Fieller's interval, none when the slope's
    interval reaches 0; with ``irreducible``, a residual bootstrap (none with 3 points or fewer).
    FitResult.span: decades of X.
    """
    x = as_array("x", x)
    L = as_array("L", L)
    n = same_length(x=x, L=L)
    k = 3 if irreducible else 2
    if n <= k or len(np.unique(x)) < k:
        raise ScalingLawsError(f"power-law fit needs more than {k} points at {k}+ distinct x; got {n} points")
    codes, group_idx = group_index(groups, n)
    m = float(np.mean(np.log(x)))
    zall, yall = np.log(x) - m, np.log(L)
    names = ("X_c", "alpha", "E") if irreducible else ("X_c", "alpha")
    law = "power_law+E" if irreducible else "power_law"
    model = _power_law_e_model if irreducible else _power_law_model

    if irreducible:
        e_hi = float(np.log(L.max()))
        bounds = (np.array([-np.inf, 1e-4, e_hi - 30.0]), np.array([np.inf, 10.0, e_hi]))
        pnames = ("u", "alpha", "log_E")
    else:
        bounds = None
        pnames = ("u", "alpha")

    def solve(idx: np.ndarray, starts: list[np.ndarray] | None, ylog: np.ndarray | None = None):
        full = starts is None  # the full-data fit, from the law's own starts (refits are handed theirs)
        z, y = zall[idx], (yall[idx] if ylog is None else ylog)
        if len(np.unique(z)) < k:
            return no_solution("too few distinct x")
        if irreducible:
            def resid(t):
                return np.logaddexp(t[2], t[0] - t[1] * z) - y

            if full:
                starts = []
                lmin = float(np.exp(y.min()))
                for frac in (0.0, 0.3, 0.6, 0.85):
                    E0 = frac * lmin
                    u, s = line_starts(z, np.log(np.exp(y) - E0))
                    starts.append(np.array([u, max(-s, 1e-3), np.log(E0) if E0 > 0 else e_hi - 10.0]))
        else:
            def resid(t):
                return t[0] - t[1] * z - y

            if full:
                u, s = line_starts(z, y)
                starts = [np.array([u, -s])]
        return robust_lsq(resid, starts, names=pnames, bounds=bounds, f_scale=huber_scale, max_iter=max_iter,
                           polish=full)

    def natural(t: np.ndarray) -> np.ndarray:
        Xc = np.exp(t[0] / t[1] + m) if t[1] != 0 else np.nan
        return np.array([Xc, t[1], np.exp(t[2])]) if irreducible else np.array([Xc, t[1]])

    def reject(p: dict[str, float]) -> str:
        # (X_c/X)^alpha with alpha <= 0 does not fall with X; X_c = exp(u/alpha + m) is then
        # meaningless (0 or inf), so such a fit is no law and such a refit fails.
        if p["alpha"] > 0:
            return ""
        return f"non-positive exponent alpha={p['alpha']:.3g}: the data do not fall with x, so there is no power law to report"

    def intervals(lt: LineT) -> dict[str, tuple[float, float] | str]:
        # The line is log L = b0 + b1 z with b0 = u, b1 = -alpha; X_c is where it reaches log L = 0.
        s_lo, s_hi = lt.slope_ci()
        zc = lt.crossing_ci(0.0)
        xc = (safe_exp(zc[0] + m), safe_exp(zc[1] + m)) if zc is not None else (
            "the slope's t interval reaches 0, so where the line reaches L = 1 is unbounded")
        return {"X_c": xc, "alpha": (-s_hi, -s_lo)}

    line = None if irreducible else Line(zall, yall, codes, coef=lambda t: np.array([t[0], -t[1]]),
                                          internal=lambda b: np.array([b[0], -b[1]]), intervals=intervals)
    return solve_and_finish(solve, natural, n=n, law=law, names=names, model=model, inputs={"x": x}, output="L",
                             observed=L, codes=codes, group_idx=group_idx, n_boot=n_boot, seed=seed, level=level,
                             reject=reject, span_of=x, line=line)


def kaplan_nd_loss(N: Any, D: Any, alpha_N: float, alpha_D: float, N_c: float, D_c: float) -> np.ndarray:
    """Kaplan Eq. 1.5: L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D (D may be inf)."""
    N = np.asarray(N, dtype=float)
    D = np.asarray(D, dtype=float)
    with np.errstate(divide="ignore"):
        s1 = (alpha_N / alpha_D) * (np.log(N_c) - np.log(N))
        s2 = np.log(D_c) - np.log(D)  # -inf when D = inf: the L(N) limit
    return np.exp(alpha_D * np.logaddexp(s1, s2))


def overfit_delta(L: Any, L_inf: Any) -> np.ndarray:
    """Kaplan Sec. 4.2: the overfitting penalty delta L = L(N, D) / L(N, inf) - 1."""
    return np.asarray(L, dtype=float) / np.asarray(L_inf, dtype=float) - 1.0


def collapse_variable(N: Any, D: Any, alpha_N: float, alpha_D: float) -> np.ndarray:
    """Kaplan Eq. 4.3: delta L depends on N and D only through N^(alpha_N/alpha_D) / D."""
    return np.power(np.asarray(N, dtype=float), alpha_N / alpha_D) / np.asarray(D, dtype=float)


def kaplan_nd_overfit(N: Any, D: Any, alpha_N: float, alpha_D: float, N_c: float, D_c: float) -> np.ndarray:
    """delta L predicted by Eq. 1.5: (1 + (N/N_c)^(alpha_N/alpha_D) D_c/D)^alpha_D - 1 (Eq. 4.3)."""
    N = np.asarray(N, dtype=float)
    D = np.asarray(D, dtype=float)
    return np.power(1 + np.power(N / N_c, alpha_N / alpha_D) * D_c / D, alpha_D) - 1


def _fit_two_terms(
    law: str,
    inputs: dict[str, np.ndarray],
    L: np.ndarray,
    *,
    log_loss: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    model: Callable,
    alpha_max: tuple[float, float],
    alpha_starts: tuple[tuple[float, ...], tuple[float, ...]],
    shifts: tuple[tuple[float, float], ...],
    groups: Any,
    n_boot: int,
    seed: int,
    level: float,
    huber_scale: float | None,
    max_iter: int | None,
    message_suffix: str = "",
) -> FitResult:
    """Eqs. 1.5 and 1.6 are fitted alike; only how their two power-law terms combine (``log_loss``) and
    where their starts lie differ. Each term is a power law in one input X (N, D or S), written in centred
    log coordinates z_X = log X - mean(log X) with internal parameters (alpha_X, u_X), u_X the log-loss the
    term alone gives at the centre of the data, so X_c = exp(u_X / alpha_X + mean(log X)).
    ``log_loss(t, z_1, z_2)`` is log L at t = (alpha_1, alpha_2, u_1, u_2). The law's starts: every pair of
    exponents from ``alpha_starts`` with every pair of ``shifts`` of (u_1, u_2) from the median log loss.
    Parameters reported: alpha_1, alpha_2, X1_c, X2_c (e.g. alpha_N, alpha_D, N_c, D_c). FitResult.span: decades
    of the first input (N: the model sizes, the law's scaling variable and its fewest independent values)."""
    (k1, X1), (k2, X2) = inputs.items()
    codes, group_idx = group_index(groups, len(L))
    m1, m2 = float(np.mean(np.log(X1))), float(np.mean(np.log(X2)))
    z1_all, z2_all, y_all = np.log(X1) - m1, np.log(X2) - m2, np.log(L)
    names = (f"alpha_{k1}", f"alpha_{k2}", f"{k1}_c", f"{k2}_c")
    bounds = (np.array([1e-4, 1e-4, -np.inf, -np.inf]), np.array([alpha_max[0], alpha_max[1], np.inf, np.inf]))

    def solve(idx, starts, ylog=None):
        z1, z2, y = z1_all[idx], z2_all[idx], (y_all[idx] if ylog is None else ylog)
        if len(np.unique(z1)) < 2 or len(np.unique(z2)) < 2:
            return no_solution(f"too few distinct {k1} or {k2}")

        def resid(t):
            return log_loss(t, z1, z2) - y

        full = starts is None  # the full-data fit, from the law's own starts (refits are handed theirs)
        if full:
            yb = float(np.median(y))
            starts = [np.array([a1, a2, yb + d1, yb + d2]) for a1 in alpha_starts[0] for a2 in alpha_starts[1]
                      for d1, d2 in shifts]
        return robust_lsq(resid, starts, names=(names[0], names[1], f"u_{k1}", f"u_{k2}"), bounds=bounds,
                           polish=full, f_scale=huber_scale, max_iter=max_iter)

    def natural(t):
        a1, a2, u1, u2 = t
        return np.array([a1, a2, np.exp(u1 / a1 + m1), np.exp(u2 / a2 + m2)])

    return solve_and_finish(solve, natural, n=len(L), law=law, names=names, model=model, inputs=inputs, output="L",
                             observed=L, codes=codes, group_idx=group_idx, n_boot=n_boot, seed=seed, level=level,
                             message_suffix=message_suffix, span_of=X1)


def _nd_model(p: dict[str, float], N: np.ndarray, D: np.ndarray) -> np.ndarray:
    return kaplan_nd_loss(N, D, p["alpha_N"], p["alpha_D"], p["N_c"], p["D_c"])


@blas_serial
def fit_kaplan_nd(
    N: Any,
    D: Any,
    L: Any,
    *,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    huber_scale: float | None = HUBER_SCALE_LOSS,
    max_iter: int | None = None,
) -> FitResult:
    """Kaplan Eq. 1.5, L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D, fitted on log L.

    N in parameters (Kaplan: non-embedding), D in tokens, L the early-stopped test loss.
    Parameters: alpha_N, alpha_D, N_c, D_c. Internally
    log L = alpha_D * logaddexp((u_N - alpha_N zN)/alpha_D, (u_D - alpha_D zD)/alpha_D), where
    u_N, u_D are the log-losses of each limit at the centre of the data; 12 starts.
    """
    N, D, L = as_array("N", N), as_array("D", D), as_array("L", L)
    n = same_length(N=N, D=D, L=L)
    if n <= 4 or len(np.unique(N)) < 2 or len(np.unique(D)) < 2:
        raise ScalingLawsError(f"kaplan_nd: need > 4 points over 2+ distinct N and D; got {n}")

    def log_loss(t, zN, zD):
        aN, aD, uN, uD = t
        return aD * np.logaddexp((uN - aN * zN) / aD, (uD - aD * zD) / aD)

    return _fit_two_terms(
        "kaplan_nd", {"N": N, "D": D}, L, log_loss=log_loss, model=_nd_model, alpha_max=(5.0, 5.0),
        alpha_starts=((0.05, 0.15), (0.05, 0.15)), shifts=((0.0, -0.1), (-0.1, 0.0), (-0.03, -0.03)),
        groups=groups, n_boot=n_boot, seed=seed, level=level, huber_scale=huber_scale, max_iter=max_iter,
    )


def kaplan_ns_loss(N: Any, S: Any, alpha_N: float, alpha_S: float, N_c: float, S_c: float) -> np.ndarray:
    """Kaplan Eq. 1.6: L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S."""
    N = np.asarray(N, dtype=float)
    S = np.asarray(S, dtype=float)
    return np.power(N_c / N, alpha_N) + np.power(S_c / S, alpha_S)


def _ns_model(p: dict[str, float], N: np.ndarray, S: np.ndarray) -> np.ndarray:
    return kaplan_ns_loss(N, S, p["alpha_N"], p["alpha_S"], p["N_c"], p["S_c"])


@blas_serial
def fit_kaplan_ns(
    N: Any,
    S: Any,
    L: Any,
    *,
    warmup_steps: Any = 0.0,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    huber_scale: float | None = HUBER_SCALE_LOSS,
    max_iter: int | None = None,
) -> FitResult:
    """Kaplan Eq. 1.6, L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S, on learning curves.

    ``S`` should be S_min (Eq. 5.4, see `s_min_adjust`) when the batch size differs from B_crit.
    Points with ``S <= warmup_steps`` are dropped (the law describes training after warmup);
    ``warmup_steps`` is one number or one per point (each run's own effective warmup, the runs
    table's ``warmup_steps`` column). Pass ``groups`` = run id so the bootstrap resamples whole
    learning curves.
    Parameters: alpha_N, alpha_S, N_c, S_c.
    """
    N, S, L = as_array("N", N), as_array("S", S), as_array("L", L)
    n_all = same_length(N=N, S=S, L=L)
    warm = np.asarray(warmup_steps, dtype=float).reshape(-1)
    if warm.size not in (1, n_all) or not np.all(np.isfinite(warm)) or np.any(warm < 0):
        raise ScalingLawsError(f"warmup_steps must be one number >= 0 or one per point ({n_all}); got {warm.size} value(s)")
    keep = S > warm
    warm_text = f"{warm[0]:g}" if np.ptp(warm) == 0 else f"{warm.min():g}-{warm.max():g} (per run)"
    if groups is not None:
        g = np.asarray(groups).reshape(-1)
        if len(g) != n_all:
            raise ScalingLawsError(f"groups has {len(g)} entries for {n_all} points")
        groups = g[keep]
    N, S, L = N[keep], S[keep], L[keep]
    n = len(L)
    if n <= 4 or len(np.unique(N)) < 2 or len(np.unique(S)) < 2:
        raise ScalingLawsError(f"kaplan_ns: need > 4 points after warmup over 2+ distinct N and S; got {n}")

    def log_loss(t, zN, zS):
        aN, aS, uN, uS = t
        return np.logaddexp(uN - aN * zN, uS - aS * zS)

    return _fit_two_terms(
        "kaplan_ns", {"N": N, "S": S}, L, log_loss=log_loss, model=_ns_model, alpha_max=(5.0, 10.0),
        alpha_starts=((0.05, 0.15), (0.3, 0.8)), shifts=((-0.1, -2.0), (-0.5, -1.0), (-1.0, -0.5)),
        groups=groups, n_boot=n_boot, seed=seed, level=level, huber_scale=huber_scale, max_iter=max_iter,
        message_suffix=f"; {int((~keep).sum())} point(s) at S <= warmup_steps={warm_text} dropped",
    )


def _cb_model(p: dict[str, float], B: np.ndarray) -> np.ndarray:
    # Steps to reach the target loss at batch size B: S = S_min (1 + B_crit / B).
    return p["S_min"] * (1 + p["B_crit"] / np.asarray(B, dtype=float))


@blas_serial
def fit_critical_batch(
    steps: Any,
    examples: Any,
    *,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    huber_scale: float | None = None,
    max_iter: int | None = None,
) -> FitResult:
    """Fit (S/S_min - 1)(E/E_min - 1) = 1 (Kaplan Eq. 5.1, McCandlish et al. 2018) for one target loss.

    ``steps`` S and ``examples`` E (= B S; tokens or sequences, B_crit comes out in the same
    unit per step) needed to first reach the target loss, one pair per batch size of a sweep.
    With B = E/S the hyperbola is exactly S = S_min (1 + B_crit/B) and E = E_min (1 + B/B_crit),
    B_crit = E_min / S_min, so we fit log S = log S_min + log(1 + B_crit/B) robustly in
    (log S_min, log B_crit). Parameters: S_min, E_min, B_crit. ``predict(B)`` gives S.

    log S is no loss: least squares by default (``huber_scale=None``; see `scalinglaws.fit.core` on the
    scale). Intervals: percentile bootstrap with 6+ batch sizes (groups), else a residual bootstrap (2 free
    parameters, so 3+ batch sizes). FitResult.span: decades of the batch size B.
    """
    S, E = as_array("steps", steps), as_array("examples", examples)
    n = same_length(steps=S, examples=E)
    B = E / S
    if n < 3 or len(np.unique(B)) < 3:
        raise ScalingLawsError(f"critical batch: need at least 3 distinct batch sizes; got {len(np.unique(B))}")
    codes, group_idx = group_index(groups, n)
    lB_all, lS_all = np.log(B), np.log(S)
    names = ("S_min", "E_min", "B_crit")
    # Keep B_crit within 1e4x of the sweep: beyond that the data only bound it from one side.
    lo_b, hi_b = lB_all.min() - math.log(1e4), lB_all.max() + math.log(1e4)
    bounds = (np.array([-np.inf, lo_b]), np.array([np.inf, hi_b]))

    def solve(idx, starts, ylog=None):
        full = starts is None  # the full-data fit, from the law's own starts (refits are handed theirs)
        lB, lS = lB_all[idx], (lS_all[idx] if ylog is None else ylog)
        if len(np.unique(lB)) < 3:
            return no_solution("too few distinct batch sizes")

        def resid(t):
            return t[0] + np.logaddexp(0.0, t[1] - lB) - lS

        if full:
            starts = []
            for q in (0.25, 0.5, 0.75):
                lbc = float(np.quantile(lB, q))
                starts.append(np.array([float(np.min(lS - np.logaddexp(0.0, lbc - lB))), lbc]))
        return robust_lsq(resid, starts, names=("log_S_min", "log_B_crit"), bounds=bounds, polish=full,
                           f_scale=huber_scale, max_iter=max_iter)

    def natural(t):
        s_min, b_crit = safe_exp(t[0]), safe_exp(t[1])
        return np.array([s_min, s_min * b_crit, b_crit])

    return solve_and_finish(solve, natural, n=n, law="critical_batch", names=names, model=_cb_model,
                             inputs={"B": B}, output="S", observed=S, columns={"B": B, "E": E, "S": S}, codes=codes,
                             group_idx=group_idx, n_boot=n_boot, seed=seed, level=level, span_of=B, n_free=2)


@blas_serial
def fit_bcrit_vs_loss(
    L_targets: Any,
    B_crit: Any,
    *,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    huber_scale: float | None = None,
    max_iter: int | None = None,
) -> FitResult:
    """Kaplan Eq. 1.4 / 5.3: B_crit(L) = B* / L^(1/alpha_B), fitted on log B_crit vs log L.

    Parameters: B_star (units of B_crit, Kaplan: tokens), alpha_B. ``predict(L)`` gives B_crit.
    log B_crit is no loss: least squares by default (``huber_scale=None``; see `scalinglaws.fit.core`).
    Fewer than 6 targets: a Student-t interval (B* from the intercept, alpha_B = -1/slope, none when the
    slope's interval reaches 0). FitResult.span: decades of the target loss L (small: 4.5 to 5.3 is 0.07).
    """
    L, Bc = as_array("L_targets", L_targets), as_array("B_crit", B_crit)

    def transform(c, s):
        # log B = log B* - (1/alpha_B) log L  =>  slope s = -1/alpha_B.
        return (safe_exp(c), -1.0 / s if s != 0 else math.nan)

    def reject(p):
        # Kaplan's B_crit grows as the loss falls; a fitted (or refitted) B_crit growing with the loss is not his law.
        return "" if p["alpha_B"] > 0 else "fitted B_crit grows with loss (alpha_B <= 0): not Kaplan's law"

    return fit_loglinear(
        L, Bc, law="bcrit_vs_loss", names=("B_star", "alpha_B"), x_name="L", y_name="B_crit", groups=groups,
        n_boot=n_boot, seed=seed, level=level, huber_scale=huber_scale, max_iter=max_iter,
        transform=transform, reject=reject, model=_bcrit_model,
    )


def s_min_adjust(S: Any, B: Any, B_crit: Any) -> np.ndarray:
    """Kaplan Eq. 5.4: S_min = S / (1 + B_crit(L)/B), the steps at B >> B_crit."""
    return np.asarray(S, dtype=float) / (1 + np.asarray(B_crit, dtype=float) / np.asarray(B, dtype=float))


def c_min_adjust(C: Any, B: Any, B_crit: Any) -> np.ndarray:
    """Kaplan Eq. 5.5: C_min = C / (1 + B/B_crit(L)), the compute at B << B_crit."""
    return np.asarray(C, dtype=float) / (1 + np.asarray(B, dtype=float) / np.asarray(B_crit, dtype=float))
