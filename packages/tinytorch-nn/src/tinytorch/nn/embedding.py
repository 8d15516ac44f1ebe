"""`Embedding`: a learnable table of vectors looked up by integer id (tokens, classes, positions)."""

from __future__ import annotations

from tinytorch.tensor import empty

from . import functional as F
from . import init
from .functional.embedding import check_indices
from .module import Module
from .parameter import Parameter


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``; ``emb(ids)`` gathers rows.

    Ids are int64 tensors of any shape (lists and numpy arrays are accepted too); the output
    has shape (*ids.shape, embedding_dim). An id outside [0, num_embeddings) raises an
    IndexError naming the layer, the id and the table size. The weight is initialised
    N(0, 1), as PyTorch; the row ``padding_idx`` (if given) starts at zero and gets no gradient.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> emb = Embedding(10, 4)
        >>> emb(tt.tensor([[1, 2, 3], [4, 5, 6]])).shape
        (2, 3, 4)
    """

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, dtype=None
    ):
        super().__init__()
        for name, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"Embedding: {name} must be a positive int, got {v!r}")
        if padding_idx is not None:
            if (
                isinstance(padding_idx, bool)
                or not isinstance(padding_idx, int)
                or not -num_embeddings <= padding_idx < num_embeddings
            ):
                raise ValueError(
                    f"Embedding: padding_idx must be an int in [-{num_embeddings}, {num_embeddings}), "
                    f"got {padding_idx!r}"
                )
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = (
            num_embeddings,
            embedding_dim,
            padding_idx,
        )
        self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the table from N(0, 1) (and zero the padding row)."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices):
        ids = check_indices(self._short_repr(), indices, self.num_embeddings)
        return F.embedding(ids, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


__all__ = ["Embedding"]
