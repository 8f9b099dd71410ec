"""Training throughput on this machine: our loop vs transformers.Trainer vs a naive PyTorch loop,
model FLOP utilisation against the measured matmul peak, and the worker layout for tiny models.

    .venv/bin/python benchmarks/bench_speed.py                 # ~5 minutes on 2 cores
    .venv/bin/python benchmarks/bench_speed.py --profile cpu --seconds 8 --out benchmarks/results/speed_cpu.json

Run it alone: the numbers are only meaningful on an otherwise idle machine.
MFU uses the full per-token training FLOPs, 3·(2N + 2·n_layer·n_ctx·d_model + 2·d_model·n_vocab), over
the dense-matmul peak measured here with torch for the dtype in use.
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

from scalinglaws.config import RunSpec, get_lr
from scalinglaws.data import batch_starts, gather_windows, prepare_tokens
from scalinglaws.experiments import get_profile
from scalinglaws.model import build_model
from scalinglaws.train import _Trainer


def matmul_peak(dtype, threads: int, seconds: float = 2.0) -> float:
    """Best dense-matmul GFLOP/s over a few square sizes (what a well-shaped workload could reach)."""
    torch.set_num_threads(threads)
    best = 0.0
    for n in (512, 1024, 2048):
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        for _ in range(2):
            a @ b
        t, k = time.perf_counter(), 0
        while time.perf_counter() - t < seconds / 3:
            a @ b
            k += 1
        best = max(best, 2 * n**3 * k / (time.perf_counter() - t) / 1e9)
    return best


def time_steps(step_fn, seconds: float, warmup: int = 3) -> float:
    """Seconds per step (median of 1/5 chunks) after warmup steps."""
    for i in range(warmup):
        step_fn(i)
    times, i, t_end = [], warmup, time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 5:
        t = time.perf_counter()
        step_fn(i)
        times.append(time.perf_counter() - t)
        i += 1
    return float(np.median(times))


def ours(spec: RunSpec, data, seconds: float) -> float:
    tr = _Trainer(spec, data, "cpu")
    return spec.tokens_per_step / time_steps(tr.step, seconds)


def naive(spec: RunSpec, data, seconds: float) -> float:
    """fp32, default AdamW, per-sample Python sampling, labels shifted inside the model."""
    model = build_model(spec.shape(), seed=spec.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, betas=(spec.beta1, spec.beta2))
    train = data.train
    g = torch.Generator().manual_seed(0)

    def step(i):
        rows = []
        for _ in range(spec.batch_size):
            s = int(torch.randint(0, len(train) - spec.n_ctx - 1, (1,), generator=g))
            rows.append(torch.tensor(train[s : s + spec.n_ctx].astype(np.int64)))
        x = torch.stack(rows)
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

    model = build_model(spec.shape(), seed=spec.seed)
    train = data.train

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
            times.append(time.perf_counter() - self.t)
            if sum(times) > seconds and len(times) > 8:
                control.should_training_stop = True

    args = TrainingArguments(output_dir=str(tmp), per_device_train_batch_size=spec.batch_size, learning_rate=spec.lr,
                             max_steps=100000, lr_scheduler_type="cosine", warmup_steps=spec.warmup,
                             adam_beta2=spec.beta2, max_grad_norm=spec.grad_clip, weight_decay=0.0,
                             logging_strategy="no", save_strategy="no", report_to=[], use_cpu=True,
                             dataloader_num_workers=0, disable_tqdm=True, seed=spec.seed)
    Trainer(model=model, args=args, train_dataset=Windows(), callbacks=[Timer()]).train()
    return spec.tokens_per_step * (spec.n_ctx - 1) / spec.n_ctx / float(np.median(times[3:]))


def _layout_worker(spec_dict, seconds, q):
    torch.set_num_threads(1)
    spec = RunSpec(**spec_dict)
    q.put(ours(spec, prepare_tokens(spec.corpus, spec.vocab_size, quiet=True), seconds))


def layout(spec: RunSpec, data, seconds: float) -> dict:
    """Total tokens/s of one process with 2 threads vs two single-thread processes (two runs at once)."""
    torch.set_num_threads(2)
    one_by_two = ours(spec, data, seconds)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    ps = [ctx.Process(target=_layout_worker, args=(spec.to_dict(), seconds, q)) for _ in range(2)]
    for p in ps:
        p.start()
    rates = [q.get() for _ in ps]
    for p in ps:
        p.join()
    return {"1x2_tokens_per_s": one_by_two, "2x1_tokens_per_s": sum(rates), "ratio_2x1_over_1x2": sum(rates) / one_by_two}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--seconds", type=float, default=6.0, help="timing window per measurement")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", default=None, help="override the profile's precision (fp32/bf16)")
    ap.add_argument("--sizes", default="all", help="'all' ladder sizes or 'ends' (smallest, middle, largest)")
    ap.add_argument("--no-trainer", action="store_true")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    prof = get_profile(a.profile)
    data = prepare_tokens(prof.corpus, prof.vocab_size, quiet=True)
    peaks = {"fp32": matmul_peak(torch.float32, a.threads), "bf16": matmul_peak(torch.bfloat16, a.threads)}
    print(f"matmul peak ({a.threads} threads): fp32 {peaks['fp32']:.0f} GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s", flush=True)
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
        r["ours"] = ours(spec, data, a.seconds)
        r["naive"] = naive(spec.replace(precision="fp32"), data, a.seconds)
        r["trainer"] = float("nan")
        if not a.no_trainer:
            torch.set_num_threads(a.threads)
            r["trainer"] = hf_trainer(spec.replace(precision="fp32"), data, a.seconds, tmp)
        r["ours_over_trainer"] = r["ours"] / r["trainer"]  # nan when the Trainer was skipped
        r["ours_over_naive"] = r["ours"] / r["naive"]
        r["ours_gflops"] = r["ours"] * flops / 1e9
        r["mfu"] = r["ours_gflops"] / peaks[spec.precision]
        print(f"L{n_layer} d{d_model} N={spec.n_params:>9,} ours {r['ours']:>9,.0f} tok/s  trainer {r['trainer']:>9,.0f}  "
              f"naive {r['naive']:>9,.0f}  ours/trainer {r['ours_over_trainer']:.2f}  ours/naive {r['ours_over_naive']:.2f}  "
              f"MFU {100 * r['mfu']:.0f}% ({r['ours_gflops']:.0f} GFLOP/s {spec.precision})", flush=True)
        rows.append(r)
    lay = []
    for n_layer, d_model in ladder[:3]:
        spec = prof.base(n_layer, d_model, 10**6, lr=1e-3)
        lay.append({"N": spec.n_params, "n_layer": n_layer, "d_model": d_model, **layout(spec, data, a.seconds)})
        print(f"layout N={spec.n_params:,}: 1x2 {lay[-1]['1x2_tokens_per_s']:,.0f} tok/s, 2x1 {lay[-1]['2x1_tokens_per_s']:,.0f} "
              f"tok/s (x{lay[-1]['ratio_2x1_over_1x2']:.2f})", flush=True)
    out = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                       "threads": a.threads}, "profile": prof.name, "matmul_peak_gflops": peaks,
           "throughput": rows, "layout": lay}
    path = Path(a.out) if a.out else Path(__file__).parent / "results" / f"speed_{prof.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
