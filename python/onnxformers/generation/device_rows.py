"""Cache rows gathered where the cache lives: beam reorders and prompt-cache expansion on a GPU.

A KV cache on CUDA cannot be reordered by numpy without a round trip of every tensor (device →
host, gather, host → device) at every beam step, the copy the decode loop exists to avoid. There
is no gather in onnxruntime's Python API, so a tiny ONNX graph does it on the session's own
provider: ``data`` viewed as ``[src_rows, -1]``, rows gathered, the result reshaped to ``data``'s
shape with axis 0 scaled by ``len(indices) / src_rows``. That covers the ``[batch, heads, seq, d]``
layouts and the fused ``[batch*heads, ...]`` ones (Bloom, Falcon) alike, reorders
(``len(indices) == src_rows``) and expansions (one prompt row repeated per beam).

The graphs (one per element type) are built with ``onnx.helper`` by :func:`graph_bytes` and
shipped as ``rows_gather.<dtype>.onnx`` beside this module (``onnx`` is not a runtime dependency);
a test rebuilds them and compares bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UnsupportedModelError

#: element types with a shipped graph (numpy dtype name → ONNX TensorProto enum)
ELEMENT_TYPES = {"float32": 1, "float16": 10}
#: OrtValue.data_type() → the dtype names above
_ORT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16"}
OPSET = 14  # Reshape's allowzero: an empty sequence axis stays 0


def graph_path(dtype: str) -> Path:
    return Path(__file__).with_name(f"rows_gather.{dtype}.onnx")


def graph_bytes(dtype: str) -> bytes:
    """The graph for ``dtype`` (needs the ``onnx`` package; used to make the shipped files)."""
    from onnx import TensorProto, helper

    elem = ELEMENT_TYPES[dtype]
    const = lambda name, values: helper.make_node(  # noqa: E731
        "Constant", [], [name], value=helper.make_tensor(name, TensorProto.INT64, [len(values)], values))
    nodes = [
        const("minus_one", [-1]), const("zero", [0]), const("one", [1]), const("end", [2**62]),
        helper.make_node("Concat", ["src_rows", "minus_one"], ["flat_shape"], axis=0),
        helper.make_node("Reshape", ["data", "flat_shape"], ["flat"]),
        helper.make_node("Gather", ["flat", "indices"], ["picked"], axis=0),
        helper.make_node("Shape", ["data"], ["shape"]),
        helper.make_node("Slice", ["shape", "zero", "one"], ["dim0"]),
        helper.make_node("Slice", ["shape", "one", "end"], ["rest"]),
        helper.make_node("Shape", ["indices"], ["count"]),
        helper.make_node("Mul", ["dim0", "count"], ["scaled"]),
        helper.make_node("Div", ["scaled", "src_rows"], ["new_dim0"]),
        helper.make_node("Concat", ["new_dim0", "rest"], ["out_shape"], axis=0),
        helper.make_node("Reshape", ["picked", "out_shape"], ["out"], allowzero=1),
    ]
    graph = helper.make_graph(
        nodes, "rows_gather",
        [helper.make_tensor_value_info("data", elem, None),
         helper.make_tensor_value_info("indices", TensorProto.INT64, ["count"]),
         helper.make_tensor_value_info("src_rows", TensorProto.INT64, [1])],
        [helper.make_tensor_value_info("out", elem, None)])
    model = helper.make_model(graph, producer_name="onnxformers", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 7
    return model.SerializeToString()


class DeviceRows:
    """Gathers rows of ORT values on one device (see the module docstring), one session per dtype."""

    def __init__(self, providers: list[Any], device: str, device_id: int):
        self.providers, self.device, self.device_id = providers, device, device_id
        self._sessions: dict[str, Any] = {}

    def _session(self, ort_type: str) -> Any:
        dtype = _ORT_TYPES.get(ort_type)
        if dtype is None:
            raise UnsupportedModelError(
                f"reordering cache rows on {self.device} supports float32 and float16 cache tensors, "
                f"not {ort_type}")
        if dtype not in self._sessions:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.log_severity_level = 3  # its shape arithmetic on CPU is intended, not a warning
            self._sessions[dtype] = ort.InferenceSession(graph_path(dtype).read_bytes(), opts,
                                                         providers=self.providers)
        return self._sessions[dtype]

    def gather(self, value: Any, rows_index: np.ndarray, src_rows: int) -> Any:
        """A new ORT value on this device: ``value`` seen as ``src_rows`` rows, rows
        ``rows_index`` of it. ``value`` may be a public ``onnxruntime.OrtValue`` or onnxruntime's C
        object (the decode loops' fast path); the result is of the same kind."""
        return self.gather_all([value], rows_index, src_rows)[0]

    def gather_all(self, values: list[Any], rows_index: np.ndarray, src_rows: int) -> list[Any]:
        """:meth:`gather` of every value with the same rows: the indices are bound (and copied to
        the device) once per element type, then each tensor is one run of the graph."""
        import onnxruntime as ort

        index = np.ascontiguousarray(rows_index, dtype=np.int64)
        src = np.array([src_rows], np.int64)
        bindings: dict[str, tuple[Any, Any, Any]] = {}
        out = []
        for value in values:
            kind = value.data_type()
            if kind not in bindings:
                session = self._session(kind)
                binding = session.io_binding()
                binding.bind_cpu_input("indices", index)
                binding.bind_cpu_input("src_rows", src)
                c = getattr(binding, "_iobinding", None)
                device = None
                if c is not None:
                    try:
                        device = ort.OrtDevice.make(self.device, self.device_id)._get_c_device()
                    except AttributeError:
                        c = None
                bindings[kind] = (session, binding, (c, device))
            session, binding, (c, device) = bindings[kind]
            c_value = getattr(value, "_ortvalue", value)
            # the output is rebound before every run: onnxruntime then allocates a fresh tensor
            # instead of overwriting the previous one (which is now another layer's cache)
            if c is not None:
                c.bind_ortvalue_input("data", c_value)
                c.bind_output("out", device)
                session.run_with_iobinding(binding)
                result = c.get_outputs()[0]
                out.append(ort.OrtValue(result) if c_value is not value else result)
            else:
                binding.bind_ortvalue_input("data", value)
                binding.bind_output("out", self.device, self.device_id)
                session.run_with_iobinding(binding)
                out.append(binding.get_outputs()[0])
        return out


def for_session(session: Any, device: str, device_id: int) -> DeviceRows:
    """A gatherer on ``session``'s providers (same device, same provider options)."""
    providers = list(zip(session.get_providers(), [session.get_provider_options().get(p, {})
                                                   for p in session.get_providers()]))
    return DeviceRows(providers, device, device_id)
