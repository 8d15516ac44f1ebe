"""Gradient clipping: `clip_grad_norm_` (rescale all gradients together) and `clip_grad_value_`.

Both act in place on the ``.grad`` arrays, between ``backward()`` and ``optimizer.step()``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from tinytorch.tensor import Tensor


def _grads(parameters) -> list[np.ndarray]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.data for p in parameters if p.grad is not None]


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``; returns it.

    PyTorch's semantics: the total norm is the ``norm_type``-norm of the per-parameter norms
    (the norm of all gradients concatenated into one vector; ``float("inf")`` gives the largest
    absolute entry). Every gradient is multiplied by ``min(1, max_norm / (total + 1e-6))``.
    Parameters without a gradient are skipped.

    Args:
        parameters: a tensor or an iterable of tensors (e.g. ``model.parameters()``).
        max_norm: the largest allowed total norm.
        norm_type: p of the p-norm (2.0 by default; ``inf`` for the max-norm).
        error_if_nonfinite: raise ``RuntimeError`` if the total norm is nan or inf.

    Returns:
        The total norm of the gradients before clipping, a 0-d float32 Tensor.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> w = tt.zeros(2, requires_grad=True)
        >>> w.grad = tt.tensor([3.0, 4.0])            # norm 5
        >>> clip_grad_norm_([w], max_norm=1.0).item()
        5.0
        >>> [round(x, 4) for x in w.grad.tolist()]   # rescaled to norm 1
        [0.6, 0.8]
    """
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return Tensor(np.float32(0.0))
    # BEGIN SOLUTION 10 clip_grad_norm
    # total = || (||g_1||, ||g_2||, ...) ||_p  ==  || concat(g_1, g_2, ...) ||_p
    if norm_type == math.inf:
        norms = [np.max(np.abs(g)) if g.size else 0.0 for g in grads]
        total = float(np.max(norms))
    else:
        norms = [np.sum(np.abs(g.astype(np.float64)) ** norm_type) for g in grads]
        total = float(np.sum(norms) ** (1.0 / norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}; "
            "set error_if_nonfinite=False to clip anyway"
        )
    # coef = min(1, max_norm / (total + 1e-6)); g *= coef
    coef = float(np.minimum(1.0, max_norm / (total + 1e-6)))  # nan stays nan, as in torch
    with np.errstate(invalid="ignore"):  # a non-finite total: inf * 0 -> nan, as in PyTorch
        for g in grads:
            g *= np.asarray(coef, dtype=g.dtype)
    # END SOLUTION
    return Tensor(np.float32(total))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]``, in place.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> w = tt.zeros(3, requires_grad=True)
        >>> w.grad = tt.tensor([-5.0, 0.5, 5.0])
        >>> clip_grad_value_(w, 1.0)
        >>> w.grad.tolist()
        [-1.0, 0.5, 1.0]
    """
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)


__all__ = ["clip_grad_norm_", "clip_grad_value_"]
