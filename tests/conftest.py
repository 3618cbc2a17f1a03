"""Shared pytest fixtures.

Sections: (1) process-wide test settings, (2) the local Hub server and its fixture repos. Add new
fixtures in their own section below; keep imports of heavy modules inside fixtures.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

# ---------------------------------------------------------------------------------------------------
# (1) process-wide settings: quiet, telemetry-free huggingface_hub (read when it is first imported)

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


# ---------------------------------------------------------------------------------------------------
# (2) a local Hub: `hub_server` (session, read-only content) and `hub` (env pointed at it, per test)

from hub_server import HubServer, build_test_repos  # noqa: E402


@dataclass
class HubFixture:
    """What tests need to know about the local Hub (and, from the ``hub`` fixture, their own cache)."""

    server: HubServer
    cache_dir: Path = Path()
    models_dir: Path = Path()

    @property
    def url(self) -> str:
        return self.server.url

    def sha256(self, repo_id: str, path: str, ref: str = "main") -> str:
        return hashlib.sha256(self.server.file(repo_id, path, ref)).hexdigest()


@pytest.fixture(scope="session")
def hub_server() -> Iterator[HubServer]:
    """The local Hub, started once per session, serving ``hub_server.build_test_repos`` (repo ids and
    tokens are constants of ``hub_server``: TINY_BERT, PRIVATE, VALID_TOKEN…). To serve more, e.g. a tiny
    model folder: ``hub_server.add_repo_from_folder("org/tiny", path)`` in your own (session) fixture."""
    server = HubServer()
    build_test_repos(server)
    server.start()
    try:
        yield server
    finally:
        server.stop()


_ENV_FIELDS = (
    "allow_remote_models",
    "remote_host",
    "remote_path_template",
    "allow_local_models",
    "local_model_path",
    "cache_dir",
    "use_fs_cache",
    "token",
)


@pytest.fixture
def restore_env() -> Iterator[None]:
    """Snapshot ``onnxformers.env`` (and ``env.backends.onnx``) and restore it after the test."""
    from onnxformers.env import env

    onnx = env.backends.onnx
    saved = {name: getattr(env, name) for name in _ENV_FIELDS}
    saved_onnx = (onnx._intra, onnx.inter_op_num_threads, onnx.log_level, onnx.execution_providers)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(env, name, value)
        object.__setattr__(onnx, "_intra", saved_onnx[0])
        onnx.inter_op_num_threads, onnx.log_level, onnx.execution_providers = saved_onnx[1:]


@pytest.fixture
def hub(hub_server: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_env) -> Iterator[HubFixture]:
    """``env`` pointed at the local Hub with an isolated, empty cache (``hub.cache_dir``) and local model
    folder (``hub.models_dir``, not created); no token from the developer's machine leaks in; request
    counters start at zero. Everything is restored afterwards."""
    import huggingface_hub.constants as hf_constants
    from huggingface_hub.utils import reset_sessions
    from onnxformers.env import env

    cache = tmp_path / "hf-cache"
    models = tmp_path / "models"
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_DISABLE_IMPLICIT_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-stored-token"))
    monkeypatch.setattr(hf_constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-stored-tokens"), raising=False)
    # A runner may export HF_HUB_OFFLINE=1 to keep tests off the Internet; this server is local.
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    reset_sessions()  # sessions built in offline mode would refuse every request

    env.remote_host = hub_server.url + "/"
    env.remote_path_template = "{model}/resolve/{revision}/"
    env.allow_remote_models = True
    env.allow_local_models = True
    env.local_model_path = str(models)
    env.cache_dir = str(cache)
    env.use_fs_cache = True
    env.token = None
    hub_server.reset_counts()
    try:
        yield HubFixture(server=hub_server, cache_dir=cache, models_dir=models)
    finally:
        monkeypatch.undo()
        reset_sessions()
