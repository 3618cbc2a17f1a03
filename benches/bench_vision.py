"""Vision throughput (images/s).

1. Preprocessing: ``ViTImageProcessor`` as configured for ``google/vit-base-patch16-224`` (224 x 224 bilinear,
   rescale, normalize) over 1-4 megapixel JPEGs, batch 64:
   * onnxformers (``RawImage`` decode + the image processor) versus ``transformers``' slow image processor
     (``load_image`` + ``ViTImageProcessor``, numpy + Pillow), from the files (decode included) and from images
     already in memory (resize + normalize only);
2. End to end ``image-classification`` versus a hand-written Pillow + numpy + onnxruntime loop on the same
   ONNX file (default: the tiny fixture ViT, where pre/post-processing dominates; ``--model DIR`` for a real
   one laid out as Transformers.js expects: config.json, preprocessor_config.json, onnx/model.onnx).

Each pair is timed alternately and the best of ``--repeat`` runs is kept (the machine may be shared).

    python benches/bench_vision.py [--images 64] [--model tests/fixtures/models/tiny-vit-classifier]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from _common import peak_rss_mb, table

VIT_BASE_CONFIG = {  # google/vit-base-patch16-224's preprocessor_config.json
    "do_normalize": True, "do_resize": True, "image_processor_type": "ViTImageProcessor", "do_rescale": True,
    "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2, "rescale_factor": 1 / 255,
    "size": {"height": 224, "width": 224},
}
SIZES = [(1280, 960), (1600, 1200), (2048, 1536), (2000, 2000), (1920, 1080)]  # 1.2 to 4.0 megapixels


def timed_pair(first, second, repeat: int) -> tuple[float, float]:
    """Best-of-``repeat`` seconds of two callables, run alternately (after one warm-up each) so that load
    from other processes on a shared machine hits both alike."""
    import gc
    import time

    first()
    second()
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for k, fn in enumerate((first, second)):
            gc.collect()
            start = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - start)
    return best[0], best[1]


def make_jpegs(folder: Path, count: int) -> list[str]:
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        w, h = SIZES[i % len(SIZES)]
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.stack([x * 255 / w, y * 255 / h, 128 + 100 * np.sin((x + i * 13) / 37) * np.cos(y / 23)], -1)
        img += rng.normal(0, 12, img.shape).astype(np.float32)
        path = folder / f"img{i:03d}.jpg"
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(str(path))
    return paths


def bench_preprocessing(paths: list[str], batch: int, repeat: int) -> list[list[str]]:
    from transformers import ViTImageProcessor as RefProcessor
    from transformers.image_utils import load_image

    from onnxformers.processors.image import ViTImageProcessor
    from onnxformers.utils.image import RawImage

    ours = ViTImageProcessor(VIT_BASE_CONFIG)
    ref = RefProcessor.from_dict(VIT_BASE_CONFIG)
    n = len(paths)

    def ours_files():
        return [ours(paths[i:i + batch]) for i in range(0, n, batch)]

    def ref_files():
        return [ref([load_image(p) for p in paths[i:i + batch]], return_tensors="np") for i in range(0, n, batch)]

    raws = [RawImage.read(p) for p in paths]
    pils = [load_image(p) for p in paths]

    def ours_memory():
        return [ours(raws[i:i + batch]) for i in range(0, n, batch)]

    def ref_memory():
        return [ref(pils[i:i + batch], return_tensors="np") for i in range(0, n, batch)]

    a = ours_files()[0]["pixel_values"]
    b = ref_files()[0]["pixel_values"]
    parity = float(np.max(np.abs(a - b)))
    rows = [["preprocessing (224x224 ViT)", "images/s", "vs transformers", "max |Δ pixel_values|"]]
    for label, mine, theirs in (("from JPEG files (decode+resize+normalize)", ours_files, ref_files),
                                ("from decoded images (resize+normalize)", ours_memory, ref_memory)):
        t_ours, t_ref = timed_pair(mine, theirs, repeat)
        rows.append([f"onnxformers, {label}", f"{n / t_ours:,.1f}", f"{t_ref / t_ours:.2f}x", f"{parity:.1e}"])
        rows.append([f"transformers ViTImageProcessor, {label}", f"{n / t_ref:,.1f}", "1.00x", ""])
    return rows


def bench_end_to_end(model_dir: str, paths: list[str], batch: int, repeat: int, dtype: str) -> list[list[str]]:
    import json

    import onnxruntime as ort
    from PIL import Image

    from onnxformers import pipeline

    pipe = pipeline("image-classification", model_dir, dtype=dtype)
    config = json.loads((Path(model_dir) / "preprocessor_config.json").read_text())
    size = config["size"]
    height, width = (size["height"], size["width"]) if isinstance(size, dict) else (size, size)
    mean = np.asarray(config.get("image_mean", [0.5] * 3), np.float32)
    std = np.asarray(config.get("image_std", [0.5] * 3), np.float32)
    id2label = json.loads((Path(model_dir) / "config.json").read_text())["id2label"]
    onnx_file = "model_quantized.onnx" if dtype == "q8" else "model.onnx"
    sess = ort.InferenceSession(str(Path(model_dir) / "onnx" / onnx_file), providers=["CPUExecutionProvider"])
    resample = config.get("resample", 2)
    n = len(paths)

    def hand_written():
        out = []
        for i in range(0, n, batch):
            arrays = []
            for p in paths[i:i + batch]:
                with Image.open(p) as im:
                    img = im.convert("RGB").resize((width, height), resample=resample)
                x = (np.asarray(img, dtype=np.float32) / 255.0 - mean) / std
                arrays.append(x.transpose(2, 0, 1))
            logits = sess.run(None, {"pixel_values": np.stack(arrays)})[0]
            e = np.exp(logits - logits.max(-1, keepdims=True))
            probs = e / e.sum(-1, keepdims=True)
            best = probs.argmax(-1)
            out.extend({"label": id2label[str(int(k))], "score": float(probs[j, k])} for j, k in enumerate(best))
        return out

    def ours():
        out = []
        for i in range(0, n, batch):
            out.extend(r[0] for r in pipe(paths[i:i + batch]))
        return out

    same = sum(a["label"] == b["label"] for a, b in zip(ours(), hand_written()))
    t_ours, t_hand = timed_pair(ours, hand_written, repeat)
    return [
        [f"image-classification end to end ({Path(model_dir).name}, {dtype}, batch {batch})", "images/s", "vs hand-written", "same top-1"],
        ["onnxformers pipeline", f"{n / t_ours:,.1f}", f"{t_hand / t_ours:.2f}x", f"{same}/{n}"],
        ["Pillow + numpy + onnxruntime by hand", f"{n / t_hand:,.1f}", "1.00x", ""],
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--model", default=str(Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "models" / "tiny-vit-classifier"))
    p.add_argument("--dtype", default="fp32")
    a = p.parse_args()
    warnings.filterwarnings("ignore")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_jpegs(Path(tmp), a.images)
        mp = np.mean([SIZES[i % len(SIZES)][0] * SIZES[i % len(SIZES)][1] for i in range(a.images)]) / 1e6
        print(f"{a.images} JPEGs, mean {mp:.1f} MP, batch {a.batch}, {os.cpu_count()} CPUs\n")
        print(table(bench_preprocessing(paths, a.batch, a.repeat)))
        print()
        print(table(bench_end_to_end(a.model, paths, a.batch, a.repeat, a.dtype)))
    print(f"\npeak RSS {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
