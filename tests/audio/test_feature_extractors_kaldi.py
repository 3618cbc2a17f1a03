"""Kaldi-fbank extractors (SeamlessM4T / Wav2Vec2-BERT, WeSpeaker) and SpeechT5, against
transformers' numpy implementations (installed without torch).

WeSpeaker has no transformers class: its oracle is Transformers.js' recipe written with
``transformers.audio_utils`` (numpy spectrogram, hamming window, Kaldi mel bank, mean removal).
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from onnxformers import InvalidConfigError, InvalidInputError
from onnxformers.processors.audio.kaldi import kaldi_fbank
from onnxformers.processors.audio.seamless_m4t import SeamlessM4TFeatureExtractor
from onnxformers.processors.audio.speecht5 import SpeechT5FeatureExtractor
from onnxformers.processors.audio.wespeaker import WeSpeakerFeatureExtractor

transformers = pytest.importorskip("transformers")
from transformers import SeamlessM4TFeatureExtractor as RefSeamless  # noqa: E402
from transformers import SpeechT5FeatureExtractor as RefSpeechT5  # noqa: E402
from transformers.audio_utils import mel_filter_bank, spectrogram, window_function  # noqa: E402

SR = 16000
RNG = np.random.default_rng(515)
SPEECH_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "audio"


def _speech_like(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    f0 = 110 + 35 * np.sin(2 * np.pi * 0.6 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None) ** 2
    return (0.3 * voiced * envelope + 0.003 * RNG.standard_normal(t.size)).astype(np.float32)


def _real_speech() -> dict:
    import soundfile as sf

    out = {}
    for path in sorted(SPEECH_DIR.glob("*.flac")):
        data, sr = sf.read(path, dtype="float32")
        if sr == SR and data.ndim == 1:
            out[f"espeak-{path.stem}"] = data
    return out


SIGNALS = {
    "speech-like": _speech_like(6.0),
    "noise": (RNG.standard_normal(SR * 4) * 0.1).astype(np.float32),
    "quiet-noise": (RNG.standard_normal(SR * 2) * 1e-4).astype(np.float32),
    "odd-length": (RNG.standard_normal(12345) * 0.3).astype(np.float32),
    "two-frames": (RNG.standard_normal(560) * 0.3).astype(np.float32),
    "float64-input": RNG.standard_normal(SR) * 0.2,
    "list-input": list((RNG.standard_normal(3000) * 0.2).astype(np.float32)),
    **_real_speech(),
}


def rel_err(ours: np.ndarray, ref: np.ndarray) -> float:
    """max |ours - ref| / max |ref| (the features are O(1) after normalisation)."""
    return float(np.abs(np.asarray(ours, np.float64) - ref).max() / max(np.abs(ref).max(), 1e-30))


# --------------------------------------------------------------------------- SeamlessM4T


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_seamless_m4t_matches_transformers(name):
    x = SIGNALS[name]
    ref = RefSeamless()(x, sampling_rate=SR, return_tensors="np")
    ours = SeamlessM4TFeatureExtractor()(x, sampling_rate=SR)
    assert ours["input_features"].dtype == np.float32
    assert ours["input_features"].shape == ref["input_features"].shape
    assert ours["input_features"].shape[2] == 160
    assert rel_err(ours["input_features"], ref["input_features"]) <= 1e-4
    np.testing.assert_array_equal(ours["attention_mask"], ref["attention_mask"])
    assert ours["attention_mask"].dtype == ref["attention_mask"].dtype


def test_seamless_m4t_real_speech_is_present():
    # the espeak-ng clips are committed fixtures: make sure the loop above really saw speech
    assert any(k.startswith("espeak-") for k in SIGNALS), f"no FLAC speech clips in {SPEECH_DIR}"


def test_seamless_m4t_silence_is_exactly_zero():
    # Digital silence: every frame is the same floor value, so the normalised features are 0.
    # numpy's float32 mean of 3000 identical values is off by a few ulps, which the division by
    # sqrt(1e-7) blows up to ~1e-3: we compare against that bound instead of the noisy values.
    x = np.zeros(SR * 3, np.float32)
    ref = RefSeamless()(x, sampling_rate=SR, return_tensors="np")["input_features"]
    ours = SeamlessM4TFeatureExtractor()(x, sampling_rate=SR)["input_features"]
    assert ours.shape == ref.shape
    assert not ours.any()
    floor = abs(np.log(np.float32(1.192092955078125e-07)))
    assert np.abs(ref).max() <= 8 * np.spacing(np.float32(floor)) / np.sqrt(1e-7)
    raw = SeamlessM4TFeatureExtractor()(x, sampling_rate=SR, do_normalize_per_mel_bins=False)["input_features"]
    ref_raw = RefSeamless()(x, sampling_rate=SR, return_tensors="np", do_normalize_per_mel_bins=False)
    np.testing.assert_array_equal(raw, ref_raw["input_features"])


@pytest.mark.parametrize("kwargs", [
    {},
    {"padding": "max_length", "max_length": 650},
    {"padding": "max_length", "max_length": 701, "pad_to_multiple_of": None},
    {"truncation": True, "max_length": 120, "padding": "max_length"},
    {"truncation": True, "max_length": 77, "padding": "longest"},
    {"pad_to_multiple_of": 8},
    {"pad_to_multiple_of": None},
    {"do_normalize_per_mel_bins": False},
    {"return_attention_mask": False},
])
def test_seamless_m4t_batch_options_match_transformers(kwargs):
    batch = [SIGNALS["speech-like"], SIGNALS["odd-length"], SIGNALS["noise"][: SR * 2 + 77]]
    ref = RefSeamless()(batch, sampling_rate=SR, return_tensors="np", **kwargs)
    ours = SeamlessM4TFeatureExtractor()(batch, sampling_rate=SR, **kwargs)
    assert sorted(ours) == sorted(ref)
    assert ours["input_features"].shape == ref["input_features"].shape
    assert rel_err(ours["input_features"], ref["input_features"]) <= 1e-4
    if "attention_mask" in ref:
        np.testing.assert_array_equal(ours["attention_mask"], ref["attention_mask"])


@pytest.mark.parametrize("config", [
    {"stride": 3, "padding_value": 1.0},
    {"num_mel_bins": 40, "feature_size": 40},
    {"padding_side": "left", "padding_value": 1.0},
    {"sampling_rate": 8000},
])
def test_seamless_m4t_configs_match_transformers(config):
    sr = config.get("sampling_rate", SR)
    batch = [SIGNALS["speech-like"][: sr * 2], SIGNALS["odd-length"]]
    ref = RefSeamless(**config)(batch, sampling_rate=sr, return_tensors="np")
    ours = SeamlessM4TFeatureExtractor(config)(batch, sampling_rate=sr)
    assert ours["input_features"].shape == ref["input_features"].shape
    assert rel_err(ours["input_features"], ref["input_features"]) <= 1e-4
    np.testing.assert_array_equal(ours["attention_mask"], ref["attention_mask"])
    np.testing.assert_allclose(SeamlessM4TFeatureExtractor(config).mel_filters, RefSeamless(**config).mel_filters,
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("kwargs", [{"padding": False}, {"padding": "do_not_pad", "pad_to_multiple_of": None},
                                    {"padding": False, "truncation": True, "max_length": 51}])
def test_seamless_m4t_single_clip_without_padding(kwargs):
    x = SIGNALS["odd-length"]
    ref = RefSeamless()(x, sampling_rate=SR, return_tensors="np", **kwargs)
    ours = SeamlessM4TFeatureExtractor()(x, sampling_rate=SR, **kwargs)
    assert ours["input_features"].shape == ref["input_features"].shape
    assert rel_err(ours["input_features"], ref["input_features"]) <= 1e-4
    np.testing.assert_array_equal(ours["attention_mask"], ref["attention_mask"])


def test_seamless_m4t_threads_and_batch_consistency():
    fe = SeamlessM4TFeatureExtractor()
    batch = [SIGNALS["speech-like"], SIGNALS["noise"]]
    a = fe(batch, sampling_rate=SR, num_threads=1)
    b = fe(batch, sampling_rate=SR, num_threads=2)
    np.testing.assert_array_equal(a["input_features"], b["input_features"])
    single = fe(SIGNALS["speech-like"], sampling_rate=SR)["input_features"]
    np.testing.assert_array_equal(a["input_features"][0], single[0])
    two_d = fe(np.stack([SIGNALS["noise"][:SR], SIGNALS["noise"][SR:2 * SR]]), sampling_rate=SR)
    assert two_d["input_features"].shape[0] == 2  # a 2-D array is a batch of mono clips


def test_kaldi_fbank_function_and_dither_seed():
    x = SIGNALS["speech-like"][:SR]
    ref = RefSeamless()._extract_fbank_features(x)
    np.testing.assert_allclose(kaldi_fbank(x), ref, rtol=1e-5, atol=1e-5)
    a = kaldi_fbank(x, dither=1.0, seed=3)
    np.testing.assert_array_equal(a, kaldi_fbank(x, dither=1.0, seed=3))
    assert not np.array_equal(a, kaldi_fbank(x, dither=1.0, seed=4))
    assert np.abs(a - ref).max() < 1.0  # dither of one 16-bit step barely changes speech
    fe = SeamlessM4TFeatureExtractor(dither=1.0)
    np.testing.assert_array_equal(fe(x, seed=9)["input_features"], fe(x, seed=9)["input_features"])


# --------------------------------------------------------------------------- WeSpeaker


def _wespeaker_oracle(x, num_mel_bins=80, min_num_frames=None, center=True):
    """Transformers.js' WeSpeakerFeatureExtractor with transformers.audio_utils (numpy)."""
    x = np.asarray(x, np.float32)
    if min_num_frames is not None:
        need = (min_num_frames - 1) * 160 + 400
        if len(x) < need:  # frames past the end see zeros
            x = np.concatenate([x, np.zeros(need - len(x), np.float32)])
    bank = mel_filter_bank(257, num_mel_bins, 20, SR // 2, SR, None, "kaldi", True)
    feats = spectrogram(x * 32768, window_function(400, "hamming", periodic=False), 400, 160, fft_length=512,
                        power=2.0, center=False, preemphasis=0.97, mel_filters=bank, log_mel="log",
                        mel_floor=1.192092955078125e-07, remove_dc_offset=True).T
    return feats - feats.mean(0, keepdims=True) if center else feats


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_wespeaker_matches_oracle(name):
    x = SIGNALS[name]
    ours = WeSpeakerFeatureExtractor({"fbank_centering_span": None})(x, sampling_rate=SR)["input_features"]
    ref = _wespeaker_oracle(x)
    assert ours.shape == (1,) + ref.shape and ours.dtype == np.float32
    assert rel_err(ours[0], ref) <= 1e-4


def test_wespeaker_min_frames_silence_and_centering_options():
    short = SIGNALS["speech-like"][:2000]
    fe = WeSpeakerFeatureExtractor({"min_num_frames": 30, "num_mel_bins": 64})
    ours = fe(short)["input_features"]
    assert ours.shape == (1, 30, 64)
    assert rel_err(ours[0], _wespeaker_oracle(short, 64, 30)) <= 1e-4
    silence = WeSpeakerFeatureExtractor()(np.zeros(SR, np.float32))["input_features"]
    assert silence.shape == (1, 98, 80) and not silence.any()
    # no key: centred (pyannote's default); a numeric span: not implemented, warned, not centred
    np.testing.assert_array_equal(WeSpeakerFeatureExtractor()(short)["input_features"],
                                  WeSpeakerFeatureExtractor({"fbank_centering_span": None})(short)["input_features"])
    with pytest.warns(UserWarning, match="fbank_centering_span"):
        raw = WeSpeakerFeatureExtractor({"fbank_centering_span": 8.0})(short)["input_features"]
    assert rel_err(raw[0], _wespeaker_oracle(short, center=False)) <= 1e-4


def test_wespeaker_batch_pads_frames():
    a, b = SIGNALS["speech-like"][:SR], SIGNALS["noise"][: SR // 2]
    out = WeSpeakerFeatureExtractor()([a, b], sampling_rate=SR, return_attention_mask=True)
    fa, fb = _wespeaker_oracle(a), _wespeaker_oracle(b)
    assert out["input_features"].shape == (2, len(fa), 80)
    assert rel_err(out["input_features"][0], fa) <= 1e-4
    assert rel_err(out["input_features"][1, : len(fb)], fb) <= 1e-4
    assert not out["input_features"][1, len(fb):].any()
    assert out["attention_mask"].sum(1).tolist() == [len(fa), len(fb)]


# --------------------------------------------------------------------------- SpeechT5


@pytest.mark.parametrize("config,kwargs", [
    ({}, {"padding": True}),
    ({"do_normalize": True}, {"padding": True}),
    ({"do_normalize": True}, {"padding": "max_length", "max_length": 30000, "truncation": True}),
    ({"padding_value": 0.5}, {"padding": "longest", "pad_to_multiple_of": 64}),
    ({"return_attention_mask": False, "num_mel_bins": 40, "fmax": 6000}, {"padding": True}),
])
def test_speecht5_matches_transformers(config, kwargs):
    audio = [SIGNALS["speech-like"], SIGNALS["odd-length"]]
    target = [SIGNALS["noise"], SIGNALS["speech-like"][:SR]]
    ref_fe, ours_fe = RefSpeechT5(**config), SpeechT5FeatureExtractor(config)
    for call in ({"audio": audio}, {"audio_target": target}, {"audio": audio, "audio_target": target}):
        ref = ref_fe(**call, sampling_rate=SR, return_tensors="np", **kwargs)
        ours = ours_fe(**call, sampling_rate=SR, **kwargs)
        assert sorted(ours) == sorted(ref), call.keys()
        for key in ref:
            assert ours[key].shape == ref[key].shape and ours[key].dtype == ref[key].dtype, key
            assert rel_err(ours[key], ref[key]) <= 1e-4, key


def test_speecht5_single_clip_and_silence():
    x = SIGNALS["speech-like"][:SR]
    for audio in (x, np.zeros(SR, np.float32)):
        ref = RefSpeechT5()(audio_target=audio, sampling_rate=SR, return_tensors="np")
        ours = SpeechT5FeatureExtractor()(audio_target=audio, sampling_rate=SR)
        assert ours["input_values"].shape == ref["input_values"].shape == (1, 63, 80)
        assert rel_err(ours["input_values"], ref["input_values"]) <= 1e-4
    with pytest.raises(InvalidInputError, match="audio_target"):
        SpeechT5FeatureExtractor()()


# --------------------------------------------------------------------------- Auto + bad input


@pytest.mark.parametrize("cfg,klass", [
    ({"feature_extractor_type": "SeamlessM4TFeatureExtractor", "feature_size": 80, "num_mel_bins": 80,
      "padding_side": "right", "padding_value": 1, "processor_class": "Wav2Vec2BertProcessor",
      "return_attention_mask": True, "sampling_rate": 16000, "stride": 2}, SeamlessM4TFeatureExtractor),
    ({"do_normalize": False, "feature_extractor_type": "SpeechT5FeatureExtractor", "feature_size": 1,
      "fmax": 7600, "fmin": 80, "frame_signal_scale": 1.0, "hop_length": 16, "mel_floor": 1e-10,
      "num_mel_bins": 80, "padding_side": "right", "padding_value": 0.0, "processor_class": "SpeechT5Processor",
      "reduction_factor": 2, "return_attention_mask": True, "sampling_rate": 16000,
      "win_function": "hann_window", "win_length": 64}, SpeechT5FeatureExtractor),
    ({"feature_extractor_type": "WeSpeakerFeatureExtractor", "fbank_centering_span": None,
      "num_mel_bins": 80, "sampling_rate": 16000, "min_num_frames": 10}, WeSpeakerFeatureExtractor),
])
def test_auto_feature_extractor_selects_them(tmp_path, cfg, klass):
    from onnxformers import AutoFeatureExtractor, AutoProcessor

    (tmp_path / "preprocessor_config.json").write_text(json.dumps(cfg))
    fe = AutoFeatureExtractor.from_pretrained(str(tmp_path))
    assert type(fe) is klass
    assert type(AutoProcessor.from_pretrained(str(tmp_path)).feature_extractor) is klass
    x = SIGNALS["speech-like"][:SR]
    ours = fe(x, sampling_rate=SR)
    direct = klass(cfg)(x, sampling_rate=SR)
    for key in direct:
        np.testing.assert_array_equal(ours[key], direct[key])
    if klass is SeamlessM4TFeatureExtractor:
        ref = RefSeamless(**{k: v for k, v in cfg.items() if k != "feature_extractor_type"})
        ref_out = ref([x, x[:9000]], sampling_rate=SR, return_tensors="np")
        ours_out = fe([x, x[:9000]], sampling_rate=SR)
        assert rel_err(ours_out["input_features"], ref_out["input_features"]) <= 1e-4  # padding_value 1


EXTRACTORS = [SeamlessM4TFeatureExtractor, WeSpeakerFeatureExtractor]


@pytest.mark.parametrize("klass", EXTRACTORS)
@pytest.mark.parametrize("audio,kwargs,match", [
    (np.zeros(SR, np.float32), {"sampling_rate": 44100}, "expects audio sampled at 16000 Hz, got 44100"),
    (np.zeros(0, np.float32), {}, "empty"),
    ([], {}, "empty"),
    (np.zeros(300, np.float32), {}, "too short"),
    (np.array([0.1] * 500 + [np.nan] + [0.1] * 500, np.float32), {}, "non-finite value.*index 500"),
    ([np.ones(1000, np.float32) * 0.1, np.array([np.inf] * 1000, np.float32)], {}, "audio #1.*non-finite"),
    ([np.zeros((2, SR), np.float32)], {}, "1-D \\(mono\\)"),  # a stereo clip inside a batch
    (np.zeros((1, 2, SR), np.float32), {}, "mono"),
    ("speech.wav", {}, "read_audio"),
])
def test_bad_input_raises_typed_errors(klass, audio, kwargs, match):
    with pytest.raises(InvalidInputError, match=match) as info:
        klass()(audio, **kwargs)
    assert isinstance(info.value, ValueError)


def test_bad_input_speecht5_and_configs():
    fe = SpeechT5FeatureExtractor()
    with pytest.raises(InvalidInputError, match="expects audio sampled at 16000"):
        fe(np.zeros(SR, np.float32), sampling_rate=8000)
    with pytest.raises(InvalidInputError, match="non-finite"):
        fe(np.array([0.0, np.nan], np.float32))
    with pytest.raises(InvalidInputError, match="empty"):
        fe(audio_target=np.zeros(0, np.float32))
    with pytest.raises(InvalidInputError, match="different lengths"):
        fe([np.zeros(100, np.float32), np.zeros(200, np.float32)])  # padding=False, as transformers' default
    # one frame: the ddof=1 variance is undefined (transformers returns NaN features)
    with pytest.raises(InvalidInputError, match="two"):
        SeamlessM4TFeatureExtractor()(np.zeros(450, np.float32))
    with pytest.raises(InvalidConfigError):
        SeamlessM4TFeatureExtractor(num_mel_bins=0)
    with pytest.raises(InvalidConfigError):
        WeSpeakerFeatureExtractor(min_num_frames=-1)
    with pytest.raises(InvalidConfigError):
        SpeechT5FeatureExtractor(win_function="kaiser")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SeamlessM4TFeatureExtractor()(np.zeros(SR, np.float32), sampling_rate=SR)  # no warning on silence
