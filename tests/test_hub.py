"""onnxformers.hub against a real HTTP server in the Hub's layout (tests/hub_server.py).

Two download paths exist (huggingface_hub.hf_hub_download, and the streaming downloader used with a
progress_callback or a custom remote_path_template); behaviour that both must share is parametrized
over them through the ``via`` fixture.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hub_server import (
    BAD_JSON,
    BERT_CONFIG,
    GATED,
    NO_ACCESS_TOKEN,
    PRIVATE,
    RENAMED,
    TINY_BERT,
    TINY_GPT2,
    VALID_TOKEN,
)
from onnxformers import errors
from onnxformers.env import env
from onnxformers.hub import (
    RepoNotFoundOrPrivateError,
    default_cache_dir,
    dispatch_progress,
    file_exists,
    get_json,
    is_repo_id,
    ready_event,
    resolve_file,
)

ONNX = "onnx/model.onnx"


@pytest.fixture(params=["hf_hub_download", "streaming"])
def via(request):
    """Call resolve_file through one of the two download paths (same arguments otherwise)."""

    def call(*args, **kwargs):
        if request.param == "streaming":
            kwargs.setdefault("progress_callback", lambda info: None)
        return resolve_file(*args, **kwargs)

    call.path = request.param
    return call


def _snapshot_dir(hub, repo_id, commit):
    return hub.cache_dir / ("models--" + repo_id.replace("/", "--")) / "snapshots" / commit


# --------------------------------------------------------------------------------------------------
# downloading and the cache


def test_download_lands_in_hf_cache_layout(hub, via):
    path = via(TINY_BERT, "config.json")
    commit = hub.server.commit(TINY_BERT)
    assert path == _snapshot_dir(hub, TINY_BERT, commit) / "config.json"
    assert path.read_bytes() == hub.server.file(TINY_BERT, "config.json")
    assert path.is_symlink() and path.resolve().parent.name == "blobs"
    ref = hub.cache_dir / "models--onnxformers-test--tiny-bert" / "refs" / "main"
    assert ref.read_text() == commit
    assert [r.method for r in hub.server.log] == ["HEAD", "GET"]


def test_lfs_file_follows_cdn_redirect(hub, via):
    path = via(TINY_BERT, "model.onnx", subfolder="onnx")
    data = hub.server.file(TINY_BERT, ONNX)
    assert path.read_bytes() == data
    # blob named by the sha256 (X-Linked-Etag), as huggingface_hub does for LFS files
    assert path.resolve().name == hashlib.sha256(data).hexdigest()
    assert len(hub.server.requests_for("/cdn/", "GET")) == 1


def test_second_load_makes_no_request(hub, via):
    first = [via(TINY_BERT, f) for f in ("config.json", "tokenizer.json", ONNX)]
    assert hub.server.total > 0
    hub.server.reset_counts()
    second = [via(TINY_BERT, f) for f in ("config.json", "tokenizer.json", ONNX)]
    assert second == first
    assert hub.server.total == 0


def test_both_download_paths_share_one_cache(hub):
    from huggingface_hub import hf_hub_download

    streamed = resolve_file(TINY_GPT2, ONNX, progress_callback=lambda i: None)
    # huggingface_hub itself finds the file offline in what the streaming downloader wrote
    found = hf_hub_download(TINY_GPT2, ONNX, cache_dir=hub.cache_dir, local_files_only=True)
    assert Path(found) == streamed
    # and the other way round
    via_hf = resolve_file(TINY_GPT2, "config.json")
    hub.server.reset_counts()
    assert resolve_file(TINY_GPT2, "config.json", progress_callback=lambda i: None) == via_hf
    assert hub.server.total == 0


def test_serving_a_folder(hub, tmp_path):
    folder = tmp_path / "tiny"
    (folder / "onnx").mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "gpt2"}')
    (folder / "onnx" / "model.onnx").write_bytes(bytes(range(256)) * 100)
    hub.server.add_repo_from_folder("onnxformers-test/from-folder", folder)
    path = resolve_file("onnxformers-test/from-folder", ONNX, progress_callback=lambda i: None)
    assert path.read_bytes() == (folder / "onnx" / "model.onnx").read_bytes()
    assert path != folder / "onnx" / "model.onnx"


def test_renamed_repo_relative_redirect(hub, via):
    path = via(RENAMED, "config.json")
    assert json.loads(path.read_text())["model_type"] == "bert"
    assert any(r.status == 307 for r in hub.server.log)


def test_concurrent_loads_download_once(hub, via):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(lambda _: via(TINY_BERT, ONNX), range(4)))
    assert len(set(paths)) == 1 and paths[0].read_bytes() == hub.server.file(TINY_BERT, ONNX)
    assert len(hub.server.requests_for("/cdn/", "GET")) == 1  # the blob lock serializes the download


# --------------------------------------------------------------------------------------------------
# offline


def test_offline_after_download(hub, via, monkeypatch):
    path = via(TINY_BERT, "config.json")
    hub.server.reset_counts()
    assert resolve_file(TINY_BERT, "config.json", local_files_only=True) == path
    env.allow_remote_models = False
    assert resolve_file(TINY_BERT, "config.json") == path
    # never downloaded: a typed error that says why, or None for an optional file
    with pytest.raises(errors.FileMissingError, match="tokenizer.json.*disabled"):
        resolve_file(TINY_BERT, "tokenizer.json")
    assert resolve_file(TINY_BERT, "tokenizer.json", required=False) is None
    with pytest.raises(errors.ModelNotFoundError, match="not in the download cache"):
        resolve_file(TINY_GPT2, "config.json")
    assert hub.server.total == 0


def test_local_files_only_before_any_download(hub):
    with pytest.raises(errors.ModelNotFoundError, match="local_files_only=True"):
        resolve_file(TINY_BERT, "config.json", local_files_only=True)
    assert hub.server.total == 0


def test_hf_hub_offline_env_var(hub, tmp_path):
    """HF_HUB_OFFLINE=1 in a fresh process: env.allow_remote_models is False, cached files still load,
    and nothing is requested (the server is not even given to the child)."""
    resolve_file(TINY_BERT, "config.json")
    hub.server.reset_counts()
    code = textwrap.dedent(
        f"""
        import json
        from onnxformers import env
        from onnxformers.hub import resolve_file
        from onnxformers.errors import FileMissingError
        assert env.allow_remote_models is False
        env.cache_dir = {str(hub.cache_dir)!r}
        env.local_model_path = {str(tmp_path / "none")!r}
        p = resolve_file({TINY_BERT!r}, "config.json")
        try:
            resolve_file({TINY_BERT!r}, "tokenizer.json")
            missing = "no error"
        except FileMissingError as e:
            missing = str(e)
        print(json.dumps({{"model_type": json.loads(p.read_text())["model_type"], "missing": missing}}))
        """
    )
    environ = dict(os.environ, HF_HUB_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9")
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["model_type"] == "bert"
    assert "disabled" in result["missing"] and "HF_HUB_OFFLINE" in result["missing"]
    assert hub.server.total == 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_host_is_a_hub_error(hub, via, monkeypatch):
    import time

    monkeypatch.setattr(time, "sleep", lambda s: None)  # huggingface_hub retries with back-off
    env.remote_host = f"http://127.0.0.1:{_closed_port()}/"
    with pytest.raises(
        errors.HubError, match="could not download 'config.json'.*could not be reached.*not in the cache"
    ) as info:
        via(TINY_BERT, "config.json")
    assert not isinstance(info.value, errors.ModelNotFoundError)


def test_unreachable_host_after_download_uses_cache(hub, via):
    path = via(TINY_BERT, "config.json")
    env.remote_host = f"http://127.0.0.1:{_closed_port()}/"
    assert via(TINY_BERT, "config.json") == path


# --------------------------------------------------------------------------------------------------
# revisions


def test_pinned_revision_gives_its_own_content(hub, via):
    main = via(TINY_BERT, "config.json")
    tagged = via(TINY_BERT, "config.json", revision="v1.0")
    assert json.loads(main.read_text())["hidden_size"] == 64
    assert json.loads(tagged.read_text())["hidden_size"] == 32
    assert tagged.parent.name == hub.server.commit(TINY_BERT, "v1.0")
    # a full commit sha works too, and is served from the cache when present
    sha = hub.server.commit(TINY_BERT, "v1.0")
    hub.server.reset_counts()
    assert via(TINY_BERT, "config.json", revision=sha) == tagged
    assert hub.server.total == 0
    # the file only exists on main
    with pytest.raises(errors.FileMissingError, match="v1.0"):
        via(TINY_BERT, "tokenizer_config.json", revision="v1.0")


def test_unknown_revision(hub, via):
    with pytest.raises(errors.ModelNotFoundError, match="revision 'no-such-branch'") as info:
        via(TINY_BERT, "config.json", revision="no-such-branch")
    assert not isinstance(info.value, errors.FileMissingError)


# --------------------------------------------------------------------------------------------------
# auth


def test_private_repo_needs_token(hub, via):
    with pytest.raises(errors.GatedRepoError, match="no token was sent"):
        via(PRIVATE, "config.json")
    path = via(PRIVATE, "config.json", token=VALID_TOKEN)
    assert json.loads(path.read_text())["secret"] is True
    heads = hub.server.requests_for("private-model/resolve/main/config.json", "HEAD")
    assert heads[-1].headers["authorization"] == f"Bearer {VALID_TOKEN}"


def test_token_from_env_and_env_var(hub, via, monkeypatch):
    env.token = VALID_TOKEN
    assert via(PRIVATE, "config.json").is_file()
    env.token = None
    monkeypatch.setenv("HF_TOKEN", VALID_TOKEN)  # picked up by huggingface_hub at request time
    assert via(PRIVATE, ONNX).is_file()


def test_token_false_sends_none(hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", VALID_TOKEN)
    with pytest.raises(errors.GatedRepoError):
        resolve_file(PRIVATE, "config.json", token=False)
    assert all("authorization" not in r.headers for r in hub.server.log)


def test_wrong_token_is_gated_error_not_not_found(hub, via):
    with pytest.raises(errors.GatedRepoError, match="rejected the token") as info:
        via(PRIVATE, "config.json", token="hf_wrong")
    assert not isinstance(info.value, errors.ModelNotFoundError)


def test_valid_token_without_access_to_private_repo(hub, via):
    with pytest.raises(errors.ModelNotFoundError, match="no access") as info:
        via(PRIVATE, "config.json", token=NO_ACCESS_TOKEN)
    assert not isinstance(info.value, errors.GatedRepoError)


def test_gated_repo(hub, via):
    with pytest.raises(errors.GatedRepoError, match="gated"):
        via(GATED, "config.json")
    with pytest.raises(errors.GatedRepoError, match="has no access"):
        via(GATED, "config.json", token=NO_ACCESS_TOKEN)
    assert via(GATED, "config.json", token=VALID_TOKEN).is_file()


def test_lfs_redirect_does_not_leak_token_to_cdn(hub, via):
    via(PRIVATE, ONNX, token=VALID_TOKEN)
    (cdn,) = hub.server.requests_for("/cdn/", "GET")
    assert "authorization" not in cdn.headers
    assert hub.server.requests_for("resolve/main/onnx", "HEAD")[0].headers["authorization"].endswith(VALID_TOKEN)


# --------------------------------------------------------------------------------------------------
# missing things


def test_missing_file(hub, via):
    with pytest.raises(errors.FileMissingError) as info:
        via(TINY_BERT, "missing.json")
    message = str(info.value)
    assert "missing.json" in message and TINY_BERT in message and "'main'" in message
    assert isinstance(info.value, FileNotFoundError)
    # optional: None, and the Hub's answer is remembered (.no_exist), so no request the second time
    assert via(TINY_BERT, "missing.json", required=False) is None
    hub.server.reset_counts()
    assert via(TINY_BERT, "missing.json", required=False) is None
    assert hub.server.total == 0


def test_unknown_repo(hub, via):
    with pytest.raises(errors.ModelNotFoundError, match="onnxformers-test/does-not-exist") as info:
        via("onnxformers-test/does-not-exist", "config.json")
    # without a token the Hub cannot tell "unknown" from "private": the error is both
    assert isinstance(info.value, RepoNotFoundOrPrivateError)
    assert isinstance(info.value, errors.GatedRepoError)
    with pytest.raises(errors.ModelNotFoundError) as info:
        via("onnxformers-test/does-not-exist", "config.json", token=VALID_TOKEN)
    assert not isinstance(info.value, errors.GatedRepoError)


@pytest.mark.parametrize("bad", ["./does/not/exist", "/definitely/not/here", "a/b/c", "../up", "no--pe"])
def test_nonexistent_local_path(hub, bad):
    with pytest.raises(errors.ModelNotFoundError, match="not an existing local folder"):
        resolve_file(bad, "config.json")
    with pytest.raises(errors.ModelNotFoundError):
        resolve_file(Path("does-not-exist-dir"), "config.json")  # a Path is never a repo id
    assert hub.server.total == 0


@pytest.mark.parametrize("name", ["../secret", "/etc/passwd", "onnx/../../x", ""])
def test_filename_cannot_escape_the_model(hub, name):
    with pytest.raises(errors.InvalidInputError):
        resolve_file(TINY_BERT, name)


def test_is_repo_id():
    assert is_repo_id("gpt2") and is_repo_id("Xenova/bert-base-uncased") and is_repo_id("a.b/c_d-e")
    for bad in ["a/b/c", "./x", "/x", "a--b", "a..b", "x.git", "", "a b", "a/"]:
        assert not is_repo_id(bad), bad


# --------------------------------------------------------------------------------------------------
# local folders


def test_local_folder(hub, tmp_path, monkeypatch):
    folder = tmp_path / "my-model"
    (folder / "onnx").mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "onnx" / "model.onnx").write_bytes(b"x" * 10)
    assert resolve_file(folder, "config.json") == folder / "config.json"
    assert resolve_file(str(folder), "model.onnx", subfolder="onnx") == folder / "onnx" / "model.onnx"
    monkeypatch.chdir(tmp_path)
    assert resolve_file("my-model", "config.json").resolve() == folder / "config.json"  # relative dir wins
    with pytest.raises(errors.FileMissingError, match="tokenizer.json.*local folder"):
        resolve_file(folder, "tokenizer.json")
    assert resolve_file(folder, "tokenizer.json", required=False) is None
    assert hub.server.total == 0


def test_local_model_path(hub):
    target = hub.models_dir / TINY_BERT / "config.json"
    target.parent.mkdir(parents=True)
    target.write_text('{"model_type": "from-local-model-path"}')
    assert resolve_file(TINY_BERT, "config.json") == target
    assert hub.server.total == 0
    # a file the local copy lacks still comes from the Hub
    assert resolve_file(TINY_BERT, "tokenizer.json").read_bytes() == hub.server.file(TINY_BERT, "tokenizer.json")
    env.allow_local_models = False
    assert resolve_file(TINY_BERT, "config.json") != target


# --------------------------------------------------------------------------------------------------
# progress events


def test_progress_events_on_download(hub):
    events = []
    path = resolve_file(TINY_BERT, "model.onnx", subfolder="onnx", progress_callback=events.append)
    size = len(hub.server.file(TINY_BERT, ONNX))
    assert path.stat().st_size == size
    statuses = [e["status"] for e in events]
    assert statuses[:2] == ["initiate", "download"] and statuses[-1] == "done"
    assert set(statuses[2:-1]) == {"progress"}
    progress = events[2:-1]
    assert len(progress) >= 4  # 300 kB in 64 KiB chunks
    for e in events:
        assert e["name"] == TINY_BERT and e["file"] == ONNX
    loaded = [e["loaded"] for e in progress]
    assert loaded == sorted(loaded) and loaded[-1] == size
    assert all(e["total"] == size for e in progress)
    assert progress[-1]["progress"] == pytest.approx(100.0)
    assert all(abs(e["progress"] - 100.0 * e["loaded"] / size) < 1e-9 for e in progress)
    assert set(progress[0]) == {"status", "name", "file", "progress", "loaded", "total"}


def test_progress_events_on_cache_hit_and_local(hub, tmp_path):
    resolve_file(TINY_BERT, "config.json")
    events = []
    resolve_file(TINY_BERT, "config.json", progress_callback=events.append)
    size = len(hub.server.file(TINY_BERT, "config.json"))
    assert [e["status"] for e in events] == ["initiate", "download", "progress", "done"]
    assert events[2]["loaded"] == events[2]["total"] == size and events[2]["progress"] == 100.0
    # a missing optional file: initiate only, then None (as Transformers.js)
    events.clear()
    assert resolve_file(TINY_BERT, "nope.json", required=False, progress_callback=events.append) is None
    assert [e["status"] for e in events] == ["initiate"]


def test_ready_event_helper():
    events = []
    dispatch_progress(events.append, ready_event("text-classification", TINY_BERT))
    dispatch_progress(None, ready_event("x", "y"))  # no callback: nothing happens
    assert events == [{"status": "ready", "task": "text-classification", "model": TINY_BERT}]


# --------------------------------------------------------------------------------------------------
# resume and broken connections


def test_resume_from_incomplete_blob(hub, via):
    data = hub.server.file(TINY_BERT, ONNX)
    sha = hashlib.sha256(data).hexdigest()
    blobs = hub.cache_dir / "models--onnxformers-test--tiny-bert" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / f"{sha}.incomplete").write_bytes(data[:100_000])
    path = via(TINY_BERT, ONNX)
    assert path.read_bytes() == data
    (get,) = hub.server.requests_for("/cdn/", "GET")
    assert get.headers.get("range") == "bytes=100000-" and get.status == 206


def test_broken_connection_is_resumed(hub):
    """The streaming downloader resumes a cut body within the same call (HTTP Range)."""
    data = hub.server.file(TINY_BERT, ONNX)
    hub.server.fail_once("/cdn/", after_bytes=70_000)
    events = []
    path = resolve_file(TINY_BERT, ONNX, progress_callback=events.append)
    assert path.read_bytes() == data
    gets = hub.server.requests_for("/cdn/", "GET")
    assert len(gets) == 2 and gets[1].headers["range"].startswith("bytes=")
    assert events[-2]["loaded"] == len(data)


def test_broken_connection_with_hf_hub_download(hub):
    """huggingface_hub does not retry a cut body: a HubError, and the next call completes the file (its
    resume from a partial blob is covered by test_resume_from_incomplete_blob)."""
    data = hub.server.file(TINY_GPT2, ONNX)
    hub.server.fail_once("/cdn/", after_bytes=20_000)
    with pytest.raises(errors.HubError, match="Connection broken"):
        resolve_file(TINY_GPT2, ONNX)
    assert resolve_file(TINY_GPT2, ONNX).read_bytes() == data


def test_corrupt_download_is_rejected(hub):
    """The streaming downloader checks LFS content against the sha256 ETag."""
    data = hub.server.file(TINY_GPT2, ONNX)
    sha = hashlib.sha256(data).hexdigest()
    blobs = hub.cache_dir / "models--tiny-gpt2" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / f"{sha}.incomplete").write_bytes(b"\0" * 1000)  # wrong prefix: resumed, but hash differs
    with pytest.raises(errors.HubError, match="corrupt"):
        resolve_file(TINY_GPT2, ONNX, progress_callback=lambda i: None)
    assert not (blobs / sha).exists() and not (blobs / f"{sha}.incomplete").exists()
    assert resolve_file(TINY_GPT2, ONNX, progress_callback=lambda i: None).read_bytes() == data


# --------------------------------------------------------------------------------------------------
# custom remote_path_template, use_fs_cache


def test_custom_template_on_hub_like_mirror(hub):
    from huggingface_hub import hf_hub_download

    env.remote_path_template = "mirror/{model}/resolve/{revision}/"
    path = resolve_file(TINY_BERT, "config.json", revision="v1.0")
    assert json.loads(path.read_text())["hidden_size"] == 32
    assert all(r.path.startswith("/mirror/") for r in hub.server.log)
    # same cache semantics: huggingface_hub finds it by revision name, offline
    assert (
        Path(hf_hub_download(TINY_BERT, "config.json", revision="v1.0", cache_dir=hub.cache_dir, local_files_only=True))
        == path
    )


def test_custom_template_on_static_mirror(hub):
    """A plain file server (no X-Repo-Commit, no ETag): snapshot keyed by revision, blob by sha256."""
    env.remote_path_template = "static/{model}/{revision}/"
    data = hub.server.file(TINY_BERT, ONNX)
    path = resolve_file(TINY_BERT, ONNX)
    assert path.read_bytes() == data
    assert path.parent.parent.name == "main" and path.resolve().name == hashlib.sha256(data).hexdigest()
    hub.server.reset_counts()
    assert resolve_file(TINY_BERT, ONNX) == path
    assert hub.server.total == 0
    with pytest.raises(errors.FileMissingError):
        resolve_file(TINY_BERT, "nope.json")


def test_use_fs_cache_false_keeps_env_cache_dir_untouched(hub):
    env.use_fs_cache = False
    path = resolve_file(TINY_BERT, "config.json")
    assert path.read_bytes() == hub.server.file(TINY_BERT, "config.json")
    assert not hub.cache_dir.exists()
    assert str(path).startswith(default_cache_dir())
    hub.server.reset_counts()
    assert resolve_file(TINY_BERT, "config.json") == path  # per-process cache still avoids re-downloads
    assert hub.server.total == 0


def test_default_cache_dir_precedence(hub, tmp_path):
    assert default_cache_dir() == str(hub.cache_dir)
    assert default_cache_dir(tmp_path / "explicit") == str(tmp_path / "explicit")
    env.cache_dir = None
    import huggingface_hub.constants as c

    assert default_cache_dir() == c.HF_HUB_CACHE


def test_explicit_cache_dir_argument(hub, tmp_path):
    other = tmp_path / "other-cache"
    path = resolve_file(TINY_BERT, "config.json", cache_dir=other)
    assert other in path.parents and not hub.cache_dir.exists()


# --------------------------------------------------------------------------------------------------
# get_json / file_exists


def test_get_json(hub, tmp_path):
    assert get_json(TINY_BERT, "config.json") == BERT_CONFIG
    assert get_json(TINY_BERT, "nope.json", required=False) is None
    with pytest.raises(errors.InvalidConfigError, match=r"config.json.*bad-json.*not valid JSON: .*line 1"):
        get_json(BAD_JSON, "config.json")
    bom = tmp_path / "bom"
    bom.mkdir()
    (bom / "x.json").write_bytes(b"\xef\xbb\xbf" + b'{"a": 1}')
    assert get_json(bom, "x.json") == {"a": 1}
    (bom / "latin1.json").write_bytes('{"a": "\xe9"}'.encode("latin-1"))
    with pytest.raises(errors.InvalidConfigError, match="latin1.json.*UTF-8"):
        get_json(bom, "latin1.json")


def test_file_exists_without_downloading(hub):
    assert file_exists(TINY_BERT, "config.json")
    assert file_exists(TINY_BERT, "model.onnx", subfolder="onnx")
    assert not file_exists(TINY_BERT, "nope.json")
    assert [r.method for r in hub.server.log] == ["HEAD", "HEAD", "HEAD"]
    assert not hub.cache_dir.joinpath("models--onnxformers-test--tiny-bert", "blobs").exists()
    with pytest.raises(errors.ModelNotFoundError):
        file_exists("onnxformers-test/does-not-exist", "config.json")
    env.allow_remote_models = False
    assert not file_exists(TINY_BERT, "config.json")
