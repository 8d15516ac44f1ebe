"""Fixtures: an empty data root, a small synthetic CIFAR-10 archive in the official format,
and an HTTP server on 127.0.0.1 that can serve files whole, truncated or corrupted."""

from __future__ import annotations

import hashlib
import http.server
import threading

import pytest
from tinytorch.data import write_cifar10_archive

PER_BATCH = 12


@pytest.fixture(scope="session")
def cifar_archive(tmp_path_factory):
    """(archive bytes, md5, expected arrays) of a small synthetic CIFAR-10 archive."""
    path = tmp_path_factory.mktemp("cifar-src") / "cifar-10-python.tar.gz"
    expected = write_cifar10_archive(path, images_per_batch=PER_BATCH)
    blob = path.read_bytes()
    return {"path": path, "bytes": blob, "md5": hashlib.md5(blob).hexdigest(), **expected}


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}
    hits: dict = {}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        if self.path not in self.routes:
            self.send_error(404)
            return
        blob, mode = self.routes[self.path]
        self.send_response(200)
        if mode == "truncate":  # announce everything, send half, hang up
            self.send_header("Content-Length", str(len(blob)))
            self.end_headers()
            self.wfile.write(blob[: len(blob) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "short":  # no length announced: only the checksum can tell
            blob = blob[: len(blob) // 2]
            self.end_headers()
            self.wfile.write(blob)
            self.close_connection = True
            return
        if mode == "corrupt":
            blob = bytearray(blob)
            blob[len(blob) // 3] ^= 0xFF
            blob = bytes(blob)
        self.send_header("Content-Length", str(len(blob)))
        self.end_headers()
        self.wfile.write(blob)

    def log_message(self, *args):  # keep test output quiet
        pass


class LocalServer:
    """Serves ``routes[path] = (bytes, mode)``; mode: ok, truncate, short, corrupt."""

    def __init__(self):
        handler = type("Handler", (_Handler,), {"routes": {}, "hits": {}})
        self.routes, self.hits = handler.routes, handler.hits
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, blob: bytes, mode: str = "ok") -> str:
        self.routes[path] = (blob, mode)
        return self.url(path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = LocalServer()
    yield srv
    srv.close()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty data root in TINYTORCH_DATA; mirror env vars cleared."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("TINYTORCH_DATA", str(root))
    for var in ("TINYTORCH_CIFAR10_URL", "TINYTORCH_CIFAR10_MD5", "TINYTORCH_MNIST_URL"):
        monkeypatch.delenv(var, raising=False)
    return root


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/cifar-10-python.tar.gz"
