"""zero-shot-classification against transformers' pipeline on the tiny BERT NLI fixture
(label2id ENTAILMENT 0, NEUTRAL 1, CONTRADICTION 2)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from pipe_helpers import CountingRuns, assert_plain_json, assert_same, case_params, model_path

from onnxformers import InvalidInputError, UnsupportedModelError, pipeline

NAME = "tiny-bert-nli"
TEXT = "Last week I upgraded my phone and ever since then it has been overheating whenever I use your app."
LABELS = ["mobile", "billing", "website", "account access"]


@pytest.fixture(scope="module")
def zsc():
    return pipeline("zero-shot-classification", model_path(NAME))


@pytest.mark.parametrize("case", case_params(NAME))
def test_matches_transformers(zsc, case):
    """Label order and scores equal transformers' (list or comma-separated labels, templates,
    multi_label, a single label, batches, a truncated premise)."""
    inputs = case["inputs"]
    ours = zsc(inputs["sequences"], inputs["candidate_labels"], **case["call"])
    assert_same(ours, case["torch"])
    assert_plain_json(ours)


def test_output_shape_and_scores(zsc):
    out = zsc(TEXT, LABELS)
    assert set(out) == {"sequence", "labels", "scores"} and out["sequence"] == TEXT
    assert sorted(out["labels"]) == sorted(LABELS)
    assert out["scores"] == sorted(out["scores"], reverse=True)
    assert sum(out["scores"]) == pytest.approx(1.0, abs=1e-6)
    multi = zsc(TEXT, LABELS, multi_label=True)
    assert all(0 < s < 1 for s in multi["scores"]) and sum(multi["scores"]) != pytest.approx(1.0)
    assert zsc(TEXT, "mobile, billing,website , account access") == out
    assert zsc(TEXT, candidate_labels=tuple(LABELS)) == out
    batch = zsc([TEXT, "The soup was cold."], LABELS)
    assert isinstance(batch, list) and batch[0] == out


def test_one_batched_session_call_per_input(zsc):
    counter = CountingRuns(zsc.model)
    try:
        zsc([TEXT, "The soup was cold.", "Paris"], LABELS)
        assert counter.batches == [4, 4, 4]
        zsc(TEXT, LABELS, batch_size=3)
        assert counter.batches[3:] == [3, 1]
    finally:
        zsc.model.sessions["model"] = counter.session


def test_q8_is_close_to_fp32():
    """transformers runs each premise/hypothesis pair alone; onnxformers one padded batch per text,
    so the dynamic-int8 file gives close (not equal) numbers."""
    fp32 = pipeline("zero-shot-classification", model_path(NAME))(TEXT, LABELS)
    q8 = pipeline("zero-shot-classification", model_path(NAME), dtype="q8")(TEXT, LABELS)
    assert sorted(q8["labels"]) == sorted(fp32["labels"])
    want = dict(zip(fp32["labels"], fp32["scores"]))
    assert max(abs(want[l] - s) for l, s in zip(q8["labels"], q8["scores"])) < 0.05


def _with_label2id(tmp_path, label2id: dict):
    folder = tmp_path / "nli"
    shutil.copytree(model_path(NAME), folder)
    config = json.loads((folder / "config.json").read_text())
    config["label2id"] = label2id
    config["id2label"] = {str(v): k for k, v in label2id.items()}
    (folder / "config.json").write_text(json.dumps(config))
    return pipeline("zero-shot-classification", str(folder))


def test_nli_ids_come_from_label2id_case_insensitively(zsc, tmp_path):
    """Entailment and contradiction ids are looked up in label2id (any case). transformers would
    take id 0 as contradiction here (it is "neutral"); Transformers.js and this class look it up."""
    pipe = _with_label2id(tmp_path, {"neutral": 0, "Entailment": 1, "CONTRADICTION": 2})
    out = pipe(TEXT, LABELS, multi_label=True)
    enc = pipe.tokenizer([TEXT] * 4, [f"This example is {l}." for l in LABELS], padding=True,
                         truncation="only_first")
    logits = pipe.model(**enc)["logits"].astype(np.float64)
    pair = logits[:, [2, 1]]  # (contradiction, entailment)
    expected = np.exp(pair[:, 1]) / np.exp(pair).sum(-1)
    got = dict(zip(out["labels"], out["scores"]))
    np.testing.assert_allclose([got[l] for l in LABELS], expected, atol=1e-6)
    single = pipe(TEXT, LABELS)  # softmax over the entailment logits (column 1)
    e = np.exp(logits[:, 1] - logits[:, 1].max())
    np.testing.assert_allclose([dict(zip(single["labels"], single["scores"]))[l] for l in LABELS],
                               e / e.sum(), atol=1e-6)


def test_model_without_entailment_label(tmp_path):
    pipe = _with_label2id(tmp_path, {"negative": 0, "neutral": 1, "positive": 2})
    with pytest.raises(UnsupportedModelError, match="entailment"):
        pipe(TEXT, LABELS)


@pytest.mark.parametrize("labels,options,match", [
    ([], {}, "candidate_labels is empty"),
    ("", {}, "candidate_labels is empty"),
    (" , ,", {}, "candidate_labels is empty"),
    (None, {}, "needs candidate_labels"),
    (["ok", 3], {}, "must be strings"),
    (42, {}, "candidate_labels"),
    (LABELS, {"hypothesis_template": "This example is about it."}, "placeholder"),
    (LABELS, {"hypothesis_template": "This is {label}."}, "cannot be formatted"),
    (LABELS, {"hypothesis_template": "Broken {"}, "cannot be formatted"),
    (LABELS, {"hypothesis_template": 3}, "hypothesis_template"),
    (["word " * 200], {}, "does not fit"),
    (LABELS, {"batch_size": 0}, "batch_size"),
])
def test_bad_inputs(zsc, labels, options, match):
    with pytest.raises(InvalidInputError, match=match):
        zsc(TEXT, labels, **options)


def test_bad_texts(zsc):
    with pytest.raises(InvalidInputError):
        zsc(None, LABELS)
    assert zsc([], LABELS) == []
