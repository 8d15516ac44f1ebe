# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 08 lab: datasets, loaders, transforms
#
# You implemented `TensorDataset.__getitem__`/`gather` (`dataset.py`), batching
# (`sampler.py`'s `BatchSampler`, `loader.py`'s `default_collate`), the seeded shuffle
# (`RandomSampler.indices`) and the vectorised transforms (`transforms.py`) in
# `packages/tinytorch-data/src/tinytorch/data/`.

# %%
import time

import numpy as np
import tinytorch.tensor as tt
from tinytorch.data import (
    Compose,
    DataLoader,
    Dataset,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    TensorDataset,
)

X = np.random.default_rng(0).random((1000, 3, 32, 32), dtype=np.float32)
y = np.arange(1000) % 10
ds = TensorDataset(X, y)
print(len(ds), "samples; one sample:", ds[0][0].shape, int(ds[0][1]))

loader = DataLoader(X, y, batch_size=128, shuffle=True, seed=0)
xb, yb = next(iter(loader))
print(len(loader), "batches;", xb.shape, xb.dtype, yb.shape, yb.dtype)

# %% [markdown]
# ## Shuffling: a new order every epoch, the same orders for the same seed


# %% tags=["tests"]
def epoch_order(loader):
    return np.concatenate([b.data for _, b in loader])


a = DataLoader(np.arange(10), np.arange(10), batch_size=4, shuffle=True, seed=1, prefetch=0)
e1, e2 = epoch_order(a), epoch_order(a)
b = DataLoader(np.arange(10), np.arange(10), batch_size=4, shuffle=True, seed=1, prefetch=0)
print("epoch 1:", e1.tolist(), "\nepoch 2:", e2.tolist())
assert e1.tolist() == epoch_order(b).tolist()

# %% [markdown]
# ## Augmentation, vectorised over the batch

# %%
aug = Compose(
    [
        RandomCrop(32, padding=4, generator=tt.Generator(0)),
        RandomHorizontalFlip(generator=tt.Generator(1)),
        Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]),
    ]
)
out = aug(X[:8])
print("augmented batch", out.shape, f"mean {out.mean():.3f} std {out.std():.3f}")

# %% [markdown]
# ## Profile: throughput of the fast path vs sample-by-sample loading
#
# A `TensorDataset` batch is one fancy index per array; a generic dataset calls
# `__getitem__` once per sample and then stacks the samples.


# %%
class PerSample(Dataset):
    def __len__(self):
        return len(X)

    def __getitem__(self, i):
        return X[i], y[i]


def throughput(loader):
    t0 = time.perf_counter()
    n = sum(len(b[1].tolist()) for b in loader)
    return n / (time.perf_counter() - t0)


loaders = {
    "fast path": DataLoader(X, y, batch_size=128, shuffle=True, prefetch=0),
    "per-sample dataset": DataLoader(PerSample(), batch_size=128, shuffle=True, prefetch=0),
    "fast path + aug": DataLoader(X, y, batch_size=128, transform=aug, prefetch=0),
}
for name, loader in loaders.items():
    print(f"{name:<20} {throughput(loader):10,.0f} samples/s")

# %% [markdown]
# ## Check yourself

# %% tags=["tests"]
assert [len(b.tolist()) for b in DataLoader(np.arange(10), batch_size=4, prefetch=0)] == [4, 4, 2]
assert len(DataLoader(np.arange(10), batch_size=4, drop_last=True)) == 2
assert sorted(e1.tolist()) == list(range(10))
flip = RandomHorizontalFlip(p=1.0)(np.arange(3, dtype=np.float32).reshape(1, 1, 1, 3))
assert flip.ravel().tolist() == [2.0, 1.0, 0.0]
print("module 08 lab: all checks passed")
