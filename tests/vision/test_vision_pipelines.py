"""The vision pipelines end to end on tiny fixture models, against references computed by the
transformers pipelines (torch) and by onnxruntime in scripts/make_fixtures.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from onnxformers import InvalidInputError, UnsupportedModelError, pipeline
from onnxformers.processors.image import CLIPImageProcessor, ConvNextImageProcessor, ViTImageProcessor, YolosImageProcessor
from onnxformers.utils.image import RawImage
from vision_helpers import FIXTURES, IMAGES, MODELS


def image_processor(pipe):
    """The image processor of a pipeline (AutoProcessor wraps it in a Processor)."""
    return getattr(pipe.processor, "image_processor", None) or pipe.processor


def reference(name: str) -> dict:
    return json.loads((MODELS / name / "reference.json").read_text())


def image_path(case: dict) -> str:
    return str(FIXTURES / case["image"])


def assert_scores(ours, expected, atol):
    assert [o["label"] for o in ours] == [e["label"] for e in expected]
    np.testing.assert_allclose([o["score"] for o in ours], [e["score"] for e in expected], atol=atol)


# ---------------------------------------------------------------------------------------------------
# image-classification


@pytest.fixture(scope="module", params=["tiny-vit-classifier", "tiny-convnext-classifier"])
def classifier_name(request):
    return request.param


@pytest.mark.parametrize("dtype", ["fp32", "q8"])
def test_classification_matches_references(classifier_name, dtype):
    ref = reference(classifier_name)
    pipe = pipeline("image-classification", str(MODELS / classifier_name), dtype=dtype)
    expected_cls = {"tiny-vit-classifier": ViTImageProcessor, "tiny-convnext-classifier": ConvNextImageProcessor}
    assert type(image_processor(pipe)) is expected_cls[classifier_name]
    for case in ref["cases"]:
        ours = pipe(image_path(case), top_k=None)
        assert_scores(ours, case[f"onnx_{dtype}"]["scores"], atol=1e-5 if dtype == "fp32" else 1e-4)
        if dtype == "fp32":
            assert_scores(ours, case["torch"]["pipeline"], atol=1e-4)


def test_classification_top_k_follows_the_docs():
    pipe = pipeline("image-classification", str(MODELS / "tiny-vit-classifier"))
    path = str(IMAGES / "photo.jpg")
    everything = pipe(path, top_k=None)
    assert len(everything) == 5
    one = pipe(path)  # default 1: a list holding the best label
    assert one == everything[:1]
    assert pipe(path, top_k=3) == everything[:3]
    assert pipe(path, top_k=0) == everything  # the docs' example: 0 → all classes
    assert pipe(path, top_k=50) == everything
    assert all(set(d) == {"label", "score"} and isinstance(d["score"], float) for d in everything)
    assert sum(d["score"] for d in everything) == pytest.approx(1.0, abs=1e-6)
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(InvalidInputError, match="top_k"):
            pipe(path, top_k=bad)


def test_classification_batches_equal_single_calls_and_keep_order():
    pipe = pipeline("image-classification", str(MODELS / "tiny-vit-classifier"))
    names = ["photo.jpg", "odd.png", "tall.png", "rgba.png", "gray.png"]
    paths = [str(IMAGES / n) for n in names]
    singles = [pipe(p, top_k=None) for p in paths]
    for batch_size in (None, 1, 2):
        batched = pipe(paths, top_k=None, batch_size=batch_size)
        assert len(batched) == len(paths)
        for got, want in zip(batched, singles):
            assert_scores(got, want, atol=1e-5)
    assert pipe(paths[:1]) == [pipe(paths[0])]  # a list of one gives a list of one
    with pytest.raises(InvalidInputError, match="batch_size"):
        pipe(paths, batch_size=0)


def test_classification_accepts_every_image_input(image_server):
    pipe = pipeline("image-classification", str(MODELS / "tiny-vit-classifier"))
    path = IMAGES / "odd.png"
    expected = pipe(str(path), top_k=None)
    raw = RawImage.read(path)
    with Image.open(path) as pil:
        pil.load()
        inputs = [path, path.read_bytes(), pil, raw, raw.to_numpy(), raw.to_numpy() / 255.0, image_server + "odd.png"]
        for item in inputs:
            assert_scores(pipe(item, top_k=None), expected, atol=1e-5)
        batch = pipe(inputs, top_k=None)
    assert len(batch) == len(inputs)
    assert_scores(pipe(np.stack([raw.to_numpy()] * 2), top_k=None)[1], expected, atol=1e-5)  # 4-D array = batch


def test_classification_input_errors():
    pipe = pipeline("image-classification", str(MODELS / "tiny-vit-classifier"))
    with pytest.raises(InvalidInputError, match="image 1 of the batch"):
        pipe([str(IMAGES / "photo.jpg"), str(IMAGES / "truncated.jpg")])
    with pytest.raises(InvalidInputError, match="does not exist"):
        pipe(str(IMAGES / "missing.jpg"))
    with pytest.raises(InvalidInputError, match="empty"):
        pipe([])
    with pytest.raises(InvalidInputError):
        pipe(None)
    with pytest.raises(InvalidInputError, match="function_to_apply"):
        pipe(str(IMAGES / "photo.jpg"), function_to_apply="tanh")
    raw = pipe(str(IMAGES / "photo.jpg"), top_k=None, function_to_apply="none")
    logits = reference("tiny-vit-classifier")["cases"][0]["onnx_fp32"]["logits"]
    assert sorted(d["score"] for d in raw) == pytest.approx(sorted(logits), abs=1e-5)


# ---------------------------------------------------------------------------------------------------
# image-feature-extraction


@pytest.mark.parametrize("dtype", ["fp32", "q8"])
def test_feature_extraction_matches_references(dtype):
    ref = reference("tiny-vit-feature-extraction")
    pipe = pipeline("image-feature-extraction", str(MODELS / "tiny-vit-feature-extraction"), dtype=dtype)
    for case in ref["cases"]:
        hidden = pipe(image_path(case))
        pooled = pipe(image_path(case), pool=True)
        assert isinstance(hidden, np.ndarray) and hidden.dtype == np.float32
        assert list(hidden.shape) == case["torch"]["pipeline_shape"] == [1, 17, 32]
        assert pooled.shape == (1, 32)
        if dtype == "fp32":
            np.testing.assert_allclose(hidden, case["torch"]["pipeline"], atol=1e-4)
            np.testing.assert_allclose(pooled, case["torch"]["pipeline_pool"], atol=1e-4)
            np.testing.assert_allclose(pooled, case["onnx_fp32"]["pooler_output"], atol=1e-5)
        else:
            np.testing.assert_allclose(hidden, case["onnx_q8"]["last_hidden_state"], atol=1e-4)
            np.testing.assert_allclose(pooled, case["onnx_q8"]["pooler_output"], atol=1e-4)


def test_feature_extraction_batch_and_missing_pooler():
    pipe = pipeline("image-feature-extraction", str(MODELS / "tiny-vit-feature-extraction"))
    paths = [str(IMAGES / "photo.jpg"), str(IMAGES / "odd.png"), str(IMAGES / "gray.png")]
    batch = pipe(paths)
    assert batch.shape == (3, 17, 32)
    np.testing.assert_allclose(batch[1], pipe(paths[1])[0], atol=1e-5)
    # a classifier has logits but no pooler_output
    classifier = pipeline("image-feature-extraction", str(MODELS / "tiny-vit-classifier"))
    assert classifier(paths[0]).shape == (1, 5)
    with pytest.raises(UnsupportedModelError, match="pooler"):
        classifier(paths[0], pool=True)


# ---------------------------------------------------------------------------------------------------
# zero-shot-image-classification


@pytest.mark.parametrize("dtype", ["fp32", "q8"])
def test_zero_shot_matches_references(dtype):
    ref = reference("tiny-clip")
    pipe = pipeline("zero-shot-image-classification", str(MODELS / "tiny-clip"), dtype=dtype)
    assert isinstance(image_processor(pipe), CLIPImageProcessor)
    labels = ref["candidate_labels"]
    enc = pipe.tokenizer([ref["hypothesis_template"].replace("{}", x) for x in labels], padding=True, truncation=True)
    assert enc["input_ids"].tolist() == ref["encoding"]["input_ids"]
    for case in ref["cases"]:
        ours = pipe(image_path(case), labels, hypothesis_template=ref["hypothesis_template"])
        logits = np.asarray(case[f"onnx_{dtype}"]["logits_per_image"], np.float64)
        probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        expected = sorted(({"label": l, "score": float(p)} for l, p in zip(labels, probs)), key=lambda d: -d["score"])
        assert_scores(ours, expected, atol=1e-5 if dtype == "fp32" else 1e-4)
        if dtype == "fp32":
            assert_scores(ours, case["torch"]["pipeline"], atol=1e-4)


@pytest.mark.parametrize("dtype", ["fp32", "q8"])
def test_zero_shot_siglip_uses_sigmoid_and_max_length(dtype):
    ref = reference("tiny-siglip")
    pipe = pipeline("zero-shot-image-classification", str(MODELS / "tiny-siglip"), dtype=dtype)
    labels = ref["candidate_labels"]
    texts = [ref["hypothesis_template"].replace("{}", x) for x in labels]
    enc = pipe.tokenizer(texts, padding="max_length", truncation=True)
    assert enc["input_ids"].tolist() == ref["encoding"]["input_ids"]  # padded to 64
    for case in ref["cases"]:
        ours = pipe(image_path(case), labels, hypothesis_template=ref["hypothesis_template"])
        logits = np.asarray(case[f"onnx_{dtype}"]["logits_per_image"], np.float64)
        probs = 1 / (1 + np.exp(-logits))
        expected = sorted(({"label": l, "score": float(p)} for l, p in zip(labels, probs)), key=lambda d: -d["score"])
        assert_scores(ours, expected, atol=1e-5 if dtype == "fp32" else 1e-4)
        if dtype == "fp32":
            assert_scores(ours, case["torch"]["pipeline"], atol=1e-4)
    assert sum(d["score"] for d in ours) != pytest.approx(1.0, abs=1e-2)  # independent sigmoids


def test_zero_shot_batch_template_and_errors():
    pipe = pipeline("zero-shot-image-classification", str(MODELS / "tiny-clip"))
    labels = ["a cat", "a dog"]
    paths = [str(IMAGES / "photo.jpg"), str(IMAGES / "tall.png")]
    batch = pipe(paths, labels)
    assert len(batch) == 2 and [len(r) for r in batch] == [2, 2]
    for got, path in zip(batch, paths):
        assert_scores(got, pipe(path, labels), atol=1e-5)
        assert got[0]["score"] >= got[1]["score"]
        assert sum(d["score"] for d in got) == pytest.approx(1.0)
    # the default template differs from an explicit one (it is really used)
    default = pipe(paths[0], labels)
    other = pipe(paths[0], labels, hypothesis_template="{} and more words here")
    assert [d["score"] for d in default] != pytest.approx([d["score"] for d in other], abs=1e-6)
    assert pipe(paths[0], "a cat")[0]["score"] == pytest.approx(1.0)  # a single label string
    for bad in (None, [], [1, 2]):
        with pytest.raises(InvalidInputError, match="candidate_labels"):
            pipe(paths[0], bad)


# ---------------------------------------------------------------------------------------------------
# object-detection


def js_detections(logits, boxes, threshold, size, id2label, percentage=False):
    """Transformers.js' rule written out independently: drop queries whose argmax is the last class, keep
    softmax >= threshold, corners scaled by (w, h), truncated toward zero."""
    out = []
    logits = np.asarray(logits, np.float64)
    for row, box in zip(logits, np.asarray(boxes, np.float64)):
        best = int(np.argmax(row))
        probs = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
        if best == len(row) - 1 or probs[best] < threshold:
            continue
        cx, cy, w, h = box
        corners = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
        if not percentage:
            height, width = size
            corners = [int(v * s) for v, s in zip(corners, (width, height, width, height))]
        out.append({"score": float(probs[best]), "label": id2label[str(best)], "box": dict(zip(("xmin", "ymin", "xmax", "ymax"), corners))})
    return out


def assert_detections(ours, expected, score_atol, box_atol):
    assert [d["label"] for d in ours] == [d["label"] for d in expected]
    np.testing.assert_allclose([d["score"] for d in ours], [d["score"] for d in expected], atol=score_atol)
    for a, b in zip(ours, expected):
        assert set(a["box"]) == {"xmin", "ymin", "xmax", "ymax"}
        np.testing.assert_allclose([a["box"][k] for k in b["box"]], list(b["box"].values()), atol=box_atol)


@pytest.mark.parametrize("dtype", ["fp32", "q8"])
def test_object_detection_matches_references(dtype):
    ref = reference("tiny-yolos")
    pipe = pipeline("object-detection", str(MODELS / "tiny-yolos"), dtype=dtype)
    assert isinstance(image_processor(pipe), YolosImageProcessor)
    for case in ref["cases"]:
        stored = case[f"onnx_{dtype}"]
        for threshold in (0.5, 0.7, 0.9):
            ours = pipe(image_path(case), threshold=threshold)
            expected = js_detections(stored["logits"], stored["pred_boxes"], threshold, case["image_size"], ref["id2label"])
            assert_detections(ours, expected, score_atol=1e-5 if dtype == "fp32" else 1e-4, box_atol=1)
            assert all(isinstance(v, int) for d in ours for v in d["box"].values())
            if dtype == "fp32":  # and the transformers pipeline agrees at thresholds >= 0.5
                assert_detections(ours, case["torch"]["pipeline"][str(threshold)], score_atol=1e-4, box_atol=1)


def test_object_detection_options_and_batches():
    ref = reference("tiny-yolos")
    pipe = pipeline("object-detection", str(MODELS / "tiny-yolos"))
    case = ref["cases"][0]
    path = image_path(case)
    assert pipe(path) == [d for d in pipe(path, threshold=0.9)]  # default threshold 0.9
    relative = pipe(path, threshold=0.5, percentage=True)
    expected = js_detections(case["onnx_fp32"]["logits"], case["onnx_fp32"]["pred_boxes"], 0.5, None, ref["id2label"],
                             percentage=True)
    assert_detections(relative, expected, score_atol=1e-5, box_atol=1e-5)
    assert all(isinstance(v, float) for d in relative for v in d["box"].values())
    paths = [image_path(c) for c in ref["cases"]]
    batch = pipe(paths, threshold=0.5)
    assert batch == [pipe(p, threshold=0.5) for p in paths]
    assert pipe(path, threshold=1.01) == []
    with pytest.raises(InvalidInputError, match="threshold"):
        pipe(path, threshold="high")


# ---------------------------------------------------------------------------------------------------
# depth-estimation


@pytest.mark.parametrize("dtype", ["fp32", "q8"])
def test_depth_estimation_matches_references(dtype):
    ref = reference("tiny-dpt")
    pipe = pipeline("depth-estimation", str(MODELS / "tiny-dpt"), dtype=dtype)
    for case in ref["cases"]:
        stored = case.get(f"onnx_{dtype}")
        if stored is None:
            continue
        out = pipe(image_path(case))
        assert set(out) == {"predicted_depth", "depth"}
        assert out["predicted_depth"].dtype == np.float32 and out["predicted_depth"].shape == (64, 64)
        np.testing.assert_allclose(out["predicted_depth"], stored["predicted_depth"], atol=1e-5 if dtype == "fp32" else 1e-4)
        depth = out["depth"]
        height, width = case["image_size"]
        assert isinstance(depth, RawImage) and (depth.width, depth.height, depth.channels) == (width, height, 1)
        if "depth" in stored:  # Transformers.js' recipe done with torch: pixels within ±1 (truncation)
            diff = np.abs(depth.data.astype(int) - np.asarray(stored["depth"]))
            assert diff.max() <= 1 and (diff > 0).mean() < 0.01


def test_depth_estimation_batch_shapes():
    pipe = pipeline("depth-estimation", str(MODELS / "tiny-dpt"))
    paths = [str(IMAGES / "odd.png"), str(IMAGES / "photo.jpg")]
    batch = pipe(paths)
    assert isinstance(batch, list) and len(batch) == 2
    assert batch[1]["depth"].size == (160, 120)
    np.testing.assert_allclose(batch[0]["predicted_depth"], pipe(paths[0])["predicted_depth"], atol=1e-5)
    assert batch[0]["depth"].to_numpy().max() == 255  # scaled by 255 / max


# ---------------------------------------------------------------------------------------------------
# factory


def test_factory_loads_the_processor_and_reports_missing_config(tmp_path):
    import shutil

    pipe = pipeline("image-classification", str(MODELS / "tiny-vit-classifier"))
    assert image_processor(pipe).size == {"height": 32, "width": 32} and pipe.tokenizer is None
    broken = tmp_path / "no-preprocessor"
    shutil.copytree(MODELS / "tiny-vit-classifier", broken)
    (broken / "preprocessor_config.json").unlink()
    from onnxformers import FileMissingError

    with pytest.raises(FileMissingError, match="preprocessor_config.json"):
        pipeline("image-classification", str(broken))


# ---------------------------------------------------------------------------------------------------
# image-segmentation (semantic)


def segmentation_map(entries, shape, id2label):
    label2id = {v: int(k) for k, v in id2label.items()}
    seg = np.full(shape, -1)
    for entry in entries:
        mask = entry["mask"]
        assert isinstance(mask, RawImage) and mask.channels == 1 and (mask.height, mask.width) == tuple(shape)
        assert set(np.unique(mask.to_numpy())) <= {0, 255}
        seg[mask.to_numpy()[:, :, 0] == 255] = label2id[entry["label"]]
    return seg


@pytest.mark.parametrize("dtype", ["fp32", "q8"])
def test_semantic_segmentation_matches_references(dtype):
    from onnxformers.processors.image import post_process_semantic_segmentation

    ref = reference("tiny-segformer")
    pipe = pipeline("image-segmentation", str(MODELS / "tiny-segformer"), dtype=dtype)
    for case in ref["cases"]:
        out = pipe(image_path(case))
        assert all(e["score"] is None for e in out)
        seg = segmentation_map(out, case["image_size"], ref["id2label"])
        assert (seg >= 0).all()  # every pixel has exactly one class
        if dtype == "fp32":  # the transformers pipeline (torch interpolation + argmax)
            assert [e["label"] for e in out] == case["torch"]["labels"]
            expected = np.asarray(case["torch"]["segmentation"]).reshape(case["image_size"])
            assert (seg != expected).mean() < 0.005
        stored = np.asarray(case[f"onnx_{dtype}"]["logits"], np.float32)[None]
        expected = post_process_semantic_segmentation({"logits": stored}, [case["image_size"]])[0]["segmentation"]
        assert (seg != expected).mean() < 0.005


def test_segmentation_options():
    pipe = pipeline("image-segmentation", str(MODELS / "tiny-segformer"))
    path = str(IMAGES / "odd.png")
    small = pipe(path, target_sizes=[[8, 8]])
    assert all(e["mask"].size == (8, 8) for e in small)
    assert pipe([path, path]) == [pipe(path)] * 2
    assert pipe(path, subtask="semantic") == pipe(path)
    with pytest.raises(InvalidInputError, match="does not support panoptic segmentation.*offers: semantic"):
        pipe(path, subtask="panoptic")
    with pytest.raises(InvalidInputError, match="Subtask"):
        pipe(path, subtask="nonsense")
    with pytest.raises(InvalidInputError, match="target_sizes"):
        pipe(path, target_sizes=[[8, 8], [9, 9]])


# ---------------------------------------------------------------------------------------------------
# image-to-image


def test_image_to_image_matches_transformers():
    ref = reference("tiny-swin2sr")
    pipe = pipeline("image-to-image", str(MODELS / "tiny-swin2sr"))
    for case in ref["cases"]:
        out = pipe(image_path(case))
        assert isinstance(out, RawImage) and out.channels == 3
        expected = np.asarray(case["torch"]["pixels"]).reshape(case["torch"]["shape"])
        assert out.to_numpy().shape == expected.shape  # x2 of the mirror-padded input
        diff = np.abs(out.to_numpy().astype(int) - expected)
        assert diff.max() <= 1 and (diff > 0).mean() < 0.01  # rounding at .5 may differ by one level
    batch = pipe([image_path(c) for c in ref["cases"]])
    assert [b.size for b in batch] == [(80, 48), (96, 64)]  # different sizes run separately
