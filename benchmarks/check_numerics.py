"""Recorded check: does bf16 autocast change final validation losses beyond seed-to-seed noise?

    .venv/bin/python benchmarks/check_numerics.py            # ~5 minutes on 2 cores
    python benchmarks/check_numerics.py --profile gpu --device cuda --tokens 4e6 --out benchmarks/results/numerics_gpu.json

For three model sizes of the cpu ladder, trains the same spec with 3 seeds in fp32 (our loop: fused
AdamW, eager) and 3 seeds in bf16 autocast, at a reduced budget, into runs/checks. Reports the
seed-to-seed standard deviation of the fp32 final losses and the difference of the bf16 mean from the
fp32 mean in units of that noise (|z| < 2 passes). Writes benchmarks/results/numerics.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from scalinglaws.experiments import get_profile
from scalinglaws.store import ensure_runs
from scalinglaws.tuning import default_lr


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=float, default=1e6)
    ap.add_argument("--runs-dir", default="runs/checks")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "numerics.json"))
    ap.add_argument("--profile", default="cpu", help="whose ladder and run settings to use")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    prof = get_profile(a.profile)
    sizes = [prof.ladder[0], prof.ladder[len(prof.ladder) // 2], prof.ladder[-1]]
    specs = []
    for n_layer, d_model in sizes:
        base = prof.base(n_layer, d_model, int(a.tokens), label="numerics check")
        base = base.replace(lr=round(default_lr(base.n_params), 6), lr_source="starting rule")
        for prec in ("fp32", "bf16"):
            for seed in (0, 1, 2):
                specs.append(base.replace(precision=prec, seed=seed))
    df = ensure_runs(specs, a.runs_dir, device=a.device)
    fin = df[df["is_final"]]
    rows = []
    for (n_layer, d_model), g in fin.groupby(["n_layer", "d_model"]):
        f32 = g[g.precision == "fp32"]["final_val_loss"].to_numpy()
        b16 = g[g.precision == "bf16"]["final_val_loss"].to_numpy()
        noise = float(np.std(f32, ddof=1))
        diff = float(b16.mean() - f32.mean())
        # the difference of two 3-seed means has standard error noise*sqrt(2/3)
        z = diff / (noise * np.sqrt(2 / 3)) if noise > 0 else float("inf")
        rows.append({"n_layer": int(n_layer), "d_model": int(d_model), "N": int(g.N.iloc[0]),
                     "fp32": f32.tolist(), "bf16": b16.tolist(), "seed_std_fp32": noise,
                     "bf16_minus_fp32": diff, "z": float(z), "within_noise": bool(abs(z) < 2)})
        print(f"N={rows[-1]['N']:>8,}: fp32 {f32.mean():.4f} ± {noise:.4f} (3 seeds)  bf16 {b16.mean():.4f}  "
              f"diff {diff:+.4f} = {z:+.2f} σ  {'OK' if abs(z) < 2 else 'DIFFERS'}")
    out = {"tokens": int(a.tokens), "profile": prof.name, "device": a.device, "sizes": rows}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0 if all(r["within_noise"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
