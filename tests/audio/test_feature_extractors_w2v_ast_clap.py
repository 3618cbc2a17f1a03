"""Wav2Vec2, AST, CLAP and PyAnnote feature extractors against transformers.

Wav2Vec2FeatureExtractor is compared live with ``transformers`` (its numpy code needs no torch).
AST's numpy path and CLAP's extractor need torch in transformers 4.57, so they are compared with
the features that the fixture builder (scripts/fixture_builders/audio_models.py) stored from
transformers in the fixture venv.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from onnxformers import AutoFeatureExtractor, InvalidConfigError, InvalidInputError
from onnxformers.processors import Processor
from onnxformers.processors.audio import (
    ASTFeatureExtractor,
    ClapFeatureExtractor,
    PyAnnoteFeatureExtractor,
    Wav2Vec2FeatureExtractor,
)
from onnxformers.utils.audio import read_audio

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MODELS = FIXTURES / "models"
CLIPS = FIXTURES / "audio" / "espeak-clips"
CLIP_NAMES = ["hello", "numbers", "question"]


def clip(name: str) -> np.ndarray:
    return read_audio(CLIPS / f"{name}.wav")


def ref(model: str) -> dict:
    return json.loads((MODELS / model / "reference.json").read_text())


def config(model: str) -> dict:
    return json.loads((MODELS / model / "preprocessor_config.json").read_text())


def max_rel(got, want, floor: float = 1e-3) -> float:
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float((np.abs(got - want) / np.maximum(np.abs(want), floor)).max())


# ----------------------------------------------------------------------------------- Wav2Vec2


@pytest.fixture(scope="module")
def hf_w2v():
    transformers = pytest.importorskip("transformers")
    return transformers.Wav2Vec2FeatureExtractor


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_wav2vec2_single_clip_matches_transformers(hf_w2v, name):
    folder = MODELS / "tiny-wav2vec2-ctc"
    ours = AutoFeatureExtractor.from_pretrained(str(folder))
    assert isinstance(ours, Wav2Vec2FeatureExtractor)
    theirs = hf_w2v.from_pretrained(str(folder))
    audio = clip(name)
    got = ours(audio, sampling_rate=16000)
    want = theirs(audio, sampling_rate=16000, return_tensors="np")["input_values"]
    assert got["input_values"].dtype == np.float32 and got["input_values"].shape == (1, len(audio))
    assert max_rel(got["input_values"], want) <= 1e-4
    # Transformers.js always returns the mask (int64 ones for one clip)
    assert got["attention_mask"].dtype == np.int64 and got["attention_mask"].all()


@pytest.mark.parametrize("call", [
    {"padding": True},
    {"padding": "longest", "pad_to_multiple_of": 320},
    {"padding": "max_length", "max_length": 20000, "truncation": True},
    {"padding": True, "do_normalize": False},
])
def test_wav2vec2_batch_padding_matches_transformers(hf_w2v, call):
    cfg = config("tiny-wav2vec2-frame-classifier")  # return_attention_mask: true
    ours = Wav2Vec2FeatureExtractor(cfg)
    theirs = hf_w2v(**cfg)
    batch = [clip(n) for n in CLIP_NAMES]
    hf_call = dict(call)
    if "do_normalize" in hf_call:
        theirs.do_normalize = hf_call.pop("do_normalize")
    got = ours(batch, sampling_rate=16000, **call)
    want = theirs(batch, sampling_rate=16000, return_tensors="np", **hf_call)
    assert max_rel(got["input_values"], want["input_values"]) <= 1e-4
    np.testing.assert_array_equal(got["attention_mask"], want["attention_mask"])


def test_wav2vec2_left_padding_normalizes_the_real_samples():
    fe = Wav2Vec2FeatureExtractor({"padding_side": "left", "do_normalize": True})
    a, b = clip("hello")[:8000], clip("numbers")[:5000]
    out = fe([a, b], padding=True)
    assert out["input_values"].shape == (2, 8000)
    np.testing.assert_array_equal(out["attention_mask"][1], np.r_[np.zeros(3000), np.ones(5000)])
    alone = fe(b)["input_values"][0]
    np.testing.assert_allclose(out["input_values"][1, 3000:], alone, rtol=1e-5, atol=1e-6)
    assert (out["input_values"][1, :3000] == 0).all()


def test_wav2vec2_different_lengths_need_padding():
    fe = Wav2Vec2FeatureExtractor()
    with pytest.raises(InvalidInputError, match="different lengths"):
        fe([np.zeros(10, np.float32), np.ones(12, np.float32)])


# ----------------------------------------------------------------------------------- AST


@pytest.fixture(scope="module")
def ast_fe():
    fe = AutoFeatureExtractor.from_pretrained(str(MODELS / "tiny-ast-classifier"))
    assert isinstance(fe, ASTFeatureExtractor)
    return fe


@pytest.mark.parametrize("case", ref("tiny-ast-classifier")["cases"], ids=lambda c: c["id"])
def test_ast_features_match_transformers(ast_fe, case):
    got = ast_fe(clip(case["id"]), sampling_rate=16000)["input_values"]
    assert got.dtype == np.float32 and got.shape == (1, 100, 32)
    assert max_rel(got[0], case["input_values"]) <= 1e-4


def test_ast_noise_truncated_and_short_tone_padded(ast_fe):
    cases = {c["id"]: c for c in ref("tiny-ast-classifier")["feature_cases"]}
    noise = (0.3 * np.random.default_rng(5).standard_normal(32000)).astype(np.float32)
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(1600) / 16000)).astype(np.float32)
    assert max_rel(ast_fe(noise)["input_values"][0], cases["noise_2s"]["input_values"]) <= 1e-4
    got = ast_fe(tone)["input_values"][0]
    assert max_rel(got, cases["tone_0.1s"]["input_values"]) <= 1e-4
    # frames past the clip are the normalized zero padding
    np.testing.assert_allclose(got[20:], (0 - ast_fe.mean) / (2 * ast_fe.std), rtol=1e-6)


def test_ast_batch_and_options(ast_fe):
    a, b = clip("hello"), clip("numbers")
    batch = ast_fe([a, b])["input_values"]
    assert batch.shape == (2, 100, 32)
    np.testing.assert_array_equal(batch[1], ast_fe(b)["input_values"][0])
    assert ast_fe(a, max_length=40)["input_values"].shape == (1, 40, 32)
    raw = ast_fe(a, do_normalize=False)["input_values"]
    np.testing.assert_allclose((raw - ast_fe.mean) / (2 * ast_fe.std), ast_fe(a)["input_values"], rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------- CLAP


@pytest.fixture(scope="module")
def clap_fe():
    fe = AutoFeatureExtractor.from_pretrained(str(MODELS / "tiny-clap"))
    assert isinstance(fe, ClapFeatureExtractor)
    return fe


@pytest.mark.parametrize("case", ref("tiny-clap")["feature_cases"], ids=lambda c: c["id"])
def test_clap_features_match_transformers(clap_fe, case):
    hello = clip("hello")
    audio = np.concatenate([hello] * 3) if "x3" in case["id"] else hello
    out = clap_fe(audio, sampling_rate=16000, **case["call"])
    feats = out["input_features"]
    assert feats.dtype == np.float32 and feats.shape == (1, 1, 201, 16)
    got = feats[0, 0] if case["rows"] == "all" else feats[0, 0][::10]
    assert max_rel(got, case["input_features"]) <= 1e-4
    assert out["is_longer"].dtype == bool and out["is_longer"].shape == (1, 1)
    assert bool(out["is_longer"][0, 0]) == case.get("is_longer", False)


def test_clap_fusion_matches_transformers():
    fusion = ref("tiny-clap")["fusion"]
    fe = ClapFeatureExtractor(fusion["config"])
    hello = clip("hello")
    out = fe(hello[:24000], sampling_rate=8000, seed=fusion["np_random_seed"])
    assert out["input_features"].shape == (1, 4, 11, 64)
    assert max_rel(out["input_features"][0], fusion["input_features"]) <= 1e-4
    assert bool(out["is_longer"][0, 0]) is fusion["is_longer"]
    short = fe(hello[:5000], seed=fusion["np_random_seed"])
    assert short["input_features"].astype(np.float64).sum() == pytest.approx(fusion["short_input_features_sum"], rel=1e-6)
    # a short clip is 4 copies of the same mel; transformers then flags one random clip as longer
    np.testing.assert_array_equal(short["input_features"][0, 0], short["input_features"][0, 3])
    assert bool(short["is_longer"][0, 0]) is fusion["short_is_longer"]


def test_clap_random_crop_is_seedable(clap_fe):
    long = np.concatenate([clip("numbers")] * 3)
    a = clap_fe(long, seed=1)["input_features"]
    np.testing.assert_array_equal(a, clap_fe(long, seed=1)["input_features"])
    np.testing.assert_array_equal(a, clap_fe(long, rng=np.random.RandomState(1))["input_features"])
    assert not np.array_equal(a, clap_fe(long, seed=2)["input_features"])
    np.random.seed(1)  # no seed: numpy's global generator, as transformers draws from it
    np.testing.assert_array_equal(a, clap_fe(long)["input_features"])
    with pytest.raises(InvalidInputError, match="either seed or rng"):
        clap_fe(long, seed=1, rng=np.random.RandomState(1))


def test_clap_bad_config():
    with pytest.raises(InvalidConfigError, match="truncation"):
        ClapFeatureExtractor({"truncation": "cut"})
    with pytest.raises(InvalidConfigError, match="truncation"):
        ClapFeatureExtractor()(np.zeros(10, np.float32), truncation="nope")


# ----------------------------------------------------------------------------------- PyAnnote


PYANNOTE_CONFIG = {"feature_extractor_type": "PyAnnoteFeatureExtractor", "processor_class": "PyAnnoteProcessor",
                   "feature_size": 1, "sampling_rate": 16000, "padding_value": 0.0, "padding_side": "right",
                   "return_attention_mask": True, "step": 270, "offset": 990}


def test_pyannote_extractor_passes_the_waveform():
    fe = AutoFeatureExtractor.from_pretrained("unused", config=PYANNOTE_CONFIG)
    assert isinstance(fe, PyAnnoteFeatureExtractor)
    audio = clip("hello")
    out = fe(audio, sampling_rate=16000)
    assert out["input_values"].shape == (1, 1, len(audio)) and out["input_values"].dtype == np.float32
    np.testing.assert_array_equal(out["input_values"][0, 0], audio)
    assert fe.samples_to_frames(208000) == pytest.approx((208000 - 990) / 270)


def test_pyannote_post_process_speaker_diarization():
    fe = PyAnnoteFeatureExtractor(PYANNOTE_CONFIG)
    n_samples = 208000  # the docs' example: 767 frames, the first segment ends at frame 62
    logits = np.full((1, 767, 7), -5.0, np.float32)
    logits[0, :62, 0] = 3.0
    logits[0, 62:100, 2] = 2.0
    logits[0, 100:, 3] = 1.0
    logits[0, 100:, 4] = 1.0  # a tie: the first class wins, as in Transformers.js' max()
    out = fe.post_process_speaker_diarization(logits, n_samples)
    assert len(out) == 1 and [s["id"] for s in out[0]] == [0, 2, 3]
    ratio = (n_samples / ((n_samples - 990) / 270)) / 16000
    assert out[0][0]["start"] == 0 and out[0][0]["end"] == pytest.approx(1.0512535626298245, abs=1e-12)
    assert out[0][1]["start"] == pytest.approx(62 * ratio) and out[0][1]["end"] == pytest.approx(100 * ratio)
    assert out[0][2]["end"] == pytest.approx(767 * ratio)
    p0 = np.exp(3.0) / (np.exp(3.0) + 6 * np.exp(-5.0))
    assert out[0][0]["confidence"] == pytest.approx(p0)
    p3 = np.exp(1.0) / (2 * np.exp(1.0) + 5 * np.exp(-5.0))
    assert out[0][2]["confidence"] == pytest.approx(p3)
    # a 2-D logits array is one batch item; the processor forwards the method
    assert fe.post_process_speaker_diarization(logits[0], n_samples) == out
    assert Processor(fe).post_process_speaker_diarization(logits, n_samples) == out
    with pytest.raises(InvalidInputError, match="num_samples"):
        fe.post_process_speaker_diarization(logits, 0)
    with pytest.raises(InvalidInputError, match="shape"):
        fe.post_process_speaker_diarization(np.zeros((2, 3, 4, 5)), n_samples)
    with pytest.raises(InvalidInputError, match="too short"):
        fe.post_process_speaker_diarization(logits, 500)


# ----------------------------------------------------------------------------------- bad input


EXTRACTORS = {
    "wav2vec2": lambda: Wav2Vec2FeatureExtractor(),
    "ast": lambda: ASTFeatureExtractor(config("tiny-ast-classifier")),
    "clap": lambda: ClapFeatureExtractor(config("tiny-clap")),
    "pyannote": lambda: PyAnnoteFeatureExtractor(PYANNOTE_CONFIG),
}


@pytest.mark.parametrize("kind", EXTRACTORS)
def test_bad_audio_is_rejected(kind):
    fe = EXTRACTORS[kind]()
    good = clip("hello")
    with pytest.raises(InvalidInputError, match="empty|zero samples"):
        fe(np.zeros(0, np.float32))
    for bad_value in (np.nan, np.inf, -np.inf):
        bad = good.copy()
        bad[123] = bad_value
        with pytest.raises(InvalidInputError, match="non-finite sample .* at index 123"):
            fe(bad)
    with pytest.raises(InvalidInputError, match="mono"):
        fe(np.zeros((2, 2, 100), np.float32))
    with pytest.raises(InvalidInputError, match="sampled at 16000 Hz, got 44100 Hz"):
        fe(good, sampling_rate=44100)
    with pytest.raises(InvalidInputError, match="real numbers"):
        fe(np.array(["a", "b"]))
