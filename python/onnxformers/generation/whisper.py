"""Whisper generation on top of the encoder-decoder loop (:mod:`.encoder_decoder`).

What Whisper adds, following ``transformers``' ``WhisperGenerationMixin`` (4.57) for 30-second
windows ("short-form"), which the ASR pipeline feeds one window at a time:

* the decoder prompt (``init tokens``): ``<|startoftranscript|>`` [language] [task]
  [``<|notimestamps|>``], from ``language`` / ``task`` / ``return_timestamps`` or the legacy
  ``forced_decoder_ids`` of generation_config.json; ``language=None`` on a multilingual model
  runs language detection (one decoder step, argmax over the language tokens);
* the timestamp logits processor (in the Rust core, enabled by ``return_timestamps``);
* ``max_length`` counted as transformers does (``max_length + prompt - 1``, capped at
  ``max_target_positions``);
* the split of the output into segments at timestamp pairs: ``tokens`` are the kept tokens
  (prompt and ``<|endoftext|>`` removed, text after the last complete segment dropped) that the
  pipeline's ``_decode_asr`` merges;
* token-level timestamps (``return_token_timestamps``): the decoder's ``cross_attentions.*``
  outputs at the ``alignment_heads``, normalised, median-filtered and aligned to the audio frames
  by dynamic time warping (Rust: ``_core.median_filter``, ``_core.dynamic_time_warping``).

Features longer than 30 s are decoded sequentially (transformers' "long-form" seek loop, with
timestamps); condition_on_prev_tokens, temperature fallback and the no-speech / compression /
log-prob thresholds of that mode are not implemented.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np

from .. import _core
from ..errors import InvalidConfigError, InvalidInputError, UnsupportedModelError
from . import encoder_decoder
from .config import GenerationConfig

#: generation options that Whisper handles itself (never passed to the generic loop)
WHISPER_KEYS = ("language", "task", "is_multilingual", "return_timestamps", "return_token_timestamps",
                "num_frames", "prompt_ids", "lang_to_id", "task_to_id", "alignment_heads",
                "return_segments", "time_precision", "prev_sot_token_id")
TASKS = ("translate", "transcribe")


def _gen_dict(model: Any, generation_config: Any) -> dict:
    """generation_config.json overlaid with a ``generation_config=`` argument (dict or
    GenerationConfig), keeping the Whisper keys the Python GenerationConfig has no field for."""
    gen = dict(model.generation_config or {})
    if generation_config is not None:
        if isinstance(generation_config, GenerationConfig):
            gen.update({k: v for k, v in generation_config.to_dict().items() if k != "generation_kwargs"})
        elif isinstance(generation_config, Mapping):
            gen.update(generation_config)
        else:
            raise InvalidInputError("generation_config must be a GenerationConfig or a dict")
    return gen


def language_to_id(language: str, lang_to_id: Mapping[str, int]) -> int:
    from ..tokenizers.whisper import LANGUAGES, TO_LANGUAGE_CODE

    if not isinstance(language, str):
        raise InvalidInputError(f"language must be a string such as 'en' or 'english', got {language!r}")
    key = language.lower()
    if key in lang_to_id:
        token = key
    elif key in TO_LANGUAGE_CODE:
        token = f"<|{TO_LANGUAGE_CODE[key]}|>"
    elif key in LANGUAGES:
        token = f"<|{key}|>"
    else:
        is_code = len(key) == 2
        known = sorted(LANGUAGES) if is_code else sorted(TO_LANGUAGE_CODE)
        raise InvalidInputError(f"Unsupported language: {language!r}. Language should be one of: {', '.join(known)}.")
    if token not in lang_to_id:
        raise InvalidInputError(f"{token} is not supported by this model (not in generation_config.json's "
                                f"lang_to_id)")
    return int(lang_to_id[token])


def detect_language(model: Any, hidden: np.ndarray, gen: Mapping[str, Any]) -> list[int]:
    """One decoder step from ``<|startoftranscript|>``; the most likely language token per row."""
    lang_to_id = gen.get("lang_to_id") or {}
    if not lang_to_id:
        raise InvalidConfigError("language detection needs lang_to_id in generation_config.json")
    first, later = encoder_decoder.decoder_sessions(model)
    rows = hidden.shape[0]
    runner = encoder_decoder.CacheRunner(first, later, model.config, rows,
                                         constants={"encoder_hidden_states": np.ascontiguousarray(hidden)})
    start = np.full((rows, 1), int(gen["decoder_start_token_id"]), np.int64)
    logits = runner.run({"input_ids": start}, True)[:, -1, :].astype(np.float32)
    ids = np.array(sorted(int(i) for i in lang_to_id.values()))
    return [int(ids[np.argmax(row[ids])]) for row in logits]


def init_tokens(gen: Mapping[str, Any], *, language: Any, task: Optional[str], return_timestamps: bool,
                batch: int, detect=None) -> np.ndarray:
    """transformers' ``_retrieve_init_tokens``: the decoder prompt ``[batch, n]``."""
    if gen.get("is_multilingual") is False and (task is not None or language is not None):
        raise InvalidInputError("Cannot specify `task` or `language` for an English-only model (generation_config.json "
                                "has is_multilingual = false)")
    if language is not None and not gen.get("lang_to_id"):
        raise InvalidConfigError("language= needs lang_to_id in generation_config.json")
    if task is not None and not gen.get("task_to_id"):
        raise InvalidConfigError("task= needs task_to_id in generation_config.json")
    start = gen.get("decoder_start_token_id")
    if start is None:
        raise InvalidConfigError("generation_config.json has no decoder_start_token_id")
    init: list = [int(start)]
    if task is None and language is None:
        forced = gen.get("forced_decoder_ids")
        if forced and forced[0][0] == 1:
            forced = [list(f) for f in forced]
            i = 1
            while forced and forced[0][0] == i:
                init.append(forced[0][1])
                forced = forced[1:]
                i += 1
            if forced:
                raise InvalidConfigError(f"forced_decoder_ids {gen.get('forced_decoder_ids')} do not follow Whisper's "
                                         "prompt pattern (consecutive positions from 1)")
    lang_undefined = len(init) <= 1 or init[1] is None
    if isinstance(language, (list, tuple)):
        if any(lang is None for lang in language):
            raise InvalidInputError("language must be None, a string or a list of strings (one per batch row)")
        if len(language) != batch:
            raise InvalidInputError(f"{len(language)} languages for a batch of {batch}")
        languages = list(language)
    else:
        languages = [language] * batch
    rows = [list(init) for _ in range(batch)]
    lang_ids = None
    if language is not None:
        lang_ids = [language_to_id(lang, gen["lang_to_id"]) for lang in languages]
    elif gen.get("lang_to_id") and lang_undefined and detect is not None:
        lang_ids = detect()
    if lang_ids is not None:
        for row, lid in zip(rows, lang_ids):
            if len(row) > 1:
                row[1] = lid
            else:
                row.append(lid)
    task_to_id = gen.get("task_to_id") or {}
    no_ts = gen.get("no_timestamps_token_id")
    for k, row in enumerate(rows):
        if task is not None:
            if task not in TASKS:
                raise InvalidInputError(f"The `{task}` task is not supported. The task should be one of {list(TASKS)}")
            task_id = task_to_id[task]
            row.append(task_id)
            # replace_or_add: a task id already in the prompt is overwritten
            if any(t in row for t in task_to_id.values()):
                row[:] = [task_id if t in task_to_id.values() else t for t in row]
        elif language is not None and task_to_id and not any(t in row for t in task_to_id.values()):
            row.append(task_to_id["transcribe"])
        if not return_timestamps and no_ts is not None and row[-1] != no_ts:
            row.append(no_ts)
        elif return_timestamps and row and row[-1] == no_ts:
            row.pop()
        rows[k] = [t for t in row if t is not None]
    if len({len(r) for r in rows}) != 1:
        raise InvalidInputError("the decoder prompts of the batch rows differ in length")
    return np.asarray(rows, dtype=np.int64)


def token_timestamps(cross: Sequence[Sequence[np.ndarray]], alignment_heads: Sequence[Sequence[int]], *,
                     num_input_ids: int, num_frames: Any = None, median_filter_width: int = 7,
                     time_precision: float = 0.02, beam_indices: Any = None) -> np.ndarray:
    """transformers' ``_extract_token_timestamps``: seconds per token of each row, float32
    ``[rows, num_input_ids + steps]`` (decoder prompt tokens at 0).

    ``beam_indices`` (beam search: ``generate(..., return_dict_in_generate=True)["beam_indices"]``,
    ``[returned rows, generated]``): the cross-attentions of each step are taken from the running
    row that produced the returned hypothesis' token, up to the longest hypothesis (the
    steps after it ended are dropped); without it every step's rows are the returned rows."""
    if not cross:
        raise InvalidInputError("no cross-attentions were collected")
    layers = len(cross[0])
    per_layer = [np.concatenate([step[layer] for step in cross], axis=2) for layer in range(layers)]
    for layer, head in alignment_heads:
        if layer >= layers or head >= per_layer[layer].shape[1]:
            raise InvalidConfigError(f"alignment head {[layer, head]} does not exist in this decoder "
                                     f"({layers} layers, {per_layer[0].shape[1]} heads)")
    weights = np.stack([per_layer[layer][:, head] for layer, head in alignment_heads], axis=1).astype(np.float32)
    if beam_indices is not None:
        weights = _gather_beams(weights, np.asarray(beam_indices, np.int64), num_input_ids)
    rows, _, length, _ = weights.shape
    out = np.zeros((rows, length + 1), np.float32)
    frames = None
    if num_frames is not None:
        frames = np.broadcast_to(np.asarray(num_frames, dtype=np.int64).reshape(-1), (rows,)) \
            if np.asarray(num_frames).size == 1 else np.repeat(np.asarray(num_frames, np.int64).reshape(-1),
                                                               rows // np.asarray(num_frames).size)
    weights = weights[:, :, num_input_ids:, :]
    if weights.shape[2] == 0:
        return out
    for row in range(rows):
        matrix = weights[row]
        if frames is not None:
            # cropped twice, as transformers does for tensor num_frames (the pipeline's case): a
            # no-op for positive counts; negative ones (later windows of a seek loop) shrink twice
            matrix = matrix[..., : int(frames[row]) // 2][..., : int(frames[row]) // 2]
        # normalise over the tokens axis (torch.std unbiased=False), smooth along time, average heads
        mean = matrix.mean(axis=-2, keepdims=True, dtype=np.float32)
        std = matrix.std(axis=-2, keepdims=True, dtype=np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = (matrix - mean) / std
        matrix = _core.median_filter(np.ascontiguousarray(matrix, np.float32), median_filter_width)
        matrix = matrix.mean(axis=0, dtype=np.float32)
        if matrix.shape[-1] == 0:  # num_frames before this window: transformers' DTW walks the first column
            text_idx, time_idx = np.arange(matrix.shape[0]), -np.ones(matrix.shape[0], np.int64)
        else:
            text_idx, time_idx = _core.dynamic_time_warping(-matrix.astype(np.float64))
        jumps = np.pad(np.diff(text_idx), (1, 0), constant_values=1).astype(bool)
        jump_times = time_idx[jumps] * time_precision
        out[row] = np.concatenate([np.zeros(num_input_ids), jump_times, jump_times[-1:]]).astype(np.float32)
    return out


def _gather_beams(weights: np.ndarray, beam_indices: np.ndarray, num_input_ids: int) -> np.ndarray:
    """``weights`` ``[running rows, heads, positions, frames]`` → ``[returned rows, heads,
    num_input_ids - 1 + generated, frames]``: position ``i`` from row ``beam_indices[:, i]`` (the
    first step's prompt positions from the first step's row; -1, i.e. a hypothesis' end, reads
    row 0 as transformers does)."""
    if beam_indices.ndim != 2:
        raise InvalidInputError(f"beam_indices must be [rows, steps], got shape {beam_indices.shape}")
    length = int((beam_indices != -1).sum(-1).max()) if beam_indices.size else 0
    if length == 0:  # nothing generated: no positions to align
        return np.zeros((beam_indices.shape[0], weights.shape[1], 0, weights.shape[3]), weights.dtype)
    indices = beam_indices[:, :length]
    if num_input_ids > 1:
        indices = np.concatenate([np.repeat(indices[:, :1], num_input_ids - 1, axis=1), indices], axis=1)
    if indices.shape[1] > weights.shape[2]:
        raise InvalidInputError(f"beam_indices cover {indices.shape[1]} positions, the cross-attentions "
                                f"{weights.shape[2]}")
    indices = np.where(indices == -1, 0, indices)
    if indices.max() >= weights.shape[0]:
        raise InvalidInputError(f"beam index {int(indices.max())} out of range ({weights.shape[0]} rows)")
    positions = np.arange(indices.shape[1])
    # out[r, h, i] = weights[indices[r, i], h, i]
    return weights[indices, :, positions[None, :], :].transpose(0, 2, 1, 3)


def generate(model: Any, inputs: Any = None, attention_mask: Any = None, *, input_features: Any = None,
             generation_config: Any = None, streamer: Any = None, language: Any = None,
             task: Optional[str] = None, return_timestamps: Optional[bool] = None,
             return_token_timestamps: bool = False, num_frames: Any = None, prompt_ids: Any = None,
             logits_processor: Any = None, return_dict_in_generate: bool = False,
             return_segments: bool = False, **kwargs: Any):
    """``model.generate()`` for Whisper from log-mel ``input_features`` ``[batch, mels, frames]``.

    As transformers does, decoding proceeds window by window ("seek" loop): a window is decoded,
    cut at its last complete timestamp segment, and decoding resumes from there, until the
    features are consumed. Without timestamps that is one call per 30-s window of features;
    features longer than one window (long-form) require timestamps.

    Returns the decoder sequences ``[batch, len]`` (decoder prompt + the kept tokens + the end
    token when generation ended with it; rows padded with pad_token_id), or, with
    ``return_dict_in_generate`` / ``return_token_timestamps`` / ``return_segments``, a dict with
    ``sequences``, ``tokens`` (per row, the kept tokens without prompt/end token, as
    transformers returns them), ``segments`` (per row: ``{"start", "end", "tokens"}`` in
    seconds) and, with ``return_token_timestamps``, ``token_timestamps`` (seconds, aligned with
    ``tokens``).
    """
    features = input_features if input_features is not None else inputs
    gen = _gen_dict(model, generation_config)
    for key in ("lang_to_id", "task_to_id", "is_multilingual", "alignment_heads"):
        if key in kwargs:
            gen[key] = kwargs.pop(key)
    if features is None:
        raise InvalidInputError("Whisper generate() needs input_features [batch, mels, frames]")
    feats = np.asarray(features, dtype=np.float32)
    if feats.ndim == 2:
        feats = feats[None]
    if feats.ndim != 3 or feats.shape[0] == 0 or feats.shape[2] == 0:
        raise InvalidInputError(f"input_features must be a non-empty [batch, mels, frames] array, got {feats.shape}")
    if not np.isfinite(feats).all():
        raise InvalidInputError("input_features contain NaN or infinite values")
    window = 2 * int(getattr(model.config, "max_source_positions", 1500) or 1500)  # conv stride 2
    batch, _, total_frames = feats.shape
    if return_timestamps is None:
        return_timestamps = gen.get("return_timestamps")
    if total_frames > window:
        if return_timestamps is False:
            raise InvalidInputError(
                f"{total_frames} feature frames (> {window}, 30 s) need long-form generation, which predicts "
                f"timestamps: pass return_timestamps=True, or at most {window} frames")
        return_timestamps = True
    return_timestamps = bool(return_timestamps)
    no_ts = gen.get("no_timestamps_token_id")
    if return_timestamps and no_ts is None:
        raise InvalidConfigError("return_timestamps needs no_timestamps_token_id in generation_config.json")
    if return_token_timestamps and not gen.get("alignment_heads"):
        raise InvalidConfigError("token-level timestamps need alignment_heads in generation_config.json")
    if return_token_timestamps:
        first, _ = encoder_decoder.decoder_sessions(model)
        if not any(o.name.startswith("cross_attentions") for o in first.get_outputs()):
            raise UnsupportedModelError(
                "word-level timestamps need a decoder that outputs its cross-attentions (cross_attentions.* "
                "outputs, as the *_timestamped exports have); this model's decoder has none")
    if isinstance(language, (list, tuple)) and len(language) != batch:
        raise InvalidInputError(f"{len(language)} languages for a batch of {batch}: pass one language, or one per row")
    if streamer is not None and batch != 1:
        raise InvalidInputError("streamers support batch size 1 only")
    timestamp_begin = (no_ts + 1) if no_ts is not None else 1 << 62

    max_frames = [total_frames] * batch
    if attention_mask is not None and batch > 1 and total_frames > window:
        mask = np.asarray(attention_mask).reshape(batch, -1)
        max_frames = [int(m) for m in mask.sum(-1)]
    if return_token_timestamps and num_frames is None and attention_mask is not None:
        num_frames = np.asarray(attention_mask).reshape(batch, -1).sum(-1)
    frames_per_row = None
    if num_frames is not None:
        nf = np.asarray(num_frames, dtype=np.int64).reshape(-1)
        frames_per_row = np.broadcast_to(nf, (batch,)) if nf.size == 1 else nf
        if len(frames_per_row) != batch:
            raise InvalidInputError(f"num_frames has {len(frames_per_row)} values for a batch of {batch}")

    max_target = int(getattr(model.config, "max_target_positions", 448) or 448)
    call = dict(kwargs)
    eos = gen.get("eos_token_id")
    eos_ids = set(eos if isinstance(eos, (list, tuple)) else [eos]) - {None}
    pad = gen.get("pad_token_id")
    time_precision = 0.02
    input_stride = 2
    median_width = int(getattr(model.config, "median_filter_width", 7) or 7)

    rows_out = []
    for r in range(batch):
        row_feats = feats[r:r + 1]
        seek = 0
        segments: list[dict] = []
        prompt = None
        ended_with_eos = False
        while seek < max_frames[r]:
            seek_frames = min(max_frames[r] - seek, window)
            segment = row_feats[:, :, seek:seek + seek_frames]
            if segment.shape[2] < window:  # transformers pads the window with zeros
                segment = np.pad(segment, ((0, 0), (0, 0), (0, window - segment.shape[2])))
            hidden = _encode(model, segment)
            if prompt is None:
                # the language is detected once, on the first window (transformers: first 30 s)
                prompt = init_tokens(gen, language=language[r] if isinstance(language, (list, tuple)) else language,
                                     task=task, return_timestamps=return_timestamps, batch=1,
                                     detect=lambda: detect_language(model, hidden, gen))
                if prompt_ids is not None:
                    prev = np.asarray(prompt_ids, dtype=np.int64).reshape(1, -1)
                    prompt = np.concatenate([prev, prompt], axis=1)
            n_prompt = prompt.shape[1]
            step_call = dict(call)
            max_new = step_call.get("max_new_tokens", gen.get("max_new_tokens"))
            if max_new is not None:
                if max_new + n_prompt > max_target:
                    raise InvalidInputError(
                        f"the decoder prompt ({n_prompt} tokens) + max_new_tokens ({max_new}) exceed the model's "
                        f"max_target_positions ({max_target}); lower max_new_tokens")
                step_call["max_new_tokens"] = max_new
            out = encoder_decoder.generate(
                model, encoder_outputs=hidden, decoder_input_ids=prompt, generation_config=_loop_config(gen),
                streamer=streamer, logits_processor=logits_processor, return_timestamps=return_timestamps,
                no_timestamps_token_id=no_ts, forced_decoder_ids=None, return_dict_in_generate=True,
                output_attentions=bool(return_token_timestamps), **step_call)
            seq = np.asarray(out["sequences"])[0].tolist()[n_prompt:]
            if seq and pad is not None and seq[-1] == pad:
                # transformers: drop as many tokens as there are pads, keeping one when pad == eos
                count = seq.count(pad) - (1 if pad in eos_ids else 0)
                if count > 0:
                    seq = seq[:-count]
            ended_with_eos = bool(seq) and seq[-1] in eos_ids
            if ended_with_eos:
                seq = seq[:-1]
            times = None
            if return_token_timestamps:
                frames = None if frames_per_row is None else int(frames_per_row[r]) - seek
                times = token_timestamps(out.get("cross_attentions") or [], gen["alignment_heads"],
                                         num_input_ids=n_prompt, num_frames=frames,
                                         median_filter_width=median_width,
                                         beam_indices=out.get("beam_indices"))[0]
            time_offset = seek * time_precision / input_stride
            found, offset = _retrieve_segments(seq, times, n_prompt, timestamp_begin, time_offset, seek_frames,
                                               time_precision, input_stride, return_timestamps)
            segments += found
            # transformers would loop forever on a zero advance (a <|0.00|><|0.00|> pair)
            seek += offset if offset > 0 else seek_frames
        tokens = [t for seg in segments for t in seg["tokens"]]
        row = {"tokens": tokens, "segments": segments, "prompt": prompt[0].tolist() if prompt is not None else [],
               "eos": ended_with_eos}
        if return_token_timestamps:
            row["token_timestamps"] = [t for seg in segments for t in seg["token_timestamps"]]
        rows_out.append(row)

    eos_first = next(iter(sorted(eos_ids)), None)
    full = [r["prompt"] + r["tokens"] + ([eos_first] if r["eos"] and eos_first is not None else []) for r in rows_out]
    width = max(len(f) for f in full)
    fill = pad if pad is not None else (eos_first if eos_first is not None else 0)
    sequences = np.array([f + [fill] * (width - len(f)) for f in full], dtype=np.int64)
    if not (return_dict_in_generate or return_token_timestamps or return_segments):
        return sequences
    result: dict[str, Any] = {"sequences": sequences, "tokens": [r["tokens"] for r in rows_out],
                              "segments": [[{k: v for k, v in seg.items() if k != "token_timestamps"}
                                            for seg in r["segments"]] for r in rows_out]}
    if return_token_timestamps:
        result["token_timestamps"] = [r["token_timestamps"] for r in rows_out]
    return result


def _encode(model: Any, features: np.ndarray) -> np.ndarray:
    """The encoder's last_hidden_state for a ``[batch, mels, 3000]`` window."""
    session = model.sessions.get("model")
    if session is None:
        raise UnsupportedModelError(f"{type(model).__name__} has no encoder session (encoder_model.onnx)")
    names = [o.name for o in session.get_outputs()]
    out = session.run(None, {"input_features": np.ascontiguousarray(features, dtype=np.float32)})
    return out[names.index("last_hidden_state")] if "last_hidden_state" in names else out[0]


def _retrieve_segments(seq: list[int], times: Optional[np.ndarray], n_prompt: int, timestamp_begin: int,
                       time_offset: float, seek_frames: int, time_precision: float, input_stride: int,
                       return_timestamps: bool) -> tuple[list[dict], int]:
    """transformers' ``_retrieve_segment``: split one window's tokens at timestamp pairs. Returns
    the segments and how many feature frames to advance."""
    is_ts = [t >= timestamp_begin for t in seq]
    single_ending = is_ts[-2:] == [False, True]
    cuts = [i + 1 for i in range(len(seq) - 1) if is_ts[i] and is_ts[i + 1]]

    def seg(a: int, b: int, start: float, end: float) -> dict:
        out = {"start": start, "end": end, "tokens": seq[a:b]}
        if times is not None:
            # float32 as transformers' tensors: timestamps + window offset in float32
            out["token_timestamps"] = [float(x) for x in (times[n_prompt + a:n_prompt + b].astype(np.float32)
                                                          + np.float32(time_offset))]
        return out

    if cuts:
        slices = list(cuts)
        if single_ending:
            slices.append(len(seq))
        else:
            slices[-1] += 1  # keep the closing timestamp of the last segment
        found = []
        last = 0
        for k, cut in enumerate(slices):
            is_last = k == len(slices) - 1
            sliced = seq[last:cut]
            start_pos = sliced[0] - timestamp_begin
            end_pos = sliced[-1 if not is_last or single_ending else -2] - timestamp_begin
            found.append(seg(last, cut, time_offset + start_pos * time_precision,
                             time_offset + end_pos * time_precision))
            last = cut
        if single_ending:
            offset = seek_frames  # no speech after the last timestamp
        else:
            # resume at the last timestamp: what follows it is cut mid-speech
            offset = (seq[last - 2] - timestamp_begin) * input_stride
        return found, offset
    stamps = [t for t in seq if t >= timestamp_begin]
    last_pos = int(seek_frames * 0.01 / time_precision)  # features are 10 ms apart
    if stamps and stamps[-1] != timestamp_begin:
        last_pos = stamps[-1] - timestamp_begin
    return [seg(0, len(seq), time_offset, time_offset + last_pos * time_precision)], seek_frames


def _loop_config(gen: Mapping[str, Any]) -> dict:
    """The generation_config.json values the generic loop understands (Whisper extras removed;
    forced_decoder_ids is part of the prompt here)."""
    drop = set(WHISPER_KEYS) | {"forced_decoder_ids", "no_timestamps_token_id", "max_initial_timestamp_index"}
    cfg = {k: v for k, v in gen.items() if k not in drop}
    cfg["forced_decoder_ids"] = None
    if gen.get("max_initial_timestamp_index") is not None:
        cfg["max_initial_timestamp_index"] = gen["max_initial_timestamp_index"]
    return cfg
