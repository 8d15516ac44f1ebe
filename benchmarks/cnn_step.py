"""The seed's CNN, one Adam training step at batch 64: TinyTorch native vs numpy backend vs PyTorch.

    Conv2d(3, 32, 3) -> ReLU -> Conv2d(32, 64, 3) -> ReLU -> Flatten
    -> Linear(64 * 28 * 28, 128) -> ReLU -> Linear(128, 10)

CrossEntropyLoss on a fixed CIFAR-shaped random batch (64, 3, 32, 32), Adam (lr 1e-3). One step
is zero_grad + forward + loss + backward + optimizer step; the table shows the whole step and
each phase. Issue 5's targets: native at least 10x faster than the numpy backend here, and at
most 1.5x PyTorch's time.

Run through the runner:  python benchmarks/run.py cnn_step [--quick]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import tiny, worker_main  # noqa: E402
from _train_step import run_case, worker  # noqa: E402

TITLE = "Seed CNN training step (Adam)"
BATCH = 64
OPTIMIZER = {"kind": "Adam", "kwargs": {"lr": 1e-3}}


def build_model(nn, width: int, hw: int):
    """The seed's CNN for ``hw`` x ``hw`` RGB images (32: CIFAR); ``width`` scales the channels."""
    c1, c2 = 32 // width, 64 // width
    return nn.Sequential(
        nn.Conv2d(3, c1, 3),
        nn.ReLU(),
        nn.Conv2d(c1, c2, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(c2 * (hw - 4) * (hw - 4), 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def _worker(impl: str, **kw) -> dict:
    return worker(impl, build_model, **kw)


def run(quick: bool) -> dict:
    if tiny():
        size = dict(batch=2, hw=8, width=4, rounds=1, reps=1, budget_s=0.0)
    elif quick:
        size = dict(batch=BATCH, hw=32, width=1, rounds=1, reps=2, budget_s=0.0)
    else:
        size = dict(batch=BATCH, hw=32, width=1, rounds=3, reps=3, budget_s=4.0)
    label = f"batch {size['batch']}, {size['hw']}x{size['hw']}"
    result = run_case(__file__, label=label, optimizer=OPTIMIZER, **size)
    result["notes"].insert(
        0, "targets (issue 5): numpy / native >= 10 and native / torch <= 1.5 on the whole step"
    )
    return result


if __name__ == "__main__":
    worker_main(_worker)
