"""`MultiHeadAttention` and the pre-LN `TransformerBlock` (batch first: (B, T, C)).

Multi-head attention projects the input into ``num_heads`` smaller query, key and
value spaces, attends in each one separately (so one head can track syntax while
another tracks position), then mixes the heads back with an output projection.

A transformer block adds a position-wise MLP and wraps both parts in residual
connections with LayerNorm *before* each part (pre-LN, as GPT-2 and most modern
models), which keeps deep stacks trainable without a learning-rate warm-up:

    x = x + attn(ln1(x))
    x = x + mlp(ln2(x))
"""

from __future__ import annotations

import numpy as np
from tinytorch.tensor import Tensor
from tinytorch.tensor.ops._util import as_tensor

from . import init
from ._checks import positive_int
from .activation import GELU
from .dropout import Dropout
from .functional.attention import scaled_dot_product_attention
from .linear import Linear
from .module import Module
from .normalization import LayerNorm


def _probability(layer: str, p) -> float:
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p < 1.0:
        raise ValueError(f"{layer}: dropout must be a probability in [0, 1), got {p!r}")
    return float(p)


class MultiHeadAttention(Module):
    """Multi-head attention over batch-first sequences: (B, T, C) -> (B, T, C).

    Args:
        embed_dim: C, the model width; must divide evenly into ``num_heads`` heads.
        num_heads: H; each head attends in a space of size D = C / H.
        bias: learn biases in the four projections (default True).
        dropout: dropout on the attention weights during training (default 0).

    Attributes ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj`` are `Linear` (C, C) layers.
    (PyTorch's ``nn.MultiheadAttention`` stores q, k, v stacked in one ``in_proj_weight``
    (3C, C); split it into three to copy weights across.)

    Examples:
        >>> import tinytorch.tensor as tt
        >>> mha = MultiHeadAttention(embed_dim=32, num_heads=4)
        >>> x = tt.randn(2, 10, 32)
        >>> mha(x, is_causal=True).shape          # self-attention
        (2, 10, 32)
        >>> mha(x, tt.randn(2, 7, 32)).shape      # cross-attention to 7 other positions
        (2, 10, 32)
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, dropout: float = 0.0):
        super().__init__()
        name = "MultiHeadAttention"
        self.embed_dim = positive_int(name, "embed_dim", embed_dim)
        self.num_heads = positive_int(name, "num_heads", num_heads)
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"{name}: embed_dim {embed_dim} is not divisible by num_heads {num_heads}"
            )
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout = _probability(name, dropout)
        self.q_proj = Linear(self.embed_dim, self.embed_dim, bias=bias)
        self.k_proj = Linear(self.embed_dim, self.embed_dim, bias=bias)
        self.v_proj = Linear(self.embed_dim, self.embed_dim, bias=bias)
        self.out_proj = Linear(self.embed_dim, self.embed_dim, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform projections and zero biases (PyTorch's MultiheadAttention init)."""
        for proj in (self.q_proj, self.k_proj, self.v_proj):
            init.xavier_uniform_(proj.weight)
            if proj.bias is not None:
                init.zeros_(proj.bias)
        if self.out_proj.bias is not None:
            init.zeros_(self.out_proj.bias)

    def _split_heads(self, x: Tensor) -> Tensor:
        # BEGIN SOLUTION 07 multihead
        b, t, _ = x.shape
        return x.reshape(b, t, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        # END SOLUTION

    def _check(self, what: str, x) -> Tensor:
        x = as_tensor(x, "MultiHeadAttention")
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(
                f"{self._short_repr()}: expected {what} of shape (B, T, {self.embed_dim}), "
                f"got shape {x.shape}"
            )
        return x

    def forward(
        self,
        query,
        key=None,
        value=None,
        mask=None,
        is_causal: bool = False,
        return_weights: bool = False,
    ):
        """Attend from ``query`` (B, T, C) to ``key`` (B, S, C) / ``value`` (B, S, C).

        ``key`` defaults to ``query`` (self-attention) and ``value`` to ``key``. ``mask`` is bool
        (True = keep) or additive float, broadcastable to (B, H, T, S): e.g. a (T, S) mask for
        every sequence, or a (B, 1, 1, S) padding mask (`tinytorch.nn.functional.padding_mask`).
        ``is_causal`` blocks each query from later keys. Returns (B, T, C), or (output, weights
        of shape (B, H, T, S)) with ``return_weights``.
        """
        query = self._check("query", query)
        key = query if key is None else self._check("key", key)
        value = key if value is None else self._check("value", value)
        b, t, c = query.shape
        s = key.shape[1]
        if key.shape[0] != b or value.shape[:2] != key.shape[:2]:
            raise ValueError(
                f"{self._short_repr()}: query {query.shape}, key {key.shape} and value "
                f"{value.shape} must share the batch size, and key and value the length"
            )
        scores_shape = (b, self.num_heads, t, s)
        if mask is not None:
            mask = as_tensor(mask, "MultiHeadAttention")
            try:
                fits = np.broadcast_shapes(mask.shape, scores_shape) == scores_shape
            except ValueError:
                fits = False
            if not fits:
                raise ValueError(
                    f"{self._short_repr()}: mask of shape {mask.shape} does not broadcast to the "
                    f"attention scores' shape {scores_shape} (batch, heads, queries T, keys S)"
                )
        # BEGIN SOLUTION 07 multihead
        q = self._split_heads(self.q_proj(query))  # (B, H, T, D)
        k = self._split_heads(self.k_proj(key))  # (B, H, S, D)
        v = self._split_heads(self.v_proj(value))  # (B, H, S, D)
        # Ask for the weights only when the caller wants them: without them (and without a
        # mask or dropout) attention runs fused and never builds the (B, H, T, S) matrix.
        res = scaled_dot_product_attention(
            q,
            k,
            v,
            mask=mask,
            is_causal=is_causal,
            dropout_p=self.dropout if self.training else 0.0,
            return_weights=return_weights,
        )
        out, weights = res if return_weights else (res, None)  # out: (B, H, T, D)
        out = out.transpose(1, 2).reshape(b, t, c)  # heads side by side again: (B, T, C)
        out = self.out_proj(out)
        return (out, weights) if return_weights else out
        # END SOLUTION

    def extra_repr(self) -> str:
        extra = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.q_proj.bias is None:
            extra += ", bias=False"
        return extra + (f", dropout={self.dropout}" if self.dropout else "")


class FeedForward(Module):
    """The transformer's position-wise MLP: Linear(C, hidden), GELU, Linear(hidden, C), Dropout.

    Applied to every position separately; most of a transformer's parameters live here.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> FeedForward(16, 64)(tt.randn(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(self, embed_dim: int, hidden_dim: int, dropout: float = 0.0):
        super().__init__()
        self.fc1 = Linear(embed_dim, hidden_dim)
        self.act = GELU()
        self.fc2 = Linear(hidden_dim, embed_dim)
        self.dropout = Dropout(_probability("FeedForward", dropout))

    def forward(self, x: Tensor) -> Tensor:
        """x: (..., C) -> (..., C)."""
        return self.dropout(self.fc2(self.act(self.fc1(x))))


class TransformerBlock(Module):
    """A pre-LN transformer block (B, T, C) -> (B, T, C): ``x + attn(ln1(x))``, ``x + mlp(ln2(x))``.

    Args:
        embed_dim: C, the model width.
        num_heads: attention heads (must divide C).
        mlp_ratio: the MLP's hidden width is ``mlp_ratio * C`` (default 4).
        dropout: dropout on the attention weights and on each residual branch (default 0).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> block = TransformerBlock(embed_dim=32, num_heads=4)
        >>> block(tt.randn(2, 10, 32), is_causal=True).shape
        (2, 10, 32)
    """

    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio: float = 4, dropout: float = 0.0):
        super().__init__()
        embed_dim = positive_int("TransformerBlock", "embed_dim", embed_dim)
        if not isinstance(mlp_ratio, (int, float)) or isinstance(mlp_ratio, bool) or mlp_ratio <= 0:
            raise ValueError(
                f"TransformerBlock: mlp_ratio must be a positive number, got {mlp_ratio!r}"
            )
        dropout = _probability("TransformerBlock", dropout)
        self.ln1 = LayerNorm(embed_dim)
        self.attn = MultiHeadAttention(embed_dim, num_heads, dropout=dropout)
        self.drop = Dropout(dropout)
        self.ln2 = LayerNorm(embed_dim)
        self.mlp = FeedForward(embed_dim, max(1, int(round(embed_dim * mlp_ratio))), dropout)

    def forward(self, x, mask=None, is_causal: bool = False) -> Tensor:
        """x: (B, T, C) -> (B, T, C); ``mask``, ``is_causal``: as `MultiHeadAttention.forward`."""
        x = x + self.drop(self.attn(self.ln1(x), mask=mask, is_causal=is_causal))
        return x + self.mlp(self.ln2(x))


__all__ = ["MultiHeadAttention", "FeedForward", "TransformerBlock"]
