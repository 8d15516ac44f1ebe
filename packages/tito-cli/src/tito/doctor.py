"""The checks behind ``tito system doctor``: each one passes or fails with a concrete fix.

A check returns a :class:`Check`. Status is one of ``pass``, ``fail``, ``warn`` (works, but
not as well as it could), ``info`` (a note) and ``skip`` (could not be judged because an
earlier check failed). Only ``fail`` makes the doctor exit with code 1.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from tito import sysinfo

__all__ = ["Check", "run_checks", "CHECKS"]

SETUP_FIX = "from a clone of the repository run `python3 tools/dev.py setup`"


@dataclass
class Check:
    """One doctor finding: ``name``, ``status``, what was found (``detail``) and a ``fix``."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The check as a JSON-serialisable dict."""
        return asdict(self)


def check_python() -> Check:
    """Python must be 3.10 or newer."""
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info >= (3, 10):  # noqa: UP036 - a check, run on any Python
        return Check("python", "pass", f"Python {version} ({sys.executable})")
    return Check(
        "python", "fail", f"Python {version} is too old; TinyTorch needs 3.10 or newer",
        "install Python >= 3.10 and create a new virtual environment with it",
    )


def check_numpy() -> Check:
    """numpy must import."""
    info = sysinfo.numpy_info()
    if "error" in info:
        return Check("numpy", "fail", f"numpy does not import: {info['error']}",
                     f"`{Path(sys.executable).name} -m pip install 'numpy>=1.24'`")
    blas = (info.get("blas") or {}).get("name", "unknown BLAS")
    return Check("numpy", "pass", f"numpy {info['version']} ({blas})")


def _owner_of(path: Path) -> str | None:
    """The installed distribution whose RECORD lists `path`, if any."""
    target = path.resolve()
    for dist in metadata.distributions():
        for file in dist.files or []:
            try:
                if Path(dist.locate_file(file)).resolve() == target:
                    return dist.metadata["Name"]
            except (OSError, ValueError):
                continue
    return None


def _candidate_dirs() -> list[Path]:
    """Every directory where a `tinytorch` package could come from."""
    dirs: list[Path] = []
    for entry in sys.path:
        base = Path(entry or os.getcwd())
        dirs.append(base / "tinytorch")
    try:
        spec = importlib.util.find_spec("tinytorch")
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        dirs.extend(Path(p) for p in (spec.submodule_search_locations or []))
    for info in sysinfo.installed_distributions().values():
        if info.get("editable"):
            dirs.append(Path(info["editable"]) / "src" / "tinytorch")
    unique: list[Path] = []
    seen: set[str] = set()
    for d in dirs:
        key = os.path.normcase(os.path.abspath(d))
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


def check_namespace() -> Check:
    """``tinytorch`` must be a PEP 420 namespace: no ``tinytorch/__init__.py`` anywhere."""
    problems: list[str] = []
    fixes: list[str] = []
    try:
        spec = importlib.util.find_spec("tinytorch")
    except (ImportError, ValueError) as exc:
        spec = None
        problems.append(f"looking up `tinytorch` failed: {exc}")
    if spec is not None and spec.origin not in (None, "namespace"):
        problems.append(f"`import tinytorch` resolves to a regular module/package: {spec.origin}")

    offenders: list[Path] = []
    for d in _candidate_dirs():
        init = d / "__init__.py"
        if init.is_file():
            offenders.append(init)
        module = d.parent / "tinytorch.py"
        if module.is_file() and module not in offenders:
            offenders.append(module)
    for path in offenders:
        owner = _owner_of(path)
        if owner and sysinfo.canonical_name(owner) == "tinytorch":
            problems.append(f"{path} belongs to PyPI's unrelated `tinytorch` distribution")
            fixes.append("`pip uninstall tinytorch` (PyPI's `tinytorch` is another project)")
        elif owner:
            problems.append(f"{path} is shipped by the `{owner}` distribution")
            fixes.append(
                f"remove {path} from the `{owner}` sources (TinyTorch packages never ship "
                f"tinytorch/__init__.py) and reinstall it"
            )
        else:
            problems.append(f"{path} shadows the tinytorch namespace")
            fixes.append(f"delete or rename {path}, or take {path.parent.parent} off "
                         "PYTHONPATH / sys.path")

    installed = sysinfo.installed_distributions()
    if "tinytorch" in installed and not any("unrelated" in p for p in problems):
        problems.append(
            f"PyPI's unrelated `tinytorch` {installed['tinytorch']['version']} is installed"
        )
        fixes.append("`pip uninstall tinytorch` (PyPI's `tinytorch` is another project)")

    if problems:
        return Check("namespace", "fail", "; ".join(problems), "; ".join(dict.fromkeys(fixes)))
    if spec is None:
        return Check("namespace", "skip", "no `tinytorch` package is importable",
                     f"install a TinyTorch layer: {SETUP_FIX}")
    locations = list(spec.submodule_search_locations or [])
    return Check("namespace", "pass",
                 f"tinytorch is a namespace package ({len(locations)} location(s))")


def check_tensor() -> Check:
    """``tinytorch.tensor`` must import and its ``_C`` extension must load."""
    try:
        importlib.import_module("tinytorch.tensor")
    except Exception as exc:  # noqa: BLE001
        fix = f"`pip install tinytorch-tensor`, or {SETUP_FIX}"
        if "TINYTORCH_BACKEND" in str(exc):
            fix = "set TINYTORCH_BACKEND to `numpy` or `native`, or unset it"
        return Check(
            "tinytorch.tensor", "fail",
            f"`import tinytorch.tensor` failed: {type(exc).__name__}: {exc}", fix,
        )
    ext = sysinfo.extension_info()
    if not ext.get("loaded"):
        return Check(
            "tinytorch.tensor", "fail",
            f"tinytorch.tensor imports but its C++ extension _C does not load: {ext.get('error')}",
            "rebuild it: `pip install --no-build-isolation -e packages/tinytorch-tensor` "
            f"(needs a C++17 compiler and CMake), or {SETUP_FIX}",
        )
    return Check("tinytorch.tensor", "pass", f"tinytorch.tensor and _C load ({ext.get('file')})")


_SPEC_RE = re.compile(r"^\s*(~=|==|!=|<=|>=|<|>)\s*([0-9][0-9A-Za-z.+!*-]*)\s*$")


def _release(version: str) -> tuple[int, ...]:
    parts = []
    for piece in re.split(r"[.+!-]", version):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def _pad(a: tuple[int, ...], n: int) -> tuple[int, ...]:
    return a + (0,) * (n - len(a))


def _simple_contains(spec: str, version: str) -> bool:
    """A small PEP 440 subset, used only when `packaging` is not installed."""
    v = _release(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        match = _SPEC_RE.match(clause)
        if not match:
            continue
        op, target = match.groups()
        if target.endswith(".*"):
            prefix = _release(target[:-2])
            ok = _pad(v, len(prefix))[: len(prefix)] == prefix
            if (op == "==" and not ok) or (op == "!=" and ok):
                return False
            continue
        t = _release(target)
        n = max(len(v), len(t))
        a, b = _pad(v, n), _pad(t, n)
        if op == "~=":
            prefix = t[:-1] if len(t) > 1 else t
            ok = a >= b and _pad(v, len(prefix))[: len(prefix)] == prefix
        else:
            ok = {"==": a == b, "!=": a != b, ">=": a >= b, "<=": a <= b,
                  ">": a > b, "<": a < b}[op]
        if not ok:
            return False
    return True


def _parse_requirement(text: str) -> tuple[str, str, bool] | None:
    """(name, specifier, applies) for a requirement string; applies=False for extras."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        Requirement = None  # noqa: N806
    if Requirement is not None:
        try:
            req = Requirement(text)
        except Exception:  # noqa: BLE001
            return None
        applies = req.marker is None or req.marker.evaluate({"extra": ""})
        return req.name, str(req.specifier), applies
    name_part, _, marker = text.partition(";")
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*\(?([^)]*)\)?", name_part)
    if not match:
        return None
    return match.group(1), match.group(3).strip(), "extra" not in marker


def _contains(spec: str, version: str) -> bool:
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:
        return _simple_contains(spec, version)
    try:
        return SpecifierSet(spec).contains(version, prereleases=True)
    except Exception:  # noqa: BLE001
        return _simple_contains(spec, version)


def check_dependencies() -> Check:
    """Every installed TinyTorch distribution's requirements are installed, in range."""
    installed = sysinfo.installed_distributions()
    ours = {name: info for name, info in installed.items() if not info["foreign"]}
    if not ours:
        return Check("dependencies", "skip", "no TinyTorch distribution is installed",
                     f"`pip install tinytorch-tensor`, or {SETUP_FIX}")
    problems: list[str] = []
    fixes: list[str] = []
    checked = 0
    for name, info in ours.items():
        for text in info["requires"]:
            parsed = _parse_requirement(text)
            if parsed is None or not parsed[2]:
                continue
            dep, spec, _ = parsed
            dep = sysinfo.canonical_name(dep)
            checked += 1
            if dep in installed:
                have = installed[dep]["version"]
            else:
                try:
                    have = metadata.version(dep)
                except metadata.PackageNotFoundError:
                    problems.append(f"{name} needs {dep}{spec} but it is not installed")
                    fixes.append(f"`pip install '{dep}{spec}'`")
                    continue
            if spec and not _contains(spec, have):
                problems.append(f"{name} needs {dep}{spec} but {dep} {have} is installed")
                fixes.append(f"`pip install '{dep}{spec}'` (or upgrade {name})")
    if problems:
        return Check("dependencies", "fail", "; ".join(problems),
                     "; ".join(dict.fromkeys(fixes)))
    return Check("dependencies", "pass",
                 f"{len(ours)} distribution(s), {checked} requirement(s) satisfied")


def check_isa() -> Check:
    """The extension runs the best instruction set that both it and the CPU support."""
    ext = sysinfo.extension_info()
    if not ext.get("loaded"):
        return Check("isa", "skip", "the C++ extension is not loaded (see tinytorch.tensor)")
    isa = ext.get("isa")
    if not isinstance(isa, str):
        return Check("isa", "warn", "this build of _C does not report its ISA",
                     "rebuild tinytorch-tensor from current sources")
    rank = sysinfo.ISA_RANK

    def best(names: list[str]) -> str:
        return max(names, key=lambda i: rank.get(i, 0))

    current = sysinfo.normalize_isa(isa)
    cpu = sysinfo.cpu_isas()
    best_cpu = best(cpu)
    available = ext.get("available_isas")
    usable = ([sysinfo.normalize_isa(a) for a in available]
              if isinstance(available, list) and available else None)
    build = ext.get("build_info")
    compiled_raw = build.get("compiled_isas") if isinstance(build, dict) else None
    compiled = ([sysinfo.normalize_isa(a) for a in compiled_raw]
                if isinstance(compiled_raw, list) else None)
    env = os.environ.get("TINYTORCH_ISA")
    note = f" (TINYTORCH_ISA={env} is set)" if env else ""

    if usable is not None:
        best_usable = best(usable)
        if rank.get(current, 0) < rank.get(best_usable, 0):
            if env:
                return Check("isa", "warn",
                             f"extension uses {isa}{note}; {best_usable} is available here",
                             "unset TINYTORCH_ISA to use the fastest kernels")
            return Check("isa", "fail",
                         f"extension uses {isa} although {best_usable} is compiled in and "
                         "supported by this CPU",
                         f"call tinytorch.tensor._C.set_isa('{best_usable}') if your code "
                         "chose another ISA; otherwise rebuild tinytorch-tensor "
                         "(`python3 tools/dev.py setup --force-setup`) and report it with "
                         "`tito system info --json`")
    elif rank.get(current, 0) < rank.get(best_cpu, 0):
        return Check("isa", "warn",
                     f"extension uses {isa}; the CPU supports {best_cpu}, and this build "
                     "does not report which ISAs it can run",
                     "rebuild tinytorch-tensor from current sources")

    if compiled is not None and best_cpu not in compiled and rank.get(best_cpu, 0) > rank.get(
        current, 0
    ):
        return Check("isa", "warn",
                     f"extension uses {isa}; the CPU supports {best_cpu} but this build has no "
                     f"{best_cpu} kernels (compiled: {', '.join(map(str, compiled_raw))})",
                     f"rebuild tinytorch-tensor on x86-64 with GCC or Clang to get {best_cpu}")
    if usable is not None and rank.get(best_cpu, 0) > rank.get(best(usable), 0) and (
        compiled is None or best_cpu in compiled
    ):
        return Check("isa", "warn",
                     f"the CPU flags list {best_cpu}, but the extension's run-time check does "
                     f"not allow it (available: {', '.join(map(str, available))}); the OS or "
                     "hypervisor may disable it",
                     "nothing to fix in TinyTorch; check the VM / BIOS settings if unexpected")
    listed = ", ".join(map(str, available)) if isinstance(available, list) else "?"
    return Check("isa", "pass",
                 f"extension uses {isa}{note}; runnable here: {listed}; CPU best: {best_cpu}")


def check_backend() -> Check:
    """``TINYTORCH_BACKEND``, if set, names a real backend."""
    value = os.environ.get("TINYTORCH_BACKEND")
    if value is None:
        return Check("backend", "pass", "TINYTORCH_BACKEND unset (default backend)")
    if value.strip().lower() in ("numpy", "native"):
        return Check("backend", "pass", f"TINYTORCH_BACKEND={value}")
    return Check("backend", "fail", f"TINYTORCH_BACKEND={value!r} is not a backend",
                 "set TINYTORCH_BACKEND to `numpy` or `native`, or unset it")


def check_openblas() -> Check:
    """Note OPENBLAS_CORETYPE, which changes numpy's GEMM speed (information only)."""
    value = os.environ.get("OPENBLAS_CORETYPE")
    if value is None:
        return Check("openblas", "info", "OPENBLAS_CORETYPE is unset: OpenBLAS picks its "
                     "kernels for this CPU")
    return Check(
        "openblas", "info",
        f"OPENBLAS_CORETYPE={value} makes numpy's OpenBLAS use its {value} kernels; when "
        "that is an older core than this CPU (Haswell on an AVX-512 CPU) numpy's GEMM runs "
        "about half as fast. benchmarks/run.py reports numpy both ways; leave it as it is "
        "in tests and CI.",
    )


#: The checks in the order they run; later issues may append to this list.
CHECKS: list[Callable[[], Check]] = [
    check_python,
    check_numpy,
    check_namespace,
    check_tensor,
    check_dependencies,
    check_isa,
    check_backend,
    check_openblas,
]


def run_checks() -> list[Check]:
    """Run every check in :data:`CHECKS`; a check that crashes is reported as failed."""
    results = []
    for check in CHECKS:
        try:
            results.append(check())
        except Exception as exc:  # noqa: BLE001
            name = check.__name__.removeprefix("check_")
            results.append(Check(name, "fail", f"the check itself crashed: "
                                 f"{type(exc).__name__}: {exc}",
                                 "report this bug with `tito system info --json`"))
    return results
