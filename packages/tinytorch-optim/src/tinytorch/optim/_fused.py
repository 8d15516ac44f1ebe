"""The bridge from the optimizers to the fused C++ updates (``csrc/optim.cpp`` in tinytorch-tensor).

On the native backend (the default; see `tinytorch.tensor.use_backend`) `SGD`, `Adam` and
`AdamW` update each float32 parameter with one C++ call that reads and writes every element
once, in place, and allocates nothing: ``_C.sgd_update``, ``_C.adam_update``,
``_C.adamw_update``. They do the same float32 operations as the numpy code, in the same order,
so both backends give the same numbers bit for bit. Anything the kernels do not take (float64
parameters, non-contiguous arrays or gradients, a gradient that is a view of its parameter)
goes to the numpy code instead, one parameter at a time.

Examples:
    >>> import tinytorch.tensor as tt
    >>> from tinytorch.optim import _fused
    >>> with tt.use_backend("numpy"):
    ...     _fused.kernels() is None
    True
    >>> _fused.fits(tt.zeros(3).data, tt.zeros(3).data), _fused.fits(tt.zeros(3).data.astype("f8"))
    (True, False)
"""

from __future__ import annotations

import numpy as np
from tinytorch.tensor import backend


def kernels():
    """The extension module with the fused updates, or None on the numpy backend.

    Also None if the extension failed to import or predates the optimizer kernels.
    """
    if backend.get_backend() != "native":
        return None
    C = backend.native()
    if C is None or not hasattr(C, "adam_update"):
        return None
    return C


def fits(param: np.ndarray, grad: np.ndarray | None = None, *state: np.ndarray) -> bool:
    """Whether the fused kernels take these arrays as they are (no copy, so no temporary).

    ``param`` and the ``state`` arrays are written in place: each must be a writeable,
    C-contiguous float32 array. ``grad`` is only read: C-contiguous float32, and not sharing
    memory with ``param`` (numpy's expressions would copy first; the kernel would not).
    """
    for a in (param, *state):
        if a.dtype != np.float32 or not a.flags.c_contiguous or not a.flags.writeable:
            return False
    if grad is not None:
        if grad.dtype != np.float32 or not grad.flags.c_contiguous:
            return False
        if np.may_share_memory(grad, param):
            return False
    return True


__all__ = ["kernels", "fits"]
