"""Shared helpers of the text pipeline tests: fixture references and output comparison.

The references (``tests/fixtures/models/<name>/reference.json``, built by scripts/make_fixtures.py)
hold the outputs of Python ``transformers`` pipelines on the torch model ("torch") and on the
quantized ONNX file ("onnx_q8")."""

from __future__ import annotations

import json
from pathlib import Path

MODELS = Path(__file__).resolve().parent.parent / "fixtures" / "models"

#: scores are compared within this; items whose scores differ by less may come in either order
SCORE_ATOL = 1e-4
TIE = 1e-6


def model_path(name: str) -> str:
    return str(MODELS / name)


def reference(name: str) -> dict:
    return json.loads((MODELS / name / "reference.json").read_text(encoding="utf-8"))


def case_params(name: str, key: str = "cases", backend: str = "torch") -> list:
    """pytest params (case, id) for every stored call that has a ``backend`` output."""
    import pytest

    out = []
    for i, case in enumerate(reference(name)[key]):
        if backend in case:
            label = f"{case['id']}-{i}-" + "-".join(f"{k}={v}" for k, v in case["call"].items()
                                                    if k != "tokenizer_kwargs")
            out.append(pytest.param(case, id=label))
    return out


def assert_same(ours, expected, atol: float = SCORE_ATOL, path: str = "out") -> None:
    """Every key, label, word, offset, answer and token equal; floats within ``atol``. In a list
    ranked by score, two neighbours whose scores are within ``TIE`` may be swapped."""
    if isinstance(expected, dict):
        assert isinstance(ours, dict), f"{path}: expected a dict, got {ours!r}"
        assert sorted(ours) == sorted(expected), f"{path}: keys {sorted(ours)} != {sorted(expected)}"
        for k in expected:
            assert_same(ours[k], expected[k], atol, f"{path}.{k}")
    elif isinstance(expected, list):
        assert isinstance(ours, list), f"{path}: expected a list, got {ours!r}"
        assert len(ours) == len(expected), f"{path}: {len(ours)} items != {len(expected)}\n{ours}\n{expected}"
        ours = _untie(ours, expected)
        for i, (a, b) in enumerate(zip(ours, expected)):
            assert_same(a, b, atol, f"{path}[{i}]")
    elif isinstance(expected, float):
        assert isinstance(ours, float), f"{path}: {ours!r} is not a float"
        assert abs(ours - expected) <= atol, f"{path}: {ours} != {expected} (atol {atol})"
    else:
        assert ours == expected, f"{path}: {ours!r} != {expected!r}"


def _untie(ours: list, expected: list) -> list:
    ranked = all(isinstance(d, dict) and "score" in d for d in expected) and "entity" not in str(expected[:1])
    if not ranked:
        return ours
    ours = list(ours)
    for i in range(len(ours) - 1):
        a, b = ours[i], ours[i + 1]
        if (_key(a) != _key(expected[i]) and _key(b) == _key(expected[i])
                and abs(expected[i]["score"] - expected[i + 1]["score"]) < TIE):
            ours[i], ours[i + 1] = b, a
    return ours


def _key(d: dict):
    return tuple((k, v) for k, v in sorted(d.items()) if k != "score")


def assert_plain_json(obj, path: str = "out") -> None:
    """Only dict/list/str/int/float/bool/None, exactly (no numpy scalars): ``json.dumps`` works and
    values compare as Python values."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert type(k) is str, f"{path}: key {k!r}"
            assert_plain_json(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            assert_plain_json(v, f"{path}[{i}]")
    else:
        assert obj is None or type(obj) in (str, int, float, bool), f"{path}: {type(obj).__name__} {obj!r}"
    if path == "out":
        json.dumps(obj)


class CountingRuns:
    """Wrap a model's ONNX session to count ``run`` calls and the batch sizes it received."""

    def __init__(self, model, name: str = "model"):
        self.session = model.sessions[name]
        self.batches: list[int] = []
        model.sessions[name] = self

    def run(self, output_names, feed, *args, **kwargs):
        self.batches.append(len(next(iter(feed.values()))))
        return self.session.run(output_names, feed, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.session, name)
