"""`Flatten`: merge dimensions into one, e.g. (N, C, H, W) -> (N, C*H*W) between conv and linear layers."""

from __future__ import annotations

from tinytorch.tensor.ops._util import as_tensor

from .module import Module


class Flatten(Module):
    """Merge dims ``start_dim`` .. ``end_dim`` (default: all but the batch dim) into one.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> Flatten()(tt.zeros(2, 3, 4, 5)).shape
        (2, 60)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        for name, v in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"Flatten: {name} must be an int, got {v!r}")
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return as_tensor(x, "Flatten").flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


__all__ = ["Flatten"]
