"""scalinglaws.plots: labels, styling, and byte-reproducible saving."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from scalinglaws import ScalingLawsError, fit
from scalinglaws.analysis import plots


def _example():
    """A two-panel figure: power law coloured by N with its fit, and learning curves."""
    rng = np.random.default_rng(0)
    N = np.geomspace(1e5, 1e9, 12)
    L = (8.8e13 / N) ** 0.076 * np.exp(rng.normal(0, 0.015, N.size))
    res = fit.fit_power_law(N, L, n_boot=50, seed=0)
    curves = pd.DataFrame(
        [
            {"run": f"r{i}", "N": n, "tokens": t, "val_loss": (8.8e13 / n) ** 0.076 + (1e7 / t) ** 0.3}
            for i, n in enumerate([1e5, 1e6, 1e7])
            for t in np.geomspace(1e6, 1e9, 25)
        ]
    )
    fig, (ax1, ax2) = plots.new_figure(1, 2)
    d1 = plots.powerlaw_plot(ax1, N, L, res, paper_alpha=0.076, color_by=N)
    d2 = plots.learning_curves(ax2, curves, run="run")
    return fig, res, {"scaling": d1, "curves": d2}, (N, L, curves)


def test_format_estimate():
    """One way of writing an estimate everywhere (scalinglaws.numbers): value [interval] (paper X)."""
    assert plots.format_estimate("α", 0.0912, (0.081, 0.102), paper=0.076) == "α = 0.0912 [0.081, 0.102] (paper 0.076)"
    assert plots.format_estimate("α", 0.0763) == "α = 0.0763"
    assert plots.format_estimate("N_c", 8.8e13, (6e13, 1.2e14), paper=8.8e13) == "N_c = 8.8e13 [6e13, 1.2e14] (paper 8.8e13)"
    assert plots.format_estimate("α", 0.08, (np.nan, np.nan)) == "α = 0.08"  # no interval: none written
    assert plots.format_estimate("B", 2048.0, (1500.0, 3000.0)) == "B = 2,048 [1,500, 3,000]"

def test_tick_labels():
    got = [plots.tick_label(v) for v in (1, 2.5, 1e3, 1e4, 3e5, 1e6, 1e9, 2e12, 1e18, 3e19)]
    assert got == ["1", "2.5", "1k", "10k", "300k", "1M", "1B", "2T", "1e18", "3e19"]


def test_powerlaw_plot_draws_what_it_returns():
    fig, res, data, (N, L, curves) = _example()
    ax1, ax2 = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    assert len(fig.axes) == 4  # two panels, each with its N colorbar
    assert ax1.get_xscale() == "log" and ax1.get_yscale() == "log"
    labels = [t.get_text() for t in ax1.get_legend().get_texts()]
    assert labels[1] == plots.fit_label(res, "alpha", paper=0.076)
    assert labels[1].startswith("α = 0.0") and labels[1].endswith("(paper 0.076)")
    fit_line = [ln for ln in ax1.get_lines() if ln.get_linestyle() == "--"]
    assert len(fit_line) == 1
    d1 = data["scaling"]
    np.testing.assert_array_equal(d1.loc[d1.series == "data", "x"], N)
    np.testing.assert_array_equal(d1.loc[d1.series == "data", "y"], L)
    np.testing.assert_allclose(d1.loc[d1.series == "fit", "y"], fit_line[0].get_ydata())
    # Learning curves: one line per run, in the run's colour order, with the data returned.
    assert len(ax2.get_lines()) == 3
    pd.testing.assert_frame_equal(
        data["curves"].sort_values(["run", "tokens"]).reset_index(drop=True),
        curves[["run", "N", "tokens", "val_loss"]].sort_values(["run", "tokens"]).reset_index(drop=True),
    )
    # Readable tick labels on the N axis.
    fig.canvas.draw()
    xt = {t.get_text() for t in ax1.get_xticklabels()}
    assert {"1M", "10M", "100M"} <= xt


def test_residual_plot():
    fig, res, _, _ = _example()
    fig2, ax = plots.new_figure()
    out = plots.residual_plot(ax, res)
    np.testing.assert_array_equal(out["residual"], res.residuals)
    np.testing.assert_array_equal(out["x"], res.points["x"])


def test_save_figure_is_byte_identical_and_csv_is_the_data(tmp_path):
    fig, _, data, _ = _example()
    p1 = plots.save_figure(fig, data["scaling"], tmp_path / "a", "fig")
    p2 = plots.save_figure(fig, data["scaling"], tmp_path / "b", "fig")
    assert set(p1) == {"png", "svg", "csv"}
    for ext in ("png", "svg", "csv"):
        assert p1[ext] == tmp_path / "a" / f"fig.{ext}"
        assert p1[ext].read_bytes() == p2[ext].read_bytes(), ext
    back = pd.read_csv(p1["csv"])
    pd.testing.assert_frame_equal(back, data["scaling"].reset_index(drop=True))
    svg = p1["svg"].read_text()
    assert "<dc:date>" not in svg and "scalinglaws" in svg
    png = p1["png"].read_bytes()
    assert b"Matplotlib version" not in png and b"Software" not in png
    # Several panels: one CSV with a leading 'panel' column.
    p3 = plots.save_figure(fig, data, tmp_path / "c", "both")
    both = pd.read_csv(p3["csv"])
    assert list(both.columns[:1]) == ["panel"] and set(both["panel"]) == {"scaling", "curves"}
    assert (both["panel"] == "curves").sum() == len(data["curves"])
    with pytest.raises(ScalingLawsError):
        plots.save_figure(fig, [1, 2], tmp_path, "bad")
    with pytest.raises(ScalingLawsError):
        plots.save_figure(fig, data["scaling"], tmp_path, "../escape")


def test_save_figure_is_identical_across_processes(tmp_path):
    """SVG ids are salted per process unless svg.hashsalt is fixed; check a fresh interpreter."""
    fig, _, data, _ = _example()
    here = plots.save_figure(fig, data, tmp_path / "here", "fig")
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})
        import matplotlib; matplotlib.use("Agg")
        from test_plots import _example
        from scalinglaws.analysis import plots
        fig, _, data, _ = _example()
        plots.save_figure(fig, data, {str(tmp_path / 'there')!r}, "fig")
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    for ext in ("png", "svg", "csv"):
        assert here[ext].read_bytes() == (tmp_path / "there" / f"fig.{ext}").read_bytes(), ext


def test_narrow_log_axis_gets_distinct_readable_labels():
    """A loss axis spanning 5.28-5.42 nats (the smoke profile's) is labelled with distinct values at the
    precision their spacing needs, not one label repeated or none."""
    fig, ax = plots.new_figure()
    ax.plot([1e6, 1e7], [5.28, 5.42])
    plots.log_axes(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert len(labels) >= 3 and len(set(labels)) == len(labels)
    vals = [float(x) for x in labels]
    assert min(vals) >= 5.2 and max(vals) <= 5.5 and vals == sorted(vals)


def test_powerlaw_plot_shows_excluded_points_apart_from_the_fit():
    """Points left out of a fit are drawn (grey) and returned as "excluded"; the fit line spans the fitted x only."""
    x = np.geomspace(1e3, 1e5, 8)
    y = 10.0 * x**-0.1
    res = fit.fit_power_law(x, y, n_boot=0)
    fig, ax = plots.new_figure()
    d = plots.powerlaw_plot(ax, x, y, res, excluded=(np.array([10.0, 100.0]), np.array([6.9, 6.0])), excluded_label="not fitted")
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["runs", "not fitted"]
    np.testing.assert_array_equal(d.loc[d.series == "excluded", "y"], [6.9, 6.0])
    assert d.loc[d.series == "fit", "x"].min() == pytest.approx(1e3)
    with pytest.raises(ScalingLawsError, match="excluded"):
        plots.powerlaw_plot(ax, x, y, excluded=([1.0], [2.0, 3.0]))

