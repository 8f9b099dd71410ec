"""The prediction exercise (scalinglaws.exercise): a budget charged in real FLOPs, refusals before training,
reuse without retraining, and an answer key that scores a prediction without training anything."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scalinglaws import ScalingLawsError
from scalinglaws import exercise as E
from scalinglaws.analysis import prediction_exercise as PE


def _no_training(monkeypatch):
    """Any training from here on fails the test (ensure_runs' executors import train_run at call time)."""
    import scalinglaws.training.loop as loop

    def refuse(*a, **k):
        raise AssertionError("something was trained")

    monkeypatch.setattr(loop, "train_run", refuse)


def _folders(d):
    return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.exists() else []


@pytest.fixture
def budget(tmp_path, small_tokens):
    return E.Budget(3e9, profile="smoke", runs_dir=tmp_path / "runs", workers=1, log="none")


# ------------------------------------------------------------------------------------------- accounting
def test_a_run_past_the_budget_is_refused_before_training_with_what_is_left(budget, monkeypatch):
    _no_training(monkeypatch)
    spec = budget.spec(2, 32, tokens=200_000)
    assert budget.cost(spec) > budget.flops
    refused = r"refused before training: this run costs C_full = .* but only 3e\+09 of 3e\+09 are left"
    with pytest.raises(E.BudgetError, match=refused) as e:
        budget.train(2, 32, tokens=200_000)
    assert "\n" not in str(e.value)
    assert budget.spent == 0 and budget.runs.empty and not _folders(budget.runs_dir)


def test_the_charge_is_the_runs_full_flops_from_its_metrics_and_a_repeat_is_free(budget):
    row = budget.train(1, 16, flops=5e8)
    metrics = [json.loads(x) for x in (budget.runs_dir / row["run_id"] / "metrics.jsonl").read_text().splitlines()]
    assert budget.spent == pytest.approx(metrics[-1]["C_full"], rel=1e-12)
    assert row["C_full"] == pytest.approx(metrics[-1]["C_full"], rel=1e-12)
    assert row["C_6ND"] == pytest.approx(metrics[-1]["C"])
    # the full count exceeds 6ND at this size (context and de-embedding), and the run fits in what was asked for
    assert row["C_6ND"] < row["C_full"] <= 5e8 and row["D"] == metrics[-1]["tokens"] and not row["reused"]
    assert budget.left == pytest.approx(3e9 - row["C_full"])
    spent = budget.spent
    again = budget.train(1, 16, flops=5e8)  # the same spec: the same run, already paid for
    assert again["run_id"] == row["run_id"] and budget.spent == spent and len(budget.runs) == 1


def test_a_stored_run_is_reused_without_training_but_charged_once(smoke_key, monkeypatch):
    store, key = smoke_key
    _no_training(monkeypatch)
    best = key.slice.loc[key.slice["loss"].idxmin()]
    b = E.Budget(1e12, profile="smoke", runs_dir=store, workers=1, log="none")
    row = b.train(n_params=best["N"] * 1.05, tokens=int(best["tokens"]))  # by N: the nearest shape is the key's best
    assert row["run_id"] == best["run_id"] and bool(row["reused"])
    metrics = [json.loads(x) for x in (store / row["run_id"] / "metrics.jsonl").read_text().splitlines()]
    assert b.spent == pytest.approx(metrics[-1]["C_full"], rel=1e-12)  # reuse saves time, not compute
    b.train(int(best["n_layer"]), int(best["d_model"]), tokens=int(best["tokens"]))
    assert b.spent == pytest.approx(metrics[-1]["C_full"], rel=1e-12) and len(b.runs) == 1


def test_bad_requests_are_one_line_errors(budget):
    with pytest.raises(ScalingLawsError, match=r"shape \(7, 16\) is not on offer"):
        budget.spec(7, 16, tokens=10_000)
    with pytest.raises(ScalingLawsError, match="tokens=... or its compute as flops="):
        budget.spec(1, 16)
    with pytest.raises(ScalingLawsError, match="at least one step"):
        budget.spec(1, 16, tokens=10)
    with pytest.raises(ScalingLawsError, match="positive number of FLOPs"):
        E.Budget(-1, profile="smoke")
    with pytest.raises(ScalingLawsError, match="no exercise level 'huge'"):
        E.Budget(profile="huge")


# ------------------------------------------------------------------------------------------- scoring
def _synthetic_key(noise_sd=0.01):
    """An exact parabola in log N with its minimum 4.0 at N = 2e4: the key curve is that parabola."""
    n = np.array([5e3, 1e4, 2e4, 4e4, 8e4])
    sl = pd.DataFrame({"N": n, "loss": 4.0 + 0.5 * np.log(n / 2e4) ** 2, "n_layer": 1, "d_model": 16,
                       "run_id": list("abcde")})
    seeds = pd.DataFrame({"seed": [0, 1, 2], "N": 2e4, "loss": [4.0, 4.0 + noise_sd, 4.0 - noise_sd]})
    return E.AnswerKey("quick", 1.5e12, sl, seeds)


def test_score_on_a_synthetic_slice_gives_the_right_regret_and_position():
    key = _synthetic_key()
    s = PE.score(1e4, 4.3, key.slice, key.noise_sd)
    assert s["best_N"] == pytest.approx(2e4, rel=0.01) and s["best_loss"] == pytest.approx(4.0, abs=1e-6)
    assert s["loss_at_N"] == pytest.approx(4.0 + 0.5 * math.log(2) ** 2)
    assert s["regret"] == pytest.approx(0.5 * math.log(2) ** 2, abs=1e-5)
    assert s["decades"] == pytest.approx(-math.log10(2), abs=0.005) and s["inside"]
    assert (s["below"], s["above"]) == (1e4, 1e4)
    assert s["loss_error"] == pytest.approx(4.3 - s["loss_at_N"]) and s["noise_sd"] == pytest.approx(0.01)
    between = PE.score(3e4, 4.05, key.slice, key.noise_sd)  # off the sizes: still on the parabola
    assert between["loss_at_N"] == pytest.approx(4.0 + 0.5 * math.log(1.5) ** 2)
    assert (between["below"], between["above"]) == (2e4, 4e4)
    at_best = PE.score(2e4, 4.0, key.slice, key.noise_sd)
    assert at_best["regret"] == pytest.approx(0, abs=1e-5) and at_best["regret"] >= 0
    outside = PE.score(2e5, 3.9, key.slice, key.noise_sd)
    assert math.isnan(outside["regret"]) and not outside["inside"]


def test_the_verdict_against_the_keys_noise_follows_the_numbers():
    key = _synthetic_key(noise_sd=0.01)
    near = "\n".join(PE.describe(PE.score(2.1e4, 4.001, key.slice, key.noise_sd), key.slice))
    far = "\n".join(PE.describe(PE.score(5e3, 4.0, key.slice, key.noise_sd), key.slice))
    assert "regret (0.0012) is within the key's noise" in near and "a real difference" not in near
    assert "regret (0.9609) is beyond the key's noise" in far
    out = PE.describe(PE.score(2e5, 3.9, key.slice, key.noise_sd), key.slice)
    assert any("no regret is scored" in line for line in out)


def test_check_with_a_synthetic_key_writes_a_figure_with_its_data(tmp_path, monkeypatch):
    _no_training(monkeypatch)
    res = E.check(E.Prediction(n_params=1e4, loss=4.3), "quick", key=_synthetic_key(), figures_dir=tmp_path)
    assert res.score["regret"] == pytest.approx(0.5 * math.log(2) ** 2, abs=1e-5)
    assert "2.00× below" in str(res)
    data = pd.read_csv(res.figure["csv"])
    assert list(data.columns) == ["series", "N", "loss"] and (data["series"] == "key slice").sum() == 5
    assert res.figure["png"].read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ScalingLawsError, match="n_params=... .* or shape="):
        E.check(E.Prediction(loss=4.0), "quick", key=_synthetic_key())


def test_check_reads_only_and_names_the_command_that_trains_a_missing_key(tmp_path, small_tokens, monkeypatch):
    _no_training(monkeypatch)
    store = tmp_path / "runs"
    store.mkdir()
    missing = r"not in .*; train it once with: python -m scalinglaws.exercise train-key smoke"
    with pytest.raises(ScalingLawsError, match=missing) as e:
        E.check(E.Prediction(n_params=1e4, loss=5.0), "smoke", key_dir=store)
    assert "\n" not in str(e.value) and _folders(store) == []


@pytest.fixture(scope="module")
def smoke_key(tmp_path_factory, small_tokens):
    """A smoke answer key trained once for this module: 3 sizes of 14-52 steps and one extra seed."""
    mp = pytest.MonkeyPatch()
    mp.setitem(E.LEVELS, "smoke", E.Level("smoke", "smoke", 2e8, key_seeds=(1,)))
    store = tmp_path_factory.mktemp("smoke_key") / "runs"
    yield store, E.train_key("smoke", store, workers=1)
    mp.undo()


def test_check_against_a_trained_key_trains_nothing(smoke_key, monkeypatch):
    store, key = smoke_key
    assert len(key.slice) >= 3 and list(key.seeds["seed"]) == [0, 1]
    assert key.seeds["N"].iloc[0] == key.slice.loc[key.slice["loss"].idxmin(), "N"]
    before = _folders(store)
    _no_training(monkeypatch)
    res = E.check(E.Prediction(shape=(2, 16), loss=5.0), "smoke", key_dir=store)
    assert _folders(store) == before
    assert res.key.slice.equals(key.slice) and res.score["noise_sd"] == pytest.approx(key.noise_sd)
    assert res.score["regret"] >= 0
