"""Training throughput on this machine: our loop vs transformers.Trainer vs a naive PyTorch loop,
model FLOP utilisation against the measured matmul peak, and the worker layout for tiny models.

    .venv/bin/python benchmarks/bench_speed.py                 # ~15 minutes on 2 cores (3 repeats)
    .venv/bin/python benchmarks/bench_speed.py --profile cpu --seconds 8 --out benchmarks/results/speed_cpu.json
    python benchmarks/bench_speed.py --profile gpu --device cuda --sizes ends --seconds 3 --compile   # on a GPU machine

Run it alone: the numbers are only meaningful on an otherwise idle machine.
All three loops train the same GPT2LMHeadModel (the spec's kernels choose its GELU); ours computes the
loss with the fused head (scalinglaws.training.loss), the Trainer and the naive loop with the model's own
`labels=` loss. `ours_reference` is our loop on the plain transformers path (GPT-2's tanh GELU and
logits -> cross_entropy), as the study trained before the fast kernels.
MFU uses the full per-token training FLOPs, 3·(2N + 2·n_layer·n_ctx·d_model + 2·d_model·n_vocab), over
the dense-matmul peak measured here with torch for the dtype in use.
`shared_bound` times the model's block stack alone (forward + backward), the part every loop training
this model runs: `max_over_trainer` and `mfu_bound` are what no training loop can exceed on this model.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scalinglaws.data.tokens import prepare_tokens
from scalinglaws.data.windows import batch_starts, gather_windows
from scalinglaws.study.profiles import get_profile
from scalinglaws.training.model import build_model
from scalinglaws.training.schedule import get_lr
from scalinglaws.training.spec import RunSpec
from scalinglaws.training.trainer import Trainer, tune_allocator

DEVICE = "cpu"  # set by --device; every measurement of one script run uses the same device
TUNED = True  # glibc malloc settings of train_run (train.tune_allocator) for every loop; --default-allocator


def sync():
    if DEVICE.startswith("cuda"):
        torch.cuda.synchronize()


def seconds_per_matmul(m: int, k: int, n: int, dtype, seconds: float) -> float:
    """Mean seconds of one (m x k) @ (k x n) product on random data (zeros run faster on some GPUs),
    after warmup, repeated for about `seconds`."""
    a = torch.randn(m, k, device=DEVICE).to(dtype)
    b = torch.randn(k, n, device=DEVICE).to(dtype)
    for _ in range(3):
        a @ b
    sync()
    t, reps = time.perf_counter(), 0
    while time.perf_counter() - t < seconds:
        a @ b
        reps += 1
        if reps % 10 == 0:  # keep the GPU queue short, so the clock check means what it says
            sync()
    sync()
    return (time.perf_counter() - t) / reps


def matmul_peak(dtype, threads: int, seconds: float = 2.0) -> float:
    """Best dense-matmul GFLOP/s over a few square sizes (what a well-shaped workload could reach)."""
    torch.set_num_threads(threads)
    sizes = (2048, 4096, 8192) if DEVICE.startswith("cuda") else (512, 1024, 2048)
    return max(2 * n**3 / seconds_per_matmul(n, n, n, dtype, seconds / 3) / 1e9 for n in sizes)


def model_matmul_ceiling(spec: RunSpec, seconds: float = 1.0) -> float:
    """GFLOP/s of this model's own forward matmul shapes (tokens-per-step rows x d_model), each timed
    alone: the most a loop could reach on this model even with zero overhead, since small matmuls run
    far below the square-matrix peak."""
    s = spec.shape()
    m = spec.batch_size * spec.n_ctx
    dt = torch.bfloat16 if spec.precision == "bf16" else torch.float32
    shapes = [(s.d_model, 3 * s.d_model), (s.d_model, s.d_model), (s.d_model, s.d_ff), (s.d_ff, s.d_model),
              (s.d_model, s.vocab_size)]
    flops = sum(2 * m * k * n for k, n in shapes)
    secs = sum(seconds_per_matmul(m, k, n, dt, seconds / len(shapes)) for k, n in shapes)
    return flops / secs / 1e9


def time_steps(step_fn, seconds: float, warmup: int = 3) -> float:
    """Seconds per step: the median over chunks of steps, after warmup steps. On CPU a chunk is one
    step; on CUDA it is 10 steps between synchronisations (the loop itself does not sync per step)."""
    chunk = 10 if DEVICE.startswith("cuda") else 1
    for i in range(warmup):
        step_fn(i)
    sync()
    times, i, t_end = [], warmup, time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 5:
        t = time.perf_counter()
        for _ in range(chunk):
            step_fn(i)
            i += 1
        sync()
        times.append((time.perf_counter() - t) / chunk)
    return float(np.median(times))


def ours(spec: RunSpec, data, seconds: float) -> float:
    if DEVICE.startswith("cuda"):  # as train_run sets it for a CUDA run
        torch.backends.cuda.matmul.allow_tf32 = True
    tr = Trainer(spec, data, DEVICE)
    return spec.tokens_per_step / time_steps(tr.step, seconds)


def shared_model(spec: RunSpec, data, seconds: float) -> float:
    """Seconds per forward + backward of the model's block stack alone (embeddings, transformer blocks,
    final layer norm), with the precision our loop uses: the part of a step that every loop training
    this GPT2LMHeadModel runs, the Trainer's and the naive one included. What is left of a step (the
    output head and its loss, the optimizer, sampling, Python) is all a training loop can change, so
    tokens_per_step / this time bounds any loop's rate on this model, and its MFU."""
    tr = Trainer(spec, data, DEVICE)
    w = torch.from_numpy(gather_windows(data.train, batch_starts(len(data.train), spec.n_ctx, spec.batch_size, 0, 0),
                                        spec.n_ctx)).to(DEVICE)
    x = w[:, :-1]
    grad = torch.randn(spec.batch_size, spec.n_ctx, spec.d_model, device=DEVICE)

    def step(i):
        with tr.autocast:
            h = tr.model.transformer(input_ids=x).last_hidden_state
        h.backward(grad.to(h.dtype))
        tr.model.zero_grad(set_to_none=True)

    return time_steps(step, seconds)


def naive(spec: RunSpec, data, seconds: float) -> float:
    """fp32, default AdamW, per-sample Python sampling, labels shifted inside the model."""
    torch.backends.cuda.matmul.allow_tf32 = False  # torch's default: plain fp32
    model = build_model(spec.shape(), seed=spec.seed, kernels=spec.kernels).to(DEVICE)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, betas=(spec.beta1, spec.beta2))
    train = data.train
    g = torch.Generator().manual_seed(0)

    def step(i):
        rows = []
        for _ in range(spec.batch_size):
            s = int(torch.randint(0, len(train) - spec.n_ctx - 1, (1,), generator=g))
            rows.append(torch.tensor(train[s : s + spec.n_ctx].astype(np.int64)))
        x = torch.stack(rows).to(DEVICE)
        for grp in opt.param_groups:
            grp["lr"] = get_lr(i, spec)
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), spec.grad_clip)
        opt.step()

    return spec.tokens_per_step * (spec.n_ctx - 1) / spec.n_ctx / time_steps(step, seconds)


def hf_trainer(spec: RunSpec, data, seconds: float, tmp: Path) -> float:
    """transformers.Trainer on the same GPT2LMHeadModel, batch and context, from a map-style dataset."""
    from transformers import Trainer, TrainerCallback, TrainingArguments

    model = build_model(spec.shape(), seed=spec.seed, kernels=spec.kernels)
    train = data.train
    on_gpu = DEVICE.startswith("cuda")

    class Windows(torch.utils.data.Dataset):
        def __len__(self):
            return 10**7

        def __getitem__(self, i):
            s = int(batch_starts(len(train), spec.n_ctx, 1, spec.seed, i)[0])
            x = torch.from_numpy(train[s : s + spec.n_ctx].astype(np.int64))
            return {"input_ids": x, "labels": x}

    times = []

    class Timer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            self.t = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            sync()  # the Trainer reads the loss lazily; time each step to completion
            times.append(time.perf_counter() - self.t)
            if sum(times) > seconds and len(times) > 8:
                control.should_training_stop = True

    args = TrainingArguments(output_dir=str(tmp), per_device_train_batch_size=spec.batch_size, learning_rate=spec.lr,
                             max_steps=100000, lr_scheduler_type="cosine", warmup_steps=spec.warmup,
                             adam_beta2=spec.beta2, max_grad_norm=spec.grad_clip, weight_decay=0.0,
                             logging_strategy="no", save_strategy="no", report_to=[], use_cpu=not on_gpu,
                             bf16=on_gpu and spec.precision == "bf16",
                             dataloader_num_workers=0, disable_tqdm=True, seed=spec.seed)
    Trainer(model=model, args=args, train_dataset=Windows(), callbacks=[Timer()]).train()
    return spec.tokens_per_step * (spec.n_ctx - 1) / spec.n_ctx / float(np.median(times[3:]))


def _layout_worker(spec_dict, seconds, q, device, threads, barrier, tuned):
    global DEVICE
    DEVICE = device
    torch.set_num_threads(threads)
    if tuned:
        tune_allocator()  # as train_run does in every training process
    spec = RunSpec(**spec_dict)
    data = prepare_tokens(spec.corpus, spec.vocab_size, quiet=True)
    if device.startswith("cuda"):
        torch.zeros(1, device=device)  # create the CUDA context before the common start
    barrier.wait()  # all workers time the same window (start-up is not measured)
    q.put(ours(spec, data, seconds))


def layout(spec: RunSpec, data, seconds: float, workers: int = 2) -> dict:
    """Total tokens/s of one process with all threads vs `workers` processes training at once.
    CPU: 1 process x 2 threads vs 2 x 1. CUDA: 1 process vs `workers` processes sharing the GPU."""
    # CPU: the single process gets both cores, each worker one; CUDA: every process gets its share of
    # the host cores (at most 2) for Python and kernel launches, the single one included.
    cores = 2 if DEVICE == "cpu" else max(1, min(2, (os.cpu_count() or 2) // workers))
    torch.set_num_threads(cores)
    one = ours(spec, data, seconds)
    ctx = mp.get_context("spawn")
    q, barrier = ctx.Queue(), ctx.Barrier(workers)
    threads = 1 if DEVICE == "cpu" else cores
    ps = [ctx.Process(target=_layout_worker, args=(spec.to_dict(), seconds, q, DEVICE, threads, barrier, TUNED))
          for _ in range(workers)]
    for p in ps:
        p.start()
    rates = [q.get() for _ in ps]
    for p in ps:
        p.join()
    return {"workers": workers, "one_process_tokens_per_s": one, "k_processes_tokens_per_s": sum(rates),
            "ratio": sum(rates) / one}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--seconds", type=float, default=6.0, help="timing window per measurement")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", default=None, help="override the profile's precision (fp32/bf16)")
    ap.add_argument("--sizes", default="all", help="'all' ladder sizes or 'ends' (smallest, middle, largest)")
    ap.add_argument("--no-trainer", action="store_true")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved timings of every loop; the table is their median")
    ap.add_argument("--compile", action="store_true", help="also time our loop with torch.compile (RunSpec.compile)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--layout-workers", type=int, default=0, help="processes in the layout test (0: 2 on CPU, store.GPU_WORKERS on CUDA)")
    ap.add_argument("--default-allocator", action="store_true",
                    help="leave glibc malloc at its defaults (train_run tunes it; see train.tune_allocator)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    global DEVICE, TUNED
    DEVICE = a.device
    # Every loop in this process gets the allocator train_run uses, so the comparison is of loops, not of
    # malloc settings: with glibc's defaults the Trainer's rate swung 146k-206k tokens/s at N = 3,312
    # (page faults on its multi-MB logits buffers every step), against 325k-343k tuned.
    TUNED = not a.default_allocator and tune_allocator()
    prof = get_profile(a.profile)
    data = prepare_tokens(prof.corpus, prof.vocab_size, quiet=True)
    peaks = {"fp32": matmul_peak(torch.float32, a.threads), "bf16": matmul_peak(torch.bfloat16, a.threads)}
    print(f"matmul peak ({DEVICE}, {a.threads} threads): fp32 {peaks['fp32']:.0f} GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s", flush=True)
    ladder = list(prof.ladder)
    if a.sizes == "ends":
        ladder = [ladder[0], ladder[len(ladder) // 2], ladder[-1]]
    rows = []
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / "sl_bench_trainer"
    for n_layer, d_model in ladder:
        spec = prof.base(n_layer, d_model, 10**6, lr=1e-3, precision=a.precision or prof.precision)
        torch.set_num_threads(a.threads)
        flops = spec.describe()["flops_per_token"]["full"]
        r = {"n_layer": n_layer, "d_model": d_model, "N": spec.n_params, "precision": spec.precision,
             "batch_size": spec.batch_size, "n_ctx": spec.n_ctx, "vocab": spec.vocab_size}
        loops = {
            "ours": lambda: ours(spec, data, a.seconds),
            # our loop on the plain transformers path (GPT-2's tanh GELU, logits -> cross_entropy): the
            # loop as the study ran it before the fast kernels (SPEC_VERSION 2), for the before/after table
            "ours_reference": lambda: ours(spec.replace(kernels="reference"), data, a.seconds),
            "naive": lambda: naive(spec.replace(precision="fp32"), data, a.seconds),
            # Same precision as ours: fp32 on the cpu profile; on a GPU the Trainer's own bf16 autocast.
            "trainer": (lambda: float("nan")) if a.no_trainer else (lambda: hf_trainer(spec, data, a.seconds, tmp)),
            # not a loop: the block stack's forward + backward alone, as tokens/s (see shared_model)
            "shared_bound": lambda: spec.tokens_per_step / shared_model(spec, data, a.seconds),
        }
        # Each loop is timed `repeats` times, interleaved, so a slow spell of the machine (seen here: one
        # loop's rate halving from one script run to the next while the others held) hits all loops
        # alike; the table uses the median, the JSON keeps every repeat.
        reps = {k: [] for k in loops}
        for _ in range(a.repeats):
            for k, f in loops.items():
                torch.set_num_threads(a.threads)
                reps[k].append(f())
        for k, v in reps.items():
            r[k], r[f"{k}_repeats"] = float(np.median(v)), v
        if a.compile:  # torch.compile of the block stack; the compile itself happens in the warmup steps
            t0 = time.perf_counter()
            r["ours_compiled"] = ours(spec.replace(compile=True), data, a.seconds)
            r["compiled_over_ours"] = r["ours_compiled"] / r["ours"]
            r["compiled_wall_s"] = time.perf_counter() - t0  # compile + warmup + timing window
        r["ours_over_trainer"] = r["ours"] / r["trainer"]  # nan when the Trainer was skipped
        r["ours_over_naive"] = r["ours"] / r["naive"]
        r["fast_over_reference"] = r["ours"] / r["ours_reference"]
        r["ours_gflops"] = r["ours"] * flops / 1e9
        r["mfu"] = r["ours_gflops"] / peaks[spec.precision]
        # Bounds for any loop on this model (Amdahl): it must run the block stack (shared_bound tokens/s)
        # and at least the output head's matmuls, at best at the peak. A loop can beat the Trainer by at
        # most shared_bound / trainer, and reach at most mfu_bound.
        r["max_over_trainer"] = r["shared_bound"] / r["trainer"]
        head_s = 3 * 2 * spec.d_model * spec.vocab_size * spec.tokens_per_step / (peaks[spec.precision] * 1e9)
        step_s = spec.tokens_per_step / r["shared_bound"] + head_s
        r["mfu_bound"] = flops * spec.tokens_per_step / step_s / 1e9 / peaks[spec.precision]
        r["matmul_ceiling_gflops"] = model_matmul_ceiling(spec)
        r["fraction_of_ceiling"] = r["ours_gflops"] / r["matmul_ceiling_gflops"]
        if a.compile:
            print(f"L{n_layer} d{d_model} compiled: {r['ours_compiled']:,.0f} tok/s = {r['compiled_over_ours']:.2f}x eager "
                  f"({r['compiled_wall_s']:.0f} s with compiling)", flush=True)
        spread = "  ".join(f"{k} {min(v):,.0f}-{max(v):,.0f}" for k, v in reps.items() if len(v) > 1)
        print(f"L{n_layer} d{d_model} N={spec.n_params:>9,} ours {r['ours']:>9,.0f} tok/s  trainer {r['trainer']:>9,.0f}  "
              f"naive {r['naive']:>9,.0f}  ours(reference kernels) {r['ours_reference']:>9,.0f}  ours/trainer {r['ours_over_trainer']:.2f}  ours/naive {r['ours_over_naive']:.2f}  "
              f"MFU {100 * r['mfu']:.0f}% ({r['ours_gflops']:.0f} GFLOP/s {spec.precision}; this model's matmul shapes "
              f"alone reach {r['matmul_ceiling_gflops']:.0f})\n    any loop on this model: at most {r['max_over_trainer']:.2f}x the Trainer, "
              f"MFU at most {100 * r['mfu_bound']:.0f}% (its block stack alone: {r['shared_bound']:,.0f} tok/s)" + (f"\n    range over {a.repeats} repeats: {spread}" if spread else ""),
              flush=True)
        rows.append(r)
    lay = []
    from scalinglaws.store.executors import GPU_WORKERS

    workers = a.layout_workers or (GPU_WORKERS if DEVICE.startswith("cuda") else 2)
    for n_layer, d_model in (ladder[:3] if DEVICE == "cpu" else ladder[:2]):
        spec = prof.base(n_layer, d_model, 10**6, lr=1e-3)
        lay.append({"N": spec.n_params, "n_layer": n_layer, "d_model": d_model,
                    **layout(spec, data, a.seconds, workers)})
        print(f"layout N={spec.n_params:,}: 1 process {lay[-1]['one_process_tokens_per_s']:,.0f} tok/s, "
              f"{workers} processes {lay[-1]['k_processes_tokens_per_s']:,.0f} tok/s (x{lay[-1]['ratio']:.2f})", flush=True)
    gpu = torch.cuda.get_device_name() if DEVICE.startswith("cuda") else None
    out = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                       "threads": a.threads, "device": DEVICE, "gpu": gpu}, "profile": prof.name, "repeats": a.repeats, "malloc_tuned": TUNED, "matmul_peak_gflops": peaks,
           "throughput": rows, "layout": lay}
    path = Path(a.out) if a.out else Path(__file__).parent / "results" / f"speed_{prof.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
