"""The memory floor of a decode step on CPU: how fast can any loop around onnxruntime be?

At batch 1 a decoder reads every MatMul weight once per token. This bench counts those bytes in a
model (the initializers that MatMul/Gemm nodes read: the LM head and the layers, not the embedding
table, which is gathered one row at a time), then times onnxruntime on one MatMul ``[1, K] x [K, N]``
of the same size (beyond any cache) at the given thread counts. ``bytes / rate`` is the time per
token a decode step cannot beat in fp32, whatever runs around ``session.run``; compare it with the
ms/token of benches/bench_generation.py to see how much of a step is left to win.

    python benches/bench_matmul_floor.py [--model DIR] [--threads 1 2]

Needs ``onnx`` (the fixture or bench venv).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

DEFAULT_MODEL = Path.home() / ".cache" / "onnxformers-fixtures" / "bench" / "models" / "bench-llama-lm"


def matmul_weight_bytes(path: Path) -> int:
    """Bytes of the initializers that MatMul/Gemm nodes read (each counted once)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    sizes: dict[str, int] = {}

    def walk(graph) -> None:
        for init in graph.initializer:
            count = int(np.prod(init.dims)) if init.dims else 1
            sizes[init.name] = count * onnx.helper.tensor_dtype_to_np_dtype(init.data_type).itemsize
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)

    walk(model.graph)
    read: set[str] = set()

    def collect(graph) -> None:
        for node in graph.node:
            if node.op_type in ("MatMul", "Gemm", "FusedMatMul"):
                read.update(name for name in node.input if name in sizes)
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    collect(attr.g)

    collect(model.graph)
    return sum(sizes[name] for name in read)


def gemv_rate(total_bytes: int, threads: int, repeat: int = 20) -> tuple[float, float]:
    """(best, median) GB/s of onnxruntime's MatMul [1, 512] x [512, N] reading ``total_bytes``."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    k = 512
    n = max(total_bytes // (4 * k), 1)
    weight = (np.random.RandomState(0).standard_normal((k, n)) * 0.02).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])], "gemv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])],
        [numpy_helper.from_array(weight, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    x = np.random.RandomState(1).standard_normal((1, k)).astype(np.float32)
    for _ in range(3):
        session.run(None, {"x": x})
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        session.run(None, {"x": x})
        times.append(time.perf_counter() - start)
    return weight.nbytes / min(times) / 1e9, weight.nbytes / float(np.median(times)) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="Transformers.js-layout folder")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    path = args.model / "onnx" / "model.onnx"
    weights = matmul_weight_bytes(path)
    print(f"# bench_matmul_floor: {path.parent.parent.name}/onnx/{path.name}: {weights / 1e6:.1f} MB of MatMul "
          "weights read per token at batch 1")
    for threads in args.threads:
        best, median = gemv_rate(weights, threads)
        print(f"{threads} intra-op thread(s): one MatMul of that size streams {best:.1f} GB/s (median {median:.1f}); "
              f"floor {weights / best / 1e6:.2f} ms/token (median rate: {weights / median / 1e6:.2f} ms), "
              f"{best * 1e9 / weights:.0f} tok/s at most")


if __name__ == "__main__":
    main()
