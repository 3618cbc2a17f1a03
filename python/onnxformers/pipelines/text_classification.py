"""text-classification (alias sentiment-analysis)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..utils.maths import sigmoid, softmax
from .base import Pipeline, chunks, text_batch

_FUNCTIONS = {"softmax": softmax, "sigmoid": sigmoid, "none": lambda x: x}


class TextClassificationPipeline(Pipeline):
    """``pipe(texts, top_k=1)`` → ``[{"label", "score"}]``.

    As in Transformers.js: ``top_k=1`` gives one flat list over the batch; a larger ``top_k`` (or
    ``None`` for every label) gives one list per input, unwrapped for a single string. Scores are a
    softmax, or a sigmoid when ``config.problem_type == "multi_label_classification"``.
    """

    def __call__(self, texts: Any, *, top_k: int | None = 1, function_to_apply: str | None = None,
                 batch_size: int | None = None) -> list:
        batch, is_list = text_batch(texts)
        if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0):
            raise InvalidInputError(f"top_k must be a non-negative integer or None, got {top_k!r}")
        func = self._function(function_to_apply)
        config = self.model.config
        id2label = config.id2label or {}
        results: list = []
        for _, part in chunks(batch, batch_size):
            if not part:
                continue
            inputs = self.tokenizer(part, padding=True, truncation=True)
            logits = self.model(**inputs)["logits"]
            scores = func(logits.astype(np.float64))
            for row in scores:
                k = len(row) if top_k is None else min(top_k, len(row))
                order = np.argsort(-row, kind="stable")[:k]
                items = [{"label": id2label.get(int(i), f"LABEL_{int(i)}"), "score": float(row[i])}
                         for i in order]
                if top_k == 1:
                    results.extend(items)
                else:
                    results.append(items)
        return results if is_list or top_k == 1 else results[0]

    def _function(self, name: str | None):
        if name is None:
            multi = getattr(self.model.config, "problem_type", None) == "multi_label_classification"
            name = "sigmoid" if multi else "softmax"
        try:
            return _FUNCTIONS[name]
        except KeyError:
            raise InvalidInputError(
                f"function_to_apply must be one of {', '.join(_FUNCTIONS)}, got {name!r}") from None
