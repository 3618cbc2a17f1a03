"""Audio feature extractors (numeric work in the Rust core)."""

from .base import AudioFeatureExtractor
from .whisper import WhisperFeatureExtractor

# the Auto classes register every name listed here (the base class stays importable, unlisted)
__all__ = ["WhisperFeatureExtractor"]
