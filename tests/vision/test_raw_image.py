"""RawImage: reading every input kind, decoding rules (EXIF, modes, 16-bit), conversions, geometry and
the errors for bad inputs. Pillow (the library transformers uses) is the oracle for pixels."""

from __future__ import annotations

import io
import socket
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from onnxformers import InvalidInputError
from onnxformers.utils.image import RawImage, center_crop_array, load_image

from vision_helpers import IMAGES

READABLE = ["photo.jpg", "odd.png", "tall.png", "rgba.png", "gray.png", "gray16.png", "la.png", "palette.png",
            "cmyk.jpg", "exif_rotate6.jpg"]


def pil_pixels(name: str, mode: str | None = None) -> np.ndarray:
    with Image.open(IMAGES / name) as im:
        im = ImageOps.exif_transpose(im)
        if mode:
            im = im.convert(mode)
        arr = np.asarray(im)
    return arr[:, :, None] if arr.ndim == 2 else arr


# ---------------------------------------------------------------------------------------------------
# decoding


@pytest.mark.parametrize("name", READABLE)
def test_read_gives_the_manifest_size_and_channels(name, manifest):
    image = RawImage.read(str(IMAGES / name))
    expected = manifest[name]
    assert (image.width, image.height, image.channels) == (expected["width"], expected["height"], expected["channels"])
    assert image.size == (image.width, image.height)
    assert image.data.dtype == np.uint8 and image.data.shape == (image.width * image.height * image.channels,)


@pytest.mark.parametrize("name,mode", [("photo.jpg", None), ("odd.png", None), ("rgba.png", None), ("gray.png", None),
                                       ("la.png", None), ("palette.png", "RGBA"), ("cmyk.jpg", "RGB")])
def test_pixels_equal_pillow(name, mode):
    assert np.array_equal(RawImage.read(IMAGES / name).to_numpy(), pil_pixels(name, mode))


def test_exif_orientation_is_applied():
    with Image.open(IMAGES / "exif_rotate6.jpg") as im:
        stored = np.asarray(im)
        assert im.getexif()[0x0112] == 6 and im.size == (40, 24)
    image = RawImage.read(IMAGES / "exif_rotate6.jpg")
    assert image.size == (24, 40)
    # orientation 6 = rotate 90 degrees clockwise for display
    assert np.array_equal(image.to_numpy(), np.rot90(stored, k=-1))


def test_16_bit_gray_is_scaled_not_clipped():
    with Image.open(IMAGES / "gray16.png") as im:
        assert im.mode.startswith("I")
        raw = np.asarray(im).astype(np.float64)
    image = RawImage.read(IMAGES / "gray16.png")
    assert image.channels == 1
    assert np.array_equal(image.to_numpy()[:, :, 0], np.rint(raw / 257).astype(np.uint8))
    assert image.to_numpy().max() == 255 and image.to_numpy().min() == 0


def test_palette_transparency_becomes_alpha():
    image = RawImage.read(IMAGES / "palette.png")
    assert image.channels == 4
    assert 0 in image.to_numpy()[:, :, 3]  # the transparent palette index


def test_every_input_kind_gives_the_same_pixels(image_server):
    path = IMAGES / "odd.png"
    expected = RawImage.read(str(path))
    data = path.read_bytes()
    with Image.open(path) as pil:
        pil.load()
        candidates = [
            path, str(path), data, bytearray(data), memoryview(data), io.BytesIO(data), pil,
            expected.to_numpy(), expected, image_server + "odd.png", path.resolve().as_uri(),
        ]
        for item in candidates:
            got = RawImage.read(item)
            assert got == expected, type(item)
    assert RawImage.read(expected) is expected  # as Transformers.js: a RawImage is returned as is
    assert RawImage.from_url(image_server + "odd.png") == expected
    assert load_image(str(path)) == expected


def test_arrays_hw_hwc_float_and_chw():
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert RawImage.read(hwc).size == (7, 5)
    gray = RawImage.read(hwc[:, :, 0])
    assert gray.channels == 1 and np.array_equal(gray.to_numpy()[:, :, 0], hwc[:, :, 0])
    # floats in [0, 1] are scaled by 255 and rounded (transformers' to_pil_image rule)
    assert np.array_equal(RawImage.from_array(hwc / 255.0).to_numpy(), hwc)
    # whole numbers in [0, 255] of another dtype are cast
    assert np.array_equal(RawImage.from_array(hwc.astype(np.int64)).to_numpy(), hwc)
    chw = np.ascontiguousarray(hwc.transpose(2, 0, 1))
    assert np.array_equal(RawImage.from_tensor(chw).to_numpy(), hwc)
    assert np.array_equal(RawImage.from_tensor(hwc, channel_format="HWC").to_numpy(), hwc)
    assert np.array_equal(RawImage.read(hwc).to_tensor(), chw)
    assert np.array_equal(np.asarray(RawImage.read(hwc)), hwc)


def test_constructor_flat_buffer_and_views():
    image = RawImage(bytes(range(24)), 4, 2, 3)
    assert image.to_numpy()[1, 0].tolist() == [12, 13, 14]
    image.data[0] = 99  # `data` is a writable view, as the JS Uint8ClampedArray
    assert image.to_numpy()[0, 0, 0] == 99
    assert RawImage(image.to_numpy(), 4, 2, 3) == image
    with pytest.raises(InvalidInputError, match="needs 24"):
        RawImage(bytes(23), 4, 2, 3)
    with pytest.raises(InvalidInputError, match="channels"):
        RawImage(bytes(40), 4, 2, 5)
    with pytest.raises(InvalidInputError, match="positive"):
        RawImage(b"", 0, 0, 3)


# ---------------------------------------------------------------------------------------------------
# bad inputs


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("bad,match", [
    (IMAGES / "truncated.jpg", "truncated"),
    (IMAGES / "not_an_image.png", "cannot"),
    (IMAGES / "missing.png", "does not exist"),
    (b"\x89PNG\r\n\x1a\n", "cannot read"),
    (b"", "cannot read"),
    (np.zeros((0, 5, 3), np.uint8), "no pixels"),
    (np.zeros((4, 5, 5), np.uint8), "1-4 channels"),
    (np.zeros((2, 4, 5, 3, 1), np.uint8), "shaped"),
    (np.zeros(7, np.uint8), "shaped"),
    (np.full((3, 3), np.nan), "NaN"),
    (np.full((3, 3), 300.5), "values in"),
    (np.array([["a"]]), "numeric"),
    (12345, "Unsupported image input"),
    (None, "Unsupported image input"),
])
def test_bad_inputs_raise_invalid_input(bad, match):
    with pytest.raises(InvalidInputError, match=match):
        RawImage.read(bad)


def test_zero_sized_pil_image():
    with pytest.raises(InvalidInputError, match="empty"):
        RawImage.from_pil(Image.new("RGB", (0, 0)))


def test_unreachable_and_missing_urls(image_server):
    with pytest.raises(InvalidInputError, match="Unable to read image"):
        RawImage.read(f"http://127.0.0.1:{_closed_port()}/x.png")
    with pytest.raises(InvalidInputError, match="404"):
        RawImage.read(image_server + "nope.png")
    with pytest.raises(InvalidInputError, match="truncated"):
        RawImage.read(image_server + "truncated.jpg")


def test_decompression_bomb_is_refused_before_decoding():
    # 20000 x 20000 = 400 megapixels, more than twice Pillow's MAX_IMAGE_PIXELS: refused at open()
    with pytest.raises(InvalidInputError, match="too large"):
        RawImage.read(_png_header(20000, 20000))
    assert isinstance(InvalidInputError("x"), ValueError)


# ---------------------------------------------------------------------------------------------------
# conversions (in place, chainable, as Transformers.js)


def test_grayscale_matches_pillow_luma_and_is_in_place():
    image = RawImage.read(IMAGES / "photo.jpg")
    assert image.grayscale() is image and image.channels == 1
    assert np.array_equal(image.to_numpy(), pil_pixels("photo.jpg", "L"))
    rgba = RawImage.read(IMAGES / "rgba.png")
    assert np.array_equal(rgba.clone().grayscale().to_numpy(), pil_pixels("rgba.png", "L"))


def test_rgb_and_rgba_conversions():
    gray = RawImage.read(IMAGES / "gray.png")
    rgb = gray.clone().rgb()
    assert rgb.channels == 3 and np.array_equal(rgb.to_numpy(), pil_pixels("gray.png", "RGB"))
    rgba = gray.clone().rgba()
    assert np.array_equal(rgba.to_numpy(), pil_pixels("gray.png", "RGBA"))
    color = RawImage.read(IMAGES / "rgba.png")
    assert np.array_equal(color.clone().rgb().to_numpy(), pil_pixels("rgba.png", "RGB"))  # alpha dropped
    la = RawImage.read(IMAGES / "la.png")
    assert np.array_equal(la.clone().rgba().to_numpy(), pil_pixels("la.png", "RGBA"))
    assert np.array_equal(la.clone().convert(3).to_numpy(), pil_pixels("la.png", "RGB"))
    photo = RawImage.read(IMAGES / "photo.jpg")
    assert photo.convert(3) is photo and photo.rgb() is photo
    assert photo.clone().convert(4).convert(1).channels == 1
    with pytest.raises(InvalidInputError):
        photo.convert(2)


# ---------------------------------------------------------------------------------------------------
# geometry


@pytest.mark.parametrize("resample,pil_filter", [
    (0, Image.Resampling.NEAREST), (1, Image.Resampling.LANCZOS), (2, Image.Resampling.BILINEAR),
    (3, Image.Resampling.BICUBIC), (4, Image.Resampling.BOX), (5, Image.Resampling.HAMMING),
    ("bicubic", Image.Resampling.BICUBIC), ("lanczos", Image.Resampling.LANCZOS), (Image.Resampling.BOX, Image.Resampling.BOX),
])
@pytest.mark.parametrize("name,size", [("photo.jpg", (61, 47)), ("odd.png", (200, 9)), ("rgba.png", (17, 33)), ("gray.png", (41, 31))])
def test_resize_is_pillows_resize(resample, pil_filter, name, size):
    image = RawImage.read(IMAGES / name)
    before = image.to_numpy()
    out = image.resize(*size, resample=resample)
    with Image.open(IMAGES / name) as im:
        expected = np.asarray(im.resize(size, resample=pil_filter))
    expected = expected[:, :, None] if expected.ndim == 2 else expected
    assert out.size == size and np.array_equal(out.to_numpy(), expected)
    assert np.array_equal(image.to_numpy(), before)  # resize returns a new image


def test_resize_options():
    image = RawImage.read(IMAGES / "photo.jpg")  # 160 x 120
    assert image.resize(80, None).size == (80, 60)
    assert image.resize(None, 30).size == (40, 30)
    same = image.resize(160, 120)
    assert same == image and same is not image
    for bad in ((0, 10), (10, -1), (1.5, 3), (None, None)):
        with pytest.raises(InvalidInputError):
            image.resize(*bad)
    with pytest.raises(InvalidInputError, match="resample"):
        image.resize(10, 10, resample="cubic-ish")
    with pytest.raises(InvalidInputError, match="resample"):
        image.resize(10, 10, resample=9)


def test_crop_is_inclusive_and_clamped():
    image = RawImage.read(IMAGES / "odd.png")  # 37 x 23
    pixels = image.to_numpy()
    assert np.array_equal(image.crop([2, 3, 10, 5]).to_numpy(), pixels[3:6, 2:11])
    assert np.array_equal(image.crop([-5, -5, 100, 100]).to_numpy(), pixels)
    with pytest.raises(InvalidInputError):
        image.crop([10, 10, 5, 5])


@pytest.mark.parametrize("crop", [(20, 11), (37, 23), (40, 30), (50, 10), (11, 40), (1, 1)])
def test_center_crop_matches_transformers(crop):
    tt = pytest.importorskip("transformers.image_transforms")
    from transformers.image_utils import ChannelDimension

    image = RawImage.read(IMAGES / "odd.png")
    width, height = crop
    expected = tt.center_crop(image.to_numpy(), (height, width), input_data_format=ChannelDimension.LAST)
    got = image.center_crop(width, height)
    assert got.size == (width, height) and np.array_equal(got.to_numpy(), expected)
    assert np.array_equal(center_crop_array(image.to_numpy(), height, width), expected)


def test_pad_and_clone():
    image = RawImage.read(IMAGES / "gray.png")
    padded = image.pad([1, 2, 3, 4])
    assert padded.size == (image.width + 3, image.height + 7)
    assert np.array_equal(padded.to_numpy()[3:-4, 1:-2], image.to_numpy())
    assert padded.to_numpy()[:3].sum() == 0 and padded.to_numpy()[:, -2:].sum() == 0
    assert image.pad([0, -1, 0, 0]) == image
    copy = image.clone()
    copy.data[:] = 0
    assert image.to_numpy().any()


@pytest.mark.parametrize("suffix,lossless", [(".png", True), (".bmp", True), (".jpg", False), ("", True)])
def test_save_round_trip(tmp_path: Path, suffix, lossless):
    image = RawImage.read(IMAGES / "rgba.png")
    path = tmp_path / f"out{suffix}"
    image.save(path)
    back = RawImage.read(path)
    if suffix == ".jpg":  # JPEG has no alpha: saved as RGB
        assert back.channels == 3 and back.size == image.size
    elif lossless and suffix != ".bmp":
        assert back == image
    else:
        assert back.size == image.size
    with pytest.raises(InvalidInputError):
        image.save(tmp_path / "missing-dir" / "x.png")


def test_to_pil_modes():
    for name, mode in (("photo.jpg", "RGB"), ("rgba.png", "RGBA"), ("gray.png", "L"), ("la.png", "LA")):
        image = RawImage.read(IMAGES / name)
        pil = image.to_pil()
        assert pil.mode == mode and pil.size == image.size
        assert RawImage.from_pil(pil) == image


def test_writes_through_data_are_seen_by_later_operations():
    # a decoded image keeps Pillow's buffer until numpy is needed: writes must never be lost
    image = RawImage.read(IMAGES / "photo.jpg")
    view = image.data
    view[:] = 7
    assert image.resize(16, 12).to_numpy().max() == 7
    assert image.to_pil().getpixel((0, 0)) == (7, 7, 7)
    again = RawImage.read(IMAGES / "photo.jpg")
    np.asarray(again)[:] = 9  # numpy may hand out a writable view too
    assert again.resize(8, 6).to_numpy().max() == 9 and again.clone().grayscale().to_numpy().max() == 9
    twin = RawImage.read(IMAGES / "photo.jpg")
    copy = twin.clone()
    copy.data[:] = 0
    assert twin.to_numpy().any() and not copy.to_numpy().any()
