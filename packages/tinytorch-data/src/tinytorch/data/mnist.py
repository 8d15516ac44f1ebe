"""MNIST from its idx files (gzip), downloaded from a list of mirrors and checked by md5.

The idx format: a 4-byte magic number ``0x00 0x00 <type> <ndim>``, ``ndim`` big-endian
int32 sizes, then the values. `read_idx` checks the magic, the type code and that the payload
has exactly the announced size.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .dataset import TensorDataset
from .download import DownloadError, check_integrity, data_root
from .download import download as fetch

__all__ = ["MNIST", "MNIST_MIRRORS", "MNIST_RESOURCES", "read_idx"]

#: Mirrors tried in order (yann.lecun.com is often unavailable, so it comes last).
MNIST_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
#: File name -> md5.
MNIST_RESOURCES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Parse an idx file (plain or gzip) into a numpy array, checking magic and size.

    Examples:
        >>> import tempfile, os
        >>> fd, p = tempfile.mkstemp(); os.close(fd)
        >>> _ = open(p, "wb").write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
        >>> read_idx(p).tolist()
        [7, 8, 9]
    """
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"read_idx: {path} is not an idx file (bad magic {raw[:4].hex()})")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path} has unknown type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated in its header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"read_idx: {path} announces shape {shape} ({expected} bytes of data) but holds "
            f"{len(raw) - header} bytes"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


class MNIST(TensorDataset):
    """MNIST digits: 60,000 training / 10,000 test images, 28x28 grayscale, labels 0-9.

    Files live in ``ROOT/mnist/``. Each is checked against its md5 before it is used; with
    ``download=True`` missing files are fetched from the first mirror that answers
    (``mirrors``, default ``$TINYTORCH_MNIST_URL`` then `MNIST_MIRRORS`).

    Args:
        root: the data root (default: `tinytorch.data.download.data_root`).
        train: the training set, else the test set.
        download: fetch missing files.
        mirrors: base URLs (ending in ``/``) to try in order.
        transform: applied to images (one ``(1, 28, 28)`` sample or a batch).

    Attributes:
        data: uint8 ``(N, 1, 28, 28)``.
        labels: int64 ``(N,)``.

    Examples:
        >>> mnist = MNIST(download=True)  # doctest: +SKIP
        >>> mnist.data.shape  # doctest: +SKIP
        (60000, 1, 28, 28)
    """

    classes = [str(i) for i in range(10)]

    def __init__(
        self,
        root=None,
        train: bool = True,
        download: bool = False,
        mirrors: Sequence[str] | None = None,
        transform: Callable | None = None,
    ):
        base = Path(root).expanduser() if root is not None else data_root()
        self.folder = base / "mnist"
        self.train = bool(train)
        if mirrors is None:
            env = os.environ.get("TINYTORCH_MNIST_URL")
            mirrors = ([env] if env else []) + MNIST_MIRRORS
        self.mirrors = [m if m.endswith("/") else m + "/" for m in mirrors]
        prefix = "train" if self.train else "t10k"
        images = read_idx(self._file(f"{prefix}-images-idx3-ubyte.gz", download))
        labels = read_idx(self._file(f"{prefix}-labels-idx1-ubyte.gz", download))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"MNIST: images {images.shape} and labels {labels.shape} do not match")
        super().__init__(
            images[:, None].astype(np.uint8), labels.astype(np.int64), transform=transform
        )

    @property
    def data(self) -> np.ndarray:
        """Images, uint8 ``(N, 1, 28, 28)``."""
        return self.arrays[0]

    @property
    def labels(self) -> np.ndarray:
        """Labels, int64 ``(N,)``."""
        return self.arrays[1]

    def _file(self, name: str, download: bool) -> Path:
        path = self.folder / name
        md5 = MNIST_RESOURCES[name]
        if path.is_file() and not check_integrity(path, md5=md5):
            path.unlink()  # never trust a partial or corrupted file
        if path.is_file():
            return path
        if not download:
            raise FileNotFoundError(
                f"MNIST: {path} is missing. Pass download=True, or download "
                f"{self.mirrors[0]}{name} by hand and place it at {path} (md5 {md5})"
            )
        errors = []
        for mirror in self.mirrors:
            try:
                return fetch(mirror + name, path, md5=md5)
            except DownloadError as exc:
                errors.append(str(exc))
        raise DownloadError(
            f"MNIST: every mirror failed for {name}; place it at {path} "
            f"(md5 {md5}).\n" + "\n".join(errors)
        )
