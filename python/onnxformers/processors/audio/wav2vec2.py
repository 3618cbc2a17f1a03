"""Wav2Vec2's feature extractor: the raw waveform, optionally normalized to zero mean / unit variance.

Used by Wav2Vec2, HuBERT, WavLM, UniSpeech(-SAT) and their CTC / classification / x-vector heads.
Matches ``transformers``' ``Wav2Vec2FeatureExtractor`` (same padding rules, float32 statistics
over the real samples, eps 1e-7); like Transformers.js it always returns an ``attention_mask``
(int64), which graphs without that input simply ignore.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

import numpy as np

from ...errors import InvalidInputError
from .base import AudioFeatureExtractor, AudioInput


def check_finite(clips: list[np.ndarray], what: str) -> None:
    """NaN/inf samples would silently turn every output into NaN: name the first bad sample."""
    for i, clip in enumerate(clips):
        if clip.size == 0:
            raise InvalidInputError(f"{what}: audio #{i} is empty (zero samples)")
        finite = np.isfinite(clip)
        if not finite.all():
            bad = int(np.argmin(finite))
            raise InvalidInputError(
                f"{what}: audio #{i} has a non-finite sample ({clip[bad]}) at index {bad}; "
                "clean the signal (e.g. np.nan_to_num) before extracting features")


def zero_mean_unit_var_norm(values: np.ndarray, length: int, padding_value: float) -> np.ndarray:
    """transformers' normalization of one padded float32 clip: statistics over its first
    ``length`` samples, padding set back to ``padding_value``."""
    real = values[:length]
    normed = (values - real.mean()) / np.sqrt(real.var() + 1e-7)
    if length < normed.shape[0]:
        normed[length:] = padding_value
    return normed.astype(np.float32, copy=False)


class Wav2Vec2FeatureExtractor(AudioFeatureExtractor):
    """``fe(audio, sampling_rate=16000)`` → ``{"input_values": float32 [B, N], "attention_mask":
    int64 [B, N]}``. Config keys: ``sampling_rate``, ``do_normalize`` (default True),
    ``padding_value``, ``padding_side``, ``return_attention_mask``.

    A batch (list of clips, or a 2-D array) needs ``padding=True`` (or ``"max_length"`` with
    ``max_length``) when the clips differ in length, as in ``transformers``; normalization then
    uses the real samples only and the padding stays ``padding_value``.
    """

    model_input_names = ["input_values", "attention_mask"]

    def __init__(self, config: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
        config = dict(config or {})
        config.setdefault("feature_size", 1)
        super().__init__(config, **kwargs)
        self.do_normalize = bool(self.config.get("do_normalize", True))

    def __call__(
        self,
        audio: AudioInput,
        sampling_rate: Optional[int] = None,
        *,
        padding: Union[bool, str] = False,
        max_length: Optional[int] = None,
        truncation: bool = False,
        pad_to_multiple_of: Optional[int] = None,
        do_normalize: Optional[bool] = None,
        return_attention_mask: Optional[bool] = None,
        **_: Any,
    ) -> dict:
        self._check_sampling_rate(sampling_rate)
        clips, _ = self._as_batch(audio)
        check_finite(clips, type(self).__name__)
        target, kept = self._target_length([len(c) for c in clips], padding, max_length, truncation,
                                           pad_to_multiple_of)
        if self.padding_side == "left":
            padded = self._pad_left(clips, kept, target)
        else:
            padded = []
            for clip, n in zip(clips, kept):
                row = np.full(target, self.padding_value, dtype=np.float32)
                row[:n] = clip[:n]
                padded.append(row)
        normalize = self.do_normalize if do_normalize is None else bool(do_normalize)
        if normalize:
            if padding in (False, "do_not_pad"):
                # transformers ignores the mask without padding: statistics over the whole clip
                padded = [zero_mean_unit_var_norm(p, len(p), self.padding_value) for p in padded]
            elif self.padding_side == "left":
                padded = [self._normalize_left(p, n) for p, n in zip(padded, kept)]
            else:
                padded = [zero_mean_unit_var_norm(p, n, self.padding_value) for p, n in zip(padded, kept)]
        out = {"input_values": np.stack(padded).astype(np.float32, copy=False)}
        # Transformers.js always returns the mask; graphs that don't take it never see it
        if return_attention_mask is not False:
            out["attention_mask"] = self._attention_mask(kept, target).astype(np.int64)
        return out

    def _normalize_left(self, values: np.ndarray, length: int) -> np.ndarray:
        # transformers treats the mask sum as a prefix length even with left padding (it then
        # normalizes over padding and overwrites real samples); here the real samples are the
        # last `length` ones, as the mask says
        start = values.shape[0] - length
        out = np.full_like(values, self.padding_value)
        out[start:] = zero_mean_unit_var_norm(values[start:].copy(), length, self.padding_value)
        return out
