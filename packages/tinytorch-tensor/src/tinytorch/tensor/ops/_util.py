"""Argument checks shared by the op families; each error names the op and the shapes."""

from __future__ import annotations

import numpy as np

from ..dtypes import result_type
from ..tensor import Tensor, to_array


def as_tensor(x, op: str) -> Tensor:
    """``x`` as a Tensor (Tensors pass through; arrays, lists and scalars are wrapped)."""
    return x if isinstance(x, Tensor) else Tensor._wrap(to_array(x, op=op, copy=False))


def operands(op: str, *xs) -> tuple[Tensor, ...]:
    """Tensors of one common dtype (PyTorch's promotion rule, `result_type`) from Tensors and scalars."""
    first = xs[0]
    if isinstance(first, Tensor) and all(isinstance(x, Tensor) and x.dtype == first.dtype for x in xs):
        return xs  # the common case, kept cheap: small ops are dominated by this Python overhead
    xs = tuple(x if isinstance(x, (Tensor, bool, int, float, np.ndarray)) else to_array(x, op=op) for x in xs)
    dt = result_type(*(x.data if isinstance(x, Tensor) else x for x in xs))
    return tuple(cast_to(x, dt, op) for x in xs)


def cast_to(x, dt: np.dtype, op: str) -> Tensor:
    """``x`` as a Tensor of dtype ``dt``; a Tensor of another dtype goes through the cast op."""
    if isinstance(x, Tensor):
        if x.dtype == dt:
            return x
        from .elementwise import cast

        return cast(x, dt)
    return Tensor._wrap(np.asarray(x, dtype=dt))


def broadcast_shape(op: str, *tensors: Tensor) -> tuple[int, ...]:
    """The broadcast shape of ``tensors``, or a ValueError naming ``op`` and every shape."""
    # BEGIN SOLUTION 02 arithmetic
    shapes = [t.shape for t in tensors if t.shape]  # 0-d tensors (scalars) broadcast with anything
    if not shapes:
        return ()
    if all(s == shapes[0] for s in shapes):
        return shapes[0]
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        shown = " and ".join(str(s) for s in shapes)
        raise ValueError(f"{op}: shapes {shown} cannot be broadcast together") from None
    # END SOLUTION


def normalize_axis(op: str, axis: int, ndim: int) -> int:
    """``axis`` in [0, ndim), accepting negatives; IndexError naming the op otherwise."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise IndexError(f"{op}: axis {axis} is out of range for a tensor with {ndim} dimension(s)")
    return int(axis) % ndim


def normalize_axes(op: str, axis, ndim: int) -> tuple[int, ...] | None:
    """None (all axes) or a sorted tuple of distinct non-negative axes."""
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = tuple(sorted(normalize_axis(op, a, ndim) for a in axes))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return out


def shape_arg(op: str, shape) -> tuple[int, ...]:
    """A shape given as ``(2, 3)``, ``[2, 3]`` or as separate ints ``2, 3`` (already collected in a tuple)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"{op}: shape entries must be ints, got {shape!r}")
    return tuple(int(s) for s in shape)
