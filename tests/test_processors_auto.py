"""AutoFeatureExtractor / AutoProcessor pick the class from preprocessor_config.json."""

import json

import numpy as np
import pytest

from onnxformers import (AutoFeatureExtractor, AutoProcessor, FileMissingError,
                         InvalidConfigError, UnsupportedModelError)

WHISPER = {"feature_extractor_type": "WhisperFeatureExtractor", "feature_size": 80,
           "sampling_rate": 16000, "hop_length": 160, "chunk_length": 30, "n_fft": 400,
           "n_samples": 480000, "nb_max_frames": 3000, "padding_value": 0.0}


def folder_with(tmp_path, config, text=None):
    path = tmp_path / "repo"
    path.mkdir()
    (path / "preprocessor_config.json").write_text(text if text is not None else json.dumps(config))
    return str(path)


def test_whisper_feature_extractor_is_selected_and_matches_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    repo = folder_with(tmp_path, WHISPER)
    fe = AutoFeatureExtractor.from_pretrained(repo)
    assert type(fe).__name__ == "WhisperFeatureExtractor"
    audio = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    ours = fe(audio, sampling_rate=16000)["input_features"]
    ref = transformers.WhisperFeatureExtractor(**{k: v for k, v in WHISPER.items()
                                                  if k != "feature_extractor_type"})
    theirs = ref(audio, sampling_rate=16000, return_tensors="np")["input_features"]
    assert ours.shape == theirs.shape == (1, 80, 3000)
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_auto_processor_wraps_and_forwards(tmp_path):
    processor = AutoProcessor.from_pretrained(folder_with(tmp_path, WHISPER))
    assert processor.tokenizer is None
    assert processor(np.zeros(1600, np.float32))["input_features"].shape == (1, 80, 3000)
    assert processor.feature_extractor.sampling_rate == 16000


def test_unknown_type_is_unsupported(tmp_path):
    with pytest.raises(UnsupportedModelError, match="MysteryFeatureExtractor"):
        AutoFeatureExtractor.from_pretrained(
            folder_with(tmp_path, {"feature_extractor_type": "MysteryFeatureExtractor"}))


def test_missing_and_malformed_config(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileMissingError, match="preprocessor_config.json"):
        AutoFeatureExtractor.from_pretrained(str(empty))
    with pytest.raises(InvalidConfigError):
        AutoFeatureExtractor.from_pretrained(folder_with(tmp_path, None, text="[1, 2"))
