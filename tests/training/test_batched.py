"""Batched training (scalinglaws.training.batched): K same-shape runs as one stacked model, each its own run."""

import json

import pytest
import torch
from scalinglaws.store.ensure import ensure_runs
from scalinglaws.store.tables import load_runs
from scalinglaws.training.batched import Stack, train_batched
from scalinglaws.training.grouping import auto_group_size, batch_key, plan_groups
from scalinglaws.training.loop import train_run
from scalinglaws.training.run_folder import read_metrics, read_summary, verify_run

# Batched and one-at-a-time runs do the same math in a different rounding order (batched kernels, a
# per-member clipping norm). Over a short low-LR run the final losses agree far inside seed-to-seed noise
# (bench_batched.py --numerics measures the full-size case); this is the bound asserted here.
SAME_RUN_NATS = 2e-3


def _group(tiny_spec, **kw):
    base = tiny_spec.replace(tokens=16 * 64 * 60, **kw)
    return [base.replace(lr=lr) for lr in (3e-3, 1e-2)] + [base.replace(lr=3e-3, seed=1)]


def test_each_member_gets_its_own_correct_run_folder(small_tokens, tiny_spec, tmp_path):
    specs = _group(tiny_spec)
    dirs = train_batched(specs, tmp_path / "b", threads=1)
    assert [d.name for d in dirs] == [s.run_id for s in specs]  # its own content address
    for spec, d in zip(specs, dirs):
        assert verify_run(d) == "" and (d / "DONE").read_text().strip() == "ok"
        cfg = json.loads((d / "config.json").read_text())
        assert cfg["spec"] == spec.to_dict() and cfg["execution"] == {"mode": "batched", "group_size": 3}
        rows = read_metrics(d)
        assert [r["step"] for r in rows] == sorted(set(r["step"] for r in rows)) and rows[-1]["step"] == spec.steps
        assert all(r["lr"] == pytest.approx(__import__("scalinglaws.training.schedule").training.schedule.get_lr(r["step"] - 1, spec))
                   for r in rows)  # its own LR schedule
        assert (d / "model.safetensors").is_file() and not (d / "ckpt.pt").exists()
    # the same runs one at a time: same curves within rounding, and no "execution" in config.json
    for spec, d in zip(specs, dirs):
        one = train_run(spec, tmp_path / "one", threads=1, log="none")
        assert "execution" not in json.loads((one / "config.json").read_text())
        a, b = read_metrics(d), read_metrics(one)
        assert [r["step"] for r in a] == [r["step"] for r in b]
        assert max(abs(x["val_loss"] - y["val_loss"]) for x, y in zip(a, b)) < SAME_RUN_NATS, spec.lr
    # different LRs and seeds really trained differently
    finals = [read_summary(d)["final_val_loss"] for d in dirs]
    assert len({round(f, 4) for f in finals}) == 3


def test_a_diverging_member_is_recorded_while_its_siblings_finish(small_tokens, tiny_spec, tmp_path):
    good = tiny_spec.replace(tokens=16 * 64 * 60, lr=3e-3)
    bad = good.replace(lr=1e3)  # explodes within a few steps (as test_train's single-run case)
    dirs = train_batched([good, bad, good.replace(seed=2)], tmp_path, threads=1)
    s = [read_summary(d) for d in dirs]
    assert s[1]["status"] == "diverged" and "above the uniform loss" in s[1]["reason"] and s[1]["steps"] < bad.steps // 4
    assert s[0]["status"] == s[2]["status"] == "ok" and s[0]["steps"] == good.steps
    alone = read_summary(train_run(good, tmp_path / "alone", threads=1, log="none"))
    assert abs(s[0]["final_val_loss"] - alone["final_val_loss"]) < SAME_RUN_NATS  # not corrupted by it
    assert all(verify_run(d) == "" for d in dirs)


def test_early_stopping_members_leave_the_stack_at_their_own_step(small_tokens, tiny_spec, tmp_path):
    base = tiny_spec.replace(tokens=16 * 64 * 200, data_tokens=4_096, eval_points=20, patience=2, lr=2e-2)
    specs = [base, base.replace(patience=0)]
    dirs = train_batched(specs, tmp_path, threads=1)
    s = [read_summary(d) for d in dirs]
    assert s[0]["status"] == "early_stopped" and s[0]["steps"] < base.steps
    assert s[1]["status"] == "ok" and s[1]["steps"] == base.steps


def test_kill_and_resume_continues_every_member(small_tokens, tiny_spec, tmp_path):
    specs = _group(tiny_spec, eval_points=8)
    full = train_batched(specs, tmp_path / "full", threads=1)
    part = train_batched(specs, tmp_path / "resumed", threads=1, stop_after_step=25)
    assert all((d / "ckpt.pt").exists() and not (d / "DONE").exists() for d in part)
    assert load_runs(specs, tmp_path / "resumed").empty  # unfinished runs are never results
    done = train_batched(specs, tmp_path / "resumed", threads=1)
    for a, b in zip(done, full):
        ra, rb = read_metrics(a), read_metrics(b)
        assert [r["step"] for r in ra] == [r["step"] for r in rb]
        assert [r["val_loss"] for r in ra] == pytest.approx([r["val_loss"] for r in rb], abs=1e-5)
        assert read_summary(a)["status"] == "ok" and not (a / "ckpt.pt").exists()
    # one member's checkpoint also resumes one at a time (the formats are the same)
    part = train_batched(specs[:2], tmp_path / "mixed", threads=1, stop_after_step=25)
    single = train_run(specs[0], tmp_path / "mixed", threads=1, log="none")
    assert read_summary(single)["status"] == "ok"
    assert abs(read_summary(single)["final_val_loss"] - read_summary(full[0])["final_val_loss"]) < SAME_RUN_NATS


def test_stacked_adamw_is_torch_adamw_per_member():
    """One member of the stack takes the same steps as torch.optim.AdamW with clip_grad_norm_ on its own
    copy, for its own LR, with weight decay on matrices only (as train.make_optimizer)."""
    from types import SimpleNamespace

    from scalinglaws.training.model import build_model
    from scalinglaws.training.spec import RunSpec
    from scalinglaws.training.trainer import make_optimizer

    spec = RunSpec(n_layer=1, d_model=16, n_ctx=16, vocab_size=64, weight_decay=0.1, grad_clip=0.5)
    models = [build_model(spec.shape(), seed=s) for s in (0, 1)]
    ref = build_model(spec.shape(), seed=1)
    opt_ref = make_optimizer(ref, spec)
    stack = Stack([SimpleNamespace(tr=SimpleNamespace(model=m, opt=make_optimizer(m, spec))) for m in models])
    names = stack.names
    trunk_ref = dict(ref.transformer.named_parameters())
    gen = torch.Generator().manual_seed(0)
    for lr_pair in ((1e-2, 3e-2), (2e-2, 5e-2), (2e-2, 1e-3)):
        grads = {n: torch.randn(stack.params[n].shape, generator=gen) for n in names}
        for n in names:
            stack.params[n].grad = grads[n].clone()
            trunk_ref[n].grad = grads[n][1].clone()
        stack.adamw_step(list(lr_pair), spec)
        torch.nn.utils.clip_grad_norm_(ref.parameters(), spec.grad_clip)
        for g in opt_ref.param_groups:
            g["lr"] = lr_pair[1]
        opt_ref.step()
        opt_ref.zero_grad()
    for n in names:
        torch.testing.assert_close(stack.params[n][1].detach(), trunk_ref[n].detach(), rtol=1e-5, atol=1e-6)


def test_grouping_rules(tiny_spec):
    a = tiny_spec
    specs = [a.replace(lr=lr) for lr in (1e-3, 2e-3, 3e-3)] + [a.replace(d_model=32), a.replace(arch="lstm"),
                                                                a.replace(noise_scale=True), a.replace(lr=4e-3)]
    jobs = plan_groups(specs, 3)
    assert [len(j) for j in jobs] == [3, 1, 1, 1, 1]  # the fourth same-shape run starts a new group
    assert jobs[4] == [specs[6]] and batch_key(specs[4]) is None and batch_key(specs[5]) is None
    assert plan_groups(specs, 1) == [[s] for s in specs]
    assert auto_group_size("cpu") >= 1 and auto_group_size("cuda") >= 1
    with pytest.raises(Exception, match="one shape"):
        train_batched([a, a.replace(d_model=32)], "unused")


def test_ensure_runs_stacks_same_shape_runs(small_tokens, tiny_spec, tmp_path, capsys, monkeypatch):
    specs = _group(tiny_spec)[:2] + [tiny_spec.replace(tokens=16 * 64 * 60, n_layer=1)]
    df = ensure_runs(specs, tmp_path, workers=1, threads=1, group=4, log="run")
    out = capsys.readouterr().out
    assert "3 runs as 2 jobs" in out and out.count(" ok val=") == 3
    assert set(df["run_id"]) == {s.run_id for s in specs}
    modes = [json.loads((tmp_path / s.run_id / "config.json").read_text()).get("execution", {}).get("mode") for s in specs]
    assert modes == ["batched", "batched", None]
    monkeypatch.setenv("SCALINGLAWS_GROUP", "two")
    with pytest.raises(Exception, match="SCALINGLAWS_GROUP"):
        ensure_runs([tiny_spec.replace(seed=9)], tmp_path, workers=1, log="none")


def test_bf16_batched_runs_on_cpu_as_on_a_gpu(small_tokens, tiny_spec, tmp_path):
    """The GPU settings (bf16 autocast, the bf16 head) through the batched path, exercised on CPU."""
    specs = [s.replace(precision="bf16") for s in _group(tiny_spec)[:2]]
    dirs = train_batched(specs, tmp_path, threads=1)
    s = [read_summary(d) for d in dirs]
    assert all(x["status"] == "ok" for x in s)
    assert all(x["final_val_loss"] < read_metrics(d)[0]["val_loss"] - 0.3 for x, d in zip(s, dirs))
