"""`embedding`: look rows of a table up by integer id (a gather; its gradient is a scatter-add).

`EmbeddingGather` and its backward `EmbeddingScatterAdd` are ops with native paths
(``csrc/embedding.cpp``): the gather copies one row per index; the scatter-add gives
each thread its own range of destination rows, so that ids repeated in a batch never
make two threads add into one row. Each op's backward is the other one, so gradients
of gradients work too.
"""

from __future__ import annotations

import numpy as np
from tinytorch.tensor import Tensor, dispatch
from tinytorch.tensor.dispatch import Op
from tinytorch.tensor.ops._util import as_tensor


def check_indices(name: str, indices, num_embeddings: int) -> Tensor:
    """``indices`` as int64, or an error naming ``name``, the bad id and the table size."""
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


class EmbeddingGather(Op):
    """weight (V, D) -> weight[indices] (*indices.shape, D), for int64 ``indices`` (an attribute).

    The row of ``padding_idx`` gets no gradient. With ``zero_padding`` its positions
    are 0 in the output instead of the row (that form is the adjoint of
    `EmbeddingScatterAdd`, used for gradients of gradients).
    """

    name = "embedding"

    def __init__(
        self, indices: np.ndarray, padding_idx: int | None = None, zero_padding: bool = False
    ):
        self.indices, self.padding_idx, self.zero_padding = indices, padding_idx, zero_padding

    def _zero_padding(self, out: np.ndarray) -> np.ndarray:
        if self.zero_padding and self.padding_idx is not None:
            out[self.indices == self.padding_idx] = 0
        return out

    def forward(self, weight):
        return self._zero_padding(weight[self.indices])

    def native(self, weight):
        if weight.dtype != np.float32:
            return None
        from tinytorch.tensor.backend import native

        return self._zero_padding(native().embedding_gather(weight, self.indices))

    def backward(self, inputs, out, grad):
        (weight,) = inputs
        op = EmbeddingScatterAdd(self.indices, weight.shape[0], self.padding_idx)
        return (dispatch.apply(op, grad),)


class EmbeddingScatterAdd(Op):
    """grad (*indices.shape, D) -> (V, D): row v sums grad over the positions whose index is v.

    Positions whose index is ``padding_idx`` add nothing. The backward of `EmbeddingGather`;
    its own backward gathers again (with the padding positions zeroed).
    """

    name = "embedding_backward"

    def __init__(self, indices: np.ndarray, num_embeddings: int, padding_idx: int | None = None):
        self.indices, self.num_embeddings, self.padding_idx = indices, num_embeddings, padding_idx

    def forward(self, grad):
        dim = grad.shape[-1]
        ids, rows = self.indices.reshape(-1), grad.reshape(-1, dim)
        if self.padding_idx is not None:
            keep = ids != self.padding_idx
            ids, rows = ids[keep], rows[keep]
        out = np.zeros((self.num_embeddings, dim), dtype=grad.dtype)
        np.add.at(out, ids, rows)
        return out

    def native(self, grad):
        if grad.dtype != np.float32:
            return None
        from tinytorch.tensor.backend import native

        return native().embedding_scatter_add(
            grad, self.indices, self.num_embeddings, self.padding_idx
        )

    def backward(self, inputs, out, grad):
        return (dispatch.apply(EmbeddingGather(self.indices, self.padding_idx, True), grad),)


def embedding(indices, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) picked by ``indices`` (any shape).

    The output has shape (*indices.shape, dim). The gradient of ``weight`` adds up the
    output gradients of every position that used a row. With ``padding_idx`` the row of
    that id gets no gradient (it stays as it is); a negative ``padding_idx`` counts from the
    end, as in PyTorch.

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
    num = weight.shape[0]
    indices = check_indices("embedding", indices, num)
    if padding_idx is not None:
        if (
            isinstance(padding_idx, bool)
            or not isinstance(padding_idx, (int, np.integer))
            or not (-num <= padding_idx < num)
        ):
            raise ValueError(
                f"embedding: padding_idx must be an int in [-{num}, {num}), got {padding_idx!r}"
            )
        padding_idx = int(padding_idx) % num
    return dispatch.apply(EmbeddingGather(indices.data, padding_idx), weight)


__all__ = ["embedding", "check_indices", "EmbeddingGather", "EmbeddingScatterAdd"]
