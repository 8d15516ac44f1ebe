"""Loss functions: MSE, L1, cross-entropy (with label smoothing, ignore_index, class weights), NLL, BCE.

Every loss takes ``reduction``: ``"mean"`` (default), ``"sum"`` or ``"none"`` (the
per-element losses). Classification losses take logits or log-probabilities of
shape (N, C) or (N, C, d1, ...) (class dim 1, as PyTorch) with integer targets of
shape (N,) or (N, d1, ...). A target outside [0, C) that is not ``ignore_index``
raises a ValueError naming the loss, the label and the number of classes.

Cross-entropy is computed as NLL of `log_softmax` (max-subtracted, so large logits
cannot overflow), and BCE-with-logits through `logsigmoid`: never ``log(sigmoid(x))``.
"""

from __future__ import annotations

import numpy as np
from tinytorch.tensor import Tensor, arange
from tinytorch.tensor.ops._util import as_tensor

from .activation import log_softmax, logsigmoid

_REDUCTIONS = ("mean", "sum", "none")


def check_reduction(name: str, reduction: str) -> str:
    """``reduction`` if it is 'mean', 'sum' or 'none', else a ValueError naming the loss."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _same_shape(name: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: input shape {input.shape} and target shape {target.shape} differ; they must "
            "match exactly (broadcasting here is almost always a bug, e.g. (N, 1) against (N,))"
        )


def _float_pair(name: str, input, target) -> tuple[Tensor, Tensor]:
    input, target = as_tensor(input, name), as_tensor(target, name)
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: input must be a floating-point tensor, got {input.dtype}")
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    return input, target


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """Mean squared error: (input - target)^2, reduced.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> mse_loss(tt.tensor([1.0, 2.0]), tt.tensor([1.0, 4.0])).item()
        2.0
    """
    check_reduction("mse_loss", reduction)
    input, target = _float_pair("mse_loss", input, target)
    _same_shape("mse_loss", input, target)
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error: |input - target|, reduced.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> l1_loss(tt.tensor([1.0, 2.0]), tt.tensor([1.0, 4.0])).item()
        1.0
    """
    check_reduction("l1_loss", reduction)
    input, target = _float_pair("l1_loss", input, target)
    _same_shape("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def _class_layout(name: str, input: Tensor, target: Tensor) -> tuple[Tensor, Tensor, tuple, int]:
    """Flatten (N, C, d...) to (M, C) with the class dim last, and targets to (M,)."""
    if input.dtype.kind != "f":
        raise TypeError(
            f"{name}: input must be a floating-point tensor of scores, got {input.dtype}"
        )
    if input.ndim == 1:  # one unbatched sample (C,) with a 0-d target
        expected = ()
    elif input.ndim >= 2:
        expected = (input.shape[0],) + tuple(input.shape[2:])
    else:
        raise ValueError(
            f"{name}: input must have shape (N, C) or (N, C, d1, ...), got {input.shape}"
        )
    if tuple(target.shape) != expected:
        raise ValueError(
            f"{name}: input of shape {input.shape} needs a target of shape {expected}, "
            f"got target shape {target.shape}"
        )
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    if input.ndim == 1:
        flat = input.reshape(1, c)
    elif input.ndim == 2:
        flat = input
    else:
        flat = input.permute(0, *range(2, input.ndim), 1).reshape(-1, c)
    return flat, target.reshape(-1), expected, c


def _class_targets(name: str, target, c: int, ignore_index: int) -> Tensor:
    target = as_tensor(target, name)
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: target must hold integer class indices (int64), got {target.dtype} "
            "(for class probabilities give cross_entropy a float target of the input's shape)"
        )
    t = target.data
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    if bad.any():
        label = int(t[bad].reshape(-1)[0])
        raise ValueError(
            f"{name}: target label {label} is out of range for {c} classes "
            f"(valid labels are 0..{c - 1}, or ignore_index={ignore_index})"
        )
    return target if target.dtype == np.int64 else target.long()


def _nll(
    name: str, logp: Tensor, target, weight: Tensor | None, ignore_index: int, reduction: str
) -> tuple[Tensor, Tensor, np.ndarray, Tensor | None]:
    """Per-element NLL (M,), the reduced loss, the keep mask (M,), and per-element weights."""
    c = logp.shape[1] if logp.ndim >= 2 else logp.shape[0]
    target = _class_targets(name, target, c, ignore_index)
    flat, t, out_shape, c = _class_layout(name, logp, target)
    keep = t.data != ignore_index
    safe = np.where(keep, t.data, 0)
    picked = -flat[arange(flat.shape[0]), Tensor._wrap(safe)]  # (M,)
    keep_f = Tensor._wrap(keep.astype(flat.dtype))
    w = keep_f
    if weight is not None:
        w = Tensor._wrap(weight.data.astype(flat.dtype, copy=False)[safe]) * keep_f
    per = picked * w
    if reduction == "mean":
        reduced = per.sum() / w.sum()
    elif reduction == "sum":
        reduced = per.sum()
    else:
        reduced = per.reshape(*out_shape)
    return per, reduced, keep, w


def _check_weight(name: str, weight, c: int) -> Tensor | None:
    if weight is None:
        return None
    weight = as_tensor(weight, name)
    if weight.shape != (c,):
        raise ValueError(
            f"{name}: weight must have one entry per class, shape ({c},), got {weight.shape}"
        )
    return weight


def nll_loss(
    input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood of the target class, from log-probabilities ``input`` (N, C, ...).

    ``mean`` divides by the summed weights of the non-ignored targets (their count without
    ``weight``), as PyTorch does.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> logp = tt.tensor([[-0.5, -1.0], [-2.0, -0.1]])
        >>> round(nll_loss(logp, tt.tensor([0, 1])).item(), 4)
        0.3
    """
    check_reduction("nll_loss", reduction)
    input = as_tensor(input, "nll_loss")
    c = input.shape[1] if input.ndim >= 2 else input.shape[0]
    weight = _check_weight("nll_loss", weight, c)
    return _nll("nll_loss", input, target, weight, ignore_index, reduction)[1]


def cross_entropy(
    input,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits ``input`` (N, C) or (N, C, d1, ...) against class indices or probabilities.

    With integer targets (N, d1, ...): ``nll_loss(log_softmax(input, dim=1), target)``, where
    ``ignore_index`` targets contribute nothing, and with ``label_smoothing = eps`` the target
    distribution becomes (1 - eps) one-hot + eps / C uniform (PyTorch's formula, including
    class ``weight``). A float ``target`` of the input's shape is read as class probabilities.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> logits = tt.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        >>> round(cross_entropy(logits, tt.tensor([0, 2])).item(), 4)
        0.6691
    """
    name = "cross_entropy"
    check_reduction(name, reduction)
    if (
        isinstance(label_smoothing, bool)
        or not isinstance(label_smoothing, (int, float))
        or not 0.0 <= label_smoothing <= 1.0
    ):
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    input = as_tensor(input, name)
    if input.dtype.kind != "f":
        raise TypeError(
            f"{name}: input must be a floating-point tensor of logits, got {input.dtype}"
        )
    if input.ndim == 0:
        raise ValueError(
            f"{name}: input must have shape (N, C) or (N, C, d1, ...), got {input.shape}"
        )
    class_dim = 0 if input.ndim == 1 else 1
    c = input.shape[class_dim]
    weight = _check_weight(name, weight, c)
    logp = log_softmax(input, dim=class_dim)
    target = as_tensor(target, name)

    if target.dtype.kind == "f":  # class probabilities
        if target.shape != input.shape:
            raise ValueError(
                f"{name}: a probability target must have the input's shape {input.shape}, got {target.shape}"
            )
        target = target.to(input.dtype)
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / c
        wshape = (c,) + (1,) * (input.ndim - 1 - class_dim)
        terms = (
            logp * target
            if weight is None
            else logp * target * weight.to(input.dtype).reshape(*wshape)
        )
        per = -terms.sum(axis=class_dim)
        if reduction == "mean":
            return per.sum() / (input.shape[0] if input.ndim > 1 else 1)
        return _reduce(per, reduction)

    per, nll, keep, _ = _nll(name, logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return nll
    flat = _class_layout(name, logp, target)[0]  # (M, C)
    if weight is not None:
        smooth = -(flat * weight.to(flat.dtype)).sum(axis=1)
    else:
        smooth = -flat.sum(axis=1)
    smooth = smooth * Tensor._wrap(keep.astype(flat.dtype))
    if reduction == "mean":
        if weight is not None:
            t = target.data.reshape(-1)
            denom = float(weight.data[t[keep]].sum())
        else:
            denom = float(keep.sum())
        smooth = smooth.sum() / denom
    elif reduction == "sum":
        smooth = smooth.sum()
    else:
        smooth = smooth.reshape(*target.shape)
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / c)


def binary_cross_entropy_with_logits(
    input, target, weight=None, pos_weight=None, reduction: str = "mean"
) -> Tensor:
    """Binary cross-entropy of logits: -(pos_weight * y * log s(x) + (1 - y) * log(1 - s(x))).

    Computed with `logsigmoid` (log s(x) and log(1 - s(x)) = log s(-x)), which is stable for
    any logit and has the right gradient s(x) - y everywhere, including x = 0. ``pos_weight``
    (broadcast against the last dim) scales the positive term, to balance rare positives;
    ``weight`` scales each element.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> round(binary_cross_entropy_with_logits(tt.tensor([0.0]), tt.tensor([1.0])).item(), 4)
        0.6931
    """
    name = "binary_cross_entropy_with_logits"
    check_reduction(name, reduction)
    input, target = _float_pair(name, input, target)
    _same_shape(name, input, target)
    pos = logsigmoid(input)
    neg = logsigmoid(-input)
    if pos_weight is not None:
        pos_weight = as_tensor(pos_weight, name).to(input.dtype)
        loss = -(pos * target * pos_weight + neg * (1 - target))
    else:
        loss = -(pos * target + neg * (1 - target))
    if weight is not None:
        loss = loss * as_tensor(weight, name).to(input.dtype)
    return _reduce(loss, reduction)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities ``input`` in [0, 1]; logs are clamped at -100 as PyTorch.

    Prefer `binary_cross_entropy_with_logits` (more stable) when you have logits.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> round(binary_cross_entropy(tt.tensor([0.5]), tt.tensor([1.0])).item(), 4)
        0.6931
    """
    name = "binary_cross_entropy"
    check_reduction(name, reduction)
    input, target = _float_pair(name, input, target)
    _same_shape(name, input, target)
    if input.size and (input.data.min() < 0 or input.data.max() > 1):
        raise ValueError(
            f"{name}: input must hold probabilities in [0, 1]; for logits use "
            "binary_cross_entropy_with_logits"
        )
    log_p = input.log().maximum(-100.0)
    log_q = (1 - input).log().maximum(-100.0)
    loss = -(target * log_p + (1 - target) * log_q)
    if weight is not None:
        loss = loss * as_tensor(weight, name).to(input.dtype)
    return _reduce(loss, reduction)


__all__ = [
    "mse_loss",
    "l1_loss",
    "nll_loss",
    "cross_entropy",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy",
    "check_reduction",
]
