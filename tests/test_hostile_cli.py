"""Hostile command lines: each probe is refused in one line naming the fix, with its own exit status,
before any run folder exists (or, for a diverged run, recorded as diverged with exit status 3)."""

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from scalinglaws import ScalingLawsError
from scalinglaws.cli import EXIT_CODES, EXIT_DIVERGED, main

SMALL_CORPUS, SMALL_VOCAB = "gutenberg:12", 512  # as tests/conftest.py (its small_tokens fixture builds this cache)

# A model that trains in a second or two on the test corpus.
TINY = ["--n-layer", "1", "--d-model", "16", "--n-ctx", "64", "--corpus", SMALL_CORPUS, "--vocab", str(SMALL_VOCAB),
        "--tokens", "3e4", "--batch-size", "8"]


def _cli(*args):
    """The console script in a process of its own (as a user runs it)."""
    return subprocess.run([sys.executable, "-m", "scalinglaws.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def cli(capsys):
    """cli.main in this process (seconds faster per probe): (exit status, stdout, stderr)."""
    def run(*args):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse refusing an option
            code = e.code
        out, err = capsys.readouterr()
        return code, out, err
    return run


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def readonly_dir(tmp_path):
    """A folder nobody (root included) can create a file in."""
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    candidates = [d, Path("/sys")]  # root passes mode bits: then a filesystem that refuses it
    for c in candidates:
        try:
            with tempfile.TemporaryFile(dir=c):
                pass
        except OSError:
            yield c
            d.chmod(0o755)
            return
    d.chmod(0o755)
    pytest.skip("no read-only folder on this machine")


# --- train: sizes and numbers refused in argument parsing or RunSpec.validate, before any folder ---

@pytest.mark.parametrize("args, says", [
    (["--tokens", "inf"], "not a finite number"),
    (["--tokens", "nan"], "not a finite number"),
    (["--tokens", "1e14"], "tokens <= 10,000,000,000,000"),
    (["--d-model", "1e6"], "d_model <= 65,536"),
    (["--seed", "1e30"], "seed <= 4,294,967,295"),
    (["--n-layer", "100000"], "n_layer <= 1,000"),
    (["--warmup-steps", "1000000"], "use fewer warmup steps"),
    (["--n-layer", "x"], "not a number: x"),
])
def test_train_refuses_impossible_sizes_before_any_folder(args, says, tmp_path, cli):
    runs = tmp_path / "runs"
    code, _, err = cli("train", *TINY, "--runs-dir", str(runs), *args)
    assert code == 2
    assert says in _one_line(err)
    assert not runs.exists()


def test_a_real_process_refuses_in_one_line(tmp_path):
    runs = tmp_path / "runs"
    r = _cli("train", *TINY, "--runs-dir", str(runs), "--d-model", "1e6")
    assert r.returncode == 2 and "d_model <= 65,536" in _one_line(r.stderr)
    assert not runs.exists()


def test_a_diverged_run_is_one_line_exit_3_and_recorded(small_tokens, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["train", *TINY, "--runs-dir", str(runs), "--lr", "1e3"]) == EXIT_DIVERGED == 3
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("error: diverged: ") and "lower --lr" in line
    (run,) = runs.iterdir()
    assert json.loads((run / "summary.json").read_text())["status"] == "diverged"
    assert (run / "DONE").read_text().strip() == "diverged"
    assert EXIT_CODES[3].startswith("the run diverged") and EXIT_CODES[1].startswith("a crash")


def test_exit_codes_are_in_the_help():
    r = _cli("--help")
    assert r.returncode == 0 and "exit status:" in r.stdout
    assert "  3    the run diverged" in r.stdout and "  1    a crash" in r.stdout


def test_a_resumed_run_says_so(small_tokens, tiny_spec, tmp_path, capsys):
    """`train` after a kill goes on from the checkpoint, and says so in one line (train_run is what it calls)."""
    from scalinglaws.training.loop import train_run

    spec = tiny_spec.replace(tokens=16 * 64 * 60)
    runs = tmp_path / "runs"
    train_run(spec, runs, log="none", stop_after_step=20)  # a kill after a checkpoint
    capsys.readouterr()
    train_run(spec, runs, log="none")
    err = capsys.readouterr().err
    assert f"resuming run {spec.run_id} from step " in err
    step = int(err.split("from step ")[1].split()[0].replace(",", ""))
    assert 20 <= step < spec.steps
    train_run(spec, runs, log="none")  # done: nothing resumed, nothing said
    assert "resuming" not in capsys.readouterr().err


# --- study and estimate: workers and output folders ---

@pytest.mark.parametrize("args, says", [
    (["study", "--profile", "smoke", "--workers", "-1"], "--workers -1: use a whole number >= 0"),
    (["estimate", "--profile", "smoke", "--workers", "-2"], "--workers -2: use a whole number >= 1"),
    (["estimate", "--profile", "smoke", "--workers", "0"], "--workers 0: use a whole number >= 1"),
])
def test_negative_workers_are_refused(args, says, tmp_path, cli):
    code, _, err = cli(*args, "--runs-dir", str(tmp_path / "runs"))
    assert code == 2 and says in _one_line(err)
    assert not (tmp_path / "runs").exists()


def test_output_to_a_missing_folder_is_one_line(tmp_path, cli):
    missing = tmp_path / "nope"
    for args, flag in ((["estimate", "--profile", "smoke", "--csv", str(missing / "e.csv")], "--csv"),
                       (["report", "--profile", "cpu", "--write", str(missing / "r.md")], "--write")):
        code, _, err = cli(*args)
        line = _one_line(err)
        assert code == 2 and line.startswith(f"error: {flag} ") and "does not exist" in line
    assert not missing.exists()


def test_output_to_a_read_only_folder_is_one_line(readonly_dir, tmp_path, cli):
    for args, flag in ((["estimate", "--profile", "smoke", "--csv", str(readonly_dir / "e.csv")], "--csv"),
                       (["report", "--profile", "cpu", "--write", str(readonly_dir / "r.md")], "--write"),
                       (["study", "--profile", "smoke", "--out", str(readonly_dir / "nb"),
                         "--runs-dir", str(tmp_path / "runs")], "--out")):
        code, _, err = cli(*args)
        line = _one_line(err)
        assert code == 2 and line.startswith(f"error: {flag} ") and "choose a folder you can write to" in line
    assert not (tmp_path / "runs").exists()  # refused before any training


def test_study_prints_no_done_after_a_failure(tmp_path, monkeypatch, capsys):
    import nbformat
    import papermill as pm
    from scalinglaws import runner
    from scalinglaws.study.plan import Study

    monkeypatch.setattr(Study, "train_all", lambda self, findings=None: 0)

    def failing(src, dst, **kw):  # papermill writes the partial notebook, then raises
        nbformat.write(nbformat.v4.new_notebook(), dst)
        raise pm.PapermillExecutionError(3, 3, "x", "ValueError", "boom", [])

    monkeypatch.setattr(pm, "execute_notebook", failing)
    with pytest.raises(ScalingLawsError, match="1 notebook\\(s\\) failed"):
        runner.run_study("smoke", ["03"], runs_dir=str(tmp_path / "runs"), figures_dir=str(tmp_path / "f"),
                         out=str(tmp_path / "nb"))
    out = capsys.readouterr().out
    assert "1/1 FAILED: 03" in out and " done in " not in out


def test_estimate_says_when_it_builds_the_token_cache(monkeypatch):
    from types import SimpleNamespace

    import scalinglaws.data.tokens as tokens
    from scalinglaws.study import estimate as est

    built = []
    monkeypatch.setattr(tokens, "token_cache_built", lambda corpus, vocab: False)
    monkeypatch.setattr(tokens, "prepare_tokens", lambda corpus, vocab, quiet: built.append((corpus, vocab)))
    lines = []
    specs = [SimpleNamespace(corpus="gutenberg", vocab_size=1024)] * 3
    est._build_caches(specs, lines.append)
    assert built == [("gutenberg", 1024)]  # once per cache, in this process, after its line
    assert len(lines) == 1 and "building the token cache of gutenberg (vocab 1024)" in lines[0]


# --- corpora: one line naming the file ---

def _corpus(tmp_path, name, data: bytes) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    (d / name).write_bytes(data)
    return d


@pytest.mark.parametrize("name, data, says", [
    ("a.txt", b"ELF\x00\x01\x02" * 2000, "is binary"),
    ("a.txt", "Café au lait, naïve résumé. ".encode("latin-1") * 500, "is not UTF-8 (byte 3"),
    ("a.jsonl", b'{"text": "hello"}\n{"text": "broken\n{"text": "x"}\n', "line 2 is not valid JSON"),
    ("a.parquet", b"PAR1garbagegarbagePAR1", "is not a readable parquet file"),
])
def test_a_bad_corpus_file_is_named_in_one_line(name, data, says, tmp_path, cli, monkeypatch):
    d = _corpus(tmp_path, name, data)
    monkeypatch.setenv("SCALINGLAWS_CACHE", str(tmp_path / "cache"))
    code, _, err = cli("prepare", "--corpus", str(d), "--vocab", "300")
    line = _one_line(err)
    assert code == 2 and f"corpus file {d / name} " in line and says in line
    assert not list((tmp_path / "cache" / "tokens").glob("*/meta.json"))  # no cache of a corpus that did not load


# --- notebook parameters: refused in the first cell, before any training ---

@pytest.mark.parametrize("name, value, says", [
    ("n_boot", 1.5, "n_boot=1.5: use a whole number"),
    ("n_boot", True, "n_boot=True"),
    ("scale", float("nan"), "scale=nan: use a finite number"),
    ("scale", float("inf"), "scale=inf"),
    ("scale", -1.0, "scale=-1.0"),
    ("corpus", {"books": 3}, "corpus={'books': 3}: use a corpus string"),
    ("workers", -1, "workers=-1"),
    ("seed", 2**40, "seed="),
    ("executor", "sge", "executor='sge'"),
])
def test_bad_notebook_parameters_are_refused(name, value, says):
    from scalinglaws.runner import check_notebook_parameters

    good = dict(profile="cpu", runs_dir="", figures_dir="", workers=0, device="cpu", seed=0, corpus="", n_boot=0,
                scale=0.0, executor="local")
    check_notebook_parameters(good)  # the defaults of every parameters cell pass
    with pytest.raises(ScalingLawsError, match=None) as e:
        check_notebook_parameters({**good, name: value})
    assert says in str(e.value) and "\n" not in str(e.value)


def test_papermill_sees_every_parameter_of_notebook_07():
    import nbformat
    from papermill.translators import PythonTranslator
    from scalinglaws.runner import NOTEBOOK_EXTRA_PARAMETERS, NOTEBOOK_PARAMETERS, repo_root

    nb = nbformat.read(repo_root() / "notebooks" / "07_generalization.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    names = [p.name for p in PythonTranslator.inspect(cell)]
    assert names == [*NOTEBOOK_PARAMETERS, *NOTEBOOK_EXTRA_PARAMETERS["07"]]


def test_another_store_does_not_write_the_profile_figures(tmp_path):
    from scalinglaws.data.paths import project_root
    from scalinglaws.study.plan import Study

    st = Study("smoke", runs_dir=tmp_path / "store" / "runs", log="none")
    assert st.figures_dir == (tmp_path / "store" / "figures" / "smoke").resolve()
    root = project_root() or Path.cwd()
    assert Study("quick", runs_dir=root / "runs" / "quick", log="none").figures_dir == root / "figures" / "quick"
    # smoke figures are never published: they stay beside the git-ignored smoke store, not in figures/
    assert Study("smoke", runs_dir=root / "runs" / "smoke", log="none").figures_dir == root / "runs" / "smoke" / "figures"


# --- report: a corrupt or non-finite results file ---

def _results(tmp_path) -> Path:
    from scalinglaws.runner import repo_root

    fig = tmp_path / "fig"
    fig.mkdir()
    for f in (repo_root() / "figures" / "cpu").glob("[0-9][0-9]*_results.json"):
        (fig / f.name).write_text(f.read_text())
    return fig


def test_a_corrupt_results_file_is_named(tmp_path):
    from scalinglaws.report import claims_markdown, results_markdown

    fig = _results(tmp_path)
    (fig / "03_results.json").write_text('[{"quantity": "x", "value": 1')
    for table in (claims_markdown, results_markdown):
        with pytest.raises(ScalingLawsError, match="03_results.json does not read as JSON") as e:
            table("cpu", str(fig))
        assert "--notebooks 03" in str(e.value)
    (fig / "03_results.json").write_text('[{"quantity": "x", "value": "high"}]')
    with pytest.raises(ScalingLawsError, match="03_results.json: record 0"):
        claims_markdown("cpu", str(fig))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_result_is_not_measured_not_a_failure(bad, tmp_path):
    from scalinglaws import findings
    from scalinglaws.report import claims_markdown

    fig = _results(tmp_path)
    recs = json.loads((fig / "01_results.json").read_text())
    keys = {r.get("key") for r in recs}
    claim = next(c for f in findings.FINDINGS if f.nb == "01" for c in f.claims if c.keys[0] in keys)
    hit = next(r for r in recs if r.get("key") == claim.keys[0])
    hit["value"] = bad
    (fig / "01_results.json").write_text(json.dumps(recs))  # json writes NaN / Infinity, and reads them back
    row = next(ln for ln in claims_markdown("cpu", str(fig)).splitlines() if ln.startswith(f"| {claim.text[:20]}"))
    assert f"**{findings.NOT_MEASURED}**" in row and "not reproduced" not in row, row
