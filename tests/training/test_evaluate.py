"""Extra eval sets, loss by position and kept weights (issue 18): measured beside a run, never changing it."""

import itertools
import json
import math
import shutil
import types

import numpy as np
import pytest
from scalinglaws.data.corpus import CorpusError
from scalinglaws.store.ensure import ensure_runs
from scalinglaws.store.tables import load_evals, load_positions
from scalinglaws.training import loop as train_mod
from scalinglaws.training.evaluate import (
    MissingWeightsError,
    Scorer,
    evaluate_run,
    load_model,
    position_losses,
    validation_windows,
)
from scalinglaws.training.loop import train_run
from scalinglaws.training.run_folder import read_evals, read_metrics, read_positions, verify_run

PY, FORTUNES = "ood:python-stdlib-source", "ood:fortunes"
FILES = ("config.json", "metrics.jsonl", "summary.json")


def _fake_clock():
    """train.time with a perf_counter that counts calls: wall_s and tokens/s become reproducible, so two
    runs' metrics.jsonl and summary.json can be compared byte for byte."""
    c = itertools.count()
    return types.SimpleNamespace(perf_counter=lambda: next(c) * 0.001)


@pytest.fixture(scope="module")
def pair(small_tokens, tmp_path_factory):
    """The same tiny spec trained twice, with and without two extra eval sets (each on a fresh fake clock)."""
    from scalinglaws.training.spec import RunSpec

    spec = RunSpec(n_layer=2, d_model=16, n_ctx=64, corpus="gutenberg:12", vocab_size=512, tokens=16 * 64 * 300,
                   batch_size=16, lr=2e-2, eval_points=6, eval_tokens=8192)
    root = tmp_path_factory.mktemp("evalsets")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        for name, sets in (("plain", None), ("sets", [PY, FORTUNES])):
            mp.setattr(train_mod, "time", _fake_clock())
            out[name] = train_run(spec, root / name, threads=1, log="none", eval_sets=sets)
    return types.SimpleNamespace(spec=spec, **out)


def _copy(run, tmp_path):
    dst = tmp_path / "store" / run.name
    shutil.copytree(run, dst)
    return dst


def test_extra_sets_change_nothing_of_the_run(pair):
    """Same address; config.json, metrics.jsonl and summary.json byte for byte what they are without them."""
    assert pair.plain.name == pair.sets.name == pair.spec.run_id
    for f in FILES:
        assert (pair.plain / f).read_bytes() == (pair.sets / f).read_bytes(), f
    assert read_evals(pair.plain) == [] and verify_run(pair.plain) == verify_run(pair.sets) == ""


def test_one_finite_row_per_eval_point_and_set(pair):
    rows = read_evals(pair.sets)
    metrics = [json.loads(line) for line in (pair.sets / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["set"]) for r in rows] == [(m["step"], s) for m in metrics for s in (PY, FORTUNES)]
    assert all(math.isfinite(r["loss"]) and r["tokens"] == r["step"] * pair.spec.tokens_per_step for r in rows)
    side = json.loads((pair.sets / "evals.json").read_text())
    assert side["sets"][PY]["windows"] == pair.spec.eval_tokens // pair.spec.n_ctx  # the text is long enough
    assert side["sets"][PY]["file"] == "python-stdlib-source.txt.xz" and side["sets"][PY]["points"] == len(metrics)
    # A model trained on books predicts Python source worse than held-out books (Kaplan Sec. 3.2.2).
    final = {r["set"]: r["loss"] for r in rows if r["step"] == metrics[-1]["step"]}
    assert final[PY] > metrics[-1]["val_loss"] + 0.3, (final, metrics[-1]["val_loss"])
    df = load_evals([pair.spec], pair.sets.parent)
    assert len(df) == len(rows) and df["is_final"].sum() == 2 and (df["val_loss"] > 0).all()


def test_loss_by_position(pair):
    """positions.json: n_ctx mean losses per set; later positions (more context) beat the first; their mean
    is the final validation loss."""
    pos = read_positions(pair.sets)
    n = pair.spec.n_ctx
    assert set(pos["losses"]) == {"val", PY, FORTUNES} and pos["n_ctx"] == n
    for losses in pos["losses"].values():
        assert len(losses) == n and all(math.isfinite(x) for x in losses)
    val = np.array(pos["losses"]["val"])
    assert val[n // 2 :].mean() < val[0] - 0.2, (val[0], val[n // 2 :].mean())
    summary = json.loads((pair.sets / "summary.json").read_text())
    assert val.mean() == pytest.approx(summary["final_val_loss"], rel=1e-5)
    assert pos["step"] == summary["steps"]
    rows = load_positions([pair.spec], pair.sets.parent)
    assert len(rows) == 1 and rows[0]["losses"] == pos["losses"]["val"]


def test_kept_weights_reproduce_the_final_loss(pair, small_tokens):
    model = load_model(pair.plain)
    assert not model.training
    val = Scorer(model, pair.spec, "cpu").mean_loss(validation_windows(pair.spec, small_tokens))
    final = json.loads((pair.plain / "summary.json").read_text())["final_val_loss"]
    assert abs(val - final) < 1e-5, (val, final)
    np.testing.assert_allclose(position_losses(pair.plain), read_positions(pair.plain)["losses"]["val"], rtol=1e-6)


def test_evaluate_run_adds_the_final_point_from_weights(pair, tmp_path):
    """A run trained without a set gets its final-point loss from its kept weights: the value the run
    trained with the set measured at that point; the run's own files are untouched."""
    run = _copy(pair.plain, tmp_path)
    before = {f: (run / f).read_bytes() for f in FILES}
    evaluate_run(run, [PY])
    rows = read_evals(run)
    final_step = json.loads((run / "summary.json").read_text())["steps"]
    assert [(r["step"], r["set"]) for r in rows] == [(final_step, PY)]
    trained = [r["loss"] for r in read_evals(pair.sets) if r["set"] == PY][-1]
    assert abs(rows[0]["loss"] - trained) < 1e-5
    assert {f: (run / f).read_bytes() for f in FILES} == before and verify_run(run) == ""
    side = json.loads((run / "evals.json").read_text())
    assert side["sets"][PY]["evaluated"].startswith("after training")
    assert len(read_positions(run)["losses"][PY]) == pair.spec.n_ctx
    # ensure_runs with a set: trains nothing, evaluates the one missing set, returns the runs as before
    df = ensure_runs([pair.spec], run.parent, workers=1, log="none", eval_sets=[PY, FORTUNES])
    assert {r["set"] for r in read_evals(run)} == {PY, FORTUNES} and set(df["run_id"]) == {pair.spec.run_id}


def test_kill_and_resume_keeps_the_extra_rows(small_tokens, tiny_spec, tmp_path):
    spec = tiny_spec.replace(tokens=16 * 64 * 90)
    full = train_run(spec, tmp_path / "full", threads=1, log="none", eval_sets=[FORTUNES])
    part = train_run(spec, tmp_path / "resumed", threads=1, log="none", eval_sets=[FORTUNES], stop_after_step=30)
    assert not (part / "DONE").exists()
    done = train_run(spec, tmp_path / "resumed", threads=1, log="none", eval_sets=[FORTUNES])
    points = json.loads((full / "evals.json").read_text())["sets"][FORTUNES]["points"]
    assert read_evals(done) == read_evals(full) and len(read_evals(full)) == points == len(read_metrics(full))
    assert read_positions(done) == read_positions(full)


def test_missing_weights_say_how_to_get_them(pair, tmp_path):
    run = _copy(pair.plain, tmp_path)
    (run / "model.safetensors").unlink()
    with pytest.raises(MissingWeightsError) as e:
        evaluate_run(run, ["ood"])
    msg = str(e.value)
    assert "\n" not in msg and "no kept weights" in msg and "scratch" in msg and "--eval-sets" in msg


def test_an_edited_sidecar_is_caught(pair, tmp_path):
    run = _copy(pair.sets, tmp_path)
    rows = (run / "evals.jsonl").read_text().splitlines()
    (run / "evals.jsonl").write_text("\n".join(rows[:-1]) + "\n")
    assert "evals.jsonl differs" in verify_run(run)


def test_unknown_or_missing_sets_fail_before_any_work(small_tokens, tiny_spec, tmp_path, monkeypatch):
    with pytest.raises(CorpusError, match="the ood sets are ood:fortunes"):
        train_run(tiny_spec, tmp_path / "runs", log="none", eval_sets=["ood:nope"])
    monkeypatch.setenv("SCALINGLAWS_OOD_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(CorpusError, match="SCALINGLAWS_OOD_DIR"):
        train_run(tiny_spec, tmp_path / "runs", log="none", eval_sets="ood")
    assert not (tmp_path / "runs").exists()


def test_cli_eval_sets(pair, monkeypatch, capsys):
    """--eval-sets reaches train_run, and the final losses on the sets are printed (training stubbed: the
    pair's run stands in for it)."""
    from scalinglaws.cli import main

    seen = {}

    def fake_train_run(spec, runs_dir, **kw):
        seen.update(kw)
        return pair.sets

    monkeypatch.setattr(train_mod, "train_run", fake_train_run)
    rc = main(["train", "--n-layer", "2", "--d-model", "16", "--lr", "0.02", "--eval-sets", PY, "ood:fortunes"])
    out = capsys.readouterr().out
    assert rc == 0 and seen["eval_sets"] == [PY, FORTUNES]
    assert f"final loss on eval sets: {PY} " in out and f", {FORTUNES} " in out
