"""The generation bindings of onnxformers._core: in-place processing, seeded sampling that is
deterministic across runs and threads, sampling frequencies, beam search through the step API,
errors, and the _core.pyi section.

Parity of every processor and of beam search with transformers is tested in Rust
(`cargo test -p onnxformers-core generation`, against rust/core/tests/data/generation_oracle.json).
"""

from __future__ import annotations

import ast
import inspect
import pathlib
import threading

import numpy as np
import pytest

import onnxformers
from onnxformers import _core
from onnxformers.errors import InvalidInputError

M64 = (1 << 64) - 1


def synthetic_logits(seqs: np.ndarray, vocab: int) -> np.ndarray:
    """A deterministic stand-in for a model: next-token logits hashed from each prefix."""
    out = np.empty((seqs.shape[0], vocab), dtype=np.float32)
    for r, row in enumerate(seqs.tolist()):
        h = 0xCBF29CE484222325
        for t in row:
            h = ((h ^ (t & 0xFFFF)) * 0x100000001B3) & M64
        for v in range(vocab):
            x = (h ^ ((v * 0x9E3779B97F4A7C15) & M64)) & M64
            x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
            x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
            out[r, v] = ((x >> 40) % 4096) / 512.0 - 4.0
    return out


def run(config: dict, prompt, *, seed=None, vocab=32, interrupt=None, after_step=None):
    st = _core.GenerationState(config, np.asarray(prompt, dtype=np.int64), seed=seed, interrupt=interrupt)
    steps = 0
    while True:
        logits = synthetic_logits(st.sequences, vocab)
        tokens, beam_indices, done = st.step(logits)
        steps += 1
        assert tokens.dtype == np.int64 and tokens.shape == (st.num_rows,)
        if after_step is not None:
            after_step(steps)
        if done:
            break
    return st.finalize(), steps


# --- in-place, zero-copy processing ---


def test_processor_list_modifies_logits_in_place():
    lp = _core.LogitsProcessorList(
        {"do_sample": True, "top_k": 3, "temperature": 0.5, "repetition_penalty": 1.25}, prompt_length=2
    )
    assert lp.names == ["RepetitionPenalty", "Temperature", "TopK"]
    assert len(lp) == 3
    logits = np.array([[1.0, 2.0, 3.0, 4.0, -1.0], [0.5, -2.0, 1.0, 0.0, 3.0]], dtype=np.float32)
    before = logits.__array_interface__["data"][0]
    lp(np.array([[3, 1], [1, 1]]), logits)
    assert logits.__array_interface__["data"][0] == before
    # row 0: ids {1, 3} divided by 1.25 (positive), then / 0.5, then the top 3 survive
    np.testing.assert_allclose(logits[0], [-np.inf, 3.2, 6.0, 6.4, -np.inf], rtol=1e-6)
    # row 1: id 1 is negative -> multiplied
    np.testing.assert_allclose(logits[1], [1.0, -np.inf, 2.0, -np.inf, 6.0], rtol=1e-6)


def test_processor_list_views_and_rejections():
    lp = _core.LogitsProcessorList({"suppress_tokens": [1]}, prompt_length=1)
    big = np.zeros((4, 6), dtype=np.float32)
    view = big[1:3]  # a contiguous view: processed in place, in the parent buffer
    lp([[0], [0]], view)
    assert np.isneginf(big[1:3, 1]).all() and big[0, 1] == 0 and big[3, 1] == 0
    with pytest.raises(InvalidInputError, match="C-contiguous"):
        lp([[0], [0], [0]], big[:, ::2].copy(order="F")[:3])
    with pytest.raises(InvalidInputError, match="float32"):
        lp([[0]], np.zeros((1, 6), dtype=np.float64))
    with pytest.raises(InvalidInputError, match="rows"):
        lp([[0]], np.zeros((2, 6), dtype=np.float32))
    ro = np.zeros((1, 6), dtype=np.float32)
    ro.setflags(write=False)
    with pytest.raises(InvalidInputError, match="writeable"):
        lp([[0]], ro)


@pytest.mark.parametrize(
    "config",
    [
        {"do_sample": True, "temperature": 0.0},
        {"do_sample": True, "temperature": -1.0},
        {"top_p": 0.0},
        {"top_p": 1.5},
        {"top_k": -1},
        {"num_beams": 0},
        {"num_beams": 2, "num_return_sequences": 3},
        {"num_return_sequences": 2},
        {"early_stopping": "sometimes"},
        {"bad_words_ids": []},
        {"max_new_tokens": 0},
    ],
)
def test_bad_config_values_raise_invalid_input(config):
    with pytest.raises(InvalidInputError):
        _core.GenerationState(config, [[1]])
    with pytest.raises(ValueError):  # InvalidInputError is a ValueError
        _core.LogitsProcessorList(config, 1)


def test_prompt_too_long_and_finished_state_raise():
    with pytest.raises(InvalidInputError, match="max_length"):
        _core.GenerationState({"max_length": 3}, [[1, 2, 3]])
    st = _core.GenerationState({"max_new_tokens": 1}, [[1]])
    st.step(np.zeros((1, 4), dtype=np.float32))
    with pytest.raises(InvalidInputError, match="done"):
        st.step(np.zeros((1, 4), dtype=np.float32))


# --- greedy / sampling through the step API ---


def test_greedy_pads_finished_rows_and_matches_a_numpy_loop():
    cfg = {"max_new_tokens": 10, "eos_token_id": 5, "pad_token_id": 0}
    prompt = np.array([[3, 7], [4, 4]])
    (seqs, scores), _ = run(cfg, prompt)
    assert scores is None
    # the same loop in numpy: argmax, pad once a row has emitted eos
    ids = prompt.copy()
    alive = np.ones(2, dtype=bool)
    while ids.shape[1] < 12 and alive.any():
        nxt = synthetic_logits(ids, 32).argmax(-1)
        nxt = np.where(alive, nxt, 0)
        ids = np.concatenate([ids, nxt[:, None]], axis=1)
        alive &= nxt != 5
    np.testing.assert_array_equal(seqs, ids)


def test_seeded_sampling_is_deterministic_across_runs_and_threads():
    cfg = {"do_sample": True, "top_k": 20, "top_p": 0.95, "temperature": 1.3, "max_new_tokens": 12,
           "num_return_sequences": 2}
    prompt = [[1, 2], [3, 4]]
    (ref, _), _ = run(cfg, prompt, seed=2024)
    assert ref.shape == (4, 14)
    (again, _), _ = run(cfg, prompt, seed=2024)
    np.testing.assert_array_equal(ref, again)
    (other, _), _ = run(cfg, prompt, seed=2025)
    assert not np.array_equal(ref, other)

    results = [None] * 6
    def worker(i):
        results[i] = run(cfg, prompt, seed=2024)[0][0]
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, ref)


def test_sampler_class_seeded():
    logits = np.log(np.array([[0.1, 0.6, 0.3]] * 1000, dtype=np.float32))
    a = _core.Sampler(do_sample=True, seed=9).sample(logits)
    b = _core.Sampler(do_sample=True, seed=9).sample(logits)
    np.testing.assert_array_equal(a, b)
    assert abs((a == 1).mean() - 0.6) < 0.06
    np.testing.assert_array_equal(_core.Sampler().sample(logits), np.ones(1000, dtype=np.int64))


def filtered_probs(logits: np.ndarray, temperature: float, top_k: int, top_p: float) -> np.ndarray:
    """transformers' temperature -> top-k -> top-p, written independently in numpy (float64)."""
    x = logits.astype(np.float64) / temperature
    kth = np.sort(x)[-min(top_k, x.size)]
    x = np.where(x < kth, -np.inf, x)
    order = np.argsort(x, kind="stable")  # ascending
    p = np.exp(x[order] - x.max())
    p /= p.sum()
    remove = np.cumsum(p) <= 1 - top_p
    remove[-1] = False
    x[order[remove]] = -np.inf
    q = np.exp(x - x.max())
    return q / q.sum()


@pytest.mark.parametrize("top_k,top_p,temperature", [(4, 1.0, 1.0), (50, 0.7, 1.0), (5, 0.8, 0.7)])
def test_sampling_frequencies_follow_the_filtered_softmax(top_k, top_p, temperature):
    rng = np.random.default_rng(0)
    base = rng.standard_normal(16).astype(np.float32) * 1.5
    n = 40_000
    st = _core.GenerationState(
        {"do_sample": True, "top_k": top_k, "top_p": top_p, "temperature": temperature, "max_new_tokens": 1},
        np.zeros((n, 1), dtype=np.int64), seed=77,
    )
    tokens, _, done = st.step(np.tile(base, (n, 1)))
    assert done
    freq = np.bincount(tokens, minlength=16) / n
    want = filtered_probs(base, temperature, top_k, top_p)
    assert ((want == 0) <= (freq == 0)).all(), "a filtered token was sampled"
    tol = 5 * np.sqrt(want * (1 - want) / n) + 1e-12
    assert (np.abs(freq - want) <= tol).all(), (freq, want)


def test_interrupt_from_another_thread():
    flag = _core.InterruptFlag()
    cfg = {"max_new_tokens": 200}
    stop_at = 5

    def after(step):
        if step == stop_at:
            t = threading.Thread(target=flag.interrupt)
            t.start()
            t.join()

    (seqs, _), steps = run(cfg, [[1]], interrupt=flag, after_step=after)
    assert flag.is_set and bool(flag)
    assert steps == stop_at + 1 and seqs.shape == (1, 1 + steps)
    flag.reset()
    assert not flag.is_set

    st = _core.GenerationState(cfg, [[1]])
    st.interrupt()
    assert st.step(np.zeros((1, 4), dtype=np.float32))[2]


# --- beam search ---


def test_beam_search_step_api():
    cfg = {"num_beams": 3, "num_return_sequences": 2, "max_new_tokens": 8, "eos_token_id": 2, "pad_token_id": 0}
    prompt = [[5, 6], [7, 8]]
    st = _core.GenerationState(cfg, prompt)
    assert (st.mode, st.num_rows, st.expand_size) == ("beam_search", 6, 3)
    np.testing.assert_array_equal(st.sequences[:, :2], np.repeat(np.array(prompt), 3, axis=0))
    while True:
        before = st.sequences
        tokens, beam_indices, done = st.step(synthetic_logits(before, 32))
        assert beam_indices is not None and beam_indices.dtype == np.int64
        # each row continues the row named by beam_indices, within its own batch item
        assert (beam_indices // 3 == np.arange(6) // 3).all()
        np.testing.assert_array_equal(st.sequences[:, :-1], before[beam_indices])
        np.testing.assert_array_equal(st.sequences[:, -1], tokens)
        if done:
            break
    seqs, scores = st.finalize()
    assert seqs.shape[0] == 4 and scores.shape == (4,) and scores.dtype == np.float32
    assert (scores[0] >= scores[1]) and (scores[2] >= scores[3])
    np.testing.assert_array_equal(seqs[:2, :2], [[5, 6], [5, 6]])


def test_beam_sample_is_seeded():
    cfg = {"num_beams": 2, "do_sample": True, "max_new_tokens": 6, "eos_token_id": 2, "top_k": 8}
    a = run(cfg, [[1, 3]], seed=4)[0]
    b = run(cfg, [[1, 3]], seed=4)[0]
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_beam_search_scorer_class():
    scorer = _core.BeamSearchScorer(1, 2, 5, early_stopping=True)
    ids = np.array([[1, 4], [1, 4]])
    # candidates: eos (2) first -> finished hypothesis, then tokens 3 and 5 continue
    s, t, i = scorer.process(ids, np.array([[-0.1, -0.5, -0.7, -0.9]], dtype=np.float32),
                             np.array([[2, 3, 5, 6]]), np.array([[0, 0, 1, 1]]), pad_token_id=0,
                             eos_token_id=[2], decoder_prompt_len=2)
    np.testing.assert_array_equal(t, [3, 5])
    np.testing.assert_array_equal(i, [0, 1])
    assert not scorer.is_done
    seqs, scores = scorer.finalize(np.array([[1, 4, 3], [1, 4, 5]]), list(s), pad_token_id=0,
                                   eos_token_id=[2], decoder_prompt_len=2)
    # [1, 4] + eos scored -0.1 / 1 beats -0.5 / 1 and -0.7 / 1; the eos is appended back
    np.testing.assert_array_equal(seqs, [[1, 4, 2]])
    assert scores[0] == pytest.approx(-0.1)


# --- stubs ---


def _section():
    text = (pathlib.Path(onnxformers.__file__).parent / "_core.pyi").read_text()
    return text.split("# --- generation ---", 1)[1].split("# --- end generation ---", 1)[0]


def test_stub_section_matches_extension():
    classes = [n for n in ast.parse(_section()).body if isinstance(n, ast.ClassDef)]
    assert {c.name for c in classes} == {
        "LogitsProcessorList", "InterruptFlag", "GenerationState", "Sampler", "BeamSearchScorer"}
    for cls in classes:
        real = getattr(_core, cls.name)
        for node in cls.body:
            if isinstance(node, ast.FunctionDef):
                assert hasattr(real, node.name), f"{cls.name}.{node.name}"
                if node.name in ("__init__", "__len__", "__bool__", "__call__"):
                    continue
                attr = getattr(real, node.name)
                if callable(attr) and not isinstance(attr, property):
                    try:
                        sig = inspect.signature(attr)
                    except (TypeError, ValueError):
                        continue
                    stub = [a.arg for a in node.args.args + node.args.kwonlyargs]  # self included
                    assert stub == list(sig.parameters), f"{cls.name}.{node.name}"
        init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
        if init is not None:
            stub = [a.arg for a in init.args.args[1:] + init.args.kwonlyargs]
            assert stub == list(inspect.signature(real).parameters), cls.name


def test_config_accepts_numpy_scalars_tuples_and_to_dict_objects():
    class Cfg:
        def to_dict(self):
            return {"do_sample": True, "top_k": np.int64(2), "temperature": np.float32(0.5),
                    "forced_decoder_ids": ((1, 3),), "eos_token_id": [np.int32(1)]}

    st = _core.GenerationState(Cfg(), [[0]], seed=1)
    assert st.processor_names == ["ForcedDecoderIds", "Temperature", "TopK"]
    tokens, _, _ = st.step(np.zeros((1, 5), dtype=np.float32))
    assert tokens.tolist() == [3]
    with pytest.raises(InvalidInputError, match="unsupported value"):
        _core.GenerationState({"top_k": object()}, [[0]])
    with pytest.raises(InvalidInputError, match="keys must be strings"):
        _core.GenerationState({1: 2}, [[0]])
