"""The shared image processor: Transformers.js' ``ImageProcessor`` with the arithmetic of Python
``transformers``' (slow, numpy + Pillow) image processors, so ``pixel_values`` match theirs.

The steps, in order (each one switched by the config or by a keyword override of the call):

1. read the input (path, URL, bytes, PIL image, numpy array or RawImage; see ``utils.image``);
2. ``do_convert_rgb`` (default on): 3 channels (gray replicated, alpha dropped, as ``PIL.convert("RGB")``);
3. ``do_resize`` with ``resample``, the output size from :meth:`ImageProcessor.get_resize_output_image_size`
   (every ``size`` convention: ``{height, width}`` (+ DPT's ``keep_aspect_ratio`` / ``ensure_multiple_of``),
   ``{shortest_edge}``, ``{shortest_edge, longest_edge}``, ``{longest_edge}``, ``{max_height, max_width}``,
   a bare int (read as the family reads it), legacy ``max_size``, ``size_divisibility`` / ``size_divisor``);
4. ``do_thumbnail`` (Donut-style) and ``do_center_crop`` to ``crop_size`` (zero padding when the image is
   smaller, as ``transformers.image_transforms.center_crop``);
5. ``do_rescale`` by ``rescale_factor`` then ``do_normalize`` with ``image_mean`` / ``image_std``, computed in
   float64 → float32 then float32 exactly as ``transformers`` does (through a 256-entry table per channel,
   which gives the same numbers and is much faster than per-pixel arithmetic);
6. ``do_pad`` (``pad_size``, or up to a multiple of ``size_divisibility``), then ``do_flip_channel_order``
   (RGB → BGR);
7. HWC → CHW, stacked to ``pixel_values`` float32 ``[batch, channels, height, width]``.

The call returns ``{"pixel_values", "original_sizes": [[h, w]], "reshaped_input_sizes": [[h, w]]}``
(sizes before and after resize/crop, before padding), like Transformers.js.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ... import _core
from ...errors import InvalidConfigError, InvalidInputError
from ...utils.image import RawImage, center_crop_array, resample_id

IMAGENET_DEFAULT_MEAN = [0.485, 0.456, 0.406]
IMAGENET_DEFAULT_STD = [0.229, 0.224, 0.225]
IMAGENET_STANDARD_MEAN = [0.5, 0.5, 0.5]
IMAGENET_STANDARD_STD = [0.5, 0.5, 0.5]
OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

#: option names a call may override (``processor(images, do_normalize=False)``)
OPTION_NAMES = (
    "do_resize", "size", "resample", "do_rescale", "rescale_factor", "do_normalize", "image_mean",
    "image_std", "do_center_crop", "crop_size", "crop_pct", "do_pad", "pad_size", "size_divisibility",
    "do_convert_rgb", "do_convert_grayscale", "do_flip_channel_order", "keep_aspect_ratio",
    "ensure_multiple_of", "do_thumbnail", "max_size",
)
_ALIASES = {"mean": "image_mean", "std": "image_std", "image_size": "size", "size_divisor": "size_divisibility"}


@dataclass(frozen=True)
class Options:
    """The resolved preprocessing options (config + class defaults + call overrides)."""

    do_resize: bool = False
    size: Optional[Dict[str, int]] = None
    resample: int = 2
    do_rescale: bool = True
    rescale_factor: float = 1 / 255
    do_normalize: bool = False
    image_mean: Optional[Tuple[float, ...]] = None
    image_std: Optional[Tuple[float, ...]] = None
    do_center_crop: bool = False
    crop_size: Optional[Dict[str, int]] = None
    crop_pct: Optional[float] = None
    do_pad: bool = False
    pad_size: Optional[Dict[str, int]] = None
    size_divisibility: Optional[int] = None
    do_convert_rgb: bool = True
    do_convert_grayscale: bool = False
    do_flip_channel_order: bool = False
    keep_aspect_ratio: bool = False
    ensure_multiple_of: int = 1
    do_thumbnail: bool = False
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class PreprocessedImage:
    """One image after :meth:`ImageProcessor.preprocess`: CHW float32 pixels and its sizes (h, w)."""

    pixel_values: np.ndarray
    original_size: Tuple[int, int]
    reshaped_input_size: Tuple[int, int]

    def __getitem__(self, key: str) -> Any:  # dict-style access, as the JS object
        return getattr(self, key)


class ImageProcessor:
    """Image processor built from a ``preprocessor_config.json`` dict (plus keyword overrides).

    ``processor(images, **overrides)`` → ``{"pixel_values", "original_sizes", "reshaped_input_sizes"}``.
    Family subclasses (``ViTImageProcessor``…) only change defaults or one step.
    """

    model_input_names: ClassVar[Tuple[str, ...]] = ("pixel_values",)
    #: how a bare integer ``size`` is read (``transformers``' ``get_size_dict(default_to_square=…)``):
    #: True → ``{height: n, width: n}``; False → ``{shortest_edge: n}`` (+ ``longest_edge: max_size``)
    default_to_square: ClassVar[bool] = False
    #: the Python class defaults used for keys the config leaves out
    defaults: ClassVar[Mapping[str, Any]] = {}
    #: family-specific option names a call may also override (they land in ``Options.extra``)
    extra_options: ClassVar[Tuple[str, ...]] = ()

    def __init__(self, config: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
        if config is not None and not isinstance(config, Mapping):
            raise InvalidConfigError(f"{type(self).__name__} config must be a mapping, got {type(config).__name__}")
        cfg = dict(config or {})
        cfg.update(kwargs)
        self.config = cfg
        self.options = self._resolve({})
        self._tables: Dict[Any, np.ndarray] = {}

    # ---------------------------------------------------------------------------------- config
    @classmethod
    def from_dict(cls, config: Mapping[str, Any], **kwargs: Any) -> "ImageProcessor":
        return cls(config, **kwargs)

    def to_dict(self) -> dict:
        return dict(self.config, image_processor_type=type(self).__name__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    def __getattr__(self, name: str) -> Any:
        # processor.size, processor.image_mean… as in Transformers.js (resolved values)
        options = self.__dict__.get("options")
        if options is not None and name in Options.__dataclass_fields__:
            return getattr(options, name)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def _raw(self, overrides: Mapping[str, Any]) -> Dict[str, Any]:
        """Class defaults, then the config (``null`` means "the default", as in ``transformers``'
        ``__init__``), then the call's overrides (``None`` means "the configured value")."""
        raw = dict(self.defaults)
        for key, value in self.config.items():
            canonical = _ALIASES.get(key, key)
            if value is None or (key in _ALIASES and canonical in self.config):
                continue  # a canonical key (image_mean) wins over its alias (mean)
            raw[canonical] = value
        if "pad_and_return_pixel_mask" in self.config and "do_pad" not in self.config:
            raw["do_pad"] = self.config["pad_and_return_pixel_mask"]
        for key, value in overrides.items():
            if value is not None:
                raw[_ALIASES.get(key, key)] = value
        return raw

    def _resolve(self, overrides: Mapping[str, Any]) -> Options:
        unknown = [k for k in overrides if k not in OPTION_NAMES and k not in _ALIASES and k not in self.extra_options]
        if unknown:
            raise InvalidInputError(
                f"{type(self).__name__} got unknown option(s): {', '.join(sorted(unknown))} "
                f"(known: {', '.join(OPTION_NAMES)})")
        raw = self._raw(overrides)
        name = type(self).__name__
        max_size = raw.get("max_size")
        size = _size_dict(raw.get("size"), self.default_to_square, max_size, name, "size")
        crop_size = _size_dict(raw.get("crop_size"), True, None, name, "crop_size")
        pad_size = raw.get("pad_size")
        if isinstance(pad_size, (int, float)) and not isinstance(pad_size, bool):
            pad_size = {"height": int(pad_size), "width": int(pad_size)}
        elif pad_size is not None:
            pad_size = _size_dict(pad_size, True, None, name, "pad_size")
        do_pad = bool(raw.get("do_pad", False))
        if do_pad and pad_size is None and size is not None and "height" in size and "width" in size \
                and self._infer_pad_size_from_size():
            pad_size = dict(size)  # Transformers.js: pad to the resize size when none is given
        mean = _channel_values(raw.get("image_mean"), name, "image_mean")
        std = _channel_values(raw.get("image_std"), name, "image_std")
        do_normalize = bool(raw.get("do_normalize", False))
        if do_normalize and (mean is None or std is None):
            raise InvalidConfigError(f"{name}: do_normalize is set but image_mean/image_std are missing")
        if std is not None and any(s == 0 for s in std):
            raise InvalidConfigError(f"{name}: image_std contains 0")
        divisibility = raw.get("size_divisibility")
        crop_pct = raw.get("crop_pct")
        try:
            resample = resample_id(raw.get("resample", 2))
        except InvalidInputError as exc:
            raise InvalidConfigError(f"{name}: {exc}") from None
        try:
            rescale_factor = float(raw.get("rescale_factor", 1 / 255))
        except (TypeError, ValueError):
            raise InvalidConfigError(f"{name}: rescale_factor must be a number, got {raw['rescale_factor']!r}") from None
        known = set(OPTION_NAMES) | set(_ALIASES)
        return Options(
            do_resize=bool(raw["do_resize"]) if raw.get("do_resize") is not None else size is not None,
            size=size,
            resample=resample,
            do_rescale=bool(raw.get("do_rescale", True)),
            rescale_factor=rescale_factor,
            do_normalize=do_normalize,
            image_mean=mean,
            image_std=std,
            do_center_crop=bool(raw.get("do_center_crop", False)),
            crop_size=crop_size,
            crop_pct=float(crop_pct) if crop_pct is not None else None,
            do_pad=do_pad,
            pad_size=pad_size,
            size_divisibility=_positive_int(divisibility or None, name, "size_divisibility"),  # 0: none
            do_convert_rgb=True if raw.get("do_convert_rgb") is None else bool(raw["do_convert_rgb"]),
            do_convert_grayscale=bool(raw.get("do_convert_grayscale", False)),
            do_flip_channel_order=bool(raw.get("do_flip_channel_order", False)),
            keep_aspect_ratio=bool(raw.get("keep_aspect_ratio", False)),
            ensure_multiple_of=_positive_int(raw.get("ensure_multiple_of"), name, "ensure_multiple_of") or 1,
            do_thumbnail=bool(raw.get("do_thumbnail", False)),
            extra={k: v for k, v in raw.items() if k not in known},
        )

    def _infer_pad_size_from_size(self) -> bool:
        """Whether ``do_pad`` without ``pad_size`` pads to ``size`` (Transformers.js' generic rule; the
        Python families pad their own way)."""
        return False

    # ---------------------------------------------------------------------------------- sizes
    def get_resize_output_image_size(self, image: RawImage, size: Optional[Mapping[str, int]] = None,
                                     options: Optional[Options] = None) -> Tuple[int, int]:
        """Target ``(width, height)`` of the resize step for ``image`` (Transformers.js order)."""
        opts = options or self.options
        size = opts.size if size is None else size
        src_w, src_h = image.size
        if size and "height" in size and "width" in size:
            out_h, out_w = int(size["height"]), int(size["width"])
            if opts.keep_aspect_ratio or opts.ensure_multiple_of > 1:
                out_h, out_w = dpt_output_size((src_h, src_w), (out_h, out_w), opts.keep_aspect_ratio,
                                               opts.ensure_multiple_of)
            return out_w, out_h
        if size and "shortest_edge" in size and "longest_edge" in size:
            out_h, out_w = size_with_aspect_ratio((src_h, src_w), int(size["shortest_edge"]),
                                                  int(size["longest_edge"]))
        elif size and "shortest_edge" in size:
            out_h, out_w = shortest_edge_size((src_h, src_w), int(size["shortest_edge"]))
        elif size and "longest_edge" in size:
            out_h, out_w = longest_edge_size((src_h, src_w), int(size["longest_edge"]))
        elif size and "max_height" in size and "max_width" in size:
            out_h, out_w = max_height_width_size((src_h, src_w), int(size["max_height"]), int(size["max_width"]))
        elif opts.size_divisibility:
            out_w, out_h = enforce_size_divisibility((src_w, src_h), opts.size_divisibility)
            return out_w, out_h
        else:
            raise InvalidConfigError(
                f"{type(self).__name__}: could not resize the image: unsupported `size` option {size!r}")
        if opts.size_divisibility:
            out_w, out_h = enforce_size_divisibility((out_w, out_h), opts.size_divisibility)
        return out_w, out_h

    def resize(self, image: RawImage, options: Optional[Options] = None) -> RawImage:
        opts = options or self.options
        width, height = self.get_resize_output_image_size(image, opts.size, opts)
        return _resize(image, width, height, opts.resample)

    def thumbnail(self, image: RawImage, size: Mapping[str, int], resample: Any = 2) -> RawImage:
        """Shrink (never enlarge) to fit in ``size`` ``{height, width}``, keeping the aspect ratio."""
        in_h, in_w = image.height, image.width
        height, width = min(in_h, int(size["height"])), min(in_w, int(size["width"]))
        if height == in_h and width == in_w:
            return image
        if in_h > in_w:
            width = int(in_w * height / in_h)
        elif in_w > in_h:
            height = int(in_h * width / in_w)
        return _resize(image, max(width, 1), max(height, 1), resample_id(resample))

    def center_crop(self, pixels: np.ndarray, options: Options) -> np.ndarray:
        crop = options.crop_size
        if crop is None:
            raise InvalidConfigError(f"{type(self).__name__}: do_center_crop is set but crop_size is missing")
        return center_crop_array(pixels, int(crop["height"]), int(crop["width"]))

    # ---------------------------------------------------------------------------------- pixels
    def rescale(self, pixel_data: np.ndarray, rescale_factor: Optional[float] = None) -> np.ndarray:
        """``pixels * rescale_factor`` in float64, then float32 (``transformers.image_transforms.rescale``)."""
        factor = self.options.rescale_factor if rescale_factor is None else rescale_factor
        return (np.asarray(pixel_data, dtype=np.float64) * factor).astype(np.float32)

    def _table(self, opts: Options, channels: int) -> np.ndarray:
        """[channels, 256] float32: the rescaled/normalized value of every uint8 level, computed with
        the same float64→float32→float32 steps as ``transformers`` (so the lookup is exact)."""
        key = (opts.do_rescale, opts.rescale_factor, opts.do_normalize, opts.image_mean, opts.image_std, channels)
        table = self._tables.get(key)
        if table is None:
            levels = np.arange(256, dtype=np.float64)
            values = (levels * opts.rescale_factor).astype(np.float32) if opts.do_rescale else levels.astype(np.float32)
            table = np.repeat(values[None, :], channels, axis=0)
            if opts.do_normalize:
                mean = _per_channel(opts.image_mean, channels, "image_mean")
                std = _per_channel(opts.image_std, channels, "image_std")
                table = (table - mean[:, None]) / std[:, None]
            table = np.ascontiguousarray(table, dtype=np.float32)
            self._tables[key] = table
        return table

    def to_float(self, pixels: np.ndarray, opts: Options) -> np.ndarray:
        """uint8 HWC → float32 CHW, rescaled and normalized per ``opts``."""
        channels = pixels.shape[2]
        out = np.empty((channels,) + pixels.shape[:2], dtype=np.float32)
        _core.u8_to_f32_chw(np.ascontiguousarray(pixels, dtype=np.uint8), self._table(opts, channels), out)
        return out

    def pad_image(self, pixel_data: np.ndarray, pad_size: Any, *, mode: str = "constant", center: bool = False,
                  constant_values: Any = 0) -> np.ndarray:
        """Pad CHW ``pixel_data`` to ``pad_size`` (``{height, width}`` or an int) at the bottom/right
        (or around, with ``center``). ``mode``: ``constant`` or ``symmetric``."""
        if isinstance(pad_size, Mapping):
            out_h, out_w = int(pad_size["height"]), int(pad_size["width"])
        else:
            out_h = out_w = int(pad_size)
        _, h, w = pixel_data.shape
        if (out_h, out_w) == (h, w):
            return pixel_data
        if out_h < h or out_w < w:
            raise InvalidInputError(
                f"{type(self).__name__}: cannot pad a {w}x{h} image to the smaller size {out_w}x{out_h}")
        top = (out_h - h) // 2 if center else 0
        left = (out_w - w) // 2 if center else 0
        widths = ((0, 0), (top, out_h - h - top), (left, out_w - w - left))
        if mode == "symmetric":
            return np.pad(pixel_data, widths, mode="symmetric")
        if mode != "constant":
            raise InvalidInputError(f"unsupported padding mode {mode!r}")
        if isinstance(constant_values, (list, tuple)):
            out = np.empty((pixel_data.shape[0], out_h, out_w), dtype=pixel_data.dtype)
            out[:] = np.asarray(constant_values, dtype=pixel_data.dtype)[:, None, None]
            out[:, top:top + h, left:left + w] = pixel_data
            return out
        return np.pad(pixel_data, widths, mode="constant", constant_values=constant_values)

    def pad(self, pixel_values: np.ndarray, opts: Options) -> np.ndarray:
        """The ``do_pad`` step for one CHW image (families override)."""
        if opts.pad_size is not None:
            return self.pad_image(pixel_values, opts.pad_size)
        if opts.size_divisibility:
            _, h, w = pixel_values.shape
            d = opts.size_divisibility
            return self.pad_image(pixel_values, {"height": -(-h // d) * d, "width": -(-w // d) * d})
        return pixel_values

    # ---------------------------------------------------------------------------------- steps
    def prepare(self, image: Any) -> RawImage:
        """The input as a RawImage (never the caller's object when it will be changed)."""
        return RawImage.read(image)

    def preprocess(self, image: Any, **overrides: Any) -> PreprocessedImage:
        """Preprocess one image (see the module docs for the steps)."""
        opts = self._resolve(overrides) if overrides else self.options
        return self._finish(self._stage_uint8(image, opts), opts)

    def _stage_uint8(self, image: Any, opts: Options) -> Tuple[np.ndarray, Tuple[int, int], Tuple[int, int]]:
        """Steps 1-4 of :meth:`preprocess` (read, convert, resize, crop): the uint8 HWC pixels, the
        original size and the size after resize/crop."""
        image = self.prepare(image)
        original_size = (image.height, image.width)
        if opts.do_convert_rgb and image.channels != 3:
            image = image.clone().rgb()
        elif opts.do_convert_grayscale and image.channels != 1:
            image = image.clone().grayscale()
        image = self.resize_and_crop(image, opts)
        pixels = image._array()
        if opts.do_center_crop and not self._crop_in_resize():
            pixels = self.center_crop(pixels, opts)
        return pixels, original_size, (int(pixels.shape[0]), int(pixels.shape[1]))

    def resize_and_crop(self, image: RawImage, opts: Options) -> RawImage:
        """The resize (and thumbnail) steps on uint8 pixels."""
        if opts.do_resize:
            image = self.resize(image, opts)
        if opts.do_thumbnail:
            if not opts.size or "height" not in opts.size:
                raise InvalidConfigError(f"{type(self).__name__}: do_thumbnail needs size {{height, width}}")
            image = self.thumbnail(image, opts.size, opts.resample)
        return image

    def _crop_in_resize(self) -> bool:
        return False

    # ---------------------------------------------------------------------------------- call
    def __call__(self, images: Any, **overrides: Any) -> Dict[str, Any]:
        batch = as_image_list(images)
        opts = self._resolve(overrides) if overrides else self.options
        if self._fused_batch_ok(opts):
            return self._fused_call(batch, opts)
        processed = self.preprocess_many(batch, **overrides)
        return self.collate(processed, opts)

    def preprocess_many(self, images: Sequence[Any], **overrides: Any) -> List[PreprocessedImage]:
        """:meth:`preprocess` over several images, on a thread pool: Pillow (decoding) and the Rust
        kernels (resampling, normalizing) release the GIL, and that is where nearly all the time goes."""
        return _parallel_map(lambda image: self.preprocess(image, **overrides), images)

    # ------------------------------------------------------------------------------ batched call
    # A batch is made in two rounds on the thread pool: (1) read + resize + crop every image (uint8),
    # (2) once the batch array is allocated, every worker writes its image's floats straight into its
    # slice of it (``batch[i, :, :h, :w]``, a padded window for DETR-style batches). No per-image float
    # array is stacked or copied into a padded batch on the calling thread, which capped the scaling.
    # Only for processors whose steps are the shared ones (a family overriding preprocess, to_float or
    # collate keeps the per-image path), and the outputs are the same arrays, bit for bit.

    def _fused_batch_ok(self, opts: Options) -> bool:
        cls = type(self)
        return (cls.preprocess is ImageProcessor.preprocess and cls.to_float is ImageProcessor.to_float
                and cls.collate is ImageProcessor.collate and not opts.do_pad)

    def _fused_target(self, sizes: List[Tuple[int, int]], opts: Options) -> Optional[Tuple[int, int]]:
        """(height, width) of the batch array for images of ``sizes``; None: use the per-image path
        (which raises the error the images deserve)."""
        return sizes[0] if len(set(sizes)) == 1 else None

    def _fused_call(self, images: List[Any], opts: Options) -> Dict[str, Any]:
        stages = _parallel_map(lambda image: self._stage_uint8(image, opts), images)
        sizes = [(int(p.shape[0]), int(p.shape[1])) for p, _, _ in stages]
        channels = {int(p.shape[2]) for p, _, _ in stages}
        target = self._fused_target(sizes, opts) if len(channels) == 1 else None
        if target is None:
            processed = _parallel_map(lambda stage: self._finish(stage, opts), stages)
            return self.collate(processed, opts)
        (c,) = channels
        if opts.do_flip_channel_order and c != 3:
            raise InvalidInputError("Flipping channel order is only supported for RGB images.")
        table = self._table(opts, c)
        padded = any(size != target for size in sizes)
        # np.zeros is calloc: the padding costs nothing until touched, the rest is written by the workers
        batch = (np.zeros if padded else np.empty)((len(stages), c) + tuple(target), dtype=np.float32)
        extra = self._fused_extra(len(stages), target)

        def write(i: int) -> None:
            pixels = stages[i][0]
            h, w = sizes[i]
            _core.u8_to_f32_chw(np.ascontiguousarray(pixels, dtype=np.uint8), table, batch[i, :, :h, :w],
                                opts.do_flip_channel_order)
            self._fused_write_extra(extra, i, h, w)

        _parallel_map(write, range(len(stages)))
        out = {
            "pixel_values": batch,
            "original_sizes": [list(s[1]) for s in stages],
            "reshaped_input_sizes": [list(s[2]) for s in stages],
        }
        out.update(extra)
        return out

    def _finish(self, stage: Tuple[np.ndarray, Tuple[int, int], Tuple[int, int]], opts: Options) -> PreprocessedImage:
        """Steps 5-7 of :meth:`preprocess` for the output of :meth:`_stage_uint8`."""
        pixels, original_size, reshaped_input_size = stage
        pixel_values = self.to_float(pixels, opts)
        if opts.do_pad:
            pixel_values = self.pad(pixel_values, opts)
        if opts.do_flip_channel_order:
            if pixel_values.shape[0] != 3:
                raise InvalidInputError("Flipping channel order is only supported for RGB images.")
            pixel_values = np.ascontiguousarray(pixel_values[::-1])
        return PreprocessedImage(pixel_values, original_size, reshaped_input_size)

    def _fused_extra(self, count: int, target: Tuple[int, int]) -> Dict[str, np.ndarray]:
        """Other per-image batch arrays the workers fill (DETR's ``pixel_mask``)."""
        return {}

    def _fused_write_extra(self, extra: Dict[str, np.ndarray], i: int, height: int, width: int) -> None:
        pass

    def collate(self, processed: List[PreprocessedImage], opts: Options) -> Dict[str, Any]:
        """Stack preprocessed images into the model inputs."""
        shapes = {p.pixel_values.shape for p in processed}
        if len(shapes) > 1:
            raise InvalidInputError(
                f"{type(self).__name__}: the images preprocess to different shapes "
                f"({', '.join(str(s) for s in sorted(shapes))}) and cannot be stacked; process them one at a time")
        return {
            "pixel_values": np.stack([p.pixel_values for p in processed]),
            "original_sizes": [list(p.original_size) for p in processed],
            "reshaped_input_sizes": [list(p.reshaped_input_size) for p in processed],
        }


# -------------------------------------------------------------------------------------------------
# size arithmetic (each function names the transformers helper whose rounding it copies)


def shortest_edge_size(image_size: Tuple[int, int], size: int, max_size: Optional[int] = None) -> Tuple[int, int]:
    """(h, w) with the short side ``size`` and the long side ``int(size * long / short)``
    (``transformers.image_transforms.get_resize_output_image_size(default_to_square=False)``)."""
    height, width = image_size
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    if max_size is not None and new_long > max_size:
        new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if width <= height else (new_short, new_long)


def size_with_aspect_ratio(image_size: Tuple[int, int], size: int, max_size: Optional[int] = None,
                           mod_size: Optional[int] = None) -> Tuple[int, int]:
    """DETR's ``get_size_with_aspect_ratio`` (YOLOS' variant with ``mod_size``): short side ``size``,
    long side capped at ``max_size``."""
    height, width = image_size
    raw_size = None
    if max_size is not None:
        min_original = float(min(height, width))
        max_original = float(max(height, width))
        if max_original / min_original * size > max_size:
            raw_size = max_size * min_original / max_original
            size = int(round(raw_size))
    if mod_size is not None:  # YOLOS checks width < height first
        if width < height:
            ow = size
            oh = int(raw_size * height / width) if raw_size is not None else int(size * height / width)
        elif (height <= width and height == size) or (width <= height and width == size):
            oh, ow = height, width
        else:
            oh = size
            ow = int(raw_size * width / height) if raw_size is not None else int(size * width / height)
        return oh - oh % mod_size, ow - ow % mod_size
    if (height <= width and height == size) or (width <= height and width == size):
        return height, width
    if width < height:
        ow = size
        oh = int(raw_size * height / width) if raw_size is not None else int(size * height / width)
    else:
        oh = size
        ow = int(raw_size * width / height) if raw_size is not None else int(size * width / height)
    return oh, ow


def js_edge_size(image_size: Tuple[int, int], shortest_edge: Optional[int],
                 longest_edge: Optional[int]) -> Tuple[int, int]:
    """Transformers.js' ``get_resize_output_image_size`` for ``shortest_edge`` / ``longest_edge``:
    scale up or down so the short side is ``shortest_edge``, then down so the long side is at most
    ``longest_edge``; each side is ``floor`` of the value rounded to 2 decimals. ``image_size`` and the
    result are ``(width, height)``."""
    src_w, src_h = image_size
    short_factor = 1.0 if shortest_edge is None else max(shortest_edge / src_w, shortest_edge / src_h)
    new_w, new_h = src_w * short_factor, src_h * short_factor
    long_factor = 1.0 if longest_edge is None else min(longest_edge / new_w, longest_edge / new_h)
    return (max(math.floor(float(f"{new_w * long_factor:.2f}")), 1),
            max(math.floor(float(f"{new_h * long_factor:.2f}")), 1))


def longest_edge_size(image_size: Tuple[int, int], longest_edge: int) -> Tuple[int, int]:
    """Scale so that the long side is ``longest_edge`` (SAM's ``int(x * scale + 0.5)`` rounding)."""
    height, width = image_size
    scale = longest_edge / max(height, width)
    return max(int(height * scale + 0.5), 1), max(int(width * scale + 0.5), 1)


def max_height_width_size(image_size: Tuple[int, int], max_height: int, max_width: int) -> Tuple[int, int]:
    """DETR's ``get_image_size_for_max_height_width``."""
    height, width = image_size
    scale = min(max_height / height, max_width / width)
    return max(int(height * scale), 1), max(int(width * scale), 1)


def constrain_to_multiple_of(val: float, multiple: int, min_val: int = 0, max_val: Optional[int] = None) -> int:
    x = round(val / multiple) * multiple  # round half to even, as Python (and Transformers.js' bankers_round)
    if max_val is not None and x > max_val:
        x = math.floor(val / multiple) * multiple
    if x < min_val:
        x = math.ceil(val / multiple) * multiple
    return int(x)


def dpt_output_size(image_size: Tuple[int, int], output_size: Tuple[int, int], keep_aspect_ratio: bool,
                    multiple: int) -> Tuple[int, int]:
    """DPT's ``get_resize_output_image_size``: scale as little as possible when keeping the aspect
    ratio, then round each side to a multiple of ``multiple``."""
    in_h, in_w = image_size
    out_h, out_w = output_size
    scale_h, scale_w = out_h / in_h, out_w / in_w
    if keep_aspect_ratio:
        if abs(1 - scale_w) < abs(1 - scale_h):
            scale_h = scale_w
        else:
            scale_w = scale_h
    return (max(constrain_to_multiple_of(scale_h * in_h, multiple), 1),
            max(constrain_to_multiple_of(scale_w * in_w, multiple), 1))


def enforce_size_divisibility(size: Tuple[int, int], divisor: int) -> Tuple[int, int]:
    """Round ``(width, height)`` down to multiples of ``divisor`` (at least one ``divisor``)."""
    width, height = size
    return max(width // divisor, 1) * divisor, max(height // divisor, 1) * divisor


# -------------------------------------------------------------------------------------------------
# helpers


_EXECUTOR = None
_EXECUTOR_LOCK = threading.Lock()
_NUM_THREADS: Optional[int] = None


def get_num_threads() -> int:
    """Threads used to preprocess a batch of images: ``set_num_threads``, else the
    ``ONNXFORMERS_IMAGE_THREADS`` environment variable, else the number of CPUs."""
    if _NUM_THREADS is not None:
        return _NUM_THREADS
    env = os.environ.get("ONNXFORMERS_IMAGE_THREADS")
    if env:
        try:
            return max(int(env), 1)
        except ValueError:
            raise InvalidConfigError(f"ONNXFORMERS_IMAGE_THREADS must be a positive integer, got {env!r}") from None
    return max(os.cpu_count() or 1, 1)


def set_num_threads(num_threads: Optional[int]) -> None:
    """Set how many threads preprocess a batch of images (None: back to the default). 1 processes the
    images one after another on the calling thread."""
    global _NUM_THREADS, _EXECUTOR
    if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1):
        raise InvalidInputError(f"num_threads must be a positive integer or None, got {num_threads!r}")
    with _EXECUTOR_LOCK:
        _NUM_THREADS = num_threads
        old, _EXECUTOR = _EXECUTOR, None
    if old is not None:
        old.shutdown(wait=False)


def _executor():
    """One process-wide pool (``get_num_threads()`` threads) for image decoding and resizing."""
    global _EXECUTOR
    if _EXECUTOR is None:
        with _EXECUTOR_LOCK:
            if _EXECUTOR is None:
                from concurrent.futures import ThreadPoolExecutor

                _EXECUTOR = ThreadPoolExecutor(max_workers=get_num_threads(), thread_name_prefix="onnxformers-image")
    return _EXECUTOR


def _parallel_map(fn: Any, items: Sequence[Any]) -> List[Any]:
    """``[fn(x) for x in items]``, on the image thread pool when there are several items and threads."""
    if len(items) < 2 or get_num_threads() == 1:
        return [fn(item) for item in items]
    return list(_executor().map(fn, items))


def as_image_list(images: Any) -> List[Any]:
    """A list of image inputs: a list/tuple is a batch, anything else one image."""
    if isinstance(images, (list, tuple)):
        if not images:
            raise InvalidInputError("no images given (empty list)")
        return list(images)
    if isinstance(images, np.ndarray) and images.ndim == 4:
        return list(images)  # a batch of HWC arrays
    return [images]


def _resize(image: RawImage, width: int, height: int, resample: int) -> RawImage:
    if width < 1 or height < 1:
        raise InvalidInputError(f"the image would be resized to {width}x{height}; it is too small for this processor")
    return image.resize(width, height, resample=resample)


def _size_dict(size: Any, default_to_square: bool, max_size: Any, name: str, what: str) -> Optional[Dict[str, int]]:
    """``transformers``' ``get_size_dict``: an int, a (height, width) pair or a dict → a size dict."""
    if size is None:
        return None
    if isinstance(size, bool):
        raise InvalidConfigError(f"{name}: {what} must be an int or a dict, got {size!r}")
    if isinstance(size, (int, float)):
        n = int(size)
        if default_to_square:
            return {"height": n, "width": n}
        out = {"shortest_edge": n}
        if max_size is not None:
            out["longest_edge"] = int(max_size)
        return out
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return {"height": int(size[0]), "width": int(size[1])}
    if isinstance(size, Mapping):
        keys = set(size)
        valid = ({"height", "width"}, {"shortest_edge"}, {"shortest_edge", "longest_edge"}, {"longest_edge"},
                 {"max_height", "max_width"})
        if keys not in valid:
            raise InvalidConfigError(f"{name}: {what} has unsupported keys {sorted(keys)}")
        try:
            out = {k: int(v) for k, v in size.items()}
        except (TypeError, ValueError):
            raise InvalidConfigError(f"{name}: {what} values must be integers, got {dict(size)!r}") from None
        if any(v < 1 for v in out.values()):
            raise InvalidConfigError(f"{name}: {what} values must be positive, got {out!r}")
        return out
    raise InvalidConfigError(f"{name}: {what} must be an int, a [height, width] pair or a dict, got {size!r}")


def _channel_values(values: Any, name: str, what: str) -> Optional[Tuple[float, ...]]:
    if values is None:
        return None
    if isinstance(values, (int, float)) and not isinstance(values, bool):
        return (float(values),)
    try:
        return tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise InvalidConfigError(f"{name}: {what} must be a number or a list of numbers, got {values!r}") from None


def _per_channel(values: Sequence[float], channels: int, what: str) -> np.ndarray:
    if len(values) == 1:
        values = tuple(values) * channels
    if len(values) != channels:
        raise InvalidInputError(
            f"{what} has {len(values)} values but the image has {channels} channel(s)")
    return np.asarray(values, dtype=np.float32)


def _positive_int(value: Any, name: str, what: str) -> Optional[int]:
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < 1 or isinstance(value, bool):
        raise InvalidConfigError(f"{name}: {what} must be a positive integer, got {value!r}")
    return number
