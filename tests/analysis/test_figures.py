"""The claim figures of notebooks 01, 03 and 06 (issue #31): the paper's slope drawn through our data, the seed-noise
band, readable log ticks and colour bars, and axis labels that say their unit. Synthetic inputs, no training."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from scalinglaws import ScalingLawsError
from scalinglaws import fit as F
from scalinglaws.analysis import critical_batch as bs
from scalinglaws.analysis import model_size as ms
from scalinglaws.analysis import plots as P
from scalinglaws.analysis import shape as sh

PAPER_ALPHA_N = 0.076


def _panels(fig):
    return [a for a in fig.axes if a.get_label() != "<colorbar>"]


def _colorbars(fig):
    return [a for a in fig.axes if a.get_label() == "<colorbar>"]


def _visible_ticks(axis, lo, hi):
    """Labelled major tick values inside [lo, hi] after a draw."""
    axis.axes.figure.canvas.draw()
    locs = axis.get_majorticklocs()
    labels = [t.get_text() for t in axis.get_ticklabels()]
    return [v for v, s in zip(locs, labels) if s and lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]


def _no_overlap(axis):
    """No two visible tick labels of an axis overlap (in display pixels)."""
    fig = axis.axes.figure
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in axis.get_ticklabels() if t.get_text() and t.get_visible()]
    return all(not a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def _line(ax, label_part):
    hits = [ln for ln in ax.get_lines() if label_part in ln.get_label()]
    assert len(hits) == 1, [ln.get_label() for ln in ax.get_lines()]
    return hits[0]


# ------------------------------------------------------------------ ticks and colour bars


@pytest.mark.parametrize("lo, hi", [(1.5, 90.0), (3.3e3, 4e5), (0.5, 8.0), (128.0, 4096.0), (1e3, 1e9)])
def test_log_axes_label_at_least_three_ticks_inside_the_range(lo, hi):
    fig, ax = P.new_figure()
    ax.plot([lo, hi], [1.0, 2.0])
    ax.set_xlim(lo, hi)
    P.log_axes(ax, y=False)
    ticks = _visible_ticks(ax.xaxis, lo, hi)
    assert len(ticks) >= 3, ticks
    assert _no_overlap(ax.xaxis)


@pytest.mark.parametrize("lo, hi", [(2 * 64, 64 * 64), (3.3e3, 4e5), (4.6, 5.9), (100.0, 1000.0)])
def test_colorbar_has_three_or_more_readable_ticks(lo, hi):
    fig, ax = P.new_figure()
    norm, cb = P.log_colorbar(ax, [lo, hi], "batch size (tokens per step)")
    assert (norm.vmin, norm.vmax) == (lo, hi)
    ticks = _visible_ticks(cb.ax.yaxis, lo, hi)
    assert len(ticks) >= 3, ticks
    labels = [t.get_text() for t in cb.ax.get_yticklabels() if t.get_text()]
    assert len(set(labels)) == len(labels)  # distinct: no "5.3" five times
    assert cb.ax.get_ylabel() == "batch size (tokens per step)"


# ------------------------------------------------------------------ the paper's slope through the data


def test_reference_slope_has_the_paper_slope_and_passes_through_the_geometric_middle():
    fig, ax = P.new_figure()
    x = np.geomspace(3e3, 4e5, 7)
    y = 9.0 * x**-0.05
    d = P.reference_slope(ax, x, y, PAPER_ALPHA_N, "paper")
    slope = np.polyfit(np.log(d["x"]), np.log(d["y"]), 1)[0]
    assert slope == pytest.approx(-PAPER_ALPHA_N, abs=1e-12)
    x0, y0 = math.exp(np.log(x).mean()), math.exp(np.log(y).mean())
    assert np.interp(math.log(x0), np.log(d["x"]), np.log(d["y"])) == pytest.approx(math.log(y0), abs=1e-12)
    assert d["x"].min() == pytest.approx(x.min()) and d["x"].max() == pytest.approx(x.max())
    assert _line(ax, "paper").get_linestyle() == ":"
    with pytest.raises(ScalingLawsError, match="positive"):
        P.reference_slope(ax, [-1.0], [2.0], PAPER_ALPHA_N, "paper")


def _model_size_inputs(seed=0):
    rng = np.random.default_rng(seed)
    N = np.repeat(np.geomspace(3.3e3, 4e5, 7), 2)  # two seeds per size
    L = (1e12 / N) ** 0.05 * np.exp(rng.normal(0, 0.005, N.size))
    points = pd.DataFrame({"N": N, "final_val_loss": L})
    fit_final = F.fit_power_law(points["N"], points["final_val_loss"], groups=points["N"], n_boot=0)
    sizes = np.unique(N)
    budgets = pd.DataFrame({"N": sizes, "tokens": 2_000_000, "L": (1e12 / sizes) ** 0.02 * 1.1})
    conv = pd.DataFrame({"N": sizes, "n_layer": [1, 2, 2, 2, 2, 2, 2],
                         "converged": [True, True, True, False, False, False, False],
                         "L_at_max": (1e12 / sizes) ** 0.05 * 0.98})
    fixed = {2_000_000: F.fit_power_law(budgets["N"], budgets["L"], n_boot=0), 8_000_000: fit_final}
    return points, fit_final, conv, budgets, fixed


def test_loss_vs_N_figure_draws_the_paper_slope_through_our_middle_size():
    points, fit_final, conv, budgets, fixed = _model_size_inputs()
    fig, data = ms.loss_vs_N_figure(points, fit_final, conv, None, fixed, budgets, 8_000_000, PAPER_ALPHA_N)
    ax, ax2 = _panels(fig)
    paper = _line(ax, "Kaplan et al. 2020 slope")
    assert "0.076" in paper.get_label() and "anchored at our middle size" in paper.get_label()
    assert paper.get_linestyle() == ":"
    xs, ys = (np.asarray(v, float) for v in paper.get_data())
    assert np.polyfit(np.log(xs), np.log(ys), 1)[0] == pytest.approx(-PAPER_ALPHA_N, abs=1e-12)
    x0 = math.exp(np.log(points["N"]).mean())
    y0 = math.exp(np.log(points["final_val_loss"]).mean())
    assert np.interp(math.log(x0), np.log(xs), np.log(ys)) == pytest.approx(math.log(y0), abs=1e-12)
    # through the data: the line spans our sizes
    assert xs.min() == pytest.approx(points["N"].min()) and xs.max() == pytest.approx(points["N"].max())
    # no other dotted line competes with it (the other budgets' fits are dash-dot)
    dotted = [ln.get_label() for ln in ax.get_lines() if ln.get_linestyle() == ":" and not ln.get_label().startswith("_")]
    assert dotted == [paper.get_label()]
    # the saved tables: the same names and columns as before, plus the paper line in the existing columns
    assert set(data) == {"fit", "converged", "residuals", "other_budgets", "paper_slope"}
    assert list(data["fit"].columns) == ["series", "x", "y"] and list(data["paper_slope"].columns) == ["series", "x", "y"]
    assert list(data["other_budgets"].columns) == ["N", "tokens", "L", "L_fit"]
    assert "nats/token" in ax.get_ylabel() and "parameters" in ax.get_xlabel() and "parameters" in ax2.get_xlabel()


# ------------------------------------------------------------------ shape: the seed-noise band


def _shape_table():
    rows = []
    for size, aspects, pens in (("100000", [1.5, 4, 8, 18, 32, 90], [6.0, 2.4, 0.0, 1.6, 3.1, 0.1]),
                                ("30000", [1.5, 5, 6, 16, 48], [3.2, 0.5, 0.4, 1.0, 0.0])):
        rows += [{"kind": "aspect", "size": size, "aspect_ratio": a, "increase_pct": p} for a, p in zip(aspects, pens)]
    rows += [{"kind": "ff", "size": "30000", "ff_ratio": r, "increase_pct": p}
             for r, p in zip([0.5, 1, 2, 4, 8], [0.8, 0.4, 0.8, 2.4, 0.0])]
    rows += [{"kind": "heads", "size": "30000", "head_dim": r, "increase_pct": p}
             for r, p in zip([4, 8, 16, 32], [0.0, 1.2, 1.4, 0.4])]
    t = pd.DataFrame(rows)
    return t.assign(N=1e5, final_val_loss=4.0 * (1 + t.increase_pct / 100), L_corrected=4.0 * (1 + t.increase_pct / 100))


def _band(ax):
    spans = [p for p in ax.patches if "seed noise" in p.get_label()]
    assert len(spans) == 1
    span = spans[0]  # axhspan: a Rectangle from y to y + height in data units (x in axes units)
    y0, y1 = sorted((span.get_y(), span.get_y() + span.get_height()))
    return float(y0), float(y1), span.get_label()


def test_shape_figure_band_is_two_seed_sd_wide_around_zero_on_every_panel():
    noise_pct = 0.45
    fig, data = sh.shape_figure(_shape_table(), noise_pct)
    panels = _panels(fig)
    assert len(panels) == 3
    for ax in panels:
        lo, hi, label = _band(ax)
        assert (lo, hi) == pytest.approx((-2 * noise_pct, 2 * noise_pct))
        assert "2" in label and f"{2 * noise_pct:.2g}%" in label
        assert ax.get_xscale() == "log" and "%" in ax.get_ylabel()
        lim = ax.get_xlim()
        assert len(_visible_ticks(ax.xaxis, *lim)) >= 3 and _no_overlap(ax.xaxis)
        assert any("tolerance" in ln.get_label() for ln in ax.get_lines())
    assert data["seed_noise"]["increase_pct"].tolist() == pytest.approx([-0.9, 0.9])
    assert {"aspect", "ff", "heads"} <= set(data)


def test_shape_figure_without_seed_replicates_draws_no_band_and_says_so():
    fig, data = sh.shape_figure(_shape_table(), math.nan)
    for ax in _panels(fig):
        assert not [p for p in ax.patches if "seed noise" in p.get_label()]
    assert "seed_noise" not in data
    assert any("no seed replicates" in t.get_text() for t in _panels(fig)[0].texts)


# ------------------------------------------------------------------ critical batch and noise scale


def _batch_inputs():
    n_ctx, rows = 64, []
    for b in (2, 4, 8, 16, 32, 64):
        for tok in np.geomspace(1e3, 1e7, 20):
            rows.append({"run_id": f"b{b}", "batch_size": b, "n_ctx": n_ctx, "tokens": tok,
                         "val_loss": 4.0 + 3.0 / (1 + tok / (2e3 * b))})
    main = pd.DataFrame(rows)
    table = []
    for target, bcrit in ((5.2, 1.4e3), (4.8, 3.4e3)):
        B = np.array([2, 4, 8, 16, 32, 64], float) * n_ctx
        S = 300 * (1 + bcrit / B)
        pts = pd.DataFrame({"target": target, "run_id": [f"b{b}" for b in (2, 4, 8, 16, 32, 64)], "seed": 0,
                            "batch_tokens": B, "steps": S, "examples": S * B})
        table.append({"target": target, "S_min": 300.0, "B_crit": bcrit, "B_crit_low": bcrit / 1.2,
                      "B_crit_high": bcrit * 1.2,
                      "points": pts, "message": "", "unreliable": ""})
    return main, pd.DataFrame(table)


def test_critical_batch_figure_colours_by_batch_in_tokens_with_a_readable_colour_bar():
    main, table = _batch_inputs()
    fig, pts = bs.critical_batch_figure(main, table)
    (cb,) = _colorbars(fig)
    assert cb.get_ylabel() == "batch size (tokens per step)"
    assert len(_visible_ticks(cb.yaxis, 2 * 64, 64 * 64)) >= 3
    a1, a2 = _panels(fig)
    assert "nats/token" in a1.get_ylabel() and "tokens" in a1.get_xlabel()
    assert a2.get_xlabel().endswith("(steps)") and a2.get_ylabel().endswith("(tokens)")
    labels = [t.get_text() for t in a2.get_legend().get_texts()]
    assert labels == ["L = 5.20 nats: B_crit = 1.4k tokens/step", "L = 4.80 nats: B_crit = 3.4k tokens/step"]
    assert list(pts.columns) == ["target", "run_id", "seed", "batch_tokens", "steps", "examples"] and len(pts) == 12


def test_critical_batch_figure_flags_a_b_crit_the_batches_do_not_bracket():
    main, table = _batch_inputs()
    table.loc[1, "unreliable"] = "B_crit beyond the largest batch"
    fig, _ = bs.critical_batch_figure(main, table)
    labels = [t.get_text() for t in _panels(fig)[1].get_legend().get_texts()]
    assert labels[1].endswith("(not bracketed)") and not labels[0].endswith("(not bracketed)")


def test_noise_scale_figure_has_a_colour_bar_of_N_with_units_and_several_ticks():
    rng = np.random.default_rng(0)
    N = np.repeat([3.3e3, 1e4, 3e4, 1e5, 4e5], 6)
    windows = pd.DataFrame({"run_id": [f"r{n:g}" for n in N], "N": N, "L": rng.uniform(4, 5.5, N.size),
                            "B_simple": rng.uniform(1e3, 1e4, N.size)})
    _, table = _batch_inputs()
    fig, data = bs.noise_scale_figure(windows, table)
    (cb,) = _colorbars(fig)
    assert "N" in cb.get_ylabel() and "parameters" in cb.get_ylabel()
    assert len(_visible_ticks(cb.yaxis, 3.3e3, 4e5)) >= 3
    (ax,) = _panels(fig)
    assert "tokens per step" in ax.get_ylabel() and "nats/token" in ax.get_xlabel()
    assert set(data) == {"B_simple", "B_crit"} and "points" not in data["B_crit"] and "message" not in data["B_crit"]
