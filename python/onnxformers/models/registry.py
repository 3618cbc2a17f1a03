"""Which architectures exist, how their ONNX files are split, and which Auto class maps them.

Tables follow Transformers.js 3.0.0 (``MODEL_*_MAPPING_NAMES`` in its models.js).
"""

from __future__ import annotations

# --- model kinds: which session files a model has ----------------------------------------------
ENCODER_ONLY = "encoder_only"
DECODER_ONLY = "decoder_only"
SEQ2SEQ = "seq2seq"  # encoder_model + decoder_model_merged
VISION2SEQ = "vision2seq"
MASK_GENERATION = "mask_generation"
MUSICGEN = "musicgen"
IMAGE_TEXT_TO_TEXT = "image_text_to_text"

#: session name → default file stem, per kind
SESSIONS: dict[str, dict[str, str]] = {
    ENCODER_ONLY: {"model": "model"},
    DECODER_ONLY: {"model": "model"},
    SEQ2SEQ: {"model": "encoder_model", "decoder_model_merged": "decoder_model_merged"},
    VISION2SEQ: {"model": "encoder_model", "decoder_model_merged": "decoder_model_merged"},
    MASK_GENERATION: {
        "vision_encoder": "vision_encoder",
        "prompt_encoder_mask_decoder": "prompt_encoder_mask_decoder",
    },
    MUSICGEN: {
        "text_encoder": "text_encoder",
        "decoder_model_merged": "decoder_model_merged",
        "encodec_decode": "encodec_decode",
    },
    IMAGE_TEXT_TO_TEXT: {
        "embed_tokens": "embed_tokens",
        "vision_encoder": "vision_encoder",
        "decoder_model_merged": "decoder_model_merged",
    },
}

_ENCODER_DECODER_TYPES = {
    "t5", "longt5", "mt5", "bart", "mbart", "marian", "whisper", "m2m_100", "blenderbot",
    "blenderbot-small", "speecht5", "trocr",
}
_DECODER_TYPES = {
    "bloom", "jais", "gpt2", "gptj", "gpt_bigcode", "gpt_neo", "gpt_neox", "codegen", "llama",
    "granite", "cohere", "gemma", "gemma2", "openelm", "qwen2", "phi", "phi3", "mpt", "opt",
    "mistral", "starcoder2", "falcon", "stablelm",
}


def model_kind(model_type: str | None, class_name: str = "") -> str:
    if model_type == "vision-encoder-decoder":
        return VISION2SEQ
    if model_type == "sam":
        return MASK_GENERATION
    if model_type == "musicgen":
        return MUSICGEN
    if model_type in ("llava", "moondream1", "florence2"):
        return IMAGE_TEXT_TO_TEXT
    if model_type in _ENCODER_DECODER_TYPES and not class_name.endswith("ForCausalLM"):
        return SEQ2SEQ
    if model_type in _DECODER_TYPES or class_name.endswith("ForCausalLM"):
        return DECODER_ONLY
    return ENCODER_ONLY



_ARCH = {  # model_type → class-name stem
    "bert": "Bert", "nomic_bert": "NomicBert", "roformer": "RoFormer", "electra": "Electra",
    "esm": "Esm", "convbert": "ConvBert", "camembert": "Camembert", "deberta": "Deberta",
    "deberta-v2": "DebertaV2", "mpnet": "MPNet", "albert": "Albert", "distilbert": "DistilBert",
    "roberta": "Roberta", "xlm": "XLM", "xlm-roberta": "XLMRoberta", "clap": "Clap", "clip": "CLIP",
    "clipseg": "CLIPSeg", "chinese_clip": "ChineseCLIP", "siglip": "Siglip",
    "mobilebert": "MobileBert", "squeezebert": "SqueezeBert", "wav2vec2": "Wav2Vec2",
    "wav2vec2-bert": "Wav2Vec2Bert", "unispeech": "UniSpeech", "unispeech-sat": "UniSpeechSat",
    "hubert": "Hubert", "wavlm": "WavLM", "audio-spectrogram-transformer": "ASTModel",
    "vits": "Vits", "pyannote": "PyAnnote", "wespeaker-resnet": "WeSpeakerResNet", "detr": "Detr",
    "rt_detr": "RTDetr", "table-transformer": "TableTransformer", "vit": "ViT", "pvt": "Pvt",
    "vit_msn": "ViTMSN", "vit_mae": "ViTMAE", "groupvit": "GroupViT", "fastvit": "FastViT",
    "mobilevit": "MobileViT", "mobilevitv2": "MobileViTV2", "owlvit": "OwlViT", "owlv2": "Owlv2",
    "beit": "Beit", "deit": "DeiT", "hiera": "Hiera", "convnext": "ConvNext",
    "convnextv2": "ConvNextV2", "dinov2": "Dinov2", "resnet": "ResNet", "swin": "Swin",
    "swin2sr": "Swin2SR", "donut-swin": "DonutSwin", "yolos": "Yolos", "dpt": "DPT", "glpn": "GLPN",
    "hifigan": "SpeechT5HifiGan", "efficientnet": "EfficientNet",
    "decision_transformer": "DecisionTransformer", "mobilenet_v1": "MobileNetV1",
    "mobilenet_v2": "MobileNetV2", "mobilenet_v3": "MobileNetV3", "mobilenet_v4": "MobileNetV4",
    "maskformer": "MaskFormer", "t5": "T5", "longt5": "LongT5", "mt5": "MT5", "bart": "Bart",
    "mbart": "MBart", "marian": "Marian", "whisper": "Whisper", "m2m_100": "M2M100",
    "blenderbot": "Blenderbot", "blenderbot-small": "BlenderbotSmall", "bloom": "Bloom",
    "jais": "JAIS", "gpt2": "GPT2", "gptj": "GPTJ", "gpt_bigcode": "GPTBigCode", "gpt_neo": "GPTNeo",
    "gpt_neox": "GPTNeoX", "codegen": "CodeGen", "llama": "Llama", "granite": "Granite",
    "cohere": "Cohere", "gemma": "Gemma", "gemma2": "Gemma2", "openelm": "OpenELM", "qwen2": "Qwen2",
    "phi": "Phi", "phi3": "Phi3", "mpt": "MPT", "opt": "OPT", "mistral": "Mistral",
    "starcoder2": "Starcoder2", "falcon": "Falcon", "stablelm": "StableLm", "segformer": "Segformer",
    "sapiens": "Sapiens", "depth_anything": "DepthAnything", "depth_pro": "DepthPro",
    "vitmatte": "VitMatte", "sam": "Sam", "speecht5": "SpeechT5", "musicgen": "Musicgen",
    "trocr": "TrOCR", "vision-encoder-decoder": "VisionEncoderDecoder",
}


def _map(types: str, suffix: str, **overrides: str) -> dict[str, str]:
    out = {}
    for t in types.split():
        out[t] = overrides.get(t.replace("-", "_"), f"{_ARCH[t]}{suffix}")
    return out


_ENCODERS = (
    "bert nomic_bert roformer electra esm convbert camembert deberta deberta-v2 mpnet albert "
    "distilbert roberta xlm xlm-roberta clap clip clipseg chinese_clip siglip mobilebert "
    "squeezebert wav2vec2 wav2vec2-bert unispeech unispeech-sat hubert wavlm "
    "audio-spectrogram-transformer vits pyannote wespeaker-resnet detr rt_detr table-transformer "
    "vit pvt vit_msn vit_mae groupvit fastvit mobilevit mobilevitv2 owlvit owlv2 beit deit hiera "
    "convnext convnextv2 dinov2 resnet swin swin2sr donut-swin yolos dpt glpn hifigan efficientnet "
    "decision_transformer mobilenet_v1 mobilenet_v2 mobilenet_v3 mobilenet_v4 maskformer"
)
_ENC_DEC = "t5 longt5 mt5 bart mbart marian whisper m2m_100 blenderbot blenderbot-small"
_DECODERS = (
    "bloom jais gpt2 gptj gpt_bigcode gpt_neo gpt_neox codegen llama granite cohere gemma gemma2 "
    "openelm qwen2 phi phi3 mpt opt mistral starcoder2 falcon stablelm"
)

#: Auto class name → {model_type: concrete class name}
AUTO_MAPPINGS: dict[str, dict[str, str]] = {
    "AutoModel": {
        **_map(_ENCODERS, "Model", audio_spectrogram_transformer="ASTModel",
               hifigan="SpeechT5HifiGan"),
        **_map(_ENC_DEC, "Model", marian="MarianModel"),
        **_map(_DECODERS, "Model"),
    },
    "AutoModelForSequenceClassification": _map(
        "bert roformer electra esm convbert camembert deberta deberta-v2 mpnet albert distilbert "
        "roberta xlm xlm-roberta bart mbart mobilebert squeezebert", "ForSequenceClassification"),
    "AutoModelForTokenClassification": _map(
        "bert roformer electra esm convbert camembert deberta deberta-v2 mpnet distilbert roberta "
        "xlm xlm-roberta", "ForTokenClassification"),
    "AutoModelForSeq2SeqLM": _map(
        "t5 longt5 mt5 bart mbart marian m2m_100 blenderbot blenderbot-small",
        "ForConditionalGeneration", marian="MarianMTModel"),
    "AutoModelForSpeechSeq2Seq": _map("speecht5 whisper", "ForConditionalGeneration",
                                      speecht5="SpeechT5ForSpeechToText"),
    "AutoModelForTextToSpectrogram": {"speecht5": "SpeechT5ForTextToSpeech"},
    "AutoModelForTextToWaveform": {"vits": "VitsModel",
                                   "musicgen": "MusicgenForConditionalGeneration"},
    "AutoModelForCausalLM": {
        **_map(_DECODERS, "ForCausalLM", gpt2="GPT2LMHeadModel", jais="JAISLMHeadModel",
               gptj="GPTJForCausalLM"),
        "mbart": "MBartForCausalLM",
        "trocr": "TrOCRForCausalLM",
    },
    "AutoModelForMaskedLM": _map(
        "bert roformer electra esm convbert camembert deberta deberta-v2 mpnet albert distilbert "
        "roberta xlm xlm-roberta mobilebert squeezebert", "ForMaskedLM", xlm="XLMWithLMHeadModel"),
    "AutoModelForQuestionAnswering": _map(
        "bert roformer electra convbert camembert deberta deberta-v2 mpnet albert distilbert "
        "roberta xlm xlm-roberta mobilebert squeezebert", "ForQuestionAnswering"),
    "AutoModelForVision2Seq": {"vision-encoder-decoder": "VisionEncoderDecoderModel"},
    "AutoModelForDocumentQuestionAnswering": {"vision-encoder-decoder": "VisionEncoderDecoderModel"},
    "AutoModelForImageClassification": _map(
        "vit pvt vit_msn fastvit mobilevit mobilevitv2 beit deit hiera convnext convnextv2 dinov2 "
        "resnet swin segformer efficientnet mobilenet_v1 mobilenet_v2 mobilenet_v3 mobilenet_v4",
        "ForImageClassification"),
    "AutoModelForImageSegmentation": {"detr": "DetrForSegmentation",
                                      "clipseg": "CLIPSegForImageSegmentation"},
    "AutoModelForSemanticSegmentation": {"segformer": "SegformerForSemanticSegmentation",
                                         "sapiens": "SapiensForSemanticSegmentation"},
    "AutoModelForUniversalSegmentation": {"detr": "DetrForSegmentation",
                                          "maskformer": "MaskFormerForInstanceSegmentation"},
    "AutoModelForObjectDetection": _map("detr rt_detr table-transformer yolos", "ForObjectDetection"),
    "AutoModelForZeroShotObjectDetection": _map("owlvit owlv2", "ForObjectDetection"),
    "AutoModelForMaskGeneration": {"sam": "SamModel"},
    "AutoModelForCTC": _map("wav2vec2 wav2vec2-bert unispeech unispeech-sat wavlm hubert", "ForCTC"),
    "AutoModelForAudioClassification": _map(
        "wav2vec2 wav2vec2-bert unispeech unispeech-sat wavlm hubert audio-spectrogram-transformer",
        "ForSequenceClassification", audio_spectrogram_transformer="ASTForAudioClassification"),
    "AutoModelForXVector": {"wavlm": "WavLMForXVector"},
    "AutoModelForAudioFrameClassification": _map(
        "unispeech-sat wavlm wav2vec2 pyannote", "ForAudioFrameClassification"),
    "AutoModelForImageMatting": {"vitmatte": "VitMatteForImageMatting"},
    "AutoModelForImageToImage": {"swin2sr": "Swin2SRForImageSuperResolution"},
    "AutoModelForDepthEstimation": _map("dpt depth_anything glpn sapiens depth_pro",
                                        "ForDepthEstimation"),
    "AutoModelForNormalEstimation": {"sapiens": "SapiensForNormalEstimation"},
    "AutoModelForImageFeatureExtraction": {"clip": "CLIPVisionModelWithProjection",
                                           "siglip": "SiglipVisionModel"},
}


#: classes whose graph is a separate file of a bigger repo (Transformers.js sets
#: ``model_file_name`` for them): class name → (model_type, default file stem)
SUBMODEL_CLASSES: dict[str, tuple[str, str]] = {
    "CLIPTextModelWithProjection": ("clip", "text_model"),
    "CLIPVisionModelWithProjection": ("clip", "vision_model"),
    "SiglipTextModel": ("siglip", "text_model"),
    "SiglipVisionModel": ("siglip", "vision_model"),
    "ClapTextModelWithProjection": ("clap", "text_model"),
    "ClapAudioModelWithProjection": ("clap", "audio_model"),
}
