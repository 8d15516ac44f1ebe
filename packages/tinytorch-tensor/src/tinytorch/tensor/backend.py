"""Which implementation runs each op: the C++ kernels ("native") or numpy ("numpy").

Every op has a numpy reference. Ops with a C++ kernel use it when the backend is
``"native"`` (the default) and the inputs suit the kernel (for GEMM: float32).
The choice comes from the ``TINYTORCH_BACKEND`` environment variable at import,
then from `set_backend` or the `use_backend` context manager:

    >>> from tinytorch.tensor import use_backend
    >>> with use_backend("numpy"):
    ...     pass  # every op in here runs its numpy reference

The backend is a context variable, so threads and asyncio tasks each see their own.
"""

from __future__ import annotations

import contextlib
import contextvars
import os

BACKENDS = ("native", "numpy")

try:  # the extension is optional at import time so that a broken build can still be diagnosed
    from . import _C as _native
except ImportError as exc:  # pragma: no cover - only on a broken install
    _native = None
    _NATIVE_IMPORT_ERROR: ImportError | None = exc
else:
    _NATIVE_IMPORT_ERROR = None


def _check(name: str, where: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"{where}: unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "native" and _native is None:
        raise RuntimeError(
            f"{where}: the native backend needs the C++ extension tinytorch.tensor._C, "
            f"which failed to import ({_NATIVE_IMPORT_ERROR}); reinstall tinytorch-tensor "
            "or use TINYTORCH_BACKEND=numpy"
        )
    return name


def _initial() -> str:
    name = os.environ.get("TINYTORCH_BACKEND", "").strip().lower()
    if not name:
        return "native" if _native is not None else "numpy"
    return _check(name, "TINYTORCH_BACKEND")


_current: contextvars.ContextVar[str] = contextvars.ContextVar("tinytorch_backend", default=_initial())


def get_backend() -> str:
    """The backend in force here: ``"native"`` or ``"numpy"``."""
    return _current.get()


def set_backend(name: str) -> None:
    """Choose the backend for the rest of this context (``"native"`` or ``"numpy"``)."""
    _current.set(_check(name, "set_backend"))


@contextlib.contextmanager
def use_backend(name: str):
    """Run the ``with`` block on backend ``name``, then restore the previous one."""
    token = _current.set(_check(name, "use_backend"))
    try:
        yield
    finally:
        _current.reset(token)


def native_available() -> bool:
    """True when the C++ extension imported."""
    return _native is not None


def native():
    """The C++ extension module `tinytorch.tensor._C` (None when it failed to import)."""
    return _native
