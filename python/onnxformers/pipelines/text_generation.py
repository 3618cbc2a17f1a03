"""text-generation: prompts, batches of prompts, and chats (through the chat template)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..errors import InvalidInputError
from .base import Pipeline


def _is_chat(value: Any) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0
            and all(isinstance(m, Mapping) and "role" in m and "content" in m for m in value))


class TextGenerationPipeline(Pipeline):
    """``pipe(text | [text] | chat | [chat], **generation_kwargs)`` → ``[{"generated_text"}]``.

    As in Transformers.js 3.0.0: prompts are tokenized without special tokens unless
    ``add_special_tokens=True``, left-padded in batches, and ``return_full_text`` (default True)
    keeps the prompt. A chat is rendered with the chat template (``add_generation_prompt``), and its
    result is the conversation with the assistant's reply appended (never the full text).
    ``num_return_sequences`` gives several entries per input. A single input gives a flat list.
    """

    def __call__(self, texts: Any, *, add_special_tokens: bool = False,
                 return_full_text: bool | None = None, **generate_kwargs: Any) -> list:
        is_chat = False
        if isinstance(texts, str):
            batch, prompts, is_batched = [texts], [texts], False
        elif isinstance(texts, Sequence) and texts and all(isinstance(t, str) for t in texts):
            batch, prompts, is_batched = list(texts), list(texts), True
        elif _is_chat(texts) or (isinstance(texts, Sequence) and texts and all(_is_chat(t) for t in texts)):
            is_chat = True
            is_batched = not _is_chat(texts)
            batch = list(texts) if is_batched else [texts]
            prompts = [self.tokenizer.apply_chat_template(chat, tokenize=False,
                                                          add_generation_prompt=True)
                       for chat in batch]
        else:
            raise InvalidInputError(
                "text-generation input must be a string, a list of strings, a chat (a list of "
                "{'role', 'content'} dicts) or a list of chats")
        full_text = False if is_chat else (True if return_full_text is None else return_full_text)
        inputs = self.tokenizer(prompts, add_special_tokens=add_special_tokens, padding=True,
                                truncation=True, padding_side="left")
        sequences = self.model.generate(input_ids=inputs["input_ids"],
                                        attention_mask=inputs["attention_mask"], **generate_kwargs)
        decoded = self.tokenizer.batch_decode(sequences, skip_special_tokens=True)
        prompt_lengths = None
        if not full_text and inputs["input_ids"].shape[-1] > 0:
            prompt_lengths = [len(t) for t in self.tokenizer.batch_decode(
                inputs["input_ids"], skip_special_tokens=True)]
        results: list[list[dict]] = [[] for _ in batch]
        per_input = len(decoded) // len(batch)
        for i, text in enumerate(decoded):
            index = i // per_input
            if prompt_lengths is not None:
                text = text[prompt_lengths[index]:]
            if is_chat:
                results[index].append({"generated_text": [*batch[index],
                                                          {"role": "assistant", "content": text}]})
            else:
                results[index].append({"generated_text": text})
        return results if is_batched else results[0]
