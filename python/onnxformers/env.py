"""Library-wide settings: a snake_case mirror of Transformers.js' ``env``.

>>> from onnxformers import env
>>> env.allow_remote_models = False          # same effect as local_files_only=True everywhere
>>> env.local_model_path = "/srv/models/"    # look for <local_model_path>/<repo_id>/<file> first
>>> env.cache_dir = "/tmp/hf-cache"          # instead of huggingface_hub's cache

Defaults are read from environment variables when this module is imported (and again by
:meth:`Environment.reset`); afterwards the object is plain mutable state that users own:

========================  ===========================================  ==========================================
setting                   default                                      environment variable
========================  ===========================================  ==========================================
``allow_remote_models``   ``True``                                     ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``
                                                                       truthy → ``False`` (as huggingface_hub does)
``remote_host``           ``"https://huggingface.co/"``                ``HF_ENDPOINT``
``remote_path_template``  ``"{model}/resolve/{revision}/"``
``allow_local_models``    ``True``
``local_model_path``      ``"models/"`` (relative to the working dir)
``cache_dir``             ``None`` → huggingface_hub's cache           ``HF_HUB_CACHE`` / ``HF_HOME`` (read by
                                                                       huggingface_hub)
``use_fs_cache``          ``True``
``token``                 ``None``                                     ``HF_TOKEN`` / ``HUGGING_FACE_HUB_TOKEN``
========================  ===========================================  ==========================================

Why ``local_model_path = "models/"``: the docs' default ``/models/`` is *root-relative to the web
site* in a browser, and Transformers.js on Node resolves it against its own package folder. A Python
process has neither a site root nor a writable package folder, and the filesystem root ``/models/``
would be surprising. The working directory plays the role of the site root for a server or script, so
``models/<org>/<name>/config.json`` next to where you run is found without configuration. It is
resolved at lookup time, so ``os.chdir`` is honoured.

Names mirror the docs in snake_case (``allowRemoteModels`` → ``allow_remote_models``); assigning an
unknown name (for example the camelCase spelling) raises ``AttributeError`` with the right name, and
cheap type checks reject values that would only fail much later.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

__all__ = ["env", "Environment", "OnnxBackendSettings", "Backends", "physical_core_count"]

DEFAULT_REMOTE_HOST = "https://huggingface.co/"
DEFAULT_REMOTE_PATH_TEMPLATE = "{model}/resolve/{revision}/"
DEFAULT_LOCAL_MODEL_PATH = "models/"

# onnxruntime's severity levels (OrtLoggingLevel), named as onnxruntime-common's env.logLevel.
LOG_LEVELS = ("verbose", "info", "warning", "error", "fatal")

_TRUE = {"1", "ON", "YES", "TRUE"}  # huggingface_hub's `_is_true`, so both libraries agree


def _is_true(value: Optional[str]) -> bool:
    return value is not None and value.strip().upper() in _TRUE


def _camel_to_snake(name: str) -> str:
    out = []
    for ch in name:
        if ch.isupper():
            out.append("_")
            out.append(ch.lower())
        else:
            out.append(ch)
    return "".join(out).lstrip("_")


def physical_core_count() -> int:
    """Physical cores available to this process (what onnxruntime uses for its default intra-op pool).

    Counts distinct (package, core) pairs among the CPUs in our affinity mask from Linux sysfs, so SMT
    siblings are counted once; elsewhere (or if sysfs is unreadable) falls back to the logical count.
    """
    try:
        cpus = sorted(os.sched_getaffinity(0))  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        cpus = list(range(os.cpu_count() or 1))
    cores = set()
    try:
        for cpu in cpus:
            topo = f"/sys/devices/system/cpu/cpu{cpu}/topology"
            with open(f"{topo}/physical_package_id") as f:
                package = f.read().strip()
            with open(f"{topo}/core_id") as f:
                core = f.read().strip()
            cores.add((package, core))
    except OSError:
        return max(1, len(cpus))
    return max(1, len(cores)) if cores else max(1, len(cpus))


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"env.{name} must be a bool, got {type(value).__name__}: {value!r}")
    return value


def _check_threads(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"env.backends.onnx.{name} must be an int, got {type(value).__name__}: {value!r}")
    if value < 0:
        raise ValueError(f"env.backends.onnx.{name} must be >= 0 (0 lets onnxruntime decide), got {value}")
    return value


class _Settings:
    """Base: ``__slots__`` state plus a helpful error for unknown (e.g. camelCase) names."""

    __slots__ = ()
    _prefix = "env"

    def __setattr__(self, name: str, value: Any) -> None:
        if not hasattr(type(self), name):
            snake = _camel_to_snake(name)
            hint = f"; did you mean {self._prefix}.{snake}?" if hasattr(type(self), snake) else ""
            raise AttributeError(f"{self._prefix} has no setting {name!r}{hint}")
        object.__setattr__(self, name, value)

    def _public(self) -> list:
        return [n for n in dir(type(self)) if not n.startswith("_") and not callable(getattr(self, n))]

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._public())
        return f"{type(self).__name__}({fields})"


class OnnxBackendSettings(_Settings):
    """``env.backends.onnx``: defaults for every onnxruntime session this library creates.

    - ``intra_op_num_threads``: threads inside one operator; default = physical cores (onnxruntime's own
      default, made explicit so it can be read and changed). ``0`` lets onnxruntime decide.
    - ``inter_op_num_threads``: threads across operators; onnxruntime only uses them with
      ``ExecutionMode.ORT_PARALLEL``. Default 1.
    - ``log_level`` (``"verbose"|"info"|"warning"|"error"|"fatal"``, default ``"warning"`` like
      onnxruntime) and its numeric twin ``log_severity_level`` (0-4); setting either updates both.
    - ``execution_providers``: ``None`` lets the backend choose from ``device=``; otherwise a list of
      provider names or ``(name, options)`` pairs used when ``device`` is not given.
    """

    __slots__ = ("_intra", "_inter", "_log_level", "_providers")
    _prefix = "env.backends.onnx"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        object.__setattr__(self, "_intra", None)  # computed on first read: sysfs reads are not free
        object.__setattr__(self, "_inter", 1)
        object.__setattr__(self, "_log_level", "warning")
        object.__setattr__(self, "_providers", None)

    @property
    def intra_op_num_threads(self) -> int:
        if self._intra is None:
            object.__setattr__(self, "_intra", physical_core_count())
        return self._intra

    @intra_op_num_threads.setter
    def intra_op_num_threads(self, value: int) -> None:
        object.__setattr__(self, "_intra", _check_threads("intra_op_num_threads", value))

    @property
    def inter_op_num_threads(self) -> int:
        return self._inter

    @inter_op_num_threads.setter
    def inter_op_num_threads(self, value: int) -> None:
        object.__setattr__(self, "_inter", _check_threads("inter_op_num_threads", value))

    @property
    def log_level(self) -> str:
        return self._log_level

    @log_level.setter
    def log_level(self, value: str) -> None:
        if not isinstance(value, str) or value.lower() not in LOG_LEVELS:
            raise ValueError(f"env.backends.onnx.log_level must be one of {LOG_LEVELS}, got {value!r}")
        object.__setattr__(self, "_log_level", value.lower())

    @property
    def log_severity_level(self) -> int:
        return LOG_LEVELS.index(self._log_level)

    @log_severity_level.setter
    def log_severity_level(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < len(LOG_LEVELS):
            raise ValueError(f"env.backends.onnx.log_severity_level must be an int in 0..4, got {value!r}")
        object.__setattr__(self, "_log_level", LOG_LEVELS[value])

    @property
    def execution_providers(self) -> Optional[list]:
        return self._providers

    @execution_providers.setter
    def execution_providers(self, value: Optional[Sequence[Union[str, tuple]]]) -> None:
        if value is not None:
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
                raise TypeError(
                    "env.backends.onnx.execution_providers must be None or a list of provider names "
                    f"or (name, options) pairs, got {value!r}"
                )
            for item in value:
                ok = isinstance(item, str) or (
                    isinstance(item, tuple)
                    and len(item) == 2
                    and isinstance(item[0], str)
                    and isinstance(item[1], dict)
                )
                if not ok:
                    raise TypeError(f"invalid execution provider entry {item!r}: expected a name or (name, options)")
            value = list(value)
        object.__setattr__(self, "_providers", value)


class Backends(_Settings):
    """``env.backends``: one entry per backend (only ONNX Runtime here; no WASM in Python)."""

    __slots__ = ("_onnx",)
    _prefix = "env.backends"

    def __init__(self) -> None:
        object.__setattr__(self, "_onnx", OnnxBackendSettings())

    @property
    def onnx(self) -> OnnxBackendSettings:
        return self._onnx


class Environment(_Settings):
    """The type of :data:`env`. Use the singleton; :meth:`reset` restores defaults in place."""

    __slots__ = (
        "_allow_remote",
        "_remote_host",
        "_remote_template",
        "_allow_local",
        "_local_path",
        "_cache_dir",
        "_use_fs_cache",
        "_token",
        "_backends",
    )

    def __init__(self) -> None:
        object.__setattr__(self, "_backends", Backends())
        self.reset()

    def reset(self) -> None:
        """Restore every setting to its default, re-reading the environment variables (for tests)."""
        e = os.environ
        object.__setattr__(
            self, "_allow_remote", not (_is_true(e.get("HF_HUB_OFFLINE")) or _is_true(e.get("TRANSFORMERS_OFFLINE")))
        )
        endpoint = (e.get("HF_ENDPOINT") or "").strip()
        object.__setattr__(self, "_remote_host", endpoint.rstrip("/") + "/" if endpoint else DEFAULT_REMOTE_HOST)
        object.__setattr__(self, "_remote_template", DEFAULT_REMOTE_PATH_TEMPLATE)
        object.__setattr__(self, "_allow_local", True)
        object.__setattr__(self, "_local_path", DEFAULT_LOCAL_MODEL_PATH)
        object.__setattr__(self, "_cache_dir", None)
        object.__setattr__(self, "_use_fs_cache", True)
        token = (e.get("HF_TOKEN") or e.get("HUGGING_FACE_HUB_TOKEN") or "").strip()
        object.__setattr__(self, "_token", token or None)
        self._backends.onnx.reset()

    # --- read-only -------------------------------------------------------------------------------
    @property
    def version(self) -> str:
        from . import __version__

        return __version__

    @property
    def backends(self) -> Backends:
        return self._backends

    # --- hub / loading ---------------------------------------------------------------------------
    @property
    def allow_remote_models(self) -> bool:
        """Whether files may be downloaded; ``False`` acts like ``local_files_only=True`` everywhere."""
        return self._allow_remote

    @allow_remote_models.setter
    def allow_remote_models(self, value: bool) -> None:
        object.__setattr__(self, "_allow_remote", _check_bool("allow_remote_models", value))

    @property
    def remote_host(self) -> str:
        """Base URL of the Hub (or a mirror), e.g. ``https://huggingface.co/``."""
        return self._remote_host

    @remote_host.setter
    def remote_host(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"env.remote_host must be a str URL, got {type(value).__name__}: {value!r}")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"env.remote_host must start with http:// or https://, got {value!r}")
        object.__setattr__(self, "_remote_host", value)

    @property
    def remote_path_template(self) -> str:
        """Path appended to :attr:`remote_host`; ``{model}`` and ``{revision}`` are filled in."""
        return self._remote_template

    @remote_path_template.setter
    def remote_path_template(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"env.remote_path_template must be a str, got {type(value).__name__}: {value!r}")
        if "{model}" not in value:
            raise ValueError(f"env.remote_path_template must contain '{{model}}', got {value!r}")
        object.__setattr__(self, "_remote_template", value)

    @property
    def allow_local_models(self) -> bool:
        """Whether ``<local_model_path>/<repo_id>/`` is searched before the cache and the Hub."""
        return self._allow_local

    @allow_local_models.setter
    def allow_local_models(self, value: bool) -> None:
        object.__setattr__(self, "_allow_local", _check_bool("allow_local_models", value))

    @property
    def local_model_path(self) -> str:
        """Folder holding ``<repo_id>/<files>``; relative paths are resolved against the working dir."""
        return self._local_path

    @local_model_path.setter
    def local_model_path(self, value: Union[str, os.PathLike]) -> None:
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"env.local_model_path must be a str or path, got {type(value).__name__}: {value!r}")
        object.__setattr__(self, "_local_path", os.fspath(value))

    @property
    def cache_dir(self) -> Optional[str]:
        """Download cache (huggingface_hub's layout); ``None`` means huggingface_hub's default cache."""
        return self._cache_dir

    @cache_dir.setter
    def cache_dir(self, value: Union[str, os.PathLike, None]) -> None:
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"env.cache_dir must be None, a str or a path, got {type(value).__name__}: {value!r}")
        object.__setattr__(self, "_cache_dir", None if value is None else os.fspath(value))

    @property
    def use_fs_cache(self) -> bool:
        """``False``: downloads go to a per-process temporary cache deleted at exit (even if ``cache_dir``
        is set), so nothing persists on disk, like Transformers.js' ``useFSCache``."""
        return self._use_fs_cache

    @use_fs_cache.setter
    def use_fs_cache(self, value: bool) -> None:
        object.__setattr__(self, "_use_fs_cache", _check_bool("use_fs_cache", value))

    @property
    def token(self) -> Optional[str]:
        """Hub token sent as ``Authorization: Bearer``; ``None`` falls back to ``huggingface-cli login``."""
        return self._token

    @token.setter
    def token(self, value: Optional[str]) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"env.token must be None or a str, got {type(value).__name__}")
        object.__setattr__(self, "_token", value or None)

    def __repr__(self) -> str:
        fields = []
        for n in self._public():
            v = getattr(self, n)
            if n == "token" and v:
                v = v[:4] + "…"  # never print a whole secret
            fields.append(f"{n}={v!r}")
        return f"Environment({', '.join(fields)})"


env = Environment()
