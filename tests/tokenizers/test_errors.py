"""Bad input: malformed tokenizer.json, bad regexes, bad ids. Always ``TokenizerError`` (or
``InvalidInputError`` for wrong argument types), never a panic or an OverflowError."""

from __future__ import annotations

import copy
import json
import random

import pytest

import onnxformers
from onnxformers._core import Tokenizer
from tk_helpers import load_pair, tokenizer_json

TokenizerError = onnxformers.TokenizerError


def _doc(name="bert"):
    return json.loads(tokenizer_json(name))


def _load(doc) -> Tokenizer:
    return Tokenizer.from_str(json.dumps(doc))


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", "{}", '{"model": 3}', "null", '{"model": {}}'])
def test_malformed_documents(text):
    with pytest.raises(TokenizerError):
        Tokenizer.from_str(text)


def test_missing_file():
    with pytest.raises(TokenizerError, match="nope"):
        Tokenizer.from_file("/definitely/nope/tokenizer.json")


@pytest.mark.parametrize(
    "name,section,bad",
    [
        ("bert", "normalizer", "BertNormaliser"),
        ("bert", "pre_tokenizer", "BertPretokenizer"),
        ("bert", "post_processor", "TemplateProcesing"),
        ("bert", "decoder", "WordPeice"),
        ("bert", "model", "WordPeice"),
        ("gpt2", "pre_tokenizer", "ByteLvel"),
        ("gpt2", "post_processor", "Bytelevel"),
        ("gpt2", "decoder", "ByteLevl"),
        ("gpt2", "model", "BPEE"),
        ("t5_unigram", "normalizer", "Sequense"),
        ("t5_unigram", "pre_tokenizer", "MetaSpace"),
        ("t5_unigram", "model", "Unigam"),
        ("wordlevel_misc", "model", "Wordlevel"),
    ],
)
def test_misspelt_component_type(name, section, bad):
    doc = _doc(name)
    doc[section]["type"] = bad
    with pytest.raises(TokenizerError, match=bad):
        _load(doc)


@pytest.mark.parametrize("section,key", [("normalizer", "normalizers"), ("pre_tokenizer", "pretokenizers")])
def test_misspelt_type_inside_sequence(section, key):
    doc = _doc("wordlevel_misc")
    doc[section][key][1]["type"] = "Nonsense"
    with pytest.raises(TokenizerError, match="Nonsense"):
        _load(doc)


def test_unknown_type_and_missing_fields():
    doc = _doc("bert")
    doc["normalizer"] = {"type": "Totally Unknown"}
    with pytest.raises(TokenizerError, match="Totally Unknown"):
        _load(doc)
    doc = _doc("bert")
    doc["normalizer"] = {"lowercase": True}  # no type
    with pytest.raises(TokenizerError, match="type"):
        _load(doc)
    doc = _doc("bert")
    doc["normalizer"] = {"type": "Replace", "pattern": {"String": "a"}}  # no content
    with pytest.raises(TokenizerError, match="content"):
        _load(doc)
    doc = _doc("bert")
    doc["post_processor"]["single"][0]["SpecialToken"]["id"] = "[NOPE]"
    with pytest.raises(TokenizerError, match=r"\[NOPE\]"):
        _load(doc)
    doc = _doc("bert")
    doc["pre_tokenizer"] = {"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways", "invert": False}
    with pytest.raises(TokenizerError, match="Sideways"):
        _load(doc)
    doc = _doc("bert")
    doc["normalizer"] = {"type": "BertNormalizer", "lowercase": "yes"}
    with pytest.raises(TokenizerError, match="lowercase"):
        _load(doc)


def test_null_components_are_allowed():
    doc = _doc("bert")
    for k in ("normalizer", "pre_tokenizer", "post_processor", "decoder"):
        doc[k] = None
    t = _load(doc)
    assert t.encode("hello world").ids


@pytest.mark.parametrize("where", ["split", "replace"])
@pytest.mark.parametrize("regex", ["(unclosed", "a{2,1}", "[z-a]", "(?<name"])
def test_bad_regex(where, regex):
    doc = _doc("bert")
    if where == "split":
        doc["pre_tokenizer"] = {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False}
    else:
        doc["normalizer"] = {"type": "Replace", "pattern": {"Regex": regex}, "content": "x"}
    with pytest.raises(TokenizerError, match="regex"):
        _load(doc)


def test_metaspace_serialisations():
    """Old (`add_prefix_space`) and new (`prepend_scheme`/`split`) Metaspace load alike."""
    ref, _ = load_pair("t5_unigram")
    doc = _doc("t5_unigram")
    old = copy.deepcopy(doc)
    old["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}
    new = _load(doc)
    legacy = _load(old)
    for text in ["Hello world", "  two  spaces", "東京 tower"]:
        assert legacy.encode(text).ids == new.encode(text).ids == ref.encode(text).ids
    bad = copy.deepcopy(doc)
    bad["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True,
                            "prepend_scheme": "never"}
    with pytest.raises(TokenizerError):
        _load(bad)
    bad["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁▁", "prepend_scheme": "always"}
    with pytest.raises(TokenizerError, match="replacement"):
        _load(bad)


@pytest.mark.parametrize("ids", [[10**7], [-1], [2**32], [2**70], [1.5], ["3"], [None], [1, 2, -5]])
def test_decode_bad_ids(ids):
    _, ours = load_pair("gpt2")
    with pytest.raises(TokenizerError):
        ours.decode(ids)
    with pytest.raises(TokenizerError):
        ours.decode_batch([[1, 2], ids])


def test_decode_bad_containers():
    _, ours = load_pair("gpt2")
    with pytest.raises(TokenizerError):
        ours.decode("123")
    with pytest.raises(TokenizerError):
        ours.decode(5)
    with pytest.raises(TokenizerError):
        ours.decode_batch([5])


def test_decode_accepts_numpy():
    np = pytest.importorskip("numpy")
    ref, ours = load_pair("gpt2")
    ids = ref.encode("hello numpy world").ids
    assert ours.decode(np.array(ids, dtype=np.int64)) == ref.decode(ids)
    assert ours.decode(np.array(ids, dtype=np.uint32)) == ref.decode(ids)
    with pytest.raises(TokenizerError):
        ours.decode(np.array([-3], dtype=np.int64))


def test_lone_surrogate_is_an_error_not_a_crash():
    _, ours = load_pair("bert")
    with pytest.raises((UnicodeError, TypeError, ValueError)):
        ours.encode("bad \ud800 surrogate")


def _mutate(node, rng):
    """Replace one random node of a JSON document with a random value."""
    junk = [None, 0, -1, 2**40, 1.5, "", "x", "(?<bad", [], {}, {"type": "Nope"}, True, ["a", 1]]
    if isinstance(node, dict) and node:
        k = rng.choice(list(node))
        if rng.random() < 0.35:
            node[k] = rng.choice(junk)
        else:
            _mutate(node[k], rng)
    elif isinstance(node, list) and node:
        i = rng.randrange(len(node))
        if rng.random() < 0.35:
            node[i] = rng.choice(junk)
        else:
            _mutate(node[i], rng)


@pytest.mark.parametrize("name", ["bert", "gpt2", "roberta", "t5_unigram", "llama_spbpe", "wordlevel_misc", "split_zoo"])
def test_fuzzed_documents_never_panic(name):
    """Randomly corrupted tokenizer.json: load fails with TokenizerError or works; a loaded
    tokenizer encodes/decodes or raises TokenizerError. A Rust panic would surface as
    pyo3's PanicException (a BaseException) and fail the test."""
    rng = random.Random(hash(name) & 0xFFFF)
    base = _doc(name)
    # Keep the fuzzing cheap: the model's vocab is left alone most of the time.
    for _ in range(150):
        doc = copy.deepcopy(base)
        for _ in range(rng.randrange(1, 4)):
            section = rng.choice(["normalizer", "pre_tokenizer", "post_processor", "decoder", "added_tokens", "model"])
            if doc.get(section) is None:
                doc[section] = rng.choice([None, {"type": "Nope"}, {}])
                continue
            if section == "model" and isinstance(doc["model"], dict) and rng.random() < 0.7:
                doc["model"] = dict(doc["model"])
                k = rng.choice([k for k in doc["model"] if k != "vocab"] or ["type"])
                doc["model"][k] = rng.choice([None, -1, "x", [], {}, True])
                continue
            if rng.random() < 0.2:
                doc[section] = rng.choice([None, 1, "x", [], {"type": "Nope"}])
            else:
                _mutate(doc[section], rng)
        try:
            t = Tokenizer.from_str(json.dumps(doc))
        except TokenizerError:
            continue
        for text in ["Hello world!", "", "  東京 😀 [SEP] <|endoftext|> 123  "]:
            try:
                e = t.encode(text, "pair text")
                t.decode(e.ids)
            except TokenizerError:
                pass
