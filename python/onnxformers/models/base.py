"""PreTrainedModel: config + one ONNX Runtime session per graph file."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import hub
from ..backends import onnx as backend
from ..configs import AutoConfig, PretrainedConfig
from ..errors import FileMissingError, InvalidInputError, NotImplementedYetError
from . import registry
from .output import ModelOutput

#: options every ``from_pretrained`` accepts (the docs' PretrainedOptions + model-specific ones)
LOADING_OPTIONS = (
    "revision", "cache_dir", "local_files_only", "token", "progress_callback", "config",
    "dtype", "device", "session_options", "model_file_name", "subfolder",
    "use_external_data_format",
)

_INT_INPUTS = {"input_ids", "attention_mask", "token_type_ids", "position_ids",
               "decoder_input_ids", "decoder_attention_mask", "pixel_mask"}


hub_kwargs = hub.hub_options


class PreTrainedModel:
    """A model made of ONNX graphs. Call it with the tokenizer/processor outputs::

        out = model(**tokenizer(["hello"], padding=True))
        out.logits  # numpy array
    """

    #: architecture kind; concrete classes made by the Auto classes set it from ``model_type``
    kind: str | None = None
    #: graph file stem when the class is one tower of a bigger repo (e.g. ``vision_model``)
    default_model_file_name: str | None = None

    def __init__(self, config: PretrainedConfig, sessions: dict[str, Any],
                 generation_config: dict | None = None, name_or_path: str | None = None,
                 kind: str | None = None):
        self.kind = kind or self.kind or registry.model_kind(config.model_type, type(self).__name__)
        self.config = config
        self.sessions = sessions
        self.generation_config = generation_config
        self.name_or_path = name_or_path
        self._input_names = {k: [i.name for i in s.get_inputs()] for k, s in sessions.items()}
        self._output_names = {k: [o.name for o in s.get_outputs()] for k, s in sessions.items()}

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str, **options: Any) -> "PreTrainedModel":
        unknown = set(options) - set(LOADING_OPTIONS) - {"quantized"}
        if unknown:
            raise TypeError(f"from_pretrained() got unexpected option(s): {', '.join(sorted(unknown))}")
        config = options.get("config")
        if config is None:
            config = AutoConfig.from_pretrained(pretrained_model_name_or_path, **hub_kwargs(options))
        elif isinstance(config, Mapping):
            config = PretrainedConfig(dict(config))
        kind = cls.kind or registry.model_kind(config.model_type, cls.__name__)
        if cls.default_model_file_name and not options.get("model_file_name"):
            options = {**options, "model_file_name": cls.default_model_file_name}
        sessions = load_sessions(pretrained_model_name_or_path, config, kind, options)
        generation_config = None
        if kind != registry.ENCODER_ONLY:
            generation_config = hub.get_json(pretrained_model_name_or_path, "generation_config.json",
                                             required=False, **hub_kwargs(options))
        return cls(config, sessions, generation_config, pretrained_model_name_or_path, kind)

    # -- inference -----------------------------------------------------------------------------
    def __call__(self, **inputs: Any) -> ModelOutput:
        return self.forward(inputs)

    def forward(self, inputs: Mapping[str, Any]) -> ModelOutput:
        if self.kind not in (registry.ENCODER_ONLY,):
            raise NotImplementedYetError(
                f"forward() for {self.kind} models ({type(self).__name__}) is not implemented yet"
            )
        return self.run_session("model", inputs)

    def generate(self, input_ids: Any = None, attention_mask: Any = None, *,
                 generation_config: Any = None, streamer: Any = None, **kwargs: Any):
        """Generate token ids (see :func:`onnxformers.generation.decoder_only.generate`)."""
        from ..errors import UnsupportedModelError

        if self.kind == registry.DECODER_ONLY:
            from ..generation.decoder_only import generate

            return generate(self, input_ids, attention_mask, generation_config=generation_config,
                            streamer=streamer, **kwargs)
        if getattr(self.config, "model_type", None) == "whisper":
            from ..generation.whisper import generate as generate_whisper  # prompt, timestamps, seek loop

            return generate_whisper(self, input_ids, attention_mask, generation_config=generation_config,
                                    streamer=streamer, **kwargs)
        if self.kind in (registry.SEQ2SEQ, registry.VISION2SEQ):
            from ..generation.encoder_decoder import generate as generate_seq2seq

            return generate_seq2seq(self, input_ids, attention_mask,
                                    generation_config=generation_config, streamer=streamer, **kwargs)
        if self.kind == registry.ENCODER_ONLY:
            raise UnsupportedModelError(
                f"{type(self).__name__} has no decoder and cannot generate; load a generative "
                f"model (AutoModelForCausalLM, AutoModelForSeq2SeqLM…)")
        raise NotImplementedYetError(f"generate() for {self.kind} models is not implemented yet")

    def run_session(self, name: str, inputs: Mapping[str, Any]) -> ModelOutput:
        session = self.sessions[name]
        feed = self._feed(name, inputs)
        outputs = session.run(None, feed)
        return ModelOutput(zip(self._output_names[name], outputs))

    def _feed(self, name: str, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        feed: dict[str, np.ndarray] = {}
        expected = self._input_names[name]
        for input_name in expected:
            value = inputs.get(input_name)
            if value is None:
                if input_name == "token_type_ids" and inputs.get("input_ids") is not None:
                    # Transformers.js fills token type ids with zeros when the tokenizer gives none.
                    value = np.zeros_like(np.asarray(inputs["input_ids"], dtype=np.int64))
                else:
                    raise InvalidInputError(
                        f"{type(self).__name__}: missing input {input_name!r}; the ONNX graph "
                        f"{name!r} expects {', '.join(expected)} (got {', '.join(inputs) or 'none'})"
                    )
            array = np.asarray(value)
            if input_name in _INT_INPUTS and array.dtype != np.int64:
                array = array.astype(np.int64)
            feed[input_name] = array
        return feed

    def dispose(self) -> None:
        """Release the ONNX Runtime sessions."""
        self.sessions.clear()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_type={self.config.model_type!r}, sessions={list(self.sessions)})"


def load_sessions(repo: str, config: PretrainedConfig, kind: str,
                  options: Mapping[str, Any]) -> dict[str, Any]:
    """Resolve and open every session file of ``kind`` honouring dtype/device/file options."""
    js_config = getattr(config, "transformers_js_config", None) or {}
    subfolder = options.get("subfolder", "onnx")
    subfolder = "onnx" if subfolder is None else subfolder
    sessions = {}
    for session_name, stem in registry.SESSIONS[kind].items():
        if options.get("model_file_name") and session_name == "model":
            stem = options["model_file_name"]
        may_split = session_name in _SPLIT_DECODER_FALLBACK.get(kind, ()) and not (
            options.get("model_file_name") and session_name == "model")
        session = _open_session(repo, stem, options, js_config, subfolder, required=not may_split)
        if session is None:
            # the older layout: decoder_model (first step) + decoder_with_past_model (later steps)
            pair = {name: _open_session(repo, name, options, js_config, subfolder, required=False)
                    for name in ("decoder_model", "decoder_with_past_model")}
            if None in pair.values():
                _open_session(repo, stem, options, js_config, subfolder, required=True)  # raises
            sessions.update(pair)
            continue
        sessions[session_name] = session
    return sessions


#: kind → sessions that may instead be the pair decoder_model + decoder_with_past_model
_SPLIT_DECODER_FALLBACK = {registry.SEQ2SEQ: ("decoder_model_merged",),
                           registry.DECODER_ONLY: ("model",)}


def _open_session(repo: str, stem: str, options: Mapping[str, Any], js_config: Mapping[str, Any],
                  subfolder: str, *, required: bool) -> Any:
    dtype = backend.dtype_for_session(stem, options.get("dtype"), js_config.get("dtype"))
    device = _device_for_session(stem, options.get("device"), js_config.get("device"))
    file_name = backend.session_file_name(stem, dtype, subfolder)
    path = hub.resolve_file(repo, file_name, required=False, **hub_kwargs(options))
    if path is None:
        if not required:
            return None
        probe = {k: v for k, v in hub_kwargs(options).items() if k != "progress_callback"}
        existing = [d for d in backend.DTYPE_SUFFIXES if d != dtype and hub.file_exists(
            repo, backend.session_file_name(stem, d, subfolder), **probe)]
        raise backend.missing_file_error(repo, file_name, dtype, existing,
                                         options.get("revision"))
    external = options.get("use_external_data_format", js_config.get("use_external_data_format"))
    if isinstance(external, Mapping):
        external = external.get(stem)
    if external:
        data = hub.resolve_file(repo, file_name + "_data", required=False, **hub_kwargs(options))
        if data is None:
            raise FileMissingError(
                f"use_external_data_format is set but {file_name + '_data'!r} is missing in {repo!r}"
            )
    return backend.create_session(path, device=device, session_options=options.get("session_options"))


def _device_for_session(stem: str, device: Any, default: Any) -> str | None:
    for spec in (device, default):
        if isinstance(spec, Mapping):
            if stem in spec:
                return spec[stem]
        elif spec is not None:
            return spec
    return None
