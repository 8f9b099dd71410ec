"""The study's figures, made one consistent way.

* Style: seaborn "ticks" theme (white background, ticks, no grid), log-log axes, runs coloured
  by model size N on a logarithmic colour scale with a colorbar, fitted laws as dashed lines
  labelled "α = 0.09 ± 0.01 (paper 0.076)" (estimate ± half the 95 % CI width).
* Figures are `matplotlib.figure.Figure` objects drawn by the Agg canvas directly (no pyplot
  state, nothing left open in a loop); Jupyter still displays them. They use a fixed grid
  rather than a layout engine, so drawing them again never moves anything.
* `save_figure` writes ``<name>.png``, ``<name>.svg`` and ``<name>.csv`` (exactly the data
  plotted) with deterministic bytes: fixed ``svg.hashsalt``, no dates, no software versions.

Every plotting helper returns the tidy DataFrame of what it drew, ready for `save_figure`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from scalinglaws import ScalingLawsError
from scalinglaws.numbers import estimate

__all__ = [
    "set_style",
    "new_figure",
    "format_estimate",
    "fit_label",
    "tick_label",
    "log_axes",
    "log_subs",
    "log_colorbar",
    "colorbar_ticks",
    "reference_slope",
    "noise_band",
    "legend_below",
    "powerlaw_plot",
    "learning_curves",
    "residual_plot",
    "save_figure",
    "SAVE_RC",
]

# rcParams that make saved bytes reproducible. svg.hashsalt fixes the ids matplotlib puts in
# SVG (otherwise random per process); svg.fonttype "path" draws glyphs as paths so the file
# does not depend on the viewer's fonts.
SAVE_RC: dict[str, Any] = {"svg.hashsalt": "scalinglaws", "svg.fonttype": "path", "path.simplify": True}
_DPI = 200
_CMAP = "viridis"
_GREEK = {"alpha": "α", "beta": "β", "a": "a", "b": "b"}


def set_style() -> None:
    """Seaborn "ticks" theme at paper scale, plus the reproducibility settings."""
    sns.set_theme(style="ticks", context="paper", palette="colorblind")
    mpl.rcParams.update(SAVE_RC)
    mpl.rcParams.update({"legend.frameon": False, "axes.titlesize": "medium", "savefig.dpi": _DPI})


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None, **subplot_kw: Any):
    """A styled Figure on an Agg canvas and its axes (a single Axes when 1x1)."""
    set_style()
    # A fixed grid, not constrained layout: constrained layout starts from the current axes
    # positions and lands a few ulps elsewhere on every draw, so a figure saved twice would
    # differ in its pixels. Whitespace is trimmed at save time (bbox_inches="tight").
    fig = Figure(figsize=figsize or (4.6 * ncols, 3.4 * nrows))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.12, right=0.95, bottom=0.15, top=0.93, wspace=0.55, hspace=0.4)
    axes = fig.subplots(nrows, ncols, squeeze=True, **subplot_kw)
    return fig, axes


# ----------------------------------------------------------------------------- labels


def format_estimate(
    symbol: str,
    value: float,
    ci: tuple[float, float] | None = None,
    paper: float | None = None,
) -> str:
    """``"α = 0.0912 [0.081, 0.102] (paper 0.076)"``: numbers.estimate, the study's one way of writing an
    estimate (also in the tables and the printed lines)."""
    return estimate(value, ci, paper, symbol=symbol)


def fit_label(fit: Any, name: str, *, symbol: str | None = None, paper: float | None = None) -> str:
    """`format_estimate` for one parameter of a `scalinglaws.fit.FitResult`."""
    if name not in fit.params:
        raise ScalingLawsError(f"{fit.law} has no parameter {name!r}; it has {list(fit.params)}")
    return format_estimate(symbol or _GREEK.get(name, name), fit.params[name], fit.ci.get(name), paper)


def tick_label(value: float) -> str:
    """Readable log-axis labels: 1k, 10k, 1M, 3B, 1T; 1e18 beyond 1e15; plain below 1000."""
    if value <= 0 or not math.isfinite(value):
        return ""
    if value >= 1e15:  # FLOP budgets: 1e18 reads better than 1000000T
        exp = math.floor(math.log10(value) + 1e-9)
        mant = value / 10**exp
        return f"1e{exp}" if abs(mant - 1) < 1e-6 else f"{mant:.3g}e{exp}"
    for base, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= base * (1 - 1e-9):
            return f"{value / base:.3g}{suffix}"
    return f"{value:.3g}"


def log_axes(ax: Any, *, x: bool = True, y: bool = True) -> None:
    """Log scales with readable labels. Axes spanning under ~1.5 decades (losses) get ticks at
    1, 2, 3, 5 x 10^k so a loss axis from 2 to 6 is labelled, not left with one '10^0'."""
    for on, axis, scale, lim in ((x, ax.xaxis, ax.set_xscale, ax.get_xlim), (y, ax.yaxis, ax.set_yscale, ax.get_ylim)):
        if not on:
            continue
        scale("log")
        lo, hi = sorted(lim())  # get_xlim also settles matplotlib's lazy autoscaling
        if lo > 0 and hi / lo < 3:
            # Within a factor 3 (e.g. losses 4.6-5.9) 1-2-3-5 ticks leave one label or none, and 3
            # significant digits repeat ("5.3" five times); evenly spaced ticks with as many decimals
            # as their spacing needs read like the numbers in the tables.
            axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
            axis.set_major_formatter(FuncFormatter(lambda v, _pos, a=axis: _spaced_label(v, a)))
        else:
            axis.set_major_locator(LogLocator(base=10, subs=log_subs(lo, hi), numticks=12))
            axis.set_major_formatter(FuncFormatter(lambda v, _pos: tick_label(v)))
        axis.set_minor_formatter(NullFormatter())


# Tick multiples per decade, coarsest first: a log axis gets the coarsest set that still labels MIN_LOG_TICKS
# values inside its range (an aspect-ratio axis from 1.5 to 90 has only "10" at decades; 3, 10, 30 read it).
_SUBS = ((1.0,), (1.0, 3.0), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0))
MIN_LOG_TICKS = 3


def _ticks_in(lo: float, hi: float, subs: tuple[float, ...]) -> list[float]:
    """Values m·10^k (m in subs) between lo and hi (inclusive, up to rounding)."""
    out = []
    for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        out += [m * 10.0**k for m in subs if lo * (1 - 1e-9) <= m * 10.0**k <= hi * (1 + 1e-9)]
    return sorted(out)


def log_subs(lo: float, hi: float) -> tuple[float, ...]:
    """Multiples per decade for log ticks between lo and hi: 1-2-3-5 below a factor 30 (as before), otherwise
    the coarsest of decades, 1-3, 1-2-5 that gives at least MIN_LOG_TICKS ticks inside the range."""
    if not (lo > 0 and hi > lo):
        return (1.0,)
    if hi / lo < 30:
        return _SUBS[-1]
    for subs in _SUBS:
        if len(_ticks_in(lo, hi, subs)) >= MIN_LOG_TICKS:
            return subs
    return _SUBS[-1]


def _spaced_label(value: float, axis: Any) -> str:
    """A tick label with the decimals the axis's tick spacing needs (0.05 apart -> 2 decimals)."""
    ticks = np.asarray(axis.get_majorticklocs(), dtype=float)
    step = float(np.min(np.diff(ticks))) if len(ticks) > 1 else abs(value)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 2
    return f"{value:.{decimals}f}"


def _lognorm(values: np.ndarray) -> LogNorm:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) == 0:
        raise ScalingLawsError("colour values must include positive numbers for a log colour scale")
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        lo, hi = lo / 1.5, hi * 1.5
    return LogNorm(vmin=lo, vmax=hi)


def colorbar_ticks(lo: float, hi: float) -> list[float]:
    """Tick values for a log colour scale from lo to hi: log_subs's multiples, or, within a factor 3 (where
    they would leave one tick), evenly spaced round values; at least MIN_LOG_TICKS where the range allows."""
    if hi / lo < 3:
        ticks = [float(v) for v in MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)]
        ticks = [v for v in ticks if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
        return ticks if len(ticks) >= MIN_LOG_TICKS else [lo, math.sqrt(lo * hi), hi]
    return _ticks_in(lo, hi, log_subs(lo, hi))


def _colorbar(ax: Any, norm: LogNorm, cmap: str, label: str) -> Any:
    sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
    cb = ax.figure.colorbar(sm, ax=ax, label=label, pad=0.03, fraction=0.06)
    # Fixed ticks: matplotlib's own log locator labels only whole decades, so a colour scale spanning 2-64
    # (one decade boundary) showed a single "10".
    cb.ax.yaxis.set_major_locator(FixedLocator(colorbar_ticks(float(norm.vmin), float(norm.vmax))))
    cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: tick_label(v)))
    cb.ax.yaxis.set_minor_formatter(NullFormatter())
    return cb


def log_colorbar(ax: Any, values: Any, label: str, cmap: str = _CMAP) -> tuple[LogNorm, Any]:
    """A log colour scale over the positive ``values`` and its colour bar beside ``ax`` (label with the unit,
    e.g. "N (non-embedding parameters)"). Returns (norm, colorbar): colour points with ``c=values, norm=norm``."""
    norm = _lognorm(np.asarray(values, dtype=float))
    return norm, _colorbar(ax, norm, cmap, label)


# ----------------------------------------------------------------------------- plots


def powerlaw_plot(
    ax: Any,
    x: Any,
    y: Any,
    fit: Any = None,
    *,
    label_x: str = "N",
    label_y: str = "loss (nats/token)",
    paper_alpha: float | None = None,
    param: str = "alpha",
    symbol: str | None = None,
    color_by: Any = None,
    color_label: str = "N (parameters)",
    cmap: str = _CMAP,
    data_label: str = "runs",
    n_line: int = 100,
    excluded: tuple[Any, Any] | None = None,
    excluded_label: str = "not fitted",
) -> pd.DataFrame:
    """Points y(x) on log-log axes, optionally coloured by ``color_by`` (log scale, colorbar),
    and the fitted law as a dashed line labelled with ``param`` ± half-CI and the paper value.

    ``fit`` is a FitResult whose ``predict`` takes x alone (power laws, B_crit(L), N_opt(C)).
    ``excluded=(x, y)``: points shown in grey but left out of the fit (the fit line spans the fitted
    points only).
    Returns the plotted data: columns ``series`` ("data", "excluded" or "fit"), ``x``, ``y`` and,
    when coloured, ``color``.
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
    if len(x) != len(y):
        raise ScalingLawsError(f"x and y differ in length ({len(x)} vs {len(y)})")
    data = pd.DataFrame({"series": "data", "x": x, "y": y})
    if color_by is not None:
        c = np.asarray(color_by, dtype=float).reshape(-1)
        if len(c) != len(x):
            raise ScalingLawsError("color_by must have one value per point")
        norm = _lognorm(c)
        ax.scatter(x, y, c=c, cmap=cmap, norm=norm, s=22, edgecolors="white", linewidths=0.4, label=data_label, zorder=3)
        _colorbar(ax, norm, cmap, color_label)
        data["color"] = c
    else:
        ax.scatter(x, y, s=22, color="C0", edgecolors="white", linewidths=0.4, label=data_label, zorder=3)
    frames = [data]
    if excluded is not None:
        ex = np.asarray(excluded[0], dtype=float).reshape(-1), np.asarray(excluded[1], dtype=float).reshape(-1)
        if len(ex[0]) != len(ex[1]):
            raise ScalingLawsError(f"excluded x and y differ in length ({len(ex[0])} vs {len(ex[1])})")
        if len(ex[0]):
            ax.scatter(*ex, s=14, color="0.7", edgecolors="none", label=excluded_label, zorder=2)
            frames.append(pd.DataFrame({"series": "excluded", "x": ex[0], "y": ex[1]}))
    if fit is not None and not getattr(fit, "converged", True):
        ax.text(0.02, 0.02, f"no fit: {fit.law} did not converge", transform=ax.transAxes, fontsize="x-small", color="red")
        fit = None  # a failed fit is said, not drawn
    if fit is not None:
        pos = x[x > 0]
        xs = np.exp(np.linspace(np.log(pos.min()), np.log(pos.max()), n_line))
        ys = np.asarray(fit.predict(xs), dtype=float)
        label = fit_label(fit, param, symbol=symbol, paper=paper_alpha) if param in fit.params else fit.law
        ax.plot(xs, ys, ls="--", color="black", lw=1.2, label=label, zorder=4)
        line = pd.DataFrame({"series": "fit", "x": xs, "y": ys})
        if color_by is not None:
            line["color"] = np.nan
        frames.append(line)
    ax.set_xlabel(label_x)
    ax.set_ylabel(label_y)
    log_axes(ax)
    ax.legend(loc="best", fontsize="small")
    return pd.concat(frames, ignore_index=True)


def learning_curves(
    ax: Any,
    df: pd.DataFrame,
    x: str = "tokens",
    y: str = "val_loss",
    hue: str = "N",
    *,
    run: str | None = None,
    cmap: str = _CMAP,
    color_label: str | None = None,
    lw: float = 1.0,
    marker: str | None = None,
) -> pd.DataFrame:
    """One line per run (``run`` column, default ``hue``), coloured by ``hue`` on a log colour
    scale with a colorbar, log-log axes. Returns the plotted columns, sorted as drawn."""
    run = run or hue
    cols = list(dict.fromkeys([run, hue, x, y]))
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ScalingLawsError(f"learning_curves: columns {missing} not in {list(df.columns)}")
    norm = _lognorm(df[hue].to_numpy(float))
    cm = mpl.colormaps[cmap]
    plotted = []
    for _, g in df[cols].groupby(run, sort=True):
        g = g.sort_values(x, kind="mergesort")
        ax.plot(g[x], g[y], color=cm(norm(float(g[hue].iloc[0]))), lw=lw, marker=marker)
        plotted.append(g)
    _colorbar(ax, norm, cmap, color_label or hue)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    log_axes(ax)
    return pd.concat(plotted, ignore_index=True) if plotted else df[cols].iloc[:0]


def residual_plot(
    ax: Any,
    fit: Any,
    x: str | None = None,
    *,
    label_x: str | None = None,
    color_by: str | None = None,
    cmap: str = _CMAP,
) -> pd.DataFrame:
    """log-space residuals (observed/predicted, as log) of a FitResult against one of its
    inputs (default the first), log x-axis, zero line. Returns columns x, residual[, color]."""
    pts = fit.points
    x = x or fit.inputs[0]
    if x not in pts.columns:
        raise ScalingLawsError(f"residual_plot: {x!r} not among the fitted points' columns {list(pts.columns)}")
    xs = pts[x].to_numpy(float)
    r = np.asarray(fit.residuals, dtype=float)
    finite = np.isfinite(r)
    if not finite.all():  # a failed fit can predict 0 or inf; its residuals are not drawn
        ax.text(0.02, 0.02, f"{(~finite).sum()} residual(s) not finite ({fit.law} did not converge)",
                transform=ax.transAxes, fontsize="x-small", color="red")
        pts, xs, r = pts[finite], xs[finite], r[finite]
    out = pd.DataFrame({x: xs, "residual": r})
    if color_by is not None:
        c = pts[color_by].to_numpy(float)
        norm = _lognorm(c)
        ax.scatter(xs, r, c=c, cmap=cmap, norm=norm, s=16, zorder=3)
        _colorbar(ax, norm, cmap, color_by)
        out["color"] = c
    else:
        ax.scatter(xs, r, s=16, color="C0", zorder=3)
    ax.axhline(0.0, color="black", lw=0.8, ls="--")
    ax.set_xlabel(label_x or x)
    ax.set_ylabel("log(observed / fitted)")
    if len(xs):
        log_axes(ax, y=False)
    return out


def reference_slope(
    ax: Any,
    x: Any,
    y: Any,
    exponent: float,
    label: str,
    *,
    anchor: tuple[float, float] | None = None,
    color: str = "0.3",
) -> pd.DataFrame:
    """A published power-law slope drawn through our data: y ∝ x^(−exponent) as a dotted line over the range of
    ``x``, passing through ``anchor`` (default the geometric middle of the points: geometric mean of x and of y,
    the point a least-squares line in log-log space also passes through), so that only the slopes differ.
    Returns the line: columns ``series`` ("paper slope"), ``x``, ``y``."""
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 1:
        raise ScalingLawsError("reference_slope needs at least one point with positive x and y")
    if not math.isfinite(exponent):
        raise ScalingLawsError(f"reference_slope: exponent {exponent!r} is not a number")
    x, y = x[keep], y[keep]
    x0, y0 = anchor if anchor is not None else (float(np.exp(np.log(x).mean())), float(np.exp(np.log(y).mean())))
    xs = np.geomspace(x.min(), x.max(), 50) if x.max() > x.min() else np.array([x0])
    ys = y0 * (xs / x0) ** (-exponent)
    ax.plot(xs, ys, ls=":", color=color, lw=1.8, label=label, zorder=4)
    ax.plot([x0], [y0], marker="+", ms=9, mew=1.2, color=color, ls="none", zorder=5)
    return pd.DataFrame({"series": "paper slope", "x": xs, "y": ys})


def noise_band(ax: Any, half_width: float, label: str, *, center: float = 0.0) -> pd.DataFrame | None:
    """A grey horizontal band center ± half_width (e.g. ± 2 seed sd around a 0% difference): differences inside
    it are not told apart from seed noise. Nothing is drawn for a NaN half-width (no seed replicates); returns
    None then, else the band's two edges (columns ``edge`` "low"/"high", ``y``)."""
    if not np.isfinite(half_width):
        return None
    if half_width < 0:
        raise ScalingLawsError(f"noise_band: half-width {half_width} is negative")
    ax.axhspan(center - half_width, center + half_width, color="0.5", alpha=0.18, lw=0, label=label, zorder=1)
    return pd.DataFrame({"edge": ["low", "high"], "y": [center - half_width, center + half_width]})


def legend_below(ax: Any, ncol: int = 1, **kw: Any) -> Any:
    """The axes' legend under its x label, outside the data (a crowded legend inside covers points); the saved
    file's tight bounding box takes it in."""
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize="x-small", ncol=ncol, **kw)


# ----------------------------------------------------------------------------- saving


def _data_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        frames = []
        for key, df in data.items():
            if not isinstance(df, pd.DataFrame):
                raise ScalingLawsError(f"save_figure: data[{key!r}] is not a DataFrame")
            if "panel" in df.columns:
                raise ScalingLawsError(f"save_figure: data[{key!r}] already has a 'panel' column")
            frames.append(df.assign(panel=str(key))[["panel", *df.columns]])
        return pd.concat(frames, ignore_index=True)
    raise ScalingLawsError("save_figure: data must be a DataFrame or a dict of DataFrames")


def save_figure(fig: Any, data: Any, out_dir: str | os.PathLike, name: str) -> dict[str, Path]:
    """Write ``<out_dir>/<name>.png``, ``.svg`` and ``.csv``; returns their paths by extension.

    ``data`` is the DataFrame that was plotted (or a dict of them, one per panel, concatenated
    with a leading ``panel`` column holding each key). The CSV holds it as is (no index; floats in shortest
    round-trip form, so reading it back gives the same numbers). Bytes are deterministic:
    SVG without a date and with a fixed hash salt, PNG without the Software/version entry.
    """
    if not name or any(ch in name for ch in "/\\") or name.startswith("."):
        raise ScalingLawsError(f"save_figure: bad figure name {name!r}")
    frame = _data_frame(data)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {ext: out / f"{name}.{ext}" for ext in ("png", "svg", "csv")}
    if fig.get_layout_engine() is not None:
        # Run the layout engine once more, then pin the result: a layout engine re-solves on
        # every draw and its answer drifts slightly, which would make repeated saves differ.
        fig.canvas.draw_without_rendering()
        fig.set_layout_engine("none")
    with mpl.rc_context(SAVE_RC):
        fig.savefig(paths["png"], format="png", dpi=_DPI, bbox_inches="tight", metadata={"Software": None})
        fig.savefig(paths["svg"], format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": "scalinglaws"})
    frame.to_csv(paths["csv"], index=False, lineterminator="\n")
    return paths
