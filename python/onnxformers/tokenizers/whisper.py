"""Whisper's tokenizer: language / task / timestamp tokens, timestamp-aware decoding and the
ASR pipeline's chunk merging (``_decode_asr``).

A port of ``transformers``' ``WhisperTokenizerFast`` behaviour (Apache-2.0), checked against it in
tests/tokenizers/test_whisper_tokenizer.py. Differences, on purpose:

* ``timestamp_begin`` is always ``<|notimestamps|>`` + 1. ``transformers`` uses
  ``all_special_ids[-1] + 1`` in ``decode(output_offsets / decode_with_timestamps)``, which is the
  same id when ``tokenizer_config.json`` lists the Whisper specials as
  ``additional_special_tokens`` (every Hub repo does) and a wrong one otherwise.
* Special tokens are the ``special`` added tokens of tokenizer.json (plus the config's), so a
  config without ``additional_special_tokens`` still recognises ``<|en|>`` as a language token.
* Timestamp ids that the vocabulary does not hold (older tokenizer.json files stop at
  ``<|notimestamps|>``) are skipped by ``decode`` as ``tokenizers`` skips unknown ids; any other
  out-of-vocabulary id is an error, as in the base tokenizer.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from .. import _core
from ..errors import InvalidInputError, TokenizerError
from .base import PreTrainedTokenizer

LANGUAGES = {
    "en": "english",
    "zh": "chinese",
    "de": "german",
    "es": "spanish",
    "ru": "russian",
    "ko": "korean",
    "fr": "french",
    "ja": "japanese",
    "pt": "portuguese",
    "tr": "turkish",
    "pl": "polish",
    "ca": "catalan",
    "nl": "dutch",
    "ar": "arabic",
    "sv": "swedish",
    "it": "italian",
    "id": "indonesian",
    "hi": "hindi",
    "fi": "finnish",
    "vi": "vietnamese",
    "he": "hebrew",
    "uk": "ukrainian",
    "el": "greek",
    "ms": "malay",
    "cs": "czech",
    "ro": "romanian",
    "da": "danish",
    "hu": "hungarian",
    "ta": "tamil",
    "no": "norwegian",
    "th": "thai",
    "ur": "urdu",
    "hr": "croatian",
    "bg": "bulgarian",
    "lt": "lithuanian",
    "la": "latin",
    "mi": "maori",
    "ml": "malayalam",
    "cy": "welsh",
    "sk": "slovak",
    "te": "telugu",
    "fa": "persian",
    "lv": "latvian",
    "bn": "bengali",
    "sr": "serbian",
    "az": "azerbaijani",
    "sl": "slovenian",
    "kn": "kannada",
    "et": "estonian",
    "mk": "macedonian",
    "br": "breton",
    "eu": "basque",
    "is": "icelandic",
    "hy": "armenian",
    "ne": "nepali",
    "mn": "mongolian",
    "bs": "bosnian",
    "kk": "kazakh",
    "sq": "albanian",
    "sw": "swahili",
    "gl": "galician",
    "mr": "marathi",
    "pa": "punjabi",
    "si": "sinhala",
    "km": "khmer",
    "sn": "shona",
    "yo": "yoruba",
    "so": "somali",
    "af": "afrikaans",
    "oc": "occitan",
    "ka": "georgian",
    "be": "belarusian",
    "tg": "tajik",
    "sd": "sindhi",
    "gu": "gujarati",
    "am": "amharic",
    "yi": "yiddish",
    "lo": "lao",
    "uz": "uzbek",
    "fo": "faroese",
    "ht": "haitian creole",
    "ps": "pashto",
    "tk": "turkmen",
    "nn": "nynorsk",
    "mt": "maltese",
    "sa": "sanskrit",
    "lb": "luxembourgish",
    "my": "myanmar",
    "bo": "tibetan",
    "tl": "tagalog",
    "mg": "malagasy",
    "as": "assamese",
    "tt": "tatar",
    "haw": "hawaiian",
    "ln": "lingala",
    "ha": "hausa",
    "ba": "bashkir",
    "jw": "javanese",
    "su": "sundanese",
    "yue": "cantonese",
}

# language code lookup by name, with a few language aliases
TO_LANGUAGE_CODE = {
    **{language: code for code, language in LANGUAGES.items()},
    "burmese": "my",
    "valencian": "ca",
    "flemish": "nl",
    "haitian": "ht",
    "letzeburgesch": "lb",
    "pushto": "ps",
    "panjabi": "pa",
    "moldavian": "ro",
    "moldovan": "ro",
    "sinhalese": "si",
    "castilian": "es",
    "mandarin": "zh",
}

TASK_IDS = ["translate", "transcribe"]


TIMESTAMP_PATTERN = re.compile(r"<\|(\d+\.\d+)\|>")
#: languages written without spaces: words are split at unicode boundaries
_NO_SPACE_LANGUAGES = {"chinese", "japanese", "thai", "lao", "myanmar", "cantonese"}
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def language_code(language: str) -> str:
    """``"french"`` / ``"French"`` / ``"fr"`` / ``"<|fr|>"`` → ``"fr"``; unknown → InvalidInputError."""
    if not isinstance(language, str):
        raise InvalidInputError(f"language must be a string such as 'en' or 'english', got {language!r}")
    key = language.strip().lower()
    if key.startswith("<|") and key.endswith("|>"):
        key = key[2:-2]
    if key in TO_LANGUAGE_CODE:
        return TO_LANGUAGE_CODE[key]
    if key in LANGUAGES:
        return key
    is_code = len(key) <= 3
    known = sorted(LANGUAGES) if is_code else sorted(TO_LANGUAGE_CODE)
    raise InvalidInputError(f"Unsupported language: {language!r}. Language should be one of: {', '.join(known)}.")


def check_task(task: Optional[str]) -> Optional[str]:
    if task is not None and task not in TASK_IDS:
        raise InvalidInputError(f"Unsupported task: {task!r}. Task should be one of: {', '.join(TASK_IDS)}")
    return task


class WhisperTokenizer(PreTrainedTokenizer):
    """``WhisperTokenizer`` / ``WhisperTokenizerFast``: GPT-2 byte-level BPE plus Whisper's special
    tokens. ``language``, ``task`` and ``predict_timestamps`` (from tokenizer_config.json or
    :meth:`set_prefix_tokens`) set the prefix added when encoding."""

    model_input_names = ("input_ids", "attention_mask")
    default_clean_up_tokenization_spaces = False
    #: transformers' WhisperTokenizerFast __init__ defaults
    default_special_tokens = {"unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>",
                              "eos_token": "<|endoftext|>"}

    def __init__(self, tokenizer_json: str | Mapping[str, Any], tokenizer_config: Mapping[str, Any] | None = None):
        super().__init__(tokenizer_json, tokenizer_config)
        self._json_text = tokenizer_json if isinstance(tokenizer_json, str) else json.dumps(tokenizer_json)
        cfg = self.config
        self.language = cfg.get("language")
        self.task = cfg.get("task")
        self.predict_timestamps = bool(cfg.get("predict_timestamps", False))
        try:
            doc = json.loads(self._json_text)
            added = doc.get("added_tokens") or []
        except (ValueError, AttributeError):
            added = []
        self._special_added = {int(t["id"]): t["content"] for t in added
                               if isinstance(t, dict) and t.get("special") and "id" in t}
        no_ts = self._tokenizer.token_to_id("<|notimestamps|>")
        if no_ts is None:
            raise TokenizerError("not a Whisper tokenizer: tokenizer.json has no <|notimestamps|> token")
        self.no_timestamps_token_id = no_ts
        #: first timestamp id (<|0.00|>); ids from here on are timestamps
        self.timestamp_begin = no_ts + 1
        self._in_vocab = len(self)
        self._all_special = set(super().all_special_ids) | set(self._special_added)

    # -- special tokens ------------------------------------------------------------------------
    @property
    def all_special_ids(self) -> list[int]:
        ids = list(super().all_special_ids)
        seen = set(ids)
        return ids + sorted(i for i in self._special_added if i not in seen)

    def _token_id(self, token: str) -> int:
        found = self._tokenizer.token_to_id(token)
        if found is None:
            raise TokenizerError(f"{token} is not in this Whisper tokenizer's vocabulary")
        return found

    def language_token_id(self, language: str) -> int:
        """Id of ``<|xx|>`` for a language name or code (InvalidInputError if unknown)."""
        code = language_code(language)
        found = self._tokenizer.token_to_id(f"<|{code}|>")
        if found is None:
            raise InvalidInputError(f"language {language!r} (<|{code}|>) is not in this tokenizer's vocabulary")
        return found

    def set_prefix_tokens(self, language: Optional[str] = None, task: Optional[str] = None,
                          predict_timestamps: Optional[bool] = None) -> None:
        """Change the prefix that encoding adds (``<|startoftranscript|>`` [lang] [task]
        [``<|notimestamps|>``]), as ``transformers``' fast tokenizer does."""
        self.language = language if language is not None else self.language
        self.task = check_task(task) if task is not None else self.task
        self.predict_timestamps = predict_timestamps if predict_timestamps is not None else self.predict_timestamps
        prefix = self.prefix_tokens
        tokens = self.convert_ids_to_tokens(prefix)
        eos = self.eos_token
        doc = json.loads(self._json_text)
        special = {eos: {"id": eos, "ids": [self.eos_token_id], "tokens": [eos]}}
        for tok, i in zip(tokens, prefix):
            special[tok] = {"id": tok, "ids": [i], "tokens": [tok]}
        pre = [{"SpecialToken": {"id": t, "type_id": 0}} for t in tokens]
        doc["post_processor"] = {
            "type": "TemplateProcessing",
            "single": pre + [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}}],
            "pair": pre + [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                           {"SpecialToken": {"id": eos, "type_id": 1}}],
            "special_tokens": special,
        }
        self._json_text = json.dumps(doc)
        self._tokenizer = _core.Tokenizer.from_str(self._json_text)

    @property
    def prefix_tokens(self) -> list[int]:
        ids = [self._token_id("<|startoftranscript|>")]
        if self.language is not None:
            ids.append(self.language_token_id(self.language))
        if self.task is not None:
            check_task(self.task)
            ids.append(self._token_id("<|transcribe|>" if self.task == "transcribe" else "<|translate|>"))
        if not self.predict_timestamps:
            ids.append(self.no_timestamps_token_id)
        return ids

    def get_decoder_prompt_ids(self, task: Optional[str] = None, language: Optional[str] = None,
                               no_timestamps: bool = True) -> list[tuple[int, int]]:
        """``[(1, lang), (2, task), (3, notimestamps)]``: the forced decoder ids after
        ``<|startoftranscript|>`` (also sets the prefix, as transformers does)."""
        self.set_prefix_tokens(task=task, language=language, predict_timestamps=not no_timestamps)
        return [(rank + 1, token) for rank, token in enumerate(self.prefix_tokens[1:])]

    def get_prompt_ids(self, text: str, return_tensors: Optional[str] = "np"):
        """``<|startofprev|>`` + the tokens of `` text``: a previous-text prompt for generate()."""
        ids = [self._token_id("<|startofprev|>")] + self.encode(" " + text.strip(), add_special_tokens=False)
        bad = next((i for i in ids[1:] if i in self._all_special or i >= self.timestamp_begin), None)
        if bad is not None:
            raise InvalidInputError(
                f"Encountered text in the prompt corresponding to disallowed special token: {self.convert_ids_to_tokens(bad)}.")
        return np.asarray(ids, dtype=np.int64) if return_tensors else ids

    # -- decoding ------------------------------------------------------------------------------
    def _strip_prompt(self, ids: list[int]) -> list[int]:
        if ids and ids[0] == self._tokenizer.token_to_id("<|startofprev|>"):
            start = self._tokenizer.token_to_id("<|startoftranscript|>")
            return ids[ids.index(start):] if start in ids else []
        return ids

    def _decode_text(self, ids: list[int], skip_special_tokens: bool, clean_up_tokenization_spaces) -> str:
        # tokenizers skips ids its vocabulary lacks: here only timestamps may be skipped that way
        ids = [i for i in ids if not (i >= self.timestamp_begin and i >= self._in_vocab)]
        return super().decode(ids, skip_special_tokens=skip_special_tokens,
                              clean_up_tokenization_spaces=clean_up_tokenization_spaces)

    def decode(self, token_ids: Any, *, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: Optional[bool] = None, output_offsets: bool = False,
               time_precision: float = 0.02, decode_with_timestamps: bool = False, **_: Any):
        """Text of ``token_ids``; timestamps are dropped, or written as ``<|1.08|>`` with
        ``decode_with_timestamps``. ``output_offsets=True`` returns ``{"text", "offsets"}`` with
        one ``{"text", "timestamp": (start, end)}`` per timestamped segment."""
        ids = self._ids_list(token_ids)
        filtered = self._strip_prompt(ids) if skip_special_tokens else ids
        if decode_with_timestamps:
            text = self._decode_with_timestamps(filtered, skip_special_tokens=skip_special_tokens,
                                                time_precision=time_precision)
        else:
            text = TIMESTAMP_PATTERN.sub("", self._decode_text(filtered, skip_special_tokens,
                                                               clean_up_tokenization_spaces))
        if output_offsets:
            return {"text": text, "offsets": self._compute_offsets(ids, time_precision=time_precision)}
        return text

    def batch_decode(self, sequences: Any, *, skip_special_tokens: bool = False,
                     clean_up_tokenization_spaces: Optional[bool] = None, **kwargs: Any) -> list:
        if isinstance(sequences, np.ndarray):
            if sequences.ndim != 2:
                raise InvalidInputError(f"batch_decode() takes a 2-D array, got shape {sequences.shape}")
            sequences = sequences.tolist()
        return [self.decode(s, skip_special_tokens=skip_special_tokens,
                            clean_up_tokenization_spaces=clean_up_tokenization_spaces, **kwargs) for s in sequences]

    def _decode_with_timestamps(self, token_ids: list[int], skip_special_tokens: bool = False,
                                time_precision: float = 0.02, segment_size: int = 1500) -> str:
        timestamp_begin = self.timestamp_begin
        outputs: list = [[]]
        cur_max_timestamp = 0.0
        prev_segments_len = 0.0
        penultimate_timestamp = 0.0
        for i, token in enumerate(token_ids):
            if token >= timestamp_begin:
                timestamp = float((token - timestamp_begin) * time_precision)
                if timestamp < cur_max_timestamp:
                    # next segment has started
                    last_was_single_ending = i >= 2 and not (
                        token_ids[i - 1] >= timestamp_begin and token_ids[i - 2] >= timestamp_begin)
                    if last_was_single_ending:
                        prev_segments_len += time_precision * segment_size
                    else:
                        cur_max_timestamp = penultimate_timestamp
                        prev_segments_len += penultimate_timestamp
                        outputs = outputs[:-2]
                penultimate_timestamp = cur_max_timestamp
                cur_max_timestamp = timestamp
                outputs.append(f"<|{(timestamp + prev_segments_len):.2f}|>")
                outputs.append([])
            else:
                outputs[-1].append(token)
        return "".join(s if isinstance(s, str) else self.decode(s, skip_special_tokens=skip_special_tokens)
                       for s in outputs)

    def _compute_offsets(self, token_ids: list[int], time_precision: float = 0.02, segment_size: int = 1500) -> list[dict]:
        token_ids = np.asarray(token_ids, dtype=np.int64).reshape(-1)
        timestamp_begin = self.timestamp_begin
        timestamp_tokens = token_ids >= timestamp_begin
        consecutive = np.where(timestamp_tokens[:-1] & timestamp_tokens[1:])[0] + 1
        if consecutive.shape[0] == 0 and timestamp_tokens.sum() <= 1:
            return []  # no timestamps, or no consecutive ones
        if np.where(timestamp_tokens)[0][-1] + 1 not in consecutive:
            consecutive = np.append(consecutive, np.where(timestamp_tokens)[0][-1] + 1)
        offsets = []
        last_slice = int(np.where(timestamp_tokens)[0][0])
        cur_max_timestamp = 0
        prev_segments_len = 0
        for current_slice in consecutive.tolist():
            sliced = token_ids[last_slice:current_slice]
            if len(sliced) > 1:
                start = int(sliced[0]) - timestamp_begin
                end = int(sliced[-1]) - timestamp_begin
                if start < cur_max_timestamp:
                    # next segment has started
                    is_single_ending = last_slice >= 2 and not (
                        token_ids[last_slice - 2] >= timestamp_begin and token_ids[last_slice - 1] >= timestamp_begin)
                    prev_segments_len += segment_size if is_single_ending else cur_max_timestamp
                cur_max_timestamp = end
                text = TIMESTAMP_PATTERN.sub("", self._decode_text(sliced.tolist(), False, None))
                offsets.append({"text": text, "timestamp": (
                    start * time_precision + prev_segments_len * time_precision,
                    end * time_precision + prev_segments_len * time_precision)})
            last_slice = current_slice
        return offsets

    # -- the ASR pipeline's post-processing ----------------------------------------------------
    def _decode_asr(self, model_outputs: Sequence[Mapping[str, Any]], *, return_timestamps: Any = None,
                    return_language: Optional[bool] = None, time_precision: float = 0.02,
                    force_full_sequences: bool = False) -> tuple[str, dict]:
        """Merge the token ids of one or more (strided) chunks into ``(text, {"chunks": [...]})``.
        Each output holds ``tokens`` (ids of one chunk, ``[1, n]`` or ``[n]``), optionally
        ``stride`` = (chunk_len, left, right) in seconds and, for ``return_timestamps="word"``,
        ``token_timestamps`` (seconds, one per token). ``force_full_sequences`` (Transformers.js):
        with timestamps, text after the last closing timestamp is an error instead of a last
        chunk without an end time."""
        return decode_asr(self, model_outputs, return_timestamps=return_timestamps,
                          return_language=return_language, time_precision=time_precision,
                          force_full_sequences=force_full_sequences)

    def _special_ids_set(self) -> set[int]:
        return self._all_special


def _row(value: Any) -> list:
    array = np.asarray(value)
    if array.ndim == 2:
        array = array[0]
    return array.tolist()


def decode_asr(tokenizer: WhisperTokenizer, model_outputs, *, return_timestamps, return_language,
               time_precision, segment_size: int = 1500, force_full_sequences: bool = False) -> tuple[str, dict]:
    """transformers' ``_decode_asr`` state machine (tokens → text, segment or word chunks)."""
    last_language = None

    def new_chunk():
        return {"language": last_language, "timestamp": [None, None], "text": ""}

    chunks = []
    chunk = new_chunk()
    time_offset = 0.0
    timestamp_begin = tokenizer.timestamp_begin
    previous_tokens: list = []
    previous_token_timestamps: list = []
    skip = False
    right_stride_start = None
    all_special_ids = tokenizer._special_ids_set()

    for output in model_outputs:
        token_ids = tokenizer._strip_prompt([int(t) for t in _row(output["tokens"])])
        if return_timestamps == "word":
            token_timestamps = [float(t) for t in _row(output["token_timestamps"])]
        last_timestamp = None
        first_timestamp = timestamp_begin
        # long-form generation may concatenate several calls' segments
        cur_max_timestamp = 0.0
        prev_segments_len = 0.0
        penultimate_timestamp = 0.0

        if "stride" in output:
            chunk_len, stride_left, stride_right = output["stride"]
            time_offset -= stride_left
            right_stride_start = chunk_len - stride_right
            # timestamps inside the strides are not split on: resolved once out of both strides
            if stride_left:
                first_timestamp = stride_left / time_precision + timestamp_begin
            if stride_right:
                for token in reversed(token_ids):
                    if token >= timestamp_begin:
                        # several tokens may sit in the right stride; the last one is always skipped
                        if last_timestamp is not None and (token - timestamp_begin) * time_precision < right_stride_start:
                            break
                        last_timestamp = token

        current_tokens: list = []
        current_token_timestamps: list = []
        for i, token in enumerate(token_ids):
            if token in all_special_ids:
                text = tokenizer.decode([token])[2:-2]
                language = LANGUAGES.get(text)
                if language is not None:
                    if last_language and language != last_language and not return_timestamps:
                        previous_tokens.append(current_tokens)
                        resolved = _find_longest_common_sequence(previous_tokens)
                        chunk["text"] = tokenizer.decode(resolved)
                        chunks.append(chunk)
                        previous_tokens = []
                        current_tokens = []
                        chunk = new_chunk()
                    chunk["language"] = language
                    last_language = language
            elif token >= timestamp_begin:
                timestamp = float((token - timestamp_begin) * time_precision)
                if timestamp < cur_max_timestamp:
                    last_was_single_ending = i >= 2 and not (
                        token_ids[i - 1] >= timestamp_begin and token_ids[i - 2] >= timestamp_begin)
                    if last_was_single_ending:
                        prev_segments_len += time_precision * segment_size
                    else:
                        cur_max_timestamp = penultimate_timestamp
                        prev_segments_len += penultimate_timestamp
                penultimate_timestamp = cur_max_timestamp
                cur_max_timestamp = timestamp
                time = round((token - timestamp_begin) * time_precision + time_offset + prev_segments_len, 2)
                if last_timestamp and token >= last_timestamp:
                    # inside the right stride: skip it, and the next one (timestamps come in pairs)
                    skip = True
                elif skip or (previous_tokens and token < first_timestamp):
                    skip = False
                elif chunk["timestamp"][0] is None:
                    chunk["timestamp"][0] = time
                elif time == chunk["timestamp"][0]:
                    pass  # a duplicated start token: keep it as a start
                else:
                    chunk["timestamp"][1] = time
                    previous_tokens.append(current_tokens)
                    if return_timestamps == "word":
                        previous_token_timestamps.append(current_token_timestamps)
                    resolved, resolved_ts = _find_longest_common_sequence(previous_tokens, previous_token_timestamps)
                    chunk["text"] = tokenizer.decode(resolved)
                    if return_timestamps == "word":
                        chunk["words"] = _collate_word_timestamps(tokenizer, resolved, resolved_ts, last_language,
                                                                  return_language)
                    chunks.append(chunk)
                    previous_tokens = []
                    current_tokens = []
                    previous_token_timestamps = []
                    current_token_timestamps = []
                    chunk = new_chunk()
            else:
                current_tokens.append(token)
                if return_timestamps == "word":
                    start_time = round(0.0 + time_offset, 2) if i == 0 else round(token_timestamps[i - 1] + time_offset, 2)
                    end_time = round(token_timestamps[i] + time_offset, 2)
                    current_token_timestamps.append((start_time, end_time))

        if "stride" in output:
            time_offset += chunk_len - stride_right

        if current_tokens:
            previous_tokens.append(current_tokens)
            if return_timestamps == "word":
                previous_token_timestamps.append(current_token_timestamps)
        elif not any(p for p in previous_tokens):
            chunk = new_chunk()
            previous_tokens = []
            current_tokens = []
            previous_token_timestamps = []
            current_token_timestamps = []

    if previous_tokens:
        # no final timestamp (or no timestamps at all)
        if force_full_sequences and return_timestamps:
            raise InvalidInputError(
                "Whisper did not predict an ending timestamp, which can happen if audio is cut off in the middle "
                "of a word (or generation stopped at max_new_tokens); force_full_sequences=True makes this an error")
        resolved, resolved_ts = _find_longest_common_sequence(previous_tokens, previous_token_timestamps)
        chunk["text"] = tokenizer.decode(resolved)
        if return_timestamps == "word":
            chunk["words"] = _collate_word_timestamps(tokenizer, resolved, resolved_ts, last_language, return_language)
        chunks.append(chunk)

    full_text = "".join(c["text"] for c in chunks)
    optional: dict = {}
    if return_timestamps or return_language:
        for c in chunks:
            if not return_timestamps:
                c.pop("timestamp")
            else:
                c["timestamp"] = tuple(c["timestamp"])
            if not return_language:
                c.pop("language")
        if return_timestamps == "word":
            optional = {"chunks": [w for c in chunks for w in c["words"]]}
        else:
            optional = {"chunks": chunks}
    return full_text, optional


def _find_longest_common_sequence(sequences, token_timestamp_sequences=None):
    """Merge overlapping token lists (strided chunks) at their best-matching overlap."""
    left_sequence = sequences[0]
    left_length = len(left_sequence)
    total_sequence: list = []
    if token_timestamp_sequences:
        left_ts = token_timestamp_sequences[0]
        total_ts: list = []
    for seq_idx, right_sequence in enumerate(sequences[1:]):
        max_ = 0.0
        max_indices = (left_length, left_length, 0, 0)
        right_length = len(right_sequence)
        for i in range(1, left_length + right_length):
            eps = i / 10000.0  # favours long perfect matches
            left_start = max(0, left_length - i)
            left_stop = min(left_length, left_length + right_length - i)
            left = left_sequence[left_start:left_stop]
            right_start = max(0, i - left_length)
            right_stop = min(right_length, i)
            right = right_sequence[right_start:right_stop]
            if token_timestamp_sequences:
                # matching tokens whose timestamps are in order
                matches = sum(1 for idx, elem in enumerate(left) if elem == right[idx]
                              and left_ts[left_start + idx] <= token_timestamp_sequences[seq_idx + 1][right_start + idx])
            else:
                matches = sum(1 for a, b in zip(left, right) if a == b)
            matching = matches / i + eps
            if matches > 1 and matching > max_:
                max_ = matching
                max_indices = (left_start, left_stop, right_start, right_stop)
        left_start, left_stop, right_start, right_stop = max_indices
        # trust the left sequence on the left half of the overlap, the right one on the right half
        left_mid = (left_stop + left_start) // 2
        right_mid = (right_stop + right_start) // 2
        total_sequence.extend(left_sequence[:left_mid])
        left_sequence = right_sequence[right_mid:]
        left_length = len(left_sequence)
        if token_timestamp_sequences:
            total_ts.extend(left_ts[:left_mid])
            left_ts = token_timestamp_sequences[seq_idx + 1][right_mid:]
    total_sequence.extend(left_sequence)
    if token_timestamp_sequences is None:
        return total_sequence
    if len(token_timestamp_sequences) > 0:
        total_ts.extend(left_ts)
        return total_sequence, total_ts
    return total_sequence, []


def _collate_word_timestamps(tokenizer, tokens, token_timestamps, language, return_language):
    words, _, token_indices = combine_tokens_into_words(tokenizer, tokens, language)
    extra = {"language": language} if return_language else {}
    return [{"text": word, "timestamp": (token_timestamps[idx[0]][0], token_timestamps[idx[-1]][1]), **extra}
            for word, idx in zip(words, token_indices)]


def combine_tokens_into_words(tokenizer, tokens: list[int], language: Optional[str] = None,
                              prepend_punctuations: str = "\"'“¡¿([{-",
                              append_punctuations: str = "\"'.。,，!！?？:：”)]}、"):
    """Group tokens into words: ``(words, word_tokens, token_indices)``."""
    if language is None:
        language = tokenizer.language
    if language is None:
        language = "english"
    if language in _NO_SPACE_LANGUAGES:
        words, word_tokens, token_indices = _split_tokens_on_unicode(tokenizer, tokens)
    else:
        words, word_tokens, token_indices = _split_tokens_on_spaces(tokenizer, tokens)
    _merge_punctuations(words, word_tokens, token_indices, prepend_punctuations, append_punctuations)
    return words, word_tokens, token_indices


def _split_tokens_on_unicode(tokenizer, tokens: list[int]):
    """Split where the decoded tokens form whole code points."""
    decoded_full = tokenizer.decode(tokens, decode_with_timestamps=True)
    replacement_char = "\ufffd"
    words, word_tokens, token_indices = [], [], []
    current_tokens: list = []
    current_indices: list = []
    unicode_offset = 0
    for token_idx, token in enumerate(tokens):
        current_tokens.append(token)
        current_indices.append(token_idx)
        decoded = tokenizer.decode(current_tokens, decode_with_timestamps=True)
        if replacement_char not in decoded or \
                decoded_full[unicode_offset + decoded.index(replacement_char)] == replacement_char:
            words.append(decoded)
            word_tokens.append(current_tokens)
            token_indices.append(current_indices)
            current_tokens = []
            current_indices = []
            unicode_offset += len(decoded)
    return words, word_tokens, token_indices


def _split_tokens_on_spaces(tokenizer, tokens: list[int]):
    """Split at whitespace and punctuation tokens."""
    subwords, subword_tokens_list, subword_indices_list = _split_tokens_on_unicode(tokenizer, tokens)
    words: list = []
    word_tokens: list = []
    token_indices: list = []
    eos = tokenizer.eos_token_id
    for subword, subword_tokens, subword_indices in zip(subwords, subword_tokens_list, subword_indices_list):
        special = eos is not None and subword_tokens[0] >= eos
        with_space = subword.startswith(" ")
        punctuation = subword.strip() in _PUNCTUATION
        if special or with_space or punctuation or len(words) == 0:
            words.append(subword)
            word_tokens.append(subword_tokens)
            token_indices.append(subword_indices)
        else:
            words[-1] = words[-1] + subword
            word_tokens[-1].extend(subword_tokens)
            token_indices[-1].extend(subword_indices)
    return words, word_tokens, token_indices


def _merge_punctuations(words, tokens, indices, prepended, appended):
    """Attach punctuation tokens to their neighbouring words (in place)."""
    i = len(words) - 2
    j = len(words) - 1
    while i >= 0:
        if words[i].startswith(" ") and words[i].strip() in prepended:
            words[j] = words[i] + words[j]
            tokens[j] = tokens[i] + tokens[j]
            indices[j] = indices[i] + indices[j]
            words[i], tokens[i], indices[i] = "", [], []
        else:
            j = i
        i -= 1
    i, j = 0, 1
    while j < len(words):
        if not words[i].endswith(" ") and words[j] in appended:
            words[i] += words[j]
            tokens[i] += tokens[j]
            indices[i] += indices[j]
            words[j], tokens[j], indices[j] = "", [], []
        else:
            i = j
        j += 1
    words[:] = [w for w in words if w]
    tokens[:] = [t for t in tokens if t]
    indices[:] = [x for x in indices if x]


__all__ = ["WhisperTokenizer", "LANGUAGES", "TO_LANGUAGE_CODE", "TASK_IDS", "language_code", "decode_asr",
           "combine_tokens_into_words"]
