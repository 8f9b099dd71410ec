"""Every notebook runs end to end at the smoke profile and writes what the report and the figures need: a
results table the claims table can read, figures with their data, and an executed notebook without errors.

Every test of the fast suite that reads the trained smoke store (conftest.smoke_store) is in this file:
`make test` distributes by file (-n 2 --dist loadfile), so the store is trained once, in one worker."""

import json
import math
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from scalinglaws import ScalingLawsError, findings
from scalinglaws.findings import EXERCISE_NOTEBOOKS, NOTEBOOKS, key
from scalinglaws.runner import run_study
from scalinglaws.study.plan import Study
from scalinglaws.study.profiles import GRIDS

EXPECTED_FIGURES = {
    "01_model_size": ["01_loss_vs_N", "01_convergence", "01_depth_collapse", "01_appendix_lr_sweep"],
    "02_dataset_size": ["02_early_stopping", "02_loss_vs_D"],
    "03_model_shape": ["03_shape"],
    "04_overfitting": ["04_LND"],
    "05_sample_efficiency": ["05_learning_curves", "05_tokens_to_target", "05_LNS_fit", "05_predict_from_first_half"],
    "06_compute_allocation": ["06_frontier", "06_frontier_fits", "06_critical_batch", "06_noise_scale"],
    "06b_chinchilla_contrast": ["06b_isoflop", "06b_final_frontier", "06b_contrast", "06b_allocation"],
    "07_generalization": ["07_loss_vs_N_by_text", "07_other_vs_books"],
    "08_context_and_lstm": ["08_lstm_vs_transformer", "08_loss_by_position"],
    "09_prediction_exercise": ["09_prediction_check"],
}
# Figures whose table has the same columns whatever the data (the functions that build them fix them).
EXPECTED_COLUMNS = {
    "01_convergence": ["n_layer", "d_model", "N", "tokens", "L", "peak_lr", "source"],  # convergence.budget_table
    "05_predict_from_first_half": ["run_id", "N", "final_step", "actual", "predicted", "pred_low", "pred_high",
                                   "error_pct"],  # analysis.holdout_prediction
    "06b_contrast": ["step", "change", "counting", "a", "a_low", "a_high", "n_points", "span", "delta",
                    "delta_low", "delta_high", "delta_n"],  # final_losses.ablation, one row per step and counting
}
RECORD_KEYS = {"key", "label", "value", "ci_low", "ci_high", "paper_value", "units", "note", "status", "n_points", "span",
               "ci_method", "boot_failed", "boot_total", "seeds"}
VERDICTS = set(findings.WORDS)
from scalinglaws.records import STATUSES  # noqa: E402


@pytest.fixture(scope="module")
def smoke_dirs(smoke_store):
    return smoke_store.runs, smoke_store.figures, smoke_store.root / "notebooks"


def _number_or_none(v) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))


def check_results(nb: str, records: list) -> None:
    """The results table: the records analysis.Results writes (finite numbers or null, intervals in order,
    one record per quantity), and a verdict for every claim of this notebook's finding."""
    assert records, f"{nb}: empty results table"
    keys = [r["key"] for r in records]
    assert len(set(keys)) == len(keys), f"{nb}: a key recorded twice"
    for r in records:
        assert set(r) == RECORD_KEYS and isinstance(r["label"], str) and r["label"], r
        assert r["status"] in STATUSES, r
        assert all(_number_or_none(r[k]) for k in ("value", "ci_low", "ci_high", "paper_value")), r
        assert isinstance(r["units"], str) and isinstance(r["note"], str), r
        if r["ci_low"] is not None and r["ci_high"] is not None:
            assert r["ci_low"] <= r["ci_high"], r
    finding = next((f for f in findings.FINDINGS if f.name == nb), None)  # None: an exercise, no claims
    for claim in finding.claims if finding else ():
        word, why, _ = findings.verdict(claim, records)
        assert word in VERDICTS and why, (claim.text, word, why)


def check_figure(figs, name: str) -> None:
    """A figure as plots.save_figure writes it: a PNG without the software-version entry, an SVG without a
    date, and the plotted data as a CSV with one named column per field (no index column)."""
    png = (figs / f"{name}.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and b"Software" not in png, name
    svg = ET.parse(figs / f"{name}.svg").getroot()
    assert svg.tag.endswith("svg") and not any(el.tag.endswith("date") for el in svg.iter()), name
    data = pd.read_csv(figs / f"{name}.csv")
    cols = list(data.columns)
    assert cols and len(set(cols)) == len(cols) and not any(c.startswith("Unnamed") for c in cols), (name, cols)
    if name in EXPECTED_COLUMNS:
        assert cols == EXPECTED_COLUMNS[name] and len(data), (name, cols)


def check_executed(path) -> None:
    """Every code cell ran, none raised, and papermill recorded the smoke profile as the parameter."""
    book = nbformat.read(path, as_version=4)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code), path.name
    assert not [o for c in code for o in c.outputs if o.get("output_type") == "error"], path.name
    assert book.metadata["papermill"]["parameters"]["profile"] == "smoke"


@pytest.mark.parametrize("nb", NOTEBOOKS + EXERCISE_NOTEBOOKS)
def test_notebook_runs_at_smoke(nb, smoke_dirs):
    runs, figs, out = smoke_dirs
    t0 = time.perf_counter()
    run_study("smoke", [key(nb)], runs_dir=str(runs), figures_dir=str(figs), out=str(out))
    took = time.perf_counter() - t0
    for name in EXPECTED_FIGURES[nb]:
        check_figure(figs, name)
    check_results(nb, json.loads((figs / f"{key(nb)}_results.json").read_text()))
    check_executed(out / f"{nb}.ipynb")
    assert took < 120, f"{nb} took {took:.0f}s at smoke"


def test_train_all_leaves_nothing_for_the_notebooks(smoke_store, tmp_path, monkeypatch):
    # smoke_store is the smoke study after Study.train_all (shared with the notebook tests)
    assert smoke_store.n_grid_runs > 20
    # A fresh Study (as each notebook builds) re-derives the LR rule, the batch sweeps and every grid
    # from the store alone: with training forbidden, none of it may need a run that is missing.
    monkeypatch.setenv("SCALINGLAWS_NO_TRAIN", "1")
    fresh = Study("smoke", runs_dir=smoke_store.runs, figures_dir=tmp_path / "figs", log="none")
    assert fresh.train_all() == smoke_store.n_grid_runs  # everything cached: trains nothing
    for f in GRIDS:
        df = fresh.ensure(fresh.grid(f))
        assert not df.empty
    # ...and a different profile's store is not silently accepted
    other = Study("smoke", runs_dir=tmp_path / "other", figures_dir=tmp_path / "figs", log="none")
    with pytest.raises(ScalingLawsError, match="not in"):
        other.lr_rule()


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ScalingLawsError, match="unknown profile 'huge'"):
        run_study("huge", ["01"])


def test_every_notebook_declares_exactly_the_checked_parameters():
    """check_notebook_parameters knows the parameters the notebooks declare: one list, checked here."""
    import ast

    import nbformat
    from scalinglaws.runner import NOTEBOOK_EXTRA_PARAMETERS, NOTEBOOK_PARAMETERS, repo_root

    for nb in NOTEBOOKS + EXERCISE_NOTEBOOKS:
        cells = nbformat.read(repo_root() / "notebooks" / f"{nb}.ipynb", as_version=4).cells
        params = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1, nb
        names = [t.id for node in ast.parse(params[0].source).body if isinstance(node, ast.AnnAssign)
                 for t in [node.target]]
        assert tuple(names) == NOTEBOOK_PARAMETERS + NOTEBOOK_EXTRA_PARAMETERS.get(key(nb), ()), nb


def test_a_mistyped_parameter_stops_the_notebook_before_any_work(tmp_path):
    """papermill -p profil smoke: papermill itself only warns; the notebook stops in its setup cell with
    one line naming the fix, trains nothing, and leaves no executed notebook where a good one would go."""
    from scalinglaws.runner import check_notebook_parameters

    with pytest.raises(ScalingLawsError, match=r"unknown notebook parameter 'profil' \(did you mean 'profile'\?\)"):
        check_notebook_parameters({"profile": "cpu", "profil": "smoke", "pd": pytest, "In": [], "_i1": "x"})
    check_notebook_parameters({"profile": "cpu", "seed": 0, "display": print, "In": [], "Out": {}})

    out = tmp_path / "nb"
    out.mkdir()
    good = out / "01_model_size.ipynb"
    good.write_bytes(b'{"a committed, executed notebook": 1}')
    with pytest.raises(ScalingLawsError, match="unknown notebook parameter 'profil'"):
        run_study("smoke", ["01"], runs_dir=str(tmp_path / "runs"), figures_dir=str(tmp_path / "figs"), out=str(out),
                  extra_parameters={"profil": "smoke"})
    assert good.read_bytes() == b'{"a committed, executed notebook": 1}' and not list(out.glob(".*.running.ipynb"))
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("*/config.json"))


def test_a_failing_rerun_leaves_the_committed_notebook_byte_identical(tmp_path):
    """The notebook fails inside (here: a corpus that does not exist); the executed notebook in `out` is
    untouched, the failed execution is kept beside it, and no temporary file is left."""
    out = tmp_path / "nb"
    out.mkdir()
    good = out / "05_sample_efficiency.ipynb"
    good.write_bytes(b'{"a committed, executed notebook": 5}')
    with pytest.raises(ScalingLawsError, match="05_sample_efficiency failed"):
        run_study("smoke", ["05"], runs_dir=str(tmp_path / "runs"), figures_dir=str(tmp_path / "figs"), out=str(out),
                  extra_parameters={"corpus": str(tmp_path / "no_such_corpus.txt")}, pretrain=False)
    assert good.read_bytes() == b'{"a committed, executed notebook": 5}'
    assert (out / "05_sample_efficiency.failed.ipynb").exists() and not list(out.glob(".*.running.ipynb"))


def test_committed_notebooks_match_their_sources():
    """notebooks/src/*.py (jupytext percent scripts) are the sources: each committed notebook holds exactly
    their cells (plus the cell papermill injects when it executes one)."""
    import importlib.util

    import nbformat
    from scalinglaws.runner import repo_root

    spec = importlib.util.spec_from_file_location("make_notebooks", repo_root() / "notebooks" / "make_notebooks.py")
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    for nb in NOTEBOOKS + EXERCISE_NOTEBOOKS:
        built = mk.build(mk.SOURCES / f"{nb}.py")
        committed = nbformat.read(repo_root() / "notebooks" / f"{nb}.ipynb", as_version=4)
        cells = [c for c in committed.cells if "injected-parameters" not in c.metadata.get("tags", [])]
        assert [(c.cell_type, c.source) for c in cells] == [(c.cell_type, c.source) for c in built.cells], nb
        assert committed.metadata["kernelspec"]["name"] == "python3"


# Where a machine shows through: an absolute path (a home, a checkout, a virtual environment) or a user name.
# (/tmp/ is left out: the notebooks' "try it" lines name /tmp/NN_mine.ipynb as an output to write.)
_MACHINE_DETAIL = re.compile(r"(?<![\w.])/(?:work|root|home|Users|opt|usr)/|site-packages|[A-Za-z]:\\\\Users")


def test_no_committed_output_names_the_machine_that_made_it():
    root = Path(__file__).resolve().parents[1]
    files = [*root.glob("notebooks/*.ipynb"), *root.glob("figures/*/*.csv"), *root.glob("figures/*/*.json"),
             *root.glob("figures/*/*.svg"), root / "docs" / "results.md"]
    hits = []
    for f in files:
        if f.exists():
            for m in _MACHINE_DETAIL.finditer(f.read_text(errors="replace")):
                hits.append(f"{f.relative_to(root)}: …{f.read_text(errors='replace')[max(0, m.start() - 40):m.end() + 20]!r}")
                break
    assert not hits, "committed outputs name the machine that made them:\n" + "\n".join(hits)
