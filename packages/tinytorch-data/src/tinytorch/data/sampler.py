"""Samplers decide which indices a DataLoader visits and in which order.

`SequentialSampler` visits 0..n-1, `RandomSampler` a fresh permutation each epoch drawn from
a seeded `tinytorch.tensor.Generator`, and `BatchSampler` cuts a sampler's stream into batches
of index arrays (numpy ``int64``), which a `TensorDataset` gathers in one fancy index.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from tinytorch.tensor import Generator
from tinytorch.tensor.random import resolve


def _length(data_source) -> int:
    return int(data_source) if isinstance(data_source, (int, np.integer)) else len(data_source)


class Sampler:
    """Base class: iterating yields dataset indices; ``len()`` says how many.

    Subclasses implement `indices` (one epoch's indices as an int64 array).

    Examples:
        >>> list(SequentialSampler(3))
        [0, 1, 2]
    """

    def indices(self) -> np.ndarray:
        """One epoch's indices, as a 1-D int64 array (each call may draw a new order)."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """Indices 0, 1, ..., n-1 in order. ``data_source`` is a dataset or a length.

    Examples:
        >>> SequentialSampler(4).indices().tolist()
        [0, 1, 2, 3]
    """

    def __init__(self, data_source):
        self.n = _length(data_source)

    def indices(self) -> np.ndarray:
        return np.arange(self.n, dtype=np.int64)

    def __len__(self) -> int:
        return self.n


class RandomSampler(Sampler):
    """A new random order every epoch, from ``generator`` (the default generator if None).

    Args:
        data_source: a dataset or a length.
        replacement: draw with replacement (then ``num_samples`` may exceed the length).
        num_samples: how many indices per epoch (default: the length).
        generator: a `tinytorch.tensor.Generator`; seed it for reproducible orders.

    Examples:
        >>> from tinytorch.tensor import Generator
        >>> s = RandomSampler(5, generator=Generator(0))
        >>> sorted(s.indices().tolist())
        [0, 1, 2, 3, 4]
    """

    def __init__(
        self,
        data_source,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Generator | None = None,
    ):
        self.n = _length(data_source)
        self.replacement = bool(replacement)
        self.num_samples = self.n if num_samples is None else int(num_samples)
        if self.num_samples < 0:
            raise ValueError(f"RandomSampler: num_samples must be >= 0, got {num_samples}")
        if not self.replacement and self.num_samples > self.n:
            raise ValueError(
                f"RandomSampler: num_samples={self.num_samples} exceeds the {self.n} samples; "
                "use replacement=True"
            )
        self.generator = generator

    def indices(self) -> np.ndarray:
        # BEGIN SOLUTION 08 shuffle
        rng = resolve(self.generator)
        if self.replacement:
            return rng.integers(0, self.n, size=self.num_samples, dtype=np.int64)
        return rng.permutation(self.n).astype(np.int64)[: self.num_samples]
        # END SOLUTION

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler:
    """Groups a sampler's indices into batches (int64 arrays) of ``batch_size``.

    The last, smaller batch is kept unless ``drop_last``.

    Examples:
        >>> [b.tolist() for b in BatchSampler(SequentialSampler(5), 2, drop_last=False)]
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool = False):
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(f"BatchSampler: batch_size must be a positive int, got {batch_size!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)

    def batches(self) -> list[np.ndarray]:
        """One epoch's batches (draws the sampler's order once)."""
        # BEGIN SOLUTION 08 batching
        if hasattr(self.sampler, "indices"):
            idx = np.asarray(self.sampler.indices(), dtype=np.int64)
        else:
            idx = np.fromiter(iter(self.sampler), dtype=np.int64)
        n = len(idx)
        stop = n - n % self.batch_size if self.drop_last else n
        return [idx[i : i + self.batch_size] for i in range(0, stop, self.batch_size)]
        # END SOLUTION

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.batches())

    def __len__(self) -> int:
        # BEGIN SOLUTION 08 batching
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        # END SOLUTION
