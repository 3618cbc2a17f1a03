"""onnxformers.env: defaults, environment variables (read in fresh processes), validation, reset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import onnxformers
import pytest
from onnxformers.env import Environment, env, physical_core_count

_HF_VARS = (
    "HF_ENDPOINT",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_HOME",
    "HF_HUB_CACHE",
    "XDG_CACHE_HOME",
)


def run_fresh(code: str, **environ: str) -> dict:
    """Run ``code`` in a new interpreter with only the given HF variables set; it prints one JSON line."""
    child_env = {k: v for k, v in os.environ.items() if k not in _HF_VARS}
    child_env.update(environ)
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=child_env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


SETTINGS = """
import json
from onnxformers import env
print(json.dumps({n: getattr(env, n) for n in (
    "version", "allow_remote_models", "remote_host", "remote_path_template", "allow_local_models",
    "local_model_path", "cache_dir", "use_fs_cache", "token")}))
"""


def test_defaults_in_a_clean_process():
    got = run_fresh(SETTINGS)
    assert got == {
        "version": onnxformers.__version__,
        "allow_remote_models": True,
        "remote_host": "https://huggingface.co/",
        "remote_path_template": "{model}/resolve/{revision}/",
        "allow_local_models": True,
        "local_model_path": "models/",
        "cache_dir": None,
        "use_fs_cache": True,
        "token": None,
    }


@pytest.mark.parametrize(
    "environ, key, expected",
    [
        ({"HF_ENDPOINT": "http://mirror.local:8080"}, "remote_host", "http://mirror.local:8080/"),
        ({"HF_ENDPOINT": "https://hf-mirror.com/"}, "remote_host", "https://hf-mirror.com/"),
        ({"HF_TOKEN": "hf_abc"}, "token", "hf_abc"),
        ({"HUGGING_FACE_HUB_TOKEN": "hf_legacy"}, "token", "hf_legacy"),
        ({"HF_TOKEN": "hf_new", "HUGGING_FACE_HUB_TOKEN": "hf_legacy"}, "token", "hf_new"),
        ({"HF_HUB_OFFLINE": "1"}, "allow_remote_models", False),
        ({"HF_HUB_OFFLINE": "true"}, "allow_remote_models", False),
        ({"HF_HUB_OFFLINE": "0"}, "allow_remote_models", True),
        ({"TRANSFORMERS_OFFLINE": "1"}, "allow_remote_models", False),
    ],
)
def test_environment_variables(environ, key, expected):
    assert run_fresh(SETTINGS, **environ)[key] == expected


def test_offline_agrees_with_huggingface_hub():
    """Both libraries must read HF_HUB_OFFLINE the same way (huggingface_hub's `_is_true`)."""
    code = """
    import json, huggingface_hub.constants as c
    from onnxformers import env
    print(json.dumps([env.allow_remote_models, c.HF_HUB_OFFLINE]))
    """
    for value in ("1", "ON", "yes", "0", "off", ""):
        remote, hf_offline = run_fresh(code, HF_HUB_OFFLINE=value)
        assert remote is (not hf_offline), value


CACHE = """
import json
from onnxformers.hub import default_cache_dir
print(json.dumps(default_cache_dir()))
"""


def test_cache_dir_honours_hf_home_and_hf_hub_cache(tmp_path):
    assert run_fresh(CACHE, HF_HOME=str(tmp_path / "home")) == str(tmp_path / "home" / "hub")
    assert run_fresh(CACHE, HF_HOME=str(tmp_path / "home"), HF_HUB_CACHE=str(tmp_path / "hc")) == str(tmp_path / "hc")
    assert run_fresh(CACHE, XDG_CACHE_HOME=str(tmp_path / "xdg")) == str(tmp_path / "xdg" / "huggingface" / "hub")


def test_import_stays_cheap():
    """``import onnxformers`` and reading ``env`` must not pull in huggingface_hub, requests or onnxruntime."""
    code = """
    import json, sys
    import onnxformers
    onnxformers.env.allow_remote_models
    print(json.dumps(sorted(m for m in ("huggingface_hub", "requests", "onnxruntime", "numpy") if m in sys.modules)))
    """
    assert run_fresh(code) == []


def test_same_singleton_everywhere():
    import onnxformers.hub as hub

    assert onnxformers.env is env and hub.env is env and isinstance(env, Environment)
    # whatever is imported first, `onnxformers.env` is the settings object, never the submodule
    code = """
    import json
    import onnxformers.env, onnxformers.hub
    from onnxformers import env
    from onnxformers.env import Environment, env as env2
    print(json.dumps([isinstance(env, Environment), env is env2, onnxformers.hub.env is env]))
    """
    assert run_fresh(code) == [True, True, True]


def test_reset_rereads_environment(monkeypatch, restore_env):
    env.remote_host = "http://elsewhere/"
    env.allow_local_models = False
    env.backends.onnx.log_level = "error"
    monkeypatch.setenv("HF_ENDPOINT", "http://from-env:1234")
    monkeypatch.setenv("HF_TOKEN", "hf_reset")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    env.reset()
    assert env.remote_host == "http://from-env:1234/"
    assert env.token == "hf_reset"
    assert env.allow_remote_models is False
    assert env.allow_local_models is True
    assert env.backends.onnx.log_level == "warning"


def test_settings_are_mutable_and_validated(restore_env, tmp_path):
    env.allow_remote_models = False
    assert env.allow_remote_models is False
    env.local_model_path = tmp_path  # a Path is accepted, stored as str
    assert env.local_model_path == str(tmp_path)
    env.cache_dir = tmp_path / "c"
    assert env.cache_dir == str(tmp_path / "c")
    env.cache_dir = None
    env.token = ""
    assert env.token is None

    with pytest.raises(TypeError, match="remote_host"):
        env.remote_host = 123
    with pytest.raises(ValueError, match="http"):
        env.remote_host = "ftp://example.com/"
    with pytest.raises(TypeError, match="allow_remote_models"):
        env.allow_remote_models = "yes"
    with pytest.raises(TypeError):
        env.use_fs_cache = 1
    with pytest.raises(ValueError, match="{model}"):
        env.remote_path_template = "resolve/{revision}/"
    with pytest.raises(TypeError):
        env.cache_dir = 3
    with pytest.raises(TypeError):
        env.token = 42
    with pytest.raises(AttributeError):
        env.version = "9.9"


def test_js_style_names_get_a_hint():
    with pytest.raises(AttributeError, match="did you mean env.allow_remote_models"):
        env.allowRemoteModels = False
    with pytest.raises(AttributeError, match="did you mean env.local_model_path"):
        env.localModelPath = "/x"
    with pytest.raises(AttributeError, match="no setting 'nonsense'"):
        env.nonsense = 1
    with pytest.raises(AttributeError, match="intra_op_num_threads"):
        env.backends.onnx.intraOpNumThreads = 2


def test_repr_hides_token(restore_env):
    env.token = "hf_supersecretvalue"
    assert "supersecretvalue" not in repr(env) and "hf_s" in repr(env)


# --------------------------------------------------------------------------------------------------
# backends.onnx


def _cores_from_cpuinfo():
    """Independent count: distinct (physical id, core id) pairs in /proc/cpuinfo among allowed CPUs."""
    allowed = os.sched_getaffinity(0)
    pairs, cpu, phys, core = set(), None, "0", None
    for line in Path("/proc/cpuinfo").read_text().splitlines() + [""]:
        if not line.strip():
            if cpu is not None and cpu in allowed:
                pairs.add((phys, core if core is not None else cpu))
            cpu, phys, core = None, "0", None
            continue
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "processor":
            cpu = int(value)
        elif key == "physical id":
            phys = value
        elif key == "core id":
            core = value
    return len(pairs)


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="Linux only")
def test_default_intra_op_threads_is_physical_cores():
    onnx = Environment().backends.onnx
    assert onnx.intra_op_num_threads == physical_core_count()
    assert 1 <= onnx.intra_op_num_threads <= (os.cpu_count() or 1)
    expected = _cores_from_cpuinfo()
    if expected:  # some virtual CPUs expose no topology in cpuinfo
        assert physical_core_count() == expected


def test_onnx_backend_settings(restore_env):
    onnx = env.backends.onnx
    assert onnx.inter_op_num_threads == 1
    assert onnx.log_level == "warning" and onnx.log_severity_level == 2
    assert onnx.execution_providers is None
    onnx.log_severity_level = 3
    assert onnx.log_level == "error"
    onnx.log_level = "VERBOSE"
    assert onnx.log_severity_level == 0
    onnx.intra_op_num_threads = 3
    assert onnx.intra_op_num_threads == 3
    onnx.execution_providers = [
        "CUDAExecutionProvider",
        ("CPUExecutionProvider", {"arena_extend_strategy": "kSameAsRequested"}),
    ]
    assert onnx.execution_providers[0] == "CUDAExecutionProvider"

    with pytest.raises(ValueError):
        onnx.log_level = "loud"
    with pytest.raises(ValueError):
        onnx.log_severity_level = 7
    with pytest.raises(ValueError):
        onnx.intra_op_num_threads = -1
    with pytest.raises(TypeError):
        onnx.inter_op_num_threads = 2.5
    with pytest.raises(TypeError):
        onnx.intra_op_num_threads = True
    with pytest.raises(TypeError):
        onnx.execution_providers = "CPUExecutionProvider"  # a bare string is a common mistake
    with pytest.raises(TypeError):
        onnx.execution_providers = [("CPUExecutionProvider", "opts")]
    with pytest.raises(AttributeError):
        env.backends.onnx = None
