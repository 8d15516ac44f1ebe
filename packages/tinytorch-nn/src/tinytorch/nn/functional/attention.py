"""Scaled dot-product attention, with causal and padding masks, composed from tensor ops.

``softmax(q @ k^T / sqrt(D) + mask) @ v``: each query position takes a weighted
average of the value vectors, weighted by how well its query matches each key.
The score matrix is (T, S) per head, so memory grows with the square of the
sequence length; that is what fused ("flash") attention kernels avoid.

Masks follow PyTorch's ``scaled_dot_product_attention``: a **bool** mask keeps the
positions where it is True; a **float** mask is added to the scores (use -inf to
block a position). Both broadcast against the scores' shape (B, H, T, S).
"""

from __future__ import annotations

import math

import numpy as np
from tinytorch.tensor import Tensor, where
from tinytorch.tensor.ops._util import as_tensor
from tinytorch.tensor.random import resolve


def _softmax_last(x: Tensor) -> Tensor:
    # Subtracting the row maximum keeps exp from overflowing; softmax does not change under
    # a shift, so the maximum is detached (its gradient would cancel exactly anyway).
    shifted = x - x.max(axis=-1, keepdims=True).detach()
    e = shifted.exp()
    return e / e.sum(axis=-1, keepdims=True)


def causal_mask(t: int, s: int | None = None) -> Tensor:
    """A (T, S) bool mask that lets query i see keys 0..i only (True = keep), top-left aligned.

    Examples:
        >>> causal_mask(3).tolist()
        [[True, False, False], [True, True, False], [True, True, True]]
    """
    s = t if s is None else s
    return Tensor(np.tril(np.ones((t, s), dtype=bool)))


def padding_mask(lengths, max_len: int) -> Tensor:
    """A (B, 1, 1, S) bool mask keeping the first ``lengths[b]`` keys of sequence b (True = keep).

    It broadcasts over heads and query positions, so padded keys get no attention.

    Examples:
        >>> padding_mask([2, 3], 3)[:, 0, 0].tolist()
        [[True, True, False], [True, True, True]]
    """
    lengths = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths).reshape(-1, 1)
    keep = np.arange(max_len).reshape(1, -1) < lengths  # (B, S)
    return Tensor(keep[:, None, None, :])


def scaled_dot_product_attention(
    q,
    k,
    v,
    mask=None,
    is_causal: bool = False,
    dropout_p: float = 0.0,
    scale: float | None = None,
    return_weights: bool = False,
    generator=None,
):
    """Attention: ``softmax(q @ k^T * scale + mask) @ v``.

    Args:
        q: queries (..., T, D), typically (B, H, T, D).
        k: keys (..., S, D).
        v: values (..., S, Dv).
        mask: bool (True = keep) or float (added to the scores), broadcastable to (..., T, S).
        is_causal: also block keys after each query (a lower-triangular mask).
        dropout_p: probability of zeroing each attention weight (the survivors are scaled by
            1 / (1 - p)); pass 0 at evaluation time.
        scale: multiplies the scores; default 1 / sqrt(D).
        return_weights: also return the attention weights (..., T, S).
        generator: a `tinytorch.tensor.Generator` for the dropout mask.

    Returns (..., T, Dv), or (output, weights) with ``return_weights``. A query whose keys
    are all masked gets nan, as in PyTorch.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> q = tt.randn(2, 4, 5, 8)
        >>> scaled_dot_product_attention(q, q, q, is_causal=True).shape
        (2, 4, 5, 8)
    """
    op = "scaled_dot_product_attention"
    q, k, v = as_tensor(q, op), as_tensor(k, op), as_tensor(v, op)
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.ndim < 2:
            raise ValueError(
                f"{op}: {name} needs at least 2 dimensions (..., L, D), got shape {t.shape}"
            )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"{op}: q of shape {q.shape} and k of shape {k.shape} differ in the last dimension"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"{op}: k of shape {k.shape} and v of shape {v.shape} differ in length (dimension -2)"
        )
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1), got {dropout_p}")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)

    scores = (q @ k.transpose(-2, -1)) * scale  # (..., T, S)
    if mask is not None:
        mask = as_tensor(mask, op)
        try:
            fits = np.broadcast_shapes(mask.shape, scores.shape) == scores.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"{op}: mask of shape {mask.shape} does not broadcast to the attention "
                f"scores' shape {scores.shape} (batch, heads, queries T, keys S)"
            )
        if mask.dtype == np.bool_:
            scores = where(mask, scores, -math.inf)
        elif mask.dtype.kind == "f":
            scores = scores + mask.to(scores.dtype)
        else:
            raise TypeError(
                f"{op}: mask must be bool (True = keep) or float (added), got {mask.dtype}"
            )
    if is_causal:
        t, s = scores.shape[-2:]
        scores = where(causal_mask(t, s), scores, -math.inf)

    weights = _softmax_last(scores)  # (..., T, S), each row sums to 1
    if dropout_p > 0.0:
        keep = resolve(generator).random(weights.shape) >= dropout_p
        weights = weights * Tensor(keep / (1.0 - dropout_p), dtype=weights.dtype)
    out = weights @ v  # (..., T, Dv)
    return (out, weights) if return_weights else out


__all__ = ["scaled_dot_product_attention", "causal_mask", "padding_mask"]
