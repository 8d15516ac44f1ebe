"""Activation functions as fused ops: one numpy pass forward, a backward written with tensor ops.

Each activation is a `tinytorch.tensor.dispatch.Op` with a numerically stable
numpy ``forward`` and a ``backward(inputs, out, grad)`` that `tinytorch-autograd`
calls. The backward rules use tensor ops (and these ops), so gradients of
gradients work too. Many use the *output* rather than the input:
sigmoid' = s (1 - s), tanh' = 1 - t^2, softmax's Jacobian-vector product
``s * (g - sum(g * s))``: the forward result is saved anyway.

Softmax, log-softmax, GELU (both forms) and erf also have C++ kernels
(``csrc/softmax.cpp``, ``csrc/activation.cpp``) that the native backend runs on
float32 inputs. Their backward passes are ops too (`SoftmaxBackwardOp`, ...), one
kernel each, whose own backward is written with tensor ops: first-order gradients
run one fused kernel, and gradients of gradients still work.
"""

from __future__ import annotations

import math

import numpy as np
from tinytorch.tensor import Tensor, dispatch, exp, where
from tinytorch.tensor.backend import native as _native
from tinytorch.tensor.ops._util import as_tensor, normalize_axis

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715
_INV_SQRT_2 = 1 / math.sqrt(2.0)
_INV_SQRT_2PI = 1 / math.sqrt(2.0 * math.pi)
_F32 = np.dtype(np.float32)


def _all_f32(*xs: np.ndarray) -> bool:
    return all(x.dtype == _F32 for x in xs)


def _to_rows(x: np.ndarray, axis: int) -> np.ndarray:
    """``x`` with ``axis`` moved last, as a (rows, C) array for the row kernels."""
    if axis != x.ndim - 1:
        x = np.moveaxis(x, axis, -1)
    c = x.shape[-1]
    return x.reshape(math.prod(x.shape[:-1]), c)  # sizes spelled out: reshape(-1, 0) is ambiguous


def _from_rows(y: np.ndarray, shape: tuple, axis: int) -> np.ndarray:
    """Undo `_to_rows`: (rows, C) back to ``shape`` with the softmax axis where it was."""
    if axis == len(shape) - 1:
        return y.reshape(shape)
    moved = shape[:axis] + shape[axis + 1 :] + (shape[axis],)
    return np.ascontiguousarray(np.moveaxis(y.reshape(moved), -1, axis))


def _erf_np(x: np.ndarray) -> np.ndarray:
    """erf with Python's math.erf per element: exact, slow (the numpy reference)."""
    return ErfOp._erf(x).astype(x.dtype)


def _float_input(name: str, x) -> Tensor:
    x = as_tensor(x, name)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point tensor, got {x.dtype}")
    return x


class ReLUOp(dispatch.Op):
    """max(x, 0); its gradient is 1 where x > 0 and 0 elsewhere (0 at x == 0, as PyTorch)."""

    name = "relu"

    def forward(self, x):
        # BEGIN SOLUTION 03 relu
        return np.maximum(x, 0)
        # END SOLUTION

    def native(self, x):
        return _native().relu(x) if x.dtype == _F32 else None

    def backward(self, inputs, out, grad):
        return (dispatch.apply(ReLUBackwardOp(), inputs[0], grad),)


class ReLUBackwardOp(dispatch.Op):
    """grad where x > 0, else 0, for inputs (x, grad): ReLU's backward as one fused op.

    The numpy reference is ``where(x > 0, grad, 0)``; the float32 kernel does it in one threaded
    pass without the bool temporary. Its own backward: linear in grad (the same mask), and zero
    almost everywhere in x (the step's derivative), so no gradient flows to x.
    """

    name = "relu_backward"

    def forward(self, x, g):
        # BEGIN SOLUTION 03 relu
        return np.where(x > 0, g, g.dtype.type(0))
        # END SOLUTION

    def native(self, x, g):
        if not _all_f32(x, g) or x.shape != g.shape:
            return None
        return _native().relu_backward(x, g)

    def backward(self, inputs, out, grad):
        x, g = inputs
        return None, dispatch.apply(ReLUBackwardOp(), x, grad) if g.requires_grad else None


class LeakyReLUOp(dispatch.Op):
    """x where x > 0, else negative_slope * x."""

    name = "leaky_relu"

    def __init__(self, negative_slope: float):
        self.negative_slope = negative_slope

    def forward(self, x):
        return np.where(x > 0, x, x * x.dtype.type(self.negative_slope))

    def backward(self, inputs, out, grad):
        return (where(inputs[0] > 0, grad, grad * self.negative_slope),)


class SigmoidOp(dispatch.Op):
    """1 / (1 + e^-x), computed without overflow for large |x|."""

    name = "sigmoid"

    def forward(self, x):
        # BEGIN SOLUTION 03 sigmoid
        z = np.exp(-np.abs(x))  # in (0, 1]: never overflows
        return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)
        # END SOLUTION

    def backward(self, inputs, out, grad):
        # BEGIN SOLUTION 03 sigmoid
        return (grad * out * (1 - out),)
        # END SOLUTION


class TanhOp(dispatch.Op):
    """tanh(x)."""

    name = "tanh"

    def forward(self, x):
        # BEGIN SOLUTION 03 tanh
        return np.tanh(x)
        # END SOLUTION

    def backward(self, inputs, out, grad):
        # BEGIN SOLUTION 03 tanh
        return (grad * (1 - out * out),)
        # END SOLUTION


class LogSigmoidOp(dispatch.Op):
    """log(sigmoid(x)) = min(x, 0) - log(1 + e^-|x|), stable for any x."""

    name = "log_sigmoid"

    def forward(self, x):
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    def backward(self, inputs, out, grad):
        return (grad * sigmoid(-inputs[0]),)  # d/dx log s(x) = 1 - s(x) = s(-x)


class ErfOp(dispatch.Op):
    """The error function erf(x) (numpy has none: Python's math.erf per element, exact but slow)."""

    name = "erf"

    _erf = np.frompyfunc(math.erf, 1, 1)

    def forward(self, x):
        return self._erf(x).astype(x.dtype)

    def native(self, x):
        # A vectorised float32 erf (|error| < 1.5e-7, see csrc/activation.cpp).
        return _native().erf(x) if x.dtype == _F32 else None

    def backward(self, inputs, out, grad):
        x = inputs[0]
        return (grad * (2 / math.sqrt(math.pi)) * exp(-(x * x)),)


class GELUTanhOp(dispatch.Op):
    """GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    name = "gelu_tanh"

    def forward(self, x):
        c = x.dtype.type
        return c(0.5) * x * (1 + np.tanh(c(_SQRT_2_OVER_PI) * (x + c(_GELU_C) * x * x * x)))

    def native(self, x):
        return _native().gelu_tanh(x) if x.dtype == _F32 else None

    def backward(self, inputs, out, grad):
        return (dispatch.apply(GELUTanhBackwardOp(), inputs[0], grad),)


def _gelu_tanh_parts(x):
    """s = sigmoid(2u), 1 - s = sigmoid(-2u) and u' for u = sqrt(2/pi) (x + 0.044715 x^3).

    (1 + tanh u) / 2 = sigmoid(2u) and (1 - tanh^2 u) / 2 = 2 s (1 - s): the same values as the
    tanh forms without their cancellation (1 + tanh u -> 0 for u << 0). Tensors or arrays.
    """
    x2 = x * x
    a = (x + x2 * x * _GELU_C) * (2 * _SQRT_2_OVER_PI)
    if isinstance(x, Tensor):
        s, s1 = sigmoid(a), sigmoid(-a)
    else:
        s, s1 = SigmoidOp().forward(a), SigmoidOp().forward(-a)
    du = (x2 * (3 * _GELU_C) + 1) * _SQRT_2_OVER_PI
    return s, s1, du


class GELUTanhBackwardOp(dispatch.Op):
    """grad * gelu_tanh'(x) for inputs (x, grad): the tanh-GELU's backward as one fused op.

    With t = tanh(u), s = (1 + t) / 2: gelu'(x) = s + 2 x s (1 - s) u'; its own backward (for
    second order) uses gelu''(x) = (1 - t^2) (u' + x (u'' - 2 t u'^2) / 2),
    1 - t^2 = 4 s (1 - s), u'' = 6 * 0.044715 sqrt(2/pi) x.
    """

    name = "gelu_tanh_backward"

    def forward(self, x, g):
        s, s1, du = _gelu_tanh_parts(x)
        return g * (s + x * 2 * s * s1 * du)

    def native(self, x, g):
        if not _all_f32(x, g) or x.shape != g.shape:
            return None
        return _native().gelu_tanh_backward(x, g)

    def backward(self, inputs, out, grad):
        x, g = inputs
        gx = gg = None
        if g.requires_grad:
            gg = dispatch.apply(GELUTanhBackwardOp(), x, grad)
        if x.requires_grad:
            s, s1, du = _gelu_tanh_parts(x)
            ddu = x * (6 * _GELU_C * _SQRT_2_OVER_PI)
            second = s * s1 * 4 * (du + x * 0.5 * (ddu - (s - s1) * du * du * 2))
            gx = grad * g * second
        return gx, gg


class GELUOp(dispatch.Op):
    """Exact GELU: x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).

    The numpy reference calls math.erf per element (exact, slow); the float32 kernel uses a
    vectorised erfc (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
    """

    name = "gelu"

    def forward(self, x):
        return x * 0.5 * (1 + _erf_np(x * x.dtype.type(_INV_SQRT_2)))

    def native(self, x):
        return _native().gelu_erf(x) if x.dtype == _F32 else None

    def backward(self, inputs, out, grad):
        return (dispatch.apply(GELUBackwardOp(), inputs[0], grad),)


class GELUBackwardOp(dispatch.Op):
    """grad * (Phi(x) + x phi(x)) for inputs (x, grad): the exact GELU's backward as one op.

    Its own backward uses gelu''(x) = phi(x) (2 - x^2), phi the standard normal density.
    """

    name = "gelu_backward"

    def forward(self, x, g):
        c = x.dtype.type
        cdf = c(0.5) * (1 + _erf_np(x * c(_INV_SQRT_2)))
        return g * (cdf + x * c(_INV_SQRT_2PI) * np.exp(c(-0.5) * x * x))

    def native(self, x, g):
        if not _all_f32(x, g) or x.shape != g.shape:
            return None
        return _native().gelu_erf_backward(x, g)

    def backward(self, inputs, out, grad):
        x, g = inputs
        gx = gg = None
        if g.requires_grad:
            gg = dispatch.apply(GELUBackwardOp(), x, grad)
        if x.requires_grad:
            x2 = x * x
            gx = grad * g * (exp(x2 * -0.5) * _INV_SQRT_2PI * (2 - x2))
        return gx, gg


class SoftmaxOp(dispatch.Op):
    """e^x / sum(e^x) along an axis, with the row maximum subtracted first (no overflow)."""

    name = "softmax"

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        # BEGIN SOLUTION 03 softmax
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)
        # END SOLUTION

    def native(self, x):
        if x.dtype != _F32 or x.ndim == 0:
            return None
        return _from_rows(_native().softmax(_to_rows(x, self.axis)), x.shape, self.axis)

    def backward(self, inputs, out, grad):
        return (dispatch.apply(SoftmaxBackwardOp(self.axis), out, grad),)


class SoftmaxBackwardOp(dispatch.Op):
    """dx = y * (dy - sum(dy * y)) along an axis, for inputs (y, dy) with y = softmax(x).

    Its own backward (second order): with S = sum(dy * y), d/d(dy) is this op again applied to
    (y, G), and d/dy = G * (dy - S) - dy * sum(G * y).
    """

    name = "softmax_backward"

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, y, dy):
        # BEGIN SOLUTION 03 softmax
        return y * (dy - (dy * y).sum(axis=self.axis, keepdims=True))
        # END SOLUTION

    def native(self, y, dy):
        if not _all_f32(y, dy) or y.shape != dy.shape or y.ndim == 0:
            return None
        a = self.axis
        return _from_rows(_native().softmax_backward(_to_rows(y, a), _to_rows(dy, a)), y.shape, a)

    def backward(self, inputs, out, grad):
        y, dy = inputs
        gy = gdy = None
        if y.requires_grad:
            s = (dy * y).sum(axis=self.axis, keepdims=True)
            gy = grad * (dy - s) - dy * (grad * y).sum(axis=self.axis, keepdims=True)
        if dy.requires_grad:
            gdy = dispatch.apply(SoftmaxBackwardOp(self.axis), y, grad)
        return gy, gdy


class LogSoftmaxOp(dispatch.Op):
    """x - logsumexp(x) along an axis, computed as (x - max) - log(sum(e^(x - max)))."""

    name = "log_softmax"

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        shifted = x - x.max(axis=self.axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))

    def native(self, x):
        if x.dtype != _F32 or x.ndim == 0:
            return None
        return _from_rows(_native().log_softmax(_to_rows(x, self.axis)), x.shape, self.axis)

    def backward(self, inputs, out, grad):
        return (dispatch.apply(LogSoftmaxBackwardOp(self.axis), out, grad),)


class LogSoftmaxBackwardOp(dispatch.Op):
    """dx = dy - exp(y) * sum(dy) along an axis, for inputs (y, dy) with y = log_softmax(x).

    Its own backward: d/d(dy) = G - sum(G * exp(y)), d/dy = -G * exp(y) * sum(dy).
    """

    name = "log_softmax_backward"

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, y, dy):
        return dy - np.exp(y) * dy.sum(axis=self.axis, keepdims=True)

    def native(self, y, dy):
        if not _all_f32(y, dy) or y.shape != dy.shape or y.ndim == 0:
            return None
        a = self.axis
        dx = _native().log_softmax_backward(_to_rows(y, a), _to_rows(dy, a))
        return _from_rows(dx, y.shape, a)

    def backward(self, inputs, out, grad):
        y, dy = inputs
        gy = gdy = None
        p = exp(y)
        if y.requires_grad:
            gy = -(grad * p * dy.sum(axis=self.axis, keepdims=True))
        if dy.requires_grad:
            gdy = grad - (grad * p).sum(axis=self.axis, keepdims=True)
        return gy, gdy


def relu(x) -> Tensor:
    """max(x, 0), elementwise.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> relu(tt.tensor([-1.0, 0.0, 2.0])).tolist()
        [0.0, 0.0, 2.0]
    """
    return dispatch.apply(ReLUOp(), _float_input("relu", x))


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, ``negative_slope * x`` otherwise.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> leaky_relu(tt.tensor([-2.0, 3.0]), 0.5).tolist()
        [-1.0, 3.0]
    """
    return dispatch.apply(LeakyReLUOp(float(negative_slope)), _float_input("leaky_relu", x))


def sigmoid(x) -> Tensor:
    """1 / (1 + e^-x), elementwise, stable for large |x|.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> sigmoid(tt.tensor([0.0])).tolist()
        [0.5]
    """
    return dispatch.apply(SigmoidOp(), _float_input("sigmoid", x))


def tanh(x) -> Tensor:
    """Hyperbolic tangent, elementwise.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> tanh(tt.tensor([0.0])).tolist()
        [0.0]
    """
    return dispatch.apply(TanhOp(), _float_input("tanh", x))


def logsigmoid(x) -> Tensor:
    """log(sigmoid(x)), stable for any x (the building block of BCE-with-logits).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> round(logsigmoid(tt.tensor([0.0])).item(), 4)
        -0.6931
    """
    return dispatch.apply(LogSigmoidOp(), _float_input("logsigmoid", x))


def softplus(x) -> Tensor:
    """log(1 + e^x) = -logsigmoid(-x), stable for any x.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> round(softplus(tt.tensor([0.0])).item(), 4)
        0.6931
    """
    return -logsigmoid(-_float_input("softplus", x))


def erf(x) -> Tensor:
    """The error function, elementwise.

    float32 on the native backend runs a vectorised C++ kernel (absolute error < 1.5e-7);
    otherwise Python's ``math.erf`` per element (exact, slow on big tensors).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> round(erf(tt.tensor([1.0])).item(), 4)
        0.8427
    """
    return dispatch.apply(ErfOp(), _float_input("erf", x))


def gelu(x, approximate: str = "tanh") -> Tensor:
    """Gaussian Error Linear Unit, x * Phi(x).

    ``approximate="tanh"`` (the default here) uses 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))
    and matches PyTorch's ``gelu(x, approximate="tanh")`` (GPT-2 uses it).
    ``approximate="none"`` is the exact x * (1 + erf(x / sqrt 2)) / 2, PyTorch's default. The two
    differ by under 1e-3. On the native backend both run one C++ kernel for float32 (forward
    and backward); the numpy reference of the exact form calls ``math.erf`` per element (exact
    but slow).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> round(gelu(tt.tensor([1.0])).item(), 4)
        0.8412
    """
    x = _float_input("gelu", x)
    if approximate == "tanh":
        return dispatch.apply(GELUTanhOp(), x)
    if approximate == "none":
        return dispatch.apply(GELUOp(), x)
    raise ValueError(f"gelu: approximate must be 'tanh' or 'none', got {approximate!r}")


def silu(x) -> Tensor:
    """x * sigmoid(x) (also called swish).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> silu(tt.tensor([0.0])).tolist()
        [0.0]
    """
    x = _float_input("silu", x)
    return x * sigmoid(x)


def softmax(x, dim: int = -1) -> Tensor:
    """e^x / sum(e^x) along ``dim`` (the max is subtracted first, so large inputs do not overflow).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> softmax(tt.tensor([[0.0, 0.0]]), dim=1).tolist()
        [[0.5, 0.5]]
    """
    x = _float_input("softmax", x)
    return dispatch.apply(SoftmaxOp(normalize_axis("softmax", dim, max(x.ndim, 1))), x)


def log_softmax(x, dim: int = -1) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably as (x - max) - log(sum(e^(x - max))).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> [round(v, 4) for v in log_softmax(tt.tensor([0.0, 0.0])).tolist()]
        [-0.6931, -0.6931]
    """
    x = _float_input("log_softmax", x)
    return dispatch.apply(LogSoftmaxOp(normalize_axis("log_softmax", dim, max(x.ndim, 1))), x)


__all__ = [
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "logsigmoid",
    "softplus",
    "erf",
    "gelu",
    "silu",
    "softmax",
    "log_softmax",
    "ReLUOp",
    "LeakyReLUOp",
    "SigmoidOp",
    "TanhOp",
    "LogSigmoidOp",
    "ErfOp",
    "GELUTanhOp",
    "GELUTanhBackwardOp",
    "GELUOp",
    "GELUBackwardOp",
    "SoftmaxOp",
    "SoftmaxBackwardOp",
    "LogSoftmaxOp",
    "LogSoftmaxBackwardOp",
]
