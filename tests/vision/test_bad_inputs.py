"""Bad and awkward image inputs through whole pipelines: every failure is an InvalidInputError (a
ValueError) that says what is wrong; odd but valid images (1x1, CMYK, palette, 16-bit) are converted."""

from __future__ import annotations

import socket
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from onnxformers import InvalidInputError, pipeline
from onnxformers.processors.image import DetrImageProcessor, SamImageProcessor, ViTImageProcessor
from onnxformers.utils.image import RawImage
from vision_helpers import IMAGES, MODELS


@pytest.fixture(scope="module")
def classifier():
    return pipeline("image-classification", str(MODELS / "tiny-vit-classifier"))


@pytest.fixture(scope="module")
def detector():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline("object-detection", str(MODELS / "tiny-detr-panoptic"))


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("bad,match", [
    (IMAGES / "truncated.jpg", "truncated"),
    (IMAGES / "not_an_image.png", "cannot"),
    (b"\x00\x01garbage", "cannot read"),
    (_png_header(20000, 20000), "too large"),  # 400 MP: refused before decoding (decompression bomb)
    (np.zeros((0, 0, 3), np.uint8), "no pixels"),
    (np.zeros((4, 4, 7), np.uint8), "1-4 channels"),
    (np.zeros((2, 2, 2, 2, 2), np.uint8), "shaped"),
    (np.zeros(12, np.uint8), "shaped"),
    (np.full((4, 4, 3), np.inf), "values in|NaN|finite"),
    (object(), "Unsupported image input"),
])
def test_pipelines_reject_bad_images_clearly(classifier, detector, bad, match):
    for pipe in (classifier, detector):
        with pytest.raises(InvalidInputError, match=match):
            pipe(bad)
    assert issubclass(InvalidInputError, ValueError)


def test_zero_by_zero_pil_image_and_unreachable_url(classifier):
    with pytest.raises(InvalidInputError, match="empty"):
        classifier(Image.new("RGB", (0, 0)))
    with pytest.raises(InvalidInputError, match="Unable to read image"):
        classifier(f"http://127.0.0.1:{_closed_port()}/cat.png")
    with pytest.raises(InvalidInputError, match="image 1 of the batch.*too large"):
        classifier([IMAGES / "photo.jpg", _png_header(20000, 20000)])


def test_one_by_one_images_are_processed(classifier, detector):
    pixel = np.array([[[200, 10, 30]]], np.uint8)
    assert len(classifier(pixel, top_k=2)) == 2
    detector(pixel, threshold=0.0)  # resized up to DETR's 48-pixel short side: runs
    for processor in (ViTImageProcessor({"size": {"height": 8, "width": 8}}),
                      DetrImageProcessor({"size": {"shortest_edge": 8, "longest_edge": 16}}),
                      SamImageProcessor({"size": {"longest_edge": 16}, "pad_size": {"height": 16, "width": 16}})):
        out = processor(pixel)
        assert np.isfinite(out["pixel_values"]).all() and out["original_sizes"] == [[1, 1]]


@pytest.mark.parametrize("name", ["cmyk.jpg", "palette.png", "gray16.png", "la.png", "rgba.png", "gray.png"])
def test_unusual_modes_are_converted(classifier, name):
    expected = classifier(RawImage.read(IMAGES / name).rgb(), top_k=None)
    assert classifier(str(IMAGES / name), top_k=None) == expected
    with Image.open(IMAGES / name) as pil:
        assert classifier(pil, top_k=None) == expected  # the PIL image in its own mode


def test_wrong_dtype_and_layout_arrays(classifier):
    with pytest.raises(InvalidInputError, match="numeric"):
        classifier(np.array([["a", "b"]]))
    # a CHW array is not guessed: it reads as a 3-pixel-high image with 64 channels → clear error
    with pytest.raises(InvalidInputError, match="1-4 channels"):
        classifier(np.zeros((3, 32, 64), np.uint8))
    chw = RawImage.from_tensor(np.zeros((3, 32, 64), np.uint8))  # the explicit way
    assert chw.size == (64, 32)
    assert len(classifier(chw, top_k=1)) == 1
