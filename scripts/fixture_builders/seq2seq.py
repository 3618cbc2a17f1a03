"""Encoder-decoder fixtures beyond tiny-t5-seq2seq / tiny-bart-seq2seq (make_fixtures.py).

* ``tiny-nllb-translation``: an NLLB-style model (M2M100ForConditionalGeneration, the architecture
  of facebook/nllb-200-*) with an NllbTokenizerFast: a SentencePiece-style BPE (Metaspace) trained
  on the corpus plus the 202 FLORES-200 language codes as special tokens. Exported as optimum's
  ``encoder_model`` + ``decoder_model_merged``. References: transformers' ``generate()`` with
  ``src_lang`` / ``tgt_lang`` (the source language token prefixed by the tokenizer, the target
  language forced as first token through ``forced_bos_token_id``) and its ``translation``
  pipeline.
* ``tiny-t5-split-decoder``: a T5 exported in the older layout ``encoder_model`` +
  ``decoder_model`` (first step, no past) + ``decoder_with_past_model`` (later steps), with
  ``task_specific_params`` (T5-style prefixes) in config.json. References: ``generate()`` and the
  ``text2text-generation``, ``summarization`` and ``translation_en_to_fr`` pipelines.

Weights are random and seeded; the last layer norm before the LM head is scaled (``_sharpen_norm``)
so that top-2 logit gaps are wide. Every greedy case records its smallest top-1/top-2 gap of the
processed scores (``min_gap``; beam cases the smallest gap among the best 2*num_beams+1 candidates)
and the build fails below GEN_MIN_GAP. Both ONNX layouts are checked against torch on every case
(generate() driving the ONNX graphs must give the same tokens) before anything is written.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import numpy as np

import make_fixtures as mf
from make_fixtures import (
    GEN_MIN_GAP,
    MODEL_MAX_LENGTH,
    ORT_SESSION_DESC,
    REFERENCE_SIZE_LIMIT,
    Context,
    Fixture,
    _GapRecorder,
    _encoder_export_module,
    _export_graph,
    _gen_check_sizes,
    _gen_folder,
    _kv_names,
    _new_model,
    _ort_backed_generator,
    _record_beam_gaps,
    _reuse_or_train,
    _seq2seq_decoder_export_module,
    _sharpen_norm,
    _vocab_size,
    corpus_files,
    f32,
    fixture,
    ints,
    max_abs,
    onnx_io,
    ort_session,
    versions,
    write_json,
)

TRANSLATION_PROMPTS = {
    "short": "The river runs",
    "medium": "In summer, children swim near the banks while",
    "long": "Every morning the baker opens the shop before sunrise, and the smell of fresh bread fills the street",
    "library": "The library opens at nine o'clock on weekdays.",
}


@contextlib.contextmanager
def _m2m100_kv_shapes():
    """OrtLM (make_fixtures) knows the empty-cache shapes of t5/bart; M2M100 names its numbers as BART does."""
    original = mf.tjs_kv_shapes

    def shapes(config, batch_size):
        if config.get("model_type") == "m2m_100":
            config = dict(config, model_type="bart")
        return original(config, batch_size)

    mf.tjs_kv_shapes = shapes
    try:
        yield
    finally:
        mf.tjs_kv_shapes = original


# -- generic case runner ------------------------------------------------------------------------------


def _run_generate(model, enc: dict, call: dict):
    """transformers generate() with gap recording; returns (output, gaps)."""
    import torch
    from transformers import LogitsProcessorList

    gen = model.generation_config
    eos = call.get("eos_token_id", gen.eos_token_id)
    eos = set(eos if isinstance(eos, list) else ([] if eos is None else [eos]))
    beams = call.get("num_beams", 1) > 1
    gaps: list = []
    kw = dict(call, return_dict_in_generate=True, output_scores=True)
    if beams:
        _record_beam_gaps(model, gaps)
    else:
        rec = _GapRecorder(eos, 1)
        kw["logits_processor"] = LogitsProcessorList([rec])
    try:
        with torch.no_grad():
            out = model.generate(**enc, **kw)
    finally:
        if beams:
            del model._get_top_k_continuations
    return out, (gaps if beams else rec.gaps)


def _case(model, onnx_model, tok, cid: str, inputs, call: dict, *, encode_kwargs: dict | None = None, extra: dict | None = None) -> dict:
    """One generate() case: torch is the oracle, generate() driving the ONNX graphs must agree."""
    import torch

    texts = inputs if isinstance(inputs, list) else [inputs]
    e = tok(texts, padding=True, return_tensors="pt", **(encode_kwargs or {}))
    enc = {"input_ids": e["input_ids"], "attention_mask": e["attention_mask"]}
    call = dict(call)
    call.setdefault("do_sample", False)
    out, gaps = _run_generate(model, enc, call)
    if onnx_model is not None:
        out_o, _ = _run_generate(onnx_model, enc, call)
        if not torch.equal(out.sequences, out_o.sequences):
            raise SystemExit(f"{cid}: ONNX-driven generate() gives {out_o.sequences.tolist()} != torch {out.sequences.tolist()}")
        diff = max(max_abs(a.clamp(min=-1e30), b.clamp(min=-1e30)) for a, b in zip(out.scores, out_o.scores))
        assert diff < mf.GEN_ATOL, (cid, diff)
    min_gap = min(gaps) if gaps else None
    if min_gap is not None and min_gap <= GEN_MIN_GAP:
        raise SystemExit(f"{cid}: near-tie (top-2 gap {min_gap:.3g} <= {GEN_MIN_GAP}); change the seed or the prompt")
    seqs = out.sequences.numpy()
    row = {"id": cid, "inputs": inputs, **(extra or {}), "call": call,
           "encoding": {k: ints(v) for k, v in enc.items()}, "sequences": ints(seqs),
           "decoded": tok.batch_decode(seqs, skip_special_tokens=True),
           "min_gap": f32(min_gap) if min_gap is not None else None}
    if getattr(out, "sequences_scores", None) is not None:
        row["sequences_scores"] = f32(out.sequences_scores.numpy())
    return row


def _pipeline_case(pipe, cid: str, inputs, kwargs: dict, num_beams: int = 1) -> dict:
    """A transformers pipeline call, with the same gap recording as the generate() cases (``num_beams``: what the
    call ends up using, task defaults included)."""
    import torch
    from transformers import LogitsProcessorList

    gaps: list = []
    call = dict(kwargs)
    if num_beams > 1:
        _record_beam_gaps(pipe.model, gaps)
    else:
        eos = pipe.model.generation_config.eos_token_id
        rec = _GapRecorder(set(eos if isinstance(eos, list) else [eos]), 1)
        call["logits_processor"] = LogitsProcessorList([rec])
    try:
        with torch.no_grad():
            out = pipe(inputs, **call)
    finally:
        if num_beams > 1:
            del pipe.model._get_top_k_continuations
    gaps = gaps if num_beams > 1 else rec.gaps
    min_gap = min(gaps) if gaps else None
    if min_gap is not None and min_gap <= GEN_MIN_GAP:
        raise SystemExit(f"{cid}: near-tie (top-2 gap {min_gap:.3g} <= {GEN_MIN_GAP}); change the seed or the prompt")
    return {"id": cid, "inputs": inputs, "kwargs": kwargs, "output": out, "min_gap": f32(min_gap) if min_gap is not None else None}


@contextlib.contextmanager
def _tjs_pipeline_defaults():
    """transformers >= 4.50 gives its seq2seq pipelines a default generation config (num_beams=4,
    max_new_tokens=256) for whatever the model's generation config leaves unset; Transformers.js 3.0 (the
    spec) uses the model's generation config as is. The references are made without that default."""
    from transformers import GenerationConfig
    from transformers.pipelines.text2text_generation import Text2TextGenerationPipeline

    original = Text2TextGenerationPipeline._default_generation_config
    Text2TextGenerationPipeline._default_generation_config = GenerationConfig()
    try:
        yield
    finally:
        Text2TextGenerationPipeline._default_generation_config = original


# -- NLLB ---------------------------------------------------------------------------------------------


def _nllb_base_tokenizer():
    """A SentencePiece-BPE-like tokenizers pipeline (what facebook/nllb-200's tokenizer.json holds: NFKC-ish
    normalization, Metaspace, BPE with <unk> fused), trained on the corpus."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    t = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    t.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    return t, trainers.BpeTrainer(vocab_size=420, min_frequency=2, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], show_progress=False)


@fixture("tiny-nllb-translation", kind="model")
def build_tiny_nllb_translation(ctx: Context, fx: Fixture):
    """NLLB-style M2M100 + NllbTokenizerFast (202 language codes): encoder_model + decoder_model_merged; translation references."""
    from transformers import GenerationConfig, M2M100Config, M2M100ForConditionalGeneration, NllbTokenizerFast, pipeline

    folder = ctx.path(fx.name)

    def train():
        t, trainer = _nllb_base_tokenizer()
        t.train(corpus_files(ctx), trainer)
        return t

    base, trained = _reuse_or_train(ctx, folder, train)
    base.no_padding()
    base.no_truncation()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tok = NllbTokenizerFast(tokenizer_object=base, src_lang="eng_Latn", model_max_length=MODEL_MAX_LENGTH,
                            clean_up_tokenization_spaces=False, legacy_behaviour=False)
    tok.save_pretrained(str(folder))
    (folder / "sentencepiece.bpe.model").unlink(missing_ok=True)
    tok = NllbTokenizerFast.from_pretrained(str(folder))
    assert tok.convert_tokens_to_ids("fra_Latn") != tok.unk_token_id

    cfg = M2M100Config(vocab_size=len(tok), d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
                       encoder_ffn_dim=37, decoder_ffn_dim=37, max_position_embeddings=MODEL_MAX_LENGTH, init_std=0.2, dropout=0.0,
                       attention_dropout=0.0, activation_dropout=0.0, encoder_layerdrop=0.0, decoder_layerdrop=0.0, scale_embedding=True,
                       tie_word_embeddings=False, decoder_start_token_id=2, bos_token_id=0, pad_token_id=1, eos_token_id=2)
    model = _new_model(M2M100ForConditionalGeneration, cfg, seed=4137)
    _sharpen_norm(model.model.decoder.layer_norm)
    model.generation_config = GenerationConfig(decoder_start_token_id=2, bos_token_id=0, pad_token_id=1, eos_token_id=2, max_length=16)
    model.config.save_pretrained(str(folder))
    model.generation_config.save_pretrained(str(folder))
    files = mf._export_seq2seq(model, folder, untie=False)
    _gen_check_sizes(folder)

    with _m2m100_kv_shapes():
        onnx_model = _ort_backed_generator(model, folder)
        P = TRANSLATION_PROMPTS

        def lang_case(cid, inputs, src, tgt, call):
            forced = tok.convert_tokens_to_ids(tgt)
            tok.src_lang = src  # what _build_translation_inputs does
            try:
                return _case(model, onnx_model, tok, cid, inputs, dict(call, forced_bos_token_id=forced),
                             extra={"src_lang": src, "tgt_lang": tgt})
            finally:
                tok.src_lang = "eng_Latn"

        cases = [
            lang_case("en_fr_greedy", P["medium"], "eng_Latn", "fra_Latn", {"max_new_tokens": 8}),
            lang_case("en_de_greedy_long", P["long"], "eng_Latn", "deu_Latn", {"max_new_tokens": 12}),
            lang_case("fr_es_greedy", P["short"], "fra_Latn", "spa_Latn", {"max_new_tokens": 6}),
            lang_case("en_zh_batch", [P["short"], P["long"]], "eng_Latn", "zho_Hans", {"max_new_tokens": 8}),
            lang_case("en_fr_default_length", P["library"], "eng_Latn", "fra_Latn", {}),
            lang_case("en_fr_beam4_ret2", P["medium"], "eng_Latn", "fra_Latn",
                      {"num_beams": 4, "num_return_sequences": 2, "max_new_tokens": 8}),
            lang_case("en_de_beam3_lp05_batch", [P["short"], P["library"]], "eng_Latn", "deu_Latn",
                      {"num_beams": 3, "length_penalty": 0.5, "max_new_tokens": 8}),
            lang_case("en_fr_no_repeat_ngram", P["long"], "eng_Latn", "fra_Latn",
                      {"max_new_tokens": 12, "no_repeat_ngram_size": 2, "repetition_penalty": 1.3}),
            lang_case("en_fr_forced_eos", P["medium"], "eng_Latn", "fra_Latn",
                      {"max_new_tokens": 6, "forced_eos_token_id": 2}),
        ]
    # a forced BOS must change something: the same prompt without it differs
    free = _case(model, None, tok, "en_no_forced_bos", P["medium"], {"max_new_tokens": 8})
    assert free["sequences"] != cases[0]["sequences"]
    cases.append(free)

    with _tjs_pipeline_defaults():
        pipe = pipeline("translation", model=model, tokenizer=tok, device="cpu")
    assert pipe.generation_config.num_beams == 1
    pipes = [
        _pipeline_case(pipe, "pipe_en_fr", P["medium"], {"src_lang": "eng_Latn", "tgt_lang": "fra_Latn", "max_new_tokens": 8}),
        _pipeline_case(pipe, "pipe_fr_de_list", [P["short"], P["library"]], {"src_lang": "fra_Latn", "tgt_lang": "deu_Latn", "max_new_tokens": 8}),
        _pipeline_case(pipe, "pipe_en_zh_default_length", P["long"], {"src_lang": "eng_Latn", "tgt_lang": "zho_Hans"}),
        _pipeline_case(pipe, "pipe_en_fr_beams", P["library"], {"src_lang": "eng_Latn", "tgt_lang": "fra_Latn", "num_beams": 2,
                                                             "max_new_tokens": 8}, num_beams=2),
    ]
    # the pipeline tokenizes one text at a time; the same generate() call must give what the batched cases say
    tok.src_lang = "eng_Latn"
    ref = {
        "schema": mf.SCHEMA_VERSION,
        "fixture": fx.name,
        "task": "translation",
        "versions": versions(),
        "files": files,
        "graph_style": "encoder_model + decoder_model_merged (If on use_cache_branch; optimum layout)",
        "onnx": {k: onnx_io(folder / v) for k, v in files.items()},
        "ort_session": ORT_SESSION_DESC,
        "generation_config": json.loads((folder / "generation_config.json").read_text()),
        "language_token_ids": {lang: tok.convert_tokens_to_ids(lang) for lang in ("eng_Latn", "fra_Latn", "deu_Latn", "spa_Latn", "zho_Hans")},
        "notes": [
            "oracle: transformers generate() / pipeline('translation') on the torch model (eager, float32, CPU); every generate() "
            "case was also run with generate() driving the ONNX graphs and gave the same tokens",
            "NLLB (non-legacy): the tokenizer puts the source language code first and </s> last (src_lang); the target language "
            "code is forced as the first generated token (forced_bos_token_id, what NllbTokenizer._build_translation_inputs "
            "returns); decoder_start_token_id = </s> (2)",
            "cases[].call holds the full generate() kwargs (forced_bos_token_id included) on top of generation_config.json "
            "(max_length 16); encoding is what the tokenizer gives with src_lang set",
            f"min_gap: smallest top-1/top-2 processed-score gap over greedy steps of live rows (beam search: smallest gap among "
            f"the best 2*num_beams+1 candidates per step); all > {GEN_MIN_GAP} (null: every step forced)",
            "pipelines: transformers' TranslationPipeline, one text at a time; output as returned; made without the default "
            "generation config that transformers >= 4.50 gives seq2seq pipelines (num_beams=4, max_new_tokens=256 where the "
            "model's generation config leaves them unset): Transformers.js 3.0 uses the model's generation config as is",
            "floats are float32 values written as their shortest round-trip decimal",
        ],
        "min_gap": f32(min(c["min_gap"] for c in cases if c["min_gap"] is not None)),
        "cases": cases,
        "pipelines": pipes,
    }
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  {'trained' if trained else 'reused'} tokenizer, vocab={len(tok)}, min gap {ref['min_gap']:.3g}, {len(cases)} cases, {len(pipes)} pipeline calls")


# -- T5 with the split decoder -----------------------------------------------------------------------


def _export_seq2seq_split(model, folder: Path) -> dict:
    """onnx/encoder_model.onnx, onnx/decoder_model.onnx (no past) and onnx/decoder_with_past_model.onnx: the graphs
    make_fixtures._export_seq2seq merges, kept apart (optimum's layout before merged decoders)."""
    import torch

    cfg = model.config
    n_layers, heads, head_dim = cfg.num_decoder_layers, cfg.num_heads, cfg.d_kv
    g = torch.Generator().manual_seed(3)
    enc_ids = torch.randint(5, cfg.vocab_size, (2, 6), generator=g)
    enc_mask = torch.ones(2, 6, dtype=torch.long)
    enc_mask[1, 4:] = 0
    onnx_dir = folder / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    _export_graph(_encoder_export_module(model), (enc_ids, enc_mask), onnx_dir / "encoder_model.onnx", ["input_ids", "attention_mask"],
                  ["last_hidden_state"], {"input_ids": {0: "batch_size", 1: "encoder_sequence_length"},
                                          "attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
                                          "last_hidden_state": {0: "batch_size", 1: "encoder_sequence_length"}}, False)
    with torch.no_grad():
        hidden = model.get_encoder()(input_ids=enc_ids, attention_mask=enc_mask).last_hidden_state

    def axes(with_past: bool):
        dyn = {"encoder_attention_mask": {0: "batch_size", 1: "encoder_sequence_length"}, "input_ids": {0: "batch_size", 1: "decoder_sequence_length"},
               "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length"}, "logits": {0: "batch_size", 1: "decoder_sequence_length"}}
        for n in _kv_names(n_layers, "present", True, with_encoder=not with_past):
            dyn[n] = {0: "batch_size", 2: "encoder_sequence_length_out" if ".encoder." in n else
                      ("past_decoder_sequence_length + 1" if with_past else "decoder_sequence_length")}
        if with_past:
            for n in _kv_names(n_layers, "past_key_values", True):
                dyn[n] = {0: "batch_size", 2: "encoder_sequence_length_out" if ".encoder." in n else "past_decoder_sequence_length"}
        return dyn

    base = ["encoder_attention_mask", "input_ids", "encoder_hidden_states"]
    dec_ids = torch.randint(5, cfg.vocab_size, (2, 3), generator=g)
    dims = lambda name: {1: heads, 3: head_dim}  # noqa: E731
    _export_graph(_seq2seq_decoder_export_module(model, n_layers, False), (enc_mask, dec_ids, hidden), onnx_dir / "decoder_model.onnx", base,
                  ["logits"] + _kv_names(n_layers, "present", True), axes(False), False, dims)
    past = []
    for _ in range(n_layers):
        past += [torch.randn(2, heads, 3, head_dim, generator=g) for _ in range(2)]
        past += [torch.randn(2, heads, 6, head_dim, generator=g) for _ in range(2)]
    # one new token per step, as optimum's with-past decoders are used
    _export_graph(_seq2seq_decoder_export_module(model, n_layers, True), (enc_mask, dec_ids[:, :1], hidden, *past),
                  onnx_dir / "decoder_with_past_model.onnx", base + _kv_names(n_layers, "past_key_values", True),
                  ["logits"] + _kv_names(n_layers, "present", True, with_encoder=False), axes(True), False, dims)
    return {"encoder": "onnx/encoder_model.onnx", "decoder": "onnx/decoder_model.onnx", "decoder_with_past": "onnx/decoder_with_past_model.onnx"}


def _split_greedy(folder: Path, input_ids: np.ndarray, attention_mask: np.ndarray, start: int, eos: int, pad: int, steps: int) -> list:
    """Plain greedy search over the split graphs with numpy + onnxruntime (decoder_model on the first step,
    decoder_with_past_model after it; the first step's cross-attention cache kept): the export check."""
    enc = ort_session(folder / "onnx" / "encoder_model.onnx")
    first = ort_session(folder / "onnx" / "decoder_model.onnx")
    later = ort_session(folder / "onnx" / "decoder_with_past_model.onnx")
    hidden = enc.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})[0]
    batch = input_ids.shape[0]
    seqs = np.full((batch, 1), start, np.int64)
    done = np.zeros(batch, bool)
    past: dict = {}
    for t in range(steps):
        sess = first if t == 0 else later
        names = [i.name for i in sess.get_inputs()]
        feed = {"input_ids": seqs if t == 0 else seqs[:, -1:], "encoder_attention_mask": attention_mask, "encoder_hidden_states": hidden, **past}
        outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {k: feed[k] for k in names})))
        for k, v in outs.items():
            if k.startswith("present."):
                past[k.replace("present", "past_key_values", 1)] = v
        nxt = np.where(done, pad, outs["logits"][:, -1].argmax(-1))
        seqs = np.concatenate([seqs, nxt[:, None]], axis=1)
        done |= nxt == eos
        if done.all():
            break
    return seqs.tolist()


T5_TASK_PARAMS = {
    "summarization": {"prefix": "summarize: ", "no_repeat_ngram_size": 3, "num_beams": 2, "max_length": 14},
    "translation_en_to_fr": {"prefix": "translate English to French: ", "max_length": 12},
    "translation_en_to_de": {"prefix": "translate English to German: ", "num_beams": 2, "max_length": 12},
}


@fixture("tiny-t5-split-decoder", kind="model", deps=("tiny-roberta-bpe",))
def build_tiny_t5_split_decoder(ctx: Context, fx: Fixture):
    """T5 in the older layout encoder_model + decoder_model + decoder_with_past_model, task_specific_params; generate() and pipeline references."""
    from transformers import T5Config, T5ForConditionalGeneration, pipeline

    cfg = T5Config(vocab_size=_vocab_size(ctx, "tiny-roberta-bpe"), d_model=16, d_kv=8, d_ff=37, num_layers=2, num_decoder_layers=2,
                   num_heads=2, relative_attention_num_buckets=8, relative_attention_max_distance=20, feed_forward_proj="gated-gelu",
                   dropout_rate=0.0, tie_word_embeddings=False, pad_token_id=1, eos_token_id=2, decoder_start_token_id=1, initializer_factor=1.0,
                   task_specific_params=T5_TASK_PARAMS)
    model = _new_model(T5ForConditionalGeneration, cfg, seed=4118)
    _sharpen_norm(model.decoder.final_layer_norm)
    # an explicit max_length: when none is set anywhere, transformers generates 20 *new* tokens, while
    # Transformers.js (the spec) stops at a total length of 20 (decoder start included)
    model.generation_config.max_length = 18
    folder, tok = _gen_folder(ctx, fx, model, "t5")
    files = _export_seq2seq_split(model, folder)
    _gen_check_sizes(folder)
    P = TRANSLATION_PROMPTS
    calls = [
        ("greedy_8", P["medium"], {"max_new_tokens": 8}),
        ("greedy_batch", [P["short"], P["long"]], {"max_new_tokens": 10}),
        ("default_length", P["library"], {}),
        ("repetition_penalty", P["long"], {"max_new_tokens": 10, "repetition_penalty": 1.5}),
        ("beam4_ret2", P["medium"], {"num_beams": 4, "num_return_sequences": 2, "max_new_tokens": 8}),
        ("beam2_batch", [P["short"], P["library"]], {"num_beams": 2, "max_new_tokens": 8, "length_penalty": 0.5}),
    ]
    cases = [_case(model, None, tok, cid, inputs, call) for cid, inputs, call in calls]
    gen = model.generation_config
    for c in cases:  # the split graphs against torch, plain greedy cases
        if set(c["call"]) <= {"max_new_tokens", "do_sample"}:
            steps = c["call"].get("max_new_tokens", gen.max_length - 1)
            got = _split_greedy(folder, np.asarray(c["encoding"]["input_ids"]), np.asarray(c["encoding"]["attention_mask"]),
                                gen.decoder_start_token_id, gen.eos_token_id, gen.pad_token_id, steps)
            assert got == c["sequences"], (c["id"], got, c["sequences"])

    pipes = []
    for task, cid, inputs, kwargs in [
        ("text2text-generation", "text2text", P["medium"], {"max_new_tokens": 8}),
        ("text2text-generation", "text2text_list_beams", [P["short"], P["library"]], {"max_new_tokens": 6, "num_beams": 2}),
        ("summarization", "summarization", P["long"], {}),
        ("summarization", "summarization_override", P["long"], {"num_beams": 1, "max_new_tokens": 5}),
        ("translation_en_to_fr", "translation_en_to_fr", P["medium"], {}),
        ("translation_en_to_de", "translation_en_to_de_list", [P["short"], P["library"]], {}),
    ]:
        import copy

        with _tjs_pipeline_defaults():  # task params change the model config: a copy each
            pipe = pipeline(task, model=copy.deepcopy(model), tokenizer=tok, device="cpu")
        beams = kwargs.get("num_beams", T5_TASK_PARAMS.get(task, {}).get("num_beams", 1))
        row = _pipeline_case(pipe, cid, inputs, kwargs, num_beams=beams)
        row["task"] = task
        pipes.append(row)
    ref = {
        "schema": mf.SCHEMA_VERSION,
        "fixture": fx.name,
        "task": "text2text-generation (split decoder)",
        "versions": versions(),
        "files": files,
        "graph_style": "encoder_model + decoder_model (first step, no past inputs) + decoder_with_past_model (later steps; "
                       "no present.*.encoder.* outputs: the first step's cross-attention cache is kept)",
        "onnx": {k: onnx_io(folder / v) for k, v in files.items()},
        "ort_session": ORT_SESSION_DESC,
        "generation_config": json.loads((folder / "generation_config.json").read_text()),
        "task_specific_params": T5_TASK_PARAMS,
        "notes": [
            "oracle: transformers generate() / pipelines on the torch model (eager, float32, CPU); the plain greedy cases were "
            "replayed through the split graphs with numpy + onnxruntime and gave the same tokens",
            "pipelines: transformers' text2text-generation / summarization / translation_xx_to_yy pipelines, which prepend "
            "task_specific_params[task]['prefix'] and apply its other entries as generation defaults (call kwargs win); made "
            "without transformers' pipeline default generation config (num_beams=4, max_new_tokens=256), as Transformers.js",
            f"min_gap as in the other generation fixtures; all > {GEN_MIN_GAP}",
            "floats are float32 values written as their shortest round-trip decimal",
        ],
        "min_gap": f32(min(c["min_gap"] for c in cases if c["min_gap"] is not None)),
        "cases": cases,
        "pipelines": pipes,
    }
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  min gap {ref['min_gap']:.3g}, {len(cases)} cases, {len(pipes)} pipeline calls")


# -- GPT-2 with the split decoder (decoder-only, older layout) ------------------------------------------


@contextlib.contextmanager
def _capture_unmerged(store: dict):
    """make_fixtures exports the no-past and with-past graphs and merges them (_merge_with_if); keep the two
    instead (what optimum wrote before merged decoders existed)."""
    original = mf._merge_with_if

    def keep(no_past, with_past):
        store["no_past"], store["with_past"] = no_past, with_past
        return no_past  # written as model.onnx, removed afterwards

    mf._merge_with_if = keep
    try:
        yield
    finally:
        mf._merge_with_if = original


def _split_greedy_decoder_only(folder: Path, input_ids: np.ndarray, attention_mask: np.ndarray, steps: int, eos: int, pad: int) -> list:
    first = ort_session(folder / "onnx" / "decoder_model.onnx")
    later = ort_session(folder / "onnx" / "decoder_with_past_model.onnx")
    seqs, mask, past = input_ids, attention_mask, {}
    done = np.zeros(len(seqs), bool)
    step_ids = input_ids
    for t in range(steps):
        sess = first if t == 0 else later
        pos = np.cumsum(mask, -1) - 1
        pos[mask == 0] = 1
        feed = {"input_ids": step_ids, "attention_mask": mask, "position_ids": pos[:, -step_ids.shape[1]:], **past}
        names = [i.name for i in sess.get_inputs()]
        outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {k: feed[k] for k in names})))
        past = {k.replace("present", "past_key_values", 1): v for k, v in outs.items() if k.startswith("present.")}
        nxt = np.where(done, pad, outs["logits"][:, -1].argmax(-1))
        seqs = np.concatenate([seqs, nxt[:, None]], 1)
        mask = np.concatenate([mask, np.ones((len(mask), 1), np.int64)], 1)
        done |= nxt == eos
        if done.all():
            break
        step_ids = nxt[:, None]
    return seqs.tolist()


@fixture("tiny-gpt2-split-decoder", kind="model", deps=("tiny-roberta-bpe",))
def build_tiny_gpt2_split_decoder(ctx: Context, fx: Fixture):
    """GPT2LMHeadModel in the older decoder-only layout onnx/decoder_model.onnx + onnx/decoder_with_past_model.onnx; generate() references."""
    import onnx
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(vocab_size=_vocab_size(ctx, "tiny-roberta-bpe"), n_positions=MODEL_MAX_LENGTH, n_embd=16, n_layer=2, n_head=2, n_inner=37,
                     initializer_range=0.2, bos_token_id=0, pad_token_id=1, eos_token_id=2)
    model = _new_model(GPT2LMHeadModel, cfg, seed=4161)  # tiny-gpt2-lm's weights
    _sharpen_norm(model.transformer.ln_f)
    folder, tok = _gen_folder(ctx, fx, model, "gpt2")
    graphs: dict = {}
    with _capture_unmerged(graphs):
        mf._export_decoder_only(model, folder, position_ids=True, layout="standard", merged=True, untie=model.config.tie_word_embeddings)
    (folder / "onnx" / "model.onnx").unlink()
    onnx.save(graphs["no_past"], str(folder / "onnx" / "decoder_model.onnx"))
    onnx.save(graphs["with_past"], str(folder / "onnx" / "decoder_with_past_model.onnx"))
    files = {"decoder": "onnx/decoder_model.onnx", "decoder_with_past": "onnx/decoder_with_past_model.onnx"}
    _gen_check_sizes(folder)
    case_eos = mf._pick_case_eos(model, tok, False)
    beam_eos = mf._pick_beam_eos(model, tok, False)
    keep = {"greedy_20", "greedy_batch", "eos_early_batch", "repetition_penalty", "no_repeat_ngram_2", "beam2", "beam4_ret2_early", "beam3_batch"}
    cases = [mf._gen_case(model, model, tok, cid, prompt, call, seq2seq=False)
             for cid, prompt, call, _ in mf._gen_calls(model, tok, False, case_eos, beam_eos) if cid in keep]
    gen = model.generation_config
    for c in cases:
        if set(c["call"]) <= {"max_new_tokens", "do_sample", "eos_token_id"}:
            got = _split_greedy_decoder_only(folder, np.asarray(c["encoding"]["input_ids"]), np.asarray(c["encoding"]["attention_mask"]),
                                             c["call"]["max_new_tokens"], c["call"].get("eos_token_id", gen.eos_token_id), gen.pad_token_id)
            assert got == c["sequences"], (c["id"], got, c["sequences"])
            c["split_greedy_replay"] = True
    ties = [c["id"] for c in cases if c["min_gap"] is not None and c["min_gap"] <= GEN_MIN_GAP]
    if ties:
        raise SystemExit(f"{fx.name}: near-ties in {ties}; change the seed")
    ref = {
        "schema": mf.SCHEMA_VERSION,
        "fixture": fx.name,
        "task": "text-generation (split decoder)",
        "versions": versions(),
        "files": files,
        "graph_style": "decoder_model (first step: the whole prompt, no past inputs) + decoder_with_past_model (later steps)",
        "onnx": {k: onnx_io(folder / v) for k, v in files.items()},
        "ort_session": ORT_SESSION_DESC,
        "generation_config": json.loads((folder / "generation_config.json").read_text()),
        "notes": [
            "oracle: transformers generate() on the torch model (eager, float32, CPU); split_greedy_replay: the case was replayed "
            "through the two graphs with numpy + onnxruntime and gave the same tokens",
            "cases as in tiny-gpt2-lm (make_fixtures._gen_calls), a subset; min_gap likewise",
            "floats are float32 values written as their shortest round-trip decimal",
        ],
        "min_gap": f32(min(c["min_gap"] for c in cases if c["min_gap"] is not None)),
        "cases": cases,
    }
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  min gap {ref['min_gap']:.3g}, {len(cases)} cases")
