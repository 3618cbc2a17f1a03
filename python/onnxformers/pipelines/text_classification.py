"""text-classification (alias sentiment-analysis)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..errors import InvalidInputError
from ..utils.maths import sigmoid, softmax
from .base import Pipeline, chunks, text_batch

_FUNCTIONS = {"softmax": softmax, "sigmoid": sigmoid, "none": lambda x: x}


class TextClassificationPipeline(Pipeline):
    """``pipe(texts, top_k=1)`` → ``[{"label", "score"}]``.

    As in Transformers.js: ``top_k=1`` gives one flat list over the batch; a larger ``top_k`` (or
    ``None`` for every label) gives one list per input, unwrapped for a single string. Scores are a
    softmax, or a sigmoid when ``config.problem_type == "multi_label_classification"``;
    ``function_to_apply`` ("softmax", "sigmoid", "none") overrides that.

    Text pairs (an extension from Python ``transformers``, e.g. for NLI or cross-encoders): pass
    ``{"text": ..., "text_pair": ...}`` (one input) or a list of such dicts; the pair is encoded as
    one sequence pair (``[CLS] text [SEP] text_pair [SEP]``), truncated longest-first to the model
    limit.
    """

    def __call__(self, texts: Any, *, top_k: int | None = 1, function_to_apply: str | None = None,
                 batch_size: int | None = None) -> list:
        batch, pairs, is_list = _inputs(texts)
        if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0):
            raise InvalidInputError(f"top_k must be a non-negative integer or None, got {top_k!r}")
        func = self._function(function_to_apply)
        config = self.model.config
        id2label = config.id2label or {}
        results: list = []
        for start, part in chunks(batch, batch_size):
            if not part:
                continue
            part_pairs = None if pairs is None else pairs[start:start + len(part)]
            inputs = self.tokenizer(part, part_pairs, padding=True, truncation=True)
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


def _inputs(inputs: Any) -> tuple[list[str], list[str] | None, bool]:
    """(texts, text pairs or None, whether the caller passed a list)."""
    if isinstance(inputs, Mapping):
        return *_pair_lists([inputs]), False
    if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(x, Mapping) for x in inputs):
        return *_pair_lists(inputs), True
    if isinstance(inputs, (list, tuple)) and any(isinstance(x, Mapping) for x in inputs):
        raise InvalidInputError("a batch must be all strings or all {'text', 'text_pair'} dicts")
    texts, is_list = text_batch(inputs)
    return texts, None, is_list


def _pair_lists(items) -> tuple[list[str], list[str]]:
    texts, pairs = [], []
    for i, item in enumerate(items):
        if set(item) != {"text", "text_pair"}:
            raise InvalidInputError(
                f"input {i}: a text-pair input is a dict with exactly the keys 'text' and "
                f"'text_pair', got {sorted(item)}")
        for key in ("text", "text_pair"):
            if not isinstance(item[key], str):
                raise InvalidInputError(f"input {i}: {key!r} must be a string, got "
                                        f"{type(item[key]).__name__}")
        texts.append(item["text"])
        pairs.append(item["text_pair"])
    return texts, pairs
