"""CIFAR-10 from its official "python version" archive, or a mirror, or a local copy.

The archive holds ``cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}``, each a
Python pickle: that is the format the dataset's authors publish. Unpickling can run code, so
these files are read only when they are trusted: the archive's checksum was verified (official
md5, or the md5 given with a mirror), or the user pointed at the file or folder explicitly
(``archive=``). Even then a restricted unpickler is used that can rebuild numpy arrays, lists,
dicts and strings and nothing else (no imports of arbitrary callables). Checkpoints never
unpickle (DESIGN.md §5); dataset batches are the one exception, dictated by the format.
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .dataset import TensorDataset
from .download import check_integrity, data_root, extract_archive
from .download import download as fetch

__all__ = ["CIFAR10", "CIFAR10_MD5", "CIFAR10_URL", "load_cifar_batch", "safe_unpickle"]

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCHES = ["test_batch"]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    return _reconstruct, scalar


class _ArrayUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and plain containers; refuses every other global."""

    def find_class(self, module: str, name: str):
        reconstruct, scalar = _numpy_reconstruct()
        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): reconstruct,
            ("numpy.core.multiarray", "scalar"): scalar,
            ("numpy._core.multiarray", "scalar"): scalar,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
        }
        if (module, name) == ("_codecs", "encode"):
            import codecs

            return codecs.encode
        if (module, name) in allowed:
            return allowed[(module, name)]
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name} from a dataset pickle (only numpy arrays allowed)"
        )


def safe_unpickle(data: bytes):
    """Unpickle a dataset batch with ``encoding="bytes"`` and only numpy/containers allowed.

    Examples:
        >>> safe_unpickle(pickle.dumps({b"labels": [1, 2]}, protocol=2))
        {b'labels': [1, 2]}
    """
    return _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()


def load_cifar_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One official batch file: images uint8 ``(N, 3, 32, 32)`` and labels int64 ``(N,)``.

    Examples:
        >>> images, labels = load_cifar_batch("cifar-10-batches-py/test_batch")  # doctest: +SKIP
    """
    entry = safe_unpickle(Path(path).read_bytes())
    data = entry.get(b"data", entry.get("data"))
    labels = entry.get(b"labels", entry.get("labels"))
    if data is None or labels is None:
        raise ValueError(f"CIFAR10: {path} has no 'data'/'labels' entries; not a CIFAR-10 batch")
    data = np.asarray(data, dtype=np.uint8)
    labels = np.asarray(labels, dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise ValueError(
            f"CIFAR10: {path} holds data {data.shape} and {len(labels)} labels; "
            "expected (N, 3072) and N labels"
        )
    return data.reshape(-1, 3, 32, 32), labels


def _is_batch_folder(path: Path) -> bool:
    return all((path / b).is_file() for b in TRAIN_BATCHES + TEST_BATCHES)


class CIFAR10(TensorDataset):
    """CIFAR-10: 50,000 training / 10,000 test images, 32x32 RGB, 10 classes.

    Where the data comes from, in order:

    1. ``archive``: a local ``cifar-10-python.tar.gz``, or an extracted ``cifar-10-batches-py``
       folder (or a folder that holds one). Trusted because you pointed at it; given ``md5``,
       an archive is also checked.
    2. ``ROOT/cifar-10-batches-py`` (extracted earlier from a verified archive).
    3. ``ROOT/cifar-10-python.tar.gz`` if its checksum matches (a wrong one is deleted).
    4. With ``download=True``: ``url`` (default: ``$TINYTORCH_CIFAR10_URL``, else the
       official URL) checked against ``md5`` (default ``$TINYTORCH_CIFAR10_MD5``, else the
       official md5). A mirror URL needs its md5.

    Args:
        root: the data root (default: `data_root`, i.e. ``$TINYTORCH_DATA`` or
            ``~/.cache/tinytorch``).
        train: the 50,000 training images, else the 10,000 test images.
        download: download the archive when it is not there.
        url: a mirror of the archive.
        md5: the md5 of the archive at ``url``.
        archive: a local archive or extracted folder.
        transform: applied to images (one ``(3, 32, 32)`` sample, or a gathered batch).

    Attributes:
        data: uint8 ``(N, 3, 32, 32)``.
        labels: int64 ``(N,)``.
        classes: the 10 class names.

    Examples:
        >>> train = CIFAR10(download=True)  # doctest: +SKIP
        >>> train.data.shape, train.labels[:3], train.classes[0]  # doctest: +SKIP
        ((50000, 3, 32, 32), array([6, 9, 9]), 'airplane')
    """

    def __init__(
        self,
        root=None,
        train: bool = True,
        download: bool = False,
        url: str | None = None,
        md5: str | None = None,
        archive=None,
        transform: Callable | None = None,
    ):
        self.root = Path(root).expanduser() if root is not None else data_root()
        self.train = bool(train)
        folder = self._locate(download, url, md5, archive)
        names = TRAIN_BATCHES if self.train else TEST_BATCHES
        parts = [load_cifar_batch(folder / n) for n in names]
        data = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        self.classes = self._classes(folder)
        self.folder = folder
        super().__init__(data, labels, transform=transform)

    @property
    def data(self) -> np.ndarray:
        """Images, uint8 ``(N, 3, 32, 32)``."""
        return self.arrays[0]

    @property
    def labels(self) -> np.ndarray:
        """Labels, int64 ``(N,)``."""
        return self.arrays[1]

    @staticmethod
    def _classes(folder: Path) -> list[str]:
        meta = folder / "batches.meta"
        if meta.is_file():
            entry = safe_unpickle(meta.read_bytes())
            names = entry.get(b"label_names", entry.get("label_names"))
            if names:
                return [n.decode() if isinstance(n, bytes) else str(n) for n in names]
        return list(CLASSES)

    @staticmethod
    def source(url: str | None = None, md5: str | None = None) -> tuple[str, str]:
        """The URL and md5 to download from: arguments, else the env vars, else the official."""
        url = url or os.environ.get("TINYTORCH_CIFAR10_URL") or CIFAR10_URL
        md5 = md5 or os.environ.get("TINYTORCH_CIFAR10_MD5")
        if md5 is None:
            if url != CIFAR10_URL:
                raise ValueError(
                    f"CIFAR10: a mirror URL needs its md5 ({url}); pass md5=... or set "
                    "TINYTORCH_CIFAR10_MD5"
                )
            md5 = CIFAR10_MD5
        return url, md5

    def _locate(self, download: bool, url, md5, archive) -> Path:
        if archive is not None:
            path = Path(archive).expanduser()
            if path.is_dir():
                for candidate in (path, path / FOLDER):
                    if _is_batch_folder(candidate):
                        return candidate
                raise FileNotFoundError(
                    f"CIFAR10: {path} holds no CIFAR-10 batches (data_batch_1..5, test_batch)"
                )
            if not path.is_file():
                raise FileNotFoundError(f"CIFAR10: archive {path} does not exist")
            if md5 and not check_integrity(path, md5=md5):
                raise ValueError(f"CIFAR10: {path} does not match md5 {md5}")
            extract_archive(path, self.root)
            return self._extracted()
        folder = self.root / FOLDER
        if _is_batch_folder(folder):
            return folder
        src_url, src_md5 = self.source(url, md5)
        local = self.root / ARCHIVE_NAME
        if local.is_file() and not check_integrity(local, md5=src_md5):
            local.unlink()  # a partial or corrupted file is never trusted
        if not local.is_file():
            if not download:
                raise FileNotFoundError(
                    f"CIFAR10: no data under {self.root}. Pass download=True, or download "
                    f"{src_url} by hand and place it at {local} (md5 {src_md5}), or pass "
                    "archive= a local archive or cifar-10-batches-py folder"
                )
            fetch(src_url, local, md5=src_md5)
        extract_archive(local, self.root)
        return self._extracted()

    def _extracted(self) -> Path:
        folder = self.root / FOLDER
        if not _is_batch_folder(folder):
            raise FileNotFoundError(
                f"CIFAR10: the archive did not contain {FOLDER}/ with all batches"
            )
        return folder


CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def write_cifar10_archive(path, images_per_batch: int = 12, seed: int = 0) -> dict:
    """Write a small random ``cifar-10-python.tar.gz`` in the official format; return its arrays.

    Five training batches and one test batch of ``images_per_batch`` random images each,
    pickled as the official archive is, so `CIFAR10` reads it unchanged: what the tests
    and course labs use to exercise the real download and parsing path offline.

    Returns:
        ``{"train_x", "train_y", "test_x", "test_y"}``: the images (uint8, (N, 3, 32, 32))
        and labels (int64) that were written.

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "cifar-10-python.tar.gz"
        >>> arrays = write_cifar10_archive(path, images_per_batch=4)
        >>> arrays["train_x"].shape, arrays["test_y"].shape
        ((20, 3, 32, 32), (4,))
    """
    import tarfile

    rng = np.random.default_rng(seed)

    def batch(name: str):
        data = rng.integers(0, 256, size=(images_per_batch, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=images_per_batch)
        entry = {
            b"batch_label": name.encode(),
            b"labels": [int(v) for v in labels],
            b"data": data,
            b"filenames": [f"img_{i}.png".encode() for i in range(images_per_batch)],
        }
        return pickle.dumps(entry, protocol=2), data, labels

    files, train_x, train_y = {}, [], []
    for i in range(1, 6):
        files[f"data_batch_{i}"], x, y = batch(f"training batch {i} of 5")
        train_x.append(x)
        train_y.append(y)
    files["test_batch"], test_x, test_y = batch("testing batch 1 of 1")
    files["batches.meta"] = pickle.dumps(
        {
            b"label_names": [c.encode() for c in CLASSES],
            b"num_cases_per_batch": images_per_batch,
            b"num_vis": 3072,
        },
        protocol=2,
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
