#!/usr/bin/env python3
"""Build a wheel of every package under packages/ into a local wheelhouse (stdlib only).

    python3 tools/build_wheels.py                      # -> dist/*.whl
    python3 tools/build_wheels.py --download-deps      # + numpy, rich, ... (offline installs)
    python3 tools/build_wheels.py --out /tmp/wh tinytorch-tensor

Then, in any environment:

    pip install --no-index --find-links dist tinytorch-tensor

Each package is built with `pip wheel --no-deps` (with build isolation, as an end user's pip
would), in dependency order. C++ packages build in a fresh temporary CMake tree (not in
packages/<pkg>/build/, which belongs to the editable install), so a wheel never picks up a
developer's build state. Every wheel is checked for a stray `tinytorch/__init__.py`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dev import ROOT, discover_packages  # noqa: E402


def log(message: str) -> None:
    print(f"[wheels] {message}", flush=True)


def newest_wheel(out: Path, dist: str, since: float) -> Path | None:
    prefix = dist.replace("-", "_") + "-"
    wheels = [w for w in out.glob("*.whl")
              if w.name.lower().startswith(prefix) and w.stat().st_mtime >= since - 1]
    return max(wheels, key=lambda w: w.stat().st_mtime) if wheels else None


def check_wheel(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    bad = [n for n in names if n in ("tinytorch/__init__.py", "tinytorch.py")]
    if bad:
        raise SystemExit(f"[wheels] error: {wheel.name} ships {bad}: that breaks the tinytorch "
                         "namespace for every other TinyTorch package")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", help="distribution names (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="wheelhouse directory")
    parser.add_argument("--download-deps", action="store_true",
                        help="also download the third-party dependencies into the wheelhouse")
    parser.add_argument("--no-build-isolation", action="store_true",
                        help="build with the current environment's build backends")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter whose pip builds the wheels (and whose Python "
                             "version the C++ wheel targets)")
    args = parser.parse_args(argv)

    packages = discover_packages()
    if args.packages:
        unknown = set(args.packages) - {p.name for p in packages}
        if unknown:
            parser.error(f"unknown package(s): {', '.join(sorted(unknown))}")
        packages = [p for p in packages if p.name in args.packages]
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    built: list[Path] = []
    for pkg in packages:
        cmd = [args.python, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out)]
        if args.no_build_isolation:
            cmd.append("--no-build-isolation")
        tmp = None
        if pkg.native:
            tmp = tempfile.mkdtemp(prefix=f"{pkg.name}-build-")
            cmd.append(f"--config-settings=build-dir={tmp}")
        cmd.append(str(pkg.path))
        log(f"building {pkg.name}" + (" (C++ extension: a minute or two)" if pkg.native else ""))
        t0 = time.time()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, check=False)
        finally:
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)
        if proc.returncode != 0:
            log(f"error: building {pkg.name} failed (exit {proc.returncode})")
            return proc.returncode
        wheel = newest_wheel(out, pkg.name, t0)
        if wheel is None:
            log(f"error: no wheel for {pkg.name} appeared in {out}")
            return 1
        check_wheel(wheel)
        built.append(wheel)
        log(f"  {wheel.name} ({time.time() - t0:.1f}s)")

    if args.download_deps and built:
        log("downloading third-party dependencies into the wheelhouse")
        cmd = [args.python, "-m", "pip", "download", "-q", "-d", str(out),
               "--find-links", str(out), *map(str, built)]
        proc = subprocess.run(cmd, cwd=ROOT, check=False)
        if proc.returncode != 0:
            log(f"error: pip download failed (exit {proc.returncode})")
            return proc.returncode

    log(f"wheelhouse {out}:")
    for wheel in sorted(out.glob("*.whl")):
        log(f"  {wheel.name}")
    log(f"install with: pip install --no-index --find-links {out} <package>")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
