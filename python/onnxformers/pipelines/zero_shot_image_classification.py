"""zero-shot-image-classification (CLIP-style models: softmax; SigLIP: sigmoid)."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Union

import numpy as np

from ..errors import InvalidInputError
from ..utils.maths import sigmoid, softmax
from ._vision import image_batch, prepare_images, run_images
from .base import Pipeline


def candidate_label_list(candidate_labels: Union[str, Sequence[str], None]) -> List[str]:
    if isinstance(candidate_labels, str):
        candidate_labels = [candidate_labels]
    if not isinstance(candidate_labels, (list, tuple)) or not candidate_labels:
        raise InvalidInputError(
            f"candidate_labels must be a non-empty list of strings, got {candidate_labels!r}")
    for label in candidate_labels:
        if not isinstance(label, str):
            raise InvalidInputError(f"candidate_labels must be strings, got {label!r}")
    return list(candidate_labels)


class ZeroShotImageClassificationPipeline(Pipeline):
    """``pipe(images, candidate_labels, hypothesis_template="This is a photo of {}")`` →
    ``[{"score", "label"}]`` sorted by score (best first); a list of those for a list of images.

    Each label is put into the template (its first ``{}``), the texts are tokenized once (padded to
    the longest, or to ``max_length`` for SigLIP, as Transformers.js does), and the model's
    ``logits_per_image`` become probabilities: a softmax over the labels, or an independent sigmoid
    for SigLIP.
    """

    def __call__(self, images: Any, candidate_labels: Union[str, Sequence[str], None] = None, *,
                 hypothesis_template: str = "This is a photo of {}", batch_size: Optional[int] = None) -> list:
        inputs, is_batched = image_batch(images)
        labels = candidate_label_list(candidate_labels)
        if not isinstance(hypothesis_template, str):
            raise InvalidInputError(f"hypothesis_template must be a string, got {hypothesis_template!r}")
        texts = [hypothesis_template.replace("{}", label, 1) for label in labels]
        siglip = getattr(self.model.config, "model_type", None) == "siglip"
        text_inputs = dict(self.tokenizer(texts, padding="max_length" if siglip else True, truncation=True))
        function = sigmoid if siglip else softmax
        results: list = [None] * len(inputs)
        for index, outputs, _ in run_images(self, prepare_images(inputs), batch_size, extra_inputs=text_inputs):
            logits = np.asarray(outputs["logits_per_image"], dtype=np.float64).reshape(-1)
            if logits.shape[0] != len(labels):
                raise InvalidInputError(
                    f"the model returned {logits.shape[0]} scores for {len(labels)} candidate labels")
            probs = function(logits)
            order = np.argsort(-probs, kind="stable")
            results[index] = [{"score": float(probs[i]), "label": labels[i]} for i in order]
        return results if is_batched else results[0]
