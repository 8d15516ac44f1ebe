"""Causal attention forward: TinyTorch's scaled_dot_product_attention vs PyTorch's, by length T.

B = 8 sequences, H = 4 heads, head size D = 32, float32, causal; T = 128, 256, 512, 1024.
TinyTorch: ``tinytorch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)``
(its mask convention is PyTorch's: a bool mask keeps True, ``is_causal`` blocks later keys);
PyTorch: ``torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)`` under
``torch.no_grad()``. Inputs do not require gradients, so no graph is recorded.

The "x T=128" columns divide each time by the same implementation's time at T = 128: an
attention that materialises the (T, T) score matrix grows like T^2 (the last column), one with
fixed per-call overhead grows more slowly at small T.

Run through the runner:  python benchmarks/run.py attention [--quick]
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

TITLE = "Causal attention forward"
B, H, D = 8, 4, 32
LENGTHS = (128, 256, 512, 1024)


def _qkv(b: int, h: int, t: int, d: int):
    rng = np.random.default_rng(t)
    return [rng.standard_normal((b, h, t, d), dtype=np.float32) for _ in range(3)]


def _worker(
    impl: str, b: int, h: int, d: int, lengths: list[int], reps: int, budget_s: float
) -> dict:
    times = {}
    for t in lengths:
        q, k, v = _qkv(b, h, t, d)
        if impl == "torch":
            import torch
            import torch.nn.functional as F

            q, k, v = (torch.from_numpy(a) for a in (q, k, v))

            def call(q=q, k=k, v=v):
                with torch.no_grad():
                    return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            import tinytorch.nn.functional as F
            import tinytorch.tensor as tt

            q, k, v = (tt.tensor(a) for a in (q, k, v))

            def call(q=q, k=k, v=v):
                return F.scaled_dot_product_attention(q, k, v, is_causal=True)

        times[str(t)] = time_calls(call, reps, budget_s)
    return {"times": times}


def run(quick: bool) -> dict:
    if tiny():
        b, h, d, lengths, rounds, reps, budget = 2, 2, 8, (16, 32), 1, 2, 0.0
    elif quick:
        b, h, d, lengths, rounds, reps, budget = B, H, D, (128, 256), 1, 3, 0.0
    else:
        b, h, d, lengths, rounds, reps, budget = B, H, D, LENGTHS, 3, 3, 0.5
    with_torch = have_torch()
    names = impls(with_torch)
    params = dict(b=b, h=h, d=d, lengths=list(lengths), reps=reps, budget_s=budget)
    results = interleaved(__file__, names, params, rounds)
    samples = {
        name: {t: [s for run in runs for s in run["times"][str(t)]] for t in lengths}
        for name, runs in results.items()
    }
    ms = {name: {t: median_ms(v) for t, v in per.items()} for name, per in samples.items()}
    t0 = lengths[0]
    columns = [
        "T",
        "tinytorch native ms",
        "tinytorch numpy ms",
        "torch ms",
        "native / torch",
        "numpy / native",
        f"native x T={t0}",
        f"torch x T={t0}",
        f"(T/{t0})^2",
    ]
    rows = []
    for t in lengths:
        torch_ms = ms.get("torch", {}).get(t)
        rows.append(
            {
                "T": t,
                "tinytorch native ms": num(ms["native"][t]),
                "tinytorch numpy ms": num(ms["numpy"][t]),
                "torch ms": num(torch_ms),
                "native / torch": ratio(ms["native"][t], torch_ms),
                "numpy / native": ratio(ms["numpy"][t], ms["native"][t]),
                f"native x T={t0}": ratio(ms["native"][t], ms["native"][t0], 1),
                f"torch x T={t0}": ratio(torch_ms, ms.get("torch", {}).get(t0), 1),
                f"(T/{t0})^2": round((t / t0) ** 2, 1),
            }
        )
    notes = [
        f"B={b}, H={h}, D={d}, causal, float32, forward only; median ms of {rounds} alternating "
        "round(s), one subprocess per implementation and round (all lengths in each)",
        f"x T={t0}: time at T over the same implementation's time at T={t0}; a kernel that "
        f"writes the whole (T, T) score matrix tends to (T/{t0})^2",
        "best of all calls (less sensitive to other load), ms at T = "
        + "/".join(map(str, lengths))
        + ": "
        + "; ".join(
            f"{name} " + "/".join(f"{min(per[t]) * 1e3:.3g}" for t in lengths)
            for name, per in samples.items()
        ),
    ]
    if not with_torch:
        notes.append(torch_note())
    extra = {
        "have_torch": with_torch,
        "B": b,
        "H": h,
        "D": d,
        "lengths": list(lengths),
        "median_ms": {k: {str(t): v for t, v in per.items()} for k, per in ms.items()},
    }
    return {"columns": columns, "rows": rows, "notes": notes, "extra": extra}


if __name__ == "__main__":
    worker_main(_worker)
