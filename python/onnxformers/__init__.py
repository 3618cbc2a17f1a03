"""onnxformers: Transformers.js v3 for Python, on ONNX Runtime with a Rust core.

Everything is imported lazily so that ``import onnxformers`` stays cheap: onnxruntime, numpy-heavy
processors and the hub client load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    BackendError,
    FileMissingError,
    GatedRepoError,
    HubError,
    InvalidConfigError,
    InvalidInputError,
    ModelNotFoundError,
    NotImplementedYetError,
    OnnxformersError,
    TokenizerError,
    UnknownDeviceError,
    UnknownDtypeError,
    UnsupportedModelError,
    UnsupportedTaskError,
)

__version__ = "0.1.0"

# Bound eagerly (cheap: only `os`): were it lazy, importing the submodule `onnxformers.env` (hub.py does)
# would make the package attribute `env` that module instead of the settings object.
from .env import env  # noqa: E402

# public name -> module that defines it
_LAZY = {
    "env": "onnxformers.env",
    "pipeline": "onnxformers.pipelines",
    "Pipeline": "onnxformers.pipelines",
    "SUPPORTED_TASKS": "onnxformers.pipelines",
    "PretrainedConfig": "onnxformers.configs",
    "AutoConfig": "onnxformers.configs",
    "PreTrainedTokenizer": "onnxformers.tokenizers",
    "AutoTokenizer": "onnxformers.tokenizers",
    "PreTrainedModel": "onnxformers.models",
    "AutoModel": "onnxformers.models",
    "AutoModelForSequenceClassification": "onnxformers.models",
    "AutoModelForTokenClassification": "onnxformers.models",
    "AutoModelForQuestionAnswering": "onnxformers.models",
    "AutoModelForMaskedLM": "onnxformers.models",
    "AutoModelForCausalLM": "onnxformers.models",
    "AutoModelForSeq2SeqLM": "onnxformers.models",
    "AutoModelForSpeechSeq2Seq": "onnxformers.models",
    "AutoModelForTextToSpectrogram": "onnxformers.models",
    "AutoModelForTextToWaveform": "onnxformers.models",
    "AutoModelForVision2Seq": "onnxformers.models",
    "AutoModelForImageClassification": "onnxformers.models",
    "AutoModelForImageSegmentation": "onnxformers.models",
    "AutoModelForSemanticSegmentation": "onnxformers.models",
    "AutoModelForUniversalSegmentation": "onnxformers.models",
    "AutoModelForObjectDetection": "onnxformers.models",
    "AutoModelForZeroShotObjectDetection": "onnxformers.models",
    "AutoModelForMaskGeneration": "onnxformers.models",
    "AutoModelForCTC": "onnxformers.models",
    "AutoModelForAudioClassification": "onnxformers.models",
    "AutoModelForXVector": "onnxformers.models",
    "AutoModelForAudioFrameClassification": "onnxformers.models",
    "AutoModelForDocumentQuestionAnswering": "onnxformers.models",
    "AutoModelForImageMatting": "onnxformers.models",
    "AutoModelForImageToImage": "onnxformers.models",
    "AutoModelForDepthEstimation": "onnxformers.models",
    "AutoModelForNormalEstimation": "onnxformers.models",
    "AutoModelForImageFeatureExtraction": "onnxformers.models",
    "AutoProcessor": "onnxformers.processors",
    "AutoFeatureExtractor": "onnxformers.processors",
    "AutoImageProcessor": "onnxformers.processors",
}

__all__ = sorted([*_LAZY, *[n for n in dir() if n.endswith("Error")], "__version__"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'onnxformers' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .configs import AutoConfig, PretrainedConfig
    from .env import env
    from .models import *  # noqa: F401,F403
    from .pipelines import SUPPORTED_TASKS, Pipeline, pipeline
    from .processors import AutoFeatureExtractor, AutoImageProcessor, AutoProcessor
    from .tokenizers import AutoTokenizer, PreTrainedTokenizer
