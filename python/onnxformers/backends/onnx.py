"""ONNX Runtime: ``device=`` → execution providers, ``dtype=`` → file names, session creation.

Transformers.js picks one ``.onnx`` file per session (``model``, ``encoder_model``,
``decoder_model_merged``…) from ``{subfolder}/{name}{suffix}.onnx`` where the suffix encodes the
weight format. We keep the same layout so the same Hub repos work unchanged.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from typing import Any, Mapping, Union

from ..errors import BackendError, FileMissingError, UnknownDeviceError, UnknownDtypeError

#: dtype → file-name suffix, as in Transformers.js 3.0.0.
DTYPE_SUFFIXES: dict[str, str] = {
    "fp32": "",
    "fp16": "_fp16",
    "q8": "_quantized",
    "int8": "_int8",
    "uint8": "_uint8",
    "q4": "_q4",
    "q4f16": "_q4f16",
    "bnb4": "_bnb4",
}
#: accepted aliases (the v2 ``quantized`` vocabulary and common spellings)
_DTYPE_ALIASES = {"float32": "fp32", "float16": "fp16", "quantized": "q8", "auto": None}

#: device → ordered ONNX Runtime providers to try.
DEVICE_PROVIDERS: dict[str, tuple[str, ...]] = {
    "cpu": ("CPUExecutionProvider",),
    "cuda": ("CUDAExecutionProvider",),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider"),
    "dml": ("DmlExecutionProvider",),
    "coreml": ("CoreMLExecutionProvider",),
    "openvino": ("OpenVINOExecutionProvider",),
    "rocm": ("ROCMExecutionProvider", "MIGraphXExecutionProvider"),
    "webgpu": ("WebGpuExecutionProvider",),
}
# TensorRT is left out of "gpu"/"auto": it builds engines on first run (minutes) and is listed by
# onnxruntime-gpu even where libnvinfer is absent; ask for it with device="tensorrt".
_GPU_PROVIDERS = (
    "CUDAExecutionProvider",
    "ROCMExecutionProvider",
    "MIGraphXExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
    "WebGpuExecutionProvider",
)
VALID_DEVICES = (*DEVICE_PROVIDERS, "gpu", "auto")

Device = Union[str, None]
DtypeSpec = Union[str, Mapping[str, str], None]


def available_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def normalize_device(device: str | None) -> str | None:
    if device is None:
        return None
    if not isinstance(device, str):
        raise UnknownDeviceError(f"device must be a string, got {type(device).__name__}")
    name = device.lower().strip()
    if name.startswith("cuda:"):  # cuda:1 → device id handled by providers_for_device
        return name
    if name not in VALID_DEVICES:
        raise UnknownDeviceError(
            f"Unsupported device: {device!r}. Valid devices: {', '.join(VALID_DEVICES)}."
        )
    return name


def providers_for_device(device: str | None) -> list[Any]:
    """Execution providers for ``device``. ``None`` and ``"cpu"`` → CPU.

    ``"gpu"`` means any available GPU provider, ``"auto"`` the best available one; both fall back
    to CPU with a warning rather than failing when no GPU library is installed. An explicitly named
    GPU device that is unavailable is an error: the user asked for it.
    """
    device = normalize_device(device)
    available = available_providers()
    if device in (None, "cpu"):
        return ["CPUExecutionProvider"]
    if device in ("gpu", "auto"):
        gpu = [p for p in _GPU_PROVIDERS if p in available]
        if not gpu:
            warnings.warn(
                f"device={device!r}: no GPU execution provider is available "
                f"(available: {', '.join(available)}); falling back to CPU.",
                RuntimeWarning,
                stacklevel=3,
            )
        return [*gpu, "CPUExecutionProvider"]
    device_id = None
    if device.startswith("cuda:"):
        device, _, idx = device.partition(":")
        if not idx.isdigit():
            raise UnknownDeviceError(f"Invalid CUDA device index in {device!r}")
        device_id = int(idx)
    wanted = [p for p in DEVICE_PROVIDERS[device] if p in available]
    if not wanted:
        raise UnknownDeviceError(
            f"device={device!r} needs {' or '.join(DEVICE_PROVIDERS[device])}, which this "
            f"onnxruntime build does not provide (available: {', '.join(available)}). "
            f"Install the matching onnxruntime package (e.g. onnxruntime-gpu for cuda) or use "
            f"device='auto'."
        )
    if device_id is not None:
        return [(p, {"device_id": device_id}) for p in wanted] + ["CPUExecutionProvider"]
    return [*wanted, "CPUExecutionProvider"]


def normalize_dtype(dtype: str | None) -> str | None:
    if dtype is None:
        return None
    if not isinstance(dtype, str):
        raise UnknownDtypeError(f"dtype must be a string or a dict, got {type(dtype).__name__}")
    name = dtype.lower().strip()
    name = _DTYPE_ALIASES.get(name, name)
    if name is not None and name not in DTYPE_SUFFIXES:
        raise UnknownDtypeError(
            f"Unsupported dtype: {dtype!r}. Valid dtypes: {', '.join(DTYPE_SUFFIXES)}."
        )
    return name


def dtype_for_session(session_name: str, dtype: DtypeSpec, config_default: DtypeSpec = None) -> str:
    """The dtype to use for one session file, from a str or a per-file dict (call first, then the
    ``transformers.js_config`` default in config.json, then fp32)."""
    for spec in (dtype, config_default):
        if spec is None:
            continue
        if isinstance(spec, Mapping):
            if session_name in spec:
                value = normalize_dtype(spec[session_name])
                if value is not None:
                    return value
            continue
        value = normalize_dtype(spec)
        if value is not None:
            return value
    return "fp32"


def session_file_name(session_name: str, dtype: str, subfolder: str = "onnx") -> str:
    name = f"{session_name}{DTYPE_SUFFIXES[dtype]}.onnx"
    return f"{subfolder.strip('/')}/{name}" if subfolder else name


@functools.lru_cache(maxsize=1)
def physical_cores() -> int:
    """Physical core count (ONNX Runtime runs best with one intra-op thread per core)."""
    try:
        cores = set()
        phys = core = None
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "physical id":
                    phys = value.strip()
                elif key == "core id":
                    core = value.strip()
                elif not key and core is not None:
                    cores.add((phys, core))
                    phys = core = None
        if core is not None:
            cores.add((phys, core))
        if cores:
            usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
            return max(1, min(len(cores), usable or len(cores)))
    except OSError:
        pass
    return max(1, os.cpu_count() or 1)


def make_session_options(session_options: Any = None):
    """An ``onnxruntime.SessionOptions`` from None, a SessionOptions, or a dict of its attributes."""
    import onnxruntime as ort

    from ..env import env

    if isinstance(session_options, ort.SessionOptions):
        return session_options
    opts = ort.SessionOptions()
    onnx_env = env.backends.onnx
    intra = getattr(onnx_env, "intra_op_num_threads", None)
    opts.intra_op_num_threads = int(intra) if intra else physical_cores()
    inter = getattr(onnx_env, "inter_op_num_threads", None)
    if inter:
        opts.inter_op_num_threads = int(inter)
    severity = getattr(onnx_env, "log_severity_level", None)
    if severity is not None:
        opts.log_severity_level = int(severity)
    if session_options:
        if not isinstance(session_options, Mapping):
            raise TypeError(
                "session_options must be an onnxruntime.SessionOptions or a dict of its attributes"
            )
        for key, value in session_options.items():
            if key in ("execution_providers", "providers", "provider_options", "graph_optimizer"):
                continue  # handled by create_session
            if not hasattr(opts, key):
                raise BackendError(f"session_options: onnxruntime.SessionOptions has no {key!r}")
            setattr(opts, key, value)
    return opts


_SESSION_LOCK = threading.Lock()


def with_provider_options(providers: list[Any], extra: Any) -> list[Any]:
    """``session_options={"provider_options": {"CUDAExecutionProvider": {"use_tf32": 0}}}``: options
    merged into the providers that ``device=`` (or ``execution_providers``) chose; providers not
    chosen are not added."""
    if not isinstance(extra, Mapping) or not all(isinstance(v, Mapping) for v in extra.values()):
        raise BackendError("session_options['provider_options'] must map provider names to dicts of "
                           "options, e.g. {'CUDAExecutionProvider': {'device_id': 0}}")
    out = []
    for provider in providers:
        name, opts = (provider, {}) if isinstance(provider, str) else (provider[0], dict(provider[1]))
        opts.update(extra.get(name, {}))
        out.append((name, opts) if opts else name)
    return out


@functools.lru_cache(maxsize=None)
def _preload_cuda_libraries() -> None:
    """Load CUDA / cuDNN from the ``nvidia-*`` pip packages, once, before the first CUDA session.

    onnxruntime-gpu finds them by itself only after ``import torch`` or with ``LD_LIBRARY_PATH``
    set; ``onnxruntime.preload_dlls`` (1.21+) is its documented way otherwise, and does nothing
    where the libraries are already loaded. A failure here is not ours to report: the session's
    own error says what is missing."""
    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        try:
            preload()
        except Exception:  # noqa: BLE001 - see docstring
            pass


def create_session(path: str | os.PathLike, *, device: str | None = None, session_options: Any = None):
    """Create an ``InferenceSession``; a corrupt or unreadable file raises :class:`BackendError`."""
    import onnxruntime as ort

    options = session_options if isinstance(session_options, Mapping) else {}
    explicit = options.get("execution_providers") or options.get("providers")
    providers = list(explicit) if explicit else providers_for_device(device)
    if options.get("provider_options"):
        providers = with_provider_options(providers, options["provider_options"])
    if any((p if isinstance(p, str) else p[0]) in ("CUDAExecutionProvider", "TensorrtExecutionProvider")
           for p in providers):
        _preload_cuda_libraries()
    opts = make_session_options(session_options)
    from . import graph_optimizer  # opt-in load-time rewrite of decoder graphs (cached, validated)

    level = graph_optimizer.requested_level(session_options)
    if level is not None:
        path = graph_optimizer.optimized_path(path, level)
    try:
        # Session construction is not documented as thread-safe across identical files; it is cheap
        # to serialize compared with model loading itself.
        with _SESSION_LOCK:
            return ort.InferenceSession(os.fspath(path), sess_options=opts, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types (Fail, InvalidGraph…)
        raise BackendError(f"ONNX Runtime could not load {os.fspath(path)!r}: {exc}") from exc


def missing_file_error(
    repo: str, wanted: str, dtype: str, existing_dtypes: list[str], revision: str | None = None
) -> FileMissingError:
    where = f"{repo!r}" + (f" (revision {revision!r})" if revision and revision != "main" else "")
    if existing_dtypes:
        hint = f" Available dtypes for this file: {', '.join(existing_dtypes)}."
    else:
        hint = " No ONNX file of any dtype was found for it."
    return FileMissingError(f"Could not find {wanted!r} (dtype={dtype!r}) in {where}.{hint}")
