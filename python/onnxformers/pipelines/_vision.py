"""Shared plumbing of the image pipelines: input normalisation (Transformers.js ``prepareImages``) and
running the model over preprocessed images in batches of equal shape."""

from __future__ import annotations

import os
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InvalidInputError
from ..utils.image import RawImage


def image_batch(inputs: Any) -> Tuple[List[Any], bool]:
    """(list of image inputs, whether the caller passed a batch). A list or tuple is a batch (each item
    a path, URL, bytes, PIL image, array or RawImage); a 4-D array is a batch of HWC images."""
    if isinstance(inputs, (list, tuple)):
        if not inputs:
            raise InvalidInputError("no images given (empty list)")
        return list(inputs), True
    if isinstance(inputs, np.ndarray) and inputs.ndim == 4:
        return list(inputs), True
    if inputs is None:
        raise InvalidInputError("no image given (None)")
    return [inputs], False


def prepare_images(inputs: Sequence[Any]) -> List[RawImage]:
    """Read every input as a RawImage (on the image thread pool: Pillow releases the GIL while it
    decodes); errors say which item of a batch failed."""
    from ..processors.image.base import _executor, get_num_threads

    def read(item: Any) -> Any:
        try:
            return RawImage.read(item)
        except InvalidInputError as exc:
            return exc

    if len(inputs) > 1 and get_num_threads() > 1:
        images = list(_executor().map(read, inputs))
    else:
        images = [read(item) for item in inputs]
    for i, image in enumerate(images):
        if isinstance(image, InvalidInputError):
            if len(inputs) == 1:
                raise image
            raise InvalidInputError(f"image {i} of the batch: {image}") from image
    return images


def image_processor(processor: Any) -> Any:
    """The image processor inside a Processor wrapper (``processor.image_processor``), or itself."""
    return getattr(processor, "image_processor", None) or processor


def check_batch_size(batch_size: Optional[int]) -> Optional[int]:
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(f"batch_size must be a positive integer, got {batch_size!r}")
    return batch_size


def run_images(pipe: Any, images: List[RawImage], batch_size: Optional[int] = None,
               extra_inputs: Optional[dict] = None) -> Iterator[Tuple[int, dict, dict]]:
    """Preprocess ``images`` and run the model on runs of consecutive images whose pixel arrays have
    the same shape (at most ``batch_size`` at a time; all of a run when None). Yields
    ``(index, outputs_for_that_image, processor_outputs_for_that_image)`` in input order, each output
    with its batch axis removed. Grouping by shape means no image is ever padded for another one, so a
    batched call returns what single calls return."""
    processor = image_processor(pipe.processor)
    batch_size = check_batch_size(batch_size)
    many = getattr(processor, "preprocess_many", None)
    prepared = many(images) if many is not None else [processor.preprocess(image) for image in images]
    start = 0
    while start < len(prepared):
        shape = prepared[start].pixel_values.shape
        stop = start + 1
        while stop < len(prepared) and prepared[stop].pixel_values.shape == shape \
                and (batch_size is None or stop - start < batch_size):
            stop += 1
        group = prepared[start:stop]
        inputs = processor.collate(group, processor.options)
        outputs = pipe.model(**inputs, **(extra_inputs or {}))
        for offset in range(len(group)):
            per_image = {k: v[offset] if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == len(group)
                         else v for k, v in outputs.items()}
            per_inputs = {k: v[offset] for k, v in inputs.items()}
            yield start + offset, per_image, per_inputs
        start = stop


def is_image_like(value: Any) -> bool:
    """Whether ``value`` looks like one image input (used to tell a batch from a label list)."""
    if isinstance(value, (RawImage, bytes, bytearray, memoryview, os.PathLike, np.ndarray)):
        return True
    if isinstance(value, str):
        return True
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        return False
    return isinstance(value, Image.Image)
