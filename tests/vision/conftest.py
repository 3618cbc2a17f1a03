"""Shared fixtures of the vision tests: the committed images and a throwaway HTTP server for URL inputs."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from typing import Iterator

import pytest

from vision_helpers import IMAGES


@pytest.fixture(scope="session")
def manifest() -> dict:
    return json.loads((IMAGES / "manifest.json").read_text())["images"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="session")
def image_server() -> Iterator[str]:
    """``http://127.0.0.1:<port>/`` serving tests/fixtures/images."""
    handler = functools.partial(_QuietHandler, directory=str(IMAGES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
