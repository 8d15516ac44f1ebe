"""Module 08 (dataloader): TensorDataset, batching, seeded shuffling, vectorised transforms."""

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
    default_collate,
)


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tt.use_backend("numpy"):
        yield


def test_tensor_dataset_item_and_gather():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10) % 3
    ds = TensorDataset(X, y)
    x3, y3 = ds[3]
    assert x3.tolist() == [6.0, 7.0] and int(y3) == 0
    xb, yb = ds.gather(np.array([9, 0, 4]))
    assert xb.tolist() == [[18.0, 19.0], [0.0, 1.0], [8.0, 9.0]]
    assert yb.tolist() == [0, 0, 1]
    doubled = TensorDataset(X, transform=lambda a: a * 2)
    assert doubled[1][0].tolist() == [4.0, 6.0]
    assert doubled.gather(np.array([1]))[0].tolist() == [[4.0, 6.0]]


def test_batch_sampler_sizes_and_length():
    assert [b.tolist() for b in BatchSampler(SequentialSampler(5), 2)] == [[0, 1], [2, 3], [4]]
    assert len(BatchSampler(SequentialSampler(5), 2)) == 3
    dropped = BatchSampler(SequentialSampler(5), 2, drop_last=True)
    assert [b.tolist() for b in dropped] == [[0, 1], [2, 3]] and len(dropped) == 2
    assert len(BatchSampler(SequentialSampler(6), 3)) == 2


def test_loader_batches_in_order():
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10)
    loader = DataLoader(X, y, batch_size=4, prefetch=0)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[1].tolist()) for b in batches] == [4, 4, 2]
    xb, yb = batches[0]
    assert xb.dtype == np.float32 and yb.dtype == np.int64
    assert yb.tolist() == [0, 1, 2, 3]
    assert np.concatenate([b[1].data for b in batches]).tolist() == list(range(10))


def test_default_collate_keeps_structure():
    xb, yb = default_collate([(np.zeros(2), 0), (np.ones(2), 1)])
    assert xb.shape == (2, 2) and yb.tolist() == [0, 1]
    d = default_collate([{"a": 1, "b": np.ones(3)}, {"a": 2, "b": np.zeros(3)}])
    assert d["a"].tolist() == [1, 2] and d["b"].shape == (2, 3)


class Squares(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return np.array([i], dtype=np.float32), i * i


def test_loader_over_a_custom_dataset_collates_samples():
    loader = DataLoader(Squares(), batch_size=3, prefetch=0)
    xs, ys = zip(*[(x.data.ravel().tolist(), y.tolist()) for x, y in loader], strict=True)
    assert ys == ([0, 1, 4], [9, 16, 25], [36])
    assert xs[0] == [0.0, 1.0, 2.0]


def test_random_sampler_is_a_seeded_permutation():
    a = RandomSampler(50, generator=tt.Generator(7)).indices()
    b = RandomSampler(50, generator=tt.Generator(7)).indices()
    assert a.dtype == np.int64
    assert a.tolist() == b.tolist()
    assert sorted(a.tolist()) == list(range(50)) and a.tolist() != list(range(50))
    sampler = RandomSampler(50, generator=tt.Generator(7))
    assert sampler.indices().tolist() != sampler.indices().tolist()  # a new order each epoch
    drawn = RandomSampler(5, replacement=True, num_samples=40, generator=tt.Generator(0)).indices()
    assert len(drawn) == 40 and set(drawn.tolist()) <= set(range(5))
    assert len(RandomSampler(10, num_samples=4, generator=tt.Generator(0)).indices()) == 4


def test_shuffled_loader_covers_every_sample_each_epoch():
    X = np.arange(30)
    loader = DataLoader(X, batch_size=8, shuffle=True, seed=3, prefetch=0)
    e1 = np.concatenate([b.data for b in loader]).tolist()
    e2 = np.concatenate([b.data for b in loader]).tolist()
    assert sorted(e1) == sorted(e2) == list(range(30))
    assert e1 != e2 and e1 != list(range(30))
    again = DataLoader(X, batch_size=8, shuffle=True, seed=3, prefetch=0)
    assert np.concatenate([b.data for b in again]).tolist() == e1


def test_normalize_per_channel():
    x = np.ones((2, 3, 2, 2), dtype=np.float32)
    out = Normalize([0.5, 0.5, 0.5], [0.5, 0.25, 1.0])(x)
    assert out.dtype == np.float32
    assert out[0, :, 0, 0].tolist() == [1.0, 2.0, 0.5]
    t = Normalize([1.0], [2.0])(tt.tensor(np.full((1, 1, 1), 5.0)))
    assert isinstance(t, tt.Tensor) and t.tolist() == [[[2.0]]]


def test_random_horizontal_flip():
    x = np.arange(8, dtype=np.float32).reshape(2, 1, 1, 4)
    assert RandomHorizontalFlip(p=1.0)(x)[:, 0, 0].tolist() == [[3, 2, 1, 0], [7, 6, 5, 4]]
    assert RandomHorizontalFlip(p=0.0)(x).tolist() == x.tolist()
    many = np.tile(np.arange(4, dtype=np.float32), (200, 1, 1, 1))
    flipped = RandomHorizontalFlip(p=0.5, generator=tt.Generator(0))(many)[:, 0, 0, 0] == 3
    assert 60 < flipped.sum() < 140  # about half, one draw per sample


def test_random_crop_takes_windows_of_the_padded_image():
    x = np.random.default_rng(0).standard_normal((16, 2, 6, 6)).astype(np.float32)
    out = RandomCrop(4, generator=tt.Generator(1))(x)
    assert out.shape == (16, 2, 4, 4)
    for n in range(16):
        found = any(
            np.array_equal(out[n], x[n, :, i : i + 4, j : j + 4])
            for i in range(3)
            for j in range(3)
        )
        assert found
    same = RandomCrop(4, generator=tt.Generator(1))(x)
    assert np.array_equal(out, same)
    padded = RandomCrop(6, padding=2, generator=tt.Generator(0))(x[0])
    assert padded.shape == (2, 6, 6)
