"""One training step, timed by phase, for TinyTorch and PyTorch (shared by cnn_step, resnet_step).

A step is ``zero_grad`` + forward + loss + ``backward`` + ``optimizer.step()``, on one fixed
random batch. The worker times each phase with ``perf_counter`` (everything runs on the CPU,
synchronously, so phase boundaries are exact) and returns the seconds per phase per step.
``run_case`` turns the interleaved workers' results into table rows: the whole step first, then
one row per phase, so a reader sees where the time goes.

Model builders take ``(nn, width, hw)`` where ``nn`` is ``tinytorch.nn`` or ``torch.nn``: both
spell the layers the same way (Conv2d, BatchNorm2d, MaxPool2d, Linear, Sequential, Module), so
one definition serves both libraries and the two networks are the same by construction.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
from _common import (
    have_torch,
    impls,
    interleaved,
    median_ms,
    num,
    ratio,
    torch_note,
)

PHASES = ("zero_grad", "forward + loss", "backward", "optimizer step")


def _batch(batch: int, hw: int, classes: int = 10):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, hw, hw), dtype=np.float32)
    y = rng.integers(0, classes, size=batch).astype(np.int64)
    return x, y


def worker(
    impl: str,
    build: Callable,
    optimizer: dict,
    batch: int,
    hw: int,
    width: int,
    reps: int,
    budget_s: float,
) -> dict:
    """Build the model and optimizer for ``impl``, warm up one step, time ``reps`` or more."""
    x_np, y_np = _batch(batch, hw)
    kind, kwargs = optimizer["kind"], optimizer["kwargs"]
    if impl == "torch":
        import torch

        torch.manual_seed(0)
        model = build(torch.nn, width, hw)
        opt = getattr(torch.optim, kind)(model.parameters(), **kwargs)
        loss_fn = torch.nn.CrossEntropyLoss()
        x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    else:
        import tinytorch.nn as ttnn
        import tinytorch.optim as ttoptim
        import tinytorch.tensor as tt
        from tinytorch.tensor import backend

        assert backend.get_backend() == impl, (backend.get_backend(), impl)
        tt.manual_seed(0)
        model = build(ttnn, width, hw)
        opt = getattr(ttoptim, kind)(model.parameters(), **kwargs)
        loss_fn = ttnn.CrossEntropyLoss()
        x, y = tt.tensor(x_np), tt.tensor(y_np)
    model.train()
    n_params = sum(int(np.prod(p.shape)) for p in model.parameters())

    def step() -> list[float]:
        t0 = time.perf_counter()
        opt.zero_grad()
        t1 = time.perf_counter()
        loss = loss_fn(model(x), y)
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        return [t1 - t0, t2 - t1, t3 - t2, t4 - t3]

    first = sum(step())  # warm-up: thread pools, packing buffers, optimizer state
    n = max(reps, min(30, int(budget_s / max(first, 1e-9))))
    phases = [step() for _ in range(n)]
    return {"phases": phases, "params": n_params, "loss": float(loss_fn(model(x), y).item())}


def run_case(
    script: str,
    *,
    label: str,
    batch: int,
    hw: int,
    width: int,
    optimizer: dict,
    rounds: int,
    reps: int,
    budget_s: float,
    timeout: float | None = None,
) -> dict:
    """Interleave the workers of ``script`` and build the case's table."""
    with_torch = have_torch()
    names = impls(with_torch)
    params = dict(
        optimizer=optimizer, batch=batch, hw=hw, width=width, reps=reps, budget_s=budget_s
    )
    results = interleaved(script, names, params, rounds, timeout)
    per_impl = {}
    for name, runs in results.items():
        steps = [ph for run in runs for ph in run["phases"]]
        per_impl[name] = {
            "step": [sum(s) for s in steps],
            **{p: [s[i] for s in steps] for i, p in enumerate(PHASES)},
        }
    columns = [
        "phase",
        "tinytorch native ms",
        "tinytorch numpy ms",
        "torch ms",
        "native / torch",
        "numpy / native",
    ]
    rows = []
    for phase in ("step",) + PHASES:
        ms = {name: median_ms(v[phase]) for name, v in per_impl.items()}
        rows.append(
            {
                "phase": f"whole step ({label})" if phase == "step" else phase,
                "tinytorch native ms": num(ms["native"]),
                "tinytorch numpy ms": num(ms["numpy"]),
                "torch ms": num(ms.get("torch")),
                "native / torch": ratio(ms["native"], ms.get("torch")),
                "numpy / native": ratio(ms["numpy"], ms["native"]),
            }
        )
    counts = {name: len(v["step"]) for name, v in per_impl.items()}
    n_params = {name: runs[0]["params"] for name, runs in results.items()}
    notes = [
        f"median ms over {rounds} alternating round(s), one subprocess per implementation and "
        f"round; steps timed per implementation: "
        + ", ".join(f"{k} {v}" for k, v in counts.items()),
        "phase rows are medians of each phase on their own, so they need not add up to the "
        "whole step exactly",
        "native / torch: TinyTorch native time over PyTorch time (lower is better, 1.0 = parity); "
        "numpy / native: how many times faster the native backend is than the numpy backend",
        "parameters: " + ", ".join(f"{k} {v:,}" for k, v in n_params.items()),
        "best whole step (less sensitive to other load), ms: "
        + ", ".join(f"{k} {min(v['step']) * 1e3:.1f}" for k, v in per_impl.items()),
    ]
    if not with_torch:
        notes.append(torch_note())
    extra = {
        "have_torch": with_torch,
        "batch": batch,
        "image": hw,
        "width": width,
        "optimizer": optimizer,
        "rounds": rounds,
        "median_step_ms": {k: median_ms(v["step"]) for k, v in per_impl.items()},
        "best_step_ms": {k: min(v["step"]) * 1e3 for k, v in per_impl.items()},
        "mean_step_ms": {k: statistics.fmean(v["step"]) * 1e3 for k, v in per_impl.items()},
        "final_loss": {k: runs[-1]["loss"] for k, runs in results.items()},
    }
    return {"columns": columns, "rows": rows, "notes": notes, "extra": extra}
