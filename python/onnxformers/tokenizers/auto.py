"""AutoTokenizer: the tokenizer class comes from ``tokenizer_config.json``'s ``tokenizer_class``."""

from __future__ import annotations

import functools
import importlib
import warnings
from typing import Any

from .. import hub
from ..errors import InvalidConfigError
from . import families
from .base import PreTrainedTokenizer

_NO_TYPE_IDS = ("input_ids", "attention_mask")
_BERT_SPECIALS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                  "cls_token": "[CLS]", "mask_token": "[MASK]"}
_ROBERTA_SPECIALS = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
                     "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>"}
_GPT2_SPECIALS = {"unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>",
                  "eos_token": "<|endoftext|>"}

#: the 44 Transformers.js tokenizer classes → (base class in ``families`` or None for
#: PreTrainedTokenizer, class attributes). Attributes follow the ``transformers`` class of the
#: same name: ``model_input_names`` (token type ids or not), ``default_special_tokens`` (its
#: ``__init__`` defaults), ``default_padding_side``. See families.py for the behaviours.
TOKENIZER_CLASSES: dict[str, dict[str, Any]] = {
    # BERT family: config's do_lower_case/strip_accents/tokenize_chinese_chars rewrite the normalizer
    **{name: {"base": "BertFamilyTokenizer"} for name in (
        "Bert", "ConvBert", "Electra", "MobileBert", "SqueezeBert", "RoFormer")},
    "DistilBert": {"base": "BertFamilyTokenizer", "model_input_names": _NO_TYPE_IDS},
    "MPNet": {"base": "BertFamilyTokenizer", "model_input_names": _NO_TYPE_IDS,
              "default_special_tokens": {**_ROBERTA_SPECIALS, "unk_token": "[UNK]"}},
    # RoBERTa family: add_prefix_space/trim_offsets rewrite the post-processor
    **{name: {"base": "RobertaFamilyTokenizer"} for name in ("Roberta", "Bart", "Blenderbot")},
    # Llama family: add_bos_token/add_eos_token rebuild the post-processor
    "Llama": {"base": "LlamaTokenizer"},
    "CodeLlama": {"base": "CodeLlamaTokenizer"},
    "Gemma": {"base": "GemmaTokenizer"},
    "Cohere": {"base": "CohereTokenizer"},
    "GPTNeoX": {"base": "GPTNeoXTokenizer"},
    "Bloom": {"base": "BloomTokenizer"},
    "CLIP": {"base": "CLIPTokenizer"},
    "CodeGen": {"base": "CodeGenTokenizer"},
    "Marian": {"base": "MarianTokenizer"},
    # classes whose behaviour is all in tokenizer.json: defaults only
    "T5": {"base": "T5Tokenizer"},
    "GPT2": {"model_input_names": _NO_TYPE_IDS, "default_special_tokens": _GPT2_SPECIALS},
    "Qwen2": {"model_input_names": _NO_TYPE_IDS, "default_special_tokens": {
        "unk_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}},
    "Camembert": {"model_input_names": _NO_TYPE_IDS, "default_special_tokens": _ROBERTA_SPECIALS},
    "XLMRoberta": {"model_input_names": _NO_TYPE_IDS, "default_special_tokens": _ROBERTA_SPECIALS},
    "MBart": {"model_input_names": _NO_TYPE_IDS, "default_special_tokens": _ROBERTA_SPECIALS},
    "MBart50": {"model_input_names": _NO_TYPE_IDS,
                "default_special_tokens": {k: v for k, v in _ROBERTA_SPECIALS.items() if k != "bos_token"}},
    "Nllb": {"model_input_names": _NO_TYPE_IDS, "default_special_tokens": _ROBERTA_SPECIALS},
    "M2M100": {"model_input_names": _NO_TYPE_IDS, "default_special_tokens": {
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}},
    "Whisper": {"model_input_names": _NO_TYPE_IDS, "default_special_tokens": _GPT2_SPECIALS},
    "Deberta": {"model_input_names": ("input_ids", "attention_mask", "token_type_ids"),
                "default_special_tokens": {**_BERT_SPECIALS, "bos_token": "[CLS]", "eos_token": "[SEP]"}},
    "DebertaV2": {"default_special_tokens": {**_BERT_SPECIALS, "bos_token": "[CLS]", "eos_token": "[SEP]"}},
    "Albert": {"default_special_tokens": {**_BERT_SPECIALS, "bos_token": "[CLS]", "eos_token": "[SEP]",
                                          "unk_token": "<unk>", "pad_token": "<pad>"}},
    "Herbert": {"default_special_tokens": {"cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>",
                                           "mask_token": "<mask>", "sep_token": "</s>"}},
    "XLM": {"default_special_tokens": {"unk_token": "<unk>", "bos_token": "<s>", "sep_token": "</s>",
                                       "pad_token": "<pad>", "cls_token": "</s>", "mask_token": "<special1>"}},
    "BlenderbotSmall": {"default_special_tokens": _GPT2_SPECIALS},
    "Siglip": {"model_input_names": _NO_TYPE_IDS, "default_special_tokens": {
        "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "</s>"}},
    "Esm": {"model_input_names": _NO_TYPE_IDS, "default_special_tokens": {
        "unk_token": "<unk>", "cls_token": "<cls>", "pad_token": "<pad>", "mask_token": "<mask>",
        "eos_token": "<eos>"}},
    "Wav2Vec2CTC": {"model_input_names": _NO_TYPE_IDS, "default_special_tokens": {
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}},
    "SpeechT5": {"model_input_names": _NO_TYPE_IDS, "default_special_tokens": {
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}},
    "Nougat": {"model_input_names": _NO_TYPE_IDS, "default_special_tokens": {
        "unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}},
    "Vits": {"model_input_names": _NO_TYPE_IDS,
             "default_special_tokens": {"pad_token": "<pad>", "unk_token": "<unk>"}},
    # no transformers class (PreTrainedTokenizerFast in their configs): Transformers.js' choices
    "Falcon": {"model_input_names": _NO_TYPE_IDS},
    "Grok1": {},
}

#: classes owned by model-specific modules (``tokenizers/<module>.py`` defining
#: ``<Name>Tokenizer``); used when the module exists, else the entry above.
_MODULE_CLASSES = {"Whisper": "whisper", "Nllb": "multilingual", "M2M100": "multilingual",
                   "MBart": "multilingual", "MBart50": "multilingual", "Wav2Vec2CTC": "ctc"}


@functools.lru_cache(maxsize=None)
def tokenizer_class(name: str) -> type[PreTrainedTokenizer]:
    module = _MODULE_CLASSES.get(name)
    if module is not None:
        try:
            mod = importlib.import_module(f"{__package__}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{module}":
                raise
        else:
            found = getattr(mod, f"{name}Tokenizer", None)
            if found is not None:
                # registry defaults (input names, special tokens...) for what the module class
                # leaves at the PreTrainedTokenizer value
                extra = {k: v for k, v in TOKENIZER_CLASSES.get(name, {}).items()
                         if k != "base" and getattr(found, k, None) is getattr(PreTrainedTokenizer, k, None)}
                if not extra:
                    return found
                return type(found.__name__, (found,), {**extra, "__module__": found.__module__})
    attrs = dict(TOKENIZER_CLASSES[name])
    base = getattr(families, attrs.pop("base")) if "base" in attrs else PreTrainedTokenizer
    attrs["__module__"] = __name__
    return type(f"{name}Tokenizer", (base,), attrs)


def _class_for(config: dict, repo: str) -> type[PreTrainedTokenizer]:
    declared = config.get("tokenizer_class")
    if not declared:
        return PreTrainedTokenizer
    name = declared.removesuffix("Fast").removesuffix("Tokenizer")
    if name in TOKENIZER_CLASSES:
        return tokenizer_class(name)
    if declared not in ("PreTrainedTokenizerFast", "PreTrainedTokenizer"):
        warnings.warn(f"Unknown tokenizer class {declared!r} in {repo!r}; using the generic "
                      f"PreTrainedTokenizer.", stacklevel=3)
    return PreTrainedTokenizer


class AutoTokenizer:
    """``AutoTokenizer.from_pretrained(repo_or_path)`` → the right tokenizer class."""

    def __init__(self) -> None:  # pragma: no cover
        raise TypeError("AutoTokenizer is not instantiable; use AutoTokenizer.from_pretrained()")

    @staticmethod
    def from_pretrained(pretrained_model_name_or_path: str, *, revision: str = "main",
                        cache_dir: str | None = None, local_files_only: bool = False,
                        token: str | None = None, progress_callback=None, legacy: bool | None = None,
                        _cls: type[PreTrainedTokenizer] | None = None, **ignored: Any) -> PreTrainedTokenizer:
        kw = dict(revision=revision, cache_dir=cache_dir, local_files_only=local_files_only,
                  token=token, progress_callback=progress_callback)
        path = hub.resolve_file(pretrained_model_name_or_path, "tokenizer.json", **kw)
        config = hub.get_json(pretrained_model_name_or_path, "tokenizer_config.json",
                              required=False, **kw) or {}
        if not isinstance(config, dict):
            raise InvalidConfigError(
                f"tokenizer_config.json of {pretrained_model_name_or_path!r} is not a JSON object")
        if legacy is not None:
            config["legacy"] = legacy
        with open(path, encoding="utf-8") as fh:
            tokenizer_json = fh.read()
        cls = _cls if _cls not in (None, PreTrainedTokenizer) else _class_for(
            config, pretrained_model_name_or_path)
        return cls(tokenizer_json, config)


__all__ = ["AutoTokenizer", "TOKENIZER_CLASSES", "tokenizer_class"]
