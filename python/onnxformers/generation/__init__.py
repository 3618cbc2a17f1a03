"""Generation: configuration, streamers (the decode loop's Python side lands with the models)."""

from .config import GenerationConfig, prepare_generation_config
from .stopping_criteria import (EosTokenCriteria, InterruptableStoppingCriteria, MaxLengthCriteria,
                                StoppingCriteria, StoppingCriteriaList)
from .streamers import BaseStreamer, TextIteratorStreamer, TextStreamer, WhisperTextStreamer

__all__ = ["GenerationConfig", "prepare_generation_config", "BaseStreamer", "TextStreamer",
           "TextIteratorStreamer", "WhisperTextStreamer", "StoppingCriteria", "StoppingCriteriaList", "MaxLengthCriteria",
           "EosTokenCriteria", "InterruptableStoppingCriteria"]
