"""Model configs: ``PretrainedConfig``, ``AutoConfig`` and the normalized view used for KV-cache shapes.

>>> from onnxformers import AutoConfig
>>> config = AutoConfig.from_pretrained("Xenova/bert-base-uncased")
>>> config.model_type, config.num_hidden_layers, config.id2label
('bert', 12, {})

Port of Transformers.js' ``configs`` module. Every key of ``config.json`` is an attribute; a few get
Python-friendly treatment: ``id2label`` has ``int`` keys, ``label2id`` ``int`` values, sub-configs
(``text_config``, ``encoder``, ``decoder``, …) are :class:`PretrainedConfig` themselves, and the
``"transformers.js_config"`` key (not an identifier) is exposed as ``transformers_js_config``.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, fields
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from .errors import InvalidConfigError, UnsupportedModelError

__all__ = [
    "PretrainedConfig",
    "AutoConfig",
    "NormalizedConfig",
    "normalized_config",
    "key_value_shapes",
]

# Dict values under these keys are configs of sub-models (wrapped as PretrainedConfig).
_SUB_CONFIG_KEYS = frozenset(
    {
        "text_config",
        "vision_config",
        "audio_config",
        "speech_config",
        "encoder",
        "decoder",
        "audio_encoder",
        "text_encoder",
        "generator",
        "question_encoder",
        "phi_config",
        "language_config",
        "backbone_config",
    }
)

_JS_CONFIG_KEY = "transformers.js_config"


def _label_maps(data: Dict[str, Any], source: str) -> None:
    """Normalize ``id2label`` to ``{int: str}`` and ``label2id`` to ``{str: int}`` (JSON keys are strings)."""
    id2label = data.get("id2label")
    label2id = data.get("label2id")
    if id2label is not None:
        if not isinstance(id2label, dict):
            raise InvalidConfigError(f"{source}: 'id2label' must be an object, got {type(id2label).__name__}")
        try:
            data["id2label"] = {int(k): v for k, v in id2label.items()}
        except (TypeError, ValueError) as exc:
            raise InvalidConfigError(f"{source}: 'id2label' keys must be integers, got {list(id2label)[:5]}") from exc
    if label2id is not None:
        if not isinstance(label2id, dict):
            raise InvalidConfigError(f"{source}: 'label2id' must be an object, got {type(label2id).__name__}")
        try:
            data["label2id"] = {str(k): int(v) for k, v in label2id.items()}
        except (TypeError, ValueError) as exc:
            raise InvalidConfigError(f"{source}: 'label2id' values must be integers") from exc


class PretrainedConfig:
    """A model's ``config.json`` with attribute access to every key.

    ``config.foo`` reads key ``foo`` (``AttributeError`` if absent: use ``getattr(config, "foo", None)``
    or ``config.get("foo")``); assigning ``config.foo = 1`` sets it. ``to_dict()`` gives the JSON back
    (with ``id2label`` keys as ints; ``json.dumps`` turns them into strings again).
    """

    __slots__ = ("_data", "_normalized", "_source")

    def __init__(self, config_json: Optional[Dict[str, Any]] = None, *, source: str = "config") -> None:
        if config_json is None:
            config_json = {}
        if isinstance(config_json, PretrainedConfig):
            config_json = config_json.to_dict()
        if not isinstance(config_json, dict):
            raise InvalidConfigError(f"{source}: a config must be a JSON object, got {type(config_json).__name__}")
        data = dict(config_json)
        _label_maps(data, source)
        if data.get("id2label") is not None and data.get("label2id") is None:
            data["label2id"] = {str(v): k for k, v in data["id2label"].items()}
        elif data.get("label2id") is not None and data.get("id2label") is None:
            data["id2label"] = {v: k for k, v in data["label2id"].items()}
        for key in _SUB_CONFIG_KEYS:
            if isinstance(data.get(key), dict):
                data[key] = PretrainedConfig(data[key], source=f"{source}[{key!r}]")
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_normalized", None)
        object.__setattr__(self, "_source", source)

    # ---- construction -----------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: Union[str, "os.PathLike[str]"],
        *,
        revision: Optional[str] = "main",
        cache_dir: Union[str, "os.PathLike[str]", None] = None,
        local_files_only: bool = False,
        token: Union[str, bool, None] = None,
        progress_callback=None,
        config: Union["PretrainedConfig", Dict[str, Any], None] = None,
    ) -> "PretrainedConfig":
        """Load ``config.json`` from a Hub repo or a local folder (see :func:`onnxformers.hub.resolve_file`).

        ``config`` short-cuts the loading (a dict or a PretrainedConfig, as in Transformers.js).

        Raises:
            FileMissingError: there is no config.json.
            InvalidConfigError: config.json is not valid JSON, or not a JSON object.
        """
        if config is not None:
            if isinstance(config, PretrainedConfig):
                return config if type(config) is cls else cls(config.to_dict(), source=config._source)
            return cls(config, source="config=")
        from .hub import load_json_file, resolve_file

        path = resolve_file(
            pretrained_model_name_or_path,
            "config.json",
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            progress_callback=progress_callback,
        )
        label = f"config.json of {os.fspath(pretrained_model_name_or_path)!r} ({path})"
        data = load_json_file(path, label=f"config.json of {os.fspath(pretrained_model_name_or_path)!r}")
        if not isinstance(data, dict):
            raise InvalidConfigError(f"{label} must hold a JSON object, got {type(data).__name__}")
        return cls(data, source=label)

    # ---- documented properties (with defaults, as in Transformers.js) ------------------------------
    @property
    def model_type(self) -> Optional[str]:
        return self._data.get("model_type")

    @property
    def is_encoder_decoder(self) -> bool:
        return bool(self._data.get("is_encoder_decoder", False))

    @property
    def max_position_embeddings(self) -> Optional[int]:
        return self._data.get("max_position_embeddings")

    @property
    def id2label(self) -> Dict[int, str]:
        """``{index: label}`` with int keys; empty when the config has no labels."""
        return self._data.get("id2label") or {}

    @property
    def label2id(self) -> Dict[str, int]:
        return self._data.get("label2id") or {}

    @property
    def num_labels(self) -> Optional[int]:
        """``num_labels`` if the file says so, else ``len(id2label)``, else ``None``."""
        if self._data.get("num_labels") is not None:
            return int(self._data["num_labels"])
        return len(self.id2label) or None

    @property
    def problem_type(self) -> Optional[str]:
        """``"single_label_classification"``, ``"multi_label_classification"``, ``"regression"`` or None."""
        return self._data.get("problem_type")

    @property
    def transformers_js_config(self) -> Dict[str, Any]:
        """The ``"transformers.js_config"`` object (``device``, ``dtype``, ``kv_cache_dtype``, …) or ``{}``."""
        value = self._data.get(_JS_CONFIG_KEY)
        return value if isinstance(value, dict) else {}

    @property
    def normalized_config(self) -> "NormalizedConfig":
        """:func:`normalized_config` of this config (computed once)."""
        if self._normalized is None:
            object.__setattr__(self, "_normalized", normalized_config(self))
        return self._normalized

    # ---- mapping-ish access -----------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in PretrainedConfig.__slots__:
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} ({self._data.get('model_type')!r}) has no key {name!r}"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in PretrainedConfig.__slots__ or name == "normalized_config":
            raise AttributeError(f"{name!r} cannot be set")
        data = dict(self._data)
        if name in ("id2label", "label2id"):
            other = "label2id" if name == "id2label" else "id2label"
            data[name] = value
            data.pop(other, None)
            _label_maps(data, self._source)
            if value is None:
                data.pop(name)
            elif name == "id2label":
                data[other] = {str(v): k for k, v in data[name].items()}
            else:
                data[other] = {v: k for k, v in data[name].items()}
        elif name == "transformers_js_config":
            data[_JS_CONFIG_KEY] = value
        elif name in _SUB_CONFIG_KEYS and isinstance(value, dict):
            data[name] = PretrainedConfig(value, source=f"{self._source}[{name!r}]")
        else:
            data[name] = value
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_normalized", None)

    def __delattr__(self, name: str) -> None:
        try:
            del self._data[name]
        except KeyError:
            raise AttributeError(name) from None
        object.__setattr__(self, "_normalized", None)

    def get(self, key: str, default: Any = None) -> Any:
        """Value of ``key`` (any JSON key, including ``"transformers.js_config"``) or ``default``."""
        return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def keys(self) -> Iterator[str]:
        return iter(list(self._data))

    def __dir__(self) -> List[str]:
        return sorted(set(super().__dir__()) | {k for k in self._data if k.isidentifier()})

    def to_dict(self) -> Dict[str, Any]:
        """A deep copy of the config as plain JSON-able data (sub-configs as dicts)."""
        out: Dict[str, Any] = {}
        for key, value in self._data.items():
            out[key] = value.to_dict() if isinstance(value, PretrainedConfig) else copy.deepcopy(value)
        return out

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PretrainedConfig):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.to_json_string()}"

    def __getstate__(self) -> Dict[str, Any]:
        return {"data": self.to_dict(), "source": self._source}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        object.__setattr__(self, "_normalized", None)
        tmp = PretrainedConfig(state["data"], source=state["source"])
        object.__setattr__(self, "_data", tmp._data)
        object.__setattr__(self, "_source", state["source"])


class AutoConfig:
    """``AutoConfig.from_pretrained(id_or_path, **options)`` → :class:`PretrainedConfig`."""

    def __init__(self) -> None:  # pragma: no cover - mirrors transformers: not instantiable
        raise TypeError("AutoConfig is not instantiable: use AutoConfig.from_pretrained(...)")

    @staticmethod
    def from_pretrained(
        pretrained_model_name_or_path: Union[str, "os.PathLike[str]"],
        *,
        revision: Optional[str] = "main",
        cache_dir: Union[str, "os.PathLike[str]", None] = None,
        local_files_only: bool = False,
        token: Union[str, bool, None] = None,
        progress_callback=None,
        config: Union[PretrainedConfig, Dict[str, Any], None] = None,
    ) -> PretrainedConfig:
        return PretrainedConfig.from_pretrained(
            pretrained_model_name_or_path,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            progress_callback=progress_callback,
            config=config,
        )


# ------------------------------------------------------------------------------------------------------
# normalized config (Transformers.js' getNormalizedConfig) and KV-cache shapes (getKeyValueShapes)


@dataclass(frozen=True)
class NormalizedConfig:
    """Architecture numbers under one set of names, whatever the family calls them.

    Decoder-only models fill ``num_layers``, ``num_heads`` (query/attention heads), ``num_kv_heads``
    (key/value heads: fewer with GQA/MQA; a per-layer list for OpenELM), ``head_dim`` and
    ``hidden_size``. Encoder-decoder models fill the ``*_encoder_*`` / ``*_decoder_*`` fields. Fields a
    family does not define are ``None``.
    """

    model_type: Optional[str] = None
    is_encoder_decoder: bool = False
    multi_query: bool = False
    num_layers: Optional[int] = None
    num_heads: Optional[Union[int, List[int]]] = None
    num_kv_heads: Optional[Union[int, List[int]]] = None
    head_dim: Optional[int] = None
    hidden_size: Optional[int] = None
    num_encoder_layers: Optional[int] = None
    num_decoder_layers: Optional[int] = None
    num_encoder_heads: Optional[int] = None
    num_decoder_heads: Optional[int] = None
    encoder_hidden_size: Optional[int] = None
    decoder_hidden_size: Optional[int] = None
    encoder_head_dim: Optional[int] = None
    decoder_head_dim: Optional[int] = None

    @property
    def has_encoder_decoder_cache(self) -> bool:
        """Whether the KV cache has ``encoder``/``decoder`` halves (seq2seq) rather than one per layer."""
        return self.num_encoder_heads is not None and self.num_decoder_heads is not None

    def to_dict(self) -> Dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# family → (layers key, attention heads key, kv heads key, hidden size key, head dim key). `None`: absent.
_DECODER_FAMILIES: Dict[str, Tuple[Optional[str], ...]] = {}
for _t in ("gpt2", "gptj", "jais", "codegen", "gpt_bigcode"):
    _DECODER_FAMILIES[_t] = ("n_layer", "n_head", "n_head", "n_embd", None)
for _t in ("gpt_neox", "stablelm", "opt", "falcon"):
    # stablelm-2 has num_key_value_heads (GQA): honoured below when present
    _DECODER_FAMILIES[_t] = ("num_hidden_layers", "num_attention_heads", "num_attention_heads", "hidden_size", None)
for _t in (
    "llama", "olmo", "olmo2", "mobilellm", "granite", "cohere", "mistral", "starcoder2",
    "qwen2", "qwen2_vl", "phi", "phi3", "phi3_v",
):  # fmt: skip
    _DECODER_FAMILIES[_t] = (
        "num_hidden_layers",
        "num_attention_heads",
        "num_key_value_heads",
        "hidden_size",
        "head_dim",
    )
for _t in ("gemma", "gemma2", "glm", "helium"):
    _DECODER_FAMILIES[_t] = (
        "num_hidden_layers",
        "num_attention_heads",
        "num_key_value_heads",
        "hidden_size",
        "head_dim",
    )
_DECODER_FAMILIES["openelm"] = ("num_transformer_layers", "num_query_heads", "num_kv_heads", "model_dim", "head_dim")
for _t in ("gpt_neo", "donut-swin"):
    _DECODER_FAMILIES[_t] = ("num_layers", "num_heads", "num_heads", "hidden_size", None)
_DECODER_FAMILIES["bloom"] = ("n_layer", "n_head", "n_head", "hidden_size", None)
_DECODER_FAMILIES["mpt"] = ("n_layers", "n_heads", "n_heads", "d_model", None)
_DECODER_FAMILIES["exaone"] = ("num_layers", "num_attention_heads", "num_key_value_heads", "hidden_size", "head_dim")

# family → (enc layers, dec layers, enc heads, dec heads, enc hidden, dec hidden, enc head dim, dec head dim)
_SEQ2SEQ_FAMILIES: Dict[str, Tuple[Optional[str], ...]] = {}
for _t in ("t5", "mt5", "longt5"):
    _SEQ2SEQ_FAMILIES[_t] = (
        "num_layers",
        "num_decoder_layers",
        "num_heads",
        "num_heads",
        "d_model",
        "d_model",
        "d_kv",
        "d_kv",
    )
for _t in ("bart", "mbart", "marian", "whisper", "m2m_100", "blenderbot", "blenderbot-small", "florence2_language"):
    _SEQ2SEQ_FAMILIES[_t] = (
        "encoder_layers", "decoder_layers", "encoder_attention_heads", "decoder_attention_heads",
        "d_model", "d_model", None, None,
    )  # fmt: skip
_SEQ2SEQ_FAMILIES["speecht5"] = (
    "encoder_layers", "decoder_layers", "encoder_attention_heads", "decoder_attention_heads",
    "hidden_size", "hidden_size", None, None,
)  # fmt: skip
# TrOCR / MusicGen decoders: cross-attention caches sized like the decoder's own
_SEQ2SEQ_FAMILIES["trocr"] = (
    "decoder_layers", "decoder_layers", "decoder_attention_heads", "decoder_attention_heads",
    "d_model", "d_model", None, None,
)  # fmt: skip
_SEQ2SEQ_FAMILIES["musicgen_decoder"] = (
    "num_hidden_layers", "num_hidden_layers", "num_attention_heads", "num_attention_heads",
    "hidden_size", "hidden_size", None, None,
)  # fmt: skip
_SEQ2SEQ_FAMILIES["moonshine"] = (
    "encoder_num_hidden_layers", "decoder_num_hidden_layers", "encoder_num_key_value_heads",
    "decoder_num_key_value_heads", "hidden_size", "hidden_size", None, None,
)  # fmt: skip

# multimodal wrappers: the language model's numbers live in a sub-config
_WRAPPERS = {
    "llava": "text_config",
    "paligemma": "text_config",
    "florence2": "text_config",
    "llava_onevision": "text_config",
    "idefics3": "text_config",
    "ultravox": "text_config",
    "moondream1": "phi_config",
    "musicgen": "decoder",
    "multi_modality": "language_config",
}


def _as_config(config: Union[PretrainedConfig, Dict[str, Any]]) -> PretrainedConfig:
    return config if isinstance(config, PretrainedConfig) else PretrainedConfig(config)


def _div(a: Any, b: Any) -> Optional[int]:
    if isinstance(a, int) and isinstance(b, int) and b:
        return a // b
    return None


def normalized_config(config: Union[PretrainedConfig, Dict[str, Any]]) -> NormalizedConfig:
    """Map a family's own key names onto :class:`NormalizedConfig` (Transformers.js' ``getNormalizedConfig``).

    Differences from Transformers.js, all in the direction of matching the exported graphs:
    ``num_heads`` is always the attention (query) head count and ``num_kv_heads`` the key/value one
    (Transformers.js calls the latter ``num_heads``); an explicit ``head_dim`` in the config wins over
    ``hidden_size // num_heads`` (Mistral-Nemo-style configs); ``num_key_value_heads`` is honoured when a
    family that usually lacks it has it (StableLM 2); T5's missing ``num_decoder_layers`` defaults to
    ``num_layers`` as in transformers; multi-query GPTBigCode reports ``num_kv_heads=1``; and an unknown
    ``model_type`` that is clearly a decoder (a ``*ForCausalLM``/``*LMHeadModel`` architecture,
    ``num_key_value_heads`` or ``is_decoder``) and uses the common ``num_hidden_layers``/
    ``num_attention_heads``/``hidden_size`` (or ``n_layer``/``n_head``/``n_embd``) names is normalized too.
    """
    config = _as_config(config)
    mt = config.model_type
    get = config.get
    base = dict(
        model_type=mt, is_encoder_decoder=config.is_encoder_decoder, multi_query=bool(get("multi_query", False))
    )

    if mt in _WRAPPERS:
        sub = get(_WRAPPERS[mt])
        if not isinstance(sub, PretrainedConfig):
            raise UnsupportedModelError(f"{mt!r} config lacks its {_WRAPPERS[mt]!r} sub-config")
        inner = normalized_config(sub).to_dict()
        # the wrapper's model_type / flags win, as in Transformers.js' object spread (only keys it has)
        inner.update(model_type=mt, is_encoder_decoder=config.is_encoder_decoder)
        if "multi_query" in config:
            inner["multi_query"] = bool(get("multi_query"))
        return NormalizedConfig(**inner)

    if mt == "vision-encoder-decoder":
        decoder = get("decoder")
        if not isinstance(decoder, PretrainedConfig):
            raise UnsupportedModelError("'vision-encoder-decoder' config lacks its 'decoder' sub-config")
        inner = normalized_config(decoder).to_dict()
        keep = ("num_encoder_layers", "num_decoder_layers", "num_encoder_heads", "num_decoder_heads",
                "encoder_hidden_size", "decoder_hidden_size", "encoder_head_dim", "decoder_head_dim")  # fmt: skip
        if inner["num_decoder_layers"] is None:  # decoder-only decoder (GPT-2 in ViT-GPT2)
            keep = ("num_layers", "num_heads", "num_kv_heads", "head_dim", "hidden_size")
        return NormalizedConfig(
            model_type=mt, is_encoder_decoder=config.is_encoder_decoder, **{k: inner[k] for k in keep}
        )

    if mt in _SEQ2SEQ_FAMILIES:
        enc_l, dec_l, enc_h, dec_h, enc_d, dec_d, enc_hd, dec_hd = _SEQ2SEQ_FAMILIES[mt]
        num_enc_layers = get(enc_l)
        num_dec_layers = get(dec_l)
        if num_dec_layers is None and mt in ("t5", "mt5", "longt5"):
            num_dec_layers = num_enc_layers
        nh_enc, nh_dec = get(enc_h), get(dec_h)
        hs_enc, hs_dec = get(enc_d), get(dec_d)
        hd_enc = get(enc_hd) if enc_hd else None
        hd_dec = get(dec_hd) if dec_hd else None
        return NormalizedConfig(
            **base,
            num_encoder_layers=num_enc_layers,
            num_decoder_layers=num_dec_layers,
            num_encoder_heads=nh_enc,
            num_decoder_heads=nh_dec,
            encoder_hidden_size=hs_enc,
            decoder_hidden_size=hs_dec,
            encoder_head_dim=hd_enc if hd_enc is not None else _div(hs_enc, nh_enc),
            decoder_head_dim=hd_dec if hd_dec is not None else _div(hs_dec, nh_dec),
        )

    keys = _DECODER_FAMILIES.get(mt)
    if keys is None:
        # Not a family Transformers.js lists: accept the common names for configs that are clearly
        # decoders (llama-like newcomers), but not for encoders such as BERT that share the names.
        archs = get("architectures") or []
        causal = any(isinstance(a, str) and a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs)
        if not (causal or get("num_key_value_heads") is not None or get("is_decoder")):
            return NormalizedConfig(**base)
        if get("num_hidden_layers") is not None and get("num_attention_heads") is not None:
            keys = ("num_hidden_layers", "num_attention_heads", "num_key_value_heads", "hidden_size", "head_dim")
        elif get("n_layer") is not None and get("n_head") is not None:
            keys = ("n_layer", "n_head", "n_head", "n_embd", None)
        else:
            return NormalizedConfig(**base)
    layers_k, heads_k, kv_k, hidden_k, head_dim_k = keys
    num_heads = get(heads_k)
    if get("num_key_value_heads") is not None and mt != "falcon":
        num_kv = get("num_key_value_heads")  # GQA where a family usually has none (StableLM 2)
    elif base["multi_query"] and mt == "gpt_bigcode":
        num_kv = 1  # multi-query attention: one K/V head shared by all query heads
    else:
        num_kv = get(kv_k) if kv_k else None
    if num_kv is None:
        num_kv = num_heads  # no GQA: every head has its own K/V
    hidden = get(hidden_k) if hidden_k else None
    if hidden is None and mt == "bloom":
        hidden = get("n_embed")  # older BLOOM configs
    head_dim = get(head_dim_k) if head_dim_k else None
    if head_dim is None:
        head_dim = _div(hidden, num_heads)
    return NormalizedConfig(
        **base,
        num_layers=get(layers_k),
        num_heads=num_heads,
        num_kv_heads=num_kv,
        head_dim=head_dim,
        hidden_size=hidden,
    )


def key_value_shapes(
    config: Union[PretrainedConfig, Dict[str, Any]],
    batch_size: int = 1,
    prefix: str = "past_key_values",
) -> Dict[str, Tuple[int, ...]]:
    """Shapes of the empty past key/value inputs of a decoder's first step (``getKeyValueShapes``).

    Names are ``{prefix}.{i}.key`` / ``.value`` (decoder-only), ``{prefix}.{i}.{decoder|encoder}.{key|value}``
    (encoder-decoder), ``{prefix}.{i}.key_value`` (multi-query GPTBigCode); the past-sequence axis is 0.
    Layouts follow Transformers.js: ``[batch, kv_heads, 0, head_dim]`` in general, Falcon
    ``[batch*heads, 0, head_dim]``, BLOOM keys ``[batch*heads, head_dim, 0]`` and values
    ``[batch*heads, 0, head_dim]``, multi-query ``[batch*heads, 0, 2*head_dim]``, OpenELM per-layer heads.

    Raises:
        UnsupportedModelError: the config has no decoder numbers (an encoder-only model).
    """
    nc = normalized_config(config)
    shapes: Dict[str, Tuple[int, ...]] = {}
    b = int(batch_size)

    if nc.is_encoder_decoder and nc.has_encoder_decoder_cache:
        if nc.num_decoder_layers is None or nc.encoder_head_dim is None or nc.decoder_head_dim is None:
            raise UnsupportedModelError(f"config of {nc.model_type!r} lacks the layer/head numbers for a KV cache")
        enc = (b, nc.num_encoder_heads, 0, nc.encoder_head_dim)
        dec = (b, nc.num_decoder_heads, 0, nc.decoder_head_dim)
        for i in range(nc.num_decoder_layers):
            shapes[f"{prefix}.{i}.encoder.key"] = enc
            shapes[f"{prefix}.{i}.encoder.value"] = enc
            shapes[f"{prefix}.{i}.decoder.key"] = dec
            shapes[f"{prefix}.{i}.decoder.value"] = dec
        return shapes

    if nc.num_layers is None or nc.num_kv_heads is None or nc.head_dim is None:
        raise UnsupportedModelError(
            f"cannot derive past_key_values shapes for model_type {nc.model_type!r}: "
            "the config lacks layer/head numbers (is it a decoder?)"
        )
    layers, kv, hd = nc.num_layers, nc.num_kv_heads, nc.head_dim
    if nc.model_type == "falcon":
        # Transformers.js uses the attention head count here (the export's batch*heads layout)
        dims = (b * nc.num_heads, 0, hd)
        for i in range(layers):
            shapes[f"{prefix}.{i}.key"] = dims
            shapes[f"{prefix}.{i}.value"] = dims
    elif nc.multi_query:  # gpt_bigcode
        dims = (b * nc.num_heads, 0, 2 * hd)
        for i in range(layers):
            shapes[f"{prefix}.{i}.key_value"] = dims
    elif nc.model_type == "bloom":
        for i in range(layers):
            shapes[f"{prefix}.{i}.key"] = (b * kv, hd, 0)
            shapes[f"{prefix}.{i}.value"] = (b * kv, 0, hd)
    elif isinstance(kv, list):  # openelm: heads per layer
        for i in range(layers):
            shapes[f"{prefix}.{i}.key"] = (b, kv[i], 0, hd)
            shapes[f"{prefix}.{i}.value"] = (b, kv[i], 0, hd)
    else:
        for i in range(layers):
            shapes[f"{prefix}.{i}.key"] = (b, kv, 0, hd)
            shapes[f"{prefix}.{i}.value"] = (b, kv, 0, hd)
    return shapes
