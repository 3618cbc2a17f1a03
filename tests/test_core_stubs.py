"""The shipped type stubs (python/onnxformers/_core.pyi) name exactly what the extension exports,
classes with their public methods."""

from __future__ import annotations

import ast
from pathlib import Path

import onnxformers._core as core

STUB = Path(core.__file__).with_name("_core.pyi")


def _stub_tree():
    return ast.parse(STUB.read_text())


def test_stub_names_match_the_extension():
    tree = _stub_tree()
    stubbed = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    exported = {k for k in dir(core) if not k.startswith("_")} - {"__version__"}
    assert stubbed == exported


def test_stub_classes_list_every_public_method():
    for node in _stub_tree().body:
        if not isinstance(node, ast.ClassDef):
            continue
        stubbed = {n.name for n in node.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}
        cls = getattr(core, node.name)
        public = {k for k, v in vars(cls).items() if not k.startswith("_")}
        missing = {k for k in public if k not in stubbed}
        assert not missing, f"{node.name}: {sorted(missing)} not in the stub"
