"""``pipeline(task, model=None, **options)``: the high-level entry point."""

from __future__ import annotations

import importlib
import warnings
from typing import Any, Callable

from ..errors import NotImplementedYetError, UnsupportedModelError
from .base import Pipeline
from .tasks import SUPPORTED_TASKS, TASK_ALIASES, TaskSpec, resolve_task


def pipeline(task: str, model: str | None = None, *, revision: str = "main", dtype: Any = None,
             device: Any = None, cache_dir: str | None = None, local_files_only: bool = False,
             token: str | None = None, progress_callback: Callable[[dict], None] | None = None,
             session_options: Any = None, model_file_name: str | None = None,
             subfolder: str = "onnx", config: Any = None, **deprecated: Any) -> Pipeline:
    """Build a pipeline for ``task`` from ``model`` (a Hub repo id or a local folder; the task's
    default model when omitted). Returns a callable."""
    if "quantized" in deprecated:  # Transformers.js v2 option that v3 ignores
        warnings.warn("`quantized` is a Transformers.js v2 option and is ignored; use "
                      "dtype='q8' (quantized) or dtype='fp32'.", DeprecationWarning, stacklevel=2)
        deprecated.pop("quantized")
    if deprecated:
        raise TypeError(f"pipeline() got unexpected option(s): {', '.join(sorted(deprecated))}")
    spec, call_defaults = resolve_task(task)
    if not spec.implemented:
        raise NotImplementedYetError(
            f"The {spec.task!r} pipeline ({spec.pipeline_class}) is part of the Transformers.js "
            f"API but is not implemented in this version of onnxformers yet.")
    model_id = model if model is not None else spec.default_model
    hub_options = dict(revision=revision, cache_dir=cache_dir, local_files_only=local_files_only,
                       token=token, progress_callback=progress_callback)
    from ..configs import AutoConfig, PretrainedConfig

    if config is None:
        config = AutoConfig.from_pretrained(model_id, **hub_options)
    elif isinstance(config, dict):
        config = PretrainedConfig(config)
    tokenizer = None
    if spec.tokenizer:
        from ..tokenizers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model_id, **hub_options)
    processor = _load_processor(model_id, hub_options, tokenizer) if spec.processor else None
    loaded_model = _load_model(spec, model_id, dict(
        hub_options, config=config, dtype=dtype, device=device, session_options=session_options,
        model_file_name=model_file_name, subfolder=subfolder))
    module_name, _, class_name = spec.pipeline_class.partition(":")
    cls = getattr(importlib.import_module(f"{__name__}.{module_name}"), class_name)
    pipe = cls(task=spec.task, model=loaded_model, tokenizer=tokenizer, processor=processor,
               **call_defaults)
    if progress_callback is not None:
        from ..hub import ready_event

        progress_callback(ready_event(spec.task, model_id))
    return pipe


def _load_processor(model_id: str, hub_options: dict, tokenizer: Any) -> Any:
    """The task's processor from ``preprocessor_config.json``, sharing the tokenizer already loaded."""
    from ..processors import AutoProcessor

    return AutoProcessor.from_pretrained(model_id, tokenizer=tokenizer, **hub_options)


def _load_model(spec: TaskSpec, model_id: str, options: dict) -> Any:
    from .. import models

    config = options["config"]
    for auto_name in spec.auto_models:
        auto = getattr(models, auto_name)
        if config.model_type in auto.supported_model_types() or auto_name == "AutoModel":
            return auto.from_pretrained(model_id, **options)
    raise UnsupportedModelError(
        f"model_type {config.model_type!r} of {model_id!r} cannot be used for the {spec.task!r} "
        f"task (it needs one of: {', '.join(spec.auto_models)}).")


__all__ = ["pipeline", "Pipeline", "SUPPORTED_TASKS", "TASK_ALIASES"]
