"""image-to-image (super-resolution: Swin2SR)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..errors import InvalidInputError
from ..utils.image import RawImage
from ._vision import image_batch, prepare_images, run_images
from .base import Pipeline


class ImageToImagePipeline(Pipeline):
    """``pipe(images)`` → a RawImage per image (a list for a list): the model's ``reconstruction``
    clamped to [0, 1], times 255, rounded to uint8 (Transformers.js' and ``transformers``' recipe). The
    output keeps whatever padding the processor added (Swin2SR pads to a multiple of its window)."""

    def __call__(self, images: Any, *, batch_size: Optional[int] = None):
        inputs, is_batched = image_batch(images)
        results: list = [None] * len(inputs)
        for index, outputs, _ in run_images(self, prepare_images(inputs), batch_size):
            if "reconstruction" not in outputs:
                raise InvalidInputError(f"the model returned no reconstruction (outputs: {', '.join(outputs)})")
            image = np.asarray(outputs["reconstruction"], dtype=np.float32)
            while image.ndim > 3 and image.shape[0] == 1:
                image = image[0]
            if image.ndim != 3:
                raise InvalidInputError(f"reconstruction has an unexpected shape {list(image.shape)}")
            pixels = np.rint(np.clip(image, 0, 1) * np.float32(255)).astype(np.uint8)
            results[index] = RawImage.from_tensor(pixels)
        return results if is_batched else results[0]
