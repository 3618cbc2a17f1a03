"""The audio section of _core.pyi names exactly what the extension exports."""

import ast
import inspect
import pathlib

import onnxformers
from onnxformers import _core


def _audio_section_names():
    text = (pathlib.Path(onnxformers.__file__).parent / "_core.pyi").read_text()
    section = text.split("# --- audio ---", 1)[1].split("# --- end audio ---", 1)[0]
    return {node.name for node in ast.parse(section).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def test_stub_names_exist_in_extension():
    names = _audio_section_names()
    assert {"spectrogram", "mel_filter_bank", "window_function", "WhisperLogMel"} <= names
    for name in names:
        assert hasattr(_core, name), name


def test_stub_parameters_match_extension_signatures():
    text = (pathlib.Path(onnxformers.__file__).parent / "_core.pyi").read_text()
    section = text.split("# --- audio ---", 1)[1].split("# --- end audio ---", 1)[0]
    for node in ast.parse(section).body:
        if isinstance(node, ast.FunctionDef):
            stub = [a.arg for a in node.args.args + node.args.kwonlyargs]
            real = list(inspect.signature(getattr(_core, node.name)).parameters)
            assert stub == real, node.name
