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
    if (root / "meta.json").exists():
        return TokenData(root, json.loads((root / "meta.json").read_text()))
    with file_lock(cache_dir() / "tokens" / f".{fp}-v{vocab_size}.lock", waiting=f"the token cache of {corpus} (vocab {vocab_size})"):
        if (root / "meta.json").exists():  # another process built it while we waited
            return TokenData(root, json.loads((root / "meta.json").read_text()))
        return _build_tokens(corpus, vocab_size, fp, root, quiet)


def token_cache_built(corpus: str, vocab_size: int) -> bool:
    """Whether prepare_tokens(corpus, vocab_size) only opens its cache (else it builds it: minutes)."""
    return (cache_dir() / "tokens" / f"{corpus_fingerprint(corpus)}-v{vocab_size}" / "meta.json").exists()


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
    shutil.rmtree(root, ignore_errors=True)
    os.replace(tmp, root)  # atomic: a cache folder with meta.json is always complete
    say("[scalinglaws] tokens: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return TokenData(root, meta)


def unigram_entropy(tokens: np.ndarray, vocab_size: int) -> float:
    """Entropy (nats/token) of the token frequency distribution: the loss of the best context-free model."""
    counts = np.bincount(np.asarray(tokens), minlength=vocab_size).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())
