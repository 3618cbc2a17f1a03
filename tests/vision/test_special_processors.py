"""Donut, Nougat, SAM, VitMatte, RT-DETR and Owlv2 image processors: pixel parity with transformers' slow
image processors (numpy + Pillow, no torch), prompt rescaling against SamProcessor, and their own steps."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from onnxformers import InvalidInputError
from onnxformers.processors.image import (
    IMAGE_PROCESSORS,
    DonutImageProcessor,
    NougatImageProcessor,
    Owlv2ImageProcessor,
    RTDetrImageProcessor,
    SamImageProcessor,
    VitMatteImageProcessor,
    image_processor_from_config,
)
from onnxformers.processors.image.post_processing import interpolate_bilinear
from onnxformers.utils.image import RawImage
from vision_helpers import FIXTURES

transformers = pytest.importorskip("transformers")
from PIL import Image  # noqa: E402

ATOL = 1e-5


def _image(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x * y) % 256], -1)
    return np.clip(base + rng.integers(-40, 41, base.shape), 0, 255).astype(np.uint8)


def _document(height: int, width: int, box=(0.2, 0.15, 0.7, 0.8), seed: int = 1) -> np.ndarray:
    """White page with dark "text" inside ``box`` (fractions x0, y0, x1, y1): Nougat crops to it."""
    rng = np.random.default_rng(seed)
    page = np.full((height, width, 3), 250, np.uint8)
    x0, y0, x1, y1 = int(box[0] * width), int(box[1] * height), int(box[2] * width), int(box[3] * height)
    page[y0:y1, x0:x1] = rng.integers(0, 160, (y1 - y0, x1 - x0, 3))
    return page


def _ref(name: str, config: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(transformers, name)(**config)


def _call_ref(ref, pixels, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ref(Image.fromarray(pixels), return_tensors="np", input_data_format="channels_last", **kw)


def _diff(got: np.ndarray, expected: np.ndarray) -> float:
    assert got.dtype == np.float32
    assert got.shape == expected.shape, (got.shape, expected.shape)
    return float(np.max(np.abs(got - expected)))


DONUT_CONFIGS = [
    {"size": {"height": 64, "width": 48}},
    {"size": {"height": 48, "width": 64}, "do_align_long_axis": True},
    {"size": [40, 56], "do_thumbnail": False, "do_pad": False},  # legacy (width, height) list
    {"size": {"height": 64, "width": 48}, "do_resize": False, "resample": 3},
    {"size": {"height": 32, "width": 32}, "do_pad": False},
]
SHAPES = [(90, 70), (70, 90), (33, 47), (200, 31), (64, 48)]


@pytest.mark.parametrize("config", DONUT_CONFIGS, ids=range(len(DONUT_CONFIGS)))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_donut_parity(config, shape):
    pixels = _image(*shape)
    got = DonutImageProcessor(config)(RawImage.from_array(pixels))["pixel_values"]
    try:
        expected = _call_ref(_ref("DonutImageProcessor", config), pixels)["pixel_values"]
    except ValueError:
        # transformers' thumbnail can overshoot the target by a pixel (int() of the other side), then its
        # padding is negative and numpy refuses; we pad nothing on that side instead
        assert config.get("do_resize") is False
        return
    assert _diff(got, expected) <= ATOL


def test_donut_default_config_and_registry():
    pixels = _image(300, 200)
    expected = _call_ref(_ref("DonutImageProcessor", {}), pixels)["pixel_values"]
    ours = image_processor_from_config({"image_processor_type": "DonutImageProcessor"})
    assert isinstance(ours, DonutImageProcessor)
    assert _diff(ours(pixels)["pixel_values"], expected) <= ATOL
    assert IMAGE_PROCESSORS["DonutFeatureExtractor"] is DonutImageProcessor


@pytest.mark.parametrize("config", [
    {"size": {"height": 64, "width": 48}},
    {"size": {"height": 48, "width": 64}, "do_align_long_axis": True},
    {"size": {"height": 64, "width": 48}, "do_crop_margin": False},
])
@pytest.mark.parametrize("shape,box", [((120, 90), (0.2, 0.15, 0.7, 0.8)), ((80, 130), (0.05, 0.3, 0.9, 0.6)),
                                       ((61, 47), (0.0, 0.0, 1.0, 0.5))])
def test_nougat_parity_with_margins(config, shape, box):
    pixels = _document(*shape, box=box)
    expected = _call_ref(_ref("NougatImageProcessor", config), pixels)["pixel_values"]
    got = NougatImageProcessor(config)(RawImage.from_array(pixels))["pixel_values"]
    assert _diff(got, expected) <= ATOL


def test_nougat_crop_margin_and_uniform_page():
    proc = NougatImageProcessor({"size": {"height": 64, "width": 48}})
    page = _document(100, 80, box=(0.25, 0.1, 0.5, 0.9))
    cropped = proc.crop_margin(RawImage.from_array(page))
    assert cropped.size == (20, 80)  # the "text" block only
    blank = RawImage.from_array(np.full((30, 20, 3), 255, np.uint8))
    assert proc.crop_margin(blank).size == (20, 30)  # nothing to crop: unchanged
    expected = _call_ref(_ref("NougatImageProcessor", {"size": {"height": 64, "width": 48}}), np.full((30, 20, 3), 255, np.uint8))
    assert _diff(proc(blank)["pixel_values"], expected["pixel_values"]) <= ATOL


@pytest.mark.parametrize("config", [{}, {"size": {"longest_edge": 64}, "pad_size": {"height": 64, "width": 64}},
                                    {"size": {"longest_edge": 50}, "pad_size": {"height": 56, "width": 56}, "resample": 3},
                                    {"size": {"longest_edge": 64}, "do_pad": False}])
@pytest.mark.parametrize("shape", [(50, 70), (77, 33), (64, 64)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_sam_parity(config, shape):
    pixels = _image(*shape)
    expected = _call_ref(_ref("SamImageProcessor", config), pixels)
    got = SamImageProcessor(config)(RawImage.from_array(pixels))
    assert _diff(got["pixel_values"], expected["pixel_values"]) <= ATOL
    assert got["original_sizes"] == expected["original_sizes"].tolist()
    assert got["reshaped_input_sizes"] == expected["reshaped_input_sizes"].tolist()


def test_sam_points_and_boxes_match_sam_processor():
    config = {"size": {"longest_edge": 64}, "pad_size": {"height": 64, "width": 64}}
    ref = transformers.SamProcessor(_ref("SamImageProcessor", config))
    ours = SamImageProcessor(config)
    pixels = _image(50, 70)
    points = [[[10, 20], [33.5, 7]]]
    boxes = [[5, 6, 40, 45], [0, 0, 69, 49]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = ref(Image.fromarray(pixels), input_points=points, input_boxes=[boxes], return_tensors="np")
    got = ours(pixels, input_points=points, input_boxes=[boxes])
    assert got["input_points"].dtype == np.float32 and got["input_points"].shape == (1, 1, 2, 2)
    np.testing.assert_allclose(got["input_points"][0, 0], np.asarray(expected["input_points"]).reshape(-1, 2), rtol=1e-6)
    np.testing.assert_allclose(got["input_boxes"].reshape(-1, 4), np.asarray(expected["input_boxes"]).reshape(-1, 4), rtol=1e-6)
    assert got["input_labels"].dtype == np.int64 and got["input_labels"].shape == (1, 1, 2)
    assert (got["input_labels"] == 1).all()
    labels = ours(pixels, input_points=points, input_labels=[[1, 0]])["input_labels"]
    assert labels.tolist() == [[[1, 0]]]
    with pytest.raises(InvalidInputError, match="one label per point"):
        ours(pixels, input_points=points, input_labels=[[1, 0, 1]])
    with pytest.raises(InvalidInputError, match="2 coordinates"):
        ours(pixels, input_points=[[1, 2, 3]])
    with pytest.raises(InvalidInputError, match="needs input_points"):
        ours(pixels, input_labels=[1])


def test_sam_post_process_masks():
    proc = SamImageProcessor({"size": {"longest_edge": 64}, "pad_size": {"height": 64, "width": 64}})
    out = proc(_image(40, 64))
    assert out["reshaped_input_sizes"] == [[40, 64]]
    # low-res logits 16x16 over the padded 64x64 input: positive on the left half of the real image only
    low = np.full((1, 3, 16, 16), -5.0, np.float32)
    low[0, :, :10, :8] = 5.0
    masks = proc.post_process_masks(low, out["original_sizes"], out["reshaped_input_sizes"])
    assert len(masks) == 1 and masks[0].shape == (3, 40, 64) and masks[0].dtype == bool
    # the same steps by hand: upscale to the pad size, crop the real image, upscale to the original size
    by_hand = interpolate_bilinear(interpolate_bilinear(low[0], (64, 64))[..., :40, :64], (40, 64)) > 0
    assert np.array_equal(masks[0], by_hand)
    assert masks[0][0, :, :30].all() and not masks[0][0, :, 34:].any()
    raw = proc.post_process_masks(low, [[80, 128]], [[40, 64]], binarize=False)[0]
    assert raw.dtype == np.float32 and raw.shape == (3, 80, 128)
    with pytest.raises(InvalidInputError):
        proc.post_process_masks(low, [[40, 64], [40, 64]], [[40, 64]])


def test_sam_post_process_masks_matches_torch():
    # references/sam-post-process-masks.json: transformers' torch implementation (F.interpolate)
    ref = json.loads((FIXTURES / "references" / "sam-post-process-masks.json").read_text())
    proc = SamImageProcessor({"size": {"longest_edge": 64}, "pad_size": {"height": 64, "width": 64}})
    for case in ref["cases"]:
        low = np.asarray(case["low_res_masks"], np.float32)[None, None]  # one image, [1, masks, h, w] as in transformers
        raw = proc.post_process_masks(low, [case["original_size"]], [case["reshaped_input_size"]], binarize=False)[0]
        assert list(raw.shape) == case["shape"]
        np.testing.assert_allclose(raw.reshape(-1), np.asarray(case["masks"], np.float32), atol=1e-5)
        binary = proc.post_process_masks(low, [case["original_size"]], [case["reshaped_input_size"]], mask_threshold=0.5)[0]
        assert np.flatnonzero(binary.reshape(-1)).tolist() == case["binary_at_0.5"]


@pytest.mark.parametrize("config", [{}, {"size_divisor": 16}, {"do_pad": False}, {"image_mean": [0.1, 0.2, 0.3], "image_std": [0.9, 0.8, 0.7]}])
@pytest.mark.parametrize("shape", [(50, 70), (64, 32), (33, 97)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_vitmatte_parity(config, shape):
    pixels = _image(*shape)
    trimap = np.random.default_rng(3).choice(np.array([0, 128, 255], np.uint8), size=shape)
    expected = _call_ref(_ref("VitMatteImageProcessor", config), pixels, trimaps=Image.fromarray(trimap))["pixel_values"]
    got = VitMatteImageProcessor(config)(RawImage.from_array(pixels), RawImage.from_array(trimap))["pixel_values"]
    assert got.shape[1] == 4
    assert _diff(got, expected) <= ATOL


def test_vitmatte_errors():
    proc = VitMatteImageProcessor()
    with pytest.raises(InvalidInputError, match="needs trimaps"):
        proc(_image(8, 8))
    with pytest.raises(InvalidInputError, match="trimap is"):
        proc(_image(8, 8), np.zeros((9, 8), np.uint8))
    with pytest.raises(InvalidInputError, match="trimap"):
        proc([_image(8, 8), _image(8, 8)], [np.zeros((8, 8), np.uint8)])


@pytest.mark.parametrize("config", [{}, {"size": {"height": 64, "width": 48}}, {"size": {"height": 32, "width": 32}, "do_normalize": True}])
@pytest.mark.parametrize("shape", [(50, 70), (480, 640)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_rt_detr_parity(config, shape):
    pixels = _image(*shape)
    expected = _call_ref(_ref("RTDetrImageProcessor", config), pixels)
    got = RTDetrImageProcessor(config)(RawImage.from_array(pixels))
    assert _diff(got["pixel_values"], expected["pixel_values"]) <= ATOL
    assert "pixel_mask" not in got


def test_rt_detr_sigmoid_top_queries():
    proc = RTDetrImageProcessor()
    logits = np.full((1, 3, 2), -6.0, np.float32)
    logits[0, 0, 1] = 2.0   # query 0, class 1: 0.88
    logits[0, 2, 0] = 1.0   # query 2, class 0: 0.73
    logits[0, 2, 1] = 0.5   # query 2, class 1: 0.62 (a query may carry two classes)
    logits[0, 1, 0] = -0.1  # 0.475: under the threshold
    boxes = np.array([[[0.5, 0.5, 0.2, 0.4], [0.1, 0.1, 0.1, 0.1], [0.25, 0.75, 0.5, 0.5]]], np.float32)
    out = proc.post_process_object_detection({"logits": logits, "pred_boxes": boxes}, 0.5, [(100, 200)])[0]
    assert out["classes"] == [1, 0, 1]
    np.testing.assert_allclose(out["scores"], 1 / (1 + np.exp(-np.array([2.0, 1.0, 0.5]))), rtol=1e-6)
    np.testing.assert_allclose(out["boxes"][0], [80, 30, 120, 70], atol=1e-4)
    np.testing.assert_allclose(out["boxes"][1], [0, 50, 100, 100], atol=1e-4)
    # softmax mode (use_focal_loss=False) is DETR's rule: the last class is "no object"
    soft = proc.post_process_object_detection({"logits": logits, "pred_boxes": boxes}, 0.5, None, use_focal_loss=False)[0]
    assert soft["classes"] == [0, 0]  # query 0: best is the last class (dropped); queries 1 and 2: class 0


def test_owlv2_matches_transformers_scipy_resize():
    # references/owlv2-preprocessing.json: transformers' Owlv2ImageProcessor (scipy) on committed images,
    # downscaled and upscaled; ours is the same arithmetic in numpy
    ref = json.loads((FIXTURES / "references" / "owlv2-preprocessing.json").read_text())
    for case in ref["cases"]:
        got = Owlv2ImageProcessor(case["config"])(str(FIXTURES / case["image"]))["pixel_values"][0]
        expected = np.asarray(case["pixel_values"], np.float32).reshape(case["shape"])
        assert _diff(got, expected) <= ATOL, case["id"]


def test_owlv2_pads_to_a_square_and_scales_boxes_by_the_long_side():
    proc = Owlv2ImageProcessor({"size": {"height": 32, "width": 32}})
    pixels = _image(20, 40)
    out = proc(pixels)
    assert out["pixel_values"].shape == (1, 3, 32, 32)
    grey = (np.float32(0.5) - np.asarray(proc.image_mean, np.float32)) / np.asarray(proc.image_std, np.float32)
    # the bottom rows of the square are the 0.5 padding (away from the seam the blur and the interpolation mix)
    np.testing.assert_allclose(out["pixel_values"][0, :, 20:, :], np.broadcast_to(grey[:, None, None], (3, 12, 32)), atol=1e-5)
    logits = np.array([[[3.0], [-3.0]]], np.float32)
    boxes = np.array([[[0.5, 0.25, 0.5, 0.5], [0.1, 0.1, 0.1, 0.1]]], np.float32)
    det = proc.post_process_object_detection({"logits": logits, "pred_boxes": boxes}, 0.1, [(20, 40)])[0]
    np.testing.assert_allclose(det["boxes"][0], [10, 0, 30, 20], atol=1e-5)  # 40-pixel square
    assert image_processor_from_config({"image_processor_type": "Owlv2ImageProcessor"}).size == {"height": 960, "width": 960}


def test_unknown_family_option_is_rejected_but_family_options_are_accepted():
    proc = DonutImageProcessor({"size": {"height": 32, "width": 32}})
    assert proc(_image(40, 30), do_align_long_axis=True)["pixel_values"].shape == (1, 3, 32, 32)
    with pytest.raises(InvalidInputError, match="unknown option"):
        proc(_image(40, 30), do_crop_margins=True)


@pytest.mark.parametrize("name", ["MaskFormerImageProcessor", "Mask2FormerImageProcessor"])
@pytest.mark.parametrize("config", [{}, {"size": {"shortest_edge": 64, "longest_edge": 100}},
                                    {"size": {"shortest_edge": 48, "longest_edge": 70}, "size_divisor": 0},
                                    {"size": {"shortest_edge": 40, "longest_edge": 90}, "size_divisor": 16, "resample": 3}])
def test_maskformer_parity_with_batch_padding(name, config):
    images = [_image(50, 70, 1), _image(77, 33, 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = getattr(transformers, name)(**config)([Image.fromarray(i) for i in images], return_tensors="np")
    got = IMAGE_PROCESSORS[name](config)(images)
    assert _diff(got["pixel_values"], expected["pixel_values"]) <= ATOL
    assert got["pixel_mask"].dtype == np.int64 and np.array_equal(got["pixel_mask"], expected["pixel_mask"])


def test_mask2former_upsamples_masks_before_panoptic_post_processing():
    from onnxformers.processors.image import post_process_panoptic_segmentation

    rng = np.random.default_rng(5)
    logits = rng.normal(0, 3, (1, 4, 3)).astype(np.float32)
    logits[0, :, 0] += 4  # every query is confident in class 0
    masks = rng.normal(0, 2, (1, 4, 6, 8)).astype(np.float32)
    outputs = {"class_queries_logits": logits, "masks_queries_logits": masks}
    m2 = IMAGE_PROCESSORS["Mask2FormerImageProcessor"]().post_process_panoptic_segmentation(outputs, 0.5, 0.5, 0.8, None, [(20, 30)])
    up = interpolate_bilinear(masks, (384, 384))
    assert np.array_equal(m2[0]["segmentation"], post_process_panoptic_segmentation(
        {"logits": logits, "pred_masks": up}, target_sizes=[(20, 30)])[0]["segmentation"])
    m1 = IMAGE_PROCESSORS["MaskFormerImageProcessor"]().post_process_panoptic_segmentation(outputs, target_sizes=[(20, 30)])
    assert np.array_equal(m1[0]["segmentation"], post_process_panoptic_segmentation(
        {"logits": logits, "pred_masks": masks}, target_sizes=[(20, 30)])[0]["segmentation"])


def test_thread_count_setting_gives_the_same_pixels(monkeypatch):
    from onnxformers.processors.image import ViTImageProcessor, get_num_threads, set_num_threads

    images = [_image(40 + i, 50 - i, i) for i in range(5)]
    proc = ViTImageProcessor({"size": {"height": 16, "width": 16}})
    try:
        set_num_threads(1)
        assert get_num_threads() == 1
        one = proc(images)["pixel_values"]
        set_num_threads(2)
        assert np.array_equal(proc(images)["pixel_values"], one)
        set_num_threads(None)
        monkeypatch.setenv("ONNXFORMERS_IMAGE_THREADS", "3")
        assert get_num_threads() == 3
        with pytest.raises(InvalidInputError, match="num_threads"):
            set_num_threads(0)
    finally:
        set_num_threads(None)
