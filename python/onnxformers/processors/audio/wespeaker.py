"""WeSpeaker (pyannote speaker-embedding ResNets) feature extractor: Kaldi fbank with a hamming
window, centred by subtracting each mel bin's mean over the clip.

Follows Transformers.js' ``WeSpeakerFeatureExtractor`` (there is no Python ``transformers``
class): the same fbank as SeamlessM4T (see :mod:`.kaldi`) but with a symmetric hamming window,
``min_num_frames`` from the config (frames past the end of a short clip see zeros), output
``(frames, num_mel_bins)`` per clip. Centring: pyannote subtracts the mean when
``fbank_centering_span`` is ``None``, its default; so do we when the key is ``null`` *or absent*
(Transformers.js only when it is present and ``null``). A numeric span (pyannote's sliding-window
centring) is not implemented, as in Transformers.js: a warning is issued and no centring is done.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional, Union


from ...errors import InvalidConfigError
from .base import AudioInput
from .kaldi import KaldiFbankFeatureExtractor

__all__ = ["WeSpeakerFeatureExtractor"]


class WeSpeakerFeatureExtractor(KaldiFbankFeatureExtractor):
    """``WeSpeakerFeatureExtractor(config)`` (``num_mel_bins``, ``sampling_rate``,
    ``min_num_frames``, ``fbank_centering_span``, ``padding_value``).

    ``fe(audio, sampling_rate=16000)`` → ``{"input_features": float32 [B, frames, num_mel_bins]}``;
    clips of a batch that give different frame counts are padded with ``padding_value`` (add
    ``return_attention_mask=True`` for the frame mask).
    """

    model_input_names = ["input_features"]
    window_name = "hamming"

    def __init__(self, config=None, **kwargs: Any) -> None:
        cfg = dict(config or {})
        cfg.update(kwargs)
        min_frames = cfg.get("min_num_frames")
        if min_frames is not None and (isinstance(min_frames, bool) or not isinstance(min_frames, int)
                                       or min_frames < 0):
            raise InvalidConfigError(f"WeSpeakerFeatureExtractor config: min_num_frames must be a "
                                     f"non-negative integer or null, got {min_frames!r}")
        self.min_num_frames = min_frames
        span = cfg.get("fbank_centering_span")
        self.center_features = span is None
        if span is not None:
            warnings.warn(f"WeSpeakerFeatureExtractor: fbank_centering_span={span!r} (sliding-window "
                          "centring) is not implemented; features are not centred", stacklevel=2)
        super().__init__(cfg)

    def _default_norm(self) -> Optional[str]:
        return "mean" if self.center_features else None

    def _min_num_frames(self) -> Optional[int]:
        return self.min_num_frames

    def __call__(
        self,
        audio: AudioInput,
        sampling_rate: Optional[int] = None,
        *,
        padding: Union[bool, str] = True,
        max_length: Optional[int] = None,
        truncation: bool = False,
        pad_to_multiple_of: Optional[int] = None,
        return_attention_mask: Optional[bool] = None,
        seed: Optional[int] = None,
        num_threads: Optional[int] = None,
        **_: Any,
    ) -> dict:
        """Features of one clip (1-D array or list of floats) or a batch (2-D array or list of
        clips); ``padding``/``max_length``/``truncation`` count frames."""
        self._check_sampling_rate(sampling_rate)
        clips, _ = self._as_batch(audio)
        feats, kept, target = self._features(clips, self._default_norm(), padding, max_length, truncation,
                                             pad_to_multiple_of, seed, num_threads)
        out = {"input_features": feats}
        if return_attention_mask if return_attention_mask is not None else self.return_attention_mask:
            out["attention_mask"] = self._attention_mask(kept, target)
        return out
