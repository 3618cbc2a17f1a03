"""generation/device_rows.py: cache rows gathered by onnxruntime on the cache's own device (the GPU
path of beam reorders), checked on CPU against numpy."""

from __future__ import annotations

import os

import numpy as np
import onnxruntime as ort
import pytest

from onnxformers.errors import UnsupportedModelError
from onnxformers.generation import device_rows
from onnxformers.generation.encoder_decoder import gathered_rows


@pytest.fixture(scope="module")
def rows():
    if os.environ.get("ONNXFORMERS_TEST_DEVICE") == "cuda":  # scripts/device_bench_cuda.sh
        return device_rows.DeviceRows(["CUDAExecutionProvider"], "cuda", 0)
    return device_rows.DeviceRows(["CPUExecutionProvider"], "cpu", 0)


@pytest.mark.parametrize("dtype", sorted(device_rows.ELEMENT_TYPES))
def test_shipped_graphs_are_the_ones_the_builder_makes(dtype):
    pytest.importorskip("onnx")
    assert device_rows.graph_path(dtype).read_bytes() == device_rows.graph_bytes(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("shape", [(4, 2, 5, 3), (8, 3, 5), (4, 7)])  # [b,h,s,d]; Bloom's [b*h,d,s]; 2-D
def test_reorder_equals_numpy(rows, dtype, shape):
    data = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    index = np.array([1, 1, 3, 0])
    out = rows.gather(ort.OrtValue.ortvalue_from_numpy(data), index, 4)
    assert isinstance(out, ort.OrtValue)
    np.testing.assert_array_equal(out.numpy(), gathered_rows(data, index))


def test_expansion_repeats_prompt_rows(rows):
    data = np.random.default_rng(1).standard_normal((2, 2, 5, 3)).astype(np.float32)
    out = rows.gather(ort.OrtValue.ortvalue_from_numpy(data), np.repeat(np.arange(2), 3), 2).numpy()
    np.testing.assert_array_equal(out, np.repeat(data, 3, axis=0))
    fused = np.random.default_rng(2).standard_normal((2 * 4, 3, 5)).astype(np.float32)  # 2 rows x 4 heads
    out = rows.gather(ort.OrtValue.ortvalue_from_numpy(fused), np.repeat(np.arange(2), 3), 2).numpy()
    np.testing.assert_array_equal(out, np.repeat(fused.reshape(2, 4, 3, 5), 3, axis=0).reshape(24, 3, 5))


def test_empty_sequence_axis_keeps_its_shape(rows):
    data = np.zeros((4, 2, 0, 3), np.float32)
    assert rows.gather(ort.OrtValue.ortvalue_from_numpy(data), np.array([3, 2, 1, 0]), 4).numpy().shape == data.shape


def test_c_level_values_stay_c_level(rows):
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    c_value = ort.OrtValue.ortvalue_from_numpy(data)._ortvalue
    out = rows.gather(c_value, np.array([2, 0, 1]), 3)
    assert not isinstance(out, ort.OrtValue) and type(out) is type(c_value)
    np.testing.assert_array_equal(out.numpy(), data[[2, 0, 1]])


def test_unsupported_dtype_is_a_clear_error(rows):
    with pytest.raises(UnsupportedModelError, match="tensor\\(double\\)"):
        rows.gather(ort.OrtValue.ortvalue_from_numpy(np.zeros((2, 2))), np.array([1, 0]), 2)


def test_gather_all_gives_each_tensor_its_own_fresh_result(rows):
    """One binding serves every tensor of a step: each result must be a new tensor, not the
    previous run's output buffer overwritten (that would alias two layers' caches)."""
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((4, 2, 3, 2)).astype(np.float32) for _ in range(3)]
    arrays.append(rng.standard_normal((4, 5)).astype(np.float16))  # a second element type
    index = np.array([2, 2, 0, 1])
    out = rows.gather_all([ort.OrtValue.ortvalue_from_numpy(a) for a in arrays], index, 4)
    for got, want in zip(out, arrays):
        np.testing.assert_array_equal(got.numpy(), want[index])
