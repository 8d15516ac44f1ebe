"""DataLoader throughput with CIFAR augmentation: TinyTorch (prefetch on / off) vs PyTorch.

10,000 random CIFAR-shaped uint8 images (N, 3, 32, 32) made in memory, with labels; batch 128,
shuffled, last partial batch dropped. The augmentation is benchmarks/cifar10.py's: random crop
32 with padding 4, random horizontal flip, then to float in [0, 1] and per-channel normalize.

TinyTorch: ``DataLoader(x, y, batch_size=128, shuffle=True, transform=Compose([RandomCrop,
RandomHorizontalFlip, ToTensor("CHW"), Normalize]), prefetch=2 or 0)``; its transforms work
on the whole batch at once (vectorised numpy).

PyTorch (no torchvision: the crop, flip and normalize are written in torch ops), two ways:
  per-sample   the usual torchvision-style Dataset whose __getitem__ augments one image;
               num_workers=0, and num_workers=2 (worker processes, prefetch_factor 2)
  batched      a Dataset indexed by a list of indices (sampler=BatchSampler, batch_size=None)
               that augments the whole batch with vectorised torch ops, num_workers=0

Columns: images/s when the loop only iterates, and with a consumer that takes 20 ms per batch
while releasing the GIL (a ``time.sleep``, standing in for a training step in native kernels):
there a prefetching loader overlaps its work with the consumer's.

Run through the runner:  python benchmarks/run.py dataloader [--quick]
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    have_torch,
    interleaved,
    num,
    ratio,
    tiny,
    torch_note,
    worker_main,
)

TITLE = "DataLoader with CIFAR augmentation"
N_IMAGES = 10_000
BATCH = 128
CONSUMER_MS = 20.0
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)

LOADERS = {
    # name: (implementation, options)
    "tinytorch, prefetch 0": ("native", {"prefetch": 0}),
    "tinytorch, prefetch 2": ("native", {"prefetch": 2}),
    "torch per-sample, 0 workers": ("torch", {"mode": "sample", "workers": 0}),
    "torch per-sample, 2 workers": ("torch", {"mode": "sample", "workers": 2}),
    "torch batched, 0 workers": ("torch", {"mode": "batch", "workers": 0}),
}


def _data(n: int, hw: int):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(n, 3, hw, hw), dtype=np.uint8)
    y = rng.integers(0, 10, size=n).astype(np.int64)
    return x, y


def _tinytorch_loader(x, y, batch: int, prefetch: int):
    import tinytorch.tensor as tt
    from tinytorch import data

    augment = data.Compose(
        [
            data.RandomCrop(x.shape[-1], padding=4, generator=tt.Generator(1)),
            data.RandomHorizontalFlip(generator=tt.Generator(2)),
            data.ToTensor(layout="CHW"),
            data.Normalize(MEAN, STD),
        ]
    )
    return data.DataLoader(
        x,
        y,
        batch_size=batch,
        shuffle=True,
        seed=0,
        transform=augment,
        drop_last=True,
        prefetch=prefetch,
    )


def _torch_loader(x, y, batch: int, mode: str, workers: int):
    import torch
    from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler

    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    pad = 4

    class PerSample(Dataset):
        """torchvision style: pad, crop, flip, scale and normalize one (3, H, W) uint8 image."""

        def __init__(self, x, y):
            self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            img = torch.nn.functional.pad(self.x[i], (pad, pad, pad, pad))
            h, w = self.x.shape[-2:]
            top = int(torch.randint(0, 2 * pad + 1, ()))
            left = int(torch.randint(0, 2 * pad + 1, ()))
            img = img[:, top : top + h, left : left + w]
            if torch.rand(()) < 0.5:
                img = img.flip(-1)
            return (img.float() / 255 - mean) / std, self.y[i]

    class Batched(Dataset):
        """Indexed by a list of indices: the whole batch augmented with vectorised torch ops."""

        def __init__(self, x, y):
            self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

        def __len__(self):
            return len(self.x)

        def __getitem__(self, idx):
            idx = torch.as_tensor(idx)
            imgs = torch.nn.functional.pad(self.x[idx], (pad, pad, pad, pad))  # (N, C, H+8, W+8)
            n, _, hp, wp = imgs.shape
            h, w = hp - 2 * pad, wp - 2 * pad
            top = torch.randint(0, 2 * pad + 1, (n,))
            left = torch.randint(0, 2 * pad + 1, (n,))
            rows = (top[:, None] + torch.arange(h))[:, None, :, None]  # (N, 1, h, 1)
            cols = (left[:, None] + torch.arange(w))[:, None, None, :]  # (N, 1, 1, w)
            out = imgs[
                torch.arange(n)[:, None, None, None],
                torch.arange(3)[None, :, None, None],
                rows,
                cols,
            ]  # (N, C, h, w)
            flip = torch.rand(n) < 0.5
            out = torch.where(flip[:, None, None, None], out.flip(-1), out)
            return (out.float() / 255 - mean) / std, self.y[idx]

    if mode == "sample":
        kw = {"num_workers": workers}
        if workers:
            kw.update(prefetch_factor=2, persistent_workers=True)
        return DataLoader(PerSample(x, y), batch_size=batch, shuffle=True, drop_last=True, **kw)
    sampler = BatchSampler(RandomSampler(range(len(x))), batch, drop_last=True)
    return DataLoader(Batched(x, y), batch_size=None, sampler=sampler, num_workers=workers)


def _epoch(loader, consumer_s: float) -> tuple[float, int]:
    t0 = time.perf_counter()
    images = 0
    for xb, _ in loader:
        images += xb.shape[0]
        if consumer_s:
            time.sleep(consumer_s)
    return time.perf_counter() - t0, images


def _worker(
    impl: str, loader: str, n: int, hw: int, batch: int, epochs: int, consumer_ms: float
) -> dict:
    x, y = _data(n, hw)
    _, options = LOADERS[loader]
    if impl == "torch":
        import torch

        torch.manual_seed(0)
        it = _torch_loader(x, y, batch, **options)
    else:
        it = _tinytorch_loader(x, y, batch, **options)
    _epoch(it, 0.0)  # warm-up (and start persistent worker processes)
    plain = [_epoch(it, 0.0) for _ in range(epochs)]
    consumed = [_epoch(it, consumer_ms / 1e3) for _ in range(max(1, epochs // 2))]
    batch_shape = list(next(iter(it))[0].shape)
    return {"plain": plain, "consumed": consumed, "batch_shape": batch_shape}


def run(quick: bool) -> dict:
    if tiny():
        n, hw, batch, epochs, rounds, consumer = 256, 16, 32, 1, 1, 2.0
    elif quick:
        n, hw, batch, epochs, rounds, consumer = 2_000, 32, BATCH, 1, 1, CONSUMER_MS
    else:
        n, hw, batch, epochs, rounds, consumer = N_IMAGES, 32, BATCH, 2, 3, CONSUMER_MS
    with_torch = have_torch()
    loaders = [name for name, (impl, _) in LOADERS.items() if impl != "torch" or with_torch]
    results: dict[str, list[dict]] = {name: [] for name in loaders}
    for r in range(rounds):
        for name in loaders if r % 2 == 0 else reversed(loaders):
            impl = LOADERS[name][0]
            params = dict(loader=name, n=n, hw=hw, batch=batch, epochs=epochs, consumer_ms=consumer)
            results[name] += interleaved(__file__, [impl], params, 1)[impl]
    consumer_col = f"images/s, {consumer:g} ms/batch consumer"
    base_col = "images/s (loop only)"
    columns = ["loader", base_col, "ms / batch", consumer_col, "loop only vs tinytorch prefetch 0"]

    def rate(runs, key):
        epochs_ = [e for run in runs for e in run[key]]
        seconds = sorted(s / imgs for s, imgs in epochs_)
        return 1.0 / seconds[len(seconds) // 2]  # the median epoch's images/s

    rates = {name: (rate(runs, "plain"), rate(runs, "consumed")) for name, runs in results.items()}
    base = rates["tinytorch, prefetch 0"][0]
    rows = []
    for name, (plain, consumed) in rates.items():
        rows.append(
            {
                "loader": name,
                base_col: round(plain),
                "ms / batch": num(batch / plain * 1e3),
                consumer_col: round(consumed),
                "loop only vs tinytorch prefetch 0": ratio(plain, base),
            }
        )
    per_batch_floor = batch / (consumer / 1e3)
    notes = [
        f"{n:,} uint8 images of 3x{hw}x{hw}, batch {batch}, shuffled, drop_last; crop (padding "
        "4) + flip + scale + normalize; median epoch of "
        f"{rounds} alternating round(s) x {epochs} epoch(s), one subprocess per loader and round",
        f"with the {consumer:g} ms/batch consumer the best possible is {per_batch_floor:,.0f} "
        "images/s (the consumer alone); prefetching loaders approach it by overlapping",
        "TinyTorch's loader does not depend on the tensor backend (its transforms are numpy); "
        "it ran with the default (native) backend",
    ]
    if not with_torch:
        notes.append(torch_note())
    extra = {
        "have_torch": with_torch,
        "images": n,
        "hw": hw,
        "batch": batch,
        "consumer_ms": consumer,
        "batch_shape": {k: v[0]["batch_shape"] for k, v in results.items()},
    }
    return {"columns": columns, "rows": rows, "notes": notes, "extra": extra}


if __name__ == "__main__":
    worker_main(_worker)
