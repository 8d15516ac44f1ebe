"""Text generation: temperature, top-k and top-p sampling, with or without a KV cache.

`generate` appends one token at a time. **With the cache** (the default) the prompt is run
once (the *prefill*) and every later step feeds the model only the newest token: its keys
and values join the `KVCache` and its query attends over all of them, so a step costs O(T).
**Without it** every step runs the model over the whole context again, O(T^2) per step
(nanoGPT's way); it is kept to compare against, and both give the same tokens for a seed.

**The context window.** The model sees at most ``block_size`` tokens. A prompt longer than
that is cropped to its last ``block_size`` tokens (the whole prompt is still returned). When
the context is full and one more token is needed, it restarts from the last
``block_size // 2`` tokens: the cache is refilled from them by one prefill, so that generating
far past ``block_size`` still costs O(T) per token on average. (Sliding the window by one
token every step, as nanoGPT does, would change every position's embedding and force a full
recomputation at each step, which is what a cache exists to avoid.) Both paths use the same
rule, so they condition on the same tokens.

**Sampling.** The last position's logits are divided by ``temperature`` (0: greedy argmax),
cut to the ``top_k`` largest and to the smallest set whose probability reaches ``top_p``, then
one token is drawn by inverse transform from a ``numpy`` generator seeded with ``seed``.
"""

from __future__ import annotations

import numpy as np
from tinytorch.autograd import no_grad
from tinytorch.tensor import Tensor

from .model import KVCache

__all__ = ["generate", "sample_logits", "context_start"]


def sample_logits(
    logits,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Draw one token id per row of ``logits`` (B, V): temperature, then top-k, then top-p.

    Args:
        logits: (B, V) scores (a Tensor or array).
        temperature: divides the logits; 0 picks the argmax (greedy), higher is more random.
        top_k: keep only the k most likely tokens (None: all).
        top_p: keep the smallest set of most likely tokens whose probability sums to at least
            p, in (0, 1] (None: all). Nucleus sampling.
        rng: a ``numpy.random.Generator`` (default: a fresh unseeded one).

    Returns an int64 array (B,).

    Examples:
        >>> import numpy as np
        >>> logits = np.log(np.array([[0.1, 0.6, 0.3]]))
        >>> sample_logits(logits, temperature=0).tolist()          # greedy
        [1]
        >>> sample_logits(logits, top_k=1, rng=np.random.default_rng(0)).tolist()
        [1]
        >>> sorted({int(sample_logits(logits, top_p=0.85, rng=np.random.default_rng(s))[0])
        ...         for s in range(50)})                            # 0.6 + 0.3 reach 0.85
        [1, 2]
    """
    x = np.asarray(logits.data if isinstance(logits, Tensor) else logits, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"sample_logits: expected logits of shape (B, V), got {x.shape}")
    _check_sampling(temperature, top_k, top_p)
    # BEGIN SOLUTION 16 sampling
    if temperature == 0:
        return x.argmax(axis=-1).astype(np.int64)
    rng = np.random.default_rng() if rng is None else rng
    x = x / float(temperature)
    v = x.shape[-1]
    if top_k is not None and top_k < v:
        kth = np.partition(x, v - top_k, axis=-1)[:, v - top_k : v - top_k + 1]
        x = np.where(x < kth, -np.inf, x)
    x = x - x.max(axis=-1, keepdims=True)
    p = np.exp(x)
    p /= p.sum(axis=-1, keepdims=True)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-p, axis=-1, kind="stable")
        sorted_p = np.take_along_axis(p, order, axis=-1)
        before = np.cumsum(sorted_p, axis=-1) - sorted_p  # mass of the tokens ranked above
        drop_sorted = before >= top_p  # the first token always stays
        drop = np.zeros_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, axis=-1)
        p = np.where(drop, 0.0, p)
        p /= p.sum(axis=-1, keepdims=True)
    cdf = np.cumsum(p, axis=-1)
    u = rng.random(p.shape[0]) * cdf[:, -1]
    out = np.array([np.searchsorted(cdf[i], u[i], side="right") for i in range(p.shape[0])])
    return np.minimum(out, v - 1).astype(np.int64)
    # END SOLUTION


def _check_sampling(temperature, top_k, top_p) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"generate: temperature must be a number, got {temperature!r}")
    if not temperature >= 0:
        raise ValueError(f"generate: temperature must be >= 0 (0: greedy), got {temperature}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"generate: top_k must be a positive int or None, got {top_k!r}")
    if top_p is not None and (
        isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1
    ):
        raise ValueError(f"generate: top_p must be in (0, 1] or None, got {top_p!r}")


def context_start(length: int, start: int, block_size: int) -> int:
    """Where the context window starts for a sequence of ``length`` tokens, given the last start.

    The window keeps growing until it holds ``block_size`` tokens; one more, and it restarts
    from the last ``block_size // 2`` tokens (at least 1).

    Examples:
        >>> context_start(10, 0, 8)      # 10 tokens, window of 8: restart from the last 4
        6
        >>> context_start(7, 0, 8)
        0
    """
    if length - start > block_size:
        return length - max(1, block_size // 2)
    return start


def generate(
    model,
    idx,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    use_cache: bool = True,
) -> np.ndarray:
    """Continue ``idx`` with ``max_new_tokens`` sampled tokens; returns prompt + new tokens.

    Args:
        model: a `TinyGPT` (put in eval mode for the call, then restored).
        idx: the prompt's token ids: (T,) or (B, T) (list, array or Tensor), T >= 1. A
            prompt longer than ``block_size`` is cropped to its last ``block_size`` tokens
            for conditioning; the returned array still starts with the whole prompt.
        max_new_tokens: how many tokens to add.
        temperature: see `sample_logits` (0: greedy).
        top_k: see `sample_logits`.
        top_p: see `sample_logits`.
        seed: seeds the sampling generator (same seed, same tokens; None: random).
        use_cache: True (default) for the O(T) `KVCache` path, False for the O(T^2) reference.

    Returns:
        int64 array of shape (T + max_new_tokens,) or (B, T + max_new_tokens).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.gpt import GPTConfig, TinyGPT
        >>> _ = tt.manual_seed(0)
        >>> model = TinyGPT(GPTConfig(vocab_size=12, block_size=8, n_layer=1, n_head=2, n_embd=8))
        >>> a = generate(model, [1, 2, 3], 20, seed=7)
        >>> b = generate(model, [1, 2, 3], 20, seed=7, use_cache=False)
        >>> a.shape, bool((a == b).all())
        ((23,), True)
    """
    config = model.config
    ids = np.asarray(idx.data if isinstance(idx, Tensor) else idx)
    if ids.size == 0:
        raise ValueError(f"generate: expected a non-empty prompt (T,) or (B, T), got {ids.shape}")
    if ids.dtype.kind not in "iu":
        raise TypeError(f"generate: token ids must be integers, got dtype {ids.dtype}")
    squeeze = ids.ndim == 1
    if squeeze:
        ids = ids[None, :]
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise ValueError(f"generate: expected a non-empty prompt (T,) or (B, T), got {ids.shape}")
    if ids.min() < 0 or ids.max() >= config.vocab_size:
        bad = int(ids.min() if ids.min() < 0 else ids.max())
        raise ValueError(
            f"generate: token id {bad} is outside the vocabulary [0, {config.vocab_size})"
        )
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int):
        raise TypeError(f"generate: max_new_tokens must be an int, got {max_new_tokens!r}")
    if max_new_tokens < 0:
        raise ValueError(f"generate: max_new_tokens must be >= 0, got {max_new_tokens}")
    _check_sampling(temperature, top_k, top_p)

    bs, batch = config.block_size, ids.shape[0]
    out = np.zeros((batch, ids.shape[1] + max_new_tokens), dtype=np.int64)
    out[:, : ids.shape[1]] = ids
    length = ids.shape[1]
    start = max(0, length - bs)  # a long prompt is cropped to its last block_size tokens
    rng = np.random.default_rng(seed)
    cache = KVCache(config, batch) if use_cache else None
    cache_start = -1  # where the cached positions start (-1: nothing cached)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for _ in range(max_new_tokens):
                start = context_start(length, start, bs)
                if cache is None:
                    logits = model(out[:, start:length])
                elif cache_start != start:  # (re)fill the cache from the window: one prefill
                    cache.reset()
                    logits = model(out[:, start:length], cache=cache)
                    cache_start = start
                else:  # the newest token only
                    logits = model(out[:, length - 1 : length], cache=cache)
                nxt = sample_logits(logits[:, -1, :], temperature, top_k, top_p, rng)
                out[:, length] = nxt
                length += 1
    finally:
        model.train(was_training)
    return out[0] if squeeze else out
