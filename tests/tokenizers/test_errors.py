"""Bad input: malformed tokenizer.json, bad regexes, bad ids. Always ``TokenizerError`` (or
``InvalidInputError`` for wrong argument types), never a panic or an OverflowError."""

from __future__ import annotations

import copy
import json
import random
import re

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


# -- every component type misspelt, in every section (and inside Sequences) ------------------------
KNOWN_TYPES = {
    "normalizer": ["BertNormalizer", "Strip", "StripAccents", "NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Nmt",
                   "Replace", "Prepend", "Precompiled", "ByteLevel", "Sequence"],
    "pre_tokenizer": ["ByteLevel", "Whitespace", "WhitespaceSplit", "BertPreTokenizer", "Metaspace", "Split",
                      "Punctuation", "Digits", "CharDelimiterSplit", "FixedLength", "UnicodeScripts", "Sequence"],
    "post_processor": ["TemplateProcessing", "BertProcessing", "RobertaProcessing", "ByteLevel", "Sequence"],
    "decoder": ["ByteLevel", "WordPiece", "Metaspace", "BPEDecoder", "ByteFallback", "Fuse", "Strip", "Replace",
                "CTC", "Sequence"],
    "model": ["BPE", "WordPiece", "Unigram", "WordLevel"],
}
_SEQ_KEY = {"normalizer": "normalizers", "pre_tokenizer": "pretokenizers", "post_processor": "processors",
            "decoder": "decoders"}


def _misspellings(name: str) -> list[str]:
    out = {name.lower(), name.upper(), name[:-1], name + "s", name[1:], name.replace("e", "a", 1)}
    return sorted(m for m in out if m and m != name)


@pytest.mark.parametrize("section,name", [(s, n) for s, names in KNOWN_TYPES.items() for n in names])
def test_each_component_type_misspelt(section, name):
    for bad in _misspellings(name):
        doc = _doc("bert")
        doc[section] = {"type": bad}
        with pytest.raises(TokenizerError, match=re.escape(repr(bad).replace("'", '"'))):
            _load(doc)
        if section != "model":  # the same misspelling inside a Sequence
            doc[section] = {"type": "Sequence", _SEQ_KEY[section]: [{"type": bad}]}
            with pytest.raises(TokenizerError, match=re.escape(bad)):
                _load(doc)


@pytest.mark.parametrize("section", list(KNOWN_TYPES))
@pytest.mark.parametrize("bad_type", ["", "Unknown", 3, None, ["BPE"]])
def test_unknown_or_non_string_component_type(section, bad_type):
    doc = _doc("bert")
    doc[section] = {"type": bad_type}
    with pytest.raises(TokenizerError):
        _load(doc)


@pytest.mark.parametrize("regex", ["(unclosed", "[z-a]", "*a", "\\"])
def test_bad_regex_everywhere(regex):
    """A regex that does not compile is a TokenizerError naming the regex wherever it sits."""
    places = [
        ("decoder", {"type": "Replace", "pattern": {"Regex": regex}, "content": "x"}),
        ("pre_tokenizer", {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"},
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Removed", "invert": True}]}),
        ("normalizer", {"type": "Sequence", "normalizers": [
            {"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": regex}, "content": ""}]}),
    ]
    for section, component in places:
        doc = _doc("bert")
        doc[section] = component
        with pytest.raises(TokenizerError, match="regex"):
            _load(doc)


# -- decoding that produces broken UTF-8 -----------------------------------------------------------
def test_byte_level_decode_of_broken_utf8_uses_replacement_chars():
    """Byte-level tokens that are not whole UTF-8 sequences decode with U+FFFD exactly as
    ``tokenizers`` does (``String::from_utf8_lossy``), never an error or a panic."""
    ref, ours = load_pair("gpt2")
    vocab = ref.get_vocab()
    from tokenizers.pre_tokenizers import ByteLevel
    alphabet = sorted(ByteLevel.alphabet())
    byte_tokens = [vocab[c] for c in alphabet if c in vocab]
    rng = random.Random(3)
    cases = [[vocab[c]] for c in alphabet if c in vocab and ord(c) > 0x7F][:40]
    cases += [[rng.choice(byte_tokens) for _ in range(rng.randrange(1, 9))] for _ in range(300)]
    broken = 0
    for ids in cases:
        want = ref.decode(ids, skip_special_tokens=False)
        assert ours.decode(ids) == want, ids
        broken += "\ufffd" in want
    assert broken > 50  # the cases do exercise the replacement path
    assert ours.decode_batch(cases) == ref.decode_batch(cases, skip_special_tokens=False)


def test_byte_fallback_decode_of_broken_utf8_follows_tokenizers():
    """ByteFallback: an invalid run of <0xNN> tokens becomes one U+FFFD *per byte token*, as
    ``tokenizers`` does. Transformers.js 3.0.0 decodes the run with ``TextDecoder`` (one U+FFFD
    per maximal invalid subpart, e.g. a single one for <0xE6><0x97>); we follow Python."""
    ref, ours = load_pair("llama_spbpe")
    byte = {b: ref.token_to_id(f"<0x{b:02X}>") for b in range(256)}
    hello = ref.encode("hello").ids[1:]
    cases = [[byte[0xE6]], [byte[0xE6], byte[0x97]], [byte[0xE6], byte[0x97], byte[0xA5]],
             [byte[0xFF]], [byte[0x80], byte[0x80]], [byte[0xF0], byte[0x9F], byte[0x98]],
             hello + [byte[0xE6], byte[0x97]] + hello, [byte[0xC3], byte[0xA9], byte[0xC3]],
             [byte[0x41], byte[0xE2]], []]
    rng = random.Random(5)
    cases += [[byte[rng.randrange(256)] for _ in range(rng.randrange(1, 7))] for _ in range(300)]
    # (the fixture's <0xNN> tokens are special added tokens: keep them on both sides)
    for ids in cases:
        assert ours.decode(ids) == ref.decode(ids, skip_special_tokens=False), ids
    assert ours.decode([byte[0xE6], byte[0x97]]) == "\ufffd\ufffd"


@pytest.mark.parametrize("scheme", ["always", "first", "never"])
def test_metaspace_decode_follows_prepend_scheme(scheme):
    """The Metaspace decoder drops the leading "▁" unless prepend_scheme is "never", as
    ``tokenizers`` does. Transformers.js 3.0.0's MetaspaceDecoder only reads the old
    ``add_prefix_space`` key, so with a current tokenizer.json (prepend_scheme, no
    add_prefix_space) it keeps a leading space; we follow Python."""
    from tokenizers import Tokenizer as RefTokenizer

    doc = _doc("sp_metaspace_bpe")
    doc["pre_tokenizer"]["prepend_scheme"] = scheme
    doc["decoder"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": False}
    ref = RefTokenizer.from_str(json.dumps(doc))
    ours = _load(doc)
    for text in ["Hello world", " leading", "a  b", "", "x"]:
        ids = ref.encode(text).ids
        assert ours.encode(text).ids == ids
        assert ours.decode(ids) == ref.decode(ids, skip_special_tokens=False), (scheme, text)
    ids = [ref.token_to_id("▁")] + ref.encode("Hello").ids
    assert ours.decode(ids) == ref.decode(ids, skip_special_tokens=False)


def test_decode_empty_is_empty_string():
    """decode([]) is "" (Python); Transformers.js 3.0.0 throws on an empty list."""
    for name in ["gpt2", "bert", "llama_spbpe", "t5_unigram"]:
        ref, ours = load_pair(name)
        assert ours.decode([]) == ref.decode([]) == ""
        assert ours.decode_batch([[], []]) == ["", ""]


# -- the Python facade: bad tokenizer.json shapes never escape as anything but TokenizerError -----
@pytest.mark.filterwarnings("ignore:.*SentencePiece model:UserWarning")
@pytest.mark.parametrize("cls_name,name", [("Llama", "llama_spbpe"), ("Bert", "bert"), ("Roberta", "roberta"),
                                           ("Marian", "t5_unigram"), ("CLIP", "gpt2"), ("GPTNeoX", "gpt2"),
                                           ("Bloom", "gpt2")])
def test_facade_classes_on_corrupted_documents(cls_name, name):
    from onnxformers.tokenizers import tokenizer_class

    cls = tokenizer_class(cls_name)
    rng = random.Random(hash(cls_name) & 0xFFFF)
    base = _doc(name)
    config = {"add_prefix_space": True, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
              "add_eos_token": True, "do_lower_case": False}
    for _ in range(60):
        doc = copy.deepcopy(base)
        section = rng.choice(["normalizer", "pre_tokenizer", "post_processor", "decoder", "added_tokens", "model"])
        if rng.random() < 0.5:
            doc[section] = rng.choice([None, 1, "x", [], {}, {"type": "Nope"}, [1, 2], {"vocab": 3}])
        else:
            _mutate(doc, rng)
        try:
            tok = cls(doc, config)
        except TokenizerError:
            continue
        for text in ["Hello world!", ""]:
            try:
                tok.decode(tok.encode(text))
            except TokenizerError:
                pass
