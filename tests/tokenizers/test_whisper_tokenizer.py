"""WhisperTokenizer vs transformers' WhisperTokenizerFast (the oracle, installed without torch):
timestamp-aware decoding, offsets, prompts, language/task prefixes and the ASR pipeline's chunk
merging (``_decode_asr``) on generated token streams, with and without strides and word times.

The tokenizer is the real Whisper tiny.en one (GPT-2 BPE + 107 specials) committed with the
tiny-whisper fixture."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from onnxformers import InvalidInputError
from onnxformers.tokenizers import AutoTokenizer
from onnxformers.tokenizers.whisper import WhisperTokenizer, language_code

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "models" / "tiny-whisper"

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def ours() -> WhisperTokenizer:
    tok = AutoTokenizer.from_pretrained(str(FOLDER))
    assert isinstance(tok, WhisperTokenizer)
    return tok


@pytest.fixture(scope="module")
def ref():
    return transformers.WhisperTokenizerFast.from_pretrained(str(FOLDER))


SOT, EOT, EN, FR, TRANSLATE, TRANSCRIBE, PREV, NOTS = 50257, 50256, 50258, 50265, 50357, 50358, 50360, 50362
TS0 = 50363


def ts(seconds: float) -> int:
    return TS0 + int(round(seconds / 0.02))


def _random_sequence(rng: random.Random, text_ids: list[int], length: int) -> list[int]:
    """Text ids interleaved with timestamp pairs/singles in increasing time, sometimes restarting
    (a new 30-s segment), sometimes with specials."""
    out: list[int] = []
    t = rng.randint(0, 40)
    for _ in range(length):
        r = rng.random()
        if r < 0.15:
            t = min(1500, t + rng.randint(0, 60))
            out.append(TS0 + t)
            if rng.random() < 0.6:
                out.append(TS0 + t)
        elif r < 0.18:
            t = rng.randint(0, 50)  # timestamps restart: next segment
            out.append(TS0 + t)
        elif r < 0.2:
            out.append(rng.choice([SOT, EN, FR, TRANSCRIBE, NOTS, EOT]))
        else:
            out.append(rng.choice(text_ids))
    return out


@pytest.fixture(scope="module")
def text_ids(ref) -> list[int]:
    ids = ref.encode(" The quick brown fox, jumps over: the lazy dog! Ça va? 你好世界 ... 'quoted' (x) 1,234.5",
                     add_special_tokens=False)
    return sorted(set(ids)) + [220, 13, 11, 0, 6, 30]


def test_special_ids_and_timestamp_begin(ours, ref):
    assert ours.timestamp_begin == ref.convert_tokens_to_ids("<|notimestamps|>") + 1 == TS0
    assert ours.all_special_ids == ref.all_special_ids
    assert ours.eos_token_id == ref.eos_token_id


@pytest.mark.parametrize("seed", range(40))
def test_decode_variants_match_transformers(ours, ref, text_ids, seed):
    rng = random.Random(seed)
    seq = _random_sequence(rng, text_ids, rng.randint(0, 40))
    if rng.random() < 0.3:
        seq = [PREV] + [rng.choice(text_ids) for _ in range(3)] + [SOT] + seq
    for skip in (False, True):
        assert ours.decode(seq, skip_special_tokens=skip) == ref.decode(seq, skip_special_tokens=skip)
        assert ours.decode(seq, skip_special_tokens=skip, decode_with_timestamps=True) == \
            ref.decode(seq, skip_special_tokens=skip, decode_with_timestamps=True)
    got = ours.decode(seq, output_offsets=True)
    want = ref.decode(seq, output_offsets=True)
    assert got["text"] == want["text"]
    assert got["offsets"] == [{"text": o["text"], "timestamp": tuple(o["timestamp"])} for o in want["offsets"]]
    assert ours.batch_decode([seq, seq[:3]], skip_special_tokens=True) == \
        ref.batch_decode([seq, seq[:3]], skip_special_tokens=True)


def test_decode_accepts_numpy_and_rejects_garbage(ours):
    assert ours.decode(np.array([[TS0, 464, TS0 + 5]])) == ours.decode([464])
    with pytest.raises(Exception):
        ours.decode([-1])
    with pytest.raises(Exception):
        ours.decode(["a"])


@pytest.mark.parametrize("language", [None, "english", "fr", "castilian", "<|de|>"])
@pytest.mark.parametrize("task", [None, "transcribe", "translate"])
@pytest.mark.parametrize("no_timestamps", [True, False])
def test_decoder_prompt_ids_and_prefix(language, task, no_timestamps):
    ours = AutoTokenizer.from_pretrained(str(FOLDER))
    ref = transformers.WhisperTokenizerFast.from_pretrained(str(FOLDER))
    ref_language = language[2:-2] if language and language.startswith("<|") else language
    want = ref.get_decoder_prompt_ids(task=task, language=ref_language, no_timestamps=no_timestamps)
    assert ours.get_decoder_prompt_ids(task=task, language=language, no_timestamps=no_timestamps) == want
    assert ours.prefix_tokens == ref.prefix_tokens
    # the post-processor follows the prefix, as transformers' fast tokenizer's
    text = " hello world"
    assert ours.encode(text) == ref.encode(text)
    assert ours.encode(text, " pair") == ref.encode(text, " pair")


def test_prompt_ids(ours, ref):
    assert ours.get_prompt_ids("  Hello there, Mr. Quilter ").tolist() == ref.get_prompt_ids("  Hello there, Mr. Quilter ").tolist()
    with pytest.raises(InvalidInputError, match="special token"):
        ours.get_prompt_ids("oops <|en|>")


def test_unknown_language_and_task_are_clear_errors(ours):
    assert language_code("Castilian") == "es"
    assert language_code("yue") == "yue"
    with pytest.raises(InvalidInputError, match="Unsupported language"):
        language_code("klingon")
    with pytest.raises(InvalidInputError, match="Unsupported language"):
        ours.get_decoder_prompt_ids(language="xx")
    with pytest.raises(InvalidInputError, match="Unsupported task"):
        ours.get_decoder_prompt_ids(task="summarize")


# -- _decode_asr ---------------------------------------------------------------------------------


def _window(rng: random.Random, text_ids, *, timestamps: bool, words: bool, length: int):
    """One window of generated tokens as the pipeline feeds _decode_asr (prompt stripped)."""
    toks: list[int] = []
    t = rng.randint(0, 30)
    while len(toks) < length:
        if timestamps:
            toks.append(TS0 + t)
        for _ in range(rng.randint(0, 5)):
            toks.append(rng.choice(text_ids))
        t = min(1500, t + rng.randint(0, 200))
        if timestamps:
            toks.append(TS0 + t)
            if rng.random() < 0.15:
                toks.append(TS0 + t)  # a duplicated token (start == end)
    if timestamps and rng.random() < 0.3:
        toks += [rng.choice(text_ids) for _ in range(rng.randint(1, 4))]  # unfinished last segment
    out = {"tokens": np.array([toks], dtype=np.int64)}
    if words:
        times = np.cumsum([rng.choice([0.0, 0.02, 0.04, 0.3]) for _ in toks]).astype(np.float32)
        out["token_timestamps"] = np.array([times.tolist()])
    return out


@pytest.mark.parametrize("seed", range(60))
def test_decode_asr_matches_transformers(ours, ref, text_ids, seed):
    rng = random.Random(1000 + seed)
    mode = [False, True, "word"][seed % 3]
    chunks = rng.choice([1, 1, 2, 3, 4])
    outputs = []
    for k in range(chunks):
        win = _window(rng, text_ids, timestamps=bool(mode), words=mode == "word", length=rng.randint(2, 30))
        if chunks > 1:
            # overlapping windows: repeat the tail of the previous window at the start of this one
            if k > 0 and rng.random() < 0.7:
                prev = outputs[-1]["tokens"][0].tolist()
                tail = [t for t in prev[-rng.randint(1, 6):] if t < TS0]
                win["tokens"] = np.array([win["tokens"][0].tolist()[:1] + tail + win["tokens"][0].tolist()[1:]])
                if mode == "word":
                    tt = win["token_timestamps"][0].tolist()
                    win["token_timestamps"] = np.array([tt[:1] + [tt[0]] * len(tail) + tt[1:]])
            left = 0 if k == 0 else rng.choice([0, 2.5, 5.0])
            right = 0 if k == chunks - 1 else rng.choice([0, 2.5, 5.0])
            win["stride"] = (30.0 if k < chunks - 1 else rng.uniform(10, 30), left, right)
        outputs.append(win)
    kwargs = dict(return_timestamps=mode, return_language=rng.random() < 0.3, time_precision=0.02)
    want_err = got_err = None
    try:
        want = ref._decode_asr([dict(o) for o in outputs], **kwargs)
    except Exception as e:  # noqa: BLE001 - transformers may reject degenerate streams
        want_err = e
    try:
        got = ours._decode_asr([dict(o) for o in outputs], **kwargs)
    except Exception as e:  # noqa: BLE001
        got_err = e
    if want_err is not None:
        assert got_err is not None, f"transformers raised {want_err!r}, we did not"
        return
    assert got_err is None, got_err
    assert got == want


def test_decode_asr_force_full_sequences(ours):
    unfinished = [{"tokens": np.array([[TS0, 464, TS0 + 50, 2068]])}]
    text, optional = ours._decode_asr(unfinished, return_timestamps=True, time_precision=0.02)
    assert optional["chunks"][-1]["timestamp"] == (None, None)
    with pytest.raises(InvalidInputError, match="ending timestamp"):
        ours._decode_asr(unfinished, return_timestamps=True, time_precision=0.02, force_full_sequences=True)
