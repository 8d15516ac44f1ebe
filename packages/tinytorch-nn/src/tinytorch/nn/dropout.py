"""`Dropout`: randomly zero activations while training (a regulariser); the identity in eval mode."""

from __future__ import annotations

from . import functional as F
from .module import Module


class Dropout(Module):
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by 1/(1-p) in training.

    Because survivors are scaled up while training, evaluation needs no rescaling: after
    ``model.eval()`` Dropout returns its input unchanged. Masks are drawn from ``generator``
    or tinytorch.tensor's default generator (seed it with `tinytorch.tensor.manual_seed`).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> drop = Dropout(0.5)
        >>> sorted(set(drop(tt.ones(100)).tolist()))
        [0.0, 2.0]
        >>> drop.eval()(tt.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.generator = generator

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


__all__ = ["Dropout"]
