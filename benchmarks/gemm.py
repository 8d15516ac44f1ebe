"""fp32 GEMM speed: TinyTorch's native kernel vs its naive loop vs numpy (OpenBLAS), side by side.

Square sizes N = 256, 512, 1024, 2048; GFLOP/s = 2 N^3 / seconds, median over all repeats.

numpy runs in subprocesses, three ways, interleaved round by round with the native runs so that
all rows see the same machine state:
  numpy (env as is)       whatever OPENBLAS_* variables this shell has
  numpy (Haswell)         OPENBLAS_CORETYPE=Haswell: how numpy runs on our CI machines; it keeps
                          OpenBLAS on its AVX2 kernels even on an AVX-512 CPU
  numpy (unset)           OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed: OpenBLAS picks its
                          kernel for this CPU (AVX-512 SkylakeX/Cooperlake/SapphireRapids)
Each subprocess also reports the OpenBLAS core it chose (openblas_get_corename via ctypes).

Run through the runner:  python benchmarks/run.py gemm [--quick]
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import time

import numpy as np

TITLE = "fp32 GEMM"
SIZES = (256, 512, 1024, 2048)
NAIVE_SIZES = (256, 512)
NUMPY_VARIANTS = {
    "numpy (env as is)": {},
    "numpy (Haswell)": {"OPENBLAS_CORETYPE": "Haswell"},
    "numpy (unset)": {"OPENBLAS_CORETYPE": None, "OPENBLAS_L2_SIZE": None},
}


def _inputs(n: int):
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    return a, b


def _time(fn, a, b, budget_s: float, min_reps: int = 3, max_reps: int = 50) -> list[float]:
    """Seconds per call: one warm-up call, then enough calls to fill ~budget_s."""
    t0 = time.perf_counter()
    fn(a, b)
    first = time.perf_counter() - t0
    reps = int(min(max_reps, max(min_reps, budget_s / max(first, 1e-9))))
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(a, b)
        out.append(time.perf_counter() - t0)
    return out


def openblas_corename() -> str | None:
    """The OpenBLAS kernel core numpy's BLAS picked at load time, if it can be asked."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if "openblas" in os.path.basename(path).lower() and ".so" in path:
                    libs.add(path)
    except OSError:
        return None
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for sym in (
            "scipy_openblas_get_corename64_",
            "scipy_openblas_get_corename",
            "openblas_get_corename64_",
            "openblas_get_corename",
        ):
            fn = getattr(lib, sym, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return None


def _numpy_worker(sizes: list[int], budget_s: float, min_reps: int) -> None:
    """Subprocess entry: time numpy's a @ b at each size, print JSON."""
    res = {"corename": openblas_corename(), "times": {}}
    for n in sizes:
        a, b = _inputs(n)
        res["times"][str(n)] = _time(np.matmul, a, b, budget_s, min_reps)
    res["corename"] = openblas_corename() or res["corename"]
    print(json.dumps(res))


def _run_numpy(variant: dict, sizes: list[int], budget_s: float, min_reps: int) -> dict:
    env = dict(os.environ)
    for k, v in variant.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    cmd = [
        sys.executable,
        __file__,
        "--numpy-worker",
        ",".join(map(str, sizes)),
        str(budget_s),
        str(min_reps),
    ]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _gflops(n: int, seconds: float) -> float:
    return 2.0 * n**3 / seconds / 1e9


def run(quick: bool = False) -> dict:
    """Measure every row; return {"columns", "rows", "notes", "extra"} for the runner."""
    from tinytorch.tensor import _C

    rounds = 1 if quick else 5
    budget = 0.15 if quick else 0.4  # seconds of timed calls per (row, size, round)
    min_reps = 3 if quick else 5
    sizes, naive_sizes = list(SIZES), NAIVE_SIZES[:1] if quick else NAIVE_SIZES
    if os.environ.get("TINYTORCH_BENCH_TINY") == "1":  # run.py --tiny: the test suite's smoke run
        sizes, naive_sizes, budget, min_reps = [64, 128], (64,), 0.0, 2
    isa0, threads0 = _C.isa(), _C.num_threads()
    threads_max = max(2, threads0)
    native_rows = [
        (f"native {isa0} ({threads_max} threads)", isa0, threads_max),
        (f"native {isa0} (1 thread)", isa0, 1),
    ]
    if "avx2" in _C.available_isas() and isa0 != "avx2":
        native_rows.append((f"native avx2 ({threads_max} threads)", "avx2", threads_max))

    times: dict[str, dict[int, list[float]]] = {}
    corenames: dict[str, str | None] = {}
    try:
        for _ in range(rounds):
            for label, isa, threads in native_rows:
                _C.set_isa(isa)
                _C.set_num_threads(threads)
                for n in sizes:
                    a, b = _inputs(n)
                    times.setdefault(label, {}).setdefault(n, []).extend(
                        _time(_C.gemm, a, b, budget, min_reps)
                    )
            _C.set_isa(isa0)
            _C.set_num_threads(threads0)
            for label, variant in NUMPY_VARIANTS.items():
                res = _run_numpy(variant, sizes, budget, min_reps)
                corenames[label] = res["corename"]
                for n, ts in res["times"].items():
                    times.setdefault(label, {}).setdefault(int(n), []).extend(ts)
        # The naive loop is ~100x slower: one short pass, single-threaded by construction.
        for n in naive_sizes:
            a, b = _inputs(n)
            times.setdefault("naive (triple loop)", {})[n] = _time(
                _C.gemm_naive, a, b, 0.0, min_reps=1 if n > 256 else 2
            )
    finally:
        _C.set_isa(isa0)
        _C.set_num_threads(threads0)

    med = {
        label: {n: float(np.median(ts)) for n, ts in per.items()} for label, per in times.items()
    }
    columns = ["impl"] + [f"N={n} GFLOP/s" for n in sizes]
    rows = []
    for label, per in med.items():
        row = {"impl": label}
        for n in sizes:
            row[f"N={n} GFLOP/s"] = round(_gflops(n, per[n]), 1) if n in per else None
        rows.append(row)
    # Ratios: the main native row against each numpy variant.
    main = native_rows[0][0]
    for label in NUMPY_VARIANTS:
        row = {"impl": f"ratio {main.split(' (')[0]} / {label}"}
        for n in sizes:
            row[f"N={n} GFLOP/s"] = round(med[label][n] / med[main][n], 2)
        rows.append(row)
    notes = [
        "GFLOP/s = 2*N^3 / median seconds per call; ratios are native/numpy speed (>1: native "
        "faster), from the same medians.",
        f"{rounds} interleaved round(s); numpy runs in fresh subprocesses each round.",
        "OpenBLAS core chosen by numpy: "
        + ", ".join(f"{k}: {v or 'unknown'}" for k, v in corenames.items()),
        "Best of all repeats (less sensitive to other load), GFLOP/s at "
        + "/".join(map(str, sizes))
        + ": "
        + "; ".join(
            f"{label}: "
            + "/".join(f"{_gflops(n, min(per[n])):.0f}" if n in per else "-" for n in sizes)
            for label, per in times.items()
        ),
        f"OPENBLAS_CORETYPE in this shell: {os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
        f"OPENBLAS_L2_SIZE: {os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}",
    ]
    return {
        "columns": columns,
        "rows": rows,
        "notes": notes,
        "extra": {
            "sizes": sizes,
            "median_seconds": {k: {str(n): v for n, v in per.items()} for k, per in med.items()},
            "best_gflops": {
                k: {str(n): round(_gflops(n, min(ts)), 1) for n, ts in per.items()}
                for k, per in times.items()
            },
            "repeats": {k: {str(n): len(ts) for n, ts in per.items()} for k, per in times.items()},
            "openblas_corename": corenames,
            "gemm_config": _C.gemm_config(),
        },
    }


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--numpy-worker":
        _numpy_worker(
            [int(s) for s in sys.argv[2].split(",")], float(sys.argv[3]), int(sys.argv[4])
        )
    else:
        print("run through the runner: python benchmarks/run.py gemm [--quick]", file=sys.stderr)
        sys.exit(2)
