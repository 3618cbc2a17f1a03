"""zero-shot-audio-classification (CLAP)."""

from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np

from ..errors import InvalidInputError
from ..utils.maths import softmax
from .audio_classification import prepared_audios
from .base import Pipeline
from .zero_shot_image_classification import candidate_label_list


class ZeroShotAudioClassificationPipeline(Pipeline):
    """``pipe(audio, candidate_labels, hypothesis_template="This is a sound of {}.")`` →
    ``[{"score", "label"}]`` best first; one such list per input for a list of inputs (audio as in
    :mod:`onnxformers.pipelines.audio_classification`).

    Each label fills the template's first ``{}``; the texts are tokenized once (padded to the
    longest, truncated), and each clip's ``logits_per_audio`` become a softmax over the labels.
    Sorted by score like ``transformers`` and the image variant (Transformers.js 3.0.0 keeps the
    labels' order). CLAP's extractor crops clips longer than its ``max_length_s`` at random
    (``rand_trunc``) from numpy's global generator, as transformers does: seed it
    (``np.random.seed``) for repeatable scores on long clips.
    """

    def __call__(self, audio: Any, candidate_labels: Union[str, Sequence[str], None] = None, *,
                 hypothesis_template: str = "This is a sound of {}.") -> list:
        labels = candidate_label_list(candidate_labels)
        if not isinstance(hypothesis_template, str):
            raise InvalidInputError(f"hypothesis_template must be a string, got {hypothesis_template!r}")
        waves, batched = prepared_audios(self, audio)
        texts = [hypothesis_template.replace("{}", label, 1) for label in labels]
        text_inputs = dict(self.tokenizer(texts, padding=True, truncation=True))
        results = []
        for wave in waves:
            outputs = self.model(**text_inputs, **self.processor(wave))
            logits = np.asarray(outputs["logits_per_audio"], dtype=np.float64)[0].reshape(-1)
            if logits.shape[0] != len(labels):
                raise InvalidInputError(
                    f"the model returned {logits.shape[0]} scores for {len(labels)} candidate labels")
            probs = softmax(logits)
            order = np.argsort(-probs, kind="stable")
            results.append([{"score": float(probs[i]), "label": labels[i]} for i in order])
        return results if batched else results[0]
