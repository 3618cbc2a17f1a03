"""Shared plumbing of audio feature extractors: config handling, input normalisation and the
padding/truncation rules of ``transformers``' ``SequenceFeatureExtractor``."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from ...errors import InvalidConfigError, InvalidInputError

AudioInput = Union[np.ndarray, Sequence[float], Sequence[np.ndarray], Sequence[Sequence[float]]]


class AudioFeatureExtractor:
    """Base class: built from a ``preprocessor_config.json`` dict (plus keyword overrides), called
    as ``fe(audio, sampling_rate=...)``. The full config stays available as ``self.config``."""

    model_input_names = ["input_features"]

    def __init__(self, config: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
        cfg = dict(config or {})
        cfg.update(kwargs)
        self.config = cfg
        self.feature_size = self._config_int("feature_size", 80)
        self.sampling_rate = self._config_int("sampling_rate", 16000)
        self.padding_value = float(cfg.get("padding_value", 0.0))
        self.return_attention_mask = bool(cfg.get("return_attention_mask", False))
        self.padding_side = cfg.get("padding_side", "right")
        if self.padding_side not in ("left", "right"):
            raise InvalidConfigError(f"padding_side must be 'left' or 'right', got {self.padding_side!r}")

    def _config_int(self, key: str, default: int, minimum: int = 1) -> int:
        value = self.config.get(key, default)
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number is None or number != value or number < minimum:
            raise InvalidConfigError(
                f"{type(self).__name__} config: {key} must be an integer >= {minimum}, got {value!r}"
            )
        return number

    @classmethod
    def from_dict(cls, config: Mapping[str, Any], **kwargs: Any) -> "AudioFeatureExtractor":
        return cls(config, **kwargs)

    def to_dict(self) -> dict:
        return dict(self.config, feature_extractor_type=type(self).__name__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    # ------------------------------------------------------------------ helpers

    def _check_sampling_rate(self, sampling_rate: Optional[int]) -> None:
        if sampling_rate is not None and int(sampling_rate) != self.sampling_rate:
            raise InvalidInputError(
                f"{type(self).__name__} expects audio sampled at {self.sampling_rate} Hz, got {sampling_rate} Hz; "
                f"resample it first (e.g. onnxformers.utils.audio.read_audio(path, {self.sampling_rate}))"
            )

    @staticmethod
    def _as_batch(audio: AudioInput) -> tuple[list[np.ndarray], bool]:
        """``(clips as contiguous float32 1-D arrays, is_batched)``, with transformers' rules: a 2-D
        array or a list of arrays/lists is a batch; a 1-D array or a list of numbers is one clip."""
        if isinstance(audio, np.ndarray):
            if audio.ndim > 2:
                raise InvalidInputError(f"Only mono-channel audio is supported, got an array of shape {audio.shape}")
            if audio.ndim == 0:
                raise InvalidInputError("audio must be a 1-D array of samples, got a scalar")
            batched = audio.ndim == 2
            clips = list(audio) if batched else [audio]
        elif isinstance(audio, (list, tuple)):
            if len(audio) == 0:
                raise InvalidInputError("no audio given (empty list)")
            batched = isinstance(audio[0], (np.ndarray, list, tuple))
            clips = list(audio) if batched else [audio]
        else:
            raise InvalidInputError(
                f"audio must be a numpy array or a list of samples/arrays, got {type(audio).__name__}; "
                "use onnxformers.utils.audio.read_audio(path, sampling_rate) to decode a file"
            )
        out = []
        for i, clip in enumerate(clips):
            arr = np.asarray(clip)
            if np.iscomplexobj(arr) or arr.dtype.kind not in "fiub":
                raise InvalidInputError(f"audio #{i} must hold real numbers, got dtype {arr.dtype}")
            if arr.ndim != 1:
                raise InvalidInputError(f"audio #{i} must be 1-D (mono), got shape {arr.shape}")
            out.append(np.ascontiguousarray(arr, dtype=np.float32))
        return out, batched

    def _pad_left(self, clips: list[np.ndarray], kept: Sequence[int], target: int) -> list[np.ndarray]:
        """Left padding done here (the Rust extractors pad on the right, the usual case)."""
        out = []
        for clip, n in zip(clips, kept):
            padded = np.full(target, self.padding_value, dtype=np.float32)
            padded[target - n:] = clip[:n]
            out.append(padded)
        return out

    def _attention_mask(self, kept: Sequence[int], target: int) -> np.ndarray:
        mask = np.zeros((len(kept), target), dtype=np.int32)
        for row, n in zip(mask, kept):
            if self.padding_side == "left":
                row[target - n:] = 1
            else:
                row[:n] = 1
        return mask

    @staticmethod
    def _target_length(
        lengths: Sequence[int],
        padding: Union[bool, str],
        max_length: Optional[int],
        truncation: bool,
        pad_to_multiple_of: Optional[int],
    ) -> tuple[int, list[int]]:
        """``SequenceFeatureExtractor.pad``'s rules, resolved to ``(common output length, kept
        samples per clip)``. Raises if the clips would end up with different lengths."""

        def round_up(n: int) -> int:
            if pad_to_multiple_of and n % pad_to_multiple_of:
                return (n // pad_to_multiple_of + 1) * pad_to_multiple_of
            return n

        strategy = {True: "longest", False: "do_not_pad"}.get(padding, padding) if isinstance(padding, bool) else padding
        if strategy not in ("longest", "max_length", "do_not_pad"):
            raise InvalidInputError(f"padding must be True, False, 'longest', 'max_length' or 'do_not_pad', got {padding!r}")
        if strategy == "max_length" and max_length is None:
            raise InvalidInputError("padding='max_length' needs max_length")
        if truncation and max_length is None:
            raise InvalidInputError("truncation=True needs max_length")
        kept = [min(n, round_up(max_length)) if truncation else n for n in lengths]
        if strategy == "max_length":
            final = [max(n, round_up(max_length)) for n in kept]
        elif strategy == "longest":
            final = [round_up(max(kept))] * len(kept)
        else:
            final = kept
        if len(set(final)) != 1:
            raise InvalidInputError(
                f"audio clips have different lengths ({sorted(set(final))}); use padding='longest' or 'max_length'"
            )
        return final[0], kept
