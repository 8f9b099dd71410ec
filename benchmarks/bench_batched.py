"""Batched (K same-shape runs as one stacked model, scalinglaws.batched) vs one run at a time: aggregate
training tokens/s, per core, MFU against the measured matmul peak; and, with --numerics, whether batched
final losses agree with one-at-a-time ones within seed-to-seed noise.

    .venv/bin/python benchmarks/bench_batched.py --out benchmarks/results/batched_cpu.json        # ~6 min, 2 cores
    .venv/bin/python benchmarks/bench_batched.py --numerics --out benchmarks/results/batched_numerics_cpu.json
    python benchmarks/bench_batched.py --device cuda --profile gpu --ks 1,8,32 --out ...              # on a GPU

Run it alone: the numbers mean something only on an otherwise idle machine.

Layouts timed per size (the cpu profile's shape, batch and context; the LR is irrelevant to speed):
- ``sequential``: the study's layout today (store.auto_layout): one run per core, `workers` processes of
  one thread each (on CUDA: `workers` processes sharing the GPU);
- ``batched K``: one process with all threads training K runs as one stacked model;
- ``batched K x workers``: `workers` processes of one thread, each training K stacked runs.
Every layout's aggregate tokens/s is the sum over all runs in flight, timed over the same window after
warm-up steps. MFU uses the full per-token training FLOPs (as bench_speed.py).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_speed import matmul_peak  # noqa: E402 - the same peak measurement as the speed benchmark
from machine import cpu_model  # noqa: E402
from scalinglaws.data.tokens import prepare_tokens  # noqa: E402
from scalinglaws.study.profiles import get_profile  # noqa: E402
from scalinglaws.training.batched import Stack  # noqa: E402
from scalinglaws.training.schedule import get_lr  # noqa: E402
from scalinglaws.training.spec import RunSpec  # noqa: E402
from scalinglaws.training.trainer import (
    Trainer,  # noqa: E402
    tune_allocator,
)


def _steps(specs: list[RunSpec], device: str):
    """A function doing one training step of all `specs` (one alone: train_run's step; several: batched)."""
    data = prepare_tokens(specs[0].corpus, specs[0].vocab_size, quiet=True)
    trs = [Trainer(s, data, device) for s in specs]
    if len(specs) == 1:
        return lambda i: trs[0].step(i)
    stack = Stack([SimpleNamespace(tr=t) for t in trs])
    members = [SimpleNamespace(tr=t, spec=s) for t, s in zip(trs, specs)]

    def step(i):
        from scalinglaws.data.windows import batch_starts, gather_windows

        w = torch.stack([torch.from_numpy(gather_windows(m.tr.train_tokens, batch_starts(
            len(m.tr.train_tokens), m.spec.n_ctx, m.spec.batch_size, m.spec.seed, i), m.spec.n_ctx)) for m in members])
        return stack.step(w.to(device), [get_lr(i, m.spec) for m in members], specs[0], trs[0].scorer)
    return step


def _sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _time(step, device: str, seconds: float, warmup: int = 3) -> tuple[int, float]:
    for i in range(warmup):
        step(i)
    _sync(device)
    t, n = time.perf_counter(), 0
    while time.perf_counter() - t < seconds:
        step(warmup + n)
        n += 1
    _sync(device)
    return n, time.perf_counter() - t


def _worker(spec_dicts, device, threads, seconds, barrier, q):
    torch.set_num_threads(threads)
    tune_allocator()
    specs = [RunSpec(**d) for d in spec_dicts]
    step = _steps(specs, device)
    barrier.wait()  # every process times the same window; building is not timed
    n, dt = _time(step, device, seconds)
    q.put(n * specs[0].tokens_per_step * len(specs) / dt)


def aggregate(specs: list[RunSpec], device: str, processes: int, threads: int, seconds: float) -> float:
    """Total tokens/s of `processes` processes of `threads` threads, each training all of `specs`."""
    ctx = mp.get_context("spawn")
    q, barrier = ctx.Queue(), ctx.Barrier(processes)
    ps = [ctx.Process(target=_worker, args=([s.to_dict() for s in specs], device, threads, seconds, barrier, q))
          for _ in range(processes)]
    for p in ps:
        p.start()
    rates = [q.get() for _ in ps]
    for p in ps:
        p.join()
    return sum(rates)


def speed(args) -> dict:
    prof = get_profile(args.profile)
    cores = args.threads
    workers = args.workers or (cores if args.device == "cpu" else 8)
    per_worker_threads = 1 if args.device == "cpu" else 2
    peak = matmul_peak(torch.bfloat16 if prof.precision == "bf16" else torch.float32, cores)
    rows = []
    for (n_layer, d_model) in _sizes(prof, args.sizes):
        spec = prof.base(n_layer, d_model, prof.ladder_tokens or 1_000_000, lr=1e-3)
        full = spec.describe()["flops_per_token"]["full"]
        row = {"n_layer": n_layer, "d_model": d_model, "N": spec.n_params, "batch_size": spec.batch_size,
               "n_ctx": spec.n_ctx, "flops_per_token_full": full}
        reps = {}
        for r in range(args.repeats):  # interleaved repeats; the median is reported
            reps.setdefault("sequential", []).append(
                aggregate([spec], args.device, workers, per_worker_threads, args.seconds))
            for k in args.ks:
                members = [spec.replace(seed=i, lr=1e-3 * (1 + i / 10)) for i in range(k)]
                reps.setdefault(f"batched {k}", []).append(aggregate(members, args.device, 1, cores, args.seconds))
                if args.device == "cpu" and workers > 1:
                    reps.setdefault(f"batched {k} x {workers}", []).append(
                        aggregate(members, args.device, workers, per_worker_threads, args.seconds))
        layouts = {name: statistics.median(v) for name, v in reps.items()}
        best = max((n for n in layouts if n != "sequential"), key=layouts.get)
        row.update({
            "tokens_per_s": layouts, "repeats": reps,
            "tokens_per_s_per_core": {n: v / cores for n, v in layouts.items()},
            "mfu": {n: v * full / (peak * 1e9) for n, v in layouts.items()},
            "best_batched": best, "best_over_sequential": layouts[best] / layouts["sequential"],
        })
        rows.append(row)
        print(f"N={spec.n_params:>9,}  sequential {layouts['sequential']:>10,.0f} tok/s   best {best:<14} "
              f"{layouts[best]:>10,.0f} tok/s  ({row['best_over_sequential']:.2f}x)", flush=True)
    return {"matmul_peak_gflops": peak, "workers": workers, "rows": rows}


def numerics(args) -> dict:
    """Final validation losses of `seeds` runs per size trained batched (one group per size) and one at a
    time, in scratch stores; the batched-minus-sequential difference against the seed-to-seed sd."""
    import tempfile

    from scalinglaws.training.batched import train_batched
    from scalinglaws.training.loop import train_run
    from scalinglaws.training.run_folder import read_summary

    prof = get_profile(args.profile)
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for (n_layer, d_model) in _sizes(prof, args.sizes):
            specs = [prof.base(n_layer, d_model, args.tokens, lr=args.lr, seed=s) for s in range(args.seeds)]
            t = time.perf_counter()
            bdirs = train_batched(specs, Path(tmp, "batched"), device=args.device)
            t_b = time.perf_counter() - t
            t = time.perf_counter()
            sdirs = [train_run(s, Path(tmp, "sequential"), device=args.device, log="none") for s in specs]
            t_s = time.perf_counter() - t
            b = [read_summary(d)["final_val_loss"] for d in bdirs]
            s = [read_summary(d)["final_val_loss"] for d in sdirs]
            diffs = [x - y for x, y in zip(b, s)]
            sd = statistics.stdev(s)
            rows.append({"n_layer": n_layer, "d_model": d_model, "N": specs[0].n_params, "tokens": args.tokens,
                         "lr": args.lr, "seeds": args.seeds, "batched": b, "sequential": s, "diff": diffs,
                         "max_abs_diff": max(map(abs, diffs)), "seed_sd": sd,
                         "within_seed_noise": max(map(abs, diffs)) <= sd,
                         "wall_s": {"batched": t_b, "sequential": t_s}})
            print(f"N={specs[0].n_params:>9,}  max |batched - sequential| {rows[-1]['max_abs_diff']:.2e} nats, "
                  f"seed sd {sd:.2e}  (wall {t_b:.0f}s batched vs {t_s:.0f}s one at a time, {args.threads} threads)",
                  flush=True)
    return {"rows": rows}


def _sizes(prof, which: str):
    ladder = list(prof.ladder)
    if which == "all":
        return ladder
    if which == "small":  # the sizes of issue 16's CPU target (N <= 25,472 on the cpu ladder)
        return ladder[:4]
    return [tuple(int(v) for v in s.split("x")) for s in which.split(",")]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sizes", default="all", help="'all' ladder sizes, 'small' (first four), or '1x16,2x32'")
    ap.add_argument("--ks", default="2,4,8", help="runs per stacked model to time")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="cores in use")
    ap.add_argument("--workers", type=int, default=0, help="processes of the sequential layout (0: one per core)")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--numerics", action="store_true", help="compare final losses instead of timing")
    ap.add_argument("--tokens", type=int, default=1_000_000, help="--numerics: tokens per run")
    ap.add_argument("--lr", type=float, default=3e-3, help="--numerics: the LR of every run")
    ap.add_argument("--seeds", type=int, default=3, help="--numerics: runs per size (seeds 0..n-1)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    args.ks = [int(k) for k in args.ks.split(",")]
    result = {
        "machine": {"platform": platform.platform(), "processor": cpu_model(), "cpus": os.cpu_count(),
                    "torch": torch.__version__, "device": args.device,
                    "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None},
        "profile": args.profile, "threads": args.threads, "when": time.strftime("%Y-%m-%d"),
        **(numerics(args) if args.numerics else speed(args)),
    }
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
