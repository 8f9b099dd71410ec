"""Corpus loading, document splits, tokenizer and token cache on real and local data."""

import io
import json
import lzma

import numpy as np
import pytest
from scalinglaws.data import corpus as corpus_mod
from scalinglaws.data import eval_text, paths, windows
from scalinglaws.data.corpus import CorpusError, split_documents
from scalinglaws.data.tokens import prepare_tokens


def test_splits_are_disjoint_deterministic_and_cover(small_tokens):
    docs = small_tokens.meta["documents"]
    sets = {k: set(v) for k, v in docs.items()}
    assert not (sets["train"] & sets["validation"]) and not (sets["train"] & sets["test"])
    assert not (sets["validation"] & sets["test"])
    assert sum(len(v) for v in docs.values()) == 12 and all(docs[k] for k in docs)
    ids = [f"pg{r['pg_id']}" for r in corpus_mod.read_manifest()[:12]]
    again = split_documents(ids, small_tokens.fingerprint)
    assert [ids[i] for i in again["train"]] == docs["train"]  # same order: nested subsets are stable
    counts = small_tokens.token_counts()
    assert all(counts[k] == len(small_tokens.split(k)) > 0 for k in corpus_mod.SPLITS)


def test_split_by_document_for_any_corpus():
    ids = [f"d{i}" for i in range(200)]
    s = split_documents(ids, "fp")
    assert sorted(sum(s.values(), [])) == list(range(200))
    assert len(s["validation"]) == len(s["test"]) == 4
    assert split_documents(ids, "fp") == s and split_documents(ids, "other") != s
    with pytest.raises(CorpusError, match="at least 3"):
        split_documents(["a", "b"], "fp")


def test_tokenizer_round_trip_on_real_text(small_tokens):
    tok = small_tokens.tokenizer()
    assert len(tok) == 512 and tok.eos_token_id == 0
    ids = np.asarray(small_tokens.validation[:2000]).tolist()
    text = tok.decode(ids)
    assert len(text) > 3000  # >1.5 chars per token even at vocab 512
    assert tok(text)["input_ids"] == ids or tok.decode(tok(text)["input_ids"]) == text
    sample = "It was the best of times, it was the worst of times.\n\nCHAPTER I."
    assert tok.decode(tok(sample)["input_ids"]) == sample


def test_cache_is_reused(small_tokens):
    again = prepare_tokens("gutenberg:12", 512)
    assert again.root == small_tokens.root and again.meta == small_tokens.meta


def test_sampling_is_a_pure_function_of_seed_and_step():
    a = windows.batch_starts(10_000, 64, 8, seed=1, step=5)
    assert np.array_equal(a, windows.batch_starts(10_000, 64, 8, seed=1, step=5))
    assert not np.array_equal(a, windows.batch_starts(10_000, 64, 8, seed=1, step=6))
    assert a.min() >= 0 and a.max() <= 10_000 - 65
    toks = np.arange(10_000, dtype=np.uint16)
    w = windows.gather_windows(toks, a, 64)
    assert w.shape == (8, 65) and np.all(np.diff(w, axis=1) == 1)  # contiguous windows


def _write_books(folder, n=4, kind="txt.xz"):
    folder.mkdir(parents=True, exist_ok=True)
    words = "the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing".split()
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, 3000)) + "\n" for _ in range(n)]
    if kind == "txt.xz":
        for i, t in enumerate(texts):
            with lzma.open(folder / f"book{i}.txt.xz", "wt") as fh:
                fh.write(t)
    elif kind == "txt":
        for i, t in enumerate(texts):
            (folder / f"book{i}.txt").write_text(t)
    elif kind == "jsonl":
        with open(folder / "docs.jsonl", "w") as fh:
            for i, t in enumerate(texts):
                fh.write(json.dumps({"id": f"doc{i}", "body": t}) + "\n")
    elif kind == "parquet":
        import pandas as pd

        pd.DataFrame({"text": texts}).to_parquet(folder / "docs.parquet")
    return texts


@pytest.mark.parametrize("kind", ["txt.xz", "txt", "jsonl", "parquet"])
def test_local_corpora_load_through_datasets(tmp_path, kind):
    texts = _write_books(tmp_path / kind, kind=kind)
    corpus = str(tmp_path / kind) + ("?column=body" if kind == "jsonl" else "")
    ids, got, info = corpus_mod.load_documents(corpus)
    assert sorted(got) == sorted(texts) and len(set(ids)) == 4
    td = prepare_tokens(corpus, 300, quiet=True)
    assert sum(td.token_counts().values()) > 1000


def test_local_corpus_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no corpus files"):
        corpus_mod.load_documents(str(tmp_path / "empty"))
    with pytest.raises(CorpusError, match="not found"):
        corpus_mod.parse_corpus(str(tmp_path / "missing_folder"))
    _write_books(tmp_path / "j", kind="jsonl")
    with pytest.raises(CorpusError, match="no column 'text'"):
        corpus_mod.load_documents(str(tmp_path / "j"))
    (tmp_path / "blank").mkdir()
    for i in range(3):
        (tmp_path / "blank" / f"{i}.txt").write_text("   \n")
    with pytest.raises(CorpusError, match="no text"):
        prepare_tokens(str(tmp_path / "blank"), 300, quiet=True)


def test_hub_id_offline_fails_fast_with_clear_message(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(CorpusError) as e:
        corpus_mod.load_documents("hub:no-such-owner/no-such-dataset")
    msg = str(e.value)
    assert "offline" in msg and "gutenberg" in msg and "\n" not in msg
    assert corpus_mod.parse_corpus("someone/some-dataset").kind == "hub"


FAKE_PG = """\ufeffThe Project Gutenberg EBook of A Test, by Nobody\r
\r
This eBook is for the use of anyone anywhere at no cost.\r
\r
*** START OF THIS PROJECT GUTENBERG EBOOK A TEST ***\r
\r
Produced by Somebody and the Online Distributed Proofreading Team.\r
\r
CHAPTER I.\r
\r
It was a dark and stormy night.\r
\r
Email the editor at someone@example.com for errata.\r
\r
The end.\r
\r
End of the Project Gutenberg EBook of A Test, by Nobody\r
\r
*** END OF THIS PROJECT GUTENBERG EBOOK A TEST ***\r
\r
licence text that must go\r
"""


def test_strip_gutenberg_removes_licence_and_notices():
    out = corpus_mod.strip_gutenberg(FAKE_PG)
    assert out == "CHAPTER I.\n\nIt was a dark and stormy night.\n\nThe end.\n"
    with pytest.raises(CorpusError, match="markers"):
        corpus_mod.strip_gutenberg("no markers here")


def test_gutenberg_download_path_without_mirror(monkeypatch, tmp_path):
    """Users without a mirror download the same ids, strip them the same way, and cache them."""
    monkeypatch.setattr(corpus_mod, "gutenberg_mirror", lambda: None)
    monkeypatch.setenv("SCALINGLAWS_CACHE", str(tmp_path))
    calls = []

    def fake_urlopen(url, timeout):
        calls.append(url)
        return io.BytesIO(FAKE_PG.encode())

    monkeypatch.setattr(corpus_mod.urllib.request, "urlopen", fake_urlopen)
    ids, paths, source = corpus_mod.gutenberg_files(3)
    assert source.startswith("download") and len(calls) == 3
    assert calls[0] == "https://www.gutenberg.org/cache/epub/11/pg11.txt"
    assert lzma.open(paths[0], "rt").read().startswith("CHAPTER I.")
    corpus_mod.gutenberg_files(3)
    assert len(calls) == 3  # cached: no second download

    def offline(url, timeout):
        raise OSError("no network")

    monkeypatch.setattr(corpus_mod.urllib.request, "urlopen", offline)
    with pytest.raises(CorpusError, match="SCALINGLAWS_GUTENBERG_MIRROR"):
        corpus_mod.gutenberg_files(4)


def test_bad_corpus_strings():
    for bad in ["gutenberg:2", "gutenberg:x", "gutenberg:9999", ""]:
        with pytest.raises(CorpusError):
            corpus_mod.parse_corpus(bad)


def test_manifest_matches_shared_corpus():
    from pathlib import Path

    shared = Path(paths.__file__).resolve().parents[4] / "shared" / "corpus" / "MANIFEST.tsv"
    if not shared.exists():
        pytest.skip("no ../shared/corpus beside the checkout")
    assert shared.read_text() == corpus_mod.MANIFEST.read_text()


def test_a_single_text_file_is_split_by_position(tmp_path):
    """The commonest corpus, one input.txt, used to be refused ("at least 3 documents"). It is cut into
    contiguous train / validation / test stretches (as nanoGPT does) and the split says so."""
    from scalinglaws.data.corpus import HELDOUT_FRACTION, split_by_position
    from scalinglaws.data.paths import gutenberg_mirror
    from scalinglaws.data.tokens import prepare_tokens

    ids, pieces, splits = split_by_position(["input.txt"], ["abcdefghij" * 100])
    assert [ids[i] for i in splits["validation"]] == ["input.txt[960:980]"] and "".join(pieces) == "abcdefghij" * 100
    assert len(pieces[splits["test"][0]]) == round(HELDOUT_FRACTION * 1000)
    mirror = gutenberg_mirror()
    if mirror is None:
        pytest.skip("no Gutenberg mirror for the text")
    import lzma

    book = sorted(mirror.glob("pg*.txt.xz"))[0]
    f = tmp_path / "input.txt"
    f.write_text(lzma.decompress(book.read_bytes()).decode("utf-8")[:300_000])
    td = prepare_tokens(str(f), 300, quiet=True)
    assert td.meta["source"]["split"].startswith("by position")
    assert all(td.meta["tokens"][k] > 100 for k in ("train", "validation", "test"))
    assert td.meta["documents"]["validation"][0].startswith("input.txt[")


def test_eval_sets_resolve_and_tokenize_like_the_cache(small_tokens):
    """"ood" is the four OOD texts; a corpus string is all of that corpus's documents, encoded with the
    run's tokenizer exactly as the token cache encodes them (same token counts per id, every split)."""
    assert eval_text.resolve_eval_sets(["ood:fortunes", "ood", "gutenberg:12"]) == [
        "ood:fortunes", "ood:gcide-dictionary", "ood:linux-kernel-docs", "ood:python-stdlib-source", "gutenberg:12"]
    for bad, msg in ((["ood:nope"], "the ood sets are"), (["./no/such/thing.txt"], "not found"), ([""], "eval set")):
        with pytest.raises(CorpusError, match=msg):
            eval_text.resolve_eval_sets(bad)
    tokens, info = eval_text.eval_set_tokens("gutenberg:12", small_tokens)
    cache = np.concatenate([np.asarray(small_tokens.split(k)) for k in corpus_mod.SPLITS])
    assert info["kind"] == "corpus" and len(tokens) == len(cache) == info["tokens"]
    assert np.array_equal(np.bincount(tokens, minlength=512), np.bincount(cache, minlength=512))
    again, _ = eval_text.eval_set_tokens("gutenberg:12", small_tokens)  # from the cache now
    assert np.array_equal(again, tokens)
    starts = windows.eval_set_starts(1000, 64, 8192)  # a short text: as many windows as fit, none overlapping
    assert len(starts) == 15 and np.all(np.diff(starts) >= 65)
