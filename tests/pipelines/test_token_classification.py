"""token-classification / ner against transformers' pipeline on the tiny BERT NER fixture."""

from __future__ import annotations

import pytest
from pipe_helpers import (assert_plain_json, assert_same, case_params, model_path, reference)

from onnxformers import InvalidInputError, pipeline

NAME = "tiny-bert-token-classification"


@pytest.fixture(scope="module")
def ner():
    return pipeline("token-classification", model_path(NAME))


@pytest.fixture(scope="module")
def ner_q8():
    return pipeline("ner", model_path(NAME), dtype="q8")


@pytest.mark.parametrize("case", case_params(NAME))
def test_matches_transformers(ner, case):
    """Labels, words, offsets, indices and entity groups equal transformers' (torch), every
    aggregation strategy, ignore_labels and stride windows included; scores within 1e-4."""
    ours = ner(case["inputs"], **case["call"])
    assert_same(ours, case["torch"])
    assert_plain_json(ours)


@pytest.mark.parametrize("case", case_params(NAME, backend="onnx_q8"))
def test_q8_matches_transformers_on_the_q8_file(ner_q8, case):
    assert_same(ner_q8(case["inputs"], **case["call"]), case["onnx_q8"])


def test_docs_output_format(ner):
    """The Transformers.js docs' shape: {entity, score, index, word, start, end} per kept token."""
    text = "My name is Sarah and I live in London"
    out = ner(text)
    assert out and all(set(e) == {"entity", "score", "index", "word", "start", "end"} for e in out)
    assert all(e["entity"] != "O" for e in out)  # ignore_labels defaults to ["O"]
    every = ner(text, ignore_labels=[])
    assert len(every) > len(out)
    assert [e["index"] for e in every] == list(range(1, len(every) + 1))  # [CLS] is index 0
    for e in every:
        assert 0.0 < e["score"] <= 1.0
        assert text[e["start"]:e["end"]].lower() == e["word"].removeprefix("##")


def test_word_is_the_vocabulary_token_as_in_transformers(ner):
    """Transformers.js decodes each token for ``word``; transformers reports the vocabulary entry.
    With WordPiece both keep "##" on a lone sub-word; an unknown token reports its text, not
    "[UNK]" (transformers), and grouped words are decoded from the ids of their tokens."""
    out = ner("Sarah lives in the United States of America", ignore_labels=[])
    assert [e["word"] for e in out][:3] == ["sa", "##ra", "##h"]
    words = [e["word"] for e in ner("Héllo wörld 😀", ignore_labels=[])]
    assert "😀" in words and "[UNK]" not in words
    grouped = ner("Sarah lives in the United States of America", aggregation_strategy="first",
                  ignore_labels=[])
    assert [g["word"] for g in grouped][0] == "sarah"
    assert " ".join(g["word"] for g in grouped) == "sarah lives in the united states of america"


def test_batch_equals_single_calls(ner):
    texts = ["Paris is nice.", "The train was delayed by forty minutes in Berlin.", ""]
    batch = ner(texts, aggregation_strategy="simple")
    assert len(batch) == 3 and batch[2] == []
    for text, got in zip(texts, batch):
        assert_same(got, ner(text, aggregation_strategy="simple"), atol=1e-5)
    assert_same(ner(texts, batch_size=1), ner(texts), atol=1e-5)
    assert ner([]) == []


def test_long_text_is_truncated_without_stride(ner):
    text = reference(NAME)["cases"][-1]["inputs"]  # the long text of the stride cases
    ends = [e["end"] for e in ner(text, ignore_labels=[])]
    assert max(ends) < 0.6 * len(text)  # 126 tokens cover a bit more than half of it
    windows = ner(text, aggregation_strategy="first", ignore_labels=[], stride=32)
    assert windows[-1]["end"] == len(text)  # windows cover all of it
    assert [w["start"] for w in windows] == sorted(w["start"] for w in windows)


def test_ignore_labels(ner):
    text = "My name is Sarah and I live in London"
    labels = {e["entity"] for e in ner(text, ignore_labels=[])}
    assert ner(text, ignore_labels=sorted(labels)) == []
    some = sorted(labels)[:2]
    assert {e["entity"] for e in ner(text, ignore_labels=some)} == labels - set(some)
    groups = ner(text, aggregation_strategy="simple", ignore_labels=["PER", "LOC"])
    assert groups and not {g["entity_group"] for g in groups} & {"PER", "LOC"}


def test_heuristic_warning_for_tokenizers_without_subword_marks(ner, monkeypatch):
    monkeypatch.setattr(type(ner), "_word_aware", property(lambda self: False))
    with pytest.warns(UserWarning, match="guessed from whitespace"):
        out = ner("unbelievably stable", aggregation_strategy="first", ignore_labels=[])
    assert [g["start"] for g in out][0] == 0


@pytest.mark.parametrize("options,match", [
    ({"aggregation_strategy": "longest"}, "aggregation_strategy"),
    ({"stride": 16}, "aggregation strategy"),
    ({"stride": 128, "aggregation_strategy": "first"}, "smaller than"),
    ({"stride": -1, "aggregation_strategy": "first"}, "stride"),
    ({"ignore_labels": "O"}, "ignore_labels"),
    ({"batch_size": 0}, "batch_size"),
])
def test_bad_options(ner, options, match):
    with pytest.raises(InvalidInputError, match=match):
        ner("hello there", **options)


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["ok", 1]])
def test_bad_inputs(ner, bad):
    with pytest.raises(InvalidInputError):
        ner(bad)
