"""Audio feature extractors (numeric work in the Rust core)."""

from .base import AudioFeatureExtractor
from .whisper import WhisperFeatureExtractor
from .wav2vec2 import Wav2Vec2FeatureExtractor
from .ast import ASTFeatureExtractor
from .clap import ClapFeatureExtractor
from .pyannote import PyAnnoteFeatureExtractor

# the Auto classes register every name listed here (the base class stays importable, unlisted)
__all__ = ["WhisperFeatureExtractor", "Wav2Vec2FeatureExtractor", "ASTFeatureExtractor", "ClapFeatureExtractor",
           "PyAnnoteFeatureExtractor"]
