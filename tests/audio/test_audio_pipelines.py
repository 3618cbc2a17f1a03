"""audio-classification, zero-shot-audio-classification, CTC speech recognition, audio frame
classification and x-vectors on the tiny fixtures, against the outputs transformers (torch)
stored in their reference.json (scripts/fixture_builders/audio_models.py)."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from onnxformers import (
    AutoModel,
    AutoModelForAudioFrameClassification,
    AutoModelForCTC,
    AutoModelForXVector,
    AutoProcessor,
    AutoTokenizer,
    InvalidInputError,
    pipeline,
)
from onnxformers.pipelines import SUPPORTED_TASKS
from onnxformers.pipelines._asr_ctc import is_ctc_model, run_ctc
from onnxformers.pipelines.audio_classification import classify_frames
from onnxformers.pipelines.base import Pipeline
from onnxformers.utils.audio import read_audio

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MODELS = FIXTURES / "models"
CLIPS = FIXTURES / "audio" / "espeak-clips"
SCORE_TOL = 1e-4


def ref(model: str) -> dict:
    return json.loads((MODELS / model / "reference.json").read_text())


def clip_path(name: str) -> str:
    return str(CLIPS / f"{name}.wav")


def clip(name: str) -> np.ndarray:
    return read_audio(clip_path(name), 16000)


def assert_scores(got: list, want: list, key_order=("label",)) -> None:
    assert [g["label"] for g in got] == [w["label"] for w in want]
    for g, w in zip(got, want):
        assert abs(g["score"] - w["score"]) <= SCORE_TOL, (g, w)
        assert isinstance(g["score"], float)


# ----------------------------------------------------------------------------------- audio-classification


@pytest.fixture(scope="module")
def classifier():
    return pipeline("audio-classification", str(MODELS / "tiny-ast-classifier"))


@pytest.mark.parametrize("case", ref("tiny-ast-classifier")["cases"], ids=lambda c: c["id"])
def test_audio_classification_matches_transformers(classifier, case):
    assert_scores(classifier(clip_path(case["id"]), top_k=None), case["pipeline"])
    assert_scores(classifier(clip(case["id"]), top_k=2), case["pipeline_top2"])
    # default top_k is 5 (the docs), here every label
    assert_scores(classifier(clip(case["id"])), case["pipeline"])


@pytest.mark.parametrize("case", ref("tiny-wav2vec2-classifier")["cases"], ids=lambda c: c["id"])
def test_wav2vec2_audio_classification_matches_transformers(case):
    classifier = pipeline("audio-classification", str(MODELS / "tiny-wav2vec2-classifier"))
    assert classifier.model.config.problem_type == "multi_label_classification"
    assert_scores(classifier(clip_path(case["id"]), top_k=4), case["pipeline"])  # softmax all the same
    assert_scores(classifier(clip(case["id"]), top_k=4, function_to_apply="sigmoid"), case["pipeline_sigmoid"])
    logits = classifier.model(**classifier.processor(clip(case["id"])))["logits"]
    np.testing.assert_allclose(logits[0], case["torch"]["logits"], rtol=1e-4, atol=1e-4)


def test_audio_classification_inputs_and_batches(classifier):
    cases = ref("tiny-ast-classifier")["cases"]
    path = clip_path("hello")
    single = classifier(path, top_k=1)
    assert len(single) == 1 and single[0]["label"] == cases[0]["pipeline"][0]["label"]
    raw = Path(path).read_bytes()
    for source in (raw, io.BytesIO(raw), Path(path), clip("hello").tolist()):
        assert classifier(source, top_k=1)[0]["label"] == single[0]["label"]
    batch = classifier([path, clip("numbers"), {"array": clip("question"), "sampling_rate": 16000}], top_k=None)
    assert len(batch) == 3
    for got, case in zip(batch, cases):
        assert_scores(got, case["pipeline"])
    # another sampling rate in the transformers dict form is resampled first
    import soxr

    at_8k = soxr.resample(clip("hello"), 16000, 8000, quality="HQ")
    out = classifier({"raw": at_8k, "sampling_rate": 8000}, top_k=None)
    assert len(out) == 5 and abs(sum(o["score"] for o in out) - 1) < 1e-6
    scores = classifier(path, function_to_apply="none", top_k=None)
    assert any(s["score"] > 1 or s["score"] < 0 for s in scores)
    with pytest.raises(InvalidInputError, match="top_k"):
        classifier(path, top_k=-1)
    with pytest.raises(InvalidInputError, match="function_to_apply"):
        classifier(path, function_to_apply="relu")


# ----------------------------------------------------------------------------------- zero-shot


@pytest.fixture(scope="module")
def zero_shot():
    return pipeline("zero-shot-audio-classification", str(MODELS / "tiny-clap"))


@pytest.mark.parametrize("case", ref("tiny-clap")["cases"], ids=lambda c: c["id"])
def test_zero_shot_audio_matches_transformers(zero_shot, case):
    labels = ref("tiny-clap")["candidate_labels"]
    assert_scores(zero_shot(clip_path(case["id"]), labels), case["pipeline"])


def test_zero_shot_audio_batch_template_and_errors(zero_shot):
    r = ref("tiny-clap")
    labels = r["candidate_labels"]
    batch = zero_shot([clip_path("hello"), clip("numbers")], labels)
    assert len(batch) == 2
    for got, case in zip(batch, r["cases"]):
        assert_scores(got, case["pipeline"])
    other = zero_shot(clip("hello"), labels, hypothesis_template="{}")
    assert sorted(o["label"] for o in other) == sorted(labels)
    assert abs(sum(o["score"] for o in other) - 1) < 1e-6
    assert [o["score"] for o in other] == sorted((o["score"] for o in other), reverse=True)
    one = zero_shot(clip("hello"), "speech")
    assert one == [{"score": 1.0, "label": "speech"}]
    with pytest.raises(InvalidInputError, match="candidate_labels"):
        zero_shot(clip("hello"), [])
    with pytest.raises(InvalidInputError, match="hypothesis_template"):
        zero_shot(clip("hello"), labels, hypothesis_template=3)


# ----------------------------------------------------------------------------------- CTC


CTC = MODELS / "tiny-wav2vec2-ctc"


@pytest.fixture(scope="module")
def ctc_pipe():
    model = AutoModelForCTC.from_pretrained(str(CTC))
    assert is_ctc_model(model) and type(model).__name__ == "Wav2Vec2ForCTC"
    return Pipeline(task="automatic-speech-recognition", model=model, tokenizer=AutoTokenizer.from_pretrained(str(CTC)),
                    processor=AutoProcessor.from_pretrained(str(CTC)))


@pytest.mark.parametrize("case", ref("tiny-wav2vec2-ctc")["cases"], ids=lambda c: c["id"])
def test_ctc_transcripts_match_transformers(ctc_pipe, case):
    out = run_ctc(ctc_pipe, clip_path(case["id"]))
    assert out == {"text": case["pipeline"]}
    logits = ctc_pipe.model(**ctc_pipe.processor(clip(case["id"])))["logits"]
    assert logits.shape[1] == case["frames"]
    assert logits[0].argmax(-1).tolist() == case["argmax_ids"]
    np.testing.assert_allclose(logits[0, :4], case["torch"]["logits_head"], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", ref("tiny-wav2vec2-ctc")["cases"], ids=lambda c: c["id"])
@pytest.mark.parametrize("kind", ["char", "word"])
def test_ctc_timestamps_match_transformers(ctc_pipe, case, kind):
    out = run_ctc(ctc_pipe, clip(case["id"]), return_timestamps=kind)
    assert out["text"] == case["pipeline"]
    want = case["timestamps"][kind]
    assert [c["text"] for c in out["chunks"]] == [w["text"] for w in want]
    for got, w in zip(out["chunks"], want):
        assert isinstance(got["timestamp"], tuple)
        assert got["timestamp"] == pytest.approx(tuple(w["timestamp"]), abs=1e-9)
    if kind == "word":
        assert " ".join(c["text"] for c in out["chunks"]) == case["pipeline"]


def test_ctc_batch_and_ignored_options(ctc_pipe):
    r = ref("tiny-wav2vec2-ctc")
    paths = [clip_path(c["id"]) for c in r["cases"]]
    assert [o["text"] for o in run_ctc(ctc_pipe, paths)] == r["batch_pipeline"]
    with pytest.warns(UserWarning, match="language, task: not supported for CTC"):
        out = run_ctc(ctc_pipe, paths[0], language="french", task="translate")
    assert out["text"] == r["cases"][0]["pipeline"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_ctc(ctc_pipe, paths[0], return_timestamps=False)
    with pytest.raises(InvalidInputError, match="'char' or 'word'"):
        run_ctc(ctc_pipe, paths[0], return_timestamps=True)


def test_ctc_through_the_asr_pipeline():
    if not SUPPORTED_TASKS["automatic-speech-recognition"].implemented:
        pytest.skip("the automatic-speech-recognition pipeline (Whisper module) is not wired yet")
    asr = pipeline("automatic-speech-recognition", str(CTC))
    r = ref("tiny-wav2vec2-ctc")
    for case in r["cases"]:
        assert asr(clip_path(case["id"]))["text"] == case["pipeline"]
    assert asr(clip("hello")) == {"text": r["cases"][0]["pipeline"]}
    words = asr(clip_path("numbers"), return_timestamps="word")["chunks"]
    assert [w["text"] for w in words] == [w["text"] for w in r["cases"][1]["timestamps"]["word"]]
    assert [o["text"] for o in asr([clip_path(c["id"]) for c in r["cases"]])] == r["batch_pipeline"]


def test_ctc_tokenizer_matches_transformers():
    r = ref("tiny-wav2vec2-ctc")
    tok = AutoTokenizer.from_pretrained(str(CTC))
    assert type(tok).__name__ == "Wav2Vec2CTCTokenizer"
    for case in r["tokenizer"]:
        assert tok(case["text"], return_tensors=False)["input_ids"] == case["input_ids"]
    for case in r["decode"]:
        assert tok.decode(case["ids"]) == case["text"]
        assert tok.decode(np.array(case["ids"]), skip_special_tokens=True) == case["skip_special"]
    assert tok.batch_decode([c["ids"] for c in r["decode"]]) == [c["text"] for c in r["decode"]]
    assert tok.decode([11, 11, 5], group_tokens=False) == "HHE"
    with pytest.raises(InvalidInputError, match="not in the vocabulary"):
        tok.decode([99])


# ----------------------------------------------------------------------------------- frames and x-vectors


def test_audio_frame_classification_matches_transformers():
    folder = str(MODELS / "tiny-wav2vec2-frame-classifier")
    model = AutoModelForAudioFrameClassification.from_pretrained(folder)
    processor = AutoProcessor.from_pretrained(folder)
    r = ref("tiny-wav2vec2-frame-classifier")
    for case in r["cases"]:
        inputs = processor(clip(case["id"]))
        logits = model(**inputs)["logits"]
        np.testing.assert_allclose(logits[0], case["torch"]["logits"], atol=1e-4)
        assert classify_frames(model, processor, clip_path(case["id"])) == case["labels"]
    labels = classify_frames(model, processor, [clip_path(c["id"]) for c in r["cases"]])
    assert labels == [c["labels"] for c in r["cases"]]
    # a padded batch with its attention mask, as transformers runs it
    batch = processor([clip(n) for n in r["batch"]["clips"]], padding=True)
    logits = model(**batch)["logits"]
    assert logits.shape[1] == r["batch"]["frames"]
    np.testing.assert_allclose(logits.sum(axis=(1, 2)), r["batch"]["logits_sum"], rtol=1e-4)


def test_xvector_matches_transformers():
    folder = str(MODELS / "tiny-wavlm-xvector")
    processor = AutoProcessor.from_pretrained(folder)
    for auto in (AutoModelForXVector, AutoModel):  # the docs load it with AutoModel
        model = auto.from_pretrained(folder)
        for case in ref("tiny-wavlm-xvector")["cases"]:
            out = model(**processor(clip(case["id"])))
            np.testing.assert_allclose(out["embeddings"][0], case["torch"]["embeddings"], atol=1e-4)
            np.testing.assert_allclose(out["logits"][0], case["torch"]["logits"], atol=1e-4)


# ----------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kind", ["classifier", "zero_shot", "ctc"])
def test_pipelines_reject_bad_audio(kind, classifier, zero_shot, ctc_pipe, tmp_path):
    labels = ["a", "b"]
    run = {"classifier": lambda a: classifier(a), "zero_shot": lambda a: zero_shot(a, labels),
           "ctc": lambda a: run_ctc(ctc_pipe, a)}[kind]
    good = clip("hello")
    with pytest.raises(InvalidInputError, match="empty"):
        run(np.zeros(0, np.float32))
    with pytest.raises(InvalidInputError, match="empty"):
        run([])
    for value in (np.nan, np.inf):
        bad = good.copy()
        bad[7] = value
        with pytest.raises(InvalidInputError, match="non-finite sample .* at index 7"):
            run(bad)
    with pytest.raises(InvalidInputError, match="down-mix"):
        run(np.stack([good, good]))  # stereo (or a batch?) array: ambiguous, so refused
    with pytest.raises(InvalidInputError, match="down-mix"):
        run([np.stack([good, good])])
    with pytest.raises(InvalidInputError, match="sampling_rate"):
        run({"array": good})
    with pytest.raises(InvalidInputError, match="sampling_rate must be a positive integer"):
        run({"array": good, "sampling_rate": 0})
    with pytest.raises(InvalidInputError, match="not found"):
        run(str(tmp_path / "missing.wav"))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(Path(clip_path("hello")).read_bytes()[:30])
    with pytest.raises(InvalidInputError, match="could not decode"):
        run(str(broken))
    with pytest.raises(InvalidInputError, match="must be a path"):
        run(3.5)
    with pytest.raises(InvalidInputError, match="real numbers"):
        run(np.array([1 + 2j, 3j]))


def test_classify_frames_with_a_pyannote_processor():
    from onnxformers.processors import Processor
    from onnxformers.processors.audio import PyAnnoteFeatureExtractor

    fe = PyAnnoteFeatureExtractor({"sampling_rate": 16000, "step": 270, "offset": 990})
    seen = {}

    def segmentation_model(input_values):  # stands in for PyAnnoteForAudioFrameClassification
        seen["shape"] = input_values.shape
        frames = int(fe.samples_to_frames(input_values.shape[-1]))
        logits = np.zeros((1, frames, 3), np.float32)
        logits[0, : frames // 2, 1] = 4.0
        logits[0, frames // 2:, 2] = 4.0
        return {"logits": logits}

    audio = clip("hello")
    segments = classify_frames(segmentation_model, Processor(fe), audio)
    assert seen["shape"] == (1, 1, len(audio))
    assert [s["id"] for s in segments] == [1, 2]
    assert segments[0]["start"] == 0 and segments[1]["end"] == pytest.approx(
        int(fe.samples_to_frames(len(audio))) * len(audio) / fe.samples_to_frames(len(audio)) / 16000)
    assert all(0.9 < s["confidence"] <= 1 for s in segments)
