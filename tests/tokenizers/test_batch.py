"""Per-call truncation and padding, batch APIs, numpy arrays, GIL release."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

import onnxformers
from test_conformance import FIELDS, diff_encoding
from tk_helpers import CORPUS, HARD_CASES, load_pair, tokenizer_json

TEXTS = CORPUS[:12] + [c for c in HARD_CASES if 0 < len(c) < 200][:12] + [""]
PAIRS = list(reversed(TEXTS))


def diff_full(r, o, path="") -> str | None:
    d = diff_encoding(r, o)
    if d:
        return path + d
    if len(r.overflowing) != len(o.overflowing):
        return f"{path}overflowing: ref {len(r.overflowing)} ours {len(o.overflowing)}"
    for i, (a, b) in enumerate(zip(r.overflowing, o.overflowing)):
        d = diff_full(a, b, f"{path}overflowing[{i}].")
        if d:
            return d
    return None


def reference_batch(name, texts, pairs, add_special, trunc, pad):
    from tokenizers import Tokenizer

    ref = Tokenizer.from_str(tokenizer_json(name))
    ref.no_truncation()
    ref.no_padding()
    if trunc:
        ref.enable_truncation(trunc["max_length"], stride=trunc["stride"], strategy=trunc["strategy"],
                              direction=trunc["side"])
    if pad:
        ref.enable_padding(direction=pad["side"], pad_id=pad["pad_id"], pad_type_id=pad["pad_type_id"],
                           pad_token=pad["pad_token"], length=pad["length"],
                           pad_to_multiple_of=pad["multiple"])
    inputs = list(zip(texts, pairs)) if pairs else texts
    return ref.encode_batch(inputs, add_special_tokens=add_special)


def our_kwargs(trunc, pad):
    kw = {}
    if trunc:
        kw.update(max_length=trunc["max_length"], stride=trunc["stride"], truncation_strategy=trunc["strategy"],
                  truncation_side=trunc["side"])
    if pad:
        kw.update(padding="max_length" if pad["length"] else "longest", padding_side=pad["side"],
                  pad_id=pad["pad_id"], pad_type_id=pad["pad_type_id"], pad_token=pad["pad_token"],
                  pad_to_multiple_of=pad["multiple"])
        if pad["length"]:
            kw["padding_length"] = pad["length"]
    return kw


TRUNCS = [None] + [
    dict(max_length=m, stride=s, strategy=st, side=side)
    for m, s, st, side in itertools.product(
        (0, 1, 5, 9, 16), (0, 2), ("longest_first", "only_first", "only_second"), ("right", "left")
    )
]
PADS = [None] + [
    dict(side=side, pad_id=pid, pad_type_id=1, pad_token="[PAD]", length=length, multiple=mult)
    for side, pid, length, mult in itertools.product(("right", "left"), (0, 3), (None,), (None, 8))
]


@pytest.mark.parametrize("name", ["bert", "gpt2", "roberta", "llama3", "t5_unigram", "wordlevel_misc"])
@pytest.mark.parametrize("with_pairs", [False, True])
def test_truncation_matches_reference(name, with_pairs):
    _, ours = load_pair(name)
    pairs = PAIRS if with_pairs else None
    checked = 0
    for trunc in TRUNCS:
        for add_special in (True, False):
            try:
                expected = reference_batch(name, TEXTS, pairs, add_special, trunc, None)
            except KeyboardInterrupt:
                raise
            except BaseException:  # includes pyo3's PanicException (stride >= max_length)
                # `tokenizers` refuses these parameters (stride too large, sequence too short, no
                # pair for only_second...): we must refuse them too.
                with pytest.raises((onnxformers.TokenizerError, onnxformers.InvalidInputError)):
                    ours.encode_batch(TEXTS, pairs, add_special, **our_kwargs(trunc, None))
                continue
            got = ours.encode_batch(TEXTS, pairs, add_special, **our_kwargs(trunc, None))
            for t, r, o in zip(TEXTS, expected, got):
                d = diff_full(r, o)
                assert d is None, f"{trunc} special={add_special} text={t[:30]!r}: {d}"
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("name", ["bert", "gpt2", "llama_spbpe"])
def test_padding_matches_reference(name):
    _, ours = load_pair(name)
    for pad in PADS[1:]:
        for trunc in (None, dict(max_length=7, stride=0, strategy="longest_first", side="right")):
            for pairs in (None, PAIRS):
                expected = reference_batch(name, TEXTS, pairs, True, trunc, pad)
                got = ours.encode_batch(TEXTS, pairs, True, **our_kwargs(trunc, pad))
                for t, r, o in zip(TEXTS, expected, got):
                    d = diff_full(r, o)
                    assert d is None, f"{pad} {trunc} text={t[:30]!r}: {d}"


def test_fixed_padding_and_multiple():
    name = "bert"
    _, ours = load_pair(name)
    pad = dict(side="left", pad_id=0, pad_type_id=0, pad_token="[PAD]", length=40, multiple=16)
    expected = reference_batch(name, TEXTS, None, True, None, pad)
    got = ours.encode_batch(TEXTS, None, True, **our_kwargs(None, pad))
    assert {len(e) for e in got} == {len(e) for e in expected}
    for r, o in zip(expected, got):
        assert diff_full(r, o) is None


@pytest.mark.parametrize("name", ["bert", "gpt2", "t5_unigram", "llama_spbpe"])
def test_encode_batch_ids_and_arrays(name):
    ref, ours = load_pair(name)
    expected = [e.ids for e in ref.encode_batch(TEXTS)]
    assert ours.encode_batch_ids(TEXTS) == expected
    assert ours.encode_batch_ids(TEXTS, add_special_tokens=False) == [
        e.ids for e in ref.encode_batch(TEXTS, add_special_tokens=False)
    ]
    for pairs in (None, PAIRS):
        arrays = ours.encode_batch_arrays(TEXTS, pairs, padding="longest", pad_id=0)
        encs = ours.encode_batch(TEXTS, pairs, padding="longest", pad_id=0)
        assert set(arrays) == {"input_ids", "attention_mask", "token_type_ids"}
        for k, f in (("input_ids", "ids"), ("attention_mask", "attention_mask"), ("token_type_ids", "type_ids")):
            a = arrays[k]
            assert a.dtype == np.int64 and a.ndim == 2 and a.flags["C_CONTIGUOUS"]
            assert a.tolist() == [getattr(e, f) for e in encs]
    a = ours.encode_batch_arrays(TEXTS, max_length=8, padding="max_length")["input_ids"]
    assert a.shape == (len(TEXTS), 8)
    # padding_length pads without truncating: long rows stay long (so no rectangular array).
    encs = ours.encode_batch(TEXTS, padding="max_length", padding_length=8)
    assert [len(e) for e in encs] == [max(8, len(x)) for x in expected]
    with pytest.raises(onnxformers.InvalidInputError):
        ours.encode_batch_arrays(TEXTS, padding="max_length", padding_length=8)
    assert ours.encode_batch_arrays([])["input_ids"].shape == (0, 0)


def test_arrays_need_padding_when_ragged():
    _, ours = load_pair("bert")
    with pytest.raises(onnxformers.InvalidInputError):
        ours.encode_batch_arrays(["a", "a much longer text here"], padding=None)
    same = ours.encode_batch_arrays(["a", "b"], padding=None)
    assert same["input_ids"].shape == (2, 3)


def test_bad_options():
    _, ours = load_pair("bert")
    with pytest.raises(onnxformers.InvalidInputError):
        ours.encode_batch(["a"], truncation_strategy="longest")
    with pytest.raises(onnxformers.InvalidInputError):
        ours.encode_batch(["a"], padding="max_length")  # no max_length
    with pytest.raises(onnxformers.InvalidInputError):
        ours.encode_batch(["a"], padding_side="up")
    with pytest.raises(onnxformers.InvalidInputError):
        ours.encode_batch("a single string")
    with pytest.raises(onnxformers.InvalidInputError):
        ours.encode_batch(["a", 3])
    with pytest.raises(onnxformers.TokenizerError):
        ours.encode_batch(["a", "b"], ["only one"])


def test_file_truncation_and_padding_not_applied():
    import json

    js = json.loads(tokenizer_json("bert"))
    js["truncation"] = {"direction": "Right", "max_length": 4, "strategy": "LongestFirst", "stride": 0}
    js["padding"] = {"strategy": {"Fixed": 50}, "direction": "Right", "pad_to_multiple_of": None,
                     "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}
    from onnxformers._core import Tokenizer

    t = Tokenizer.from_str(json.dumps(js))
    e = t.encode("a fairly long sentence with many words in it")
    assert 4 < len(e) < 50
    assert t.truncation["max_length"] == 4
    assert t.padding["strategy"] == {"Fixed": 50}


def test_threads_share_one_tokenizer():
    ref, ours = load_pair("gpt2")
    texts = [c for c in HARD_CASES if len(c) < 500] * 4
    expected = [e.ids for e in ref.encode_batch(texts)]
    results = [None] * 4
    errors = []

    def work(i):
        try:
            results[i] = ours.encode_batch_ids(texts)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(r == expected for r in results)


def test_encoding_object():
    _, ours = load_pair("bert")
    e = ours.encode("hello world", "second")
    assert len(e) == len(e.ids)
    assert e.sequence_ids[0] is None and 0 in e.sequence_ids and 1 in e.sequence_ids
    assert "Encoding" in repr(e)
    assert all(isinstance(x, tuple) for x in e.offsets)
    assert isinstance(e.overflowing, list)
    assert FIELDS
