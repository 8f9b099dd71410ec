"""Where the data layer keeps and finds things: the checkout, the cache folder, the Gutenberg mirror, the
out-of-distribution texts; a file lock shared by everything that builds a cache or trains a run; and the
data layer's error (CorpusError).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from scalinglaws import ScalingLawsError

# The out-of-distribution texts in ood_dir() (its README says what each is), eval sets "ood:<name>".
OOD_SETS = ("fortunes", "gcide-dictionary", "linux-kernel-docs", "python-stdlib-source")

class CorpusError(ScalingLawsError):
    pass


def project_root() -> Path | None:
    """The checkout holding this package (editable install), or None for a site-packages install."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "pyproject.toml").exists() else None


def checkout_relative(path) -> str:
    """A path as a reader would type it: relative to the checkout when inside it (outputs and notebook
    metadata must not carry the absolute paths of the machine that ran them), else as given."""
    root = project_root()
    try:
        return str(Path(path).resolve().relative_to(root.resolve())) if root else str(path)
    except ValueError:
        return str(path)


def cache_dir() -> Path:
    """Token caches and downloads. ``SCALINGLAWS_CACHE``, else ``<checkout>/.cache`` (git-ignored)."""
    env = os.environ.get("SCALINGLAWS_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    root = project_root()
    return (root / ".cache") if root else Path.home() / ".cache" / "scalinglaws"


def gutenberg_mirror() -> Path | None:
    """The local mirror of the Gutenberg books, if any (env var, else ../shared/corpus/books)."""
    env = os.environ.get("SCALINGLAWS_GUTENBERG_MIRROR")
    if env:
        p = Path(env).expanduser().resolve()
        if not p.is_dir():
            raise CorpusError(
                f"SCALINGLAWS_GUTENBERG_MIRROR={env} is not a folder; point it at the folder of pg<id>.txt.xz files or unset it to download"
            )
        return p
    root = project_root()
    if root and (root.parent / "shared" / "corpus" / "books").is_dir():
        return (root.parent / "shared" / "corpus" / "books").resolve()
    return None


def ood_dir() -> Path:
    """The out-of-distribution texts (``ood:<name>`` eval sets): env ``SCALINGLAWS_OOD_DIR``, else
    ../shared/ood beside the checkout, as for the Gutenberg mirror. Raises CorpusError when neither exists."""
    env = os.environ.get("SCALINGLAWS_OOD_DIR")
    root = project_root()
    p = Path(env).expanduser().resolve() if env else (root.parent / "shared" / "ood" if root else None)
    if p is None or not p.is_dir():
        where = f"SCALINGLAWS_OOD_DIR={env}" if env else "../shared/ood beside the checkout"
        raise CorpusError(f"no out-of-distribution texts at {where}; set SCALINGLAWS_OOD_DIR to the folder of "
                          f"{', '.join(f + '.txt.xz' for f in OOD_SETS)}")
    return p


@contextlib.contextmanager
def file_lock(path: Path, waiting: str = ""):
    """An exclusive advisory lock, so two processes never build the same cache or run at once. When
    another process holds it, `waiting` (what is being waited for) is printed once before blocking, so a
    waiting process is never silent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"[scalinglaws] waiting for {waiting or path}: another process holds its lock ({path})", flush=True)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
