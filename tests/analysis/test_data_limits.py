"""data_limits.classify: which data-limited runs measure a data limit (every branch, on synthetic curves)."""

import numpy as np
import pandas as pd
from scalinglaws.analysis import data_limits as dl


def _run(rid, val, status="ok", N=1000, D=1e4):
    steps = np.round(np.geomspace(1, 1000, len(val))).astype(int)
    return pd.DataFrame({"run_id": rid, "step": steps, "tokens": steps * 2048, "val_loss": val, "status": status,
                         "is_final": steps == steps.max(), "N": N, "data_tokens": D, "final_val_loss": val[-1],
                         "best_val_loss": min(val), "epochs": steps * 2048 / D, "lr": 1e-3})


def test_classify_every_branch():
    t = np.linspace(0, 1, 20)
    runs = pd.concat([
        _run("min", 5 - 2 * t + 3 * np.clip(t - 0.4, 0, None) ** 2 * 10, status="early_stopped"),  # turns up
        _run("late_min", np.r_[5 - np.linspace(0, 1, 12), 4.0 + np.linspace(0.01, 0.3, 8)]),  # best in first half
        _run("flat", 4.0 + 0.3 * np.exp(-10 * t)),  # gains < 1% over the last doubling
        _run("falling", 5 - t),  # still falling: 10%+ per doubling
    ])
    c = dl.classify(runs).set_index("run_id")
    assert c.loc["min", "limit"] == "past its minimum"
    assert c.loc["late_min", "limit"] == "past its minimum"
    assert c.loc["flat", "limit"] == "saturated" and c.loc["flat", "gain_last_doubling"] < dl.SATURATION
    assert c.loc["falling", "limit"] == "still improving" and c.loc["falling", "gain_last_doubling"] > dl.SATURATION
    assert list(c["reached_min"]) == [lim != "still improving" for lim in c["limit"]]
    assert dl.counts(c.reset_index()) == "2 past their minimum, 1 saturated, 1 still improving (of 4)"


def test_saturation_threshold_is_the_rule():
    # The same curve is saturated or not depending only on the threshold: the rule, not the data, decides.
    runs = _run("r", 4.0 + 0.3 * np.exp(-10 * np.linspace(0, 1, 20)))
    gain = float(dl.classify(runs)["gain_last_doubling"].iloc[0])
    assert dl.classify(runs, saturation=gain * 1.01)["limit"].iloc[0] == "saturated"
    assert dl.classify(runs, saturation=gain * 0.99)["limit"].iloc[0] == "still improving"
