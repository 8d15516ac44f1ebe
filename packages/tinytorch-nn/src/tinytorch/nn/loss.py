"""Loss modules: `MSELoss`, `L1Loss`, `CrossEntropyLoss`, `NLLLoss`, `BCEWithLogitsLoss`, `BCELoss`.

Each is a thin Module over the function of the same name in `tinytorch.nn.functional`
(called as ``loss_fn(input, target)``); its settings are checked at construction.
"""

from __future__ import annotations

from tinytorch.tensor import Tensor
from tinytorch.tensor.ops._util import as_tensor

from . import functional as F
from .functional.loss import check_reduction
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_reduction(type(self).__name__, reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


def _optional_tensor(owner: str, name: str, value) -> Tensor | None:
    if value is None:
        return None
    t = as_tensor(value, owner)
    if t.dtype.kind != "f":
        t = t.float()
    return t


class MSELoss(_Loss):
    """Mean squared error between input and target (same shapes).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> MSELoss()(tt.tensor([1.0, 2.0]), tt.tensor([1.0, 4.0])).item()
        2.0
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error between input and target (same shapes).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> L1Loss()(tt.tensor([1.0, 2.0]), tt.tensor([1.0, 4.0])).item()
        1.0
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, self.reduction)


class NLLLoss(_Loss):
    """Negative log-likelihood of the target class, from log-probabilities (after `LogSoftmax`).

    Input (N, C) or (N, C, d1, ...), integer target (N,) or (N, d1, ...); targets equal to
    ``ignore_index`` are skipped; ``weight`` (C,) weights classes.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> logp = tt.tensor([[-0.5, -1.0], [-2.0, -0.1]])
        >>> round(NLLLoss()(logp, tt.tensor([0, 1])).item(), 4)
        0.3
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
            raise TypeError(f"NLLLoss: ignore_index must be an int, got {ignore_index!r}")
        self.register_buffer("weight", _optional_tensor("NLLLoss", "weight", weight))
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits against class indices (or class probabilities): log_softmax + NLL.

    Input logits (N, C) or (N, C, d1, ...) (class dim 1); target int64 (N,) or (N, d1, ...).

    Args:
        weight: optional (C,) class weights.
        ignore_index: targets with this value contribute nothing (and are not counted in the mean).
        reduction: 'mean' (default), 'sum' or 'none'.
        label_smoothing: eps in [0, 1]: the target becomes (1 - eps) one-hot + eps / C uniform.

    A label outside [0, C) raises ValueError naming the loss, the label and C.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> loss_fn = CrossEntropyLoss(label_smoothing=0.1)
        >>> logits = tt.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        >>> round(loss_fn(logits, tt.tensor([0, 2])).item(), 4)
        0.7357
    """

    def __init__(
        self,
        weight=None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(reduction)
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
            raise TypeError(f"CrossEntropyLoss: ignore_index must be an int, got {ignore_index!r}")
        if (
            isinstance(label_smoothing, bool)
            or not isinstance(label_smoothing, (int, float))
            or not 0.0 <= label_smoothing <= 1.0
        ):
            raise ValueError(
                f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing!r}"
            )
        self.register_buffer("weight", _optional_tensor("CrossEntropyLoss", "weight", weight))
        self.ignore_index, self.label_smoothing = ignore_index, float(label_smoothing)

    def forward(self, input, target):
        try:
            return F.cross_entropy(
                input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing
            )
        except ValueError as exc:
            raise ValueError(str(exc).replace("cross_entropy:", "CrossEntropyLoss:", 1)) from None

    def extra_repr(self) -> str:
        parts = [super().extra_repr()] if super().extra_repr() else []
        if self.ignore_index != -100:
            parts.append(f"ignore_index={self.ignore_index}")
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(parts)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (sigmoid folded in, computed stably), for multi-label or binary tasks.

    Args:
        weight: optional per-element weight (broadcast against the input).
        reduction: 'mean' (default), 'sum' or 'none'.
        pos_weight: optional weight of the positive term, one per class (last dim): > 1 raises
            recall on rare positives.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> round(BCEWithLogitsLoss()(tt.tensor([0.0]), tt.tensor([1.0])).item(), 4)
        0.6931
    """

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", _optional_tensor("BCEWithLogitsLoss", "weight", weight))
        self.register_buffer(
            "pos_weight", _optional_tensor("BCEWithLogitsLoss", "pos_weight", pos_weight)
        )

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, self.pos_weight, self.reduction
        )


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities in [0, 1] (prefer `BCEWithLogitsLoss` on logits).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> round(BCELoss()(tt.tensor([0.5]), tt.tensor([1.0])).item(), 4)
        0.6931
    """

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _optional_tensor("BCELoss", "weight", weight))

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


__all__ = ["MSELoss", "L1Loss", "NLLLoss", "CrossEntropyLoss", "BCEWithLogitsLoss", "BCELoss"]
