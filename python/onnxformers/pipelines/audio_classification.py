"""audio-classification, the audio input rules shared by the audio pipelines, and audio frame
classification (which Transformers.js exposes as a model + processor recipe, not a pipeline).

Audio inputs (one, or a list of them):

- a path, an http(s) URL, raw file bytes or a binary file object: decoded with
  :func:`onnxformers.utils.audio.read_audio`, down-mixed to mono and resampled to the feature
  extractor's ``sampling_rate``;
- a 1-D numpy array (or a list of numbers): the waveform, used as is. It must already be at the
  feature extractor's sampling rate: as in the Transformers.js docs, no check is possible;
- ``{"array" (or "raw"): waveform, "sampling_rate": sr}`` (the ``transformers`` form): resampled
  when ``sr`` differs from the model's rate.

Rejected with :class:`~onnxformers.InvalidInputError`: empty waveforms, NaN/inf samples, and 2-D
arrays (a stereo array can't be told from a batch: down-mix with ``audio.mean(axis=0)`` or pass
a list of 1-D clips).
"""

from __future__ import annotations

import io
import os
from typing import Any, Optional

import numpy as np

from ..errors import InvalidInputError
from ..utils.maths import sigmoid, softmax
from .base import Pipeline

_FUNCTIONS = {"softmax": softmax, "sigmoid": sigmoid, "none": lambda x: x}
_FILE_TYPES = (str, os.PathLike, bytes, bytearray, memoryview, io.IOBase)


def _is_single(item: Any) -> bool:
    if isinstance(item, _FILE_TYPES) or isinstance(item, dict) or hasattr(item, "read"):
        return True
    if isinstance(item, np.ndarray):
        return item.ndim <= 1
    if isinstance(item, (list, tuple)):
        # a list of numbers is one waveform; a list of anything else is a batch
        return len(item) > 0 and all(isinstance(x, (int, float, np.number)) and not isinstance(x, bool) for x in item)
    return False


def audio_batch(audio: Any) -> tuple[list, bool]:
    """(list of audio inputs, whether the caller passed a batch)."""
    if _is_single(audio):
        return [audio], False
    if isinstance(audio, np.ndarray):
        raise InvalidInputError(
            f"audio arrays must be 1-D (mono), got shape {audio.shape}; for stereo audio down-mix first "
            "(e.g. audio.mean(axis=0)), for several clips pass a list of 1-D arrays")
    if isinstance(audio, (list, tuple)):
        if not audio:
            raise InvalidInputError("no audio given (empty list)")
        return list(audio), True
    raise InvalidInputError(
        f"audio must be a path, URL, bytes, a 1-D numpy array, a dict with 'array' and 'sampling_rate', "
        f"or a list of those; got {type(audio).__name__}")


def prepare_audio(item: Any, sampling_rate: int, index: int = 0) -> np.ndarray:
    """One audio input → a finite, non-empty mono float32 waveform at ``sampling_rate``."""
    from ..utils.audio import read_audio, resample

    if isinstance(item, _FILE_TYPES) or hasattr(item, "read"):
        wave = read_audio(item, sampling_rate)
    elif isinstance(item, dict):
        array = item.get("array", item.get("raw"))
        if array is None or "sampling_rate" not in item:
            raise InvalidInputError(
                f"audio #{index}: a dict input needs 'array' (or 'raw') and 'sampling_rate', got keys {sorted(item)}")
        source_rate = item["sampling_rate"]
        if isinstance(source_rate, bool) or not isinstance(source_rate, (int, np.integer)) or source_rate <= 0:
            raise InvalidInputError(f"audio #{index}: sampling_rate must be a positive integer, got {source_rate!r}")
        wave = _waveform(array, index)
        if int(source_rate) != sampling_rate and wave.size:
            wave = resample(wave, int(source_rate), sampling_rate)
    else:
        wave = _waveform(item, index)
    if wave.size == 0:
        raise InvalidInputError(f"audio #{index} is empty (zero samples)")
    finite = np.isfinite(wave)
    if not finite.all():
        bad = int(np.argmin(finite))
        raise InvalidInputError(f"audio #{index} has a non-finite sample ({wave[bad]}) at index {bad}")
    return wave


def _waveform(array: Any, index: int) -> np.ndarray:
    arr = np.asarray(array)
    if arr.dtype == object or np.iscomplexobj(arr) or arr.dtype.kind not in "fiu":
        raise InvalidInputError(f"audio #{index} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise InvalidInputError(
            f"audio #{index} must be 1-D (mono), got shape {arr.shape}; down-mix stereo first (e.g. audio.mean(axis=0))")
    return np.ascontiguousarray(arr, dtype=np.float32)


def processor_sampling_rate(pipe: Pipeline) -> int:
    extractor = getattr(pipe.processor, "feature_extractor", pipe.processor)
    rate = getattr(extractor, "sampling_rate", None)
    if rate is None:
        raise InvalidInputError(f"{type(pipe).__name__}: the processor has no sampling_rate")
    return int(rate)


def prepared_audios(pipe: Pipeline, audio: Any) -> tuple[list[np.ndarray], bool]:
    items, batched = audio_batch(audio)
    rate = processor_sampling_rate(pipe)
    return [prepare_audio(item, rate, i) for i, item in enumerate(items)], batched


class AudioClassificationPipeline(Pipeline):
    """``pipe(audio, top_k=5)`` → ``[{"label", "score"}]`` best first, or one such list per input
    for a list of inputs (see the module docstring for the accepted audio).

    Scores are a softmax over the logits, whatever the config's ``problem_type`` (as in
    Transformers.js and transformers' audio pipeline); ``function_to_apply`` (``softmax``,
    ``sigmoid``, ``none``) overrides it. ``top_k=None`` or ``0``, or a value above the number of
    labels, returns every label.
    """

    def __call__(self, audio: Any, *, top_k: Optional[int] = 5, function_to_apply: Optional[str] = None) -> list:
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0):
            raise InvalidInputError(f"top_k must be a non-negative integer or None, got {top_k!r}")
        func = self._function(function_to_apply)
        waves, batched = prepared_audios(self, audio)
        id2label = getattr(self.model.config, "id2label", None) or {}
        results = []
        for wave in waves:
            outputs = self.model(**self.processor(wave))
            if "logits" not in outputs:
                raise InvalidInputError(
                    f"the model returned no 'logits' (outputs: {', '.join(outputs)}); is it an audio classifier?")
            row = func(np.asarray(outputs["logits"], dtype=np.float64)[0].reshape(-1))
            k = len(row) if not top_k else min(top_k, len(row))
            order = np.argsort(-row, kind="stable")[:k]
            results.append([{"label": id2label.get(int(i), f"LABEL_{int(i)}"), "score": float(row[i])}
                            for i in order])
        return results if batched else results[0]

    @staticmethod
    def _function(name: Optional[str]):
        name = "softmax" if name is None else name
        try:
            return _FUNCTIONS[name]
        except KeyError:
            raise InvalidInputError(
                f"function_to_apply must be one of {', '.join(_FUNCTIONS)}, got {name!r}") from None


def classify_frames(model: Any, processor: Any, audio: Any, *, threshold: float = 0.5) -> Any:
    """Audio frame classification as the Transformers.js docs do it, for one input or a list.

    For PyAnnote segmentation models (a processor with ``post_process_speaker_diarization``) the
    result is that method's ``[{id, start, end, confidence}]`` segments; for the other frame
    classifiers (Wav2Vec2 / WavLM / UniSpeech-SAT ``...ForAudioFrameClassification``) it is the
    docs' one-hot ``[frames][labels]`` list of ``sigmoid(logits) > threshold``.
    """
    items, batched = audio_batch(audio)
    extractor = getattr(processor, "feature_extractor", processor)
    rate = int(getattr(extractor, "sampling_rate", 16000))
    out = []
    for i, item in enumerate(items):
        wave = prepare_audio(item, rate, i)
        logits = np.asarray(model(**processor(wave))["logits"])
        if hasattr(extractor, "post_process_speaker_diarization"):
            out.append(extractor.post_process_speaker_diarization(logits, len(wave))[0])
        else:
            out.append((sigmoid(logits[0].astype(np.float64)) > threshold).astype(int).tolist())
    return out if batched else out[0]
