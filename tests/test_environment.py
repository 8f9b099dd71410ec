"""environment.yml must agree with pyproject.toml (conda itself cannot be reached here)."""

import os
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = (ROOT / "environment.yml").read_text()
    m = re.search(r"^\s*-\s*python\s*=\s*([\d.]+)\s*$", env, re.M)
    assert m, "environment.yml must pin python"
    ver = tuple(int(x) for x in m.group(1).split("."))
    lo = tuple(int(x) for x in re.search(r">=([\d.]+)", py["requires-python"]).group(1).split("."))
    hi = tuple(int(x) for x in re.search(r"<([\d.]+)", py["requires-python"]).group(1).split("."))
    assert lo <= ver < hi
    pip_line = re.search(r"-\s*-e\s+\.\[([^\]]+)\]", env)
    assert pip_line, "environment.yml must pip-install the project itself"
    assert set(pip_line.group(1).split(",")) == set(py["optional-dependencies"])
    assert "conda-forge" in env


def test_torch_is_pinned_to_the_cpu_wheel_version():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    torch = [d for d in py["dependencies"] if d.startswith("torch")]
    assert torch == ["torch==2.13.0"]


def test_ci_runs_the_readmes_setup_and_test_commands():
    """.ci/run promises "exactly the README's set-up and test commands", and `make setup` is the same set-up:
    a change to one of them that the others do not follow fails here."""
    setup = "python3 -m venv .venv && .venv/bin/pip install -e '.[notebooks,dev]'"
    readme, make = (ROOT / "README.md").read_text(), (ROOT / "Makefile").read_text()
    ci = (ROOT / ".ci" / "run").read_text().replace(" install -q ", " install ")  # CI only quietens pip
    for name, text in (("README.md", readme), ("Makefile", make), (".ci/run", ci)):
        assert setup in text, f"{name} does not set up with: {setup}"
    # the README's two test commands, and CI runs both of them (one loop over the make targets)
    assert "make test " in readme and "make test-slow " in readme
    assert "for target in test test-slow; do" in ci and 'time make "$target"' in ci
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
