"""Elementwise ops: arithmetic with broadcasting, comparisons, `where`, math functions, casts.

Binary ops follow numpy's broadcasting rules and PyTorch's dtype promotion
(`tinytorch.tensor.dtypes.result_type`). Broadcasting never copies the smaller
operand: numpy reads it with stride 0.
"""

from __future__ import annotations

import numpy as np

from ..dispatch import Op, apply
from ..dtypes import as_dtype, float32, is_floating
from ..tensor import Tensor
from ._util import as_tensor, broadcast_shape, operands


class Add(Op):
    """a + b."""

    name = "add"

    def forward(self, a, b):
        # BEGIN SOLUTION 02 arithmetic
        return a + b
        # END SOLUTION


class Sub(Op):
    """a - b."""

    name = "sub"

    def forward(self, a, b):
        # BEGIN SOLUTION 02 arithmetic
        return a - b
        # END SOLUTION


class Mul(Op):
    """a * b."""

    name = "mul"

    def forward(self, a, b):
        # BEGIN SOLUTION 02 arithmetic
        return a * b
        # END SOLUTION


class Div(Op):
    """a / b (true division; integer inputs give float32)."""

    name = "div"

    def forward(self, a, b):
        # BEGIN SOLUTION 02 arithmetic
        with np.errstate(divide="ignore", invalid="ignore"):  # inf and nan, as PyTorch
            return a / b
        # END SOLUTION


class Pow(Op):
    """a ** b."""

    name = "pow"

    def forward(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return a**b


class Maximum(Op):
    """The larger of a and b, elementwise (nan if either is nan)."""

    name = "maximum"

    def forward(self, a, b):
        return np.maximum(a, b)


class Minimum(Op):
    """The smaller of a and b, elementwise."""

    name = "minimum"

    def forward(self, a, b):
        return np.minimum(a, b)


class Compare(Op):
    """A comparison (``==``, ``<``, ...) giving a bool tensor; no gradient flows through it."""

    _UFUNCS = {"eq": np.equal, "ne": np.not_equal, "lt": np.less,
               "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}

    def __init__(self, name: str):
        self.name = name

    def forward(self, a, b):
        return self._UFUNCS[self.name](a, b)


class Neg(Op):
    """-x."""

    name = "neg"

    def forward(self, x):
        return -x


class Exp(Op):
    """e ** x."""

    name = "exp"

    def forward(self, x):
        with np.errstate(over="ignore"):
            return np.exp(x)


class Log(Op):
    """Natural logarithm (-inf at 0, nan below, as PyTorch)."""

    name = "log"

    def forward(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)


class Sqrt(Op):
    """Square root (nan below 0)."""

    name = "sqrt"

    def forward(self, x):
        with np.errstate(invalid="ignore"):
            return np.sqrt(x)


class Abs(Op):
    """|x|."""

    name = "abs"

    def forward(self, x):
        return np.abs(x)


class Clip(Op):
    """Clamp x into [low, high]; either bound may be None."""

    name = "clip"

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        return np.clip(x, self.low, self.high)


class Where(Op):
    """Pick a where cond is true, else b (all three broadcast together)."""

    name = "where"

    def forward(self, cond, a, b):
        return np.where(cond, a, b)


class Cast(Op):
    """Convert to another dtype (always a copy)."""

    name = "cast"

    def __init__(self, dtype: np.dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)


def _binary(op: Op, a, b) -> Tensor:
    a, b = operands(op.name, a, b)
    broadcast_shape(op.name, a, b)
    return apply(op, a, b)


def add(a, b) -> Tensor:
    """a + b with broadcasting. Example: ``add(tensor([1., 2.]), 1.0)`` is ``tensor([2., 3.])``."""
    return _binary(Add(), a, b)


def sub(a, b) -> Tensor:
    """a - b with broadcasting."""
    return _binary(Sub(), a, b)


def mul(a, b) -> Tensor:
    """a * b with broadcasting."""
    return _binary(Mul(), a, b)


def div(a, b) -> Tensor:
    """a / b with broadcasting; integer and bool inputs give float32 (true division)."""
    a, b = operands("div", a, b)
    if not is_floating(a.dtype):
        a, b = cast(a, float32), cast(b, float32)
    broadcast_shape("div", a, b)
    return apply(Div(), a, b)


def pow(a, b) -> Tensor:
    """a ** b with broadcasting (``b`` may be a scalar or a tensor)."""
    return _binary(Pow(), a, b)


def maximum(a, b) -> Tensor:
    """Elementwise maximum with broadcasting."""
    return _binary(Maximum(), a, b)


def minimum(a, b) -> Tensor:
    """Elementwise minimum with broadcasting."""
    return _binary(Minimum(), a, b)


def eq(a, b) -> Tensor:
    """a == b, elementwise, as a bool tensor."""
    return _binary(Compare("eq"), a, b)


def ne(a, b) -> Tensor:
    """a != b, elementwise, as a bool tensor."""
    return _binary(Compare("ne"), a, b)


def lt(a, b) -> Tensor:
    """a < b, elementwise, as a bool tensor."""
    return _binary(Compare("lt"), a, b)


def le(a, b) -> Tensor:
    """a <= b, elementwise, as a bool tensor."""
    return _binary(Compare("le"), a, b)


def gt(a, b) -> Tensor:
    """a > b, elementwise, as a bool tensor."""
    return _binary(Compare("gt"), a, b)


def ge(a, b) -> Tensor:
    """a >= b, elementwise, as a bool tensor."""
    return _binary(Compare("ge"), a, b)


def neg(x) -> Tensor:
    """-x."""
    return apply(Neg(), as_tensor(x, "neg"))


def _float_unary(op: Op, x) -> Tensor:
    x = as_tensor(x, op.name)
    if not is_floating(x.dtype):
        x = cast(x, float32)  # exp of an int tensor is a float32 tensor, as in PyTorch
    return apply(op, x)


def exp(x) -> Tensor:
    """e ** x, elementwise (integers give float32)."""
    return _float_unary(Exp(), x)


def log(x) -> Tensor:
    """Natural logarithm, elementwise."""
    return _float_unary(Log(), x)


def sqrt(x) -> Tensor:
    """Square root, elementwise."""
    return _float_unary(Sqrt(), x)


def abs(x) -> Tensor:
    """Absolute value, elementwise."""
    return apply(Abs(), as_tensor(x, "abs"))


def clip(x, min=None, max=None) -> Tensor:
    """Clamp ``x`` into [min, max]; the bounds are numbers and either may be None.

    Example: ``clip(tensor([-2., 0.5, 3.]), 0, 1)`` is ``tensor([0., 0.5, 1.])``.
    """
    x = as_tensor(x, "clip")
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    for bound in (min, max):
        if bound is not None and not isinstance(bound, (int, float, np.number)):
            raise TypeError(f"clip: bounds must be numbers, got {type(bound).__name__}")
    if (isinstance(min, float) or isinstance(max, float)) and not is_floating(x.dtype):
        x = cast(x, float32)
    return apply(Clip(min, max), x)


clamp = clip


def where(cond, a, b) -> Tensor:
    """Elementwise ``a if cond else b``; the three broadcast together and ``cond`` must be bool."""
    cond = as_tensor(cond, "where")
    if cond.dtype != np.bool_:
        raise TypeError(f"where: the condition must be a bool tensor, got {cond.dtype}")
    a, b = operands("where", a, b)
    broadcast_shape("where", cond, a, b)
    return apply(Where(), cond, a, b)


def cast(x, dtype) -> Tensor:
    """``x`` converted to ``dtype`` (returns ``x`` itself when it already has it)."""
    dt = as_dtype(dtype, "cast")
    x = as_tensor(x, "cast")
    return x if x.dtype == dt else apply(Cast(dt), x)


__all__ = ["Add", "Sub", "Mul", "Div", "Pow", "Maximum", "Minimum", "Compare", "Neg", "Exp",
           "Log", "Sqrt", "Abs", "Clip", "Where", "Cast", "add", "sub", "mul", "div", "pow",
           "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "neg", "exp", "log", "sqrt",
           "abs", "clip", "clamp", "where", "cast"]
