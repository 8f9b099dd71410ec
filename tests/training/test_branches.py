"""Cooldown branches (training/branches.py): one WSD trunk, cooldowns branched from its stable phase.

The claim under test: a branch trains exactly what a from-scratch WSD run of its budget trains (same
warmup, peak and batches before its branch point), so its curve is that run's curve, whether it starts
from the trunk's checkpoint, recomputes the stable phase, or is interrupted and resumed.
"""

import io
import json
from pathlib import Path

import pytest
import torch
from scalinglaws.store.ensure import _branch_phases, ensure_runs
from scalinglaws.store.tables import list_runs
from scalinglaws.training.branches import branch_specs, check_branch_of, start_step
from scalinglaws.training.loop import train_run
from scalinglaws.training.run_folder import (
    FROM_PARENT,
    RECOMPUTED,
    checkpoint_name,
    read_metrics,
    read_summary,
    verify_run,
)
from scalinglaws.training.schedule import eval_steps, get_lr
from scalinglaws.training.spec import RunSpec, SpecError

STORE = Path(__file__).resolve().parents[2] / "runs" / "cpu"
STEP = 16 * 64  # tokens per step of tiny_spec


def _curve(run_dir):
    """metrics.jsonl without the wall-clock column: every number a run computes."""
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in read_metrics(run_dir)]


def _trunk(tiny_spec, **kw):
    return tiny_spec.replace(**{"schedule": "wsd", "warmup_steps": 10, "eval_points": 12, **kw})


class _Payload:
    """Unpickling this creates the file `marker`: it exists only if a pickle's code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plain(branch):
    """The from-scratch WSD run a branch must equal: the same spec without the trunk's name."""
    return branch.replace(branch_from="", branch_step=0)


def test_branch_addresses_name_the_trunk_and_step_and_keep_old_ones(tiny_spec):
    trunk, (b80, b120) = branch_specs(_trunk(tiny_spec), [120 * STEP, 80 * STEP, 160 * STEP])
    assert trunk.tokens == 160 * STEP and trunk.schedule == "wsd"
    assert [b.steps for b in (b80, b120)] == [80, 120]
    assert b80.branch_from == trunk.run_id and b80.branch_step == 64  # 80 - 20% of 80: its cooldown start
    assert [get_lr(t, b80) for t in range(64)] == [get_lr(t, trunk) for t in range(64)]  # same schedule before s
    assert get_lr(65, b80) < get_lr(65, trunk)  # (step 64 is the cooldown's first, still at the peak)
    ids = {b80.run_id, _plain(b80).run_id, b80.replace(branch_from="0" * 16).run_id,
           b80.replace(branch_step=63).run_id}
    assert len(ids) == 4  # the parent and the step are part of the address
    assert "branch_from" not in _plain(b80).hashed_fields() and "branch_step" not in tiny_spec.hashed_fields()
    # every run of the committed store keeps its address (its folder's name)
    folders = sorted(STORE.glob("*/config.json"))[:25]
    assert len(folders) >= 10
    for cfg in folders:
        assert RunSpec.from_dict(json.loads(cfg.read_text())["spec"]).run_id == cfg.parent.name


@pytest.mark.parametrize("change, msg", [
    (dict(warmup_steps=0), "set warmup_steps explicitly"),
    (dict(branch_step=63), "must be the cooldown start"),
    (dict(schedule="cosine"), "use schedule='wsd'"),
    (dict(branch_from="trunk"), "16 hex digits"),
    (dict(patience=3), "no early stopping"),
    (dict(branch_from=""), "without branch_from"),
])
def test_bad_branch_specs_are_one_line_errors(tiny_spec, change, msg):
    _, (b,) = branch_specs(_trunk(tiny_spec), [80 * STEP, 160 * STEP])
    with pytest.raises(SpecError, match=msg):
        b.replace(**change).validate()


def test_a_branch_must_match_its_trunk(tiny_spec):
    trunk, (b,) = branch_specs(_trunk(tiny_spec), [80 * STEP, 160 * STEP])
    check_branch_of(trunk, b)
    with pytest.raises(SpecError, match=r"seed=0 \(trunk 1\) differ"):
        check_branch_of(trunk.replace(seed=1), b.replace(branch_from=trunk.replace(seed=1).run_id))
    short = trunk.replace(tokens=70 * STEP)  # its cooldown starts at 56, before the branch point 64
    with pytest.raises(SpecError, match="stable phase ends at step 56"):
        check_branch_of(short, b.replace(branch_from=short.run_id))
    with pytest.raises(SpecError, match="warmup_steps set"):
        branch_specs(tiny_spec, [80 * STEP])


def test_ensure_runs_trains_trunks_before_their_branches(tiny_spec):
    trunk, branches = branch_specs(_trunk(tiny_spec), [48 * STEP, 64 * STEP, 80 * STEP])
    other = tiny_spec.replace(seed=5)
    phases, branches_of = _branch_phases([*branches, other, trunk])
    assert phases == [[other, trunk], branches] and branches_of == {trunk.run_id: branches}
    # a trunk already trained (not missing): its branches go first, and recompute or use kept checkpoints
    assert _branch_phases(branches) == ([branches], {})
    # what each costs (the estimate and ensure_runs' ETA): a branch trained with its trunk only its cooldown
    together = {trunk.run_id, *(b.run_id for b in branches)}
    assert [start_step(b, together) for b in branches] == [b.branch_step for b in branches] and branches[0].branch_step > 0
    assert start_step(trunk, together) == 0 and start_step(other, together) == 0
    assert not any(start_step(b, {b.run_id for b in branches}) for b in branches)  # trunk not trained with them


def test_branches_equal_from_scratch_wsd_runs(small_tokens, tiny_spec, tmp_path):
    """ensure_runs trains the trunk (keeping one checkpoint per branch point), then each branch from it;
    every curve equals the from-scratch WSD run of the same budget bit for bit (CPU, one thread), the
    trunk's included (keeping checkpoints changes nothing of it)."""
    trunk, branches = branch_specs(_trunk(tiny_spec), [48 * STEP, 64 * STEP, 80 * STEP])
    store = tmp_path / "branched"
    ensure_runs([*branches, trunk], store, workers=1, threads=1, log="none")  # order given: branches first
    summ = read_summary(store / trunk.run_id)
    assert summ["branch_checkpoints"] == sorted(checkpoint_name(b.branch_step) for b in branches)
    for spec in (*branches, trunk):
        plain = train_run(_plain(spec), tmp_path / "scratch", threads=1, log="none")
        assert _curve(store / spec.run_id) == _curve(plain), spec.tokens
    for b in branches:
        s = read_summary(store / b.run_id)
        assert s["branch"] == {"parent": trunk.run_id, "step": b.branch_step, "start": FROM_PARENT}
        # started at its branch point: rows before it came from the trunk, its own training time is the rest
        assert [r["step"] for r in read_metrics(store / b.run_id)] == eval_steps(b)
    assert (list_runs(store)["status"] == "ok").all()


def test_branch_resumes_recomputes_and_is_checked(small_tokens, tiny_spec, tmp_path, capsys):
    trunk, (b,) = branch_specs(_trunk(tiny_spec, eval_points=24), [80 * STEP, 160 * STEP])
    k = next(e for e in eval_steps(b) if b.branch_step < e < b.steps)  # an eval after the branch point
    store = tmp_path / "store"
    train_run(trunk, store, threads=1, log="none", branches=[b])
    assert (store / trunk.run_id / checkpoint_name(b.branch_step)).is_file()
    part = train_run(b, store, threads=1, log="none", stop_after_step=k)  # killed after its checkpoint at k
    assert (part / "ckpt.pt").is_file() and not (part / "DONE").exists()
    (store / trunk.run_id / checkpoint_name(b.branch_step)).unlink()  # the resume needs only its own ckpt.pt
    resumed = train_run(b, store, threads=1, log="none")
    assert read_summary(resumed)["branch"]["start"] == FROM_PARENT
    scratch = train_run(_plain(b), tmp_path / "scratch", threads=1, log="none")
    assert _curve(resumed) == _curve(scratch)

    # a checkpoint that does not load (here a crafted pickle: weights-only loading never runs its code) is
    # no start: the branch trains the stable phase itself, the same curve, and says so in one line
    planted = tmp_path / "alone" / trunk.run_id / checkpoint_name(b.branch_step)
    planted.parent.mkdir(parents=True)
    buf = io.BytesIO()
    torch.save({"state": _Payload(tmp_path / "pwned")}, buf)
    planted.write_bytes(buf.getvalue())
    alone = train_run(b, tmp_path / "alone", threads=1, log="none")
    assert not (tmp_path / "pwned").exists()
    err = capsys.readouterr().err
    assert "does not load for it (UnpicklingError): training its stable phase from step 0" in err
    assert read_summary(alone)["branch"]["start"] == RECOMPUTED and _curve(alone) == _curve(scratch)
    assert verify_run(alone) == ""  # no trunk needed: it says it recomputed

    # the check: the trunk is DONE (its checkpoint gone), so the link holds; a tampered parent id does not
    assert verify_run(resumed) == "" and set(list_runs(store)["status"]) == {"ok"}
    cfg_path = resumed / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["spec"]["branch_from"] = "f" * 16
    cfg_path.write_text(json.dumps(cfg))
    assert "config.json differs from the file the run wrote" in verify_run(resumed)  # its checksum catches it first
    from scalinglaws.training.run_folder import write_checksums

    write_checksums(resumed)  # re-stamped by hand: now the link check must catch it
    assert "the folder was altered" in verify_run(resumed)
    summ = read_summary(resumed)
    summ["branch"]["parent"] = "f" * 16  # both files agree now, but no such trunk is in the store
    (resumed / "summary.json").write_text(json.dumps(summ))
    write_checksums(resumed)
    assert f"no run {'f' * 16}" in verify_run(resumed)
    row = list_runs(store).set_index("run_id").loc[b.run_id]
    assert row["status"] == "corrupt" and "no run ffff" in row["problem"]


def test_an_interrupted_trunk_still_keeps_its_branch_points(small_tokens, tiny_spec, tmp_path):
    """The branches' progress travels in the trunk's ckpt.pt, so a trunk killed before a branch point and
    resumed writes the same checkpoint, and the branch from it is still the from-scratch run."""
    trunk, (b,) = branch_specs(_trunk(tiny_spec), [80 * STEP, 160 * STEP])
    store = tmp_path / "store"
    train_run(trunk, store, threads=1, log="none", branches=[b], stop_after_step=30)  # checkpoint at 40 < 64
    assert not (store / trunk.run_id / checkpoint_name(64)).exists()
    train_run(trunk, store, threads=1, log="none", branches=[b])
    branch = train_run(b, store, threads=1, log="none")
    assert read_summary(branch)["branch"]["start"] == FROM_PARENT
    assert _curve(branch) == _curve(train_run(_plain(b), tmp_path / "scratch", threads=1, log="none"))


def test_worker_processes_start_branches_from_their_trunk(small_tokens, tiny_spec, tmp_path):
    """With two worker processes the branch still waits for its trunk (it would otherwise find no
    checkpoint and recompute), and reads the checkpoint a different process wrote."""
    trunk, (b,) = branch_specs(_trunk(tiny_spec), [48 * STEP, 80 * STEP])
    df = ensure_runs([b, trunk, tiny_spec.replace(tokens=30 * STEP)], tmp_path / "store", workers=2, threads=1,
                     log="none")
    assert set(df["status"]) == {"ok"} and df["run_id"].nunique() == 3
    assert read_summary(tmp_path / "store" / b.run_id)["branch"]["start"] == FROM_PARENT
