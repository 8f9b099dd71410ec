"""The machinery every law shares: the result (`FitResult`), robust least squares in log space, the
bootstrap over groups, and the one protocol every law is fitted by. Conventions: see `scalinglaws.fit`.

The law protocol
----------------
A law is one public function ``fit_<law>(...)`` in the module of its paper (kaplan, chinchilla, frontier),
listed in that module's ``__all__`` (which `scalinglaws.fit` re-exports), plus its test. The function:

1. checks its inputs (`as_array`, `same_length`) and groups the points for the bootstrap (`group_index`);
2. writes ``solve(idx, starts, ylog=None) -> Solution``, which fits the points ``idx``: from the law's own
   starts for those points and polished when ``starts`` is None (the full-data fit), else from ``starts`` (a
   bootstrap refit); ``ylog`` replaces the log observations of those points (a residual-bootstrap refit). The full-data fit's `Solution` lists in ``refit_starts`` where its other starts
   ended (`robust_lsq` does this; `distinct_ends` picks them), best first. ``Solution.x`` is None (and
   ``message`` says why) when the points cannot support the law (e.g. too few distinct x);
3. writes ``natural(x)``: the optimiser's internal parameters -> the reported ones, in the order of ``names``;
4. returns ``solve_and_finish(solve, natural, ..., span_of=<its main variable>)``: the full fit, the
   intervals (`interval_rule`), log residuals, the points table and the `FitResult`. Optional:
   ``reject(params)``, why a solution is no law (e.g. an exponent <= 0), one rule for the full fit and every
   refit; ``line``, a `Line` for a law that is a straight line in log-log space (its t interval).

Every bootstrap refit solves the resample twice: from the full-data optimum, and from the full-data
fit's ``refit_starts`` (at most ``REFIT_EXTRA_STARTS``). The lower objective wins, the second only when
lower by more than ``SAME_OPTIMUM_RTOL`` (relative), so ties keep the refit from the optimum; a refit
whose winner did not converge fails. A refit is thus never worse than one started at the optimum alone.
Why: a refit started only at the optimum stays near it when the resample's best fit lies elsewhere, in
another basin or further along a flat valley, which narrows the interval (on 8 noisy points of
L = E + (X_c/x)^alpha, refits from the optimum stopped at objective 0.005 where a start from another end
point reached 0.0003; tests/test_fit.py). The other starts are where the law's own starts ended on all
points, not the raw starts: each lies near an optimum, so its solve costs about what one from the
optimum does (three raw starts again per resample measured 7-9x slower for the four-parameter laws, with
the same intervals on their calibration data). End points at the optimum's objective are the optimum
and those beyond ``OTHER_BASIN_MAX_RATIO`` of it are not used, so a law whose starts all end at its
optimum keeps one solve per refit. Approach 3 lists perturbations of its optimum instead (its grid's end
points are not optima; see `chinchilla_approach3`).

Laws that are a line in log-log space get all of this from `fit_loglinear`; least-squares laws solve
with `robust_lsq` (Huber or plain least squares, several starts, optional polish).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np
import pandas as pd

from scalinglaws import ScalingLawsError
from scalinglaws.fit.intervals import (
    CI_BOOTSTRAP,
    MIN_DISTINCT_RESAMPLES,
    Line,
    LineT,
    bootstrap,
    decades,
    image_interval,
    interval_rule,
    line_t,
    percentile_ci,
    residual_bootstrap,
)
from scalinglaws.fit.result import (
    BOOT_UNRELIABLE_FAILURE_RATE,
    FitResult,
    FitWarning,
    ModelFn,
    Solution,
    no_solution,
    safe_exp,
)
from scalinglaws.fit.solve import REFIT_EXTRA_STARTS, line_starts, robust_lsq, same_objective

__all__: list[str] = []  # the protocol's helpers are for the laws' modules; the public names live in result, intervals, solve

# Lines through quantities that are not a loss (log N_opt, log B_crit, log steps) default to plain least
# squares (``huber_scale=None``). Their scatter is ~0.1 in log, five times the loss scale, so 0.02 made those
# fits nearly least-absolute-deviation (full-counting frontier: a = 0.500 Huber vs 0.563 OLS on the same 4
# points). A scale estimated from the data instead (1.345 x MAD of OLS residuals) rests, on the 3-8 points
# these fits have, on a MAD that is itself uncertain by a factor ~2, and with so few points one outlier
# cannot be told from the trend anyway. Least squares is also what the Student-t interval of small fits
# (below) is exact for. A caller who knows the noise level of such a quantity can still pass a scale.




















def as_array(name: str, values: Any, *, positive: bool = True) -> np.ndarray:
    a = np.asarray(values, dtype=float).reshape(-1)
    bad = ~np.isfinite(a)
    if bad.any():
        raise ScalingLawsError(f"{name} has {int(bad.sum())} non-finite value(s)")
    if positive and (a <= 0).any():
        raise ScalingLawsError(f"{name} must be > 0 (fits are in log space); {int((a <= 0).sum())} value(s) are not")
    return a


def same_length(**arrays: np.ndarray) -> int:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ScalingLawsError(f"inputs differ in length: {lengths}")
    return next(iter(lengths.values()))


def group_index(groups: Any, n: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Group codes per point and, per group, the indices of its points."""
    if groups is None:
        codes = np.arange(n)
    else:
        g = np.asarray(groups).reshape(-1)
        if len(g) != n:
            raise ScalingLawsError(f"groups has {len(g)} entries for {n} points")
        codes, _ = pd.factorize(pd.Series(g), use_na_sentinel=False)
    order = np.argsort(codes, kind="stable")
    splits = np.flatnonzero(np.diff(codes[order])) + 1
    return codes, np.split(order, splits)































def points_frame(columns: dict[str, np.ndarray], codes: np.ndarray | None, pred: np.ndarray, resid: np.ndarray,
                  output: str) -> pd.DataFrame:
    df = pd.DataFrame(columns)
    if codes is not None:
        df["group"] = codes
    df[f"{output}_pred"] = pred
    df["residual"] = resid
    return df


def solve_and_finish(
    solve: Callable[..., Solution],
    natural: Callable[[np.ndarray], np.ndarray],
    *,
    n: int,
    law: str,
    names: tuple[str, ...],
    model: ModelFn,
    inputs: dict[str, np.ndarray],
    output: str,
    observed: np.ndarray,
    codes: np.ndarray | None,
    group_idx: list[np.ndarray],
    n_boot: int,
    seed: int,
    level: float,
    span_of: np.ndarray,
    columns: dict[str, np.ndarray] | None = None,
    message_suffix: str = "",
    reject: Callable[[dict[str, float]], str] | None = None,
    strata: list[np.ndarray] | None = None,
    allocator: Callable | None = None,
    unidentified: Callable[[dict[str, float]], dict[str, str]] | None = None,
    line: Line | None = None,
    n_points: int | None = None,
    n_free: int | None = None,
) -> FitResult:
    """The end of every law (the protocol above): fit the ``n`` data rows, make the intervals
    (`interval_rule`: a bootstrap refitting resampled groups, or residual-resampled data, through the same
    ``solve``, from the optimum and from the fit's other end points; or the t interval of ``line``), compute
    log residuals of ``observed`` against ``model`` at ``inputs``, and package a FitResult.

    ``solve(idx, starts, ylog=None)``: ``ylog`` replaces the log observations of the rows ``idx`` (the
    residual bootstrap's synthetic data; log of the law's output, as the residuals are). ``reject(params)``:
    why a solution is no law of this kind (e.g. an exponent <= 0), "" when it is one; the one rule for the
    full fit (which then has not converged, so no interval) and every refit (which then counts as failed).
    ``columns``: the data columns of the points table (default: the inputs, then the output). ``codes``:
    each point's group, or None when the points are not the resampled rows (Approach 2 fits one point per
    budget). ``unidentified(params)``: parameter -> why the data do not determine it (it gets no interval).
    ``span_of``: the law's main variable at the fitted points (FitResult.span). ``n_points``: independent
    points (default: the groups); ``n_free``: free parameters (default: one per name)."""
    if not 0 < level < 1:
        raise ScalingLawsError(f"level must be in (0, 1), got {level}")
    if n_boot < 0:
        raise ScalingLawsError(f"n_boot must be >= 0, got {n_boot}")
    with np.errstate(all="ignore"):
        full = solve(np.arange(n), None)
    if full.x is None:
        raise ScalingLawsError(f"{law}: {full.message}")
    theta = np.asarray(natural(full.x), dtype=float)
    params = dict(zip(names, theta))
    converged, message = full.converged, full.message + message_suffix
    why = reject(params) if reject is not None else ""
    if why:
        converged, message = False, f"{why}; {message}"
    if converged and not np.all(np.isfinite(theta)):
        # The optimiser can stop "successfully" at a degenerate point: e.g. losses flat in N give
        # alpha -> 0 and N_c = exp(c/alpha) -> inf. That is no law, so it is reported as a failure.
        converged = False
        bad = ", ".join(f"{k}={v:.3g}" for k, v in zip(names, theta) if not np.isfinite(v))
        message += f"; degenerate fit: {bad} is not finite (no trend for this law to describe)"

    others = list(full.refit_starts[:REFIT_EXTRA_STARTS])

    def fit_once(idx, ylog=None):
        s = solve(idx, [full.x], ylog)
        if others:
            o = solve(idx, others, ylog)
            if o.x is not None and (s.x is None or (o.objective < s.objective
                                                    and not same_objective(o.objective, s.objective))):
                s = o  # the lowest objective wins; if it did not converge (e.g. at a bound), the refit fails
        if s.x is None or not s.converged:
            return None
        t = natural(s.x)
        return None if (reject is not None and reject(dict(zip(names, t)))) else t

    pred = model(params, *inputs.values())
    resid = np.log(observed) - np.log(pred)
    n_points = len(group_idx) if n_points is None else int(n_points)
    n_free = len(names) if n_free is None else int(n_free)
    how, why_none = interval_rule(converged=converged, n_boot=n_boot, n_points=n_points, n_free=n_free,
                                   line=line is not None)
    k = len(names)
    boot, failed, total, no_interval = np.full((n_boot, k), np.nan), 0, 0, {}
    if how in ("bootstrap", "residual"):
        total = n_boot
        if how == "bootstrap":
            boot, failed, distinct = bootstrap(fit_once, group_idx, k, n_boot, seed, strata)
            method = CI_BOOTSTRAP
            unit = "points" if all(len(g) == 1 for g in group_idx) else "groups (each resampled whole)"
            what = f"resample(s) of the {len(group_idx)} {unit}"
        else:
            row_codes = np.arange(n) if codes is None else codes
            boot, failed, distinct, method = residual_bootstrap(
                lambda ylog: fit_once(np.arange(n), ylog), np.log(pred), resid, row_codes, n_free, k, n_boot, seed)
            what = f"resample(s) of the residuals of the {n_points} points"
        if failed:
            message += f"; {failed}/{total} bootstrap refits failed"
        if failed > BOOT_UNRELIABLE_FAILURE_RATE * total:
            warnings.warn(f"{law}: {failed}/{total} bootstrap refits failed; intervals are less reliable", FitWarning,
                          stacklevel=3)
        if distinct < MIN_DISTINCT_RESAMPLES:
            # E.g. every refit the same number: a percentile "interval" would be a single point. No interval
            # is the honest answer; said last, so a one-line note can quote it.
            boot[:] = np.nan
            no_interval["*"] = f"only {distinct} distinct {what} could be refitted (need {MIN_DISTINCT_RESAMPLES})"
            message += f"; no interval: {no_interval['*']}"
            method = f"none ({no_interval['*']})"
        ci = percentile_ci(boot, names, level)
    elif how == "t":
        lt, method = line_t(line.z, line.y, line.coef(full.x), line.codes, level)
        ci = {name: (math.nan, math.nan) for name in names}
        if lt is None:
            no_interval["*"] = method
            message += f"; no interval: {method}"
            method = f"none ({method})"
        else:
            for name, v in line.intervals(lt).items():
                if isinstance(v, str):
                    no_interval[name] = v
                    message += f"; no interval for {name}: {v}"
                else:
                    ci[name] = (float(v[0]), float(v[1]))
            with np.errstate(all="ignore"):
                boot = np.array([natural(line.internal(d)) for d in lt.draws(n_boot, np.random.default_rng(seed))],
                                dtype=float).reshape(n_boot, k)
    else:
        ci = {name: (math.nan, math.nan) for name in names}
        method = f"none ({why_none})"
        if not converged and n_boot:
            message += "; bootstrap skipped because the full fit did not converge"
        elif converged and n_boot:
            no_interval["*"] = why_none
            message += f"; no interval: {why_none}"
    for name, why_u in (unidentified(params) if unidentified else {}).items():
        # A flat direction of the objective: refits started at the optimum do not move along it, so the
        # bootstrap would return the same value every time, an interval of zero width for a parameter
        # the data do not determine at all.
        boot[:, names.index(name)] = np.nan
        ci[name] = (math.nan, math.nan)
        no_interval[name] = why_u
        message += f"; no interval for {name}: {why_u}"
    if not converged:
        warnings.warn(f"{law}: {message}", FitWarning, stacklevel=3)
    return FitResult(
        law=law, params={k_: float(v) for k_, v in zip(names, theta)}, ci=ci, boot=boot, param_names=names,
        residuals=np.asarray(resid, dtype=float),
        points=points_frame(columns or {**inputs, output: observed}, codes, pred, resid, output).reset_index(drop=True),
        converged=bool(converged), message=message, n_boot=int(n_boot), seed=int(seed), level=float(level),
        n_boot_failed=int(failed), objective=float(full.objective), inputs=tuple(inputs), output=output,
        tables=dict(full.tables or {}), model=model, allocator=allocator, no_interval=no_interval,
        ci_method=method, n_points=n_points, span=decades(span_of), boot_total=int(total),
    )


def fit_loglinear(
    x: np.ndarray,
    y: np.ndarray,
    *,
    law: str,
    names: tuple[str, str],
    x_name: str,
    y_name: str,
    groups: Any,
    n_boot: int,
    seed: int,
    level: float,
    huber_scale: float | None,
    max_iter: int | None,
    transform: Callable[[float, float], tuple[float, float]] | None = None,
    reject: Callable[[dict[str, float]], str] | None = None,
    model: ModelFn,
    strata_of_groups: list[np.ndarray] | None = None,
) -> FitResult:
    """Fit of log y = c + s log x (least squares when ``huber_scale`` is None, else Huber). Parameters are
    (coef k = y at x = 1, exponent s) by default, or ``transform(c, s)`` for laws written differently (e.g.
    B* / L^(1/alpha_B)); the first reported parameter must depend on c alone, the second on s alone (each
    monotone), so the t interval maps through it. ``reject``: see `solve_and_finish`. With fewer than
    MIN_POINTS_FOR_PERCENTILE_BOOTSTRAP independent points the interval is Student-t (see `interval_rule`):
    on c (at x = 1) and s, mapped through ``transform``; FitResult.span: decades of x."""
    n = same_length(x=x, y=y)
    if n < 3 or len(np.unique(x)) < 2:
        raise ScalingLawsError(f"{law}: need at least 3 points at 2+ distinct {x_name}; got {n}")
    codes, group_idx = group_index(groups, n)
    m = float(np.mean(np.log(x)))
    zall, yall = np.log(x) - m, np.log(y)
    transform = transform or (lambda c, s: (safe_exp(c), s))

    def solve(idx, starts, ylog=None):
        z, ly = zall[idx], (yall[idx] if ylog is None else ylog)
        if len(np.unique(z)) < 2:
            return no_solution("too few distinct x")

        def resid(t):
            return t[0] + t[1] * z - ly

        return robust_lsq(resid, starts or [line_starts(z, ly)], names=("intercept", "slope"),
                           f_scale=huber_scale, max_iter=max_iter, polish=starts is None)

    def natural(t):
        # intercept at z = 0 is log y at x = exp(m); move it to x = 1.
        return np.array(transform(t[0] - t[1] * m, t[1]), dtype=float)

    def intervals(lt: LineT) -> dict[str, tuple[float, float] | str]:
        c_hat, s_hat = float(lt.b[0] - lt.b[1] * m), float(lt.b[1])
        c_lo, c_hi = lt.value_ci(-m)  # log y at x = 1, i.e. z = -m
        s_lo, s_hi = lt.slope_ci()
        return {names[0]: image_interval(lambda c: transform(c, s_hat)[0], c_lo, c_hi),
                names[1]: image_interval(lambda s: transform(c_hat, s)[1], s_lo, s_hi)}

    line = Line(zall, yall, codes, coef=lambda t: np.asarray(t, dtype=float), internal=lambda b: b, intervals=intervals)
    return solve_and_finish(solve, natural, n=n, law=law, names=names, model=model, inputs={x_name: x},
                             output=y_name, observed=y, codes=codes, group_idx=group_idx, n_boot=n_boot,
                             seed=seed, level=level, reject=reject, strata=strata_of_groups, span_of=x, line=line)
