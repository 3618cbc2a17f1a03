"""Generation: configuration, streamers (the decode loop's Python side lands with the models)."""

from .config import GenerationConfig, prepare_generation_config
from .streamers import BaseStreamer, TextIteratorStreamer, TextStreamer

__all__ = ["GenerationConfig", "prepare_generation_config", "BaseStreamer", "TextStreamer",
           "TextIteratorStreamer"]
