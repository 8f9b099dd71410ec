"""ensure_runs: the runs a study needs, trained where missing, read where done.

    from scalinglaws.store.ensure import ensure_runs
    df = ensure_runs(specs, "runs/cpu", workers=2)   # trains only what is missing

``runs/<store>/<spec.run_id>/`` is one run (training/run_folder.py); only folders with ``DONE`` are results.
``ensure_runs`` de-duplicates specs, trains the missing ones through an Executor (executors.py; Slurm in
slurm.py), adds eval sets a finished run lacks, and returns the runs table (tables.py). It imports no
torch: training is imported where it is called.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterable

import pandas as pd

from scalinglaws import ScalingLawsError
from scalinglaws.data.eval_text import resolve_eval_sets
from scalinglaws.data.tokens import prepare_tokens
from scalinglaws.store.executors import (Executor, InlineExecutor, ProcessExecutor, auto_layout, run_cost,
                                         usable_cores)
from scalinglaws.store.tables import load_runs
from scalinglaws.training.branches import start_step
from scalinglaws.training.grouping import auto_group_size, plan_groups
from scalinglaws.training.run_folder import is_done, read_summary, recorded_eval_sets
from scalinglaws.training.spec import RunSpec


class MissingRunsError(ScalingLawsError):
    """Runs asked of a store that may only be read."""


def ensure_runs(
    specs: Iterable[RunSpec],
    runs_dir: str | os.PathLike,
    *,
    workers: int | None = None,
    threads: int | None = None,
    device: str = "cpu",
    executor: Executor | str | None = "local",
    log: str = "run",
    raise_on_error: bool = True,
    train: bool = True,
    eval_sets=None,
    group: int | None = None,
) -> pd.DataFrame:
    """Train whatever of `specs` is missing from `runs_dir`, then return their metrics as a DataFrame.

    workers/threads: None = auto_layout. log: "run" (one line per finished run), "eval" (one per
    eval), "bar", or "none". Diverged runs are reported (and kept, with status "diverged") instead of
    raising; other failures raise after all runs were attempted unless raise_on_error=False.
    train=False (or env SCALINGLAWS_NO_TRAIN set): read only; raises MissingRunsError if a run is missing.
    executor: "local" (worker processes here), "slurm" (one Slurm job array through submitit, options from
    $SCALINGLAWS_SLURM_CONFIG; there threads = CPUs per job and workers = array tasks at once; see
    scalinglaws.slurm and docs/slurm.md) or an Executor instance.
    eval_sets: extra evaluation sets (see train_run; e.g. ["ood"]): the runs trained here evaluate them at
    every eval point; finished runs that lack one get its final-point loss from their kept weights
    (evaluate.evaluate_run; a run without kept weights is an error saying how to get them). Read the
    results with load_evals / load_positions. Not with train=False: a read-only store is not written.
    group: at most this many same-shape runs train as one stacked model (batched.py), each still its own
    run folder; 1 = one at a time; None = $SCALINGLAWS_GROUP, else grouping.auto_group_size (measured: 1
    on CPU). Runs that cannot be stacked, and executors without submit_group (Slurm), train one at a time.
    Cooldown branches (training.branches.branch_specs) whose trunk is among the missing runs wait until
    every other run has ended, and start from the checkpoint their trunk kept for them.
    """
    if isinstance(executor, str) and executor not in ("local", "slurm"):
        raise ScalingLawsError(f"executor={executor!r}: use 'local', 'slurm' or an Executor instance")
    sets = resolve_eval_sets(eval_sets)  # a bad name fails here, before any training
    specs = list({s.run_id: s.validate() for s in specs}.values())
    runs_dir = Path(runs_dir)
    missing = sorted((s for s in specs if not is_done(runs_dir / s.run_id)), key=run_cost, reverse=True)
    say = (lambda msg: None) if log == "none" else (lambda msg: print(msg, flush=True))
    errors: list[str] = []
    if missing and (not train or os.environ.get("SCALINGLAWS_NO_TRAIN")):
        # Re-executing a notebook against a published store (e.g. the gpu reference on a CPU machine)
        # must never start training in its place.
        why = "SCALINGLAWS_NO_TRAIN is set; unset it to train them" if train else "this store is only read here"
        raise MissingRunsError(
            f"{len(missing)} of {len(specs)} runs are not in {runs_dir} (first: {missing[0].run_id}, "
            f"N={missing[0].n_params:,}) and {why}")
    if missing:
        for key in {(s.corpus, s.vocab_size) for s in missing}:  # build token caches once, up front
            prepare_tokens(*key, quiet=log == "none")
        if executor == "slurm":  # submitit is imported only here (the optional extra `slurm`)
            from scalinglaws.store.slurm import SlurmExecutor

            executor = SlurmExecutor(threads=threads, parallelism=workers, log=log != "none")
        local = executor is None or isinstance(executor, str)
        phases, branches_of = _branch_phases(missing)
        can_group = local or hasattr(executor, "submit_group")
        jobs = [j for ph in phases for j in _plan_phase(ph, branches_of, group, can_group, device)]
        if hasattr(executor, "describe"):
            layout = f"{executor.describe()}, {device}"
        else:
            auto_w, auto_t = auto_layout(jobs, device=device)  # a stacked group is one job
            workers = workers or auto_w
            threads = threads or (auto_t if workers == auto_w else max(1, usable_cores() // workers))
            if local:
                executor = InlineExecutor(threads) if workers == 1 else ProcessExecutor(workers, threads)
            layout = f"{workers} worker(s) x {threads} thread(s), {device}"
        train_log = {"run": "none", "eval": "eval", "bar": "bar", "none": "none"}[log]
        if any(len(j) > 1 for j in jobs):
            layout += f", {len(missing)} runs as {len(jobs)} jobs (same-shape runs stacked, up to {max(map(len, jobs))} per job)"
        say(f"[ensure_runs] {len(specs)} runs, {len(specs) - len(missing)} cached, training {len(missing)} ({layout})")
        t0 = time.perf_counter()
        # for the ETA: work left / rate so far; a branch trained from its trunk's checkpoint costs its cooldown only
        ids = {s.run_id for s in missing}
        cost = {s.run_id: run_cost(s) * (1 - start_step(s, ids) / s.steps) for s in missing}
        total_cost, done_cost = sum(cost.values()), 0.0
        try:
            # eval_sets only when asked for, so an Executor that predates it keeps working without them
            kw = {"eval_sets": sets} if sets else {}
            results = _submit_phases(executor, phases, jobs, branches_of, str(runs_dir), device=device,
                                     log=train_log, **kw)
            for i, (fut, s, k) in enumerate(results, 1):
                try:
                    rd = fut.result()
                    summ = read_summary(rd if isinstance(rd, Path) else Path(rd[k]))
                    val = summ["final_val_loss"]  # None when a run diverged before its first eval
                    done_cost += cost[s.run_id]
                    elapsed = time.perf_counter() - t0
                    eta = elapsed * (total_cost - done_cost) / done_cost if done_cost else 0.0
                    say(f"[ensure_runs] {i}/{len(missing)} N={s.n_params:,} tokens={s.tokens:.3g} "
                        f"{summ['status']} val={'none' if val is None else format(val, '.4f')} "
                        f"({summ['tokens_per_s'] or 0:,.0f} tok/s, {elapsed:.0f}s elapsed"
                        + (f", about {eta / 60:.1f} min left)" if i < len(missing) else ")"))
                    if summ["status"] == "diverged":
                        say(f"[ensure_runs]   diverged: {summ['reason']} (run {s.run_id})")
                except Exception as e:  # noqa: BLE001
                    errors.append(f"{s.run_id} (N={s.n_params:,}): {e.__class__.__name__}: {e}")
                    say(f"[ensure_runs] {i}/{len(missing)} FAILED {errors[-1]}")
        finally:
            executor.shutdown()
    if sets and train and not os.environ.get("SCALINGLAWS_NO_TRAIN"):
        errors += _add_eval_sets(specs, runs_dir, sets, say, device)
    if errors and raise_on_error:
        raise ScalingLawsError(f"{len(errors)} run(s) failed; first: {errors[0]}")
    return load_runs(specs, runs_dir)


def _branch_phases(missing: list[RunSpec]) -> tuple[list[list[RunSpec]], dict[str, list[RunSpec]]]:
    """The missing runs in the order they can train: cooldown branches (branches.py) whose trunk is also
    missing wait for it, so they start from its checkpoint rather than recompute its stable phase.
    Returns ([every other run, those branches], {trunk run id: its missing branches})."""
    ids = {s.run_id for s in missing}
    branches_of: dict[str, list[RunSpec]] = {}
    for s in missing:
        if s.branch_from in ids:
            branches_of.setdefault(s.branch_from, []).append(s)
    waiting = [s for s in missing if s.branch_from in ids]
    return [p for p in ([s for s in missing if s.branch_from not in ids], waiting) if p], branches_of


def _plan_phase(specs: list[RunSpec], branches_of: dict, group: int | None, can_group: bool,
                device: str) -> list[list[RunSpec]]:
    """_plan_jobs for one phase; a trunk with branches trains alone (train_run keeps their checkpoints)."""
    return ([[s] for s in specs if s.run_id in branches_of]
            + _plan_jobs([s for s in specs if s.run_id not in branches_of], group, can_group, device))


def _submit_phases(executor, phases: list[list[RunSpec]], jobs: list[list[RunSpec]], branches_of: dict,
                   runs_dir: str, **kw):
    """(future, spec, index in its job) of every job, a phase at a time: a phase is submitted only when
    the caller has taken every result of the one before (so branches start after their trunk ended).
    A trunk gets its branches (train_run(branches=)); an executor without that argument (Slurm) trains it
    without their checkpoints, and the branches then recompute its stable phase (the same numbers)."""
    for phase in phases:
        ids = {s.run_id for s in phase}
        futures = []
        for j in (j for j in jobs if j[0].run_id in ids):
            if len(j) > 1:
                futures.append((executor.submit_group(j, runs_dir, **kw), j))
            elif j[0].run_id in branches_of and isinstance(executor, (InlineExecutor, ProcessExecutor)):
                futures.append((executor.submit(j[0], runs_dir, branches=branches_of[j[0].run_id], **kw), j))
            else:
                futures.append((executor.submit(j[0], runs_dir, **kw), j))
        getattr(executor, "flush", lambda: None)()  # a batching executor (Slurm) sends one job array now
        yield from ((fut, s, k) for fut, j in futures for k, s in enumerate(j))


def _plan_jobs(missing: list[RunSpec], group: int | None, can_group: bool, device: str) -> list[list[RunSpec]]:
    """The training jobs: lists of specs, one spec each unless `group` (or its default) stacks runs."""
    if not can_group:
        return [[s] for s in missing]
    if group is None:
        env = os.environ.get("SCALINGLAWS_GROUP", "")
        if env and not env.isdigit():
            raise ScalingLawsError(f"SCALINGLAWS_GROUP={env!r}: set a whole number of runs per stacked model (1 = off)")
        group = int(env) if env else auto_group_size(device)
    if not isinstance(group, int) or group < 1:
        raise ScalingLawsError(f"group={group!r}: use a whole number >= 1 (runs per stacked model; 1 = one at a time)")
    return plan_groups(missing, group)


def _add_eval_sets(specs: list[RunSpec], runs_dir: Path, sets: list[str], say, device: str) -> list[str]:
    """Final-point losses of `sets` for the finished runs that lack them (trained without them, or by an
    executor that does not pass them on); returns one error line per run that could not get them."""
    todo = [s for s in specs if is_done(runs_dir / s.run_id) and read_summary(runs_dir / s.run_id)["status"] != "diverged"
            and set(sets) - set(recorded_eval_sets(runs_dir / s.run_id))]  # a diverged run has no final point
    if not todo:
        return []
    from scalinglaws.training.evaluate import evaluate_run  # imports torch: only when there is something to evaluate

    say(f"[ensure_runs] adding eval sets to {len(todo)} finished run(s) from their kept weights (final point only)")
    errors = []
    for s in todo:
        try:
            evaluate_run(runs_dir / s.run_id, sets, device=device)
        except ScalingLawsError as e:
            errors.append(f"{s.run_id} (N={s.n_params:,}): {e}")
            say(f"[ensure_runs] FAILED {errors[-1]}")
    return errors




