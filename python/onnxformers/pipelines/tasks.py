"""The task table of Transformers.js 3.0.0: ids, aliases, default models, model classes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSpec:
    task: str
    pipeline_class: str  # "module:Class" under onnxformers.pipelines, None when not implemented yet
    auto_models: tuple[str, ...]  # tried in order
    default_model: str
    tokenizer: bool = True
    processor: bool = False
    implemented: bool = False
    kind: str = "text"  # text | image | audio | multimodal


def _t(task, cls, models, default, *, tokenizer=True, processor=False, implemented=False, kind="text"):
    return task, TaskSpec(task, cls, tuple(models.split()), default, tokenizer, processor,
                          implemented, kind)


SUPPORTED_TASKS: dict[str, TaskSpec] = dict([
    _t("text-classification", "text_classification:TextClassificationPipeline",
       "AutoModelForSequenceClassification", "Xenova/distilbert-base-uncased-finetuned-sst-2-english",
       implemented=True),
    _t("token-classification", "token_classification:TokenClassificationPipeline",
       "AutoModelForTokenClassification", "Xenova/bert-base-multilingual-cased-ner-hrl",
       implemented=True),
    _t("question-answering", "question_answering:QuestionAnsweringPipeline",
       "AutoModelForQuestionAnswering", "Xenova/distilbert-base-cased-distilled-squad",
       implemented=True),
    _t("fill-mask", "fill_mask:FillMaskPipeline", "AutoModelForMaskedLM", "Xenova/bert-base-uncased",
       implemented=True),
    _t("summarization", "summarization:SummarizationPipeline", "AutoModelForSeq2SeqLM",
       "Xenova/distilbart-cnn-6-6", implemented=True),
    _t("translation", "translation:TranslationPipeline", "AutoModelForSeq2SeqLM", "Xenova/t5-small",
       implemented=True),
    _t("text2text-generation", "text2text_generation:Text2TextGenerationPipeline",
       "AutoModelForSeq2SeqLM", "Xenova/flan-t5-small", implemented=True),
    _t("text-generation", "text_generation:TextGenerationPipeline", "AutoModelForCausalLM",
       "Xenova/gpt2", implemented=True),
    _t("zero-shot-classification", "zero_shot_classification:ZeroShotClassificationPipeline",
       "AutoModelForSequenceClassification", "Xenova/distilbert-base-uncased-mnli",
       implemented=True),
    _t("audio-classification", "audio_classification:AudioClassificationPipeline",
       "AutoModelForAudioClassification", "Xenova/wav2vec2-base-superb-ks", tokenizer=False,
       processor=True, implemented=True, kind="audio"),
    _t("zero-shot-audio-classification",
       "zero_shot_audio_classification:ZeroShotAudioClassificationPipeline", "AutoModel",
       "Xenova/clap-htsat-unfused", processor=True, implemented=True, kind="multimodal"),
    _t("automatic-speech-recognition", "automatic_speech_recognition:AutomaticSpeechRecognitionPipeline",
       "AutoModelForSpeechSeq2Seq AutoModelForCTC", "Xenova/whisper-tiny.en", processor=True,
       implemented=True, kind="audio"),
    _t("text-to-audio", "TextToAudioPipeline", "AutoModelForTextToWaveform AutoModelForTextToSpectrogram",
       "Xenova/speecht5_tts", processor=True),
    _t("image-to-text", "ImageToTextPipeline", "AutoModelForVision2Seq",
       "Xenova/vit-gpt2-image-captioning", processor=True, kind="image"),
    _t("image-classification", "image_classification:ImageClassificationPipeline",
       "AutoModelForImageClassification", "Xenova/vit-base-patch16-224", tokenizer=False,
       processor=True, implemented=True, kind="image"),
    _t("image-segmentation", "image_segmentation:ImageSegmentationPipeline",
       "AutoModelForImageSegmentation AutoModelForSemanticSegmentation AutoModelForUniversalSegmentation",
       "Xenova/detr-resnet-50-panoptic", tokenizer=False, processor=True, implemented=True, kind="image"),
    _t("zero-shot-image-classification",
       "zero_shot_image_classification:ZeroShotImageClassificationPipeline", "AutoModel",
       "Xenova/clip-vit-base-patch32", processor=True, implemented=True, kind="multimodal"),
    _t("object-detection", "object_detection:ObjectDetectionPipeline", "AutoModelForObjectDetection",
       "Xenova/detr-resnet-50", tokenizer=False, processor=True, implemented=True, kind="image"),
    _t("zero-shot-object-detection", "zero_shot_object_detection:ZeroShotObjectDetectionPipeline",
       "AutoModelForZeroShotObjectDetection", "Xenova/owlvit-base-patch32", processor=True,
       implemented=True, kind="multimodal"),
    _t("document-question-answering", "DocumentQuestionAnsweringPipeline",
       "AutoModelForDocumentQuestionAnswering", "Xenova/donut-base-finetuned-docvqa",
       processor=True, kind="multimodal"),
    _t("image-to-image", "image_to_image:ImageToImagePipeline", "AutoModelForImageToImage",
       "Xenova/swin2SR-classical-sr-x2-64", tokenizer=False, processor=True, implemented=True,
       kind="image"),
    _t("depth-estimation", "depth_estimation:DepthEstimationPipeline", "AutoModelForDepthEstimation",
       "Xenova/dpt-large", tokenizer=False, processor=True, implemented=True, kind="image"),
    _t("feature-extraction", "feature_extraction:FeatureExtractionPipeline", "AutoModel",
       "Xenova/all-MiniLM-L6-v2", implemented=True),
    _t("image-feature-extraction", "image_feature_extraction:ImageFeatureExtractionPipeline",
       "AutoModelForImageFeatureExtraction AutoModel", "Xenova/vit-base-patch16-224-in21k",
       tokenizer=False, processor=True, implemented=True, kind="image"),
])

TASK_ALIASES: dict[str, str] = {
    "sentiment-analysis": "text-classification",
    "ner": "token-classification",
    "asr": "automatic-speech-recognition",
    "text-to-speech": "text-to-audio",
    "embeddings": "feature-extraction",
}


def resolve_task(task: str) -> tuple[TaskSpec, dict]:
    """Task id (or alias, or ``translation_xx_to_yy``) → (spec, extra call defaults)."""
    from ..errors import UnsupportedTaskError

    if not isinstance(task, str):
        raise UnsupportedTaskError(f"task must be a string, got {type(task).__name__}")
    name = TASK_ALIASES.get(task, task)
    extra: dict = {}
    if name.startswith("translation_"):
        parts = name.split("_")
        if len(parts) == 4 and parts[2] == "to" and parts[1] and parts[3]:
            extra = {"src_lang": parts[1], "tgt_lang": parts[3]}
            name = "translation"
    spec = SUPPORTED_TASKS.get(name)
    if spec is None:
        known = sorted([*SUPPORTED_TASKS, *TASK_ALIASES, "translation_xx_to_yy"])
        raise UnsupportedTaskError(
            f"Unsupported pipeline: {task!r}. Must be one of: {', '.join(known)}")
    return spec, extra
