"""A local stand-in for the Hugging Face Hub's file endpoints, for tests that exercise downloads for real.

Serves fixture repos in the Hub's layout on ``127.0.0.1`` (random free port):

- ``GET|HEAD /{repo_id}/resolve/{revision}/{path}`` where ``revision`` is a branch, a tag or a full
  commit sha (URL-quoted, as huggingface_hub sends it); files can differ per revision.
- Small files answer 200 with ``X-Repo-Commit``, a quoted git-blob-sha1 ``ETag`` and ``Content-Length``.
  "LFS" files (``size >= lfs_min_size``) answer ``302`` to ``http://localhost:{port}/cdn/{sha256}`` (another
  *host*, like the real CDN, so clients must drop ``Authorization``) with ``X-Linked-Etag`` (sha256),
  ``X-Linked-Size`` and ``X-Repo-Commit`` — exactly the headers ``huggingface_hub.get_hf_file_metadata``
  reads (``file_download.py``, 0.36).
- Errors as the Hub sends them (``huggingface_hub.utils.hf_raise_for_status`` keys on ``X-Error-Code``):
  missing file → 404 ``EntryNotFound`` (with ``X-Repo-Commit``, so the client caches the absence);
  unknown revision → 404 ``RevisionNotFound``; unknown repo, or private repo without token → 401
  ``RepoNotFound`` (404 when a valid token was sent); a token the server does not know → 401
  ``X-Error-Message: Invalid credentials in Authorization header``; gated repo → 401/403 ``GatedRepo``.
- ``Range: bytes=N-`` / ``bytes=N-M`` → 206 with ``Content-Range`` (resume).
- A renamed repo (:meth:`HubServer.add_alias`) answers a *relative* 307, as the Hub does.
- Two extra layouts for custom ``remote_path_template`` tests: ``/mirror/<same as above>`` (Hub-like under
  a prefix) and ``/static/{repo_id}/{revision}/{path}`` (a plain file server: no commit, no ETag).

Every request is recorded (:attr:`HubServer.log`) and counted so tests can assert "no request".
Fault injection: :meth:`HubServer.fail_once` cuts a body short once (for resume tests).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union
from urllib.parse import unquote, urlsplit

VALID_TOKEN = "hf_valid_test_token"  # full access
NO_ACCESS_TOKEN = "hf_valid_but_no_access"  # a real user without rights on private/gated repos

_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class _Repo:
    repo_id: str
    private: bool = False
    gated: bool = False
    commits: Dict[str, Dict[str, bytes]] = field(default_factory=dict)
    refs: Dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    headers: Dict[str, str]
    status: int = 0


class HubServer:
    """Start with :meth:`start` (or ``with HubServer() as s:``); :attr:`url` is ``http://127.0.0.1:PORT``."""

    def __init__(self, *, tokens: Tuple[str, ...] = (VALID_TOKEN, NO_ACCESS_TOKEN), lfs_min_size: int = 10_000):
        self.tokens = set(tokens)
        self.full_access_tokens = {VALID_TOKEN} & self.tokens
        self.lfs_min_size = lfs_min_size
        self._repos: Dict[str, _Repo] = {}
        self._aliases: Dict[str, str] = {}
        self._blobs: Dict[str, bytes] = {}  # sha256 → content (the "CDN")
        self._failures: List[Tuple[str, int]] = []
        self._lock = threading.Lock()
        self.log: List[Request] = []
        self.counts: Counter = Counter()
        self._httpd: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # ---- fixture content ------------------------------------------------------------------------
    def add_repo(
        self,
        repo_id: str,
        files: Dict[str, Union[bytes, str]],
        *,
        private: bool = False,
        gated: bool = False,
        branch: str = "main",
    ) -> str:
        """Create a repo whose ``branch`` holds ``files``; returns the commit sha."""
        self._repos[repo_id] = _Repo(repo_id, private=private, gated=gated)
        return self.add_revision(repo_id, branch, files)

    def add_repo_from_folder(self, repo_id: str, folder: Union[str, "os.PathLike[str]"], **kwargs) -> str:
        """Serve every file under ``folder`` (recursively, e.g. a tiny model in tests/fixtures) as ``repo_id``."""
        root = Path(folder)
        files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
        return self.add_repo(repo_id, files, **kwargs)

    def add_revision(self, repo_id: str, ref: str, files: Dict[str, Union[bytes, str]]) -> str:
        """Point ``ref`` (branch or tag) of ``repo_id`` at a new commit holding ``files``; returns its sha."""
        repo = self._repos[repo_id]
        content = {path: data.encode() if isinstance(data, str) else bytes(data) for path, data in files.items()}
        digest = hashlib.sha1(repo_id.encode() + b"\0" + ref.encode())
        for path in sorted(content):
            digest.update(path.encode() + b"\0" + hashlib.sha256(content[path]).digest())
        commit = digest.hexdigest()
        repo.commits[commit] = content
        repo.refs[ref] = commit
        for data in content.values():
            self._blobs[hashlib.sha256(data).hexdigest()] = data
        return commit

    def add_alias(self, old_repo_id: str, new_repo_id: str) -> None:
        """``old_repo_id`` was renamed: its URLs answer a relative 307 to ``new_repo_id``'s."""
        self._aliases[old_repo_id] = new_repo_id

    def commit(self, repo_id: str, ref: str = "main") -> str:
        return self._repos[repo_id].refs[ref]

    def file(self, repo_id: str, path: str, ref: str = "main") -> bytes:
        repo = self._repos[repo_id]
        return repo.commits[repo.refs.get(ref, ref)][path]

    def is_lfs(self, data: bytes) -> bool:
        return len(data) >= self.lfs_min_size

    def fail_once(self, path_contains: str, after_bytes: int) -> None:
        """The next GET whose path contains ``path_contains`` sends only ``after_bytes`` bytes of its body
        (headers announce the full length), then closes the connection."""
        with self._lock:
            self._failures.append((path_contains, after_bytes))

    # ---- observation ----------------------------------------------------------------------------
    @property
    def total(self) -> int:
        with self._lock:
            return len(self.log)

    def reset_counts(self) -> None:
        with self._lock:
            self.log.clear()
            self.counts.clear()

    def requests_for(self, contains: str = "", method: Optional[str] = None) -> List[Request]:
        with self._lock:
            return [r for r in self.log if contains in r.path and (method is None or r.method == method)]

    # ---- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    def start(self) -> "HubServer":
        server = self

        class Handler(_Handler):
            hub = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- request handling (called from handler threads) -----------------------------------------
    def _record(self, req: Request) -> None:
        with self._lock:
            self.log.append(req)
            self.counts[(req.method, req.path)] += 1

    def _take_failure(self, path: str) -> Optional[int]:
        with self._lock:
            for i, (needle, after) in enumerate(self._failures):
                if needle in path:
                    del self._failures[i]
                    return after
        return None


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - keep test output quiet
        pass

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._handle(body=True)

    # ------------------------------------------------------------------------------------------
    def _handle(self, body: bool) -> None:
        req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        # Recorded before answering (status filled in before any byte is sent): once a client has its
        # response, the test thread sees the request, with no race.
        self.hub._record(req)
        self._route(req, body)

    def _send(
        self,
        req: Request,
        status: int,
        headers: Optional[Dict[str, str]] = None,
        data: bytes = b"",
        body: bool = True,
    ) -> None:
        req.status = status
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        cut = self.hub._take_failure(req.path) if body and data and self.command == "GET" else None
        if cut is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body and self.command == "GET":
            self.wfile.write(data if cut is None else data[:cut])
            self.wfile.flush()

    def _error(self, req: Request, status: int, code: Optional[str], message: str) -> None:
        headers = {"Content-Type": "application/json", "X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        payload = ('{"error": "%s"}' % message).encode()
        self._send(req, status, headers, payload)

    def _route(self, req: Request, body: bool) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/cdn/"):
            return self._serve_blob(req, path[len("/cdn/") :], body)
        if path.startswith("/static/"):
            return self._serve_static(req, path[len("/static/") :], body)
        if path.startswith("/mirror/"):
            path = path[len("/mirror") :]
        if "/resolve/" not in path:
            return self._error(req, 404, None, "Not Found")
        repo_part, rest = path[1:].split("/resolve/", 1)
        repo_id = unquote(repo_part)
        revision_q, _, file_q = rest.partition("/")
        revision, filename = unquote(revision_q), unquote(file_q)
        if repo_id in self.hub._aliases:  # renamed repo: relative redirect, as the Hub does
            new = self.hub._aliases[repo_id]
            return self._send(req, 307, {"Location": f"/{new}/resolve/{revision_q}/{file_q}"})

        auth = req.headers.get("authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        if token is not None and token not in self.hub.tokens:
            return self._error(req, 401, None, "Invalid credentials in Authorization header")
        repo = self.hub._repos.get(repo_id)
        full = token in self.hub.full_access_tokens
        if repo is None or (repo.private and not full):
            return self._error(req, 401 if token is None else 404, "RepoNotFound", "Repository not found")
        if repo.gated and not full:
            return self._error(req, 401 if token is None else 403, "GatedRepo", "Access to this model is restricted")
        commit = repo.refs.get(revision) or (revision if _COMMIT.match(revision) and revision in repo.commits else None)
        if commit is None:
            return self._error(req, 404, "RevisionNotFound", "Invalid rev id")
        files = repo.commits[commit]
        if filename not in files:
            headers = {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found", "X-Repo-Commit": commit}
            return self._send(req, 404, headers, b'{"error": "Entry not found"}')
        data = files[filename]
        if self.hub.is_lfs(data):
            sha = hashlib.sha256(data).hexdigest()
            headers = {
                # another host name for the same server: like the real CDN, a different netloc
                "Location": f"http://localhost:{self.hub.port}/cdn/{sha}",
                "X-Repo-Commit": commit,
                "X-Linked-Etag": f'"{sha}"',
                "X-Linked-Size": str(len(data)),
                "ETag": f'"{git_blob_sha1(data)}"',
            }
            return self._send(req, 302, headers, b"", body)
        headers = {"X-Repo-Commit": commit, "ETag": f'"{git_blob_sha1(data)}"', "Accept-Ranges": "bytes"}
        self._send_content(req, data, headers, body)

    def _serve_blob(self, req: Request, sha: str, body: bool) -> None:
        data = self.hub._blobs.get(sha)
        if data is None:
            return self._error(req, 404, None, "NoSuchKey")
        self._send_content(req, data, {"ETag": f'"{sha}"', "Accept-Ranges": "bytes"}, body)

    def _serve_static(self, req: Request, rest: str, body: bool) -> None:
        rest = unquote(rest)
        for repo_id in sorted(self.hub._repos, key=len, reverse=True):
            if rest.startswith(repo_id + "/"):
                revision, _, filename = rest[len(repo_id) + 1 :].partition("/")
                repo = self.hub._repos[repo_id]
                commit = repo.refs.get(revision) or (revision if revision in repo.commits else None)
                files = repo.commits.get(commit or "", {})
                if repo.private or filename not in files:
                    break
                return self._send_content(req, files[filename], {}, body)
        self._error(req, 404, None, "Not Found")

    def _send_content(self, req: Request, data: bytes, headers: Dict[str, str], body: bool) -> None:
        rng = req.headers.get("range")
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            if not m:
                return self._error(req, 416, None, "Bad Range")
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else len(data) - 1
            if start >= len(data):
                h = dict(headers)
                h["Content-Range"] = f"bytes */{len(data)}"
                return self._send(req, 416, h, b"", body)
            end = min(end, len(data) - 1)
            h = dict(headers)
            h["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return self._send(req, 206, h, data[start : end + 1], body)
        if not body:  # HEAD: length of the body a GET would send
            req.status = 200
            self.send_response(200)
            for key, value in {**headers, "Content-Length": str(len(data))}.items():
                self.send_header(key, value)
            self.end_headers()
            return
        self._send(req, 200, headers, data, body)


# ---------------------------------------------------------------------------------------------------
# The fixture repos the test-suite serves (tests/conftest.py: `hub_server`, `hub`)

TINY_BERT = "onnxformers-test/tiny-bert"
TINY_GPT2 = "tiny-gpt2"  # a root-level repo id, like "gpt2"
PRIVATE = "onnxformers-test/private-model"
GATED = "onnxformers-test/gated-model"
BAD_JSON = "onnxformers-test/bad-json"
LIST_CONFIG = "onnxformers-test/list-config"
NO_CONFIG = "onnxformers-test/no-config"
RENAMED = "onnxformers-test/old-tiny-bert"  # alias of TINY_BERT


def _blob(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _json(obj) -> str:
    return json.dumps(obj, indent=2)


BERT_CONFIG = {
    "architectures": ["BertForSequenceClassification"],
    "model_type": "bert",
    "hidden_size": 64,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "intermediate_size": 128,
    "max_position_embeddings": 128,
    "vocab_size": 100,
    "id2label": {"0": "NEGATIVE", "1": "POSITIVE"},
    "label2id": {"NEGATIVE": 0, "POSITIVE": 1},
    "transformers.js_config": {"dtype": "q8"},
}
GPT2_CONFIG = {"model_type": "gpt2", "n_layer": 2, "n_head": 4, "n_embd": 64, "vocab_size": 100, "n_positions": 64}
TOKENIZER_JSON = {
    "version": "1.0",
    "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "hello": 1, "world": 2}, "unk_token": "[UNK]"},
    "pre_tokenizer": {"type": "Whitespace"},
}


def build_test_repos(server: HubServer) -> None:
    model_onnx = _blob(300_000, seed=1)  # > lfs_min_size: served through the CDN redirect
    server.add_repo(
        TINY_BERT,
        {
            "config.json": _json(BERT_CONFIG),
            "tokenizer.json": _json(TOKENIZER_JSON),
            "tokenizer_config.json": _json({"tokenizer_class": "BertTokenizer", "model_max_length": 128}),
            "onnx/model.onnx": model_onnx,
        },
    )
    v1 = dict(BERT_CONFIG, hidden_size=32, id2label={"0": "neg", "1": "pos"}, label2id={"neg": 0, "pos": 1})
    server.add_revision(TINY_BERT, "v1.0", {"config.json": _json(v1), "tokenizer.json": _json(TOKENIZER_JSON)})
    server.add_alias(RENAMED, TINY_BERT)
    server.add_repo(TINY_GPT2, {"config.json": _json(GPT2_CONFIG), "onnx/model.onnx": _blob(50_000, seed=2)})
    server.add_repo(
        PRIVATE,
        {"config.json": _json(dict(GPT2_CONFIG, secret=True)), "onnx/model.onnx": _blob(40_000, seed=3)},
        private=True,
    )
    server.add_repo(GATED, {"config.json": _json(GPT2_CONFIG)}, gated=True)
    server.add_repo(BAD_JSON, {"config.json": '{"model_type": "bert",,}'})
    server.add_repo(LIST_CONFIG, {"config.json": "[1, 2, 3]"})
    server.add_repo(NO_CONFIG, {"tokenizer.json": _json(TOKENIZER_JSON)})
