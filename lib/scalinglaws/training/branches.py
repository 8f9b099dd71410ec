"""Cooldown branches: the final loss at several budgets for little more than the cost of the longest run.

    from scalinglaws.training.branches import branch_specs
    trunk, branches = branch_specs(RunSpec(n_layer=4, d_model=128, warmup_steps=100), [b1, b2, b3])
    ensure_runs([trunk, *branches], "runs/cpu")   # the trunk first, then each branch from its checkpoint

Hägele et al. 2024: a constant LR with a short linear cooldown (schedule="wsd") matches cosine, and
cooldowns branched from one constant-LR trunk give the final loss at many budgets. Here a branch of
budget T is a WSD run of T tokens (RunSpec.branch_from = the trunk's run id, branch_step = its cooldown
start s). Before s its schedule is the trunk's (same explicit warmup, same peak) and its batches are the
trunk's (data.windows.batch_starts depends on (seed, step) only), so it trains exactly what a from-scratch
WSD run of T tokens trains. The trunk, trained with its branches (train_run(branches=...), which
ensure_runs passes), keeps one checkpoint per branch point (ckpt_step<s>.pt, with each branch's progress
up to s: its metrics rows at its own eval steps), and the branch starts from it. Without that checkpoint
(the trunk trained earlier, on Slurm, or deleted) the branch trains the stable phase itself from scratch:
the same numbers by construction, at the full price. Its summary.json says which ("branch": {"start"}).

This module imports no torch (the store's checks use it).
"""

from __future__ import annotations

from scalinglaws.training.spec import RunSpec, SpecError

# Fields a branch may set differently from its trunk: its budget and cooldown, its eval steps and its
# own name. Everything else (shape, data, seed, peak LR, warmup, optimizer, eval windows) must be equal.
BRANCH_FREE_FIELDS = ("tokens", "schedule_tokens", "decay_frac", "eval_points", "branch_from", "branch_step",
                      "lr_source", "label")





def branch_specs(trunk_spec: RunSpec, budgets: list[int]) -> tuple[RunSpec, list[RunSpec]]:
    """(trunk, branches) for the final loss of trunk_spec's model at every budget (tokens): the trunk is
    the WSD run of the largest budget (its own cooldown gives that budget's loss), each smaller budget a
    branch cooling down from the trunk's stable phase. trunk_spec sets everything else; it needs an
    explicit warmup_steps (the automatic one depends on the budget)."""
    budgets = sorted({int(b) for b in budgets})
    if not budgets or budgets[0] <= 0:
        raise SpecError(f"budgets={budgets}: give one or more token budgets > 0")
    if not trunk_spec.warmup_steps:
        raise SpecError("branch_specs needs trunk_spec.warmup_steps set (e.g. warmup_steps=100): the automatic "
                        "warmup depends on the budget, so trunk and branches would warm up differently")
    if trunk_spec.branch_from:
        raise SpecError(f"trunk_spec is itself a branch (of {trunk_spec.branch_from}); branch from its trunk")
    trunk = trunk_spec.replace(tokens=budgets[-1], schedule_tokens=0, schedule="wsd").validate()
    branches = []
    for b in budgets[:-1]:
        plain = trunk.replace(tokens=b).validate()  # the from-scratch WSD run this branch equals
        branch = plain.replace(branch_from=trunk.run_id, branch_step=plain.decay_start).validate()
        check_branch_of(trunk, branch)
        branches.append(branch)
    return trunk, branches


def check_branch_of(trunk: RunSpec, branch: RunSpec) -> None:
    """SpecError unless `branch` is a cooldown branch of `trunk` that trains what its from-scratch WSD run
    trains: it names the trunk, and before its branch point the two take the same steps."""
    branch.validate()
    pre = f"run {branch.run_id} is not a cooldown branch of {trunk.run_id}"
    if branch.branch_from != trunk.run_id:
        raise SpecError(f"{pre}: it names trunk {branch.branch_from or '(none)'!r}")
    a, b = trunk.to_dict(), branch.to_dict()
    differ = sorted(k for k in a if k not in BRANCH_FREE_FIELDS and a[k] != b[k])
    if differ:
        raise SpecError(f"{pre}: {', '.join(f'{k}={b[k]!r} (trunk {a[k]!r})' for k in differ)} differ; "
                        "a branch may change only its budget, cooldown and eval points")
    if trunk.schedule != "wsd" or trunk.branch_from:
        raise SpecError(f"{pre}: the trunk must be a WSD run (schedule='wsd') that is not itself a branch")
    if trunk.decay_start < branch.branch_step or trunk.steps < branch.branch_step:
        raise SpecError(f"{pre}: the trunk's stable phase ends at step {min(trunk.decay_start, trunk.steps)}, "
                        f"before the branch point {branch.branch_step}; give the trunk a longer budget")


def start_step(spec: RunSpec, trained_with: set) -> int:
    """The step a run's training starts from when the runs `trained_with` (run ids) are trained together with it:
    a branch whose trunk is among them starts from the trunk's checkpoint at its branch step (ensure_runs orders
    them so), so its price is the steps after it; every other run starts at 0. The time estimate and
    ensure_runs' ETA both cost runs by this."""
    return spec.branch_step if spec.branch_from and spec.branch_from in trained_with else 0
