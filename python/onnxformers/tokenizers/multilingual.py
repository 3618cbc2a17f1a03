"""Tokenizers with language codes: NLLB, M2M100, mBART and mBART-50.

The source language is a special token the tokenizer adds around the text (where depends on the
family, as in ``transformers``' ``set_src_lang_special_tokens``); the target language is the
first token the decoder is forced to produce (``forced_bos_token_id``), which
:meth:`build_translation_inputs` returns for the translation pipeline.

============  ==================  =================================  ==========================
class         codes               source text becomes                default src_lang
============  ==================  =================================  ==========================
Nllb          ``fra_Latn``        ``fra_Latn text </s>``             ``eng_Latn``
              (legacy_behaviour)  ``text </s> fra_Latn``
M2M100        ``fr`` (``__fr__``) ``__fr__ text </s>``               ``en``
MBart         ``fr_XX``           ``text </s> fr_XX``                ``en_XX``
MBart50       ``fr_XX``           ``fr_XX text </s>``                ``en_XX``
============  ==================  =================================  ==========================

The language codes are the special added tokens matching the family's pattern (as
Transformers.js finds them). Switching the source language builds (once, then cached) a variant
of the Rust tokenizer whose post-processor is ``TemplateProcessing(prefix + $A + suffix)``, as
transformers does; per-call languages (:meth:`build_translation_inputs`) never change the shared
tokenizer, so one instance serves many threads. Setting ``tokenizer.src_lang = ...`` changes the
instance's default, as in transformers.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from typing import Any, Mapping

from .. import _core
from ..errors import InvalidInputError, TokenizerError
from .base import PreTrainedTokenizer, TextInput


class LanguageCodesTokenizer(PreTrainedTokenizer):
    """Base of the tokenizers whose special tokens include language codes."""

    model_input_names = ("input_ids", "attention_mask")
    #: matches the special tokens that are language codes
    language_regex: re.Pattern = re.compile(r"^$")
    #: transformers' default source language
    default_src_lang: str = ""

    def __init__(self, tokenizer_json: str | Mapping[str, Any],
                 tokenizer_config: Mapping[str, Any] | None = None):
        super().__init__(tokenizer_json, tokenizer_config)
        self._parsed: dict | None = None
        self._variants: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._base_tokenizer = self._tokenizer
        tokens = [t.content for t in self._tokenizer.added_tokens if t.special]
        tokens += [t for t in self.additional_special_tokens if t not in tokens]
        #: the codes users pass as src_lang / tgt_lang (Transformers.js' ``language_codes``)
        self.language_codes: list[str] = [self.token_to_lang(t) for t in tokens
                                          if self.language_regex.match(t)]
        self.tgt_lang: str | None = self.config.get("tgt_lang")
        self._src_lang: str | None = None
        if self.config.get("src_lang") is not None:
            self.src_lang = self.config["src_lang"]

    def _adapt_tokenizer_json(self, text: str, config: Mapping[str, Any]) -> str:
        # keep the document the Rust tokenizer was built from: the source-language variants
        # start from it
        self._tokenizer_json = super()._adapt_tokenizer_json(text, config)
        return self._tokenizer_json

    # -- language codes ------------------------------------------------------------------------
    def lang_to_token(self, lang: str) -> str:
        return lang

    def token_to_lang(self, token: str) -> str:
        return token

    @property
    def lang_code_to_id(self) -> dict[str, int]:
        return {lang: self.convert_tokens_to_ids(self.lang_to_token(lang))
                for lang in self.language_codes}

    def check_language(self, lang: Any, what: str = "language") -> str:
        """``lang`` as a language code of this tokenizer, or an error naming the valid ones."""
        if isinstance(lang, str):
            if lang in self.language_codes:
                return lang
            if self.language_regex.match(lang) and self.token_to_lang(lang) in self.language_codes:
                return self.token_to_lang(lang)  # M2M100: "__fr__" for "fr"
        raise InvalidInputError(
            f"{what} {lang!r} is not a language code of this {type(self).__name__}; must be one "
            f"of: {', '.join(self.language_codes)}")

    def lang_token_id(self, lang: str) -> int:
        return self.convert_tokens_to_ids(self.lang_to_token(self.check_language(lang)))

    # -- source language -----------------------------------------------------------------------
    def special_tokens_for(self, lang_token: str) -> tuple[list[str], list[str]]:
        """(prefix, suffix) tokens around the source text."""
        raise NotImplementedError

    @property
    def src_lang(self) -> str:
        return self._src_lang if self._src_lang is not None else self.default_src_lang

    @src_lang.setter
    def src_lang(self, lang: str) -> None:
        lang = self.check_language(lang, "src_lang")
        self._tokenizer = self._variant(lang)
        self._src_lang = lang

    def _variant(self, lang: str) -> Any:
        """The Rust tokenizer with the source-language template of ``lang`` (cached)."""
        token = self.lang_to_token(lang)
        with self._lock:
            found = self._variants.get(token)
            if found is not None:
                return found
            eos = self.eos_token
            if eos is None or self._id(eos) is None:
                raise TokenizerError(f"{type(self).__name__} needs an eos_token in its vocabulary")
            prefix, suffix = self.special_tokens_for(token)
            expected = [self._id(t) for t in prefix + suffix]
            if None in expected:
                raise TokenizerError(f"{token!r} is not in the vocabulary")
            base = self._base_tokenizer
            if list(base.encode("", None, True).ids) == expected and \
                    list(base.encode("", "", True).ids) == expected:
                # tokenizer.json already has this template (the usual default): no copy
                self._variants[token] = base
                return base
            if self._parsed is None:
                self._parsed = json.loads(self._tokenizer_json)

            def piece(name: str) -> dict:
                return {"SpecialToken": {"id": name, "type_id": 0}}

            def seq(name: str) -> dict:
                return {"Sequence": {"id": name, "type_id": 0}}

            doc = dict(self._parsed)
            doc["post_processor"] = {
                "type": "TemplateProcessing",
                "single": [*map(piece, prefix), seq("A"), *map(piece, suffix)],
                "pair": [*map(piece, prefix), seq("A"), seq("B"), *map(piece, suffix)],
                "special_tokens": {t: {"id": t, "ids": [self._id(t)], "tokens": [t]}
                                   for t in dict.fromkeys(prefix + suffix)},
            }
            variant = _core.Tokenizer.from_str(json.dumps(doc))
            self._variants[token] = variant
            return variant

    def with_src_lang(self, src_lang: str) -> "LanguageCodesTokenizer":
        """A light copy of this tokenizer whose source language is ``src_lang`` (self unchanged)."""
        view = copy.copy(self)
        view._tokenizer = self._variant(self.check_language(src_lang, "src_lang"))
        view._src_lang = self.check_language(src_lang, "src_lang")
        return view

    # -- translation ---------------------------------------------------------------------------
    def build_translation_inputs(self, texts: TextInput, *, tgt_lang: str | None,
                                 src_lang: str | None = None, **tokenizer_options: Any
                                 ) -> tuple[dict[str, Any], int]:
        """Tokenize ``texts`` as ``src_lang`` (default: the tokenizer's) and return
        ``(inputs, forced_bos_token_id)``, the id of ``tgt_lang``'s token that generation must
        start with (transformers' ``_build_translation_inputs``)."""
        if tgt_lang is None:
            raise InvalidInputError(
                f"translation with {type(self).__name__} needs tgt_lang, one of: "
                f"{', '.join(self.language_codes)}")
        forced = self.lang_token_id(self.check_language(tgt_lang, "tgt_lang"))
        tok = self if src_lang is None else self.with_src_lang(src_lang)
        return tok(texts, **tokenizer_options), forced

    def _build_translation_inputs(self, raw_inputs: TextInput, tokenizer_options: Mapping[str, Any],
                                  generate_kwargs: dict) -> dict[str, Any]:
        """Transformers.js' signature: sets ``generate_kwargs["forced_bos_token_id"]``."""
        inputs, forced = self.build_translation_inputs(
            raw_inputs, tgt_lang=generate_kwargs.get("tgt_lang"),
            src_lang=generate_kwargs.get("src_lang"), **dict(tokenizer_options))
        generate_kwargs["forced_bos_token_id"] = forced
        return inputs


def _defaults(name: str) -> Mapping[str, Any]:
    """The special-token defaults auto.py's table gives the transformers class of that name."""
    from .auto import TOKENIZER_CLASSES

    return TOKENIZER_CLASSES.get(name, {}).get("default_special_tokens", {})


class NllbTokenizer(LanguageCodesTokenizer):
    default_special_tokens = _defaults("Nllb")
    language_regex = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
    default_src_lang = "eng_Latn"

    def special_tokens_for(self, lang_token: str) -> tuple[list[str], list[str]]:
        if self.config.get("legacy_behaviour", False):
            return [], [self.eos_token, lang_token]
        return [lang_token], [self.eos_token]


class M2M100Tokenizer(LanguageCodesTokenizer):
    default_special_tokens = _defaults("M2M100")
    language_regex = re.compile(r"^__[a-z]{2,3}__$")
    default_src_lang = "en"

    def lang_to_token(self, lang: str) -> str:
        return f"__{lang}__"

    def token_to_lang(self, token: str) -> str:
        return token[2:-2] if token.startswith("__") and token.endswith("__") else token

    def get_lang_id(self, lang: str) -> int:
        return self.lang_token_id(lang)

    def special_tokens_for(self, lang_token: str) -> tuple[list[str], list[str]]:
        return [lang_token], [self.eos_token]


class MBartTokenizer(LanguageCodesTokenizer):
    default_special_tokens = _defaults("MBart")
    language_regex = re.compile(r"^[a-z]{2}_[A-Z]{2}$")
    default_src_lang = "en_XX"

    def special_tokens_for(self, lang_token: str) -> tuple[list[str], list[str]]:
        return [], [self.eos_token, lang_token]


class MBart50Tokenizer(MBartTokenizer):
    default_special_tokens = _defaults("MBart50")

    def special_tokens_for(self, lang_token: str) -> tuple[list[str], list[str]]:
        return [lang_token], [self.eos_token]


#: class name stem (as in ``tokenizer_class`` without "Tokenizer"/"Fast") → class
MULTILINGUAL_CLASSES: dict[str, type[LanguageCodesTokenizer]] = {
    "Nllb": NllbTokenizer, "M2M100": M2M100Tokenizer, "MBart": MBartTokenizer,
    "MBart50": MBart50Tokenizer,
}

__all__ = ["LanguageCodesTokenizer", "NllbTokenizer", "M2M100Tokenizer", "MBartTokenizer",
           "MBart50Tokenizer", "MULTILINGUAL_CLASSES"]

