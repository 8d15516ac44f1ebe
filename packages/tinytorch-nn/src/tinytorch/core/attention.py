"""The seed's ``tinytorch.core.attention``: attention from `tinytorch.nn` under one roof.

Examples:
    >>> from tinytorch.core.tensor import randn
    >>> from tinytorch.core.attention import MultiHeadAttention
    >>> MultiHeadAttention(embed_dim=32, num_heads=4)(randn(2, 10, 32), is_causal=True).shape
    (2, 10, 32)
"""

from tinytorch.nn.attention import FeedForward, MultiHeadAttention, TransformerBlock
from tinytorch.nn.functional.attention import (
    causal_mask,
    padding_mask,
    scaled_dot_product_attention,
)

__all__ = [
    "MultiHeadAttention",
    "TransformerBlock",
    "FeedForward",
    "scaled_dot_product_attention",
    "causal_mask",
    "padding_mask",
]
