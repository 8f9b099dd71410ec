"""Corpus strings to documents, and documents to train/validation/test splits.

Corpus strings (the `corpus` field of a RunSpec):
- ``gutenberg``        the 251 public-domain Project Gutenberg books listed in gutenberg_manifest.tsv;
  ``gutenberg:N``      the first N of them in manifest order (small corpora for tests and smoke runs).
  Texts come from a local mirror folder of ``pg<id>.txt.xz`` files (env ``SCALINGLAWS_GUTENBERG_MIRROR``;
  on our machines and in CI ``../shared/corpus/books``), else they are downloaded once from Project
  Gutenberg, stripped of the licence header/footer the same way, and cached.
- a local path: a file, a glob, or a folder of ``*.txt``, ``*.txt.xz``, ``*.jsonl``/``*.json`` or
  ``*.parquet``. Text files are one document each; JSON/parquet rows are documents (column ``text``,
  or ``path?column=body``).
- ``hub:<dataset id>`` (options ``?column=text&config=NAME&split=train``): a Hugging Face hub dataset,
  each row a document. Offline this fails fast with a one-line message.

Everything is loaded through Hugging Face ``datasets``. Documents are split train/validation/test by
a hash of their id, so no document is in two splits (tokens.py turns the splits into a token cache).
"""

from __future__ import annotations

import glob as globlib
import hashlib
import logging
import lzma
import os
import re
import socket
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from scalinglaws.data.paths import CorpusError, cache_dir, gutenberg_mirror

SPLITS = ("train", "validation", "test")


# Fraction of documents held out for validation and test (at least one document each).
HELDOUT_FRACTION = 0.02


MANIFEST = Path(__file__).with_name("gutenberg_manifest.tsv")


GUTENBERG_URL = "https://www.gutenberg.org/cache/epub/{id}/pg{id}.txt"


TEXT_SUFFIXES = (".txt", ".txt.xz")




@dataclass(frozen=True)
class CorpusRef:
    kind: str  # "gutenberg" | "local" | "hub"
    name: str  # the corpus string as given
    target: str  # number of books / resolved path or glob / hub id
    options: tuple = ()  # sorted (key, value) pairs: column, config, split

    @property
    def opts(self) -> dict:
        return dict(self.options)


def parse_corpus(corpus: str) -> CorpusRef:
    if not isinstance(corpus, str) or not corpus.strip():
        raise CorpusError("corpus must be 'gutenberg', 'gutenberg:N', a local path, or 'hub:<dataset id>'")
    base, _, query = corpus.partition("?")
    opts = tuple(sorted(urllib.parse.parse_qsl(query))) if query else ()
    if base == "gutenberg" or base.startswith("gutenberg:"):
        n = base.partition(":")[2]
        total = len(read_manifest())
        if n and (not n.isdigit() or not 3 <= int(n) <= total):
            raise CorpusError(f"'{corpus}': use gutenberg:N with 3 <= N <= {total}")
        return CorpusRef("gutenberg", corpus, n or str(total), opts)
    if base.startswith("hub:"):
        return CorpusRef("hub", corpus, base[4:], opts)
    path = Path(base).expanduser()
    if path.exists() or any(c in base for c in "*?["):
        return CorpusRef("local", corpus, str(path.resolve()) if path.exists() else base, opts)
    if "/" in base and not base.startswith((".", "/", "~")):
        return CorpusRef("hub", corpus, base, opts)  # looks like owner/name
    raise CorpusError(
        f"corpus '{corpus}' not found: give 'gutenberg', an existing local file/folder/glob, or 'hub:<dataset id>'"
    )


@lru_cache(maxsize=1)
def read_manifest() -> list[dict]:
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line.strip()]


def _local_files(ref: CorpusRef) -> list[Path]:
    p = Path(ref.target)
    if p.is_dir():
        files = [f for f in sorted(p.rglob("*")) if f.is_file() and _kind_of(f)]
    elif p.is_file():
        files = [p]
    else:
        files = [Path(f) for f in sorted(globlib.glob(ref.target, recursive=True)) if Path(f).is_file()]
    files = [f for f in files if _kind_of(f)]
    if not files:
        raise CorpusError(
            f"no corpus files in '{ref.target}': expected *.txt, *.txt.xz, *.jsonl, *.json or *.parquet"
        )
    kinds = {_kind_of(f) for f in files}
    if len(kinds) > 1:
        raise CorpusError(f"'{ref.target}' mixes file types {sorted(kinds)}; point the corpus at one type")
    return files


def check_text_file(f: Path) -> None:
    """A corpus text file must be UTF-8 text: a binary or Latin-1 file is one line naming it (datasets'
    own error names no file, and a NUL-laden binary would otherwise be tokenized as text)."""
    try:
        raw = lzma.open(f).read() if f.name.lower().endswith(".xz") else f.read_bytes()
    except (OSError, lzma.LZMAError) as e:
        raise CorpusError(f"corpus file {f} cannot be read ({e}); fix or remove it") from None
    if b"\x00" in raw:
        raise CorpusError(f"corpus file {f} is binary (it holds NUL bytes), not text; remove it from the corpus")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorpusError(f"corpus file {f} is not UTF-8 (byte {e.start}: {raw[e.start:e.start + 1]!r}); convert it, "
                          f"e.g. iconv -f latin1 -t utf-8 {f.name} > {f.stem}.utf8{f.suffix}") from None


def _unreadable_rows(files: list[Path], kind: str, e: Exception) -> str:
    """One line for a JSON/parquet corpus that datasets could not load, naming the first file that does
    not read on its own."""
    for f in files:
        why = _json_problem(f) if kind == "json" else _parquet_problem(f)
        if why:
            return f"corpus file {f} {why}; fix or remove it"
    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"the {kind} files of the corpus do not load ({e.__class__.__name__}: {first[:200]}); check them"


def _json_problem(f: Path) -> str | None:
    import json

    try:
        text = f.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        return f"is not UTF-8 (byte {e.start})"
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    try:
        json.loads(text)  # one JSON document (a list of rows)
        return None
    except json.JSONDecodeError:
        pass
    for i, line in enumerate(text.splitlines(), 1):  # else JSON lines: one object per line
        if line.strip():
            try:
                if not isinstance(json.loads(line), dict):
                    return f"line {i} is not a JSON object (one row per line)"
            except json.JSONDecodeError as e:
                return f"line {i} is not valid JSON ({e.msg})"
    return None


def _parquet_problem(f: Path) -> str | None:
    import pyarrow.parquet as pq

    try:
        pq.read_table(f)
    except Exception as e:  # noqa: BLE001 - pyarrow's errors for a broken file vary (ArrowInvalid, OSError)
        return f"is not a readable parquet file ({e.__class__.__name__})"
    return None


def _kind_of(f: Path) -> str | None:
    name = f.name.lower()
    if name.endswith(TEXT_SUFFIXES):
        return "text"
    if name.endswith((".jsonl", ".json")):
        return "json"
    if name.endswith(".parquet"):
        return "parquet"
    return None


@lru_cache(maxsize=64)
def corpus_fingerprint(corpus: str) -> str:
    """A content hash of the corpus (which documents, their text) plus the split rule.

    Gutenberg: the manifest's ebook ids and sha256 of each stripped text (so a mirror and a download
    of the same books agree). Local: each file's relative name and byte hash. Hub: id + options.
    """
    ref = parse_corpus(corpus)
    h = hashlib.sha256()
    h.update(f"split-v1:{HELDOUT_FRACTION}\n".encode())
    if ref.kind == "gutenberg":
        for row in read_manifest()[: int(ref.target)]:
            h.update(f"pg{row['pg_id']}:{row['sha256_of_stripped_text']}\n".encode())
    elif ref.kind == "local":
        files = _local_files(ref)
        root = Path(os.path.commonpath([f.resolve().parent for f in files]))
        for f in files:
            h.update(f"{f.resolve().relative_to(root)}:{hashlib.sha256(f.read_bytes()).hexdigest()}\n".encode())
        h.update(repr(ref.options).encode())
    else:
        h.update(f"hub:{ref.target}:{ref.options!r}".encode())
    return h.hexdigest()[:16]


def strip_gutenberg(text: str) -> str:
    """Remove the Project Gutenberg licence header/footer and PG notices, as the shared mirror did."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines = text.split("\n")
    start_re = re.compile(r"^\s*\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG EBOOK|^\*END\*THE SMALL PRINT", re.I)
    end_re = re.compile(r"^\s*\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG EBOOK", re.I)
    start = next((i + 1 for i, ln in enumerate(lines) if start_re.search(ln)), None)
    end = next((i for i, ln in enumerate(lines) if end_re.search(ln)), None)
    if start is None or end is None or end <= start:
        raise CorpusError("text has no Project Gutenberg START/END markers; it cannot be stripped")
    body = "\n".join(ln for ln in lines[start:end] if not re.match(r"^\s*End of (the )?Project Gutenberg", ln, re.I))
    pg = re.compile(r"project gutenberg|gutenberg\.(org|net)|pglaf|distributed proofreaders|\S+@\S+\.\w+", re.I)
    credit = re.compile(r"^\s*(produced by|e-?text prepared by|this e-?text was produced by)", re.I)
    paras = re.split(r"\n\s*\n", body)
    kept = []
    for i, para in enumerate(paras):
        short = para.count("\n") < 16
        if short and pg.search(para):
            continue
        if short and i < 10 and credit.search(para):
            continue
        kept.append(para)
    return "\n\n".join(kept).strip("\n") + "\n"


def _download_gutenberg(pg_id: str, dest: Path) -> Path:
    url = GUTENBERG_URL.format(id=pg_id)
    try:
        with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310 (fixed https host)
            raw = r.read().decode("utf-8", errors="replace")
    except OSError as e:
        raise CorpusError(
            f"cannot download Gutenberg book {pg_id} from {url} ({e.__class__.__name__}); "
            "set SCALINGLAWS_GUTENBERG_MIRROR to a folder of pg<id>.txt.xz files or connect to the internet"
        ) from None
    text = strip_gutenberg(raw)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    with lzma.open(tmp, "wt", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, dest)
    return dest


def gutenberg_files(n_books: int) -> tuple[list[str], list[Path], str]:
    """(ids, paths, source) for the first n_books of the manifest, from the mirror or the download cache."""
    rows = read_manifest()[:n_books]
    mirror = gutenberg_mirror()
    if mirror is not None:
        paths = [mirror / f"pg{r['pg_id']}.txt.xz" for r in rows]
        missing = [p.name for p in paths if not p.exists()]
        if missing:
            raise CorpusError(
                f"Gutenberg mirror {mirror} lacks {len(missing)} books (e.g. {missing[0]}); "
                "fix SCALINGLAWS_GUTENBERG_MIRROR or unset it to download"
            )
        return [r["pg_id"] for r in rows], paths, f"mirror:{mirror}"
    dl = cache_dir() / "gutenberg"
    paths = []
    for r in rows:
        p = dl / f"pg{r['pg_id']}.txt.xz"
        paths.append(p if p.exists() else _download_gutenberg(r["pg_id"], p))
    return [r["pg_id"] for r in rows], paths, f"download:{dl}"


def _offline_message(ref: CorpusRef, e: Exception) -> str:
    return (
        f"cannot load hub dataset '{ref.target}' ({e.__class__.__name__}: {str(e).splitlines()[0][:120]}); "
        "you are probably offline: use corpus='gutenberg' or a local path (txt/jsonl/parquet)"
    )


def _hub_reachable(timeout: float = 3.0) -> bool:
    if os.environ.get("HF_DATASETS_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1":
        return True  # let `datasets` raise its own offline-mode error at once (or use its cache)
    host = urllib.parse.urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_documents(corpus: str) -> tuple[list[str], list[str], dict]:
    """(doc_ids, texts, info) for a corpus string, loaded through Hugging Face `datasets`."""
    import datasets  # here, not at the top: seconds to import, and only building a cache needs it

    datasets.disable_progress_bars()
    # datasets' Arrow copies go under our cache (SCALINGLAWS_CACHE), not ~/.cache/huggingface/datasets,
    # where they would pile up one per checkout (keyed by absolute path, ~110 MB for the Gutenberg books).
    hf_cache = str(cache_dir() / "hf_datasets")
    ref = parse_corpus(corpus)
    info: dict = {"kind": ref.kind, "corpus": corpus}
    column = ref.opts.get("column", "text")
    if ref.kind == "gutenberg":
        ids, paths, source = gutenberg_files(int(ref.target))
        ds = datasets.load_dataset(
            "text", data_files=[str(p) for p in paths], sample_by="document", split="train", cache_dir=hf_cache
        )
        texts = ds["text"]
        if len(texts) != len(ids):
            raise CorpusError(f"expected {len(ids)} Gutenberg documents, datasets read {len(texts)}")
        manifest = {r["pg_id"]: r for r in read_manifest()}
        bad = [i for i, t in zip(ids, texts) if hashlib.sha256(t.encode()).hexdigest() != manifest[i]["sha256_of_stripped_text"]]
        if bad and source.startswith("mirror"):
            raise CorpusError(f"Gutenberg mirror texts differ from the manifest for {len(bad)} books (e.g. pg{bad[0]}); the mirror is corrupt")
        info.update(source=source, sha256_mismatch=[f"pg{i}" for i in bad])
        return [f"pg{i}" for i in ids], list(texts), info
    if ref.kind == "local":
        files = _local_files(ref)
        kind = _kind_of(files[0])
        if kind == "text":
            for f in files:  # before datasets reads them: its error would name no file
                check_text_file(f)
            ds = datasets.load_dataset("text", data_files=[str(f) for f in files], sample_by="document", split="train",
                                      cache_dir=hf_cache)
            root = Path(os.path.commonpath([f.resolve().parent for f in files]))
            ids = [str(f.resolve().relative_to(root)) for f in files]
            texts = list(ds["text"])
        else:
            quiet = logging.getLogger("datasets")  # its own log line of a bad file would precede ours
            level = quiet.level
            quiet.setLevel(logging.CRITICAL)
            try:
                ds = datasets.load_dataset(kind, data_files=[str(f) for f in files], split="train", cache_dir=hf_cache)
            except Exception as e:  # noqa: BLE001 - datasets/pyarrow raise many kinds; each is a bad file here
                raise CorpusError(_unreadable_rows(files, kind, e)) from None
            finally:
                quiet.setLevel(level)
            if column not in ds.column_names:
                raise CorpusError(f"'{ref.target}' has no column '{column}' (columns: {ds.column_names}); add ?column=NAME")
            texts = list(ds[column])
            ids = [str(x) for x in ds["id"]] if "id" in ds.column_names else [f"row{i}" for i in range(len(texts))]
        info.update(source=f"local:{ref.target}", files=len(files))
        return ids, texts, info
    # Hub: the real loading code used online; offline (or no network) it fails fast instead of
    # retrying for half a minute inside huggingface_hub.
    if not _hub_reachable():
        raise CorpusError(_offline_message(ref, ConnectionError("huggingface hub unreachable")))
    try:
        ds = datasets.load_dataset(ref.target, ref.opts.get("config"), split=ref.opts.get("split", "train"),
                                  cache_dir=hf_cache)
    except (ConnectionError, OSError, ValueError) as e:
        # ValueError/FileNotFoundError: unknown id; ConnectionError: offline.
        raise CorpusError(_offline_message(ref, e)) from None
    if column not in ds.column_names:
        raise CorpusError(f"hub dataset '{ref.target}' has no column '{column}' (columns: {ds.column_names}); add ?column=NAME")
    texts = list(ds[column])
    info.update(source=f"hub:{ref.target}")
    return [f"row{i}" for i in range(len(texts))], texts, info


# Fewer documents than this (e.g. one input.txt, the way most people start) are split by position.
MIN_DOCUMENTS_FOR_DOCUMENT_SPLIT = 3


def split_by_position(doc_ids: list[str], texts: list[str]) -> tuple[list[str], list[str], dict[str, list[int]]]:
    """nanoGPT's split for a corpus of one (or two) long texts: each document's last stretches become
    validation and test (HELDOUT_FRACTION of its characters each), the rest train. Returns the pieces
    as documents named "<id>[start:end]", and the split as indices into them."""
    ids, pieces, splits = [], [], {"train": [], "validation": [], "test": []}
    for doc, text in zip(doc_ids, texts):
        n = len(text)
        k = max(1, int(round(HELDOUT_FRACTION * n)))
        if n < 3 * k or n < 3:
            raise CorpusError(f"document {doc!r} has {n} characters: too short to split into train, validation and test")
        bounds = {"train": (0, n - 2 * k), "validation": (n - 2 * k, n - k), "test": (n - k, n)}
        for name, (a, b) in bounds.items():
            splits[name].append(len(pieces))
            ids.append(f"{doc}[{a}:{b}]")
            pieces.append(text[a:b])
    return ids, pieces, splits


def split_documents(doc_ids: list[str], fingerprint: str) -> dict[str, list[int]]:
    """Deterministic split by document: order by a hash of (fingerprint, id); the first few documents
    are validation, the next few test, the rest train (in that shuffled order, for nested subsets)."""
    if len(doc_ids) < 3:
        raise CorpusError(f"corpus has {len(doc_ids)} documents; at least 3 are needed (train, validation, test)")
    if len(set(doc_ids)) != len(doc_ids):
        raise CorpusError("corpus has duplicate document ids; document ids must be unique")
    order = sorted(range(len(doc_ids)), key=lambda i: hashlib.sha256(f"{fingerprint}:{doc_ids[i]}".encode()).hexdigest())
    k = max(1, round(HELDOUT_FRACTION * len(doc_ids)))
    return {"validation": order[:k], "test": order[k : 2 * k], "train": order[2 * k :]}
