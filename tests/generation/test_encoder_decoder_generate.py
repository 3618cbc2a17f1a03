"""model.generate() for encoder-decoder models (encoder once, merged decoder or the older
decoder_model + decoder_with_past_model pair) against transformers' generate() on the same
weights, token for token (references stored by scripts/make_fixtures.py)."""

from __future__ import annotations

import numpy as np
import pytest

from onnxformers import AutoModelForSeq2SeqLM, AutoTokenizer, InvalidInputError
from onnxformers.errors import UnsupportedModelError
from onnxformers.generation import TextStreamer
from onnxformers.generation import encoder_decoder

from gen_helpers import (DEVICE, MODELS, ModelCache, case_params, count_runs, gather_rows_on_device, present,
                         reference)

FIXTURES = present(("tiny-t5-seq2seq", "tiny-bart-seq2seq", "tiny-nllb-translation", "tiny-t5-split-decoder"))
model = ModelCache(AutoModelForSeq2SeqLM)


def run_case(m, case, **extra):
    call = dict(case["call"])
    call.pop("output_scores", None)
    call.pop("return_dict_in_generate", None)
    enc = case["encoding"]
    return m.generate(input_ids=np.array(enc["input_ids"]),
                      attention_mask=np.array(enc["attention_mask"]),
                      return_dict_in_generate=True, **call, **extra)


@pytest.mark.parametrize("name,case", case_params(FIXTURES))
def test_generate_matches_transformers(name, case):
    check_case(name, case)


@pytest.mark.parametrize("name,case", case_params(FIXTURES, beam_only=True))
def test_beam_rows_gathered_by_onnxruntime_match_transformers(name, case, monkeypatch):
    """The GPU path of beam reorders (the self-attention cache), run here on CPU."""
    calls = gather_rows_on_device(monkeypatch, encoder_decoder.CacheRunner)
    monkeypatch.setattr(encoder_decoder.CacheRunner, "use_direct_run", False)  # as on a GPU
    check_case(name, case)
    assert calls, "the cache rows never went through the device gather"


@pytest.mark.parametrize("name,case", case_params(FIXTURES))
def test_io_binding_loop_matches_transformers(name, case, monkeypatch):
    """The decoder loop a GPU session runs (I/O bindings, constants bound once), here on CPU,
    where each step is otherwise one ``run_with_ort_values`` call."""
    runs = [count_runs(monkeypatch, s) for s in decoder_sessions(model(name))]
    monkeypatch.setattr(encoder_decoder.CacheRunner, "use_direct_run", False)
    check_case(name, case)
    assert any(r["run_with_iobinding"] for r in runs) and not any(r["run_with_ort_values"] for r in runs)


@pytest.mark.skipif(DEVICE not in (None, "cpu"), reason="the CPU loop")
@pytest.mark.parametrize("name", FIXTURES)
def test_cpu_decoder_steps_run_without_io_binding(name, monkeypatch):
    runs = [count_runs(monkeypatch, s) for s in decoder_sessions(model(name))]
    case = next(c for c in reference(name)["cases"] if "encoding" in c)
    check_case(name, case)
    assert sum(r["run_with_ort_values"] for r in runs) == len(case["sequences"][0]) - 1  # one per new token
    assert not any(r["run_with_iobinding"] for r in runs)


def decoder_sessions(m) -> list:
    first, later = encoder_decoder.decoder_sessions(m)
    return [first] if first is later else [first, later]


def check_case(name, case):
    out = run_case(model(name), case)
    assert out["sequences"].dtype == np.int64
    assert out["sequences"].tolist() == case["sequences"]
    if "sequences_scores" in case:  # the scores see every reordered cache row: a stale cache shows
        np.testing.assert_allclose(out["scores"], case["sequences_scores"], atol=1e-4)
    else:
        assert out["scores"] is None


@pytest.mark.parametrize("name", [n for n in ("tiny-t5-seq2seq", "tiny-bart-seq2seq")
                                  if n in FIXTURES])
def test_step_scores_match_transformers(name):
    case = next(c for c in reference(name)["cases"] if c["id"] == "greedy_scores")
    out = run_case(model(name), case, output_scores=True)
    got = np.stack(out["step_scores"])  # [steps, rows, vocab]
    want = np.array([[[-np.inf if x is None else x for x in row] for row in step]
                     for step in case["scores"]], np.float32)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=2e-4)


def test_cache_stays_in_ort_values_and_cross_cache_is_reused(monkeypatch):
    """The cache between steps is OrtValues (no numpy round trip), and after the first step the
    cross-attention entries are the very objects the first step produced."""
    import onnxruntime as ort

    seen = []
    original = encoder_decoder.CacheRunner.run

    def spy(self, feed, first_step):
        logits = original(self, feed, first_step)
        seen.append({k: v for k, v in self.past.items()})
        return logits

    monkeypatch.setattr(encoder_decoder.CacheRunner, "run", spy)
    case = next(c for c in reference(FIXTURES[0])["cases"] if c["id"] == "greedy_20")
    run_case(model(FIXTURES[0]), case)
    assert len(seen) >= 5
    ort_types = (ort.OrtValue, ort.capi.onnxruntime_pybind11_state.OrtValue)  # public or C level
    for past in seen:
        assert all(isinstance(v, ort_types) for v in past.values())
    cross = [k for k in seen[0] if ".encoder." in k]
    assert cross
    for past in seen[1:]:
        assert all(past[k] is seen[0][k] for k in cross)
    assert seen[1]["past_key_values.0.decoder.key"] is not seen[0]["past_key_values.0.decoder.key"]


def test_streamer_sees_every_token():
    name = FIXTURES[0]
    case = next(c for c in reference(name)["cases"] if c["id"] == "greedy_20")
    tok = AutoTokenizer.from_pretrained(str(MODELS / name))
    pieces: list[str] = []
    ids: list[list[int]] = []
    streamer = TextStreamer(tok, skip_prompt=True, callback_function=pieces.append,
                            token_callback_function=ids.append)
    out = model(name).generate(input_ids=np.array(case["encoding"]["input_ids"]),
                               streamer=streamer, **case["call"])
    assert out.tolist() == case["sequences"]
    assert [t for chunk in ids for t in chunk] == out[0, 1:].tolist()
    assert "".join(pieces) == tok.decode(out[0, 1:].tolist())


def test_streamer_that_raises_stops_generation():
    class Boom(Exception):
        pass

    class Exploding:
        calls = 0

        def put(self, value):
            self.calls += 1
            if self.calls == 3:
                raise Boom("streamer failed")

        def end(self):
            raise AssertionError("end() must not run after a failure")

    streamer = Exploding()
    with pytest.raises(Boom):
        model(FIXTURES[0]).generate(input_ids=np.array([[5, 6, 7, 2]]), max_new_tokens=10,
                                    streamer=streamer)
    assert streamer.calls == 3


def test_custom_logits_processor_runs_after_builtins():
    """A Python processor that suppresses tokens gives what suppress_tokens gives; it sees the
    running sequences and the already processed scores (forced BOS applied first)."""
    name = "tiny-bart-seq2seq"
    case = next(c for c in reference(name)["cases"] if c["id"] == "suppress_tokens")
    suppressed = case["call"]["suppress_tokens"]
    seen_lengths = []

    def suppress(input_ids, scores):
        seen_lengths.append(input_ids.shape[1])
        if input_ids.shape[1] == 1:  # BART forces <s> (0) first: the builtin ran before us
            assert np.isneginf(np.delete(scores[0], 0)).all()
        scores[:, suppressed] = -np.inf

    call = {k: v for k, v in case["call"].items() if k != "suppress_tokens"}
    out = model(name).generate(input_ids=np.array(case["encoding"]["input_ids"]),
                               logits_processor=[suppress], **call)
    assert out.tolist() == case["sequences"]
    assert seen_lengths == list(range(1, len(seen_lengths) + 1))
    # with beam search too: see tests/generation/test_beam_hooks.py


def test_encoder_outputs_and_decoder_prompt():
    """A precomputed encoder output skips the encoder; a decoder prompt continues from its last
    token (the start token is prepended, as transformers does)."""
    name = FIXTURES[0]
    m = model(name)
    case = next(c for c in reference(name)["cases"] if c["id"] == "greedy_20")
    ids = np.array(case["encoding"]["input_ids"])
    hidden = m.generate(input_ids=ids, max_new_tokens=1,
                        return_dict_in_generate=True)["encoder_hidden_states"]
    out = m.generate(encoder_outputs=hidden, max_new_tokens=20)
    assert out.tolist() == case["sequences"]
    prefix = case["sequences"][0][1:4]
    out = m.generate(input_ids=ids, decoder_input_ids=[prefix], max_new_tokens=17)
    assert out.tolist() == case["sequences"]


def test_bad_inputs():
    m = model(FIXTURES[0])
    ids = np.array([[5, 6, 7, 2]])
    start = m.generation_config["decoder_start_token_id"]
    assert m.generate(input_ids=ids, max_new_tokens=0).tolist() == [[start]]
    with pytest.raises(InvalidInputError, match="encoder inputs"):
        m.generate(max_new_tokens=3)
    with pytest.raises(InvalidInputError):
        m.generate(input_ids=np.array([[1.5, 2.0]]))
    with pytest.raises(InvalidInputError, match="max_new_tokens"):
        m.generate(input_ids=ids, max_new_tokens=-1)
    with pytest.raises(InvalidInputError, match="streamer"):
        m.generate(input_ids=ids, num_beams=2, streamer=TextStreamer(None))
    bart = model("tiny-bart-seq2seq")
    limit = bart.config.max_position_embeddings
    with pytest.raises(InvalidInputError, match="positions"):
        bart.generate(input_ids=np.full((1, limit + 1), 5), max_new_tokens=2)
    with pytest.raises(InvalidInputError, match="positions"):
        bart.generate(input_ids=ids, max_new_tokens=limit + 5)


def test_model_without_decoder_cannot_generate():
    from onnxformers import AutoModel

    bert = AutoModel.from_pretrained(str(MODELS / "tiny-bert-feature-extraction"))
    with pytest.raises(UnsupportedModelError, match="cannot generate"):
        bert.generate(input_ids=np.array([[1, 2]]))
    m = model(FIXTURES[0])
    sessions = {"model": m.sessions["model"]}
    lonely = type(m)(m.config, sessions, m.generation_config, "x", m.kind)
    with pytest.raises(UnsupportedModelError, match="no decoder graph"):
        lonely.generate(input_ids=np.array([[5, 2]]), max_new_tokens=2)


def test_split_decoder_layout_is_loaded():
    """Without decoder_model_merged.onnx the older pair is loaded; the cases above ran on it."""
    if "tiny-t5-split-decoder" not in FIXTURES:
        pytest.skip("fixture not built")
    m = model("tiny-t5-split-decoder")
    assert set(m.sessions) == {"model", "decoder_model", "decoder_with_past_model"}
    assert "decoder_model_merged" in model("tiny-t5-seq2seq").sessions


def test_missing_decoder_files_name_the_merged_file(tmp_path):
    import shutil

    from onnxformers.errors import FileMissingError

    src = MODELS / "tiny-t5-seq2seq"
    shutil.copytree(src, tmp_path / "m")
    (tmp_path / "m" / "onnx" / "decoder_model_merged.onnx").unlink()
    with pytest.raises(FileMissingError, match="decoder_model_merged"):
        AutoModelForSeq2SeqLM.from_pretrained(str(tmp_path / "m"))


SPLIT_LM = MODELS / "tiny-gpt2-split-decoder"


@pytest.mark.skipif(not (SPLIT_LM / "reference.json").exists(), reason="fixture not built")
def test_decoder_only_split_pair_matches_transformers():
    from onnxformers import AutoModelForCausalLM

    lm = ModelCache(AutoModelForCausalLM)(SPLIT_LM.name)
    assert set(lm.sessions) == {"decoder_model", "decoder_with_past_model"}
    for case in reference(SPLIT_LM.name)["cases"]:
        call = dict(case["call"])
        beam = "sequences_scores" in case
        out = lm.generate(input_ids=np.array(case["encoding"]["input_ids"]),
                          attention_mask=np.array(case["encoding"]["attention_mask"]),
                          return_dict_in_generate=True, **call)
        assert out["sequences"].tolist() == case["sequences"], case["id"]
        if beam:
            np.testing.assert_allclose(out["scores"], case["sequences_scores"], atol=1e-4)


def test_stopping_criteria_and_interrupt():
    from onnxformers.generation.stopping_criteria import InterruptableStoppingCriteria

    m = model(FIXTURES[0])
    case = next(c for c in reference(FIXTURES[0])["cases"] if c["id"] == "greedy_20")
    ids = np.array(case["encoding"]["input_ids"])
    seen = []

    def three_new(input_ids, scores):
        seen.append(input_ids.shape)
        return input_ids.shape[1] >= 4

    out = m.generate(input_ids=ids, max_new_tokens=20, stopping_criteria=[three_new])
    assert out.tolist() == [case["sequences"][0][:4]]
    assert seen[-1] == (1, 4)
    stop = InterruptableStoppingCriteria()
    stop.interrupt()
    out = m.generate(input_ids=ids, max_new_tokens=20, stopping_criteria=stop)
    assert out.shape[1] <= 2  # stops at its next step


@pytest.mark.parametrize("name", FIXTURES)
def test_public_binding_api_path(monkeypatch, name):
    """Without onnxruntime's C binding internals the loop uses the public API: same tokens."""
    original = encoder_decoder.CacheRunner.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self._c_devices = None
        self._direct = dict.fromkeys(self._direct)  # decided at init: without the internals, none

    monkeypatch.setattr(encoder_decoder.CacheRunner, "__init__", init)
    for case in reference(name)["cases"]:
        if case["id"] in ("greedy_20", "beam4_ret2_early", "beam3_batch", "greedy_batch",
                          "en_de_beam3_lp05_batch", "en_zh_batch", "beam4_ret2"):
            out = run_case(model(name), case)
            assert out["sequences"].tolist() == case["sequences"], case["id"]


def test_seeded_sampling_is_reproducible():
    m = model("tiny-bart-seq2seq")
    ids = np.array([[0, 45, 82, 327, 81, 597, 2]])
    kw = dict(do_sample=True, top_k=20, top_p=0.9, temperature=1.3, max_new_tokens=10,
              num_return_sequences=3)
    a = m.generate(input_ids=ids, seed=7, **kw)
    b = m.generate(input_ids=ids, seed=7, **kw)
    c = m.generate(input_ids=ids, seed=8, **kw)
    assert a.shape[0] == 3 and a.tolist() == b.tolist()
    assert a.tolist() != c.tolist()
    assert (a[:, 1] == 0).all()  # BART's forced BOS holds when sampling too
