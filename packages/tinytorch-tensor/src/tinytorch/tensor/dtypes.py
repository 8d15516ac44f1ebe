"""The dtypes TinyTorch supports, and how mixed-dtype arithmetic picks a result.

TinyTorch keeps four dtypes, enough for deep learning and small enough to learn:

| dtype     | bytes | used for                                   |
|-----------|-------|--------------------------------------------|
| `float32` | 4     | the default: activations, weights, grads   |
| `float64` | 8     | gradient checks (finite differences)       |
| `int64`   | 8     | indices, class labels, token ids           |
| `bool`    | 1     | masks and comparison results               |

Other integer arrays (int8 ... uint32) are widened to int64 when a tensor is
made from them; float16, complex and object arrays are refused with a
`TypeError` that names the dtype.
"""

from __future__ import annotations

import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

#: Every dtype a Tensor may hold.
SUPPORTED_DTYPES = (float32, float64, int64, bool_)

#: The dtype of Python floats, ``rand`` and friends when none is given.
DEFAULT_FLOAT = float32

_NAMES = {"float32": float32, "float64": float64, "int64": int64, "bool": bool_,
          "float": float32, "double": float64, "long": int64}


def as_dtype(dtype, op: str = "tensor") -> np.dtype:
    """Turn ``dtype`` (a name, numpy dtype, Python type or None) into a supported numpy dtype.

    Raises `TypeError` naming ``op`` and the dtype when it is not one of `SUPPORTED_DTYPES`.

    Examples:
        >>> as_dtype("float32")
        dtype('float32')
    """
    if isinstance(dtype, str) and dtype in _NAMES:
        return _NAMES[dtype]
    if dtype is float:
        return float32
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt not in SUPPORTED_DTYPES:
        raise TypeError(
            f"{op}: unsupported dtype {dtype!r}; TinyTorch supports float32, float64, int64 and bool"
        )
    return dt


def canonical_dtype(dt: np.dtype, op: str = "tensor") -> np.dtype:
    """The supported dtype an array of dtype ``dt`` is stored as (narrow ints widen to int64)."""
    if dt in SUPPORTED_DTYPES:
        return dt
    if dt.kind in "iu":
        return int64
    raise TypeError(
        f"{op}: unsupported dtype {dt}; TinyTorch supports float32, float64, int64 and bool"
    )


_KIND_RANK = {"b": 0, "i": 1, "f": 2}


def result_type(*operands) -> np.dtype:
    """The dtype of an elementwise op on ``operands`` (Tensors, arrays or Python scalars).

    The rule is PyTorch's, not numpy's: the highest *kind* wins (bool < int < float),
    and Python scalars only raise the kind, never the width. So an int64 tensor
    times ``0.5`` is float32, and a float32 tensor plus ``1.0`` stays float32.
    A float result is float64 only if a float64 tensor takes part.

    Examples:
        >>> import numpy as np
        >>> result_type(np.zeros(2, np.int64), 0.5)
        dtype('float32')
    """
    kind = 0
    wide_float = False
    for x in operands:
        if isinstance(x, (bool, np.bool_)):
            k = "b"
        elif isinstance(x, int):
            k = "i"
        elif isinstance(x, float):
            k = "f"
        else:
            dt = x.dtype
            k = dt.kind if dt.kind in _KIND_RANK else "i"
            wide_float |= dt == float64
        kind = max(kind, _KIND_RANK[k])
    if kind == 2:
        return float64 if wide_float else float32
    return int64 if kind == 1 else bool_


def is_floating(dt: np.dtype) -> bool:
    """True for float32 and float64."""
    return dt.kind == "f"
