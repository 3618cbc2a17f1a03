"""Whisper log-mel features: onnxformers (Rust, rayon) vs transformers' WhisperFeatureExtractor
(numpy path, the one used when torch is absent), on one 30 s clip and a batch of 32, and our
batch on 1 vs 2 threads. Also prints the max abs difference between the two implementations.

Build the extension in release mode first: ``maturin develop --release``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from _common import table

SR = 16000


def clips(n: int, seconds: float, seed: int = 0) -> list[np.ndarray]:
    """Speech-like test clips (harmonic stacks on a gliding pitch, amplitude-modulated, + noise)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    out = []
    for _ in range(n):
        f0 = rng.uniform(90, 220) + 30 * np.sin(2 * np.pi * rng.uniform(0.3, 1.0) * t)
        phase = 2 * np.pi * np.cumsum(f0) / SR
        voiced = sum(np.sin(k * phase) / k for k in range(1, 10))
        env = np.clip(np.sin(2 * np.pi * rng.uniform(2, 4) * t), 0, None) ** 2
        out.append((0.3 * voiced * env + 0.01 * rng.standard_normal(t.size)).astype(np.float32))
    return out


def measure(fn, repeat: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of this process, all threads) of ``fn``. CPU time
    is robust to other load on the machine; wall time is what parallelism improves."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from transformers import WhisperFeatureExtractor as Ref

    from onnxformers.processors.audio import WhisperFeatureExtractor

    ref, ours = Ref(), WhisperFeatureExtractor()
    batch = clips(args.batch, 30.0)
    one = batch[:1]

    def ref_run(x):
        return lambda: ref(x, sampling_rate=SR, return_tensors="np")["input_features"]

    def our_run(x, threads=None):
        return lambda: ours(x, sampling_rate=SR, num_threads=threads)["input_features"]

    err = max(float(np.abs(ref_run(x)() - our_run(x)()).max()) for x in (one, batch[:4]))

    rows = [["workload", "transformers wall", "onnxformers wall", "speed-up (wall)",
             "transformers CPU", "onnxformers CPU", "speed-up (CPU)"]]
    for label, x in (("1 clip x 30 s", one), (f"batch {args.batch} x 30 s", batch)):
        ref_w, ref_c = measure(ref_run(x), repeat=args.repeat if len(x) == 1 else 2)
        our_w, our_c = measure(our_run(x), repeat=args.repeat)
        rows.append([label, ms(ref_w), ms(our_w), f"{ref_w / our_w:.1f}x", ms(ref_c), ms(our_c),
                     f"{ref_c / our_c:.1f}x"])

    threads = [["onnxformers", "1 thread wall", "2 threads wall", "scaling"]]
    for label, x in ((f"batch {args.batch} x 30 s", batch), ("1 clip x 30 s", one)):
        t1, _ = measure(our_run(x, 1), repeat=args.repeat)
        t2, _ = measure(our_run(x, 2), repeat=args.repeat)
        threads.append([label, ms(t1), ms(t2), f"{t1 / t2:.2f}x"])

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Whisper log-mel (80 bins, 3000 frames), {os.cpu_count()} CPUs, load average {load:.1f}; "
          f"max |ours - transformers| = {err:.2e}")
    print(table(rows))
    print()
    print(table(threads))


if __name__ == "__main__":
    main()
