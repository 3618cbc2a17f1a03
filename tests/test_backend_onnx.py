"""device= / dtype= mapping and session creation errors."""

import numpy as np
import pytest

from onnxformers import BackendError, UnknownDeviceError, UnknownDtypeError
from onnxformers.backends import onnx as backend


@pytest.mark.parametrize("dtype,name", [
    ("fp32", "onnx/model.onnx"), ("fp16", "onnx/model_fp16.onnx"),
    ("q8", "onnx/model_quantized.onnx"), ("int8", "onnx/model_int8.onnx"),
    ("uint8", "onnx/model_uint8.onnx"), ("q4", "onnx/model_q4.onnx"),
    ("q4f16", "onnx/model_q4f16.onnx"), ("bnb4", "onnx/model_bnb4.onnx"),
])
def test_dtype_file_names(dtype, name):
    assert backend.session_file_name("model", dtype, "onnx") == name


def test_file_name_without_subfolder():
    assert backend.session_file_name("encoder_model", "q8", "") == "encoder_model_quantized.onnx"


def test_per_file_dtype_dict_and_config_default():
    spec = {"encoder_model": "fp32", "decoder_model_merged": "q8"}
    assert backend.dtype_for_session("encoder_model", spec) == "fp32"
    assert backend.dtype_for_session("decoder_model_merged", spec) == "q8"
    # a file the dict does not name falls back to the config default, then fp32
    assert backend.dtype_for_session("model", spec, "q4") == "q4"
    assert backend.dtype_for_session("model", None, {"model": "fp16"}) == "fp16"
    assert backend.dtype_for_session("model", None, None) == "fp32"
    # an explicit call argument beats the config default
    assert backend.dtype_for_session("model", "q8", "fp16") == "q8"


def test_unknown_dtype_lists_valid_ones():
    with pytest.raises(UnknownDtypeError, match="q4f16"):
        backend.normalize_dtype("int3")
    with pytest.raises(UnknownDtypeError):
        backend.normalize_dtype(8)
    assert issubclass(UnknownDtypeError, ValueError)


def test_cpu_device_and_default():
    assert backend.providers_for_device(None) == ["CPUExecutionProvider"]
    assert backend.providers_for_device("CPU") == ["CPUExecutionProvider"]


def test_unknown_device_lists_valid_ones():
    with pytest.raises(UnknownDeviceError) as info:
        backend.providers_for_device("tpu")
    for name in ("cpu", "cuda", "gpu", "auto", "dml", "coreml"):
        assert name in str(info.value)


def test_gpu_and_auto_fall_back_to_cpu_with_warning(monkeypatch):
    monkeypatch.setattr(backend, "available_providers", lambda: ["CPUExecutionProvider"])
    for device in ("gpu", "auto"):
        with pytest.warns(RuntimeWarning, match="falling back to CPU"):
            assert backend.providers_for_device(device) == ["CPUExecutionProvider"]


def test_auto_prefers_gpu_when_available(monkeypatch):
    monkeypatch.setattr(backend, "available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert backend.providers_for_device("auto") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert backend.providers_for_device("cuda:1") == [
        ("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]


def test_explicit_gpu_device_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(backend, "available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(UnknownDeviceError, match="onnxruntime-gpu"):
        backend.providers_for_device("cuda")


def test_corrupt_onnx_file_raises_backend_error(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x08\x07this is not a protobuf" * 10)
    with pytest.raises(BackendError, match="model.onnx"):
        backend.create_session(bad)


def test_session_options_dict_is_applied_and_validated(tmp_path):
    opts = backend.make_session_options({"intra_op_num_threads": 1, "enable_profiling": False})
    assert opts.intra_op_num_threads == 1
    with pytest.raises(BackendError, match="no_such_option"):
        backend.make_session_options({"no_such_option": 1})


def test_physical_cores_is_positive():
    assert backend.physical_cores() >= 1


@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider' is not in available")
def test_cuda_sessions_preload_the_pip_cuda_libraries_once(tmp_path, monkeypatch):
    import onnxruntime as ort

    calls = []
    monkeypatch.setattr(ort, "preload_dlls", lambda: calls.append(1), raising=False)
    backend._preload_cuda_libraries.cache_clear()
    monkeypatch.setattr(backend, "providers_for_device", lambda device: (
        [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"] if device == "cuda"
        else ["CPUExecutionProvider"]))
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(BackendError):
        backend.create_session(bad, device="cpu")
    assert calls == []  # CPU sessions never touch CUDA
    for _ in range(2):
        with pytest.raises(BackendError):
            backend.create_session(bad, device="cuda")
    assert calls == [1]
    backend._preload_cuda_libraries.cache_clear()


def test_provider_options_merge_into_the_chosen_providers(monkeypatch):
    chosen = [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
    merged = backend.with_provider_options(chosen, {"CUDAExecutionProvider": {"use_tf32": 0},
                                                    "DmlExecutionProvider": {"x": 1}})
    assert merged == [("CUDAExecutionProvider", {"device_id": 1, "use_tf32": 0}), "CPUExecutionProvider"]
    assert chosen[0][1] == {"device_id": 1}  # the caller's list is not modified
    with pytest.raises(BackendError, match="provider_options"):
        backend.with_provider_options(chosen, {"CUDAExecutionProvider": 0})
    with pytest.raises(BackendError, match="provider_options"):
        backend.with_provider_options(chosen, ["use_tf32"])


def test_create_session_passes_provider_options_to_onnxruntime(tmp_path, monkeypatch):
    import onnxruntime as ort

    seen = {}

    def fake_session(path, sess_options=None, providers=None):
        seen["providers"] = providers
        return "session"

    monkeypatch.setattr(ort, "InferenceSession", fake_session)
    model = tmp_path / "model.onnx"
    model.write_bytes(b"")
    opts = {"provider_options": {"CPUExecutionProvider": {"arena_extend_strategy": "kSameAsRequested"}}}
    assert backend.create_session(model, session_options=opts) == "session"
    assert seen["providers"] == [("CPUExecutionProvider", {"arena_extend_strategy": "kSameAsRequested"})]
    backend.create_session(model, session_options={"providers": ["CPUExecutionProvider"]})
    assert seen["providers"] == ["CPUExecutionProvider"]
