"""The Audio Spectrogram Transformer's feature extractor: Kaldi-style log-mel filter banks.

Matches ``transformers``' ``ASTFeatureExtractor`` numpy path (used when torchaudio is absent):
symmetric Hann window of 400 samples, hop 160, FFT 512, power spectrum, pre-emphasis 0.97, DC
offset removal, Kaldi mel scale (20 Hz to Nyquist, triangles in mel space), natural log with floor
``float32 eps``; ``max_length`` frames (zero-padded or truncated); then ``(x - mean) / (2 * std)``.
The STFT and mel projection run in the Rust core.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np

from ...errors import InvalidConfigError
from ...utils import audio as audio_utils
from .base import AudioFeatureExtractor, AudioInput
from .wav2vec2 import check_finite

#: Kaldi's mel floor (float32 machine epsilon)
KALDI_MEL_FLOOR = 1.192092955078125e-07


def _kaldi_fbank(waveform: np.ndarray, window: np.ndarray, mel_filters: np.ndarray, max_num_frames: int,
                 *, frame_length: int = 400, hop_length: int = 160, fft_length: int = 512) -> np.ndarray:
    """Kaldi-compatible log-mel filter banks ``(max_num_frames, num_mel_bins)`` float32, zero-padded or
    truncated to ``max_num_frames`` (only those frames are computed). A private helper until the shared
    Kaldi front end (``processors/audio/kaldi.py``) lands; AST's flavour has no waveform scaling and no
    per-bin normalization."""
    return audio_utils.spectrogram(
        waveform, window, frame_length, hop_length, fft_length=fft_length, power=2.0, center=False,
        preemphasis=0.97, mel_filters=mel_filters, log_mel="log", mel_floor=KALDI_MEL_FLOOR,
        remove_dc_offset=True, max_num_frames=max_num_frames, do_pad=True, transpose=True,
    )


class ASTFeatureExtractor(AudioFeatureExtractor):
    """``fe(audio, sampling_rate=16000)`` → ``{"input_values": float32 [B, max_length, num_mel_bins]}``.

    Config keys: ``sampling_rate``, ``num_mel_bins`` (128), ``max_length`` (1024 frames),
    ``do_normalize`` (True), ``mean`` (-4.2677393), ``std`` (4.5689974).
    """

    model_input_names = ["input_values"]

    def __init__(self, config: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
        config = dict(config or {})
        config.setdefault("feature_size", 1)
        super().__init__(config, **kwargs)
        cfg = self.config
        self.num_mel_bins = self._config_int("num_mel_bins", 128)
        self.max_length = self._config_int("max_length", 1024)
        self.do_normalize = bool(cfg.get("do_normalize", True))
        try:
            self.mean = float(cfg.get("mean", -4.2677393))
            self.std = float(cfg.get("std", 4.5689974))
        except (TypeError, ValueError) as e:
            raise InvalidConfigError(f"ASTFeatureExtractor config: mean/std must be numbers ({e})") from None
        if self.do_normalize and self.std == 0:
            raise InvalidConfigError("ASTFeatureExtractor config: std must not be 0")
        self.window = audio_utils.window_function(400, "hann", periodic=False)
        self.mel_filters = audio_utils.mel_filter_bank(
            num_frequency_bins=257, num_mel_filters=self.num_mel_bins, min_frequency=20,
            max_frequency=self.sampling_rate // 2, sampling_rate=self.sampling_rate, norm=None,
            mel_scale="kaldi", triangularize_in_mel_space=True,
        )

    def __call__(self, audio: AudioInput, sampling_rate: Optional[int] = None, *,
                 max_length: Optional[int] = None, do_normalize: Optional[bool] = None, **_: Any) -> dict:
        """One clip (1-D) or a batch (list of clips / 2-D array; clips may differ in length: each
        gives ``max_length`` frames)."""
        self._check_sampling_rate(sampling_rate)
        clips, _ = self._as_batch(audio)
        check_finite(clips, type(self).__name__)
        frames = self.max_length if max_length is None else int(max_length)
        feats = np.stack([_kaldi_fbank(c, self.window, self.mel_filters, frames) for c in clips])
        normalize = self.do_normalize if do_normalize is None else bool(do_normalize)
        if normalize:
            # float32 arithmetic as transformers does it (float32 array, Python-float mean/std)
            feats = (feats - np.float32(self.mean)) / np.float32(self.std * 2)
        return {"input_values": feats.astype(np.float32, copy=False)}
