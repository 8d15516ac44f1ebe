"""`Conv2d`: a learned 2-D convolution over NCHW images (one fused conv op).

Each of ``out_channels`` filters is a (in_channels, kh, kw) block of weights that
slides over the image; at every position it takes a dot product with the patch
under it. Weight sharing is why convolutions need so few parameters: a 3x3 conv
from 64 to 64 channels has 36,928 parameters whatever the image size, where a
dense layer on a 32x32x64 image would need 4 billion.

The work is `tinytorch.nn.functional.conv.conv2d`, one fused op: conceptually im2col
copies each patch into a column and one GEMM per image computes every filter at every
position; the native kernel does that without ever building the column matrix.
"""

from __future__ import annotations

import math

import numpy as np
from tinytorch.tensor import Tensor

from . import init
from ._checks import positive_int
from .functional.conv import _pair, conv2d
from .module import Module
from .parameter import Parameter


def _show(pair: tuple[int, int]) -> str:
    """A square pair as one int (``3``), else the pair (``(3, 5)``), as users write them."""
    return str(pair[0]) if pair[0] == pair[1] else str(pair)


class Conv2d(Module):
    """2-D convolution: (N, C_in, H, W) -> (N, C_out, OH, OW).

    OH = floor((H + 2p - d(k-1) - 1) / s) + 1, and OW likewise.

    Args:
        in_channels: channels of the input (3 for RGB images).
        out_channels: number of filters, the channels of the output.
        kernel_size: filter height and width (an int or a pair).
        stride: step between filter positions (int or pair; default 1).
        padding: zeros added on each side (int, pair, ``"same"`` for stride 1 and an odd
            effective kernel, or ``"valid"`` for none).
        dilation: spacing between kernel taps (default 1).
        bias: learn one bias per output channel (default True).

    Attributes:
        weight: (out_channels, in_channels, kh, kw), initialised as PyTorch does
            (kaiming uniform with a = sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
        bias: (out_channels,), U(-1/sqrt(fan_in), 1/sqrt(fan_in)), or None.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> conv = Conv2d(3, 16, kernel_size=3, padding=1)
        >>> conv(tt.randn(8, 3, 32, 32)).shape
        (8, 16, 32, 32)
        >>> conv.weight.shape
        (16, 3, 3, 3)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        bias: bool = True,
    ):
        super().__init__()
        name = "Conv2d"
        self.in_channels = positive_int(name, "in_channels", in_channels)
        self.out_channels = positive_int(name, "out_channels", out_channels)
        self.kernel_size = _pair(name, "kernel_size", kernel_size, 1)
        self.stride = _pair(name, "stride", stride, 1)
        self.dilation = _pair(name, "dilation", dilation, 1)
        self.padding = self._resolve_padding(padding)
        kh, kw = self.kernel_size
        self.weight = Parameter(
            np.empty((self.out_channels, self.in_channels, kh, kw), dtype=np.float32)
        )
        if bias:
            self.bias = Parameter(np.empty((self.out_channels,), dtype=np.float32))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _resolve_padding(self, padding) -> tuple[int, int]:
        if isinstance(padding, str):
            if padding == "valid":
                return (0, 0)
            if padding != "same":
                raise ValueError(
                    f"Conv2d: padding must be an int, a pair, 'same' or 'valid', got {padding!r}"
                )
            if self.stride != (1, 1):
                raise ValueError(f"Conv2d: padding='same' needs stride 1, got stride {self.stride}")
            spans = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation, strict=True)]
            if any(s % 2 for s in spans):
                raise ValueError(
                    f"Conv2d: padding='same' needs an odd kernel (with dilation), got kernel_size "
                    f"{self.kernel_size} and dilation {self.dilation}; pad explicitly instead"
                )
            return (spans[0] // 2, spans[1] // 2)
        return _pair("Conv2d", "padding", padding, 0)

    def reset_parameters(self) -> None:
        """Re-draw the weights and bias with PyTorch's default Conv2d initialisation."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
            bound = 1.0 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        """Convolve ``x`` (N, C_in, H, W); returns (N, C_out, OH, OW)."""
        if not isinstance(x, Tensor):
            raise TypeError(f"{self._short_repr()}: expected a Tensor, got {type(x).__name__}")
        if x.ndim != 4:
            raise ValueError(
                f"{self._short_repr()}: expected input of shape (N, {self.in_channels}, H, W), "
                f"got shape {x.shape}"
            )
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self._short_repr()}: expected input with {self.in_channels} channels, "
                f"got shape {x.shape}"
            )
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The output shape for an input of ``input_shape`` (N, C, H, W), without running the layer.

        Examples:
            >>> Conv2d(3, 64, 3).output_shape((1, 3, 32, 32))
            (1, 64, 30, 30)
        """
        from .functional.conv import conv_output_size

        n, _, h, w = input_shape
        oh, ow = (
            conv_output_size(size, k, s, p, d)
            for size, k, s, p, d in zip(
                (h, w), self.kernel_size, self.stride, self.padding, self.dilation, strict=True
            )
        )
        return (n, self.out_channels, oh, ow)

    def extra_repr(self) -> str:
        parts = [
            f"{self.in_channels}, {self.out_channels}",
            f"kernel_size={_show(self.kernel_size)}",
        ]
        if self.stride != (1, 1):
            parts.append(f"stride={_show(self.stride)}")
        if self.padding != (0, 0):
            parts.append(f"padding={_show(self.padding)}")
        if self.dilation != (1, 1):
            parts.append(f"dilation={_show(self.dilation)}")
        if self.bias is None:
            parts.append("bias=False")
        return ", ".join(parts)


#: The seed's name: ``Conv2D(3, 32, kernel_size=3)`` is the same layer.
Conv2D = Conv2d

__all__ = ["Conv2d", "Conv2D"]
