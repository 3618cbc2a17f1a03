"""The decode loop of encoder-decoder models (T5, BART, M2M100/NLLB, mBART, Marian, Whisper...).

The encoder runs once; its output is repeated per beam / returned sequence and uploaded once as an
ORT value. The decoder runs step by step through an I/O binding (:class:`CacheRunner`): the
``present.*`` outputs of a step are bound as the next step's ``past_key_values.*`` without a numpy
round trip. The cross-attention cache (``present.*.encoder.*``) comes out of the first step and is
reused as is afterwards (it only depends on the encoder output, which is identical for every beam
of an item, so beam reordering leaves it alone; only the self-attention cache is gathered).

Two decoder layouts: optimum's merged graph (``decoder_model_merged``, an ``If`` on
``use_cache_branch``) and the older pair ``decoder_model`` (first step) +
``decoder_with_past_model`` (later steps). The Rust core
(:class:`onnxformers._core.GenerationState`) does everything per step except running the graph.
``generate`` below is also the API that Whisper ASR (``generation/whisper.py``) builds on.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .. import _core
from ..configs import key_value_shapes
from ..errors import InvalidInputError, UnsupportedModelError
from . import device_rows
from .config import GenerationConfig, prepare_generation_config
from .stopping_criteria import split_criteria, stop_rows

#: keys the Rust core understands that the Python GenerationConfig has no field for (Whisper's
#: timestamp processor, min_p, sequence_bias): taken out of kwargs / generation_config.json and
#: passed through to the core instead of being warned about
RUST_ONLY_KEYS = ("return_timestamps", "no_timestamps_token_id", "max_initial_timestamp_index",
                  "min_p", "sequence_bias")

LogitsProcessorFn = Callable[[np.ndarray, np.ndarray], Any]


def step_with_processors(state: Any, logits: np.ndarray, custom: Sequence[LogitsProcessorFn]):
    """One decoding step of ``state`` (a :class:`onnxformers._core.GenerationState`) with custom
    logits processors, in transformers' list order: built-in processors (beam modes: on
    log-softmaxed scores), then ``custom`` (each ``fn(input_ids, scores)`` modifies ``scores`` in
    place or returns a new array of the same shape), then the sampling warpers and the token
    choice (beam selection on the running beam scores). Without custom processors it is the
    single call ``state.step(logits)``."""
    if not custom:
        return state.step(logits)
    state.process_logits(logits)
    rows = state.num_rows
    seqs = state.sequences
    scores = logits[:rows]  # with classifier-free guidance only the first half is live
    for fn in custom:
        result = fn(seqs, scores)
        if result is not None and result is not scores:
            result = np.asarray(result, np.float32)
            if result.shape != scores.shape:
                raise InvalidInputError(f"logits processor {fn!r} returned shape {result.shape}, "
                                        f"expected {scores.shape}")
            scores[...] = result
    return state.select(logits)


_NUMPY_SHARES_MEMORY: bool | None = None


def numpy_shares_memory(value: Any) -> bool:
    """Whether ``OrtValue.numpy()`` of a CPU tensor is a view on it (onnxruntime >= 1.16; older ones
    copy), checked once per process on a real value: writing through a copy would make an in-place
    cache reorder a silent no-op."""
    global _NUMPY_SHARES_MEMORY
    if _NUMPY_SHARES_MEMORY is None:
        flat = value.numpy().reshape(-1)
        if flat.size == 0 or not flat.flags.writeable:
            return False
        old = flat[0].copy()
        probe = 1 if old == 0 else 0  # differs from the stored value, whatever it is (even NaN)
        flat[0] = probe
        _NUMPY_SHARES_MEMORY = bool(value.numpy().reshape(-1)[0] == probe)
        flat[0] = old
    return _NUMPY_SHARES_MEMORY


def gather_rows_in_place(values: Sequence[Any], rows_index: np.ndarray) -> bool:
    """Beam search moved rows: reorder CPU cache tensors in place (only the moved rows are copied,
    in Rust, GIL released). Returns False, changing nothing, where that is impossible (another
    device, copies from ``numpy()``, read-only or strided buffers): the caller gathers copies."""
    if not values or not numpy_shares_memory(values[0]):
        return False
    arrays = [v.numpy() for v in values]
    if not all(a.flags.writeable and a.flags.c_contiguous for a in arrays):
        return False
    _core.gather_rows_in_place(arrays, np.ascontiguousarray(rows_index, dtype=np.int64))
    return True


def gathered_rows(array: np.ndarray, rows_index: np.ndarray) -> np.ndarray:
    """A copy of ``array`` with its rows gathered (axis 0 = ``len(rows_index)`` rows, or rows of
    several heads in fused ``batch*heads`` layouts such as Bloom's and Falcon's)."""
    return array.reshape(len(rows_index), -1)[rows_index].reshape(array.shape)


def session_device(session: Any) -> tuple[str, int]:
    """(``"cuda"`` or ``"cpu"``, device index) where the session keeps its tensors (device="cuda:1"
    puts them on GPU 1)."""
    provider = session.get_providers()[0]
    if provider != "CUDAExecutionProvider":
        return "cpu", 0
    options = session.get_provider_options().get(provider, {})
    return "cuda", int(options.get("device_id", 0) or 0)


def _graph_shapes(session: Any, names: Sequence[str], rows: int) -> dict[str, tuple[int, ...]]:
    """Empty first-step shapes from the graph's own input metadata (axis 0 = rows, the other
    symbolic axes, i.e. the past sequence, = 0): for configs the KV-shape table does not know."""
    meta = {i.name: i.shape for i in session.get_inputs()}
    shapes = {}
    for name in names:
        dims = [d if isinstance(d, int) else 0 for d in meta[name]]
        dims[0] = rows
        shapes[name] = tuple(dims)
    return shapes


class CacheRunner:
    """Runs a decoder with a KV cache kept as ORT values between steps.

    ``first``/``later``: the same merged session (``use_cache_branch`` picks the branch), or
    ``decoder_model`` / ``decoder_with_past_model``. ``constants``: inputs identical at every step
    (encoder states and mask), uploaded once. ``host_outputs``: outputs copied to numpy after each
    step (always ``logits``; e.g. ``cross_attentions.*`` on request); every other output stays on
    the session's device. ``keep_after_first``: cache entries produced by the first step and
    never replaced (the cross-attention cache).

    On CPU a step is one call of the session's C ``run_with_ort_values`` (fresh outputs, no
    binds); on a device, I/O bindings keep the cache there and bring the host outputs back.

    The interface (``inputs``, ``run(feed, first_step) -> logits``, ``reorder``) is the one the
    decoder-only loop's binding has, so both loops can use either layout.
    """

    #: gather beam rows with onnxruntime on the session's device even on CPU (tests of the GPU path)
    gather_on_device = False
    #: on CPU, run with onnxruntime's C ``run_with_ort_values`` (one call per step, no binds)
    use_direct_run = True

    def __init__(self, first: Any, later: Any, model_config: Any, rows: int, *,
                 constants: Mapping[str, np.ndarray] | None = None,
                 host_outputs: Sequence[str] = ("logits",),
                 keep_after_first: Callable[[str], bool] = lambda name: False):
        import onnxruntime as ort

        self.ort = ort
        self.first, self.later = first, later
        self.device, self.device_id = session_device(later)
        self._rows: device_rows.DeviceRows | None = None
        self._inputs = {id(s): {i.name for i in s.get_inputs()} for s in (first, later)}
        self._outputs = {id(s): [o.name for o in s.get_outputs()] for s in (first, later)}
        self.inputs = self._inputs[id(first)] | self._inputs[id(later)]
        self.host_outputs = set(host_outputs) | {"logits"}
        self.keep_after_first = keep_after_first
        self.last_host: dict[str, np.ndarray] = {}
        later_meta = {i.name: i for i in later.get_inputs()}
        past_names = sorted(n for n in later_meta if n.startswith("past_key_values."))
        if not past_names:
            raise UnsupportedModelError(
                "the decoder graph has no past_key_values.* inputs: generation needs a decoder "
                "exported with a KV cache (decoder_model_merged, or decoder_with_past_model)")
        half = any("float16" in later_meta[n].type for n in past_names)
        dtype = np.float16 if half else np.float32
        self.past: dict[str, Any] = {}
        if past_names[0] in self._inputs[id(first)]:
            # merged graph: the first step is fed empty tensors (past sequence length 0)
            try:
                shapes = key_value_shapes(model_config, batch_size=rows)
            except Exception:  # noqa: BLE001 - fall back on the graph's own metadata
                shapes = {}
            if any(n not in shapes for n in past_names):
                shapes = _graph_shapes(later, past_names, rows)
            for name in past_names:
                self.past[name] = ort.OrtValue.ortvalue_from_numpy(
                    np.zeros(shapes[name], dtype), self.device, self.device_id)
        self.past_names = past_names
        self._branch = {flag: np.array([flag]) for flag in (False, True)}
        self._bindings: dict[tuple[int, bool], tuple[Any, Any]] = {}
        try:
            from onnxruntime.capi import _pybind_state

            self._c_devices = {"cpu": ort.OrtDevice.make("cpu", 0)._get_c_device(),
                               "dev": ort.OrtDevice.make(self.device, self.device_id)._get_c_device()}
            self._from_numpy = _pybind_state.OrtValue.ortvalue_from_numpy
        except (AttributeError, ImportError):  # an onnxruntime without these internals: public API only
            self._c_devices = None
        self.constants = {name: ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(value),
                                                                  self.device, self.device_id)
                          for name, value in (constants or {}).items()}
        self._step_outputs: dict[tuple[int, bool], list[str]] = {}
        self._direct = {id(s): self._direct_run(s) for s in (first, later)}
        if any(self._direct.values()):  # step-invariant C values, made once (their arrays live in self)
            cpu = self._c_devices["cpu"]
            self._c_branch = {flag: self._from_numpy(array, cpu) for flag, array in self._branch.items()}
            self._c_constants = {name: value._ortvalue for name, value in self.constants.items()}

    def _direct_run(self, session: Any) -> Any:
        """onnxruntime's C ``run_with_ort_values`` of ``session`` on CPU (fresh outputs, one call
        a step), or None: on a device the outputs' placement is chosen by binding them."""
        if self.device != "cpu" or self._c_devices is None or not self.use_direct_run:
            return None
        return getattr(getattr(session, "_sess", None), "run_with_ort_values", None)

    def _outputs_of_step(self, session: Any, first_step: bool) -> list[str]:
        """The outputs a step asks for. Later steps of a merged graph re-emit the kept
        cross-attention cache: not asked for, so onnxruntime neither allocates nor copies it."""
        key = (id(session), first_step)
        found = self._step_outputs.get(key)
        if found is None:
            found = self._step_outputs[key] = [
                name for name in self._outputs[id(session)]
                if first_step or not name.startswith("present.")
                or not self.keep_after_first("past_key_values." + name[len("present."):])]
        return found

    def _binding(self, session: Any, first_step: bool) -> tuple[Any, Any]:
        """(public binding, onnxruntime's C binding or None), made once per session and step
        kind: the constants stay bound from then on. The C object skips the public wrappers'
        per-bind device and session checks (most of the step's time outside ``run`` on small
        models; the decoder-only loop does the same); without it the public API is used.

        The first step has a binding of its own because the values ``get_outputs`` returns
        alias the binding's output slots: rebinding the outputs at the next step would swap
        the kept cross-attention cache for whatever lands in the same slot."""
        key = (id(session), first_step)
        found = self._bindings.get(key)
        if found is None:
            public = session.io_binding()
            c = getattr(public, "_iobinding", None) if self._c_devices else None
            found = self._bindings[key] = (public, c)
            for name, value in self.constants.items():
                if name in self._inputs[id(session)]:
                    self._bind_value(found, name, value)
        return found

    @staticmethod
    def _bind_value(binding: tuple[Any, Any], name: str, value: Any) -> None:
        public, c = binding
        if c is not None:
            c.bind_ortvalue_input(name, getattr(value, "_ortvalue", value))
        else:
            public.bind_ortvalue_input(name, value)

    def run(self, feed: Mapping[str, np.ndarray], first_step: bool) -> np.ndarray:
        session = self.first if first_step else self.later
        outputs = self._outputs_of_step(session, first_step)
        direct = self._direct[id(session)]
        if direct is not None:
            arrays, feed_values = self._direct_feed(session, feed, first_step)
            values = dict(zip(outputs, direct(feed_values, outputs, None)))
            del arrays  # shared with feed_values' OrtValues: alive until the run is over
        else:
            values = self._run_bound(session, feed, first_step, outputs)
        for name, value in values.items():
            if name.startswith("present."):
                self.past["past_key_values." + name[len("present."):]] = value
        self.last_host = {name: values[name].numpy() for name in outputs
                          if name in self.host_outputs}
        return self.last_host["logits"]

    def _direct_feed(self, session: Any, feed: Mapping[str, np.ndarray],
                     first_step: bool) -> tuple[list[np.ndarray], dict[str, Any]]:
        """(the numpy inputs, C OrtValues of every input of a step). The OrtValues share the
        arrays' memory: the caller keeps the arrays until the run is over."""
        from_numpy, cpu = self._from_numpy, self._c_devices["cpu"]
        inputs = self._inputs[id(session)]
        arrays = [(name, np.ascontiguousarray(value)) for name, value in feed.items() if name in inputs]
        values = {name: from_numpy(array, cpu) for name, array in arrays}
        if "use_cache_branch" in inputs:
            values["use_cache_branch"] = self._c_branch[not first_step]
        values.update((name, value) for name, value in self._c_constants.items() if name in inputs)
        values.update((name, getattr(value, "_ortvalue", value))
                      for name, value in self.past.items() if name in inputs)
        return [array for _, array in arrays], values

    def _run_bound(self, session: Any, feed: Mapping[str, np.ndarray], first_step: bool,
                   outputs: list[str]) -> dict[str, Any]:
        inputs = self._inputs[id(session)]
        binding = self._binding(session, first_step)
        public, c = binding
        for name, value in feed.items():
            if name in inputs:
                array = np.ascontiguousarray(value)
                c.bind_input(name, array) if c is not None else public.bind_cpu_input(name, array)
        if "use_cache_branch" in inputs:
            flag = self._branch[not first_step]
            c.bind_input("use_cache_branch", flag) if c is not None else \
                public.bind_cpu_input("use_cache_branch", flag)
        for name, value in self.past.items():
            if name in inputs:
                self._bind_value(binding, name, value)
        if c is not None:
            c.clear_binding_outputs()
            for name in outputs:
                c.bind_output(name, self._c_devices["cpu" if name in self.host_outputs else "dev"])
        else:
            public.clear_binding_outputs()
            for name in outputs:
                if name in self.host_outputs:
                    public.bind_output(name, "cpu")
                else:
                    public.bind_output(name, self.device, self.device_id)
        session.run_with_iobinding(public)
        return dict(zip(outputs, c.get_outputs() if c is not None else public.get_outputs()))

    def reorder(self, rows_index: np.ndarray,
                which: Callable[[str], bool] = lambda name: True) -> None:
        """Beam search moved rows: gather the selected cache tensors along their batch axis (in
        place on CPU, see :func:`gather_rows_in_place`; on the device elsewhere)."""
        names = [name for name in self.past if which(name)]
        if self.device != "cpu" or self.gather_on_device:  # on the GPU (generation/device_rows.py)
            if self._rows is None:
                self._rows = device_rows.for_session(self.later, self.device, self.device_id)
            gathered = self._rows.gather_all([self.past[n] for n in names], rows_index, len(rows_index))
            self.past.update(zip(names, gathered))
            return
        if gather_rows_in_place([self.past[n] for n in names], rows_index):
            return
        for name in names:
            self.past[name] = self.ort.OrtValue.ortvalue_from_numpy(
                gathered_rows(self.past[name].numpy(), rows_index), self.device, self.device_id)


def decoder_sessions(model: Any) -> tuple[Any, Any]:
    """(first-step session, later-step session) of a model's decoder, either layout."""
    sessions = model.sessions
    if "decoder_model_merged" in sessions:
        return sessions["decoder_model_merged"], sessions["decoder_model_merged"]
    if "decoder_model" in sessions and "decoder_with_past_model" in sessions:
        return sessions["decoder_model"], sessions["decoder_with_past_model"]
    raise UnsupportedModelError(
        f"{type(model).__name__} has no decoder graph (decoder_model_merged.onnx, or "
        f"decoder_model.onnx + decoder_with_past_model.onnx) and cannot generate; loaded "
        f"sessions: {', '.join(sessions) or 'none'}")


def decoder_only_runner(model: Any, rows: int) -> CacheRunner:
    """The older decoder-only layout (decoder_model + decoder_with_past_model) for the
    decoder-only loop."""
    first, later = decoder_sessions(model)
    # a graph with `num_logits_to_keep` (backends/graph_optimizer.py) computes the last position only
    return CacheRunner(first, later, model.config, rows, constants={"num_logits_to_keep": np.array(1, np.int64)})


# -- inputs ---------------------------------------------------------------------------------------


def _ids(value: Any, what: str) -> np.ndarray:
    ids = np.asarray(value)
    if ids.ndim == 1:
        ids = ids[None]
    if ids.ndim != 2 or not (np.issubdtype(ids.dtype, np.integer) or ids.size == 0):
        raise InvalidInputError(f"{what} must be integers of shape [batch, seq], got "
                                f"{ids.shape} {ids.dtype}")
    return ids.astype(np.int64)


def _max_positions(model_config: Any) -> int | None:
    value = getattr(model_config, "max_position_embeddings", None)
    return value if isinstance(value, int) and value > 0 else None


def _start_ids(config: GenerationConfig, batch: int) -> np.ndarray:
    start = config.decoder_start_token_id
    if start is None:
        start = config.bos_token_id
    if start is None:
        raise InvalidInputError(
            "encoder-decoder generation needs decoder_start_token_id (or bos_token_id) in the "
            "config, or decoder_input_ids")
    if isinstance(start, (list, tuple)):
        if len(start) != batch:
            raise InvalidInputError(
                f"decoder_start_token_id has {len(start)} ids for a batch of {batch}")
        return np.asarray(start, np.int64).reshape(batch, 1)
    return np.full((batch, 1), int(start), np.int64)


def _decoder_prompt(model: Any, config: GenerationConfig, decoder_input_ids: Any,
                    batch: int) -> np.ndarray:
    try:
        start = _start_ids(config, batch)
    except InvalidInputError:
        if decoder_input_ids is None:
            raise
        start = None
    if decoder_input_ids is None:
        return start
    ids = _ids(decoder_input_ids, "decoder_input_ids")
    if ids.shape[0] == 1 and batch > 1:
        ids = np.repeat(ids, batch, axis=0)
    if ids.shape[0] != batch:
        raise InvalidInputError(
            f"decoder_input_ids has {ids.shape[0]} rows, the encoder batch {batch}")
    if ids.shape[1] == 0:
        return start
    # transformers prepends the start token unless the prompt already begins with it (Whisper's
    # prompts and Donut's task prompts are used as given)
    model_type = getattr(model.config, "model_type", None)
    if start is not None and model_type not in ("whisper", "vision-encoder-decoder") \
            and (ids[:, 0] != start[:, 0]).all():
        ids = np.concatenate([start, ids], axis=1)
    return ids


def _encoder_mask(ids: np.ndarray, config: GenerationConfig) -> np.ndarray:
    """transformers' ``_prepare_attention_mask_for_generation``: infer the mask from padding when
    the pad token occurs and differs from eos, else all ones."""
    pad = config.pad_token_id
    if pad is not None and (ids == pad).any() and pad not in config.eos_token_ids:
        return (ids != pad).astype(np.int64)
    return np.ones_like(ids)


def _run_encoder(model: Any, feed: dict[str, np.ndarray]) -> np.ndarray:
    session = model.sessions.get("model")
    if session is None:
        raise UnsupportedModelError(f"{type(model).__name__} has no encoder session")
    names = [i.name for i in session.get_inputs()]
    missing = [n for n in names if n not in feed]
    if missing:
        raise InvalidInputError(
            f"the encoder graph expects {', '.join(names)}; missing {', '.join(missing)} (pass "
            f"them as input_ids/attention_mask, encoder_inputs={{...}} or keyword arguments)")
    run_feed = {}
    for name in names:
        value = np.asarray(feed[name])
        if name in ("input_ids", "attention_mask", "token_type_ids") and value.dtype != np.int64:
            value = value.astype(np.int64)
        run_feed[name] = value
    outputs = [o.name for o in session.get_outputs()]
    out = session.run(None, run_feed)
    values = dict(zip(outputs, out))
    return values.get("last_hidden_state", out[0])


# -- the loop -------------------------------------------------------------------------------------


def generate(model: Any, input_ids: Any = None, attention_mask: Any = None, *,
             generation_config: GenerationConfig | Mapping | None = None, streamer: Any = None,
             encoder_inputs: Mapping[str, Any] | None = None, encoder_outputs: Any = None,
             decoder_input_ids: Any = None,
             logits_processor: Sequence[LogitsProcessorFn] | None = None,
             stopping_criteria: Any = None, interrupt: Any = None, **kwargs: Any):
    """Generate with an encoder-decoder model.

    Returns the decoder sequences ``[batch*num_return_sequences, len]`` (decoder start token
    included), or with ``return_dict_in_generate=True`` a dict with ``sequences``, ``scores``
    (beam modes: the sequence scores, else None), ``sequences_scores`` (same), ``beam_indices``
    (beam modes: transformers' ``[rows, generated]``, the running row whose step produced each
    token, -1 padded), ``step_scores`` (``output_scores=True``, greedy/sampling),
    ``encoder_hidden_states`` and, with ``output_attentions=True`` and a decoder exporting
    ``cross_attentions.*``, ``cross_attentions`` (per step, every running row: gather beams with
    ``beam_indices``). ``logits_processor``: custom processors, any decoding mode (see
    :func:`step_with_processors`). See seq2seq_api.md.
    """
    first_session, later_session = decoder_sessions(model)
    flags, criteria = split_criteria(stopping_criteria)  # as in the decoder-only loop
    if interrupt is not None:
        flags.insert(0, interrupt)
    enc_session = model.sessions.get("model")
    enc_names = {i.name for i in enc_session.get_inputs()} if enc_session is not None else set()
    encoder_feed = dict(encoder_inputs or {})
    for name in list(kwargs):  # e.g. input_features=..., pixel_values=...
        if name in enc_names and name not in ("input_ids", "attention_mask"):
            encoder_feed[name] = kwargs.pop(name)
    extras = {k: kwargs.pop(k) for k in RUST_ONLY_KEYS if k in kwargs}
    config = prepare_generation_config(model.config, model.generation_config, generation_config,
                                       **kwargs)
    for key in RUST_ONLY_KEYS:  # generation_config.json values the Python config drops
        if key not in extras and isinstance(model.generation_config, Mapping) \
                and model.generation_config.get(key) is not None:
            extras[key] = model.generation_config[key]

    enc_ids = None
    if input_ids is not None:
        enc_ids = _ids(input_ids, "input_ids")
        if enc_ids.shape[1] == 0:
            raise InvalidInputError("input_ids is empty: the encoder needs at least one token")
        mask = _encoder_mask(enc_ids, config) if attention_mask is None else \
            _ids(attention_mask, "attention_mask")
        if mask.shape != enc_ids.shape:
            raise InvalidInputError(f"attention_mask shape {mask.shape} differs from input_ids "
                                    f"{enc_ids.shape}")
        encoder_feed.setdefault("input_ids", enc_ids)
        encoder_feed.setdefault("attention_mask", mask)
        limit = _max_positions(model.config)
        if limit is not None and enc_ids.shape[1] > limit:
            raise InvalidInputError(
                f"the input has {enc_ids.shape[1]} tokens, beyond the model's {limit} positions; "
                f"truncate it (tokenizer(..., truncation=True, max_length={limit}))")
    elif attention_mask is not None:
        encoder_feed.setdefault("attention_mask", _ids(attention_mask, "attention_mask"))

    if encoder_outputs is not None:
        hidden = encoder_outputs
        if isinstance(hidden, Mapping):
            hidden = hidden.get("last_hidden_state", next(iter(hidden.values())))
        hidden = np.asarray(getattr(hidden, "last_hidden_state", hidden))
        batch = hidden.shape[0]
    else:
        if not encoder_feed:
            raise InvalidInputError("generate() needs the encoder inputs (input_ids, "
                                    "input_features, pixel_values...) or encoder_outputs")
        batch = int(np.asarray(next(iter(encoder_feed.values()))).shape[0])
        hidden = None

    dec_ids = _decoder_prompt(model, config, decoder_input_ids, batch)
    if config.max_new_tokens == 0:
        if config.return_dict_in_generate:
            return {"sequences": dec_ids, "scores": None, "sequences_scores": None}
        return dec_ids
    if streamer is not None and (batch != 1 or config.num_beams > 1):
        raise InvalidInputError("streamers support batch size 1 and num_beams=1 only "
                                "(as in transformers)")
    custom = list(logits_processor or [])
    collect_cross = bool(config.output_attentions)

    if hidden is None:
        hidden = _run_encoder(model, encoder_feed)
    enc_mask = encoder_feed.get("attention_mask")
    if enc_mask is None:
        enc_mask = np.ones(hidden.shape[:2], np.int64)

    base_cfg = {**config.to_dict(), **extras}
    base_cfg.pop("generation_kwargs", None)
    state = _core.GenerationState(base_cfg, dec_ids, encoder_input_ids=enc_ids, seed=config.seed,
                                  interrupt=flags[0] if flags else None)
    extra_flags = flags[1:]  # the core holds one flag; any others are polled here
    limit = _max_positions(model.config)
    if limit is not None and state.max_length > limit:
        raise InvalidInputError(
            f"max_length {state.max_length} (decoder prompt + new tokens) is beyond the model's "
            f"{limit} decoder positions; lower max_new_tokens")
    expand = state.expand_size
    rows = state.num_rows
    hidden_rows = np.repeat(np.ascontiguousarray(hidden), expand, axis=0)
    mask_rows = np.repeat(np.asarray(enc_mask, np.int64), expand, axis=0)
    cross_names = [o.name for o in first_session.get_outputs()
                   if o.name.startswith("cross_attentions")] if collect_cross else []
    runner = CacheRunner(
        first_session, later_session, model.config, rows,
        constants={"encoder_hidden_states": hidden_rows, "encoder_attention_mask": mask_rows},
        host_outputs=["logits", *cross_names],
        keep_after_first=lambda name: ".encoder." in name)
    self_attention = lambda name: ".encoder." not in name  # noqa: E731

    # beam steps leave the running beam scores added in: transformers' scores are before that
    step_scores: list[np.ndarray] | None = [] if config.output_scores and config.num_beams == 1 \
        else None
    cross: list[list[np.ndarray]] = []
    cur = np.repeat(dec_ids, expand, axis=0)
    identity = np.arange(rows, dtype=np.int64).tobytes()  # beam steps that moved no row
    if streamer is not None:
        streamer.put(dec_ids)
    first = True
    extra_inputs = {k: v for k, v in config.generation_kwargs.items() if k in runner.inputs}
    while True:
        feed = {"input_ids": cur, **extra_inputs}
        if "decoder_attention_mask" in runner.inputs:
            feed["decoder_attention_mask"] = np.ones((rows, state.cur_len), np.int64)
        logits = runner.run(feed, first)
        if cross_names:
            cross.append([runner.last_host[n] for n in cross_names])
        last = np.ascontiguousarray(logits[:, -1, :], dtype=np.float32)
        next_tokens, beam_indices, done = step_with_processors(state, last, custom)
        if step_scores is not None:
            step_scores.append(last[:rows].copy())
        if streamer is not None:  # an exception here stops generation and propagates
            streamer.put(next_tokens[None])
        if not done and extra_flags and any(bool(f) for f in extra_flags):
            done = True
        if not done and criteria:
            done = stop_rows(state, criteria, last)
        if done:
            break
        # (on a GPU a gather is one run per cache tensor: skipped when every beam kept its row)
        if beam_indices is not None and beam_indices.tobytes() != identity:
            runner.reorder(beam_indices, self_attention)
        cur = next_tokens.reshape(-1, 1)
        first = False
    if streamer is not None:
        streamer.end()
    if config.return_dict_in_generate:
        sequences, scores, beam_rows = state.finalize_with_beam_indices()
        out: dict[str, Any] = {"sequences": sequences, "scores": scores,
                               "sequences_scores": scores, "encoder_hidden_states": hidden}
        if beam_rows is not None:
            out["beam_indices"] = beam_rows
        if step_scores is not None:
            out["step_scores"] = step_scores
        if cross_names:
            out["cross_attentions"] = cross
        return out
    sequences, _ = state.finalize()
    return sequences
