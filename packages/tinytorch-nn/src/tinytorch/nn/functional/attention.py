"""Scaled dot-product attention, with causal and padding masks: fused, or composed from tensor ops.

``softmax(q @ k^T / sqrt(D) + mask) @ v``: each query position takes a weighted
average of the value vectors, weighted by how well its query matches each key.
Composed from tensor ops, the score matrix is (T, S) per head, so memory grows with
the square of the sequence length, and autograd keeps it until backward.

`scaled_dot_product_attention` therefore takes a **fused** path where it can: float32
q, k, v of shape (B, H, T, D) or (B, T, D) with matching batch dimensions, no mask
(or ``is_causal``), no dropout and no returned weights. `FusedAttention` then runs the
FlashAttention-style C++ kernel (``csrc/attention.cpp``): it streams over key blocks
with an online softmax and saves only the output and one log-sum-exp per query row,
so its memory is O(T) per row instead of O(T^2); its backward recomputes the
probabilities block by block. Everything else (bool or float masks, dropout,
``return_weights``, float64, broadcast batch dimensions) takes the composed path.

Masks follow PyTorch's ``scaled_dot_product_attention``: a **bool** mask keeps the
positions where it is True; a **float** mask is added to the scores (use -inf to
block a position). Both broadcast against the scores' shape (B, H, T, S).
"""

from __future__ import annotations

import math

import numpy as np
from tinytorch.autograd import is_grad_enabled
from tinytorch.tensor import Tensor, dispatch, where
from tinytorch.tensor.dispatch import Op
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
    # BEGIN SOLUTION 07 masked
    s = t if s is None else s
    return Tensor(np.tril(np.ones((t, s), dtype=bool)))
    # END SOLUTION


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

    Float32 (B, H, T, D) or (B, T, D) inputs without ``mask``, dropout or ``return_weights``
    run the fused kernel (`FusedAttention`: O(T) memory per query, no (T, S) matrix kept for
    backward); everything else is composed from tensor ops. Both compute the same function.

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
    if _fused_applies(q, k, v, mask, dropout_p, return_weights):
        return dispatch.apply(FusedAttention(is_causal, scale), q, k, v)
    return _composed(q, k, v, mask, is_causal, dropout_p, scale, return_weights, generator)


def _fused_applies(q: Tensor, k: Tensor, v: Tensor, mask, dropout_p, return_weights) -> bool:
    """True when `FusedAttention` computes exactly what the composed path would."""
    return (
        mask is None
        and dropout_p == 0.0
        and not return_weights
        and q.ndim in (3, 4)
        and q.dtype == k.dtype == v.dtype == np.float32
        and q.shape[:-2] == k.shape[:-2] == v.shape[:-2]
        and min(q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]) > 0
    )


def _composed(q, k, v, mask, is_causal, dropout_p, scale, return_weights, generator):
    """The reference path: matmul, mask, softmax, (dropout), matmul, each an op autograd records."""
    op = "scaled_dot_product_attention"
    # BEGIN SOLUTION 07 masked
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
    # END SOLUTION


# ----------------------------------------------------------------------------- fused attention


def _as_4d(x: np.ndarray) -> np.ndarray:
    """``x`` as (B, H, L, E) for the kernel: (B, L, E) gets H = 1; negative strides are copied."""
    if x.ndim == 3:
        x = x[:, None]
    if x.flags.aligned and all(s >= 0 and s % x.itemsize == 0 for s in x.strides):
        return x
    return np.ascontiguousarray(x)


def _reference_scores(q, k, causal: bool, scale: float) -> np.ndarray:
    """scale * q @ k^T with -inf above the diagonal when causal: (..., T, S)."""
    # BEGIN SOLUTION 07 scores
    s = np.matmul(q, np.swapaxes(k, -1, -2)) * np.asarray(scale, dtype=q.dtype)
    if causal:
        t, n = s.shape[-2:]
        s = np.where(np.tril(np.ones((t, n), dtype=bool)), s, np.asarray(-np.inf, dtype=s.dtype))
    return s
    # END SOLUTION


class FusedAttention(Op):
    """``softmax(scale * q @ k^T [causal]) @ v`` in one op that saves only out and the log-sum-exp.

    q: (B, H, T, D) or (B, T, D), k: (..., S, D), v: (..., S, Dv), same batch dimensions.
    The native kernel never holds a (T, S) matrix; the numpy `forward` (the reference)
    does. Either way the op keeps ``lse`` (q.shape[:-1]), which its backward needs.

    Backward: `FusedAttentionBackward`, which recomputes the probabilities from q, k and
    ``lse``. When autograd records the backward itself (``create_graph=True``, for
    gradients of gradients) the rule instead spells the same gradient out with composed
    tensor ops, which are differentiable again (at O(T^2) memory, like the composed path).
    """

    name = "fused_attention"

    def __init__(self, causal: bool = False, scale: float = 1.0):
        self.causal, self.scale = bool(causal), float(scale)
        self.lse: np.ndarray | None = None  # set by forward / native: (..., T)

    def forward(self, q, k, v):
        # BEGIN SOLUTION 07 attention
        s = _reference_scores(q, k, self.causal, self.scale)
        m = s.max(axis=-1, keepdims=True)
        e = np.exp(s - m)
        total = e.sum(axis=-1, keepdims=True)
        self.lse = (m + np.log(total))[..., 0]
        return np.matmul(e / total, v)
        # END SOLUTION

    def native(self, q, k, v):
        if not q.dtype == k.dtype == v.dtype == np.float32:
            return None
        from tinytorch.tensor.backend import native

        out, lse = native().attention_forward(
            _as_4d(q), _as_4d(k), _as_4d(v), self.causal, self.scale
        )
        self.lse = lse.reshape(q.shape[:-1])
        return out.reshape(q.shape[:-1] + v.shape[-1:])

    def backward(self, inputs, out, grad):
        q, k, v = inputs
        if is_grad_enabled():  # create_graph: a backward that is itself differentiable
            return _composed_backward(q, k, v, grad, self.causal, self.scale)
        flat = dispatch.apply(
            FusedAttentionBackward(self.causal, self.scale, self.lse), q, k, v, out, grad
        )
        nq, nk = q.size, k.size
        return (
            flat[:nq].reshape(q.shape),
            flat[nq : nq + nk].reshape(k.shape),
            flat[nq + nk :].reshape(v.shape),
        )


class FusedAttentionBackward(Op):
    """(q, k, v, out, grad_out) -> dq, dk, dv concatenated flat (one array: an op has one output).

    The probabilities are recomputed from q, k and the forward's ``lse``; with
    ``D_i = rowsum(grad_out * out)``: dS = P * (grad_out @ v^T - D), dv = P^T grad_out,
    dq = scale dS k, dk = scale dS^T q. Its own backward is not defined: second-order
    gradients go through `FusedAttention.backward`'s composed form instead.
    """

    name = "fused_attention_backward"

    def __init__(self, causal: bool, scale: float, lse: np.ndarray):
        self.causal, self.scale, self.lse = bool(causal), float(scale), lse

    def forward(self, q, k, v, out, grad):
        p = np.exp(_reference_scores(q, k, self.causal, self.scale) - self.lse[..., None])
        dv = np.matmul(np.swapaxes(p, -1, -2), grad)
        dp = np.matmul(grad, np.swapaxes(v, -1, -2))
        ds = p * (dp - (grad * out).sum(axis=-1, keepdims=True)) * np.asarray(self.scale, p.dtype)
        dq = np.matmul(ds, k)
        dk = np.matmul(np.swapaxes(ds, -1, -2), q)
        return np.concatenate([dq.ravel(), dk.ravel(), dv.ravel()])

    def native(self, q, k, v, out, grad):
        if not all(x.dtype == np.float32 for x in (q, k, v, out, grad)):
            return None
        from tinytorch.tensor.backend import native

        lse = self.lse.reshape(_as_4d(q).shape[:-1])
        dq, _, _ = native().attention_backward(
            _as_4d(q),
            _as_4d(k),
            _as_4d(v),
            _as_4d(out),
            lse,
            _as_4d(grad),
            self.causal,
            self.scale,
        )
        return dq.base  # dq, dk, dv are consecutive views of this one buffer

    def backward(self, inputs, out, grad):
        raise RuntimeError(
            "fused_attention_backward: not differentiable itself; gradients of gradients of "
            "attention are taken through the composed form (backward with create_graph=True)"
        )


def _composed_backward(q, k, v, grad, causal: bool, scale: float):
    """dq, dk, dv of attention written with tensor ops (recorded, so differentiable again)."""
    scores = (q @ k.transpose(-2, -1)) * scale
    if causal:
        t, s = scores.shape[-2:]
        scores = where(causal_mask(t, s), scores, -math.inf)
    p = _softmax_last(scores)  # (..., T, S)
    dv = p.transpose(-2, -1) @ grad
    dp = grad @ v.transpose(-2, -1)
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    return (ds @ k) * scale, (ds.transpose(-2, -1) @ q) * scale, dv


__all__ = [
    "scaled_dot_product_attention",
    "causal_mask",
    "padding_mask",
    "FusedAttention",
    "FusedAttentionBackward",
]
