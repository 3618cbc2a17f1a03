"""Shared by the generation conformance tests: the fixture references, the device they run on, a
per-process model cache, and the switch that sends beam reorders through the GPU's row gather.

``ONNXFORMERS_TEST_DEVICE=cuda`` runs the conformance cases on a GPU (scripts/device_bench_cuda.sh)
with full-fp32 CUDA matmuls: onnxruntime's default TF32 moves beam scores by ~1e-3, beyond the
references' 1e-4."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

MODELS = Path(__file__).resolve().parent.parent / "fixtures" / "models"
DEVICE = os.environ.get("ONNXFORMERS_TEST_DEVICE") or None
SESSION_OPTIONS = {"provider_options": {"CUDAExecutionProvider": {"use_tf32": 0}}} if DEVICE == "cuda" else None


def reference(name: str) -> dict:
    return json.loads((MODELS / name / "reference.json").read_text())


def present(names: tuple[str, ...]) -> list[str]:
    """The fixtures of ``names`` that are built (have a reference)."""
    return [name for name in names if (MODELS / name / "reference.json").exists()]


def case_params(fixtures: list[str], *, beam_only: bool = False) -> list:
    """pytest params ``(name, case)`` of every stored generate() call of ``fixtures``."""
    return [pytest.param(name, case, id=f"{name}-{case['id']}")
            for name in fixtures for case in reference(name)["cases"]
            if "encoding" in case and (not beam_only or "sequences_scores" in case)]


def assert_on_device(model: Any) -> None:
    if DEVICE == "cuda":  # onnxruntime would fall back to CPU without a word
        assert all(s.get_providers()[0] == "CUDAExecutionProvider" for s in model.sessions.values())


class ModelCache:
    """``cache(name)``: the fixture loaded once per process with ``auto_class`` on DEVICE."""

    def __init__(self, auto_class: Any):
        self.auto_class = auto_class
        self.models: dict[str, Any] = {}

    def __call__(self, name: str, path: Path | None = None) -> Any:
        if name not in self.models:
            loaded = self.auto_class.from_pretrained(str(path or MODELS / name), device=DEVICE,
                                                     session_options=SESSION_OPTIONS)
            assert_on_device(loaded)
            self.models[name] = loaded
        return self.models[name]


def gather_rows_on_device(monkeypatch: Any, runner: type) -> list:
    """Makes ``runner`` (a cache runner class) gather beam rows with onnxruntime even on CPU, the
    path it takes on a GPU (generation/device_rows.py). Returns the list each gather appends to."""
    from onnxformers.generation import device_rows

    calls: list = []
    original = device_rows.DeviceRows.gather_all
    monkeypatch.setattr(runner, "gather_on_device", True)
    monkeypatch.setattr(device_rows.DeviceRows, "gather_all",
                        lambda self, *a: calls.append(1) or original(self, *a))
    return calls


def count_runs(monkeypatch: Any, session: Any) -> dict:
    """Counts a session's ``run_with_iobinding`` calls and its C-level ``run_with_ort_values``
    calls (the CPU loops' one call per step)."""
    runs = {"run_with_ort_values": 0, "run_with_iobinding": 0}

    class Core:  # pybind methods cannot be patched: forward every attribute instead
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, attr):
            return getattr(self.inner, attr)

        def run_with_ort_values(self, *args):
            runs["run_with_ort_values"] += 1
            return self.inner.run_with_ort_values(*args)

    real = session.run_with_iobinding

    def counted(*args, **kwargs):
        runs["run_with_iobinding"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(session, "_sess", Core(session._sess))
    monkeypatch.setattr(session, "run_with_iobinding", counted)
    return runs
