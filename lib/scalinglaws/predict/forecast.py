"""A run's learning curve -> its loss at the planned last step, and the steps and tokens to a target loss:
L(S) = E + (S_c/S)^alpha fitted to the run's own evaluations after warmup, with bootstrap intervals.
S in optimizer steps, losses in nats/token (validation)."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np

from scalinglaws.training.run_folder import CorruptRunError, is_done, read_metrics, read_spec, verify_run

from .. import ScalingLawsError
from .fmt import ci, num
from .limits import check_finite, check_n_boot

__all__ = ["forecast_run"]


def _read_run(run_dir: Path):
    """(spec, metrics rows, finished) of a run folder; one-line errors for anything that is not one."""
    if not run_dir.exists():
        raise ScalingLawsError(f"--run {run_dir}: no such run folder")
    if not run_dir.is_dir():
        raise ScalingLawsError(f"--run {run_dir} is a file, not a run folder (<store>/<run id>)")
    cfg_path = run_dir / "config.json"
    try:
        spec = read_spec(run_dir)
    except FileNotFoundError:
        raise ScalingLawsError(f"--run {run_dir} has no config.json: not a run folder of the store") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ScalingLawsError(f"{cfg_path} does not hold a run spec ({e.__class__.__name__}: {e})") from None
    metrics = run_dir / "metrics.jsonl"
    if not metrics.is_file() or not metrics.read_text().strip():
        raise ScalingLawsError(f"--run {run_dir} has no evaluations yet (metrics.jsonl is missing or empty): "
                               "nothing to fit")
    finished = is_done(run_dir)
    # A finished run is checked like any result (its files must agree); a run in progress is read as it is.
    why = verify_run(run_dir) if finished else ""
    if why:
        raise CorruptRunError(f"--run {run_dir} is corrupt: {why}")
    try:
        rows = read_metrics(run_dir)
    except CorruptRunError as e:
        raise CorruptRunError(f"--run {run_dir} is corrupt: {e}") from None
    return spec, rows, finished


def _curve_points(rows: list[dict], warmup: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps, val losses) after warmup: during warmup the LR is still rising and the curve is not yet the
    power law (the study's fits drop S <= warmup too)."""
    pts = [(r.get("step"), r.get("val_loss")) for r in rows]
    pts = [(float(s), float(v)) for s, v in pts
           if isinstance(s, (int, float)) and isinstance(v, (int, float)) and s > warmup and math.isfinite(v) and v > 0]
    steps = np.array([s for s, _ in pts])
    return steps, np.array([v for _, v in pts])


def _steps_to(target: float, X_c, alpha, E):
    """Steps where E + (X_c/S)^alpha = target: S = X_c (target - E)^(-1/alpha); inf when target <= E."""
    X_c, alpha, E = (np.asarray(v, dtype=float) for v in (X_c, alpha, E))
    with np.errstate(divide="ignore", invalid="ignore"):
        S = X_c * np.power(np.maximum(target - E, 0.0), -1.0 / alpha)
    return np.where(target > E, S, np.inf)


def _quantiles_with_inf(x: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval that may include inf (an unreachable target in some bootstrap fits): no
    interpolation, so an end is a drawn value, never inf - inf."""
    q = (1 - level) / 2
    lo, hi = np.quantile(x, [q, 1 - q], method="inverted_cdf")
    return float(lo), float(hi)


def forecast_run(run_dir: str | Path, target_loss: float | None = None, n_boot: int = 200) -> dict:
    """Fit L(S) = E + (S_c/S)^alpha to a run's evaluations after warmup; predict the loss at the planned last
    step (spec.steps) and, given a target loss, the steps and tokens to reach it, with bootstrap intervals."""
    from .. import fit as F  # scipy (~0.7 s): only the --run question fits anything

    check_n_boot(n_boot)
    run_dir = Path(run_dir).expanduser()
    spec, rows, finished = _read_run(run_dir)
    warmup, planned = spec.warmup, spec.steps
    steps, loss = _curve_points(rows, warmup)
    if len(np.unique(steps)) < 4:
        raise ScalingLawsError(f"--run {run_dir}: {len(np.unique(steps))} evaluation(s) after warmup (step > {warmup}); "
                               "need at least 4 to fit E + (S_c/S)^alpha")
    with warnings.catch_warnings(record=True) as caught:  # reported in the output, not as stray stderr lines
        warnings.simplefilter("always", F.FitWarning)
        fit = F.fit_power_law(x=steps, L=loss, irreducible=True, n_boot=n_boot, seed=0)
    warns = [str(w.message) for w in caught if issubclass(w.category, F.FitWarning)]
    if not fit.converged and not any(fit.message in w for w in warns):
        warns.append(f"the learning-curve fit did not converge: {fit.message}")
    p, bands = fit.params, fit.ci
    pred = fit.predict_interval(x=np.array([float(planned)]))
    last_step, last_loss = int(steps.max()), float(loss[np.argmax(steps)])
    final = {"step": planned, "tokens": planned * spec.tokens_per_step, "loss": float(pred.estimate[0]),
             "low": num(pred.low[0]), "high": num(pred.high[0]),
             "observed": last_loss if last_step == planned else None}
    check_finite(f"--run {run_dir}: the fitted curve at step {planned}", final, "the fit is degenerate; see its parameters")
    if planned > 10 * last_step:
        warns.append(f"the planned last step {planned} is {planned / last_step:.0f}x beyond the last evaluation "
                     f"({last_step}): a long extrapolation of the curve")
    report = {
        "question": "run",
        "inputs": {"run": str(run_dir), "target_loss": target_loss, "n_boot": n_boot},
        "run": {"run_id": run_dir.name, "finished": finished, "N": spec.n_params, "warmup_steps": warmup,
                "planned_steps": planned, "tokens_per_step": spec.tokens_per_step, "schedule": spec.schedule,
                "evaluations_fitted": int(len(steps)), "first_step_fitted": int(steps.min()),
                "last_step": last_step, "last_loss": last_loss},
        "fit": {"law": "L(S) = E + (S_c/S)^alpha (S in optimizer steps)",
                "S_c": p["X_c"], "S_c_ci": ci(bands["X_c"]), "alpha": p["alpha"], "alpha_ci": ci(bands["alpha"]),
                "E": p["E"], "E_ci": ci(bands["E"]), "rms_log_residual": float(np.sqrt(np.mean(fit.residuals ** 2))),
                "converged": bool(fit.converged), "n_boot": n_boot, "level": fit.level},
        "final": final, "target": None, "assumptions": [], "warnings": warns,
        "notes": [_schedule_note(spec),
                  "Intervals are 95% percentile bootstrap intervals over the evaluations (the law's parameter "
                  "uncertainty); the scatter of the run itself is extra."],
    }
    if target_loss is not None:
        report["target"] = _target(fit, target_loss, steps, loss, spec.tokens_per_step)
    return report


def _target(fit, target: float, steps: np.ndarray, loss: np.ndarray, tokens_per_step: int) -> dict:
    """Steps and tokens to reach ``target`` on the fitted curve, with a bootstrap interval; whether the run
    already got there; unreachable when the target is at or below the fitted floor E."""
    p = fit.params
    reached = steps[loss <= target]
    out = {"loss": target, "reachable": bool(target > p["E"]), "steps": None, "steps_low": None, "steps_high": None,
           "tokens": None, "tokens_low": None, "tokens_high": None, "unreachable_share": None,
           "reached_at_step": int(reached.min()) if len(reached) else None}
    S = float(_steps_to(target, p["X_c"], p["alpha"], p["E"]))
    boot = fit.boot[np.all(np.isfinite(fit.boot), axis=1)] if fit.boot.size else np.zeros((0, 3))
    if len(boot):
        cols = [fit.param_names.index(n) for n in ("X_c", "alpha", "E")]
        draws = _steps_to(target, *(boot[:, c] for c in cols))
        lo, hi = _quantiles_with_inf(draws, fit.level)
        out.update(steps_low=num(lo), steps_high=num(hi), unreachable_share=float(np.mean(np.isinf(draws))))
    out["steps"] = num(S)
    for k in ("", "_low", "_high"):
        s = out[f"steps{k}"]
        out[f"tokens{k}"] = None if s is None else s * tokens_per_step
    return out


def _schedule_note(spec) -> str:
    if spec.schedule == "wsd":
        decay = f"the linear cooldown over the last {spec.decay_frac:.0%} of the schedule"
    else:
        decay = "the LR decay at the end of the cosine schedule"
    return (f"The fit is one power law in steps and ignores {decay}, which lowers the loss faster near the end "
            "than the curve before it: it tends to over-predict the final loss (and the steps to a target), "
            "most for a run still early in its schedule.")
