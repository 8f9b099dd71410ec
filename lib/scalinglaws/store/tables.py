"""Finished runs as tidy DataFrames: load_runs (one row per eval point, the spec's fields as columns),
list_runs (every folder of a store, damaged ones marked), load_evals and load_positions (the sidecars).
Every read goes through the run-folder checks of training/run_folder.py. No torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Iterable

import pandas as pd

from scalinglaws import ScalingLawsError
from scalinglaws.training.run_folder import (
    CorruptRunError,
    branch_problem,
    is_done,
    plain_file,
    read_checked,
    read_evals,
    read_positions,
    read_sidecars,
    read_verified,
)
from scalinglaws.training.spec import RunSpec


def load_evals(specs: Iterable[RunSpec], runs_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per (run, eval point, extra set) of the DONE runs among `specs`: run_id, N, arch, step,
    tokens, set, loss, val_loss (the validation loss at the same step, when that step has one), is_final
    (the run's last step) and after_warmup (step > the run's warmup)."""
    runs_dir = Path(runs_dir)
    out = []
    for spec in specs:
        rd = runs_dir / spec.run_id
        if not is_done(rd):
            continue
        rows = read_evals(rd)
        if not rows:
            continue
        summ, metrics = read_checked(rd)
        val = {r["step"]: r["val_loss"] for r in metrics}
        df = pd.DataFrame(rows)
        df.insert(0, "run_id", spec.run_id)
        df["N"], df["arch"] = spec.n_params, spec.arch
        df["val_loss"] = df["step"].map(val)
        df["is_final"] = df["step"] == summ["steps"]
        df["after_warmup"] = df["step"] > spec.warmup
        out.append(df)
    cols = ["run_id", "step", "tokens", "set", "loss", "N", "arch", "val_loss", "is_final", "after_warmup"]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)


def load_positions(specs: Iterable[RunSpec], runs_dir: str | os.PathLike, set: str = "val") -> list[dict]:
    """Per run (DONE, with `set` in its positions.json): {run_id, N, arch, n_ctx, set, step, losses}, where
    losses[t-1] is the mean loss at position t = 1..n_ctx (t = 1 predicts a window's second token)."""
    runs_dir = Path(runs_dir)
    out = []
    for spec in specs:
        rd = runs_dir / spec.run_id
        pos = read_positions(rd) if is_done(rd) else None
        if pos and set in pos["losses"]:
            out.append({"run_id": spec.run_id, "N": spec.n_params, "arch": spec.arch, "n_ctx": pos["n_ctx"],
                        "set": set, "step": pos["step"], "losses": pos["losses"][set]})
    return out


SPEC_COLUMNS = [f.name for f in fields(RunSpec)]


def _run_frame(spec: RunSpec, run_dir: Path) -> pd.DataFrame:
    summ, rows = read_checked(run_dir)  # never read a damaged run as a result
    d = spec.describe()
    base = {**spec.to_dict(), "run_id": spec.run_id, "N": d["N"], "N_total": d["N_total"],
            "N_embedding": d["N_embedding"], "n_head_eff": d["n_head"], "d_ff_eff": d["d_ff"],
            "aspect_ratio": d["aspect_ratio"], "status": summ["status"],
            # The warmup in optimizer steps as trained (RunSpec.warmup resolves the spec's warmup_steps=0,
            # "automatic"). Fits of learning curves drop S <= this, per run.
            "warmup": spec.warmup,
            # The first step of a WSD run's cooldown: before it the LR is constant (after warmup), so a curve read
            # there is not annealed (analysis.sample_efficiency.before_cooldown).
            "decay_start": spec.decay_start,
            "final_val_loss": summ["final_val_loss"], "best_val_loss": summ["best_val_loss"],
            "tokens_per_s": summ["tokens_per_s"]}
    df = pd.DataFrame(rows) if rows else pd.DataFrame(columns=["step", "tokens", "val_loss"])
    # One meaning per column, from metrics.jsonl to the notebooks: the per-eval columns keep their names
    # (tokens = tokens processed so far, lr = the scheduled LR of the step just taken); the spec's budget
    # is budget_tokens, its peak LR peak_lr, and its warmup_steps (0 = automatic) gives way to `warmup`.
    base["budget_tokens"] = base.pop("tokens")
    base["peak_lr"] = base.pop("lr")
    base.pop("warmup_steps")
    for k, v in base.items():
        df[k] = v
    df["is_final"] = df["step"] == (df["step"].max() if len(df) else 0)
    return df


def load_runs(specs: Iterable[RunSpec], runs_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per eval point for each DONE run among `specs` (runs without DONE are skipped)."""
    runs_dir = Path(runs_dir)
    frames = [_run_frame(s, runs_dir / s.run_id) for s in specs if is_done(runs_dir / s.run_id)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def list_runs(runs_dir: str | os.PathLike) -> pd.DataFrame:
    """Every run folder in a store: shape, N, tokens, status, final loss (unfinished ones too). A folder
    that fails verify_run has status "corrupt" and the reason in `problem`; one bad folder never hides
    the others."""
    runs_dir = Path(runs_dir)
    if not runs_dir.exists():
        raise ScalingLawsError(f"no run store at {runs_dir} (check the path; a new store is created by training into it)")
    if not runs_dir.is_dir():
        raise ScalingLawsError(f"{runs_dir} is a file, not a run store folder")
    out = []
    for rd in sorted(p for p in Path(runs_dir).iterdir() if p.is_dir() and ((p / "config.json").exists() or is_done(p))):
        row = {"run_id": rd.name, "n_layer": None, "d_model": None, "N": None, "tokens": None, "data_tokens": None,
               "batch_size": None, "peak_lr": None, "label": "", "status": "unfinished", "final_val_loss": None, "problem": ""}
        try:
            c = json.loads(plain_file(rd, "config.json").read_text())  # never a link or a pipe
            sp, dv = c["spec"], c["derived"]
            row.update(n_layer=sp["n_layer"], d_model=sp["d_model"], N=dv["N"], tokens=sp["tokens"],
                       data_tokens=sp["data_tokens"], batch_size=sp["batch_size"], peak_lr=sp["lr"], label=sp.get("label", ""))
        except (OSError, json.JSONDecodeError, KeyError) as e:
            row.update(status="corrupt", problem=f"config.json unreadable: {e.__class__.__name__}")
        except CorruptRunError as e:
            row.update(status="corrupt", problem=str(e))
        if is_done(rd) and row["status"] != "corrupt":
            try:
                s, _ = read_verified(rd)
                read_sidecars(rd)
                row.update(status=s["status"], final_val_loss=s["final_val_loss"])
                if problem := branch_problem(rd):  # a cooldown branch whose trunk link does not hold
                    row.update(status="corrupt", problem=problem)
            except CorruptRunError as e:
                row.update(status="corrupt", problem=str(e))
        out.append(row)
    return pd.DataFrame(out)
