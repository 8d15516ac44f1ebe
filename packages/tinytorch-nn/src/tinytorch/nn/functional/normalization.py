"""Normalisation: `batch_norm` (statistics over the batch) and `layer_norm` (over each sample's features).

Both compute ``(x - mean) / sqrt(var + eps)`` with tensor ops (so autograd derives
the well-known BatchNorm backward by itself), then an optional affine ``* weight + bias``.
The variance used to normalise is the biased one (divide by n), as in PyTorch;
BatchNorm's running variance tracks the unbiased one (n - 1).
"""

from __future__ import annotations

import numpy as np
from tinytorch.tensor import Tensor
from tinytorch.tensor.ops._util import as_tensor


def batch_norm(
    x,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
    num_batches_tracked: Tensor | None = None,
) -> Tensor:
    """Normalise each channel (dim 1) of ``x`` (N, C, ...) over the batch and every other dim.

    Training (or no running statistics): use this batch's mean and biased variance, and
    update ``running_mean`` / ``running_var`` in place:
    ``running = (1 - momentum) * running + momentum * batch_stat`` (unbiased variance); with
    ``momentum=None`` a cumulative average over ``num_batches_tracked`` batches.
    Evaluation: use the running statistics.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> x = tt.tensor([[1.0], [3.0]])
        >>> rm, rv = tt.zeros(1), tt.ones(1)
        >>> [round(v, 3) for v in batch_norm(x, rm, rv, training=True).reshape(-1).tolist()]
        [-1.0, 1.0]
        >>> round(rm.item(), 4), round(rv.item(), 4)   # 0.9 * 0 + 0.1 * 2, 0.9 * 1 + 0.1 * 2 (unbiased)
        (0.2, 1.1)
    """
    x = as_tensor(x, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    if training or running_mean is None or running_var is None:
        n = x.size // c
        if training and n <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input shape {x.shape}"
            )
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True, correction=0)
        if training and running_mean is not None and running_var is not None:
            if num_batches_tracked is not None:
                num_batches_tracked.data[...] += 1
            if momentum is None:
                factor = (
                    1.0 / float(num_batches_tracked.data)
                    if num_batches_tracked is not None
                    else 0.0
                )
            else:
                factor = momentum
            batch_mean = mean.data.reshape(c)
            batch_var = var.data.reshape(c) * (n / (n - 1))
            running_mean.data[...] = (1 - factor) * running_mean.data + factor * batch_mean
            running_var.data[...] = (1 - factor) * running_var.data + factor * batch_var
    else:
        mean = Tensor._wrap(running_mean.data.reshape(shape).astype(x.dtype, copy=False))
        var = Tensor._wrap(running_var.data.reshape(shape).astype(x.dtype, copy=False))
    y = (x - mean) / (var + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def layer_norm(
    x, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims of ``x`` (each sample on its own).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> y = layer_norm(tt.tensor([[1.0, 2.0, 3.0]]), (3,))
        >>> [round(v, 3) for v in y.reshape(-1).tolist()]
        [-1.225, 0.0, 1.225]
    """
    x = as_tensor(x, "layer_norm")
    normalized_shape = (
        (normalized_shape,)
        if isinstance(normalized_shape, (int, np.integer))
        else tuple(normalized_shape)
    )
    k = len(normalized_shape)
    if x.ndim < k or tuple(x.shape[x.ndim - k :]) != normalized_shape:
        raise ValueError(
            f"layer_norm: input of shape {x.shape} does not end with normalized_shape {normalized_shape}"
        )
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, correction=0)
    y = (x - mean) / (var + eps).sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


__all__ = ["batch_norm", "layer_norm"]
