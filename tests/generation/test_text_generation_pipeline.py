"""The text-generation pipeline on the tiny decoder fixtures (references from transformers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onnxformers import InvalidInputError, pipeline

MODELS = Path(__file__).parent.parent / "fixtures" / "models"


def case(name, case_id):
    ref = json.loads((MODELS / name / "reference.json").read_text())
    return next(c for c in ref["cases"] if c["id"] == case_id)


@pytest.fixture(scope="module")
def generator():
    return pipeline("text-generation", str(MODELS / "tiny-gpt2-lm"))


def test_full_text_and_continuation(generator):
    c = case("tiny-gpt2-lm", "greedy_20")
    out = generator(c["inputs"], **c["call"])
    assert out == [{"generated_text": c["decoded"][0]}]
    cont = generator(c["inputs"], return_full_text=False, **c["call"])
    assert c["decoded"][0] == c["inputs"] + cont[0]["generated_text"]


def test_batch_is_left_padded_and_matches(generator):
    c = case("tiny-gpt2-lm", "greedy_batch")
    out = generator(c["inputs"], **c["call"])
    assert [o[0]["generated_text"] for o in out] == c["decoded"]


def test_several_sequences_per_input(generator):
    c = case("tiny-gpt2-lm", "beam4_ret2_early")
    out = generator(c["inputs"], **c["call"])
    assert [o["generated_text"] for o in out] == c["decoded"]


def test_chat_input_appends_assistant_message(generator):
    generator.tokenizer.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}")
    chat = [{"role": "user", "content": "In summer, children swim"}]
    out = generator(chat, max_new_tokens=4)
    assert out[0]["generated_text"][:1] == chat
    assert out[0]["generated_text"][1]["role"] == "assistant"
    assert isinstance(out[0]["generated_text"][1]["content"], str)


def test_bad_inputs(generator):
    with pytest.raises(InvalidInputError):
        generator(42)
    with pytest.raises(InvalidInputError):
        generator([{"content": "no role"}])
