"""The Auto classes: pick the concrete model class from ``config.model_type``."""

from __future__ import annotations

import functools
from typing import Any, Mapping

from ..configs import AutoConfig, PretrainedConfig
from ..errors import UnsupportedModelError
from . import registry
from .base import PreTrainedModel, hub_kwargs


@functools.lru_cache(maxsize=None)
def model_class(class_name: str, model_type: str) -> type[PreTrainedModel]:
    """A concrete class named like the Transformers.js one (``BertForSequenceClassification``…).

    They share :class:`PreTrainedModel`'s machinery; the name and ``kind`` are what differ.
    Families with extra behaviour (generation, Whisper, SAM…) get real subclasses as they land.
    """
    kind = registry.model_kind(model_type, class_name)
    attrs = {"kind": kind, "__module__": __name__}
    if class_name in registry.SUBMODEL_CLASSES:
        attrs["default_model_file_name"] = registry.SUBMODEL_CLASSES[class_name][1]
    return type(class_name, (PreTrainedModel,), attrs)


class _AutoModel:
    #: Auto class name, key into registry.AUTO_MAPPINGS
    _mapping_name = "AutoModel"
    #: fall back to the bare model class for unmapped types (Transformers.js BASE_IF_FAIL)
    _base_if_fail = False

    def __init__(self) -> None:  # pragma: no cover - guard
        raise TypeError(f"{type(self).__name__} is not instantiable; use .from_pretrained()")

    @classmethod
    def supported_model_types(cls) -> list[str]:
        return sorted(registry.AUTO_MAPPINGS[cls._mapping_name])

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str, **options: Any) -> PreTrainedModel:
        config = options.get("config")
        if config is None:
            config = AutoConfig.from_pretrained(pretrained_model_name_or_path, **hub_kwargs(options))
        elif isinstance(config, Mapping):
            config = PretrainedConfig(dict(config))
        options = {**options, "config": config}
        mapping = registry.AUTO_MAPPINGS[cls._mapping_name]
        model_type = config.model_type
        class_name = mapping.get(model_type)
        if class_name is None:
            if cls._base_if_fail:
                return PreTrainedModel.from_pretrained(pretrained_model_name_or_path, **options)
            others = [name for name, m in registry.AUTO_MAPPINGS.items() if model_type in m]
            hint = f" It is supported by: {', '.join(others)}." if others else ""
            raise UnsupportedModelError(
                f"{cls.__name__} does not support model_type {model_type!r} "
                f"(from {pretrained_model_name_or_path!r}).{hint}"
            )
        return model_class(class_name, model_type).from_pretrained(
            pretrained_model_name_or_path, **options)


def _make_auto(name: str) -> type:
    return type(name, (_AutoModel,), {
        "_mapping_name": name, "_base_if_fail": name == "AutoModel", "__module__": __name__,
        "__doc__": f"Loads the model class for ``config.model_type`` among "
                   f"{len(registry.AUTO_MAPPINGS[name])} architectures.",
    })


AUTO_CLASSES = {name: _make_auto(name) for name in registry.AUTO_MAPPINGS}
globals().update(AUTO_CLASSES)


#: classes loaded by explicit name (a text or vision tower of a CLIP/SigLIP/CLAP repo)
SUBMODEL_CLASSES = {name: model_class(name, model_type)
                    for name, (model_type, _) in registry.SUBMODEL_CLASSES.items()}
globals().update(SUBMODEL_CLASSES)
