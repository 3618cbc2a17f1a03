"""AutoFeatureExtractor / AutoImageProcessor / AutoProcessor: pick the class named in
``preprocessor_config.json`` (``feature_extractor_type``, else ``image_processor_type``)."""

from __future__ import annotations

import importlib
import warnings
from typing import Any, Callable

from .. import hub
from ..errors import InvalidConfigError, UnsupportedModelError

def registry() -> dict[str, type]:
    """Class name → class, over every audio feature extractor and image processor shipped."""
    classes: dict[str, type] = {}
    audio = importlib.import_module(f"{__package__}.audio")
    for name in getattr(audio, "__all__", []):
        classes[name] = getattr(audio, name)
    # Kaldi-fbank and SpeechT5 extractors live in their own modules (each lists its classes in __all__)
    for module in ("seamless_m4t", "speecht5", "wespeaker"):
        mod = importlib.import_module(f"{__package__}.audio.{module}")
        for name in mod.__all__:
            classes.setdefault(name, getattr(mod, name))
    try:
        image = importlib.import_module(f"{__package__}.image")
    except ModuleNotFoundError:  # image processors not built into this version
        image = None
    if image is not None:
        classes.update(getattr(image, "IMAGE_PROCESSORS", {}))
    return classes


def _class_for(config: dict, repo: str) -> type:
    declared = config.get("feature_extractor_type") or config.get("image_processor_type")
    classes = registry()
    if declared:
        for candidate in (declared, declared.removesuffix("Fast")):
            if candidate in classes:
                return classes[candidate]
            # ViTFeatureExtractor ↔ ViTImageProcessor are the same thing in transformers
            swapped = candidate.replace("FeatureExtractor", "ImageProcessor") \
                if candidate.endswith("FeatureExtractor") else candidate.replace("ImageProcessor", "FeatureExtractor")
            if swapped in classes:
                return classes[swapped]
    generic = classes.get("ImageProcessor") or classes.get("ImageFeatureExtractor")
    if "size" in config and generic is not None:
        warnings.warn(f"Unknown processor type {declared!r} in {repo!r}; using the generic "
                      f"{generic.__name__}.", stacklevel=3)
        return generic
    raise UnsupportedModelError(
        f"preprocessor_config.json of {repo!r} names {declared!r}, which onnxformers does not "
        f"support (known: {', '.join(sorted(classes))}).")


def _load_config(repo: str, options: dict) -> dict:
    kwargs = hub.hub_options(options)
    config = hub.get_json(repo, "preprocessor_config.json", **kwargs)
    if not isinstance(config, dict):
        raise InvalidConfigError(f"preprocessor_config.json of {repo!r} is not a JSON object")
    return config


class AutoFeatureExtractor:
    """``AutoFeatureExtractor.from_pretrained(repo_or_path)`` → the feature extractor or image
    processor named in ``preprocessor_config.json``."""

    def __init__(self) -> None:  # pragma: no cover
        raise TypeError(f"{type(self).__name__} is not instantiable; use .from_pretrained()")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str, *, config: dict | None = None,
                        **options: Any):
        config = dict(config) if config is not None else _load_config(
            pretrained_model_name_or_path, options)
        klass = _class_for(config, pretrained_model_name_or_path)
        return klass.from_dict(config) if hasattr(klass, "from_dict") else klass(config)


class AutoImageProcessor(AutoFeatureExtractor):
    """Alias of :class:`AutoFeatureExtractor` for image processors."""


class Processor:
    """Bundles a feature extractor / image processor with the model's tokenizer (when it has one).
    Calling it forwards to the feature extractor, as in Transformers.js."""

    def __init__(self, feature_extractor: Callable | None = None, tokenizer: Any = None):
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer

    @property
    def image_processor(self):
        return self.feature_extractor

    def __call__(self, *args: Any, **kwargs: Any):
        if self.feature_extractor is None:
            raise UnsupportedModelError("this processor has no feature extractor")
        return self.feature_extractor(*args, **kwargs)

    def __getattr__(self, name: str):
        # post-processing helpers (post_process_object_detection…) live on the feature extractor
        extractor = self.__dict__.get("feature_extractor")
        if extractor is not None and not name.startswith("_"):
            return getattr(extractor, name)
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"Processor(feature_extractor={self.feature_extractor!r}, tokenizer={self.tokenizer!r})"


class AutoProcessor:
    """``AutoProcessor.from_pretrained(repo_or_path)`` → a :class:`Processor` holding the feature
    extractor (and the tokenizer when the repo has a ``tokenizer.json``)."""

    def __init__(self) -> None:  # pragma: no cover
        raise TypeError("AutoProcessor is not instantiable; use AutoProcessor.from_pretrained()")

    @staticmethod
    def from_pretrained(pretrained_model_name_or_path: str, *, tokenizer: Any = None,
                        **options: Any) -> Processor:
        """``tokenizer=`` reuses an already loaded tokenizer instead of loading it again."""
        extractor = AutoFeatureExtractor.from_pretrained(pretrained_model_name_or_path, **options)
        kwargs = hub.hub_options(options)
        if tokenizer is None and hub.resolve_file(pretrained_model_name_or_path, "tokenizer.json",
                                                  required=False, **kwargs) is not None:
            from ..tokenizers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(pretrained_model_name_or_path, **kwargs)
        return Processor(extractor, tokenizer)
