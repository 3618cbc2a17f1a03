"""PyAnnote segmentation: the raw waveform in, speaker segments out.

``PyAnnoteFeatureExtractor`` passes the waveform through as ``input_values [B, 1, N]`` (as
Transformers.js does); ``post_process_speaker_diarization`` turns the segmentation model's frame
logits ``[B, frames, classes]`` into ``[{id, start, end, confidence}]`` segments in seconds, with
Transformers.js' algorithm: per frame, the most probable class (softmax); consecutive frames of
one class form a segment whose confidence is the mean of their probabilities. Frames map to time
with the config's ``step`` and ``offset`` (samples) via ``samples_to_frames``.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np

from ...errors import InvalidConfigError, InvalidInputError
from .base import AudioFeatureExtractor, AudioInput
from .wav2vec2 import check_finite


class PyAnnoteFeatureExtractor(AudioFeatureExtractor):
    """``fe(audio, sampling_rate=16000)`` → ``{"input_values": float32 [B, 1, N]}``; batches need
    ``padding=True`` when the clips differ in length. Config keys: ``sampling_rate``, ``step``
    and ``offset`` (samples per frame and samples before the first frame; pyannote's
    segmentation-3.0 uses 270 and 990)."""

    model_input_names = ["input_values"]

    def __init__(self, config: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
        config = dict(config or {})
        config.setdefault("feature_size", 1)
        super().__init__(config, **kwargs)
        try:
            self.step = float(self.config.get("step", 270))
            self.offset = float(self.config.get("offset", 990))
        except (TypeError, ValueError) as e:
            raise InvalidConfigError(f"PyAnnoteFeatureExtractor config: step/offset must be numbers ({e})") from None
        if not self.step > 0:
            raise InvalidConfigError(f"PyAnnoteFeatureExtractor config: step must be > 0, got {self.step}")

    def __call__(self, audio: AudioInput, sampling_rate: Optional[int] = None, *,
                 padding: Any = False, max_length: Optional[int] = None, truncation: bool = False,
                 **_: Any) -> dict:
        self._check_sampling_rate(sampling_rate)
        clips, _ = self._as_batch(audio)
        check_finite(clips, type(self).__name__)
        target, kept = self._target_length([len(c) for c in clips], padding, max_length, truncation, None)
        if self.padding_side == "left":
            rows = self._pad_left(clips, kept, target)
        else:
            rows = []
            for clip, n in zip(clips, kept):
                row = np.full(target, self.padding_value, dtype=np.float32)
                row[:n] = clip[:n]
                rows.append(row)
        return {"input_values": np.stack(rows)[:, None, :]}

    def samples_to_frames(self, samples: float) -> float:
        """Number of output frames (fractional) for ``samples`` input samples."""
        return (samples - self.offset) / self.step

    def post_process_speaker_diarization(self, logits: Any, num_samples: int) -> list:
        """``logits`` ``[B, frames, classes]`` (or ``[frames, classes]``) and the clip's length in
        samples → one list of ``{"id", "start", "end", "confidence"}`` per batch item, times in
        seconds."""
        scores = np.asarray(logits, dtype=np.float64)
        if scores.ndim == 2:
            scores = scores[None]
        if scores.ndim != 3 or scores.shape[2] == 0:
            raise InvalidInputError(f"logits must have shape [batch, frames, classes], got {scores.shape}")
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
            raise InvalidInputError(f"num_samples must be a positive integer, got {num_samples!r}")
        frames = self.samples_to_frames(num_samples)
        if frames <= 0:
            raise InvalidInputError(
                f"num_samples={num_samples} is too short for this model (offset {self.offset} samples)")
        ratio = (num_samples / frames) / self.sampling_rate
        # softmax per frame (stable), then the winning class and its probability
        shifted = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=-1, keepdims=True)
        ids = probs.argmax(axis=-1)
        best = np.take_along_axis(probs, ids[..., None], axis=-1)[..., 0]
        results = []
        for item_ids, item_best in zip(ids, best):
            segments: list[dict] = []
            for i, (cls, p) in enumerate(zip(item_ids.tolist(), item_best.tolist())):
                if segments and segments[-1]["id"] == cls:
                    segments[-1]["end"] = i + 1
                    segments[-1]["score"] += p
                else:
                    segments.append({"id": cls, "start": i, "end": i + 1, "score": p})
            results.append([{"id": s["id"], "start": s["start"] * ratio, "end": s["end"] * ratio,
                             "confidence": s["score"] / (s["end"] - s["start"])} for s in segments])
        return results
