"""generate() on inputs and settings that must fail cleanly (before any model call), stop early, or
stay reproducible: over-long prompts, empty prompts, max_new_tokens=0, invalid or unknown options,
streamers and criteria that raise, interrupts from another thread, max_time, seeded sampling across
runs and threads. Committed tiny fixtures only (no torch)."""

from __future__ import annotations

import gc
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from onnxformers import AutoModelForCausalLM, InvalidInputError
from onnxformers.errors import NotImplementedYetError
from onnxformers.generation import (EosTokenCriteria, InterruptableStoppingCriteria, MaxLengthCriteria,
                                    StoppingCriteriaList)
from onnxformers.generation import decoder_only

MODELS = Path(__file__).parent.parent / "fixtures" / "models"
PROMPT = np.array([[5, 6, 7, 8]], dtype=np.int64)


@pytest.fixture(scope="module")
def model():
    # tiny-gpt2-lm: merged decoder (use_cache_branch), n_positions 128, bos 0 / eos 2 / pad 1
    return AutoModelForCausalLM.from_pretrained(str(MODELS / "tiny-gpt2-lm"))


@pytest.fixture
def calls(model, monkeypatch):
    """Counts the model's session runs (the loop calls run_with_iobinding once per step)."""
    session = model.sessions["model"]
    counter = {"n": 0}
    original = session.run_with_iobinding

    def counted(*args, **kwargs):
        counter["n"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(session, "run_with_iobinding", counted)
    return counter


def greedy(model, n=6, **kw):
    return model.generate(input_ids=PROMPT, max_new_tokens=n, **kw)


# -- lengths -----------------------------------------------------------------------------------------


def test_prompt_longer_than_max_positions_is_refused_before_running(model, calls):
    limit = model.config.n_positions
    with pytest.raises(InvalidInputError, match=r"beyond the model's 128.*truncation"):
        model.generate(input_ids=np.ones((1, limit + 1), np.int64), max_new_tokens=1)
    with pytest.raises(InvalidInputError, match="positions"):  # prompt fits, prompt + new does not
        model.generate(input_ids=np.ones((1, limit - 2), np.int64), max_new_tokens=3)
    assert calls["n"] == 0
    # exactly at the limit is fine
    out = model.generate(input_ids=np.full((1, limit - 2), 9, np.int64), max_new_tokens=2, eos_token_id=None)
    assert out.shape == (1, limit)


def test_max_length_not_above_prompt_is_refused(model, calls):
    with pytest.raises(InvalidInputError, match="max_length"):
        model.generate(input_ids=PROMPT, max_length=4)
    assert calls["n"] == 0


def test_max_new_tokens_zero_returns_the_prompt_without_running(model, calls):
    assert greedy(model, 0).tolist() == PROMPT.tolist()
    out = greedy(model, 0, return_dict_in_generate=True)
    assert out["sequences"].tolist() == PROMPT.tolist()
    assert calls["n"] == 0


def test_empty_prompt_starts_from_bos_or_fails_without_one(model, calls):
    empty = np.zeros((1, 0), np.int64)
    out = model.generate(input_ids=empty, max_new_tokens=3)
    assert out[0, 0] == model.generation_config["bos_token_id"] and out.shape[1] >= 2
    assert model.generate(max_new_tokens=3).tolist() == out.tolist()  # no inputs at all: same
    n = calls["n"]
    with pytest.raises(InvalidInputError, match="bos_token_id"):
        model.generate(input_ids=empty, max_new_tokens=3, bos_token_id=None)
    with pytest.raises(InvalidInputError, match="bos_token_id"):
        model.generate(max_new_tokens=3, bos_token_id=None)
    assert calls["n"] == n


def test_malformed_inputs(model, calls):
    with pytest.raises(InvalidInputError, match="integers"):
        model.generate(input_ids=np.array([[1.5, 2.0]]), max_new_tokens=2)
    with pytest.raises(InvalidInputError, match="attention_mask"):
        model.generate(input_ids=PROMPT, attention_mask=np.ones((1, 3)), max_new_tokens=2)
    with pytest.raises(InvalidInputError, match="batch size 1"):
        model.generate(input_ids=np.vstack([PROMPT, PROMPT]), max_new_tokens=2,
                       streamer=type("S", (), {"put": lambda s, v: None, "end": lambda s: None})())
    assert calls["n"] == 0


# -- options -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs,match", [
    (dict(do_sample=True, temperature=0.0), "temperature"),
    (dict(do_sample=True, temperature=-1.0), "temperature"),
    (dict(do_sample=True, top_p=0.0), "top_p"),
    (dict(do_sample=True, top_p=1.01), "top_p"),
    (dict(num_beams=0), "num_beams"),
    (dict(num_beams=2, num_return_sequences=3), "num_return_sequences"),
    (dict(num_return_sequences=2), "num_return_sequences"),
    (dict(max_new_tokens=-1), "max_new_tokens"),
    (dict(max_new_tokens="5"), "max_new_tokens must be an integer"),
    (dict(max_new_tokens=2.5), "max_new_tokens must be an integer"),
    (dict(num_beams=None), "num_beams"),
    (dict(temperature="hot", do_sample=True), "temperature must be a number"),
    (dict(do_sample="yes"), "do_sample must be True or False"),
    (dict(eos_token_id=[2, "x"]), "eos_token_id"),
    (dict(max_time=0), "max_time"),
    (dict(repetition_penalty=0.0), "repetition_penalty"),
    (dict(no_repeat_ngram_size=-1), "no_repeat_ngram_size"),
    (dict(num_beams=3, num_beam_groups=2), "num_beam_groups"),
    (dict(seed=-1, do_sample=True), "seed"),
])
def test_invalid_options_fail_before_any_model_call(model, calls, kwargs, match):
    kwargs.setdefault("max_new_tokens", 3)
    with pytest.raises(InvalidInputError, match=match):
        model.generate(input_ids=PROMPT, **kwargs)
    assert calls["n"] == 0


@pytest.mark.parametrize("kwargs,match", [
    (dict(num_beams=4, num_beam_groups=2, diversity_penalty=0.5), "group"),
    (dict(penalty_alpha=0.6, top_k=4), "contrastive"),
    (dict(force_words_ids=[[5]], num_beams=2), "constrained"),
    (dict(guidance_scale=1.5), "guidance"),
])
def test_unsupported_strategies_are_refused_not_ignored(model, calls, kwargs, match):
    with pytest.raises(NotImplementedYetError, match=match):
        model.generate(input_ids=PROMPT, max_new_tokens=3, **kwargs)
    assert calls["n"] == 0


def test_unknown_kwargs_warn_and_do_not_change_the_output(model):
    expected = greedy(model)
    with pytest.warns(UserWarning, match="not_a_generation_option"):
        out = greedy(model, not_a_generation_option=3)
    assert out.tolist() == expected.tolist()


def test_flags_the_strategy_ignores_warn_as_in_transformers(model):
    with pytest.warns(UserWarning, match="temperature.*only used when sampling"):
        greedy(model, temperature=0.5)
    with pytest.warns(UserWarning, match="length_penalty.*beam"):
        greedy(model, length_penalty=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # defaults and used flags: silent
        greedy(model)
        greedy(model, do_sample=True, temperature=0.5, seed=1)


# -- streamers and criteria that raise, interrupts, time -------------------------------------------


def _kv_bindings() -> int:
    gc.collect()
    return sum(isinstance(o, decoder_only._KVBinding) for o in gc.get_objects())


def test_streamer_that_raises_leaves_nothing_behind(model):
    class Boom(RuntimeError):
        pass

    class Exploding:
        def __init__(self, at):
            self.at, self.calls, self.ended = at, 0, False

        def put(self, value):
            self.calls += 1
            if self.calls == self.at:
                raise Boom("streamer failed")

        def end(self):
            self.ended = True

    expected = greedy(model, 8)
    before_threads, before_kv = threading.active_count(), _kv_bindings()
    for at in (1, 2, 5):  # the prompt put, the first token, mid-way
        streamer = Exploding(at)
        with pytest.raises(Boom):
            greedy(model, 8, streamer=streamer)
        assert streamer.calls == at and not streamer.ended
    assert _kv_bindings() == before_kv  # the cache and binding of the failed calls are freed
    assert threading.active_count() == before_threads
    assert greedy(model, 8).tolist() == expected.tolist()  # the session still works, same tokens


def test_custom_criterion_stops_and_a_raising_one_propagates(model):
    full = greedy(model, 8, eos_token_id=None)
    out = greedy(model, 8, eos_token_id=None, stopping_criteria=MaxLengthCriteria(PROMPT.shape[1] + 3))
    assert out.tolist() == full[:, :PROMPT.shape[1] + 3].tolist()
    third = int(full[0, PROMPT.shape[1] + 2])
    out = greedy(model, 8, eos_token_id=None, stopping_criteria=StoppingCriteriaList([EosTokenCriteria(third)]))
    assert out[0, -1] == third and out.shape[1] <= PROMPT.shape[1] + 3

    def broken(input_ids, scores):
        raise KeyError("criterion failed")

    with pytest.raises(KeyError, match="criterion failed"):
        greedy(model, 8, stopping_criteria=[broken])
    assert greedy(model, 8, eos_token_id=None).tolist() == full.tolist()


def test_interrupt_from_another_thread(model):
    criterion = InterruptableStoppingCriteria()
    seen = []

    class InterruptAfterTwo:
        def put(self, value):
            seen.append(np.asarray(value).size)
            if len(seen) == 3:  # prompt + 2 tokens: interrupt from another thread, then go on
                t = threading.Thread(target=criterion.interrupt)
                t.start()
                t.join()

        def end(self):
            pass

    out = model.generate(input_ids=PROMPT, max_new_tokens=20, eos_token_id=None,
                         streamer=InterruptAfterTwo(), stopping_criteria=criterion)
    assert criterion.interrupted
    assert out.shape[1] - PROMPT.shape[1] == 3  # the step already running finishes, then stop
    criterion.reset()
    out = model.generate(input_ids=PROMPT, max_new_tokens=20, eos_token_id=None, stopping_criteria=criterion)
    assert out.shape[1] - PROMPT.shape[1] == 20


def test_interrupt_while_generating_in_a_worker_thread(model):
    """generate() runs in a worker; the main thread interrupts it mid-way (the worker's streamer
    holds the loop after the first new token until the interrupt has been sent)."""
    criterion = InterruptableStoppingCriteria()
    started, go = threading.Event(), threading.Event()
    result = {}

    class Gate:
        calls = 0

        def put(self, value):
            self.calls += 1
            if self.calls == 2:  # the prompt, then the first new token
                started.set()
                assert go.wait(30)

        def end(self):
            pass

    def work():
        result["out"] = model.generate(input_ids=PROMPT, max_new_tokens=100, eos_token_id=None,
                                       streamer=Gate(), stopping_criteria=[criterion])

    worker = threading.Thread(target=work)
    worker.start()
    assert started.wait(30)
    criterion.interrupt()
    go.set()
    worker.join(30)
    assert not worker.is_alive()
    assert result["out"].shape[1] - PROMPT.shape[1] == 2  # the step after the interrupt is the last


def test_max_time_stops_generation(model):
    class Slow:
        def put(self, value):
            time.sleep(0.02)

        def end(self):
            pass

    start = time.perf_counter()
    out = model.generate(input_ids=PROMPT, max_new_tokens=100, eos_token_id=None, max_time=0.05, streamer=Slow())
    assert out.shape[1] - PROMPT.shape[1] < 20
    assert time.perf_counter() - start < 2.0


# -- reproducibility ---------------------------------------------------------------------------------


def test_same_seed_same_tokens_across_runs_and_threads(model):
    kw = dict(do_sample=True, temperature=1.5, top_k=0, max_new_tokens=24, eos_token_id=None)
    prompts = np.array([[5, 6, 7, 8], [9, 10, 11, 12]], dtype=np.int64)
    ref = model.generate(input_ids=prompts, seed=1234, **kw)
    for _ in range(3):
        assert model.generate(input_ids=prompts, seed=1234, **kw).tolist() == ref.tolist()
    assert model.generate(input_ids=prompts, seed=4321, **kw).tolist() != ref.tolist()

    results: list = [None] * 6
    errors: list = []

    def worker(i):
        try:
            results[i] = model.generate(input_ids=prompts, seed=1234, **kw)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert all(r.tolist() == ref.tolist() for r in results)


def test_public_binding_fallback_gives_the_same_tokens(model, monkeypatch):
    """The loop binds through onnxruntime's C binding object when it can; without it (another
    onnxruntime), the public IOBinding API must give the same tokens, beams included."""
    fast = [greedy(model, 8), model.generate(input_ids=PROMPT, max_new_tokens=6, num_beams=3)]
    monkeypatch.setattr(decoder_only._KVBinding, "use_c_binding", False)
    slow = [greedy(model, 8), model.generate(input_ids=PROMPT, max_new_tokens=6, num_beams=3)]
    assert [a.tolist() for a in slow] == [a.tolist() for a in fast]


def test_custom_criterion_finishes_rows_one_by_one(model):
    # transformers' `unfinished &= ~criteria(...)`: a stopped row is padded from the next step on when
    # an EOS criterion exists; without one it keeps generating until every row is stopped
    prompts = np.array([[5, 6, 7, 8], [9, 10, 11, 12]], dtype=np.int64)
    base = dict(input_ids=prompts, max_new_tokens=8, do_sample=False)
    eos = 127  # a token id the tiny model never picks here, so only the criterion stops rows
    full = model.generate(**base, eos_token_id=eos, pad_token_id=1)
    assert eos not in full[:, 4:]

    def first_row_after_two(input_ids, scores):
        return [input_ids.shape[1] >= 4 + 2] + [False] * (input_ids.shape[0] - 1)

    out = model.generate(**base, eos_token_id=eos, pad_token_id=1, stopping_criteria=[first_row_after_two])
    assert out.shape == full.shape  # row 1 kept going to max_new_tokens
    assert out[0, :6].tolist() == full[0, :6].tolist() and out[0, 6:].tolist() == [1] * 6
    assert out[1].tolist() == full[1].tolist()
    # no EOS criterion: the stopped row is not padded (as in transformers), the loop still runs on
    out = model.generate(**base, eos_token_id=None, stopping_criteria=[first_row_after_two])
    assert out.tolist() == model.generate(**base, eos_token_id=None).tolist()

    def both_at(n):
        return lambda input_ids, scores: [input_ids.shape[1] >= 4 + n[0], input_ids.shape[1] >= 4 + n[1]]

    out = model.generate(**base, eos_token_id=eos, pad_token_id=1, stopping_criteria=[both_at((2, 5))])
    assert out.shape[1] == 4 + 5  # stops when the last row does
    assert out[0, 6:].tolist() == [1] * 3 and out[1].tolist() == full[1, :9].tolist()
    # beam search stops only when every row says so
    beams = model.generate(**dict(base, num_beams=2), eos_token_id=eos, pad_token_id=1,
                           stopping_criteria=[first_row_after_two])
    assert beams.shape[1] == 4 + 8
