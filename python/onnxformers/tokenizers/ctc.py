"""Wav2Vec2CTCTokenizer: character vocabularies decoded the CTC way.

Encoding runs the repo's ``tokenizer.json`` in the Rust core (the Hub's Transformers.js
conversions ship a vocab-only file: spaces become the word delimiter ``|``, every character is a
token). Decoding follows ``transformers``' ``Wav2Vec2CTCTokenizer`` rather than the file's
decoder, so that repos whose ``tokenizer.json`` lacks a CTC decoder decode the same way:
repeated tokens collapse, the pad (CTC blank) token disappears, the word delimiter becomes
``replace_word_delimiter_char`` (a space), and the text is stripped (and lower-cased with
``do_lower_case``). With ``skip_special_tokens`` the special tokens (pad included) are dropped
*before* the repeats collapse, as transformers and Transformers.js do.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any, Mapping

import numpy as np

from ..errors import InvalidInputError
from .base import PreTrainedTokenizer, clean_up_tokenization


class Wav2Vec2CTCTokenizer(PreTrainedTokenizer):
    model_input_names = ("input_ids", "attention_mask")
    #: transformers' Wav2Vec2CTCTokenizer defaults (used when tokenizer_config.json names none)
    default_special_tokens = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}

    def __init__(self, tokenizer_json: str | Mapping[str, Any],
                 tokenizer_config: Mapping[str, Any] | None = None):
        super().__init__(tokenizer_json, tokenizer_config)
        config = self.config
        self.word_delimiter_token = config.get("word_delimiter_token", "|")
        self.replace_word_delimiter_char = config.get("replace_word_delimiter_char", " ")
        self.do_lower_case = bool(config.get("do_lower_case", False))
        # id → token once (a character vocabulary is small): decoding then stays in Python lists
        vocab = self.get_vocab()
        size = max(vocab.values(), default=-1) + 1
        self._id_to_token: list[str | None] = [None] * size
        for token, index in vocab.items():
            self._id_to_token[index] = token

    def _tokens(self, ids: list[int]) -> list[str]:
        table = self._id_to_token
        out = []
        for i in ids:
            if not 0 <= i < len(table) or table[i] is None:
                raise InvalidInputError(f"token id {i} is not in the vocabulary (size {len(table)})")
            out.append(table[i])
        return out

    def convert_tokens_to_string(self, tokens: list[str], group_tokens: bool = True) -> str:
        """CTC collapse of a token sequence (see the module docstring)."""
        chars = [t for t, _ in groupby(tokens)] if group_tokens else list(tokens)
        chars = [self.replace_word_delimiter_char if c == self.word_delimiter_token else c
                 for c in chars if c != self.pad_token]
        text = "".join(chars).strip()
        return text.lower() if self.do_lower_case else text

    def decode_with_offsets(self, token_ids: Any, *, skip_special_tokens: bool = False
                            ) -> tuple[str, list[dict]]:
        """``(text, char_offsets)``: like transformers' ``decode(..., output_char_offsets=True)``,
        each kept character with the ``start_offset``/``end_offset`` (logit frames) of its run."""
        tokens = self._tokens(self._ids_list(token_ids))
        if skip_special_tokens:
            special = set(self.all_special_tokens)
            tokens = [t for t in tokens if t not in special]
        offsets: list[dict] = []
        position = 0
        for token, run in groupby(tokens):
            length = sum(1 for _ in run)
            if token != self.pad_token:
                char = self.replace_word_delimiter_char if token == self.word_delimiter_token else token
                offsets.append({"char": char, "start_offset": position, "end_offset": position + length})
            position += length
        return self.convert_tokens_to_string(tokens), offsets

    def get_word_offsets(self, char_offsets: list[dict]) -> list[dict]:
        """transformers' ``_get_word_offsets``: runs of non-delimiter characters → ``{"word",
        "start_offset", "end_offset"}``."""
        words: list[dict] = []
        delimiter = self.replace_word_delimiter_char
        current: dict | None = None
        for offset in char_offsets:
            if offset["char"] == delimiter:
                if current is not None:
                    words.append(current)
                    current = None
            elif current is None:
                current = {"word": offset["char"], "start_offset": offset["start_offset"],
                           "end_offset": offset["end_offset"]}
            else:
                current["word"] += offset["char"]
                current["end_offset"] = offset["end_offset"]
        if current is not None:
            words.append(current)
        return words

    def decode(self, token_ids: Any, *, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None, group_tokens: bool = True) -> str:
        tokens = self._tokens(self._ids_list(token_ids))
        if skip_special_tokens:
            special = set(self.all_special_tokens)
            tokens = [t for t in tokens if t not in special]
        text = self.convert_tokens_to_string(tokens, group_tokens)
        cleanup = self.clean_up_tokenization_spaces if clean_up_tokenization_spaces is None \
            else clean_up_tokenization_spaces
        return clean_up_tokenization(text) if cleanup else text

    def batch_decode(self, sequences: Any, *, skip_special_tokens: bool = False,
                     clean_up_tokenization_spaces: bool | None = None, group_tokens: bool = True) -> list[str]:
        if isinstance(sequences, np.ndarray):
            if sequences.ndim != 2:
                raise InvalidInputError(f"batch_decode() takes a 2-D array, got shape {sequences.shape}")
            sequences = sequences.tolist()
        return [self.decode(s, skip_special_tokens=skip_special_tokens,
                            clean_up_tokenization_spaces=clean_up_tokenization_spaces, group_tokens=group_tokens)
                for s in sequences]


__all__ = ["Wav2Vec2CTCTokenizer"]
