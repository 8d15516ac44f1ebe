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

import json
import statistics
import subprocess
import sys
import time

import numpy as np

SHAPES = ((3, 32, 32), (32, 64, 16), (64, 128, 8))  # (C_in, C_out, H = W)
BATCH = 64


def _tinytorch_step(cin: int, cout: int, x: np.ndarray, backend: str):
    import tinytorch.nn as nn
    import tinytorch.tensor as tt

    layer = nn.Conv2d(cin, cout, 3, padding=1)
    xt = tt.tensor(x, requires_grad=True)

    def step():
        with tt.use_backend(backend):
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


def _worker(impl: str, cin: int, cout: int, hw: int, reps: int) -> list[float]:
    """In a subprocess: build one implementation, warm it up, time ``reps`` calls."""
    x = np.random.default_rng(0).standard_normal((BATCH, cin, hw, hw), dtype=np.float32)
    if impl == "torch":
        import torch

        torch.set_num_threads(2)
        step = _torch_step(cin, cout, x)
    else:
        step = _tinytorch_step(cin, cout, x, impl)
    step()  # warm-up: thread pools, packing buffers, allocator
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def _have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def run(quick: bool) -> dict:
    have_torch = _have_torch()
    rounds, reps = (2, 3) if quick else (4, 5)
    impls = ["native", "numpy"] + (["torch"] if have_torch else [])
    columns = ["shape", "tinytorch native ms", "tinytorch numpy ms", "torch ms",
               "native / torch", "numpy / torch"]
    rows = []
    for cin, cout, hw in SHAPES:
        times: dict[str, list[float]] = {name: [] for name in impls}
        for _ in range(rounds):
            for name in impls:
                out = subprocess.run(
                    [sys.executable, __file__, name, str(cin), str(cout), str(hw), str(reps)],
                    capture_output=True, text=True, check=True)
                times[name] += json.loads(out.stdout)
        ms = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
        torch_ms = ms.get("torch")
        rows.append({
            "shape": f"{cin}->{cout}, {hw}x{hw}, batch {BATCH}",
            "tinytorch native ms": round(ms["native"], 2),
            "tinytorch numpy ms": round(ms["numpy"], 2),
            "torch ms": round(torch_ms, 2) if torch_ms else "",
            "native / torch": round(ms["native"] / torch_ms, 2) if torch_ms else "",
            "numpy / torch": round(ms["numpy"] / torch_ms, 2) if torch_ms else "",
        })
    notes = [f"median of {rounds} alternating rounds x {reps} calls, one subprocess per "
             "implementation and round; kernel 3, padding 1, float32",
             "a ratio is TinyTorch time over PyTorch time (lower is better, 1.0 = parity)"]
    if not have_torch:
        notes.append("PyTorch is not installed: install it (pip install torch==2.13.0) for the ratios")
    return {"columns": columns, "rows": rows, "notes": notes, "extra": {"have_torch": have_torch}}


if __name__ == "__main__":  # the subprocess side of run()
    impl, cin, cout, hw, reps = sys.argv[1], *map(int, sys.argv[2:])
    print(json.dumps(_worker(impl, cin, cout, hw, reps)))
