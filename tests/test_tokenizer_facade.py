"""The Python tokenizer API (call options, decode, special tokens) against `transformers`' fast
tokenizers loaded from the same folders (the oracle; installed without torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")

from onnxformers import AutoTokenizer, InvalidInputError, TokenizerError  # noqa: E402

MODELS = Path(__file__).parent / "fixtures" / "models"
FOLDERS = ["tiny-bert-wordpiece", "tiny-roberta-bpe"]
TEXTS = ["Hello world!", "The soup was cold and the waiter was rude.", "",
         "Héllo wörld 😀 naïve ☃", "a " * 40, "  leading and trailing  ", "tabs\tand\nnewlines"]
PAIRS = ["short", "a much longer second sequence " * 3, "x", "", "pair five", "six", "seven"]


@pytest.fixture(scope="module", params=FOLDERS)
def tokenizers(request):
    folder = str(MODELS / request.param)
    return AutoTokenizer.from_pretrained(folder), transformers.AutoTokenizer.from_pretrained(folder)


def as_lists(encoding):
    return {k: np.asarray(v).tolist() for k, v in encoding.items()}


def expected_keys(ours, theirs):
    return set(theirs.model_input_names) & {"input_ids", "attention_mask", "token_type_ids"}


@pytest.mark.parametrize("options", [
    dict(padding=True),
    dict(padding=True, truncation=True, max_length=8),
    dict(padding="max_length", truncation=True, max_length=24),
    dict(padding=True, add_special_tokens=False),
    dict(padding=True, pad_to_multiple_of=8),
])
def test_batch_call_matches_transformers(tokenizers, options):
    ours, theirs = tokenizers
    got = ours(TEXTS, **options)
    want = theirs(TEXTS, return_tensors="np", **options)
    assert set(got) == expected_keys(ours, theirs)
    for key in got:
        assert got[key].dtype == np.int64
        assert got[key].tolist() == want[key].tolist(), key


@pytest.mark.parametrize("strategy", ["longest_first", "only_second"])
def test_pairs_with_truncation_match_transformers(tokenizers, strategy):
    ours, theirs = tokenizers
    for text, pair in zip(TEXTS, PAIRS):
        try:
            want = theirs([text], [pair], padding=True, truncation=strategy, max_length=12,
                          return_tensors="np")
        except Exception as exc:  # the pair cannot be truncated that way: both must refuse
            assert "Truncation error" in str(exc)
            with pytest.raises(TokenizerError, match="truncat"):
                ours([text], [pair], padding=True, truncation=strategy, max_length=12)
            continue
        got = ours([text], [pair], padding=True, truncation=strategy, max_length=12)
        for key in got:
            assert got[key].tolist() == want[key].tolist(), (text, pair, key)


def test_left_padding_matches_transformers(tokenizers):
    ours, theirs = tokenizers
    theirs.padding_side = "left"
    try:
        got = ours(TEXTS, padding=True, padding_side="left")
        want = theirs(TEXTS, padding=True, return_tensors="np")
    finally:
        theirs.padding_side = "right"
    assert got["input_ids"].tolist() == want["input_ids"].tolist()
    assert got["attention_mask"].tolist() == want["attention_mask"].tolist()


def test_lists_without_tensors(tokenizers):
    ours, theirs = tokenizers
    got = ours(TEXTS, return_tensors=False)
    want = theirs(TEXTS)
    assert got["input_ids"] == want["input_ids"]
    single = ours(TEXTS[1], return_tensors=False)
    assert single["input_ids"] == theirs(TEXTS[1])["input_ids"]


def test_single_text_gives_batch_of_one(tokenizers):
    ours, theirs = tokenizers
    got = ours(TEXTS[1])
    assert got["input_ids"].shape == (1, len(theirs(TEXTS[1])["input_ids"]))


def test_encode_tokenize_and_ids(tokenizers):
    ours, theirs = tokenizers
    for text in TEXTS:
        assert ours.encode(text) == theirs.encode(text)
        assert ours.encode(text, add_special_tokens=False) == theirs.encode(text, add_special_tokens=False)
        assert ours.tokenize(text) == theirs.tokenize(text)
    assert ours.encode_batch(TEXTS) == [theirs.encode(t) for t in TEXTS]
    tokens = theirs.tokenize(TEXTS[1])
    assert ours.convert_tokens_to_ids(tokens) == theirs.convert_tokens_to_ids(tokens)
    ids = theirs.encode(TEXTS[1])
    assert ours.convert_ids_to_tokens(ids) == theirs.convert_ids_to_tokens(ids)


def test_special_tokens_match(tokenizers):
    ours, theirs = tokenizers
    for name in ("bos", "eos", "unk", "sep", "pad", "cls", "mask"):
        assert getattr(ours, f"{name}_token") == getattr(theirs, f"{name}_token"), name
        assert getattr(ours, f"{name}_token_id") == getattr(theirs, f"{name}_token_id"), name
    assert sorted(ours.all_special_ids) == sorted(theirs.all_special_ids)
    assert ours.model_max_length == theirs.model_max_length
    assert len(ours) == len(theirs) and ours.get_vocab() == theirs.get_vocab()


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("cleanup", [None, False, True])
def test_decode_matches_transformers(tokenizers, skip, cleanup):
    ours, theirs = tokenizers
    batch = theirs(TEXTS, padding=True)["input_ids"]
    for ids in batch:
        want = theirs.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=cleanup)
        assert ours.decode(ids, skip_special_tokens=skip,
                           clean_up_tokenization_spaces=cleanup) == want
    assert ours.batch_decode(np.asarray(batch), skip_special_tokens=skip,
                             clean_up_tokenization_spaces=cleanup) == theirs.batch_decode(
        batch, skip_special_tokens=skip, clean_up_tokenization_spaces=cleanup)


def test_decode_empty_follows_python():
    # Transformers.js 3.0.0 throws on decode([]); transformers returns "" and so do we.
    tok = AutoTokenizer.from_pretrained(str(MODELS / "tiny-bert-wordpiece"))
    assert tok.decode([]) == ""


@pytest.mark.parametrize("bad", [[-1], [10**12], [1.5], ["a"], [None], "abc", [True]])
def test_decode_bad_ids(bad):
    tok = AutoTokenizer.from_pretrained(str(MODELS / "tiny-bert-wordpiece"))
    with pytest.raises(TokenizerError):
        tok.decode(bad)


def test_unequal_lengths_need_padding_for_tensors():
    tok = AutoTokenizer.from_pretrained(str(MODELS / "tiny-bert-wordpiece"))
    with pytest.raises(InvalidInputError, match="padding"):
        tok(["short", "a much longer text here"])


def test_bad_call_inputs():
    tok = AutoTokenizer.from_pretrained(str(MODELS / "tiny-bert-wordpiece"))
    with pytest.raises(InvalidInputError):
        tok(["a", 1])
    with pytest.raises(InvalidInputError):
        tok("a", ["b"])
    with pytest.raises(InvalidInputError):
        tok(["a"], ["b", "c"])
    with pytest.raises(InvalidInputError, match="max_length"):
        tok("a", max_length=0)
    with pytest.raises(InvalidInputError, match="truncation"):
        tok("a", truncation="middle_out")


def test_pad_to_max_length_without_truncation(tokenizers):
    ours, theirs = tokenizers
    texts = ["short", "a much longer text " * 6]
    got = ours(texts, padding="max_length", truncation=False, max_length=12, return_tensors=False)
    want = theirs(texts, padding="max_length", truncation=False, max_length=12)
    assert got["input_ids"] == want["input_ids"]  # the long text keeps all its tokens
