"""Prove device="cuda" end to end on a GPU machine with onnxruntime-gpu installed.

For each fixture model: build the pipeline on CPU and on CUDA, check that the CUDA session really
runs on CUDAExecutionProvider, and compare outputs. Prints a short table; exits non-zero on any
mismatch. Usage: python scripts/device_check_cuda.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "models"
TEXTS = ["I loved this movie, the acting was wonderful!", "The soup was cold.", "",
         "Héllo wörld 😀 naïve", "The river runs through the old town " * 20]


def main() -> int:
    import onnxruntime as ort

    from onnxformers import pipeline

    if hasattr(ort, "preload_dlls"):  # load CUDA/cuDNN from the nvidia-* pip packages if present
        try:
            ort.preload_dlls()
        except Exception as exc:  # noqa: BLE001 - diagnostic only
            print("preload_dlls:", exc)

    print("onnxruntime", ort.__version__, ort.get_device(), ort.get_available_providers())
    failures = 0
    rows = []
    for task, name, kwargs in [
        ("text-classification", "tiny-bert-classifier", {"top_k": None}),
        ("text-classification", "tiny-roberta-classifier", {"top_k": None}),
        ("feature-extraction", "tiny-bert-feature-extraction", {"pooling": "mean", "normalize": True}),
    ]:
        for device in ("cuda", "gpu", "auto"):
            cpu = pipeline(task, str(MODELS / name), device="cpu")
            gpu = pipeline(task, str(MODELS / name), device=device)
            providers = gpu.model.sessions["model"].get_providers()
            on_cuda = providers[0] == "CUDAExecutionProvider"
            t0 = time.perf_counter()
            out_gpu = gpu(TEXTS, **kwargs)
            dt = time.perf_counter() - t0
            out_cpu = cpu(TEXTS, **kwargs)
            if task == "feature-extraction":
                diff = float(np.max(np.abs(out_gpu - out_cpu)))
            else:
                diff = max(abs(a["score"] - b["score"]) for x, y in zip(out_gpu, out_cpu)
                           for a, b in zip(x, y))
                same_labels = all([a["label"] for a in x] == [b["label"] for b in y]
                                  for x, y in zip(out_gpu, out_cpu))
                diff = diff if same_labels else float("inf")
            ok = on_cuda and diff < 1e-3
            failures += not ok
            rows.append(f"{name:30s} device={device:5s} providers={providers[0]:24s} "
                        f"max|gpu-cpu|={diff:.2e} {1000 * dt:7.1f} ms  {'OK' if ok else 'FAIL'}")
    print("\n".join(rows))
    minilm = os.environ.get("MINILM_DIR")
    if minilm:
        failures += throughput(pipeline, minilm)
    print("FAILURES:", failures)
    return 1 if failures else 0


def throughput(pipeline, model_dir: str, n: int = 1000, batch: int = 32) -> int:
    """Real MiniLM (int8): sentences/s on CPU vs CUDA, and agreement of the embeddings."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))
    from _common import english_sentences

    sentences = english_sentences(n)
    results = {}
    for device in ("cpu", "cuda"):
        pipe = pipeline("feature-extraction", model_dir, device=device)
        run = lambda: np.concatenate([pipe(sentences[i:i + batch], pooling="mean", normalize=True)
                                      for i in range(0, n, batch)])
        run()  # warm-up (CUDA kernels, arena growth)
        t0 = time.perf_counter()
        emb = run()
        results[device] = (time.perf_counter() - t0, emb)
    cos = float(np.min(np.sum(results["cpu"][1] * results["cuda"][1], axis=1)))
    for device, (dt, _) in results.items():
        print(f"MiniLM int8 {device:4s}: {n / dt:8.0f} sentences/s (n={n}, batch={batch})")
    print(f"MiniLM min cosine cpu vs cuda: {cos:.6f}")
    return 0 if cos > 0.999 else 1


if __name__ == "__main__":
    sys.exit(main())
