"""Whisper's 80- and 128-bin mel filter banks against openai-whisper's own ``mel_filters.npz``
(librosa's Slaney banks stored as float32), taken from the pinned openai-whisper sdist."""

import numpy as np
import pytest

from onnxformers.processors.audio import WhisperFeatureExtractor
from onnxformers.utils.audio import mel_filter_bank

from pypi_assets import GPT2_TIKTOKEN, Asset, fetch  # tests/ is on sys.path (conftest)

#: same pinned sdist (and sha256) as the GPT-2 tiktoken ranks
MEL_FILTERS_NPZ = Asset(GPT2_TIKTOKEN.project, GPT2_TIKTOKEN.version, GPT2_TIKTOKEN.sha256,
                        "whisper/assets/mel_filters.npz")


@pytest.fixture(scope="module")
def whisper_banks():
    with np.load(fetch(MEL_FILTERS_NPZ)) as npz:
        return {key: npz[key] for key in npz.files}


@pytest.mark.parametrize("n_mels", [80, 128])
def test_whisper_mel_banks_equal_openai_whisper(whisper_banks, n_mels):
    ref = whisper_banks[f"mel_{n_mels}"]  # (n_mels, 201) float32
    ours = mel_filter_bank(201, n_mels, 0.0, 8000.0, 16000, norm="slaney", mel_scale="slaney").T
    assert ours.shape == ref.shape == (n_mels, 201)
    np.testing.assert_array_equal(ours == 0, ref == 0)
    # float64 here, float32 there: equal once rounded, to one unit in the last place
    np.testing.assert_array_max_ulp(ours.astype(np.float32), ref, maxulp=1)
    assert np.abs(ours - ref).max() < 1e-8
    fe = WhisperFeatureExtractor({"feature_size": n_mels})
    np.testing.assert_array_equal(fe.mel_filters.T, ours)
