"""DETR object detection, panoptic/instance segmentation and OWL-ViT zero-shot object detection against the
references of tests/fixtures/models/tiny-detr-panoptic and tiny-owlvit (transformers pipelines and torch
post-processing, recorded by scripts/fixture_builders/vision.py)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from onnxformers import InvalidInputError, pipeline
from onnxformers.processors.image import (
    DetrImageProcessor,
    post_process_instance_segmentation,
    post_process_panoptic_segmentation,
)
from onnxformers.utils.image import RawImage
from vision_helpers import FIXTURES, MODELS

DETR = MODELS / "tiny-detr-panoptic"
OWL = MODELS / "tiny-owlvit"
SCORE_ATOL = 1e-4


def _ref(folder):
    return json.loads((folder / "reference.json").read_text())


@pytest.fixture(scope="module")
def detr_ref():
    return _ref(DETR)


@pytest.fixture(scope="module")
def owl_ref():
    return _ref(OWL)


@pytest.fixture(scope="module")
def detector():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline("object-detection", str(DETR))


@pytest.fixture(scope="module")
def segmenter():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline("image-segmentation", str(DETR))


@pytest.fixture(scope="module")
def owl():
    return pipeline("zero-shot-object-detection", str(OWL))


def _same_detections(got, expected):
    assert [d["label"] for d in got] == [d["label"] for d in expected]
    for g, e in zip(got, expected):
        assert abs(g["score"] - e["score"]) <= SCORE_ATOL
        assert all(abs(g["box"][k] - e["box"][k]) <= 1 for k in ("xmin", "ymin", "xmax", "ymax")), (g, e)
        assert all(isinstance(v, int) for v in g["box"].values())


# ------------------------------------------------------------------------------------------- DETR


def test_detr_object_detection_matches_transformers(detr_ref, detector):
    for case in detr_ref["cases"]:
        for threshold, expected in case["torch"]["detection"].items():
            got = detector(str(FIXTURES / case["image"]), threshold=float(threshold))
            _same_detections(got, expected)
    assert any(len(c["torch"]["detection"]["0.55"]) > 3 for c in detr_ref["cases"])  # the test selects something


def test_detr_detection_takes_pixel_mask_and_batches(detr_ref, detector):
    paths = [str(FIXTURES / c["image"]) for c in detr_ref["cases"]]
    batched = detector(paths, threshold=0.55)
    assert batched == [detector(p, threshold=0.55) for p in paths]
    # equal shapes run as one ONNX batch of 2 (pixel_mask [2, h, w]): same answers as one by one
    assert detector([paths[0], paths[0]], threshold=0.55) == [batched[0], batched[0]]
    relative = detector(paths[0], threshold=0.55, percentage=True)
    height, width = detr_ref["cases"][0]["image_size"]
    for rel, absolute in zip(relative, batched[0]):
        assert abs(rel["box"]["xmax"] * width - absolute["box"]["xmax"]) <= 1
        assert abs(rel["box"]["ymax"] * height - absolute["box"]["ymax"]) <= 1
    processor = DetrImageProcessor(json.loads((DETR / "preprocessor_config.json").read_text()))
    enc = processor([RawImage.read(p) for p in paths[:2]])
    assert enc["pixel_mask"].dtype == np.int64 and enc["pixel_mask"].shape == enc["pixel_values"].shape[:1] + enc["pixel_values"].shape[2:]


@pytest.mark.parametrize("subtask", ["panoptic", "instance"])
def test_detr_segmentation_pipeline_matches_transformers(detr_ref, segmenter, subtask):
    options = detr_ref["segmentation_options"]
    for case in detr_ref["cases"]:
        got = segmenter(str(FIXTURES / case["image"]), subtask=subtask, **options)
        expected = case["torch"]["segmentation"][subtask]
        assert [d["label"] for d in got] == [d["label"] for d in expected]
        height, width = case["image_size"]
        for g, e in zip(got, expected):
            assert abs(g["score"] - e["score"]) <= SCORE_ATOL
            assert isinstance(g["mask"], RawImage) and g["mask"].channels == 1 and g["mask"].size == (width, height)
            assert np.flatnonzero(np.asarray(g["mask"]).reshape(-1) == 255).tolist() == e["mask"]


def test_segmentation_subtask_auto_is_panoptic_and_target_sizes(detr_ref, segmenter):
    case = detr_ref["cases"][0]
    path = str(FIXTURES / case["image"])
    options = detr_ref["segmentation_options"]
    assert [d["label"] for d in segmenter(path, **options)] == [d["label"] for d in segmenter(path, subtask="panoptic", **options)]
    resized = segmenter(path, target_sizes=[[10, 14]], **options)
    assert all(d["mask"].size == (14, 10) for d in resized)
    with pytest.raises(InvalidInputError, match="semantic"):
        segmenter(path, subtask="semantic")
    with pytest.raises(InvalidInputError, match="not supported"):
        segmenter(path, subtask="bogus")
    with pytest.raises(InvalidInputError, match="target_sizes"):
        segmenter(path, target_sizes=[[1, 2], [3, 4]])
    with pytest.raises(InvalidInputError, match="threshold"):
        segmenter(path, threshold="high")
    # nothing above the threshold: no segments
    assert segmenter(path, threshold=0.999) == []


def _onnx_outputs(segmenter, path):
    processor = segmenter.processor
    processor = getattr(processor, "image_processor", None) or processor
    enc = processor(RawImage.read(path))
    return segmenter.model(**enc)


def test_panoptic_post_processing_of_model_outputs_matches_torch(detr_ref, segmenter):
    fuse = detr_ref["label_ids_to_fuse"]
    options = detr_ref["segmentation_options"]
    for case in detr_ref["cases"]:
        outputs = _onnx_outputs(segmenter, FIXTURES / case["image"])
        fused = post_process_panoptic_segmentation(outputs, label_ids_to_fuse=fuse, target_sizes=[case["image_size"]], **options)[0]
        _same_segments(fused, case["torch"]["panoptic_fused"])
        low = post_process_panoptic_segmentation(outputs, threshold=0.3, mask_threshold=0.4, overlap_mask_area_threshold=0.5)[0]
        _same_segments(low, case["torch"]["panoptic_low_no_target"])


def _same_segments(got, expected):
    assert list(got["segmentation"].shape) == expected["shape"]
    assert got["segmentation"].dtype == np.int32
    assert got["segmentation"].reshape(-1).tolist() == expected["segmentation"]
    assert [(s["id"], s["label_id"]) for s in got["segments_info"]] == \
        [(s["id"], s["label_id"]) for s in expected["segments_info"]]
    for g, e in zip(got["segments_info"], expected["segments_info"]):
        assert abs(g["score"] - e["score"]) <= SCORE_ATOL


def test_synthetic_panoptic_and_instance_cases_match_torch(detr_ref):
    synthetic = detr_ref["synthetic"]
    outputs = {"logits": np.asarray(synthetic["logits"], np.float32),
               "pred_masks": np.asarray(synthetic["pred_masks"], np.float32)}
    assert len({len(c["segments_info"]) for c in synthetic["cases"]}) > 2  # fused, several, none
    for case in synthetic["cases"]:
        options = dict(case["options"])
        if case["subtask"] == "panoptic":
            got = post_process_panoptic_segmentation(outputs, **options)[0]
        else:
            got = post_process_instance_segmentation(outputs, **options)[0]
        _same_segments(got, case)
    # MaskFormer's output names are accepted too
    renamed = {"class_queries_logits": outputs["logits"], "masks_queries_logits": outputs["pred_masks"]}
    first = synthetic["cases"][0]
    _same_segments(post_process_panoptic_segmentation(renamed, **first["options"])[0], first)


def test_panoptic_empty_result_and_bad_outputs():
    logits = np.zeros((1, 3, 4), np.float32)
    logits[0, :, -1] = 5.0  # every query says "no object"
    masks = np.zeros((1, 3, 4, 5), np.float32)
    out = post_process_panoptic_segmentation({"logits": logits, "pred_masks": masks}, target_sizes=[(6, 7)])[0]
    assert out["segments_info"] == [] and out["segmentation"].shape == (6, 7) and (out["segmentation"] == -1).all()
    out = post_process_panoptic_segmentation({"logits": logits, "pred_masks": masks})[0]
    assert out["segmentation"].shape == (4, 5)
    with pytest.raises(InvalidInputError, match="pred_masks"):
        post_process_panoptic_segmentation({"logits": logits})
    with pytest.raises(InvalidInputError, match="expected logits"):
        post_process_panoptic_segmentation({"logits": logits[0], "pred_masks": masks})
    with pytest.raises(InvalidInputError, match="target sizes"):
        post_process_panoptic_segmentation({"logits": logits, "pred_masks": masks}, target_sizes=[(1, 1), (2, 2)])


# --------------------------------------------------------------------------------------- OWL-ViT


def test_owlvit_zero_shot_detection_matches_transformers(owl_ref, owl):
    labels = owl_ref["candidate_labels"]
    for case in owl_ref["cases"]:
        for key, expected in case["torch"]["pipeline"].items():
            threshold, top_k = key.split("/")
            got = owl(str(FIXTURES / case["image"]), labels, threshold=float(threshold),
                      top_k=None if top_k == "None" else int(top_k))
            _same_detections(got, expected)
    assert any(len(next(iter(c["torch"]["pipeline"].values()))) > 5 for c in owl_ref["cases"])


def test_owlvit_tokenization_batches_and_options(owl_ref, owl):
    labels = owl_ref["candidate_labels"]
    high = float(list(owl_ref["cases"][0]["torch"]["pipeline"])[-1].split("/")[0])
    enc = owl.tokenizer(labels, padding=True, truncation=True)
    assert np.asarray(enc["input_ids"]).tolist() == owl_ref["encoding"]["input_ids"]
    paths = [str(FIXTURES / c["image"]) for c in owl_ref["cases"][:3]]
    assert owl(paths, labels, threshold=high) == [owl(p, labels, threshold=high) for p in paths]
    case = owl_ref["cases"][0]
    height, width = case["image_size"]
    absolute = owl(paths[0], labels, threshold=high)
    relative = owl(paths[0], labels, threshold=high, percentage=True)
    assert [d["label"] for d in relative] == [d["label"] for d in absolute]
    for rel, ab in zip(relative, absolute):
        assert isinstance(rel["box"]["xmin"], float)
        assert abs(rel["box"]["xmin"] * width - ab["box"]["xmin"]) <= 1
        assert abs(rel["box"]["ymax"] * height - ab["box"]["ymax"]) <= 1
    one = owl(paths[0], labels[1], threshold=0.5)  # a single label as a string
    assert {d["label"] for d in one} <= {labels[1]}
    scores = [d["score"] for d in owl(paths[0], labels, threshold=0.0)]
    assert scores == sorted(scores, reverse=True) and len(scores) == 16 * len(labels)
    with pytest.raises(InvalidInputError, match="candidate_labels"):
        owl(paths[0], [])
    with pytest.raises(InvalidInputError, match="top_k"):
        owl(paths[0], labels, top_k=0)
    with pytest.raises(InvalidInputError, match="threshold"):
        owl(paths[0], labels, threshold=None)
