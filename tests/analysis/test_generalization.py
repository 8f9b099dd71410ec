"""generalization and context: the laws recover known synthetic truths, and every printed sentence is true
in each branch."""

import numpy as np
import pandas as pd
from scalinglaws.analysis import context_and_lstm as cx
from scalinglaws.analysis import generalization as gz


def _final(slope, offset, n=6, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    x = np.linspace(4.2, 5.0, n)
    return pd.DataFrame({"run_id": [f"r{i}" for i in range(n)], "set": "s", "val_loss": x,
                         "loss": offset + x + (slope - 1) * (x - x.mean()) + rng.normal(0, noise, n)})


def test_offset_line_recovers_slope_and_offset():
    line = gz.offset_line(_final(1.0, 0.5, noise=0.005), "s", n_boot=100)
    assert abs(line.slope - 1) < 0.05 and abs(line.offset_at_ref - 0.5) < 0.02
    assert line.slope_ci[0] <= 1 <= line.slope_ci[1]
    assert "constant offset" in gz.describe_offset(line) and "inside" in gz.describe_offset(line)
    steep = gz.offset_line(_final(1.6, 0.5, noise=0.002), "s", n_boot=100)
    assert steep.slope_ci[0] > 1 and "widens" in gz.describe_offset(steep)
    flat = gz.offset_line(_final(0.5, 0.5, noise=0.002), "s", n_boot=100)
    assert flat.slope_ci[1] < 1 and "narrows" in gz.describe_offset(flat)
    assert gz.offset_line(_final(1.0, 0.5, n=2), "s") is None  # too few runs: no line


def test_phase_residual_only_inside_the_fitted_range_and_every_branch():
    f = _final(1.0, 0.5, noise=0.001)
    line = gz.offset_line(f, "s", n_boot=50)
    rows = []
    for shift, name in ((0.0, "on"), (0.2, "above")):
        for i, x in enumerate(np.linspace(4.25, 4.95, 6)):
            rows.append({"run_id": f"{name}{i}", "set": "s", "val_loss": x, "loss": line.predict([x])[0] + shift,
                         "is_final": False, "after_warmup": True})
    rows.append({"run_id": "early", "set": "s", "val_loss": 6.5, "loss": 99.0, "is_final": False, "after_warmup": True})
    c = pd.DataFrame(rows)
    on = gz.phase_residual(c[c.run_id.str.startswith(("on", "early"))], line, n_boot=50)
    assert abs(on["mean"]) < 1e-9 and on["n_points"] == 6  # the point at 6.5 nats lies outside the fitted range
    assert "zero is inside" in gz.describe_phase("s", on)
    above = gz.phase_residual(c[c.run_id.str.startswith("above")], line, n_boot=50)
    assert abs(above["mean"] - 0.2) < 1e-9 and "above it" in gz.describe_phase("s", above) and "worse" in gz.describe_phase("s", above)
    assert "no mid-training" in gz.describe_phase("s", {"mean": None})


def test_position_law_and_late_gain_branches():
    t = np.arange(1, 129)
    small = 4.5 + (3 / t) ** 0.5
    big = 4.2 + (3 / t) ** 0.5 - 0.002 * np.log(t)  # better everywhere, more so late
    pos = cx.position_table([{"run_id": "a", "N": 1e3, "losses": small}, {"run_id": "b", "N": 1e5, "losses": big}])
    fit = cx.fit_position_law(pos[pos.run_id == "a"], n_boot=20)
    assert abs(fit.params["alpha"] - 0.5) < 0.02 and abs(fit.params["E"] - 4.5) < 0.02
    g = cx.late_gain(pos, "a", "b", (2, 8), (64, 128))
    assert g["late_gain"] > g["early_gain"] > 0 and "as Kaplan found" in cx.describe_late_gain(g, 1e3, 1e5)
    worse = cx.late_gain(pos, "b", "a", (2, 8), (64, 128))  # the "larger" model is worse everywhere
    assert "higher by" in cx.describe_late_gain(worse, 1e5, 1e3) and "does not improve" in cx.describe_late_gain(worse, 1e5, 1e3)
    flat_after_16 = pd.DataFrame({"t": t, "loss": 4.5 + np.where(t < 16, (16 / t) ** 0.5 - 1, 0.0)})
    assert cx.plateau_position(flat_after_16) == 16  # an LSTM-like curve: context beyond 16 tokens does not help
    assert cx.plateau_position(pos[pos.run_id == "a"]) == 128  # a power law still falls > 1% per doubling at the end
    assert cx.plateau_position(pd.DataFrame({"t": t, "loss": 5 - 0.01 * t})) == 128
