"""`Linear` (y = x W^T + b) and `Dense`, its seed-compatible form that also flattens (N, C, H, W) inputs."""

from __future__ import annotations

import math

from tinytorch.tensor import Tensor, empty
from tinytorch.tensor.ops._util import as_tensor

from . import functional as F
from . import init
from ._checks import positive_int
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """A fully connected layer: ``y = x @ weight.T + bias`` over the last dimension of x.

    ``weight`` has shape (out_features, in_features), as in PyTorch, so weights copy across
    directly. Initialisation is PyTorch's: weight ~ kaiming_uniform(a=sqrt(5)), i.e.
    U(-1/sqrt(in_features), 1/sqrt(in_features)), and the bias from the same range.
    Inputs of shape (..., in_features) keep their leading dimensions.

    Args:
        in_features: size of each input sample's last dimension.
        out_features: size of each output sample's last dimension.
        bias: learn an additive bias (default True).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> layer = Linear(4, 3)
        >>> layer(tt.randn(2, 4)).shape
        (2, 3)
        >>> layer
        Linear(in_features=4, out_features=3, bias=True)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.in_features = positive_int(name, "in_features", in_features)
        self.out_features = positive_int(name, "out_features", out_features)
        if not isinstance(bias, bool):
            raise TypeError(f"{name}: bias must be True or False, got {bias!r}")
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weights and bias with the default (PyTorch) initialisation."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def _shape_error(self, x: Tensor) -> ValueError:
        got = x.shape[-1] if x.ndim else "no"
        return ValueError(
            f"{self._short_repr()}: input has {got} features in its last dimension, "
            f"expected {self.in_features} (input shape {tuple(x.shape)})"
        )

    def forward(self, x) -> Tensor:
        x = as_tensor(x, type(self).__name__)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise self._shape_error(x)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Dense(Linear):
    """`Linear` that also accepts the seed's inputs: (N, C, H, W) straight from a conv layer.

    When the last dimension is not ``in_features`` but the sizes after the batch
    dimension multiply to it (C * H * W == in_features), the input is flattened to
    (N, C * H * W) first, so the seed's ``Dense(64 * 28 * 28, 128)`` can follow a
    Conv2D without a Flatten layer. Otherwise it is exactly `Linear`. ``use_bias`` is
    accepted as the seed's name for ``bias``.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> Dense(8 * 4 * 4, 10)(tt.randn(2, 8, 4, 4)).shape
        (2, 10)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype=None,
        use_bias: bool | None = None,
    ):
        super().__init__(in_features, out_features, bias if use_bias is None else use_bias, dtype)

    def forward(self, x) -> Tensor:
        x = as_tensor(x, "Dense")
        # BEGIN SOLUTION 04 dense
        if x.ndim > 2 and x.shape[-1] != self.in_features:
            trailing = math.prod(x.shape[1:])
            if trailing == self.in_features:
                x = x.reshape(x.shape[0], trailing)
            else:
                raise ValueError(
                    f"{self._short_repr()}: input of shape {tuple(x.shape)} has neither "
                    f"{self.in_features} features in its last dimension nor {self.in_features} "
                    f"values per sample after the batch dimension (it has {trailing})"
                )
        # END SOLUTION
        return super().forward(x)


__all__ = ["Linear", "Dense"]
