"""Audio front ends, side by side, ratios measured in one run (interleaved timings, medians of
wall time and, in parentheses, CPU time of the process over all threads):

1. Whisper log-mel (80 bins x 3000 frames) of one 30 s clip and of a batch of 32:
   onnxformers (Rust, rayon) vs transformers' WhisperFeatureExtractor (numpy path) and, when torch
   is importable (``--torch-path`` adds a site-packages folder that has it, e.g. the fixture
   venv's), openai-whisper's ``log_mel_spectrogram`` run from the pinned sdist's
   ``whisper/audio.py`` (torch.stft; the batch goes through in one batched call).
2. Kaldi fbank (SeamlessM4TFeatureExtractor, 30 s clips) vs transformers (numpy).
3. Thread scaling of our batches (1 vs 2 threads).
4. read_audio + resampling to 16 kHz of a 10-minute 44.1 kHz stereo file (WAV PCM_16 and FLAC)
   vs soundfile.read + mean + soxr.resample, and scipy's resample_poly when installed; peak
   traced memory of each.

Needs a release build of the extension: ``CARGO_TARGET_DIR=... maturin build --release`` and
install the wheel into the bench venv (a debug build's numbers mean nothing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from _common import table

SR = 16000
HERE = Path(__file__).resolve().parent


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


class Timing:
    """Median wall and CPU seconds (this process, all threads) of one function. CPU time is
    robust to other load on a shared machine; wall time is what parallelism improves."""

    def __init__(self, wall: list, cpu: list) -> None:
        self.wall, self.cpu = statistics.median(wall), statistics.median(cpu)

    def __str__(self) -> str:
        return f"{self.wall * 1e3:.1f} ms ({self.cpu * 1e3:.1f} cpu)"


def interleaved(fns: dict, repeat: int) -> dict:
    """Timing of each function, run in turns so that load changes hit every implementation."""
    for fn in fns.values():
        fn()
    walls = {k: [] for k in fns}
    cpus = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            w, c = time.perf_counter(), time.process_time()
            fn()
            walls[k].append(time.perf_counter() - w)
            cpus[k].append(time.process_time() - c)
    return {k: Timing(walls[k], cpus[k]) for k in fns}


def ms(t) -> str:
    return str(t)


def ratio(a: Timing, b: Timing) -> str:
    return f"{a.wall / b.wall:.1f}x ({a.cpu / b.cpu:.1f}x cpu)"


def openai_whisper_log_mel():
    """openai-whisper's ``log_mel_spectrogram`` from the pinned sdist (no weights, no numba:
    only ``whisper/audio.py`` and its ``mel_filters.npz`` are used), or None without torch."""
    try:
        import torch  # noqa: F401  (only checks that it is importable)
    except ImportError:
        return None
    sys.path.insert(0, str(HERE.parent / "tests"))
    import pypi_assets as pa

    audio_py = pa.fetch(pa.Asset(pa.GPT2_TIKTOKEN.project, pa.GPT2_TIKTOKEN.version, pa.GPT2_TIKTOKEN.sha256,
                                 "whisper/audio.py"))
    pa.fetch(pa.Asset(pa.GPT2_TIKTOKEN.project, pa.GPT2_TIKTOKEN.version, pa.GPT2_TIKTOKEN.sha256,
                      "whisper/assets/mel_filters.npz"))
    source = audio_py.read_text().replace(
        "from .utils import exact_div",
        "def exact_div(x, y):\n    assert x % y == 0\n    return x // y")
    namespace = {"__file__": str(audio_py), "__name__": "openai_whisper_audio"}
    exec(compile(source, str(audio_py), "exec"), namespace)  # noqa: S102 (pinned, hash-checked file)
    return namespace["log_mel_spectrogram"]


def _no_grad(torch, fn, x):
    with torch.inference_mode():
        return fn(x)


def bench_whisper(batch: list[np.ndarray], repeat: int, torch_threads: int) -> tuple[list, float]:
    import transformers.models.whisper.feature_extraction_whisper as fw
    from transformers import WhisperFeatureExtractor as Ref

    from onnxformers.processors.audio import WhisperFeatureExtractor

    fw.is_torch_available = lambda: False  # the numpy path, even when torch is importable
    ref, ours = Ref(), WhisperFeatureExtractor()
    log_mel = openai_whisper_log_mel()
    torch = None
    if log_mel is not None:
        import torch

        torch.set_num_threads(torch_threads)
    one = batch[:1]
    err = float(np.abs(ref(batch[:4], sampling_rate=SR, return_tensors="np")["input_features"]
                       - ours(batch[:4], sampling_rate=SR)["input_features"]).max())
    rows = [["Whisper log-mel", "transformers numpy", "openai-whisper torch", "onnxformers",
             "vs numpy", "vs torch"]]
    for label, x in (("1 clip x 30 s", one), (f"batch {len(batch)} x 30 s", batch)):
        fns = {
            "ref": lambda x=x: ref(x, sampling_rate=SR, return_tensors="np")["input_features"],
            "ours": lambda x=x: ours(x, sampling_rate=SR)["input_features"],
        }
        if log_mel is not None:
            # 30 s clips need no padding; the batch goes through torch.stft in one call
            fns["torch"] = lambda s=torch.from_numpy(np.stack(x)): _no_grad(torch, log_mel, s)
        t = interleaved(fns, repeat if len(x) == 1 else max(2, repeat // 2))
        rows.append([label, ms(t["ref"]), ms(t["torch"]) if "torch" in t else "n/a", ms(t["ours"]),
                     ratio(t["ref"], t["ours"]), ratio(t["torch"], t["ours"]) if "torch" in t else "n/a"])
    if log_mel is not None:
        ow = log_mel(torch.from_numpy(batch[0])).numpy()[:, :3000]
        err_torch = float(np.abs(ow - ours(batch[0], sampling_rate=SR)["input_features"][0]).max())
        rows.append(["max |diff| vs ours", f"{err:.1e}", f"{err_torch:.1e} (float32 STFT)", "", "", ""])
    else:
        rows.append(["max |diff| vs ours", f"{err:.1e}", "", "", "", ""])
    return rows, err


def bench_fbank(batch: list[np.ndarray], repeat: int) -> list:
    from transformers import SeamlessM4TFeatureExtractor as Ref

    from onnxformers.processors.audio.seamless_m4t import SeamlessM4TFeatureExtractor

    ref, ours = Ref(), SeamlessM4TFeatureExtractor()
    a = ref(batch[:2], sampling_rate=SR, return_tensors="np")["input_features"]
    b = ours(batch[:2], sampling_rate=SR)["input_features"]
    err = float(np.abs(a - b).max() / np.abs(a).max())
    rows = [["Kaldi fbank (SeamlessM4T)", "transformers numpy", "onnxformers", "vs numpy"]]
    for label, x in (("1 clip x 30 s", batch[:1]), (f"batch {len(batch)} x 30 s", batch)):
        t = interleaved({
            "ref": lambda x=x: ref(x, sampling_rate=SR, return_tensors="np")["input_features"],
            "ours": lambda x=x: ours(x, sampling_rate=SR)["input_features"],
        }, repeat if len(x) == 1 else 2)
        rows.append([label, ms(t["ref"]), ms(t["ours"]), ratio(t["ref"], t["ours"])])
    rows.append(["max rel |diff|", f"{err:.1e}", "", ""])
    return rows


def bench_threads(batch: list[np.ndarray], repeat: int) -> list:
    from onnxformers.processors.audio import WhisperFeatureExtractor
    from onnxformers.processors.audio.seamless_m4t import SeamlessM4TFeatureExtractor

    rows = [["onnxformers threads", "1 thread", "2 threads", "scaling (wall)"]]
    for name, fe in (("Whisper", WhisperFeatureExtractor()), ("Kaldi fbank", SeamlessM4TFeatureExtractor())):
        for label, x in ((f"batch {len(batch)} x 30 s", batch), ("1 clip x 30 s", batch[:1])):
            t = interleaved({n: (lambda n=n, x=x: fe(x, sampling_rate=SR, num_threads=n)) for n in (1, 2)}, repeat)
            rows.append([f"{name}, {label}", ms(t[1]), ms(t[2]), f"{t[1].wall / t[2].wall:.2f}x"])
    return rows


def peak_traced(fn) -> tuple[object, float]:
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def bench_read(repeat: int) -> list:
    import soundfile as sf
    import soxr

    from onnxformers.utils.audio import read_audio

    try:
        from scipy.signal import resample_poly
    except ImportError:
        resample_poly = None
    sr, minutes = 44100, 10
    rng = np.random.default_rng(1)
    rows = [["read + resample 10 min 44.1 kHz stereo -> 16 kHz", "soundfile + soxr", "scipy resample_poly",
             "onnxformers read_audio", "vs soxr", "vs scipy", "peak MiB (sf+soxr / ours)"]]
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as tmp:
        for fmt, subtype in (("WAV", "PCM_16"), ("FLAC", "PCM_16")):
            path = Path(tmp) / f"long.{fmt.lower()}"
            with sf.SoundFile(path, "w", samplerate=sr, channels=2, format=fmt, subtype=subtype) as f:
                t = np.arange(sr * 60) / sr
                for m in range(minutes):
                    tone = 0.3 * np.sin(2 * np.pi * (220 + 20 * m) * t)
                    f.write(np.stack([tone, -tone], 1) * 0.5 + 0.05 * rng.standard_normal((len(t), 2)))

            def classic(path=path):
                data, file_sr = sf.read(path, dtype="float32", always_2d=True)
                return soxr.resample(data.mean(axis=1, dtype=np.float64).astype(np.float32), file_sr, SR,
                                     quality="HQ")

            def scipy_way(path=path):
                data, _ = sf.read(path, dtype="float32", always_2d=True)
                return resample_poly(data.mean(axis=1), 160, 441).astype(np.float32)

            fns = {"classic": classic, "ours": lambda path=path: read_audio(path, SR)}
            if resample_poly is not None:
                fns["scipy"] = scipy_way
            out_ref, mem_ref = peak_traced(classic)
            out_ours, mem_ours = peak_traced(fns["ours"])
            assert np.array_equal(out_ref, out_ours), "read_audio must equal soundfile + soxr"
            t = interleaved(fns, repeat)
            rows.append([f"{fmt} {subtype} ({path.stat().st_size / 2**20:.0f} MiB)", ms(t["classic"]),
                         ms(t["scipy"]) if "scipy" in t else "n/a", ms(t["ours"]),
                         ratio(t["classic"], t["ours"]), ratio(t["scipy"], t["ours"]) if "scipy" in t else "n/a",
                         f"{mem_ref:.0f} / {mem_ours:.0f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--torch-path", help="a site-packages folder with torch (appended to sys.path)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["whisper", "fbank", "threads", "read"])
    parser.add_argument("--out", help="also write the report to this file")
    args = parser.parse_args()
    if args.torch_path:
        import transformers  # noqa: F401  (imported first: its own deps come from this venv)

        sys.path.append(args.torch_path)

    import onnxformers
    from onnxformers import _core

    batch = clips(args.batch, 30.0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [f"onnxformers {onnxformers.__version__} ({Path(_core.__file__).name}), "
             f"{os.cpu_count()} CPUs, load average {load:.1f}, numpy {np.__version__}"]
    if "whisper" not in args.skip:
        rows, _ = bench_whisper(batch, args.repeat, args.torch_threads)
        lines += ["", table(rows)]
    if "fbank" not in args.skip:
        lines += ["", table(bench_fbank(batch, args.repeat))]
    if "threads" not in args.skip:
        lines += ["", table(bench_threads(batch, args.repeat))]
    if "read" not in args.skip:
        lines += ["", table(bench_read(max(2, args.repeat // 2)))]
    report = "\n".join(lines)
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n")


if __name__ == "__main__":
    main()
