"""image-feature-extraction."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..errors import InvalidInputError, UnsupportedModelError
from ._vision import image_batch, prepare_images, run_images
from .base import Pipeline


class ImageFeatureExtractionPipeline(Pipeline):
    """``pipe(images, pool=None)`` → a float32 array with a batch axis: the model's
    ``last_hidden_state`` (or ``logits`` / ``image_embeds`` for models without one), e.g. ``[1, 197, 768]``
    for ViT-base; with ``pool=True`` the ``pooler_output`` (``[batch, hidden]``), which the model must
    return. One image gives a batch of one, as in Transformers.js."""

    def __call__(self, images: Any, *, pool: Optional[bool] = None, batch_size: Optional[int] = None) -> np.ndarray:
        inputs, _ = image_batch(images)
        rows: list = [None] * len(inputs)
        for index, outputs, _ in run_images(self, prepare_images(inputs), batch_size):
            if pool:
                if "pooler_output" not in outputs:
                    raise UnsupportedModelError(
                        "No pooled output was returned. Make sure the model has a 'pooler' layer when using "
                        f"the 'pool' option (outputs: {', '.join(outputs)}).")
                rows[index] = outputs["pooler_output"]
            else:
                for name in ("last_hidden_state", "logits", "image_embeds"):
                    if name in outputs:
                        rows[index] = outputs[name]
                        break
                else:
                    raise InvalidInputError(
                        f"the model returned none of last_hidden_state, logits, image_embeds "
                        f"(outputs: {', '.join(outputs)})")
        shapes = {np.shape(r) for r in rows}
        if len(shapes) > 1:
            raise InvalidInputError(
                f"the images gave features of different shapes ({sorted(shapes)}); call the pipeline once per image")
        return np.stack([np.asarray(r, dtype=np.float32) for r in rows])
