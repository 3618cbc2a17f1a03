"""The decode loop of decoder-only models (one merged ONNX graph with a KV cache).

The Rust core (:class:`onnxformers._core.GenerationState`) does everything per step except running
the graph: logits processors, sampling or beam search, stopping, finished-row padding. This module
runs ONNX Runtime with an I/O binding so the ``present.*`` outputs become the next step's
``past_key_values.*`` inputs as ORT values, without a round trip through numpy (they only pass
through numpy when beam search reorders rows).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import _core
from ..configs import key_value_shapes
from ..errors import InvalidInputError
from .config import GenerationConfig, prepare_generation_config


def _prompt(input_ids: Any, attention_mask: Any, config: GenerationConfig) -> tuple[np.ndarray, np.ndarray]:
    if input_ids is None:  # Transformers.js: no inputs → a batch of one BOS token
        if config.bos_token_id is None:
            raise InvalidInputError("generate() needs input_ids, or a bos_token_id to start from")
        input_ids = [[config.bos_token_id]]
    ids = np.asarray(input_ids)
    if ids.ndim == 1:
        ids = ids[None]
    if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
        raise InvalidInputError(f"input_ids must be integers of shape [batch, seq], got {ids.shape} {ids.dtype}")
    if ids.shape[1] == 0:
        if config.bos_token_id is None:
            raise InvalidInputError("empty prompt and the model has no bos_token_id to start from")
        ids = np.full((ids.shape[0], 1), config.bos_token_id)
    ids = ids.astype(np.int64)
    mask = np.ones_like(ids) if attention_mask is None else np.asarray(attention_mask, np.int64)
    if mask.ndim == 1:
        mask = mask[None]
    if mask.shape != ids.shape:
        raise InvalidInputError(f"attention_mask shape {mask.shape} differs from input_ids {ids.shape}")
    return ids, mask


def _max_positions(model_config: Any) -> int | None:
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(model_config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


class _KVBinding:
    """Feeds one session step by step, keeping the cache as ORT values on the session's device."""

    def __init__(self, session: Any, model_config: Any, rows: int):
        import onnxruntime as ort

        self.ort = ort
        self.session = session
        self.inputs = {i.name for i in session.get_inputs()}
        self.outputs = [o.name for o in session.get_outputs()]
        self.device = "cuda" if session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"
        past_names = sorted(n for n in self.inputs if n.startswith("past_key_values."))
        shapes = key_value_shapes(model_config, batch_size=rows)
        dtype = np.float16 if any("float16" in i.type for i in session.get_inputs()
                                  if i.name in past_names) else np.float32
        self.past: dict[str, Any] = {}
        for name in past_names:
            if name not in shapes:
                raise InvalidInputError(f"cannot infer the shape of cache input {name!r}")
            self.past[name] = ort.OrtValue.ortvalue_from_numpy(np.zeros(shapes[name], dtype),
                                                               self.device, 0)
        # present.X → past_key_values.X
        self.present_to_past = {o: "past_key_values." + o[len("present."):] for o in self.outputs
                                if o.startswith("present.")}

    def run(self, feed: Mapping[str, np.ndarray], first_step: bool) -> np.ndarray:
        binding = self.session.io_binding()
        for name, value in feed.items():
            if name in self.inputs:
                binding.bind_cpu_input(name, value)
        if "use_cache_branch" in self.inputs:
            binding.bind_cpu_input("use_cache_branch", np.array([not first_step]))
        for name, value in self.past.items():
            binding.bind_ortvalue_input(name, value)
        for name in self.outputs:
            binding.bind_output(name, "cpu" if name == "logits" else self.device)
        self.session.run_with_iobinding(binding)
        values = dict(zip(self.outputs, binding.get_outputs()))
        for present, past in self.present_to_past.items():
            self.past[past] = values[present]
        return values["logits"].numpy()

    def reorder(self, rows_index: np.ndarray) -> None:
        """Beam search moved rows: gather every cache tensor along its batch axis."""
        for name, value in self.past.items():
            array = value.numpy()
            rows = len(rows_index)
            if array.shape[0] == rows:
                gathered = array[rows_index]
            else:  # fused batch*heads layouts (Bloom): gather whole groups of heads
                group = array.shape[0] // rows
                gathered = array.reshape(rows, group, *array.shape[1:])[rows_index].reshape(array.shape)
            self.past[name] = self.ort.OrtValue.ortvalue_from_numpy(
                np.ascontiguousarray(gathered), self.device, 0)


def generate(model: Any, input_ids: Any = None, attention_mask: Any = None, *,
             generation_config: GenerationConfig | Mapping | None = None, streamer: Any = None,
             **kwargs: Any):
    """Generate with a decoder-only model. Returns the sequences ``[batch*num_return_sequences,
    prompt+new]`` (prompt included), or ``{"sequences", "scores"}`` with
    ``return_dict_in_generate=True``."""
    config = prepare_generation_config(model.config, model.generation_config, generation_config,
                                       **kwargs)
    ids, mask = _prompt(input_ids, attention_mask, config)
    if config.pad_token_id is None and config.eos_token_ids:
        config.pad_token_id = config.eos_token_ids[0]  # as transformers does for open-ended text
    if config.max_new_tokens == 0:
        return {"sequences": ids, "scores": None} if config.return_dict_in_generate else ids
    prompt_len = ids.shape[1]
    limit = _max_positions(model.config)
    total = prompt_len + (config.max_new_tokens if config.max_new_tokens is not None
                          else max(config.max_length - prompt_len, 0))
    if limit is not None and total > limit:
        raise InvalidInputError(
            f"prompt ({prompt_len} tokens) + new tokens would reach {total} positions, beyond the "
            f"model's {limit}; shorten the prompt (e.g. tokenizer(..., truncation=True, "
            f"max_length=...)) or lower max_new_tokens")
    if streamer is not None and ids.shape[0] != 1:
        raise InvalidInputError("streamers support batch size 1 only")

    state = _core.GenerationState(config.to_dict(), ids, encoder_input_ids=ids, seed=config.seed)
    expand = state.expand_size
    mask_rows = np.repeat(mask, expand, axis=0)
    cur = np.repeat(ids, expand, axis=0)
    kv = _KVBinding(model.sessions["model"], model.config, state.num_rows)
    positions = np.maximum(np.cumsum(mask_rows, axis=1) - 1, 0)

    if streamer is not None:
        streamer.put(ids)
    first = True
    while True:
        feed = {"input_ids": cur, "attention_mask": mask_rows,
                "position_ids": positions if first else positions[:, -1:]}
        feed.update({k: v for k, v in config.generation_kwargs.items() if k in kv.inputs})
        logits = kv.run(feed, first)
        last = np.ascontiguousarray(logits[:, -1, :], dtype=np.float32)
        next_tokens, beam_indices, done = state.step(last)
        if streamer is not None:  # an exception here stops generation and propagates
            streamer.put(next_tokens[None])
        if done:
            break
        if beam_indices is not None:
            kv.reorder(np.asarray(beam_indices))
            mask_rows = mask_rows[beam_indices]
            positions = positions[beam_indices]
        cur = next_tokens.reshape(-1, 1).astype(np.int64)
        mask_rows = np.concatenate([mask_rows, np.ones((mask_rows.shape[0], 1), np.int64)], 1)
        positions = np.concatenate([positions, positions[:, -1:] + 1], axis=1)
        first = False
    if streamer is not None:
        streamer.end()
    sequences, scores = state.finalize()
    if config.return_dict_in_generate:
        return {"sequences": sequences, "scores": scores}
    return sequences
