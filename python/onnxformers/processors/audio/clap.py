"""CLAP's feature extractor: dB-scaled log-mel spectrograms of fixed-length clips.

Matches ``transformers``' ``ClapFeatureExtractor``: clips longer than ``max_length_s`` are either
randomly cropped (``truncation="rand_trunc"``, Slaney filter bank) or summarised by ``"fusion"``
(HTK filter bank; a bilinear shrink of the whole mel plus three random crops, stacked as 4
channels); shorter clips are repeated (``padding="repeat"``), repeated then zero-padded
(``"repeatpad"``) or zero-padded. Transformers.js implements only ``rand_trunc`` (and always the
Slaney bank); this class follows transformers for every mode.

Randomness: pass ``seed=`` (or ``rng=`` a ``numpy.random.RandomState``) for reproducible crops. The
draws are the ones transformers makes from numpy's global state, so ``np.random.seed(s)`` before
calling transformers and ``seed=s`` here pick the same crops. Without either, numpy's global
state is used, as in transformers.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

import numpy as np

from ...errors import InvalidConfigError, InvalidInputError
from ...utils import audio as audio_utils
from .base import AudioFeatureExtractor, AudioInput
from .wav2vec2 import check_finite

_TRUNCATIONS = ("rand_trunc", "fusion")


def _bilinear_shrink(mel: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`` of a 2-D float32
    array, computed in float32 like torch's CPU kernel."""

    def axis(in_size: int, out_size: int):
        scale = np.float32(in_size / out_size)
        src = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
        src = np.maximum(src, np.float32(0.0))
        i0 = np.minimum(src.astype(np.int64), in_size - 1)
        i1 = np.minimum(i0 + 1, in_size - 1)
        lam = (src - i0.astype(np.float32)).astype(np.float32)
        return i0, i1, lam

    h0, h1, lh = axis(mel.shape[0], out_h)
    w0, w1, lw = axis(mel.shape[1], out_w)
    top = mel[h0][:, w0] * (1 - lw) + mel[h0][:, w1] * lw
    bottom = mel[h1][:, w0] * (1 - lw) + mel[h1][:, w1] * lw
    return (top * (1 - lh)[:, None] + bottom * lh[:, None]).astype(np.float32)


class ClapFeatureExtractor(AudioFeatureExtractor):
    """``fe(audio, sampling_rate=48000)`` → ``{"input_features": float32 [B, C, frames, feature_size],
    "is_longer": bool [B, 1]}`` with ``C`` = 1, or 4 for ``truncation="fusion"``.

    Config keys: ``feature_size`` (64 mel bins), ``sampling_rate`` (48000), ``hop_length`` (480),
    ``max_length_s`` (10), ``fft_window_size`` (1024), ``frequency_min`` (0), ``frequency_max``
    (14000), ``truncation`` ("fusion"), ``padding`` ("repeatpad").
    """

    model_input_names = ["input_features", "is_longer"]

    def __init__(self, config: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
        config = dict(config or {})
        config.setdefault("feature_size", 64)
        config.setdefault("sampling_rate", 48000)
        super().__init__(config, **kwargs)
        cfg = self.config
        self.hop_length = self._config_int("hop_length", 480)
        self.max_length_s = self._config_int("max_length_s", 10)
        self.fft_window_size = self._config_int("fft_window_size", 1024, minimum=2)
        self.nb_frequency_bins = (self.fft_window_size >> 1) + 1
        self.nb_max_samples = self.max_length_s * self.sampling_rate
        self.frequency_min = float(cfg.get("frequency_min", 0))
        self.frequency_max = float(cfg.get("frequency_max", 14000))
        self.truncation = cfg.get("truncation", "fusion")
        self.padding = cfg.get("padding", "repeatpad")
        self._check_modes(self.truncation, self.padding)
        common = dict(num_frequency_bins=self.nb_frequency_bins, num_mel_filters=self.feature_size,
                      min_frequency=self.frequency_min, max_frequency=self.frequency_max,
                      sampling_rate=self.sampling_rate)
        self.mel_filters = audio_utils.mel_filter_bank(**common, norm=None, mel_scale="htk")
        self.mel_filters_slaney = audio_utils.mel_filter_bank(**common, norm="slaney", mel_scale="slaney")
        self.window = audio_utils.window_function(self.fft_window_size, "hann")

    @staticmethod
    def _check_modes(truncation: Any, padding: Any) -> None:
        if truncation not in _TRUNCATIONS:
            raise InvalidConfigError(f"ClapFeatureExtractor: truncation must be one of {_TRUNCATIONS}, got {truncation!r}")
        if not isinstance(padding, str):
            raise InvalidConfigError(f"ClapFeatureExtractor: padding must be 'repeat', 'repeatpad' or 'pad', got {padding!r}")

    def _fbank(self, waveform: np.ndarray, filters: np.ndarray) -> np.ndarray:
        """``(frames, feature_size)`` float32 dB log-mel spectrogram."""
        return audio_utils.spectrogram(waveform, self.window, self.fft_window_size, self.hop_length,
                                       power=2.0, mel_filters=filters, log_mel="dB").T

    def _random_mel_fusion(self, mel: np.ndarray, total_frames: int, chunk_frames: int, rng) -> np.ndarray:
        ranges = np.array_split(list(range(0, total_frames - chunk_frames + 1)), 3)
        if len(ranges[1]) == 0:
            ranges[1] = [0]
        if len(ranges[2]) == 0:
            ranges[2] = [0]
        starts = [int(rng.choice(r)) for r in ranges]  # front, middle, back (draw order matters)
        chunks = [mel[s:s + chunk_frames, :] for s in starts]
        # the shrunk width is hard-wired to 64 in transformers (CLAP's mel bins)
        shrink = _bilinear_shrink(mel.astype(np.float32), chunk_frames, 64)
        return np.stack([shrink, *chunks], axis=0)

    def _input_mel(self, waveform: np.ndarray, max_length: int, truncation: str, padding: str, rng):
        if waveform.shape[0] > max_length:
            if truncation == "rand_trunc":
                overflow = len(waveform) - max_length
                idx = int(rng.randint(0, overflow + 1))
                return self._fbank(waveform[idx:idx + max_length], self.mel_filters_slaney)[None], True
            mel = self._fbank(waveform, self.mel_filters)
            chunk_frames = max_length // self.hop_length + 1  # +1: the centred STFT's extra frame
            total_frames = mel.shape[0]
            if chunk_frames == total_frames:
                return np.stack([mel] * 4, axis=0), False
            return self._random_mel_fusion(mel, total_frames, chunk_frames, rng), True
        if waveform.shape[0] < max_length:
            n_repeat = int(max_length / len(waveform))
            if padding == "repeat":
                waveform = np.tile(waveform, n_repeat + 1)[:max_length]
            elif padding == "repeatpad":
                waveform = np.tile(waveform, n_repeat)
            waveform = np.pad(waveform, (0, max_length - waveform.shape[0]), mode="constant", constant_values=0)
        if truncation == "fusion":
            mel = self._fbank(waveform, self.mel_filters)
            return np.stack([mel] * 4, axis=0), False
        return self._fbank(waveform, self.mel_filters_slaney)[None], False

    def __call__(
        self,
        audio: AudioInput,
        sampling_rate: Optional[int] = None,
        *,
        max_length: Optional[int] = None,
        truncation: Optional[str] = None,
        padding: Optional[str] = None,
        seed: Optional[int] = None,
        rng: Union[np.random.RandomState, None] = None,
        **_: Any,
    ) -> dict:
        """One clip (1-D) or a batch (list of clips / 2-D array; clips may differ in length).
        ``max_length`` is in samples (default ``max_length_s * sampling_rate``)."""
        self._check_sampling_rate(sampling_rate)
        truncation = self.truncation if truncation is None else truncation
        padding = padding or self.padding
        self._check_modes(truncation, padding)
        if seed is not None and rng is not None:
            raise InvalidInputError("pass either seed or rng, not both")
        if rng is None:
            rng = np.random.RandomState(seed) if seed is not None else np.random.mtrand._rand
        elif not hasattr(rng, "randint") or not hasattr(rng, "choice"):
            raise InvalidInputError(f"rng must be a numpy.random.RandomState, got {type(rng).__name__}")
        clips, _ = self._as_batch(audio)
        check_finite(clips, type(self).__name__)
        limit = int(max_length) if max_length else self.nb_max_samples
        if limit < 1:
            raise InvalidInputError(f"max_length must be a positive number of samples, got {max_length!r}")
        # transformers works on float64 waveforms
        results = [self._input_mel(c.astype(np.float64), limit, truncation, padding, rng) for c in clips]
        is_longer = [longer for _, longer in results]
        if truncation == "fusion" and not any(is_longer):
            # transformers marks one random clip as longer so that the fusion branch is exercised
            is_longer[int(rng.randint(0, len(results)))] = True
        features = np.stack([mel for mel, _ in results]).astype(np.float32, copy=False)
        return {"input_features": features, "is_longer": np.array([[x] for x in is_longer], dtype=bool)}
