"""The foundation slice end to end: text-classification and feature-extraction on tiny fixture
models, compared with references computed by transformers/torch and onnxruntime (stored next to
each fixture by scripts/make_fixtures.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from onnxformers import (
    BackendError, FileMissingError, InvalidConfigError, InvalidInputError, ModelNotFoundError,
    TokenizerError, UnknownDeviceError, UnknownDtypeError, UnsupportedModelError, pipeline,
)

MODELS = Path(__file__).parent / "fixtures" / "models"
DTYPE_KEYS = {"fp32": "onnx_fp32", "q8": "onnx_q8"}


def reference(name: str) -> dict:
    return json.loads((MODELS / name / "reference.json").read_text())


def case_map(name: str) -> dict:
    return {c["id"]: c for c in reference(name)["cases"]}


def assert_scores_equal(ours, expected, atol=1e-4):
    """Same labels in the same order, scores within ``atol``."""
    assert [o["label"] for o in ours] == [e["label"] for e in expected]
    np.testing.assert_allclose([o["score"] for o in ours], [e["score"] for e in expected], atol=atol)


# ---------------------------------------------------------------------------------------------------
# text-classification

@pytest.fixture(scope="module", params=["fp32", "q8"])
def classifier(request):
    return request.param, pipeline("text-classification", str(MODELS / "tiny-bert-classifier"),
                                   dtype=request.param)


@pytest.mark.parametrize("case_id", ["positive", "negative", "empty", "unknown_chars", "long_truncated"])
def test_classifier_all_labels_match_reference(classifier, case_id):
    dtype, pipe = classifier
    case = case_map("tiny-bert-classifier")[case_id]
    ours = pipe(case["inputs"], top_k=None)
    assert_scores_equal(ours, case[DTYPE_KEYS[dtype]]["scores"][0])
    if dtype == "fp32":  # the fp32 graph also equals the torch pipeline
        assert_scores_equal(ours, case["torch"]["pipeline"][0])


def test_classifier_batch_of_unequal_lengths_is_one_padded_call(classifier):
    dtype, pipe = classifier
    case = case_map("tiny-bert-classifier")["batch_unequal"]
    ours = pipe(case["inputs"], top_k=None)
    assert len(ours) == len(case["inputs"])
    for got, expected in zip(ours, case[DTYPE_KEYS[dtype]]["scores"]):
        assert_scores_equal(got, expected)


def test_classifier_top_k_shapes(classifier):
    dtype, pipe = classifier
    case = case_map("tiny-bert-classifier")["batch_unequal"]
    texts = case["inputs"]
    # top_k=1 (default): one flat list over the batch, a list of one for a single text
    flat = pipe(texts)
    assert isinstance(flat, list) and len(flat) == len(texts) and all(isinstance(d, dict) for d in flat)
    single = pipe(texts[0])
    # dynamic int8 quantizes activations per batch, so padding shifts q8 scores slightly
    assert_scores_equal(single, [flat[0]], atol=1e-5 if dtype == "fp32" else 5e-3)
    # top_k=2: a list per input, unwrapped for a single text
    two = pipe(texts, top_k=2)
    assert [len(x) for x in two] == [2] * len(texts)
    assert [d["label"] for d in pipe(texts[0], top_k=2)] == [d["label"] for d in two[0]]
    # top_k larger than the label count gives every label
    assert len(pipe(texts[0], top_k=99)) == 3
    assert all(set(d) == {"label", "score"} and isinstance(d["score"], float) for d in flat)


def test_classifier_ids_from_tokenizer_match_reference():
    pipe = pipeline("text-classification", str(MODELS / "tiny-bert-classifier"))
    case = case_map("tiny-bert-classifier")["batch_unequal"]
    enc = pipe.tokenizer(case["inputs"], padding=True, truncation=True)
    assert enc["input_ids"].tolist() == case["encoding"]["input_ids"]
    assert enc["attention_mask"].tolist() == case["encoding"]["attention_mask"]
    assert enc["input_ids"].dtype == np.int64


def test_multilabel_uses_sigmoid():
    ref = case_map("tiny-bert-multilabel")
    pipe = pipeline("text-classification", str(MODELS / "tiny-bert-multilabel"))
    for case_id in ("positive", "negative"):
        ours = pipe(ref[case_id]["inputs"], top_k=None)
        assert_scores_equal(ours, ref[case_id]["torch"]["pipeline"][0])
        assert sum(o["score"] for o in ours) != pytest.approx(1.0, abs=1e-3)


def test_function_to_apply_override():
    pipe = pipeline("text-classification", str(MODELS / "tiny-bert-classifier"))
    case = case_map("tiny-bert-classifier")["positive"]
    raw = pipe(case["inputs"], top_k=None, function_to_apply="none")
    logits = case["onnx_fp32"]["logits"][0]
    assert sorted(o["score"] for o in raw) == pytest.approx(sorted(logits), abs=1e-4)
    with pytest.raises(InvalidInputError, match="function_to_apply"):
        pipe("x", function_to_apply="tanh")


def test_roberta_byte_level_bpe_classifier():
    ref = case_map("tiny-roberta-classifier")
    for dtype in ("fp32", "q8"):
        pipe = pipeline("sentiment-analysis", str(MODELS / "tiny-roberta-classifier"), dtype=dtype)
        for case_id, case in ref.items():
            ours = pipe(case["inputs"], top_k=None)
            expected = case[DTYPE_KEYS[dtype]]["scores"]
            if isinstance(case["inputs"], str):
                ours, expected = [ours], expected[:1]
            for got, exp in zip(ours, expected):
                assert_scores_equal(got, exp)


def test_label_fallback_when_config_has_no_id2label(tmp_path):
    folder = tmp_path / "no-labels"
    shutil.copytree(MODELS / "tiny-bert-classifier", folder)
    config = json.loads((folder / "config.json").read_text())
    config.pop("id2label", None)
    config.pop("label2id", None)
    (folder / "config.json").write_text(json.dumps(config))
    labels = {d["label"] for d in pipeline("text-classification", str(folder))("hello", top_k=None)}
    assert labels == {"LABEL_0", "LABEL_1", "LABEL_2"}


# ---------------------------------------------------------------------------------------------------
# feature-extraction

@pytest.fixture(scope="module", params=["fp32", "q8"])
def extractor(request):
    return request.param, pipeline("feature-extraction",
                                   str(MODELS / "tiny-bert-feature-extraction"), dtype=request.param)


def cosine_rows(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


@pytest.mark.parametrize("pooling,normalize,key", [
    ("mean", False, "mean"), ("mean", True, "mean_normalized"),
    ("cls", False, "cls"), ("cls", True, "cls_normalized"),
])
def test_pooled_embeddings_match_reference(extractor, pooling, normalize, key):
    dtype, pipe = extractor
    for case in reference("tiny-bert-feature-extraction")["cases"]:
        ours = pipe(case["inputs"], pooling=pooling, normalize=normalize)
        expected = np.asarray(case[DTYPE_KEYS[dtype]][key], dtype=np.float32)
        expected = expected.reshape(ours.shape)
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, expected, atol=1e-5)
        assert cosine_rows(ours, expected).min() >= 0.9999
        if dtype == "fp32":
            assert cosine_rows(ours, np.asarray(case["torch"][key]).reshape(ours.shape)).min() >= 0.9999


def test_unpooled_hidden_states(extractor):
    dtype, pipe = extractor
    case = case_map("tiny-bert-feature-extraction")["batch_raw_hidden"]
    ours = pipe(case["inputs"])
    expected = np.asarray(case[DTYPE_KEYS[dtype]]["last_hidden_state"], dtype=np.float32)
    assert ours.shape == expected.shape  # [batch, tokens, hidden]
    np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_single_string_keeps_batch_dimension(extractor):
    _, pipe = extractor
    assert pipe("hello there", pooling="mean").shape == (1, 32)
    assert pipe("hello there").ndim == 3


def test_quantized_embeddings(extractor):
    _, pipe = extractor
    emb = pipe(["good food", "bad service"], pooling="mean", normalize=True)
    ub = pipe(["good food", "bad service"], pooling="mean", normalize=True, quantize=True,
              precision="ubinary")
    b = pipe(["good food", "bad service"], pooling="mean", normalize=True, quantize=True)
    assert ub.dtype == np.uint8 and b.dtype == np.int8 and ub.shape == (2, 4)
    assert np.array_equal(np.unpackbits(ub, axis=-1).astype(bool), emb > 0)
    assert np.array_equal(b.astype(np.int16), ub.astype(np.int16) - 128)


def test_batch_size_option_gives_the_same_result(extractor):
    dtype, pipe = extractor
    texts = [c["inputs"] for c in reference("tiny-bert-feature-extraction")["cases"]
             if isinstance(c["inputs"], str)]
    whole = pipe(texts, pooling="mean", normalize=True)
    parts = pipe(texts, pooling="mean", normalize=True, batch_size=2)
    if dtype == "fp32":
        np.testing.assert_allclose(whole, parts, atol=1e-5)
    else:  # dynamic int8 quantizes activations per batch: close, not equal
        assert cosine_rows(whole, parts).min() > 0.999


def test_embeddings_alias_and_bad_options():
    pipe = pipeline("embeddings", str(MODELS / "tiny-bert-feature-extraction"))
    with pytest.raises(InvalidInputError, match="pooling"):
        pipe("x", pooling="max")
    with pytest.raises(InvalidInputError, match="precision"):
        pipe("x", pooling="mean", quantize=True, precision="int4")


# ---------------------------------------------------------------------------------------------------
# empty and wrong-typed inputs

def test_empty_inputs():
    cls = pipeline("text-classification", str(MODELS / "tiny-bert-classifier"))
    fe = pipeline("feature-extraction", str(MODELS / "tiny-bert-feature-extraction"))
    assert cls([]) == []
    assert cls([], top_k=None) == []
    assert fe([], pooling="mean").shape == (0, 32)
    # an empty string is a real input: [CLS] [SEP]
    assert len(cls("")) == 1
    assert fe("", pooling="mean").shape == (1, 32)


@pytest.mark.parametrize("bad", [42, None, b"bytes", ["ok", 3], {"text": "x"}])
def test_non_string_inputs_are_rejected(bad):
    cls = pipeline("text-classification", str(MODELS / "tiny-bert-classifier"))
    with pytest.raises(InvalidInputError):
        cls(bad)


# ---------------------------------------------------------------------------------------------------
# loading errors

def test_nonexistent_local_path():
    with pytest.raises(ModelNotFoundError):
        pipeline("feature-extraction", "./no/such/model/folder")


def test_missing_config(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "tiny-bert-classifier", folder)
    (folder / "config.json").unlink()
    with pytest.raises(FileMissingError, match="config.json"):
        pipeline("text-classification", str(folder))


def test_malformed_config(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "tiny-bert-classifier", folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(InvalidConfigError, match="config.json"):
        pipeline("text-classification", str(folder))


def test_missing_tokenizer(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "tiny-bert-classifier", folder)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(FileMissingError, match="tokenizer.json"):
        pipeline("text-classification", str(folder))


def test_malformed_tokenizer(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "tiny-bert-classifier", folder)
    tok = json.loads((folder / "tokenizer.json").read_text())
    tok["pre_tokenizer"] = {"type": "BertPreTokeniser"}
    (folder / "tokenizer.json").write_text(json.dumps(tok))
    with pytest.raises(TokenizerError, match="BertPreTokeniser"):
        pipeline("text-classification", str(folder))


def test_corrupt_onnx(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "tiny-bert-classifier", folder)
    (folder / "onnx" / "model.onnx").write_bytes(b"garbage" * 100)
    with pytest.raises(BackendError, match="model.onnx"):
        pipeline("text-classification", str(folder))


def test_unknown_dtype_and_device():
    with pytest.raises(UnknownDtypeError):
        pipeline("text-classification", str(MODELS / "tiny-bert-classifier"), dtype="fp64")
    with pytest.raises(UnknownDeviceError):
        pipeline("text-classification", str(MODELS / "tiny-bert-classifier"), device="tpu")


def test_absent_dtype_lists_available_ones():
    with pytest.raises(FileMissingError) as info:
        pipeline("text-classification", str(MODELS / "tiny-bert-classifier"), dtype="fp16")
    message = str(info.value)
    assert "model_fp16.onnx" in message and "fp32" in message and "q8" in message


def test_dtype_default_from_transformers_js_config(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "tiny-bert-classifier", folder)
    (folder / "onnx" / "model.onnx").unlink()
    config = json.loads((folder / "config.json").read_text())
    config["transformers.js_config"] = {"dtype": "q8"}
    (folder / "config.json").write_text(json.dumps(config))
    case = case_map("tiny-bert-classifier")["positive"]
    ours = pipeline("text-classification", str(folder))(case["inputs"], top_k=None)
    assert_scores_equal(ours, case["onnx_q8"]["scores"][0])


def test_model_type_unsupported_for_task(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "tiny-bert-classifier", folder)
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "vit"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedModelError, match="vit"):
        pipeline("text-classification", str(folder))


# ---------------------------------------------------------------------------------------------------
# the hub path: a local HTTP server in the Hub's URL layout

def test_pipeline_over_the_hub_then_offline(hub, monkeypatch):
    repo = "fixtures/tiny-bert-classifier"
    hub.server.add_repo_from_folder(repo, MODELS / "tiny-bert-classifier")
    events = []
    pipe = pipeline("sentiment-analysis", repo, progress_callback=events.append)
    case = case_map("tiny-bert-classifier")["positive"]
    assert_scores_equal(pipe(case["inputs"], top_k=None), case["onnx_fp32"]["scores"][0])
    statuses = [e["status"] for e in events]
    assert statuses[-1] == "ready" and events[-1] == {
        "status": "ready", "task": "text-classification", "model": repo}
    assert {"initiate", "progress", "done"} <= set(statuses)
    onnx_events = [e for e in events if e.get("file") == "onnx/model.onnx"]
    assert onnx_events and any(e["status"] == "progress" and e.get("total") for e in onnx_events)

    # second load: everything comes from the cache, no request at all
    hub.server.reset_counts()
    pipeline("sentiment-analysis", repo)
    assert hub.server.total == 0

    # offline after the download still works
    from onnxformers.env import env

    env.allow_remote_models = False
    again = pipeline("sentiment-analysis", repo)
    assert_scores_equal(again(case["inputs"], top_k=None), case["onnx_fp32"]["scores"][0])


def test_repo_not_on_the_hub(hub):
    with pytest.raises(ModelNotFoundError):
        pipeline("feature-extraction", "nobody/no-such-model")


# ---------------------------------------------------------------------------------------------------
# one pipeline shared by many threads (sessions are created once and are thread-safe)

def test_pipeline_is_thread_safe():
    from concurrent.futures import ThreadPoolExecutor

    pipe = pipeline("feature-extraction", str(MODELS / "tiny-bert-feature-extraction"))
    texts = [c["inputs"] for c in reference("tiny-bert-feature-extraction")["cases"]
             if isinstance(c["inputs"], str)]
    expected = [pipe(t, pooling="mean", normalize=True) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: pipe(texts[i % len(texts)], pooling="mean",
                                               normalize=True), range(40)))
    for i, got in enumerate(results):
        np.testing.assert_allclose(got, expected[i % len(texts)], atol=1e-6)


def test_tower_classes_load_their_own_graph_file():
    from onnxformers.models import CLIPTextModelWithProjection, CLIPVisionModelWithProjection

    clip = str(MODELS / "tiny-clip")
    # Transformers.js loads onnx/vision_model.onnx / text_model.onnx for these classes
    with pytest.raises(FileMissingError, match="vision_model.onnx"):
        CLIPVisionModelWithProjection.from_pretrained(clip)
    with pytest.raises(FileMissingError, match="text_model.onnx"):
        CLIPTextModelWithProjection.from_pretrained(clip)
    model = CLIPVisionModelWithProjection.from_pretrained(clip, model_file_name="model")
    assert type(model).__name__ == "CLIPVisionModelWithProjection"
