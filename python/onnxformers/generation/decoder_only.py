"""The decode loop of decoder-only models (one merged ONNX graph with a KV cache).

The Rust core (:class:`onnxformers._core.GenerationState`) does everything per step except running
the graph: logits processors, sampling or beam search, stopping, finished-row padding. This module
runs ONNX Runtime with an I/O binding so the ``present.*`` outputs become the next step's
``past_key_values.*`` inputs as ORT values, without a round trip through numpy (they only pass
through numpy when beam search reorders rows).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .. import _core
from ..configs import key_value_shapes
from ..errors import InvalidInputError
from . import device_rows
from .config import GenerationConfig, prepare_generation_config
from .encoder_decoder import gather_rows_in_place, gathered_rows, session_device, step_with_processors
from .stopping_criteria import split_criteria, stop_rows


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


#: steps of position ids made at once by the decoding loop
_POSITION_BLOCK = 1024


def _max_positions(model_config: Any) -> int | None:
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(model_config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


class _KVBinding:
    """Feeds one session step by step, keeping the cache as ORT values on the session's device.

    On CPU a step is one call of the session's C ``run_with_ort_values``: the cache goes in as the
    previous step's output values and comes back as fresh ones, with no binds at all.

    On a device (and on CPU when the C objects are missing), one I/O binding serves every step, so
    that the logits come back to the host and the cache stays on the device. Its binds go straight
    to onnxruntime's C binding object when the installed onnxruntime has the (private, long-stable)
    ``IOBinding._iobinding`` attribute: the public wrappers build an ``OrtDevice`` and check session
    compatibility on every bind, ~30 binds a step. Otherwise the public API is used.

    Measured on the bench Llama (CPU, batch 1): ~30 binds cost ~35 µs a step more than the one
    call; with caches cold after each run, every Python-level operation of the loop counts."""

    use_c_binding = True
    #: on CPU, one ``run_with_ort_values`` call per step (False: the binding, as on a GPU; tests)
    use_direct_run = True
    #: gather beam rows with onnxruntime on the session's device even on CPU (tests of the GPU path)
    gather_on_device = False

    def __init__(self, session: Any, model_config: Any, rows: int):
        import onnxruntime as ort

        self.ort = ort
        self.session = session
        self.rows = rows
        self.inputs = {i.name for i in session.get_inputs()}
        self.outputs = [o.name for o in session.get_outputs()]
        self.device, self.device_id = session_device(session)
        past_names = sorted(n for n in self.inputs if n.startswith("past_key_values."))
        shapes = key_value_shapes(model_config, batch_size=rows)
        dtype = np.float16 if any("float16" in i.type for i in session.get_inputs()
                                  if i.name in past_names) else np.float32
        self._rows: device_rows.DeviceRows | None = None
        self.binding = session.io_binding()
        self._c = getattr(self.binding, "_iobinding", None) if self.use_c_binding else None
        try:
            from onnxruntime.capi import _pybind_state

            self._dev = {"cpu": ort.OrtDevice.make("cpu", 0)._get_c_device(),
                         self.device: ort.OrtDevice.make(self.device, self.device_id)._get_c_device()}
            self._c_from_numpy = _pybind_state.OrtValue.ortvalue_from_numpy
        except (AttributeError, ImportError):
            self._c = None
        # Cache tensors: C-level OrtValues on the fast path, public OrtValues otherwise; a CPU
        # OrtValue made from numpy shares its memory, so the arrays are kept alive in _keep.
        self._keep: dict[str, np.ndarray] = {}
        self.past: dict[str, Any] = {}
        for name in past_names:
            if name not in shapes:
                raise InvalidInputError(f"cannot infer the shape of cache input {name!r}")
            self.past[name] = self._ortvalue(name, np.zeros(shapes[name], dtype))
        # present.X → past_key_values.X
        self.present_to_past = [(i, "past_key_values." + o[len("present."):])
                                for i, o in enumerate(self.outputs) if o.startswith("present.")]
        self.logits_index = self.outputs.index("logits")
        self.branch = {flag: np.array([flag]) for flag in (False, True)} \
            if "use_cache_branch" in self.inputs else None
        # generation reads the last position's logits only (graphs with this input: see
        # backends/graph_optimizer.py); fed like any other input
        self.constant_inputs = {"num_logits_to_keep": np.array(1, np.int64)} \
            if "num_logits_to_keep" in self.inputs else {}
        self._direct = self._direct_run(session, past_names)

    def _direct_run(self, session: Any, past_names: list[str]) -> Any:
        """On CPU, onnxruntime's C ``run_with_ort_values`` (inputs and cache in, fresh outputs
        back, one call) when every cache input has its ``present.*`` output: ~30 binds fewer per
        step. The step-invariant inputs become C OrtValues once, per step kind."""
        if self.device != "cpu" or self._c is None or not self.use_direct_run:
            return None
        run = getattr(getattr(session, "_sess", None), "run_with_ort_values", None)
        presents = ["present." + name[len("past_key_values."):] for name in past_names]
        if run is None or any(p not in self.outputs for p in presents):
            return None
        self._past_order = past_names
        self._direct_outputs = presents + ["logits"]
        cpu = self._dev["cpu"]
        self._direct_constants = {}
        for first_step in (False, True):
            arrays = dict(self.constant_inputs)
            if self.branch is not None:
                arrays["use_cache_branch"] = self.branch[not first_step]
            self._direct_constants[first_step] = {k: self._c_from_numpy(v, cpu) for k, v in arrays.items()}
        return run

    def _ortvalue(self, name: str, array: np.ndarray) -> Any:
        array = np.ascontiguousarray(array)
        if self.device == "cpu":
            self._keep[name] = array
        if self._c is not None:
            return self._c_from_numpy(array, self._dev[self.device])
        return self.ort.OrtValue.ortvalue_from_numpy(array, self.device, self.device_id)

    def run(self, feed: Mapping[str, np.ndarray], first_step: bool) -> np.ndarray:
        if self._direct is not None:
            from_numpy, cpu, inputs = self._c_from_numpy, self._dev["cpu"], self.inputs
            # CPU OrtValues share the arrays' memory: `arrays` keeps them alive through the run
            arrays = [(name, np.ascontiguousarray(value)) for name, value in feed.items() if name in inputs]
            values = {name: from_numpy(array, cpu) for name, array in arrays}
            values.update(self._direct_constants[first_step])
            values.update(self.past)
            outputs = self._direct(values, self._direct_outputs, None)
            del arrays
            self.past = dict(zip(self._past_order, outputs))  # zip stops before the logits
            self._keep.clear()
            return outputs[len(self._past_order)].numpy()
        c = self._c
        if c is None:
            return self._run_public(feed, first_step)
        for name, value in feed.items():
            if name in self.inputs:
                c.bind_input(name, value)
        if self.branch is not None:
            c.bind_input("use_cache_branch", self.branch[not first_step])
        for name, value in self.constant_inputs.items():
            c.bind_input(name, value)
        for name, value in self.past.items():
            c.bind_ortvalue_input(name, value)
        cpu, dev = self._dev["cpu"], self._dev[self.device]
        for name in self.outputs:  # rebinding by device: onnxruntime allocates this step's outputs
            c.bind_output(name, cpu if name == "logits" else dev)
        self.session.run_with_iobinding(self.binding)
        values = c.get_outputs()
        for index, past in self.present_to_past:
            self.past[past] = values[index]
        self._keep.clear()  # the arrays fed so far are no longer bound
        return values[self.logits_index].numpy()

    def _run_public(self, feed: Mapping[str, np.ndarray], first_step: bool) -> np.ndarray:
        binding = self.binding
        for name, value in feed.items():
            if name in self.inputs:
                binding.bind_cpu_input(name, value)
        if self.branch is not None:
            binding.bind_cpu_input("use_cache_branch", self.branch[not first_step])
        for name, value in self.constant_inputs.items():
            binding.bind_cpu_input(name, value)
        for name, value in self.past.items():
            binding.bind_ortvalue_input(name, value)
        for name in self.outputs:
            if name == "logits":
                binding.bind_output(name, "cpu")
            else:
                binding.bind_output(name, self.device, self.device_id)
        self.session.run_with_iobinding(binding)
        values = binding.get_outputs()
        for index, past in self.present_to_past:
            self.past[past] = values[index]
        self._keep.clear()
        return values[self.logits_index].numpy()

    @property
    def _gathers_on_device(self) -> bool:
        return self.device != "cpu" or self.gather_on_device

    def _device_rows(self) -> device_rows.DeviceRows:
        if self._rows is None:
            self._rows = device_rows.for_session(self.session, self.device, self.device_id)
        return self._rows

    def reorder(self, rows_index: np.ndarray) -> None:
        """Beam search moved rows: row ``i`` of every cache tensor becomes old row ``rows_index[i]``.

        On CPU the presents are onnxruntime's own fresh output buffers: the moved rows are copied
        in place (beams mostly keep their rows, so a fraction of the cache moves and nothing is
        allocated); on a GPU the rows are gathered there (generation/device_rows.py)."""
        rows_index = np.asarray(rows_index)
        if not self._gathers_on_device:
            if gather_rows_in_place(list(self.past.values()), rows_index):
                return
            for name, value in self.past.items():
                self.past[name] = self._ortvalue(name, gathered_rows(value.numpy(), rows_index))
            return
        gathered = self._device_rows().gather_all(list(self.past.values()), rows_index, len(rows_index))
        self.past = dict(zip(self.past, gathered))

    def expand_rows(self, expand: int, rows: int) -> None:
        """After a prompt run on the ``rows`` distinct prompts: repeat every cache row ``expand``
        times (beams and returned sequences of one prompt share its prompt cache)."""
        index = np.repeat(np.arange(rows), expand)
        self.rows = rows * expand
        if self._gathers_on_device:
            self.past = dict(zip(self.past, self._device_rows().gather_all(list(self.past.values()), index, rows)))
            return
        for name, value in self.past.items():
            array = value.numpy()
            shape = (array.shape[0] * expand,) + array.shape[1:]
            self.past[name] = self._ortvalue(name, array.reshape(rows, -1)[index].reshape(shape))


def generate(model: Any, input_ids: Any = None, attention_mask: Any = None, *,
             generation_config: GenerationConfig | Mapping | None = None, streamer: Any = None,
             stopping_criteria: Any = None, logits_processor: Sequence[Any] | None = None,
             **kwargs: Any):
    """Generate with a decoder-only model. Returns the sequences ``[batch*num_return_sequences,
    prompt+new]`` (prompt included), or ``{"sequences", "scores"}`` with
    ``return_dict_in_generate=True`` (beam modes add ``beam_indices``: transformers'
    ``[rows, generated]``, the running row whose step produced each token, -1 padded; with
    ``output_scores=True`` greedy/sampling add ``step_scores``, transformers' per-step processed
    scores ``[rows, vocab]``).

    ``logits_processor``: custom processors ``fn(input_ids, scores)`` (in place, or returning
    the new scores), run after the built-in ones and before the sampling warpers, as in
    transformers; in beam modes they see log-softmaxed scores.

    ``stopping_criteria``: a criterion or a list of them (see :mod:`.stopping_criteria`); an
    :class:`InterruptableStoppingCriteria` may be interrupted from another thread. Everything is
    validated before the first model call; an exception from the streamer or a criterion stops the
    loop and propagates (the session stays usable)."""
    flags, criteria = split_criteria(stopping_criteria)
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

    custom = list(logits_processor or [])
    state = _core.GenerationState(config.to_dict(), ids, encoder_input_ids=ids, seed=config.seed,
                                  interrupt=flags[0] if flags else None)
    extra_flags = flags[1:]  # the core holds one flag; any others are polled here
    expand = state.expand_size
    # every row's mask for the whole generation: the prompt's, then ones (transformers appends a 1
    # per step for finished rows too); each step feeds a view of the first `length` columns. It
    # grows by doubling: most generations stop at an EOS long before `total`
    mask_all = np.ones((mask.shape[0] * expand, min(total, prompt_len + _POSITION_BLOCK)), np.int64)
    mask_all[:, :prompt_len] = np.repeat(mask, expand, axis=0)
    length = prompt_len
    mask_rows = np.ascontiguousarray(mask_all[:, :length])
    cur = np.repeat(ids, expand, axis=0)
    # Beams and returned sequences of one prompt start from the same prompt cache: the prompt runs
    # once per distinct prompt and its cache and logits are repeated (transformers runs it on
    # every expanded row, `expand` times the work of the longest step)
    shared_prompt = expand > 1 and "model" in model.sessions
    if "model" in model.sessions:
        kv = _KVBinding(model.sessions["model"], model.config, ids.shape[0] if shared_prompt else state.num_rows)
    else:  # the older decoder_model + decoder_with_past_model pair (see encoder_decoder.py)
        from .encoder_decoder import decoder_only_runner

        kv = decoder_only_runner(model, state.num_rows)
    positions = np.maximum(np.cumsum(mask_rows, axis=1) - 1, 0)
    identity = np.arange(state.num_rows, dtype=np.int64).tobytes()  # compared as bytes: ~100x cheaper
    extra = {k: np.ascontiguousarray(v) for k, v in config.generation_kwargs.items() if k in kv.inputs}

    # transformers' `scores` (output_scores): the processed scores of every step (greedy/sampling;
    # beam steps leave the running beam scores added in)
    step_scores: list[np.ndarray] | None = [] if config.output_scores and config.num_beams == 1 \
        and config.return_dict_in_generate else None
    if streamer is not None:
        streamer.put(ids)
    first = True
    while True:
        if first and shared_prompt:
            feed = {"input_ids": ids, "attention_mask": mask, "position_ids": np.ascontiguousarray(positions[::expand])}
        else:
            feed = {"input_ids": cur, "attention_mask": mask_rows, "position_ids": positions}
        if extra:
            feed.update(extra)
        logits = kv.run(feed, first)
        last = np.ascontiguousarray(logits[:, -1, :], dtype=np.float32)
        if first and shared_prompt:
            last = np.repeat(last, expand, axis=0)
            kv.expand_rows(expand, ids.shape[0])
        next_tokens, beam_indices, done = step_with_processors(state, last, custom)
        if step_scores is not None:
            step_scores.append(last[:state.num_rows].copy())
        if streamer is not None:  # an exception here stops generation and propagates
            streamer.put(next_tokens[None])
        if not done and extra_flags and any(bool(f) for f in extra_flags):
            done = True
        if not done and criteria:
            done = stop_rows(state, criteria, last)
        if done:
            break
        # beam search moved rows: gather the cache (skipped when every beam kept its row)
        # (the mask and positions need no reorder: beams only move within their prompt's rows,
        # which share that prompt's padding)
        if beam_indices is not None and beam_indices.tobytes() != identity:
            kv.reorder(beam_indices)
        cur = next_tokens.reshape(-1, 1)
        length += 1
        if length > mask_all.shape[1]:
            wider = np.ones((mask_all.shape[0], min(total, 2 * mask_all.shape[1])), np.int64)
            wider[:, :mask_all.shape[1]] = mask_all
            mask_all = wider
        # a view for one row, a copy for more; either stays alive in `mask_rows` through the run
        mask_rows = np.ascontiguousarray(mask_all[:, :length])
        # only the new token's position is fed from now on: [rows, 1] slices of a table made every
        # _POSITION_BLOCK steps (indexing, where a numpy ufunc on the caches a run left cold cost
        # ~25 µs a step on the bench Llama)
        if first:
            last_prompt_position, step_index = positions[:, -1:], 0
        if step_index % _POSITION_BLOCK == 0:
            block = np.arange(step_index + 1, step_index + 1 + _POSITION_BLOCK)[:, None, None]
            position_block = last_prompt_position + block
        positions = position_block[step_index % _POSITION_BLOCK]
        step_index += 1
        first = False
    if streamer is not None:
        streamer.end()
    if config.return_dict_in_generate:
        sequences, scores, beam_rows = state.finalize_with_beam_indices()
        out = {"sequences": sequences, "scores": scores}
        if beam_rows is not None:
            out["beam_indices"] = beam_rows
        if step_scores is not None:
            out["step_scores"] = step_scores
        return out
    sequences, _ = state.finalize()
    return sequences
