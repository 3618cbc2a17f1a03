"""MaskFormer / Mask2Former post-processing (semantic, instance, panoptic) against transformers' torch
post-processing on hand-made outputs (tests/fixtures/references/maskformer-post-processing.json, built by
scripts/fixture_builders/vision_maskformer.py), including the CPU order of torch.topk(sorted=False) that
instance segmentation depends on and F.interpolate(mode="nearest") indices."""

from __future__ import annotations

import base64
import json
import math
import zlib

import numpy as np
import pytest

from onnxformers import InvalidInputError
from onnxformers.processors.image import (
    IMAGE_PROCESSORS,
    interpolate_nearest,
    post_process_maskformer_instance_segmentation,
    post_process_maskformer_semantic_segmentation,
)
from onnxformers.processors.image._torch_topk import topk_unsorted_indices
from vision_helpers import FIXTURES

SCORE_ATOL = 1e-4


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIXTURES / "references" / "maskformer-post-processing.json").read_text())


def unpack_map(packed: dict) -> np.ndarray:
    data = zlib.decompress(base64.b64decode(packed["int16_zlib_b64"]))
    return np.frombuffer(data, dtype="<i2").reshape(packed["shape"]).astype(np.int32)


def test_topk_order_is_torchs(ref):
    assert {len(c["values"]) >= 64 * c["k"] for c in ref["topk"]} == {True, False}  # both libstdc++ paths
    for case in ref["topk"]:
        values = np.asarray([math.nan if v is None else v for v in case["values"]], np.float32)
        assert topk_unsorted_indices(values, case["k"]) == case["indices"], (len(values), case["k"])


def test_topk_edge_cases():
    assert topk_unsorted_indices([1.0, 2.0], 0) == []
    assert sorted(topk_unsorted_indices([3.0, 1.0, 2.0], 3)) == [0, 1, 2]
    with pytest.raises(ValueError):
        topk_unsorted_indices([1.0], 2)


def test_nearest_interpolation_indices_are_torchs(ref):
    src = np.arange(35, dtype=np.float32).reshape(5, 7)
    for case in ref["nearest"]:
        got = interpolate_nearest(src, tuple(case["size"]))
        assert got.shape == tuple(case["size"])
        assert got.reshape(-1).astype(np.int64).tolist() == case["source_index"], case["size"]


def _outputs(ref):
    return {"class_queries_logits": np.asarray(ref["class_queries_logits"], np.float32),
            "masks_queries_logits": np.asarray(ref["masks_queries_logits"], np.float32)}


def _call(processor, subtask, outputs, options):
    options = dict(options)
    if "target_sizes" in options:
        options["target_sizes"] = [tuple(t) for t in options["target_sizes"]]
    return getattr(processor, f"post_process_{subtask}_segmentation")(outputs, **options)


def _check(got, expected, what):
    want_map = unpack_map(expected["map"])
    assert got["segmentation"].dtype == np.int32, what
    assert got["segmentation"].shape == want_map.shape, what
    assert np.array_equal(got["segmentation"], want_map), what
    if "segments_info" in expected:
        assert [(s["id"], s["label_id"], s["was_fused"]) for s in got["segments_info"]] == \
            [(s["id"], s["label_id"], s["was_fused"]) for s in expected["segments_info"]], what
        for g, e in zip(got["segments_info"], expected["segments_info"]):
            assert abs(g["score"] - e["score"]) <= SCORE_ATOL, what
    else:
        assert got["labels"] == sorted(np.unique(want_map).tolist()), what


def test_every_case_matches_torch(ref):
    outputs = _outputs(ref)
    subtasks = set()
    for case in ref["cases"]:
        processor = IMAGE_PROCESSORS[case["processor"]]()
        results = _call(processor, case["subtask"], outputs, case["options"])
        assert len(results) == len(case["results"])
        for i, (got, expected) in enumerate(zip(results, case["results"])):
            _check(got, expected, (case["processor"], case["subtask"], case["options"], i))
        subtasks.add((case["processor"], case["subtask"]))
    assert len(subtasks) == 6
    # the cases test something: several segments, empty results, Mask2Former's 384x384 maps
    counts = [len(r["segments_info"]) for c in ref["cases"] if c["subtask"] == "instance" for r in c["results"]]
    assert max(counts) >= 5 and min(counts) == 0


def test_many_classes_with_tied_queries(ref):
    case = ref["many_classes"]
    outputs = {"class_queries_logits": np.asarray(case["class_queries_logits"], np.float32)[None],
               "masks_queries_logits": np.asarray(case["masks_queries_logits"], np.float32)[None]}
    for call in case["results"]:
        got = _call(IMAGE_PROCESSORS[call["processor"]](), call["subtask"], outputs, call["options"])
        _check(got[0], call["results"][0], "many classes")


def test_functions_take_detr_names_and_check_shapes(ref):
    outputs = _outputs(ref)
    renamed = {"logits": outputs["class_queries_logits"], "pred_masks": outputs["masks_queries_logits"]}
    a = post_process_maskformer_instance_segmentation(outputs, 0.3)
    b = post_process_maskformer_instance_segmentation(renamed, 0.3)
    assert all(np.array_equal(x["segmentation"], y["segmentation"]) for x, y in zip(a, b))
    sem = post_process_maskformer_semantic_segmentation(outputs, [(6, 7), (8, 9)])
    assert [s["segmentation"].shape for s in sem] == [(6, 7), (8, 9)]
    with pytest.raises(InvalidInputError, match="target sizes"):
        post_process_maskformer_semantic_segmentation(outputs, [(6, 7)])
    with pytest.raises(InvalidInputError, match="masks_queries_logits"):
        post_process_maskformer_instance_segmentation({"class_queries_logits": outputs["class_queries_logits"]})
    with pytest.raises(InvalidInputError, match="expected"):
        post_process_maskformer_semantic_segmentation({"class_queries_logits": outputs["class_queries_logits"][0],
                                                       "masks_queries_logits": outputs["masks_queries_logits"]})


# ------------------------------------------------------------------------- tiny MaskFormer end to end

MASKFORMER = FIXTURES / "models" / "tiny-maskformer"


@pytest.fixture(scope="module")
def model_ref():
    return json.loads((MASKFORMER / "reference.json").read_text())


@pytest.fixture(scope="module")
def segmenter():
    import warnings

    from onnxformers import pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline("image-segmentation", str(MASKFORMER))


def _same_annotations(got, expected, what):
    assert [g["label"] for g in got] == [e["label"] for e in expected], what
    for g, e in zip(got, expected):
        if e["score"] is None:
            assert g["score"] is None, what
        else:
            assert abs(g["score"] - e["score"]) <= SCORE_ATOL, what
        mask = g["mask"].to_numpy()
        assert mask.shape[2] == 1, what
        assert np.flatnonzero(mask.reshape(-1) == 255).tolist() == e["mask"], (what, g["label"])


@pytest.mark.parametrize("subtask", ["semantic", "instance", "panoptic", "auto"])
def test_tiny_maskformer_pipeline_matches_transformers(model_ref, segmenter, subtask):
    from onnxformers.processors.image import MaskFormerImageProcessor

    assert isinstance(getattr(segmenter.processor, "image_processor", segmenter.processor), MaskFormerImageProcessor)
    options = model_ref["segmentation_options"]
    for case in model_ref["cases"]:
        kwargs = dict(options) if subtask == "auto" else dict(options, subtask=subtask)
        got = segmenter(str(FIXTURES / case["image"]), **kwargs)
        expected = case["torch"]["segmentation"][subtask]
        assert expected, (case["id"], subtask)  # the reference segments something
        _same_annotations(got, expected, (case["id"], subtask))


def test_tiny_maskformer_batch_equals_single_calls(model_ref, segmenter):
    paths = [str(FIXTURES / c["image"]) for c in model_ref["cases"]]
    batched = segmenter(paths, subtask="instance", **model_ref["segmentation_options"])
    for path, got in zip(paths, batched):
        single = segmenter(path, subtask="instance", **model_ref["segmentation_options"])
        assert [(a["label"], a["score"]) for a in got] == [(b["label"], b["score"]) for b in single]


def test_tiny_maskformer_q8_matches_transformers_on_the_same_graph(model_ref):
    import warnings

    from onnxformers import pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q8 = pipeline("image-segmentation", str(MASKFORMER), dtype="q8")
    options = model_ref["segmentation_options"]
    for case in model_ref["cases"]:
        for subtask, expected in case["onnx_q8"]["segmentation"].items():
            got = q8(str(FIXTURES / case["image"]), subtask=subtask, **options)
            _same_annotations(got, expected, (case["id"], subtask, "q8"))
