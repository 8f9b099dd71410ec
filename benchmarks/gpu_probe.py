"""Per-step cost of our loop on a GPU across batch size and precision, to size the `gpu` profile.

    python benchmarks/gpu_probe.py --out OUT/probe_gpu.json        # ~1 minute on one H100/H200

The first GPU session (2026-11-27, H200) found the loop launch-bound at the gpu profile's sizes
(7.8 ms per step for a 1-layer model): tokens per step, not FLOPs, set the wall time. This measures
tokens/s of one process for the ladder's ends at batch 32 and 128 sequences of the profile's context
(256 tokens when benchmarks/results/probe_gpu.json was recorded, 128 since the profile was re-sized),
fp32 (TF32 matmuls) and bf16 autocast, and the total of GPU_WORKERS processes at batch 128.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench_speed as bs  # noqa: E402
import torch  # noqa: E402
from scalinglaws.data.tokens import prepare_tokens  # noqa: E402
from scalinglaws.store.executors import GPU_WORKERS  # noqa: E402
from scalinglaws.study.profiles import get_profile  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    bs.DEVICE = a.device
    prof = get_profile("gpu")
    data = prepare_tokens(prof.corpus, prof.vocab_size, quiet=True)
    torch.set_num_threads(2)
    ends = [prof.ladder[0], prof.ladder[len(prof.ladder) // 2], prof.ladder[-1]]
    rows = []
    for n_layer, d_model in ends:
        for batch in (32, 128):
            for prec in ("fp32", "bf16"):
                spec = prof.base(n_layer, d_model, 10**6, lr=1e-3, batch_size=batch, precision=prec)
                tps = bs.ours(spec, data, a.seconds)
                flops = spec.describe()["flops_per_token"]["full"]
                rows.append({"n_layer": n_layer, "d_model": d_model, "N": spec.n_params, "batch_size": batch,
                             "n_ctx": spec.n_ctx, "precision": prec, "tokens_per_s": tps, "ms_per_step": 1e3 * spec.tokens_per_step / tps,
                             "tflops": tps * flops / 1e12})
                print(f"L{n_layer} d{d_model} N={spec.n_params:>10,} batch {batch:>3} {prec}: {tps:>11,.0f} tok/s "
                      f"{rows[-1]['ms_per_step']:6.2f} ms/step {rows[-1]['tflops']:6.1f} TFLOP/s", flush=True)
                Path(a.out).write_text(json.dumps({"single": rows}, indent=1) + "\n")
    lay = []
    for n_layer, d_model in ends[:2]:
        spec = prof.base(n_layer, d_model, 10**6, lr=1e-3, batch_size=128)
        lay.append({"N": spec.n_params, "batch_size": 128, **bs.layout(spec, data, a.seconds * 2, GPU_WORKERS)})
        print(f"layout N={spec.n_params:,} batch 128: 1 process {lay[-1]['one_process_tokens_per_s']:,.0f} tok/s, "
              f"{GPU_WORKERS} processes {lay[-1]['k_processes_tokens_per_s']:,.0f} tok/s (x{lay[-1]['ratio']:.2f})", flush=True)
        Path(a.out).write_text(json.dumps({"single": rows, "layout": lay}, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
