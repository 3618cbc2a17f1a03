"""Beam search and returned sequences share one prompt run per distinct prompt, and the KV cache is
reordered in place on CPU (only the rows that moved); both must leave the tokens and beam scores
equal to transformers' (stored references)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from onnxformers import AutoModelForCausalLM
from onnxformers.generation import decoder_only, encoder_decoder

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
        monkeypatch.setattr(encoder_decoder, "_NUMPY_SHARES_MEMORY", view)
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


def test_gather_rows_in_place_kernel():
    from onnxformers import InvalidInputError, _core

    base = np.arange(4 * 3 * 5, dtype=np.float32).reshape(4, 3, 5)
    half = np.arange(8 * 2, dtype=np.float16).reshape(8, 2)  # 4 rows of two heads (fused layout)
    rng = np.random.default_rng(0)
    for _ in range(50):
        index = rng.integers(0, 4, 4)
        a, h = base.copy(), half.copy()
        _core.gather_rows_in_place([a, h], index)
        np.testing.assert_array_equal(a, base[index])
        np.testing.assert_array_equal(h, half.reshape(4, -1)[index].reshape(h.shape))
    with pytest.raises(InvalidInputError, match="out of range"):
        _core.gather_rows_in_place([base.copy()], np.array([0, 1, 2, 4]))
    with pytest.raises(InvalidInputError, match="out of range"):
        _core.gather_rows_in_place([base.copy()], np.array([0, -1, 2, 3]))
    with pytest.raises(InvalidInputError, match="C-contiguous and writeable"):
        _core.gather_rows_in_place([base.copy()[:, ::2]], np.arange(4))
    frozen = base.copy()
    frozen.flags.writeable = False
    with pytest.raises(InvalidInputError, match="C-contiguous and writeable"):
        _core.gather_rows_in_place([frozen], np.arange(4))
    with pytest.raises(InvalidInputError, match="rows along axis 0"):
        _core.gather_rows_in_place([np.zeros((6, 2), np.float32)], np.arange(4))


def test_seq2seq_beams_reorder_in_place_and_by_copy_alike(monkeypatch):
    from onnxformers import AutoModelForSeq2SeqLM

    name = "tiny-t5-seq2seq"
    if not (MODELS / name).exists():
        pytest.skip("no T5 fixture")
    model = AutoModelForSeq2SeqLM.from_pretrained(str(MODELS / name))
    ids = np.array([[5, 6, 7, 8, 1]])
    outs = []
    for view in (True, False):
        monkeypatch.setattr(encoder_decoder, "_NUMPY_SHARES_MEMORY", view)
        outs.append(model.generate(input_ids=ids, num_beams=4, num_return_sequences=2, max_new_tokens=8,
                                   return_dict_in_generate=True))
    np.testing.assert_array_equal(outs[0]["sequences"], outs[1]["sequences"])
    np.testing.assert_array_equal(outs[0]["scores"], outs[1]["scores"])


def test_cpu_outputs_are_reordered_in_place(monkeypatch):
    # onnxruntime >= 1.16 hands CPU outputs to numpy without a copy: the probe must see that on the
    # real cache values, so the in-place path is the one normally taken
    import onnxruntime as ort
    from packaging.version import Version

    if Version(ort.__version__) < Version("1.16"):
        pytest.skip("older onnxruntime copies in OrtValue.numpy()")
    monkeypatch.setattr(encoder_decoder, "_NUMPY_SHARES_MEMORY", None)
    calls = []
    real = encoder_decoder._core.gather_rows_in_place
    monkeypatch.setattr(encoder_decoder._core, "gather_rows_in_place", lambda *a: calls.append(1) or real(*a))
    model = AutoModelForCausalLM.from_pretrained(str(MODELS / NAMES[0]))
    case = beam_cases(NAMES[0])[0]
    out = run_case(model, case)
    assert out["sequences"].tolist() == case["sequences"]
    assert encoder_decoder._NUMPY_SHARES_MEMORY is True and calls
