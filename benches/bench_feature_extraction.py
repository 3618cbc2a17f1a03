"""feature-extraction throughput (sentences/s): 1,000 real sentences, batch 32, mean pooling +
normalize, on the real all-MiniLM-L6-v2 int8 ONNX file (the embedded default model).

Peers, measured in the same run on the same ONNX file:
* hand-written ``tokenizers`` + ``onnxruntime`` + numpy pooling (what users write today);
* ``optimum``'s ``ORTModelForFeatureExtraction`` when torch and optimum are installed.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from _common import english_sentences, peak_rss_mb, table, timeit_interleaved


def ours(model_dir: str, sentences: list[str], batch: int):
    from onnxformers import pipeline

    pipe = pipeline("feature-extraction", model_dir, dtype="q8")

    def run():
        return np.concatenate([pipe(sentences[i:i + batch], pooling="mean", normalize=True)
                               for i in range(0, len(sentences), batch)])
    return run


def hand_written(model_dir: str, sentences: list[str], batch: int):
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    tok.enable_truncation(512)
    sess = ort.InferenceSession(os.path.join(model_dir, "onnx", "model_quantized.onnx"),
                                providers=["CPUExecutionProvider"])

    def run():
        out = []
        for i in range(0, len(sentences), batch):
            enc = tok.encode_batch(sentences[i:i + batch])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            types = np.array([e.type_ids for e in enc], dtype=np.int64)
            hidden = sess.run(None, {"input_ids": ids, "attention_mask": mask,
                                     "token_type_ids": types})[0]
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.concatenate(out)
    return run


def optimum_peer(model_dir: str, sentences: list[str], batch: int):
    try:
        import torch  # noqa: F401
        from optimum.onnxruntime import ORTModelForFeatureExtraction
        from transformers import AutoTokenizer
    except ImportError:
        return None
    model = ORTModelForFeatureExtraction.from_pretrained(
        model_dir, subfolder="onnx", file_name="model_quantized.onnx")
    tok = AutoTokenizer.from_pretrained(model_dir)

    def run():
        out = []
        for i in range(0, len(sentences), batch):
            enc = tok(sentences[i:i + batch], padding=True, truncation=True, return_tensors="pt")
            hidden = model(**enc).last_hidden_state.detach().numpy()
            m = enc["attention_mask"].numpy()[..., None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.concatenate(out)
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from onnxformers.embedded import ensure_minilm

    model_dir = str(ensure_minilm(quiet=True))
    sentences = english_sentences(args.n)
    runners = {"onnxformers": ours(model_dir, sentences, args.batch),
               "tokenizers+onnxruntime (hand-written)": hand_written(model_dir, sentences, args.batch)}
    opt = optimum_peer(model_dir, sentences, args.batch)
    if opt is not None:
        runners["optimum ORTModelForFeatureExtraction"] = opt

    reference = runners["tokenizers+onnxruntime (hand-written)"]()
    mine = runners["onnxformers"]()
    cos = float(np.min(np.sum(reference * mine, axis=1)))
    times = timeit_interleaved(runners, repeat=args.repeat, warmup=0)
    base = times["onnxformers"]
    rows = [["implementation", "sentences/s", "onnxformers speed-up"]]
    for name, t in times.items():
        rows.append([name, f"{args.n / t:.0f}", f"{t / base:.2f}×"])
    print(f"{args.n} sentences, batch {args.batch}, MiniLM-L6 int8, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; min cosine ours vs "
          f"hand-written: {cos:.6f}; median of {args.repeat} interleaved rounds")
    if opt is None:
        print("(optimum peer skipped: torch/optimum not installed in this venv)")
    print(table(rows))
    print(f"peak RSS: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
