"""PreTrainedTokenizer: the Transformers.js tokenizer API over the Rust tokenizer.

The Rust core (``onnxformers._core.Tokenizer``) runs the whole ``tokenizer.json`` pipeline;
this class adds what ``tokenizer_config.json`` decides: special tokens, ``model_max_length``,
padding side, clean-up, chat templates and the per-call padding/truncation options.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np

from .. import _core
from ..errors import InvalidInputError, TokenizerError
from . import chat_template as chat

TextInput = Union[str, Sequence[str]]

SPECIAL_TOKEN_NAMES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                       "cls_token", "mask_token")

#: model_max_length values at or above this mean "no limit" (transformers' VERY_LARGE_INTEGER)
_NO_LIMIT = int(1e20)

_CLEANUP = [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
            (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]


def clean_up_tokenization(text: str) -> str:
    """transformers' ``clean_up_tokenization``: remove spaces before punctuation/contractions."""
    for old, new in _CLEANUP:
        text = text.replace(old, new)
    return text


def _token_content(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):  # {"content": "<s>", "__type": "AddedToken", ...}
        return value.get("content")
    raise TokenizerError(f"special token must be a string or an AddedToken dict, got {value!r}")


_MODEL_KEY = re.compile(r'"model"\s*:\s*')
#: keys `tokenizers` always writes before "model" (the big part, written last)
_HEAD_KEYS = ("added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder")


class TokenizerDoc(dict):
    """A parsed tokenizer.json whose ``"model"`` section (the vocabulary: most of the bytes) is
    only parsed when a class reads it: the other sections are parsed and edited, and the model
    text is spliced back unchanged. Falls back to a full parse for files not laid out the way
    `tokenizers` writes them (model last)."""

    _model_text: str | None = None

    @classmethod
    def parse(cls, text: str) -> "TokenizerDoc | None":
        m = _MODEL_KEY.search(text)
        if m is not None:
            end = text.rstrip().rfind("}")
            try:
                head = json.loads(text[:m.start()] + '"model": null}')
            except ValueError:
                head = None
            if isinstance(head, dict) and all(k in head for k in _HEAD_KEYS) and end > m.end():
                doc = cls(head)
                del doc["model"]
                doc._model_text = text[m.end():end]
                return doc
        try:
            full = json.loads(text)
        except ValueError:
            return None
        return cls(full) if isinstance(full, dict) else None

    def _load_model(self) -> None:
        if self._model_text is not None:
            super().__setitem__("model", json.loads(self._model_text))
            self._model_text = None

    def __getitem__(self, key):
        if key == "model":
            self._load_model()
        return super().__getitem__(key)

    def get(self, key, default=None):
        if key == "model":
            self._load_model()
        return super().get(key, default)

    def __contains__(self, key):
        return (key == "model" and self._model_text is not None) or super().__contains__(key)

    def dumps(self) -> str:
        if self._model_text is None:
            return json.dumps(self)
        head = json.dumps(dict(self))
        sep = ", " if len(self) else ""
        return f'{head[:-1]}{sep}"model": {self._model_text}}}'


class PreTrainedTokenizer:
    """A tokenizer loaded from ``tokenizer.json`` (+ ``tokenizer_config.json``)."""

    #: names the model consumes; classes without token type ids override this
    model_input_names: tuple[str, ...] = ("input_ids", "token_type_ids", "attention_mask")
    #: side to pad when tokenizer_config.json names none (Llama-family classes pad left)
    default_padding_side = "right"
    #: transformers' default for ``clean_up_tokenization_spaces`` when the config has none
    default_clean_up_tokenization_spaces = False

    #: special tokens the ``transformers`` class defaults to when tokenizer_config.json lacks the
    #: key (an explicit ``null`` in the config still means "none")
    default_special_tokens: Mapping[str, str | None] = {}
    #: ``add_prefix_space`` when the config has none: ``PreTrainedTokenizerFast`` reads
    #: ``kwargs.get("add_prefix_space", False)``; None (Llama, T5) means "leave tokenizer.json alone"
    default_add_prefix_space: bool | None = False
    #: ``legacy`` when the config has none (informational: with a tokenizer.json, transformers'
    #: fast tokenizers take the pipeline from the file whatever ``legacy`` says)
    default_legacy = False
    #: whether ``_rewrite_components`` must always see the parsed tokenizer.json
    _parse_tokenizer_json = False

    def __init__(self, tokenizer_json: str | Mapping[str, Any],
                 tokenizer_config: Mapping[str, Any] | None = None):
        config = dict(tokenizer_config or {})
        self.config = config
        for name in SPECIAL_TOKEN_NAMES:
            default = self.default_special_tokens.get(name)
            setattr(self, name, _token_content(config.get(name, default)))
        self.add_prefix_space = config.get("add_prefix_space", self.default_add_prefix_space)

        if not isinstance(tokenizer_json, str):
            tokenizer_json = json.dumps(tokenizer_json)
        tokenizer_json = self._adapt_tokenizer_json(tokenizer_json, config)
        self._tokenizer = _core.Tokenizer.from_str(tokenizer_json)
        self.additional_special_tokens = [
            _token_content(t) for t in config.get("additional_special_tokens") or []]

        max_len = config.get("model_max_length")
        self.model_max_length = int(max_len) if isinstance(max_len, (int, float)) and max_len < _NO_LIMIT \
            else None
        self.padding_side = config.get("padding_side", self.default_padding_side)
        self.truncation_side = config.get("truncation_side", "right")
        if self.padding_side not in ("left", "right") or self.truncation_side not in ("left", "right"):
            raise TokenizerError("padding_side/truncation_side must be 'left' or 'right'")
        self.clean_up_tokenization_spaces = bool(config.get(
            "clean_up_tokenization_spaces", self.default_clean_up_tokenization_spaces))
        legacy = config.get("legacy")
        self.legacy = self.default_legacy if legacy is None else bool(legacy)
        self.do_lowercase_and_remove_accent = config.get("do_lowercase_and_remove_accent", False)
        if "model_input_names" in config:
            self.model_input_names = tuple(config["model_input_names"])

        templates = config.get("chat_template")
        if isinstance(templates, list):  # [{"name": ..., "template": ...}, ...]
            templates = {t["name"]: t["template"] for t in templates}
        self.chat_template = templates

    # -- class hooks (see families.py) ---------------------------------------------------------
    def _adapt_tokenizer_json(self, text: str, config: Mapping[str, Any]) -> str:
        """Rewrite tokenizer.json from tokenizer_config.json as the ``transformers`` class does
        in its ``__init__``. Here: ``PreTrainedTokenizerFast``'s ``add_prefix_space`` rewrite of a
        top-level ByteLevel pre-tokenizer. The document is parsed only when it can matter."""
        if not self._parse_tokenizer_json and (
                self.add_prefix_space is None or '"ByteLevel"' not in text):
            return text
        doc = TokenizerDoc.parse(text)
        if doc is None:
            return text  # the Rust loader reports malformed JSON with a TokenizerError
        try:
            changed = self._rewrite_components(doc)
        except (AttributeError, TypeError, KeyError, IndexError) as exc:
            # an unexpected shape: let the Rust loader name what is wrong, if it can
            _core.Tokenizer.from_str(text)
            raise TokenizerError(f"tokenizer.json has an unexpected structure for "
                                 f"{type(self).__name__}: {exc}") from exc
        return doc.dumps() if changed else text

    def _rewrite_components(self, doc: dict) -> bool:
        """Edit the parsed tokenizer.json in place; True when something changed. Subclasses
        extend this (post-processor, normalizer...)."""
        pre = doc.get("pre_tokenizer")
        if isinstance(pre, dict) and pre.get("type") == "ByteLevel" and \
                pre.get("add_prefix_space", True) != bool(self.add_prefix_space):
            pre["add_prefix_space"] = bool(self.add_prefix_space)
            return True
        return False

    def _postprocess_decoded(self, text: str) -> str:
        """Hook between the Rust decoder and ``clean_up_tokenization`` (CLIP strips there)."""
        return text

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str, **options: Any) -> "PreTrainedTokenizer":
        from .auto import AutoTokenizer

        return AutoTokenizer.from_pretrained(pretrained_model_name_or_path, _cls=cls, **options)

    # -- special tokens ------------------------------------------------------------------------
    def _id(self, token: str | None) -> int | None:
        return None if token is None else self._tokenizer.token_to_id(token)

    bos_token_id = property(lambda self: self._id(self.bos_token))
    eos_token_id = property(lambda self: self._id(self.eos_token))
    unk_token_id = property(lambda self: self._id(self.unk_token))
    sep_token_id = property(lambda self: self._id(self.sep_token))
    pad_token_id = property(lambda self: self._id(self.pad_token))
    cls_token_id = property(lambda self: self._id(self.cls_token))
    mask_token_id = property(lambda self: self._id(self.mask_token))

    @property
    def all_special_tokens(self) -> list[str]:
        seen: dict[str, None] = {}
        for name in SPECIAL_TOKEN_NAMES:
            if getattr(self, name) is not None:
                seen[getattr(self, name)] = None
        for token in self.additional_special_tokens:
            seen[token] = None
        return list(seen)

    @property
    def all_special_ids(self) -> list[int]:
        return [i for i in (self._id(t) for t in self.all_special_tokens) if i is not None]

    @property
    def special_tokens_map(self) -> dict[str, Any]:
        out: dict[str, Any] = {n: getattr(self, n) for n in SPECIAL_TOKEN_NAMES if getattr(self, n)}
        if self.additional_special_tokens:
            out["additional_special_tokens"] = list(self.additional_special_tokens)
        return out

    # -- vocabulary ----------------------------------------------------------------------------
    def get_vocab(self) -> dict[str, int]:
        return self._tokenizer.get_vocab(True)

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size(False)

    def __len__(self) -> int:
        return self._tokenizer.get_vocab_size(True)

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | None | list[int | None]:
        if isinstance(tokens, str):
            found = self._tokenizer.token_to_id(tokens)
            return self.unk_token_id if found is None else found
        return [self.convert_tokens_to_ids(t) for t in tokens]

    def convert_ids_to_tokens(self, ids: int | Iterable[int]) -> str | None | list[str | None]:
        if isinstance(ids, (int, np.integer)):
            return self._tokenizer.id_to_token(int(ids))
        return [self._tokenizer.id_to_token(int(i)) for i in ids]

    # -- encoding ------------------------------------------------------------------------------
    def __call__(self, text: TextInput, text_pair: TextInput | None = None, *,
                 padding: bool | str = False, truncation: bool | str | None = None,
                 max_length: int | None = None, stride: int = 0, add_special_tokens: bool = True,
                 return_tensors: bool | str = True, return_token_type_ids: bool | None = None,
                 return_attention_mask: bool | None = None, return_offsets_mapping: bool = False,
                 pad_to_multiple_of: int | None = None, padding_side: str | None = None,
                 return_special_tokens_mask: bool = False, return_overflowing_tokens: bool = False,
                 return_word_ids: bool = False, return_sequence_ids: bool = False,
                 **kwargs: Any) -> dict[str, Any]:
        """Tokenize one text or a batch. Returns ``input_ids``, ``attention_mask`` (and
        ``token_type_ids`` for models that use them) as int64 numpy arrays ``[batch, seq]``, or
        nested lists with ``return_tensors=False``.

        ``padding``: False, True/"longest" or "max_length". ``truncation``: None (truncate only
        when ``max_length`` is given), True/"longest_first", "only_first", "only_second" or False.

        Extra fields on request: ``offset_mapping`` (char offsets ``[batch, seq, 2]``),
        ``special_tokens_mask``; ``word_ids`` and ``sequence_ids`` (always nested lists, ``None``
        for special tokens and padding). ``return_overflowing_tokens=True`` (with truncation)
        keeps the truncated-away tokens as extra rows, windows overlapping by ``stride`` tokens,
        as ``transformers`` fast tokenizers do: each input's rows follow each other and
        ``overflow_to_sample_mapping`` gives the input index of every row.
        """
        if kwargs:
            ignored = set(kwargs) - {"return_tensor", "add_prefix_space"}
            if ignored:
                raise TypeError(f"unexpected tokenizer option(s): {', '.join(sorted(ignored))}")
            if "return_tensor" in kwargs:  # Transformers.js spelling
                return_tensors = kwargs["return_tensor"]
        texts, pairs, is_batch = self._normalize_inputs(text, text_pair)
        options = self._batch_options(padding, truncation, max_length, stride,
                                      pad_to_multiple_of, padding_side)
        want_tensors = return_tensors not in (False, None)
        want_type_ids = ("token_type_ids" in self.model_input_names
                         if return_token_type_ids is None else bool(return_token_type_ids))
        if return_attention_mask is None:  # as transformers: only when the model takes it
            return_attention_mask = "attention_mask" in self.model_input_names

        extras = (return_offsets_mapping or return_special_tokens_mask or return_overflowing_tokens
                  or return_word_ids or return_sequence_ids)
        if want_tensors and options.get("padding") and not extras:
            arrays = self._tokenizer.encode_batch_arrays(texts, pairs, add_special_tokens,
                                                         **options)
            out = {"input_ids": arrays["input_ids"]}
            if return_attention_mask:
                out["attention_mask"] = arrays["attention_mask"]
            if want_type_ids:
                out["token_type_ids"] = arrays["token_type_ids"]
            return out

        encodings = self._tokenizer.encode_batch(texts, pairs, add_special_tokens, **options)
        sample_mapping = None
        if return_overflowing_tokens:
            # transformers' order: each input's encoding, then its overflowing windows.
            flat, sample_mapping = [], []
            for i, e in enumerate(encodings):
                for row in (e, *e.overflowing):
                    flat.append(row)
                    sample_mapping.append(i)
            encodings = flat
        fields = {"input_ids": [e.ids for e in encodings]}
        if return_attention_mask:
            fields["attention_mask"] = [e.attention_mask for e in encodings]
        if want_type_ids:
            fields["token_type_ids"] = [e.type_ids for e in encodings]
        if return_offsets_mapping:
            fields["offset_mapping"] = [e.offsets for e in encodings]
        if return_special_tokens_mask:
            fields["special_tokens_mask"] = [e.special_tokens_mask for e in encodings]
        if sample_mapping is not None:
            fields["overflow_to_sample_mapping"] = sample_mapping
        # word/sequence ids hold None (special tokens, padding): never tensors
        lists = {}
        if return_word_ids:
            lists["word_ids"] = [list(e.word_ids) for e in encodings]
        if return_sequence_ids:
            lists["sequence_ids"] = [list(e.sequence_ids) for e in encodings]
        if want_tensors:
            lengths = {len(ids) for ids in fields["input_ids"]}
            if len(lengths) > 1:
                raise InvalidInputError(
                    "Unable to create tensor: the sequences have different lengths "
                    f"({sorted(lengths)}); pass padding=True and/or truncation=True, or "
                    "return_tensors=False.")
            length = lengths.pop() if lengths else 0
            out = {}
            for k, v in fields.items():
                if k == "overflow_to_sample_mapping":
                    out[k] = np.asarray(v, dtype=np.int64)
                elif k == "offset_mapping":
                    out[k] = np.asarray(v, dtype=np.int64).reshape(len(v), length, 2)
                else:
                    out[k] = np.asarray(v, dtype=np.int64).reshape(len(v), length)
            return {**out, **lists}
        fields.update(lists)
        if not is_batch and sample_mapping is None:
            return {k: v[0] for k, v in fields.items()}
        return fields

    def encode(self, text: str, text_pair: str | None = None, *, add_special_tokens: bool = True,
               **kwargs: Any) -> list[int]:
        """Token ids of one text (or text pair), without padding."""
        if not isinstance(text, str) or (text_pair is not None and not isinstance(text_pair, str)):
            raise InvalidInputError("encode() takes a string (and an optional string pair); "
                                    "use encode_batch() or __call__ for lists")
        out = self(text, text_pair, add_special_tokens=add_special_tokens, return_tensors=False,
                   return_attention_mask=False, return_token_type_ids=False, **kwargs)
        return out["input_ids"]

    def encode_batch(self, texts: Sequence[str], *, add_special_tokens: bool = True) -> list[list[int]]:
        """Token ids of many texts in one parallel call into Rust."""
        texts = self._check_texts(texts)
        return self._tokenizer.encode_batch_ids(texts, add_special_tokens)

    def tokenize(self, text: str, pair: str | None = None, *, add_special_tokens: bool = False) -> list[str]:
        if not isinstance(text, str):
            raise InvalidInputError(f"tokenize() takes a string, got {type(text).__name__}")
        return list(self._tokenizer.encode(text, pair, add_special_tokens).tokens)

    # -- decoding ------------------------------------------------------------------------------
    def decode(self, token_ids: Any, *, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None) -> str:
        ids = self._ids_list(token_ids)
        text = self._postprocess_decoded(self._tokenizer.decode(ids, skip_special_tokens))
        cleanup = self.clean_up_tokenization_spaces if clean_up_tokenization_spaces is None \
            else clean_up_tokenization_spaces
        return clean_up_tokenization(text) if cleanup else text

    def batch_decode(self, sequences: Any, *, skip_special_tokens: bool = False,
                     clean_up_tokenization_spaces: bool | None = None) -> list[str]:
        if isinstance(sequences, np.ndarray):
            if sequences.ndim != 2:
                raise InvalidInputError(f"batch_decode() takes a 2-D array, got shape {sequences.shape}")
            sequences = sequences.tolist()
        batch = [self._ids_list(s) for s in sequences]
        texts = [self._postprocess_decoded(t)
                 for t in self._tokenizer.decode_batch(batch, skip_special_tokens)]
        cleanup = self.clean_up_tokenization_spaces if clean_up_tokenization_spaces is None \
            else clean_up_tokenization_spaces
        return [clean_up_tokenization(t) for t in texts] if cleanup else list(texts)

    # -- chat templates ------------------------------------------------------------------------
    def get_chat_template(self, chat_template: str | None = None, tools: Any = None) -> str:
        return chat.select_template(self.chat_template, chat_template, tools)

    def apply_chat_template(self, conversation: Sequence[Any], *, tools=None,
                            documents=None, chat_template: str | None = None,
                            add_generation_prompt: bool = False,
                            continue_final_message: bool = False, tokenize: bool = True,
                            padding: bool | str = False, truncation: bool = False,
                            max_length: int | None = None, return_tensors: bool | str = False,
                            return_dict: bool = False, return_assistant_tokens_mask: bool = False,
                            tokenizer_kwargs: Mapping | None = None, **kwargs: Any):
        """Render ``conversation`` (or a list of conversations) with the tokenizer's chat
        template, as ``transformers`` does: the special tokens and ``kwargs`` are template
        variables; ``tokenize`` encodes without adding special tokens; plain ids unless
        ``return_dict=True`` (the Transformers.js source behaves the same).
        ``return_assistant_tokens_mask`` (with ``return_dict``) marks the tokens of
        ``{% generation %}`` blocks in ``assistant_masks``."""
        batched = chat.is_batch(conversation)
        conversations = list(conversation) if batched else [conversation]
        if continue_final_message and return_assistant_tokens_mask:
            raise chat.ChatTemplateError(
                "continue_final_message is not compatible with return_assistant_tokens_mask")
        source = self.get_chat_template(chat_template, tools)
        variables = {**self.special_tokens_map, **kwargs}
        rendered, spans = [], []
        for conv in conversations:
            text, found = chat.render_with_spans(
                source, conv, tools=tools, documents=documents,
                add_generation_prompt=add_generation_prompt,
                continue_final_message=continue_final_message,
                track_generation=return_assistant_tokens_mask, **variables)
            rendered.append(text)
            spans.append(found)
        if not tokenize:
            return rendered if batched else rendered[0]
        extra = dict(tokenizer_kwargs or {})
        want_mask = return_dict and return_assistant_tokens_mask
        if want_mask:
            extra["return_offsets_mapping"] = True
        encoded = self(rendered if batched else rendered[0], padding=padding,
                       truncation=truncation, max_length=max_length, add_special_tokens=False,
                       return_tensors=return_tensors, **extra)
        if not return_dict:
            return encoded["input_ids"]
        if want_mask:
            offsets = encoded.pop("offset_mapping")
            if "return_offsets_mapping" in (tokenizer_kwargs or {}):
                encoded["offset_mapping"] = offsets
            rows = offsets if (batched or want_tensors(return_tensors)) else [offsets]
            masks = [_assistant_mask(np.asarray(row).tolist(), row_spans)
                     for row, row_spans in zip(rows, spans)]
            if want_tensors(return_tensors):
                encoded["assistant_masks"] = np.asarray(masks, dtype=np.int64)
            else:
                encoded["assistant_masks"] = masks if batched else masks[0]
        return encoded

    # -- helpers -------------------------------------------------------------------------------
    def _check_texts(self, texts: Any) -> list[str]:
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise InvalidInputError(f"expected a list of strings, got {type(texts).__name__}")
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InvalidInputError(f"input {i} is {type(t).__name__}, expected str")
        return list(texts)

    def _normalize_inputs(self, text: Any, text_pair: Any):
        if isinstance(text, str):
            if text_pair is not None and not isinstance(text_pair, str):
                raise InvalidInputError("text_pair must be a string when text is a string")
            return [text], (None if text_pair is None else [text_pair]), False
        texts = self._check_texts(text)
        pairs = None
        if text_pair is not None:
            if isinstance(text_pair, str):
                raise InvalidInputError("text_pair must be a list when text is a list")
            pairs = self._check_texts(text_pair)
            if len(pairs) != len(texts):
                raise InvalidInputError(
                    f"text and text_pair have different lengths ({len(texts)} vs {len(pairs)})")
        return texts, pairs, True

    def _batch_options(self, padding, truncation, max_length, stride, pad_to_multiple_of,
                       padding_side) -> dict[str, Any]:
        if max_length is not None and (not isinstance(max_length, int) or max_length <= 0):
            raise InvalidInputError(f"max_length must be a positive integer, got {max_length!r}")
        options: dict[str, Any] = {}
        # truncation: None means "only when max_length is given" (as transformers does)
        if truncation is None:
            truncation = max_length is not None
        if truncation:
            strategy = "longest_first" if truncation is True else truncation
            if strategy not in ("longest_first", "only_first", "only_second"):
                raise InvalidInputError(f"unknown truncation strategy {truncation!r}")
            limit = max_length if max_length is not None else self.model_max_length
            if limit is not None:
                options.update(max_length=limit, truncation_strategy=strategy, stride=stride,
                               truncation_side=self.truncation_side)
        if padding:
            if padding is True or padding == "longest":
                options["padding"] = "longest"
            elif padding == "max_length":
                limit = max_length if max_length is not None else self.model_max_length
                if limit is None:
                    raise InvalidInputError("padding='max_length' needs max_length (the tokenizer "
                                            "has no model_max_length)")
                options["padding"] = "max_length"
                # pad to the limit without truncating unless truncation was asked for
                options["padding_length"] = limit
            elif padding not in ("do_not_pad",):
                raise InvalidInputError(f"unknown padding option {padding!r}")
            if "padding" in options:
                pad_id = self.pad_token_id
                if pad_id is None:
                    raise InvalidInputError(
                        "Asking to pad but the tokenizer has no padding token; set "
                        "tokenizer.pad_token (e.g. to tokenizer.eos_token).")
                options.update(pad_id=pad_id, pad_token=self.pad_token,
                               padding_side=padding_side or self.padding_side,
                               pad_to_multiple_of=pad_to_multiple_of)
        return options

    @staticmethod
    def _ids_list(token_ids: Any) -> list[int]:
        if isinstance(token_ids, np.ndarray):
            if token_ids.ndim == 2 and token_ids.shape[0] == 1:
                token_ids = token_ids[0]
            if token_ids.ndim != 1:
                raise InvalidInputError(f"decode() takes a 1-D sequence of ids, got shape {token_ids.shape}")
            if not np.issubdtype(token_ids.dtype, np.integer):
                raise TokenizerError(f"token ids must be integers, got dtype {token_ids.dtype}")
            return token_ids.tolist()
        if isinstance(token_ids, (int, np.integer)):
            return [int(token_ids)]
        if isinstance(token_ids, (str, bytes)) or not isinstance(token_ids, Iterable):
            raise TokenizerError(f"token ids must be a sequence of integers, got {type(token_ids).__name__}")
        out = []
        for i in token_ids:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
                raise TokenizerError(f"token ids must be integers, got {i!r}")
            out.append(int(i))
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={len(self)}, model_max_length={self.model_max_length})"


def want_tensors(return_tensors: Any) -> bool:
    return return_tensors not in (False, None)


def _char_to_token(offsets: list, char: int) -> int | None:
    """Index of the token whose character span holds ``char`` (``Encoding.char_to_token``)."""
    for i, (start, end) in enumerate(offsets):
        if start <= char < end:
            return i
    return None


def _assistant_mask(offsets: list, spans: list[tuple[int, int]]) -> list[int]:
    """transformers' assistant mask from ``{% generation %}`` character spans (padding rows
    have (0, 0) offsets and are never marked)."""
    mask = [0] * len(offsets)
    for start_char, end_char in spans:
        start = _char_to_token(offsets, start_char)
        end = _char_to_token(offsets, end_char - 1)
        if start is None:  # truncated away
            break
        # transformers' loop bound (`end + 1 if end else len`): a block ending in token 0 or in
        # no token at all runs to the end of the row
        for i in range(start, end + 1 if end else len(offsets)):
            mask[i] = 1
    return mask
