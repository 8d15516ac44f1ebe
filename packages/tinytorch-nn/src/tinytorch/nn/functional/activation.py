"""Activation functions as fused ops: one numpy pass forward, a backward written with tensor ops.

Each activation is a `tinytorch.tensor.dispatch.Op` with a numerically stable
numpy ``forward`` and a ``backward(inputs, out, grad)`` that `tinytorch-autograd`
calls. The backward rules use tensor ops (and these ops), so gradients of
gradients work too. Many use the *output* rather than the input:
sigmoid' = s (1 - s), tanh' = 1 - t^2, softmax's Jacobian-vector product
``s * (g - sum(g * s))``: the forward result is saved anyway.
"""

from __future__ import annotations

import math

import numpy as np
from tinytorch.tensor import Tensor, dispatch, exp, where
from tinytorch.tensor.ops._util import as_tensor, normalize_axis

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


def _float_input(name: str, x) -> Tensor:
    x = as_tensor(x, name)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point tensor, got {x.dtype}")
    return x


class ReLUOp(dispatch.Op):
    """max(x, 0); its gradient is 1 where x > 0 and 0 elsewhere (0 at x == 0, as PyTorch)."""

    name = "relu"

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, inputs, out, grad):
        return (where(inputs[0] > 0, grad, 0.0),)


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
        z = np.exp(-np.abs(x))  # in (0, 1]: never overflows
        return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)

    def backward(self, inputs, out, grad):
        return (grad * out * (1 - out),)


class TanhOp(dispatch.Op):
    """tanh(x)."""

    name = "tanh"

    def forward(self, x):
        return np.tanh(x)

    def backward(self, inputs, out, grad):
        return (grad * (1 - out * out),)


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

    def backward(self, inputs, out, grad):
        x = inputs[0]
        return (grad * (2 / math.sqrt(math.pi)) * exp(-(x * x)),)


class GELUTanhOp(dispatch.Op):
    """GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    name = "gelu_tanh"

    def forward(self, x):
        c = x.dtype.type
        return c(0.5) * x * (1 + np.tanh(c(_SQRT_2_OVER_PI) * (x + c(_GELU_C) * x * x * x)))

    def backward(self, inputs, out, grad):
        x = inputs[0]
        x2 = x * x
        t = tanh((x + x2 * x * _GELU_C) * _SQRT_2_OVER_PI)
        du = (x2 * (3 * _GELU_C) + 1) * _SQRT_2_OVER_PI
        return (grad * ((t + 1) * 0.5 + x * 0.5 * (1 - t * t) * du),)


class SoftmaxOp(dispatch.Op):
    """e^x / sum(e^x) along an axis, with the row maximum subtracted first (no overflow)."""

    name = "softmax"

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, inputs, out, grad):
        return (out * (grad - (grad * out).sum(axis=self.axis, keepdims=True)),)


class LogSoftmaxOp(dispatch.Op):
    """x - logsumexp(x) along an axis, computed as (x - max) - log(sum(e^(x - max)))."""

    name = "log_softmax"

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        shifted = x - x.max(axis=self.axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, inputs, out, grad):
        return (grad - exp(out) * grad.sum(axis=self.axis, keepdims=True),)


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
    """The error function, elementwise (exact, via Python's ``math.erf``; slow on big tensors).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> round(erf(tt.tensor([1.0])).item(), 4)
        0.8427
    """
    return dispatch.apply(ErfOp(), _float_input("erf", x))


def gelu(x, approximate: str = "tanh") -> Tensor:
    """Gaussian Error Linear Unit, x * Phi(x).

    ``approximate="tanh"`` (the default here) uses 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))),
    one fast numpy pass, and matches PyTorch's ``gelu(x, approximate="tanh")`` (GPT-2 uses it).
    ``approximate="none"`` is the exact x * (1 + erf(x / sqrt 2)) / 2, PyTorch's default; numpy has
    no erf, so it runs Python's ``math.erf`` element by element (correct but slow). The two
    differ by under 1e-3.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> round(gelu(tt.tensor([1.0])).item(), 4)
        0.8412
    """
    x = _float_input("gelu", x)
    if approximate == "tanh":
        return dispatch.apply(GELUTanhOp(), x)
    if approximate == "none":
        return x * 0.5 * (erf(x * (1 / math.sqrt(2.0))) + 1)
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
    "SoftmaxOp",
    "LogSoftmaxOp",
]
