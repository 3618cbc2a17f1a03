"""Whisper automatic-speech-recognition vs transformers' pipeline (references recorded in the
fixture venv with the torch model: scripts/fixture_builders/whisper.py).

The model is a tiny random-weight Whisper with the real tiny.en tokenizer, so the text is
gibberish, but every case is token-exact: plain transcription, language names/codes and
detection, translate, segment timestamps, word timestamps (cross-attentions + DTW), > 30 s audio
chunked with strides and decoded sequentially (long-form). Also: generate() references, the
streamer, the DTW/median-filter bindings against transformers' algorithms, and bad inputs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import onnxformers
from onnxformers import InvalidInputError, _core
from onnxformers.generation import WhisperTextStreamer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODEL = FIXTURES / "models" / "tiny-whisper"
TIMESTAMPED = FIXTURES / "models" / "tiny-whisper-timestamped"
AUDIO = FIXTURES / "audio"
REF = json.loads((MODEL / "reference.json").read_text())
CLIP_NAMES = ["fox_en", "weather_en", "bonjour_fr"]
SR = 16000


def _read(name: str) -> np.ndarray:
    import soundfile as sf

    return sf.read(str(AUDIO / f"{name}.flac"), dtype="float32")[0]


def long_clip(clips: dict) -> np.ndarray:
    """Same as scripts/fixture_builders/whisper.py:long_clip (checked by sha256 below)."""
    spec = REF["long_clip"]
    gap = np.zeros(int(spec["gap_s"] * SR), np.float32)
    parts, total = [], 0
    while total < spec["seconds"] * SR:
        for name in spec["order"]:
            parts += [clips[name], gap]
            total += len(clips[name]) + len(gap)
    return np.concatenate(parts)[: int(spec["seconds"] * SR)].astype(np.float32)


@pytest.fixture(scope="module")
def clips() -> dict:
    out = {name: _read(name) for name in CLIP_NAMES}
    meta = json.loads((AUDIO / "clips.json").read_text())["clips"]
    for name in CLIP_NAMES:
        assert hashlib.sha256(out[name].tobytes()).hexdigest() == meta[name]["sha256_float32"], name
    out["long"] = long_clip(out)
    assert hashlib.sha256(out["long"].tobytes()).hexdigest() == REF["long_clip"]["sha256_float32"]
    return out


@pytest.fixture(scope="module")
def timestamped_dir(tmp_path_factory) -> Path:
    """tiny-whisper with the decoder that also outputs cross_attentions.* (word timestamps)."""
    folder = tmp_path_factory.mktemp("whisper") / "tiny-whisper-timestamped"
    shutil.copytree(MODEL, folder)
    shutil.copyfile(TIMESTAMPED / "onnx" / "decoder_model_merged.onnx", folder / "onnx" / "decoder_model_merged.onnx")
    return folder


@pytest.fixture(scope="module")
def asr():
    return onnxformers.pipeline("automatic-speech-recognition", str(MODEL))


@pytest.fixture(scope="module")
def asr_words(timestamped_dir):
    return onnxformers.pipeline("automatic-speech-recognition", str(timestamped_dir))


def english_only_generation_config(gen: dict) -> dict:
    """Same as scripts/fixture_builders/whisper.py: tiny.en's kind of generation config."""
    out = {k: v for k, v in gen.items() if k not in ("lang_to_id", "task_to_id", "transformers_version")}
    out.update(is_multilingual=False, forced_decoder_ids=[[1, 50362]])
    return out


@pytest.fixture(scope="module")
def english_only(timestamped_dir, tmp_path_factory):
    """{"plain": pipeline, "word": pipeline} over an English-only generation_config.json."""
    pipes = {}
    for kind, src in (("plain", MODEL), ("word", timestamped_dir)):
        folder = tmp_path_factory.mktemp("en-only") / kind
        shutil.copytree(src, folder)
        gen = json.loads((folder / "generation_config.json").read_text())
        (folder / "generation_config.json").write_text(json.dumps(english_only_generation_config(gen)))
        pipes[kind] = onnxformers.pipeline("automatic-speech-recognition", str(folder))
    return pipes


def _jsonable(x):
    return json.loads(json.dumps(x))


def _assert_same(got, want, path="out"):
    """Tokens/text exact; timestamps exact for segments and within 0.01 s for words."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{path}: {got!r} vs {want!r}"
        for k in want:
            _assert_same(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: {got!r} vs {want!r}"
        for i, (a, b) in enumerate(zip(got, want)):
            _assert_same(a, b, f"{path}[{i}]")
    elif isinstance(want, float) and isinstance(got, (int, float)):
        assert abs(got - want) <= 0.01 + 1e-9, f"{path}: {got} vs {want}"
    else:
        assert got == want, f"{path}: {got!r} vs {want!r}"


def test_reference_is_robust():
    # greedy choices were never close to a tie, and ONNX Runtime tracks torch closely
    assert REF["min_gap"] > 10 * REF["onnx_vs_torch_max_abs_logits"]


@pytest.mark.parametrize("case", REF["cases"], ids=[c["id"] for c in REF["cases"]])
def test_pipeline_matches_transformers(case, clips, asr, asr_words, english_only):
    options = dict(case["options"])
    word = options.get("return_timestamps") == "word"
    if options.pop("generation_config", None) == "english_only":
        pipe = english_only["word" if word else "plain"]
    else:
        pipe = asr_words if word else asr
    if "prompt_ids" in options:
        options["prompt_ids"] = pipe.tokenizer.get_prompt_ids(options["prompt_ids"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _jsonable(pipe(clips[case["audio"]].copy(), **options))
    if word:
        _assert_same(got, case["output"])
    else:
        assert got == case["output"]


@pytest.mark.parametrize("case", [g for g in REF["generate"] if "sequences" in g], ids=lambda g: g["id"])
def test_generate_matches_transformers(case, clips, asr):
    fe = asr.processor.feature_extractor
    feats = fe(clips[case["audio"]], sampling_rate=SR)["input_features"]
    out = asr.model.generate(input_features=feats, num_beams=1, max_new_tokens=24, return_dict_in_generate=True,
                             **case["options"])
    assert out["tokens"] == case["sequences"]
    # the plain call returns the decoder sequences with their prompt (Transformers.js)
    seq = asr.model.generate(input_features=feats, num_beams=1, max_new_tokens=24, **case["options"])
    assert seq.tolist() == out["sequences"].tolist()
    row, tokens = seq[0].tolist(), case["sequences"][0]
    start = len(row) - len(tokens) - (1 if row[-1] == 50256 else 0)
    assert row[0] == 50257 and row[start:start + len(tokens)] == tokens


def test_language_detection_matches_transformers(clips, asr):
    from onnxformers.generation.whisper import detect_language

    case = next(g for g in REF["generate"] if g["id"] == "detect_language")
    feats = asr.processor.feature_extractor(clips[case["audio"]], sampling_rate=SR)["input_features"]
    hidden = asr.model.sessions["model"].run(None, {"input_features": feats})[0]
    assert detect_language(asr.model, hidden, asr.model.generation_config) == case["language_ids"]


def test_inputs_path_bytes_file_dict_and_list(clips, asr):
    want = asr(clips["fox_en"], max_new_tokens=8)
    path = AUDIO / "fox_en.flac"
    assert asr(str(path), max_new_tokens=8) == want
    assert asr(path.read_bytes(), max_new_tokens=8) == want
    with open(path, "rb") as fh:
        assert asr(fh, max_new_tokens=8) == want
    assert asr({"raw": clips["fox_en"], "sampling_rate": SR}, max_new_tokens=8) == want
    assert asr([clips["fox_en"], str(path)], max_new_tokens=8) == [want, want]
    # another rate is resampled (dict form); the text may differ, it must run
    import soxr

    at_8k = soxr.resample(clips["fox_en"], SR, 8000).astype(np.float32)
    assert isinstance(asr({"array": at_8k, "sampling_rate": 8000}, max_new_tokens=4)["text"], str)


def test_streamer_reports_chunks_and_text(clips, asr):
    events = []
    streamer = WhisperTextStreamer(
        asr.tokenizer, callback_function=lambda t: events.append(("text", t)),
        token_callback_function=lambda ids: events.append(("ids", list(ids))),
        on_chunk_start=lambda t: events.append(("start", t)), on_chunk_end=lambda t: events.append(("end", t)),
        on_finalize=lambda: events.append(("final",)))
    out = asr(clips["weather_en"], return_timestamps=True, language="en", streamer=streamer, max_new_tokens=24)
    starts = [e[1] for e in events if e[0] == "start"]
    assert starts and starts[0] == pytest.approx(out["chunks"][0]["timestamp"][0])
    assert events[-1] == ("final",)
    text = "".join(e[1] for e in events if e[0] == "text")
    assert text == out["text"]
    with pytest.raises(InvalidInputError, match="batch size 1"):
        streamer.put(np.zeros((2, 1), np.int64))


def test_word_timestamps_need_cross_attentions(clips, asr):
    with pytest.raises(Exception, match="cross_attentions"):
        asr(clips["fox_en"], return_timestamps="word", max_new_tokens=4)


def test_force_full_sequences(clips, asr):
    # max_new_tokens=24 stops inside a segment: a last chunk without end time, or an error
    loose = asr(clips["fox_en"], return_timestamps=True, max_new_tokens=24)
    assert loose["chunks"][-1]["timestamp"][1] is None
    with pytest.raises(InvalidInputError, match="ending timestamp"):
        asr(clips["fox_en"], return_timestamps=True, max_new_tokens=24, force_full_sequences=True)


@pytest.mark.parametrize("bad, match", [
    (np.zeros(0, np.float32), "empty"),
    (np.array([0.1, np.nan, 0.2], np.float32), "NaN"),
    (np.array([0.1, np.inf], np.float32), "NaN or infinite"),
    (np.zeros((2, 16000), np.float32), "mono"),
    (np.array(["a", "b"]), "float"),
    ({"raw": np.zeros(10, np.float32)}, "sampling_rate"),
    ({"raw": np.zeros(10, np.float32), "sampling_rate": -5}, "positive"),
])
def test_bad_audio_is_a_clear_error(asr, bad, match):
    with pytest.raises(InvalidInputError, match=match):
        asr(bad)


def test_bad_options_are_clear_errors(clips, asr):
    audio = clips["fox_en"]
    with pytest.raises(InvalidInputError, match="Unsupported language"):
        asr(audio, language="klingon")
    with pytest.raises(InvalidInputError, match="task"):
        asr(audio, task="summarize")
    with pytest.raises(InvalidInputError, match="'char'"):
        asr(audio, return_timestamps="char")
    with pytest.raises(InvalidInputError, match="chunk_length_s"):
        asr(clips["long"], max_new_tokens=2)  # > 30 s, no chunking, no timestamps
    with pytest.raises(InvalidInputError, match="stride"):
        asr(audio, chunk_length_s=2, stride_length_s=1.5)
    with pytest.raises(InvalidInputError, match="max_target_positions"):
        asr(audio, max_new_tokens=446)
    with pytest.raises(Exception, match="unreadable|decode|format|Error"):
        asr(b"not audio at all")


def test_english_only_model_rejects_language(tmp_path, clips):
    folder = tmp_path / "en-only"
    shutil.copytree(MODEL, folder)
    gen = json.loads((folder / "generation_config.json").read_text())
    (folder / "generation_config.json").write_text(json.dumps(english_only_generation_config(gen)))
    pipe = onnxformers.pipeline("automatic-speech-recognition", str(folder))
    with pytest.raises(InvalidInputError, match="English-only"):
        pipe(clips["fox_en"], language="fr", max_new_tokens=2)
    with pytest.raises(InvalidInputError, match="English-only"):
        pipe(clips["fox_en"], task="translate", max_new_tokens=2)


# -- the DTW / median filter bindings vs transformers' algorithms ---------------------------------


def _tf_median_filter(x: np.ndarray, width: int) -> np.ndarray:
    """transformers' _median_filter (torch.sort-based) in numpy."""
    pad = width // 2
    if x.shape[-1] <= pad:
        return x
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=-1)
    return np.sort(windows, axis=-1)[..., pad]


def _tf_dtw(matrix: np.ndarray):
    """transformers' _dynamic_time_warping, verbatim (float32 cost matrix)."""
    n, m = matrix.shape
    cost = np.ones((n + 1, m + 1), dtype=np.float32) * np.inf
    trace = -np.ones((n + 1, m + 1), dtype=np.float32)
    cost[0, 0] = 0
    for j in range(1, m + 1):
        for i in range(1, n + 1):
            c0, c1, c2 = cost[i - 1, j - 1], cost[i - 1, j], cost[i, j - 1]
            if c0 < c1 and c0 < c2:
                c, t = c0, 0
            elif c1 < c0 and c1 < c2:
                c, t = c1, 1
            else:
                c, t = c2, 2
            cost[i, j] = matrix[i - 1, j - 1] + c
            trace[i, j] = t
    i, j = trace.shape[0] - 1, trace.shape[1] - 1
    trace[0, :] = 2
    trace[:, 0] = 1
    text, time = [], []
    while i > 0 or j > 0:
        text.append(i - 1)
        time.append(j - 1)
        if trace[i, j] == 0:
            i, j = i - 1, j - 1
        elif trace[i, j] == 1:
            i -= 1
        else:
            j -= 1
    return np.array(text)[::-1], np.array(time)[::-1]


@pytest.mark.parametrize("seed", range(12))
def test_dtw_matches_transformers(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 12)), int(rng.integers(1, 60))
    matrix = rng.normal(size=(n, m))
    if seed % 3 == 0:
        matrix = np.round(matrix)  # many ties
    got = _core.dynamic_time_warping(matrix)
    want = _tf_dtw(matrix)
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()


@pytest.mark.parametrize("width", [1, 3, 7])
def test_median_filter_matches_transformers(width):
    rng = np.random.default_rng(width)
    x = rng.normal(size=(2, 3, 5, 40)).astype(np.float32)
    np.testing.assert_array_equal(_core.median_filter(x, width), _tf_median_filter(x, width))
    short = x[..., :2]
    np.testing.assert_array_equal(_core.median_filter(short, 7), short)
    with pytest.raises(InvalidInputError, match="odd"):
        _core.median_filter(x, 4)
    with pytest.raises(InvalidInputError, match="2-D"):
        _core.dynamic_time_warping(np.zeros(3))


def test_alignment_stub_matches_extension():
    import ast
    import inspect

    text = (Path(onnxformers.__file__).parent / "_core.pyi").read_text()
    section = text.split("# --- alignment ---", 1)[1].split("# --- end alignment ---", 1)[0]
    names = {n.name: n for n in ast.parse(section).body if isinstance(n, ast.FunctionDef)}
    assert set(names) == {"median_filter", "dynamic_time_warping"}
    for name, node in names.items():
        stub = [a.arg for a in node.args.args + node.args.kwonlyargs]
        assert stub == list(inspect.signature(getattr(_core, name)).parameters), name


def test_generate_batch_rows_equal_single_rows(clips, asr):
    fe = asr.processor.feature_extractor
    feats = fe([clips["fox_en"], clips["bonjour_fr"]], sampling_rate=SR)["input_features"]
    both = asr.model.generate(input_features=feats, max_new_tokens=10, return_timestamps=True,
                              language=["en", "fr"], return_dict_in_generate=True)
    for row, lang in enumerate(["en", "fr"]):
        one = asr.model.generate(input_features=feats[row:row + 1], max_new_tokens=10, return_timestamps=True,
                                 language=lang, return_dict_in_generate=True)
        assert both["tokens"][row] == one["tokens"][0]
        assert both["segments"][row] == one["segments"][0]
    with pytest.raises(InvalidInputError, match="languages for a batch|one per batch"):
        asr.model.generate(input_features=feats, max_new_tokens=2, language=["en"])


def test_num_frames_option_and_generation_config_override(clips, asr_words):
    # the first window's words are aligned within num_frames (100 frames = 1 s)
    out = asr_words(clips["fox_en"], return_timestamps="word", max_new_tokens=6, num_frames=100)
    assert out["chunks"][0]["timestamp"][1] <= 1.0
    capped = asr_words(clips["fox_en"], generation_config={"max_new_tokens": 3})
    assert capped == asr_words(clips["fox_en"], max_new_tokens=3)


# -- beam search + word-level timestamps (references/whisper-beam-word.json, scripts/fixture_builders/beam_refs.py) --

BEAM_WORD = json.loads((FIXTURES / "references" / "whisper-beam-word.json").read_text())


def test_beam_word_reference_is_robust():
    for case in BEAM_WORD["cases"]:
        assert case["min_gap"] > 10 * REF["onnx_vs_torch_max_abs_logits"], case["id"]


@pytest.mark.parametrize("case", BEAM_WORD["cases"], ids=[c["id"] for c in BEAM_WORD["cases"]])
def test_word_timestamps_with_beams_match_transformers(case, clips, asr_words):
    """The cross-attentions of the chosen beams (gathered step by step with beam_indices) give
    transformers' word timestamps."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _jsonable(asr_words(clips[case["audio"]].copy(), **case["options"]))
    _assert_same(got, case["output"])


def test_token_timestamps_gather_beams(clips, asr_words):
    """generate() with beams returns beam_indices; token_timestamps gathers each step's row."""
    from onnxformers.generation import encoder_decoder
    from onnxformers.generation.whisper import token_timestamps

    model = asr_words.model
    feats = asr_words.processor.feature_extractor(clips["fox_en"], sampling_rate=SR)["input_features"]
    hidden = model.sessions["model"].run(None, {"input_features": feats})[0]
    prompt = np.array([[50257, 50259, 50358, 50362]])  # sot, en, transcribe, notimestamps
    out = encoder_decoder.generate(model, encoder_outputs=hidden, decoder_input_ids=prompt, num_beams=3,
                                   max_new_tokens=6, forced_decoder_ids=None, output_attentions=True,
                                   return_dict_in_generate=True, suppress_tokens=None, begin_suppress_tokens=None)
    beams = out["beam_indices"]
    assert beams.shape == (1, out["sequences"].shape[1] - prompt.shape[1])
    cross = out["cross_attentions"]
    assert cross[0][0].shape[0] == 3 and cross[0][0].shape[2] == prompt.shape[1]  # every running row, prompt step
    heads = model.generation_config["alignment_heads"]
    got = token_timestamps(cross, heads, num_input_ids=prompt.shape[1], beam_indices=beams)
    assert beams[0].max() > 0  # the returned hypothesis did move between running rows
    # the same as picking each position's row by hand, then the plain (greedy) path
    n = int((beams[0] >= 0).sum())
    rows = np.concatenate([np.repeat(beams[0, :1], prompt.shape[1] - 1), beams[0, :n]])
    per_layer = [np.concatenate([step[layer] for step in cross], axis=2) for layer in range(len(cross[0]))]
    picked = [[np.stack([w[rows[i], :, i] for i in range(len(rows))], axis=1)[None] for w in per_layer]]
    want = token_timestamps(picked, heads, num_input_ids=prompt.shape[1])
    np.testing.assert_array_equal(got, want)
    with pytest.raises(InvalidInputError, match="out of range"):
        token_timestamps(cross, heads, num_input_ids=prompt.shape[1], beam_indices=beams + 5)


def test_chunked_audio_is_featurized_one_window_at_a_time(clips, asr, monkeypatch):
    """Hours of chunked audio must not hold every chunk's spectrogram at once: each window's features
    are computed right before that window is decoded."""
    import onnxformers.generation.whisper as whisper_generation

    events = []
    fe = asr.feature_extractor
    real_fe_call = type(fe).__call__
    real_generate = whisper_generation.generate
    monkeypatch.setattr(type(fe), "__call__", lambda self, *a, **k: events.append("features") or real_fe_call(self, *a, **k))
    monkeypatch.setattr(whisper_generation, "generate", lambda *a, **k: events.append("decode") or real_generate(*a, **k))
    asr(long_clip(clips), chunk_length_s=10, stride_length_s=2, max_new_tokens=3)
    assert len(events) >= 8 and events[:4] == ["features", "decode", "features", "decode"]
    assert all(a != b for a, b in zip(events, events[1:])), events
