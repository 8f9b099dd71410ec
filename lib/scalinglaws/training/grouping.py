"""Which runs may train together as one stacked model (scalinglaws.training.batched), and how many at a time.

Torch-free on purpose: `store.ensure_runs` plans its jobs with these in the parent process, which
should not pay for importing torch when it only schedules workers.
"""

from __future__ import annotations

from scalinglaws.training.spec import RunSpec

# Runs per stacked model when not told (ensure_runs(group=), Study(group=), `scalinglaws study --group`,
# $SCALINGLAWS_GROUP). The measured gain decides (benchmarks/results/batched_cpu.json, docs/speed.md): on
# the 2-core CPUs stacking gained at most 1.17x, only at N <= 6,592, and lost up to 5% above, since the
# one-run-per-core layout already reaches 17-45% of the matmul peak there and the step is bound by the
# output head's matmuls and softmax, work stacking does not reduce. Those sizes are a small share of a
# study's training time, and stacked runs are not bit-identical to the published one-at-a-time runs, so
# the CPU default is 1. On a GPU a small model's step costs the same few ms at any batch (launch-bound,
# benchmarks/results/gpu_session.md), so K runs share one step's launches: 16 until a device measures it.
AUTO_GROUP = {"cpu": 1, "cuda": 16}


def batch_key(spec: RunSpec) -> tuple | None:
    """Specs with the same key can train as one stacked model; None: this spec trains alone."""
    # a cooldown branch starts from its trunk's checkpoint (loop.start_branch): train_run only
    if spec.arch != "gpt2" or spec.compile or spec.noise_scale or spec.kernels != "fast" or spec.branch_from:
        return None
    return (spec.shape(), spec.batch_size, spec.n_ctx, spec.vocab_size, spec.corpus, spec.precision,
            spec.kernels, spec.dropout)


def auto_group_size(device: str) -> int:
    return AUTO_GROUP["cuda" if device.startswith("cuda") else "cpu"]


def plan_groups(specs: list[RunSpec], group: int) -> list[list[RunSpec]]:
    """Split specs into jobs: same-key specs in groups of at most `group` (longest runs together, so a
    group's members finish close together), every other spec alone. Order: as given, by first member."""
    if group <= 1:
        return [[s] for s in specs]
    by_key: dict = {}
    jobs: list[list[RunSpec]] = []
    for s in specs:
        key = batch_key(s)
        if key is None:
            jobs.append([s])
            continue
        if key not in by_key or len(by_key[key]) >= group:
            by_key[key] = []
            jobs.append(by_key[key])
        by_key[key].append(s)
    return jobs
