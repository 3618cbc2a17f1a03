"""Image processors: pixel parity with transformers' slow (numpy + Pillow) image processors, for every
family, several configs and awkward image sizes; the registry; option handling and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from onnxformers import InvalidConfigError, InvalidInputError, UnsupportedModelError
from onnxformers.processors.image import (
    IMAGE_PROCESSORS,
    DetrImageProcessor,
    ImageFeatureExtractor,
    ViTImageProcessor,
    image_processor_class,
    image_processor_from_config,
)
from onnxformers.utils.image import RawImage
from vision_helpers import IMAGES

transformers = pytest.importorskip("transformers")
from PIL import Image  # noqa: E402

ATOL = 1e-5  # the bar; the implementation is exact (0.0) wherever the filter is the same

FAMILIES = [
    "ViTImageProcessor", "DeiTImageProcessor", "BeitImageProcessor", "CLIPImageProcessor", "SiglipImageProcessor",
    "ConvNextImageProcessor", "DPTImageProcessor", "GLPNImageProcessor", "SegformerImageProcessor",
    "MobileViTImageProcessor", "DetrImageProcessor", "YolosImageProcessor", "OwlViTImageProcessor",
    "Swin2SRImageProcessor", "BitImageProcessor", "MobileNetV1ImageProcessor", "MobileNetV2ImageProcessor",
    "PvtImageProcessor",
]


def _image(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x * y) % 256], -1)
    return np.clip(base + rng.integers(-40, 41, base.shape), 0, 255).astype(np.uint8)


SHAPES = [(333, 517), (517, 333), (23, 37), (224, 224), (1, 640), (800, 3)]


def reference(name: str, config: dict | None = None):
    cls = getattr(transformers, name)
    return cls.from_dict(dict(config)) if config is not None else cls()


def compare(name: str, config: dict | None, pixels: np.ndarray, **call) -> float:
    ref = reference(name, config)
    ours = IMAGE_PROCESSORS[name](ref.to_dict() if config is None else config)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # channels_last: transformers guesses the layout of tiny images (1 x 640 x 3) wrongly otherwise
            expected = ref(Image.fromarray(pixels), return_tensors="np", input_data_format="channels_last", **call)
    except ValueError:
        # transformers cannot process it (a side resized to 0 pixels): neither can we, with a clear error
        with pytest.raises(InvalidInputError, match="too small"):
            ours(RawImage.from_array(pixels), **call)
        return 0.0
    got = ours(RawImage.from_array(pixels), **call)
    assert got["pixel_values"].dtype == np.float32
    assert got["pixel_values"].shape == expected["pixel_values"].shape, (name, pixels.shape)
    if "pixel_mask" in expected:
        assert np.array_equal(got["pixel_mask"], expected["pixel_mask"])
    return float(np.max(np.abs(got["pixel_values"] - expected["pixel_values"])))


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_default_config_parity(name, shape):
    if name == "GLPNImageProcessor" and min(shape) < 32:
        pytest.skip("transformers' GLPN resizes a side under 32 pixels to 0 and fails")
    assert compare(name, None, _image(*shape)) <= ATOL


CONFIGS = [
    # (family, config in the shape Hub repos have, including legacy ones)
    ("ViTImageProcessor", {"feature_extractor_type": "ViTFeatureExtractor", "do_resize": True, "size": 64, "resample": 2,
                           "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}),
    ("ViTImageProcessor", {"size": {"height": 50, "width": 31}, "resample": 0, "do_normalize": False}),
    ("ViTImageProcessor", {"size": {"height": 40, "width": 40}, "resample": 1, "rescale_factor": 0.5, "image_mean": 0.2,
                           "image_std": 0.3}),
    ("ViTImageProcessor", {"size": {"height": 40, "width": 40}, "resample": 4, "do_rescale": False}),
    ("ViTImageProcessor", {"size": {"height": 40, "width": 40}, "resample": 5}),
    ("CLIPImageProcessor", {"size": 224, "crop_size": 224, "do_center_crop": True, "resample": 3}),
    ("CLIPImageProcessor", {"size": {"shortest_edge": 97}, "crop_size": {"height": 120, "width": 60}}),
    ("CLIPImageProcessor", {"size": {"height": 80, "width": 90}, "crop_size": {"height": 64, "width": 64}}),
    ("DeiTImageProcessor", {"size": {"height": 30, "width": 30}, "crop_size": {"height": 40, "width": 20}}),
    ("ConvNextImageProcessor", {"size": 224, "crop_pct": 0.875, "resample": 3}),
    ("ConvNextImageProcessor", {"size": {"shortest_edge": 384}}),
    ("ConvNextImageProcessor", {"size": {"shortest_edge": 100}, "crop_pct": 0.95}),
    ("DPTImageProcessor", {"size": {"height": 384, "width": 384}, "keep_aspect_ratio": True, "ensure_multiple_of": 32}),
    ("DPTImageProcessor", {"size": {"height": 96, "width": 160}, "keep_aspect_ratio": False, "ensure_multiple_of": 14}),
    ("DPTImageProcessor", {"size": {"height": 64, "width": 64}, "keep_aspect_ratio": True, "ensure_multiple_of": 1,
                           "do_pad": True, "size_divisor": 24}),
    ("GLPNImageProcessor", {"size_divisor": 16, "resample": 3}),
    ("MobileViTImageProcessor", {"size": {"shortest_edge": 288}, "crop_size": {"height": 256, "width": 256}}),
    ("MobileViTImageProcessor", {"size": 64, "crop_size": 32, "do_flip_channel_order": False}),
    ("DetrImageProcessor", {"size": 200, "max_size": 300}),
    ("DetrImageProcessor", {"size": {"shortest_edge": 100, "longest_edge": 150}, "do_normalize": True}),
    ("DetrImageProcessor", {"size": {"max_height": 90, "max_width": 70}}),
    ("DetrImageProcessor", {"size": {"height": 64, "width": 48}, "do_pad": False}),
    ("DetrImageProcessor", {"size": {"shortest_edge": 64, "longest_edge": 96}, "pad_size": {"height": 100, "width": 100}}),
    ("YolosImageProcessor", {"size": {"shortest_edge": 120, "longest_edge": 200}}),
    ("YolosImageProcessor", {"size": {"height": 32, "width": 48}}),
    ("Swin2SRImageProcessor", {"do_pad": True, "pad_size": 8}),
    ("Swin2SRImageProcessor", {"do_pad": True, "size_divisor": 16, "rescale_factor": 0.004}),
    ("Swin2SRImageProcessor", {"do_pad": False}),
    ("OwlViTImageProcessor", {"size": {"height": 96, "width": 96}, "do_center_crop": True, "crop_size": 64}),
    ("SiglipImageProcessor", {"size": {"height": 48, "width": 64}, "resample": 2}),
    ("SegformerImageProcessor", {"size": {"height": 64, "width": 64}, "do_reduce_labels": True}),
]


@pytest.mark.parametrize("name,config", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
@pytest.mark.parametrize("shape", [(333, 517), (57, 200), (301, 43), (17, 17)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_config_parity(name, config, shape):
    if name == "GLPNImageProcessor" and min(shape) < config.get("size_divisor", 32):
        pytest.skip("transformers' GLPN fails when a side rounds down to 0")
    assert compare(name, config, _image(*shape, seed=shape[0])) <= ATOL


def test_committed_images_parity():
    """Decoded files (JPEG, EXIF-rotated, palette, RGBA, gray) through CLIP: RawImage.read + do_convert_rgb must
    give what transformers' load_image (open + exif_transpose + convert('RGB')) gives."""
    from transformers.image_utils import load_image

    ref = transformers.CLIPImageProcessor(size={"shortest_edge": 48}, crop_size={"height": 40, "width": 40})
    ours = IMAGE_PROCESSORS["CLIPImageProcessor"](ref.to_dict())
    for name in ("photo.jpg", "odd.png", "tall.png", "rgba.png", "gray.png", "la.png", "palette.png", "cmyk.jpg",
                 "exif_rotate6.jpg"):
        path = str(IMAGES / name)
        expected = ref(load_image(path), return_tensors="np")["pixel_values"]
        got = ours(path)
        assert np.max(np.abs(got["pixel_values"] - expected)) <= ATOL, name
        image = RawImage.read(path)
        assert got["original_sizes"] == [[image.height, image.width]]
        assert got["reshaped_input_sizes"] == [[40, 40]]


def test_batched_detr_pads_and_masks_like_transformers():
    ref = transformers.DetrImageProcessor(size={"shortest_edge": 64, "longest_edge": 100})
    ours = DetrImageProcessor(ref.to_dict())
    arrays = [_image(50, 120, 1), _image(90, 60, 2), _image(64, 64, 3)]
    expected = ref([Image.fromarray(a) for a in arrays], return_tensors="np")
    got = ours([RawImage.from_array(a) for a in arrays])
    assert got["pixel_values"].shape == expected["pixel_values"].shape
    assert np.max(np.abs(got["pixel_values"] - expected["pixel_values"])) <= ATOL
    assert got["pixel_mask"].dtype == np.int64 and np.array_equal(got["pixel_mask"], expected["pixel_mask"])
    assert got["original_sizes"] == [[50, 120], [90, 60], [64, 64]]
    assert got["reshaped_input_sizes"] == [[42, 100], [96, 64], [64, 64]]  # round(41.67)


def test_batched_yolos_pads_without_mask():
    ref = transformers.YolosImageProcessor(size={"shortest_edge": 64, "longest_edge": 100})
    ours = IMAGE_PROCESSORS["YolosImageProcessor"](ref.to_dict())
    arrays = [_image(50, 120, 4), _image(90, 60, 5)]
    expected = ref([Image.fromarray(a) for a in arrays], return_tensors="np")
    got = ours([RawImage.from_array(a) for a in arrays])
    assert "pixel_mask" not in got
    assert np.max(np.abs(got["pixel_values"] - expected["pixel_values"])) <= ATOL


def test_call_overrides_match_transformers_kwargs():
    ref = transformers.ViTImageProcessor(size={"height": 32, "width": 32})
    ours = ViTImageProcessor(ref.to_dict())
    pixels = _image(70, 50)
    for kwargs in ({"do_normalize": False}, {"do_rescale": False}, {"size": {"height": 20, "width": 10}},
                   {"resample": 0}, {"image_mean": [0.1, 0.2, 0.3], "image_std": [1.0, 2.0, 3.0]},
                   {"do_resize": False}, {"rescale_factor": 1 / 127.5}):
        expected = ref(Image.fromarray(pixels), return_tensors="np", **kwargs)["pixel_values"]
        got = ours(pixels, **kwargs)["pixel_values"]
        assert got.shape == expected.shape and np.max(np.abs(got - expected)) <= ATOL, kwargs
    # overrides do not stick
    assert ours(pixels)["pixel_values"].shape == (1, 3, 32, 32)
    with pytest.raises(InvalidInputError, match="unknown option"):
        ours(pixels, do_magic=True)


def test_hypothesis_sizes_and_configs():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=60, deadline=None, derandomize=True)
    @hypothesis.given(
        height=st.integers(1, 160), width=st.integers(1, 160),
        case=st.sampled_from(["clip", "detr", "yolos", "dpt", "convnext", "mobilevit", "vit", "swin2sr"]),
        edge=st.integers(8, 96), resample=st.sampled_from([0, 1, 2, 3, 4, 5]),
    )
    def check(height, width, case, edge, resample):
        name, config = {
            "clip": ("CLIPImageProcessor", {"size": {"shortest_edge": edge}, "crop_size": {"height": 24, "width": 20},
                                            "resample": resample}),
            "detr": ("DetrImageProcessor", {"size": {"shortest_edge": edge, "longest_edge": edge + 37}, "resample": resample}),
            "yolos": ("YolosImageProcessor", {"size": {"shortest_edge": edge + 16, "longest_edge": edge + 60}}),
            "dpt": ("DPTImageProcessor", {"size": {"height": edge, "width": edge + 5}, "keep_aspect_ratio": True,
                                          "ensure_multiple_of": 8, "resample": resample}),
            "convnext": ("ConvNextImageProcessor", {"size": {"shortest_edge": edge}, "crop_pct": 0.9, "resample": resample}),
            "mobilevit": ("MobileViTImageProcessor", {"size": {"shortest_edge": edge}, "crop_size": {"height": 30, "width": 30}}),
            "vit": ("ViTImageProcessor", {"size": {"height": edge, "width": 97 - edge}, "resample": resample}),
            "swin2sr": ("Swin2SRImageProcessor", {"size_divisor": max(edge // 8, 1)}),
        }[case]
        assert compare(name, config, _image(height, width, seed=height * 1000 + width)) <= ATOL

    check()


# ---------------------------------------------------------------------------------------------------
# registry, options, errors


def test_registry_covers_every_family_and_legacy_names():
    for name in FAMILIES:
        assert name in IMAGE_PROCESSORS
        legacy = name.replace("ImageProcessor", "FeatureExtractor")
        assert IMAGE_PROCESSORS[legacy] is IMAGE_PROCESSORS[name]
    assert image_processor_class({"image_processor_type": "ViTImageProcessorFast"}) is ViTImageProcessor
    assert image_processor_class({"feature_extractor_type": "ViTFeatureExtractor"}) is ViTImageProcessor
    assert image_processor_class({"image_processor_type": "Nope"}) is None
    with pytest.warns(UserWarning, match="generic"):
        generic = image_processor_from_config({"image_processor_type": "FancyImageProcessor", "size": 32})
    assert isinstance(generic, ImageFeatureExtractor)
    with pytest.raises(UnsupportedModelError, match="FancyImageProcessor"):
        image_processor_from_config({"image_processor_type": "FancyImageProcessor"})
    with pytest.raises(InvalidConfigError):
        image_processor_from_config(["not", "a", "dict"])


def test_generic_extractor_follows_transformers_js_defaults():
    # a bare int is a shortest edge capped by max_size, with Transformers.js' rounding: 10x40 → x2 = 20x80
    # → x0.375 = 7.5x30 → floor → 7x30 (DETR's rounding would give 8x30)
    fe = ImageFeatureExtractor({"size": 20, "max_size": 30, "do_normalize": False})
    out = fe(_image(10, 40))
    assert out["pixel_values"].shape == (1, 3, 7, 30)
    assert out["reshaped_input_sizes"] == [[7, 30]]
    # longest_edge alone scales the long side to it (up as well as down), as Transformers.js does
    assert ImageFeatureExtractor({"size": {"longest_edge": 50}})(_image(10, 40))["pixel_values"].shape == (1, 3, 12, 50)
    assert ImageFeatureExtractor({"size": {"shortest_edge": 15}})(_image(10, 41))["pixel_values"].shape == (1, 3, 15, 61)
    padded = ImageFeatureExtractor({"size": {"height": 8, "width": 8}, "do_pad": True, "pad_size": {"height": 10, "width": 12}})
    pv = padded(_image(30, 30))["pixel_values"]
    assert pv.shape == (1, 3, 10, 12) and not pv[0, :, 8:].any() and not pv[0, :, :, 8:].any()
    assert ImageFeatureExtractor({"mean": [0.5] * 3, "std": [0.5] * 3, "do_normalize": True}).image_mean == (0.5, 0.5, 0.5)
    divisible = ImageFeatureExtractor({"size_divisibility": 16, "do_resize": True})
    assert divisible(_image(40, 70))["pixel_values"].shape == (1, 3, 32, 64)


def test_options_are_readable_and_validated():
    vit = ViTImageProcessor({"size": 48})
    assert vit.size == {"height": 48, "width": 48} and vit.resample == 2 and vit.do_normalize
    assert vit.to_dict()["image_processor_type"] == "ViTImageProcessor"
    for bad in ({"size": {"depth": 3}}, {"size": "big"}, {"resample": "sinc"}, {"image_std": [0, 1, 1]},
                {"size": {"height": 0, "width": 4}}, {"do_normalize": True, "image_mean": None, "image_std": None,
                                                     "size": 4, "image_processor_type": "ImageProcessor"}):
        cls = ImageFeatureExtractor if "image_processor_type" in bad else ViTImageProcessor
        with pytest.raises(InvalidConfigError):
            cls(bad)
    with pytest.raises(InvalidInputError, match="image_mean"):
        ViTImageProcessor({"size": 4, "image_mean": [0.5, 0.5]})(_image(8, 8))


def test_gray_input_without_rgb_conversion_and_flip_order():
    gray = RawImage.from_array(_image(20, 20)[:, :, 0])
    vit = ViTImageProcessor({"size": 8, "do_convert_rgb": False, "image_mean": [0.5], "image_std": [0.5]})
    assert vit(gray)["pixel_values"].shape == (1, 1, 8, 8)
    with pytest.raises(InvalidInputError, match="RGB"):
        ViTImageProcessor({"size": 8, "do_convert_rgb": False, "do_flip_channel_order": True,
                           "image_mean": [0.5], "image_std": [0.5]})(gray)
    rgb = _image(20, 20)
    plain = ViTImageProcessor({"size": 8})(rgb)["pixel_values"]
    flipped = ViTImageProcessor({"size": 8, "do_flip_channel_order": True})(rgb)["pixel_values"]
    assert np.array_equal(flipped, plain[:, ::-1])


def test_inputs_are_not_modified_and_batches_must_stack():
    image = RawImage.read(IMAGES / "rgba.png")
    before = image.to_numpy()
    ViTImageProcessor({"size": 16})(image)
    assert image.channels == 4 and np.array_equal(image.to_numpy(), before)
    dpt = IMAGE_PROCESSORS["DPTImageProcessor"]({"size": {"height": 32, "width": 32}, "keep_aspect_ratio": True,
                                                 "ensure_multiple_of": 8})
    with pytest.raises(InvalidInputError, match="different shapes"):
        dpt([_image(30, 90), _image(90, 30)])
    with pytest.raises(InvalidInputError, match="empty"):
        dpt([])
    batch = ViTImageProcessor({"size": 16})([_image(10, 20), str(IMAGES / "photo.jpg"), np.stack([_image(5, 5)] * 1)[0]])
    assert batch["pixel_values"].shape == (3, 3, 16, 16)
    assert batch["original_sizes"] == [[10, 20], [120, 160], [5, 5]]
