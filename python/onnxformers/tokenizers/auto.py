"""AutoTokenizer: the tokenizer class comes from ``tokenizer_config.json``'s ``tokenizer_class``."""

from __future__ import annotations

import functools
import warnings
from typing import Any

from .. import hub
from ..errors import InvalidConfigError
from .base import PreTrainedTokenizer

_NO_TYPE_IDS = ("input_ids", "attention_mask")

#: the 44 Transformers.js tokenizer classes → what they change in this port (so far: whether
#: the model consumes token type ids, as in ``transformers``). Model-specific behaviour
#: (Whisper, NLLB, Marian…) lands with the tasks that need it.
TOKENIZER_CLASSES: dict[str, dict[str, Any]] = {
    **{name: {} for name in (
        "Bert", "Herbert", "ConvBert", "RoFormer", "XLM", "Electra", "MobileBert", "SqueezeBert",
        "Albert", "Deberta", "DebertaV2", "Esm", "Wav2Vec2CTC", "Nougat", "Vits", "Grok1")},
    **{name: {"model_input_names": _NO_TYPE_IDS} for name in (
        "T5", "DistilBert", "Camembert", "GPT2", "Bart", "MBart", "MBart50", "Roberta", "Whisper",
        "CodeGen", "CLIP", "Siglip", "Marian", "Bloom", "Nllb", "M2M100", "XLMRoberta", "MPNet",
        "Falcon", "GPTNeoX", "Blenderbot", "BlenderbotSmall", "SpeechT5", "Qwen2")},
    # decoder-only families that transformers (and Transformers.js) pad on the left
    **{name: {"model_input_names": _NO_TYPE_IDS, "default_padding_side": "left"}
       for name in ("Llama", "CodeLlama", "Gemma", "Cohere")},
}


@functools.lru_cache(maxsize=None)
def tokenizer_class(name: str) -> type[PreTrainedTokenizer]:
    attrs = dict(TOKENIZER_CLASSES[name])
    attrs["__module__"] = __name__
    return type(f"{name}Tokenizer", (PreTrainedTokenizer,), attrs)


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
