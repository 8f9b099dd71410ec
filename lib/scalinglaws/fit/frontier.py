"""The compute-efficient frontier: the lower envelope of learning curves in (C, L), which of its points
locate the law, and the model size along it, N_opt(C) (Kaplan Sec. 6)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scalinglaws import ScalingLawsError

from .blas import blas_serial
from .core import as_array, fit_loglinear
from .result import FitResult

__all__ = ["compute_frontier", "frontier_fit_rows", "fit_frontier_n_opt"]


def _frontier_model(p: dict[str, float], C: np.ndarray) -> np.ndarray:
    return p["k"] * np.power(np.asarray(C, dtype=float), p["a"])


def compute_frontier(
    df: pd.DataFrame,
    c_col: str = "C",
    l_col: str = "L",
    n_col: str = "N",
    *,
    run_col: str | None = None,
    n_grid: int = 200,
) -> pd.DataFrame:
    """Lower envelope of learning curves in (C, L) (Kaplan Fig. 13-14).

    Each run's curve (grouped by ``run_col``, default ``n_col``) is interpolated linearly in
    (log C, log L) on a shared log-spaced grid of ``n_grid`` compute values, within the compute
    range that run covers; at each grid value the envelope keeps the lowest loss and the model
    size (and run) that achieves it. Returns columns ``c_col, l_col, n_col, "run", "attained"``.

    The envelope is monotone: with more compute one can always stop where a smaller budget got to, so
    where the run that held the frontier has ended and no curve present at that C is lower (e.g. only a
    larger model still early in its run), the frontier carries the best loss reached at a smaller C,
    with that run's N, and ``attained`` is False there. Those stretches say nothing about which model
    is best at that C or how low loss could go, so fits of L(C) and N_opt(C) use attained rows only.
    """
    for col in (c_col, l_col, n_col) + ((run_col,) if run_col else ()):
        if col not in df.columns:
            raise ScalingLawsError(f"compute_frontier: column {col!r} not in {list(df.columns)}")
    if n_grid < 2:
        raise ScalingLawsError("compute_frontier: n_grid must be >= 2")
    run_key = run_col or n_col
    C = as_array(c_col, df[c_col])
    as_array(l_col, df[l_col])
    grid = np.exp(np.linspace(np.log(C.min()), np.log(C.max()), n_grid))
    lg = np.log(grid)
    best_l = np.full(n_grid, np.inf)
    best_n = np.full(n_grid, np.nan)
    best_run = np.full(n_grid, None, dtype=object)
    for run, g in df.groupby(run_key, sort=True):
        g = g.sort_values(c_col)
        lc = np.log(g[c_col].to_numpy(float))
        ll = np.log(g[l_col].to_numpy(float))
        lc, first = np.unique(lc, return_index=True)  # np.interp needs strictly increasing x
        ll = ll[first]
        inside = (lg >= lc[0]) & (lg <= lc[-1])
        if not inside.any():
            continue
        vals = np.interp(lg[inside], lc, ll) if len(lc) > 1 else np.full(inside.sum(), ll[0])
        loss = np.exp(vals)
        idx = np.flatnonzero(inside)
        better = loss < best_l[idx]
        best_l[idx[better]] = loss[better]
        best_n[idx[better]] = float(g[n_col].iloc[0])
        best_run[idx[better]] = run
    ok = np.isfinite(best_l)
    grid, best_l, best_n, best_run = grid[ok], best_l[ok], best_n[ok], best_run[ok]
    # carry the best loss reached so far forward (ties count as attained: a flat curve is still a curve)
    src = np.zeros(len(best_l), dtype=int)
    for i in range(1, len(best_l)):
        src[i] = i if best_l[i] <= best_l[src[i - 1]] else src[i - 1]
    return pd.DataFrame({c_col: grid, l_col: best_l[src], n_col: best_n[src], "run": best_run[src],
                         "attained": src == np.arange(len(src))})


@blas_serial
def frontier_fit_rows(
    envelope: pd.DataFrame,
    *,
    n_col: str = "N",
    l_col: str = "L",
    drop_edge_sizes: bool = True,
    max_loss: float | None = None,
) -> np.ndarray:
    """Which rows of a compute frontier (from `compute_frontier`) locate the compute-efficient law,
    as a boolean mask; both frontier fits (L(C) and N_opt(C)) use it.

    - ``attained`` rows only: a carried-forward stretch is no loss reached at that C.
    - ``drop_edge_sizes``: not the stretches held by the smallest or largest model trained. They are
      censored: there a smaller (larger) model that was not trained may be the efficient one, so
      neither the size nor the loss is the frontier's.
    - ``max_loss`` (e.g. the unigram entropy of the data): only losses below it. Above the loss of
      the best context-free model, models are still learning token frequencies (the early
      transient, where which model leads is noise at the first evals), not the power-law regime.
    """
    for col in (n_col,) + ((l_col,) if max_loss is not None else ()):
        if col not in envelope.columns:
            raise ScalingLawsError(f"frontier_fit_rows: column {col!r} not in envelope")
    Nn = envelope[n_col].to_numpy(float)
    keep = envelope["attained"].to_numpy(bool, copy=True) if "attained" in envelope.columns else np.ones(len(Nn), dtype=bool)
    if drop_edge_sizes and len(Nn):
        keep &= (Nn > Nn.min()) & (Nn < Nn.max())
    if max_loss is not None:
        keep &= envelope[l_col].to_numpy(float) < max_loss
    return keep


def fit_frontier_n_opt(
    envelope: pd.DataFrame,
    *,
    c_col: str = "C",
    n_col: str = "N",
    l_col: str = "L",
    drop_edge_sizes: bool = True,
    max_loss: float | None = None,
    stair_centres: bool = True,
    c_range: tuple[float, float] | None = None,
    groups: Any = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    huber_scale: float | None = None,
    max_iter: int | None = None,
) -> FitResult:
    """N_opt = k C^a fitted to the model sizes on the compute frontier (Kaplan Sec. 6.1: a ≈ 0.73).

    The envelope is a staircase (one model size per stretch of C). Its rows are chosen by
    `frontier_fit_rows`: attained rows, by default (``drop_edge_sizes``) not the censored stretches
    won by the smallest and the largest model trained, and with ``max_loss`` only losses below it;
    ``c_range=(lo, hi)`` restricts the fit further. By default the bootstrap resamples whole stairs (``groups`` = the
    N column) since grid points on one stair are not independent.
    Parameters: k (N at C = 1 in your compute unit), a.

    log N_opt is no loss: least squares by default (``huber_scale=None``; see `scalinglaws.fit.core`).
    Fewer than 6 stairs (independent points): a Student-t interval on the line, n - 2 degrees of freedom.
    FitResult.span: decades of C over the fitted points (stair centres by default).
    """
    for col in (c_col, n_col):
        if col not in envelope.columns:
            raise ScalingLawsError(f"fit_frontier_n_opt: column {col!r} not in envelope")
    C = as_array(c_col, envelope[c_col])
    Nn = as_array(n_col, envelope[n_col])
    keep = frontier_fit_rows(envelope, n_col=n_col, l_col=l_col, drop_edge_sizes=drop_edge_sizes, max_loss=max_loss)
    if c_range is not None:
        keep &= (C >= c_range[0]) & (C <= c_range[1])
    if groups is not None:
        groups = np.asarray(groups).reshape(-1)
        if len(groups) != len(C):
            raise ScalingLawsError(f"groups has {len(groups)} entries for {len(C)} envelope rows")
        groups = groups[keep]
    C, Nn = C[keep], Nn[keep]
    if stair_centres:
        # One point per model size: the mean log C of the grid points it wins. For N_opt ∝ C^a
        # the switch from N_k to N_k+1 happens near N_opt = sqrt(N_k N_k+1), so a stair's
        # log-centre lies on the true line, while fitting every grid point of a staircase
        # is biased by the stair widths at the ends.
        frame = pd.DataFrame({"lc": np.log(C), "N": Nn, "g": groups if groups is not None else Nn})
        agg = frame.groupby("N", sort=True).agg(lc=("lc", "mean"), g=("g", "first"))
        C, Nn = np.exp(agg["lc"].to_numpy()), agg.index.to_numpy(float)
        groups = agg["g"].to_numpy()
    if len(np.unique(Nn)) < 2:
        raise ScalingLawsError(
            "fit_frontier_n_opt: fewer than 2 model sizes on the envelope's fitted rows (attained, not the "
            "smallest or largest size trained, below max_loss); train more sizes or pass drop_edge_sizes=False"
        )
    if groups is None:
        groups = Nn
    return fit_loglinear(
        C, Nn, law="frontier_n_opt", names=("k", "a"), x_name="C", y_name="N_opt", groups=groups,
        n_boot=n_boot, seed=seed, level=level, huber_scale=huber_scale, max_iter=max_iter,
        model=_frontier_model,
    )
