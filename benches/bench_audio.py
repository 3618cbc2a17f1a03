"""Whisper log-mel features: onnxformers (Rust, rayon) vs transformers' WhisperFeatureExtractor
(numpy path, the one used when torch is absent), on one 30 s clip and a batch of 32, and our
batch on 1 vs 2 threads. Also prints the max abs difference between the two implementations.

Build the extension in release mode first: ``maturin develop --release``.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from _common import table, timeit

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

    rows = [["workload", "transformers (numpy)", "onnxformers", "speed-up"]]
    for label, x in ((f"1 clip x 30 s", one), (f"batch {args.batch} x 30 s", batch)):
        t_ref = timeit(ref_run(x), repeat=max(1, args.repeat if len(x) == 1 else 2))
        t_our = timeit(our_run(x), repeat=args.repeat)
        rows.append([label, f"{t_ref * 1e3:.1f} ms", f"{t_our * 1e3:.1f} ms", f"{t_ref / t_our:.1f}x"])

    threads = [["batch of " + str(args.batch), "1 thread", "2 threads", "scaling"]]
    t1 = timeit(our_run(batch, 1), repeat=args.repeat)
    t2 = timeit(our_run(batch, 2), repeat=args.repeat)
    threads.append(["onnxformers", f"{t1 * 1e3:.1f} ms", f"{t2 * 1e3:.1f} ms", f"{t1 / t2:.2f}x"])
    s1 = timeit(our_run(one, 1), repeat=args.repeat)
    s2 = timeit(our_run(one, 2), repeat=args.repeat)
    threads.append(["(1 clip)", f"{s1 * 1e3:.1f} ms", f"{s2 * 1e3:.1f} ms", f"{s1 / s2:.2f}x"])

    print(f"Whisper log-mel (80 bins, 3000 frames), {os.cpu_count()} CPUs; "
          f"max |ours - transformers| = {err:.2e}")
    print(table(rows))
    print()
    print(table(threads))


if __name__ == "__main__":
    main()
