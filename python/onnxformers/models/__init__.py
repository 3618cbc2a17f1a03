"""Models: :class:`PreTrainedModel` and the ``AutoModel*`` classes."""

from .auto import AUTO_CLASSES, SUBMODEL_CLASSES, model_class
from .base import PreTrainedModel
from .output import ModelOutput

globals().update(AUTO_CLASSES)
globals().update(SUBMODEL_CLASSES)

__all__ = ["PreTrainedModel", "ModelOutput", "model_class", *AUTO_CLASSES, *SUBMODEL_CLASSES]
