"""Recorded check: does a speed change (bf16 autocast, or the fast kernels) move final validation
losses beyond seed-to-seed noise?

    .venv/bin/python benchmarks/check_numerics.py --compare kernels   # fast vs reference kernels, fp32, ~6 min
    .venv/bin/python benchmarks/check_numerics.py --compare precision # bf16 vs fp32, ~5 minutes on 2 cores
    python benchmarks/check_numerics.py --profile gpu --device cuda --tokens 2e6 --out benchmarks/results/numerics_gpu.json

For three model sizes of the profile's ladder, trains the same spec with 3 seeds on the baseline
(the fp32 eager loop; for --compare kernels, the plain transformers path: GPT-2's tanh GELU and
logits -> cross_entropy) and 3 seeds on the candidate (bf16 autocast, or kernels="fast"), at a reduced
budget, into runs/checks. Reports the seed-to-seed standard deviation of the baseline's final losses and
the difference of the candidate's mean from the baseline's in units of that noise (|z| < 2 passes).
Writes benchmarks/results/numerics.json (precision) or numerics_kernels.json (kernels) unless --out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scalinglaws.store.ensure import ensure_runs
from scalinglaws.study.profiles import get_profile
from scalinglaws.training.lr import default_lr


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=float, default=1e6)
    ap.add_argument("--runs-dir", default="runs/checks")
    ap.add_argument("--compare", default="precision", choices=["precision", "kernels"])
    ap.add_argument("--out", default="")
    ap.add_argument("--profile", default="cpu", help="whose ladder and run settings to use")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    prof = get_profile(a.profile)
    # (field, baseline, candidate); the other field stays at the baseline loop's value
    field, ref, cand = ("precision", "fp32", "bf16") if a.compare == "precision" else ("kernels", "reference", "fast")
    fixed = {"kernels": "fast"} if a.compare == "precision" else {"precision": "fp32"}
    out_path = Path(a.out or Path(__file__).parent / "results" / ("numerics.json" if a.compare == "precision" else "numerics_kernels.json"))
    sizes = [prof.ladder[0], prof.ladder[len(prof.ladder) // 2], prof.ladder[-1]]
    specs = []
    for n_layer, d_model in sizes:
        base = prof.base(n_layer, d_model, int(a.tokens), label="numerics check")
        base = base.replace(lr=round(default_lr(base.n_params), 6), lr_source="starting rule")
        for value in (ref, cand):
            for seed in (0, 1, 2):
                specs.append(base.replace(seed=seed, **fixed, **{field: value}))
    df = ensure_runs(specs, a.runs_dir, device=a.device)
    fin = df[df["is_final"]]
    rows = []
    for (n_layer, d_model), g in fin.groupby(["n_layer", "d_model"]):
        g = g.sort_values("seed")
        base_l = g[g[field] == ref]["final_val_loss"].to_numpy()
        cand_l = g[g[field] == cand]["final_val_loss"].to_numpy()
        noise = float(np.std(base_l, ddof=1))
        diff = float(cand_l.mean() - base_l.mean())
        # the difference of two 3-seed means has standard error noise*sqrt(2/3)
        z = diff / (noise * np.sqrt(2 / 3)) if noise > 0 else float("inf")
        rows.append({"n_layer": int(n_layer), "d_model": int(d_model), "N": int(g.N.iloc[0]),
                     ref: base_l.tolist(), cand: cand_l.tolist(), f"seed_std_{ref}": noise,
                     f"{cand}_minus_{ref}": diff, "z": float(z), "within_noise": bool(abs(z) < 2)})
        print(f"N={rows[-1]['N']:>8,}: {ref} {base_l.mean():.4f} ± {noise:.4f} (3 seeds)  {cand} {cand_l.mean():.4f}  "
              f"diff {diff:+.4f} = {z:+.2f} σ  {'OK' if abs(z) < 2 else 'DIFFERS'}")
    out = {"compare": field, "baseline": ref, "candidate": cand, "fixed": fixed, "tokens": int(a.tokens),
           "profile": prof.name, "device": a.device, "sizes": rows}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {out_path}")
    return 0 if all(r["within_noise"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
