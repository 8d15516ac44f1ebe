"""Facts about the machine and the TinyTorch install, gathered without assuming they work.

Every probe here catches its own failures and reports them as data (an ``"error"`` entry),
because :mod:`tito.doctor` uses the same probes to explain broken installs. Nothing in this
module imports a TinyTorch package at import time.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from typing import Any

__all__ = [
    "canonical_name",
    "collect_info",
    "cpu_flags",
    "cpu_isas",
    "cpu_model",
    "extension_info",
    "installed_distributions",
    "normalize_isa",
    "numpy_info",
    "tensor_backend",
]

#: Instruction-set levels, lowest first. Names reported by the extension are mapped onto
#: these by :func:`normalize_isa`.
ISA_RANK = {"scalar": 0, "neon": 1, "sse4": 1, "avx2": 2, "avx512": 3}


def canonical_name(name: str) -> str:
    """The PEP 503 normalized form of a distribution name (`Tinytorch_NN` -> `tinytorch-nn`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def is_ours(name: str) -> bool:
    """True for the distributions of this project: ``tinytorch-*`` and ``tito-cli``.

    PyPI's ``tinytorch`` (no suffix) and ``tito`` are other people's projects and are not ours.
    """
    name = canonical_name(name)
    return name.startswith("tinytorch-") or name == "tito-cli"


def _editable_location(dist: metadata.Distribution) -> str | None:
    try:
        raw = dist.read_text("direct_url.json")
        if not raw:
            return None
        data = json.loads(raw)
    except (OSError, ValueError):
        return None
    if data.get("dir_info", {}).get("editable"):
        url = data.get("url", "")
        return url[len("file://") :] if url.startswith("file://") else url
    return None


def installed_distributions() -> dict[str, dict[str, Any]]:
    """Installed TinyTorch distributions (and a foreign ``tinytorch`` if present).

    Returns ``{canonical name: {"version", "editable", "requires", "foreign"}}``. Where a
    name is installed twice on ``sys.path``, the first one (the one Python imports) wins.
    """
    found: dict[str, dict[str, Any]] = {}
    for dist in metadata.distributions():
        raw_name = dist.metadata["Name"] if dist.metadata else None
        if not raw_name:
            continue
        name = canonical_name(raw_name)
        if name in found or not (is_ours(name) or name == "tinytorch"):
            continue
        found[name] = {
            "version": dist.version,
            "editable": _editable_location(dist),
            "requires": list(dist.requires or []),
            "foreign": name == "tinytorch",
        }
    return dict(sorted(found.items()))


def cpu_model() -> str:
    """A human-readable CPU name (``model name`` on Linux, the brand string on macOS)."""
    try:
        if sys.platform.startswith("linux"):
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.lower().startswith(("model name", "hardware", "cpu model")):
                        return line.split(":", 1)[1].strip()
        elif sys.platform == "darwin":
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True, text=True, timeout=5, check=False,
            ).stdout.strip()
            if out:
                return out
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine() or "unknown"


def cpu_flags() -> set[str]:
    """Lower-case CPU feature flags (``avx2``, ``fma``, ``avx512f``, ...); empty if unknown."""
    flags: set[str] = set()
    try:
        if sys.platform.startswith("linux"):
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.lower().startswith(("flags", "features")):
                        flags.update(line.split(":", 1)[1].lower().split())
                        break
        elif sys.platform == "darwin":
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"],
                capture_output=True, text=True, timeout=5, check=False,
            ).stdout
            flags.update(out.lower().replace(".", "_").split())
    except (OSError, subprocess.SubprocessError):
        pass
    return flags


def cpu_isas(flags: set[str] | None = None) -> list[str]:
    """The instruction-set levels this CPU supports, lowest first (always includes ``scalar``)."""
    flags = cpu_flags() if flags is None else flags
    machine = platform.machine().lower()
    isas = ["scalar"]
    if machine in ("arm64", "aarch64") or "asimd" in flags or "neon" in flags:
        isas.append("neon")
    if "avx2" in flags and "fma" in flags:
        isas.append("avx2")
        # The AVX-512 kernels use the F, BW, DQ and VL subsets (Skylake-SP and later).
        if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
            isas.append("avx512")
    return isas


def normalize_isa(name: object) -> str:
    """Map an ISA name as the extension spells it onto :data:`ISA_RANK` keys.

    ``"AVX-512"``, ``"avx512f"`` and ``"avx512_vnni"`` become ``"avx512"``; ``"generic"``
    and ``"baseline"`` become ``"scalar"``. Unknown names are returned lower-cased.
    """
    text = str(name).lower().replace("-", "").replace("_", "")
    if "avx512" in text:
        return "avx512"
    if "avx2" in text:
        return "avx2"
    if "neon" in text:
        return "neon"
    if text in ("scalar", "generic", "baseline", "none", "portable", "reference", "naive"):
        return "scalar"
    return str(name).lower()


def numpy_info() -> dict[str, Any]:
    """numpy's version and the BLAS it was built with (from ``numpy.show_config``)."""
    try:
        import numpy as np
    except Exception as exc:  # noqa: BLE001 - any import failure is a finding
        return {"error": f"{type(exc).__name__}: {exc}"}
    info: dict[str, Any] = {"version": np.__version__, "blas": None}
    try:
        config = np.show_config(mode="dicts")  # numpy >= 1.26
    except TypeError:
        config = None
    except Exception as exc:  # noqa: BLE001
        info["blas_error"] = f"{type(exc).__name__}: {exc}"
        config = None
    if isinstance(config, dict):
        deps = config.get("Build Dependencies", {})
        blas = deps.get("blas") or {}
        info["blas"] = {
            key: blas.get(key)
            for key in ("name", "version", "found", "openblas configuration")
            if blas.get(key) is not None
        } or None
        simd = config.get("SIMD Extensions", {})
        if simd:
            info["simd_found"] = simd.get("found")
    info["env"] = {
        k: os.environ[k]
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                  "OPENBLAS_L2_SIZE", "MKL_NUM_THREADS")
        if k in os.environ
    }
    return info


def jsonable(value: Any) -> Any:
    """`value` made JSON-safe: containers recursively, other objects as ``str``."""
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    return str(value)


def _call(obj: Any, name: str) -> Any:
    fn = getattr(obj, name, None)
    if fn is None:
        return {"error": "not provided"}
    try:
        value = fn() if callable(fn) else fn
    except Exception as exc:  # noqa: BLE001
        return {"error": f"{type(exc).__name__}: {exc}"}
    return jsonable(value)


def extension_info() -> dict[str, Any]:
    """What the compiled extension ``tinytorch.tensor._C`` reports about itself.

    ``{"loaded": bool, "error"?: str, "file"?: str, "isa", "available_isas", "num_threads",
    "has_openmp", "build_info"}``; a function the build lacks is reported as
    ``{"error": "not provided"}``.
    """
    try:
        ext = importlib.import_module("tinytorch.tensor._C")
    except Exception as exc:  # noqa: BLE001
        return {"loaded": False, "error": f"{type(exc).__name__}: {exc}"}
    info: dict[str, Any] = {"loaded": True, "file": getattr(ext, "__file__", None)}
    for name in ("isa", "available_isas", "num_threads", "has_openmp", "build_info"):
        info[name] = _call(ext, name)
    return info


def tensor_backend() -> dict[str, Any]:
    """The active tensor backend (``numpy`` or ``native``) and ``TINYTORCH_BACKEND``."""
    result: dict[str, Any] = {"env": os.environ.get("TINYTORCH_BACKEND")}
    try:
        tensor = importlib.import_module("tinytorch.tensor")
    except Exception as exc:  # noqa: BLE001
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    result["backend"] = _call(tensor, "get_backend")
    return result


def collect_info() -> dict[str, Any]:
    """Everything ``tito system info`` shows, as JSON-serialisable data."""
    flags = cpu_flags()
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
            "prefix": sys.prefix,
        },
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "platform": platform.platform(),
        },
        "cpu": {
            "model": cpu_model(),
            "logical_cores": os.cpu_count(),
            "isas": cpu_isas(flags),
        },
        "numpy": numpy_info(),
        "packages": installed_distributions(),
        "extension": extension_info(),
        "backend": tensor_backend(),
    }
