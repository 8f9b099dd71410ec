"""Hoffmann et al. 2022 (Chinchilla): IsoFLOP profiles (Approach 2) and the parametric
L(N, D) = E + A/N^alpha + B/D^beta (Approach 3), with its compute-optimal allocation."""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import huber as _huber

from scalinglaws import ScalingLawsError

from .blas import _blas_serial
from .core import (
    HUBER_SCALE,
    FitResult,
    Solution,
    _array,
    _group_index,
    _line_starts,
    _no_solution,
    _robust_lsq,
    _same_length,
    _solve_and_finish,
)

__all__ = ["chinchilla_approach2", "chinchilla_loss", "chinchilla_init_grid", "chinchilla_objective", "vanished_terms",
           "chinchilla_approach3", "VANISHED_SHARE"]


def _a2_model(p: dict[str, float], C: np.ndarray) -> np.ndarray:
    return p["k_N"] * np.power(np.asarray(C, dtype=float), p["a"])


def _a2_allocator(p: dict[str, float], C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    C = np.asarray(C, dtype=float)
    return p["k_N"] * np.power(C, p["a"]), p["k_D"] * np.power(C, p["b"])


def _isoflop_minimum(logN: np.ndarray, L: np.ndarray) -> tuple[float, float, float]:
    """Parabola L = p2 t^2 + p1 t + p0 in t = log N (centred); returns (log N*, L*, p2) or NaNs."""
    if len(np.unique(logN)) < 3:
        return math.nan, math.nan, math.nan
    c = float(np.mean(logN))
    p2, p1, p0 = np.polyfit(logN - c, L, 2)
    if not p2 > 0:  # no minimum: the budget's curve is not U-shaped
        return math.nan, math.nan, float(p2)
    t = -p1 / (2 * p2)
    return c + t, p0 - p1 * p1 / (4 * p2), float(p2)


@_blas_serial
def chinchilla_approach2(
    df: pd.DataFrame,
    *,
    n_col: str = "N",
    c_col: str = "C",
    l_col: str = "L",
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    require_interior: bool = True,
    huber_scale: float = HUBER_SCALE,
    max_iter: int | None = None,
) -> FitResult:
    """Chinchilla Approach 2 (IsoFLOP profiles, Hoffmann Sec. 3.2).

    ``df`` holds one row per run: N (parameters), C (the run's FLOP budget; runs sharing a
    budget must share the exact value) and L (final loss). For each budget a parabola of L in
    log N gives N_opt(C); D_opt = C / (6 N_opt). Then N_opt = k_N C^a and D_opt = k_D C^b are
    fitted in log space (b = 1 - a by construction). The bootstrap resamples runs (or
    ``groups``) *within* each budget and redoes everything. Budgets whose parabola opens
    downward are dropped (noted in ``message``), and so, with ``require_interior``, are budgets
    whose parabola's minimum lies outside the model sizes trained at that budget (an
    extrapolated minimum says more about the parabola than the data). ``tables["minima"]`` lists each budget's
    minimum with bootstrap intervals; ``predict(C)`` gives N_opt and ``optimal_allocation(C)``
    gives (N_opt, D_opt).
    """
    for col in (n_col, c_col, l_col):
        if col not in df.columns:
            raise ScalingLawsError(f"chinchilla_approach2: column {col!r} not in {list(df.columns)}")
    N = _array(n_col, df[n_col])
    C = _array(c_col, df[c_col])
    L = _array(l_col, df[l_col])
    n = len(L)
    codes, group_idx = _group_index(groups, n)
    budgets = np.unique(C)
    if len(budgets) < 2:
        raise ScalingLawsError("chinchilla_approach2: need at least 2 distinct budgets C")
    # Each group must sit inside one budget, so resampling within budgets is well defined.
    budget_of_group = []
    for gi in group_idx:
        b = np.unique(C[gi])
        if len(b) != 1:
            raise ScalingLawsError("chinchilla_approach2: a group spans several budgets")
        budget_of_group.append(b[0])
    budget_of_group = np.asarray(budget_of_group)
    strata = [np.flatnonzero(budget_of_group == b) for b in budgets]
    logN_all = np.log(N)
    names = ("k_N", "a", "k_D", "b")

    def minima(idx):
        out = []
        for b in budgets:
            sel = idx[C[idx] == b]
            lnopt, lmin, curv = _isoflop_minimum(logN_all[sel], L[sel])
            if require_interior and np.isfinite(lnopt) and not (logN_all[sel].min() <= lnopt <= logN_all[sel].max()):
                lnopt = lmin = math.nan
            out.append((b, lnopt, lmin, curv, len(sel)))
        return np.array(out, dtype=float)

    lc_mean = float(np.mean(np.log(budgets)))
    with np.errstate(all="ignore"):
        mins = minima(np.arange(n))
    boot_minima: list[np.ndarray] = []  # each refit's minima, for the per-budget intervals of tables["minima"]

    def solve(idx, starts):
        full = starts is None  # the full-data fit, from the law's own start (refits are handed theirs)
        if full:
            mm = mins
        else:
            mm = minima(idx)
            boot_minima.append(mm[:, 1])
        ok = np.isfinite(mm[:, 1])
        if ok.sum() < 2:
            return _no_solution("fewer than 2 budgets with a parabola minimum")
        z, ly = np.log(mm[ok, 0]) - lc_mean, mm[ok, 1]

        def resid(t):
            return t[0] + t[1] * z - ly

        return _robust_lsq(resid, [_line_starts(z, ly)] if full else starts, names=("intercept", "slope"),
                           f_scale=huber_scale, max_iter=max_iter, polish=full)

    def natural(t):
        c0, a = t[0] - t[1] * lc_mean, t[1]
        # D_opt = C/(6 N_opt) => log D_opt = -log 6 - c0 + (1 - a) log C exactly.
        return np.array([math.exp(c0), a, math.exp(-math.log(6.0) - c0), 1.0 - a])

    dropped = int((~np.isfinite(mins[:, 1])).sum())
    mins_df = pd.DataFrame(
        {
            "C": mins[:, 0],
            "N_opt": np.exp(mins[:, 1]),
            "D_opt": mins[:, 0] / (6 * np.exp(mins[:, 1])),
            "L_min": mins[:, 2],
            "curvature": mins[:, 3],
            "n_runs": mins[:, 4].astype(int),
        }
    )
    fitted = mins_df[np.isfinite(mins[:, 1])]
    res = _solve_and_finish(
        solve, natural, n=n, law="chinchilla_approach2", names=names, model=_a2_model,
        inputs={"C": fitted["C"].to_numpy()}, output="N_opt", observed=fitted["N_opt"].to_numpy(),
        columns={c: fitted[c].to_numpy() for c in fitted.columns}, codes=None, group_idx=group_idx,
        n_boot=n_boot, seed=seed, level=level, strata=strata, allocator=_a2_allocator,
        message_suffix=f"; {dropped} budget(s) without an (interior) parabola minimum dropped" if dropped else "",
    )
    q = 100 * (1 - level) / 2
    if boot_minima:
        bm = np.exp(np.stack(boot_minima))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns for degenerate budgets
            lo, hi = np.nanpercentile(bm, [q, 100 - q], axis=0)
        mins_df["N_opt_low"], mins_df["N_opt_high"] = lo, hi
    else:
        mins_df["N_opt_low"] = mins_df["N_opt_high"] = np.nan
    runs = pd.DataFrame({"N": N, "C": C, "L": L, "group": codes})
    res.tables = {"minima": mins_df, "runs": runs}
    return res


# A term of L = E + A/N^alpha + B/D^beta below this share of every fitted loss has vanished: the fit
# cannot tell its size (1e-6 of a ~4-nat loss is far below any run-to-run noise).
VANISHED_SHARE = 1e-6


def chinchilla_loss(N: Any, D: Any, E: float, A: float, B: float, alpha: float, beta: float) -> np.ndarray:
    """Hoffmann Eq. 2: L(N, D) = E + A/N^alpha + B/D^beta."""
    return E + A / np.power(np.asarray(N, dtype=float), alpha) + B / np.power(np.asarray(D, dtype=float), beta)


def chinchilla_init_grid(kind: str = "coarse") -> np.ndarray:
    """Starting points (a, b, e, alpha, beta) with A, B, E = exp(a, b, e) (App. D.2's names).

    ``"full"``: Hoffmann App. D.2, a, b in {0, 5, ..., 25}, e in {-1, -0.5, ..., 1},
    alpha, beta in {0, 0.5, ..., 2}: 6*6*5*5*5 = 4500 starts.
    ``"coarse"``: a subset of it, a, b in {0, 10, 20}, e in {-1, 0, 1}, alpha, beta in
    {0, 0.5, 1} (243 starts; every published exponent is below 1). On the Epoch anchor data
    56 of these 243 starts (342 of the 4500) end within 1e-6 of the 4500-start optimum, and
    the coarse fit takes ~1.5 s against ~14 s for the full grid (2-core machine).
    """
    if kind == "full":
        ab, e, ex = np.arange(0, 26, 5.0), np.arange(-1, 1.01, 0.5), np.arange(0, 2.01, 0.5)
    elif kind == "coarse":
        ab, e, ex = np.array([0.0, 10.0, 20.0]), np.array([-1.0, 0.0, 1.0]), np.array([0.0, 0.5, 1.0])
    else:
        raise ScalingLawsError(f"init_grid must be 'coarse', 'full' or an array of starts, not {kind!r}")
    return np.array(list(itertools.product(ab, ab, e, ex, ex)), dtype=float)


def chinchilla_objective(theta: np.ndarray, logN: np.ndarray, logD: np.ndarray, logL: np.ndarray,
                         delta: float = 1e-3) -> tuple[float, np.ndarray]:
    """Sum over points of Huber_delta(LSE(a - alpha log N, b - beta log D, e) - log L), and its gradient.

    Huber as in scipy.special.huber: r^2/2 for |r| <= delta, delta(|r| - delta/2) beyond.
    Summed, not averaged (averaging makes L-BFGS-B stop near its start; anchors README).
    """
    a, b, e, al, be = theta
    t1 = a - al * logN
    t2 = b - be * logD
    m = np.maximum(np.maximum(t1, t2), e)
    w1, w2, w3 = np.exp(t1 - m), np.exp(t2 - m), np.exp(e - m)
    s = w1 + w2 + w3
    r = m + np.log(s) - logL
    f = float(np.sum(_huber(delta, r)))
    psi = np.clip(r, -delta, delta) / s  # dHuber/dr times the softmax normaliser
    p1, p2 = psi * w1, psi * w2
    grad = np.array([p1.sum(), p2.sum(), float(np.sum(psi * w3)), -float(p1 @ logN), -float(p2 @ logD)])
    return f, grad


def vanished_terms(p: dict[str, float], N: Any, D: Any) -> dict[str, str]:
    """Parameters of an Approach 3 fit that the data do not determine, with the reason.

    A term of L = E + A/N^alpha + B/D^beta that is below VANISHED_SHARE of every fitted loss is a flat
    direction of the objective (e.g. E -> 0 when the data cannot separate it from the power-law terms):
    its parameters, and the allocation exponents that use them, get no interval."""
    N, D = np.asarray(N, dtype=float), np.asarray(D, dtype=float)
    terms = {"E": np.full(N.shape, p["E"]), "A": p["A"] / N ** p["alpha"], "B": p["B"] / D ** p["beta"]}
    pred = terms["E"] + terms["A"] + terms["B"]
    out: dict[str, str] = {}
    for term, params in (("E", ("E",)), ("A", ("A", "alpha", "a", "b")), ("B", ("B", "beta", "a", "b"))):
        share = float(np.max(terms[term] / pred))
        if share < VANISHED_SHARE:
            for q in params:
                out.setdefault(q, f"the {term} term is at most {share:.1g} of every fitted loss (it vanished)")
    return out


def _a3_model(p: dict[str, float], N: np.ndarray, D: np.ndarray) -> np.ndarray:
    return chinchilla_loss(N, D, p["E"], p["A"], p["B"], p["alpha"], p["beta"])


def _a3_allocator(p: dict[str, float], C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Hoffmann Eq. 4 with C = 6 N D: N_opt = G (C/6)^a, D_opt = G^-1 (C/6)^b,
    # G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta), b = alpha/(alpha+beta).
    al, be = p["alpha"], p["beta"]
    G = (al * p["A"] / (be * p["B"])) ** (1.0 / (al + be))
    x = np.asarray(C, dtype=float) / 6.0
    return G * np.power(x, be / (al + be)), np.power(x, al / (al + be)) / G


@_blas_serial
def chinchilla_approach3(
    N: Any,
    D: Any,
    L: Any,
    *,
    init_grid: str | np.ndarray = "coarse",
    huber_delta: float = 1e-3,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    boot_starts: int = 2,
    max_iter: int = 15000,
) -> FitResult:
    """Chinchilla Approach 3 (Hoffmann Sec. 3.3, App. D.2): L(N, D) = E + A/N^alpha + B/D^beta.

    Fitted as the paper does: log L_hat = LSE(log A - alpha log N, log B - beta log D, log E)
    (App. D.2 calls the logs a, b, e; ``init_grid`` rows are (log A, log B, log E, alpha, beta));
    objective = *sum* of Huber_delta (delta = 1e-3) on log L residuals;
    L-BFGS-B (unbounded, analytic gradient) from every start of ``init_grid`` and the lowest
    objective kept, then polished from there with tight tolerances (ftol 1e-15, gtol 1e-12).
    N in parameters, D in tokens (D = C/(6N) when only C is known).

    Parameters: E, A, B, alpha, beta and the derived allocation exponents (Hoffmann Eq. 4, not
    the logs above) a = beta/(alpha+beta) (N_opt ∝ C^a) and b = alpha/(alpha+beta) (D_opt ∝ C^b).
    Bootstrap refits (the law protocol of `scalinglaws.fit.core`) start from the full-fit optimum and
    ``boot_starts - 1`` perturbations of it (exponents scaled by 0.8 and 1.25 with A, B rescaled to keep
    each term's value at the data's centre), keeping the best.

    ``converged`` requires the polished fit to end with L-BFGS-B's convergence message, or the
    same optimum (objective within 1e-6 relative) to be reached from at least 2 grid starts.
    A bootstrap refit that hits ``max_iter`` counts as failed (NaN row).
    """
    N, D, L = _array("N", N), _array("D", D), _array("L", L)
    n = _same_length(N=N, D=D, L=L)
    if n <= 5:
        raise ScalingLawsError(f"chinchilla_approach3: need more than 5 points; got {n}")
    if huber_delta <= 0:
        raise ScalingLawsError("huber_delta must be > 0")
    codes, group_idx = _group_index(groups, n)
    lN_all, lD_all, lL_all = np.log(N), np.log(D), np.log(L)
    grid = chinchilla_init_grid(init_grid) if isinstance(init_grid, str) else np.asarray(init_grid, dtype=float)
    if grid.ndim != 2 or grid.shape[1] != 5 or len(grid) == 0:
        raise ScalingLawsError("init_grid array must have shape (k, 5): columns a, b, e, alpha, beta")
    names = ("E", "A", "B", "alpha", "beta", "a", "b")

    # L-BFGS-B's default stopping rule (relative reduction of f below ~2e-9) fires within a few
    # iterations of a start that is already near an optimum of this nearly piecewise-linear
    # objective, so a refit seeded at the optimum would barely move and the bootstrap would look
    # far too certain. Polishing and bootstrap refits therefore use tight tolerances; the grid
    # search itself keeps scipy's defaults, as in the paper's procedure.
    tight = {"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-12}
    default = {"maxiter": max_iter}

    def run(idx, x0s, options):
        lN, lD, lL = lN_all[idx], lD_all[idx], lL_all[idx]
        results = []
        for x0 in x0s:
            with np.errstate(all="ignore"):
                r = minimize(chinchilla_objective, x0, args=(lN, lD, lL, huber_delta), jac=True,
                             method="L-BFGS-B", options=options)
            if np.isfinite(r.fun) and np.all(np.isfinite(r.x)):
                results.append(r)
        return results

    mN, mD = float(np.mean(lN_all)), float(np.mean(lD_all))

    def perturbations(x):
        # The exponents scaled by 0.8 / 1.25 with a, b shifted so A/N^alpha and B/D^beta keep their value at
        # the centre of the data.
        a, b, e, al, be = x
        return [np.array([a + (f - 1) * al * mN, b + (f - 1) * be * mD, e, f * al, f * be]) for f in (0.8, 1.25)]

    def solve(idx, starts):
        if starts is not None:  # a bootstrap refit, each start to tight tolerances, the lowest objective kept
            rs = run(idx, starts, tight)
            if not rs:
                return _no_solution("no start gave a finite objective")
            r = min(rs, key=lambda r_: r_.fun)
            return Solution(r.x, float(r.fun), bool(r.success or r.nit < max_iter), str(r.message))
        results = run(idx, grid, default)
        if not results:
            return _no_solution("no start gave a finite objective")
        funs = np.array([r.fun for r in results])
        best = results[int(np.argmin(funs))]
        n_same = int(np.sum(np.abs(funs - best.fun) <= 1e-6 * abs(best.fun) + 1e-15))
        polished = run(idx, [best.x], tight)
        final = polished[0] if polished and polished[0].fun <= best.fun else best
        converged = bool(final.success) or n_same >= 2
        msg = (f"L-BFGS-B from {len(grid)} start(s): best objective {best.fun:.6g} (sum of Huber, "
               f"delta={huber_delta:g}), reached within 1e-6 by {n_same}; polished with tight "
               f"tolerances to {final.fun:.6g}: {final.message}")
        if best.nit == 0:
            msg += "; the best start is the initial point itself (0 iterations)"
        if not converged:
            msg += "; not accepted as converged (L-BFGS-B did not report convergence and no second start agrees)"
        # The refits' other starts are perturbations of the optimum, not where the grid's other starts ended:
        # those stop at scipy's default tolerances short of any optimum, and adding three of them made the
        # refits 2.1x slower on the calibration data and moved no interval by 1e-6 of its width (measured).
        others = tuple(perturbations(final.x)[: max(1, boot_starts) - 1])
        return Solution(final.x, float(final.fun), converged, msg, tables={"starts": pd.DataFrame({"objective": funs})},
                        refit_starts=others)

    def natural(x):
        a, b, e, al, be = x
        s = al + be
        return np.array([np.exp(e), np.exp(a), np.exp(b), al, be,
                         be / s if s != 0 else math.nan, al / s if s != 0 else math.nan])

    # A term that is a negligible share of every fitted loss (e.g. E -> 0 when the data cannot separate it
    # from the power-law terms) is a flat direction: its parameters, and the allocation exponents that
    # use them, are not determined by the data.
    return _solve_and_finish(
        solve, natural, n=n, law="chinchilla_approach3", names=names, model=_a3_model, inputs={"N": N, "D": D},
        output="L", observed=L, codes=codes, group_idx=group_idx, n_boot=n_boot, seed=seed, level=level,
        allocator=_a3_allocator, unidentified=lambda p: vanished_terms(p, N, D),
    )
