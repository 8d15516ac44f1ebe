"""tinytorch.data: datasets, a prefetching DataLoader, vectorised transforms, verified downloads.

- `Dataset`, `TensorDataset`, `Subset`; `DataLoader` (a dataset or arrays directly, seeded
  shuffle, samplers, collate, a background prefetch thread, `state_dict` for exact resume).
- `transforms`: `Compose`, `Normalize`, `RandomCrop`, `RandomHorizontalFlip`, `ToTensor`.
- `CIFAR10`, `MNIST`, `CharDataset` / `TextDataset` (Tiny Shakespeare): downloads with a
  checksum, atomic writes, safe extraction, and a clear offline error.
- `make_spirals`, `make_xor`, `make_blobs`, and `load_digits` (scikit-learn, optional).

Data root: ``$TINYTORCH_DATA``, else ``~/.cache/tinytorch``.

Examples:
    >>> from tinytorch.data import DataLoader, make_spirals
    >>> X, y = make_spirals(100, seed=0)
    >>> loader = DataLoader(X, y, batch_size=32, shuffle=True, seed=0)
    >>> [tuple(xb.shape) for xb, yb in loader]
    [(32, 2), (32, 2), (32, 2), (4, 2)]
"""

from . import transforms
from .cifar import CIFAR10, write_cifar10_archive
from .dataset import Dataset, Subset, TensorDataset
from .download import (
    ChecksumError,
    DownloadError,
    UnsafeArchiveError,
    check_integrity,
    data_root,
    download,
    extract_archive,
)
from .loader import DataLoader, default_collate
from .mnist import MNIST, read_idx
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from .synthetic import load_digits, make_blobs, make_spirals, make_xor
from .text import CharDataset, TextDataset, load_tiny_shakespeare
from .transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor

__version__ = "0.1.0"

__all__ = [
    "Dataset",
    "TensorDataset",
    "Subset",
    "DataLoader",
    "default_collate",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "BatchSampler",
    "transforms",
    "Compose",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "ToTensor",
    "CIFAR10",
    "write_cifar10_archive",
    "MNIST",
    "read_idx",
    "CharDataset",
    "TextDataset",
    "load_tiny_shakespeare",
    "make_spirals",
    "make_xor",
    "make_blobs",
    "load_digits",
    "data_root",
    "download",
    "extract_archive",
    "check_integrity",
    "DownloadError",
    "ChecksumError",
    "UnsafeArchiveError",
]
