"""One op for causal self-attention straight from the stacked q, k, v projections.

`QKVCausalAttention` takes ``qkv`` (B, T, 3C), the output of one GEMM against the three
projection weights stacked, and returns the heads' attention already merged back to (B, T, C).
It reads q, k and v as strided views of ``qkv`` (no split, no transposed copies: the fused
attention kernel takes any non-negative strides) and hands its backward one (B, T, 3C)
gradient. It computes exactly what ``MultiHeadAttention`` does between its projections
(split heads, `tinytorch.nn.functional.scaled_dot_product_attention(is_causal=True)`, merge
heads); what it saves is about twenty small ops per block and their gradients, which at the
baby GPT's size cost as much as the arithmetic. The kernels are nn's: `FusedAttention`
(forward) and `FusedAttentionBackward`, native C++ for float32, numpy otherwise.
"""

from __future__ import annotations

import math

import numpy as np
from tinytorch.autograd import is_grad_enabled
from tinytorch.nn.functional.attention import FusedAttention, FusedAttentionBackward
from tinytorch.tensor import dispatch
from tinytorch.tensor.dispatch import Op


def _split(qkv: np.ndarray, n_head: int):
    """(B, T, 3C) -> q, k, v as (B, H, T, D) strided views (no copy)."""
    b, t, c3 = qkv.shape
    c = c3 // 3
    v5 = qkv.reshape(b, t, 3, n_head, c // n_head)
    return [v5[:, :, i].transpose(0, 2, 1, 3) for i in range(3)]


class QKVCausalAttention(Op):
    """qkv (B, T, 3C) -> causal multi-head attention with heads merged: (B, T, C)."""

    name = "qkv_causal_attention"

    def __init__(self, n_head: int):
        self.n_head = int(n_head)
        self.inner: FusedAttention | None = None
        self.heads_out: np.ndarray | None = None  # (B, H, T, D), the backward needs it

    def _run(self, qkv: np.ndarray, native: bool) -> np.ndarray:
        b, t, c3 = qkv.shape
        q, k, v = _split(qkv, self.n_head)
        self.inner = FusedAttention(causal=True, scale=1.0 / math.sqrt(q.shape[-1]))
        out = self.inner.native(q, k, v) if native else None
        if out is None:
            out = self.inner.forward(q, k, v)
        self.heads_out = out
        return np.ascontiguousarray(out.transpose(0, 2, 1, 3)).reshape(b, t, c3 // 3)

    def forward(self, qkv):
        return self._run(qkv, native=False)

    def native(self, qkv):
        return self._run(qkv, native=True)

    def backward(self, inputs, out, grad):
        if is_grad_enabled():
            raise RuntimeError(
                "qkv_causal_attention: gradients of gradients are not supported; use "
                "tinytorch.nn.MultiHeadAttention (composed ops) for create_graph=True"
            )
        return (dispatch.apply(QKVCausalAttentionBackward(self), inputs[0], grad),)


class QKVCausalAttentionBackward(Op):
    """(qkv, grad of the merged output) -> grad of qkv (B, T, 3C)."""

    name = "qkv_causal_attention_backward"

    def __init__(self, fwd: QKVCausalAttention):
        self.fwd = fwd

    def _run(self, qkv: np.ndarray, grad: np.ndarray, native: bool) -> np.ndarray:
        b, t, c3 = qkv.shape
        h = self.fwd.n_head
        q, k, v = _split(qkv, h)
        g = grad.reshape(b, t, h, q.shape[-1]).transpose(0, 2, 1, 3)  # (B, H, T, D) view
        inner = FusedAttentionBackward(True, self.fwd.inner.scale, self.fwd.inner.lse)
        args = (q, k, v, self.fwd.heads_out, g)
        flat = inner.native(*args) if native else None
        if flat is None:
            flat = inner.forward(*args)
        n = q.size
        out = np.empty((b, t, 3, h, q.shape[-1]), dtype=flat.dtype)
        for i in range(3):  # dq, dk, dv: consecutive (B, H, T, D) blocks of flat
            out[:, :, i] = flat[i * n : (i + 1) * n].reshape(q.shape).transpose(0, 2, 1, 3)
        return out.reshape(b, t, c3)

    def forward(self, qkv, grad):
        return self._run(qkv, grad, native=False)

    def native(self, qkv, grad):
        return self._run(qkv, grad, native=True)

    def backward(self, inputs, out, grad):
        raise RuntimeError("qkv_causal_attention_backward: not differentiable itself")
