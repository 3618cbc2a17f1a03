"""Ship a random-weight bench model to a machine that cannot build it, as a few hundred kB.

The GPU machines lent to this project have no network and take at most 64 MiB per call, while
``bench-llama-lm`` is ~200 MB of random fp32 weights (and building it needs the fixture venv's
torch + transformers). ``strip`` writes the model folder with every large initializer emptied and
its mean / std recorded; ``fill`` makes a loadable folder again with fresh seeded normal weights of
the same statistics. The refilled model is not the original (tokens differ from a CPU run of the
original), but every peer of a bench run reads the same refilled file, which is all a side-by-side
speed comparison needs.

    python benches/model_skeleton.py strip MODEL_DIR SKELETON_DIR
    python benches/model_skeleton.py fill SKELETON_DIR MODEL_DIR
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

#: initializers with more elements than this are emptied (norm weights, rotary tables stay exact)
MAX_KEPT = 4096
STATS = "skeleton_stats.json"


def strip(src: Path, dst: Path) -> None:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src / "onnx" / "model.onnx"))
    stats = {}
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init)
        if array.size <= MAX_KEPT or not np.issubdtype(array.dtype, np.floating):
            continue
        stats[init.name] = {"mean": float(array.mean()), "std": float(array.std()), "dtype": str(array.dtype)}
        init.ClearField("raw_data")
        del init.float_data[:]
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("onnx"), dirs_exist_ok=True)
    (dst / "onnx").mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst / "onnx" / "model.onnx"))
    (dst / STATS).write_text(json.dumps(stats, indent=1))


def fill(src: Path, dst: Path, seed: int = 0) -> None:
    import onnx
    from onnx import numpy_helper

    stats = json.loads((src / STATS).read_text())
    model = onnx.load(str(src / "onnx" / "model.onnx"))
    rng = np.random.default_rng(seed)
    for init in model.graph.initializer:
        s = stats.get(init.name)
        if s is None:
            continue
        array = rng.normal(s["mean"], s["std"], size=tuple(init.dims)).astype(s["dtype"])
        init.CopyFrom(numpy_helper.from_array(array, init.name))
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("onnx", STATS), dirs_exist_ok=True)
    (dst / "onnx").mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst / "onnx" / "model.onnx"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["strip", "fill"])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    a = ap.parse_args(argv)
    (strip if a.command == "strip" else fill)(a.src, a.dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
