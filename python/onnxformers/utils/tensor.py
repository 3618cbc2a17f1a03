"""Tensor helpers from Transformers.js utils/tensor, on numpy arrays."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError


def mean_pooling(last_hidden_state: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Mean over the tokens the attention mask keeps: ``[B, T, H]`` → ``[B, H]``."""
    mask = np.asarray(attention_mask)[..., None].astype(last_hidden_state.dtype)
    summed = (last_hidden_state * mask).sum(axis=1)
    counts = np.maximum(mask.sum(axis=1), 1e-9)  # an all-padding row gives zeros, not NaN
    return summed / counts


def normalize(x: np.ndarray, p: float = 2, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    norm = np.linalg.norm(x, ord=p, axis=axis, keepdims=True)
    return x / np.maximum(norm, eps)


def quantize_embeddings(x: np.ndarray, precision: str = "binary") -> np.ndarray:
    """Pack the sign bits of the last axis (sentence-transformers' binary quantization):
    ``ubinary`` → uint8, ``binary`` → int8 (the packed byte minus 128)."""
    if precision not in ("binary", "ubinary"):
        raise InvalidInputError(f"precision must be 'binary' or 'ubinary', got {precision!r}")
    if x.shape[-1] % 8:
        raise InvalidInputError(
            f"quantize needs the last dimension to be a multiple of 8, got {x.shape[-1]}")
    packed = np.packbits(x > 0, axis=-1)
    if precision == "ubinary":
        return packed
    return (packed.astype(np.int16) - 128).astype(np.int8)
