"""depth-estimation (DPT, GLPN, Depth Anything…)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..errors import InvalidInputError
from ..processors.image.post_processing import interpolate_bilinear
from ..utils.image import RawImage
from ._vision import image_batch, prepare_images, run_images
from .base import Pipeline


class DepthEstimationPipeline(Pipeline):
    """``pipe(images)`` → ``{"predicted_depth", "depth"}`` per image (a list of those for a list).

    ``predicted_depth`` is the model's raw float32 map ``[height', width']``; ``depth`` is a 1-channel
    RawImage at the input's size: the map resized bilinearly (``align_corners=False``), scaled by
    ``255 / max`` and truncated to uint8, as Transformers.js does (negative values clip to 0; an
    all-zero map gives a black image).
    """

    def __call__(self, images: Any, *, batch_size: Optional[int] = None):
        inputs, is_batched = image_batch(images)
        prepared = prepare_images(inputs)
        results: list = [None] * len(inputs)
        for index, outputs, _ in run_images(self, prepared, batch_size):
            if "predicted_depth" not in outputs:
                raise InvalidInputError(
                    f"the model returned no predicted_depth (outputs: {', '.join(outputs)})")
            depth = np.asarray(outputs["predicted_depth"], dtype=np.float32)
            while depth.ndim > 2 and depth.shape[0] == 1:
                depth = depth[0]
            if depth.ndim != 2:
                raise InvalidInputError(f"predicted_depth has an unexpected shape {list(depth.shape)}")
            image = prepared[index]
            results[index] = {"predicted_depth": depth, "depth": depth_image(depth, image.height, image.width)}
        return results if is_batched else results[0]


def depth_image(depth: np.ndarray, height: int, width: int) -> RawImage:
    prediction = interpolate_bilinear(depth, (height, width))
    peak = float(prediction.max())
    if not np.isfinite(peak) or peak <= 0:
        scaled = np.zeros_like(prediction)
    else:
        # the product in double, stored as float32, then truncated (Transformers.js' mul_ + to('uint8'))
        scaled = (prediction.astype(np.float64) * (255 / peak)).astype(np.float32)
    pixels = np.clip(scaled, 0, 255).astype(np.uint8)  # astype truncates, like Tensor.to('uint8')
    return RawImage._wrap(pixels[:, :, None])
