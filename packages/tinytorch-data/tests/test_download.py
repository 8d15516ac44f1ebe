"""Downloads (verified, atomic, fail fast offline), safe extraction, CIFAR-10 end to end
against a synthetic archive in the official format served on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import time

import numpy as np
import pytest
from tinytorch.data import CIFAR10, DataLoader
from tinytorch.data.cifar import safe_unpickle
from tinytorch.data.download import (
    ChecksumError,
    DownloadError,
    UnsafeArchiveError,
    data_root,
    download,
    extract_archive,
)


def test_data_root_env_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path))
    assert data_root() == tmp_path
    monkeypatch.delenv("TINYTORCH_DATA")
    assert data_root() == __import__("pathlib").Path.home() / ".cache" / "tinytorch"


def test_download_verifies_and_renames_atomically(server, tmp_path):
    blob = os.urandom(300_000)
    url = server.serve("/f.bin", blob)
    dest = tmp_path / "sub" / "f.bin"
    got = download(url, dest, sha256=hashlib.sha256(blob).hexdigest())
    assert got == dest and dest.read_bytes() == blob
    assert [p.name for p in dest.parent.iterdir()] == ["f.bin"]  # no temp file left
    # A verified file is reused: no second request.
    download(url, dest, md5=hashlib.md5(blob).hexdigest())
    assert server.hits["/f.bin"] == 1


@pytest.mark.parametrize("mode", ["truncate", "short", "corrupt"])
def test_bad_download_is_deleted_and_a_later_run_succeeds(server, tmp_path, mode):
    blob = os.urandom(200_000)
    md5 = hashlib.md5(blob).hexdigest()
    url = server.serve("/x.bin", blob, mode)
    dest = tmp_path / "x.bin"
    with pytest.raises(DownloadError) as info:
        download(url, dest, md5=md5)
    message = str(info.value)
    if mode == "truncate":
        assert "truncated" in message and f"of {len(blob)} bytes" in message
    else:
        assert isinstance(info.value, ChecksumError)
        assert f"expected {md5}, got " in message and "deleted" in message
    assert list(tmp_path.iterdir()) == []  # neither the final file nor a partial one
    server.serve("/x.bin", blob, "ok")
    assert download(url, dest, md5=md5).read_bytes() == blob


def test_existing_corrupted_file_is_not_trusted(server, tmp_path):
    blob = b"the right bytes" * 1000
    url = server.serve("/y.bin", blob)
    dest = tmp_path / "y.bin"
    dest.write_bytes(blob[:100])  # an earlier interrupted run
    download(url, dest, md5=hashlib.md5(blob).hexdigest())
    assert dest.read_bytes() == blob and server.hits["/y.bin"] == 1


def test_unreachable_fails_fast_and_says_where_to_place_the_file(closed_port_url, tmp_path):
    dest = tmp_path / "cifar-10-python.tar.gz"
    start = time.perf_counter()
    with pytest.raises(DownloadError) as info:
        download(closed_port_url, dest, md5="0" * 32, timeout=2)
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert closed_port_url in message and f"place it at {dest}" in message
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def _tar_with(tmp_path, *members) -> str:
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for info in members:
            if info.isfile():
                tf.addfile(info, io.BytesIO(b"x" * info.size))
            else:
                tf.addfile(info)
    return path


def _file(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 1
    return info


def _link(name: str, target: str, kind=tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize(
    "member,reason",
    [
        (_file("../escape.txt"), "'..'"),
        (_file("ok/../../escape.txt"), "'..'"),
        (_file("/abs/escape.txt"), "absolute"),
        (_link("ok/link", "../../outside"), "points outside"),
        (_link("ok/link", "/etc/passwd"), "absolute"),
        (_link("hard", "../outside", tarfile.LNKTYPE), "outside"),
    ],
)
def test_path_traversal_archives_are_rejected(tmp_path, member, reason):
    archive = _tar_with(tmp_path, _file("ok/fine.txt"), member)
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match=reason):
        extract_archive(archive, dest)
    assert not (dest / "ok").exists()  # nothing was written before the check
    assert not (tmp_path / "escape.txt").exists()


def test_safe_archive_extracts(tmp_path, cifar_archive):
    out = extract_archive(cifar_archive["path"], tmp_path / "x")
    names = sorted(p.name for p in (out / "cifar-10-batches-py").iterdir())
    assert names == [
        "batches.meta",
        "data_batch_1",
        "data_batch_2",
        "data_batch_3",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
    ]
    assert [p.name for p in out.iterdir()] == ["cifar-10-batches-py"]  # staging removed


def test_restricted_unpickler_refuses_code():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        safe_unpickle(pickle.dumps({b"data": Evil()}, protocol=2))


def test_cifar10_download_from_mirror_end_to_end(server, data_dir, cifar_archive):
    url = server.serve("/mirror/cifar-10-python.tar.gz", cifar_archive["bytes"])
    train = CIFAR10(download=True, url=url, md5=cifar_archive["md5"])
    assert train.data.dtype == np.uint8 and train.data.shape == (60, 3, 32, 32)
    np.testing.assert_array_equal(train.data, cifar_archive["train_x"])
    np.testing.assert_array_equal(train.labels, cifar_archive["train_y"])
    assert train.labels.dtype == np.int64 and train.classes[0] == "airplane"
    test = CIFAR10(train=False)  # from the extracted folder, no second download
    np.testing.assert_array_equal(test.data, cifar_archive["test_x"])
    assert server.hits["/mirror/cifar-10-python.tar.gz"] == 1
    assert (data_dir / "cifar-10-batches-py" / "test_batch").is_file()
    x, y = train[3]
    assert x.shape == (3, 32, 32) and int(y) == cifar_archive["train_y"][3]


def test_cifar10_truncated_then_good_download(server, data_dir, cifar_archive):
    url = server.serve("/c.tar.gz", cifar_archive["bytes"], "short")
    with pytest.raises(ChecksumError, match=f"expected {cifar_archive['md5']}"):
        CIFAR10(download=True, url=url, md5=cifar_archive["md5"])
    assert list(data_dir.iterdir()) == []
    server.serve("/c.tar.gz", cifar_archive["bytes"], "ok")
    assert len(CIFAR10(download=True, url=url, md5=cifar_archive["md5"])) == 60


def test_cifar10_corrupt_local_archive_is_deleted(server, data_dir, cifar_archive):
    (data_dir / "cifar-10-python.tar.gz").write_bytes(cifar_archive["bytes"][:1000])
    url = server.serve("/c.tar.gz", cifar_archive["bytes"])
    with pytest.raises(FileNotFoundError, match="place it at"):
        CIFAR10(download=False, url=url, md5=cifar_archive["md5"])
    assert not (data_dir / "cifar-10-python.tar.gz").exists()
    assert len(CIFAR10(download=True, url=url, md5=cifar_archive["md5"])) == 60


def test_cifar10_offline_error_names_path_and_url(data_dir, closed_port_url):
    start = time.perf_counter()
    with pytest.raises(DownloadError) as info:
        CIFAR10(download=True, url=closed_port_url, md5="0" * 32)
    assert time.perf_counter() - start < 15
    assert str(data_dir / "cifar-10-python.tar.gz") in str(info.value)
    assert closed_port_url in str(info.value)


def test_cifar10_official_source_and_mirror_needs_md5(data_dir):
    from tinytorch.data.cifar import CIFAR10_MD5, CIFAR10_URL

    assert CIFAR10.source() == (CIFAR10_URL, CIFAR10_MD5)
    assert CIFAR10_URL == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert CIFAR10_MD5 == "c58f30108f718f92721af3b95e74349a"
    with pytest.raises(ValueError, match="needs its md5"):
        CIFAR10.source("http://127.0.0.1:1/x.tar.gz")
    with pytest.raises(FileNotFoundError, match=str(data_dir / "cifar-10-python.tar.gz")):
        CIFAR10()  # nothing there, no download


def test_cifar10_local_archive_and_folder(tmp_path, data_dir, cifar_archive):
    train = CIFAR10(archive=cifar_archive["path"], md5=cifar_archive["md5"])
    assert len(train) == 60
    folder = data_dir / "cifar-10-batches-py"
    test = CIFAR10(root=tmp_path / "elsewhere", train=False, archive=folder)
    np.testing.assert_array_equal(test.labels, cifar_archive["test_y"])
    with pytest.raises(ValueError, match="does not match md5"):
        CIFAR10(archive=cifar_archive["path"], md5="0" * 32)


def test_cifar10_loader_fast_path_with_transform(server, data_dir, cifar_archive):
    from tinytorch.data.transforms import Compose, Normalize, ToTensor

    url = server.serve("/c.tar.gz", cifar_archive["bytes"])
    train = CIFAR10(
        download=True,
        url=url,
        md5=cifar_archive["md5"],
        transform=Compose([ToTensor(layout="CHW"), Normalize([0.5] * 3, [0.5] * 3)]),
    )
    xb, yb = next(iter(DataLoader(train, batch_size=16)))
    want = (cifar_archive["train_x"][:16].astype(np.float32) / 255 - 0.5) / 0.5
    np.testing.assert_allclose(xb.data, want, rtol=1e-6)
    assert xb.dtype == np.float32 and yb.dtype == np.int64


def test_seed_code_runs_verbatim(server, data_dir, cifar_archive, monkeypatch):
    url = server.serve("/mirror/cifar-10-python.tar.gz", cifar_archive["bytes"])
    monkeypatch.setenv("TINYTORCH_CIFAR10_URL", url)
    monkeypatch.setenv("TINYTORCH_CIFAR10_MD5", cifar_archive["md5"])
    # --- the seed's lines, verbatim ---
    from tinytorch.core.dataloader import CIFAR10Dataset, DataLoader

    dataset = CIFAR10Dataset(download=True, flatten=False)
    train_loader = DataLoader(dataset.train_data, dataset.train_labels, batch_size=32)
    # ---
    assert dataset.train_data.shape == (60, 3, 32, 32) and dataset.train_data.dtype == np.float32
    assert dataset.test_data.shape == (12, 3, 32, 32)
    assert 0.0 <= dataset.train_data.min() and dataset.train_data.max() <= 1.0
    batches = list(train_loader)
    assert len(train_loader) == 2 and [tuple(b[0].shape) for b in batches] == [
        (32, 3, 32, 32),
        (28, 3, 32, 32),
    ]
    np.testing.assert_array_equal(batches[0][1].data, cifar_archive["train_y"][:32])
    flat = CIFAR10Dataset(download=True, flatten=True)
    assert flat.train_data.shape == (60, 3072)
    assert server.hits["/mirror/cifar-10-python.tar.gz"] == 1
