"""translation: text2text-generation with languages.

Two kinds of models:

* multilingual ones whose tokenizer has language codes (NLLB, M2M100, mBART, mBART-50):
  ``pipe(text, src_lang="eng_Latn", tgt_lang="fra_Latn")``; the source language token goes
  around the text, the target language is forced as the first generated token
  (``forced_bos_token_id``). ``tgt_lang`` is required, ``src_lang`` defaults to the tokenizer's;
  an unknown code raises an error that lists the valid ones.
* T5-style ones: ``pipeline("translation_en_to_fr", ...)`` prepends
  ``task_specific_params["translation_en_to_fr"]["prefix"]`` ("translate English to French: ")
  and applies its generation defaults; Marian-style models just translate.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..tokenizers.multilingual import LanguageCodesTokenizer
from .text2text_generation import Text2TextGenerationPipeline


class TranslationPipeline(Text2TextGenerationPipeline):
    """``pipe(text | [text], src_lang=None, tgt_lang=None, **generate_kwargs)`` →
    ``[{"translation_text": ...}]``."""

    result_key = "translation_text"

    def _task_key(self, options: Mapping[str, Any]) -> str:
        src, tgt = options.get("src_lang"), options.get("tgt_lang")
        if isinstance(src, str) and isinstance(tgt, str):
            return f"translation_{src}_to_{tgt}"
        return self.task

    def _tokenize(self, texts: list[str], options: dict, generate_kwargs: dict) -> dict:
        src = generate_kwargs.pop("src_lang", None)
        tgt = generate_kwargs.pop("tgt_lang", None)
        if isinstance(self.tokenizer, LanguageCodesTokenizer):
            inputs, forced = self.tokenizer.build_translation_inputs(
                texts, src_lang=src, tgt_lang=tgt, padding=True, truncation=True)
            generate_kwargs["forced_bos_token_id"] = forced
            return inputs
        return self.tokenizer(texts, padding=True, truncation=True)
