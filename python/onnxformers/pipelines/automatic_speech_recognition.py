"""``automatic-speech-recognition``: Whisper here; CTC models (Wav2Vec2, HuBERT, WavLM...) in
:mod:`._asr_ctc`.

Whisper follows ``transformers``' pipeline (4.57): the same chunking of long audio
(``chunk_length_s``, ``stride_length_s``), the same generation per 30-s window (decoder prompt,
timestamp processor, the "seek" loop that resumes after the last complete segment, long-form
decoding), the same merging of the windows' tokens (``WhisperTokenizer._decode_asr``), so
outputs are token-for-token those of ``transformers`` given the same generation options (see
tests/audio/test_asr_whisper.py). One difference, on purpose: no pipeline-level generation
defaults (transformers' pipeline adds ``num_beams=5`` when generation_config.json has none);
as in Transformers.js, generation_config.json then the call decide, i.e. greedy by default.

Inputs: a path or URL (decoded and resampled to the feature extractor's rate by
:func:`onnxformers.utils.audio.read_audio`), bytes or a file object, a 1-D float array **at the
feature extractor's sampling rate** (16 kHz for Whisper; it cannot be checked, as in the docs),
``{"raw" | "array": samples, "sampling_rate": rate}`` to have it resampled, or a list of these.

Audio longer than 30 s: with ``chunk_length_s`` it is cut into overlapping windows whose tokens
are merged (Transformers.js and transformers); without it, ``return_timestamps`` must be set and
the features are decoded window after window, each resuming at the last predicted timestamp
(transformers' sequential long-form decoding); a plain call raises InvalidInputError (transformers
raises too; Transformers.js silently keeps the first 30 s).
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping

import numpy as np

from ..errors import InvalidInputError, NotImplementedYetError
from .base import Pipeline



class AutomaticSpeechRecognitionPipeline(Pipeline):
    """``pipe(audio, **options)`` → ``{"text": str}`` (plus ``"chunks"`` with timestamps).

    Options (Whisper): ``return_timestamps`` (True: segments, ``"word"``: words, from the
    cross-attentions; needs a decoder exporting ``cross_attentions.*`` and ``alignment_heads``),
    ``chunk_length_s`` / ``stride_length_s`` (long audio in overlapping windows; stride defaults to
    chunk_length_s / 6), ``language`` (name or code; None detects it on multilingual models),
    ``task`` ("transcribe" or "translate"), ``force_full_sequences`` (raise instead of warn when
    the last segment has no closing timestamp), ``num_frames`` (audio frames used for word
    alignment), ``return_language``, ``streamer`` (e.g. :class:`WhisperTextStreamer`) and any
    generation option (``max_new_tokens``, ``num_beams``, ``temperature``...).
    """

    def __call__(self, inputs: Any, **options: Any) -> Any:
        options = {**self.defaults, **options}
        if self.model.config.model_type != "whisper":
            try:
                from ._asr_ctc import run_ctc
            except ImportError as exc:  # the CTC half lands separately
                if getattr(exc, "name", None) not in (f"{__package__}._asr_ctc", None):
                    raise
                raise NotImplementedYetError(
                    f"automatic-speech-recognition for {self.model.config.model_type!r} models (CTC) is "
                    f"not available in this build") from exc
            return run_ctc(self, inputs, **options)
        if isinstance(inputs, (list, tuple)):
            return [self._call_whisper(item, dict(options)) for item in inputs]
        return self._call_whisper(inputs, options)

    # -- inputs --------------------------------------------------------------------------------
    @property
    def feature_extractor(self) -> Any:
        fe = getattr(self.processor, "feature_extractor", None) or self.processor
        if fe is None:
            raise InvalidInputError("this pipeline has no feature extractor (preprocessor_config.json)")
        return fe

    def _audio(self, inputs: Any) -> np.ndarray:
        from ..utils.audio import read_audio, resample

        rate = int(self.feature_extractor.sampling_rate)
        if isinstance(inputs, Mapping):
            if "sampling_rate" not in inputs or not ("raw" in inputs or "array" in inputs):
                raise InvalidInputError('a dict input needs "raw" (or "array") samples and their "sampling_rate"')
            samples = inputs["raw"] if "raw" in inputs else inputs["array"]
            audio = self._check_array(samples)
            source_rate = inputs["sampling_rate"]
            if not isinstance(source_rate, (int, np.integer)) or source_rate <= 0:
                raise InvalidInputError(f"sampling_rate must be a positive integer, got {source_rate!r}")
            return self._check_array(resample(audio, int(source_rate), rate))
        if isinstance(inputs, (str, bytes, bytearray)) or hasattr(inputs, "read") or hasattr(inputs, "__fspath__"):
            return self._check_array(read_audio(inputs, rate))
        return self._check_array(inputs)

    @staticmethod
    def _check_array(samples: Any) -> np.ndarray:
        try:
            audio = np.asarray(samples)
        except Exception as exc:  # noqa: BLE001 - ragged lists and the like
            raise InvalidInputError(f"audio must be a 1-D array of samples: {exc}") from exc
        if audio.dtype == object or not (np.issubdtype(audio.dtype, np.floating) or np.issubdtype(audio.dtype, np.integer)):
            raise InvalidInputError(f"audio must be a 1-D float array of samples, got dtype {audio.dtype}")
        if audio.ndim != 1:
            raise InvalidInputError(
                f"audio must be mono, a 1-D array of samples; got shape {audio.shape}. Down-mix it first "
                f"(e.g. audio.mean(axis=0) for [channels, samples]) or pass a file path, which read_audio down-mixes")
        if audio.size == 0:
            raise InvalidInputError("audio is empty (zero samples)")
        audio = audio.astype(np.float32, copy=False)
        if not np.isfinite(audio).all():
            bad = int(np.flatnonzero(~np.isfinite(audio))[0])
            raise InvalidInputError(f"audio contains NaN or infinite samples (first at index {bad})")
        return audio

    # -- Whisper ---------------------------------------------------------------------------------
    def _call_whisper(self, inputs: Any, options: dict) -> dict:
        from ..generation.whisper import generate

        return_timestamps = options.pop("return_timestamps", None)
        if return_timestamps is None:
            gen_ts = (self.model.generation_config or {}).get("return_timestamps")
            return_timestamps = gen_ts or False
        if return_timestamps not in (True, False, "word"):
            raise InvalidInputError(
                f"return_timestamps must be True, False or 'word' for Whisper (got {return_timestamps!r}); "
                f"'char' timestamps are for CTC models")
        chunk_length_s = options.pop("chunk_length_s", None) or 0
        stride_length_s = options.pop("stride_length_s", None)
        force_full_sequences = bool(options.pop("force_full_sequences", False))
        return_language = options.pop("return_language", None)
        num_frames = options.pop("num_frames", None)
        options.pop("batch_size", None)
        language = options.pop("language", None)
        task = options.pop("task", None)
        if task is not None and task not in ("transcribe", "translate"):
            raise InvalidInputError(f"task must be 'transcribe' or 'translate', got {task!r}")
        if language is not None:
            from ..tokenizers.whisper import language_code

            language_code(language)  # unknown names fail here, before any inference
        # no pipeline-level generation defaults (transformers' pipeline would add num_beams=5):
        # generation_config.json, then the call, as in Transformers.js
        gen_kwargs = dict(options)
        fe = self.feature_extractor
        rate = int(fe.sampling_rate)
        audio = self._audio(inputs)

        def windows(chunk_length_s, stride_length_s):
            """(features, stride in samples | None, num_frames) per decoder window, made lazily: hours
            of chunked audio never hold more than one chunk's spectrogram."""
            if chunk_length_s:
                if not isinstance(chunk_length_s, (int, float)) or chunk_length_s <= 0:
                    raise InvalidInputError(f"chunk_length_s must be a positive number, got {chunk_length_s!r}")
                if stride_length_s is None:
                    stride_length_s = chunk_length_s / 6
                if isinstance(stride_length_s, (int, float)):
                    stride_length_s = [stride_length_s, stride_length_s]
                if len(stride_length_s) != 2 or any(s < 0 for s in stride_length_s):
                    raise InvalidInputError(f"stride_length_s must be a non-negative number or a pair, got {stride_length_s!r}")
                chunk_len = int(round(chunk_length_s * rate))
                left = int(round(stride_length_s[0] * rate))
                right = int(round(stride_length_s[1] * rate))
                if chunk_len < left + right:
                    raise InvalidInputError("Chunk length must be superior to stride length")
                if chunk_len > fe.n_samples:
                    warnings.warn(f"chunk_length_s={chunk_length_s} is longer than the model's "
                                  f"{fe.n_samples / rate:g}-second window: each chunk is truncated to it",
                                  UserWarning, stacklevel=3)
                step = chunk_len - left - right
                if step <= 0:
                    raise InvalidInputError("chunk_length_s must be longer than the two strides together")
                for start in range(0, len(audio), step):
                    chunk = audio[start:start + chunk_len]
                    is_last = start + chunk_len >= len(audio)
                    stride = (len(chunk), 0 if start == 0 else left, 0 if is_last else right)
                    if len(chunk) > stride[1]:
                        feats = fe(chunk, sampling_rate=rate, return_attention_mask=True)
                        mask = feats["attention_mask"]
                        yield (feats["input_features"], stride, int(np.asarray(mask).sum()))
                    if is_last:
                        break
            elif len(audio) > fe.n_samples:
                if not return_timestamps:
                    raise InvalidInputError(
                        f"the audio lasts {len(audio) / rate:.1f} s, more than Whisper's {fe.n_samples / rate:g}-second "
                        f"window: pass chunk_length_s=30 (overlapping windows merged, as Transformers.js does) or "
                        f"return_timestamps=True (sequential long-form decoding, as transformers does)")
                # long-form: all the features at once, decoded window after window (generate's seek loop)
                feats = fe(audio, sampling_rate=rate, truncation=False, padding="longest", return_attention_mask=True)
                yield (feats["input_features"], None, int(np.asarray(feats["attention_mask"]).sum()))
            else:
                feats = fe(audio, sampling_rate=rate, return_attention_mask=True)
                # transformers' pipeline aligns words over attention_mask.sum() frames (ceil(samples / hop))
                yield (feats["input_features"], None, int(np.asarray(feats["attention_mask"]).sum()))

        outputs = []
        for features, stride, frames in windows(chunk_length_s, stride_length_s):
            result = generate(self.model, input_features=features, language=language, task=task,
                              return_timestamps=bool(return_timestamps),
                              return_token_timestamps=return_timestamps == "word",
                              num_frames=num_frames if num_frames is not None else frames,
                              return_dict_in_generate=True, **gen_kwargs)
            out: dict[str, Any] = {"tokens": np.asarray([result["tokens"][0]], dtype=np.int64)}
            if return_timestamps == "word":
                out["token_timestamps"] = np.asarray([result["token_timestamps"][0]], dtype=np.float64)
            if stride is not None:
                out["stride"] = (stride[0] / rate, stride[1] / rate, stride[2] / rate)
            outputs.append(out)

        time_precision = fe.chunk_length / self.model.config.max_source_positions
        text, optional = self.tokenizer._decode_asr(outputs, return_timestamps=return_timestamps,
                                                     return_language=return_language,
                                                     time_precision=time_precision,
                                                     force_full_sequences=force_full_sequences)
        return {"text": text, **optional}
