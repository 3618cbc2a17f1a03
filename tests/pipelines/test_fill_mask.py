"""fill-mask against transformers' pipeline: BERT (WordPiece, [MASK]) and RoBERTa (byte-level BPE,
<mask> with lstrip)."""

from __future__ import annotations

import warnings

import pytest
from pipe_helpers import CountingRuns, assert_plain_json, assert_same, case_params, model_path

from onnxformers import InvalidInputError, UnsupportedModelError, pipeline

NAMES = ["tiny-bert-mlm", "tiny-roberta-mlm"]
PIPES: dict = {}


def fill(name: str, dtype: str = "fp32"):
    if (name, dtype) not in PIPES:
        PIPES[name, dtype] = pipeline("fill-mask", model_path(name), dtype=dtype)
    return PIPES[name, dtype]


def call_of(case) -> dict:
    # transformers needs tokenizer_kwargs={"truncation": True} for long texts; onnxformers always
    # truncates to the model limit
    return {k: v for k, v in case["call"].items() if k != "tokenizer_kwargs"}


@pytest.mark.parametrize("name,case", [pytest.param(n, c.values[0], id=f"{n}-{c.id}")
                                       for n in NAMES for c in case_params(n)])
def test_matches_transformers(name, case):
    """Tokens, token strings, filled sequences (special tokens kept when several masks) and score
    order equal transformers'; scores within 1e-4. Targets and truncation included."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # targets not in the vocabulary warn
        ours = fill(name)(case["inputs"], **call_of(case))
    assert_same(ours, case["torch"])
    assert_plain_json(ours)


@pytest.mark.parametrize("name,case", [pytest.param(n, c.values[0], id=f"{n}-{c.id}")
                                       for n in NAMES for c in case_params(n, backend="onnx_q8")])
def test_q8_matches_transformers_on_the_q8_file(name, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # batch_size=1: each text alone and unpadded, as transformers runs them
        ours = fill(name, "q8")(case["inputs"], batch_size=1, **call_of(case))
    assert_same(ours, case["onnx_q8"])


def test_docs_format_and_top_k():
    pipe = fill("tiny-bert-mlm")
    out = pipe("The goal of life is [MASK].")
    assert len(out) == 5 and all(set(d) == {"score", "token", "token_str", "sequence"} for d in out)
    assert [d["score"] for d in out] == sorted((d["score"] for d in out), reverse=True)
    assert [d["token"] for d in pipe("The goal of life is [MASK].", top_k=1)] == [out[0]["token"]]
    assert len(pipe("The goal of life is [MASK].", top_k=2000)) == 1000  # the whole vocabulary


def test_token_str_is_decoded_as_in_transformers():
    """Transformers.js reports the vocabulary entry ("Ġso"); transformers (followed here) decodes it
    (" so")."""
    pipe = fill("tiny-roberta-mlm")
    for d in pipe("Knead the <mask> for ten minutes.", top_k=12):
        assert d["token_str"] == pipe.tokenizer.decode([d["token"]])
    assert any(d["token_str"].startswith(" ") for d in pipe("Knead the <mask> for ten minutes.", top_k=12))


def test_batches():
    pipe = fill("tiny-bert-mlm")
    texts = ["I loved this [MASK]!", "The [MASK] was cold and the waiter was [MASK].", "[MASK]"]
    out = pipe(texts, top_k=2)
    assert len(out) == 3
    assert len(out[0]) == 2 and isinstance(out[0][0], dict)  # one mask: a list of predictions
    assert len(out[1]) == 2 and len(out[1][0]) == 2  # two masks: a list per mask
    for text, got in zip(texts, out):
        assert_same(got, pipe(text, top_k=2), atol=1e-5)
    # a list of one text stays a list (Transformers.js; transformers would unwrap it)
    assert_same(pipe(texts[:1], top_k=2), [pipe(texts[0], top_k=2)], atol=1e-5)
    counter = CountingRuns(pipe.model)
    try:
        pipe(texts)
        pipe(texts, batch_size=2)
    finally:
        pipe.model.sessions["model"] = counter.session
    assert counter.batches == [3, 2, 1]
    assert pipe([]) == []


def test_targets():
    pipe = fill("tiny-bert-mlm")
    out = pipe("The soup was [MASK].", targets="cold")
    assert [d["token_str"] for d in out] == ["cold"]
    both = pipe("The soup was [MASK].", targets=["cold", "the", "cold"], top_k=5)
    assert sorted(d["token_str"] for d in both) == ["cold", "the"]  # duplicates count once
    with pytest.warns(UserWarning, match="not in the vocabulary"):
        pipe("The soup was [MASK].", targets=["zebra"])
    with pytest.raises(InvalidInputError, match="targets"):
        pipe("The soup was [MASK].", targets=[])
    with pytest.raises(InvalidInputError, match="targets"):
        pipe("The soup was [MASK].", targets=[3])


def test_missing_mask_is_a_clear_error():
    pipe = fill("tiny-bert-mlm")
    with pytest.raises(InvalidInputError, match=r"No mask token \(\[MASK\]\) found in input 0"):
        pipe("There is no mask here.")
    with pytest.raises(InvalidInputError, match="input 1"):
        pipe(["A [MASK] here.", "none here"])
    with pytest.raises(InvalidInputError, match=r"<mask>"):
        fill("tiny-roberta-mlm")("The goal of life is [MASK].")  # BERT's mask in a RoBERTa text
    with pytest.raises(InvalidInputError, match="cut off by truncation"):
        pipe("word " * 300 + "[MASK]")


def test_tokenizer_without_mask_token():
    pipe = pipeline("fill-mask", model_path("tiny-bert-mlm"))
    pipe.tokenizer.mask_token = None
    with pytest.raises(UnsupportedModelError, match="mask token"):
        pipe("The goal of life is [MASK].")


@pytest.mark.parametrize("top_k", [0, -1, 1.5, True, None])
def test_bad_top_k(top_k):
    with pytest.raises(InvalidInputError, match="top_k"):
        fill("tiny-bert-mlm")("A [MASK].", top_k=top_k)
