"""Shared plumbing for the benchmark cases: worker subprocesses, interleaved rounds, medians.

Every case measures each implementation (TinyTorch on its native backend, TinyTorch on its
numpy backend, PyTorch) in a fresh subprocess per round, and the rounds alternate between the
implementations (in reverse order every other round), so all see the same machine state.
Separate processes matter on a small machine: TinyTorch and PyTorch each bring an OpenMP
thread pool, and the idle pool's spinning threads slow the busy one down.

Everyone gets the same number of threads (`THREADS`): ``OMP_NUM_THREADS`` and
``OPENBLAS_NUM_THREADS`` for TinyTorch (native kernels and numpy's BLAS), plus
``torch.set_num_threads`` for PyTorch. TinyTorch's backend is chosen with
``TINYTORCH_BACKEND`` in the worker's environment, so every thread of the worker (a
DataLoader's prefetch thread too) sees it.

A case module runs its own file as the worker: ``python <case>.py --worker '<json>'`` calls
the function given to `worker_main` with the JSON's keys and prints its JSON result last.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

THREADS = 2
TINYTORCH_IMPLS = ("native", "numpy")
TORCH_INSTALL = "pip install torch==2.13.0 (or: TINYTORCH_WITH_TORCH=1 python3 tools/dev.py setup)"


def tiny() -> bool:
    """True in the test suite's tiny-size mode (``run.py --tiny``: toy shapes, one round)."""
    return os.environ.get("TINYTORCH_BENCH_TINY") == "1"


def have_torch() -> bool:
    """True when PyTorch can be imported (checked without importing it)."""
    if os.environ.get("TINYTORCH_BENCH_NO_TORCH") == "1":  # lets the tests take the no-torch path
        return False
    return importlib.util.find_spec("torch") is not None


def torch_version() -> str | None:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def impls(with_torch: bool | None = None) -> list[str]:
    """The implementations to compare: TinyTorch native, TinyTorch numpy, and torch if present."""
    with_torch = have_torch() if with_torch is None else with_torch
    return list(TINYTORCH_IMPLS) + (["torch"] if with_torch else [])


def worker_env(impl: str) -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(THREADS)
    env["OPENBLAS_NUM_THREADS"] = str(THREADS)
    if impl in TINYTORCH_IMPLS:
        env["TINYTORCH_BACKEND"] = impl
    else:
        env.pop("TINYTORCH_BACKEND", None)
    return env


def call_worker(script: str, impl: str, params: dict, timeout: float | None = None) -> dict:
    """Run ``script --worker`` for one implementation in a fresh process; return its JSON."""
    payload = json.dumps({"impl": impl, **params})
    proc = subprocess.run(
        [sys.executable, script, "--worker", payload],
        env=worker_env(impl),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"benchmark worker {os.path.basename(script)} ({impl}) failed with exit code "
            f"{proc.returncode}:\n{proc.stderr[-4000:]}"
        )
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"benchmark worker {os.path.basename(script)} ({impl}) printed nothing")
    return json.loads(lines[-1])


def interleaved(
    script: str, names: Sequence[str], params: dict, rounds: int, timeout: float | None = None
) -> dict[str, list[dict]]:
    """``rounds`` rounds over ``names`` (reversed every other round); each name's results."""
    results: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(rounds):
        order = list(names) if r % 2 == 0 else list(reversed(names))
        for name in order:
            results[name].append(call_worker(script, name, params, timeout))
    return results


def worker_main(fn: Callable[..., dict]) -> None:
    """The subprocess side: ``python case.py --worker JSON`` prints ``fn(**JSON)`` as JSON."""
    if len(sys.argv) != 3 or sys.argv[1] != "--worker":
        name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
        print(f"run through the runner: python benchmarks/run.py {name} [--quick]", file=sys.stderr)
        sys.exit(2)
    params = json.loads(sys.argv[2])
    if params.get("impl") == "torch":
        import torch

        torch.set_num_threads(THREADS)
    print(json.dumps(fn(**params)))


def time_calls(
    fn: Callable[[], object], reps: int, budget_s: float = 0.0, max_reps: int = 50
) -> list[float]:
    """Seconds per call of ``fn``: one warm-up call, then ``reps`` calls, or more while the
    timed calls fit in ``budget_s`` (at most ``max_reps``)."""
    t0 = time.perf_counter()
    fn()  # warm-up: thread pools, packing buffers, allocator, optimizer state
    first = time.perf_counter() - t0
    n = max(reps, min(max_reps, int(budget_s / max(first, 1e-9)))) if budget_s else reps
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def ratio(a: float | None, b: float | None, digits: int = 2):
    """a / b for a table cell (see `num`), or "" when either side is missing."""
    if not a or not b:
        return ""
    return num(a / b, digits)


def num(x: float | None, digits: int = 2):
    """A number for a table cell: rounded to ``digits`` places, but 3 significant figures at
    least (so that tiny-size runs do not round to 0), or "" when missing."""
    if x is None or x == "":
        return ""
    x = float(x)
    if x != 0 and abs(x) < 10 ** (-digits) * 100:
        return float(f"{x:.3g}")
    return round(x, digits)


def torch_note() -> str:
    return f"PyTorch is not installed, so its columns are empty: {TORCH_INSTALL}"
