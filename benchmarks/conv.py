"""Conv2d forward + backward: TinyTorch (native and numpy backends) vs PyTorch, side by side.

The three shapes issue 5 targets, batch 64, kernel 3, padding 1, float32:
(3 -> 32, 32x32), (32 -> 64, 16x16), (64 -> 128, 8x8). One "call" is a forward pass, a sum,
and a backward pass that fills the input's and the layer's gradients. The table gives the
median milliseconds per call and TinyTorch / PyTorch time ratios. PyTorch (an optional extra)
is skipped when it is not installed.

Each implementation runs in a fresh subprocess per round, and the rounds alternate between
them, so all see the same machine state. Separate processes matter: TinyTorch and PyTorch
each bring an OpenMP thread pool, and in one process on 2 cores the idle pool's spinning
threads slow the busy one down (by 2x for PyTorch here).

Run through the runner:  python benchmarks/run.py conv [--quick]
"""

from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    have_torch,
    impls,
    interleaved,
    num,
    ratio,
    tiny,
    torch_note,
    worker_main,
)

TITLE = "Conv2d forward + backward"
SHAPES = ((3, 32, 32), (32, 64, 16), (64, 128, 8))  # (C_in, C_out, H = W)
BATCH = 64


def _tinytorch_step(cin: int, cout: int, x: np.ndarray, backend: str):
    import tinytorch.nn as nn
    import tinytorch.tensor as tt

    layer = nn.Conv2d(cin, cout, 3, padding=1)
    xt = tt.tensor(x, requires_grad=True)

    def step():
        with tt.use_backend(backend):  # the worker's TINYTORCH_BACKEND says the same
            layer.zero_grad()
            xt.grad = None
            layer(xt).sum().backward()

    return step


def _torch_step(cin: int, cout: int, x: np.ndarray):
    import torch

    layer = torch.nn.Conv2d(cin, cout, 3, padding=1)
    xt = torch.tensor(x, requires_grad=True)

    def step():
        layer.zero_grad()
        xt.grad = None
        layer(xt).sum().backward()

    return step


def _worker(impl: str, cin: int, cout: int, hw: int, batch: int, reps: int) -> dict:
    """In a subprocess: build one implementation, warm it up, time ``reps`` calls."""
    x = np.random.default_rng(0).standard_normal((batch, cin, hw, hw), dtype=np.float32)
    if impl == "torch":
        step = _torch_step(cin, cout, x)
    else:
        step = _tinytorch_step(cin, cout, x, impl)
    step()  # warm-up: thread pools, packing buffers, allocator
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return {"times": times}


def run(quick: bool) -> dict:
    with_torch = have_torch()
    shapes, batch = SHAPES, BATCH
    rounds, reps = (2, 3) if quick else (4, 5)
    if tiny():
        shapes, batch, rounds, reps = ((3, 4, 8),), 2, 1, 2
    names = impls(with_torch)
    columns = [
        "shape",
        "tinytorch native ms",
        "tinytorch numpy ms",
        "torch ms",
        "native / torch",
        "numpy / torch",
        "numpy / native",
    ]
    rows = []
    for cin, cout, hw in shapes:
        params = dict(cin=cin, cout=cout, hw=hw, batch=batch, reps=reps)
        runs = interleaved(__file__, names, params, rounds)
        times = {name: [t for run in rs for t in run["times"]] for name, rs in runs.items()}
        ms = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
        torch_ms = ms.get("torch")
        rows.append(
            {
                "shape": f"{cin}->{cout}, {hw}x{hw}, batch {batch}",
                "tinytorch native ms": num(ms["native"]),
                "tinytorch numpy ms": num(ms["numpy"]),
                "torch ms": num(torch_ms),
                "native / torch": ratio(ms["native"], torch_ms),
                "numpy / torch": ratio(ms["numpy"], torch_ms),
                "numpy / native": ratio(ms["numpy"], ms["native"]),
            }
        )
    notes = [
        f"median of {rounds} alternating rounds x {reps} calls, one subprocess per "
        "implementation and round; kernel 3, padding 1, float32",
        "x / torch is TinyTorch time over PyTorch time (lower is better, 1.0 = parity); "
        "numpy / native is how many times faster the native backend is",
    ]
    if not with_torch:
        notes.append(torch_note())
    return {"columns": columns, "rows": rows, "notes": notes, "extra": {"have_torch": with_torch}}


if __name__ == "__main__":  # the subprocess side of run()
    worker_main(_worker)
