"""How long a profile's study will take on this machine, before anything is trained.

    from scalinglaws.study.estimate import estimate
    est = estimate("cpu", workers=2)     # est.runs: one row per run; est.wall_s: predicted wall time

Every run the study would train (the first round of every LR sweep included; a sweep that has to be
extended costs more) is costed from a short timing of its shape *here*: seconds per training step and
per evaluation, measured on a few steps of the real model and loop pieces (`training.trainer.Trainer`). A run costs
steps × step time + eval points × (1 + extra eval sets) × eval time + its start and finish; early-stopping
runs are costed at their cap, so the total is an upper bound for them. The runs are then packed onto
the workers longest first, as `store.ensure_runs` starts them.

Why a measurement and not a FLOP count: at this scale a step is bound by per-op overhead as much as by
FLOPs, and the two CPU kinds this project meets differ by 2.5-3x (docs/reproducibility.md), so only a
timing on the machine itself predicts its wall time. The timing runs while nothing else should: two
trainings or benchmarks at once on 2 cores would slow both.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglaws.training.branches import start_step
from scalinglaws.training.schedule import eval_steps
from scalinglaws.training.spec import RunSpec

# Which fields of a spec set the cost of one step and of one evaluation (not its LR, seed, budget).
_COST_FIELDS = ("arch", "n_layer", "d_model", "d_ff", "n_head", "n_ctx", "batch_size", "vocab_size", "dropout",
                "precision", "kernels", "noise_scale", "eval_tokens", "corpus")


def cost_key(spec: RunSpec) -> tuple:
    return tuple(getattr(spec, f) for f in _COST_FIELDS)


def planned_runs(profile: str, *, runs_dir=None, seed: int = 0, corpus=None, scale=None) -> pd.DataFrame:
    """Every run a cold study of `profile` trains: grid (or 'lr-sweep'), the spec, extra eval sets.
    LRs do not change a run's cost, so the grids are built with the library's starting LR rule instead
    of sweeping first (the run ids here are therefore not the study's). The ladder's sweeps are left out
    when the profile reads its LRs from a reference store beside runs_dir (Profile.lr_from) that holds
    them; nothing is trained or written."""
    import tempfile

    from scalinglaws.study.plan import LRRule, Study
    from scalinglaws.study.profiles import GRIDS
    from scalinglaws.training.lr import LR_RULE_A, LR_RULE_B

    with tempfile.TemporaryDirectory() as tmp:
        st = Study(profile, runs_dir=runs_dir, figures_dir=tmp, seed=seed, corpus=corpus, scale=scale, log="none")
        p = st.profile
        rows = [("lr-sweep", s, 0) for s in (st.first_sweep_round() if p.tune_lr else [])]
        # The ladder sizes get an LR of their own (as their sweeps give them), so a ladder size and a shape
        # variant with the rule's LR stay two runs, as in the study.
        rule = LRRule(LR_RULE_A, LR_RULE_B, "starting rule (cost estimate)")
        n = st.ladder_params()
        rule.best = pd.DataFrame({"n_layer": [l for l, _ in p.ladder], "d_model": [d for _, d in p.ladder], "N": n,
                                  "best_lr": [1.01 * rule(x) for x in n]})
        st.assume_lrs(rule, pd.DataFrame([{"n_layer": l, "d_model": d, "N": 0, "best_lr": 1e-3, "at_edge": False,
                                           "sweep": None} for l, d in p.lstm_ladder]))
        for g in GRIDS:
            sets = len(st.eval_sets_for(g) or ())
            rows += [(g, s, sets) for s in st.grid(g)]
    seen, out = set(), []
    planned = {spec.run_id for _, spec, _ in rows}
    for grid, spec, sets in rows:
        if spec.run_id in seen:
            continue
        seen.add(spec.run_id)
        # a cooldown branch whose trunk the study trains too costs its cooldown steps and the evals after it
        start = start_step(spec, planned)
        out.append({"grid": grid, "run_id": spec.run_id, "N": spec.n_params, "arch": spec.arch,
                    "n_layer": spec.n_layer, "d_model": spec.d_model, "batch_size": spec.batch_size,
                    "steps": spec.steps - start, "evals": sum(1 for e in eval_steps(spec) if e > start),
                    "extra_sets": sets, "branch": bool(start), "early_stopping": bool(spec.patience), "spec": spec,
                    "key": cost_key(spec)})
    return pd.DataFrame(out)


def time_shape(spec: RunSpec, *, steps: int = 6, warmup: int = 2, device: str = "cpu") -> dict:
    """Seconds per training step, per evaluation of the validation windows, to start a run and to finish
    it (loss by position, weights), for spec's shape on this machine (one thread, as each of the study's
    workers runs). Each evaluation is timed right after training steps, as the loop calls it; the finish
    costs about one more evaluation per run."""
    import tempfile
    from pathlib import Path

    import torch

    from scalinglaws.data.tokens import prepare_tokens
    from scalinglaws.training.evaluate import save_weights
    from scalinglaws.training.trainer import Trainer

    torch.set_num_threads(1)
    data = prepare_tokens(spec.corpus, spec.vocab_size, quiet=True)
    spec = spec.replace(tokens=max(spec.tokens, (steps + warmup + 4) * spec.tokens_per_step))
    t0 = time.perf_counter()
    tr = Trainer(spec, data, device)
    start_s = time.perf_counter() - t0
    for i in range(warmup):
        tr.step(i)
    t0 = time.perf_counter()
    for i in range(warmup, warmup + steps):
        tr.step(i)
    step_s = (time.perf_counter() - t0) / steps
    evals = []
    for i in range(warmup + steps, warmup + steps + 2):
        tr.step(i)
        t0 = time.perf_counter()
        tr.evaluate()
        evals.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    tr.scorer.position_loss(tr.eval_x)
    with tempfile.TemporaryDirectory() as tmp:
        save_weights(tr.model, spec, Path(tmp))
    return {"step_s": step_s, "eval_s": sum(evals) / len(evals), "start_s": start_s,
            "end_s": time.perf_counter() - t0}


def _build_caches(specs, log) -> None:
    """Build the token caches the timed shapes read, here and with a line first: each worker would
    otherwise build it silently (108 s for the quick profile's corpus on a cold machine)."""
    from scalinglaws.data.tokens import prepare_tokens, token_cache_built

    for corpus, vocab in dict.fromkeys((s.corpus, s.vocab_size) for s in specs):
        if not token_cache_built(corpus, vocab):
            if log:
                log(f"[budget] building the token cache of {corpus} (vocab {vocab}) first: once per machine, "
                    "minutes; not part of the estimate")
            prepare_tokens(corpus, vocab, quiet=True)


def _pack(seconds: list[float], workers: int) -> float:
    """Wall time of jobs started longest first on `workers` workers (each next job to the first free one)."""
    free = [0.0] * max(1, workers)
    for s in sorted(seconds, reverse=True):
        i = free.index(min(free))
        free[i] += s
    return max(free)


@dataclass
class Estimate:
    profile: str
    workers: int
    runs: pd.DataFrame  # one row per run: grid, N, steps, evals, seconds (this machine)
    wall_s: float  # predicted training wall time on `workers` workers (sweeps and grids packed separately)
    machine: str
    timed: dict  # cost key -> timing, to pass to the next estimate on this machine

    @property
    def timings(self) -> pd.DataFrame:
        """One row per shape timed: its cost fields and seconds per step, per eval, to start and to finish."""
        return pd.DataFrame([{**dict(zip(_COST_FIELDS, k)), **v} for k, v in self.timed.items()])

    def by_grid(self) -> pd.DataFrame:
        g = self.runs.groupby("grid", sort=False)
        return pd.DataFrame({"runs": g.size(), "worker_s": g["seconds"].sum().round(0)}).sort_values(
            "worker_s", ascending=False)

    def summary(self) -> str:
        upper = int(self.runs["early_stopping"].sum())
        branches = int(self.runs["branch"].sum()) if "branch" in self.runs else 0
        lines = [f"{self.profile}: {len(self.runs)} runs ({branches} of them cooldown branches, costed from their "
                 f"branch point), {self.runs['seconds'].sum():,.0f} worker-seconds, "
                 f"about {self.wall_s / 60:.1f} min of training on {self.workers} worker(s) ({self.machine}; "
                 f"{upper} early-stopping runs costed at their cap; the token cache, built once per machine, and "
                 f"the notebooks come on top)"]
        lines += [f"  {r.Index:16s} {r.runs:4d} runs {r.worker_s:8,.0f} s" for r in self.by_grid().itertuples()]
        return "\n".join(lines)


def estimate(profile: str, *, workers: int = 2, steps: int = 6, runs_dir=None, seed: int = 0, corpus=None,
             scale=None, log=print, timed: dict | None = None) -> Estimate:
    """Predicted training time of a cold `profile` study on this machine (see the module docstring).
    timed: the timings of an earlier Estimate on this machine (its .timed); only shapes it lacks are timed."""
    runs = planned_runs(profile, runs_dir=runs_dir, seed=seed, corpus=corpus, scale=scale)
    timed = dict(timed or {})
    todo = {k: s for k, s in runs.groupby("key", sort=False)["spec"].first().items() if k not in timed}
    _build_caches(todo.values(), log)
    # Timed in `workers` processes at once, one thread each, as the study trains them (the workers share
    # caches and memory bandwidth, so a shape timed alone would look a few % faster).
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {k: pool.submit(time_shape, s, steps=steps) for k, s in todo.items()}
        for key, fut in futures.items():
            timed[key] = fut.result()
            if log:
                spec = todo[key]
                log(f"[budget] timed {spec.arch} {spec.n_layer}x{spec.d_model} batch {spec.batch_size}: "
                    f"{timed[key]['step_s'] * 1e3:.1f} ms/step, {timed[key]['eval_s']:.2f} s/eval")
    timed = {k: timed[k] for k in runs["key"].unique()}
    runs["seconds"] = [r.steps * timed[r.key]["step_s"] + r.evals * (1 + r.extra_sets) * timed[r.key]["eval_s"]
                       + timed[r.key]["start_s"] + timed[r.key]["end_s"] for r in runs.itertuples()]
    sweeps = runs["grid"] == "lr-sweep"  # the sweeps finish before any grid run starts (their LRs)
    wall = _pack(list(runs.loc[sweeps, "seconds"]), workers) + _pack(list(runs.loc[~sweeps, "seconds"]), workers)
    return Estimate(profile, workers, runs.drop(columns=["spec", "key"]), wall, cpu_model(), timed)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform reports: timings are only
    meaningful with the machine they were taken on."""
    import platform
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ------------------------------------------------------------------------------- on paper, for another device
@dataclass
class PaperEstimate:
    """A profile's training time on a device this machine is not, from throughput measured there."""

    profile: str
    device: str  # the device the throughput was measured on (as its file says)
    runs: pd.DataFrame  # one row per run: grid, N, tokens trained, seconds on one process
    one_process_s: float  # every run one after another in one process
    shared_s: tuple  # (low, high): the same with the device shared by several processes, at the measured gains
    source: str

    def summary(self) -> str:
        lo, hi = self.shared_s
        lines = [f"{self.profile} on {self.device} (on paper, from {self.source}): {len(self.runs)} runs, "
                 f"{self.runs['tokens_trained'].sum():.3g} tokens trained, {self.one_process_s / 3600:.1f} h in one "
                 f"process; {lo / 3600:.1f}-{hi / 3600:.1f} h with several processes sharing the device (the gains "
                 "measured there); the LR sweeps' extensions, evaluations and start-up come on top"]
        g = self.runs.groupby("grid", sort=False)["seconds"].agg(["size", "sum"]).sort_values("sum", ascending=False)
        lines += [f"  {grid:16s} {int(r['size']):4d} runs {r['sum'] / 60:8.1f} min" for grid, r in g.iterrows()]
        return "\n".join(lines)


def estimate_from_throughput(profile: str, speed_file, *, runs_dir=None) -> PaperEstimate:
    """Training time of `profile` on the device a speed benchmark was run on (benchmarks/bench_speed.py's JSON:
    "throughput" = tokens/s of our loop at a few model sizes, one process; "layout" = the gain of several
    processes sharing the device). A run's time is its trained tokens (a cooldown branch's from its branch
    point) over the throughput at its N, interpolated in log N between the measured sizes and held flat
    beyond them. An upper bound where the measurement's tokens per step were smaller than the profile's
    (a launch-bound step does not get slower with more tokens)."""
    import json
    from pathlib import Path

    from scalinglaws import ScalingLawsError

    path = Path(speed_file)
    try:
        speed = json.loads(path.read_text())
        tput = sorted((float(t["N"]), float(t["ours"])) for t in speed["throughput"])
        gains = [float(x["ratio"]) for x in speed.get("layout", [])] or [1.0]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ScalingLawsError(f"{speed_file}: not a speed benchmark result ({e}); give benchmarks/results/speed_gpu.json "
                               "or another bench_speed.py output") from None
    if not tput:
        raise ScalingLawsError(f"{speed_file}: no throughput measured in it; run benchmarks/bench_speed.py on the device")
    runs = planned_runs(profile, runs_dir=runs_dir)
    runs["tokens_trained"] = [steps * spec.tokens_per_step for steps, spec in zip(runs["steps"], runs["spec"])]
    logN = np.log([n for n, _ in tput])
    logT = np.log([t for _, t in tput])
    runs["tokens_per_s"] = np.exp(np.interp(np.log(runs["N"].clip(lower=1)), logN, logT))
    runs["seconds"] = runs["tokens_trained"] / runs["tokens_per_s"]
    one = float(runs["seconds"].sum())
    machine = speed.get("machine", {})
    return PaperEstimate(profile, str(machine.get("gpu") or machine.get("device") or "the measured device"),
                         runs.drop(columns=["spec", "key"]), one, (one / max(gains), one / min(gains)), path.name)

