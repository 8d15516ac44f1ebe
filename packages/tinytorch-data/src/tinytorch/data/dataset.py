"""Datasets: anything with ``__len__`` and ``__getitem__``, and `TensorDataset` over arrays.

A `TensorDataset` keeps its samples as whole arrays, so a `DataLoader` can gather a batch with
one fancy index per array (``X[indices]``) instead of a Python loop over samples: the fast path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from tinytorch.tensor import Tensor


class Dataset:
    """The dataset protocol: ``len(ds)`` samples, ``ds[i]`` returns sample ``i``.

    Subclass it and define ``__len__`` and ``__getitem__``; a `DataLoader` then batches the
    samples with its ``collate_fn``.

    Examples:
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return i, i * i
        >>> Squares()[3]
        (3, 9)
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


def as_array(x, name: str = "array") -> np.ndarray:
    """A numpy view of ``x`` (an ndarray, a Tensor or a sequence); never copies an ndarray.

    Examples:
        >>> as_array([1, 2, 3]).shape
        (3,)
    """
    if isinstance(x, Tensor):
        return x.data
    arr = np.asarray(x)
    if arr.ndim == 0:
        raise ValueError(f"{name}: expected an array with a first (sample) dimension, got a scalar")
    if arr.dtype == object:
        raise TypeError(f"{name}: cannot batch an array of Python objects")
    return arr


def check_lengths(arrays: Sequence[np.ndarray], who: str) -> int:
    """The common first dimension of ``arrays``; ValueError naming every length if they differ.

    Examples:
        >>> check_lengths([np.zeros((3, 2)), np.zeros(3)], "TensorDataset")
        3
    """
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        named = ", ".join(f"argument {i} has {n}" for i, n in enumerate(lengths))
        raise ValueError(
            f"{who}: arrays must have the same length (first dimension), but {named} samples"
        )
    return lengths[0]


class TensorDataset(Dataset):
    """Samples are rows of equally long arrays: ``ds[i] == (a[i], b[i], ...)``.

    Args:
        *arrays: numpy arrays, Tensors or sequences, all with the same first dimension.
        transform: applied to the first array's sample(s). A DataLoader applies it to a whole
            gathered batch at once, so it must accept a batch as well as one sample (every
            `tinytorch.data.transforms` transform does).

    Raises:
        ValueError: the arrays' first dimensions differ (the message names each length).

    Examples:
        >>> ds = TensorDataset(np.arange(6).reshape(3, 2), np.array([0, 1, 0]))
        >>> len(ds), ds[1][0].tolist(), int(ds[1][1])
        (3, [2, 3], 1)
    """

    def __init__(self, *arrays, transform: Callable | None = None):
        if not arrays:
            raise ValueError("TensorDataset: give at least one array")
        self.arrays = tuple(
            as_array(a, f"TensorDataset argument {i}") for i, a in enumerate(arrays)
        )
        check_lengths(self.arrays, "TensorDataset")
        self.transform = transform

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        # BEGIN SOLUTION 08 dataset
        items = [a[index] for a in self.arrays]
        if self.transform is not None:
            items[0] = self.transform(items[0])
        return tuple(items)
        # END SOLUTION

    def gather(self, indices: np.ndarray) -> tuple:
        """A whole batch: one fancy index per array (vectorised), then the transform once.

        Examples:
            >>> ds = TensorDataset(np.arange(10) * 10)
            >>> ds.gather(np.array([3, 1]))[0].tolist()
            [30, 10]
        """
        # BEGIN SOLUTION 08 dataset
        items = [a[indices] for a in self.arrays]
        if self.transform is not None:
            items[0] = self.transform(items[0])
        return tuple(items)
        # END SOLUTION


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Examples:
        >>> sub = Subset(TensorDataset(np.arange(10)), [7, 2])
        >>> len(sub), int(sub[0][0])
        (2, 7)
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def gather(self, indices: np.ndarray) -> tuple:
        """A batch through the parent's fast path when it has one."""
        mapped = self.indices[indices]
        if hasattr(self.dataset, "gather"):
            return self.dataset.gather(mapped)
        raise TypeError(f"Subset: {type(self.dataset).__name__} has no vectorised gather")
