"""Whisper's feature extractor: 80 (or 128) log-mel bins every 10 ms over 30 s windows.

Matches ``transformers``' ``WhisperFeatureExtractor`` (numpy path) to ~1e-7: same padding and
truncation rules, same filter bank (Slaney, 0-8000 Hz, recomputed like transformers does rather
than read from a config's ``mel_filters``), same float32 post-processing. The STFT and mel
projection run in Rust, clips of a batch in parallel, without the GIL.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

import numpy as np

from ... import _core
from ...errors import InvalidConfigError, InvalidInputError
from .base import AudioFeatureExtractor, AudioInput


class WhisperFeatureExtractor(AudioFeatureExtractor):
    """``WhisperFeatureExtractor(config)`` with ``config`` a ``preprocessor_config.json`` dict
    (``feature_size``, ``sampling_rate``, ``hop_length``, ``chunk_length``, ``n_fft``,
    ``padding_value``, ``dither``, ``return_attention_mask``); keyword arguments override it.

    ``fe(audio, sampling_rate=16000)`` returns ``{"input_features": float32 [B, feature_size,
    nb_max_frames]}`` (plus ``"attention_mask"`` on request).
    """

    model_input_names = ["input_features"]

    def __init__(self, config: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        cfg = self.config
        self.hop_length = self._config_int("hop_length", 160)
        self.chunk_length = self._config_int("chunk_length", 30)
        self.n_fft = self._config_int("n_fft", 400, minimum=2)
        self.dither = float(cfg.get("dither", 0.0))
        try:
            self._log_mel = _core.WhisperLogMel(
                self.feature_size, float(self.sampling_rate), self.hop_length, self.n_fft,
                self.padding_value, self.dither,
            )
        except (InvalidInputError, OverflowError) as e:
            raise InvalidConfigError(f"invalid WhisperFeatureExtractor config: {e}") from e
        # like transformers: derived from chunk_length, whatever n_samples the config lists
        self.n_samples = self.chunk_length * self.sampling_rate
        self.nb_max_frames = self.n_samples // self.hop_length

    @property
    def mel_filters(self) -> np.ndarray:
        """float64 ``(1 + n_fft // 2, feature_size)`` Slaney mel filter bank."""
        return self._log_mel.mel_filters

    @staticmethod
    def _normalize(clip: np.ndarray, real: np.ndarray, padding_value: float) -> np.ndarray:
        """transformers' zero_mean_unit_var_norm: statistics over the real (unpadded) samples of
        the padded float32 clip; padding reset to ``padding_value``."""
        target = len(real)
        padded = np.full(target, padding_value, dtype=np.float32)
        n = min(len(clip), target)
        padded[:n] = clip[:n]
        values = padded[real]
        normed = (padded - values.mean()) / np.sqrt(values.var() + 1e-7)
        normed[~real] = padding_value
        return np.ascontiguousarray(normed, dtype=np.float32)

    def __call__(
        self,
        audio: AudioInput,
        sampling_rate: Optional[int] = None,
        *,
        max_length: Optional[int] = None,
        truncation: bool = True,
        padding: Union[bool, str] = "max_length",
        pad_to_multiple_of: Optional[int] = None,
        do_normalize: Optional[bool] = None,
        return_attention_mask: Optional[bool] = None,
        seed: Optional[int] = None,
        num_threads: Optional[int] = None,
        **_: Any,
    ) -> dict:
        """Log-mel features of one clip (1-D array or list of floats) or a batch (2-D array or
        list of clips). Clips are padded with ``padding_value`` / truncated to ``max_length``
        samples (default ``n_samples`` = 30 s). ``seed`` makes ``dither`` reproducible;
        ``num_threads`` bounds the parallelism of this call."""
        self._check_sampling_rate(sampling_rate)
        clips, _ = self._as_batch(audio)
        target, kept = self._target_length(
            [len(c) for c in clips], padding, max_length or self.n_samples, truncation, pad_to_multiple_of
        )
        if self.padding_side == "left":
            clips = self._pad_left(clips, kept, target)
        if do_normalize:
            mask = self._attention_mask(kept, target).astype(bool)
            clips = [self._normalize(c, m, self.padding_value) for c, m in zip(clips, mask)]
        features = self._log_mel.extract_batch(clips, target, seed, num_threads)
        out = {"input_features": features}
        if return_attention_mask if return_attention_mask is not None else self.return_attention_mask:
            mask = self._attention_mask(kept, target)
            # from samples to frames, as transformers rescales it (the last STFT frame is dropped)
            mask = mask[:, :: self.hop_length]
            if target % self.hop_length != 0:
                mask = mask[:, :-1]
            out["attention_mask"] = mask
        return out
