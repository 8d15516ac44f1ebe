"""Pooling layers: shrink feature maps by summarising each window (max or mean). No parameters.

Pooling trades resolution for reach: after a 2x2 max pool every later 3x3 conv
sees a 6x6 region of the pooled input, and the next layer costs 4x less.
Global average pooling collapses each channel to one number, so a CNN's
classifier head does not depend on the image size.
"""

from __future__ import annotations

from tinytorch.tensor import Tensor

from .functional.conv import _pair, adaptive_avg_pool2d, avg_pool2d, global_avg_pool2d, max_pool2d
from .module import Module


def _show(pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else str(pair)


def _check(layer: Module, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer._short_repr()}: expected a Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(
            f"{layer._short_repr()}: expected input of shape (N, C, H, W), got shape {x.shape}"
        )


class _Pool2d(Module):
    def __init__(self, name: str, kernel_size, stride, padding):
        super().__init__()
        self.kernel_size = _pair(name, "kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else _pair(name, "stride", stride, 1)
        self.padding = _pair(name, "padding", padding, 0)
        if self.padding[0] > self.kernel_size[0] // 2 or self.padding[1] > self.kernel_size[1] // 2:
            raise ValueError(
                f"{name}: padding {padding} must be at most half the kernel size {kernel_size}"
            )

    def extra_repr(self) -> str:
        parts = [f"kernel_size={_show(self.kernel_size)}"]
        if self.stride != self.kernel_size:
            parts.append(f"stride={_show(self.stride)}")
        if self.padding != (0, 0):
            parts.append(f"padding={_show(self.padding)}")
        return ", ".join(parts)


class MaxPool2d(_Pool2d):
    """Largest value in each window: (N, C, H, W) -> (N, C, OH, OW).

    Args:
        kernel_size: window height and width (int or pair).
        stride: step between windows (default: the kernel size, so windows do not overlap).
        padding: -inf padding on each side (at most half the kernel).

    The gradient goes only to each window's maximum (the first one on ties, as PyTorch).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> MaxPool2d(2)(tt.randn(8, 16, 32, 32)).shape
        (8, 16, 16, 16)
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__("MaxPool2d", kernel_size, stride, padding)

    def forward(self, x: Tensor) -> Tensor:
        """Max-pool ``x`` (N, C, H, W)."""
        _check(self, x)
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """Mean of each window: (N, C, H, W) -> (N, C, OH, OW).

    Args:
        kernel_size: window height and width (int or pair).
        stride: step between windows (default: the kernel size).
        padding: zero padding on each side (at most half the kernel).
        count_include_pad: divide by the full window size even where it covers padding
            (PyTorch's default) instead of by the number of real pixels.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> AvgPool2d(2)(tt.ones(1, 3, 4, 4))[0, 0].tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad: bool = True):
        super().__init__("AvgPool2d", kernel_size, stride, padding)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x: Tensor) -> Tensor:
        """Average-pool ``x`` (N, C, H, W)."""
        _check(self, x)
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def extra_repr(self) -> str:
        extra = super().extra_repr()
        return extra if self.count_include_pad else extra + ", count_include_pad=False"


class GlobalAvgPool2d(Module):
    """Mean over each whole channel: (N, C, H, W) -> (N, C), or (N, C, 1, 1) with ``keepdims=True``.

    The usual bridge from a CNN's feature maps to its classifier, whatever the image size.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> GlobalAvgPool2d()(tt.randn(8, 64, 7, 7)).shape
        (8, 64)
    """

    def __init__(self, keepdims: bool = False):
        super().__init__()
        self.keepdims = bool(keepdims)

    def forward(self, x: Tensor) -> Tensor:
        """Average ``x`` (N, C, H, W) over H and W."""
        _check(self, x)
        return global_avg_pool2d(x, self.keepdims)

    def extra_repr(self) -> str:
        return "keepdims=True" if self.keepdims else ""


class AdaptiveAvgPool2d(Module):
    """Average-pool to a fixed output size (OH, OW), whatever the input's H and W (as PyTorch).

    ``AdaptiveAvgPool2d(1)`` is global average pooling that keeps the (N, C, 1, 1) shape.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> AdaptiveAvgPool2d((2, 2))(tt.randn(1, 8, 9, 9)).shape
        (1, 8, 2, 2)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = _pair("AdaptiveAvgPool2d", "output_size", output_size, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Pool ``x`` (N, C, H, W) to (N, C, OH, OW)."""
        _check(self, x)
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={_show(self.output_size)}"


__all__ = ["MaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "AdaptiveAvgPool2d"]
