"""Audio fixtures besides Whisper: espeak-ng speech clips, a tiny Wav2Vec2ForCTC with a character vocabulary,
an AST audio classifier, a CLAP model, a Wav2Vec2 frame classifier and a WavLM x-vector model.

Weights are random (seeded). References come from ``transformers`` (torch) in the fixture venv: pipeline
outputs, logits, and the feature extractors that need torch at run time (AST's numpy path calls
``torch.from_numpy``; CLAP's ``fusion`` uses ``torch.nn.functional.interpolate``). Only fp32 ONNX files are
written (the library's default dtype), to stay within the size budget.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from make_fixtures import (
    REFERENCE_SIZE_LIMIT,
    REGISTRY,
    Context,
    Fixture,
    copy_tokenizer,
    export_onnx,
    f32,
    fixture,
    ints,
    max_abs,
    ort_session,
    seed_everything,
    versions,
    write_json,
)

CLIPS_DIR = "audio/espeak-clips"
SR = 16000
#: name → (espeak-ng voice, words per minute, text)
CLIPS = {
    "hello": ("en-us", 160, "hello world"),
    "numbers": ("en", 170, "one two three four five"),
    "question": ("en-us", 150, "where is the cat"),
}
CTC_VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", "A", "O", "N", "I", "H", "S", "R", "D", "L", "U", "M",
             "W", "C", "F", "G", "Y", "P", "B", "V", "K", "'", "X", "J", "Q", "Z"]
AUDIO_LABELS = ["yes", "no", "up", "down", "silence"]
ZERO_SHOT_AUDIO_LABELS = ["a dog barking", "speech", "a vacuum cleaner", "music"]
MODEL_LIMIT = 400_000  # bytes per ONNX file


def _new(cls, config, seed: int):
    seed_everything(seed)
    config._attn_implementation = "eager"
    model = cls(config)
    model.eval()
    return model


def _sharpen(linear, factor: float) -> None:
    import torch

    with torch.no_grad():
        linear.weight.mul_(factor)
        if linear.bias is not None:
            linear.bias.mul_(factor)


def _folder(ctx: Context, fx: Fixture) -> Path:
    folder = ctx.path(fx.name)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def _export(model, folder: Path, sample: dict, input_names: list[str], output_names: list[str], dyn: dict) -> Path:
    import torch

    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *args):
            out = self.model(**dict(zip(input_names, args)))
            return tuple(getattr(out, n) for n in output_names)

    path = folder / "onnx" / "model.onnx"
    export_onnx(Wrapper(), tuple(torch.from_numpy(sample[n]) for n in input_names), path, input_names, output_names, dyn)
    if path.stat().st_size > MODEL_LIMIT:
        raise SystemExit(f"{path} is {path.stat().st_size} bytes (> {MODEL_LIMIT})")
    return path


def _ort(sess, feed: dict) -> dict:
    out = sess.run(None, {i.name: np.asarray(feed[i.name]) for i in sess.get_inputs()})
    return {o.name: v for o, v in zip(sess.get_outputs(), out)}


def _torch(model, feed: dict) -> dict:
    import torch

    with torch.no_grad():
        out = model(**{k: torch.from_numpy(np.asarray(v)) for k, v in feed.items()})
    return {k: v.numpy() for k, v in out.items() if hasattr(v, "numpy")}


def _clip(ctx: Context, name: str) -> np.ndarray:
    import soundfile as sf

    data, sr = sf.read(str(ctx.out / CLIPS_DIR / f"{name}.wav"), dtype="float32")
    assert sr == SR and data.ndim == 1
    return data


def _reference(task: str, folder: Path, cases: list, **extra) -> dict:
    return {"schema": 1, "kind": "audio", "task": task, "weights": "random (seeded); labels carry no meaning",
            "files": {"fp32": "onnx/model.onnx"}, "clips": CLIPS_DIR, "versions": versions(), **extra, "cases": cases}


def _pipe_scores(rows) -> list:
    return [{"label": r["label"], "score": f32(r["score"])} for r in rows]


# --------------------------------------------------------------------------------------------------
# Speech clips
# --------------------------------------------------------------------------------------------------


@fixture("espeak-clips", kind="model", description="Short English speech clips synthesized with espeak-ng, 16 kHz mono PCM16 WAV")
def build_espeak_clips(ctx: Context, fx: Fixture):
    import soundfile as sf
    import soxr

    folder = ctx.out / CLIPS_DIR
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    meta = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (voice, wpm, text) in CLIPS.items():
            raw = Path(tmp) / f"{name}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(raw), text], check=True)
            data, sr = sf.read(str(raw), dtype="float64")
            data = soxr.resample(data, sr, SR, quality="HQ")
            # trim espeak's trailing silence a little, keep it short
            sf.write(str(folder / f"{name}.wav"), np.clip(data, -1, 1), SR, subtype="PCM_16")
            meta[name] = {"text": text, "voice": voice, "wpm": wpm, "samples": int(len(data)), "sampling_rate": SR}
    version = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.strip()
    write_json(folder / "clips.json", {"generator": version, "resampler": "soxr HQ from espeak-ng's 22050 Hz", "clips": meta})


REGISTRY["espeak-clips"].subdir = "audio"  # lands in tests/fixtures/audio/espeak-clips, next to the other clips


# --------------------------------------------------------------------------------------------------
# Wav2Vec2 family
# --------------------------------------------------------------------------------------------------


def _w2v_config(cls_name: str, **kw):
    from transformers import Wav2Vec2Config

    base = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
                feat_extract_norm="group", do_stable_layer_norm=False, apply_spec_augment=False,
                mask_time_prob=0.0, layerdrop=0.0, initializer_range=0.2, vocab_size=len(CTC_VOCAB), pad_token_id=0,
                classifier_proj_size=16, architectures=[cls_name])
    base.update(kw)
    return Wav2Vec2Config(**base)


def _audio_sample(batch: int = 2, n: int = 4000) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal((batch, n))).astype(np.float32)


def _write_ctc_tokenizer(folder: Path) -> None:
    """vocab.json + tokenizer_config.json as transformers' Wav2Vec2CTCTokenizer saves them, plus the vocab-only
    tokenizer.json the Hub's Transformers.js conversions carry (no model "type"; the `tokenizers` library
    cannot load it, Transformers.js infers a word-level model; CTC decoder)."""
    from transformers import Wav2Vec2CTCTokenizer

    vocab = {t: i for i, t in enumerate(CTC_VOCAB)}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tok = Wav2Vec2CTCTokenizer(str(folder / "vocab.json"), unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
                               eos_token="</s>", word_delimiter_token="|", do_lower_case=False)
    tok.save_pretrained(str(folder))
    tokenizer_json = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": True, "rstrip": True, "normalized": False, "special": True}
            for t, i in vocab.items() if t.startswith("<") and t.endswith(">")
        ],
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "|"},
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": ""}, "behavior": "Isolated", "invert": False},
        "post_processor": None,
        "decoder": {"type": "CTC", "pad_token": "<pad>", "word_delimiter_token": "|", "cleanup": True},
        "model": {"vocab": vocab},
    }
    write_json(folder / "tokenizer.json", tokenizer_json)


@fixture("tiny-wav2vec2-ctc", kind="model", deps=("espeak-clips",))
def build_tiny_wav2vec2_ctc(ctx: Context, fx: Fixture):
    """Wav2Vec2ForCTC (group norm, 2 layers, hidden 32) with a 32-symbol character vocabulary
    (Wav2Vec2CTCTokenizer files + a vocab-only tokenizer.json) and Wav2Vec2FeatureExtractor (do_normalize);
    automatic-speech-recognition (CTC)."""
    from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC, pipeline

    cfg = _w2v_config("Wav2Vec2ForCTC")
    model = _new(Wav2Vec2ForCTC, cfg, 1701)
    _sharpen(model.lm_head, 4.0)
    import torch

    with torch.no_grad():  # make blanks and word delimiters win some frames (words, repeats, gaps)
        model.lm_head.bias[CTC_VOCAB.index("<pad>")] += 6.0
        model.lm_head.bias[CTC_VOCAB.index("|")] += 11.0
    folder = _folder(ctx, fx)
    model.config.save_pretrained(str(folder))
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SR, padding_value=0.0, do_normalize=True,
                                  return_attention_mask=False)
    fe.save_pretrained(str(folder))
    _write_ctc_tokenizer(folder)
    sample = {"input_values": _audio_sample()}
    _export(model, folder, sample, ["input_values"], ["logits"],
            {"input_values": {0: "batch_size", 1: "sequence_length"}, "logits": {0: "batch_size", 1: "frames"}})
    tok = Wav2Vec2CTCTokenizer.from_pretrained(str(folder))
    pipe = pipeline("automatic-speech-recognition", model=model, tokenizer=tok, feature_extractor=fe, device="cpu")
    sess = ort_session(folder / "onnx" / "model.onnx")
    cases, worst, min_gap = [], 0.0, np.inf
    for name in CLIPS:
        audio = _clip(ctx, name)
        feed = {"input_values": fe(audio, sampling_rate=SR, return_tensors="np")["input_values"]}
        lt = _torch(model, feed)["logits"]
        lo = _ort(sess, feed)["logits"]
        worst = max(worst, max_abs(lt, lo))
        top2 = np.sort(lt[0], axis=-1)[:, -2:]
        min_gap = min(min_gap, float((top2[:, 1] - top2[:, 0]).min()))
        ids = lt[0].argmax(-1)
        stamps = {}
        for kind in ("char", "word"):
            out = pipe(audio.copy(), return_timestamps=kind)
            stamps[kind] = [{"text": c["text"], "timestamp": [float(t) for t in c["timestamp"]]} for c in out["chunks"]]
        cases.append({"id": name, "audio": f"{name}.wav", "pipeline": pipe(audio.copy())["text"], "timestamps": stamps,
                      "decode": tok.decode(ids.tolist()), "argmax_ids": ints(ids), "frames": int(lt.shape[1]),
                      "torch": {"logits_head": f32(lt[0, :4])}})
    assert worst < 1e-4, worst
    batch = [_clip(ctx, n) for n in CLIPS]
    tokenizer_cases = [{"text": t, "input_ids": tok(t)["input_ids"]} for t in ("HELLO WORLD", "IT'S A TEST", "Q?Z")]
    decode_cases = []
    for ids in ([11, 11, 5, 0, 15, 15, 0, 15, 8, 4, 4, 18, 8, 13, 15, 14, 0], [4, 0, 7, 4, 3, 1, 2, 27, 12, 4],
                [0, 0, 0], [6, 6, 6, 0, 6]):
        decode_cases.append({"ids": ids, "text": tok.decode(ids), "skip_special": tok.decode(ids, skip_special_tokens=True)})
    ref = _reference("automatic-speech-recognition", folder, cases, max_abs_diff=worst, min_top2_gap=min_gap,
                     batch_pipeline=[r["text"] for r in pipe([b.copy() for b in batch])],
                     tokenizer=tokenizer_cases, decode=decode_cases,
                     notes=["pipeline = transformers pipeline('automatic-speech-recognition')(float32 clip)",
                            "decode = Wav2Vec2CTCTokenizer.decode(argmax ids)"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}, min top-2 gap {min_gap:.3g}; texts {[c['pipeline'] for c in cases]}")


@fixture("tiny-wav2vec2-frame-classifier", kind="model", deps=("espeak-clips",))
def build_tiny_wav2vec2_frame_classifier(ctx: Context, fx: Fixture):
    """Wav2Vec2ForAudioFrameClassification (layer norm, takes attention_mask; 2 speaker labels) +
    Wav2Vec2FeatureExtractor (return_attention_mask); frame logits."""
    from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2ForAudioFrameClassification

    id2label = {0: "SPEAKER_A", 1: "SPEAKER_B"}
    cfg = _w2v_config("Wav2Vec2ForAudioFrameClassification", feat_extract_norm="layer", do_stable_layer_norm=True,
                      num_labels=2, id2label=id2label, label2id={v: k for k, v in id2label.items()})
    model = _new(Wav2Vec2ForAudioFrameClassification, cfg, 1702)
    _sharpen(model.classifier, 4.0)
    folder = _folder(ctx, fx)
    model.config.save_pretrained(str(folder))
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SR, padding_value=0.0, do_normalize=True,
                                  return_attention_mask=True)
    fe.save_pretrained(str(folder))
    sample = {"input_values": _audio_sample(), "attention_mask": np.ones((2, 4000), np.int64)}
    sample["attention_mask"][1, 3000:] = 0
    _export(model, folder, sample, ["input_values", "attention_mask"], ["logits"],
            {"input_values": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "sequence_length"},
             "logits": {0: "batch_size", 1: "frames"}})
    sess = ort_session(folder / "onnx" / "model.onnx")
    cases, worst = [], 0.0
    for name in CLIPS:
        audio = _clip(ctx, name)
        enc = fe(audio, sampling_rate=SR, return_tensors="np")
        feed = {"input_values": enc["input_values"], "attention_mask": enc["attention_mask"].astype(np.int64)}
        lt = _torch(model, feed)["logits"]
        lo = _ort(sess, feed)["logits"]
        worst = max(worst, max_abs(lt, lo))
        cases.append({"id": name, "audio": f"{name}.wav", "torch": {"logits": f32(lt[0])},
                      "labels": ints((1 / (1 + np.exp(-lt[0])) > 0.5).astype(int))})
    # a padded batch: transformers pads with zeros and masks them
    batch = [_clip(ctx, n) for n in CLIPS]
    enc = fe(batch, sampling_rate=SR, padding=True, return_tensors="np")
    feed = {"input_values": enc["input_values"], "attention_mask": enc["attention_mask"].astype(np.int64)}
    lt = _torch(model, feed)["logits"]
    worst = max(worst, max_abs(lt, _ort(sess, feed)["logits"]))
    assert worst < 1e-4, worst
    ref = _reference("audio-frame-classification", folder, cases, max_abs_diff=worst,
                     batch={"clips": list(CLIPS), "frames": int(lt.shape[1]), "logits_sum": [float(x) for x in lt.sum(axis=(1, 2))]},
                     notes=["torch.logits = Wav2Vec2ForAudioFrameClassification(**feature_extractor(clip))",
                            "labels = sigmoid(logits) > 0.5 (the docs' speaker diarization example)"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}")


@fixture("tiny-wavlm-xvector", kind="model", deps=("espeak-clips",))
def build_tiny_wavlm_xvector(ctx: Context, fx: Fixture):
    """WavLMForXVector (2 layers, hidden 32, tiny TDNN) + Wav2Vec2FeatureExtractor; logits + embeddings."""
    from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMForXVector

    cfg = WavLMConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                      conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
                      feat_extract_norm="group", do_stable_layer_norm=False, apply_spec_augment=False,
                      mask_time_prob=0.0, layerdrop=0.0, num_buckets=32, max_bucket_distance=100,
                      tdnn_dim=(16, 16, 16, 16, 32), tdnn_kernel=(5, 3, 3, 1, 1), tdnn_dilation=(1, 2, 3, 1, 1),
                      xvector_output_dim=8, initializer_range=0.2, architectures=["WavLMForXVector"])
    model = _new(WavLMForXVector, cfg, 1703)
    folder = _folder(ctx, fx)
    model.config.save_pretrained(str(folder))
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SR, padding_value=0.0, do_normalize=True,
                                  return_attention_mask=False)
    fe.save_pretrained(str(folder))
    # long enough for the dilated TDNN stack (its receptive field is 15 frames). No attention_mask input: with
    # one, transformers pools per example in a Python loop that the tracer bakes into the graph.
    sample = {"input_values": _audio_sample(n=16000)}
    _export(model, folder, sample, ["input_values"], ["logits", "embeddings"],
            {"input_values": {0: "batch_size", 1: "sequence_length"}, "logits": {0: "batch_size"}, "embeddings": {0: "batch_size"}})
    sess = ort_session(folder / "onnx" / "model.onnx")
    cases, worst = [], 0.0
    for name in CLIPS:
        feed = {"input_values": fe(_clip(ctx, name), sampling_rate=SR, return_tensors="np")["input_values"]}
        t, o = _torch(model, feed), _ort(sess, feed)
        worst = max(worst, max_abs(t["embeddings"], o["embeddings"]), max_abs(t["logits"], o["logits"]))
        cases.append({"id": name, "audio": f"{name}.wav", "torch": {"logits": f32(t["logits"][0]), "embeddings": f32(t["embeddings"][0])}})
    assert worst < 1e-4, worst
    ref = _reference("xvector", folder, cases, max_abs_diff=worst,
                     notes=["torch = WavLMForXVector(**feature_extractor(clip)) logits and embeddings"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}")


# --------------------------------------------------------------------------------------------------
# AST audio classifier
# --------------------------------------------------------------------------------------------------


@fixture("tiny-ast-classifier", kind="model", deps=("espeak-clips",))
def build_tiny_ast_classifier(ctx: Context, fx: Fixture):
    """ASTForAudioClassification (32 mel bins, 100 frames, 5 labels) + ASTFeatureExtractor (kaldi fbank, numpy
    path); audio-classification. The reference stores transformers' features (its numpy path needs torch)."""
    from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification, pipeline

    id2label = dict(enumerate(AUDIO_LABELS))
    cfg = ASTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37, patch_size=16,
                    frequency_stride=8, time_stride=8, max_length=100, num_mel_bins=32, initializer_range=0.2,
                    num_labels=len(id2label), id2label=id2label, label2id={v: k for k, v in id2label.items()},
                    architectures=["ASTForAudioClassification"])
    model = _new(ASTForAudioClassification, cfg, 1704)
    _sharpen(model.classifier.dense, 3.0)
    folder = _folder(ctx, fx)
    model.config.save_pretrained(str(folder))
    fe = ASTFeatureExtractor(feature_size=1, sampling_rate=SR, num_mel_bins=32, max_length=100, do_normalize=True)
    fe.save_pretrained(str(folder))
    sample = {"input_values": np.zeros((2, 100, 32), np.float32)}
    _export(model, folder, sample, ["input_values"], ["logits"], {"input_values": {0: "batch_size"}, "logits": {0: "batch_size"}})
    sess = ort_session(folder / "onnx" / "model.onnx")
    pipe = pipeline("audio-classification", model=model, feature_extractor=fe, device="cpu")
    cases, worst = [], 0.0
    for name in CLIPS:
        audio = _clip(ctx, name)
        feats = fe(audio, sampling_rate=SR, return_tensors="np")["input_values"]
        lt = _torch(model, {"input_values": feats})["logits"]
        worst = max(worst, max_abs(lt, _ort(sess, {"input_values": feats})["logits"]))
        cases.append({"id": name, "audio": f"{name}.wav", "input_values": f32(feats[0]),
                      "torch": {"logits": f32(lt[0])}, "pipeline": _pipe_scores(pipe(audio.copy(), top_k=len(id2label))),
                      "pipeline_top2": _pipe_scores(pipe(audio.copy(), top_k=2))})
    assert worst < 1e-4, worst
    # the feature extractor alone on odd inputs: noise longer than max_length (truncated), a 0.1 s tone
    extra = []
    rng = np.random.default_rng(5)
    for cid, wave in (("noise_2s", (0.3 * rng.standard_normal(2 * SR)).astype(np.float32)),
                      ("tone_0.1s", (0.5 * np.sin(2 * np.pi * 440 * np.arange(SR // 10) / SR)).astype(np.float32))):
        extra.append({"id": cid, "seed_or_formula": "rng(5) 0.3*normal(32000)" if cid == "noise_2s" else "0.5*sin(2pi 440 t), 1600 samples",
                      "input_values": f32(fe(wave, sampling_rate=SR, return_tensors="np")["input_values"][0])})
    ref = _reference("audio-classification", folder, cases, max_abs_diff=worst, id2label={str(k): v for k, v in id2label.items()},
                     feature_cases=extra,
                     notes=["input_values = transformers ASTFeatureExtractor (numpy path, no torchaudio)",
                            "pipeline = transformers pipeline('audio-classification')(clip, top_k)"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}")


# --------------------------------------------------------------------------------------------------
# CLAP
# --------------------------------------------------------------------------------------------------


@fixture("tiny-clap", kind="model", deps=("espeak-clips", "tiny-roberta-bpe"))
def build_tiny_clap(ctx: Context, fx: Fixture):
    """ClapModel (RoBERTa text tower on the BPE tokenizer; HTSAT audio tower on 16 mel bins, 2 s at 16 kHz) +
    ClapFeatureExtractor (rand_trunc, repeatpad); zero-shot-audio-classification. Also stores a ``fusion``
    feature reference (transformers needs torch for it)."""
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, RobertaTokenizerFast, pipeline

    vocab = len(json.loads((ctx.path("tiny-roberta-bpe") / "vocab.json").read_text()))
    text = dict(vocab_size=vocab, hidden_size=16, intermediate_size=20, num_hidden_layers=2, num_attention_heads=2,
                max_position_embeddings=130, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                projection_dim=8, initializer_range=0.2)
    audio = dict(spec_size=64, num_mel_bins=16, patch_size=4, patch_stride=(4, 4), window_size=4, depths=[1, 1],
                 num_attention_heads=[2, 2], patch_embeds_hidden_size=8, hidden_size=16, projection_dim=8,
                 enable_fusion=False, initializer_range=0.2)
    cfg = ClapConfig(text_config=text, audio_config=audio, projection_dim=8, architectures=["ClapModel"])
    model = _new(ClapModel, cfg, 1705)
    with torch.no_grad():
        model.logit_scale_a.fill_(np.log(10.0))
    folder = _folder(ctx, fx)
    model.config.save_pretrained(str(folder))
    fe = ClapFeatureExtractor(feature_size=16, sampling_rate=SR, hop_length=160, max_length_s=2, fft_window_size=400,
                              frequency_min=50, frequency_max=7000, truncation="rand_trunc", padding="repeatpad")
    fe.save_pretrained(str(folder))
    copy_tokenizer(ctx, "tiny-roberta-bpe", folder)
    tok = RobertaTokenizerFast.from_pretrained(str(folder))
    names = ["input_ids", "attention_mask", "input_features"]
    frames = 2 * SR // 160 + 1
    sample = {"input_ids": np.full((3, 7), 7, np.int64), "attention_mask": np.ones((3, 7), np.int64),
              "input_features": np.zeros((2, 1, frames, 16), np.float32)}
    sample["attention_mask"][1, 4:] = 0
    outs = ["logits_per_audio", "logits_per_text", "text_embeds", "audio_embeds"]
    dyn = {"input_ids": {0: "text_batch_size", 1: "sequence_length"}, "attention_mask": {0: "text_batch_size", 1: "sequence_length"},
           "input_features": {0: "audio_batch_size"}, "logits_per_audio": {0: "audio_batch_size", 1: "text_batch_size"},
           "logits_per_text": {0: "text_batch_size", 1: "audio_batch_size"}, "text_embeds": {0: "text_batch_size"},
           "audio_embeds": {0: "audio_batch_size"}}
    _export(model, folder, sample, names, outs, dyn)
    sess = ort_session(folder / "onnx" / "model.onnx")
    pipe = pipeline("zero-shot-audio-classification", model=model, tokenizer=tok, feature_extractor=fe, device="cpu")
    template = "This is a sound of {}."
    texts = [template.format(x) for x in ZERO_SHOT_AUDIO_LABELS]
    enc = tok(texts, padding=True, truncation=True, return_tensors="np")
    cases, worst = [], 0.0
    for name in CLIPS:
        clip = _clip(ctx, name)
        feats = fe(clip, sampling_rate=SR, return_tensors="np")["input_features"]
        feed = {"input_ids": enc["input_ids"].astype(np.int64), "attention_mask": enc["attention_mask"].astype(np.int64),
                "input_features": feats}
        lt = _torch(model, feed)["logits_per_audio"]
        worst = max(worst, max_abs(lt, _ort(sess, feed)["logits_per_audio"]))
        piped = pipe(clip.copy(), candidate_labels=ZERO_SHOT_AUDIO_LABELS)
        cases.append({"id": name, "audio": f"{name}.wav", "torch": {"logits_per_audio": f32(lt[0])},
                      "pipeline": [{"score": f32(d["score"]), "label": d["label"]} for d in piped]})
    assert worst < 1e-4, worst
    # fusion features on a small config (64 mel bins are hard-wired in transformers' fusion shrink)
    # (max_length_s must be an integer there: 1 s at 8 kHz with hop 800 gives 11-frame chunks)
    fusion_fe = ClapFeatureExtractor(feature_size=64, sampling_rate=8000, hop_length=800, max_length_s=1,
                                     fft_window_size=1600, frequency_min=50, frequency_max=4000, truncation="fusion",
                                     padding="repeatpad")
    clip = _clip(ctx, "hello")[:24000]
    np.random.seed(7)
    fused = fusion_fe(clip, sampling_rate=8000, return_tensors="np")
    np.random.seed(7)
    short = fusion_fe(clip[:5000], sampling_rate=8000, return_tensors="np")
    fusion = {"config": {k: fusion_fe.to_dict()[k] for k in ("feature_size", "sampling_rate", "hop_length", "max_length_s",
                                                               "fft_window_size", "frequency_min", "frequency_max",
                                                               "truncation", "padding")},
              "np_random_seed": 7, "clip": "hello.wav[:24000] (read as 8 kHz)",
              "input_features": f32(fused["input_features"][0]), "is_longer": bool(fused["is_longer"][0][0]),
              "short_clip": "hello.wav[:5000]", "short_input_features_sum": float(short["input_features"].astype(np.float64).sum()),
              "short_is_longer": bool(short["is_longer"][0][0])}
    # the fixture's own extractor (transformers' ClapFeatureExtractor needs torch, so the tests compare here)
    hello = _clip(ctx, "hello")
    longer = np.concatenate([hello, hello, hello])
    feature_cases = [{"id": "hello_repeatpad", "clip": "hello.wav", "call": {}, "rows": "all",
                      "input_features": f32(fe(hello, sampling_rate=SR, return_tensors="np")["input_features"][0, 0])}]
    for pad in ("repeat", "pad"):
        feats = fe(hello, sampling_rate=SR, padding=pad, return_tensors="np")["input_features"][0, 0]
        feature_cases.append({"id": f"hello_{pad}", "clip": "hello.wav", "call": {"padding": pad}, "rows": "::10",
                              "input_features": f32(feats[::10])})
    np.random.seed(3)
    feats = fe(longer, sampling_rate=SR, return_tensors="np")
    feature_cases.append({"id": "hello_x3_rand_trunc_seed3", "clip": "hello.wav x3 (concatenated)", "call": {"seed": 3},
                          "rows": "::10", "input_features": f32(feats["input_features"][0, 0][::10]),
                          "is_longer": bool(feats["is_longer"][0][0])})
    ref = _reference("zero-shot-audio-classification", folder, cases, max_abs_diff=worst,
                     candidate_labels=ZERO_SHOT_AUDIO_LABELS, hypothesis_template=template,
                     encoding={k: ints(enc[k]) for k in ("input_ids", "attention_mask")}, fusion=fusion,
                     feature_cases=feature_cases,
                     notes=["pipeline = transformers pipeline('zero-shot-audio-classification')(clip, candidate_labels) (sorted)",
                            "fusion: np.random.seed(7) then ClapFeatureExtractor(truncation='fusion')(clip)"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}")


@fixture("tiny-wav2vec2-classifier", kind="model", deps=("espeak-clips",))
def build_tiny_wav2vec2_classifier(ctx: Context, fx: Fixture):
    """Wav2Vec2ForSequenceClassification (the default audio-classification family; 4 labels) +
    Wav2Vec2FeatureExtractor. The config says multi_label_classification: the audio pipelines still use a
    softmax unless function_to_apply says otherwise (transformers and Transformers.js agree there)."""
    from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification, pipeline

    id2label = {0: "male", 1: "female", 2: "child", 3: "robot"}
    cfg = _w2v_config("Wav2Vec2ForSequenceClassification", num_labels=4, id2label=id2label,
                      label2id={v: k for k, v in id2label.items()}, problem_type="multi_label_classification")
    model = _new(Wav2Vec2ForSequenceClassification, cfg, 1706)
    _sharpen(model.classifier, 3.0)
    folder = _folder(ctx, fx)
    model.config.save_pretrained(str(folder))
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SR, padding_value=0.0, do_normalize=True,
                                  return_attention_mask=False)
    fe.save_pretrained(str(folder))
    _export(model, folder, {"input_values": _audio_sample()}, ["input_values"], ["logits"],
            {"input_values": {0: "batch_size", 1: "sequence_length"}, "logits": {0: "batch_size"}})
    sess = ort_session(folder / "onnx" / "model.onnx")
    pipe = pipeline("audio-classification", model=model, feature_extractor=fe, device="cpu")
    cases, worst = [], 0.0
    for name in CLIPS:
        audio = _clip(ctx, name)
        feed = {"input_values": fe(audio, sampling_rate=SR, return_tensors="np")["input_values"]}
        lt = _torch(model, feed)["logits"]
        worst = max(worst, max_abs(lt, _ort(sess, feed)["logits"]))
        cases.append({"id": name, "audio": f"{name}.wav", "torch": {"logits": f32(lt[0])},
                      "pipeline": _pipe_scores(pipe(audio.copy(), top_k=4)),
                      "pipeline_sigmoid": _pipe_scores(pipe(audio.copy(), top_k=4, function_to_apply="sigmoid"))})
    assert worst < 1e-4, worst
    ref = _reference("audio-classification", folder, cases, max_abs_diff=worst, id2label={str(k): v for k, v in id2label.items()},
                     notes=["pipeline = transformers pipeline('audio-classification')(clip, top_k=4) (softmax, whatever problem_type)"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}")
