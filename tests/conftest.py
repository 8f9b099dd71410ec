"""Shared fixtures. Everything is offline and seeded; the token cache lives in a per-session folder."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
os.environ.setdefault("MPLBACKEND", "Agg")


def _pin_xdist_worker() -> None:
    """`make test` runs two pytest-xdist workers. Each gets a core of its own (CPU affinity, inherited by the
    processes it starts) and one thread: two two-thread torch processes on two cores spin against each other
    (measured on 2 cores: a 2.7 s test took 25 s). The library sizes its layout from the affinity
    (store.executors.usable_cores), so each worker's runs see one core."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER", ""), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if not worker.startswith("gw") or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    if count < 2 or len(cores) < count:
        return
    os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})
    os.environ["OMP_NUM_THREADS"] = "1"  # papermill kernels and subprocesses start with one thread


_pin_xdist_worker()

# A small slice of the real corpus keeps tokenizer training and encoding to seconds.
SMALL_CORPUS = "gutenberg:12"
SMALL_VOCAB = 512


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory):
    """Token caches and downloads go to a per-session folder unless the caller set one."""
    if "SCALINGLAWS_CACHE" not in os.environ:
        os.environ["SCALINGLAWS_CACHE"] = str(tmp_path_factory.mktemp("slcache"))
    yield


@pytest.fixture(scope="session")
def small_tokens():
    from scalinglaws.data.paths import gutenberg_mirror
    from scalinglaws.data.tokens import prepare_tokens

    if gutenberg_mirror() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must see the Gutenberg mirror: .ci/run sets SCALINGLAWS_GUTENBERG_MIRROR")
        pytest.skip("no Gutenberg mirror (set SCALINGLAWS_GUTENBERG_MIRROR to ../shared/corpus/books)")
    return prepare_tokens(SMALL_CORPUS, SMALL_VOCAB, quiet=True)


@pytest.fixture
def tiny_spec():
    """A ~1e4 non-embedding-parameter model on the small corpus, a few seconds of training."""
    from scalinglaws.training.spec import RunSpec

    return RunSpec(n_layer=2, d_model=16, n_ctx=64, corpus=SMALL_CORPUS, vocab_size=SMALL_VOCAB,
                   tokens=16 * 64 * 300, batch_size=16, lr=2e-2, eval_points=6, eval_tokens=8192)


@pytest.fixture
def runs_dir(tmp_path) -> Path:
    return tmp_path / "runs"


@pytest.fixture(scope="session")
def smoke_store(tmp_path_factory, small_tokens):
    """The whole smoke study trained once per test session (Study.train_all, as `scalinglaws study` does),
    shared by the notebook tests (which then only read and fit) and the train_all test (~1 min saved).
    The layout is the library's own for the cores this process has: in a pinned `make test` worker one
    process (measured on Intel: 44 s, against 120 s for two processes sharing its core), two when run alone."""
    from types import SimpleNamespace

    from scalinglaws.study.plan import Study

    root = tmp_path_factory.mktemp("smoke_study")
    st = Study("smoke", runs_dir=root / "runs", figures_dir=root / "figures", log="none")
    n = st.train_all()
    return SimpleNamespace(root=root, runs=root / "runs", figures=root / "figures", n_grid_runs=n)
