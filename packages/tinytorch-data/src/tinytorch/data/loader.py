"""`DataLoader`: batches from a dataset (or from arrays directly), with a seeded shuffle,
samplers, transforms, and a background thread that prefetches the next batches.

Fast path: for a `TensorDataset` (and for arrays passed directly, as in the seed's
``DataLoader(X, y, batch_size=32)``) a batch is gathered with one fancy index per array,
``X[indices]``, not with a Python loop over samples. Other datasets are read sample by sample
and stacked by ``collate_fn``.

Batches are `tinytorch.tensor.Tensor`s: floating arrays become float32, integer arrays int64
(class labels, token ids), booleans stay bool.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

import numpy as np
from tinytorch.tensor import Generator, Tensor, default_generator, from_numpy

from .dataset import Dataset, Subset, TensorDataset, as_array, check_lengths
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "to_tensors"]


def default_collate(samples: list):
    """Stack a list of samples into one batch, keeping their structure (tuple, list, dict).

    Examples:
        >>> xb, yb = default_collate([(np.zeros(2), 0), (np.ones(2), 1)])
        >>> xb.shape, yb.tolist()
        ((2, 2), [0, 1])
    """
    # BEGIN SOLUTION 08 batching
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    return np.stack([s.data if isinstance(s, Tensor) else np.asarray(s) for s in samples])
    # END SOLUTION


def _to_tensor(x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float32, copy=False)
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64, copy=False)
    elif arr.dtype.kind != "b":
        raise TypeError(f"DataLoader: cannot make a tensor from a batch of dtype {arr.dtype}")
    return from_numpy(np.ascontiguousarray(arr))


def to_tensors(batch):
    """Turn a batch's arrays into Tensors (float -> float32, integers -> int64), keeping structure.

    Examples:
        >>> x, y = to_tensors((np.zeros((2, 3)), np.array([1, 2], dtype=np.uint8)))
        >>> x.dtype, y.dtype
        (dtype('float32'), dtype('int64'))
    """
    if isinstance(batch, (tuple, list)):
        return tuple(to_tensors(b) for b in batch)
    if isinstance(batch, dict):
        return {k: to_tensors(v) for k, v in batch.items()}
    return _to_tensor(batch)


def _is_array_like(x) -> bool:
    return isinstance(x, (np.ndarray, Tensor, list, tuple))


def _can_gather(dataset) -> bool:
    if isinstance(dataset, TensorDataset):
        return True
    return isinstance(dataset, Subset) and _can_gather(dataset.dataset)


class DataLoader:
    """Iterate over a dataset in batches of Tensors.

    Args:
        *data: one `Dataset` (anything with ``__len__`` and ``__getitem__``), or arrays of equal
            length (``DataLoader(X, y, batch_size=32)``), which become a `TensorDataset`.
        batch_size: samples per batch.
        shuffle: a new random order every epoch, drawn from ``generator``.
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        collate_fn: stacks a list of samples into a batch (default: `default_collate`). Given
            one, the loader reads sample by sample even for a `TensorDataset`.
        sampler: a `Sampler` (or any iterable of indices with ``len``); excludes ``shuffle``.
        batch_sampler: yields whole batches of indices; excludes batch_size, shuffle, sampler
            and drop_last.
        generator: the `tinytorch.tensor.Generator` behind the shuffle.
        seed: seeds a new generator when ``generator`` is not given (neither: a generator seeded
            from the default generator, so ``tinytorch.tensor.manual_seed`` makes runs repeat).
        transform: applied to each batch's inputs (the first item) at once, vectorised.
        target_transform: applied to each batch's targets (the second item).
        prefetch: how many batches a background thread prepares ahead (0: no thread).

    Raises:
        ValueError: arrays of different lengths (the message names each length), bad sizes,
            or ``shuffle`` together with a ``sampler``.

    Examples:
        >>> X = np.arange(20, dtype=np.float32).reshape(10, 2)
        >>> y = np.arange(10) % 2
        >>> loader = DataLoader(X, y, batch_size=4, shuffle=True, seed=0)
        >>> len(loader)
        3
        >>> xb, yb = next(iter(loader))
        >>> xb.shape, xb.dtype, yb.dtype
        ((4, 2), dtype('float32'), dtype('int64'))
    """

    def __init__(
        self,
        *data,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        collate_fn: Callable | None = None,
        sampler=None,
        batch_sampler=None,
        generator: Generator | None = None,
        seed: int | None = None,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        prefetch: int = 2,
    ):
        if not data:
            raise TypeError("DataLoader: give a dataset, or arrays such as DataLoader(X, y)")
        self._single = False
        if len(data) == 1 and not _is_array_like(data[0]):
            dataset = data[0]
            if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
                raise TypeError(
                    f"DataLoader: {type(dataset).__name__} is neither a dataset (__len__ and "
                    "__getitem__) nor an array"
                )
        else:
            for i, d in enumerate(data):
                if isinstance(d, Dataset):
                    raise TypeError(
                        f"DataLoader: argument {i} is a dataset; pass one dataset, or arrays"
                    )
            arrays = [as_array(d, f"DataLoader argument {i}") for i, d in enumerate(data)]
            if len(arrays) > 1:
                lengths = [len(a) for a in arrays]
                if len(set(lengths)) > 1:
                    shown = " and ".join(str(n) for n in lengths)
                    raise ValueError(
                        f"DataLoader: the arrays have different lengths ({shown} samples); "
                        "inputs and labels must have one entry per sample"
                    )
            check_lengths(arrays, "DataLoader")
            dataset = TensorDataset(*arrays)
            self._single = len(arrays) == 1
        self.dataset = dataset

        if (
            isinstance(prefetch, bool)
            or not isinstance(prefetch, (int, np.integer))
            or prefetch < 0
        ):
            raise ValueError(f"DataLoader: prefetch must be an int >= 0, got {prefetch!r}")
        self.prefetch = int(prefetch)
        if generator is None:
            if seed is None:
                seed = int(default_generator.numpy.integers(0, 2**63 - 1))
            generator = Generator(seed)
        self.generator = generator

        if batch_sampler is not None:
            if sampler is not None or shuffle or drop_last or batch_size != 1:
                raise ValueError(
                    "DataLoader: batch_sampler excludes batch_size, shuffle, sampler and drop_last"
                )
            self.batch_sampler = batch_sampler
        else:
            if sampler is not None and shuffle:
                raise ValueError("DataLoader: shuffle=True and a sampler exclude each other")
            if sampler is None:
                sampler = (
                    RandomSampler(dataset, generator=generator)
                    if shuffle
                    else SequentialSampler(dataset)
                )
            self.batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler = getattr(self.batch_sampler, "sampler", None)
        self.batch_size = getattr(self.batch_sampler, "batch_size", None)
        self.drop_last = bool(getattr(self.batch_sampler, "drop_last", False))
        self.collate_fn = collate_fn
        self.transform = transform
        self.target_transform = target_transform
        self._fast = collate_fn is None and _can_gather(dataset)

        self.epoch = 0
        self._in_epoch = False
        self._epoch_start_state: dict | None = None
        self._batches_done = 0
        self._resume_skip = 0
        # The transforms' generator states right after the last batch handed out: a prefetch
        # thread draws augmentations ahead, so "now" is not the state a resume needs.
        self._transform_states: list[dict] = []

    def __len__(self) -> int:
        """The number of batches per epoch."""
        return len(self.batch_sampler)

    # ------------------------------------------------------------------ loading
    def _load(self, indices: np.ndarray):
        if self._fast:
            batch = self.dataset.gather(indices)
        else:
            samples = [self.dataset[int(i)] for i in indices]
            batch = (self.collate_fn or default_collate)(samples)
        if self.transform is not None or self.target_transform is not None:
            if isinstance(batch, (tuple, list)):
                batch = list(batch)
                if self.transform is not None:
                    batch[0] = self.transform(batch[0])
                if self.target_transform is not None and len(batch) > 1:
                    batch[1] = self.target_transform(batch[1])
                batch = tuple(batch)
            elif self.transform is not None:
                batch = self.transform(batch)
        batch = to_tensors(batch)
        if self._single and isinstance(batch, tuple) and len(batch) == 1:
            batch = batch[0]
        return batch

    def _load_noting_rng(self, indices: np.ndarray, gens: list[Generator]):
        """Load a batch, paired with its transforms' generator states right after it."""
        batch = self._load(indices)
        return batch, [g.get_state() for g in gens]

    def _transform_generators(self) -> list[Generator]:
        """Every distinct Generator the transforms hold, not the shuffle's.

        It walks `Compose`, the loader's transforms and the dataset's own (through `Subset`s):
        per-sample transforms run in the prefetch thread too.
        """
        found: list[Generator] = []

        def walk(t, depth=0):
            if t is None or depth > 8:
                return
            gen = getattr(t, "generator", None)
            if isinstance(gen, Generator) and all(gen is not g for g in found):
                found.append(gen)
            for sub in getattr(t, "transforms", None) or ():
                walk(sub, depth + 1)

        holders, dataset = [self], self.dataset
        for _ in range(8):  # the dataset, and what a Subset wraps
            if dataset is None:
                break
            holders.append(dataset)
            dataset = getattr(dataset, "dataset", None)
        for holder in holders:
            walk(getattr(holder, "transform", None))
            walk(getattr(holder, "target_transform", None))
        return [g for g in found if g is not self.generator]

    def _epoch_batches(self) -> list[np.ndarray]:
        if hasattr(self.batch_sampler, "batches"):
            return self.batch_sampler.batches()
        return [np.asarray(b, dtype=np.int64) for b in self.batch_sampler]

    def __iter__(self) -> Iterator:
        start_state = self.generator.get_state()
        skip, self._resume_skip = self._resume_skip, 0
        batches = self._epoch_batches()[skip:]
        self._epoch_start_state = start_state
        self._batches_done = skip
        self._in_epoch = True
        gens = self._transform_generators()
        self._transform_states = [g.get_state() for g in gens]
        if self.prefetch:
            source = self._prefetched(batches, gens)
        else:
            source = (self._load_noting_rng(b, gens) for b in batches)
        return self._counted(source)

    def _counted(self, source):
        try:
            for batch, transform_states in source:
                self._batches_done += 1
                self._transform_states = transform_states
                yield batch
            self._in_epoch = False
            self.epoch += 1
        finally:
            source.close()

    def _prefetched(self, batches: list[np.ndarray], gens: list[Generator]):
        """Yield the batches while a daemon thread loads the next ``prefetch`` of them."""
        q: queue.Queue = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def worker():
            try:
                for idx in batches:
                    if stop.is_set() or not put(("batch", self._load_noting_rng(idx, gens))):
                        return
                put(("done", None))
            except BaseException as exc:  # re-raised in the consumer
                put(("error", exc))

        thread = threading.Thread(target=worker, name="tinytorch-data-prefetch", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    kind, payload = q.get(timeout=0.1)
                except queue.Empty:
                    if not thread.is_alive() and q.empty():
                        raise RuntimeError(
                            "DataLoader: the prefetch thread stopped unexpectedly"
                        ) from None
                    continue
                if kind == "batch":
                    yield payload
                elif kind == "done":
                    return
                else:
                    raise payload
        finally:
            stop.set()
            thread.join(timeout=10)

    # ------------------------------------------------------------------ resume
    def state_dict(self) -> dict:
        """The loader's position: its generator's state, the epoch, batches done this epoch,
        and the states of the generators its random transforms hold.

        Mid-epoch, the state is the generator's at the start of the epoch plus the number of
        batches already yielded, so `load_state_dict` replays the same order and skips those.
        The transforms' states are those right after the last batch handed out, not the
        current ones: the prefetch thread has already drawn augmentations for batches ahead.
        (A random transform without a generator of its own draws from the default generator,
        which the loader does not save.)

        Examples:
            >>> loader = DataLoader(np.arange(10), batch_size=3, shuffle=True, seed=1)
            >>> state = loader.state_dict()
            >>> first = [b.tolist() for b in loader]
            >>> loader.load_state_dict(state)
            >>> [b.tolist() for b in loader] == first
            True
        """
        if self._in_epoch:
            return {
                "generator": self._epoch_start_state,
                "epoch": self.epoch,
                "batches_done": self._batches_done,
                "transforms": self._transform_states,
            }
        return {
            "generator": self.generator.get_state(),
            "epoch": self.epoch,
            "batches_done": 0,
            "transforms": [g.get_state() for g in self._transform_generators()],
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from a `state_dict`: the next iteration resumes exactly there.

        Raises:
            ValueError: the state holds a different number of transform generator states
                than this loader's transforms have (nothing is changed then).
        """
        gens, saved = self._transform_generators(), state.get("transforms")
        if saved is not None and len(saved) != len(gens):
            raise ValueError(
                f"DataLoader.load_state_dict: the state has {len(saved)} transform generator "
                f"state(s), but this loader's transforms hold {len(gens)} generator(s)"
            )
        self.generator.set_state(state["generator"])
        for g, s in zip(gens, saved or [], strict=False):  # lengths checked above
            g.set_state(s)
        self.epoch = int(state.get("epoch", 0))
        self._resume_skip = int(state.get("batches_done", 0))
        self._in_epoch = False

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, batches={len(self)}, prefetch={self.prefetch})"
        )
