"""Optimizer memory and speed: Adam vs SGD on a 10M-parameter MLP (TinyTorch and PyTorch).

The model is Linear(1000, 5000) -> ReLU -> Linear(5000, 1000), with biases: 10,006,000 float32
parameters (40.0 MB). One forward + backward on a batch of 16 fills the gradients; then the
optimizer steps on those gradients. Three optimizers: SGD (lr 0.01, no state), SGD with
momentum 0.9 (one buffer per parameter), Adam (lr 1e-3: two moments per parameter).

Columns:
  params MB, state MB     parameter bytes, and the optimizer's state bytes after its first
                          step (TinyTorch: ``Optimizer.state_bytes()``; PyTorch: the state
                          tensors' bytes). Adam's state is exactly 2x the parameters.
  (params+state)/params   the seed's "Adam = 3x" claim: parameters + Adam's state = 3x.
  traced peak MB          numpy allocations live at the peak of a step, from ``tracemalloc``
                          (which numpy reports to): on the first step this includes the new
                          state; on a later ("steady") step it is the step's temporaries.
                          Memory a C++ kernel allocates itself is not traced. TinyTorch only.
  RSS peak MB             how far the process's resident memory rose above its level before
                          the step (the kernel's high-water mark, reset through
                          /proc/self/clear_refs just before). Comparable across libraries.
  step ms                 median time of one steady optimizer step.

Each (optimizer, implementation) runs in a fresh subprocess per round (rounds alternate), and
the traced measurements in one more fresh subprocess, so no run inherits another's heap.

Run through the runner:  python benchmarks/run.py optim_memory [--quick]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    have_torch,
    impls,
    interleaved,
    median_ms,
    num,
    ratio,
    time_calls,
    tiny,
    torch_note,
    worker_main,
)

TITLE = "Optimizer memory and step time"
OPTIMIZERS = {
    "SGD": ("SGD", {"lr": 0.01}),
    "SGD momentum 0.9": ("SGD", {"lr": 0.01, "momentum": 0.9}),
    "Adam": ("Adam", {"lr": 1e-3}),
}
MB = 1e6


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _rss_peak_bytes(fn) -> int | None:
    """Bytes the resident set rose above its starting level at its highest during ``fn()``."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM (the peak RSS) to the current RSS (Linux >= 4.0)
    except OSError:
        fn()
        return None
    before = _status_kb("VmRSS")
    fn()
    peak = _status_kb("VmHWM")
    if before is None or peak is None:
        return None
    return max(0, peak - before) * 1024


def _setup(impl: str, kind: str, kwargs: dict, sizes: list[int], batch: int):
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    if impl == "torch":
        import torch

        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(sizes[0], sizes[1]),
            torch.nn.ReLU(),
            torch.nn.Linear(sizes[1], sizes[2]),
        )
        out = model(torch.from_numpy(x_np))
        (out * out).mean().backward()
        opt = getattr(torch.optim, kind)(model.parameters(), **kwargs)

        def state_bytes() -> int:
            return sum(
                v.nbytes
                for s in opt.state.values()
                for v in s.values()
                if isinstance(v, torch.Tensor) and v.dim() > 0
            )

        params = list(model.parameters())
        param_bytes = sum(p.nbytes for p in params)
        grad_bytes = sum(p.grad.nbytes for p in params)
    else:
        import tinytorch.nn as nn
        import tinytorch.optim as optim
        import tinytorch.tensor as tt

        tt.manual_seed(0)
        model = nn.Sequential(
            nn.Linear(sizes[0], sizes[1]), nn.ReLU(), nn.Linear(sizes[1], sizes[2])
        )
        out = model(tt.tensor(x_np))
        (out * out).mean().backward()
        opt = getattr(optim, kind)(model.parameters(), **kwargs)
        state_bytes = opt.state_bytes
        params = list(model.parameters())
        param_bytes = sum(p.data.nbytes for p in params)
        grad_bytes = sum(p.grad.data.nbytes for p in params)
    n_params = sum(int(np.prod(p.shape)) for p in params)
    return opt, state_bytes, n_params, param_bytes, grad_bytes


def _worker(
    impl: str, optimizer: str, mode: str, sizes: list[int], batch: int, reps: int, budget_s: float
) -> dict:
    kind, kwargs = OPTIMIZERS[optimizer]
    opt, state_bytes, n_params, param_bytes, grad_bytes = _setup(impl, kind, kwargs, sizes, batch)
    out = {"n_params": n_params, "param_bytes": param_bytes, "grad_bytes": grad_bytes}
    if mode == "trace":
        import tracemalloc

        tracemalloc.start()
        opt.step()  # the first step creates the state
        current, peak = tracemalloc.get_traced_memory()
        out["traced_first_peak"], out["traced_first_kept"] = peak, current
        tracemalloc.reset_peak()
        opt.step()
        current2, peak2 = tracemalloc.get_traced_memory()
        out["traced_steady_peak"] = peak2 - current2  # temporaries above what stays
        tracemalloc.stop()
        out["state_bytes"] = state_bytes()
        return out
    out["rss_first_peak"] = _rss_peak_bytes(opt.step)
    out["state_bytes"] = state_bytes()
    out["rss_steady_peak"] = _rss_peak_bytes(opt.step)
    out["times"] = time_calls(opt.step, reps, budget_s)
    return out


def run(quick: bool) -> dict:
    if tiny():
        sizes, batch, rounds, reps, budget = [40, 50, 10], 4, 1, 2, 0.0
    elif quick:
        sizes, batch, rounds, reps, budget = [1000, 5000, 1000], 16, 1, 3, 0.0
    else:
        sizes, batch, rounds, reps, budget = [1000, 5000, 1000], 16, 2, 10, 0.5
    with_torch = have_torch()
    names = impls(with_torch)
    timed: dict[tuple[str, str], list[dict]] = {}
    traced: dict[tuple[str, str], dict] = {}
    for r in range(rounds):
        for optimizer in OPTIMIZERS if r % 2 == 0 else list(OPTIMIZERS)[::-1]:
            params = dict(
                optimizer=optimizer,
                mode="time",
                sizes=sizes,
                batch=batch,
                reps=reps,
                budget_s=budget,
            )
            for name, runs in interleaved(__file__, names, params, 1).items():
                timed.setdefault((optimizer, name), []).extend(runs)
    for optimizer in OPTIMIZERS:
        params = dict(
            optimizer=optimizer, mode="trace", sizes=sizes, batch=batch, reps=0, budget_s=0.0
        )
        for name in ("native", "numpy"):
            traced[(optimizer, name)] = interleaved(__file__, [name], params, 1)[name][0]

    def mb(x):
        return "" if x is None else num(x / MB, 1 if x >= MB else 4)

    def med(runs, key):
        vals = [r[key] for r in runs if r.get(key) is not None]
        return float(np.median(vals)) if vals else None

    columns = [
        "optimizer",
        "impl",
        "params MB",
        "state MB",
        "(params + state) / params",
        "traced peak MB, first step",
        "traced peak MB, steady step",
        "RSS peak MB, first step",
        "RSS peak MB, steady step",
        "step ms",
        "step / torch",
    ]
    rows = []
    checks = {}
    for optimizer in OPTIMIZERS:
        torch_ms = (
            median_ms([t for r in timed[(optimizer, "torch")] for t in r["times"]])
            if with_torch
            else None
        )
        for name in names:
            runs = timed[(optimizer, name)]
            first = runs[0]
            step_ms = median_ms([t for r in runs for t in r["times"]])
            tr = traced.get((optimizer, name), {})
            rows.append(
                {
                    "optimizer": optimizer,
                    "impl": name if name == "torch" else f"tinytorch {name}",
                    "params MB": mb(first["param_bytes"]),
                    "state MB": mb(first["state_bytes"]),
                    "(params + state) / params": round(
                        (first["param_bytes"] + first["state_bytes"]) / first["param_bytes"], 3
                    ),
                    "traced peak MB, first step": mb(tr.get("traced_first_peak")),
                    "traced peak MB, steady step": mb(tr.get("traced_steady_peak")),
                    "RSS peak MB, first step": mb(med(runs, "rss_first_peak")),
                    "RSS peak MB, steady step": mb(med(runs, "rss_steady_peak")),
                    "step ms": num(step_ms),
                    "step / torch": ratio(step_ms, torch_ms),
                }
            )
            checks[f"{optimizer} / {name}: state / params"] = (
                first["state_bytes"] / first["param_bytes"]
            )
    first = timed[("Adam", "native")][0]
    adam_exact = all(
        timed[("Adam", n)][0]["state_bytes"] == 2 * first["param_bytes"] for n in names
    )
    notes = [
        f"MLP {sizes[0]} -> {sizes[1]} -> {sizes[2]} with biases: {first['n_params']:,} float32 "
        f"parameters; gradients from one forward + backward at batch {batch}; MB = 10^6 bytes",
        f"Adam's state is exactly 2x the parameter bytes in every implementation: {adam_exact}; "
        'so parameters + Adam state = 3x the parameters (the seed\'s "Adam = 3x"), before the '
        "gradients (another 1x) and a step's temporaries",
        "traced peaks count numpy allocations only (tracemalloc), so they are empty for PyTorch; "
        "RSS peaks are 0 when a step stays within memory the process already had",
        f"step ms: median of {rounds} alternating round(s), one subprocess per optimizer, "
        "implementation and round; the optimizer steps repeatedly on the same gradients",
    ]
    if not with_torch:
        notes.append(torch_note())
    extra = {
        "have_torch": with_torch,
        "sizes": sizes,
        "batch": batch,
        "state_over_params": checks,
        "adam_state_exactly_2x": adam_exact,
        "traced": {f"{o} / {n}": v for (o, n), v in traced.items()},
    }
    return {"columns": columns, "rows": rows, "notes": notes, "extra": extra}


if __name__ == "__main__":
    worker_main(_worker)
