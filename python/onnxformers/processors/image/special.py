"""Image processor families with steps of their own: Donut / Nougat (margin crop, long-axis alignment,
thumbnail, centred padding), SAM (longest edge + padding, prompt rescaling, ``post_process_masks``),
VitMatte (trimap as a fourth channel, padding to a multiple), RT-DETR (sigmoid detection) and Owlv2
(padding to a square). Each follows the arithmetic of the ``transformers`` class of the same name."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ...errors import InvalidConfigError, InvalidInputError
from ...utils.image import RawImage
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
    _resize,
    as_image_list,
    shortest_edge_size,
)
from .families import DetrImageProcessor
from .post_processing import (
    center_to_corners_format,
    interpolate_bilinear,
    post_process_maskformer_instance_segmentation,
    post_process_maskformer_semantic_segmentation,
    post_process_object_detection,
)

_BASE = {"do_resize": True, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True}


# -------------------------------------------------------------------------------------------------
# Donut / Nougat


class DonutImageProcessor(ImageProcessor):
    """Optionally rotate to the target's orientation (``do_align_long_axis``), resize the shortest edge to
    ``min(size)``, shrink to fit ``size`` (``do_thumbnail``: bicubic, Pillow ``reducing_gap=2``), pad to
    ``size`` around the image (``do_pad``), rescale, normalize. A list ``size`` is the legacy (width, height)."""

    default_to_square = True
    extra_options: ClassVar[Tuple[str, ...]] = ("do_align_long_axis", "do_crop_margin")
    defaults = dict(_BASE, size={"height": 2560, "width": 1920}, resample=2, do_thumbnail=True,
                    do_align_long_axis=False, do_pad=True,
                    image_mean=IMAGENET_STANDARD_MEAN, image_std=IMAGENET_STANDARD_STD)

    def _raw(self, overrides: Mapping[str, Any]) -> Dict[str, Any]:
        raw = super()._raw(overrides)
        if isinstance(raw.get("size"), (list, tuple)):
            raw["size"] = list(raw["size"])[::-1]  # transformers: the old (width, height) order
        return raw

    def _flag(self, opts: Options, name: str) -> bool:
        return bool(opts.extra.get(name, self.defaults.get(name, False)))

    def crop_margin(self, image: RawImage, gray_threshold: int = 200) -> RawImage:
        """Crop to the bounding box of the "ink" (pixels darker than ``gray_threshold`` after stretching the
        luma to 0..255), as Nougat does; a uniform image (or one with no ink) is returned unchanged."""
        pil = image.to_pil()
        data = np.asarray(pil.convert("L"), dtype=np.uint8)
        lo, hi = data.min(), data.max()
        if lo == hi:
            return image
        gray = (data - lo) / (hi - lo) * 255 < gray_threshold
        ys, xs = np.nonzero(gray)
        if not len(xs):
            return image
        x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())
        return RawImage._wrap(image._array()[y0:y1 + 1, x0:x1 + 1].copy())

    def resize_and_crop(self, image: RawImage, opts: Options) -> RawImage:
        size = opts.size
        if size is None or "height" not in size:
            raise InvalidConfigError(f"{type(self).__name__}: size must be {{height, width}}, got {size!r}")
        out_h, out_w = int(size["height"]), int(size["width"])
        if self._flag(opts, "do_crop_margin"):
            image = self.crop_margin(image)
        if self._flag(opts, "do_align_long_axis"):
            if (out_w < out_h and image.width > image.height) or (out_w > out_h and image.width < image.height):
                # np.rot90(k=3): a quarter turn clockwise
                image = RawImage._wrap(np.ascontiguousarray(np.rot90(image._array(), 3, axes=(0, 1))))
        if opts.do_resize:
            height, width = shortest_edge_size((image.height, image.width), min(out_h, out_w))
            image = _resize(image, width, height, opts.resample)
        if opts.do_thumbnail:
            image = self._thumbnail(image, out_h, out_w)
        return image

    @staticmethod
    def _thumbnail(image: RawImage, out_h: int, out_w: int) -> RawImage:
        in_h, in_w = image.height, image.width
        height, width = min(in_h, out_h), min(in_w, out_w)
        if (height, width) == (in_h, in_w):
            return image
        if in_h > in_w:
            width = int(in_w * height / in_h)
        elif in_w > in_h:
            height = int(in_h * width / in_w)
        if width < 1 or height < 1:
            raise InvalidInputError(f"the image would be resized to {width}x{height}; it is too small for this processor")
        # transformers' thumbnail ignores `resample`: always bicubic with reducing_gap=2
        return image.resize(width, height, resample=3, reducing_gap=2.0)

    def pad(self, pixel_values: np.ndarray, opts: Options) -> np.ndarray:
        # centred (delta // 2 on the top/left), zeros before normalization → pad with the normalized zero
        size = opts.size or {}
        _, h, w = pixel_values.shape
        out_h, out_w = max(int(size.get("height", h)), h), max(int(size.get("width", w)), w)
        zero = self._table(opts, pixel_values.shape[0])[:, 0]
        return self.pad_image(pixel_values, {"height": out_h, "width": out_w}, center=True,
                              constant_values=[float(v) for v in zero])


class NougatImageProcessor(DonutImageProcessor):
    """Donut's steps preceded by ``do_crop_margin`` (on by default), ImageNet statistics, 896 x 672."""

    defaults = dict(_BASE, size={"height": 896, "width": 672}, resample=2, do_thumbnail=True,
                    do_align_long_axis=False, do_pad=True, do_crop_margin=True,
                    image_mean=IMAGENET_DEFAULT_MEAN, image_std=IMAGENET_DEFAULT_STD)


# -------------------------------------------------------------------------------------------------
# SAM


class SamImageProcessor(ImageProcessor):
    """Resize the longest edge to 1024 (``int(x + 0.5)`` rounding), rescale, normalize, pad at the
    bottom/right to ``pad_size`` (1024²). ``processor(images, input_points=, input_labels=, input_boxes=)``
    also rescales the prompts from original-image pixels to resized-image pixels."""

    default_to_square = False
    defaults = dict(_BASE, size={"longest_edge": 1024}, resample=2, do_pad=True,
                    pad_size={"height": 1024, "width": 1024},
                    image_mean=IMAGENET_DEFAULT_MEAN, image_std=IMAGENET_DEFAULT_STD)

    def __call__(self, images: Any, input_points: Any = None, input_labels: Any = None, input_boxes: Any = None,
                 **overrides: Any) -> Dict[str, Any]:
        out = super().__call__(images, **overrides)
        originals, reshaped = out["original_sizes"], out["reshaped_input_sizes"]
        if input_points is not None:
            out["input_points"] = self.reshape_input_points(input_points, originals, reshaped)
            if input_labels is None:
                out["input_labels"] = np.ones(out["input_points"].shape[:-1], dtype=np.int64)
        if input_labels is not None:
            if input_points is None:
                raise InvalidInputError("input_labels needs input_points")
            labels = np.asarray(input_labels, dtype=np.int64)
            expected = out["input_points"].shape[:-1]
            while labels.ndim < len(expected):
                labels = labels[None]
            if labels.shape != expected:
                raise InvalidInputError(f"input_labels has shape {list(labels.shape)}, expected {list(expected)} "
                                        "(one label per point)")
            out["input_labels"] = labels
        if input_boxes is not None:
            out["input_boxes"] = self.reshape_input_points(input_boxes, originals, reshaped, is_bounding_box=True)
        return out

    def reshape_input_points(self, input_points: Any, original_sizes: Sequence[Sequence[int]],
                             reshaped_input_sizes: Sequence[Sequence[int]], is_bounding_box: bool = False) -> np.ndarray:
        """Points ``[batch, point_batch, points, 2]`` (``[points, 2]`` and ``[point_batch, points, 2]`` are
        completed) or boxes ``[batch, boxes, 4]`` (``[4]``, ``[boxes, 4]`` likewise), in original-image pixels
        → float32 in the resized image's pixels (x by the width ratio, y by the height ratio, as
        ``SamProcessor._normalize_coordinates``)."""
        try:
            coords = np.array(input_points, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidInputError("input points/boxes must be a nested list of numbers (all rows the same length)") from None
        last, dims = (4, 3) if is_bounding_box else (2, 4)
        what = "input_boxes" if is_bounding_box else "input_points"
        if coords.ndim == 0 or coords.shape[-1] != last:
            raise InvalidInputError(f"{what} must end in {last} coordinates, got shape {list(coords.shape)}")
        while coords.ndim < dims:
            coords = coords[None]
        if coords.ndim != dims:
            raise InvalidInputError(f"{what} must have at most {dims} dimensions, got shape {list(coords.shape)}")
        if coords.shape[0] != len(original_sizes):
            if coords.shape[0] == 1:
                coords = np.repeat(coords, len(original_sizes), axis=0)
            else:
                raise InvalidInputError(f"{what} has {coords.shape[0]} entries for {len(original_sizes)} image(s)")
        for i, ((old_h, old_w), (new_h, new_w)) in enumerate(zip(original_sizes, reshaped_input_sizes)):
            coords[i, ..., 0::2] *= new_w / old_w
            coords[i, ..., 1::2] *= new_h / old_h
        return coords.astype(np.float32)

    def post_process_masks(self, masks: Any, original_sizes: Sequence[Sequence[int]],
                           reshaped_input_sizes: Sequence[Sequence[int]], mask_threshold: float = 0.0,
                           binarize: bool = True, pad_size: Optional[Mapping[str, int]] = None) -> List[np.ndarray]:
        """Per image: the low-resolution ``masks`` ``[..., h, w]`` upscaled (bilinear, as torch's
        ``interpolate``) to the padded input size, cropped to the resized image, upscaled to the original
        size, then ``> mask_threshold`` (bool) when ``binarize``."""
        pad = dict(pad_size or self.options.pad_size or {"height": 1024, "width": 1024})
        if len(original_sizes) != len(reshaped_input_sizes):
            raise InvalidInputError("original_sizes and reshaped_input_sizes differ in length")
        if len(masks) != len(original_sizes):
            raise InvalidInputError(f"{len(masks)} mask batches for {len(original_sizes)} image(s)")
        out = []
        for i, (original, reshaped) in enumerate(zip(original_sizes, reshaped_input_sizes)):
            m = np.asarray(masks[i], dtype=np.float32)
            if m.ndim < 2:
                raise InvalidInputError(f"masks[{i}] must end in [height, width], got shape {list(m.shape)}")
            m = interpolate_bilinear(m, (int(pad["height"]), int(pad["width"])))
            m = m[..., : int(reshaped[0]), : int(reshaped[1])]
            m = interpolate_bilinear(m, (int(original[0]), int(original[1])))
            out.append(m > mask_threshold if binarize else m)
        return out


# -------------------------------------------------------------------------------------------------
# VitMatte


class VitMatteImageProcessor(ImageProcessor):
    """Rescale and normalize the image, rescale the trimap (no normalization), stack it as a fourth
    channel, pad at the bottom/right to a multiple of ``size_divisor`` (32). Called as
    ``processor(images, trimaps)``; images are used as given (no RGB conversion), trimaps as 1 channel."""

    defaults = dict(do_resize=False, do_rescale=True, rescale_factor=1 / 255, do_normalize=True, do_pad=True,
                    size_divisor=32, do_convert_rgb=False,
                    image_mean=IMAGENET_STANDARD_MEAN, image_std=IMAGENET_STANDARD_STD)

    def __call__(self, images: Any, trimaps: Any = None, **overrides: Any) -> Dict[str, Any]:
        if trimaps is None:
            raise InvalidInputError(f"{type(self).__name__} needs trimaps: processor(images, trimaps)")
        batch, maps = as_image_list(images), as_image_list(trimaps)
        if len(batch) != len(maps):
            raise InvalidInputError(f"{len(batch)} image(s) but {len(maps)} trimap(s)")
        opts = self._resolve(overrides) if overrides else self.options
        processed = [self._one(image, trimap, opts) for image, trimap in zip(batch, maps)]
        return self.collate(processed, opts)

    def _one(self, image: Any, trimap: Any, opts: Options) -> PreprocessedImage:
        image = self.prepare(image)
        trimap = self.prepare(trimap)
        if trimap.channels != 1:
            trimap = trimap.clone().grayscale()
        if (trimap.height, trimap.width) != (image.height, image.width):
            raise InvalidInputError(f"the trimap is {trimap.width}x{trimap.height} but the image is {image.width}x{image.height}")
        pixels = self.to_float(image._array(), opts)
        tri = self.to_float(trimap._array(), replace(opts, do_normalize=False))
        values = np.concatenate([pixels, tri], axis=0)
        size = (image.height, image.width)
        if opts.do_pad:
            d = opts.size_divisibility or 32
            h, w = size
            values = self.pad_image(values, {"height": -(-h // d) * d, "width": -(-w // d) * d})
        return PreprocessedImage(values, size, size)


# -------------------------------------------------------------------------------------------------
# RT-DETR


class RTDetrImageProcessor(ImageProcessor):
    """Resize to 640² (bilinear), rescale, no normalization, no padding; detection scores are sigmoids
    (focal loss), the best ``num_queries`` (query, class) pairs."""

    default_to_square = False
    defaults = dict(do_resize=True, size={"height": 640, "width": 640}, resample=2, do_rescale=True,
                    rescale_factor=1 / 255, do_normalize=False, do_pad=False,
                    image_mean=IMAGENET_DEFAULT_MEAN, image_std=IMAGENET_DEFAULT_STD)

    def post_process_object_detection(self, outputs: Mapping[str, Any], threshold: float = 0.5,
                                      target_sizes: Optional[Sequence[Tuple[int, int]]] = None,
                                      use_focal_loss: bool = True) -> List[dict]:
        if not use_focal_loss:
            return post_process_object_detection(outputs, threshold, target_sizes)
        return post_process_topk_sigmoid(outputs, threshold, target_sizes)


def post_process_topk_sigmoid(outputs: Mapping[str, Any], threshold: float = 0.5,
                              target_sizes: Optional[Sequence[Tuple[int, int]]] = None) -> List[dict]:
    """RT-DETR's focal-loss post-processing: sigmoid over every (query, class), the ``num_queries`` best
    pairs, kept when ``score > threshold``; highest first. Returns ``[{"boxes", "classes", "scores"}]``."""
    logits = np.asarray(outputs["logits"], dtype=np.float32)
    boxes = np.asarray(outputs["pred_boxes"], dtype=np.float32)
    if logits.ndim != 3 or boxes.ndim != 3 or boxes.shape[:2] != logits.shape[:2] or boxes.shape[-1] != 4:
        raise InvalidInputError(f"expected logits [batch, queries, classes] and pred_boxes [batch, queries, 4], got "
                                f"{list(logits.shape)} and {list(boxes.shape)}")
    batch, queries, classes = logits.shape
    if target_sizes is not None and len(target_sizes) != batch:
        raise InvalidInputError("Make sure that you pass in as many target sizes as the batch dimension of the logits")
    results = []
    for i in range(batch):
        scores = (1 / (1 + np.exp(-logits[i].astype(np.float64)))).astype(np.float32).reshape(-1)
        order = np.argsort(-scores, kind="stable")[:queries]
        info: dict = {"boxes": [], "classes": [], "scores": []}
        for flat in order:
            score = float(scores[flat])
            if not score > threshold:
                break
            q, k = divmod(int(flat), classes)
            corners = np.asarray(center_to_corners_format(boxes[i, q].astype(np.float64)))
            if target_sizes is not None:
                h, w = target_sizes[i]
                corners = corners * np.array([w, h, w, h], dtype=np.float64)
            info["boxes"].append([float(v) for v in corners])
            info["classes"].append(k)
            info["scores"].append(score)
        results.append(info)
    return results


# -------------------------------------------------------------------------------------------------
# Owlv2


class Owlv2ImageProcessor(ImageProcessor):
    """Rescale, pad at the bottom/right to a square with 0.5 (grey), resize to 960² and normalize (CLIP).

    The resize is ``transformers``' (scikit-image's): a Gaussian blur with ``sigma = (factor - 1) / 2``
    per downscaled axis (mirror edges, truncated at 4 sigma), then linear interpolation on the pixel grid
    (``scipy.ndimage.zoom(order=1, grid_mode=True, mode="mirror")``), clipped to the input's range; it is
    written here in numpy (no scipy needed). Boxes are relative to the padded square:
    ``post_process_object_detection`` scales both axes by ``max(height, width)``."""

    default_to_square = True
    defaults = dict(_BASE, size={"height": 960, "width": 960}, resample=2, do_pad=True,
                    image_mean=OPENAI_CLIP_MEAN, image_std=OPENAI_CLIP_STD)

    def preprocess(self, image: Any, **overrides: Any) -> PreprocessedImage:
        opts = self._resolve(overrides) if overrides else self.options
        image = self.prepare(image)
        if opts.do_convert_rgb and image.channels != 3:
            image = image.clone().rgb()
        original = (image.height, image.width)
        pixels = image._array().astype(np.float64)
        if opts.do_rescale:
            pixels = pixels * opts.rescale_factor
        pixels = pixels.astype(np.float32)
        if opts.do_pad:
            side = max(original)
            padded = np.full((side, side, pixels.shape[2]), 0.5, np.float32)
            padded[: original[0], : original[1]] = pixels
            pixels = padded
        if opts.do_resize and opts.size:
            pixels = owlv2_resize(pixels, int(opts.size["height"]), int(opts.size["width"]))
        reshaped = (int(pixels.shape[0]), int(pixels.shape[1]))
        chw = np.ascontiguousarray(pixels.transpose(2, 0, 1))
        if opts.do_normalize:
            mean = np.asarray(opts.image_mean, np.float32)[:, None, None]
            std = np.asarray(opts.image_std, np.float32)[:, None, None]
            chw = ((chw - mean) / std).astype(np.float32)
        return PreprocessedImage(chw, original, reshaped)

    def post_process_object_detection(self, outputs: Mapping[str, Any], threshold: float = 0.1,
                                      target_sizes: Optional[List[Tuple[int, int]]] = None) -> List[dict]:
        squares = None if target_sizes is None else [(max(h, w), max(h, w)) for h, w in target_sizes]
        return post_process_object_detection(outputs, threshold, squares, is_zero_shot=True)


def _mirror_pad(data: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """scipy's "mirror" extension (d c b | a b c d | c b a), repeated for pads longer than the axis."""
    n = data.shape[axis]
    if n == 1:
        return np.repeat(data, 2 * radius + 1, axis=axis)
    idx = np.arange(-radius, n + radius)
    period = 2 * (n - 1)
    idx = np.abs(np.mod(idx, period))
    idx = np.where(idx > n - 1, period - idx, idx)
    return np.take(data, idx, axis=axis)


def _gaussian_pass(data: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter1d(mode="mirror", truncate=4.0)``: float64 sums, float32 result."""
    radius = int(4.0 * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 / (sigma * sigma) * x ** 2)
    weights /= weights.sum()
    padded = _mirror_pad(data.astype(np.float64), radius, axis)
    n = data.shape[axis]
    out = np.zeros(data.shape, dtype=np.float64)
    for k, w in enumerate(weights):
        out += w * np.take(padded, np.arange(k, k + n), axis=axis)
    return out.astype(np.float32)


def _linear_axis(n_in: int, n_out: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of ``ndimage.zoom(order=1, grid_mode=True, mode="mirror")`` on one axis."""
    c = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    if n_in == 1:
        zeros = np.zeros(n_out, dtype=np.int64)
        return zeros, zeros, np.zeros(n_out)
    c = np.where(c < 0, -c, c)
    c = np.where(c > n_in - 1, 2 * (n_in - 1) - c, c)
    i0 = np.floor(c).astype(np.int64)
    i0 = np.clip(i0, 0, n_in - 1)
    w = c - i0
    return i0, np.minimum(i0 + 1, n_in - 1), w


def owlv2_resize(pixels: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Owlv2's anti-aliased resize of a float32 HWC image (see :class:`Owlv2ImageProcessor`)."""
    in_h, in_w = pixels.shape[:2]
    lo, hi = float(pixels.min()), float(pixels.max())
    filtered = pixels.astype(np.float32)
    for axis, (n_in, n_out) in enumerate(((in_h, out_h), (in_w, out_w))):
        sigma = max(0.0, (n_in / n_out - 1) / 2)
        if sigma > 1e-15:
            filtered = _gaussian_pass(filtered, sigma, axis)
    y0, y1, wy = _linear_axis(in_h, out_h)
    x0, x1, wx = _linear_axis(in_w, out_w)
    f = filtered.astype(np.float64)
    top = f[y0][:, x0] * (1 - wx)[None, :, None] + f[y0][:, x1] * wx[None, :, None]
    bottom = f[y1][:, x0] * (1 - wx)[None, :, None] + f[y1][:, x1] * wx[None, :, None]
    out = (top * (1 - wy)[:, None, None] + bottom * wy[:, None, None]).astype(np.float32)
    return np.clip(out, np.float32(lo), np.float32(hi))


# -------------------------------------------------------------------------------------------------
# MaskFormer / Mask2Former


class MaskFormerImageProcessor(DetrImageProcessor):
    """Resize the shortest edge to 800 with the longest at most 1333 (``int()`` rounding), then each side up
    to a multiple of ``size_divisor`` (32); rescale, normalize; a batch is padded at the bottom/right with a
    ``pixel_mask``. Panoptic post-processing is DETR's (``class_queries_logits`` / ``masks_queries_logits``
    are read as ``logits`` / ``pred_masks``); semantic and instance follow ``transformers``' MaskFormer."""

    defaults = dict(_BASE, size={"shortest_edge": 800, "longest_edge": 1333}, size_divisibility=32, resample=2,
                    do_pad=True, image_mean=IMAGENET_DEFAULT_MEAN, image_std=IMAGENET_DEFAULT_STD)
    #: Mask2Former's post-processing first upsamples the masks to this size (None: MaskFormer, as they are)
    mask_upsample: ClassVar[Optional[Tuple[int, int]]] = None

    def get_resize_output_image_size(self, image: RawImage, size: Optional[Mapping[str, int]] = None,
                                     options: Optional[Options] = None) -> Tuple[int, int]:
        opts = options or self.options
        size = opts.size if size is None else size
        if not size or "shortest_edge" not in size:
            return super().get_resize_output_image_size(image, size, opts)
        height, width = shortest_edge_size((image.height, image.width), int(size["shortest_edge"]),
                                           int(size["longest_edge"]) if "longest_edge" in size else None)
        d = opts.size_divisibility or 0
        if d:
            height, width = -(-height // d) * d, -(-width // d) * d
        return width, height

    # pad(): DETR's (batch-level, in collate()); size_divisor only shapes the resize

    def _upsampled(self, outputs: Mapping[str, Any]) -> Dict[str, Any]:
        logits = outputs.get("class_queries_logits", outputs.get("logits"))
        masks = outputs.get("masks_queries_logits", outputs.get("pred_masks"))
        if masks is not None and self.mask_upsample is not None:
            masks = interpolate_bilinear(np.asarray(masks, np.float32), self.mask_upsample)
        return {"logits": logits, "pred_masks": masks}

    def post_process_panoptic_segmentation(self, outputs: Mapping[str, Any], *args: Any, **kwargs: Any) -> List[dict]:
        return super().post_process_panoptic_segmentation(self._upsampled(outputs), *args, **kwargs)

    def post_process_semantic_segmentation(self, outputs: Mapping[str, Any],
                                           target_sizes: Optional[List[Tuple[int, int]]] = None) -> List[dict]:
        """Class probabilities × mask probabilities summed over queries, resized, best class per pixel
        (``transformers``' rule; see :func:`post_process_maskformer_semantic_segmentation`)."""
        return post_process_maskformer_semantic_segmentation(outputs, target_sizes, mask_size=self.mask_upsample)

    def post_process_instance_segmentation(self, outputs: Mapping[str, Any], threshold: float = 0.5,
                                           mask_threshold: float = 0.5, overlap_mask_area_threshold: float = 0.8,
                                           target_sizes: Optional[List[Tuple[int, int]]] = None) -> List[dict]:
        """``transformers``' per-class top-k rule (not DETR's): see
        :func:`post_process_maskformer_instance_segmentation`. Segment ids start at 0; background is -1."""
        return post_process_maskformer_instance_segmentation(outputs, threshold, mask_threshold,
                                                             overlap_mask_area_threshold, target_sizes,
                                                             mask_size=self.mask_upsample)

    post_process_object_detection = None  # type: ignore[assignment]


class Mask2FormerImageProcessor(MaskFormerImageProcessor):
    """MaskFormer's preprocessing; the mask logits are upsampled to 384² before post-processing."""

    mask_upsample = (384, 384)
