"""Benchmark runner: python benchmarks/run.py [CASE ...] [--quick] [--out DIR]

Each case is a module benchmarks/<case>.py with `run(quick) -> dict` returning
{"columns": [...], "rows": [{column: value}], "notes": [...], "extra": {...}}.
The runner adds the machine (CPU model, cores, ISA in use, threads, numpy and its BLAS), writes
<out>/<case>.json and <out>/<case>.md (default out: benchmarks/results/, not tracked by git) and
prints the markdown. Speed is never asserted here or in the tests: these are measurements.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import io
import json
import os
import platform
import sys
from contextlib import redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = ("gemm", "conv")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                wanted = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                          "amx_tile")
                return [f for f in wanted if f in flags]
    except OSError:
        pass
    return []


def numpy_blas() -> str:
    import numpy as np

    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        config = blas.get("openblas configuration", "")
        return f"{blas.get('name')} {blas.get('version')} ({config})"
    except Exception:  # older numpy: fall back to the printed config
        buf = io.StringIO()
        with redirect_stdout(buf):
            np.show_config()
        return " ".join(buf.getvalue().split())[:300]


def machine() -> dict:
    import numpy as np

    info = {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "logical_cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": numpy_blas(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
    }
    try:
        from tinytorch.tensor import _C

        bi = _C.build_info()
        info.update(isa=_C.isa(), available_isas=_C.available_isas(),
                    threads=_C.num_threads(), openmp=bi["openmp"], compiler=bi["compiler"])
    except ImportError as e:
        info["native"] = f"unavailable: {e}"
    return info


def load_case(name: str):
    path = HERE / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"tt_bench_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def to_markdown(case: str, result: dict, mach: dict) -> str:
    cols = result["columns"]
    lines = [f"## {case}", ""]
    lines.append(
        f"CPU: {mach['cpu']} ({mach['logical_cpus']} logical CPUs; {', '.join(mach['cpu_flags'])})"
        f"  \nTinyTorch: ISA {mach.get('isa')}, {mach.get('threads')} threads, "
        f"OpenMP {mach.get('openmp')}, {mach.get('compiler')}"
        f"  \nnumpy {mach['numpy']}, BLAS: {mach['numpy_blas']}"
    )
    lines += ["", "| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in result["rows"]:
        cells = ["" if row.get(c) is None else str(row.get(c)) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {n}" for n in result.get("notes", [])]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cases", nargs="*", metavar="CASE",
                   help=f"cases to run (default: all of {', '.join(CASES)})")
    p.add_argument("--quick", action="store_true", help="fewer repeats and sizes, for a smoke run")
    p.add_argument("--out", type=Path, default=HERE / "results", help="output directory")
    args = p.parse_args(argv)
    cases = args.cases or list(CASES)
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    mach = machine()
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    for case in cases:
        print(f"running {case}{' (quick)' if args.quick else ''} ...", file=sys.stderr)
        load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
        result = load_case(case).run(quick=args.quick)
        if load_before is not None:
            # Other processes on the machine skew threaded timings badly (a thread that is
            # descheduled stalls every barrier): record the load so a reader can judge.
            load_after = os.getloadavg()
            result.setdefault("notes", []).append(
                f"1-min load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}")
        md = to_markdown(case, result, mach)
        payload = {"case": case, "when": stamp, "quick": args.quick, "machine": mach, **result}
        (args.out / f"{case}.json").write_text(json.dumps(payload, indent=2) + "\n")
        (args.out / f"{case}.md").write_text(md)
        print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
