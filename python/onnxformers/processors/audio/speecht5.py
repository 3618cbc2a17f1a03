"""SpeechT5 feature extractor: raw waveforms (optionally zero-mean/unit-variance) as
``input_values`` for the speech encoder, and log10-mel spectrograms as training targets.

Matches ``transformers``' ``SpeechT5FeatureExtractor`` (numpy): ``audio`` → padded
``input_values`` + sample mask; ``audio_target`` → ``(frames, num_mel_bins)`` log-mel features
(hann window of ``win_length`` ms, hop ``hop_length`` ms, FFT the next power of two, amplitude
spectrum, Slaney mel bank ``fmin``-``fmax``, ``log10(max(mel, mel_floor))``), computed in Rust;
both → ``input_values`` plus ``labels`` / ``decoder_attention_mask``. Transformers.js ships this
class as a no-op; here it does what the Python library does. Unlike transformers, empty clips and
NaN/inf samples raise ``InvalidInputError`` (naming the clip and index).
"""

from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

from ...errors import InvalidConfigError, InvalidInputError
from ...utils import audio as audio_utils
from .base import AudioFeatureExtractor, AudioInput

__all__ = ["SpeechT5FeatureExtractor"]


class SpeechT5FeatureExtractor(AudioFeatureExtractor):
    """``SpeechT5FeatureExtractor(config)`` (``sampling_rate``, ``padding_value``,
    ``do_normalize``, ``num_mel_bins``, ``hop_length``/``win_length`` in ms, ``win_function``,
    ``fmin``, ``fmax``, ``mel_floor``, ``return_attention_mask``)."""

    model_input_names = ["input_values", "attention_mask"]

    def __init__(self, config=None, **kwargs: Any) -> None:
        cfg = dict(config or {})
        cfg.update(kwargs)
        cfg.setdefault("feature_size", 1)
        cfg.setdefault("return_attention_mask", True)
        super().__init__(cfg)
        self.do_normalize = bool(cfg.get("do_normalize", False))
        self.num_mel_bins = self._config_int("num_mel_bins", 80)
        self.hop_length = self._config_int("hop_length", 16)
        self.win_length = self._config_int("win_length", 64)
        self.win_function = cfg.get("win_function", "hann_window")
        self.fmin = float(cfg.get("fmin", 80))
        self.fmax = float(cfg.get("fmax", 7600))
        self.mel_floor = float(cfg.get("mel_floor", 1e-10))
        self.sample_size = self.win_length * self.sampling_rate // 1000
        self.sample_stride = self.hop_length * self.sampling_rate // 1000
        if self.sample_size < 2 or self.sample_stride < 1:
            raise InvalidConfigError(f"SpeechT5FeatureExtractor config: win_length/hop_length give "
                                     f"{self.sample_size}/{self.sample_stride} samples")
        # transformers' optimal_fft_length: the next power of two
        self.n_fft = 1 << (self.sample_size - 1).bit_length()
        self.n_freqs = self.n_fft // 2 + 1
        try:
            self.window = audio_utils.window_function(self.sample_size, self.win_function, periodic=True)
            self.mel_filters = audio_utils.mel_filter_bank(
                self.n_freqs, self.num_mel_bins, self.fmin, self.fmax, self.sampling_rate,
                norm="slaney", mel_scale="slaney")
        except InvalidInputError as e:
            raise InvalidConfigError(f"invalid SpeechT5FeatureExtractor config: {e}") from e

    @staticmethod
    def zero_mean_unit_var_norm(input_values, attention_mask, padding_value: float = 0.0) -> list:
        """transformers' normalisation (float32): statistics over the unpadded samples only."""
        if attention_mask is not None:
            out = []
            for vector, length in zip(input_values, np.asarray(attention_mask, np.int32).sum(-1)):
                normed = (vector - vector[:length].mean()) / np.sqrt(vector[:length].var() + 1e-7)
                if length < normed.shape[0]:
                    normed[length:] = padding_value
                out.append(normed)
            return out
        return [(x - x.mean()) / np.sqrt(x.var() + 1e-7) for x in input_values]

    def _log_mel(self, clip: np.ndarray) -> np.ndarray:
        if len(clip) == 0:
            raise InvalidInputError("audio_target clip is empty")
        return audio_utils.spectrogram(
            clip, self.window, frame_length=self.sample_size, hop_length=self.sample_stride,
            fft_length=self.n_fft, mel_filters=self.mel_filters, mel_floor=self.mel_floor,
            log_mel="log10", transpose=True)

    def _pad(self, items: list[np.ndarray], padding, max_length, truncation, pad_to_multiple_of):
        """``SequenceFeatureExtractor.pad`` along the first axis: (stacked array, mask)."""
        target, kept = self._target_length([len(x) for x in items], padding, max_length, truncation,
                                           pad_to_multiple_of)
        out = np.full((len(items), target) + items[0].shape[1:], self.padding_value, dtype=np.float32)
        for row, item, n in zip(out, items, kept):
            if self.padding_side == "left":
                row[target - n:] = item[:n]
            else:
                row[:n] = item[:n]
        return out, self._attention_mask(kept, target), target

    def _process(self, speech: AudioInput, is_target: bool, padding, max_length, truncation,
                 pad_to_multiple_of, return_attention_mask) -> dict:
        clips, _ = self._as_batch(speech)
        for i, clip in enumerate(clips):
            if len(clip) == 0:
                raise InvalidInputError(f"audio #{i} is empty" if len(clips) > 1 else "audio is empty")
            if not np.isfinite(clip).all():
                bad = int(np.flatnonzero(~np.isfinite(clip))[0])
                raise InvalidInputError(f"audio #{i} contains a non-finite value ({clip[bad]}) at index {bad}")
        items = [self._log_mel(c) for c in clips] if is_target else clips
        values, mask, _ = self._pad(items, padding, max_length, truncation, pad_to_multiple_of)
        want_mask = return_attention_mask if return_attention_mask is not None else self.return_attention_mask
        if not is_target and self.do_normalize:
            strategy = padding if isinstance(padding, str) else ("longest" if padding else "do_not_pad")
            # as transformers: without padding the whole vector is used
            use_mask = mask if strategy != "do_not_pad" else None
            values = np.stack(self.zero_mean_unit_var_norm(list(values), use_mask, self.padding_value))
        out = {"input_values": np.ascontiguousarray(values, dtype=np.float32)}
        if want_mask:
            out["attention_mask"] = mask
        return out

    def __call__(
        self,
        audio: Optional[AudioInput] = None,
        audio_target: Optional[AudioInput] = None,
        sampling_rate: Optional[int] = None,
        *,
        padding: Union[bool, str] = False,
        max_length: Optional[int] = None,
        truncation: bool = False,
        pad_to_multiple_of: Optional[int] = None,
        return_attention_mask: Optional[bool] = None,
        **_: Any,
    ) -> dict:
        """``audio`` → ``{"input_values" [B, N], "attention_mask"}``; ``audio_target`` →
        ``{"input_values" [B, frames, num_mel_bins], "attention_mask"}``; both →
        ``input_values``/``attention_mask`` of ``audio`` plus ``labels`` and
        ``decoder_attention_mask``."""
        if audio is None and audio_target is None:
            raise InvalidInputError("You must provide either `audio` or `audio_target` values.")
        self._check_sampling_rate(sampling_rate)
        args = (padding, max_length, truncation, pad_to_multiple_of, return_attention_mask)
        inputs = self._process(audio, False, *args) if audio is not None else None
        if audio_target is None:
            return inputs
        target = self._process(audio_target, True, *args)
        if inputs is None:
            return target
        inputs["labels"] = target["input_values"]
        if "attention_mask" in target:
            inputs["decoder_attention_mask"] = target["attention_mask"]
        return inputs
