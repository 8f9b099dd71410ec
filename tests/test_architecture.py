"""The package's shape: the folder tree is the architecture (README "Layout"), and it stays so.

Every import counts, the lazy ones inside functions too: a lazy import hides a dependency from the
start-up time, not from the design. Read with `ast`, so nothing is imported to check it.
"""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "lib" / "scalinglaws"
MAX_LINES = 600  # a module longer than this has more than one job

# The layers, lowest first: a module may import from its own layer or a lower one, never a higher one.
LAYERS = [
    {"scalinglaws", "scalinglaws.numbers"},  # the package root: ScalingLawsError, the lazy public API, how numbers are written
    {"scalinglaws.data"},  # corpus -> tokenizer -> token cache -> windows
    {"scalinglaws.training"},  # RunSpec, the loop, the run-folder format
    {"scalinglaws.store"},  # ensure_runs / load_runs, executors, Slurm
    {"scalinglaws.study"},  # profiles, the Study plan, LR tuning, the time estimate
    # laws, published constants, typed results records, the verdict rule, the claims registry
    {"scalinglaws.fit", "scalinglaws.paper", "scalinglaws.records", "scalinglaws.verdicts", "scalinglaws.findings"},
    {"scalinglaws.analysis"},  # one module per notebook, plots, comparison
    # uses of the laws and of the study: predict, the README tables, the papermill runner, the prediction exercise
    {"scalinglaws.predict", "scalinglaws.report", "scalinglaws.runner", "scalinglaws.exercise"},
    {"scalinglaws.cli"},
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imports_of(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, names imported from it) for every import in the file, lazy ones included."""
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("scalinglaws")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("scalinglaws"):
                out.append((mod, [a.name for a in node.names]))
    return out


def resolve(mod: str, names: list[str], known: dict) -> list[str]:
    """The package modules an import statement depends on ('from pkg import submodule' counts as the submodule)."""
    subs = [f"{mod}.{n}" for n in names if f"{mod}.{n}" in known]
    rest = [n for n in names if f"{mod}.{n}" not in known]
    return subs + ([mod] if (rest or not names) and mod in known else [])


def graph() -> dict[str, set[str]]:
    known = modules()
    g = {m: set() for m in known}
    for m, p in known.items():
        for mod, names in imports_of(m, p):
            for dep in resolve(mod, names, known):
                if dep != m:
                    g[m].add(dep)
    return g


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(g[u]):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state and (c := visit(v)):
                return c
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(g):
        if u not in state and (c := visit(u)):
            return c
    return None


def layer_of(mod: str) -> int:
    best = None
    for i, layer in enumerate(LAYERS):
        for prefix in layer:
            inside = mod == prefix or (prefix != "scalinglaws" and mod.startswith(prefix + "."))  # the root: itself only
            if inside and (best is None or len(prefix) >= len(best[1])):
                best = (i, prefix)
    assert best is not None, f"{mod} is in no layer: add its folder to LAYERS"
    return best[0]


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_every_module_has_a_layer():
    for m in modules():
        layer_of(m)


def test_no_import_cycle():
    assert find_cycle(graph()) is None


def test_layers_only_point_down():
    up = [f"{m} -> {d}" for m, deps in graph().items() for d in deps if layer_of(d) > layer_of(m)]
    assert not up, "imports from a higher layer:\n" + "\n".join(up)


def test_no_private_name_imported_from_another_module():
    known = modules()
    bad = []
    for m, p in known.items():
        for mod, names in imports_of(m, p):
            bad += [f"{m}: from {mod} import {n}" for n in names
                    if n.startswith("_") and not n.startswith("__") and mod != m]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_module_size(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(PKG)} has {n} lines (> {MAX_LINES}): split it by job"
