"""Post-processing helpers of Transformers.js' ``processors`` module (numpy in, plain Python out)."""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ...errors import InvalidInputError
from ...utils.maths import sigmoid, softmax


def center_to_corners_format(box: Sequence[float]) -> List[float]:
    """``[center_x, center_y, width, height]`` → ``[x_min, y_min, x_max, y_max]``."""
    cx, cy, w, h = box
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def post_process_object_detection(outputs: Mapping[str, Any], threshold: float = 0.5,
                                  target_sizes: Optional[Sequence[Tuple[int, int]]] = None,
                                  is_zero_shot: bool = False) -> List[dict]:
    """Boxes, classes and scores per image from ``logits`` ``[batch, boxes, classes]`` and
    ``pred_boxes`` ``[batch, boxes, 4]`` (relative centre format), as Transformers.js does:

    * DETR-style (default): a box whose most likely class is the last one ("no object") is dropped;
      otherwise it keeps that class when its softmax probability is ``>= threshold``;
    * zero-shot (OWL-ViT): every class whose sigmoid is ``> threshold``.

    Boxes become corners ``[x_min, y_min, x_max, y_max]``, relative, or in pixels when ``target_sizes``
    (``[[height, width], ...]``) is given. Returns ``[{"boxes", "classes", "scores"}]`` (lists).
    """
    logits = np.asarray(outputs["logits"], dtype=np.float32)
    boxes = np.asarray(outputs["pred_boxes"], dtype=np.float32)
    if logits.ndim != 3 or boxes.ndim != 3 or boxes.shape[-1] != 4 or boxes.shape[:2] != logits.shape[:2]:
        raise InvalidInputError(
            f"expected logits [batch, boxes, classes] and pred_boxes [batch, boxes, 4], got "
            f"{list(logits.shape)} and {list(boxes.shape)}")
    batch_size, _, num_classes = logits.shape
    if target_sizes is not None and len(target_sizes) != batch_size:
        raise InvalidInputError(
            "Make sure that you pass in as many target sizes as the batch dimension of the logits")
    results = []
    for i in range(batch_size):
        info: dict = {"boxes": [], "classes": [], "scores": []}
        if is_zero_shot:
            probs = sigmoid(logits[i])
            keep = [(j, k) for j, k in zip(*np.nonzero(probs > threshold))]
        else:
            best = np.argmax(logits[i], axis=-1)
            probs = softmax(logits[i].astype(np.float64), axis=-1).astype(np.float32)
            keep = [(j, int(best[j])) for j in range(logits.shape[1])
                    if best[j] != num_classes - 1 and probs[j, best[j]] >= threshold]
        for j, k in keep:
            corners = np.asarray(center_to_corners_format(boxes[i, j].astype(np.float64)))
            if target_sizes is not None:
                height, width = target_sizes[i]
                corners = corners * np.array([width, height, width, height], dtype=np.float64)
            info["boxes"].append([float(v) for v in corners])
            info["classes"].append(int(k))
            info["scores"].append(float(probs[j, k]))
        results.append(info)
    return results


def interpolate_bilinear(data: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resize the last two axes of ``data`` to ``size`` (height, width) by bilinear interpolation
    with ``align_corners=False`` and no antialiasing: ``torch.nn.functional.interpolate``'s (and
    Transformers.js' ``interpolate``) arithmetic, in float32."""
    data = np.asarray(data, dtype=np.float32)
    out_h, out_w = int(size[0]), int(size[1])
    in_h, in_w = data.shape[-2:]
    if out_h < 1 or out_w < 1:
        raise InvalidInputError(f"interpolation size must be positive, got {size}")

    def axis(n_out: int, n_in: int):
        scale = np.float32(n_in / n_out)
        src = (np.arange(n_out, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
        src = np.maximum(src, np.float32(0))
        i0 = np.minimum(src.astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        w1 = (src - i0.astype(np.float32)).astype(np.float32)
        return i0, i1, np.float32(1) - w1, w1

    y0, y1, wy0, wy1 = axis(out_h, in_h)
    x0, x1, wx0, wx1 = axis(out_w, in_w)
    # torch's order of operations: along x within the two source rows, then along y
    top, bottom = data[..., y0, :], data[..., y1, :]
    top = top[..., x0] * wx0 + top[..., x1] * wx1
    bottom = bottom[..., x0] * wx0 + bottom[..., x1] * wx1
    return (wy0[:, None] * top + wy1[:, None] * bottom).astype(np.float32)


def post_process_semantic_segmentation(outputs: Mapping[str, Any],
                                       target_sizes: Optional[Sequence[Tuple[int, int]]] = None) -> List[dict]:
    """Per image: ``{"segmentation": int32 [height, width] class ids, "labels": sorted ids present}`` from
    ``logits`` ``[batch, classes, h, w]``, resized bilinearly to ``target_sizes`` (``[[height, width]]``)
    first when given (Transformers.js' ``post_process_semantic_segmentation``; ties go to the lower id)."""
    logits = np.asarray(outputs["logits"], dtype=np.float32)
    if logits.ndim != 4:
        raise InvalidInputError(f"expected logits [batch, classes, height, width], got {list(logits.shape)}")
    if target_sizes is not None and len(target_sizes) != logits.shape[0]:
        raise InvalidInputError(
            "Make sure that you pass in as many target sizes as the batch dimension of the logits")
    results = []
    for i in range(logits.shape[0]):
        data = logits[i]
        if target_sizes is not None:
            data = interpolate_bilinear(data, tuple(target_sizes[i]))
        segmentation = np.argmax(data, axis=0).astype(np.int32)
        results.append({"segmentation": segmentation, "labels": [int(v) for v in np.unique(segmentation)]})
    return results


def _softmax_f32(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def remove_low_and_no_objects(class_logits: np.ndarray, mask_logits: np.ndarray, object_mask_threshold: float,
                              num_labels: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the queries whose best class (softmax over every class, "no object" included) is a real class
    with probability ``> object_mask_threshold``: (masks, scores, labels) of those queries."""
    probs = _softmax_f32(class_logits)
    labels = probs.argmax(-1)
    scores = probs.max(-1)
    keep = (labels != num_labels) & (scores > object_mask_threshold)
    return mask_logits[keep], scores[keep], labels[keep]


def compute_segments(mask_probs: np.ndarray, pred_scores: np.ndarray, pred_labels: np.ndarray,
                     mask_threshold: float, overlap_mask_area_threshold: float,
                     label_ids_to_fuse: Optional[Sequence[int]] = None,
                     target_size: Optional[Tuple[int, int]] = None) -> Tuple[np.ndarray, List[dict]]:
    """``transformers``' ``compute_segments``: each pixel goes to the query with the highest
    ``mask probability * score``; a query becomes a segment when it owns pixels and at least
    ``overlap_mask_area_threshold`` of its own ``>= mask_threshold`` area is still its own. Queries of a class
    in ``label_ids_to_fuse`` share one segment id. Pixels of no segment are 0; ids start at 1."""
    if target_size is not None:
        mask_probs = interpolate_bilinear(mask_probs, (int(target_size[0]), int(target_size[1])))
    height, width = mask_probs.shape[-2:]
    segmentation = np.zeros((height, width), dtype=np.int32)
    segments: List[dict] = []
    if mask_probs.shape[0] == 0:
        return segmentation, segments
    weighted = (mask_probs * pred_scores.astype(np.float32)[:, None, None]).astype(np.float32)
    mask_labels = weighted.argmax(0)  # ties go to the first query, as torch's argmax
    fuse = set(int(v) for v in (label_ids_to_fuse or ()))
    stuff: dict = {}
    current = 0
    for k in range(pred_labels.shape[0]):
        label = int(pred_labels[k])
        mask_k = mask_labels == k
        area = int(mask_k.sum())
        original_area = int((weighted[k] >= mask_threshold).sum())
        # torch divides the two int64 counts into a float32 (28/35 → 0.8000000119 > 0.8): the same here
        if not (area > 0 and original_area > 0
                and float(np.float32(area) / np.float32(original_area)) > overlap_mask_area_threshold):
            continue
        if label in stuff:
            current_id = stuff[label]
        else:
            current += 1
            current_id = current
        segmentation[mask_k] = current_id
        segments.append({"id": current_id, "label_id": label, "was_fused": label in fuse,
                         "score": round(float(pred_scores[k]), 6)})
        if label in fuse:
            stuff[label] = current_id
    return segmentation, segments


def post_process_panoptic_segmentation(outputs: Mapping[str, Any], threshold: float = 0.5, mask_threshold: float = 0.5,
                                       overlap_mask_area_threshold: float = 0.8,
                                       label_ids_to_fuse: Optional[Sequence[int]] = None,
                                       target_sizes: Optional[Sequence[Tuple[int, int]]] = None) -> List[dict]:
    """Panoptic segmentation from ``logits`` (or ``class_queries_logits``) ``[batch, queries, labels + 1]``
    and ``pred_masks`` (or ``masks_queries_logits``) ``[batch, queries, h, w]`` (DETR / MaskFormer outputs),
    as ``transformers``' DETR post-processing and Transformers.js do. Per image:
    ``{"segmentation": int32 [height, width] segment ids, "segments_info": [{"id", "label_id", "was_fused", "score"}]}``,
    at ``target_sizes[i]`` (``[height, width]``) when given, else at the masks' resolution. With no query
    left, the map is all -1."""
    logits, masks = _query_outputs(outputs, "panoptic/instance segmentation")
    batch, _, num_labels = logits.shape
    num_labels -= 1  # the last class is "no object"
    if target_sizes is not None and len(target_sizes) != batch:
        raise InvalidInputError("Make sure that you pass in as many target sizes as the batch dimension of the logits")
    mask_probs = (1.0 / (1.0 + np.exp(-masks))).astype(np.float32)
    results = []
    for i in range(batch):
        target = None if target_sizes is None else tuple(int(v) for v in target_sizes[i])
        probs, scores, labels = remove_low_and_no_objects(logits[i], mask_probs[i], threshold, num_labels)
        if probs.shape[0] == 0:
            height, width = target if target is not None else masks.shape[-2:]
            results.append({"segmentation": np.full((height, width), -1, np.int32), "segments_info": []})
            continue
        segmentation, segments = compute_segments(probs, scores, labels, mask_threshold, overlap_mask_area_threshold,
                                                  label_ids_to_fuse, target)
        results.append({"segmentation": segmentation, "segments_info": segments})
    return results


def post_process_instance_segmentation(outputs: Mapping[str, Any], threshold: float = 0.5, mask_threshold: float = 0.5,
                                       overlap_mask_area_threshold: float = 0.8,
                                       target_sizes: Optional[Sequence[Tuple[int, int]]] = None) -> List[dict]:
    """Instance segmentation (DETR's rule): panoptic segmentation where no class is fused, so every query
    that survives is its own segment."""
    return post_process_panoptic_segmentation(outputs, threshold, mask_threshold, overlap_mask_area_threshold,
                                              None, target_sizes)


# ------------------------------------------------------------------------------------------------
# MaskFormer / Mask2Former (class queries × mask queries)


def interpolate_nearest(data: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resize the last two axes of ``data`` to ``size`` (height, width) by nearest neighbour, with
    ``torch.nn.functional.interpolate(mode="nearest")``'s index arithmetic (float32 scale, floor; exact
    copies for the same size and for ×2)."""
    data = np.asarray(data)
    out_h, out_w = int(size[0]), int(size[1])
    if out_h < 1 or out_w < 1:
        raise InvalidInputError(f"interpolation size must be positive, got {size}")
    in_h, in_w = data.shape[-2:]

    def index(n_out: int, n_in: int) -> np.ndarray:
        if n_out == n_in:
            return np.arange(n_out)
        if n_out == 2 * n_in:
            return np.arange(n_out) >> 1
        scale = np.float32(np.float32(n_in) / np.float32(n_out))
        src = np.floor(np.arange(n_out, dtype=np.float32) * scale).astype(np.int64)
        return np.minimum(src, n_in - 1)

    return data[..., index(out_h, in_h)[:, None], index(out_w, in_w)[None, :]]


def _query_outputs(outputs: Mapping[str, Any], task: str) -> Tuple[np.ndarray, np.ndarray]:
    """The per-query class logits ``[batch, queries, labels + 1]`` and mask logits ``[batch, queries, h, w]``
    of a DETR (``logits``, ``pred_masks``) or MaskFormer (``class_queries_logits``, ``masks_queries_logits``)
    output, as float32, checked."""
    logits = outputs.get("class_queries_logits", outputs.get("logits"))
    masks = outputs.get("masks_queries_logits", outputs.get("pred_masks"))
    if logits is None or masks is None:
        raise InvalidInputError(f"{task} needs logits (class_queries_logits) and pred_masks "
                                f"(masks_queries_logits); got {', '.join(outputs)}")
    logits = np.asarray(logits, dtype=np.float32)
    masks = np.asarray(masks, dtype=np.float32)
    if logits.ndim != 3 or masks.ndim != 4 or masks.shape[:2] != logits.shape[:2]:
        raise InvalidInputError(f"expected logits [batch, queries, labels + 1] and masks [batch, queries, h, w], "
                                f"got {list(logits.shape)} and {list(masks.shape)}")
    return logits, masks


def _maskformer_outputs(outputs: Mapping[str, Any], mask_size: Optional[Tuple[int, int]]) -> Tuple[np.ndarray, np.ndarray]:
    logits, masks = _query_outputs(outputs, "MaskFormer post-processing")
    if logits.shape[-1] < 2:
        raise InvalidInputError("class_queries_logits needs at least one class besides \"no object\"")
    if mask_size is not None:  # Mask2Former: back to the 384x384 the masks were trained at
        masks = interpolate_bilinear(masks, mask_size)
    return logits, masks


def _sigmoid_f32(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)


def _check_targets(target_sizes: Optional[Sequence[Tuple[int, int]]], batch: int) -> None:
    if target_sizes is not None and len(target_sizes) != batch:
        raise InvalidInputError("Make sure that you pass in as many target sizes as the batch dimension of the logits")


def post_process_maskformer_semantic_segmentation(outputs: Mapping[str, Any],
                                                  target_sizes: Optional[Sequence[Tuple[int, int]]] = None,
                                                  mask_size: Optional[Tuple[int, int]] = None) -> List[dict]:
    """``transformers``' MaskFormer / Mask2Former semantic segmentation: per pixel, the class ``c`` maximizing
    ``sum_q softmax(class_queries_logits)[q, c] * sigmoid(masks_queries_logits)[q]`` ("no object" dropped),
    after bilinear resizing of those class maps to ``target_sizes[i]`` when given. ``mask_size`` (Mask2Former:
    384²) first resizes the mask logits. Per image ``{"segmentation": int32 [h, w], "labels": sorted ids}``."""
    logits, masks = _maskformer_outputs(outputs, mask_size)
    _check_targets(target_sizes, logits.shape[0])
    classes = _softmax_f32(logits)[..., :-1]
    probs = _sigmoid_f32(masks)
    results = []
    for i in range(logits.shape[0]):
        # einsum("qc,qhw->chw") as one matrix product, float32 like torch's
        q, h, w = probs[i].shape
        maps = (classes[i].T @ probs[i].reshape(q, h * w)).reshape(-1, h, w).astype(np.float32)
        if target_sizes is not None:
            maps = interpolate_bilinear(maps, tuple(int(v) for v in target_sizes[i]))
        segmentation = np.argmax(maps, axis=0).astype(np.int32)
        results.append({"segmentation": segmentation, "labels": [int(v) for v in np.unique(segmentation)]})
    return results


def post_process_maskformer_instance_segmentation(outputs: Mapping[str, Any], threshold: float = 0.5,
                                                  mask_threshold: float = 0.5, overlap_mask_area_threshold: float = 0.8,
                                                  target_sizes: Optional[Sequence[Tuple[int, int]]] = None,
                                                  mask_size: Optional[Tuple[int, int]] = None) -> List[dict]:
    """``transformers``' MaskFormer / Mask2Former instance segmentation (``mask_threshold`` and
    ``overlap_mask_area_threshold`` are accepted and unused, as there):

    * the ``num_queries`` best (query, class) pairs of ``softmax(class_queries_logits)`` ("no object"
      dropped), in ``torch.topk(sorted=False)``'s order (see :mod:`._torch_topk`), each query possibly
      several times with different classes;
    * each pair's binary mask is ``mask_logits > 0``; its score is the class probability × the mean mask
      probability over that mask;
    * masks are resized by nearest neighbour to ``target_sizes[i]``; walking the pairs in order, each with a
      non-empty mask and ``score >= threshold`` becomes segment ``0, 1, …`` and paints its pixels (later ones
      overwrite earlier ones). Pixels of no segment are -1.

    Per image ``{"segmentation": int32 [h, w], "segments_info": [{"id", "label_id", "was_fused", "score"}]}``.
    """
    from ._torch_topk import topk_unsorted_indices

    logits, masks = _maskformer_outputs(outputs, mask_size)
    _check_targets(target_sizes, logits.shape[0])
    batch, num_queries, num_labels = logits.shape
    num_classes = num_labels - 1
    results = []
    for i in range(batch):
        scores = _softmax_f32(logits[i])[:, :-1].reshape(-1)
        top = np.asarray(topk_unsorted_indices(scores, num_queries), dtype=np.int64)
        top_scores = scores[top]
        labels = top % num_classes
        mask_logits = masks[i][top // num_classes]
        binary = (mask_logits > 0).astype(np.float32)
        flat = binary.reshape(num_queries, -1)
        mask_scores = ((_sigmoid_f32(mask_logits).reshape(num_queries, -1) * flat).sum(1, dtype=np.float32)
                       / (flat.sum(1, dtype=np.float32) + np.float32(1e-6))).astype(np.float32)
        pred_scores = (top_scores * mask_scores).astype(np.float32)
        if target_sizes is not None:
            binary = interpolate_nearest(binary, tuple(int(v) for v in target_sizes[i]))
        segmentation = np.full(binary.shape[-2:], -1, dtype=np.int32)
        segments: List[dict] = []
        for j in range(num_queries):
            score = float(pred_scores[j])
            painted = binary[j] == 1
            if painted.any() and score >= threshold:
                segmentation[painted] = len(segments)
                segments.append({"id": len(segments), "label_id": int(labels[j]), "was_fused": False,
                                 "score": round(score, 6)})
        results.append({"segmentation": segmentation, "segments_info": segments})
    return results
