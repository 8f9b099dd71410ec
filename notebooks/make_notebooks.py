"""Write the study's notebooks from their sources in notebooks/src/ (jupytext percent scripts; outputs empty).

    .venv/bin/python notebooks/make_notebooks.py          # all of them; then: make study PROFILE=cpu
    .venv/bin/python notebooks/make_notebooks.py 01 05    # only these two (the others keep their outputs)

Each source is a plain Python file a teacher can edit in any editor: "# %% [markdown]" cells are prose,
"# %%" cells are code, and the cell tagged "parameters" holds what papermill can set. The committed
.ipynb files carry the outputs of the reference profile; tests/test_notebooks.py checks that their
cells are exactly these sources.
"""

import sys
from pathlib import Path

import jupytext
import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"


def build(src: Path):
    """The notebook of one source, with the python3 kernel (papermill and the tests run that name)."""
    nb = jupytext.read(src, fmt="py:percent")
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python"}}
    if nb.cells and nb.cells[0].source.startswith("# Source of notebooks/"):  # the file's own header comment
        nb.cells = nb.cells[1:]
    return nb


def main(argv=None):
    want = (sys.argv[1:] if argv is None else argv) or [""]
    for src in sorted(SOURCES.glob("[0-9][0-9]*_*.py")):
        key = src.stem.split("_")[0]  # "06" or "06b": a key names one notebook, a longer prefix its stem
        if any(w in ("", key) or ("_" in w and src.stem.startswith(w)) for w in want):
            nbformat.write(build(src), HERE / f"{src.stem}.ipynb")
            print("wrote", HERE / f"{src.stem}.ipynb")


if __name__ == "__main__":
    main()
