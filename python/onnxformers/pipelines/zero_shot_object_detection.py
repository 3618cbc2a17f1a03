"""zero-shot-object-detection (OWL-ViT / Owlv2: text queries scored against every image patch's box)."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from ..errors import InvalidInputError
from ..processors.image.post_processing import post_process_object_detection
from ._vision import image_batch, image_processor, prepare_images, run_images
from .base import Pipeline
from .object_detection import bounding_box
from .zero_shot_image_classification import candidate_label_list


class ZeroShotObjectDetectionPipeline(Pipeline):
    """``pipe(images, candidate_labels, threshold=0.1, top_k=None, percentage=False)`` →
    ``[{"score", "label", "box"}]`` per image, best first (a list of those for a list of images).

    The labels are tokenized together (padded to the longest) and scored against every predicted box;
    each (box, label) pair whose sigmoid score is ``> threshold`` is kept, so a box may carry several
    labels. ``top_k`` keeps the best ones. ``batch_size`` is accepted for symmetry; images run one by one. Boxes are integer pixels of the original image (truncated, so
    they may be slightly negative or past the border) or fractions with ``percentage=True``; Owlv2's boxes
    are relative to the padded square, which the processor accounts for.
    """

    def __call__(self, images: Any, candidate_labels: Union[str, Sequence[str], None] = None, *,
                 threshold: float = 0.1, top_k: Optional[int] = None, percentage: bool = False,
                 batch_size: Optional[int] = None) -> list:
        inputs, is_batched = image_batch(images)
        labels = candidate_label_list(candidate_labels)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise InvalidInputError(f"threshold must be a number, got {threshold!r}")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise InvalidInputError(f"top_k must be a positive integer or None, got {top_k!r}")
        if self.tokenizer is None:
            raise InvalidInputError("zero-shot-object-detection needs the model's tokenizer")
        text_inputs = dict(self.tokenizer(labels, padding=True, truncation=True))
        prepared = prepare_images(inputs)
        processor = image_processor(self.processor)
        post = getattr(processor, "post_process_object_detection", None)
        results: list = [None] * len(inputs)
        # one image per run: OWL-ViT reads input_ids as [images * queries, length], so a batch of images
        # would need the queries repeated per image (Transformers.js also runs the images one by one)
        del batch_size
        for index, outputs, _ in run_images(self, prepared, 1, extra_inputs=text_inputs):
            if "logits" not in outputs or "pred_boxes" not in outputs:
                raise InvalidInputError(f"the model returned no logits/pred_boxes (outputs: {', '.join(outputs)})")
            logits = np.asarray(outputs["logits"])
            if logits.shape[-1] != len(labels):
                raise InvalidInputError(f"the model returned {logits.shape[-1]} scores per box for {len(labels)} labels")
            batch = {"logits": logits[None], "pred_boxes": np.asarray(outputs["pred_boxes"])[None]}
            sizes = None if percentage else [(prepared[index].height, prepared[index].width)]
            if callable(post):
                processed = post(batch, threshold, sizes)[0]
            else:
                processed = post_process_object_detection(batch, threshold, sizes, is_zero_shot=True)[0]
            found = [{"score": score, "label": labels[int(cls)], "box": bounding_box(box, not percentage)}
                     for box, cls, score in zip(processed["boxes"], processed["classes"], processed["scores"])]
            found.sort(key=lambda d: d["score"], reverse=True)
            results[index] = found[:top_k] if top_k is not None else found
        return results if is_batched else results[0]
