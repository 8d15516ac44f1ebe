"""`system_info`: what this TinyTorch runs on (course module 01, setup).

Students write `system_info` in module 01: the first thing to know about a machine before
measuring anything on it is what it is (Python, numpy, CPU count, which backend runs the ops,
which SIMD instruction set the C++ kernels picked). It reads no tensor data, so it works before
any tensor op has been written.
"""

from __future__ import annotations

import os
import platform
import sys

import numpy as np

from . import backend


def system_info() -> dict:
    """A dict describing the environment TinyTorch runs in.

    Keys: ``python`` (version string, e.g. ``"3.11.9"``), ``platform`` (``platform.platform()``),
    ``machine`` (``platform.machine()``), ``cpu_count`` (logical CPUs), ``numpy`` (version),
    ``backend`` (the backend in force: ``"native"`` or ``"numpy"``), ``native`` (whether the C++
    extension imported), ``isa`` (the instruction set the native kernels use, or None without
    them) and ``threads`` (native kernel threads, or 1 without them).

    Examples:
        >>> info = system_info()
        >>> info["numpy"] == np.__version__
        True
    """
    # BEGIN SOLUTION 01 system_info
    native = backend.native()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count() or 1,
        "numpy": np.__version__,
        "backend": backend.get_backend(),
        "native": native is not None,
        "isa": native.isa() if native is not None else None,
        "threads": native.num_threads() if native is not None else 1,
    }
    # END SOLUTION


def check_python(minimum: tuple[int, int] = (3, 10)) -> bool:
    """True when this Python is at least ``minimum`` (TinyTorch needs 3.10 or newer).

    Examples:
        >>> check_python((3, 0))
        True
    """
    # BEGIN SOLUTION 01 check_python
    return sys.version_info[:2] >= tuple(minimum)
    # END SOLUTION


__all__ = ["system_info", "check_python"]
