"""model.generate() for decoder-only models (merged KV-cache graph) against transformers'
generate() on the same weights, token for token (references stored by scripts/make_fixtures.py)."""

from __future__ import annotations

import numpy as np
import pytest

from onnxformers import AutoModelForCausalLM, InvalidInputError
from onnxformers.generation import TextStreamer

from gen_helpers import (DEVICE, MODELS, ModelCache, case_params, count_runs, gather_rows_on_device, present,
                         reference)

FIXTURES = present(("tiny-gpt2-lm", "tiny-llama-lm", "tiny-bloom-lm"))
model = ModelCache(AutoModelForCausalLM)


@pytest.mark.parametrize("name,case", case_params(FIXTURES))
def test_generate_matches_transformers(name, case):
    check_case(name, case)


@pytest.mark.parametrize("name,case", case_params(FIXTURES))
def test_io_binding_loop_matches_transformers(name, case, monkeypatch):
    """The loop a GPU session runs (one I/O binding, ~30 binds a step), here on CPU, where the
    loop otherwise makes one ``run_with_ort_values`` call per step."""
    from onnxformers.generation.decoder_only import _KVBinding

    runs = count_runs(monkeypatch, model(name).sessions["model"])
    monkeypatch.setattr(_KVBinding, "use_direct_run", False)
    check_case(name, case)
    assert runs["run_with_iobinding"] and not runs["run_with_ort_values"]


@pytest.mark.parametrize("name", FIXTURES)
def test_position_ids_across_table_blocks(name, monkeypatch):
    """The loop takes position ids from a table it refills every ``_POSITION_BLOCK`` steps, and its
    mask buffer starts ``_POSITION_BLOCK`` columns past the prompt and doubles: with blocks of 3
    steps every reference (left-padded batches included) crosses several refills and growths."""
    from onnxformers.generation import decoder_only

    monkeypatch.setattr(decoder_only, "_POSITION_BLOCK", 3)
    cases = [c for c in reference(name)["cases"] if "encoding" in c]
    assert any(len(c["sequences"][0]) - len(c["encoding"]["input_ids"][0]) > 6 for c in cases)
    for case in cases:
        check_case(name, case)


@pytest.mark.parametrize("name,case", case_params(FIXTURES, beam_only=True))
def test_beam_rows_gathered_by_onnxruntime_match_transformers(name, case, monkeypatch):
    """The GPU path of beam reorders and prompt-cache expansion, run here on CPU."""
    from onnxformers.generation.decoder_only import _KVBinding

    calls = gather_rows_on_device(monkeypatch, _KVBinding)
    monkeypatch.setattr(_KVBinding, "use_direct_run", False)  # as on a GPU
    check_case(name, case)
    assert calls, "the cache rows never went through the device gather"


@pytest.mark.skipif(DEVICE not in (None, "cpu"), reason="the CPU loop")
def test_cpu_loop_runs_without_io_binding(monkeypatch):
    """On CPU each step is one ``run_with_ort_values`` call, never the binding."""
    name = FIXTURES[0]
    runs = count_runs(monkeypatch, model(name).sessions["model"])
    case = next(c for c in reference(name)["cases"] if c["id"] == "greedy_20")
    check_case(name, case)
    steps = len(case["sequences"][0]) - len(case["encoding"]["input_ids"][0])
    assert runs == {"run_with_ort_values": steps, "run_with_iobinding": 0}




def check_case(name, case):
    call = dict(case["call"])
    call.pop("output_scores", None)
    return_dict = call.pop("return_dict_in_generate", False)
    enc = case["encoding"]
    beam = "sequences_scores" in case
    out = model(name).generate(input_ids=np.array(enc["input_ids"]),
                               attention_mask=np.array(enc["attention_mask"]),
                               return_dict_in_generate=return_dict or beam, **call)
    sequences = out["sequences"] if return_dict or beam else out
    assert sequences.dtype == np.int64
    assert sequences.tolist() == case["sequences"]
    if beam:  # the scores see every reordered cache row, so they catch a stale KV cache
        np.testing.assert_allclose(out["scores"], case["sequences_scores"], atol=1e-4)


def test_streamer_sees_every_token():
    name = FIXTURES[0]
    case = next(c for c in reference(name)["cases"] if c["id"] == "greedy_20")
    from onnxformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(MODELS / name))
    pieces: list[str] = []
    ids: list[list[int]] = []
    streamer = TextStreamer(tok, skip_prompt=True, callback_function=pieces.append,
                            token_callback_function=ids.append)
    out = model(name).generate(input_ids=np.array(case["encoding"]["input_ids"]), streamer=streamer,
                               **case["call"])
    prompt_len = len(case["encoding"]["input_ids"][0])
    assert [t for chunk in ids for t in chunk] == out[0, prompt_len:].tolist()
    assert "".join(pieces) == tok.decode(out[0, prompt_len:].tolist())


def test_streamer_that_raises_stops_generation():
    class Boom(Exception):
        pass

    class Exploding:
        def __init__(self):
            self.calls = 0

        def put(self, value):
            self.calls += 1
            if self.calls == 3:
                raise Boom("streamer failed")

        def end(self):
            raise AssertionError("end() must not run after a failure")

    streamer = Exploding()
    with pytest.raises(Boom):
        model(FIXTURES[0]).generate(input_ids=np.array([[5, 6, 7]]), max_new_tokens=10,
                                    streamer=streamer)
    assert streamer.calls == 3


def test_bad_generate_inputs():
    m = model(FIXTURES[0])
    limit = m.config.n_positions if hasattr(m.config, "n_positions") else m.config.max_position_embeddings
    with pytest.raises(InvalidInputError, match="positions"):
        m.generate(input_ids=np.ones((1, limit), np.int64), max_new_tokens=5)
    with pytest.raises(InvalidInputError):
        m.generate(input_ids=np.array([[1.5, 2.0]]))
    prompt = np.array([[5, 6, 7]])
    assert m.generate(input_ids=prompt, max_new_tokens=0).tolist() == prompt.tolist()


def test_encoder_only_model_cannot_generate():
    from onnxformers import AutoModel, UnsupportedModelError

    bert = AutoModel.from_pretrained(str(MODELS / "tiny-bert-feature-extraction"))
    with pytest.raises(UnsupportedModelError, match="cannot generate"):
        bert.generate(input_ids=np.array([[1, 2]]))


@pytest.mark.parametrize("name", FIXTURES)
def test_step_scores_match_transformers(name):
    case = next((c for c in reference(name)["cases"] if c["id"] == "greedy_scores"), None)
    if case is None:
        pytest.skip("no greedy_scores reference")
    call = dict(case["call"], return_dict_in_generate=True, output_scores=True)
    enc = case["encoding"]
    out = model(name).generate(input_ids=np.array(enc["input_ids"]), attention_mask=np.array(enc["attention_mask"]),
                               **call)
    assert out["sequences"].tolist() == case["sequences"]
    got = np.stack(out["step_scores"])  # [steps, rows, vocab]
    want = np.array([[[-np.inf if x is None else x for x in row] for row in step] for step in case["scores"]],
                    np.float32)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=2e-4)
    # without return_dict_in_generate there is nothing to return them in
    plain = model(name).generate(input_ids=np.array(enc["input_ids"]), attention_mask=np.array(enc["attention_mask"]),
                                 **dict(case["call"], output_scores=True, return_dict_in_generate=False))
    assert plain.tolist() == case["sequences"]
