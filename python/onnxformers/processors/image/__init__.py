"""Image processors with pixel parity to ``transformers``' (numpy + Pillow) image processors.

``IMAGE_PROCESSORS`` maps the class names found in ``preprocessor_config.json``
(``image_processor_type``, or the legacy ``feature_extractor_type``) to classes;
:func:`image_processor_from_config` picks one the way Transformers.js' ``AutoProcessor`` does.
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, Mapping, Optional

from ...errors import InvalidConfigError, UnsupportedModelError
from .base import ImageProcessor, Options, PreprocessedImage, get_num_threads, set_num_threads
from .families import (
    BeitImageProcessor,
    BitImageProcessor,
    ChineseCLIPImageProcessor,
    CLIPImageProcessor,
    ConvNextImageProcessor,
    DeiTImageProcessor,
    DetrImageProcessor,
    DPTImageProcessor,
    EfficientNetImageProcessor,
    GLPNImageProcessor,
    ImageFeatureExtractor,
    MobileNetV1ImageProcessor,
    MobileNetV2ImageProcessor,
    MobileNetV3ImageProcessor,
    MobileNetV4ImageProcessor,
    MobileViTImageProcessor,
    OwlViTImageProcessor,
    PvtImageProcessor,
    SapiensImageProcessor,
    SegformerImageProcessor,
    SiglipImageProcessor,
    Swin2SRImageProcessor,
    ViTImageProcessor,
    YolosImageProcessor,
)
from .special import (
    DonutImageProcessor,
    Mask2FormerImageProcessor,
    MaskFormerImageProcessor,
    NougatImageProcessor,
    Owlv2ImageProcessor,
    RTDetrImageProcessor,
    SamImageProcessor,
    VitMatteImageProcessor,
)
from .post_processing import (
    center_to_corners_format,
    interpolate_bilinear,
    interpolate_nearest,
    compute_segments,
    post_process_instance_segmentation,
    post_process_maskformer_instance_segmentation,
    post_process_maskformer_semantic_segmentation,
    post_process_object_detection,
    post_process_panoptic_segmentation,
    post_process_semantic_segmentation,
)

_FAMILIES = {
    "ViT": ViTImageProcessor, "DeiT": DeiTImageProcessor, "Beit": BeitImageProcessor,
    "CLIP": CLIPImageProcessor, "ChineseCLIP": ChineseCLIPImageProcessor, "Bit": BitImageProcessor,
    "Siglip": SiglipImageProcessor, "ConvNext": ConvNextImageProcessor, "DPT": DPTImageProcessor,
    "GLPN": GLPNImageProcessor, "Segformer": SegformerImageProcessor, "MobileViT": MobileViTImageProcessor,
    "MobileNetV1": MobileNetV1ImageProcessor, "MobileNetV2": MobileNetV2ImageProcessor,
    "OwlViT": OwlViTImageProcessor, "Pvt": PvtImageProcessor, "Swin2SR": Swin2SRImageProcessor,
    "Detr": DetrImageProcessor, "Yolos": YolosImageProcessor, "Donut": DonutImageProcessor,
    "Nougat": NougatImageProcessor, "Sam": SamImageProcessor, "VitMatte": VitMatteImageProcessor,
    "RTDetr": RTDetrImageProcessor, "Owlv2": Owlv2ImageProcessor, "MaskFormer": MaskFormerImageProcessor,
    "Mask2Former": Mask2FormerImageProcessor, "Sapiens": SapiensImageProcessor,
    "EfficientNet": EfficientNetImageProcessor, "MobileNetV3": MobileNetV3ImageProcessor,
    "MobileNetV4": MobileNetV4ImageProcessor,
}

#: ``image_processor_type`` / ``feature_extractor_type`` → class (``XImageProcessor`` and the legacy
#: ``XFeatureExtractor`` name of every family, plus the generic classes)
IMAGE_PROCESSORS: Dict[str, type] = {"ImageProcessor": ImageFeatureExtractor,
                                     "ImageFeatureExtractor": ImageFeatureExtractor}
for _stem, _cls in _FAMILIES.items():
    IMAGE_PROCESSORS[f"{_stem}ImageProcessor"] = _cls
    IMAGE_PROCESSORS[f"{_stem}FeatureExtractor"] = _cls
del _stem, _cls
IMAGE_PROCESSORS["SigLipImageProcessor"] = SiglipImageProcessor  # spelling used by some exports
IMAGE_PROCESSORS["ConvNextV2ImageProcessor"] = ConvNextImageProcessor


def image_processor_class(config: Mapping[str, Any]) -> Optional[type]:
    """The class named by a ``preprocessor_config.json`` dict, or None when it names none we know.
    ``*Fast`` names (torchvision-backed processors in ``transformers``) map to the same family."""
    for key in ("image_processor_type", "feature_extractor_type"):
        name = config.get(key)
        if isinstance(name, str):
            if name.endswith("Fast"):
                name = name[:-4]
            if name in IMAGE_PROCESSORS:
                return IMAGE_PROCESSORS[name]
    return None


def image_processor_from_config(config: Mapping[str, Any], *, source: str = "preprocessor_config.json",
                                **kwargs: Any) -> ImageProcessor:
    """Build the image processor a ``preprocessor_config.json`` dict describes.

    An unknown class name with a ``size`` falls back to the generic :class:`ImageFeatureExtractor`
    (with a warning), as Transformers.js does; without ``size`` it is an error.
    """
    if not isinstance(config, Mapping):
        raise InvalidConfigError(f"{source} must hold a JSON object, got {type(config).__name__}")
    cls = image_processor_class(config)
    if cls is None:
        named = config.get("image_processor_type") or config.get("feature_extractor_type")
        if "size" in config or "image_size" in config:
            warnings.warn(
                f"Unknown image processor type {named!r} in {source}; using the generic "
                "ImageFeatureExtractor (set do_resize/size/do_normalize… in the config).", stacklevel=2)
            cls = ImageFeatureExtractor
        else:
            raise UnsupportedModelError(
                f"{source} names image processor {named!r}, which onnxformers does not support "
                f"(known: {', '.join(sorted(n for n in IMAGE_PROCESSORS if n.endswith('ImageProcessor')))})")
    return cls(config, **kwargs)


__all__ = [
    "IMAGE_PROCESSORS", "get_num_threads", "set_num_threads", "ImageProcessor", "ImageFeatureExtractor", "Options", "PreprocessedImage",
    "image_processor_class", "image_processor_from_config", "center_to_corners_format",
    "post_process_object_detection", "post_process_semantic_segmentation", "interpolate_bilinear",
    "interpolate_nearest", "post_process_maskformer_semantic_segmentation",
    "post_process_maskformer_instance_segmentation",
    "post_process_panoptic_segmentation", "post_process_instance_segmentation", "compute_segments", *sorted({c.__name__ for c in _FAMILIES.values()}),
]
