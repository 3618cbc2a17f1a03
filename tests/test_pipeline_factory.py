"""The task table: ids, aliases, defaults and errors (no model loading)."""

import pytest

from onnxformers import NotImplementedYetError, UnsupportedTaskError, pipeline
from onnxformers.pipelines.tasks import SUPPORTED_TASKS, TASK_ALIASES, resolve_task

DOCS_TASKS = {
    "text-classification", "token-classification", "question-answering", "fill-mask",
    "summarization", "translation", "text2text-generation", "text-generation",
    "zero-shot-classification", "audio-classification", "zero-shot-audio-classification",
    "automatic-speech-recognition", "text-to-audio", "image-to-text", "image-classification",
    "image-segmentation", "zero-shot-image-classification", "object-detection",
    "zero-shot-object-detection", "document-question-answering", "image-to-image",
    "depth-estimation", "feature-extraction", "image-feature-extraction",
}


def test_all_24_tasks_and_5_aliases():
    assert set(SUPPORTED_TASKS) == DOCS_TASKS
    assert TASK_ALIASES == {
        "sentiment-analysis": "text-classification", "ner": "token-classification",
        "asr": "automatic-speech-recognition", "text-to-speech": "text-to-audio",
        "embeddings": "feature-extraction"}


def test_default_models_follow_transformers_js():
    assert SUPPORTED_TASKS["feature-extraction"].default_model == "Xenova/all-MiniLM-L6-v2"
    assert SUPPORTED_TASKS["text-classification"].default_model == \
        "Xenova/distilbert-base-uncased-finetuned-sst-2-english"
    assert SUPPORTED_TASKS["automatic-speech-recognition"].default_model == "Xenova/whisper-tiny.en"


def test_aliases_resolve():
    assert resolve_task("sentiment-analysis")[0].task == "text-classification"
    assert resolve_task("embeddings")[0].task == "feature-extraction"


def test_translation_xx_to_yy():
    spec, extra = resolve_task("translation_en_to_fr")
    assert spec.task == "translation" and extra == {"src_lang": "en", "tgt_lang": "fr"}


def test_unknown_task_lists_tasks():
    with pytest.raises(UnsupportedTaskError) as info:
        pipeline("text-clasification")
    message = str(info.value)
    assert "text-classification" in message and "translation_xx_to_yy" in message
    assert isinstance(info.value, ValueError)


def test_non_string_task():
    with pytest.raises(UnsupportedTaskError):
        pipeline(42)


def test_unimplemented_task_is_a_clear_error():
    with pytest.raises(NotImplementedYetError, match="document-question-answering"):
        pipeline("document-question-answering", "some/model")


def test_unknown_loading_option_is_rejected():
    with pytest.raises(TypeError, match="bogus"):
        pipeline("feature-extraction", "x", bogus=1)
