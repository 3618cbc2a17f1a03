"""References for beam search hooks: custom logits processors with beam search, ``beam_indices``,
and Whisper word-level timestamps with beams (tests/generation/test_beam_hooks.py,
tests/audio/test_asr_whisper.py).

Nothing here changes a committed model. The torch models are the ones the committed fixtures were
exported from: their builders are seeded, so each builder is re-run into a temporary folder with the
export step only, and the ONNX files it writes must equal the committed ones byte for byte (sha256)
before any reference is computed from the torch model. Only the reference JSON is written:

* ``references/beam-hooks.json``: tiny-t5-seq2seq, tiny-bart-seq2seq, tiny-gpt2-lm under
  transformers' ``generate()`` with a custom ``LogitsProcessor`` (a bias on two tokens plus a
  penalty on each row's last token, so it depends on the reordered running sequences) in beam
  search and greedy search, and plain beam search; ``return_dict_in_generate`` outputs:
  sequences, sequences_scores, beam_indices. Each case also runs through the ONNX files
  (transformers driving onnxruntime) and must give the same tokens.
* ``references/whisper-beam-word.json``: the automatic-speech-recognition pipeline on
  tiny-whisper (+ the timestamped decoder) with ``num_beams`` > 1 and ``return_timestamps="word"``.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import numpy as np

import make_fixtures as mf
from make_fixtures import REGISTRY, REPO_ROOT, Context, Fixture, f32, fixture, ints, versions, write_json

COMMITTED = REPO_ROOT / "tests" / "fixtures"
GEN_MODELS = ("tiny-t5-seq2seq", "tiny-bart-seq2seq", "tiny-gpt2-lm")
BIAS = 1.5
PENALTY = 2.0


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _same_onnx(built: Path, committed: Path) -> None:
    """Every ONNX file of ``committed`` equals the rebuilt one (else the torch model is not the one the
    committed fixture came from, and references computed from it would be meaningless)."""
    files = sorted(p.relative_to(committed) for p in committed.rglob("*.onnx"))
    if not files:
        raise SystemExit(f"{committed}: no ONNX files")
    for rel in files:
        if not (built / rel).exists() or _sha(built / rel) != _sha(committed / rel):
            raise SystemExit(f"{committed.name}/{rel}: the rebuilt file differs from the committed one; "
                             f"rebuild the fixture itself first")


def _rebuild_gen_model(ctx: Context, name: str):
    """(torch model, tokenizer, tmp ONNX folder) of a generation fixture, its ONNX checked against the
    committed files. The caller removes the folder's parent."""
    tmp = Path(tempfile.mkdtemp(prefix="beam-refs-"))
    tctx = Context(out=tmp, cache=ctx.cache, corpus=ctx.corpus)
    # the committed tokenizer is reused (its trainer is not deterministic across processes)
    shutil.copytree(COMMITTED / "models" / "tiny-roberta-bpe", tctx.path("tiny-roberta-bpe"))
    captured: dict = {}

    def seq2seq(c, fx, model, style, notes):
        folder, tok = mf._gen_folder(c, fx, model, style)
        mf._export_seq2seq(model, folder, untie=model.config.tie_word_embeddings)
        captured.update(model=model, tok=tok, folder=folder)

    def decoder_only(c, fx, model, style, *, position_ids, layout, merged, notes):
        folder, tok = mf._gen_folder(c, fx, model, style)
        mf._export_decoder_only(model, folder, position_ids=position_ids, layout=layout, merged=merged,
                                untie=model.config.tie_word_embeddings)
        captured.update(model=model, tok=tok, folder=folder)

    saved = mf._build_seq2seq, mf._build_decoder_only
    mf._build_seq2seq, mf._build_decoder_only = seq2seq, decoder_only
    try:
        REGISTRY[name].build(tctx, REGISTRY[name])
        _same_onnx(captured["folder"], COMMITTED / "models" / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        mf._build_seq2seq, mf._build_decoder_only = saved
    return captured["model"], captured["tok"], captured["folder"], tmp


def _hook_processor(tokens: list[int]):
    import torch
    from transformers import LogitsProcessor

    class Hook(LogitsProcessor):
        """+BIAS on ``tokens``, -PENALTY on each row's last token (same in the tests, in numpy)."""

        def __call__(self, input_ids, scores):
            scores = scores.clone()
            scores[:, tokens] += BIAS
            scores[torch.arange(scores.shape[0]), input_ids[:, -1]] -= PENALTY
            return scores

    return Hook()


def _run(model, enc, call: dict, processors: list):
    import torch
    from transformers import LogitsProcessorList

    gaps: list = []
    beams = call.get("num_beams", 1) > 1
    if beams:
        mf._record_beam_gaps(model, gaps)
        lp = LogitsProcessorList(processors)
    else:
        eos = call.get("eos_token_id", model.generation_config.eos_token_id)
        eos = set(eos if isinstance(eos, list) else ([] if eos is None else [eos]))
        start = 1 if model.config.is_encoder_decoder else enc["input_ids"].shape[1]
        rec = mf._GapRecorder(eos, start)
        lp = LogitsProcessorList([*processors, rec])
    try:
        with torch.no_grad():
            out = model.generate(**enc, **call, logits_processor=lp, return_dict_in_generate=True, output_scores=True)
    finally:
        if beams:
            del model._get_top_k_continuations
    return out, (gaps if beams else rec.gaps)


class _Retry(Exception):
    """These biased tokens make a near-tie or change nothing: try the next pair."""


def _gen_cases(model, tok, folder: Path) -> tuple[list[dict], list[int]]:
    """The cases, with the first pair of biased tokens (taken from the model's own plain beam output, so
    that the processor changes it) that keeps every choice clear of near-ties."""
    seq2seq = model.config.is_encoder_decoder
    ort_model = mf._ort_backed_generator(model, folder)
    case_eos = mf._pick_case_eos(model, tok, seq2seq)
    P = mf.GEN_PROMPTS

    def encode(prompt):
        texts = prompt if isinstance(prompt, list) else [prompt]
        enc = tok(texts, padding=True, return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    enc = encode(P["medium"])
    plain, _ = _run(model, enc, {"num_beams": 4, "max_new_tokens": 8, "do_sample": False}, [])
    start = 1 if seq2seq else enc["input_ids"].shape[1]
    new = list(dict.fromkeys(t for t in plain.sequences[0, start:].tolist() if t not in (0, 1, 2)))
    new += [t for t in range(5, 40) if t not in new]
    for i in range(len(new) - 1):
        tokens = [new[i], new[i + 1]]
        try:
            return _cases_for(model, ort_model, encode, case_eos, tokens), tokens
        except _Retry as exc:
            print(f"    biased tokens {tokens}: {exc}; next pair")
    raise SystemExit("no pair of biased tokens avoids near-ties")


def _cases_for(model, ort_model, encode, case_eos: int, tokens: list[int]) -> list[dict]:
    P = mf.GEN_PROMPTS
    calls = [
        ("custom_beam4_ret2", P["medium"], {"num_beams": 4, "num_return_sequences": 2, "max_new_tokens": 10}, True),
        ("custom_beam3_batch_eos", mf.GEN_BATCH, {"num_beams": 3, "num_return_sequences": 2, "max_new_tokens": 8,
                                                  "eos_token_id": case_eos}, True),
        ("custom_beam2_lp05", P["long"], {"num_beams": 2, "max_new_tokens": 8, "length_penalty": 0.5}, True),
        ("plain_beam3_batch_eos", mf.GEN_BATCH, {"num_beams": 3, "num_return_sequences": 3, "max_new_tokens": 8,
                                                 "eos_token_id": case_eos}, False),
        ("custom_greedy_batch", mf.GEN_BATCH, {"max_new_tokens": 8}, True),
    ]
    cases = []
    for cid, prompt, call, custom in calls:
        call = dict(call, do_sample=False)
        enc = encode(prompt)
        procs = [_hook_processor(tokens)] if custom else []
        out, gaps = _run(model, enc, call, procs)
        out_o, _ = _run(ort_model, enc, call, [_hook_processor(tokens)] if custom else [])
        if out.sequences.tolist() != out_o.sequences.tolist():
            raise SystemExit(f"{cid}: ONNX-driven generate() differs from torch")
        if custom:
            ref, _ = _run(model, enc, call, [])
            if ref.sequences.tolist() == out.sequences.tolist():
                raise _Retry(f"{cid}: the custom processor does not change the output")
        min_gap = min(gaps) if gaps else None
        if min_gap is not None and min_gap <= mf.GEN_MIN_GAP:
            raise _Retry(f"{cid}: near-tie (gap {min_gap:.3g})")
        row = {"id": cid, "call": call, "custom_processor": custom,
               "encoding": {k: ints(v) for k, v in enc.items()}, "sequences": ints(out.sequences),
               "min_gap": f32(min_gap) if min_gap is not None else None}
        if getattr(out, "sequences_scores", None) is not None:
            row["sequences_scores"] = f32(out.sequences_scores.numpy())
            diff = float(np.abs(out.sequences_scores.numpy() - out_o.sequences_scores.numpy()).max())
            row["onnx_vs_torch_sequences_scores_max_abs_diff"] = float(f32(diff))
        if getattr(out, "beam_indices", None) is not None:
            row["beam_indices"] = ints(out.beam_indices)
        cases.append(row)
        print(f"    {cid}: {str(row['sequences'])[:80]} {row.get('beam_indices')}")
    return cases


@fixture("beam-hooks", kind="reference", deps=(),
         description="transformers generate() with custom logits processors under beam search, beam_indices (T5, BART, GPT-2)")
def build_beam_hooks(ctx: Context, fx: Fixture):
    models = {}
    for name in GEN_MODELS:
        model, tok, folder, tmp = _rebuild_gen_model(ctx, name)
        try:
            print(f"  {name}: ONNX rebuilt byte for byte")
            cases, tokens = _gen_cases(model, tok, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        models[name] = {"biased_tokens": tokens, "cases": cases}
    write_json(ctx.path(fx.name), {
        "schema": 1,
        "versions": versions(),
        "note": "transformers generate(return_dict_in_generate=True, output_scores=True) on the torch models of the committed "
                "fixtures (rebuilt by their seeded builders; ONNX files checked byte-identical). custom_processor: "
                f"logits_processor=[Hook] where Hook adds {BIAS} to scores[:, biased_tokens] and subtracts {PENALTY} from "
                "scores[r, input_ids[r, -1]] (in beam search transformers applies it to log-softmaxed scores after the built-in "
                "processors). beam_indices: transformers' [rows, generated], -1 padded. Every case gives the same tokens when "
                "transformers drives the ONNX files. min_gap: smallest gap between the top beam candidates (or greedy top-2).",
        "bias": BIAS,
        "penalty": PENALTY,
        "models": models,
    })


# -- Whisper: beams + word-level timestamps ------------------------------------------------------------------


@fixture("whisper-beam-word", kind="reference", deps=(),
         description="transformers' Whisper ASR pipeline with num_beams > 1 and word-level timestamps (tiny-whisper)")
def build_whisper_beam_word(ctx: Context, fx: Fixture):
    import soundfile as sf
    import torch
    from transformers import GenerationConfig, LogitsProcessorList, WhisperFeatureExtractor, WhisperTokenizerFast, pipeline

    from fixture_builders import whisper as W

    plain_dir = COMMITTED / "models" / "tiny-whisper"
    ts_dir = COMMITTED / "models" / "tiny-whisper-timestamped"
    tok = WhisperTokenizerFast.from_pretrained(str(plain_dir))
    fe = WhisperFeatureExtractor(feature_size=80)
    model, mats = W._make_model()
    model.generation_config = GenerationConfig(**W._generation_config(tok))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "plain" / "onnx").mkdir(parents=True)
        (tmp / "ts" / "onnx").mkdir(parents=True)
        W._export_encoder(model, tmp / "plain" / "onnx" / "encoder_model.onnx", mats)
        W._export_decoder(model, tmp / "ts" / "onnx" / "decoder_model_merged.onnx", mats, attentions=True)
        for built, committed in ((tmp / "plain" / "onnx" / "encoder_model.onnx", plain_dir / "onnx" / "encoder_model.onnx"),
                                 (tmp / "ts" / "onnx" / "decoder_model_merged.onnx", ts_dir / "onnx" / "decoder_model_merged.onnx")):
            if _sha(built) != _sha(committed):
                raise SystemExit(f"{committed}: the rebuilt file differs from the committed one")
    print("  tiny-whisper encoder + timestamped decoder rebuilt byte for byte")
    clips = {n: sf.read(str(COMMITTED / "audio" / f"{n}.flac"), dtype="float32")[0] for n in W.CLIPS}
    pipe = pipeline("automatic-speech-recognition", model=model, tokenizer=tok, feature_extractor=fe, framework="pt")
    calls = [
        ("beams2_word", "fox_en", {"num_beams": 2, "return_timestamps": "word"}),
        ("beams3_word_weather_lang", "weather_en", {"num_beams": 3, "return_timestamps": "word", "language": "en"}),
        ("beams2_word_fr", "bonjour_fr", {"num_beams": 2, "return_timestamps": "word", "language": "fr"}),
        ("beams3_word_short", "fox_en", {"num_beams": 3, "return_timestamps": "word", "max_new_tokens": 6}),
    ]
    cases = []
    for cid, clip, opts in calls:
        gaps: list = []
        mf._record_beam_gaps(model, gaps)
        try:
            kwargs = {"max_new_tokens": W.MAX_NEW, **opts}
            with torch.no_grad():
                out = pipe(clips[clip].copy(), logits_processor=LogitsProcessorList([]), **kwargs)
        finally:
            del model._get_top_k_continuations
        min_gap = min(gaps) if gaps else None
        if min_gap is not None and min_gap <= mf.GEN_MIN_GAP:
            raise SystemExit(f"{cid}: near-tie (gap {min_gap:.3g}); change the case")
        cases.append({"id": cid, "audio": clip, "options": kwargs, "output": W._jsonable(out),
                      "min_gap": f32(min_gap) if min_gap is not None else None})
        print(f"    {cid}: {str(W._jsonable(out))[:160]}")
    write_json(ctx.path(fx.name), {
        "schema": 1,
        "versions": versions(),
        "note": "transformers' automatic-speech-recognition pipeline on the torch model of tiny-whisper (rebuilt by "
                "scripts/fixture_builders/whisper.py; encoder and timestamped decoder checked byte-identical), beam search "
                "with return_timestamps='word': the cross-attentions of each step are gathered with beam_indices. Run with "
                "tests/fixtures/models/tiny-whisper + tiny-whisper-timestamped's decoder.",
        "cases": cases,
    })
