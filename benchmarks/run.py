"""Benchmark runner: python benchmarks/run.py [CASE ...] [--quick] [--out DIR] [--write-docs]

Each case is a module benchmarks/<case>.py with `run(quick) -> dict` returning
{"columns": [...], "rows": [{column: value}], "notes": [...], "extra": {...}}, and optionally a
``TITLE``. The runner adds the machine (CPU model, cores, ISA in use, threads, numpy and its BLAS,
PyTorch), writes <out>/<case>.json and <out>/<case>.md (default out: benchmarks/results/, not
tracked by git) and prints the markdown. Speed is never asserted here or in the tests: these are
measurements.

With no CASE it runs every case in `CASES`, then every optional case whose module and package
are present (`OPTIONAL_CASES`); an optional case that is missing is skipped with a note, not an
error. ``--write-docs`` rewrites each case's block in docs/performance.md, between
``<!-- bench:<case>:start -->`` and ``<!-- bench:<case>:end -->``; the prose around the blocks is
left alone. ``--docs-only`` does that from the saved JSON results without running anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.util
import io
import json
import os
import platform
import re
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOCS = ROOT / "docs" / "performance.md"
CASES = ("gemm", "conv", "cnn_step", "resnet_step", "attention", "dataloader", "optim_memory")
# Optional cases join the default run when their module exists in benchmarks/ and the package
# they measure is installed: {case: (import name, distribution that provides it)}.
OPTIONAL_CASES = {"gpt_step": ("tinytorch.gpt", "tinytorch-gpt")}
THREADS = 2  # what every implementation gets (see _common.py)

if str(HERE) not in sys.path:  # the cases import their shared helpers (_common, _train_step)
    sys.path.insert(0, str(HERE))


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
                wanted = (
                    "avx2",
                    "fma",
                    "avx512f",
                    "avx512bw",
                    "avx512vl",
                    "avx512_vnni",
                    "amx_tile",
                )
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


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


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
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
        "tinytorch_tensor": _version("tinytorch-tensor"),
        # Not imported here: importing torch starts its thread pool in the runner's process.
        "torch": None if os.environ.get("TINYTORCH_BENCH_NO_TORCH") == "1" else _version("torch"),
        "bench_threads": THREADS,
    }
    try:
        from tinytorch.tensor import _C

        bi = _C.build_info()
        info.update(
            isa=_C.isa(),
            available_isas=_C.available_isas(),
            threads=_C.num_threads(),
            openmp=bi["openmp"],
            compiler=bi["compiler"],
        )
    except ImportError as e:
        info["native"] = f"unavailable: {e}"
    return info


def load_case(name: str):
    path = HERE / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"tt_bench_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def optional_case_missing(name: str) -> str | None:
    """Why optional case ``name`` cannot run here (None: it can)."""
    module, dist = OPTIONAL_CASES[name]
    if not (HERE / f"{name}.py").exists():
        return f"benchmarks/{name}.py does not exist yet (it comes with {dist})"
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        return f"{dist} is not installed ({module} cannot be imported)"
    return None


# ---------------------------------------------------------------------------- markdown
def machine_line(mach: dict) -> str:
    torch = mach.get("torch")
    policy = mach.get("OMP_WAIT_POLICY")
    return (
        f"CPU: {mach['cpu']} ({mach['logical_cpus']} logical CPUs; {', '.join(mach['cpu_flags'])})"
        f"  \nTinyTorch {mach.get('tinytorch_tensor') or '?'}: ISA {mach.get('isa')}, "
        f"OpenMP {mach.get('openmp')}, {mach.get('compiler')}; every implementation on "
        f"{mach.get('bench_threads', THREADS)} threads"
        f"{f', OMP_WAIT_POLICY={policy}' if policy else ''}"
        f"  \nnumpy {mach['numpy']}, BLAS: {mach['numpy_blas']}"
        f"  \nPyTorch {torch if torch else 'not installed'}; Python {mach['python']}"
    )


def table_markdown(result: dict) -> str:
    cols = result["columns"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in result["rows"]:
        cells = ["" if row.get(c) is None else str(row.get(c)) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {n}" for n in result.get("notes", [])]
    return "\n".join(lines) + "\n"


def to_markdown(case: str, result: dict, mach: dict) -> str:
    return f"## {case}\n\n{machine_line(mach)}\n\n{table_markdown(result)}"


def _size_label(payload: dict) -> str:
    if payload.get("tiny"):
        return " (tiny smoke-test sizes: not representative)"
    if payload.get("quick"):
        return " (`--quick`: fewer sizes and repeats)"
    return ""


def docs_block(payload: dict) -> str:
    """The generated text that goes between a case's markers in docs/performance.md."""
    case = payload["case"]
    when = payload["when"][:10]
    cmd = f"python benchmarks/run.py {case}" + (" --quick" if payload.get("quick") else "")
    if payload["machine"].get("OMP_WAIT_POLICY") == "passive":
        cmd += " --passive"
    wall = payload.get("wall_s")
    took = f", {wall:.0f} s" if wall is not None else ""
    head = (
        f"Measured {when} with `{cmd}`{_size_label(payload)}{took}. This block is "
        f"generated: rerun with `--write-docs` to refresh it."
    )
    return f"{head}\n\n{machine_line(payload['machine'])}\n\n{table_markdown(payload)}"


def write_docs(payloads: list[dict], path: Path) -> list[str]:
    """Replace each case's block in ``path`` (appending a section for a case without one)."""
    text = path.read_text() if path.exists() else "# Performance\n"
    done = []
    for payload in payloads:
        case = payload["case"]
        start, end = f"<!-- bench:{case}:start -->", f"<!-- bench:{case}:end -->"
        block = f"{start}\n{docs_block(payload)}{end}"
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _m, block=block: block, text, count=1)
        else:
            title = payload.get("title") or case
            text = text.rstrip("\n") + f"\n\n## {title}\n\n{block}\n"
        done.append(case)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return done


# ---------------------------------------------------------------------------- main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    known = list(CASES) + list(OPTIONAL_CASES)
    p.add_argument(
        "cases",
        nargs="*",
        metavar="CASE",
        help=f"cases to run (default: all of {', '.join(known)})",
    )
    p.add_argument("--quick", action="store_true", help="fewer repeats and sizes, for a smoke run")
    p.add_argument("--out", type=Path, default=HERE / "results", help="output directory")
    p.add_argument(
        "--write-docs",
        action="store_true",
        help="also rewrite each case's generated block in docs/performance.md",
    )
    p.add_argument(
        "--docs-only",
        action="store_true",
        help="run nothing: rewrite the docs blocks from the JSON results in --out",
    )
    p.add_argument(
        "--passive",
        action="store_true",
        help="set OMP_WAIT_POLICY=passive for every implementation: on a machine shared with "
        "other jobs, threads that spin at barriers while a sibling is descheduled inflate "
        "threaded timings several times over; passive waiting costs a little per parallel region",
    )
    p.add_argument("--docs", type=Path, default=DOCS, help=argparse.SUPPRESS)
    # Toy sizes and one round, for tests/test_benchmarks.py (implies --quick).
    p.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    unknown = [c for c in args.cases if c not in known]
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if args.tiny:
        os.environ["TINYTORCH_BENCH_TINY"] = "1"  # read by the cases and their workers
        args.quick = True
    if args.passive:  # before machine() loads the extension (and OpenMP reads its settings)
        os.environ["OMP_WAIT_POLICY"] = "passive"
    cases = args.cases or known
    runnable = []
    for case in cases:
        why = optional_case_missing(case) if case in OPTIONAL_CASES else None
        if why:
            print(f"skipping {case}: {why}", file=sys.stderr)
        else:
            runnable.append(case)

    if args.docs_only:
        payloads = []
        for case in runnable:
            f = args.out / f"{case}.json"
            if f.exists():
                payloads.append(json.loads(f.read_text()))
            elif args.cases:
                p.error(f"no saved result for {case}: {f} does not exist")
        if args.docs.resolve() == DOCS.resolve() and any(x.get("tiny") for x in payloads):
            p.error("tiny smoke-test results are not written to docs/performance.md")
        print(
            f"updated {args.docs}: {', '.join(write_docs(payloads, args.docs)) or 'nothing'}",
            file=sys.stderr,
        )
        return 0
    if args.write_docs and args.tiny and args.docs.resolve() == DOCS.resolve():
        p.error("tiny smoke-test results are not written to docs/performance.md")

    args.out.mkdir(parents=True, exist_ok=True)
    mach = machine()
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    payloads = []
    t_all = time.perf_counter()
    for case in runnable:
        print(f"running {case}{' (quick)' if args.quick else ''} ...", file=sys.stderr)
        mod = load_case(case)
        load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
        t0 = time.perf_counter()
        result = mod.run(quick=args.quick)
        wall = time.perf_counter() - t0
        if load_before is not None:
            # Other processes on the machine skew threaded timings badly (a thread that is
            # descheduled stalls every barrier): record the load so a reader can judge.
            load_after = os.getloadavg()
            result.setdefault("notes", []).append(
                f"1-min load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}"
            )
        md = to_markdown(case, result, mach)
        payload = {
            "case": case,
            "title": getattr(mod, "TITLE", case),
            "when": stamp,
            "quick": args.quick,
            "tiny": args.tiny,
            "wall_s": round(wall, 1),
            "machine": mach,
            **result,
        }
        (args.out / f"{case}.json").write_text(json.dumps(payload, indent=2) + "\n")
        (args.out / f"{case}.md").write_text(md)
        payloads.append(payload)
        print(md)
        print(f"({case}: {wall:.1f} s)\n", file=sys.stderr)
    print(
        f"total: {time.perf_counter() - t_all:.1f} s for {len(runnable)} case(s)", file=sys.stderr
    )
    if args.write_docs and payloads:
        print(f"updated {args.docs}: {', '.join(write_docs(payloads, args.docs))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
