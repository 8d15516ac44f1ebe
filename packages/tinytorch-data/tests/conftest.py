"""Fixtures: an empty data root, a small synthetic CIFAR-10 archive in the official format,
and an HTTP server on 127.0.0.1 that can serve files whole, truncated or corrupted."""

from __future__ import annotations

import hashlib
import http.server
import io
import pickle
import tarfile
import threading

import numpy as np
import pytest

CLASSES = [
    b"airplane",
    b"automobile",
    b"bird",
    b"cat",
    b"deer",
    b"dog",
    b"frog",
    b"horse",
    b"ship",
    b"truck",
]
PER_BATCH = 12


def _batch(rng, n: int, name: str) -> tuple[bytes, np.ndarray, np.ndarray]:
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n)
    entry = {
        b"batch_label": name.encode(),
        b"labels": [int(v) for v in labels],
        b"data": data,
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }
    return pickle.dumps(entry, protocol=2), data, labels


def make_cifar_archive(path, seed: int = 0):
    """Write a tiny cifar-10-python.tar.gz (5 train batches + test batch of PER_BATCH images)."""
    rng = np.random.default_rng(seed)
    files, train_x, train_y = {}, [], []
    for i in range(1, 6):
        blob, x, y = _batch(rng, PER_BATCH, f"training batch {i} of 5")
        files[f"data_batch_{i}"] = blob
        train_x.append(x)
        train_y.append(y)
    blob, test_x, test_y = _batch(rng, PER_BATCH, "testing batch 1 of 1")
    files["test_batch"] = blob
    files["batches.meta"] = pickle.dumps(
        {b"label_names": CLASSES, b"num_cases_per_batch": PER_BATCH, b"num_vis": 3072}, protocol=2
    )
    with tarfile.open(path, "w:gz") as tf:
        for name, blob in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))
    return {
        "train_x": np.concatenate(train_x).reshape(-1, 3, 32, 32),
        "train_y": np.concatenate(train_y).astype(np.int64),
        "test_x": test_x.reshape(-1, 3, 32, 32),
        "test_y": test_y.astype(np.int64),
    }


@pytest.fixture(scope="session")
def cifar_archive(tmp_path_factory):
    """(archive bytes, md5, expected arrays) of a small synthetic CIFAR-10 archive."""
    path = tmp_path_factory.mktemp("cifar-src") / "cifar-10-python.tar.gz"
    expected = make_cifar_archive(path)
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
