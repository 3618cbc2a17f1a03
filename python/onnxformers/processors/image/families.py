"""Image processor families: each class is the shared :class:`ImageProcessor` with the defaults of the
``transformers`` class of the same name, plus the one step where that family differs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Tuple

import numpy as np

from ...errors import InvalidConfigError, InvalidInputError
from ...utils.image import RawImage, center_crop_array
from .base import (
    IMAGENET_DEFAULT_MEAN,
    IMAGENET_DEFAULT_STD,
    IMAGENET_STANDARD_MEAN,
    IMAGENET_STANDARD_STD,
    OPENAI_CLIP_MEAN,
    OPENAI_CLIP_STD,
    ImageProcessor,
    Options,
    PreprocessedImage,
    _per_channel,
    _resize,
    enforce_size_divisibility,
    js_edge_size,
    shortest_edge_size,
    size_with_aspect_ratio,
)
from .post_processing import (
    post_process_instance_segmentation,
    post_process_object_detection,
    post_process_panoptic_segmentation,
    post_process_semantic_segmentation,
)

_BASE = {"do_resize": True, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True}


class SemanticSegmentationMixin:
    """Families whose models predict a class per pixel (``logits`` [batch, classes, h, w])."""

    def post_process_semantic_segmentation(self, outputs: Mapping[str, Any],
                                           target_sizes: Optional[List[Tuple[int, int]]] = None) -> List[dict]:
        return post_process_semantic_segmentation(outputs, target_sizes)


class ImageFeatureExtractor(ImageProcessor):
    """The generic processor (Transformers.js' base class): everything comes from the config; a bare
    integer ``size`` is a shortest edge (capped by ``max_size``); ``do_pad`` without ``pad_size`` pads
    to ``size``."""

    def _infer_pad_size_from_size(self) -> bool:
        return True

    def get_resize_output_image_size(self, image: RawImage, size: Optional[Mapping[str, int]] = None,
                                     options: Optional[Options] = None) -> Tuple[int, int]:
        opts = options or self.options
        size = opts.size if size is None else size
        if size and ("shortest_edge" in size or "longest_edge" in size) and "height" not in size:
            # Transformers.js' arithmetic for these (no Python class to follow for the generic case)
            width, height = js_edge_size(image.size, size.get("shortest_edge"), size.get("longest_edge"))
            if opts.size_divisibility:
                width, height = enforce_size_divisibility((width, height), opts.size_divisibility)
            return width, height
        return super().get_resize_output_image_size(image, size, opts)


class ViTImageProcessor(ImageProcessor):
    """Resize to ``{height, width}`` (bilinear), rescale, normalize (mean = std = 0.5)."""

    default_to_square = True
    defaults = dict(_BASE, size={"height": 224, "width": 224}, resample=2,
                    image_mean=IMAGENET_STANDARD_MEAN, image_std=IMAGENET_STANDARD_STD)


class DeiTImageProcessor(ImageProcessor):
    """Resize to 256² (bicubic), centre crop 224², rescale, normalize."""

    default_to_square = True
    defaults = dict(_BASE, size={"height": 256, "width": 256}, resample=3, do_center_crop=True,
                    crop_size={"height": 224, "width": 224},
                    image_mean=IMAGENET_STANDARD_MEAN, image_std=IMAGENET_STANDARD_STD)


class BeitImageProcessor(SemanticSegmentationMixin, DeiTImageProcessor):
    """Same pipeline as DeiT (``do_reduce_labels`` only concerns segmentation maps)."""


class SegformerImageProcessor(SemanticSegmentationMixin, ImageProcessor):
    default_to_square = True
    defaults = dict(_BASE, size={"height": 512, "width": 512}, resample=2,
                    image_mean=IMAGENET_DEFAULT_MEAN, image_std=IMAGENET_DEFAULT_STD)


class SapiensImageProcessor(SemanticSegmentationMixin, ImageFeatureExtractor):
    """Transformers.js 3.0.0's ``SapiensFeatureExtractor``: the generic processor (every option from the
    config, Hub exports give ``size {height, width}``, bilinear, ImageNet statistics) with Segformer's
    semantic-segmentation post-processing. ``transformers`` has no Sapiens processor; with a
    ``{height, width}`` size it computes what ``SegformerImageProcessor`` computes."""


class PvtImageProcessor(ImageProcessor):
    """``transformers``' defaults: 224² (bilinear), ImageNet statistics. (Transformers.js 3.0.0's class is
    the generic processor; the two agree on every Hub config, which spells all of these out.)"""

    default_to_square = True
    defaults = dict(_BASE, size={"height": 224, "width": 224}, resample=2,
                    image_mean=IMAGENET_DEFAULT_MEAN, image_std=IMAGENET_DEFAULT_STD)


class EfficientNetImageProcessor(ImageProcessor):
    """Resize to ``{height, width}`` (nearest by default), optional centre crop, rescale (minus 1 with
    ``rescale_offset``), normalize, and with ``include_top`` (default) divide by ``image_std`` once more
    (``transformers`` normalizes twice; Transformers.js squares the std, which is the same up to rounding)."""

    default_to_square = True
    extra_options: ClassVar[Tuple[str, ...]] = ("include_top", "rescale_offset")
    defaults = dict(_BASE, size={"height": 346, "width": 346}, resample=0, do_center_crop=False,
                    crop_size={"height": 289, "width": 289}, rescale_offset=False, include_top=True,
                    image_mean=IMAGENET_STANDARD_MEAN, image_std=IMAGENET_STANDARD_STD)

    def _flag(self, opts: Options, name: str) -> bool:
        return bool(opts.extra.get(name, self.defaults[name]))

    def _table(self, opts: Options, channels: int) -> np.ndarray:
        offset, top = self._flag(opts, "rescale_offset"), self._flag(opts, "include_top")
        key = ("efficientnet", offset, top, opts.do_rescale, opts.rescale_factor, opts.do_normalize,
               opts.image_mean, opts.image_std, channels)
        table = self._tables.get(key)
        if table is None:
            # transformers' steps, each rounded to float32 as it rounds them
            values = np.arange(256, dtype=np.float64)
            if opts.do_rescale:
                values = (values * opts.rescale_factor).astype(np.float32)
                if offset:
                    values = values - np.float32(1)
            table = np.repeat(values.astype(np.float32)[None, :], channels, axis=0)
            std = _per_channel(opts.image_std, channels, "image_std") if opts.image_std is not None else None
            if opts.do_normalize:
                mean = _per_channel(opts.image_mean, channels, "image_mean")
                table = (table - mean[:, None]) / std[:, None]
            if top:
                if std is None:
                    raise InvalidConfigError(f"{type(self).__name__}: include_top needs image_std")
                table = (table - np.float32(0)) / std[:, None]
            table = np.ascontiguousarray(table, dtype=np.float32)
            self._tables[key] = table
        return table


class MobileNetV3ImageProcessor(ImageFeatureExtractor):
    """Transformers.js' ``MobileNetV3FeatureExtractor``: the generic processor (``transformers`` has no
    MobileNetV3 class; the Hub exports come from timm and spell every option out)."""


class MobileNetV4ImageProcessor(ImageFeatureExtractor):
    """Transformers.js' ``MobileNetV4FeatureExtractor``: the generic processor, as for MobileNetV3."""


class SiglipImageProcessor(ImageProcessor):
    """Resize to ``{height, width}`` (bicubic), rescale, normalize (0.5)."""

    default_to_square = True
    defaults = dict(_BASE, size={"height": 224, "width": 224}, resample=3,
                    image_mean=IMAGENET_STANDARD_MEAN, image_std=IMAGENET_STANDARD_STD)


class CLIPImageProcessor(ImageProcessor):
    """Resize the shortest edge (bicubic), centre crop, rescale, normalize (OpenAI CLIP statistics)."""

    default_to_square = False
    defaults = dict(_BASE, size={"shortest_edge": 224}, resample=3, do_center_crop=True,
                    crop_size={"height": 224, "width": 224}, image_mean=OPENAI_CLIP_MEAN,
                    image_std=OPENAI_CLIP_STD, do_convert_rgb=True)


class ChineseCLIPImageProcessor(CLIPImageProcessor):
    pass


class BitImageProcessor(CLIPImageProcessor):
    pass


class MobileNetV1ImageProcessor(ImageProcessor):
    """Resize the shortest edge to 256, centre crop 224², rescale, normalize (0.5)."""

    default_to_square = False
    defaults = dict(_BASE, size={"shortest_edge": 256}, resample=2, do_center_crop=True,
                    crop_size={"height": 224, "width": 224},
                    image_mean=IMAGENET_STANDARD_MEAN, image_std=IMAGENET_STANDARD_STD)


class MobileNetV2ImageProcessor(SemanticSegmentationMixin, MobileNetV1ImageProcessor):
    pass


class MobileViTImageProcessor(SemanticSegmentationMixin, ImageProcessor):
    """Resize the shortest edge, centre crop, rescale (no normalization), then RGB → BGR."""

    default_to_square = False
    defaults = dict(do_resize=True, size={"shortest_edge": 224}, resample=2, do_rescale=True,
                    rescale_factor=1 / 255, do_center_crop=True, crop_size={"height": 256, "width": 256},
                    do_flip_channel_order=True)


class OwlViTImageProcessor(ImageProcessor):
    """Resize to ``{height, width}`` (bicubic), optional centre crop, rescale, normalize (CLIP)."""

    default_to_square = True
    defaults = dict(_BASE, size={"height": 768, "width": 768}, resample=3, do_center_crop=False,
                    crop_size={"height": 768, "width": 768}, image_mean=OPENAI_CLIP_MEAN,
                    image_std=OPENAI_CLIP_STD)

    def post_process_object_detection(self, outputs: Mapping[str, Any], threshold: float = 0.1,
                                      target_sizes: Optional[List[Tuple[int, int]]] = None) -> List[dict]:
        return post_process_object_detection(outputs, threshold, target_sizes, is_zero_shot=True)


class ConvNextImageProcessor(ImageProcessor):
    """Below a 384 shortest edge: resize the shortest edge to ``shortest_edge / crop_pct`` and centre
    crop a ``shortest_edge`` square; from 384: resize straight to the square (no crop)."""

    default_to_square = False
    defaults = dict(_BASE, size={"shortest_edge": 384}, resample=2, crop_pct=224 / 256,
                    image_mean=IMAGENET_STANDARD_MEAN, image_std=IMAGENET_STANDARD_STD)

    def resize(self, image: RawImage, options: Optional[Options] = None) -> RawImage:
        opts = options or self.options
        if not opts.size or "shortest_edge" not in opts.size:
            raise InvalidConfigError(f"{type(self).__name__}: size must contain 'shortest_edge', got {opts.size!r}")
        edge = int(opts.size["shortest_edge"])
        if edge < 384:
            crop_pct = opts.crop_pct if opts.crop_pct is not None else 224 / 256
            height, width = shortest_edge_size((image.height, image.width), int(edge / crop_pct))
            resized = _resize(image, width, height, opts.resample)
            return RawImage._wrap(center_crop_array(resized._array(), edge, edge))
        return _resize(image, edge, edge, opts.resample)


class DPTImageProcessor(SemanticSegmentationMixin, ImageProcessor):
    """Resize to ``{height, width}``, or, with ``keep_aspect_ratio``, by the scale closest to 1 and to
    multiples of ``ensure_multiple_of``; rescale, normalize; ``do_pad`` pads around the image up to a
    multiple of ``size_divisor``."""

    default_to_square = True
    defaults = dict(_BASE, size={"height": 384, "width": 384}, resample=3, keep_aspect_ratio=False,
                    ensure_multiple_of=1, do_pad=False,
                    image_mean=IMAGENET_STANDARD_MEAN, image_std=IMAGENET_STANDARD_STD)

    def pad(self, pixel_values: np.ndarray, opts: Options) -> np.ndarray:
        d = opts.size_divisibility
        if not d:
            return pixel_values
        _, h, w = pixel_values.shape
        return self.pad_image(pixel_values, {"height": -(-h // d) * d, "width": -(-w // d) * d}, center=True)


class GLPNImageProcessor(ImageProcessor):
    """Resize down to multiples of ``size_divisor`` (32) and rescale by 1/255 (no normalization)."""

    defaults = dict(do_resize=True, size_divisor=32, resample=2, do_rescale=True)

    def _resolve(self, overrides: Mapping[str, Any]) -> Options:
        opts = super()._resolve(overrides)
        # transformers' GLPN ignores `size` and always rescales by exactly 1/255
        return replace(opts, size=None, rescale_factor=1 / 255, do_normalize=False,
                       size_divisibility=opts.size_divisibility or 32)


class Swin2SRImageProcessor(ImageProcessor):
    """Rescale, then pad the bottom/right by mirroring up to the next multiple of ``pad_size``
    (``size_divisor``) strictly above the size, as ``transformers`` does (always at least one pixel)."""

    defaults = dict(do_resize=False, do_rescale=True, rescale_factor=1 / 255, do_pad=True, size_divisor=8)

    def _resolve(self, overrides: Mapping[str, Any]) -> Options:
        opts = super()._resolve(overrides)
        divisor = opts.size_divisibility
        pad_size = opts.pad_size
        if pad_size is not None:  # the deprecated name of size_divisor (an int in Hub configs)
            divisor = int(pad_size["height"])
        return replace(opts, pad_size=None, size_divisibility=divisor or 8, do_resize=False)

    def pad(self, pixel_values: np.ndarray, opts: Options) -> np.ndarray:
        d = opts.size_divisibility
        _, h, w = pixel_values.shape
        return self.pad_image(pixel_values, {"height": (h // d + 1) * d, "width": (w // d + 1) * d},
                              mode="symmetric")


class DetrImageProcessor(ImageProcessor):
    """Resize the shortest edge to 800 with the longest at most 1333 (DETR's rounding), rescale,
    normalize; a batch is padded at the bottom/right to its largest image (or ``pad_size``) and comes
    with ``pixel_mask`` (1 on real pixels, int64). Single images get an all-ones mask."""

    model_input_names = ("pixel_values", "pixel_mask")
    default_to_square = False
    defaults = dict(_BASE, size={"shortest_edge": 800, "longest_edge": 1333}, resample=2, do_pad=True,
                    image_mean=IMAGENET_DEFAULT_MEAN, image_std=IMAGENET_DEFAULT_STD)
    return_pixel_mask = True
    mod_size: Optional[int] = None

    def _raw(self, overrides: Mapping[str, Any]) -> Dict[str, Any]:
        raw = super()._raw(overrides)
        # transformers: an int `size` without `max_size` gets a 1333 longest edge
        if isinstance(raw.get("size"), (int, float)) and raw.get("max_size") is None:
            raw["max_size"] = 1333
        return raw

    def get_resize_output_image_size(self, image: RawImage, size: Optional[Mapping[str, int]] = None,
                                     options: Optional[Options] = None) -> Tuple[int, int]:
        opts = options or self.options
        size = opts.size if size is None else size
        if size and "shortest_edge" in size and "longest_edge" in size:
            h, w = size_with_aspect_ratio((image.height, image.width), int(size["shortest_edge"]),
                                          int(size["longest_edge"]), mod_size=self.mod_size)
            return w, h
        return super().get_resize_output_image_size(image, size, opts)

    def pad(self, pixel_values: np.ndarray, opts: Options) -> np.ndarray:
        return pixel_values  # batch-level, in collate()

    def _pad_target(self, sizes: List[Tuple[int, int]], opts: Options) -> Tuple[int, int]:
        """(height, width) every image of the batch is padded to (``pad_size`` or the largest sides)."""
        if opts.pad_size is not None:
            target = (int(opts.pad_size["height"]), int(opts.pad_size["width"]))
        else:
            target = (max(s[0] for s in sizes), max(s[1] for s in sizes))
        for h, w in sizes:
            if h > target[0] or w > target[1]:
                raise InvalidInputError(
                    f"{type(self).__name__}: cannot pad a {w}x{h} image to the smaller size {target[1]}x{target[0]}")
        return target

    # the batched call (base class): padding and pixel_mask are written by the workers, in place
    def _fused_batch_ok(self, opts: Options) -> bool:
        cls = type(self)
        return (cls.preprocess is ImageProcessor.preprocess and cls.to_float is ImageProcessor.to_float
                and cls.collate is DetrImageProcessor.collate and cls.pad is DetrImageProcessor.pad)

    def _fused_target(self, sizes: List[Tuple[int, int]], opts: Options) -> Optional[Tuple[int, int]]:
        if opts.do_pad:
            return self._pad_target(sizes, opts)
        return super()._fused_target(sizes, opts)

    def _fused_extra(self, count: int, target: Tuple[int, int]) -> Dict[str, np.ndarray]:
        if not self.return_pixel_mask:
            return {}
        return {"pixel_mask": np.zeros((count,) + tuple(target), dtype=np.int64)}

    def _fused_write_extra(self, extra: Dict[str, np.ndarray], i: int, height: int, width: int) -> None:
        if "pixel_mask" in extra:
            extra["pixel_mask"][i, :height, :width] = 1

    def collate(self, processed: List[PreprocessedImage], opts: Options) -> Dict[str, Any]:
        sizes = [p.pixel_values.shape[1:] for p in processed]
        if opts.do_pad:
            target = self._pad_target(sizes, opts)
            # one zeroed batch buffer, each image copied into its top-left corner (no per-image np.pad copy)
            channels = processed[0].pixel_values.shape[0]
            batch = np.zeros((len(processed), channels) + tuple(target), dtype=np.float32)
            for i, p in enumerate(processed):
                h, w = p.pixel_values.shape[1:]
                batch[i, :, :h, :w] = p.pixel_values
        else:
            if len(set(sizes)) > 1:
                raise InvalidInputError(
                    f"{type(self).__name__}: images of different sizes need do_pad=True to be batched")
            target = sizes[0]
            batch = np.stack([p.pixel_values for p in processed])
        out = {
            "pixel_values": batch,
            "original_sizes": [list(p.original_size) for p in processed],
            "reshaped_input_sizes": [list(p.reshaped_input_size) for p in processed],
        }
        if self.return_pixel_mask:
            mask = np.zeros((len(processed),) + tuple(target), dtype=np.int64)
            for i, (h, w) in enumerate(sizes):
                mask[i, :h, :w] = 1
            out["pixel_mask"] = mask
        return out

    def post_process_object_detection(self, outputs: Mapping[str, Any], threshold: float = 0.5,
                                      target_sizes: Optional[List[Tuple[int, int]]] = None) -> List[dict]:
        return post_process_object_detection(outputs, threshold, target_sizes)

    def post_process_panoptic_segmentation(self, outputs: Mapping[str, Any], threshold: float = 0.5,
                                           mask_threshold: float = 0.5, overlap_mask_area_threshold: float = 0.8,
                                           label_ids_to_fuse: Optional[List[int]] = None,
                                           target_sizes: Optional[List[Tuple[int, int]]] = None) -> List[dict]:
        return post_process_panoptic_segmentation(outputs, threshold, mask_threshold, overlap_mask_area_threshold,
                                                  label_ids_to_fuse, target_sizes)

    def post_process_instance_segmentation(self, outputs: Mapping[str, Any], threshold: float = 0.5,
                                           mask_threshold: float = 0.5, overlap_mask_area_threshold: float = 0.8,
                                           target_sizes: Optional[List[Tuple[int, int]]] = None) -> List[dict]:
        return post_process_instance_segmentation(outputs, threshold, mask_threshold, overlap_mask_area_threshold,
                                                  target_sizes)


class YolosImageProcessor(DetrImageProcessor):
    """DETR's pipeline with YOLOS' resize (sides rounded down to multiples of 16) and no pixel mask."""

    model_input_names = ("pixel_values",)
    return_pixel_mask = False
    mod_size = 16
    # YOLOS predicts boxes only
    post_process_panoptic_segmentation = None  # type: ignore[assignment]
    post_process_instance_segmentation = None  # type: ignore[assignment]
