"""The exception hierarchy. Every error the library raises on purpose derives from
:class:`OnnxformersError`, and also from the builtin that fits, so ``except ValueError`` works too."""

from __future__ import annotations


class OnnxformersError(Exception):
    """Base class of every onnxformers error."""


class ModelNotFoundError(OnnxformersError, FileNotFoundError):
    """A model repo, local folder or file inside it could not be found."""


class FileMissingError(ModelNotFoundError):
    """A required file (config.json, tokenizer.json, an .onnx file…) is absent from a model."""


class InvalidConfigError(OnnxformersError, ValueError):
    """A configuration file exists but is malformed."""


class UnsupportedModelError(OnnxformersError, ValueError):
    """The model type or architecture is not supported for the requested class or task."""


class UnsupportedTaskError(OnnxformersError, ValueError):
    """The task name is unknown."""


class NotImplementedYetError(OnnxformersError, NotImplementedError):
    """The task or feature is part of the spec but not implemented in this version."""


class TokenizerError(OnnxformersError, ValueError):
    """tokenizer.json is malformed, or encoding/decoding failed."""


class InvalidInputError(OnnxformersError, ValueError):
    """The inputs given to a pipeline, tokenizer or processor are of the wrong type or shape."""


class BackendError(OnnxformersError, RuntimeError):
    """ONNX Runtime could not load or run a model (corrupt file, missing inputs, EP failure)."""


class UnknownDeviceError(OnnxformersError, ValueError):
    """``device=`` names no known execution provider."""


class UnknownDtypeError(OnnxformersError, ValueError):
    """``dtype=`` names no known weight format."""


class HubError(OnnxformersError, OSError):
    """The hub could not be reached, or refused the request (auth, offline mode)."""


class GatedRepoError(HubError, PermissionError):
    """The repo is private or gated and no valid token was given."""


__all__ = [name for name in dir() if name.endswith("Error")]
