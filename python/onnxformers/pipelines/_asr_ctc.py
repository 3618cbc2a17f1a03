"""automatic-speech-recognition for CTC models (Wav2Vec2, HuBERT, WavLM, UniSpeech(-SAT),
Wav2Vec2-BERT): one forward pass per clip, greedy (argmax) frame labels, CTC decoding by the
tokenizer. The Whisper pipeline (``automatic_speech_recognition.py``) calls :func:`run_ctc` when
its model is a CTC model.

``return_timestamps="char"`` or ``"word"`` adds ``chunks: [{"text", "timestamp": (start, end)}]``
(seconds), as ``transformers`` does for CTC models (Transformers.js 3.0.0 ignores it). Like
Transformers.js, options that only mean something for Whisper (``language``, ``task``,
``chunk_length_s``, ``stride_length_s``, generation options…) are ignored with a warning.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .audio_classification import prepared_audios, processor_sampling_rate


def is_ctc_model(model: Any) -> bool:
    """Whether ``model`` is one of the ``AutoModelForCTC`` classes (``...ForCTC``)."""
    return type(model).__name__.endswith("ForCTC")


def inputs_to_logits_ratio(config: Any) -> int:
    """Input samples per logit frame (transformers' ``config.inputs_to_logits_ratio``)."""
    stride = getattr(config, "conv_stride", None)
    if stride:
        ratio = 1
        for s in stride:
            ratio *= int(s)
        return ratio
    dim = getattr(config, "feature_projection_input_dim", None)
    if dim:  # Wav2Vec2-BERT (fbank input): transformers defines it this way
        ratio = int(dim) * 2
        if getattr(config, "add_adapter", False):
            ratio *= int(getattr(config, "adapter_stride", 2)) ** int(getattr(config, "num_adapter_layers", 1))
        return ratio
    raise InvalidInputError(f"cannot tell the frame rate of model_type {getattr(config, 'model_type', None)!r} "
                            "for timestamps (no conv_stride in its config)")


def run_ctc(pipe: Any, audio: Any, *, return_timestamps: Any = None, **kwargs: Any) -> Any:
    """``{"text": str}`` (plus ``"chunks"`` with ``return_timestamps``) for one audio input, a list
    of those for a list of inputs (audio inputs as in :mod:`onnxformers.pipelines.audio_classification`).
    ``pipe`` provides ``model``, ``processor`` (its feature extractor gives the sampling rate) and
    ``tokenizer``."""
    if return_timestamps in (None, False):
        return_timestamps = None
    elif return_timestamps not in ("char", "word"):
        raise InvalidInputError(
            f"return_timestamps={return_timestamps!r}: CTC models give 'char' or 'word' timestamps")
    ignored = sorted(k for k, v in kwargs.items() if v is not None and v is not False)
    if ignored:
        warnings.warn(f"{', '.join(ignored)}: not supported for CTC models "
                      f"({type(pipe.model).__name__}); ignored, as Transformers.js does.", stacklevel=3)
    if pipe.tokenizer is None:
        raise InvalidInputError(f"{type(pipe.model).__name__} needs a tokenizer to decode its CTC output")
    waves, batched = prepared_audios(pipe, audio)
    seconds_per_frame = None
    if return_timestamps:
        if not hasattr(pipe.tokenizer, "decode_with_offsets"):
            raise InvalidInputError(f"{type(pipe.tokenizer).__name__} cannot give CTC offsets for timestamps")
        seconds_per_frame = (inputs_to_logits_ratio(pipe.model.config), processor_sampling_rate(pipe))
    results = []
    for wave in waves:
        outputs = pipe.model(**pipe.processor(wave))
        if "logits" not in outputs:
            raise InvalidInputError(f"the model returned no 'logits' (outputs: {', '.join(outputs)})")
        ids = np.asarray(outputs["logits"])[0].argmax(axis=-1).tolist()
        if seconds_per_frame is None:
            results.append({"text": pipe.tokenizer.decode(ids)})
            continue
        text, offsets = pipe.tokenizer.decode_with_offsets(ids)
        key = "char"
        if return_timestamps == "word":
            offsets, key = pipe.tokenizer.get_word_offsets(offsets), "word"
        ratio, rate = seconds_per_frame
        chunks = [{"text": o[key], "timestamp": (o["start_offset"] * ratio / rate, o["end_offset"] * ratio / rate)}
                  for o in offsets]
        results.append({"text": text, "chunks": chunks})
    return results if batched else results[0]
