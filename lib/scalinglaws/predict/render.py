"""A `scalinglaws predict` report as text (`render`) or JSON (`to_json`): the numbers first, then the
assumptions, warnings and notes. Numbers are printed with 3 significant digits, losses with 3 decimals."""

from __future__ import annotations

import json

from .fmt import clean, fmt, loss3, ratio

__all__ = ["render", "to_json"]


def to_json(report: dict) -> str:
    """The report as JSON (for scripts): every non-finite number as null."""
    return json.dumps(clean(report), indent=1, allow_nan=False)


def _percent(x: float) -> str:
    return f"{100 * x:.1f}%" if abs(x) < 1e4 else f"{fmt(100 * x)}%"


_COMPUTE_ROWS = [("parameters N", "N", fmt), ("  N counts", "N_counts", str), ("training tokens D", "D", fmt),
                 ("tokens per parameter", "tokens_per_parameter", ratio),
                 ("6·N·D (FLOPs)", "flops_6ND", fmt), ("batch (tokens/step)", "batch_tokens", fmt),
                 ("steps", "steps", fmt), ("loss (nats/token)", "loss", loss3)]
_MODEL_ROWS = [("parameters N", "N", fmt), ("  N read as", "N_counts", str), ("training tokens D", "D", fmt),
               ("tokens per parameter", "tokens_per_parameter", ratio),
               ("C = 6·N·D (FLOPs)", "flops_6ND", fmt), ("loss L(N, D) (nats/token)", "loss", loss3),
               ("loss L(N, inf)", "loss_unlimited_data", loss3),
               ("overfitting penalty (Eq. 4.3)", "overfit_penalty", _percent),
               ("D needed, Eq. 4.4", "D_needed", fmt),
               ("overfits (Eq. 4.4)", "overfits", lambda x: "yes" if x else "no")]


def _table(columns: list[dict], rows) -> list[str]:
    head = ["", *[c["title"] for c in columns]]
    rows = [r for r in rows if any(c.get(r[1]) is not None for c in columns)]  # e.g. no batch row for Chinchilla alone
    body = [[label, *[("—" if c.get(key) is None else show(c[key])) for c in columns]] for label, key, show in rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [head, *body]]


def _bullets(title: str, lines: list[str]) -> list[str]:
    return [f"{title}:", *[f"  - {x}" for x in lines]] if lines else []


def render(report: dict) -> str:
    """The report as plain text: the numbers first, then assumptions, warnings and notes."""
    q = report["question"]
    if q == "run":
        out = _render_run(report)
    elif q == "compute":
        i = report["inputs"]
        out = [f"Compute-optimal training for C = {fmt(i['compute_flops'])} FLOPs ({fmt(i['compute_pf_days'])} PF-days)",
               "", *_table(report["laws"], _COMPUTE_ROWS)]
    else:
        i = report["inputs"]
        out = [f"Loss of N = {fmt(i['params'])} parameters trained on D = {fmt(i['tokens'])} tokens "
               f"(C = 6ND = {fmt(i['compute_flops'])} FLOPs)", "", *_table(report["laws"], _MODEL_ROWS)]
    for title, key in (("Assumptions", "assumptions"), ("Warnings", "warnings"), ("Notes", "notes")):
        block = _bullets(title, report.get(key) or [])
        out += [""] + block if block else []
    return "\n".join(out)


def _interval(est, lo, hi, show=fmt) -> str:
    if lo is None and hi is None:
        return f"{show(est)} (no interval)"
    return f"{show(est)} [95% CI {show(lo) if lo is not None else '—'}, {show(hi) if hi is not None else 'unreachable'}]"


def _render_run(r: dict) -> list[str]:
    run, f, fin, t = r["run"], r["fit"], r["final"], r["target"]
    state = "finished" if run["finished"] else "in progress"
    out = [f"Run {run['run_id']} ({state}): N = {fmt(run['N'])} non-embedding parameters, "
           f"{run['planned_steps']} steps planned, {run['tokens_per_step']} tokens/step, {run['schedule']} schedule",
           f"Fitted {f['law']} to {run['evaluations_fitted']} evaluations from step {run['first_step_fitted']} to "
           f"{run['last_step']} (after {run['warmup_steps']} warmup steps):",
           f"  S_c   = {_interval(f['S_c'], *f['S_c_ci'])} steps",
           f"  alpha = {_interval(f['alpha'], *f['alpha_ci'])}",
           f"  E     = {_interval(f['E'], *f['E_ci'], show=loss3)} nats/token",
           f"  rms log residual {f['rms_log_residual']:.4f}" + ("" if f["converged"] else "  (fit did not converge)"),
           "",
           f"Loss at the planned last step {fin['step']} ({fmt(fin['tokens'])} tokens): "
           f"{_interval(fin['loss'], fin['low'], fin['high'], show=loss3)} nats/token"]
    if fin["observed"] is not None:
        out.append(f"  observed final loss {loss3(fin['observed'])} (prediction - observed = {loss3(fin['loss'] - fin['observed'], sign=True)})")
    if t is not None:
        out.append("")
        if not t["reachable"]:
            out.append(f"Target loss {t['loss']:g} is at or below the fitted floor E = {loss3(f['E'])}: unreachable "
                       "on this curve (a larger model or more data lowers the floor).")
            if t["unreachable_share"] is not None and t["unreachable_share"] < 1:
                out.append(f"  {100 * (1 - t['unreachable_share']):.0f}% of the bootstrap fits would reach it "
                           f"(2.5th percentile: {fmt(t['steps_low'])} steps)")
        else:
            out.append(f"Steps to reach loss {t['loss']:g}: {_interval(t['steps'], t['steps_low'], t['steps_high'])} "
                       f"({fmt(t['tokens'])} tokens)")
            if t["unreachable_share"]:
                out.append(f"  {100 * t['unreachable_share']:.0f}% of the bootstrap fits put E at or above the target")
        if t["reached_at_step"] is not None:
            out.append(f"  observed: the run's first evaluation at or below it was at step {t['reached_at_step']}")
    return out
