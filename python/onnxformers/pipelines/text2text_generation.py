"""text2text-generation: an encoder-decoder model rewrites each text (also the base of the
summarization and translation pipelines)."""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import InvalidInputError
from ..generation.config import GenerationConfig
from ..generation.encoder_decoder import RUST_ONLY_KEYS
from .base import Pipeline, text_batch


def _config_dict(config: Any) -> dict:
    if config is None:
        return {}
    if hasattr(config, "to_dict"):
        return config.to_dict()
    return dict(config) if isinstance(config, Mapping) else {}


class Text2TextGenerationPipeline(Pipeline):
    """``pipe(text | [text], **generate_kwargs)`` → ``[{"generated_text": ...}]``.

    As Transformers.js 3.0.0 and ``transformers``: the model config's ``prefix`` and the
    ``prefix`` of ``task_specific_params[task]`` (which replaces it, as in ``transformers``) are
    prepended to every text; texts are tokenized together (padding, truncation to the model
    limit), generated in one batch and decoded without special tokens. Like ``transformers`` (and
    unlike Transformers.js, which leaves a TODO there) the other entries of
    ``task_specific_params[task]`` (``num_beams``, ``max_length``…) are generation defaults that
    call options override. A string gives a list with one dict per returned sequence; a list of
    strings gives one dict per text, or one list per text with ``num_return_sequences`` > 1.
    """

    #: the key of each result
    result_key = "generated_text"

    def _task_key(self, options: Mapping[str, Any]) -> str:
        return self.task

    def _task_params(self, options: Mapping[str, Any]) -> dict:
        params = _config_dict(self.model.config).get("task_specific_params") or {}
        found = params.get(self._task_key(options)) if isinstance(params, Mapping) else None
        return dict(found) if isinstance(found, Mapping) else {}

    def _prefix(self, task_params: Mapping[str, Any]) -> str:
        prefix = task_params.get("prefix")
        if prefix is None:
            prefix = _config_dict(self.model.config).get("prefix")
        return prefix or ""

    def _tokenize(self, texts: list[str], options: dict, generate_kwargs: dict) -> dict:
        return self.tokenizer(texts, padding=True, truncation=True)

    def __call__(self, texts: Any, **options: Any) -> list:
        options = {**self.defaults, **options}
        batch, is_list = text_batch(texts)
        if not batch:
            return []
        task_params = self._task_params(options)
        prefix = self._prefix(task_params)
        if prefix:
            batch = [prefix + t for t in batch]
        # task parameters are generation defaults (known fields only); the call wins
        known = GenerationConfig.field_names() | set(RUST_ONLY_KEYS)
        generate_kwargs = {k: v for k, v in task_params.items() if k in known}
        generate_kwargs.update(options)
        inputs = self._tokenize(batch, options, generate_kwargs)
        sequences = self.model.generate(input_ids=inputs["input_ids"],
                                        attention_mask=inputs["attention_mask"], **generate_kwargs)
        decoded = self.tokenizer.batch_decode(sequences, skip_special_tokens=True)
        if len(decoded) % len(batch):
            raise InvalidInputError(  # pragma: no cover - generate() returns whole groups
                f"got {len(decoded)} sequences for {len(batch)} inputs")
        per_input = len(decoded) // len(batch)
        results = [[{self.result_key: text} for text in decoded[i * per_input:(i + 1) * per_input]]
                   for i in range(len(batch))]
        if not is_list:
            return results[0]
        if per_input == 1:
            return [r[0] for r in results]
        return results
