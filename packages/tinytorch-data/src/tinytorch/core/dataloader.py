"""The seed's ``tinytorch.core.dataloader``: `CIFAR10Dataset` and `DataLoader`.

``DataLoader`` is `tinytorch.data.DataLoader` itself (it accepts arrays directly, as the seed's
``DataLoader(dataset.train_data, dataset.train_labels, batch_size=32)`` does). `CIFAR10Dataset`
is a small adapter over `tinytorch.data.CIFAR10` that exposes both splits as float arrays.

Mirrors: ``CIFAR10Dataset(download=True, url=..., md5=...)``, or, leaving the seed's code
unchanged, the environment variables ``TINYTORCH_CIFAR10_URL`` and ``TINYTORCH_CIFAR10_MD5``.

Examples:
    >>> from tinytorch.core.dataloader import CIFAR10Dataset, DataLoader
    >>> dataset = CIFAR10Dataset(download=True, flatten=False)  # doctest: +SKIP
    >>> X, y = dataset.train_data, dataset.train_labels  # doctest: +SKIP
    >>> loader = DataLoader(X, y, batch_size=32)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
from tinytorch.data import CIFAR10, DataLoader, Dataset, TensorDataset

__all__ = ["CIFAR10Dataset", "DataLoader", "Dataset", "TensorDataset"]


class CIFAR10Dataset(Dataset):
    """Both CIFAR-10 splits as float32 arrays in [0, 1], NCHW (or flat with ``flatten=True``).

    Args:
        download: download the archive when it is not under the data root.
        flatten: ``(N, 3072)`` instead of ``(N, 3, 32, 32)``.
        root: the data root (default ``$TINYTORCH_DATA`` or ``~/.cache/tinytorch``).
        url: a mirror of the archive (default ``$TINYTORCH_CIFAR10_URL``, else the official URL).
        md5: the mirror archive's md5 (default ``$TINYTORCH_CIFAR10_MD5``).
        archive: a local archive or ``cifar-10-batches-py`` folder.

    Attributes:
        train_data: float32 ``(50000, 3, 32, 32)``.
        train_labels: int64 ``(50000,)``.
        test_data: float32 ``(10000, 3, 32, 32)``.
        test_labels: int64 ``(10000,)``.
        classes: the 10 class names.

    Examples:
        >>> ds = CIFAR10Dataset(download=True, flatten=True)  # doctest: +SKIP
        >>> ds.train_data.shape  # doctest: +SKIP
        (50000, 3072)
    """

    def __init__(
        self,
        download: bool = True,
        flatten: bool = False,
        root=None,
        url: str | None = None,
        md5: str | None = None,
        archive=None,
    ):
        train = CIFAR10(root, train=True, download=download, url=url, md5=md5, archive=archive)
        # The archive is extracted now: the test split comes from the same folder.
        test = CIFAR10(root, train=False, archive=train.folder)
        self.classes = train.classes
        self.flatten = bool(flatten)
        self.train_data = self._as_float(train.data)
        self.train_labels = train.labels
        self.test_data = self._as_float(test.data)
        self.test_labels = test.labels

    def _as_float(self, images: np.ndarray) -> np.ndarray:
        x = images.astype(np.float32) / np.float32(255.0)
        return x.reshape(len(x), -1) if self.flatten else x

    def __len__(self) -> int:
        return len(self.train_data)

    def __getitem__(self, index):
        return self.train_data[index], self.train_labels[index]
