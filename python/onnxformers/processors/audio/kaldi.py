"""Kaldi-compatible filter-bank features ("fbank"), shared by the SeamlessM4T (Wav2Vec2-BERT) and
WeSpeaker feature extractors.

The recipe is ``transformers``' numpy one (``SeamlessM4TFeatureExtractor._extract_fbank_features``,
itself a port of ``torchaudio.compliance.kaldi.fbank``): samples scaled by 2**15, 400-sample frames
every 160 samples without centring, optional dither, DC offset removal, pre-emphasis 0.97, a
symmetric povey (or hamming...) window, a 512-point power spectrum, a Kaldi-scale mel bank
triangularised in mel space (20 Hz to ``sampling_rate // 2``), ``ln(max(mel, 1.1920929e-07))``.
It runs in Rust (``onnxformers._core.KaldiFbank``): frames and clips in parallel, GIL released.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ... import _core
from ...errors import InvalidConfigError, InvalidInputError
from .base import AudioFeatureExtractor

__all__ = ["kaldi_fbank", "KaldiFbankFeatureExtractor"]

#: float32 machine epsilon: Kaldi's (and torchaudio's) floor on mel energies before the log
MEL_FLOOR = 1.192092955078125e-07


def kaldi_fbank(
    waveform: np.ndarray,
    sampling_rate: int = 16000,
    num_mel_bins: int = 80,
    *,
    window: str = "povey",
    dither: float = 0.0,
    seed: Optional[int] = None,
    min_num_frames: Optional[int] = None,
    normalize: Optional[str] = None,
) -> np.ndarray:
    """float32 ``(num_frames, num_mel_bins)`` Kaldi fbank of one mono waveform (floats in
    [-1, 1]). ``normalize``: ``None``, ``"mean"`` (subtract each bin's mean) or ``"mean_var"``
    (per-bin zero mean / unit variance, ddof=1). ``seed`` makes ``dither`` reproducible."""
    fb = _core.KaldiFbank(int(num_mel_bins), float(sampling_rate), window=window, dither=float(dither),
                          min_num_frames=min_num_frames, norm=normalize)
    clips, _ = AudioFeatureExtractor._as_batch(waveform)
    if len(clips) != 1:
        raise InvalidInputError("kaldi_fbank takes one 1-D waveform")
    return fb.extract_batch(clips, fb.num_frames(len(clips[0])), seed=seed)[0]


class KaldiFbankFeatureExtractor(AudioFeatureExtractor):
    """Base of the fbank extractors: builds the Rust front end from the config and turns a batch
    of clips into padded ``(clips, frames, num_mel_bins)`` features."""

    #: analysis window of the subclass's recipe
    window_name = "povey"

    def __init__(self, config=None, **kwargs) -> None:
        super().__init__(config, **kwargs)
        self.num_mel_bins = self._config_int("num_mel_bins", 80)
        self.dither = float(self.config.get("dither", 0.0))
        self._fbanks: dict[Optional[str], object] = {}
        self._fbank(self._default_norm())  # validate the config now, not on the first call

    def _default_norm(self) -> Optional[str]:
        return None

    def _min_num_frames(self) -> Optional[int]:
        return None

    def _fbank(self, norm: Optional[str]):
        fb = self._fbanks.get(norm)
        if fb is None:
            try:
                fb = _core.KaldiFbank(self.num_mel_bins, float(self.sampling_rate), window=self.window_name,
                                      dither=self.dither, min_num_frames=self._min_num_frames(), norm=norm)
            except (InvalidInputError, OverflowError) as e:
                raise InvalidConfigError(f"invalid {type(self).__name__} config: {e}") from e
            self._fbanks[norm] = fb
        return fb

    @property
    def mel_filters(self) -> np.ndarray:
        """float64 ``(257, num_mel_bins)`` Kaldi-scale filter bank."""
        return self._fbank(self._default_norm()).mel_filters

    @property
    def window(self) -> np.ndarray:
        return self._fbank(self._default_norm()).window

    def _features(
        self,
        clips: Sequence[np.ndarray],
        norm: Optional[str],
        padding,
        max_length: Optional[int],
        truncation: bool,
        pad_to_multiple_of: Optional[int],
        seed: Optional[int],
        num_threads: Optional[int],
    ) -> tuple[np.ndarray, list[int], int]:
        """``(features (clips, target, mels), frames kept per clip, target frames)`` with
        ``SequenceFeatureExtractor.pad``'s rules applied along the frame axis."""
        fb = self._fbank(norm)
        for i, clip in enumerate(clips):
            if len(clip) == 0:
                what = "audio" if len(clips) == 1 else f"audio #{i}"
                raise InvalidInputError(f"{what} is empty")
        frames = [fb.num_frames(len(c)) for c in clips]
        target, kept = self._target_length(frames, padding, max_length, truncation, pad_to_multiple_of)
        feats = fb.extract_batch(list(clips), target, padding_value=self.padding_value,
                                 pad_left=self.padding_side == "left", seed=seed, num_threads=num_threads)
        return feats, kept, target
