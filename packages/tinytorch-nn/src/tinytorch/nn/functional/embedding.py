"""`embedding`: look rows of a table up by integer id (a gather; its gradient is a scatter-add)."""

from __future__ import annotations

import numpy as np
from tinytorch.tensor import Tensor, where
from tinytorch.tensor.ops._util import as_tensor


def check_indices(name: str, indices, num_embeddings: int) -> Tensor:
    """``indices`` as an int64 tensor, or an error naming ``name``, the bad id and the table size."""
    if not isinstance(indices, Tensor):
        indices = Tensor(np.asarray(indices))
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be integers (int64), got {indices.dtype}")
    if indices.dtype != np.int64:
        indices = indices.long()
    ids = indices.data
    if ids.size:
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi >= num_embeddings:
            bad = lo if lo < 0 else hi
            raise IndexError(
                f"{name}: index {bad} is out of range for {num_embeddings} embeddings "
                f"(valid ids are 0..{num_embeddings - 1}; indices shape {indices.shape})"
            )
    return indices


def embedding(indices, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) picked by ``indices`` (any shape): output (*indices.shape, dim).

    The gradient of ``weight`` adds up the output gradients of every position that used a
    row. With ``padding_idx`` the row of that id gets no gradient (it stays as it is).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> table = tt.arange(6, dtype="float32").reshape(3, 2)
        >>> embedding(tt.tensor([[2, 0]]), table).tolist()
        [[[4.0, 5.0], [0.0, 1.0]]]
    """
    weight = as_tensor(weight, "embedding")
    if weight.ndim != 2:
        raise ValueError(
            f"embedding: weight must be 2-D (num_embeddings, dim), got shape {weight.shape}"
        )
    indices = check_indices("embedding", indices, weight.shape[0])
    out = weight[indices]
    if padding_idx is not None:
        is_pad = Tensor._wrap((indices.data == padding_idx)[..., None])
        out = where(is_pad, Tensor._wrap(weight.data[padding_idx].copy()), out)
    return out


__all__ = ["embedding", "check_indices"]
