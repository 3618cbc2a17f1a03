"""GenerationConfig defaults/precedence/validation and the text streamers, against transformers."""

from __future__ import annotations

import contextlib
import io
import threading
from pathlib import Path

import numpy as np
import pytest

from onnxformers import AutoTokenizer, InvalidInputError
from onnxformers.generation import (GenerationConfig, TextIteratorStreamer, TextStreamer,
                                    prepare_generation_config)

transformers = pytest.importorskip("transformers")
MODELS = Path(__file__).parent.parent / "fixtures" / "models"


def test_defaults_match_transformers():
    theirs = transformers.GenerationConfig()
    ours = GenerationConfig()
    shared = [name for name in GenerationConfig.field_names() if hasattr(theirs, name)
              and name not in ("generation_kwargs", "seed")]
    assert len(shared) >= 40
    for name in shared:
        assert getattr(ours, name) == getattr(theirs, name), name


def test_precedence_config_json_then_generation_config_then_kwargs():
    model_config = {"max_length": 30, "eos_token_id": 2, "bos_token_id": 1,
                    "decoder": {"pad_token_id": 7}, "hidden_size": 64}
    gen_json = {"max_length": 40, "num_beams": 2, "eos_token_id": [2, 3]}
    config = prepare_generation_config(model_config, gen_json, {"num_beams": 4},
                                       num_beams=5, max_new_tokens=3)
    assert config.max_length == 40          # generation_config.json beats config.json
    assert config.eos_token_id == [2, 3] and config.eos_token_ids == [2, 3]
    assert config.bos_token_id == 1         # only in config.json
    assert config.pad_token_id == 7         # pulled from config.decoder
    assert config.num_beams == 5            # kwargs beat generation_config=
    assert config.max_new_tokens == 3


def test_unknown_kwargs_warn_and_are_forwarded():
    with pytest.warns(UserWarning, match="not_a_field"):
        config = prepare_generation_config(None, None, None, not_a_field=1)
    assert config.generation_kwargs == {"not_a_field": 1}


@pytest.mark.parametrize("kwargs,match", [
    (dict(do_sample=True, temperature=0.0), "temperature"),
    (dict(do_sample=True, top_p=0.0), "top_p"),
    (dict(do_sample=True, top_p=1.5), "top_p"),
    (dict(num_beams=0), "num_beams"),
    (dict(num_return_sequences=3, num_beams=2), "num_return_sequences"),
    (dict(max_new_tokens=-1), "max_new_tokens"),
    (dict(early_stopping="sometimes"), "early_stopping"),
    (dict(top_k=-2), "top_k"),
    (dict(repetition_penalty=0), "repetition_penalty"),
    (dict(seed=-5), "seed"),
])
def test_invalid_values_are_refused(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        prepare_generation_config(None, None, None, **kwargs)


def test_sampling_allows_more_sequences_than_beams():
    config = prepare_generation_config(None, None, None, do_sample=True, num_return_sequences=3)
    assert config.num_return_sequences == 3


@pytest.fixture(scope="module")
def tokenizers():
    folder = str(MODELS / "tiny-bert-wordpiece")
    return AutoTokenizer.from_pretrained(folder), transformers.AutoTokenizer.from_pretrained(folder)


TEXT = "the river runs through the old town, under seven stone bridges.\nthe end"


@pytest.mark.parametrize("skip_prompt", [False, True])
def test_text_streamer_matches_transformers(tokenizers, skip_prompt):
    ours_tok, theirs_tok = tokenizers
    ids = theirs_tok.encode(TEXT, add_special_tokens=False)
    prompt, generated = ids[:3], ids[3:]
    chunks: list[str] = []
    ours = TextStreamer(ours_tok, skip_prompt=skip_prompt, callback_function=chunks.append)
    theirs_chunks: list[str] = []

    class Capture(transformers.TextStreamer):
        def on_finalized_text(self, text, stream_end=False):
            if text:
                theirs_chunks.append(text)

    theirs = Capture(theirs_tok, skip_prompt=skip_prompt)
    for streamer in (ours, theirs):
        streamer.put(np.array([prompt]))
        for token in generated:
            streamer.put(np.array([token]))
        streamer.end()
    assert chunks == theirs_chunks
    assert len(chunks) > 3  # words came out one by one, not at the end


def test_text_streamer_token_callback_and_batch_check(tokenizers):
    tok, _ = tokenizers
    seen = []
    streamer = TextStreamer(tok, callback_function=lambda t: None, token_callback_function=seen.append)
    streamer.put([[5, 6]])
    assert seen == [[5, 6]]
    with pytest.raises(InvalidInputError, match="batch size 1"):
        streamer.put(np.array([[1], [2]]))


def test_text_streamer_prints_to_stdout_with_final_newline(tokenizers):
    tok, hf = tokenizers
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        streamer = TextStreamer(tok)
        for token in hf.encode("hello world", add_special_tokens=False):
            streamer.put([token])
        streamer.end()
    assert buffer.getvalue() == tok.decode(hf.encode("hello world", add_special_tokens=False)) + "\n"


def test_iterator_streamer_across_threads(tokenizers):
    tok, hf = tokenizers
    ids = hf.encode(TEXT, add_special_tokens=False)
    streamer = TextIteratorStreamer(tok, timeout=10)

    def produce():
        for token in ids:
            streamer.put([token])
        streamer.end()

    thread = threading.Thread(target=produce)
    thread.start()
    text = "".join(streamer)
    thread.join()
    assert text == tok.decode(ids)


def test_iterator_streamer_forwards_errors(tokenizers):
    tok, _ = tokenizers
    streamer = TextIteratorStreamer(tok, timeout=10)
    streamer.error(RuntimeError("model failed"))
    with pytest.raises(RuntimeError, match="model failed"):
        next(iter(streamer))
