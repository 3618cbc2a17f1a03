"""``import onnxformers`` time versus ``import onnxruntime`` / ``import transformers``.

Each import runs in a fresh interpreter (the figure a user sees), best of N.
"""

from __future__ import annotations

import subprocess
import sys

from _common import table

CASES = {
    "onnxformers": "import onnxformers",
    "onnxformers + pipeline attr": "import onnxformers; onnxformers.pipeline",
    "onnxruntime": "import onnxruntime",
    "tokenizers": "import tokenizers",
    "transformers": "import transformers",
}


def import_time(stmt: str, runs: int = 7) -> float | None:
    code = f"import time; t=time.perf_counter(); {stmt}; print(time.perf_counter()-t)"
    best = None
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if proc.returncode != 0:
            return None
        t = float(proc.stdout.strip().splitlines()[-1])
        best = t if best is None else min(best, t)
    return best


def main() -> None:
    base = import_time(CASES["onnxformers"])
    rows = [["import", "ms (best of 7)", "× onnxformers"]]
    for name, stmt in CASES.items():
        t = import_time(stmt)
        rows.append([name, "n/a" if t is None else f"{1000 * t:.1f}",
                     "n/a" if t is None or not base else f"{t / base:.1f}"])
    print(table(rows))


if __name__ == "__main__":
    main()
