"""Images: :class:`RawImage`, the port of Transformers.js ``utils/image``.

A ``RawImage`` is 8-bit pixel data in height × width × channels order (1 = grayscale, 2 = grayscale +
alpha, 3 = RGB, 4 = RGBA). Decoding and colour conversion go through Pillow, the library that Python
``transformers`` uses, and resampling through Pillow or a bit-exact Rust port of it (see :meth:`RawImage.resize`),
so preprocessed pixels match ``transformers``' image processors exactly
(Transformers.js on Node uses sharp, whose resampling differs slightly; see ``docs`` of :meth:`resize`).

Reading (``RawImage.read``) accepts a ``RawImage``, a local path (``str`` / ``os.PathLike``), an
``http(s)://`` or ``file://`` URL, encoded bytes, a binary file object, a ``PIL.Image.Image`` or a numpy
array (H×W, H×W×C; uint8, or float in [0, 1]). What decoding does:

* EXIF orientation is applied (the image comes out the way viewers show it);
* palette, CMYK, YCbCr, LAB, HSV and 1-bit images are converted to RGB (RGBA when a palette has
  transparency), 16-bit and 32-bit integer grayscale is scaled to 8 bits (``round(v / 257)``), float
  grayscale is clipped (values in [0, 1] are scaled by 255 first);
* an animated image gives its first frame;
* images with more pixels than Pillow's ``Image.MAX_IMAGE_PIXELS`` × 2 (about 179 megapixels, e.g. a
  20000 × 20000 PNG) are refused before decoding (Pillow's decompression-bomb guard); raise or lower the
  limit through ``PIL.Image.MAX_IMAGE_PIXELS``;
* anything unreadable (missing or truncated file, unknown format, unreachable URL, a 0 × 0 image, an
  array of the wrong shape) raises :class:`onnxformers.InvalidInputError` naming the input.

Like Transformers.js, ``grayscale()``, ``rgb()``, ``rgba()`` and ``convert()`` change the image in place
and return it (for chaining); ``resize``, ``crop``, ``center_crop`` and ``pad`` return a new image.
"""

from __future__ import annotations

import io
import os
import struct
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from ..errors import InvalidInputError

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image as PILImage

__all__ = ["RawImage", "RESAMPLING_MAPPING", "CONTENT_TYPE_MAP", "load_image", "ImageInput"]

#: Pillow's filter ids (``PIL.Image.Resampling``), which Transformers.js and ``preprocessor_config.json``
#: (``resample``) use as well.
RESAMPLING_MAPPING = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}
_RESAMPLING_IDS = {name: i for i, name in RESAMPLING_MAPPING.items()}
_RESAMPLING_IDS.update({"antialias": 1, "linear": 2, "cubic": 3})

#: file extension → MIME type (Transformers.js ``CONTENT_TYPE_MAP``)
CONTENT_TYPE_MAP = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "bmp": "image/bmp", "webp": "image/webp", "tif": "image/tiff", "tiff": "image/tiff",
}

_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_CHANNELS = {mode: n for n, mode in _MODES.items()}
#: seconds to wait for a URL (connect / first byte)
URL_TIMEOUT = 30.0

ImageInput = Union["RawImage", str, os.PathLike, bytes, bytearray, memoryview, np.ndarray, "PILImage.Image"]


def _pil():
    # Pillow loads lazily: `import onnxformers` must stay cheap.
    from PIL import Image

    return Image


def resample_id(resample: Any) -> int:
    """A Pillow filter id from an id (0-5), a name (``"bilinear"``) or a ``PIL.Image.Resampling``."""
    if isinstance(resample, str):
        key = resample.strip().lower()
        if key in _RESAMPLING_IDS:
            return _RESAMPLING_IDS[key]
    else:
        try:
            value = int(resample)
        except (TypeError, ValueError):
            value = None
        if value is not None and value in RESAMPLING_MAPPING and not isinstance(resample, bool):
            return value
    raise InvalidInputError(
        f"resample must be one of {sorted(RESAMPLING_MAPPING)} or "
        f"{', '.join(repr(n) for n in RESAMPLING_MAPPING.values())}; got {resample!r}")


class RawImage:
    """8-bit image data (``height × width × channels``) with Transformers.js' RawImage API.

    ``RawImage(data, width, height, channels)`` takes the pixels as a flat buffer (bytes, list or array
    of ``width * height * channels`` values, row-major, channels interleaved) or as an array already
    shaped ``(height, width[, channels])``.
    """

    # A decoded image keeps Pillow's buffer (``_pil``) and makes the numpy array (``_pixels``) only when
    # something asks for it: the usual decode → resize → normalize path then never copies the full-size
    # pixels (two ~8 ms copies per 3-megapixel image). ``_pil`` is dropped whenever the pixels may change.
    __slots__ = ("_pixels", "_pil")

    def __init__(self, data: Any, width: int, height: int, channels: int):
        for name, value in (("width", width), ("height", height), ("channels", channels)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise InvalidInputError(f"RawImage {name} must be an integer, got {value!r}")
        width, height, channels = int(width), int(height), int(channels)
        if channels not in _MODES:
            raise InvalidInputError(f"RawImage channels must be 1, 2, 3 or 4, got {channels}")
        if width < 1 or height < 1:
            raise InvalidInputError(f"RawImage needs a positive width and height, got {width}x{height}")
        if isinstance(data, (bytes, bytearray, memoryview)):
            array = np.frombuffer(bytes(data), dtype=np.uint8)
        else:
            array = np.asarray(data)
            if array.dtype != np.uint8:
                if array.size and (not np.issubdtype(array.dtype, np.number)
                                   or array.min() < 0 or array.max() > 255):
                    raise InvalidInputError(
                        f"RawImage data must be 8-bit values (0-255), got dtype {array.dtype}")
                array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
        expected = width * height * channels
        if array.size != expected:
            raise InvalidInputError(
                f"RawImage data has {array.size} values; {width}x{height} with {channels} channel(s) "
                f"needs {expected}")
        self._pixels = np.ascontiguousarray(array.reshape(height, width, channels))
        self._pil = None

    # ------------------------------------------------------------------------------ storage
    def _array(self) -> np.ndarray:
        """The (H, W, C) uint8 pixels, for reading (internal: callers must not write to it)."""
        if self._pixels is None:
            self._pixels = _pil_to_array(self._pil)
        return self._pixels

    def _writable(self) -> np.ndarray:
        """The pixels, for a caller who may write to them: owned, writable, and no stale Pillow copy."""
        pixels = self._array()
        if not pixels.flags.writeable:
            pixels = self._pixels = pixels.copy()
        self._pil = None
        return pixels

    def _as_pil(self) -> "PILImage.Image":
        """A Pillow image of these pixels (internal: may be the cached one; never modify it)."""
        if self._pil is not None:
            return self._pil
        pixels = self._pixels
        return _pil().fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)

    # ------------------------------------------------------------------------------ properties
    @property
    def width(self) -> int:
        return int(self._pil.width if self._pixels is None else self._pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self._pil.height if self._pixels is None else self._pixels.shape[0])

    @property
    def channels(self) -> int:
        return _CHANNELS[self._pil.mode] if self._pixels is None else int(self._pixels.shape[2])

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``, as in Transformers.js (and Pillow)."""
        return (self.width, self.height)

    @property
    def data(self) -> np.ndarray:
        """The pixels as a flat uint8 array (a view: writing to it changes the image)."""
        return self._writable().reshape(-1)

    @property
    def mode(self) -> str:
        """The Pillow mode of these pixels: ``L``, ``LA``, ``RGB`` or ``RGBA``."""
        return _MODES[self.channels]

    def __repr__(self) -> str:
        return f"RawImage(width={self.width}, height={self.height}, channels={self.channels})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RawImage):
            return NotImplemented
        a, b = self._array(), other._array()
        return a.shape == b.shape and bool(np.array_equal(a, b))

    __hash__ = None  # mutable

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        pixels = self._writable()  # numpy may hand out a writable view
        array = pixels if dtype is None else pixels.astype(dtype)
        return array.copy() if copy else array

    # ------------------------------------------------------------------------------ constructors
    @classmethod
    def _wrap(cls, pixels: np.ndarray) -> "RawImage":
        """Adopt an (H, W, C) uint8 array without copying or checking (internal)."""
        image = cls.__new__(cls)
        # may be read-only (np.asarray of a PIL image): _writable() copies it before handing it out
        image._pixels = np.ascontiguousarray(pixels)
        image._pil = None
        return image

    @classmethod
    def _wrap_pil(cls, pil: "PILImage.Image") -> "RawImage":
        """Adopt a Pillow image that nothing else holds (internal); pixels become numpy on demand."""
        if pil.mode not in _CHANNELS:
            return cls._wrap(_pil_to_array(pil))
        image = cls.__new__(cls)
        image._pixels = None
        image._pil = pil
        return image

    @classmethod
    def read(cls, input: Any) -> "RawImage":
        """A RawImage from any supported input (see the module docs). A RawImage is returned as is."""
        if isinstance(input, RawImage):
            return input
        if isinstance(input, (str, os.PathLike)):
            return cls.from_url(input)
        if isinstance(input, (bytes, bytearray, memoryview)):
            return cls.from_bytes(input)
        if isinstance(input, np.ndarray):
            return cls.from_array(input)
        Image = _pil()
        if isinstance(input, Image.Image):
            return cls.from_pil(input)
        if hasattr(input, "read"):
            return cls._decode(input, "file object")
        raise InvalidInputError(
            f"Unsupported image input of type {type(input).__name__}; expected a RawImage, a path, a URL, "
            "bytes, a file object, a PIL image or a numpy array")

    @classmethod
    def from_url(cls, url: Union[str, os.PathLike]) -> "RawImage":
        """Read an image from an ``http(s)://`` / ``file://`` URL or a local path."""
        if isinstance(url, os.PathLike):
            return cls._from_path(Path(url))
        if not isinstance(url, str) or not url:
            raise InvalidInputError(f"image URL or path must be a non-empty string, got {url!r}")
        lowered = url[:8].lower()
        if lowered.startswith(("http://", "https://", "file://")):
            return cls._decode(io.BytesIO(_fetch(url)), url)
        if lowered.startswith("data:"):
            raise InvalidInputError("data: URLs are not supported; decode them and pass the bytes")
        return cls._from_path(Path(os.path.expanduser(url)))

    fromURL = from_url  # Transformers.js spelling

    @classmethod
    def _from_path(cls, path: Path) -> "RawImage":
        if not path.is_file():
            where = "" if path.is_absolute() else f" (relative to {os.getcwd()!r})"
            raise InvalidInputError(f"image file {str(path)!r} does not exist{where}")
        return cls._decode(str(path), str(path))

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> "RawImage":
        """Decode an encoded image (PNG, JPEG, GIF, WebP, BMP, TIFF…) held in memory."""
        return cls._decode(io.BytesIO(bytes(data)), f"{len(data)} bytes")

    from_blob = from_bytes
    fromBlob = from_bytes

    @classmethod
    def from_pil(cls, image: "PILImage.Image") -> "RawImage":
        """Copy a ``PIL.Image.Image`` (EXIF orientation applied; any mode converted as in decoding)."""
        Image = _pil()
        if not isinstance(image, Image.Image):
            raise InvalidInputError(f"from_pil expects a PIL.Image.Image, got {type(image).__name__}")
        return cls._from_loaded(image, repr(image), owned=False)

    @classmethod
    def from_array(cls, array: Any) -> "RawImage":
        """An image from a numpy array shaped (H, W) or (H, W, C) with C in 1-4 (channels last).

        uint8 arrays are used as they are. Other dtypes follow ``transformers``' rule for PIL
        conversion: whole numbers in [0, 255] are cast, values in [0, 1] are multiplied by 255 and
        rounded; anything else is an error. For channels-first data use :meth:`from_tensor`.
        """
        array = np.asarray(array)
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3 or array.shape[2] not in _MODES:
            raise InvalidInputError(
                f"an image array must be shaped (height, width) or (height, width, channels) with 1-4 "
                f"channels, got shape {array.shape}; for (channels, height, width) use "
                f"RawImage.from_tensor(array)")
        if array.shape[0] < 1 or array.shape[1] < 1:
            raise InvalidInputError(f"image array has no pixels (shape {array.shape})")
        return cls._wrap(_to_uint8(array))

    @classmethod
    def from_tensor(cls, tensor: Any, channel_format: str = "CHW") -> "RawImage":
        """An image from a 3-D array in ``CHW`` (default, as Transformers.js) or ``HWC`` order."""
        array = np.asarray(tensor)
        if array.ndim != 3:
            raise InvalidInputError(f"Tensor should have 3 dimensions, but has {array.ndim} dimensions.")
        if channel_format == "CHW":
            array = array.transpose(1, 2, 0)
        elif channel_format != "HWC":
            raise InvalidInputError(f"Unsupported channel format: {channel_format!r} (use 'CHW' or 'HWC')")
        return cls.from_array(array)

    fromTensor = from_tensor

    @classmethod
    def _decode(cls, source: Any, label: str) -> "RawImage":
        Image = _pil()
        try:
            with Image.open(source) as image:
                image.load()
                return cls._from_loaded(image, label)
        except InvalidInputError:
            raise
        except Image.DecompressionBombError as exc:
            raise InvalidInputError(
                f"image {label!r} is too large to decode safely: {exc} Raise PIL.Image.MAX_IMAGE_PIXELS "
                f"(currently {Image.MAX_IMAGE_PIXELS}) if you trust it.") from exc
        except (OSError, ValueError, SyntaxError, EOFError, struct.error, zlib.error, IndexError,
                MemoryError) as exc:  # Pillow's plugins raise all of these for broken files
            raise InvalidInputError(f"cannot read image {label!r}: {exc}") from exc

    @classmethod
    def _from_loaded(cls, image: "PILImage.Image", label: str, owned: bool = True) -> "RawImage":
        from PIL import ImageOps

        if image.width < 1 or image.height < 1:
            raise InvalidInputError(f"image {label!r} is empty ({image.width}x{image.height})")
        try:
            orientation = image.getexif().get(0x0112, 1)
        except Exception:  # noqa: BLE001 - a broken EXIF block must not make the pixels unreadable
            orientation = 1
        if orientation in (2, 3, 4, 5, 6, 7, 8):
            try:
                image = ImageOps.exif_transpose(image)
            except Exception:  # noqa: BLE001
                pass
        elif owned is False:
            image = image.copy()  # a caller's PIL image can change later; ours must not
        if image.mode in _CHANNELS:
            return cls._wrap_pil(image)
        return cls._wrap(_pil_to_array(image))

    # ------------------------------------------------------------------------------ conversions
    def to_pil(self) -> "PILImage.Image":
        """A ``PIL.Image.Image`` copy in mode ``L``, ``LA``, ``RGB`` or ``RGBA``."""
        return self._pil.copy() if self._pil is not None else self._as_pil()

    toPIL = to_pil

    def to_numpy(self) -> np.ndarray:
        """A copy of the pixels as a uint8 array shaped (height, width, channels)."""
        return self._array().copy()

    def to_tensor(self, channel_format: str = "CHW") -> np.ndarray:
        """The pixels as a uint8 array in ``CHW`` (default, as Transformers.js) or ``HWC`` order."""
        if channel_format == "CHW":
            return np.ascontiguousarray(self._array().transpose(2, 0, 1))
        if channel_format == "HWC":
            return self._array().copy()
        raise InvalidInputError(f"Unsupported channel format: {channel_format!r} (use 'CHW' or 'HWC')")

    toTensor = to_tensor

    def clone(self) -> "RawImage":
        if self._pixels is None:  # Pillow images are never modified in place here: share it
            return RawImage._wrap_pil(self._pil)
        return RawImage._wrap(self._pixels.copy())

    def _update(self, pixels: np.ndarray) -> "RawImage":
        self._pixels = np.ascontiguousarray(pixels)
        self._pil = None
        return self

    def grayscale(self) -> "RawImage":
        """Convert to 1 channel in place (Pillow's ITU-R 601-2 luma, as ``transformers`` gets it);
        alpha is dropped."""
        if self.channels == 1:
            return self
        if self.channels == 2:
            return self._update(self._array()[:, :, :1])
        gray = self._as_pil().convert("L")  # RGBA → L ignores alpha in Pillow
        return self._update(np.asarray(gray)[:, :, None])

    def rgb(self) -> "RawImage":
        """Convert to 3 channels in place (gray is replicated, alpha is dropped)."""
        if self.channels == 3:
            return self
        if self.channels in (1, 2):
            return self._update(np.repeat(self._array()[:, :, :1], 3, axis=2))
        return self._update(self._array()[:, :, :3])

    def rgba(self) -> "RawImage":
        """Convert to 4 channels in place (opaque alpha added when there is none)."""
        if self.channels == 4:
            return self
        h, w = self.height, self.width
        out = np.empty((h, w, 4), dtype=np.uint8)
        if self.channels in (1, 2):
            out[:, :, :3] = self._array()[:, :, :1]
            out[:, :, 3] = self._array()[:, :, 1] if self.channels == 2 else 255
        else:
            out[:, :, :3] = self._array()
            out[:, :, 3] = 255
        return self._update(out)

    def convert(self, num_channels: int) -> "RawImage":
        """Convert in place to 1, 3 or 4 channels."""
        if num_channels == self.channels:
            return self
        if num_channels == 1:
            return self.grayscale()
        if num_channels == 3:
            return self.rgb()
        if num_channels == 4:
            return self.rgba()
        raise InvalidInputError(f"Conversion failed: num_channels must be 1, 3 or 4, got {num_channels!r}")

    # ------------------------------------------------------------------------------ geometry
    def resize(self, width: Optional[int], height: Optional[int], resample: Any = 2,
               reducing_gap: Optional[float] = None) -> "RawImage":
        """A resized copy, resampled as Pillow's ``Image.resize`` does (``reducing_gap`` None unless given,
        the call ``transformers``' image processors make, so the pixels match theirs exactly; Donut's and
        Nougat's thumbnails pass ``reducing_gap=2.0``). 1- and 3-channel images with filters 1-5 (and no
        ``reducing_gap``) go through a Rust port of Pillow's convolution resampling, bit for bit the
        same bytes; the rest (nearest, ``reducing_gap``, alpha images) through Pillow itself.

        ``resample``: 0 nearest, 1 lanczos, 2 bilinear (default), 3 bicubic, 4 box, 5 hamming, or the
        name. ``width`` or ``height`` may be ``None`` to keep the aspect ratio (rounded).
        Transformers.js on Node resamples with sharp instead, which can differ by a few levels.
        """
        filter_id = resample_id(resample)
        if width is None and height is None:
            raise InvalidInputError("resize needs a width, a height or both")
        if width is None:
            width = max(1, round(self.width * height / self.height))
        elif height is None:
            height = max(1, round(self.height * width / self.width))
        for name, value in (("width", width), ("height", height)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise InvalidInputError(f"resize {name} must be a positive integer, got {value!r}")
        width, height = int(width), int(height)
        if (width, height) == self.size:
            return self.clone()  # what Pillow's resize returns for an unchanged size
        if reducing_gap is None and filter_id != 0 and self.channels in (1, 3):
            # L / RGB with a convolution filter: the Rust port of Pillow's resampling (same bytes,
            # faster, GIL released). NEAREST, reducing_gap (Pillow's reduce() first) and alpha images
            # (Pillow premultiplies alpha around the resize) stay on Pillow.
            order = _rust_pass_order()
            if order is not None:
                return RawImage._wrap(self._rust_resize(width, height, filter_id, order))
        return RawImage._wrap_pil(self._as_pil().resize((width, height), resample=filter_id, reducing_gap=reducing_gap))

    def _rust_resize(self, width: int, height: int, filter_id: int, horizontal_first: bool) -> np.ndarray:
        from .._core import resample_arrow, resample_u8

        if self._pixels is not None:
            return resample_u8(np.ascontiguousarray(self._pixels), width, height, filter_id,
                               horizontal_first=horizontal_first)
        pil = self._pil
        try:
            # Pillow's own buffer, zero-copy (Pillow >= 11.2, images stored in one block); a layout
            # this code does not know is refused by resample_arrow (an InvalidInputError, a ValueError)
            _, array = pil.__arrow_c_array__()
            return resample_arrow(array, pil.width, pil.height, self.channels, width, height, filter_id,
                                  horizontal_first=horizontal_first)
        except (AttributeError, ValueError, TypeError):
            # tobytes(): a copy out of Pillow's 4-bytes-per-pixel storage (GIL held while it copies)
            pixels = np.frombuffer(pil.tobytes(), dtype=np.uint8).reshape(pil.height, pil.width, self.channels)
            return resample_u8(pixels, width, height, filter_id, horizontal_first=horizontal_first)

    def crop(self, box: Sequence[int]) -> "RawImage":
        """A copy of the pixels in ``[x_min, y_min, x_max, y_max]`` (inclusive bounds, clamped to the
        image, as in Transformers.js)."""
        try:
            x_min, y_min, x_max, y_max = (int(v) for v in box)
        except (TypeError, ValueError):
            raise InvalidInputError(f"crop expects [x_min, y_min, x_max, y_max], got {box!r}") from None
        x_min, y_min = max(x_min, 0), max(y_min, 0)
        x_max, y_max = min(x_max, self.width - 1), min(y_max, self.height - 1)
        if x_max < x_min or y_max < y_min:
            raise InvalidInputError(f"crop box {list(box)} is empty for a {self.width}x{self.height} image")
        return RawImage._wrap(self._array()[y_min:y_max + 1, x_min:x_max + 1].copy())

    def center_crop(self, crop_width: int, crop_height: int) -> "RawImage":
        """A ``crop_width × crop_height`` copy around the centre, zero-padded where the image is smaller
        (the arithmetic of ``transformers.image_transforms.center_crop``)."""
        return RawImage._wrap(center_crop_array(self._array(), int(crop_height), int(crop_width)))

    def pad(self, padding: Sequence[int]) -> "RawImage":
        """A copy with ``[left, right, top, bottom]`` pixels of zeros added (negative values count as 0)."""
        try:
            left, right, top, bottom = (max(int(v), 0) for v in padding)
        except (TypeError, ValueError):
            raise InvalidInputError(f"pad expects [left, right, top, bottom], got {padding!r}") from None
        if not (left or right or top or bottom):
            return self.clone()
        out = np.zeros((self.height + top + bottom, self.width + left + right, self.channels), np.uint8)
        out[top:top + self.height, left:left + self.width] = self._array()
        return RawImage._wrap(out)

    # ------------------------------------------------------------------------------ output
    def save(self, path: Union[str, os.PathLike], format: Optional[str] = None, **options: Any) -> None:
        """Write the image; the format comes from the extension (PNG when there is none)."""
        path = Path(path)
        if format is None:
            ext = path.suffix.lower().lstrip(".")
            format = None if ext in CONTENT_TYPE_MAP else "PNG"
        image = self.to_pil()
        if (format or path.suffix.lower().lstrip(".")).lower() in ("jpg", "jpeg") and self.channels in (2, 4):
            image = image.convert("RGB" if self.channels == 4 else "L")  # JPEG has no alpha
        try:
            image.save(path, format=format, **options)
        except (OSError, ValueError, KeyError) as exc:
            raise InvalidInputError(f"cannot save image to {str(path)!r}: {exc}") from exc


# ---------------------------------------------------------------------------------------------------
# helpers


def load_image(image: Any) -> RawImage:
    """``RawImage.read`` (the pipelines' ``prepareImages`` step for one input)."""
    return RawImage.read(image)


def _fetch(url: str) -> bytes:
    from .. import __version__

    request = urllib.request.Request(url, headers={"User-Agent": f"onnxformers/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=URL_TIMEOUT) as response:  # noqa: S310 - user's URL
            return response.read()
    except urllib.error.HTTPError as exc:
        raise InvalidInputError(f"Unable to read image from {url!r} ({exc.code} {exc.reason})") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InvalidInputError(f"Unable to read image from {url!r}: {reason}") from exc


_PASS_ORDER: Any = ()  # not probed yet


def _rust_pass_order() -> Optional[bool]:
    """How the installed Pillow orders its two resampling passes (the order changes the rounding of the
    intermediate image): False for Pillow 13's rule (vertical first when the height shrinks much more
    than the width), True for always horizontal first (older Pillow), None when neither reproduces
    this Pillow (then every resize stays on Pillow). Probed once on small seeded images."""
    global _PASS_ORDER
    if _PASS_ORDER == ():
        from .._core import resample_u8

        Image = _pil()
        rng = np.random.default_rng(1234)
        # (w, h) → (ow, oh), filter: Pillow 13 goes vertical first on the first three, horizontal on the rest
        cases = [((36, 31), (32, 16), 2), ((20, 30), (67, 19), 3), ((50, 100), (40, 30), 1),
                 ((100, 50), (30, 40), 2), ((23, 17), (9, 41), 5)]
        found = None
        for horizontal_first in (False, True):
            ok = True
            for (w, h), (ow, oh), f in cases:
                for channels in (1, 3):
                    pixels = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
                    pil = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)
                    want = np.asarray(pil.resize((ow, oh), resample=f)).reshape(oh, ow, channels)
                    got = resample_u8(pixels, ow, oh, f, horizontal_first=horizontal_first)
                    ok = ok and bool(np.array_equal(want, got))
            if ok:
                found = horizontal_first
                break
        _PASS_ORDER = found
    return _PASS_ORDER


def _pil_to_array(image: "PILImage.Image") -> np.ndarray:
    """(H, W, C) uint8 pixels of any Pillow image, C in 1-4 (see the module docs for the rules)."""
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        array = np.asarray(image)
    elif mode == "1":
        array = np.asarray(image.convert("L"))
    elif mode in ("P", "PA"):
        keep_alpha = mode == "PA" or "transparency" in image.info
        array = np.asarray(image.convert("RGBA" if keep_alpha else "RGB"))
    elif mode == "La":
        array = np.asarray(image.convert("LA"))
    elif mode == "RGBa":
        array = np.asarray(image.convert("RGBA"))
    elif mode.startswith("I"):  # I;16, I;16B, I;16L, I;16N, I (32-bit)
        values = np.asarray(image).astype(np.float64)
        if mode != "I" or (values.size and values.max() > 255):
            values = values / 257.0  # 65535 → 255
        array = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    elif mode == "F":
        values = np.asarray(image).astype(np.float64)
        if values.size and np.nanmax(values) <= 1.0:
            values = values * 255.0
        array = np.clip(np.rint(np.nan_to_num(values)), 0, 255).astype(np.uint8)
    else:  # CMYK, YCbCr, LAB, HSV, RGBX…
        array = np.asarray(image.convert("RGB"))
    if array.ndim == 2:
        array = array[:, :, None]
    return np.ascontiguousarray(array, dtype=np.uint8)


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if not np.issubdtype(array.dtype, np.number):
        raise InvalidInputError(f"image array must be numeric, got dtype {array.dtype}")
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise InvalidInputError("image array contains NaN or infinite values")
    lo, hi = float(values.min()), float(values.max())
    # transformers' _rescale_for_pil_conversion: whole numbers in [0, 255] are pixel values; floats in
    # [0, 1] are rescaled; anything else is ambiguous.
    if lo >= 0 and hi <= 255 and np.array_equal(values, np.round(values)):
        return values.astype(np.uint8)
    if lo >= 0 and hi <= 1:
        return np.rint(values * 255.0).astype(np.uint8)
    raise InvalidInputError(
        f"image array of dtype {array.dtype} has values in [{lo:g}, {hi:g}]; expected whole numbers in "
        "[0, 255] or floats in [0, 1]")


def center_crop_array(pixels: np.ndarray, crop_height: int, crop_width: int) -> np.ndarray:
    """Centre crop of an (H, W, ...) array with zero padding, the arithmetic of
    ``transformers.image_transforms.center_crop``."""
    if crop_height < 1 or crop_width < 1:
        raise InvalidInputError(f"crop size must be positive, got {crop_width}x{crop_height}")
    orig_h, orig_w = pixels.shape[:2]
    top = (orig_h - crop_height) // 2
    left = (orig_w - crop_width) // 2
    bottom, right = top + crop_height, left + crop_width
    if top >= 0 and left >= 0 and bottom <= orig_h and right <= orig_w:
        return np.ascontiguousarray(pixels[top:bottom, left:right])
    new_h, new_w = max(crop_height, orig_h), max(crop_width, orig_w)
    padded = np.zeros((new_h, new_w) + pixels.shape[2:], dtype=pixels.dtype)
    top_pad = -(-(new_h - orig_h) // 2)  # ceil
    left_pad = -(-(new_w - orig_w) // 2)
    padded[top_pad:top_pad + orig_h, left_pad:left_pad + orig_w] = pixels
    top, bottom, left, right = top + top_pad, bottom + top_pad, left + left_pad, right + left_pad
    return np.ascontiguousarray(padded[max(0, top):min(new_h, bottom), max(0, left):min(new_w, right)])
