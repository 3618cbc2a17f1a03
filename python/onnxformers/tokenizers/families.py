"""Tokenizer classes that add behaviour to the tokenizer.json pipeline, each doing what the
``transformers`` (4.57) fast class of the same name does when it loads a tokenizer.json with a
tokenizer_config.json (the oracle of ``tests/tokenizers/test_tokenizer_classes.py``):

* BERT family: ``do_lower_case`` / ``strip_accents`` / ``tokenize_chinese_chars`` from the config
  rewrite a disagreeing top-level BertNormalizer (``BertTokenizerFast.__init__``).
* RoBERTa family: ``add_prefix_space`` / ``trim_offsets`` rewrite the top-level post-processor.
* Llama family (Llama, CodeLlama, Gemma, Cohere, GPT-NeoX): ``add_bos_token`` / ``add_eos_token``
  replace the post-processor with a TemplateProcessing (``update_post_processor``), also when set
  on the instance after loading.
* Bloom, Cohere: ``add_prefix_space=True`` switches every ByteLevel inside the pre-tokenizer and
  the decoder on.
* CLIP: decoded text has the ``end_of_word_suffix`` replaced by a space and is stripped.
* CodeGen: ``decode(..., truncate_before_pattern=[...])``.
* Marian: a leading ``>>lang<<`` code is one token, never run through SentencePiece
  (``supported_language_codes`` lists them).

What every class shares (special-token defaults, ``add_prefix_space`` on a top-level ByteLevel,
model input names, padding side) is in ``base.PreTrainedTokenizer`` and ``auto.TOKENIZER_CLASSES``.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any, Mapping

from .. import _core
from ..errors import TokenizerError
from .base import PreTrainedTokenizer, TokenizerDoc

_NO_TYPE_IDS = ("input_ids", "attention_mask")


def doc_token_id(doc: Mapping[str, Any], token: str) -> int | None:
    """Id of ``token`` in a parsed tokenizer.json (added tokens first, then the model vocab)."""
    for added in doc.get("added_tokens") or []:
        if isinstance(added, Mapping) and added.get("content") == token:
            return added.get("id")
    vocab = (doc.get("model") or {}).get("vocab")
    if isinstance(vocab, Mapping):
        return vocab.get(token)
    if isinstance(vocab, list):  # Unigram: [[piece, score], ...]
        for i, entry in enumerate(vocab):
            if isinstance(entry, list) and entry and entry[0] == token:
                return i
    return None


# -- BERT ---------------------------------------------------------------------------------------
class BertFamilyTokenizer(PreTrainedTokenizer):
    """``BertTokenizerFast`` and its copies (ConvBert, DistilBert, Electra, MobileBert,
    SqueezeBert, RoFormer, MPNet): the config's lowercase/accents/CJK settings win over the
    tokenizer.json BertNormalizer when they disagree (defaults: True, None, True)."""

    default_special_tokens = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                              "cls_token": "[CLS]", "mask_token": "[MASK]"}

    def _adapt_tokenizer_json(self, text, config):
        if '"BertNormalizer"' in text:
            self._parse_tokenizer_json = True
        return super()._adapt_tokenizer_json(text, config)

    def _rewrite_components(self, doc):
        changed = super()._rewrite_components(doc)
        norm = doc.get("normalizer")
        if not isinstance(norm, dict):
            return changed
        want = {"lowercase": self.config.get("do_lower_case", True),
                "strip_accents": self.config.get("strip_accents"),
                "handle_chinese_chars": self.config.get("tokenize_chinese_chars", True)}
        # transformers compares the state's value (the key's default when it is absent) with
        # the config's and, on any difference, sets all three.
        if any(k in norm and norm[k] != v for k, v in want.items()):
            norm.update(want)
            changed = True
        self.do_lower_case = want["lowercase"]
        return changed


# -- RoBERTa ------------------------------------------------------------------------------------
class RobertaFamilyTokenizer(PreTrainedTokenizer):
    """``RobertaTokenizerFast`` (and Bart, Blenderbot): ``add_prefix_space`` (default False) and
    ``trim_offsets`` (default True) overwrite the top-level post-processor's when it has them."""

    model_input_names = _NO_TYPE_IDS
    default_special_tokens = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>",
                              "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>",
                              "mask_token": "<mask>"}
    _parse_tokenizer_json = True

    def _rewrite_components(self, doc):
        changed = super()._rewrite_components(doc)
        post = doc.get("post_processor")
        if isinstance(post, dict):
            want = {"add_prefix_space": bool(self.add_prefix_space),
                    "trim_offsets": bool(self.config.get("trim_offsets", True))}
            for k, v in want.items():
                if k in post and post[k] != v:
                    post[k] = v
                    changed = True
        return changed


# -- Llama-style bos/eos templates --------------------------------------------------------------
class BosEosTemplateTokenizer(PreTrainedTokenizer):
    """``update_post_processor`` of LlamaTokenizerFast (CodeLlama, Gemma, Cohere, GPT-NeoX):
    the post-processor becomes ``[bos] $A [eos]`` / ``[bos] $A [eos] [bos] $B [eos]`` (type ids
    0 then 1) from ``add_bos_token`` / ``add_eos_token``; setting either attribute later rebuilds
    it, as the transformers properties do."""

    model_input_names = _NO_TYPE_IDS
    default_add_bos_token = True
    default_add_eos_token = False
    _parse_tokenizer_json = True

    def __init__(self, tokenizer_json, tokenizer_config=None):
        config = tokenizer_config or {}
        self._add_bos_token = bool(config.get("add_bos_token", self.default_add_bos_token))
        self._add_eos_token = bool(config.get("add_eos_token", self.default_add_eos_token))
        super().__init__(tokenizer_json, tokenizer_config)

    def _adapt_tokenizer_json(self, text, config):
        # the adapted text is kept for the add_bos_token/add_eos_token setters
        self._doc_text = super()._adapt_tokenizer_json(text, config)
        return self._doc_text

    def _rewrite_components(self, doc):
        super()._rewrite_components(doc)
        doc["post_processor"] = self._template(doc)
        return True

    def _template(self, doc) -> dict:
        specials: dict[str, dict] = {}

        def special(name: str, type_id: int) -> dict:
            token = getattr(self, f"{name}_token")
            if token is None:
                raise TokenizerError(f"add_{name}_token = True but {name}_token = None")
            tid = doc_token_id(doc, token)
            if tid is None and self.unk_token is not None:
                tid = doc_token_id(doc, self.unk_token)  # convert_tokens_to_ids falls back to unk
            if tid is None:
                raise TokenizerError(f"{name}_token {token!r} is not in the vocabulary")
            specials[token] = {"id": token, "ids": [tid], "tokens": [token]}
            return {"SpecialToken": {"id": token, "type_id": type_id}}

        def seq(name: str, type_id: int) -> list:
            out = [special("bos", type_id)] if self._add_bos_token else []
            out.append({"Sequence": {"id": name, "type_id": type_id}})
            if self._add_eos_token:
                out.append(special("eos", type_id))
            return out

        return {"type": "TemplateProcessing", "single": seq("A", 0),
                "pair": seq("A", 0) + seq("B", 1), "special_tokens": specials}

    def update_post_processor(self) -> None:
        doc = TokenizerDoc.parse(self._doc_text)
        doc["post_processor"] = self._template(doc)
        self._doc_text = doc.dumps()
        self._tokenizer = _core.Tokenizer.from_str(self._doc_text)

    @property
    def add_bos_token(self) -> bool:
        return self._add_bos_token

    @add_bos_token.setter
    def add_bos_token(self, value: bool) -> None:
        self._add_bos_token = bool(value)
        self.update_post_processor()

    @property
    def add_eos_token(self) -> bool:
        return self._add_eos_token

    @add_eos_token.setter
    def add_eos_token(self, value: bool) -> None:
        self._add_eos_token = bool(value)
        self.update_post_processor()


def _switch_prefix_space_on(node: Any) -> None:
    """Bloom/Cohere's pickle hack: every ``"add_prefix_space": false`` becomes true."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "add_prefix_space" and v is False:
                node[k] = True
            else:
                _switch_prefix_space_on(v)
    elif isinstance(node, list):
        for v in node:
            _switch_prefix_space_on(v)


class _PrefixSpaceEverywhere(PreTrainedTokenizer):
    def _adapt_tokenizer_json(self, text, config):
        if self.add_prefix_space:
            self._parse_tokenizer_json = True
        return super()._adapt_tokenizer_json(text, config)

    def _rewrite_components(self, doc):
        changed = super()._rewrite_components(doc)
        if self.add_prefix_space:
            before = json.dumps([doc.get("pre_tokenizer"), doc.get("decoder")])
            _switch_prefix_space_on(doc.get("pre_tokenizer"))
            _switch_prefix_space_on(doc.get("decoder"))
            changed |= before != json.dumps([doc.get("pre_tokenizer"), doc.get("decoder")])
        return changed


class _SentencePieceConverted(PreTrainedTokenizer):
    """Llama and T5: ``add_prefix_space`` defaults to None (tokenizer.json as is). An explicit
    value makes transformers re-convert the tokenizer from ``tokenizer.model`` (``from_slow``,
    needs sentencepiece); we have only tokenizer.json, so we say so and keep it."""

    default_add_prefix_space = None
    default_legacy = True  # transformers warns and uses legacy=True when the config has none

    def _adapt_tokenizer_json(self, text, config):
        if config.get("add_prefix_space") is not None:
            warnings.warn(
                f"{type(self).__name__}: add_prefix_space={config['add_prefix_space']!r} in "
                "tokenizer_config.json makes transformers rebuild the tokenizer from its "
                "SentencePiece model; onnxformers uses tokenizer.json as it is.", stacklevel=4)
        return super()._adapt_tokenizer_json(text, config)


class T5Tokenizer(_SentencePieceConverted):
    model_input_names = _NO_TYPE_IDS
    default_special_tokens = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}


class LlamaTokenizer(_SentencePieceConverted, BosEosTemplateTokenizer):
    default_padding_side = "left"
    default_special_tokens = {"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>"}


class CodeLlamaTokenizer(BosEosTemplateTokenizer):
    default_padding_side = "left"
    default_special_tokens = {"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>"}


class GemmaTokenizer(BosEosTemplateTokenizer):
    default_padding_side = "left"
    default_special_tokens = {"unk_token": "<unk>", "bos_token": "<bos>", "eos_token": "<eos>",
                              "pad_token": "<pad>"}


class CohereTokenizer(_PrefixSpaceEverywhere, BosEosTemplateTokenizer):
    default_padding_side = "left"
    default_special_tokens = {"unk_token": "<UNK>", "bos_token": "<BOS_TOKEN>",
                              "eos_token": "<|END_OF_TURN_TOKEN|>"}


class GPTNeoXTokenizer(BosEosTemplateTokenizer):
    default_add_bos_token = False
    default_special_tokens = {"unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>",
                              "eos_token": "<|endoftext|>"}


class BloomTokenizer(_PrefixSpaceEverywhere):
    model_input_names = _NO_TYPE_IDS
    default_special_tokens = {"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>",
                              "pad_token": "<pad>"}


# -- CLIP ---------------------------------------------------------------------------------------
_EOW = re.compile(r'"end_of_word_suffix"\s*:\s*"((?:[^"\\]|\\.)*)"')


class CLIPTokenizer(PreTrainedTokenizer):
    """CLIPTokenizerFast wraps the backend decode: ``text.replace(end_of_word_suffix, " ").strip()``
    (before clean-up). Encoding (NFC, whitespace runs, lowercase) is all in tokenizer.json."""

    model_input_names = _NO_TYPE_IDS
    default_special_tokens = {"unk_token": "<|endoftext|>", "bos_token": "<|startoftext|>",
                              "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}

    def _adapt_tokenizer_json(self, text, config):
        m = _EOW.search(text)
        self._end_of_word_suffix = json.loads(f'"{m.group(1)}"') if m else None
        return super()._adapt_tokenizer_json(text, config)

    def _postprocess_decoded(self, text: str) -> str:
        if self._end_of_word_suffix:
            text = text.replace(self._end_of_word_suffix, " ")
        return text.strip()


# -- CodeGen ------------------------------------------------------------------------------------
class CodeGenTokenizer(PreTrainedTokenizer):
    model_input_names = _NO_TYPE_IDS
    default_special_tokens = {"unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>",
                              "eos_token": "<|endoftext|>"}

    def decode(self, token_ids, *, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None,
               truncate_before_pattern: list[str] | None = None) -> str:
        """As transformers' CodeGenTokenizerFast: ``truncate_before_pattern`` regexes (multiline)
        cut the text before the first match; a second top-level ``print``/``def`` cuts too."""
        text = super().decode(token_ids, skip_special_tokens=skip_special_tokens,
                              clean_up_tokenization_spaces=clean_up_tokenization_spaces)
        if truncate_before_pattern:
            text = self.truncate(text, truncate_before_pattern)
        return text

    def batch_decode(self, sequences, *, skip_special_tokens: bool = False,
                     clean_up_tokenization_spaces: bool | None = None,
                     truncate_before_pattern: list[str] | None = None) -> list[str]:
        texts = super().batch_decode(sequences, skip_special_tokens=skip_special_tokens,
                                     clean_up_tokenization_spaces=clean_up_tokenization_spaces)
        if truncate_before_pattern:
            texts = [self.truncate(t, truncate_before_pattern) for t in texts]
        return texts

    @staticmethod
    def truncate(completion: str, truncate_before_pattern: list[str]) -> str:
        terminals = [re.compile(p, re.MULTILINE) for p in truncate_before_pattern]
        for head in ("^print", "^def"):
            found = list(re.finditer(head, completion, re.MULTILINE))
            if len(found) > 1:
                completion = completion[:found[1].start()]
        positions = [m.start() for m in (t.search(completion, 0) for t in terminals) if m]
        return completion[:min(positions)] if positions else completion


# -- Marian -------------------------------------------------------------------------------------
class MarianTokenizer(PreTrainedTokenizer):
    """A leading ``>>xx<<`` target-language code (multilingual Opus-MT models) is a token of its
    own, as transformers' ``remove_language_code`` and Transformers.js' ``_encode_text`` do: the
    codes of the vocabulary become (non-special) added tokens. Decoding keeps them, as both do;
    ``skip_special_tokens`` does not drop them either (they are not special there)."""

    model_input_names = _NO_TYPE_IDS
    default_special_tokens = {"unk_token": "<unk>", "eos_token": "</s>", "pad_token": "<pad>"}
    _parse_tokenizer_json = True

    def _rewrite_components(self, doc):
        changed = super()._rewrite_components(doc)
        vocab = (doc.get("model") or {}).get("vocab")
        if isinstance(vocab, Mapping):
            pieces = sorted(vocab.items(), key=lambda kv: kv[1])
        elif isinstance(vocab, list):
            pieces = [(e[0], i) for i, e in enumerate(vocab) if isinstance(e, list) and e]
        else:
            pieces = []
        codes = [(p, i) for p, i in pieces
                 if isinstance(p, str) and p.startswith(">>") and p.endswith("<<")]
        self.supported_language_codes = [p for p, _ in codes]
        added = doc.setdefault("added_tokens", [])
        if not isinstance(added, list):
            return changed
        present = {a.get("content") for a in added if isinstance(a, Mapping)}
        for piece, i in codes:
            if piece not in present:
                added.append({"id": i, "content": piece, "single_word": False, "lstrip": False,
                              "rstrip": False, "normalized": False, "special": False})
                changed = True
        return changed
