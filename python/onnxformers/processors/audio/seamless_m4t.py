"""SeamlessM4T / Wav2Vec2-BERT feature extractor: 80 Kaldi fbank bins every 10 ms, normalised
per mel bin, stacked by ``stride`` (2) into 160-wide frames, with a frame-level attention mask.

Matches ``transformers``' ``SeamlessM4TFeatureExtractor`` (numpy) to ~1e-6 (float32 rounding of
the per-bin statistics; exact zeros on digital silence, where numpy's float32 mean leaves
residues up to ~3e-3). Differences, on purpose:

* a clip given as a 2-D ``(channels, samples)`` array inside a list is rejected (transformers
  silently keeps channel 0): down-mix first, e.g. with ``onnxformers.utils.audio.read_audio``;
* clips shorter than two frames (560 samples) raise ``InvalidInputError`` instead of returning
  NaN features (the ddof=1 variance of one frame is undefined);
* NaN/inf samples raise ``InvalidInputError`` naming the clip and index.
"""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from .base import AudioInput
from .kaldi import KaldiFbankFeatureExtractor

__all__ = ["SeamlessM4TFeatureExtractor"]


class SeamlessM4TFeatureExtractor(KaldiFbankFeatureExtractor):
    """``SeamlessM4TFeatureExtractor(config)`` with ``config`` a ``preprocessor_config.json`` dict
    (``feature_size``, ``num_mel_bins``, ``sampling_rate``, ``padding_value``, ``stride``,
    ``padding_side``); keyword arguments override it.

    ``fe(audio, sampling_rate=16000)`` → ``{"input_features": float32 [B, frames // stride,
    num_mel_bins * stride], "attention_mask": int32 [B, frames // stride]}``.
    """

    model_input_names = ["input_features", "attention_mask"]
    window_name = "povey"

    def __init__(self, config=None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.stride = self._config_int("stride", 2)
        # transformers forces it on, whatever the config says
        self.return_attention_mask = True

    def _default_norm(self) -> Optional[str]:
        return "mean_var"

    def __call__(
        self,
        raw_speech: AudioInput,
        sampling_rate: Optional[int] = None,
        *,
        padding: Union[bool, str] = True,
        pad_to_multiple_of: Optional[int] = 2,
        max_length: Optional[int] = None,
        truncation: bool = False,
        return_attention_mask: Optional[bool] = None,
        do_normalize_per_mel_bins: Optional[bool] = True,
        seed: Optional[int] = None,
        num_threads: Optional[int] = None,
        **_: Any,
    ) -> dict:
        """Features of one clip (1-D array or list of floats) or a batch (2-D array or list of
        clips). ``padding``/``max_length``/``truncation``/``pad_to_multiple_of`` count frames,
        as in transformers. ``seed`` makes ``dither`` reproducible; ``num_threads`` bounds the
        parallelism of this call."""
        self._check_sampling_rate(sampling_rate)
        clips, _ = self._as_batch(raw_speech)
        norm = "mean_var" if do_normalize_per_mel_bins else None
        feats, kept, num_frames = self._features(clips, norm, padding, max_length, truncation,
                                                 pad_to_multiple_of, seed, num_threads)
        mask = self._attention_mask(kept, num_frames)
        batch, _, channels = feats.shape
        remainder = num_frames % self.stride
        if remainder:
            feats = feats[:, : num_frames - remainder]
            mask = mask[:, : num_frames - remainder]
        feats = np.ascontiguousarray(feats).reshape(batch, num_frames // self.stride, channels * self.stride)
        # transformers' rule, kept literally: the frames whose index % stride == 1 (for the usual
        # stride 2, the second frame of each stacked pair)
        mask = mask[:, np.arange(num_frames - remainder) % self.stride == 1]
        out = {"input_features": feats}
        if return_attention_mask if return_attention_mask is not None else self.return_attention_mask:
            out["attention_mask"] = np.ascontiguousarray(mask)
        return out
