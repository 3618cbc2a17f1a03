"""Windows, mel scales and mel filter banks against transformers.audio_utils (the numpy oracle)."""

import warnings

import numpy as np
import pytest

from onnxformers import InvalidInputError
from onnxformers.utils import audio as A

tau = pytest.importorskip("transformers.audio_utils")


@pytest.mark.parametrize("name", ["hann", "hamming", "povey", "boxcar", "hann_window", "hamming_window"])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("length,frame_length,center", [(400, None, True), (1, None, True), (2, None, True),
                                                         (25, 32, True), (25, 32, False), (400, 512, True)])
def test_window_function_matches_transformers(name, periodic, length, frame_length, center):
    ours = A.window_function(length, name, periodic=periodic, frame_length=frame_length, center=center)
    ref = tau.window_function(length, name, periodic=periodic, frame_length=frame_length, center=center)
    assert ours.dtype == np.float64 and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-15)


def test_hanning_hamming_are_numpys():
    for m in (0, 1, 2, 7, 400):
        np.testing.assert_allclose(A.hanning(m), np.hanning(m), atol=1e-15)
        np.testing.assert_allclose(A.hamming(m), np.hamming(m), atol=1e-15)


def test_window_errors():
    with pytest.raises(InvalidInputError, match="Unknown window"):
        A.window_function(10, "blackman")
    with pytest.raises(ValueError, match="may not be larger"):  # InvalidInputError is a ValueError
        A.window_function(10, "hann", frame_length=8)


@pytest.mark.parametrize("scale", ["htk", "kaldi", "slaney"])
def test_mel_scales_match_transformers(scale):
    freqs = np.array([0.0, 1.0, 440.0, 999.999, 1000.0, 1000.001, 4000.0, 8000.0, 22050.0])
    np.testing.assert_allclose(A.hertz_to_mel(freqs, scale), tau.hertz_to_mel(freqs.copy(), scale), rtol=1e-14, atol=0)
    mels = tau.hertz_to_mel(freqs.copy(), scale)
    np.testing.assert_allclose(A.mel_to_hertz(mels, scale), tau.mel_to_hertz(mels.copy(), scale), rtol=1e-13, atol=1e-12)
    # scalars stay scalars
    assert isinstance(A.hertz_to_mel(1234.5, scale), float)
    assert A.hertz_to_mel(1234.5, scale) == pytest.approx(tau.hertz_to_mel(1234.5, scale), rel=1e-14)
    assert A.mel_to_hertz(20.0, scale) == pytest.approx(tau.mel_to_hertz(20.0, scale), rel=1e-14)
    # shape preserved
    assert A.hertz_to_mel(np.ones((2, 3)), scale).shape == (2, 3)


def test_mel_scale_error():
    with pytest.raises(InvalidInputError, match="mel_scale"):
        A.hertz_to_mel(100.0, "bark")


BANKS = [
    # (bins, mels, fmin, fmax, sr, norm, scale, tri_in_mel)
    (201, 80, 0.0, 8000.0, 16000, "slaney", "slaney", False),  # Whisper
    (201, 128, 0.0, 8000.0, 16000, "slaney", "slaney", False),  # Whisper large-v3
    (257, 40, 20.0, 8000.0, 16000, None, "htk", False),
    (257, 40, 20.0, 8000.0, 16000, "slaney", "htk", False),
    (257, 80, 20.0, 8000.0, 16000, None, "kaldi", True),  # SeamlessM4T / AST (kaldi fbank)
    (257, 128, 20.0, 8000.0, 16000, None, "kaldi", True),
    (513, 64, 50.0, 14000.0, 48000, "slaney", "slaney", False),  # CLAP
    (513, 64, 50.0, 14000.0, 48000, None, "htk", False),
    (1025, 96, 0.0, 11025.0, 22050, "slaney", "slaney", True),
    (129, 23, 100.0, 3900.0, 8000, "slaney", "kaldi", False),
    (257, 40, 0.0, 5512.5, 11025, "slaney", "slaney", False),  # odd rate: sampling_rate // 2 floors
]


@pytest.mark.filterwarnings("ignore:At least one mel filter has all zero values")
@pytest.mark.parametrize("bins,mels,fmin,fmax,sr,norm,scale,tri", BANKS)
def test_mel_filter_bank_matches_transformers(bins, mels, fmin, fmax, sr, norm, scale, tri):
    ours = A.mel_filter_bank(bins, mels, fmin, fmax, sr, norm=norm, mel_scale=scale, triangularize_in_mel_space=tri)
    ref = tau.mel_filter_bank(bins, mels, fmin, fmax, sr, norm=norm, mel_scale=scale, triangularize_in_mel_space=tri)
    assert ours.shape == (bins, mels) and ours.dtype == np.float64
    assert np.abs(ours - ref).max() <= 1e-6 * max(1.0, np.abs(ref).max())
    assert np.abs(ours - ref).max() < 1e-12  # in practice: identical up to a few ulps


def test_mel_filter_bank_errors_and_warning():
    with pytest.raises(InvalidInputError, match="norm"):
        A.mel_filter_bank(201, 80, 0, 8000, 16000, norm="area")
    with pytest.raises(InvalidInputError, match="num_frequency_bins"):
        A.mel_filter_bank(1, 80, 0, 8000, 16000)
    with pytest.raises(InvalidInputError, match="min_frequency"):
        A.mel_filter_bank(201, 80, 9000, 8000, 16000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        A.mel_filter_bank(9, 40, 0, 8000, 16000)  # far too many filters for 9 bins
    assert any("all zero values" in str(w.message) for w in caught)
