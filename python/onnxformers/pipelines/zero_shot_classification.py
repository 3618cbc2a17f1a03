"""zero-shot-classification with an NLI (premise/hypothesis) sequence classifier."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError, TokenizerError, UnsupportedModelError
from .base import Pipeline, text_batch


class ZeroShotClassificationPipeline(Pipeline):
    """``pipe(texts, candidate_labels, hypothesis_template="This example is {}.",
    multi_label=False)`` → ``{"sequence", "labels", "scores"}`` (labels sorted by score; a list of
    such dicts for a list of texts).

    Each label becomes the hypothesis ``hypothesis_template.format(label)`` and every
    (text, hypothesis) pair of one text is classified in one batched session call, the text being
    truncated to fit (``only_first``), never the hypothesis. ``candidate_labels`` is a list or a
    comma-separated string. With ``multi_label=False`` the scores are a softmax of the entailment
    logits over the labels (they sum to 1); with ``multi_label=True`` (or a single label) each label
    gets the softmax of its (contradiction, entailment) logits.

    The model's ``config.label2id`` must name an entailment label (any case, e.g. ``ENTAILMENT``,
    ``entailment``); the contradiction label is looked up the same way (``contradiction``,
    ``not_entailment``). Python ``transformers`` takes the contradiction id to be 0 (or the last id
    when entailment is 0), which is used here only when no such label exists; Transformers.js
    3.0.0 looks both up by exact lowercase name and falls back to ids 2 and 0 with a warning, where
    this class raises :class:`~onnxformers.UnsupportedModelError` for a model without an entailment
    label. Unlike Transformers.js 3.0.0 (which does not split them), comma-separated labels are
    split as the docs and transformers describe.
    """

    def __call__(self, texts: Any, candidate_labels: Any = None, *,
                 hypothesis_template: str = "This example is {}.", multi_label: bool = False,
                 batch_size: int | None = None) -> Any:
        batch, is_list = text_batch(texts)
        labels = _parse_labels(candidate_labels)
        hypotheses = _hypotheses(hypothesis_template, labels)
        entailment, contradiction = self._nli_ids()
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size < 1):
            raise InvalidInputError(f"batch_size must be a positive integer, got {batch_size!r}")
        results = []
        for text in batch:
            logits = self._pair_logits(text, hypotheses, batch_size)
            if multi_label or len(labels) == 1:
                pair = logits[:, [contradiction, entailment]]
                scores = _softmax(pair)[:, 1]
            else:
                scores = _softmax(logits[:, entailment])
            order = sorted(range(len(labels)), key=lambda i: -scores[i])
            results.append({"sequence": text, "labels": [labels[i] for i in order],
                            "scores": [float(scores[i]) for i in order]})
        return results if is_list else results[0]

    def _nli_ids(self) -> tuple[int, int]:
        label2id = getattr(self.model.config, "label2id", None) or {}
        lowered = {str(k).lower(): int(v) for k, v in label2id.items()}
        entailment = next((v for k, v in lowered.items() if k.startswith("entail")), None)
        if entailment is None:
            raise UnsupportedModelError(
                "zero-shot-classification needs an NLI model whose config.label2id has an "
                f"'entailment' label; this model has {sorted(label2id) or 'none'}")
        contradiction = next((v for k, v in lowered.items()
                              if k.startswith("contradict") or k == "not_entailment"), None)
        if contradiction is None:  # transformers' rule
            contradiction = -1 if entailment == 0 else 0
        return entailment, contradiction

    def _pair_logits(self, text: str, hypotheses: list[str], batch_size: int | None) -> np.ndarray:
        tok = self.tokenizer
        size = batch_size or len(hypotheses)
        parts = []
        for lo in range(0, len(hypotheses), size):
            hyps = hypotheses[lo:lo + size]
            try:
                enc = tok([text] * len(hyps), hyps, padding=True, truncation="only_first")
            except TokenizerError as exc:
                # only the premise is truncated: a hypothesis alone over the limit cannot fit
                raise InvalidInputError(
                    f"a hypothesis does not fit in the model's {tok.model_max_length} tokens even "
                    f"with the text truncated; use shorter labels or hypothesis_template ({exc})"
                ) from exc
            parts.append(np.asarray(self.model(**enc)["logits"], dtype=np.float32))
        return np.concatenate(parts, axis=0)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _parse_labels(labels: Any) -> list[str]:
    if labels is None:
        raise InvalidInputError("zero-shot-classification needs candidate_labels (a list of labels "
                                "or a comma-separated string)")
    if isinstance(labels, str):
        labels = [label.strip() for label in labels.split(",") if label.strip()]
    elif isinstance(labels, (list, tuple)):
        if not all(isinstance(label, str) for label in labels):
            raise InvalidInputError(f"candidate_labels must be strings, got {labels!r}")
        labels = list(labels)
    else:
        raise InvalidInputError(f"candidate_labels must be a list of strings or a comma-separated "
                                f"string, got {type(labels).__name__}")
    if not labels:
        raise InvalidInputError("candidate_labels is empty: give at least one label")
    return labels


def _hypotheses(template: Any, labels: list[str]) -> list[str]:
    if not isinstance(template, str):
        raise InvalidInputError(f"hypothesis_template must be a string, got {type(template).__name__}")
    try:
        hypotheses = [template.format(label) for label in labels]
    except (IndexError, KeyError, ValueError) as exc:
        raise InvalidInputError(
            f"hypothesis_template {template!r} cannot be formatted with a label ({exc}); it must "
            "contain one {} where the label goes") from None
    if hypotheses[0] == template:
        raise InvalidInputError(
            f"hypothesis_template {template!r} has no {{}} placeholder for the label, e.g. "
            "'This example is {}.'")
    return hypotheses
