"""object-detection (DETR / YOLOS / RT-DETR-style models)."""

from __future__ import annotations

from typing import Any, Optional

from ..errors import InvalidInputError
from ..processors.image.post_processing import post_process_object_detection
from ._vision import image_batch, image_processor, prepare_images, run_images
from .base import Pipeline


def bounding_box(box, as_integer: bool) -> dict:
    """``[xmin, ymin, xmax, ymax]`` → ``{"xmin", "ymin", "xmax", "ymax"}``; pixel boxes are truncated
    toward zero (JavaScript's ``x | 0``, ``torch``'s ``.int()``)."""
    values = [int(v) for v in box] if as_integer else [float(v) for v in box]
    return dict(zip(("xmin", "ymin", "xmax", "ymax"), values))


class ObjectDetectionPipeline(Pipeline):
    """``pipe(images, threshold=0.9, percentage=False)`` → ``[{"score", "label", "box"}]`` per image
    (a list of those for a list of images), in the model's query order.

    DETR / YOLOS: a query is kept when its most likely class is not the "no object" class and its softmax
    probability is at least ``threshold`` (Transformers.js' rule). RT-DETR (focal loss): sigmoid scores,
    the best ``num_queries`` (query, class) pairs above ``threshold``, best first (``transformers``' rule);
    the model's image processor decides which. Boxes are in pixels of the original
    image (integers), or fractions of its width/height with ``percentage=True``. Unlike Transformers.js
    3.0.0, several images can be passed at once (each is processed as if alone).
    """

    def __call__(self, images: Any, *, threshold: float = 0.9, percentage: bool = False,
                 batch_size: Optional[int] = None) -> list:
        inputs, is_batched = image_batch(images)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise InvalidInputError(f"threshold must be a number, got {threshold!r}")
        prepared = prepare_images(inputs)
        processor = image_processor(self.processor)
        post = getattr(processor, "post_process_object_detection", None)
        id2label = getattr(self.model.config, "id2label", None) or {}
        results: list = [None] * len(inputs)
        for index, outputs, _ in run_images(self, prepared, batch_size):
            if "logits" not in outputs or "pred_boxes" not in outputs:
                raise InvalidInputError(
                    f"the model returned no logits/pred_boxes (outputs: {', '.join(outputs)})")
            batch = {"logits": outputs["logits"][None], "pred_boxes": outputs["pred_boxes"][None]}
            sizes = None if percentage else [(prepared[index].height, prepared[index].width)]
            if post is not None:
                processed = post(batch, threshold, sizes)[0]
            else:
                processed = post_process_object_detection(batch, threshold, sizes)[0]
            results[index] = [
                {"score": score, "label": id2label.get(int(cls), f"LABEL_{int(cls)}"),
                 "box": bounding_box(box, not percentage)}
                for box, cls, score in zip(processed["boxes"], processed["classes"], processed["scores"])
            ]
        return results if is_batched else results[0]
