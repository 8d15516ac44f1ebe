"""Ways to make a tensor: from data, filled with a value, ranges, identity, and random.

Creation functions make new tensors (leaves of any graph) and are not ops: they
do not pass through the dispatch point. All take ``dtype=`` (float32 by
default, except `arange` of ints and `randint`, which give int64) and
``requires_grad=``.
"""

from __future__ import annotations

import numpy as np

from . import random as _random
from .dtypes import DEFAULT_FLOAT, SUPPORTED_DTYPES, as_dtype, int64
from .ops._util import shape_arg
from .tensor import Tensor, to_array


def _make(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    t.requires_grad = requires_grad
    return t


def _checked_shape(op: str, shape) -> tuple[int, ...]:
    shape = shape_arg(op, shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: negative dimension in shape {shape}")
    return shape


def _dtype(dtype, op: str) -> np.dtype:
    return DEFAULT_FLOAT if dtype is None else as_dtype(dtype, op)


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (list, scalar, numpy array or Tensor).

    Python floats give float32, Python ints int64, bools bool; numpy arrays keep
    their dtype. Example: ``tensor([[1, 2], [3, 4]]).dtype`` is int64.
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares ``array``'s memory (no copy): writes to either show in both.

    The array must already hold a supported dtype (float32, float64, int64, bool): sharing
    cannot widen an int32 array, so that raises TypeError (use `tensor` to copy it instead).
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy array, got {type(array).__name__}")
    if array.dtype not in SUPPORTED_DTYPES:
        raise TypeError(
            f"from_numpy: cannot share an array of dtype {array.dtype}; TinyTorch tensors hold "
            "float32, float64, int64 or bool, so use tensor(array) to make a converted copy"
        )
    return Tensor._wrap(array)


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _make(np.zeros(_checked_shape("zeros", shape), _dtype(dtype, "zeros")), requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return _make(np.ones(_checked_shape("ones", shape), _dtype(dtype, "ones")), requires_grad)


def empty(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor (its values are whatever was in memory)."""
    return _make(np.empty(_checked_shape("empty", shape), _dtype(dtype, "empty")), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (dtype from the value when not given)."""
    if dtype is None:
        dtype = to_array(fill_value, op="full").dtype
    shape = _checked_shape("full", (shape,) if isinstance(shape, (tuple, list)) else (shape,))
    return _make(np.full(shape, fill_value, as_dtype(dtype, "full")), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, end): ``arange(5)``, ``arange(1, 10, 2)``, ``arange(0, 1, 0.25)``.

    Integer arguments give int64, any float argument float32.
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if is_int else DEFAULT_FLOAT
    return _make(np.arange(start, end, step).astype(as_dtype(dtype, "arange")), requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    return _make(np.linspace(start, end, steps).astype(_dtype(dtype, "linspace")), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """The (n, m) identity matrix (m defaults to n)."""
    if n < 0 or (m is not None and m < 0):
        raise ValueError(f"eye: sizes must be non-negative, got {n} and {m}")
    return _make(np.eye(n, m, dtype=_dtype(dtype, "eye")), requires_grad)


def _random_floats(op: str, shape, dtype, generator, requires_grad: bool, draw) -> Tensor:
    shape = _checked_shape(op, shape)
    dt = _dtype(dtype, op)
    if dt.kind != "f":
        raise TypeError(f"{op}: dtype must be float32 or float64, got {dt}")
    return _make(draw(_random.resolve(generator), shape, dt), requires_grad)


def rand(*shape, dtype=None, generator=None, requires_grad: bool = False) -> Tensor:
    """Uniform random values in [0, 1), from ``generator`` or the default stream."""
    return _random_floats("rand", shape, dtype, generator, requires_grad,
                          lambda rng, shape, dt: rng.random(shape, dtype=dt))


def randn(*shape, dtype=None, generator=None, requires_grad: bool = False) -> Tensor:
    """Standard normal random values (mean 0, std 1)."""
    return _random_floats("randn", shape, dtype, generator, requires_grad,
                          lambda rng, shape, dt: rng.standard_normal(shape, dtype=dt))


def randint(low: int, high: int, shape, dtype=None, generator=None) -> Tensor:
    """Random integers in [low, high) of ``shape`` (int64 by default)."""
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    shape = _checked_shape("randint", (shape,) if isinstance(shape, (tuple, list)) else (shape,))
    values = _random.resolve(generator).integers(low, high, shape)
    return Tensor._wrap(values.astype(int64 if dtype is None else as_dtype(dtype, "randint")))


def _like(x, dtype):
    x = x if isinstance(x, Tensor) else Tensor(x)
    return x.shape, (x.dtype if dtype is None else dtype)


def zeros_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``x``'s shape and dtype."""
    shape, dt = _like(x, dtype)
    return zeros(shape, dtype=dt, requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with ``x``'s shape and dtype."""
    shape, dt = _like(x, dtype)
    return ones(shape, dtype=dt, requires_grad=requires_grad)


def empty_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor with ``x``'s shape and dtype."""
    shape, dt = _like(x, dtype)
    return empty(shape, dtype=dt, requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere, with ``x``'s shape and dtype."""
    shape, dt = _like(x, dtype)
    return full(shape, fill_value, dtype=dt, requires_grad=requires_grad)


def rand_like(x, dtype=None, generator=None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) values with ``x``'s shape (and dtype, which must be a float)."""
    shape, dt = _like(x, dtype)
    return rand(shape, dtype=dt, generator=generator, requires_grad=requires_grad)


def randn_like(x, dtype=None, generator=None, requires_grad: bool = False) -> Tensor:
    """Standard normal values with ``x``'s shape (and float dtype)."""
    shape, dt = _like(x, dtype)
    return randn(shape, dtype=dt, generator=generator, requires_grad=requires_grad)
