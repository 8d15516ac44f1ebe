"""The seed's ``tinytorch.core.layers``: `Dense` (a `Linear` that flattens NCHW input), ...

The seed writes ``Dense(64 * 28 * 28, 128)`` right after a Conv2D, without a Flatten:
`tinytorch.nn.Dense` accepts an (N, C, H, W) input whose C * H * W matches ``in_features``.

Examples:
    >>> from tinytorch.core.tensor import randn
    >>> from tinytorch.core.layers import Dense
    >>> Dense(784, 10)(randn(32, 784)).shape
    (32, 10)
"""

from tinytorch.nn import (
    Dense,
    Dropout,
    Embedding,
    Flatten,
    LayerNorm,
    Linear,
    Module,
    Parameter,
    Sequential,
)
from tinytorch.tensor import matmul

__all__ = [
    "Dense",
    "Linear",
    "Module",
    "Parameter",
    "Flatten",
    "Dropout",
    "Embedding",
    "LayerNorm",
    "Sequential",
    "matmul",
]
