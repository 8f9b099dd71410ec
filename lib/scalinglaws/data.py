"""Corpus -> tokenizer -> token cache (memmap) -> random contiguous windows.

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
a hash of their id, so no document is in two splits. The train split is stored in a fixed shuffled
document order, so the first D tokens of it are the nested L(D) subsets. Token ids are stored as
uint16 memmaps (uint32 above 65536 types) in a git-ignored cache keyed by (corpus fingerprint, vocab).

Extra evaluation sets (``resolve_eval_sets``, ``eval_set_tokens``): the out-of-distribution texts in
../shared/ood (``ood_dir``), or any corpus string, encoded with a run's tokenizer and cached the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob as globlib
import hashlib
import json
import lzma
import os
import re
import shutil
import socket
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable
from pathlib import Path

import numpy as np
from tokenizers import ByteLevelBPETokenizer, Tokenizer

from . import ScalingLawsError

EOS = "<|endoftext|>"  # document separator, token id 0
SPLITS = ("train", "validation", "test")
# Fraction of documents held out for validation and test (at least one document each).
HELDOUT_FRACTION = 0.02
MANIFEST = Path(__file__).with_name("gutenberg_manifest.tsv")
GUTENBERG_URL = "https://www.gutenberg.org/cache/epub/{id}/pg{id}.txt"
TEXT_SUFFIXES = (".txt", ".txt.xz")
# The out-of-distribution texts in ood_dir() (its README says what each is), eval sets "ood:<name>".
OOD_SETS = ("fortunes", "gcide-dictionary", "linux-kernel-docs", "python-stdlib-source")


class CorpusError(ScalingLawsError):
    pass


# ---------------------------------------------------------------------------------------------
# Locations
# ---------------------------------------------------------------------------------------------

def project_root() -> Path | None:
    """The checkout holding this package (editable install), or None for a site-packages install."""
    root = Path(__file__).resolve().parents[2]
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


# ---------------------------------------------------------------------------------------------
# Corpus references and fingerprints
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Loading documents through `datasets`
# ---------------------------------------------------------------------------------------------

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
            ds = datasets.load_dataset("text", data_files=[str(f) for f in files], sample_by="document", split="train",
                                      cache_dir=hf_cache)
            root = Path(os.path.commonpath([f.resolve().parent for f in files]))
            ids = [str(f.resolve().relative_to(root)) for f in files]
            texts = list(ds["text"])
        else:
            ds = datasets.load_dataset(kind, data_files=[str(f) for f in files], split="train", cache_dir=hf_cache)
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


# ---------------------------------------------------------------------------------------------
# Tokenizer and token cache
# ---------------------------------------------------------------------------------------------

@dataclass
class TokenData:
    """The token cache of one (corpus, vocab): memmaps per split plus the tokenizer."""

    root: Path
    meta: dict
    _arrays: dict = field(default_factory=dict, repr=False)

    def split(self, name: str) -> np.ndarray:
        if name not in self._arrays:
            self._arrays[name] = np.memmap(self.root / f"{name}.bin", dtype=self.meta["dtype"], mode="r")
        return self._arrays[name]

    @property
    def train(self) -> np.ndarray:
        return self.split("train")

    @property
    def validation(self) -> np.ndarray:
        return self.split("validation")

    @property
    def fingerprint(self) -> str:
        return self.meta["fingerprint"]

    def tokenizer(self):
        """The cached BPE as a `transformers` fast tokenizer."""
        from transformers import PreTrainedTokenizerFast  # seconds to import; only this wrapper needs it

        return PreTrainedTokenizerFast(tokenizer_file=str(self.root / "tokenizer.json"), eos_token=EOS, bos_token=EOS)

    def token_counts(self) -> dict[str, int]:
        return dict(self.meta["tokens"])


def _chunks(text: str) -> list[str]:
    # Split after paragraph breaks so encode_batch can use both cores; the separators stay attached,
    # so the concatenated ids still decode to exactly the text.
    return [c for c in re.split(r"(?<=\n\n)", text) if c]


def _train_tokenizer(texts: list[str], vocab_size: int):
    tok = ByteLevelBPETokenizer()
    tok.train_from_iterator(
        (c for t in texts for c in _chunks(t)),
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[EOS],  # id 0
        show_progress=False,
    )
    return tok


def _progress(iterable, total, desc):
    from tqdm.auto import tqdm  # here: tqdm.auto looks for Jupyter widgets on import; only a cache build shows bars

    return tqdm(iterable, total=total, desc=desc, disable=not sys.stderr.isatty(), leave=False)


def _encode(tok, text: str, dtype: str) -> np.ndarray:
    """Token ids of one document followed by EOS (id 0, the document separator), as stored in the caches."""
    enc = tok.encode_batch(_chunks(text))
    arr = np.concatenate([np.asarray(e.ids, dtype=np.int64) for e in enc] + [np.array([0])])
    return arr.astype(dtype)


def prepare_tokens(corpus: str = "gutenberg", vocab_size: int = 1024, *, quiet: bool = False) -> TokenData:
    """Build (once) or open the token cache of (corpus, vocab_size). Safe to call from many processes."""
    if not isinstance(vocab_size, int) or not 257 <= vocab_size <= 2**20:
        raise CorpusError(f"vocab_size={vocab_size!r}: a byte-level BPE needs 257 <= vocab_size <= 1048576")
    fp = corpus_fingerprint(corpus)
    root = cache_dir() / "tokens" / f"{fp}-v{vocab_size}"
    if (root / "meta.json").exists():
        return TokenData(root, json.loads((root / "meta.json").read_text()))
    with file_lock(cache_dir() / "tokens" / f".{fp}-v{vocab_size}.lock", waiting=f"the token cache of {corpus} (vocab {vocab_size})"):
        if (root / "meta.json").exists():  # another process built it while we waited
            return TokenData(root, json.loads((root / "meta.json").read_text()))
        return _build_tokens(corpus, vocab_size, fp, root, quiet)


def _build_tokens(corpus, vocab_size, fp, root, quiet) -> TokenData:
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    ids, texts, info = load_documents(corpus)
    empty = [i for i, t in zip(ids, texts) if not t or not t.strip()]
    if len(empty) == len(texts):
        raise CorpusError(f"corpus '{corpus}' has no text (all {len(texts)} documents are empty)")
    if len(ids) < MIN_DOCUMENTS_FOR_DOCUMENT_SPLIT:
        ids, texts, splits = split_by_position(ids, texts)
        info = dict(info, split="by position: each document cut into contiguous train / validation / test stretches")
    else:
        splits = split_documents(ids, fp)
        info = dict(info, split="by document")
    say(f"[scalinglaws] corpus {corpus}: {len(ids)} documents; training a {vocab_size}-token byte-level BPE on the train split")
    tok = _train_tokenizer([texts[i] for i in splits["train"]], vocab_size)
    dtype = "uint16" if vocab_size <= 65536 else "uint32"
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tok._tokenizer.save(str(tmp / "tokenizer.json"))
    eos_id = tok.token_to_id(EOS)
    assert eos_id == 0
    counts, chars = {}, {}
    for name in SPLITS:
        n = 0
        with open(tmp / f"{name}.bin", "wb") as out:
            for i in _progress(splits[name], len(splits[name]), f"encode {name}"):
                arr = _encode(tok, texts[i], dtype)
                out.write(arr.tobytes())
                n += arr.size
        counts[name] = n
        chars[name] = sum(len(texts[i]) for i in splits[name])
    meta = {
        "corpus": corpus,
        "fingerprint": fp,
        "vocab_size": vocab_size,
        "dtype": dtype,
        "tokens": counts,
        "chars": chars,
        "chars_per_token": {k: chars[k] / max(1, counts[k]) for k in SPLITS},
        "documents": {k: [ids[i] for i in splits[k]] for k in SPLITS},
        "source": info,
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    shutil.rmtree(root, ignore_errors=True)
    os.replace(tmp, root)  # atomic: a cache folder with meta.json is always complete
    say(f"[scalinglaws] tokens: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return TokenData(root, meta)


# ---------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------

def batch_starts(n_tokens: int, n_ctx: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """Start offsets of one batch of random contiguous windows of n_ctx+1 tokens.

    A pure function of (seed, step): a resumed run sees exactly the batches it would have seen, and the
    data order does not depend on how many steps ran before, which keeps checkpoint/resume exact.
    """
    hi = n_tokens - n_ctx - 1
    if hi <= 0:
        raise CorpusError(f"only {n_tokens} tokens available; need more than n_ctx+1 = {n_ctx + 1}")
    rng = np.random.default_rng([seed, step, 0x5CA1])
    return rng.integers(0, hi + 1, size=batch_size)


# Chunk length of "chunks" subsets (RunSpec.data_sampling): 16 windows of n_ctx=128, so the smallest
# subset of the study (3e4 tokens) spans ~15 books rather than part of one; windows that cross a chunk
# boundary (~6% at n_ctx 128) join two texts, as windows that cross a document boundary already do.
SUBSET_CHUNK = 2048
SUBSET_SEED = 0x5B5E7  # fixed: every model and seed sees the same subset of a given size


def subset_tokens(train: np.ndarray, n: int, sampling: str = "prefix") -> np.ndarray:
    """The first n tokens of the train split ("prefix"), or n tokens made of SUBSET_CHUNK-token chunks
    taken in one fixed random order from across the split ("chunks"). Both nest: a smaller subset is the
    start of a larger one."""
    if not n or n >= len(train):
        return train
    if sampling == "prefix":
        return train[:n]
    n_chunks = len(train) // SUBSET_CHUNK
    need = -(-n // SUBSET_CHUNK)
    order = np.random.default_rng(SUBSET_SEED).permutation(n_chunks)[:need]
    idx = (order[:, None] * SUBSET_CHUNK + np.arange(SUBSET_CHUNK)[None, :]).reshape(-1)[:n]
    return np.ascontiguousarray(train[idx])


def gather_windows(tokens: np.ndarray, starts: np.ndarray, n_ctx: int) -> np.ndarray:
    """(batch, n_ctx+1) int64 windows; x = w[:, :-1], y = w[:, 1:]."""
    idx = starts[:, None] + np.arange(n_ctx + 1)[None, :]
    return tokens[idx].astype(np.int64)


def eval_starts(n_tokens: int, n_ctx: int, eval_tokens: int) -> np.ndarray:
    """Fixed, evenly spaced windows over the validation split: the same eval set for every run."""
    n = max(1, eval_tokens // n_ctx)
    hi = n_tokens - n_ctx - 1
    if hi <= 0:
        raise CorpusError(f"validation split has only {n_tokens} tokens; need more than {n_ctx + 1}")
    return np.unique(np.linspace(0, hi, n).astype(np.int64))


def unigram_entropy(tokens: np.ndarray, vocab_size: int) -> float:
    """Entropy (nats/token) of the token frequency distribution: the loss of the best context-free model."""
    counts = np.bincount(np.asarray(tokens), minlength=vocab_size).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


# ---------------------------------------------------------------------------------------------
# Extra evaluation sets: other text, tokenized with a run's tokenizer
# ---------------------------------------------------------------------------------------------

def resolve_eval_sets(names) -> list[str]:
    """Canonical eval-set names, in order, without repeats: "ood" stands for the four "ood:<name>" sets
    (OOD_SETS); any other name is a corpus string (see parse_corpus), all of whose documents are
    evaluated. A name that is neither is a CorpusError. A single string is one name."""
    names = [names] if isinstance(names, str) else list(names or ())
    out: list[str] = []
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise CorpusError(f"eval set {name!r}: use 'ood', 'ood:<name>' or a corpus string")
        if name == "ood":
            expanded = [f"ood:{n}" for n in OOD_SETS]
        elif name.startswith("ood:"):
            if name[4:] not in OOD_SETS:
                raise CorpusError(f"eval set {name!r}: the ood sets are {', '.join('ood:' + n for n in OOD_SETS)}")
            expanded = [name]
        else:
            parse_corpus(name)  # raises a one-line CorpusError for what it cannot read
            expanded = [name]
        out += [n for n in expanded if n not in out]
    return out


def _ood_manifest(folder: Path) -> dict[str, dict]:
    path = folder / "MANIFEST.tsv"
    if not path.exists():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return {r["file"]: r for r in (dict(zip(header, ln.split("\t"))) for ln in lines[1:] if ln.strip())}


def _eval_set_source(name: str) -> tuple[dict, Callable[[], list[str]]]:
    """(what the set is, a function returning its documents) for a resolved eval-set name."""
    if name.startswith("ood:"):
        folder = ood_dir()
        path = folder / f"{name[4:]}.txt.xz"
        if not path.is_file():
            raise CorpusError(f"eval set {name}: {path} is missing; point SCALINGLAWS_OOD_DIR at a complete copy")
        info = {"kind": "ood", "file": path.name, "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}

        def docs() -> list[str]:
            text = lzma.decompress(path.read_bytes()).decode("utf-8")
            want = _ood_manifest(folder).get(path.name, {}).get("sha256_of_text")
            if want and hashlib.sha256(text.encode()).hexdigest() != want:
                raise CorpusError(f"eval set {name}: {path} differs from its MANIFEST.tsv checksum; the copy is corrupt")
            return [text]

        return info, docs
    info = {"kind": "corpus", "corpus": name, "fingerprint": corpus_fingerprint(name)}
    return info, lambda: load_documents(name)[1]


def eval_set_tokens(name: str, data: TokenData) -> tuple[np.ndarray, dict]:
    """(token ids, info) of an eval set encoded with the tokenizer of `data` (a run's token cache): each
    document followed by EOS, as in the token cache. Built once and kept as a memmap under
    cache_dir()/evalsets/<token cache>/, keyed by the set's content (file hash or corpus fingerprint)."""
    info, docs = _eval_set_source(name)
    key = hashlib.sha256(json.dumps(info, sort_keys=True).encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:48]
    root = cache_dir() / "evalsets" / data.root.name / f"{slug}-{key}"
    if not (root / "meta.json").exists():
        with file_lock(root.with_name(f".{root.name}.lock"), waiting=f"the tokens of eval set {name}"):
            if not (root / "meta.json").exists():
                tok = Tokenizer.from_file(str(data.root / "tokenizer.json"))
                arr = np.concatenate([_encode(tok, t, data.meta["dtype"]) for t in docs() if t])
                tmp = root.with_name(root.name + ".tmp")
                shutil.rmtree(tmp, ignore_errors=True)
                tmp.mkdir(parents=True)
                arr.tofile(tmp / "tokens.bin")
                (tmp / "meta.json").write_text(json.dumps({"name": name, **info, "tokens": int(arr.size)}, indent=1))
                shutil.rmtree(root, ignore_errors=True)
                os.replace(tmp, root)  # atomic, as the token cache
    meta = json.loads((root / "meta.json").read_text())
    tokens = np.memmap(root / "tokens.bin", dtype=data.meta["dtype"], mode="r")
    return tokens, {**info, "tokens": meta["tokens"]}


def eval_set_starts(n_tokens: int, n_ctx: int, eval_tokens: int) -> np.ndarray:
    """Evenly spaced windows over an eval set, as eval_starts: eval_tokens // n_ctx of them, or fewer when
    the text is shorter (then as many as fit without overlapping)."""
    if n_tokens <= n_ctx + 1:
        raise CorpusError(f"an eval set has {n_tokens} tokens; it needs more than n_ctx+1 = {n_ctx + 1}")
    fit = max(1, (n_tokens - 1) // (n_ctx + 1))
    return eval_starts(n_tokens, n_ctx, min(eval_tokens // n_ctx, fit) * n_ctx)
