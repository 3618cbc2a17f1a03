"""The Rust image kernels: Pillow-exact resampling (``_core.resample_u8``, used by ``RawImage.resize``)
compared byte for byte with ``PIL.Image.resize``; the fused uint8 → float32 CHW conversion; the batched
(two-round) processor call compared with the per-image path and with ``transformers``; bad inputs."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from onnxformers import InvalidInputError, _core  # noqa: E402
from onnxformers.processors.image import IMAGE_PROCESSORS, set_num_threads  # noqa: E402
from onnxformers.utils import image as image_module  # noqa: E402
from onnxformers.utils.image import RawImage  # noqa: E402

FILTERS = [1, 2, 3, 4, 5]  # lanczos, bilinear, bicubic, box, hamming
PILLOW_13 = int(PIL.__version__.split(".")[0]) >= 13
# the pass order of the installed Pillow, as RawImage.resize probes it (None: no order reproduces it,
# and every comparison below fails)
HORIZONTAL_FIRST = image_module._rust_pass_order()


def _pixels(height: int, width: int, channels: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)


def _pillow(pixels: np.ndarray, width: int, height: int, resample: int) -> np.ndarray:
    channels = pixels.shape[2]
    pil = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)
    return np.asarray(pil.resize((width, height), resample=resample)).reshape(height, width, channels)


# (width, height) → (out_width, out_height): up, down, mixed, odd, 1-pixel, extreme ratios, and sizes
# on both sides of Pillow 13's pass-order rule
SIZES = [
    ((1, 1), (1, 1)), ((1, 1), (5, 3)), ((5, 3), (1, 1)), ((1, 9), (4, 1)), ((9, 1), (1, 4)),
    ((2, 2), (3, 3)), ((3, 3), (2, 2)), ((37, 23), (5, 9)), ((5, 9), (37, 23)), ((17, 31), (31, 17)),
    ((4000, 3), (7, 5)), ((3, 4000), (5, 7)), ((1000, 2), (3, 1)), ((2, 1000), (1, 3)),
    ((36, 31), (32, 16)), ((20, 30), (67, 19)), ((50, 100), (40, 30)), ((100, 50), (30, 40)),
    ((64, 64), (64, 31)), ((64, 64), (31, 64)), ((640, 480), (224, 224)), ((333, 517), (800, 1242)),
    ((1936, 1291), (1199, 800)), ((101, 97), (99, 95)),
]


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("resample", FILTERS)
def test_resample_equals_pillow(resample: int, channels: int) -> None:
    for i, ((w, h), (ow, oh)) in enumerate(SIZES):
        pixels = _pixels(h, w, channels, seed=i * 7 + channels)
        want = _pillow(pixels, ow, oh, resample)
        got = _core.resample_u8(pixels, ow, oh, resample, horizontal_first=HORIZONTAL_FIRST)
        assert got.dtype == np.uint8 and got.shape == (oh, ow, channels)
        assert np.array_equal(got, want), f"{w}x{h} -> {ow}x{oh}, filter {resample}, {channels} channel(s)"


@settings(max_examples=150, deadline=None)
@given(w=st.integers(1, 70), h=st.integers(1, 70), ow=st.integers(1, 70), oh=st.integers(1, 70),
       channels=st.sampled_from([1, 3]), resample=st.sampled_from(FILTERS), seed=st.integers(0, 2**32 - 1))
def test_resample_equals_pillow_random_sizes(w, h, ow, oh, channels, resample, seed) -> None:
    pixels = _pixels(h, w, channels, seed)
    got = _core.resample_u8(pixels, ow, oh, resample, horizontal_first=HORIZONTAL_FIRST)
    assert np.array_equal(got, _pillow(pixels, ow, oh, resample))


@pytest.mark.parametrize("resample", FILTERS)
def test_horizontal_first_order_is_two_single_axis_pillow_resizes(resample: int) -> None:
    """The pre-13 order (horizontal pass, then vertical) equals two one-axis Pillow resizes (each a
    single pass): checks the other order without an older Pillow."""
    for i, ((w, h), (ow, oh)) in enumerate(SIZES[:20]):
        pixels = _pixels(h, w, 3, seed=i)
        want = _pillow(_pillow(pixels, ow, h, resample), ow, oh, resample)
        assert np.array_equal(_core.resample_u8(pixels, ow, oh, resample, horizontal_first=True), want)


@pytest.mark.skipif(not hasattr(Image.Image, "__arrow_c_array__"), reason="Pillow without Arrow export")
@pytest.mark.parametrize("resample", FILTERS)
def test_resample_arrow_reads_pillow_memory(resample: int) -> None:
    """Straight from Pillow's storage (4 bytes per RGB pixel, the padding byte skipped)."""
    for i, ((w, h), (ow, oh)) in enumerate(SIZES):
        for channels in (1, 3):
            pixels = _pixels(h, w, channels, seed=i)
            pil = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)
            _, array = pil.__arrow_c_array__()
            got = _core.resample_arrow(array, w, h, channels, ow, oh, resample, horizontal_first=HORIZONTAL_FIRST)
            assert np.array_equal(got, _pillow(pixels, ow, oh, resample)), f"{w}x{h} -> {ow}x{oh}, {channels}"


@pytest.mark.skipif(not hasattr(Image.Image, "__arrow_c_array__"), reason="Pillow without Arrow export")
def test_resample_arrow_bad_inputs() -> None:
    pil = Image.fromarray(_pixels(4, 5, 3, seed=0))
    schema, array = pil.__arrow_c_array__()
    for args in [
        (schema, 5, 4, 3, 2, 2, 2),  # the schema capsule
        ("not a capsule", 5, 4, 3, 2, 2, 2),
        (array, 5, 5, 3, 2, 2, 2),  # wrong size
        (array, 0, 4, 3, 2, 2, 2),
        (array, 5, 4, 1, 2, 2, 2),  # RGB storage read as L
        (array, 5, 4, 4, 2, 2, 2),
        (array, 5, 4, 3, 0, 2, 2),
        (array, 5, 4, 3, 2, 2, 0),
    ]:
        with pytest.raises(InvalidInputError):
            _core.resample_arrow(*args)
    _, gray = Image.fromarray(_pixels(4, 5, 1, seed=0)[:, :, 0]).__arrow_c_array__()
    with pytest.raises(InvalidInputError):
        _core.resample_arrow(gray, 5, 4, 3, 2, 2, 2)  # L storage read as RGB


def test_pass_order_probe_matches_installed_pillow() -> None:
    assert HORIZONTAL_FIRST is not None, "neither pass order reproduces this Pillow"
    if PILLOW_13:
        assert HORIZONTAL_FIRST is False  # Pillow 13: vertical first when the height shrinks much more


def test_rawimage_resize_uses_rust_and_matches_pillow() -> None:
    for channels, mode in ((1, "L"), (3, "RGB")):
        pixels = _pixels(97, 131, channels, seed=channels)
        buffer = io.BytesIO()
        Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels).save(buffer, format="PNG")
        decoded = RawImage.read(buffer.getvalue())  # Pillow-backed: goes through tobytes()
        in_memory = RawImage(pixels, 131, 97, channels)  # numpy-backed
        for resample in FILTERS:
            for size in ((64, 48), (200, 33), (13, 150)):
                want = np.asarray(Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)
                                  .resize(size, resample=resample)).reshape(size[1], size[0], channels)
                for raw in (decoded, in_memory):
                    out = raw.resize(*size, resample=resample)
                    assert out._pil is None, "1/3-channel convolution resizes run in Rust"
                    assert out.mode == mode and np.array_equal(out.to_numpy(), want)


def test_rawimage_resize_falls_back_when_the_arrow_layout_is_unknown(monkeypatch) -> None:
    """A Pillow whose Arrow export the kernel does not recognise (resample_arrow refuses it with an
    InvalidInputError) still resizes, through tobytes()."""
    pixels = _pixels(50, 64, 3, seed=4)
    raw = RawImage.from_pil(Image.fromarray(pixels))
    calls = []

    def refuses(*args, **kwargs):
        calls.append(args)
        raise InvalidInputError("unexpected Arrow image array: length, offset or buffers")

    monkeypatch.setattr(_core, "resample_arrow", refuses)
    out = raw.resize(31, 22, resample=2)
    assert np.array_equal(out.to_numpy(), _pillow(pixels, 31, 22, 2))
    assert calls or not hasattr(raw._pil, "__arrow_c_array__")


def test_rawimage_resize_of_image_in_several_blocks() -> None:
    """Pillow stores big images in several blocks, which its Arrow export refuses: the pixels then come
    out through tobytes() (forced here with a tiny block size)."""
    core = Image.core
    if not hasattr(core, "set_block_size"):
        pytest.skip("Pillow without set_block_size")
    pixels = _pixels(60, 70, 3, seed=9)
    old = core.get_block_size()
    core.set_block_size(4096)
    try:
        pil = Image.fromarray(pixels).copy()
        raw = RawImage.from_pil(pil)
        if hasattr(raw._pil, "__arrow_c_array__"):
            with pytest.raises(ValueError):
                raw._pil.__arrow_c_array__()
        out = raw.resize(33, 41, resample=3)
    finally:
        core.set_block_size(old)
    assert np.array_equal(out.to_numpy(), _pillow(pixels, 33, 41, 3))


def test_rawimage_resize_keeps_pillow_for_alpha_nearest_and_reducing_gap() -> None:
    rgba = _pixels(40, 50, 4, seed=3)
    raw = RawImage(rgba, 50, 40, 4)
    want = np.asarray(Image.fromarray(rgba).resize((17, 23), resample=2))
    assert np.array_equal(raw.resize(17, 23, resample=2).to_numpy(), want)
    rgb = RawImage(rgba[:, :, :3].copy(), 50, 40, 3)
    for kwargs, want in (
        ({"resample": 0}, Image.fromarray(rgba[:, :, :3]).resize((17, 23), resample=0)),
        ({"resample": 2, "reducing_gap": 2.0}, Image.fromarray(rgba[:, :, :3]).resize((17, 23), 2, reducing_gap=2.0)),
    ):
        assert np.array_equal(rgb.resize(17, 23, **kwargs).to_numpy(), np.asarray(want))


# ----------------------------------------------------------------------------------- to float


def test_u8_to_f32_chw_equals_table_lookup_into_padded_window() -> None:
    pixels = _pixels(13, 21, 3, seed=5)
    table = np.random.default_rng(1).standard_normal((3, 256)).astype(np.float32)
    want = np.stack([table[c][pixels[:, :, c]] for c in range(3)])
    batch = np.full((2, 3, 16, 25), 7.0, dtype=np.float32)
    _core.u8_to_f32_chw(pixels, table, batch[1, :, :13, :21])
    assert np.array_equal(batch[1, :, :13, :21], want)
    assert (batch[1, :, 13:] == 7).all() and (batch[1, :, :, 21:] == 7).all() and (batch[0] == 7).all()
    out = np.empty((3, 13, 21), dtype=np.float32)
    _core.u8_to_f32_chw(pixels, table, out, flip=True)
    assert np.array_equal(out, want[::-1])
    gray = pixels[:, :, :1].copy()
    out = np.empty((1, 13, 21), dtype=np.float32)
    _core.u8_to_f32_chw(gray, table[:1].copy(), out)
    assert np.array_equal(out[0], table[0][gray[:, :, 0]])


# ----------------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("pixels, width, height, resample", [
    (np.zeros((4, 4, 3), np.float32), 2, 2, 2),  # dtype
    (np.zeros((4, 4, 3), np.int16), 2, 2, 2),
    (np.zeros((4, 4), np.uint8), 2, 2, 2),  # ndim
    (np.zeros((1, 4, 4, 3), np.uint8), 2, 2, 2),
    (np.zeros((4, 4, 5), np.uint8), 2, 2, 2),  # channels
    (np.zeros((0, 4, 3), np.uint8), 2, 2, 2),  # empty
    (np.zeros((4, 4, 3), np.uint8), 0, 2, 2),  # zero target
    (np.zeros((4, 4, 3), np.uint8), 2, -1, 2),
    (np.zeros((4, 4, 3), np.uint8), 2, 2, 0),  # NEAREST is not a convolution
    (np.zeros((4, 4, 3), np.uint8), 2, 2, 6),
    (np.zeros((4, 8, 3), np.uint8)[:, ::2], 2, 2, 2),  # not contiguous
    ([[[0, 0, 0]]], 2, 2, 2),  # not an array
])
def test_resample_bad_inputs(pixels, width, height, resample) -> None:
    with pytest.raises(InvalidInputError):
        _core.resample_u8(pixels, width, height, resample)


def test_u8_to_f32_chw_bad_inputs() -> None:
    pixels = np.zeros((4, 5, 3), np.uint8)
    table = np.zeros((3, 256), np.float32)
    good = np.zeros((3, 4, 5), np.float32)
    bad_calls = [
        (pixels.astype(np.float32), table, good),
        (pixels, table[:2].copy(), good),
        (pixels, table.astype(np.float64), good),
        (pixels, table, np.zeros((3, 5, 4), np.float32)),
        (pixels, table, np.zeros((3, 4, 5), np.float64)),
        (pixels, table, np.zeros((3, 4, 10), np.float32)[:, :, ::2]),
        (pixels, table, np.zeros((3, 4, 5), np.float32)[:, ::-1]),
        (pixels, table, "out"),
    ]
    readonly = np.zeros((3, 4, 5), np.float32)
    readonly.flags.writeable = False
    bad_calls.append((pixels, table, readonly))
    for args in bad_calls:
        with pytest.raises(InvalidInputError):
            _core.u8_to_f32_chw(*args)


# ----------------------------------------------------------------------------------- batched processors

VIT = {"do_normalize": True, "do_resize": True, "do_rescale": True, "image_mean": [0.5, 0.5, 0.5],
       "image_std": [0.5, 0.5, 0.5], "resample": 2, "rescale_factor": 1 / 255, "size": {"height": 224, "width": 224}}
DETR = {"do_normalize": True, "do_resize": True, "do_rescale": True, "do_pad": True, "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225], "resample": 2, "rescale_factor": 1 / 255,
        "size": {"shortest_edge": 320, "longest_edge": 533}}
BATCH_SHAPES = [(300, 410), (517, 333), (240, 240), (97, 640), (333, 517)]


def _batch() -> list[np.ndarray]:
    return [_pixels(h, w, 3, seed=i) for i, (h, w) in enumerate(BATCH_SHAPES)]


def _per_image(processor, images, **overrides) -> dict:
    """The per-image path (preprocess every image, then collate), which the batched call replaces."""
    opts = processor._resolve(overrides) if overrides else processor.options
    return processor.collate([processor.preprocess(im, **overrides) for im in images], opts)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name, config, images", [
    ("ViTImageProcessor", VIT, [_pixels(300, 410, 3, seed=i) for i in range(4)]),
    ("ViTImageProcessor", dict(VIT, do_flip_channel_order=True), [_pixels(300, 410, 3, seed=i) for i in range(3)]),
    ("DetrImageProcessor", DETR, _batch()),
    ("DetrImageProcessor", dict(DETR, pad_size={"height": 600, "width": 700}), _batch()),
    ("DetrImageProcessor", dict(DETR, do_pad=False), [_pixels(300, 410, 3, seed=i) for i in range(3)]),
    ("YolosImageProcessor", DETR, _batch()),
    # decoded images (RawImage inputs), grayscale converted to RGB
    ("DetrImageProcessor", DETR, [RawImage.read(p) for p in _batch()]),
    ("DetrImageProcessor", dict(DETR, pad_size={"height": 600, "width": 700}), [RawImage.read(p) for p in _batch()]),
    ("DetrImageProcessor", dict(DETR, do_convert_rgb=True), [RawImage.read(p[:, :, 0]) for p in _batch()]),
])
def test_batched_call_equals_per_image_path(name, config, images, threads) -> None:
    processor = IMAGE_PROCESSORS[name](config)
    assert processor._fused_batch_ok(processor.options)
    set_num_threads(threads)
    try:
        got = processor(images)
    finally:
        set_num_threads(None)
    want = _per_image(processor, images)
    assert set(got) == set(want)
    for key, value in want.items():
        if isinstance(value, np.ndarray):
            assert got[key].dtype == value.dtype and np.array_equal(got[key], value), key
        else:
            assert got[key] == value, key


def test_batched_call_errors_are_the_per_image_ones() -> None:
    detr = IMAGE_PROCESSORS["DetrImageProcessor"](dict(DETR, do_pad=False))
    with pytest.raises(InvalidInputError, match="do_pad=True"):
        detr(_batch())
    small = IMAGE_PROCESSORS["DetrImageProcessor"](dict(DETR, pad_size={"height": 100, "width": 100}))
    with pytest.raises(InvalidInputError, match="cannot pad"):
        small(_batch())
    vit = IMAGE_PROCESSORS["ViTImageProcessor"](dict(VIT, do_resize=False))
    with pytest.raises(InvalidInputError, match="different shapes"):
        vit(_batch())


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name, config", [("ViTImageProcessor", VIT), ("DetrImageProcessor", DETR)])
def test_batched_call_equals_transformers(name, config, threads) -> None:
    transformers = pytest.importorskip("transformers")
    images = _batch()
    ref = getattr(transformers, name).from_dict(dict(config))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = ref([Image.fromarray(p) for p in images], return_tensors="np")
    set_num_threads(threads)
    try:
        got = IMAGE_PROCESSORS[name](config)(images)
    finally:
        set_num_threads(None)
    assert got["pixel_values"].shape == want["pixel_values"].shape
    assert float(np.max(np.abs(got["pixel_values"] - want["pixel_values"]))) == 0.0
    if "pixel_mask" in want:
        assert np.array_equal(got["pixel_mask"], want["pixel_mask"])



def test_absurd_target_size_is_an_error_not_an_abort() -> None:
    # the output alone would be ~844 TB: a clear error (as Pillow's MemoryError), never a Rust abort
    with pytest.raises(InvalidInputError, match="not enough memory"):
        _core.resample_u8(np.zeros((2, 2, 3), np.uint8), 2**24, 2**24, 2)
    with pytest.raises(InvalidInputError, match="not enough memory"):
        RawImage.read(np.zeros((2, 2, 3), np.uint8)).resize(2**24, 2**24)
