"""Beam search hooks: custom logits processors with beam search (a split Rust step: built-in
processors → Python processors → warpers + beam selection), transformers' ``beam_indices`` in the
dict output, and the split step API of ``_core.GenerationState``.

References: tests/fixtures/references/beam-hooks.json, made by
scripts/fixture_builders/beam_refs.py with transformers' generate() on the torch models the
committed tiny T5/BART/GPT-2 fixtures were exported from (their ONNX files were checked
byte-identical when the references were made)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from onnxformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, InvalidInputError, _core
from onnxformers.generation import encoder_decoder

from gen_helpers import ModelCache

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REF = json.loads((FIXTURES / "references" / "beam-hooks.json").read_text())
_models = {cls: ModelCache(cls) for cls in (AutoModelForCausalLM, AutoModelForSeq2SeqLM)}


def model(name):
    return _models[AutoModelForCausalLM if name.endswith("-lm") else AutoModelForSeq2SeqLM](name)


def hook(tokens, calls=None):
    """The reference's processor in numpy: +bias on two tokens, -penalty on each row's last token."""
    bias, penalty = np.float32(REF["bias"]), np.float32(REF["penalty"])

    def fn(input_ids, scores):
        if calls is not None:
            calls.append((input_ids.copy(), scores.copy()))
        scores[:, tokens] += bias
        scores[np.arange(scores.shape[0]), input_ids[:, -1]] -= penalty

    return fn


CASES = [pytest.param(name, case, id=f"{name}-{case['id']}")
         for name, entry in REF["models"].items() for case in entry["cases"]]


def run(name, case, **extra):
    call = dict(case["call"])
    enc = case["encoding"]
    processors = [hook(REF["models"][name]["biased_tokens"])] if case["custom_processor"] else None
    return model(name).generate(input_ids=np.array(enc["input_ids"]), attention_mask=np.array(enc["attention_mask"]),
                                logits_processor=processors, return_dict_in_generate=True, **call, **extra)


def test_references_are_robust():
    for entry in REF["models"].values():
        for case in entry["cases"]:
            # beam candidates / greedy top-2 never near a tie, far above the ONNX-vs-torch differences
            assert case["min_gap"] > 1e-3
            assert case.get("onnx_vs_torch_sequences_scores_max_abs_diff", 0) < 1e-5


@pytest.mark.parametrize("name,case", CASES)
def test_generate_matches_transformers(name, case):
    out = run(name, case)
    assert out["sequences"].tolist() == case["sequences"]
    if "sequences_scores" in case:
        np.testing.assert_allclose(out["scores"], case["sequences_scores"], atol=1e-4)
    if "beam_indices" in case:
        assert out["beam_indices"].dtype == np.int64
        assert out["beam_indices"].tolist() == case["beam_indices"]
    else:
        assert "beam_indices" not in out


def test_custom_processor_sees_log_probs_and_running_beams():
    """In beam search the processor gets log-softmaxed scores (after the built-ins) and, as
    input_ids, the running beams in the order the scores rows have (reordered every step)."""
    name = "tiny-bart-seq2seq"
    case = next(c for c in REF["models"][name]["cases"] if c["id"] == "custom_beam4_ret2")
    calls: list = []
    enc = case["encoding"]
    out = model(name).generate(input_ids=np.array(enc["input_ids"]), return_dict_in_generate=True,
                               logits_processor=[hook(REF["models"][name]["biased_tokens"], calls)], **case["call"])
    assert out["sequences"].tolist() == case["sequences"]
    beams = case["call"]["num_beams"]
    assert all(ids.shape[0] == beams and scores.shape[0] == beams for ids, scores in calls)
    for ids, scores in calls[1:]:  # step 0 is BART's forced <s>: one finite entry
        np.testing.assert_allclose(np.exp(scores.astype(np.float64)).sum(-1), 1.0, atol=1e-4)
    # each step's rows continue rows of the step before (the beams were reordered)
    for (prev, _), (ids, _) in zip(calls, calls[1:]):
        assert ids.shape[1] == prev.shape[1] + 1
        assert all(any((ids[r, :-1] == p).all() for p in prev) for r in range(beams))
    # the returned hypotheses are running rows of some step, traced by beam_indices
    first = case["sequences"][0]
    for step, row in enumerate(out["beam_indices"][0]):
        if row >= 0:
            assert calls[step][0][row].tolist() == first[:1 + step]


def test_processor_returning_a_new_array_and_bad_shapes():
    name = "tiny-t5-seq2seq"
    case = next(c for c in REF["models"][name]["cases"] if c["id"] == "custom_beam4_ret2")
    tokens = REF["models"][name]["biased_tokens"]
    in_place = hook(tokens)

    def returning(input_ids, scores):
        new = scores.copy()
        in_place(input_ids, new)
        return new

    enc = case["encoding"]
    out = model(name).generate(input_ids=np.array(enc["input_ids"]), logits_processor=[returning], **case["call"])
    assert out.tolist() == case["sequences"]
    with pytest.raises(InvalidInputError, match="shape"):
        model(name).generate(input_ids=np.array(enc["input_ids"]), logits_processor=[lambda i, s: s[:, :3]],
                             **case["call"])


def test_no_custom_processor_keeps_the_single_call_step(monkeypatch):
    """Without custom processors the loop calls step() once per token (no split)."""
    seen = []
    original = encoder_decoder.step_with_processors

    def spy(state, logits, custom):
        seen.append(len(custom))
        return original(state, logits, custom)

    monkeypatch.setattr(encoder_decoder, "step_with_processors", spy)
    name = "tiny-t5-seq2seq"
    case = next(c for c in REF["models"][name]["cases"] if c["id"] == "plain_beam3_batch_eos")
    assert run(name, case)["sequences"].tolist() == case["sequences"]
    assert seen and set(seen) == {0}


def test_greedy_output_has_no_beam_indices():
    name = "tiny-gpt2-lm"
    out = model(name).generate(input_ids=np.array([[5, 6, 7]]), max_new_tokens=3, return_dict_in_generate=True)
    assert "beam_indices" not in out and out["scores"] is None


# -- the binding's split step -------------------------------------------------------------------------


def _logits(rows, vocab, seed):
    return np.random.default_rng(seed).normal(size=(rows, vocab)).astype(np.float32) * 3


@pytest.mark.parametrize("config", [
    {"num_beams": 3, "max_new_tokens": 6, "eos_token_id": 1, "pad_token_id": 0, "repetition_penalty": 1.3},
    {"num_beams": 2, "do_sample": True, "top_k": 4, "max_new_tokens": 5, "eos_token_id": 1, "pad_token_id": 0},
    {"max_new_tokens": 5, "eos_token_id": 1, "do_sample": True, "temperature": 0.7},
])
def test_split_step_equals_step_without_custom_processors(config):
    ids = np.array([[3, 4], [5, 6]])
    a = _core.GenerationState(config, ids, seed=7)
    b = _core.GenerationState(config, ids, seed=7)
    for step in range(10):
        la = _logits(a.logits_rows, 12, step)
        lb = la.copy()
        a.process_logits(la)
        ra = a.select(la)
        rb = b.step(lb)
        assert ra[0].tolist() == rb[0].tolist() and ra[2] == rb[2]
        assert (ra[1] is None) == (rb[1] is None) and (ra[1] is None or ra[1].tolist() == rb[1].tolist())
        if ra[2]:
            break
    fa, fb = a.finalize_with_beam_indices(), b.finalize_with_beam_indices()
    assert fa[0].tolist() == fb[0].tolist()
    assert (fa[2] is None) == (config.get("num_beams", 1) == 1)
    if fa[2] is not None:
        assert fa[2].shape == (fa[0].shape[0], fa[0].shape[1] - 2)
        assert fa[2].tolist() == fb[2].tolist()


def test_split_step_misuse_is_a_clear_error():
    state = _core.GenerationState({"num_beams": 2, "max_new_tokens": 3}, np.array([[1]]))
    logits = _logits(2, 8, 0)
    with pytest.raises(InvalidInputError, match="process_logits"):
        state.select(logits.copy())
    state.process_logits(logits)
    with pytest.raises(InvalidInputError, match="select"):
        state.step(logits.copy())
    with pytest.raises(InvalidInputError, match="rows"):
        state.select(_logits(3, 8, 0))
    state.select(logits)


def test_stub_lists_the_split_step():
    import ast
    import inspect

    import onnxformers

    text = (Path(onnxformers.__file__).parent / "_core.pyi").read_text()
    tree = ast.parse(text)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "GenerationState")
    stub = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    for name in ("process_logits", "select", "finalize_with_beam_indices"):
        assert name in stub and callable(getattr(_core.GenerationState, name))
        assert inspect.getdoc(getattr(_core.GenerationState, name))
