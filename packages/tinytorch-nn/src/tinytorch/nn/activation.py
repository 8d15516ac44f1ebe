"""Activation layers: thin modules over `tinytorch.nn.functional`'s activation functions."""

from __future__ import annotations

from . import functional as F
from .module import Module


class ReLU(Module):
    """max(x, 0), elementwise.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> ReLU()(tt.tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x for x > 0, else ``negative_slope * x``.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> LeakyReLU(0.1)(tt.tensor([-10.0, 2.0])).tolist()
        [-1.0, 2.0]
    """

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
            raise TypeError(f"LeakyReLU: negative_slope must be a number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + e^-x), stable for large |x|.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> Sigmoid()(tt.tensor([0.0])).tolist()
        [0.5]
    """

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """Hyperbolic tangent.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> Tanh()(tt.tensor([0.0])).tolist()
        [0.0]
    """

    def forward(self, x):
        return F.tanh(x)


class GELU(Module):
    """Gaussian Error Linear Unit. ``approximate="tanh"`` (default here) or ``"none"`` (exact erf).

    The default differs from PyTorch's (``"none"``): numpy has no erf, so the exact form runs
    Python's ``math.erf`` per element and is slow. ``GELU()`` equals PyTorch's
    ``GELU(approximate="tanh")``; the two forms differ by under 1e-3.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> round(GELU()(tt.tensor([1.0])).item(), 4)
        0.8412
    """

    def __init__(self, approximate: str = "tanh"):
        super().__init__()
        if approximate not in ("tanh", "none"):
            raise ValueError(f"GELU: approximate must be 'tanh' or 'none', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x * sigmoid(x) (swish).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> SiLU()(tt.tensor([0.0])).tolist()
        [0.0]
    """

    def forward(self, x):
        return F.silu(x)


def _dim(name: str, dim) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{name}: dim must be an int, got {dim!r}")
    return dim


class Softmax(Module):
    """e^x / sum(e^x) along ``dim`` (default -1, the last; PyTorch requires you to say).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> Softmax(dim=1)(tt.tensor([[1.0, 1.0]])).tolist()
        [[0.5, 0.5]]
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = _dim("Softmax", dim)

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim``, computed stably.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> [round(v, 4) for v in LogSoftmax()(tt.tensor([0.0, 0.0])).tolist()]
        [-0.6931, -0.6931]
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = _dim("LogSoftmax", dim)

    def forward(self, x):
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Identity(Module):
    """Returns its input unchanged (a placeholder layer).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> Identity()(tt.tensor([1.0])).tolist()
        [1.0]
    """

    def forward(self, x):
        return x


__all__ = [
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "GELU",
    "SiLU",
    "Softmax",
    "LogSoftmax",
    "Identity",
]
