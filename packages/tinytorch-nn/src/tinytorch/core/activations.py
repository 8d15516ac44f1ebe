"""The seed's ``tinytorch.core.activations``: `tinytorch.nn`'s activation layers and functions.

Examples:
    >>> from tinytorch.core.tensor import Tensor
    >>> from tinytorch.core.activations import ReLU
    >>> ReLU()(Tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
"""

from tinytorch.nn.activation import (
    GELU,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from tinytorch.nn.functional import (
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    tanh,
)

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
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "gelu",
    "silu",
    "softmax",
    "log_softmax",
]
