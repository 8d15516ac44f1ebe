"""`linear`: y = x W^T + b over the last dimension of x."""

from __future__ import annotations

from tinytorch.tensor import Tensor
from tinytorch.tensor.ops._util import as_tensor


def linear(x, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias``: x is (..., in_features), weight (out_features, in_features), bias (out_features,).

    Leading dimensions are folded into one, so a (B, L, in) input costs one GEMM.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> linear(tt.ones(2, 3), tt.ones(4, 3), tt.zeros(4)).tolist()[0]
        [3.0, 3.0, 3.0, 3.0]
    """
    x = as_tensor(x, "linear")
    if weight.ndim != 2:
        raise ValueError(
            f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}"
        )
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 'no'} features in its "
            f"last dimension, the weight of shape {weight.shape} expects {weight.shape[1]}"
        )
    if x.ndim > 2:
        lead = x.shape[:-1]
        y = x.reshape(-1, x.shape[-1]) @ weight.T
        if bias is not None:
            y = y + bias
        return y.reshape(*lead, weight.shape[0])
    y = x @ weight.T
    return y if bias is None else y + bias


__all__ = ["linear"]
