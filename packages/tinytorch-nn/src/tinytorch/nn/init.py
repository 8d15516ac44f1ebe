"""Weight initialisers: fill a tensor in place with values suited to training it.

Why it matters: a layer's output variance is roughly ``fan_in * var(w) * var(x)``.
Xavier (Glorot) keeps the variance of activations and of gradients about equal
across layers for tanh/linear nets (``var(w) = 2 / (fan_in + fan_out)``); Kaiming
(He) compensates for ReLU zeroing half of its inputs (``var(w) = 2 / fan_in``).

Every function writes into ``tensor.data`` in place (no graph is recorded),
returns the tensor, and draws from `tinytorch.tensor`'s default generator
(seed it with `tinytorch.tensor.manual_seed`) unless given ``generator=``.

Examples:
    >>> import tinytorch.tensor as tt
    >>> from tinytorch.nn import init, Linear
    >>> _ = tt.manual_seed(0)
    >>> layer = Linear(256, 128)
    >>> _ = init.kaiming_normal_(layer.weight, nonlinearity="relu")
    >>> round(float(layer.weight.data.std() * 16), 1)   # std ~ sqrt(2 / 256)
    1.4
"""

from __future__ import annotations

import math

import numpy as np
from tinytorch.tensor import Tensor
from tinytorch.tensor.random import resolve


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which ``nonlinearity`` changes the standard deviation, to scale initial weights by.

    linear / conv / sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu with slope ``param``
    (default 0.01): sqrt(2 / (1 + param^2)); selu: 3/4 (the values PyTorch uses).

    Examples:
        >>> round(calculate_gain("relu"), 4)
        1.4142
    """
    linear = {
        "linear",
        "identity",
        "conv1d",
        "conv2d",
        "conv3d",
        "sigmoid",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
    }
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of linear, conv2d, "
        "sigmoid, tanh, relu, leaky_relu, selu"
    )


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel): in * prod(kernel), out * prod(kernel).

    A Linear weight (out_features, in_features) has fan_in = in_features; a Conv2d weight
    (out_channels, in_channels, kh, kw) has fan_in = in_channels * kh * kw.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> calculate_fan_in_and_fan_out(tt.zeros(16, 3, 5, 5))
        (75, 400)
    """
    # BEGIN SOLUTION 04 init
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out need a tensor with at least 2 dimensions, got shape {tuple(tensor.shape)}"
        )
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive
    # END SOLUTION


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, values) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init: expected a Tensor, got {type(tensor).__name__}")
    tensor.data[...] = values
    return tensor


def _float_check(name: str, tensor: Tensor) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point tensor, got {tensor.dtype}")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with values drawn uniformly from [a, b).

    Example: ``uniform_(layer.bias, -0.1, 0.1)``.
    """
    _float_check("uniform_", tensor)
    if not a <= b:
        raise ValueError(f"uniform_: a ({a}) must not exceed b ({b})")
    return _fill(tensor, resolve(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with values drawn from N(mean, std^2).

    Example: ``normal_(embedding.weight, std=0.02)``.
    """
    _float_check("normal_", tensor)
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill(tensor, resolve(generator).normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``. Example: ``constant_(layer.bias, 0.1)``."""
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros. Example: ``zeros_(layer.bias)``."""
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones. Example: ``ones_(norm.weight)``."""
    return _fill(tensor, 1)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    Example: ``xavier_uniform_(layer.weight, gain=calculate_gain("tanh"))``.
    """
    _float_check("xavier_uniform_", tensor)
    # BEGIN SOLUTION 04 init
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, resolve(generator).uniform(-bound, bound, tensor.shape))
    # END SOLUTION


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).

    Example: ``xavier_normal_(layer.weight)``.
    """
    _float_check("xavier_normal_", tensor)
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, resolve(generator).normal(0.0, std, tensor.shape))


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator=None,
) -> Tensor:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan), gain from `calculate_gain(nonlinearity, a)`.

    ``mode="fan_in"`` preserves the forward pass's variance, ``"fan_out"`` the backward's.
    ``a`` is the negative slope of a leaky ReLU; ``a=sqrt(5)`` gives PyTorch's default
    Linear/Conv init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    Example: ``kaiming_uniform_(layer.weight, nonlinearity="relu")``.
    """
    _float_check("kaiming_uniform_", tensor)
    # BEGIN SOLUTION 04 init
    fan = _fan(tensor, mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan) if fan else 0.0
    return _fill(tensor, resolve(generator).uniform(-bound, bound, tensor.shape))
    # END SOLUTION


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator=None,
) -> Tensor:
    """He normal: N(0, std^2) with std = gain / sqrt(fan).

    Example: ``kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")``.
    """
    _float_check("kaiming_normal_", tensor)
    fan = _fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan) if fan else 0.0
    return _fill(tensor, resolve(generator).normal(0.0, std, tensor.shape))


__all__ = [
    "calculate_gain",
    "calculate_fan_in_and_fan_out",
    "uniform_",
    "normal_",
    "constant_",
    "zeros_",
    "ones_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]
