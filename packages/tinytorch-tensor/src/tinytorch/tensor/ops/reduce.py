"""Reductions over one axis, several, or all: sum, mean, max, min, argmax, argmin, var, std, any, all.

``axis`` is an int, a tuple of ints or None (every axis); ``keepdims=True``
keeps each reduced axis with size 1 so that the result broadcasts back
against the input (how `x - x.mean(axis=1, keepdims=True)` centres rows).
"""

from __future__ import annotations

import numpy as np

from ..dispatch import Op, apply
from ..dtypes import float32, int64, is_floating
from ..tensor import Tensor
from ._util import as_tensor, normalize_axes, normalize_axis


class Reduce(Op):
    """Base of the reductions: the axes (None for all) and whether they are kept."""

    def __init__(self, axis: tuple[int, ...] | None, keepdims: bool):
        self.axis, self.keepdims = axis, keepdims


class Sum(Reduce):
    """Sum over axis (bool and int sum to int64)."""

    name = "sum"

    def forward(self, x):
        # BEGIN SOLUTION 02 reduce
        return np.sum(x, axis=self.axis, keepdims=self.keepdims, dtype=None if is_floating(x.dtype) else int64)
        # END SOLUTION


class Mean(Reduce):
    """Mean over axis."""

    name = "mean"

    def forward(self, x):
        # BEGIN SOLUTION 02 reduce
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.mean(x, axis=self.axis, keepdims=self.keepdims)
        # END SOLUTION


class Max(Reduce):
    """Largest value over axis."""

    name = "max"

    def forward(self, x):
        # BEGIN SOLUTION 02 reduce
        return np.max(x, axis=self.axis, keepdims=self.keepdims)
        # END SOLUTION


class Min(Reduce):
    """Smallest value over axis."""

    name = "min"

    def forward(self, x):
        return np.min(x, axis=self.axis, keepdims=self.keepdims)


class ArgMax(Reduce):
    """Index of the first largest value over one axis (or of the flattened tensor)."""

    name = "argmax"

    def forward(self, x):
        # BEGIN SOLUTION 02 reduce
        axis = None if self.axis is None else self.axis[0]
        return np.argmax(x, axis=axis, keepdims=self.keepdims).astype(int64)
        # END SOLUTION


class ArgMin(Reduce):
    """Index of the first smallest value over one axis (or of the flattened tensor)."""

    name = "argmin"

    def forward(self, x):
        axis = None if self.axis is None else self.axis[0]
        return np.argmin(x, axis=axis, keepdims=self.keepdims).astype(int64)


class Var(Reduce):
    """Variance over axis: sum((x - mean)^2) / (N - correction)."""

    name = "var"

    def __init__(self, axis, keepdims, correction: int):
        super().__init__(axis, keepdims)
        self.correction = correction

    def forward(self, x):
        # BEGIN SOLUTION 02 reduce
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.var(x, axis=self.axis, keepdims=self.keepdims, ddof=self.correction)
        # END SOLUTION


class Any(Reduce):
    """True where any element over axis is nonzero."""

    name = "any"

    def forward(self, x):
        return np.any(x, axis=self.axis, keepdims=self.keepdims)


class All(Reduce):
    """True where every element over axis is nonzero."""

    name = "all"

    def forward(self, x):
        return np.all(x, axis=self.axis, keepdims=self.keepdims)


def _reduce(cls, x, axis, keepdims, *extra, needs_float=False, needs_items=False) -> Tensor:
    x = as_tensor(x, cls.name)
    # A 0-d tensor accepts axis 0 / -1 (and no other), as in PyTorch; reducing it gives itself.
    axes = normalize_axes(cls.name, axis, x.ndim or 1)
    if x.ndim == 0:
        axes = None
    if needs_float and not is_floating(x.dtype):
        from .elementwise import cast

        x = cast(x, float32)
    if needs_items:
        reduced = x.shape if axes is None else [x.shape[a] for a in axes]
        if 0 in reduced:
            raise ValueError(f"{cls.name}: cannot reduce over an empty dimension of a tensor of shape {x.shape}")
    return apply(cls(axes, bool(keepdims), *extra), x)


def sum(x, axis=None, keepdims: bool = False) -> Tensor:
    """Sum of elements over ``axis``. Example: ``sum(tensor([[1, 2], [3, 4]]), axis=0)`` is ``tensor([4, 6])``."""
    return _reduce(Sum, x, axis, keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (integers give float32)."""
    return _reduce(Mean, x, axis, keepdims, needs_float=True)


def max(x, axis=None, keepdims: bool = False) -> Tensor:
    """Largest value over ``axis`` (values only; see `argmax` for indices)."""
    return _reduce(Max, x, axis, keepdims, needs_items=True)


def min(x, axis=None, keepdims: bool = False) -> Tensor:
    """Smallest value over ``axis``."""
    return _reduce(Min, x, axis, keepdims, needs_items=True)


def _arg(cls, x, axis, keepdims) -> Tensor:
    x = as_tensor(x, cls.name)
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{cls.name}: axis must be an int or None, got {axis!r}")
    if axis is not None and x.ndim > 0:
        normalize_axis(cls.name, axis, x.ndim)
    return _reduce(cls, x, axis, keepdims, needs_items=True)


def argmax(x, axis=None, keepdims: bool = False) -> Tensor:
    """Index (int64) of the first largest value along ``axis``, or in the flattened tensor when None."""
    return _arg(ArgMax, x, axis, keepdims)


def argmin(x, axis=None, keepdims: bool = False) -> Tensor:
    """Index (int64) of the first smallest value along ``axis``, or in the flattened tensor when None."""
    return _arg(ArgMin, x, axis, keepdims)


def var(x, axis=None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Variance over ``axis``, dividing by N - ``correction`` (1 by default: unbiased, as PyTorch; 0 for the population variance)."""
    return _reduce(Var, x, axis, keepdims, int(correction), needs_float=True)


def std(x, axis=None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Standard deviation over ``axis``: ``sqrt(var(...))``."""
    from .elementwise import sqrt

    x = as_tensor(x, "std")
    normalize_axes("std", axis, x.ndim or 1)  # so that a bad axis is reported by std, not var
    return sqrt(var(x, axis, keepdims, correction))


def any(x, axis=None, keepdims: bool = False) -> Tensor:
    """Bool tensor: whether any element over ``axis`` is nonzero."""
    return _reduce(Any, x, axis, keepdims)


def all(x, axis=None, keepdims: bool = False) -> Tensor:
    """Bool tensor: whether every element over ``axis`` is nonzero."""
    return _reduce(All, x, axis, keepdims)
