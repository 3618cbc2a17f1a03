"""Beam search and returned sequences share one prompt run per distinct prompt, and the KV cache is
reordered in place on CPU (only the rows that moved); both must leave the tokens and beam scores
equal to transformers' (stored references)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from onnxformers import AutoModelForCausalLM
from onnxformers.generation import decoder_only

MODELS = Path(__file__).parent.parent / "fixtures" / "models"
NAMES = [n for n in ("tiny-gpt2-lm", "tiny-llama-lm", "tiny-bloom-lm") if (MODELS / n / "reference.json").exists()]


def beam_cases(name):
    cases = json.loads((MODELS / name / "reference.json").read_text())["cases"]
    return [c for c in cases if "sequences_scores" in c]


def run_case(model, case):
    call = dict(case["call"])
    call.pop("output_scores", None)
    call.pop("return_dict_in_generate", None)
    enc = case["encoding"]
    return model.generate(input_ids=np.array(enc["input_ids"]), attention_mask=np.array(enc["attention_mask"]),
                          return_dict_in_generate=True, **call)


@pytest.mark.parametrize("name", NAMES)
def test_prompt_runs_once_per_distinct_prompt(name, monkeypatch):
    model = AutoModelForCausalLM.from_pretrained(str(MODELS / name))
    fed = []
    real = decoder_only._KVBinding.run

    def spy(self, feed, first_step):
        fed.append((first_step, feed["input_ids"].shape))
        return real(self, feed, first_step)

    monkeypatch.setattr(decoder_only._KVBinding, "run", spy)
    cases = beam_cases(name)
    assert any(len(c["encoding"]["input_ids"]) > 1 for c in cases)  # a left-padded batch is among them
    for case in cases:
        fed.clear()
        out = run_case(model, case)
        assert out["sequences"].tolist() == case["sequences"], case["id"]
        np.testing.assert_allclose(out["scores"], case["sequences_scores"], atol=1e-4)
        batch, prompt = np.array(case["encoding"]["input_ids"]).shape
        beams = case["call"]["num_beams"]
        assert fed[0] == (True, (batch, prompt))  # not batch * num_beams rows
        assert all(shape == (batch * beams, 1) for first, shape in fed[1:])


@pytest.mark.parametrize("name", NAMES)
def test_gathering_and_in_place_reorder_agree(name, monkeypatch):
    model = AutoModelForCausalLM.from_pretrained(str(MODELS / name))
    moved = []
    real = decoder_only._KVBinding.reorder

    def spy(self, rows_index):
        moved.append(int(np.sum(np.asarray(rows_index) != np.arange(len(rows_index)))))
        return real(self, rows_index)

    monkeypatch.setattr(decoder_only._KVBinding, "reorder", spy)
    for view in (True, False):  # False: as with an onnxruntime whose numpy() copies
        monkeypatch.setattr(decoder_only._KVBinding, "_view_checked", view)
        for case in beam_cases(name):
            out = run_case(model, case)
            assert out["sequences"].tolist() == case["sequences"], (view, case["id"])
            np.testing.assert_allclose(out["scores"], case["sequences_scores"], atol=1e-4)
    assert sum(moved) > 0  # the references do move rows


def test_sampled_return_sequences_share_the_prompt_run():
    # num_return_sequences with sampling expands rows too: same seed, same tokens with a prompt run
    # per prompt as with one per row (the expanded rows' logits are identical copies)
    name = NAMES[0]
    model = AutoModelForCausalLM.from_pretrained(str(MODELS / name))
    ids = np.array([[5, 6, 7, 8], [9, 10, 11, 12]])
    kwargs = dict(do_sample=True, num_return_sequences=3, max_new_tokens=8, seed=7, top_k=20)
    shared = model.generate(input_ids=ids, **kwargs)
    # the same rows given as a batch of six prompts: each row runs its own prompt
    per_row = model.generate(input_ids=np.repeat(ids, 3, axis=0), **dict(kwargs, num_return_sequences=1))
    assert shared.shape == (6, 12)
    assert len({tuple(r) for r in shared[:3].tolist()}) > 1  # sampling: the copies do diverge
    np.testing.assert_array_equal(shared, per_row)
