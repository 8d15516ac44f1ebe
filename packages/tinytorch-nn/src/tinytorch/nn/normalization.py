"""Normalisation layers: `BatchNorm1d`, `BatchNorm2d` (running statistics) and `LayerNorm`."""

from __future__ import annotations

import numpy as np
from tinytorch.tensor import Tensor, ones, zeros
from tinytorch.tensor.ops._util import as_tensor

from . import functional as F
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    _ndims: tuple[int, ...] = ()
    _layout = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype=None,
    ):
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features <= 0:
            raise ValueError(f"{name}: num_features must be a positive int, got {num_features!r}")
        if not isinstance(eps, (int, float)) or eps < 0:
            raise ValueError(f"{name}: eps must be a non-negative number, got {eps!r}")
        if momentum is not None and (
            not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1
        ):
            raise ValueError(
                f"{name}: momentum must be in [0, 1] or None (cumulative average), got {momentum!r}"
            )
        self.num_features, self.eps, self.momentum = num_features, float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        if affine:
            self.weight = Parameter(ones(num_features, dtype=dtype))
            self.bias = Parameter(zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean to 0, running variance to 1, batch count to 0."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def forward(self, x) -> Tensor:
        x = as_tensor(x, type(self).__name__)
        if x.ndim not in self._ndims:
            raise ValueError(
                f"{self._short_repr()}: expected input of shape {self._layout}, got shape {tuple(x.shape)}"
            )
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{self._short_repr()}: input has {x.shape[1]} channels (dim 1), expected "
                f"{self.num_features} (input shape {tuple(x.shape)})"
            )
        # Batch statistics while training, or always when no running statistics are kept.
        use_batch_stats = self.training or not self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=use_batch_stats,
            momentum=self.momentum,
            eps=self.eps,
            num_batches_tracked=self.num_batches_tracked,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C.

    Training: normalise with the batch's mean and (biased) variance over N (and L), and
    update ``running_mean`` / ``running_var`` (unbiased) with ``momentum``:
    ``running = (1 - momentum) * running + momentum * batch``. Evaluation (``eval()``): use
    the running statistics. Then ``* weight + bias`` when ``affine``. The running statistics
    and ``num_batches_tracked`` are buffers, saved in `state_dict`.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> bn = BatchNorm1d(3)
        >>> y = bn(tt.randn(8, 3) * 5 + 2)
        >>> bool(abs(y.mean(axis=0)).max().item() < 1e-5)
        True
    """

    _ndims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel C (statistics over N, H and W).

    See `BatchNorm1d` for training versus evaluation behaviour.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> bn = BatchNorm2d(4)
        >>> bn(tt.randn(2, 4, 5, 5)).shape
        (2, 4, 5, 5)
    """

    _ndims = (4,)
    _layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalise each sample over its last dimensions (``normalized_shape``), then ``* weight + bias``.

    Unlike BatchNorm it uses no batch statistics, so it behaves the same in training and
    evaluation and for any batch size (transformers use it).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> ln = LayerNorm(4)
        >>> y = ln(tt.tensor([[1.0, 2.0, 3.0, 4.0]]))
        >>> round(y.mean().item(), 6), round(float(y.var(correction=0).item()), 3)
        (0.0, 1.0)
    """

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype=None,
    ):
        super().__init__()
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in shape):
            raise ValueError(
                f"LayerNorm: normalized_shape must be a positive int or tuple of them, got {normalized_shape!r}"
            )
        if not isinstance(eps, (int, float)) or eps < 0:
            raise ValueError(f"LayerNorm: eps must be a non-negative number, got {eps!r}")
        self.normalized_shape, self.eps = shape, float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        if elementwise_affine:
            self.weight = Parameter(ones(shape, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x) -> Tensor:
        x = as_tensor(x, "LayerNorm")
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k :]) != self.normalized_shape:
            raise ValueError(
                f"{self._short_repr()}: input of shape {tuple(x.shape)} does not end with "
                f"normalized_shape {self.normalized_shape}"
            )
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]
