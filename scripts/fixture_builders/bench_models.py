"""Bench-size generation models (issue 4's speed/memory benches). Never committed: build them into a
cache folder, e.g.

    FIXTURE_VENV/bin/python scripts/make_fixtures.py --only bench-llama-lm \
        --out ~/.cache/onnxformers-fixtures/bench

then ``python benches/bench_generation.py --model ~/.cache/onnxformers-fixtures/bench/models/bench-llama-lm``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

from make_fixtures import REPO_ROOT, Context, Fixture, _export_decoder_only, _new_model, fixture, write_json

BENCH_LLAMA = dict(hidden_size=512, intermediate_size=1376, num_hidden_layers=6, num_attention_heads=8,
                   num_key_value_heads=2, max_position_embeddings=2048, rope_theta=10000.0, rms_norm_eps=1e-6,
                   tie_word_embeddings=False, initializer_range=0.02)


def _bench_tokenizer(folder: Path) -> tuple[int, dict]:
    """A real 32k Llama-family tokenizer when the pinned PyPI asset is at hand (Mistral v1's
    SentencePiece BPE, see tests/pypi_assets.py), so that the LM head and the logits have a real
    vocabulary size; else a byte-level fallback with the same vocabulary size (ids only matter as sizes
    here: the weights are random). Returns (vocab_size, special ids)."""
    try:
        sys.path.insert(0, str(REPO_ROOT / "tests"))
        import pypi_assets

        src = pypi_assets.mistral_dir(legacy=False)
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copyfile(src / name, folder / name)
        return 32000, dict(bos_token_id=1, eos_token_id=2, pad_token_id=None)
    except Exception as exc:  # noqa: BLE001 - offline: any failure means "use the fallback"
        print(f"  Mistral tokenizer unavailable ({exc}); using a 32k placeholder vocabulary")
        from tokenizers import Tokenizer, models, pre_tokenizers

        vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
        vocab.update({f"t{i}": i for i in range(3, 32000)})
        tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        tok.save(str(folder / "tokenizer.json"))
        write_json(folder / "tokenizer_config.json", {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>",
                                                      "eos_token": "</s>", "unk_token": "<unk>", "model_max_length": 2048})
        return 32000, dict(bos_token_id=1, eos_token_id=2, pad_token_id=None)


@fixture("bench-llama-lm", kind="model", default=False,
         description="Llama-style LM for the generation benches: 6 layers, hidden 512, GQA 8/2 heads, 32k vocab, random "
                     "weights (~49M parameters), merged decoder (use_cache_branch). Benches only; never committed.")
def build_bench_llama_lm(ctx: Context, fx: Fixture):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = ctx.path(fx.name)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    vocab, ids = _bench_tokenizer(folder)
    cfg = LlamaConfig(vocab_size=vocab, **ids, **BENCH_LLAMA)
    model = _new_model(LlamaForCausalLM, cfg, seed=5120)
    model.config.save_pretrained(str(folder))
    model.generation_config.save_pretrained(str(folder))
    files = _export_decoder_only(model, folder, position_ids=True, layout="standard", merged=True, untie=False)

    # Sanity: the exported graph's first-step logits equal torch's (a broken export would make the
    # bench time the wrong thing).
    import onnxruntime as ort

    sess = ort.InferenceSession(str(folder / files["model"]), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(7)
    input_ids = torch.randint(3, vocab, (2, 9), generator=g)
    mask = torch.ones_like(input_ids)
    with torch.no_grad():
        ref = model(input_ids=input_ids, attention_mask=mask).logits.numpy()
    heads, dim = cfg.num_key_value_heads, cfg.hidden_size // cfg.num_attention_heads
    feed = {"input_ids": input_ids.numpy(), "attention_mask": mask.numpy(),
            "position_ids": np.broadcast_to(np.arange(9), (2, 9)).astype(np.int64),
            "use_cache_branch": np.array([False])}
    for i in range(cfg.num_hidden_layers):
        for kind in ("key", "value"):
            feed[f"past_key_values.{i}.{kind}"] = np.zeros((2, heads, 0, dim), np.float32)
    got = sess.run(["logits"], feed)[0]
    diff = float(np.abs(got - ref).max())
    if diff > 1e-3:
        raise SystemExit(f"{fx.name}: ONNX logits differ from torch by {diff}")
    size = (folder / files["model"]).stat().st_size
    write_json(folder / "bench_info.json", {"parameters": sum(p.numel() for p in model.parameters()),
                                            "onnx_bytes": size, "max_abs_diff_vs_torch": diff,
                                            "config": {k: v for k, v in BENCH_LLAMA.items()}, "vocab_size": vocab})
    print(f"  {folder}: {size / 1e6:.1f} MB, onnx vs torch {diff:.2g}")
