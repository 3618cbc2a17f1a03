"""Vision throughput (images/s).

1. Preprocessing: ``ViTImageProcessor`` as configured for ``google/vit-base-patch16-224`` (224 x 224 bilinear,
   rescale, normalize) and ``DetrImageProcessor`` as for ``facebook/detr-resnet-50`` (800-pixel short side,
   normalize, pad + pixel_mask) over 1-4 megapixel JPEGs, batch 64, at 1 and 2 image threads
   (``onnxformers.processors.image.set_num_threads``):
   * onnxformers (``RawImage`` decode + the image processor) versus ``transformers``' slow image processor
     (``load_image`` + the processor, numpy + Pillow, single-threaded), from the files (decode included) and
     from images already in memory (resize + normalize only);
2. End to end ``image-classification`` versus a hand-written Pillow + numpy + onnxruntime loop on the same
   ONNX file (default: the tiny fixture ViT, where pre/post-processing dominates; ``--model DIR`` for a real
   one laid out as Transformers.js expects: config.json, preprocessor_config.json, onnx/model.onnx).

Each pair is timed alternately and the best of ``--repeat`` runs is kept (the machine may be shared). Decoding
stays on Pillow (libjpeg-turbo); resampling (a bit-exact port of Pillow's convolution resampling, reading Pillow's
memory through its Arrow export) and the uint8 -> float32 normalisation, written straight into the (padded) batch
by the worker threads, run in the Rust extension: build it in release mode (``maturin develop --release``).
The output is also written to benches/results/bench_vision.txt (``--out``).

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


DETR_CONFIG = {  # facebook/detr-resnet-50's preprocessor_config.json (800-pixel short side, 1333 cap)
    "do_normalize": True, "do_resize": True, "do_rescale": True, "do_pad": True, "format": "coco_detection",
    "image_processor_type": "DetrImageProcessor", "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225], "resample": 2, "rescale_factor": 1 / 255,
    "size": {"shortest_edge": 800, "longest_edge": 1333},
}


def bench_preprocessing(paths: list[str], batch: int, repeat: int, threads: list[int]) -> list[list[str]]:
    """images/s of each processor, from the JPEG files (decode included) and from decoded images, for
    onnxformers at each thread count and transformers' slow processor (single-threaded by design)."""
    import transformers
    from transformers.image_utils import load_image

    from onnxformers.processors.image import IMAGE_PROCESSORS, set_num_threads
    from onnxformers.utils.image import RawImage

    n = len(paths)
    raws = [RawImage.read(p) for p in paths]
    pils = [load_image(p) for p in paths]
    rows = [["preprocessing, batch %d" % batch, "images/s", "vs transformers", "vs 1 thread", "max |Δ pixel_values|"]]
    for title, config in (("224x224 ViT", VIT_BASE_CONFIG), ("800-px DETR", DETR_CONFIG)):
        name = config["image_processor_type"]
        ours = IMAGE_PROCESSORS[name](config)
        ref = getattr(transformers, name).from_dict(config)

        def ours_files():
            return [ours(paths[i:i + batch]) for i in range(0, n, batch)]

        def ref_files():
            return [ref([load_image(p) for p in paths[i:i + batch]], return_tensors="np") for i in range(0, n, batch)]

        def ours_memory():
            return [ours(raws[i:i + batch]) for i in range(0, n, batch)]

        def ref_memory():
            return [ref(pils[i:i + batch], return_tensors="np") for i in range(0, n, batch)]

        set_num_threads(1)
        parity = float(np.max(np.abs(ours_files()[0]["pixel_values"] - ref_files()[0]["pixel_values"])))
        for label, mine, theirs in (("from JPEG files (decode+resize+normalize)", ours_files, ref_files),
                                    ("from decoded images (resize+normalize)", ours_memory, ref_memory)):
            timings = {}
            for t in threads:
                set_num_threads(t)
                timings[t], timings[("ref", t)] = timed_pair(mine, theirs, repeat)
            t_ref = min(v for k, v in timings.items() if isinstance(k, tuple))
            for t in threads:
                rows.append([f"onnxformers {title}, {label}, {t} thread{'s' if t > 1 else ''}", f"{n / timings[t]:,.1f}",
                             f"{t_ref / timings[t]:.2f}x", f"{timings[threads[0]] / timings[t]:.2f}x", f"{parity:.1e}"])
            rows.append([f"transformers {name}, {label}", f"{n / t_ref:,.1f}", "1.00x", "", ""])
    set_num_threads(None)
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
    p.add_argument("--threads", default="1,2", help="image thread counts to time (comma-separated)")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "bench_vision.txt"))
    a = p.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    warnings.filterwarnings("ignore")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_jpegs(Path(tmp), a.images)
        mp = np.mean([SIZES[i % len(SIZES)][0] * SIZES[i % len(SIZES)][1] for i in range(a.images)]) / 1e6
        load = os.getloadavg()[0]
        lines = [f"{a.images} JPEGs, mean {mp:.1f} MP, batch {a.batch}, {os.cpu_count()} CPUs, best of {a.repeat}, "
                 f"load average at start {load:.1f} (other processes share the CPUs: thread scaling needs idle cores)", ""]
        lines += [table(bench_preprocessing(paths, a.batch, a.repeat, threads)), ""]
        from onnxformers.processors.image import set_num_threads

        for t in threads:
            set_num_threads(t)
            lines += [f"end to end, {t} image thread(s) (onnxruntime: its default threads for both)",
                      table(bench_end_to_end(a.model, paths, a.batch, a.repeat, a.dtype)), ""]
        set_num_threads(None)
    lines.append(f"peak RSS {peak_rss_mb():,.0f} MB; load average at end {os.getloadavg()[0]:.1f}")
    text = "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
