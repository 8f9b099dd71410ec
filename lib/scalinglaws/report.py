"""The README's tables and docs/findings.md, built from figures/<profile>/NN_results.json (never typed by
hand): one row per claim with its verdict (findings + verdicts), every quantity, and each claim's evidence.

    scalinglaws report --profile cpu                 # the claims table
    scalinglaws report --profile cpu --table findings
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from scalinglaws import ScalingLawsError
from scalinglaws import findings as FINDINGS_REGISTRY
from scalinglaws.numbers import estimate, num
from scalinglaws.runner import repo_root
from scalinglaws.study.profiles import get_profile


def _fmt(v) -> str:
    return num(v)


def _results_dir(profile: str, figures_dir: str | None) -> Path:
    if figures_dir is None:
        get_profile(profile)  # an unknown profile is an error, not an empty table
    fig = Path(figures_dir) if figures_dir else repo_root() / "figures" / profile
    if not any(fig.glob("[0-9][0-9]_results.json")):
        raise ScalingLawsError(f"no results in {fig}: run the study first (scalinglaws study --profile {profile})")
    return fig


def _links(profile: str, fig: Path, f, figure: str = "") -> str:
    """The notebook, and the figure that shows the claim (the claim's own, else the finding's main figure)."""
    figure = figure or f.figure
    link = f"[{f.name}](notebooks/{f.name}.ipynb)"
    return link + (f" · [fig](figures/{profile}/{figure}.png)" if (fig / f"{figure}.png").exists() else "")


def results_markdown(profile: str = "cpu", figures_dir: str | None = None) -> str:
    """The full results table (every quantity of every notebook), built from figures/<profile>/NN_results.json
    (never typed by hand)."""
    fig = _results_dir(profile, figures_dir)
    lines = ["| finding | quantity | this study (95% CI) | units | paper | note | notebook · figure |",
             "|---|---|---|---|---|---|---|"]
    for f in FINDINGS_REGISTRY.FINDINGS:
        path = fig / f"{f.nb}_results.json"
        if not path.exists():
            continue
        for r in read_results(path):
            ci = f" [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]" if r["ci_low"] is not None else ""
            lines.append(f"| {f.title} | {_cell(_label(r))} | {_fmt(r['value'])}{ci} | {_cell(r['units']) or '–'} | "
                         f"{_fmt(r['paper_value'])} | {_cell(r['note'])} | {_links(profile, fig, f)} |")
    return "\n".join(lines)


def claims_markdown(profile: str = "cpu", figures_dir: str | None = None) -> str:
    """Results at a glance: one row per claim of the paper, our measurement with its interval, the paper's
    value and a verdict computed by scalinglaws.findings.verdict."""
    fig = _results_dir(profile, figures_dir)
    lines = ["| claim (Kaplan et al. 2020 unless noted) | this study (95% CI) | paper | rival / margin | n points | verdict "
             "| why | notebook |", "|---|---|---|---|---|---|---|---|"]
    for f in FINDINGS_REGISTRY.FINDINGS:
        path = fig / f"{f.nb}_results.json"
        records = read_results(path) if path.exists() else []
        for c in f.claims:
            word, why, r = FINDINGS_REGISTRY.verdict(c, records)
            ours = "–"
            if r is not None and r["value"] is not None:  # which record decided it: the why column names its key
                ours = estimate(r["value"], (r["ci_low"], r["ci_high"]) if r["ci_low"] is not None else None)
            pv = r["paper_value"] if r is not None and r["paper_value"] is not None else c.paper
            rival = (f"{_fmt(c.rival)}" if c.rival is not None else f"± {_fmt(c.delta)}" if c.delta is not None else "–")
            n = r.get("n_points") if r is not None else None
            npts = f"{n} {c.points}" if n is not None else "–"
            lines.append(f"| {_cell(c.text)} | {ours} | {_fmt(pv)} | {rival} | {_cell(npts)} | **{word}** | {_cell(why)} "
                         f"| {_links(profile, fig, f, c.figure)} |")
    return "\n".join(lines)


def findings_markdown(profile: str = "cpu", figures_dir: str | None = None) -> str:
    """docs/findings.md: each finding's claims with the verdict, the measured value and interval, the paper's
    value, the rival or margin and why it was chosen, the design behind the record (independent points, span,
    how the interval was made, seeds) and the computed reason -- all read from the results records, so every
    sentence is true of the numbers it stands beside."""
    fig = _results_dir(profile, figures_dir)
    out = []
    for f in FINDINGS_REGISTRY.FINDINGS:
        path = fig / f"{f.nb}_results.json"
        records = read_results(path) if path.exists() else []
        out.append(f"## {f.title}\n\n[notebook](../notebooks/{f.name}.ipynb) · "
                   f"[figure](../figures/{profile}/{f.figure}.png)\n")
        for c in f.claims:
            v = FINDINGS_REGISTRY.verdict(c, records)
            r = v.record
            lines = [f"- **{v.word}** — {c.text}"]
            if r is not None and r["value"] is not None:
                ci = f" [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]" if r["ci_low"] is not None else " (no interval)"
                lines.append(f"  - measured: {_fmt(r['value'])}{ci} ({_label(r)}; key `{r.get('key') or '–'}`)")
                design = [f"{r[k]} {c.points}" if k == "n_points" else f"{_fmt(r[k])} decades" if k == "span" else
                          f"{r[k]}" for k in ("n_points", "span", "ci_method", "status")
                          if r.get(k) not in (None, "")]
                if design:
                    lines.append(f"  - design: {'; '.join(design)}")
            target = {"null": f"{_fmt(c.paper)} ± {_fmt(c.delta)}", "value": _fmt(c.paper)}.get(c.kind, _fmt(c.paper))
            rival = f"; rival {_fmt(c.rival)}" if c.rival is not None else ""
            lines.append(f"  - paper: {target}{rival}" + (f" ({c.basis})" if c.basis else ""))
            lines.append(f"  - why this verdict: {v.reason}")
            out.append("\n".join(lines))
        out.append("")
    return "\n".join(out)


def _label(r) -> str:
    """A record's display text: `label` (typed records) or `quantity` (results files written before them)."""
    return r["label"] if "label" in r else r["quantity"]


_RECORD_NUMBERS = ("value", "ci_low", "ci_high", "paper_value")
_RECORD_KEYS = (*_RECORD_NUMBERS, "units", "note")  # and a name: "key" + "label" (typed records) or "quantity"


def read_results(path: Path) -> list[dict]:
    """The records of one NN_results.json, checked: a file that is not a list of result records is one
    line naming it (not a traceback naming none). A NaN or infinite number (json reads both) is no
    measurement: it becomes None, so the claim's verdict is "not measured", never "not reproduced"."""
    fix = f"re-run its notebook to rewrite it (scalinglaws study --notebooks {path.name.split('_')[0]})"
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ScalingLawsError(f"results file {path} does not read as JSON ({e.__class__.__name__}: {e}); {fix}") from None
    if not isinstance(records, list):
        raise ScalingLawsError(f"results file {path} holds a {type(records).__name__}, not a list of records; {fix}")
    out = []
    for i, r in enumerate(records):
        named = isinstance(r, dict) and (isinstance(r.get("label"), str) or isinstance(r.get("quantity"), str))
        if not named or any(k not in r for k in _RECORD_KEYS):
            raise ScalingLawsError(f"results file {path}: record {i} is not a result record "
                                   f"(needs a label, {', '.join(_RECORD_KEYS)}); {fix}")
        bad = [k for k in _RECORD_NUMBERS if r[k] is not None and (isinstance(r[k], bool) or not isinstance(r[k], (int, float)))]
        if bad:
            raise ScalingLawsError(f"results file {path}: record {i} ({_label(r)}) has a non-number "
                                   f"{bad[0]}={r[bad[0]]!r}; {fix}")
        nonfinite = {k: None for k in _RECORD_NUMBERS if r[k] is not None and not math.isfinite(r[k])}
        if "value" in nonfinite and "status" in r:  # a typed record: no value is no measurement
            nonfinite.update(status="failed", ci_low=None, ci_high=None,
                             note=f"{r['note']} [non-finite value {r['value']!r} in the results file]".strip())
        out.append({**r, **nonfinite})
    return out


def _cell(t) -> str:
    return str(t).replace("|", "\\|")  # a "|" inside a cell would end it
