"""spectrogram() against transformers.audio_utils.spectrogram (numpy, float64) over many option
combinations, plus the Transformers.js extras and input validation."""

import numpy as np
import pytest

from onnxformers import InvalidInputError
from onnxformers.utils import audio as A

tau = pytest.importorskip("transformers.audio_utils")

RNG = np.random.default_rng(1234)
NOISE32 = (RNG.standard_normal(16000 * 2) * 0.3).astype(np.float32)
NOISE64 = RNG.standard_normal(7777) * 2.0
T = np.arange(12345) / 16000
CHIRP = (0.5 * np.sin(2 * np.pi * (200 * T + 1500 * T**2))).astype(np.float32)
INT16 = (RNG.standard_normal(5000) * 3000).astype(np.int16)


def _kaldi_bank(bins, mels):
    return tau.mel_filter_bank(bins, mels, 20.0, 8000.0, 16000, None, "kaldi", True)


def _slaney_bank(bins, mels):
    return tau.mel_filter_bank(bins, mels, 0.0, 8000.0, 16000, "slaney", "slaney")


CASES = {
    "amplitude-default": (NOISE32, ("hann", 400, True), dict(frame_length=400, hop_length=160)),
    "power-fft512-nocenter": (NOISE64, ("hann", 400, True, 512), dict(frame_length=512, hop_length=128,
                                                                      fft_length=512, power=2.0, center=False)),
    "frame-lt-fft": (CHIRP, ("hamming", 300, False), dict(frame_length=300, hop_length=100, fft_length=512,
                                                          power=2.0)),
    "odd-frame-gappy-hop": (NOISE64, ("hann", 255, True), dict(frame_length=255, hop_length=300, fft_length=256)),
    "pad-constant": (CHIRP, ("hann", 400, True), dict(frame_length=400, hop_length=160, pad_mode="constant")),
    "pad-edge": (NOISE32, ("boxcar", 64, True), dict(frame_length=64, hop_length=16, pad_mode="edge",
                                                     power=2.0)),
    "power-half": (NOISE32, ("hann", 256, True), dict(frame_length=256, hop_length=64, power=0.5)),
    "log-no-mel": (NOISE32, ("hann", 400, True), dict(frame_length=400, hop_length=160, power=2.0,
                                                      log_mel="log")),
    "whisper-like-log10": (CHIRP, ("hann", 400, True), dict(frame_length=400, hop_length=160, power=2.0,
                                                            mel_filters=_slaney_bank(201, 80), log_mel="log10")),
    "kaldi-fbank": (NOISE32 * 32768, ("povey", 400, False), dict(
        frame_length=400, hop_length=160, fft_length=512, power=2.0, center=False, preemphasis=0.97,
        mel_filters=_kaldi_bank(257, 80), log_mel="log", mel_floor=1.192092955078125e-07,
        remove_dc_offset=True)),
    "db-power": (CHIRP, ("hann", 512, True), dict(frame_length=512, hop_length=128, power=2.0,
                                                  mel_filters=_slaney_bank(257, 64), log_mel="dB",
                                                  reference=2.0, min_value=1e-8, db_range=60.0)),
    "db-amplitude": (NOISE64, ("hann", 512, True), dict(frame_length=512, hop_length=256, power=1.0,
                                                        log_mel="dB", min_value=1e-5, db_range=40.0)),
    "db-no-range": (NOISE32, ("hamming", 400, True), dict(frame_length=400, hop_length=160, power=2.0,
                                                          mel_filters=_kaldi_bank(201, 40), log_mel="dB")),
    "int16-input": (INT16, ("hann", 128, True), dict(frame_length=128, hop_length=32, power=2.0)),
    "short-signal": (NOISE32[:300], ("hann", 400, True), dict(frame_length=400, hop_length=160)),
}


def _window(spec):
    name, length, periodic, *frame = spec
    return tau.window_function(length, name, periodic=periodic, frame_length=frame[0] if frame else None)


def _max_err(ours, ref):
    """Error relative to the output's scale for linear outputs, absolute for log/dB outputs."""
    return float(np.abs(ours.astype(np.float64) - ref.astype(np.float64)).max())


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_transformers(case):
    x, wspec, kw = CASES[case]
    window = _window(wspec)
    ref = tau.spectrogram(x, window, **kw)
    ours = A.spectrogram(x, window, **kw)
    assert ours.shape == ref.shape and ours.dtype == ref.dtype, (ours.shape, ref.shape, ours.dtype, ref.dtype)
    if kw.get("log_mel"):
        # float32 output of logs/dB: a few float32 ulps
        assert _max_err(ours, ref) <= 1e-5 * max(1.0, float(np.abs(ref).max()))
    else:
        scale = float(np.abs(ref).max())
        assert _max_err(ours, ref) <= 1e-10 * scale  # measured: ~1e-16 relative


@pytest.mark.parametrize("onesided", [True, False])
def test_complex_output_matches_transformers(onesided):
    window = tau.window_function(256, "hann")
    ref = tau.spectrogram(NOISE32, window, 256, 100, power=None, onesided=onesided)
    ours = A.spectrogram(NOISE32, window, 256, 100, power=None, onesided=onesided)
    assert ours.dtype == np.complex64 and ours.shape == ref.shape
    assert np.abs(ours - ref).max() <= 1e-6 * np.abs(ref).max()


def test_spectrogram_batch_matches_transformers():
    window = tau.window_function(400, "hann")
    waves = [NOISE32[:9000], NOISE32[:16000], NOISE32[3:5000]]
    kw = dict(power=2.0, mel_filters=_slaney_bank(201, 80), log_mel="log10")
    ref = tau.spectrogram_batch(waves, window, 400, 160, **kw)
    ours = A.spectrogram_batch(waves, window, 400, 160, **kw)
    assert [o.shape for o in ours] == [r.shape for r in ref]
    for o, r in zip(ours, ref):
        assert np.abs(o - r).max() < 1e-5


@pytest.mark.parametrize("fn", ["amplitude_to_db", "power_to_db"])
def test_db_functions_match_transformers(fn):
    spec = np.abs(RNG.standard_normal((40, 100))) ** 2 * 10
    spec[0, :5] = 0.0
    for kw in ({}, dict(reference=3.0), dict(min_value=1e-3, db_range=30.0)):
        ref = getattr(tau, fn)(spec, **kw)
        ours = getattr(A, fn)(spec, **kw)
        assert ours.dtype == np.float64 and ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)
    # float32 stays float32 (as numpy keeps it in transformers)
    assert getattr(A, fn)(spec.astype(np.float32)).dtype == np.float32
    with pytest.raises(InvalidInputError, match="reference"):
        getattr(A, fn)(spec, reference=0.0)
    with pytest.raises(InvalidInputError, match="db_range"):
        getattr(A, fn)(spec, db_range=-1.0)


# --------------------------------------------------------------------------- Transformers.js extras

WIN = tau.window_function(400, "hann")
MEL = _slaney_bank(201, 80)
BASE = dict(power=2.0, mel_filters=MEL, log_mel="log10")


def test_transpose_is_the_transpose():
    a = A.spectrogram(CHIRP, WIN, 400, 160, **BASE)
    b = A.spectrogram(CHIRP, WIN, 400, 160, transpose=True, **BASE)
    np.testing.assert_array_equal(a.T, b)


def test_max_num_frames_truncates_and_pads():
    full = A.spectrogram(CHIRP, WIN, 400, 160, **BASE)
    n = full.shape[1]
    cut = A.spectrogram(CHIRP, WIN, 400, 160, max_num_frames=n - 7, **BASE)
    np.testing.assert_array_equal(cut, full[:, : n - 7])
    padded = A.spectrogram(CHIRP, WIN, 400, 160, max_num_frames=n + 20, **BASE)
    assert padded.shape == (80, n + 20)
    np.testing.assert_array_equal(padded[:, :n], full)
    assert not padded[:, n:].any()  # pad frames are zeros
    unpadded = A.spectrogram(CHIRP, WIN, 400, 160, max_num_frames=n + 20, do_pad=False, **BASE)
    np.testing.assert_array_equal(unpadded, full)


def test_min_num_frames_reads_zeros_past_the_end():
    x = NOISE32[:4000]
    kw = dict(power=2.0, center=False)
    natural = A.spectrogram(x, WIN, 400, 160, **kw)
    more = A.spectrogram(x, WIN, 400, 160, min_num_frames=natural.shape[1] + 5, **kw)
    assert more.shape[1] == natural.shape[1] + 5
    zero_extended = tau.spectrogram(np.concatenate([x, np.zeros(2000, np.float32)]), WIN, 400, 160, **kw)
    np.testing.assert_allclose(more, zero_extended[:, : more.shape[1]], rtol=0, atol=1e-9 * zero_extended.max())


def test_mel_offset_is_added_before_the_log():
    a = A.spectrogram(CHIRP, WIN, 400, 160, power=2.0, mel_filters=MEL, mel_offset=1.0, log_mel="log",
                      dtype=np.float64)
    lin = A.spectrogram(CHIRP, WIN, 400, 160, power=2.0, mel_filters=MEL)
    np.testing.assert_allclose(a, np.log(1.0 + lin), rtol=1e-12)


def test_dither_is_seeded_and_thread_count_independent():
    x = np.zeros(16000, np.float32)
    kw = dict(power=2.0, dither=1e-3)
    a = A.spectrogram(x, WIN, 400, 160, seed=5, **kw)
    b = A.spectrogram(x, WIN, 400, 160, seed=5, num_threads=1, **kw)
    c = A.spectrogram(x, WIN, 400, 160, seed=6, **kw)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # white noise of std d through the window: E|X_k|^2 = d^2 * sum(w^2) for k away from DC/Nyquist
    expect = 1e-6 * np.sum(WIN**2)
    assert abs(a[5:-5].mean() / expect - 1) < 0.05
    # without dither, silence gives exact zeros
    assert not A.spectrogram(x, WIN, 400, 160, power=2.0).any()


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize("waveform,kw,match", [
    (np.zeros(0, np.float32), {}, "empty"),
    (np.array([0.0, np.nan, 1.0] * 200), {}, "non-finite.*index 1"),
    (np.array([0.0, 1.0, np.inf] * 200, np.float32), {}, "non-finite.*index 2"),
    (np.zeros((2, 500)), {}, "one dimension"),
    (np.zeros(500, np.complex64), {}, "Complex"),
    (NOISE32, dict(fft_length=256), "may not be larger than fft_length"),
    (NOISE32, dict(hop_length=0), "hop_length"),
    (NOISE32, dict(power=None, mel_filters=MEL), "power"),
    (NOISE32, dict(power=3.0, log_mel="dB"), "Cannot use log_mel"),
    (NOISE32, dict(log_mel="ln"), "log_mel"),
    (NOISE32, dict(pad_mode="wrap"), "pad_mode"),
    (NOISE32, dict(mel_filters=_slaney_bank(257, 80)), "frequency bins"),
    (NOISE32, dict(mel_filters=np.ones(201)), "2-D"),
    (NOISE32, dict(power=2.0, log_mel="dB", min_value=0.0), "min_value"),
])
def test_bad_input_raises_typed_error(waveform, kw, match):
    kw = {"hop_length": 160, **kw}
    with pytest.raises(InvalidInputError, match=match):
        A.spectrogram(waveform, WIN, 400, **kw)


def test_window_length_must_match_frame_length():
    with pytest.raises(InvalidInputError, match="Length of the window"):
        A.spectrogram(NOISE32, WIN[:300], 400, 160)


def test_input_arrays_are_not_modified_and_views_work():
    x = NOISE32.copy()
    A.spectrogram(x, WIN, 400, 160, preemphasis=0.97, remove_dc_offset=True)
    np.testing.assert_array_equal(x, NOISE32)
    strided = NOISE64[::2]  # non-contiguous view: converted, same result as a copy
    np.testing.assert_array_equal(A.spectrogram(strided, WIN, 400, 160),
                                  A.spectrogram(strided.copy(), WIN, 400, 160))


def test_absurd_sizes_are_errors_not_crashes():
    with pytest.raises(InvalidInputError, match="too large"):
        A.spectrogram(NOISE32, WIN, 400, 160, min_num_frames=10**16)
    with pytest.raises(InvalidInputError, match="too large"):
        A.mel_filter_bank(10**10, 10**10, 0, 8000, 16000)
