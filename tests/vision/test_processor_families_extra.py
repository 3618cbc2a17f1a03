"""Sapiens, PVT, EfficientNet and MobileNetV3/V4: pixel parity with transformers (Sapiens has no
transformers class: Transformers.js 3.0.0's SapiensFeatureExtractor is the generic processor with
Segformer's post-processing, so SegformerImageProcessor is its oracle); and a table-driven check that
every image processor name of Transformers.js 3.0.0 / transformers is picked by AutoImageProcessor /
AutoProcessor from a preprocessor_config.json."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from onnxformers.processors import auto
from onnxformers.processors.image import IMAGE_PROCESSORS, ImageFeatureExtractor
from onnxformers.utils.image import RawImage

transformers = pytest.importorskip("transformers")
from PIL import Image  # noqa: E402

ATOL = 1e-5
SHAPES = [(333, 517), (517, 333), (23, 37), (224, 224), (1, 640)]


def _image(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x * y) % 256], -1)
    return np.clip(base + rng.integers(-40, 41, base.shape), 0, 255).astype(np.uint8)


def _max_diff(ours_name: str, ref, config: dict, pixels: np.ndarray, **call) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = ref(Image.fromarray(pixels), return_tensors="np", input_data_format="channels_last", **call)
    got = IMAGE_PROCESSORS[ours_name](config)(RawImage.from_array(pixels), **call)
    assert got["pixel_values"].dtype == np.float32
    assert got["pixel_values"].shape == expected["pixel_values"].shape
    return float(np.max(np.abs(got["pixel_values"] - expected["pixel_values"])))


# Sapiens-style configs (size {height, width}, bilinear, ImageNet statistics), small sizes to keep the test
# fast, plus other filters and statistics and the legacy key
SAPIENS_CONFIGS = [
    {"image_processor_type": "SapiensFeatureExtractor", "do_resize": True, "size": {"height": 64, "width": 48},
     "resample": 2, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
     "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]},
    {"feature_extractor_type": "SapiensFeatureExtractor", "do_resize": True, "size": {"height": 40, "width": 72},
     "resample": 3, "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
    {"do_resize": True, "size": {"height": 33, "width": 31}, "resample": 0, "do_normalize": False},
]


@pytest.mark.parametrize("config", SAPIENS_CONFIGS, ids=lambda c: f"{c['size']['height']}x{c['size']['width']}")
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sapiens_equals_segformer(config, shape):
    ref_config = {k: v for k, v in config.items() if not k.endswith("_type")}
    ref = transformers.SegformerImageProcessor(**ref_config)
    assert _max_diff("SapiensFeatureExtractor", ref, config, _image(*shape, seed=shape[1])) <= ATOL


def test_sapiens_is_generic_with_semantic_post_processing():
    cls = IMAGE_PROCESSORS["SapiensFeatureExtractor"]
    assert cls is IMAGE_PROCESSORS["SapiensImageProcessor"] and issubclass(cls, ImageFeatureExtractor)
    proc = cls(SAPIENS_CONFIGS[0])
    logits = np.random.default_rng(3).normal(size=(1, 5, 8, 6)).astype(np.float32)
    segformer = IMAGE_PROCESSORS["SegformerImageProcessor"]()
    got = proc.post_process_semantic_segmentation({"logits": logits}, [(20, 15)])[0]
    want = segformer.post_process_semantic_segmentation({"logits": logits}, [(20, 15)])[0]
    assert np.array_equal(got["segmentation"], want["segmentation"]) and got["labels"] == want["labels"]
    # no panoptic/instance: the image-segmentation pipeline's auto subtask is semantic
    assert not callable(getattr(proc, "post_process_panoptic_segmentation", None))


PVT_CONFIGS = [
    None,  # transformers' defaults
    # Hub-style config, every key spelled out (as PVT exports have)
    {"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.485, 0.456, 0.406],
     "image_processor_type": "PvtImageProcessor", "image_std": [0.229, 0.224, 0.225], "resample": 2,
     "rescale_factor": 0.00392156862745098, "size": {"height": 224, "width": 224}},
    {"size": {"height": 50, "width": 70}, "resample": 3, "image_mean": [0.5, 0.4, 0.3], "image_std": [0.2, 0.3, 0.4]},
    {"size": 48, "resample": 1, "do_normalize": False},
]


@pytest.mark.parametrize("config", PVT_CONFIGS, ids=range(len(PVT_CONFIGS)))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pvt_parity(config, shape):
    ref = transformers.PvtImageProcessor() if config is None else transformers.PvtImageProcessor.from_dict(
        {k: v for k, v in config.items() if k != "image_processor_type"})
    ours = ref.to_dict() if config is None else config
    assert _max_diff("PvtImageProcessor", ref, ours, _image(*shape, seed=shape[0])) <= ATOL


EFFICIENTNET_CONFIGS = [
    None,
    # Hub-style config (every key spelled out; include_top off, odd std)
    {"crop_size": {"height": 289, "width": 289}, "do_center_crop": False, "do_normalize": True, "do_rescale": True,
     "do_resize": True, "image_mean": [0.485, 0.456, 0.406], "image_processor_type": "EfficientNetImageProcessor",
     "image_std": [0.47853944, 0.4732864, 0.47434163], "include_top": False, "resample": 0,
     "rescale_factor": 0.00392156862745098, "rescale_offset": False, "size": {"height": 224, "width": 224}},
    {"size": {"height": 60, "width": 40}, "resample": 2, "rescale_offset": True, "include_top": True,
     "image_mean": [0.1, 0.2, 0.3], "image_std": [0.4, 0.5, 0.6]},
    {"size": {"height": 64, "width": 64}, "do_center_crop": True, "crop_size": {"height": 48, "width": 40},
     "include_top": True, "do_normalize": False},
]


@pytest.mark.parametrize("config", EFFICIENTNET_CONFIGS, ids=range(len(EFFICIENTNET_CONFIGS)))
@pytest.mark.parametrize("shape", SHAPES[:4], ids=lambda s: f"{s[0]}x{s[1]}")
def test_efficientnet_parity(config, shape):
    ref = transformers.EfficientNetImageProcessor() if config is None else \
        transformers.EfficientNetImageProcessor.from_dict({k: v for k, v in config.items() if k != "image_processor_type"})
    ours = ref.to_dict() if config is None else config
    assert _max_diff("EfficientNetImageProcessor", ref, ours, _image(*shape, seed=shape[1])) <= ATOL


def test_efficientnet_call_overrides():
    ref = transformers.EfficientNetImageProcessor(size={"height": 32, "width": 32})
    pixels = _image(50, 41)
    for kwargs in ({"include_top": False}, {"rescale_offset": True}, {"do_normalize": False, "include_top": True}):
        assert _max_diff("EfficientNetImageProcessor", ref, ref.to_dict(), pixels, **kwargs) <= ATOL, kwargs


def test_mobilenet_v3_v4_are_the_generic_processor():
    # timm exports: Transformers.js reads them with its generic ImageFeatureExtractor rules
    config = {"do_resize": True, "size": {"shortest_edge": 40}, "do_center_crop": True,
              "crop_size": {"height": 32, "width": 32}, "do_normalize": True, "image_mean": [0.485, 0.456, 0.406],
              "image_std": [0.229, 0.224, 0.225], "resample": 3}
    pixels = _image(70, 90)
    generic = ImageFeatureExtractor(config)(pixels)["pixel_values"]
    for name in ("MobileNetV3FeatureExtractor", "MobileNetV4FeatureExtractor"):
        cls = IMAGE_PROCESSORS[name]
        assert issubclass(cls, ImageFeatureExtractor)
        assert np.array_equal(cls(config)(pixels)["pixel_values"], generic)


# ------------------------------------------------------------------------------------- registry table

# every image processor name of Transformers.js 3.0.0's AutoProcessor (inventory §4.2), plus the
# transformers-side twin name of each family: name → the family it must resolve to
REGISTRY_TABLE = {
    "ImageFeatureExtractor": "ImageFeatureExtractor",
    "ViTFeatureExtractor": "ViTImageProcessor", "ViTImageProcessor": "ViTImageProcessor",
    "DeiTFeatureExtractor": "DeiTImageProcessor", "DeiTImageProcessor": "DeiTImageProcessor",
    "BeitFeatureExtractor": "BeitImageProcessor", "BeitImageProcessor": "BeitImageProcessor",
    "CLIPFeatureExtractor": "CLIPImageProcessor", "CLIPImageProcessor": "CLIPImageProcessor",
    "ChineseCLIPFeatureExtractor": "ChineseCLIPImageProcessor", "ChineseCLIPImageProcessor": "ChineseCLIPImageProcessor",
    "SiglipImageProcessor": "SiglipImageProcessor",
    "ConvNextFeatureExtractor": "ConvNextImageProcessor", "ConvNextImageProcessor": "ConvNextImageProcessor",
    "DPTFeatureExtractor": "DPTImageProcessor", "DPTImageProcessor": "DPTImageProcessor",
    "GLPNFeatureExtractor": "GLPNImageProcessor", "GLPNImageProcessor": "GLPNImageProcessor",
    "SegformerFeatureExtractor": "SegformerImageProcessor", "SegformerImageProcessor": "SegformerImageProcessor",
    "SapiensFeatureExtractor": "SapiensImageProcessor", "SapiensImageProcessor": "SapiensImageProcessor",
    "PvtImageProcessor": "PvtImageProcessor",
    "MobileViTFeatureExtractor": "MobileViTImageProcessor", "MobileViTImageProcessor": "MobileViTImageProcessor",
    "MobileNetV1FeatureExtractor": "MobileNetV1ImageProcessor", "MobileNetV1ImageProcessor": "MobileNetV1ImageProcessor",
    "MobileNetV2FeatureExtractor": "MobileNetV2ImageProcessor", "MobileNetV2ImageProcessor": "MobileNetV2ImageProcessor",
    "MobileNetV3FeatureExtractor": "MobileNetV3ImageProcessor", "MobileNetV4FeatureExtractor": "MobileNetV4ImageProcessor",
    "EfficientNetImageProcessor": "EfficientNetImageProcessor",
    "BitImageProcessor": "BitImageProcessor",
    "DetrFeatureExtractor": "DetrImageProcessor", "DetrImageProcessor": "DetrImageProcessor",
    "RTDetrImageProcessor": "RTDetrImageProcessor",
    "YolosFeatureExtractor": "YolosImageProcessor", "YolosImageProcessor": "YolosImageProcessor",
    "OwlViTFeatureExtractor": "OwlViTImageProcessor", "OwlViTImageProcessor": "OwlViTImageProcessor",
    "Owlv2ImageProcessor": "Owlv2ImageProcessor",
    "DonutFeatureExtractor": "DonutImageProcessor", "DonutImageProcessor": "DonutImageProcessor",
    "NougatImageProcessor": "NougatImageProcessor",
    "Swin2SRImageProcessor": "Swin2SRImageProcessor",
    "VitMatteImageProcessor": "VitMatteImageProcessor",
    "SamImageProcessor": "SamImageProcessor",
    "MaskFormerFeatureExtractor": "MaskFormerImageProcessor", "MaskFormerImageProcessor": "MaskFormerImageProcessor",
    "Mask2FormerImageProcessor": "Mask2FormerImageProcessor",
    "ViTImageProcessorFast": "ViTImageProcessor", "DetrImageProcessorFast": "DetrImageProcessor",
}


def test_registry_table_names_real_classes():
    for name, family in REGISTRY_TABLE.items():
        assert IMAGE_PROCESSORS[family].__name__ == family, family
        if not name.endswith("Fast"):
            assert name in IMAGE_PROCESSORS, name
    # every transformers family with an *ImageProcessor class has its twin under the other name
    for family in {f for f in REGISTRY_TABLE.values() if f != "ImageFeatureExtractor"}:
        twin = family.replace("ImageProcessor", "FeatureExtractor")
        assert IMAGE_PROCESSORS[twin] is IMAGE_PROCESSORS[family], twin


@pytest.mark.parametrize("name", sorted(REGISTRY_TABLE))
@pytest.mark.parametrize("key", ["image_processor_type", "feature_extractor_type"])
def test_auto_image_processor_picks_the_family(tmp_path, name, key):
    config = {key: name, "size": {"height": 32, "width": 32}, "do_normalize": True,
              "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(config))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a known name never falls back to the generic class
        proc = auto.AutoImageProcessor.from_pretrained(str(tmp_path))
        processor = auto.AutoProcessor.from_pretrained(str(tmp_path))
    family = IMAGE_PROCESSORS[REGISTRY_TABLE[name]]
    assert type(proc) is family and type(processor.image_processor) is family
    assert proc.config[key] == name
