"""The README's tables and docs/findings.md, built from figures/<profile>/NN_results.json (never typed by
hand): one row per claim with its verdict (findings + verdicts), every quantity, and each claim's evidence.

    scalinglaws report --profile cpu                 # the claims table
    scalinglaws report --profile cpu --table findings
"""

from __future__ import annotations

from pathlib import Path

from scalinglaws import ScalingLawsError
from scalinglaws import findings as FINDINGS_REGISTRY
from scalinglaws.numbers import estimate, num
from scalinglaws.records import read_results, record_label
from scalinglaws.runner import repo_root
from scalinglaws.study.profiles import get_profile


def _fmt(v) -> str:
    return num(v)


def _results_dir(profile: str, figures_dir: str | None) -> Path:
    if figures_dir is None:
        get_profile(profile)  # an unknown profile is an error, not an empty table
    fig = Path(figures_dir) if figures_dir else repo_root() / "figures" / profile
    if not any(fig.glob("[0-9][0-9]*_results.json")):
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
            lines.append(f"| {f.title} | {_cell(record_label(r))} | {_fmt(r['value'])}{ci} | {_cell(r['units']) or '–'} | "
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
                lines.append(f"  - measured: {_fmt(r['value'])}{ci} ({record_label(r)}; key `{r.get('key') or '–'}`)")
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




def _cell(t) -> str:
    return str(t).replace("|", "\\|")  # a "|" inside a cell would end it
