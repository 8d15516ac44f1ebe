"""`TinyGPT`: a decoder-only transformer language model built from `tinytorch.nn` parts.

    idx (B, T) int64
      -> wte(idx) + wpe(positions)                 token + position embeddings  (B, T, C)
      -> dropout
      -> n_layer x Block:  x = x + attn(ln1(x))    causal multi-head self-attention
                           x = x + mlp(ln2(x))     Linear(C, 4C) -> GELU -> Linear(4C, C)
      -> ln_f -> lm_head                           weight-tied to wte: logits (B, T, vocab)

Everything here is `tinytorch.nn`: `Embedding`, `LayerNorm`, `MultiHeadAttention` (with the
fused causal attention kernel), `Linear`, `GELU`, `Dropout`. What this module adds is the
wiring, GPT-2's initialisation (N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer)),
weight tying, and the `KVCache` path used by `generate`: keys and values of the tokens seen so
far are kept per layer, so a new token costs one position's projections plus attention over
the cache, O(T), instead of a forward pass over the whole context, O(T^2).
"""

from __future__ import annotations

import math

import numpy as np
import tinytorch.nn.functional as F
from tinytorch.nn import (
    GELU,
    Dropout,
    Embedding,
    LayerNorm,
    Linear,
    Module,
    ModuleList,
    MultiHeadAttention,
    init,
)
from tinytorch.tensor import Tensor, cat, dispatch, from_numpy

from ._qkv import QKVCausalAttention
from .config import GPTConfig

__all__ = ["Block", "KVCache", "TinyGPT"]


class KVCache:
    """Keys and values of the tokens a `TinyGPT` has seen, per layer: O(T) generation.

    ``keys[l]`` and ``values[l]`` are float32 arrays (B, H, capacity, D), filled up to
    ``length``. `TinyGPT.forward` with ``cache=`` appends the new tokens' keys and values and
    attends over everything cached; `generate` makes and refreshes one for you.

    Args:
        config: the model's `GPTConfig`.
        batch_size: B, the number of sequences generated together.
        capacity: positions it holds (default and maximum: ``config.block_size``).

    Examples:
        >>> cache = KVCache(GPTConfig(n_layer=2, n_head=2, n_embd=8, block_size=16), batch_size=1)
        >>> cache.length, cache.capacity, cache.nbytes
        (0, 16, 2048)
    """

    def __init__(self, config: GPTConfig, batch_size: int, capacity: int | None = None):
        capacity = config.block_size if capacity is None else int(capacity)
        if not 0 < capacity <= config.block_size:
            raise ValueError(
                f"KVCache: capacity must be in [1, block_size={config.block_size}], got {capacity}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"KVCache: batch_size must be a positive int, got {batch_size!r}")
        shape = (batch_size, config.n_head, capacity, config.head_dim)
        self.config, self.batch_size, self.capacity = config, batch_size, capacity
        self.keys = [np.zeros(shape, np.float32) for _ in range(config.n_layer)]
        self.values = [np.zeros(shape, np.float32) for _ in range(config.n_layer)]
        self.length = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by the keys and values: 2 * n_layer * B * H * capacity * D * 4."""
        return sum(a.nbytes for a in self.keys) + sum(a.nbytes for a in self.values)

    @property
    def remaining(self) -> int:
        """Positions still free."""
        return self.capacity - self.length

    def reset(self) -> None:
        """Forget every cached position (the arrays are kept for reuse)."""
        self.length = 0


def _attend_with_cache(attn: MultiHeadAttention, x: Tensor, cache: KVCache, layer: int) -> Tensor:
    """`MultiHeadAttention` self-attention of x (B, t, C) over the cache plus x itself.

    The new tokens' keys and values go into the cache at positions L..L+t-1; query i (at
    absolute position L+i) sees keys 0..L+i.
    """
    b, t, c = x.shape
    h, d = attn.num_heads, attn.head_dim
    start = cache.length
    q = attn.q_proj(x).reshape(b, t, h, d).transpose(1, 2)  # (B, H, t, D)
    k = attn.k_proj(x).reshape(b, t, h, d).transpose(1, 2)
    v = attn.v_proj(x).reshape(b, t, h, d).transpose(1, 2)
    keys, values = cache.keys[layer], cache.values[layer]
    # BEGIN SOLUTION 16 kv_cache
    keys[:, :, start : start + t] = k.data
    values[:, :, start : start + t] = v.data
    end = start + t
    k_all = from_numpy(np.ascontiguousarray(keys[:, :, :end]))  # (B, H, L+t, D)
    v_all = from_numpy(np.ascontiguousarray(values[:, :, :end]))
    if start == 0:  # a fresh prefill: the plain causal mask (fused kernel)
        out = F.scaled_dot_product_attention(q, k_all, v_all, is_causal=t > 1)
    elif t == 1:  # one new token sees every cached key: no mask at all
        out = F.scaled_dot_product_attention(q, k_all, v_all)
    else:  # t new tokens after L cached ones: causal, aligned bottom-right
        keep = np.arange(end)[None, :] <= (start + np.arange(t))[:, None]
        out = F.scaled_dot_product_attention(q, k_all, v_all, mask=Tensor(keep))
    # END SOLUTION
    out = out.transpose(1, 2).reshape(b, t, c)
    return attn.out_proj(out)


class Block(Module):
    """One pre-LN GPT block: ``x + attn(ln1(x))`` (causal), then ``x + mlp(ln2(x))``.

    ``attn`` is `tinytorch.nn.MultiHeadAttention`; the MLP is ``fc`` (C -> 4C), GELU and
    ``proj`` (4C -> C). With a `KVCache`, attention runs over the cached positions too.
    Without one, attention runs on a fused path (one GEMM for q, k and v, one op for the
    heads: see `tinytorch.gpt._qkv`) that computes what ``attn(x, is_causal=True)`` does;
    set ``fused_attention = False`` to call ``attn`` itself.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> block = Block(GPTConfig(n_embd=16, n_head=2))
        >>> block(tt.randn(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        c = config.n_embd
        self.ln1 = LayerNorm(c, bias=config.bias)
        self.attn = MultiHeadAttention(c, config.n_head, bias=config.bias, dropout=config.dropout)
        self.ln2 = LayerNorm(c, bias=config.bias)
        self.fc = Linear(c, config.mlp_ratio * c, bias=config.bias)
        self.act = GELU(approximate=config.gelu_approximate)
        self.proj = Linear(config.mlp_ratio * c, c, bias=config.bias)
        self.drop = Dropout(config.dropout)
        # True: self-attention through `_self_attention`'s fused path; False: attn.forward.
        self.fused_attention = True

    def _self_attention(self, h: Tensor) -> Tensor:
        """``self.attn(h, is_causal=True)``, computed with one projection GEMM and one op.

        The q, k and v weights are stacked into one (3C, C) matrix (a cheap concatenation,
        differentiable, so each projection still gets its own gradient) and the heads attend
        in `QKVCausalAttention`. Attention dropout in training takes the module's own path.
        """
        attn = self.attn
        if not self.fused_attention or (attn.dropout and attn.training):
            return attn(h, is_causal=True)
        projs = (attn.q_proj, attn.k_proj, attn.v_proj)
        w = cat([p.weight for p in projs], axis=0)
        b = None if attn.q_proj.bias is None else cat([p.bias for p in projs], axis=0)
        y = dispatch.apply(QKVCausalAttention(attn.num_heads), F.linear(h, w, b))
        return attn.out_proj(y)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        """x: (B, T, C) -> (B, T, C); with ``cache``, T new positions after the cached ones."""
        # BEGIN SOLUTION 16 block
        h = self.ln1(x)
        if cache is None:
            a = self._self_attention(h)
        else:
            a = _attend_with_cache(self.attn, h, cache, layer)
        x = x + self.drop(a)
        return x + self.drop(self.proj(self.act(self.fc(self.ln2(x)))))
        # END SOLUTION


class TinyGPT(Module):
    """A character- (or BPE-) level GPT: token ids (B, T) -> next-token logits (B, T, vocab).

    Token and position embeddings, ``n_layer`` pre-LN `Block`s with causal multi-head
    attention and a GELU MLP, a final LayerNorm, and a head that shares its weight with the
    token embedding (weight tying: ``lm_head.weight is wte.weight``).

    Args:
        config: a `GPTConfig` (or keyword arguments for one).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> _ = tt.manual_seed(0)
        >>> model = TinyGPT(GPTConfig(vocab_size=10, block_size=8, n_layer=2, n_head=2, n_embd=16))
        >>> idx = tt.tensor([[1, 2, 3], [4, 5, 6]])
        >>> model(idx).shape
        (2, 3, 10)
        >>> model.lm_head.weight is model.wte.weight
        True
        >>> loss = model.loss(idx, tt.tensor([[2, 3, 4], [5, 6, 7]]))
        >>> 2.0 < loss.item() < 2.7       # about ln(10) before training
        True
        >>> model.generate([1, 2], max_new_tokens=4, seed=0).shape
        (6,)
    """

    def __init__(self, config: GPTConfig | None = None, **kwargs):
        super().__init__()
        if config is None:
            config = GPTConfig(**kwargs)
        elif kwargs:
            config = config.replace(**kwargs)
        if not isinstance(config, GPTConfig):
            raise TypeError(f"TinyGPT: config must be a GPTConfig, got {type(config).__name__}")
        self.config = config
        c = config.n_embd
        self.wte = Embedding(config.vocab_size, c)
        self.wpe = Embedding(config.block_size, c)
        self.drop = Dropout(config.dropout)
        self.blocks = ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = LayerNorm(c, bias=config.bias)
        self.lm_head = Linear(c, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2's initialisation: weights N(0, 0.02), residual projections N(0, 0.02/sqrt(2L)).

        The residual projections are each attention's ``out_proj`` and each MLP's ``proj``;
        scaling them keeps the residual stream's variance from growing with depth. Biases are
        zero, LayerNorms one and zero.
        """
        std = 0.02
        resid_std = std / math.sqrt(2 * self.config.n_layer)
        for name, module in self.named_modules():
            if isinstance(module, Linear):
                last = name.rsplit(".", 1)[-1]
                if name == "lm_head":
                    continue  # tied: initialised as the token embedding
                init.normal_(module.weight, 0.0, resid_std if last in ("out_proj", "proj") else std)
                if module.bias is not None:
                    init.zeros_(module.bias)
            elif isinstance(module, Embedding):
                init.normal_(module.weight, 0.0, std)

    def num_parameters(self, trainable_only: bool = False, non_embedding: bool = False) -> int:
        """Parameter count (tied weights once); ``non_embedding`` leaves out the position table
        (nanoGPT's convention: the token table is counted, it is also the head)."""
        n = super().num_parameters(trainable_only)
        return n - self.wpe.weight.size if non_embedding else n

    def _check_idx(self, idx, start: int = 0) -> Tensor:
        if not isinstance(idx, Tensor):
            idx = from_numpy(np.asarray(idx, dtype=np.int64))
        if idx.ndim != 2:
            raise ValueError(f"TinyGPT: expected token ids of shape (B, T), got shape {idx.shape}")
        t = idx.shape[1]
        if t == 0:
            raise ValueError("TinyGPT: got an empty sequence (T = 0)")
        if start + t > self.config.block_size:
            raise ValueError(
                f"TinyGPT: {t} positions starting at {start} exceed block_size "
                f"{self.config.block_size} (crop the context, as generate() does)"
            )
        return idx

    def forward(self, idx, cache: KVCache | None = None) -> Tensor:
        """Logits (B, T, vocab) for token ids ``idx`` (B, T), T <= block_size.

        With ``cache`` (a `KVCache`), ``idx`` holds the T tokens that follow the cache's
        ``length`` cached ones; their keys and values are appended to it.
        """
        start = 0 if cache is None else cache.length
        idx = self._check_idx(idx, start)
        t = idx.shape[1]
        if cache is not None:
            if idx.shape[0] != cache.batch_size:
                raise ValueError(
                    f"TinyGPT: batch of {idx.shape[0]} sequences, the cache holds "
                    f"{cache.batch_size}"
                )
            if t > cache.remaining:
                raise ValueError(
                    f"TinyGPT: {t} new positions do not fit the cache ({cache.remaining} of "
                    f"{cache.capacity} left)"
                )
        # BEGIN SOLUTION 16 forward
        pos = from_numpy(np.arange(start, start + t, dtype=np.int64))
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C) + (T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        if cache is not None:
            cache.length += t
        return self.lm_head(self.ln_f(x))
        # END SOLUTION

    def loss(self, idx, targets) -> Tensor:
        """Mean cross-entropy of the next-token predictions: ``idx``, ``targets`` (B, T)."""
        logits = self(idx)
        if not isinstance(targets, Tensor):
            targets = from_numpy(np.asarray(targets, dtype=np.int64))
        if tuple(targets.shape) != tuple(logits.shape[:2]):
            raise ValueError(
                f"TinyGPT.loss: targets of shape {targets.shape} do not match the ids' "
                f"{logits.shape[:2]}"
            )
        v = self.config.vocab_size
        return F.cross_entropy(logits.reshape(-1, v), targets.reshape(-1))

    def generate(
        self,
        idx,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        use_cache: bool = True,
    ) -> np.ndarray:
        """Sample ``max_new_tokens`` tokens after the prompt ``idx``; see `tinytorch.gpt.generate`.

        Returns the prompt followed by the new tokens, as an int64 array of the prompt's rank.
        """
        from .generate import generate

        return generate(
            self,
            idx,
            max_new_tokens,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
            use_cache=use_cache,
        )

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"vocab_size={c.vocab_size}, block_size={c.block_size}, n_layer={c.n_layer}, "
            f"n_head={c.n_head}, n_embd={c.n_embd}"
        )
