"""The seed's ``tinytorch.core.spatial``: `Conv2D`, pooling, `Flatten` / `flatten`.

``Conv2D`` is `tinytorch.nn.Conv2d`; ``MaxPool2D`` and ``AvgPool2D`` also take the seed's
``pool_size`` argument (``MaxPool2D(pool_size=(2, 2))``).

Examples:
    >>> from tinytorch.core.tensor import randn
    >>> from tinytorch.core.spatial import Conv2D, MaxPool2D, flatten
    >>> x = MaxPool2D(2)(Conv2D(3, 8, kernel_size=3, padding=1)(randn(2, 3, 32, 32)))
    >>> flatten(x).shape
    (2, 2048)
"""

from tinytorch.nn import BatchNorm2d, Flatten
from tinytorch.nn.conv import Conv2D, Conv2d
from tinytorch.nn.functional.conv import (
    adaptive_avg_pool2d,
    avg_pool2d,
    col2im,
    conv2d,
    global_avg_pool2d,
    im2col,
    max_pool2d,
)
from tinytorch.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, GlobalAvgPool2d, MaxPool2d
from tinytorch.tensor.ops._util import as_tensor


class MaxPool2D(MaxPool2d):
    """`tinytorch.nn.MaxPool2d` under the seed's name, taking the seed's ``pool_size`` (default 2).

    Examples:
        >>> MaxPool2D(pool_size=(2, 2))
        MaxPool2D(kernel_size=2)
    """

    def __init__(self, pool_size=2, stride=None, padding=0, *, kernel_size=None):
        super().__init__(pool_size if kernel_size is None else kernel_size, stride, padding)


class AvgPool2D(AvgPool2d):
    """`tinytorch.nn.AvgPool2d` under the seed's name, taking the seed's ``pool_size`` (default 2).

    Examples:
        >>> AvgPool2D(2)
        AvgPool2D(kernel_size=2)
    """

    def __init__(
        self, pool_size=2, stride=None, padding=0, *, kernel_size=None, count_include_pad=True
    ):
        super().__init__(
            pool_size if kernel_size is None else kernel_size, stride, padding, count_include_pad
        )


def flatten(x, start_dim: int = 1):
    """The seed's ``flatten``: (N, C, H, W) -> (N, C*H*W), keeping the batch dimension.

    Examples:
        >>> from tinytorch.core.tensor import zeros
        >>> flatten(zeros(2, 3, 4, 4)).shape
        (2, 48)
    """
    return as_tensor(x, "flatten").flatten(start_dim)


GlobalAvgPool2D = GlobalAvgPool2d

__all__ = [
    "Conv2D",
    "Conv2d",
    "MaxPool2D",
    "MaxPool2d",
    "AvgPool2D",
    "AvgPool2d",
    "GlobalAvgPool2D",
    "GlobalAvgPool2d",
    "AdaptiveAvgPool2d",
    "Flatten",
    "flatten",
    "BatchNorm2d",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool2d",
    "adaptive_avg_pool2d",
    "im2col",
    "col2im",
]
