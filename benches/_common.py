"""Shared helpers for the benches: timing, peak memory, real text."""

from __future__ import annotations

import gc
import pydoc
import re
import resource
import statistics
import time
from typing import Callable


def timeit(fn: Callable[[], object], *, repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn`` in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timeit_interleaved(fns: dict[str, Callable[[], object]], *, repeat: int = 5,
                       warmup: int = 1) -> dict[str, float]:
    """Median wall time of each function, running them in turns so that a change in machine load
    hits every implementation alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_MODULES = ["os", "json", "re", "collections", "itertools", "functools", "pathlib", "argparse",
            "logging", "threading", "subprocess", "unittest", "email", "http.client", "asyncio",
            "datetime", "decimal", "fractions", "statistics", "random", "string", "textwrap",
            "typing", "dataclasses", "enum", "inspect", "zipfile", "tarfile", "sqlite3", "csv"]


def english_sentences(n: int, min_words: int = 4) -> list[str]:
    """``n`` real English sentences (Python's own documentation), deterministic per Python."""
    seen: dict[str, None] = {}
    for name in _MODULES:
        text = pydoc.render_doc(name, renderer=pydoc.plaintext)
        for sentence in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text)):
            sentence = sentence.strip()
            if len(sentence.split()) >= min_words and sentence[0].isalpha():
                seen.setdefault(sentence[:400], None)
    sentences = list(seen)
    if len(sentences) < n:
        sentences = (sentences * (n // max(len(sentences), 1) + 1))
    return sentences[:n]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)
