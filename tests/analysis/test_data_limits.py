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


def _fitted():
    """Four fitted runs as 02 has them: two early-stopped with few steps per epoch, one saturated, one good."""
    return pd.DataFrame({"data_tokens": [1e4, 3e4, 1e5, 3e5], "step": [289, 698, 2929, 6000],
                         "epochs": [59.19, 47.65, 59.99, 20.0], "best_val_loss": [5.65, 5.14, 4.56, 4.1],
                         "limit": ["past its minimum", "past its minimum", "saturated", "past its minimum"],
                         "reached_min": True})


def test_usability_marks_few_steps_per_epoch_and_no_early_stopping_minimum():
    u = dl.usability(_fitted())
    assert np.allclose(u.steps_per_epoch, [289 / 59.19, 698 / 47.65, 2929 / 59.99, 300.0])
    assert list(u.usable) == [False, False, False, True]
    assert u.caveat[0] == "4.88 steps/epoch < 40" and u.caveat[3] == ""
    assert u.caveat[2] == "no early-stopping minimum (saturated)"
    both = dl.usability(_fitted().assign(step=[10] * 4))
    assert both.caveat[2] == "0.167 steps/epoch < 40; no early-stopping minimum (saturated)"
    note = dl.usability_note(u)
    assert note.startswith("1 of 4 fitted points are usable") and "D=1e+04: 4.88 steps/epoch < 40" in note
    assert dl.usability_note(u[u.usable]) == ("1 of 1 fitted points are usable (an early-stopping minimum with >= 40 "
                                              "optimizer steps per epoch)")


def test_usability_sentence_in_every_branch():
    u = dl.usability(_fitted())
    assert "rests on 1 usable point and" in dl.interpret_usability(u)
    assert "rests on 0 usable points" in dl.interpret_usability(u.iloc[:3])
    assert dl.interpret_usability(u[u.usable]).startswith("All 1 fitted points")
    assert dl.interpret_usability(u.iloc[:0]).startswith("No run")
