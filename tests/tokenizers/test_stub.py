"""The tokenizer section of _core.pyi names exactly what the extension exports, with the same
parameters."""

import ast
import inspect
import pathlib

import onnxformers
from onnxformers import _core


def _section():
    text = (pathlib.Path(onnxformers.__file__).parent / "_core.pyi").read_text()
    body = text.split("# --- tokenizer ---", 1)[1].split("# --- end tokenizer ---", 1)[0]
    return [n for n in ast.parse(body).body if isinstance(n, ast.ClassDef)]


def test_classes_and_members_exist():
    classes = {c.name: c for c in _section()}
    assert {"Tokenizer", "Encoding", "AddedToken"} <= set(classes)
    for name, node in classes.items():
        cls = getattr(_core, name)
        stub_members = {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
        for m in stub_members:
            assert hasattr(cls, m), f"{name}.{m}"
        public = {m for m in dir(cls) if not m.startswith("_")}
        assert public <= stub_members, f"{name}: not in the stub: {public - stub_members}"


def test_method_parameters_match():
    for node in _section():
        cls = getattr(_core, node.name)
        for f in node.body:
            if not isinstance(f, ast.FunctionDef) or any(
                isinstance(d, ast.Name) and d.id == "property" for d in f.decorator_list
            ):
                continue
            stub = [a.arg for a in f.args.args + f.args.kwonlyargs if a.arg != "self"]
            real = [p for p in inspect.signature(getattr(cls, f.name)).parameters if p != "self"]
            assert stub == real, f"{node.name}.{f.name}: stub {stub} vs extension {real}"
