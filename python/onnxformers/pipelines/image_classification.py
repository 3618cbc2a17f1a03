"""image-classification."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..errors import InvalidInputError
from ..utils.maths import sigmoid, softmax
from ._vision import image_batch, prepare_images, run_images
from .base import Pipeline

_FUNCTIONS = {"softmax": softmax, "sigmoid": sigmoid, "none": lambda x: x}


class ImageClassificationPipeline(Pipeline):
    """``pipe(images, top_k=1)`` → ``[{"label", "score"}]`` for one image, a list of those for a list.

    ``top_k`` follows the Transformers.js docs (the conformance examples): the default is 1, and
    ``top_k=0`` (or ``None``, or any value above the number of labels) returns every label, best first.
    (The 3.0.0 source defaults to 5 and returns nothing for 0; the documented behaviour is the one
    kept here.) Scores are a softmax over the logits, or a sigmoid when the config says
    ``problem_type: multi_label_classification`` (as ``transformers`` does); ``function_to_apply``
    (``softmax``, ``sigmoid``, ``none``) overrides it. Images of a list are run in batches of equal
    preprocessed shape (``batch_size`` caps a batch).
    """

    def __call__(self, images: Any, *, top_k: Optional[int] = 1, function_to_apply: Optional[str] = None,
                 batch_size: Optional[int] = None) -> list:
        inputs, is_batched = image_batch(images)
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0):
            raise InvalidInputError(f"top_k must be a non-negative integer or None, got {top_k!r}")
        func = self._function(function_to_apply)
        id2label = getattr(self.model.config, "id2label", None) or {}
        results: list = [None] * len(inputs)
        for index, outputs, _ in run_images(self, prepare_images(inputs), batch_size):
            if "logits" not in outputs:
                raise InvalidInputError(
                    f"the model returned no 'logits' (outputs: {', '.join(outputs)}); is it an image classifier?")
            row = func(np.asarray(outputs["logits"], dtype=np.float64).reshape(-1))
            k = len(row) if not top_k else min(top_k, len(row))
            order = np.argsort(-row, kind="stable")[:k]
            results[index] = [{"label": id2label.get(int(i), f"LABEL_{int(i)}"), "score": float(row[i])}
                              for i in order]
        return results if is_batched else results[0]

    def _function(self, name: Optional[str]):
        if name is None:
            multi = getattr(self.model.config, "problem_type", None) == "multi_label_classification"
            name = "sigmoid" if multi else "softmax"
        try:
            return _FUNCTIONS[name]
        except KeyError:
            raise InvalidInputError(
                f"function_to_apply must be one of {', '.join(_FUNCTIONS)}, got {name!r}") from None
