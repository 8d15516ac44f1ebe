"""MNIST idx files, text windows, synthetic sets, digits."""

from __future__ import annotations

import gzip
import hashlib
import struct
import sys

import numpy as np
import pytest
from tinytorch.data import MNIST, CharDataset, DataLoader, TextDataset, read_idx
from tinytorch.data import mnist as mnist_mod
from tinytorch.data.download import DownloadError
from tinytorch.data.synthetic import load_digits, make_blobs, make_spirals, make_xor
from tinytorch.data.text import load_tiny_shakespeare
from tinytorch.tensor import Generator


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}i", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def test_read_idx_plain_gzip_and_checks(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 256, size=(3, 4, 5), dtype=np.uint8)
    (tmp_path / "a.idx").write_bytes(idx_bytes(imgs))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(imgs)))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), imgs)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), imgs)
    ints = np.array([1, -2, 300], dtype=np.int32)
    (tmp_path / "i.idx").write_bytes(idx_bytes(ints, 0x0C))
    assert read_idx(tmp_path / "i.idx").tolist() == [1, -2, 300]
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(tmp_path / "bad.idx")
    (tmp_path / "short.idx").write_bytes(idx_bytes(imgs)[:-7])
    with pytest.raises(ValueError, match=r"announces shape \(3, 4, 5\)"):
        read_idx(tmp_path / "short.idx")
    (tmp_path / "type.idx").write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x00")
    with pytest.raises(ValueError, match="type code"):
        read_idx(tmp_path / "type.idx")


def test_mnist_md5s_are_the_known_ones():
    assert (
        mnist_mod.MNIST_RESOURCES["train-images-idx3-ubyte.gz"]
        == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    )
    assert mnist_mod.MNIST_MIRRORS[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"


def test_mnist_downloads_from_a_mirror_with_checksums(
    server, data_dir, monkeypatch, closed_port_url
):
    rng = np.random.default_rng(0)
    files = {
        "t10k-images-idx3-ubyte.gz": gzip.compress(
            idx_bytes(rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8))
        ),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(
            idx_bytes(rng.integers(0, 10, size=7).astype(np.uint8))
        ),
    }
    resources = dict(mnist_mod.MNIST_RESOURCES)
    for name, blob in files.items():
        server.serve(f"/mnist/{name}", blob)
        resources[name] = hashlib.md5(blob).hexdigest()
    monkeypatch.setattr(mnist_mod, "MNIST_RESOURCES", resources)
    dead = closed_port_url.rsplit("/", 1)[0] + "/"
    ds = MNIST(train=False, download=True, mirrors=[dead, server.url("/mnist/")])
    assert ds.data.shape == (7, 1, 28, 28) and ds.labels.dtype == np.int64
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 1, 28, 28)
    # Files are checked again on load; a corrupted one is deleted, not parsed.
    path = data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"garbage")
    with pytest.raises(FileNotFoundError, match=f"place it at {path}"):
        MNIST(train=False, mirrors=[dead])
    assert not path.exists()
    with pytest.raises(DownloadError, match="every mirror failed"):
        MNIST(train=False, download=True, mirrors=[dead])


def test_text_dataset_windows_and_get_batch():
    tokens = np.arange(100)
    ds = TextDataset(tokens, block_size=8)
    assert len(ds) == 92
    x, y = ds[5]
    assert x.tolist() == list(range(5, 13)) and y.tolist() == list(range(6, 14))
    assert len(ds.train_data) == 90 and len(ds.val_data) == 10
    xb, yb = ds.get_batch("train", 16, generator=Generator(0))
    assert xb.shape == (16, 8) and xb.dtype == np.int64
    np.testing.assert_array_equal(yb.data, xb.data + 1)
    assert xb.data.max() < 90
    xv, _ = ds.get_batch("val", 4, block_size=3, generator=Generator(0))
    assert xv.data.min() >= 90 and xv.shape == (4, 3)
    x2, _ = ds.get_batch("train", 16, generator=Generator(0))
    np.testing.assert_array_equal(xb.data, x2.data)
    with pytest.raises(ValueError, match="split"):
        ds.get_batch("test", 2)
    with pytest.raises(ValueError, match="too few"):
        ds.get_batch("val", 2, block_size=10)
    enc = TextDataset("abcabc", 2, encode=lambda s: [ord(c) - 97 for c in s])
    assert enc[0][0].tolist() == [0, 1]


def test_char_dataset_vocab_windows_and_loader():
    text = "to be or not to be " * 20
    ds = CharDataset(text, block_size=5)
    assert ds.vocab_size == len(set(text)) and ds.decode(ds.encode("be or")) == "be or"
    x, y = ds[3]
    assert ds.decode(x) == text[3:8] and ds.decode(y) == text[4:9]
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True, seed=0)))
    assert xb.shape == (4, 5) and xb.dtype == np.int64
    np.testing.assert_array_equal(xb.data[:, 1:], yb.data[:, :-1])
    train = CharDataset(text, 5, split="train")
    assert len(train) == int(len(text) * 0.9) - 5
    with pytest.raises(KeyError, match="'z'"):
        ds.encode("z")


def test_tiny_shakespeare_local_copy_and_offline_message(tmp_path, data_dir):
    path = tmp_path / "input.txt"
    path.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n")
    ds = CharDataset.tiny_shakespeare(block_size=8, path=path)
    assert ds.decode(ds[0][0]) == "First Ci"
    with pytest.raises(FileNotFoundError, match="tinyshakespeare.txt"):
        load_tiny_shakespeare()


def test_tiny_shakespeare_download_checks_sha256(server, data_dir):
    text = b"Hello, Shakespeare.\n" * 50
    url = server.serve("/input.txt", text)
    sha = hashlib.sha256(text).hexdigest()
    assert load_tiny_shakespeare(download=True, url=url, sha256=sha) == text.decode()
    assert (data_dir / "tinyshakespeare.txt").is_file()
    from tinytorch.data.text import TINY_SHAKESPEARE_SHA256

    assert TINY_SHAKESPEARE_SHA256.startswith("86c4e6aa9db7")


def test_synthetic_sets():
    X, y = make_spirals(301, classes=3, noise=0.1, seed=0)
    assert X.shape == (301, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [101, 100, 100]
    X2, _ = make_spirals(301, classes=3, noise=0.1, seed=0)
    np.testing.assert_array_equal(X, X2)
    X3, _ = make_spirals(301, classes=3, noise=0.1, seed=Generator(0))
    assert X3.shape == X.shape
    X, y = make_xor(400, noise=0.05, seed=1)
    assert ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int).tolist() == y.tolist()
    X, y = make_blobs(60, centers=3, features=5, std=0.1, seed=2)
    assert X.shape == (60, 5) and sorted(set(y.tolist())) == [0, 1, 2]
    # Tight blobs: each point is nearer to its own class mean than to any other.
    means = np.stack([X[y == c].mean(0) for c in range(3)])
    nearest = np.argmin(((X[:, None] - means[None]) ** 2).sum(-1), axis=1)
    assert (nearest == y).all()
    with pytest.raises(ValueError):
        make_spirals(1, classes=2)


def test_load_digits_without_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install tinytorch-data\[sklearn\]"):
        load_digits()


def test_load_digits_with_sklearn():
    pytest.importorskip("sklearn")
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.max() <= 1.0 and y.max() == 9
    assert load_digits(images=True)[0].shape == (1797, 1, 8, 8)
