"""Documents to token ids: a byte-level BPE trained on the train split (tokenizers), and the token cache.

The train split is stored in a fixed shuffled document order, so the first D tokens of it are the nested
L(D) subsets. Token ids are uint16 memmaps (uint32 above 65536 types) in a git-ignored cache keyed by
(corpus fingerprint, vocab), hashed when built and verified when opened.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tokenizers import ByteLevelBPETokenizer

from scalinglaws.data.corpus import (
    MIN_DOCUMENTS_FOR_DOCUMENT_SPLIT,
    SPLITS,
    corpus_fingerprint,
    load_documents,
    split_by_position,
    split_documents,
)
from scalinglaws.data.paths import CorpusError, cache_dir, file_lock

EOS = "<|endoftext|>"  # document separator, token id 0
CACHE_CHECKSUMS = "checksums.json"  # {file: {"bytes": n, "sha256": hex}} of the cache's other files
CACHE_FILES = tuple(f"{name}.bin" for name in SPLITS) + ("tokenizer.json", "meta.json")
_verified: dict[Path, tuple] = {}  # cache root -> the files' (size, mtime, inode) when this process verified it


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
    from tqdm import tqdm  # plain text bars (tqdm.auto warns in a kernel without widgets); only a cache build shows bars

    return tqdm(iterable, total=total, desc=desc, disable=not sys.stderr.isatty(), leave=False)


def encode(tok, text: str, dtype: str) -> np.ndarray:
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
    if (root / "meta.json").exists() and not (why := cache_damage(root, fp, vocab_size)):
        return TokenData(root, json.loads((root / "meta.json").read_text()))
    with file_lock(cache_dir() / "tokens" / f".{fp}-v{vocab_size}.lock", waiting=f"the token cache of {corpus} (vocab {vocab_size})"):
        if (root / "meta.json").exists():  # another process may have built (or rebuilt) it while we waited
            if not (why := cache_damage(root, fp, vocab_size)):
                return TokenData(root, json.loads((root / "meta.json").read_text()))
            print(f"[scalinglaws] token cache damaged: rebuilding ({root}: {why})", file=sys.stderr, flush=True)
        return _build_tokens(corpus, vocab_size, fp, root, quiet)


def token_cache_built(corpus: str, vocab_size: int) -> bool:
    """Whether prepare_tokens(corpus, vocab_size) only opens its cache (else it builds it: minutes)."""
    return (cache_dir() / "tokens" / f"{corpus_fingerprint(corpus)}-v{vocab_size}" / "meta.json").exists()


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _stat_key(root: Path) -> tuple:
    out = []
    for name in CACHE_FILES + (CACHE_CHECKSUMS,):
        try:
            st = os.stat(root / name)
            out.append((name, st.st_size, st.st_mtime_ns, st.st_ino))
        except FileNotFoundError:
            out.append((name, None))
    return tuple(out)


def _write_cache_checksums(root: Path) -> None:
    sums = {n: {"bytes": (root / n).stat().st_size, "sha256": _sha256(root / n)} for n in CACHE_FILES}
    (root / CACHE_CHECKSUMS).write_text(json.dumps(sums, indent=1))


def cache_damage(root: Path, fp: str, vocab_size: int) -> str:
    """Why the token cache at `root` cannot be trusted, or "" when every file has the size and SHA-256
    recorded at build and meta.json is this (corpus, vocab)'s. The full hash runs once per process (and
    again if a file's size, mtime or inode changes): ~0.07 s for the gutenberg cache."""
    key = _stat_key(root)
    if _verified.get(root) == key:
        return ""
    try:
        sums = json.loads((root / CACHE_CHECKSUMS).read_text())
        for name in CACHE_FILES:
            want, path = sums[name], root / name
            if not path.is_file() or path.is_symlink():
                return f"{name} is missing or not a plain file"
            if path.stat().st_size != want["bytes"]:
                return f"{name} has {path.stat().st_size} bytes, not the {want['bytes']} it was built with"
            if _sha256(path) != want["sha256"]:
                return f"{name} differs from the file that was built (its SHA-256 does not match)"
        meta = json.loads((root / "meta.json").read_text())
    except FileNotFoundError:
        return f"no {CACHE_CHECKSUMS} (built before caches were checksummed)"
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        return f"{CACHE_CHECKSUMS} unreadable ({e.__class__.__name__})"
    if meta.get("fingerprint") != fp or meta.get("vocab_size") != vocab_size:
        return f"meta.json is the cache of {meta.get('fingerprint')}-v{meta.get('vocab_size')}"
    _verified[root] = key
    return ""


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
                arr = encode(tok, texts[i], dtype)
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
    _write_cache_checksums(tmp)  # inside the folder renamed into place: a cache never exists without them
    shutil.rmtree(root, ignore_errors=True)
    os.replace(tmp, root)  # atomic: a cache folder with meta.json is always complete
    _verified[root] = _stat_key(root)  # hashed just now, in this process
    say("[scalinglaws] tokens: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return TokenData(root, meta)


def unigram_entropy(tokens: np.ndarray, vocab_size: int) -> float:
    """Entropy (nats/token) of the token frequency distribution: the loss of the best context-free model."""
    counts = np.bincount(np.asarray(tokens), minlength=vocab_size).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())
