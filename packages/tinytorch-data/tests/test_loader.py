"""DataLoader semantics: batches, drop_last, len, shuffle reproducibility, samplers, prefetch
(identical batches, early break, worker errors), errors that name lengths, exact resume."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from tinytorch.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
)
from tinytorch.tensor import Generator, Tensor


def arrays(n=10):
    X = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    y = np.arange(n, dtype=np.int32)
    return X, y


def flat(loader):
    return [(xb.data.copy(), yb.data.copy()) for xb, yb in loader]


def test_batches_dtypes_and_len():
    X, y = arrays(10)
    loader = DataLoader(X, y, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    xb, yb = batches[0]
    assert isinstance(xb, Tensor) and xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(xb.data, X[:4].astype(np.float32))
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), y)


def test_drop_last():
    X, y = arrays(10)
    loader = DataLoader(X, y, batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(b[1]) for b in loader] == [4, 4]
    assert len(DataLoader(X, y, batch_size=5, drop_last=True)) == 2


def test_single_array_yields_tensors():
    loader = DataLoader(np.arange(5), batch_size=2)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]]


def test_lengths_mismatch_names_both_lengths():
    with pytest.raises(ValueError, match=r"100 and 90"):
        DataLoader(np.zeros((100, 2)), np.zeros(90), batch_size=8)
    with pytest.raises(ValueError, match=r"argument 0 has 3, argument 1 has 2"):
        TensorDataset(np.zeros(3), np.zeros(2))


def test_bad_arguments():
    X, y = arrays()
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(X, y, batch_size=0)
    with pytest.raises(ValueError, match="prefetch"):
        DataLoader(X, y, prefetch=-1)
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(X, y, shuffle=True, sampler=SequentialSampler(10))
    with pytest.raises(TypeError, match="neither a dataset"):
        DataLoader(object())


def test_shuffle_reproducible_and_changes_each_epoch():
    X, y = arrays(50)
    a = DataLoader(X, y, batch_size=8, shuffle=True, seed=3)
    b = DataLoader(X, y, batch_size=8, shuffle=True, generator=Generator(3))
    ea1, ea2 = flat(a), flat(a)
    eb1, eb2 = flat(b), flat(b)
    order = lambda epoch: np.concatenate([yb for _, yb in epoch]).tolist()  # noqa: E731
    assert order(ea1) == order(eb1) and order(ea2) == order(eb2)
    assert order(ea1) != order(ea2)
    assert sorted(order(ea1)) == list(range(50))
    assert order(ea1) != list(range(50))
    c = DataLoader(X, y, batch_size=8, shuffle=True, seed=4)
    assert order(flat(c)) != order(ea1)
    # The rows stay paired with their labels.
    for xb, yb in ea1:
        np.testing.assert_array_equal(xb[:, 0], yb * 3)


def test_prefetch_on_and_off_give_identical_batches():
    X, y = arrays(37)
    for shuffle in (False, True):
        on = flat(DataLoader(X, y, batch_size=5, shuffle=shuffle, seed=1, prefetch=3))
        off = flat(DataLoader(X, y, batch_size=5, shuffle=shuffle, seed=1, prefetch=0))
        assert len(on) == len(off) == 8
        for (x1, y1), (x2, y2) in zip(on, off, strict=True):
            np.testing.assert_array_equal(x1, x2)
            np.testing.assert_array_equal(y1, y2)


class SlowDataset(Dataset):
    def __init__(self, n=1000, fail_at=None):
        self.n, self.fail_at, self.reads = n, fail_at, 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.reads += 1
        if i == self.fail_at:
            raise KeyError(f"sample {i} is broken")
        return np.full(2, i, dtype=np.float32), i


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "tinytorch-data-prefetch"]


def test_early_break_does_not_hang_and_stops_the_thread():
    ds = SlowDataset(10_000)
    loader = DataLoader(ds, batch_size=10, prefetch=2)
    for i, _ in enumerate(loader):
        if i == 2:
            break
    deadline = time.time() + 5
    while _prefetch_threads() and time.time() < deadline:
        time.sleep(0.01)
    assert not _prefetch_threads()
    assert ds.reads < 200  # it stopped reading ahead: about (3 + prefetch + 1) batches


def test_worker_exception_is_reraised_in_the_consumer():
    loader = DataLoader(SlowDataset(100, fail_at=42), batch_size=10, prefetch=2)
    seen = []
    with pytest.raises(KeyError, match="sample 42 is broken"):
        for xb, _ in loader:
            seen.append(xb)
    assert len(seen) == 4
    with pytest.raises(KeyError):
        list(DataLoader(SlowDataset(100, fail_at=3), batch_size=10, prefetch=0))


def test_prefetch_overlaps_loading_with_compute():
    class Sleepy(SlowDataset):
        def __getitem__(self, i):
            time.sleep(0.002)
            return super().__getitem__(i)

    def run(prefetch):
        start = time.perf_counter()
        for _ in DataLoader(Sleepy(80), batch_size=10, prefetch=prefetch):
            time.sleep(0.02)  # "compute"
        return time.perf_counter() - start

    # Not a speed assertion on absolute time: with overlap, loading hides behind compute.
    off, on = run(0), run(2)
    assert on < off


def test_generic_dataset_uses_collate_and_custom_collate():
    loader = DataLoader(SlowDataset(7), batch_size=3)
    xb, yb = next(iter(loader))
    assert xb.shape == (3, 2) and yb.tolist() == [0, 1, 2]
    custom = DataLoader(
        SlowDataset(4), batch_size=2, collate_fn=lambda s: np.array([v for _, v in s]) * 10
    )
    assert [b.tolist() for b in custom] == [[0, 10], [20, 30]]


def test_fast_path_is_one_gather_per_array(monkeypatch):
    X, y = arrays(20)
    ds = TensorDataset(X, y)
    monkeypatch.setattr(
        TensorDataset,
        "__getitem__",
        lambda self, i: pytest.fail("per-sample access on the fast path"),
    )
    calls = []
    original = TensorDataset.gather
    monkeypatch.setattr(
        TensorDataset, "gather", lambda self, idx: calls.append(len(idx)) or original(self, idx)
    )
    list(DataLoader(ds, batch_size=8, shuffle=True, seed=0))
    assert calls == [8, 8, 4]
    sub = Subset(ds, [5, 2, 9])
    assert next(iter(DataLoader(sub, batch_size=3)))[1].tolist() == [5, 2, 9]


def test_samplers():
    assert SequentialSampler(4).indices().tolist() == [0, 1, 2, 3]
    r = RandomSampler(10, generator=Generator(0))
    first, second = r.indices().tolist(), r.indices().tolist()
    assert sorted(first) == list(range(10)) and first != second
    rep = RandomSampler(3, replacement=True, num_samples=20, generator=Generator(0))
    assert len(rep.indices()) == 20 == len(rep)
    bs = BatchSampler(SequentialSampler(7), 3, drop_last=True)
    assert [b.tolist() for b in bs] == [[0, 1, 2], [3, 4, 5]] and len(bs) == 2
    X, y = arrays(10)
    loader = DataLoader(X, y, batch_size=4, sampler=[9, 8, 7, 6, 5])
    assert [b[1].tolist() for b in loader] == [[9, 8, 7, 6], [5]]
    loader = DataLoader(X, y, batch_sampler=[[1, 3], [0]])
    assert [b[1].tolist() for b in loader] == [[1, 3], [0]]


def test_transform_applies_to_the_whole_batch():
    X, y = arrays(6)
    seen = []
    loader = DataLoader(
        X,
        y,
        batch_size=4,
        prefetch=0,
        transform=lambda xb: seen.append(xb.shape) or xb * 2,
        target_transform=lambda yb: yb + 100,
    )
    xb, yb = next(iter(loader))
    assert seen == [(4, 3)] and xb.data[1, 0] == 6 and yb.tolist() == [100, 101, 102, 103]


def test_state_dict_exact_resume_between_and_within_epochs():
    X, y = arrays(30)
    ref = DataLoader(X, y, batch_size=4, shuffle=True, seed=7)
    epochs = [flat(ref) for _ in range(3)]

    a = DataLoader(X, y, batch_size=4, shuffle=True, seed=7)
    flat(a)
    state = json.loads(json.dumps(a.state_dict()))  # JSON-friendly
    b = DataLoader(X, y, batch_size=4, shuffle=True, seed=999)
    b.load_state_dict(state)
    for got, want in zip(flat(b), epochs[1], strict=True):
        np.testing.assert_array_equal(got[1], want[1])

    c = DataLoader(X, y, batch_size=4, shuffle=True, seed=7)
    flat(c)
    it = iter(c)
    next(it), next(it), next(it)
    mid = c.state_dict()
    assert mid["batches_done"] == 3 and mid["epoch"] == 1
    d = DataLoader(X, y, batch_size=4, shuffle=True, seed=0)
    d.load_state_dict(mid)
    rest = flat(d)
    assert len(rest) == len(epochs[1]) - 3
    for got, want in zip(rest, epochs[1][3:], strict=True):
        np.testing.assert_array_equal(got[1], want[1])
    for got, want in zip(flat(d), epochs[2], strict=True):  # and the epoch after
        np.testing.assert_array_equal(got[1], want[1])


class Noise:
    """A random transform with its own generator, as RandomCrop and RandomHorizontalFlip have."""

    def __init__(self, seed):
        self.generator = Generator(seed)

    def __call__(self, xb):
        return xb + self.generator.numpy.standard_normal(np.shape(xb))


def _augmented(prefetch, seed=7, where="loader"):
    from tinytorch.data import Compose, RandomHorizontalFlip

    X = np.arange(40 * 4, dtype=np.float32).reshape(40, 1, 2, 2)
    y = np.arange(40)
    tf = Compose([Noise(11), RandomHorizontalFlip(generator=Generator(12))])
    if where == "dataset":  # a per-sample transform on the dataset, seen through a Subset
        data = Subset(TensorDataset(X, y, transform=tf), np.arange(40))
        return DataLoader(data, batch_size=4, shuffle=True, seed=seed, prefetch=prefetch)
    return DataLoader(X, y, batch_size=4, shuffle=True, seed=seed, transform=tf, prefetch=prefetch)


@pytest.mark.parametrize(
    "prefetch,where", [(0, "loader"), (1, "loader"), (3, "loader"), (3, "dataset")]
)
def test_mid_epoch_resume_replays_augmentations_despite_prefetch(prefetch, where):
    ref = _augmented(prefetch, where=where)
    want = flat(ref) + flat(ref)

    a = _augmented(prefetch, where=where)
    flat(a)
    it = iter(a)
    for _ in range(3):
        next(it)
    time.sleep(0.05)  # let the prefetch thread draw augmentations for the batches ahead
    state = json.loads(json.dumps(a.state_dict()))
    assert len(state["transforms"]) == 2 and state["batches_done"] == 3
    it.close()

    b = _augmented(prefetch, seed=999, where=where)
    b.load_state_dict(state)
    got = flat(b)
    assert len(got) == 7
    for (gx, gy), (wx, wy) in zip(got, want[13:], strict=True):
        np.testing.assert_array_equal(gy, wy)
        np.testing.assert_array_equal(gx, wx)  # same noise, same flips


def test_load_state_dict_with_other_transforms_is_a_clear_error_and_changes_nothing():
    a = _augmented(0)
    state = a.state_dict()
    X, y = arrays(10)
    plain = DataLoader(X, y, batch_size=4, shuffle=True, seed=1)
    before = plain.state_dict()
    with pytest.raises(ValueError, match="2 transform generator state"):
        plain.load_state_dict(state)
    assert plain.state_dict() == before


def test_default_seed_follows_manual_seed():
    from tinytorch.tensor import manual_seed

    X, y = arrays(20)
    manual_seed(5)
    a = flat(DataLoader(X, y, batch_size=20, shuffle=True))
    manual_seed(5)
    b = flat(DataLoader(X, y, batch_size=20, shuffle=True))
    np.testing.assert_array_equal(a[0][1], b[0][1])
