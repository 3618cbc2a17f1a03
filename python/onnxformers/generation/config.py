"""GenerationConfig: every field of Transformers.js 3.0.0's GenerationConfig with its default,
merged with the documented precedence and validated before any model call."""

from __future__ import annotations

import copy
import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

import numpy as np

from ..errors import InvalidInputError, NotImplementedYetError

IntOrList = Union[int, list, None]


@dataclass
class GenerationConfig:
    # length
    max_length: int = 20
    max_new_tokens: Optional[int] = None
    min_length: int = 0
    min_new_tokens: Optional[int] = None
    early_stopping: Union[bool, str] = False
    max_time: Optional[float] = None
    # strategy
    do_sample: bool = False
    num_beams: int = 1
    num_beam_groups: int = 1
    penalty_alpha: Optional[float] = None
    use_cache: bool = True
    # logits manipulation
    temperature: float = 1.0
    top_k: int = 50
    top_p: float = 1.0
    typical_p: float = 1.0
    epsilon_cutoff: float = 0.0
    eta_cutoff: float = 0.0
    diversity_penalty: float = 0.0
    repetition_penalty: float = 1.0
    encoder_repetition_penalty: float = 1.0
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    bad_words_ids: Optional[list] = None
    force_words_ids: Optional[list] = None
    renormalize_logits: bool = False
    constraints: Optional[list] = None
    forced_bos_token_id: Optional[int] = None
    forced_eos_token_id: IntOrList = None
    remove_invalid_values: bool = False
    exponential_decay_length_penalty: Optional[tuple] = None
    suppress_tokens: Optional[list] = None
    begin_suppress_tokens: Optional[list] = None
    forced_decoder_ids: Optional[list] = None
    guidance_scale: Optional[float] = None
    # outputs
    num_return_sequences: int = 1
    output_attentions: bool = False
    output_hidden_states: bool = False
    output_scores: bool = False
    return_dict_in_generate: bool = False
    # special tokens
    pad_token_id: Optional[int] = None
    bos_token_id: Optional[int] = None
    eos_token_id: IntOrList = None
    # encoder-decoder
    encoder_no_repeat_ngram_size: int = 0
    decoder_start_token_id: Optional[int] = None
    # extras forwarded to the model call
    generation_kwargs: dict = field(default_factory=dict)
    #: our extension: seed of the sampler's RNG (same seed → same tokens on every platform)
    seed: Optional[int] = None

    @classmethod
    def field_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, strict: bool = False) -> "GenerationConfig":
        config = cls()
        config.update(values, strict=strict)
        return config

    def update(self, values: Mapping[str, Any], *, strict: bool = False) -> list[str]:
        """Set the known fields of ``values``; returns the unknown keys (an error if ``strict``)."""
        names = self.field_names()
        unknown = [k for k in values if k not in names]
        if strict and unknown:
            raise InvalidInputError(f"unknown generation option(s): {', '.join(sorted(unknown))}")
        for key, value in values.items():
            if key in names:
                setattr(self, key, copy.deepcopy(value))
        return unknown

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def eos_token_ids(self) -> list[int]:
        eos = self.eos_token_id
        if eos is None:
            return []
        return [int(eos)] if isinstance(eos, int) else [int(e) for e in eos]

    def validate(self) -> None:
        """Refuse settings that cannot work, before any model call (as transformers does), and warn
        (as transformers does) about flags the chosen decoding strategy ignores."""
        def bad(message: str):
            raise InvalidInputError(f"invalid generation config: {message}")

        self._check_types(bad)
        if self.max_new_tokens is not None and self.max_new_tokens < 0:
            bad(f"max_new_tokens must be >= 0, got {self.max_new_tokens}")
        if self.max_length is not None and self.max_length < 0:
            bad(f"max_length must be >= 0, got {self.max_length}")
        if self.num_beams is None or self.num_beams < 1:
            bad(f"num_beams must be >= 1, got {self.num_beams}")
        if self.num_return_sequences < 1:
            bad(f"num_return_sequences must be >= 1, got {self.num_return_sequences}")
        if not self.do_sample and self.num_return_sequences > self.num_beams:
            bad(f"num_return_sequences ({self.num_return_sequences}) cannot exceed num_beams "
                f"({self.num_beams}) without sampling (do_sample=True)")
        if self.early_stopping not in (True, False, "never"):
            bad(f"early_stopping must be True, False or 'never', got {self.early_stopping!r}")
        if self.do_sample:
            if self.temperature is None or self.temperature <= 0:
                bad(f"temperature must be > 0 when sampling, got {self.temperature}")
            if self.top_p is None or not 0 < self.top_p <= 1:
                bad(f"top_p must be in (0, 1], got {self.top_p}")
            if self.typical_p is None or not 0 < self.typical_p <= 1:
                bad(f"typical_p must be in (0, 1], got {self.typical_p}")
        if self.top_k is not None and self.top_k < 0:
            bad(f"top_k must be >= 0, got {self.top_k}")
        if self.repetition_penalty is None or self.repetition_penalty <= 0:
            bad(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.no_repeat_ngram_size < 0 or self.encoder_no_repeat_ngram_size < 0:
            bad("no_repeat_ngram_size values must be >= 0")
        if self.min_length < 0 or (self.min_new_tokens is not None and self.min_new_tokens < 0):
            bad("min_length/min_new_tokens must be >= 0")
        if self.max_time is not None and self.max_time <= 0:
            bad(f"max_time must be > 0 seconds, got {self.max_time}")
        if self.epsilon_cutoff and not 0 <= self.epsilon_cutoff < 1:
            bad(f"epsilon_cutoff must be in [0, 1), got {self.epsilon_cutoff}")
        if self.eta_cutoff and not 0 <= self.eta_cutoff < 1:
            bad(f"eta_cutoff must be in [0, 1), got {self.eta_cutoff}")
        if self.seed is not None and (not isinstance(self.seed, int) or self.seed < 0):
            bad(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.num_beam_groups < 1 or self.num_beams % self.num_beam_groups:
            bad(f"num_beams ({self.num_beams}) must be a multiple of num_beam_groups "
                f"({self.num_beam_groups})")
        # Strategies transformers has and we do not: refuse rather than silently decode otherwise.
        unsupported = []
        if self.num_beam_groups > 1 or self.diversity_penalty:
            unsupported.append("group (diverse) beam search (num_beam_groups > 1, diversity_penalty)")
        if self.penalty_alpha is not None and self.penalty_alpha > 0 and (self.top_k or 0) > 1:
            unsupported.append("contrastive search (penalty_alpha)")
        if self.constraints or self.force_words_ids:
            unsupported.append("constrained beam search (constraints, force_words_ids)")
        if self.guidance_scale is not None and self.guidance_scale != 1:
            # transformers runs the model a second time on an unconditional prompt for it
            unsupported.append("classifier-free guidance (guidance_scale != 1)")
        if unsupported:
            raise NotImplementedYetError(f"generate() does not support {'; '.join(unsupported)} yet")
        self._warn_unused_flags()

    _INTS = ("max_length", "max_new_tokens", "min_length", "min_new_tokens", "num_beams",
             "num_beam_groups", "top_k", "no_repeat_ngram_size", "num_return_sequences",
             "encoder_no_repeat_ngram_size", "pad_token_id", "bos_token_id",
             "forced_bos_token_id", "decoder_start_token_id")
    _REQUIRED = ("num_beams", "num_beam_groups", "num_return_sequences", "min_length",
                 "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "repetition_penalty",
                 "length_penalty", "do_sample")
    _FLOATS = ("max_time", "temperature", "top_p", "typical_p", "epsilon_cutoff", "eta_cutoff",
               "diversity_penalty", "repetition_penalty", "encoder_repetition_penalty",
               "length_penalty", "penalty_alpha", "guidance_scale")
    _BOOLS = ("do_sample", "use_cache", "renormalize_logits", "remove_invalid_values",
              "output_attentions", "output_hidden_states", "output_scores",
              "return_dict_in_generate")

    def _check_types(self, bad) -> None:
        """Wrong types fail here with the field's name, not as a TypeError deep in a comparison."""
        import numbers

        for name in self._REQUIRED:
            if getattr(self, name) is None:
                bad(f"{name} must be set, got None")
        for name in self._INTS:
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
                bad(f"{name} must be an integer, got {value!r}")
            if value is not None:
                setattr(self, name, int(value))  # numpy integers → int (JSON for the core)
        for name in self._FLOATS:
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
                bad(f"{name} must be a number, got {value!r}")
            if value is not None and value != value:
                bad(f"{name} must not be NaN")
        for name in self._BOOLS:
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                bad(f"{name} must be True or False, got {value!r}")
            setattr(self, name, bool(value))
        for name in ("eos_token_id", "forced_eos_token_id"):
            value = getattr(self, name)
            ids = [value] if not isinstance(value, (list, tuple)) else value
            if value is not None and any(isinstance(i, bool) or not isinstance(i, numbers.Integral) for i in ids):
                bad(f"{name} must be an integer or a list of integers, got {value!r}")
        if not isinstance(self.generation_kwargs, dict):
            bad("generation_kwargs must be a dict")

    def _warn_unused_flags(self) -> None:
        """transformers' GenerationConfig.validate warnings: a flag set away from its default that
        the decoding mode never reads (e.g. temperature with greedy decoding)."""
        notes = []
        if not self.do_sample:
            for name, default in (("temperature", 1.0), ("top_p", 1.0), ("typical_p", 1.0),
                                  ("epsilon_cutoff", 0.0), ("eta_cutoff", 0.0)):
                value = getattr(self, name)
                if value is not None and value != default:
                    notes.append(f"`{name}` is {value}, but it is only used when sampling "
                                 f"(do_sample=True)")
        if self.num_beams == 1:
            if self.length_penalty != 1.0:
                notes.append(f"`length_penalty` is {self.length_penalty}, but it is only used in "
                             f"beam search (num_beams > 1)")
            if self.early_stopping is not False:
                notes.append(f"`early_stopping` is {self.early_stopping!r}, but it is only used in "
                             f"beam search (num_beams > 1)")
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=4)


def _model_config_values(model_config: Any) -> dict[str, Any]:
    """Generation fields found in config.json, also inside ``decoder``/``generator``/``text_config``
    (Transformers.js reads token ids from there for composite models)."""
    raw = model_config.to_dict() if hasattr(model_config, "to_dict") else dict(model_config or {})
    merged = dict(raw)
    for key in ("decoder", "generator", "text_config"):
        sub = raw.get(key)
        if isinstance(sub, Mapping):
            merged.update(sub)
    names = GenerationConfig.field_names()
    return {k: v for k, v in merged.items() if k in names}


def prepare_generation_config(model_config: Any = None,
                              generation_config_json: Mapping[str, Any] | None = None,
                              generation_config: GenerationConfig | Mapping[str, Any] | None = None,
                              **kwargs: Any) -> GenerationConfig:
    """Defaults ← config.json ← generation_config.json ← ``generation_config=`` ← kwargs.

    This is the order of Transformers.js' ``_prepare_generation_config`` (and of transformers,
    where generation_config.json supersedes the generation fields of config.json). Unknown kwargs
    warn, as in transformers, and are returned in ``generation_kwargs`` for the model call.
    """
    config = GenerationConfig()
    if model_config is not None:
        config.update(_model_config_values(model_config))
    if generation_config_json:
        config.update(generation_config_json)
    if generation_config is not None:
        values = generation_config.to_dict() if isinstance(generation_config, GenerationConfig) \
            else dict(generation_config)
        config.update(values)
    unknown = config.update(kwargs)
    if unknown:
        warnings.warn(f"generation options not used by generate(): {', '.join(sorted(unknown))} "
                      f"(passed to the model as extra inputs if it declares them)", UserWarning,
                      stacklevel=3)
        config.generation_kwargs = {**config.generation_kwargs,
                                    **{k: kwargs[k] for k in unknown}}
    config.validate()
    return config
