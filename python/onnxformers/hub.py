"""Resolve a model's files: ONE place that every loader (configs, tokenizers, processors, models) uses.

The port of Transformers.js' ``utils/hub`` (``getModelFile`` / ``getModelJSON``), returning local paths
instead of byte buffers so that ONNX Runtime can memory-map large weights.

Lookup order for ``resolve_file(path_or_repo_id, filename)``:

1. ``path_or_repo_id`` is an existing local directory (absolute, relative, ``~``) → the file inside it,
   or :class:`FileMissingError` (never falls through to the Hub). A ``pathlib.Path`` is always a local
   path. A string that is neither an existing directory nor a valid repo id (``name`` or ``org/name``,
   as huggingface_hub validates them) → :class:`ModelNotFoundError`.
2. If ``env.allow_local_models``: ``<env.local_model_path>/<repo_id>/<subfolder>/<filename>``.
3. The download cache (huggingface_hub's layout: ``models--org--name/{refs,blobs,snapshots}``), for the
   requested ``revision``. Like Transformers.js, a cached file is returned **without any request**:
   a second load is fully offline. (A moving branch such as ``main`` is therefore not re-validated;
   pass a commit sha, or clear the cache, to pick up a new upstream commit.) A ``.no_exist`` marker
   left by an earlier 404 answers an optional (``required=False``) file without a request as well.
4. If ``env.allow_remote_models`` and not ``local_files_only``: download from ``env.remote_host``.
   Without a ``progress_callback`` and with the default ``env.remote_path_template`` this is
   :func:`huggingface_hub.hf_hub_download` (shared cache, locks, resume, xet), with
   ``endpoint=env.remote_host``. With a ``progress_callback`` (huggingface_hub 0.36 has no hook that
   reports bytes to a caller) or a custom ``remote_path_template`` (huggingface_hub can only build Hub
   URLs), a small streaming downloader in this module fetches
   ``remote_host + template.format(model, revision) + file`` and stores it with the **same cache
   semantics**: ``HEAD`` for ``X-Repo-Commit``/``ETag``/size, ``blobs/<etag>`` written through
   ``<etag>.incomplete`` with HTTP Range resume and the same lock file, ``snapshots/<commit>/<file>``
   symlinks and ``refs/<revision>``, so either path finds what the other downloaded. Against a plain
   static mirror without ``X-Repo-Commit``/``ETag`` the snapshot is keyed by the revision name and the
   blob by the content's sha256.
5. Otherwise (offline) nothing else is tried: :class:`FileMissingError` / :class:`ModelNotFoundError`
   saying remote loading is disabled, or ``None`` when ``required=False``.

Errors are translated to :mod:`onnxformers.errors` and name the file, repo, revision and host.
huggingface_hub is imported lazily so that ``import onnxformers`` stays cheap.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple, Union
from urllib.parse import quote, urlparse

from .env import DEFAULT_REMOTE_PATH_TEMPLATE, env
from .errors import (
    FileMissingError,
    GatedRepoError,
    HubError,
    InvalidConfigError,
    InvalidInputError,
    ModelNotFoundError,
)

__all__ = [
    "resolve_file",
    "get_json",
    "file_exists",
    "load_json_file",
    "default_cache_dir",
    "is_repo_id",
    "dispatch_progress",
    "ready_event",
    "RepoNotFoundOrPrivateError",
    "ProgressCallback",
]

ProgressCallback = Callable[[Dict[str, Any]], Any]
PathOrRepo = Union[str, "os.PathLike[str]"]

#: Bytes per read while streaming a download (one ``progress`` event per chunk).
DOWNLOAD_CHUNK_SIZE = 64 * 1024
#: Seconds to wait for the HEAD / the first byte.
REQUEST_TIMEOUT = 10.0
#: Times a download broken mid-stream is resumed (HTTP Range) before giving up.
MAX_RESUMES = 3

_REPO_ID = re.compile(r"^(\b[\w\-.]+\b/)?\b[\w\-.]{1,96}\b$")  # huggingface_hub's REPO_ID_REGEX
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class RepoNotFoundOrPrivateError(ModelNotFoundError, GatedRepoError):
    """The Hub answered "repository not found" to a request that carried no token.

    The Hub gives the same 401 for a repo that does not exist and for a private or gated one when
    nobody is authenticated, so this error is honestly both: ``except ModelNotFoundError`` and
    ``except GatedRepoError`` (or ``PermissionError``) each catch it.
    """


# --------------------------------------------------------------------------------------------------
# progress events (the docs' ProgressInfo dicts)


def dispatch_progress(callback: Optional[ProgressCallback], info: Dict[str, Any]) -> None:
    """Call ``callback(info)`` if a callback was given (exceptions propagate: they are user bugs)."""
    if callback is not None:
        callback(info)


def ready_event(task: str, model: str) -> Dict[str, Any]:
    """The ``{"status": "ready", "task", "model"}`` event that a pipeline sends once it is loaded."""
    return {"status": "ready", "task": task, "model": model}


def _progress(name: str, file: str, loaded: int, total: int) -> Dict[str, Any]:
    # Transformers.js' readResponse: progress = total ? loaded / total * 100 : 0
    return {
        "status": "progress",
        "name": name,
        "file": file,
        "progress": (loaded / total * 100.0) if total else 0.0,
        "loaded": loaded,
        "total": total,
    }


def _emit_whole_file(cb: Optional[ProgressCallback], name: str, file: str, path: Path) -> Path:
    """Events for a file that is already on disk: download, one 100 % progress, done (as Transformers.js
    does for a cache hit)."""
    if cb is not None:
        size = path.stat().st_size
        cb({"status": "download", "name": name, "file": file})
        cb(_progress(name, file, size, size))
        cb({"status": "done", "name": name, "file": file})
    return path


# --------------------------------------------------------------------------------------------------
# small helpers


def is_repo_id(value: str) -> bool:
    """Whether ``value`` is a syntactically valid Hub repo id (``name`` or ``org/name``)."""
    return bool(_REPO_ID.match(value)) and "--" not in value and ".." not in value and not value.endswith(".git")


def _repo_path(subfolder: str, filename: str) -> str:
    """``subfolder/filename`` with forward slashes; rejects absolute paths and ``..`` (a config value
    must not be able to escape the model folder)."""
    if not isinstance(filename, str) or not filename:
        raise InvalidInputError(f"filename must be a non-empty str, got {filename!r}")
    if subfolder is None:
        subfolder = ""
    if not isinstance(subfolder, str):
        raise InvalidInputError(f"subfolder must be a str, got {subfolder!r}")
    parts = [p for p in f"{subfolder}/{filename}".replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or filename.startswith("/"):
        raise InvalidInputError(f"invalid file path {filename!r} (subfolder {subfolder!r}) inside a model")
    return "/".join(parts)


def _repo_folder(repo_id: str) -> str:
    return "--".join(["models", *repo_id.split("/")])


_TMP_CACHE: Optional[str] = None
_TMP_LOCK = threading.Lock()


def default_cache_dir(cache_dir: Union[str, os.PathLike, None] = None) -> str:
    """The download cache actually used.

    ``cache_dir`` argument > ``env.cache_dir`` > huggingface_hub's cache (``HF_HUB_CACHE``, else
    ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``). With ``env.use_fs_cache = False`` nothing is
    kept on disk between processes, whatever the folders say (as Transformers.js' ``useFSCache``): files
    go to a per-process temporary folder that is removed at exit.
    """
    global _TMP_CACHE
    if not env.use_fs_cache:
        with _TMP_LOCK:
            if _TMP_CACHE is None:
                _TMP_CACHE = tempfile.mkdtemp(prefix="onnxformers-cache-")
                atexit.register(shutil.rmtree, _TMP_CACHE, True)
            return _TMP_CACHE
    if cache_dir is not None:
        return os.fspath(cache_dir)
    if env.cache_dir is not None:
        return env.cache_dir
    from huggingface_hub import constants

    return constants.HF_HUB_CACHE


def _endpoint() -> str:
    return env.remote_host.rstrip("/")


def _remote_url(repo_id: str, revision: str, rel: str) -> str:
    # Transformers.js: pathJoin(remoteHost, template.replaceAll('{model}', id)
    #                                              .replaceAll('{revision}', encodeURIComponent(rev)), file)
    path = env.remote_path_template.replace("{model}", repo_id).replace("{revision}", quote(revision, safe=""))
    return f"{_endpoint()}/{path.strip('/')}/{quote(rel)}"


def _library_headers(token: Union[str, bool, None]) -> Tuple[Dict[str, str], Union[str, bool]]:
    """Headers for every request (user agent, auth) and the token to hand to huggingface_hub.

    ``token``: a str is sent; ``False`` sends nothing; ``None`` → ``env.token`` → the login token /
    ``HF_TOKEN`` as huggingface_hub finds it. Returns the token as a str, or ``False`` when none is sent,
    so huggingface_hub never adds one behind our back and we know whether one was sent."""
    from huggingface_hub.utils import build_hf_headers

    from . import __version__

    if token is None:
        token = env.token
    headers = build_hf_headers(token=token, library_name="onnxformers", library_version=__version__)
    auth = headers.get("authorization")
    sent: Union[str, bool] = auth[len("Bearer ") :] if auth and auth.startswith("Bearer ") else False
    return headers, sent


def _cache_lookup(repo_id: str, rel: str, revision: str, cache: str) -> Union[Path, bool, None]:
    """``Path`` if cached, ``False`` if a ``.no_exist`` marker says the file is absent, else ``None``."""
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.file_download import _CACHED_NO_EXIST

    found = try_to_load_from_cache(repo_id, rel, cache_dir=cache, revision=revision)
    if isinstance(found, str):
        return Path(found)
    if found is _CACHED_NO_EXIST:
        return False
    return None


# --------------------------------------------------------------------------------------------------
# public API


#: the loading options that file resolution takes (every from_pretrained accepts them)
HUB_OPTIONS = ("revision", "cache_dir", "local_files_only", "token", "progress_callback")


def hub_options(options: Any) -> Dict[str, Any]:
    """The subset of ``options`` (a mapping of loading options) that :func:`resolve_file` takes."""
    return {k: options[k] for k in HUB_OPTIONS if options.get(k) is not None}


def resolve_file(
    path_or_repo_id: PathOrRepo,
    filename: str,
    *,
    revision: Optional[str] = "main",
    cache_dir: Union[str, os.PathLike, None] = None,
    local_files_only: bool = False,
    token: Union[str, bool, None] = None,
    subfolder: str = "",
    required: bool = True,
    progress_callback: Optional[ProgressCallback] = None,
) -> Optional[Path]:
    """Return the local path of ``subfolder/filename`` of a model, downloading it if needed.

    Args:
        path_or_repo_id: a Hub repo id (``"Xenova/gpt2"``) or a local directory.
        filename: file inside the model (``"config.json"``, ``"model.onnx"``).
        revision: branch, tag or commit sha (ignored for local folders).
        cache_dir: download cache; default :func:`default_cache_dir`.
        local_files_only: never touch the network (same as ``env.allow_remote_models = False``).
        token: Hub token; ``None`` → ``env.token`` → ``HF_TOKEN`` / login; ``False`` → send none.
        subfolder: folder inside the model (``"onnx"``).
        required: when ``False`` a missing file returns ``None`` instead of raising
            :class:`FileMissingError` (other errors still raise).
        progress_callback: receives ``{"status": "initiate"|"download"|"progress"|"done", "name",
            "file", ...}`` dicts; ``progress`` events carry ``progress`` (0-100), ``loaded``, ``total``.

    Raises:
        FileMissingError: the model exists but lacks the file.
        ModelNotFoundError: unknown repo, revision or local path.
        GatedRepoError: private/gated repo without a valid token, or the token was rejected.
        HubError: the host could not be reached (or failed) and the file is not cached.
    """
    if isinstance(path_or_repo_id, os.PathLike):
        name, is_path = os.fspath(path_or_repo_id), True
    elif isinstance(path_or_repo_id, str) and path_or_repo_id:
        name, is_path = path_or_repo_id, False
    else:
        raise InvalidInputError(f"path_or_repo_id must be a non-empty str or a path, got {path_or_repo_id!r}")
    rel = _repo_path(subfolder, filename)
    revision = revision or "main"
    cb = progress_callback
    dispatch_progress(cb, {"status": "initiate", "name": name, "file": rel})

    # 1. an explicit local folder
    folder = Path(os.path.expanduser(name))
    if folder.is_dir():
        candidate = folder / rel
        if candidate.is_file():
            return _emit_whole_file(cb, name, rel, candidate)
        return _missing(required, f"{rel!r} was not found in the local folder {str(folder)!r}")
    if is_path or not is_repo_id(name):
        raise ModelNotFoundError(
            f"{name!r} is not an existing local folder (looked in {os.getcwd()!r} for relative paths), "
            "nor a valid Hugging Face Hub repo id ('name' or 'org/name')"
        )

    # 2. <env.local_model_path>/<repo_id>/
    if env.allow_local_models:
        candidate = Path(os.path.expanduser(env.local_model_path)) / name / rel
        if candidate.is_file():
            return _emit_whole_file(cb, name, rel, candidate)

    # 3. the download cache: no request when the file is there
    cache = default_cache_dir(cache_dir)
    remote = env.allow_remote_models and not local_files_only
    hit = _cache_lookup(name, rel, revision, cache)
    if isinstance(hit, Path):
        return _emit_whole_file(cb, name, rel, hit)
    if hit is False and (not remote or not required):
        return _missing(
            required, f"{rel!r} does not exist in {name!r} at revision {revision!r} (cached answer in {cache})"
        )

    # 5. offline
    if not remote:
        why = "local_files_only=True" if local_files_only else "env.allow_remote_models is False (HF_HUB_OFFLINE?)"
        if not required:
            return None
        local_note = f" nor under env.local_model_path ({env.local_model_path!r})" if env.allow_local_models else ""
        if not (Path(cache) / _repo_folder(name)).is_dir():
            raise ModelNotFoundError(
                f"{name!r} is not in the download cache ({cache}){local_note}, and downloading is disabled: {why}"
            )
        raise FileMissingError(
            f"{rel!r} of {name!r} at revision {revision!r} is not in the download cache ({cache}){local_note}, "
            f"and downloading is disabled: {why}"
        )

    # 4. download
    headers, sent = _library_headers(token)
    try:
        if cb is None and env.remote_path_template == DEFAULT_REMOTE_PATH_TEMPLATE:
            from huggingface_hub import hf_hub_download

            path = hf_hub_download(
                name,
                rel,
                revision=revision,
                cache_dir=cache,
                token=sent,
                endpoint=_endpoint(),
                headers={"user-agent": headers["user-agent"]},
            )
            return Path(path)
        return _download(name, rel, revision, cache, headers, sent, cb)
    except Exception as exc:  # noqa: BLE001 - translated below, re-raised if unknown
        translated = _translate(exc, name=name, rel=rel, revision=revision, cache=cache, token_sent=bool(sent))
        if translated is None:
            raise
        if isinstance(translated, FileMissingError) and not required:
            return None
        raise translated from exc


def get_json(
    path_or_repo_id: PathOrRepo,
    filename: str,
    *,
    revision: Optional[str] = "main",
    cache_dir: Union[str, os.PathLike, None] = None,
    local_files_only: bool = False,
    token: Union[str, bool, None] = None,
    subfolder: str = "",
    required: bool = True,
    progress_callback: Optional[ProgressCallback] = None,
) -> Any:
    """Resolve ``filename`` like :func:`resolve_file` and parse it as JSON (``None`` if optional and
    missing). Invalid JSON raises :class:`InvalidConfigError` naming the file."""
    path = resolve_file(
        path_or_repo_id,
        filename,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
        subfolder=subfolder,
        required=required,
        progress_callback=progress_callback,
    )
    if path is None:
        return None
    return load_json_file(path, label=f"{_repo_path(subfolder, filename)!r} of {os.fspath(path_or_repo_id)!r}")


def load_json_file(path: Union[str, os.PathLike], *, label: Optional[str] = None) -> Any:
    """Parse a JSON file; malformed content raises :class:`InvalidConfigError` naming the file."""
    path = Path(path)
    what = f"{label} ({path})" if label else str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: tolerate a BOM, as JSON.parse on a Response does
    except UnicodeDecodeError as exc:
        raise InvalidConfigError(f"{what} is not UTF-8 text: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidConfigError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc


def file_exists(
    path_or_repo_id: PathOrRepo,
    filename: str,
    *,
    revision: Optional[str] = "main",
    cache_dir: Union[str, os.PathLike, None] = None,
    local_files_only: bool = False,
    token: Union[str, bool, None] = None,
    subfolder: str = "",
) -> bool:
    """Whether the model has ``subfolder/filename``, without downloading it (one HEAD at most).

    Offline, only local folders and the cache are consulted. Unknown repos and auth failures raise the
    same errors as :func:`resolve_file`."""
    name = os.fspath(path_or_repo_id)
    rel = _repo_path(subfolder, filename)
    revision = revision or "main"
    folder = Path(os.path.expanduser(name))
    if folder.is_dir():
        return (folder / rel).is_file()
    if isinstance(path_or_repo_id, os.PathLike) or not is_repo_id(name):
        return False
    if env.allow_local_models and (Path(os.path.expanduser(env.local_model_path)) / name / rel).is_file():
        return True
    cache = default_cache_dir(cache_dir)
    hit = _cache_lookup(name, rel, revision, cache)
    if hit is not None:
        return isinstance(hit, Path)
    if not env.allow_remote_models or local_files_only:
        return False
    headers, sent = _library_headers(token)
    try:
        from huggingface_hub import get_hf_file_metadata

        get_hf_file_metadata(
            _remote_url(name, revision, rel),
            token=sent,
            timeout=REQUEST_TIMEOUT,
            headers={"user-agent": headers["user-agent"]},
        )
        return True
    except Exception as exc:  # noqa: BLE001
        translated = _translate(exc, name=name, rel=rel, revision=revision, cache=cache, token_sent=bool(sent))
        if translated is None:
            raise
        if isinstance(translated, FileMissingError):
            return False
        raise translated from exc


def _missing(required: bool, message: str) -> None:
    if required:
        raise FileMissingError(message)
    return None


# --------------------------------------------------------------------------------------------------
# error translation


def _translate(
    exc: BaseException, *, name: str, rel: str, revision: str, cache: str, token_sent: bool
) -> Optional[Exception]:
    """Map a huggingface_hub / requests exception to ours; ``None`` for anything unexpected."""
    import requests
    from huggingface_hub import errors as hf

    host = _endpoint()
    where = f"{rel!r} of {name!r} (revision {revision!r}) from {host}"
    no_token = "no token was sent (pass token=..., set HF_TOKEN, or set env.token)"

    if isinstance(exc, (ModelNotFoundError, HubError)):
        return exc  # already ours (raised by the downloader)
    # order matters: LocalEntryNotFoundError < EntryNotFoundError, GatedRepoError < RepositoryNotFoundError
    if isinstance(exc, hf.LocalEntryNotFoundError) or isinstance(
        exc, (requests.ConnectionError, requests.Timeout, hf.OfflineModeIsEnabled)
    ):
        return HubError(
            f"could not download {where}: the host could not be reached and the file is not in the cache "
            f"({cache}). Check the network and env.remote_host / HF_ENDPOINT. Cause: {_reason(exc)}"
        )
    if isinstance(exc, hf.EntryNotFoundError):
        return FileMissingError(f"{rel!r} was not found in {name!r} at revision {revision!r} on {host}")
    if isinstance(exc, hf.RevisionNotFoundError):
        return ModelNotFoundError(f"revision {revision!r} does not exist in {name!r} on {host}")
    if isinstance(exc, hf.GatedRepoError):
        detail = no_token if not token_sent else "the token sent has no access: accept the repo's conditions on the Hub"
        return GatedRepoError(f"{name!r} on {host} is gated: {detail}")
    if isinstance(exc, hf.RepositoryNotFoundError):
        if not token_sent:
            return RepoNotFoundOrPrivateError(
                f"{name!r} was not found on {host}: it does not exist, or it is private or gated and {no_token}. "
                f"(It is not a local folder either, relative to {os.getcwd()!r}.)"
            )
        return ModelNotFoundError(
            f"{name!r} was not found on {host}, or the token sent has no access to it "
            f"(it is not a local folder either, relative to {os.getcwd()!r})"
        )
    if isinstance(exc, hf.HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status == 401:
            return GatedRepoError(f"{host} rejected the token sent for {name!r} (HTTP 401: invalid credentials)")
        if status == 403:
            return GatedRepoError(f"{host} refused access to {name!r} (HTTP 403): check the token's permissions")
        if status == 404:
            return FileMissingError(f"{rel!r} was not found in {name!r} at revision {revision!r} on {host} (HTTP 404)")
        return HubError(f"could not download {where}: HTTP {status} ({_reason(exc)})")
    if isinstance(exc, (hf.FileMetadataError, requests.RequestException)):
        return HubError(f"could not download {where}: {_reason(exc)}")
    return None


def _reason(exc: BaseException) -> str:
    """First line of the error, plus its cause's (huggingface_hub wraps the connection error)."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    text = lines[0].strip() if lines else type(exc).__name__
    cause = exc.__cause__
    if cause is not None:
        clines = [line for line in str(cause).splitlines() if line.strip()]
        text += f" (caused by {type(cause).__name__}: {clines[0].strip() if clines else ''})"
    return text


# --------------------------------------------------------------------------------------------------
# the streaming downloader (progress events, custom path templates), same cache layout as huggingface_hub


def _download(
    repo_id: str,
    rel: str,
    revision: str,
    cache: str,
    headers: Dict[str, str],
    token: Union[str, bool],
    cb: Optional[ProgressCallback],
) -> Path:
    from filelock import FileLock
    from huggingface_hub import errors as hf
    from huggingface_hub import get_hf_file_metadata

    url = _remote_url(repo_id, revision, rel)
    storage = Path(cache) / _repo_folder(repo_id)
    try:
        meta = get_hf_file_metadata(
            url, token=token, timeout=REQUEST_TIMEOUT, headers={"user-agent": headers["user-agent"]}
        )
    except hf.EntryNotFoundError as exc:
        # remember the absence, as huggingface_hub does, so an optional file costs no request next time
        commit = exc.response.headers.get("X-Repo-Commit") if exc.response is not None else None
        if commit:
            marker = storage / ".no_exist" / commit / rel
            try:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()
                _write_ref(storage, revision, commit)
            except OSError:
                pass
        raise

    # A static mirror may send neither: key the snapshot by the revision name, the blob by its sha256.
    commit = meta.commit_hash or revision
    etag = meta.etag
    size = meta.size
    location = meta.location or url
    pointer = storage / "snapshots" / commit / rel
    get_headers = dict(headers)
    get_headers["Accept-Encoding"] = "identity"  # sizes and Range offsets must be of the real bytes
    if urlparse(location).netloc != urlparse(url).netloc:
        get_headers.pop("authorization", None)  # signed CDN URL: never leak the token to another host

    if os.path.exists(pointer):
        _write_ref(storage, revision, commit)
        return _emit_whole_file(cb, repo_id, rel, pointer)

    locks = Path(cache) / ".locks" / _repo_folder(repo_id)
    locks.mkdir(parents=True, exist_ok=True)
    blobs = storage / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)

    if etag:
        blob = blobs / etag
        with FileLock(str(locks / f"{etag}.lock")):  # same lock file as huggingface_hub
            if blob.exists():
                _link(blob, pointer)
                _write_ref(storage, revision, commit)
                return _emit_whole_file(cb, repo_id, rel, pointer)
            dispatch_progress(cb, {"status": "download", "name": repo_id, "file": rel})
            incomplete = blobs / f"{etag}.incomplete"
            expect_sha = etag if _SHA256.match(etag) else None
            _stream(location, incomplete, get_headers, size, expect_sha, cb, repo_id, rel)
            os.replace(incomplete, blob)
            _link(blob, pointer)
    else:
        dispatch_progress(cb, {"status": "download", "name": repo_id, "file": rel})
        incomplete = blobs / f"tmp-{uuid.uuid4().hex}.incomplete"
        try:
            digest = _stream(location, incomplete, get_headers, size, None, cb, repo_id, rel)
            blob = blobs / digest
            with FileLock(str(locks / f"{digest}.lock")):
                if blob.exists():
                    incomplete.unlink()
                else:
                    os.replace(incomplete, blob)
                _link(blob, pointer)
        finally:
            if incomplete.exists():
                incomplete.unlink()
    _write_ref(storage, revision, commit)
    dispatch_progress(cb, {"status": "done", "name": repo_id, "file": rel})
    return pointer


def _stream(
    url: str,
    incomplete: Path,
    headers: Dict[str, str],
    expected: Optional[int],
    expected_sha256: Optional[str],
    cb: Optional[ProgressCallback],
    name: str,
    rel: str,
) -> str:
    """GET ``url`` into ``incomplete``, resuming what is already there (HTTP Range) and after broken
    connections. Checks the size and, when the ETag is a sha256 (LFS files), the content. Returns the
    sha256 hex digest."""
    import requests
    from huggingface_hub.utils import hf_raise_for_status, http_backoff

    hasher, hashed = hashlib.sha256(), 0
    resumes = 0
    with open(incomplete, "ab+") as f:
        while True:
            f.seek(0, os.SEEK_END)
            have = f.tell()
            if expected is not None and have > expected:
                f.truncate(0)
                have = 0
            if have != hashed:  # (re)hash the bytes kept from an earlier attempt
                hasher, hashed = hashlib.sha256(), 0
                f.seek(0)
                while hashed < have:
                    block = f.read(min(1 << 20, have - hashed))
                    hasher.update(block)
                    hashed += len(block)
            if expected is not None and have == expected:
                break
            req_headers = dict(headers)
            if have:
                req_headers["Range"] = f"bytes={have}-"
            response = http_backoff("GET", url, headers=req_headers, stream=True, timeout=REQUEST_TIMEOUT)
            try:
                if response.status_code == 416 and have:  # our partial file is stale: start over
                    f.truncate(0)
                    hasher, hashed = hashlib.sha256(), 0
                    continue
                hf_raise_for_status(response)
                if have and response.status_code != 206:  # server ignored Range: restart from 0
                    f.truncate(0)
                    hasher, hashed, have = hashlib.sha256(), 0, 0
                total = expected
                if total is None:
                    length = response.headers.get("Content-Length")
                    total = have + int(length) if length and length.isdigit() else 0
                f.seek(0, os.SEEK_END)
                loaded = have
                try:
                    for chunk in response.iter_content(chunk_size=DOWNLOAD_CHUNK_SIZE):
                        if not chunk:
                            continue
                        f.write(chunk)
                        hasher.update(chunk)
                        hashed += len(chunk)
                        loaded += len(chunk)
                        dispatch_progress(cb, _progress(name, rel, loaded, total))
                except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError):
                    f.flush()
                    resumes += 1
                    if resumes > MAX_RESUMES:
                        raise
                    continue
            finally:
                response.close()
            if expected is None or hashed >= expected:
                break
            resumes += 1  # short body without an error: resume from where it stopped
            if resumes > MAX_RESUMES:
                break
        f.flush()
        size = f.tell()
    digest = hasher.hexdigest()
    if expected is not None and size != expected:
        incomplete.unlink()
        raise HubError(f"download of {rel!r} of {name!r} from {url} is incomplete: got {size} of {expected} bytes")
    if expected_sha256 is not None and digest != expected_sha256:
        incomplete.unlink()
        raise HubError(
            f"download of {rel!r} of {name!r} from {url} is corrupt: "
            f"sha256 {digest} does not match the ETag {expected_sha256}"
        )
    return digest


def _link(blob: Path, pointer: Path) -> None:
    """``snapshots/<commit>/<file>`` → ``blobs/<etag>`` as a relative symlink (a copy where symlinks fail)."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(pointer):
        if os.path.exists(pointer):
            return
        os.unlink(pointer)  # dangling link
    try:
        os.symlink(os.path.relpath(blob, pointer.parent), pointer)
    except FileExistsError:
        pass
    except OSError:
        shutil.copyfile(blob, pointer)


def _write_ref(storage: Path, revision: str, commit: str) -> None:
    if revision == commit:
        return
    ref = storage / "refs" / revision
    try:
        if not ref.is_file() or ref.read_text() != commit:
            ref.parent.mkdir(parents=True, exist_ok=True)
            ref.write_text(commit)
    except OSError:
        pass  # read-only cache: the file itself is in place, only the branch → commit note is lost
