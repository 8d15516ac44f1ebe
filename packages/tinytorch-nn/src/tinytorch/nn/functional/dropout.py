"""`dropout`: zero random elements while training, and scale the rest so the expectation is unchanged."""

from __future__ import annotations

from tinytorch.tensor import Tensor
from tinytorch.tensor.ops._util import as_tensor
from tinytorch.tensor.random import resolve


def dropout(x, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Inverted dropout: each element is zeroed with probability ``p``, survivors are scaled by 1/(1-p).

    The scaling happens at training time, so evaluation (``training=False``) is the identity.
    Random numbers come from ``generator`` or tinytorch.tensor's default (`manual_seed`).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> y = dropout(tt.ones(1000), p=0.5)
        >>> sorted(set(y.tolist()))
        [0.0, 2.0]
    """
    x = as_tensor(x, "dropout")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return x
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: expected a floating-point tensor, got {x.dtype}")
    if p == 1.0:
        return x * 0.0
    keep = resolve(generator).random(x.shape) >= p
    scale = (keep / (1.0 - p)).astype(x.dtype)
    return x * Tensor._wrap(scale)


__all__ = ["dropout"]
