"""text-classification of text pairs ({"text", "text_pair"} dicts, an extension from transformers)
against transformers' pipeline on the tiny NLI fixture."""

from __future__ import annotations

import numpy as np
import pytest
from pipe_helpers import assert_plain_json, assert_same, case_params, model_path

from onnxformers import InvalidInputError, pipeline

NAME = "tiny-bert-nli"
PAIR = {"text": "The train was late.", "text_pair": "I missed the meeting because of it."}


@pytest.fixture(scope="module")
def classifier():
    return pipeline("text-classification", model_path(NAME))


@pytest.mark.parametrize("case", case_params(NAME, key="text_pair_cases"))
def test_pairs_match_transformers(classifier, case):
    ours = classifier(case["inputs"], top_k=None)
    assert_same(ours, case["torch"])
    assert_plain_json(ours)


def test_pair_is_one_sequence_pair(classifier):
    enc = classifier.tokenizer(PAIR["text"], PAIR["text_pair"])
    logits = classifier.model(**enc)["logits"][0].astype(np.float64)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    out = classifier(PAIR, top_k=None)
    got = {d["label"]: d["score"] for d in out}
    id2label = classifier.model.config.id2label
    np.testing.assert_allclose([got[id2label[i]] for i in range(3)], probs, atol=1e-6)
    # not the same as classifying the concatenated text
    joined = classifier(PAIR["text"] + " " + PAIR["text_pair"], top_k=None)
    assert max(abs(got[d["label"]] - d["score"]) for d in joined) > 1e-3


def test_shapes_and_batching(classifier):
    one = classifier(PAIR)
    assert isinstance(one, list) and len(one) == 1 and set(one[0]) == {"label", "score"}
    pairs = [PAIR, {"text": "A man plays a guitar.", "text_pair": "Someone makes music."}]
    flat = classifier(pairs)
    assert len(flat) == 2 and flat[0] == one[0]
    per_input = classifier(pairs, top_k=2)
    assert [len(x) for x in per_input] == [2, 2]
    assert_same(classifier(pairs, top_k=None, batch_size=1), classifier(pairs, top_k=None), atol=1e-5)
    raw = classifier(PAIR, top_k=None, function_to_apply="none")
    assert sum(d["score"] for d in raw) != pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("bad", [
    {"text": "only one side"},
    {"text": "a", "text_pair": "b", "extra": "c"},
    {"text": "a", "text_pair": 3},
    [PAIR, "a plain string"],
    ["a plain string", PAIR],
])
def test_bad_pairs(classifier, bad):
    with pytest.raises(InvalidInputError):
        classifier(bad)
