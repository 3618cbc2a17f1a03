"""image-segmentation (semantic segmentation models: Segformer…)."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

import numpy as np

from ..errors import InvalidInputError, NotImplementedYetError
from ..utils.image import RawImage
from ._vision import image_batch, image_processor, prepare_images, run_images
from .base import Pipeline

_SUBTASKS = {
    "panoptic": "post_process_panoptic_segmentation",
    "instance": "post_process_instance_segmentation",
    "semantic": "post_process_semantic_segmentation",
}


class ImageSegmentationPipeline(Pipeline):
    """``pipe(images, subtask=None, target_sizes=None)`` → ``[{"label", "score", "mask"}]`` per image (a
    list of those for a list of images).

    ``subtask`` None picks the first of panoptic, instance, semantic that the model's processor offers,
    as Transformers.js does. Semantic segmentation (Segformer…) resizes the logits bilinearly to the
    image size (or ``target_sizes[i]``, ``[height, width]``), takes the best class per pixel and returns one
    entry per class present, in class-id order, with ``score`` None and ``mask`` a 1-channel RawImage (255
    on the class). Panoptic and instance post-processing (DETR, MaskFormer) are not implemented yet;
    ``threshold``, ``mask_threshold``, ``overlap_mask_area_threshold`` and ``label_ids_to_fuse`` belong to
    them and are accepted for compatibility.
    """

    def __call__(self, images: Any, *, threshold: float = 0.5, mask_threshold: float = 0.5,
                 overlap_mask_area_threshold: float = 0.8, label_ids_to_fuse: Optional[Sequence[int]] = None,
                 target_sizes: Optional[Sequence[Sequence[int]]] = None, subtask: Optional[str] = None,
                 batch_size: Optional[int] = None) -> list:
        inputs, is_batched = image_batch(images)
        processor = image_processor(self.processor)
        if subtask is None:
            subtask = next((name for name, fn in _SUBTASKS.items() if hasattr(processor, fn)), None)
            if subtask is None:
                raise NotImplementedYetError(
                    f"{type(processor).__name__} has no segmentation post-processing in onnxformers yet")
        elif subtask not in _SUBTASKS:
            raise InvalidInputError(f"Subtask {subtask!r} not supported (use panoptic, instance or semantic)")
        if subtask != "semantic" or not hasattr(processor, _SUBTASKS[subtask]):
            raise NotImplementedYetError(
                f"{subtask} segmentation with {type(processor).__name__} is not implemented in onnxformers yet")
        if target_sizes is not None and len(target_sizes) != len(inputs):
            raise InvalidInputError(f"target_sizes has {len(target_sizes)} entries for {len(inputs)} image(s)")
        prepared = prepare_images(inputs)
        id2label = getattr(self.model.config, "id2label", None) or {}
        results: list = [None] * len(inputs)
        for index, outputs, _ in run_images(self, prepared, batch_size):
            if "logits" not in outputs:
                raise InvalidInputError(f"the model returned no logits (outputs: {', '.join(outputs)})")
            size = tuple(target_sizes[index]) if target_sizes is not None else (prepared[index].height,
                                                                                 prepared[index].width)
            processed = processor.post_process_semantic_segmentation(
                {"logits": outputs["logits"][None]}, [size])[0]
            results[index] = [
                {"score": None, "label": id2label.get(label, f"LABEL_{label}"),
                 "mask": _mask(processed["segmentation"], label)}
                for label in processed["labels"]
            ]
        return results if is_batched else results[0]


def _mask(segmentation: np.ndarray, label: int) -> RawImage:
    return RawImage._wrap((segmentation == label).astype(np.uint8)[:, :, None] * np.uint8(255))


__all__: List[str] = ["ImageSegmentationPipeline"]
