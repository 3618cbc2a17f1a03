"""Pre-processing: audio feature extractors (``processors.audio``), image processors
(``processors.image``) and the Auto classes that pick them from ``preprocessor_config.json``."""

from .auto import AutoFeatureExtractor, AutoImageProcessor, AutoProcessor, Processor

__all__ = ["AutoFeatureExtractor", "AutoImageProcessor", "AutoProcessor", "Processor"]
