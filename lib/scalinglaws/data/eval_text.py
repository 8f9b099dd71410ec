"""Extra evaluation sets (``resolve_eval_sets``, ``eval_set_tokens``): the out-of-distribution texts in
../shared/ood (``ood_dir``), or any corpus string, encoded with a run's tokenizer and cached the same way.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import re
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
from tokenizers import Tokenizer

from scalinglaws.data.corpus import corpus_fingerprint, load_documents, parse_corpus
from scalinglaws.data.paths import OOD_SETS, CorpusError, cache_dir, file_lock, ood_dir
from scalinglaws.data.tokens import TokenData, encode


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
                arr = np.concatenate([encode(tok, t, data.meta["dtype"]) for t in docs() if t])
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
