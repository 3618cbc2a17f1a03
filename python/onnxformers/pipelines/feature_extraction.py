"""feature-extraction (alias embeddings)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..utils.tensor import mean_pooling, normalize, quantize_embeddings
from .base import Pipeline, chunks, text_batch


class FeatureExtractionPipeline(Pipeline):
    """``pipe(texts, pooling="none"|"mean"|"cls", normalize=False, quantize=False,
    precision="binary"|"ubinary")`` → numpy array ``[batch, tokens, hidden]`` or, pooled,
    ``[batch, hidden]`` (``[batch, hidden/8]`` int8/uint8 when quantized). A single string gives a
    batch of one, as the Tensor of Transformers.js does."""

    def __call__(self, texts: Any, *, pooling: str = "none", normalize: bool = False,
                 quantize: bool = False, precision: str = "binary",
                 batch_size: int | None = None) -> np.ndarray:
        batch, _ = text_batch(texts)
        if pooling not in ("none", "mean", "cls"):
            raise InvalidInputError(f"pooling must be 'none', 'mean' or 'cls', got {pooling!r}")
        if precision not in ("binary", "ubinary"):
            raise InvalidInputError(f"precision must be 'binary' or 'ubinary', got {precision!r}")
        if pooling == "none" and batch_size is not None:
            raise InvalidInputError("batch_size needs pooling: unpooled outputs of different "
                                    "batches have different sequence lengths")
        parts = [self._embed(part, pooling, normalize)
                 for _, part in chunks(batch, batch_size) if part]
        if not parts:
            hidden = getattr(self.model.config, "hidden_size", 0) or 0
            return np.zeros((0, hidden) if pooling != "none" else (0, 0, hidden), dtype=np.float32)
        result = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        if quantize:
            result = quantize_embeddings(result, precision)
        return result

    def _embed(self, texts: list[str], pooling: str, do_normalize: bool) -> np.ndarray:
        inputs = self.tokenizer(texts, padding=True, truncation=True)
        outputs = self.model(**inputs)
        for name in ("last_hidden_state", "logits", "token_embeddings"):
            if name in outputs:
                hidden = outputs[name]
                break
        else:
            hidden = next(iter(outputs.values()))
        if pooling == "mean":
            hidden = mean_pooling(hidden, inputs["attention_mask"])
        elif pooling == "cls":
            hidden = hidden[:, 0]
        if do_normalize:
            hidden = normalize(hidden, axis=-1)
        return np.ascontiguousarray(hidden, dtype=np.float32)
