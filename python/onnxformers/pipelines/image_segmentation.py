"""image-segmentation: panoptic and instance (DETR: logits + pred_masks; MaskFormer: class_queries_logits +
masks_queries_logits) and semantic (Segformer…, MaskFormer)."""

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


def _offers(processor: Any, subtask: str) -> bool:
    return callable(getattr(processor, _SUBTASKS[subtask], None))


class ImageSegmentationPipeline(Pipeline):
    """``pipe(images, threshold=0.5, mask_threshold=0.5, overlap_mask_area_threshold=0.8,
    label_ids_to_fuse=None, target_sizes=None, subtask=None)`` → ``[{"label", "score", "mask"}]`` per image
    (a list of those for a list of images); ``mask`` is a 1-channel RawImage, 255 inside the segment.

    ``subtask`` None picks the first of panoptic, instance, semantic that the model's processor offers,
    as Transformers.js does.

    * panoptic / instance (DETR, from ``logits`` and ``pred_masks``): queries whose best class is real with
      probability ``> threshold``; each pixel goes to the query with the highest mask probability × score;
      a query is a segment when ``> overlap_mask_area_threshold`` of its ``>= mask_threshold`` area survives;
      panoptic fuses the queries of each class in ``label_ids_to_fuse`` into one segment. ``score`` is the
      query's class probability. One entry per segment, in segment order.
    * instance with MaskFormer / Mask2Former: ``transformers``' per-class top-k rule instead (see
      ``MaskFormerImageProcessor.post_process_instance_segmentation``).
    * semantic (Segformer…): logits resized bilinearly, best class per pixel; one entry per class present,
      in class-id order, ``score`` None. MaskFormer: class × mask probabilities summed over queries first.

    Masks are at the image size, or ``target_sizes[i]`` (``[height, width]``) when given.
    """

    def __call__(self, images: Any, *, threshold: float = 0.5, mask_threshold: float = 0.5,
                 overlap_mask_area_threshold: float = 0.8, label_ids_to_fuse: Optional[Sequence[int]] = None,
                 target_sizes: Optional[Sequence[Sequence[int]]] = None, subtask: Optional[str] = None,
                 batch_size: Optional[int] = None) -> list:
        inputs, is_batched = image_batch(images)
        processor = image_processor(self.processor)
        if subtask is None:
            subtask = next((name for name in _SUBTASKS if _offers(processor, name)), None)
            if subtask is None:
                raise NotImplementedYetError(
                    f"{type(processor).__name__} has no segmentation post-processing in onnxformers yet")
        elif subtask not in _SUBTASKS:
            raise InvalidInputError(f"Subtask {subtask!r} not supported (use panoptic, instance or semantic)")
        elif not _offers(processor, subtask):
            raise InvalidInputError(f"{type(processor).__name__} does not support {subtask} segmentation "
                                    f"(it offers: {', '.join(n for n in _SUBTASKS if _offers(processor, n)) or 'none'})")
        for name, value in (("threshold", threshold), ("mask_threshold", mask_threshold),
                            ("overlap_mask_area_threshold", overlap_mask_area_threshold)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidInputError(f"{name} must be a number, got {value!r}")
        if target_sizes is not None and len(target_sizes) != len(inputs):
            raise InvalidInputError(f"target_sizes has {len(target_sizes)} entries for {len(inputs)} image(s)")
        prepared = prepare_images(inputs)
        id2label = getattr(self.model.config, "id2label", None) or {}
        results: list = [None] * len(inputs)
        for index, outputs, _ in run_images(self, prepared, batch_size):
            size = tuple(int(v) for v in target_sizes[index]) if target_sizes is not None else (
                prepared[index].height, prepared[index].width)
            batch = {k: v[None] for k, v in outputs.items() if isinstance(v, np.ndarray)}
            if subtask == "semantic":
                # per-pixel logits (Segformer…) or class + mask queries (MaskFormer)
                if "logits" not in batch and "class_queries_logits" not in batch:
                    raise InvalidInputError(f"the model returned no logits (outputs: {', '.join(outputs)})")
                processed = processor.post_process_semantic_segmentation(batch, [size])[0]
                results[index] = [
                    {"score": None, "label": id2label.get(label, f"LABEL_{label}"),
                     "mask": _mask(processed["segmentation"], label)}
                    for label in processed["labels"]
                ]
                continue
            fn = getattr(processor, _SUBTASKS[subtask])
            if subtask == "panoptic":
                processed = fn(batch, threshold, mask_threshold, overlap_mask_area_threshold, label_ids_to_fuse, [size])[0]
            else:
                processed = fn(batch, threshold, mask_threshold, overlap_mask_area_threshold, [size])[0]
            results[index] = [
                {"score": segment["score"], "label": id2label.get(segment["label_id"], f"LABEL_{segment['label_id']}"),
                 "mask": _mask(processed["segmentation"], segment["id"])}
                for segment in processed["segments_info"]
            ]
        return results if is_batched else results[0]


def _mask(segmentation: np.ndarray, value: int) -> RawImage:
    return RawImage._wrap((segmentation == value).astype(np.uint8)[:, :, None] * np.uint8(255))


__all__: List[str] = ["ImageSegmentationPipeline"]
