"""WhisperFeatureExtractor against transformers' WhisperFeatureExtractor (numpy path, no torch)."""

import numpy as np
import pytest

from onnxformers import InvalidConfigError, InvalidInputError
from onnxformers.processors.audio import WhisperFeatureExtractor

transformers = pytest.importorskip("transformers")
from transformers import WhisperFeatureExtractor as RefExtractor  # noqa: E402

SR = 16000
RNG = np.random.default_rng(20240607)


def _speech_like(seconds: float) -> np.ndarray:
    """Voiced 'syllables': harmonic stacks on a gliding pitch, amplitude-modulated, with pauses."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 2
    return (0.3 * voiced * envelope + 0.003 * RNG.standard_normal(t.size)).astype(np.float32)


def _chirp(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.8 * np.sin(2 * np.pi * (50 * t + (7950 / (2 * seconds)) * t**2))).astype(np.float32)


SIGNALS = {
    "noise": (RNG.standard_normal(SR * 12) * 0.1).astype(np.float32),
    "chirp": _chirp(10.0),
    "speech-like": _speech_like(8.0),
    "silence": np.zeros(SR * 3, np.float32),
    "longer-than-30s": (RNG.standard_normal(SR * 37) * 0.05).astype(np.float32),
    "exactly-30s": _chirp(30.0),
    "float64-input": RNG.standard_normal(SR * 2) * 0.2,
    "tiny-clip": (RNG.standard_normal(7) * 0.5).astype(np.float32),
}

_REF_CACHE = {}


def _ref(n_mels):
    if n_mels not in _REF_CACHE:
        _REF_CACHE[n_mels] = RefExtractor(feature_size=n_mels)
    return _REF_CACHE[n_mels]


@pytest.mark.parametrize("n_mels", [80, 128])
@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_log_mel_matches_transformers(name, n_mels):
    x = SIGNALS[name]
    ref = _ref(n_mels)(x, sampling_rate=SR, return_tensors="np")["input_features"]
    ours = WhisperFeatureExtractor({"feature_size": n_mels})(x, sampling_rate=SR)["input_features"]
    assert ours.shape == ref.shape == (1, n_mels, 3000)
    assert ours.dtype == np.float32
    err = float(np.abs(ours - ref).max())
    assert err <= 1e-4, f"max abs error {err}"
    assert err <= 1e-6  # in practice identical: we round like numpy does


def test_batch_matches_transformers_and_single_calls():
    clips = [SIGNALS["noise"], SIGNALS["chirp"], SIGNALS["silence"], SIGNALS["longer-than-30s"]]
    ref = _ref(80)(clips, sampling_rate=SR, return_tensors="np")["input_features"]
    fe = WhisperFeatureExtractor()
    ours = fe(clips, sampling_rate=SR)["input_features"]
    assert ours.shape == (4, 80, 3000)
    assert np.abs(ours - ref).max() <= 1e-6
    for i, clip in enumerate(clips):
        np.testing.assert_array_equal(ours[i], fe(clip, sampling_rate=SR)["input_features"][0])
    # a 2-D array is a batch too, lists of floats a single clip
    two = np.stack([SIGNALS["noise"][:SR], SIGNALS["chirp"][:SR]])
    np.testing.assert_array_equal(fe(two)["input_features"], fe(list(two))["input_features"])
    np.testing.assert_array_equal(fe(two[0].tolist())["input_features"], fe(two[0])["input_features"])


def test_thread_count_does_not_change_results():
    clips = [SIGNALS["speech-like"], SIGNALS["noise"], SIGNALS["chirp"]]
    fe = WhisperFeatureExtractor()
    a = fe(clips, num_threads=1)["input_features"]
    b = fe(clips, num_threads=2)["input_features"]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs", [
    dict(max_length=SR * 10),
    dict(max_length=SR * 10 + 77),  # not a multiple of hop_length
    dict(padding="longest"),
    dict(padding="longest", pad_to_multiple_of=16000),
    dict(do_normalize=True),
    dict(return_attention_mask=True),
    dict(return_attention_mask=True, max_length=SR * 5 + 30),
])
def test_call_options_match_transformers(kwargs):
    clips = [SIGNALS["speech-like"][: SR * 4], SIGNALS["chirp"][: SR * 7]]
    ref = _ref(80)(clips, sampling_rate=SR, return_tensors="np", **kwargs)
    ours = WhisperFeatureExtractor()(clips, sampling_rate=SR, **kwargs)
    # (transformers also returns its sample-level mask when only do_normalize is set; we return a
    # mask only when asked for one)
    assert set(ours) == ({"input_features", "attention_mask"} if kwargs.get("return_attention_mask")
                         else {"input_features"})
    assert ours["input_features"].shape == ref["input_features"].shape
    assert np.abs(ours["input_features"] - ref["input_features"]).max() <= 1e-5
    if kwargs.get("return_attention_mask"):
        np.testing.assert_array_equal(ours["attention_mask"], ref["attention_mask"])


def test_config_dict_and_properties():
    cfg = {"feature_size": 128, "sampling_rate": 16000, "hop_length": 160, "chunk_length": 30, "n_fft": 400,
           "padding_value": 0.0, "n_samples": 480000, "nb_max_frames": 3000,
           "feature_extractor_type": "WhisperFeatureExtractor", "processor_class": "WhisperProcessor"}
    fe = WhisperFeatureExtractor(cfg)
    assert (fe.n_samples, fe.nb_max_frames, fe.feature_size) == (480000, 3000, 128)
    assert fe.config["processor_class"] == "WhisperProcessor"
    np.testing.assert_allclose(fe.mel_filters, _ref(128).mel_filters, atol=1e-15)
    short = WhisperFeatureExtractor(cfg, chunk_length=10)
    assert short(SIGNALS["noise"])["input_features"].shape == (1, 128, 1000)


def test_dither_is_reproducible_with_a_seed():
    fe = WhisperFeatureExtractor(dither=1e-4)
    x = SIGNALS["silence"]
    a = fe(x, seed=1)["input_features"]
    np.testing.assert_array_equal(a, fe(x, seed=1)["input_features"])
    assert not np.array_equal(a, fe(x, seed=2)["input_features"])
    assert not np.array_equal(a, WhisperFeatureExtractor()(x)["input_features"])


@pytest.mark.parametrize("audio,kwargs,match", [
    (np.zeros(SR, np.float32), dict(sampling_rate=44100), "16000 Hz"),
    (np.zeros((2, 3, 4), np.float32), {}, "mono"),
    ([], {}, "empty"),
    (np.zeros(0, np.float32), {}, "empty"),
    (np.array([0.1, np.nan, 0.2], np.float32), {}, "non-finite value.*index 1"),
    ([np.zeros(SR, np.float32), np.array([np.inf], np.float32)], {}, "audio #1"),
    ("speech.wav", {}, "read_audio"),
    (np.array(["a", "b"]), {}, "real numbers"),
    ([np.zeros(SR), np.zeros(2 * SR)], dict(padding=False), "different lengths"),
    (np.zeros(SR), dict(padding="left"), "padding"),
])
def test_bad_input_raises_typed_errors(audio, kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        WhisperFeatureExtractor()(audio, **kwargs)


@pytest.mark.parametrize("cfg,match", [(dict(hop_length=0), "hop_length"), (dict(n_fft=1), "n_fft"),
                                       (dict(feature_size=-3), "feature_size"), (dict(sampling_rate=0), "sampling_rate")])
def test_bad_config_raises_typed_error(cfg, match):
    with pytest.raises(InvalidConfigError, match=match):
        WhisperFeatureExtractor(cfg)


def test_concurrent_calls_from_python_threads_agree():
    # the extractor is immutable and the GIL is released while computing: calls may overlap
    from concurrent.futures import ThreadPoolExecutor

    fe = WhisperFeatureExtractor()
    clips = [SIGNALS["noise"], SIGNALS["chirp"], SIGNALS["speech-like"], SIGNALS["silence"]] * 2
    expected = [fe(c, max_length=SR * 4)["input_features"] for c in clips]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda c: fe(c, max_length=SR * 4)["input_features"], clips))
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e, g)


def test_absurd_sizes_are_errors_not_crashes():
    with pytest.raises(InvalidInputError, match="too large"):
        WhisperFeatureExtractor()(SIGNALS["tiny-clip"], max_length=10**17)


def test_left_padding_matches_transformers():
    clips = [SIGNALS["speech-like"][: SR * 3], SIGNALS["chirp"][: SR * 5]]
    ref = RefExtractor(padding_side="left")(clips, sampling_rate=SR, return_tensors="np",
                                            return_attention_mask=True)
    ours = WhisperFeatureExtractor(padding_side="left")(clips, sampling_rate=SR, return_attention_mask=True)
    assert np.abs(ours["input_features"] - ref["input_features"]).max() <= 1e-6
    np.testing.assert_array_equal(ours["attention_mask"], ref["attention_mask"])


def test_auto_feature_extractor_builds_it_from_preprocessor_config(tmp_path):
    import json

    from onnxformers import AutoFeatureExtractor

    cfg = {"chunk_length": 30, "feature_extractor_type": "WhisperFeatureExtractor", "feature_size": 80,
           "hop_length": 160, "n_fft": 400, "n_samples": 480000, "nb_max_frames": 3000,
           "padding_side": "right", "padding_value": 0.0, "processor_class": "WhisperProcessor",
           "return_attention_mask": False, "sampling_rate": 16000}
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(cfg))
    fe = AutoFeatureExtractor.from_pretrained(str(tmp_path))
    assert isinstance(fe, WhisperFeatureExtractor)
    x = SIGNALS["speech-like"]
    np.testing.assert_array_equal(fe(x, sampling_rate=SR)["input_features"],
                                  WhisperFeatureExtractor(cfg)(x)["input_features"])
