"""The seed's ``tinytorch.tinygpt``: the capstone's names, from `tinytorch.gpt` and `tinytorch.nn`.

``from tinytorch.tinygpt import CharTokenizer, MultiHeadAttention, TinyGPT`` works as the
original README wrote it. These are the real classes (aliases, not copies): `CharTokenizer`
and `TinyGPT` from `tinytorch.gpt`, `MultiHeadAttention` from `tinytorch.nn`, the same one
every `TinyGPT` block uses.

Examples:
    >>> import tinytorch.tensor as tt
    >>> from tinytorch.tinygpt import CharTokenizer, MultiHeadAttention, TinyGPT
    >>> tok = CharTokenizer().fit("hello world")
    >>> model = TinyGPT(vocab_size=tok.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16)
    >>> isinstance(model.blocks[0].attn, MultiHeadAttention)
    True
    >>> MultiHeadAttention(embed_dim=16, num_heads=2)(tt.randn(1, 4, 16), is_causal=True).shape
    (1, 4, 16)
"""

from tinytorch.gpt import (
    BPETokenizer,
    CharTokenizer,
    GPTConfig,
    KVCache,
    TinyGPT,
    TrainConfig,
    generate,
    train,
)
from tinytorch.nn import MultiHeadAttention

__all__ = [
    "CharTokenizer",
    "BPETokenizer",
    "MultiHeadAttention",
    "TinyGPT",
    "GPTConfig",
    "KVCache",
    "TrainConfig",
    "generate",
    "train",
]
