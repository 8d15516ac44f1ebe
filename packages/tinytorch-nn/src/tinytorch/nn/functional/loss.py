"""Loss functions: MSE, L1, cross-entropy (label smoothing, ignore_index, class weights), NLL, BCE.

Every loss takes ``reduction``: ``"mean"`` (default), ``"sum"`` or ``"none"`` (the
per-element losses). Classification losses take logits or log-probabilities of
shape (N, C) or (N, C, d1, ...) (class dim 1, as PyTorch) with integer targets of
shape (N,) or (N, d1, ...). A target outside [0, C) that is not ``ignore_index``
raises a ValueError naming the loss, the label and the number of classes.

Cross-entropy with integer targets runs one fused op, `CrossEntropyOp` (log-softmax and
NLL in one pass over the logits, saving only each row's log-sum-exp; a C++ kernel for
float32 on the native backend), with a one-kernel backward. Probability targets (and a
class weight that itself requires grad) take the composed path: NLL of `log_softmax`
(max-subtracted, so large logits cannot overflow). BCE-with-logits goes through
`logsigmoid`: never ``log(sigmoid(x))``.
"""

from __future__ import annotations

import math

import numpy as np
from tinytorch.tensor import Tensor, arange, dispatch
from tinytorch.tensor.backend import native as _native
from tinytorch.tensor.ops._util import as_tensor

from .activation import SoftmaxBackwardOp, SoftmaxOp, log_softmax, logsigmoid

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
    """Cross-entropy of logits (N, C) or (N, C, d1, ...) against class indices or probabilities.

    With integer targets (N, d1, ...): ``nll_loss(log_softmax(input, dim=1), target)``, where
    ``ignore_index`` targets contribute nothing, and with ``label_smoothing = eps`` the target
    distribution becomes (1 - eps) one-hot + eps / C uniform (PyTorch's formula, including
    class ``weight``). A float ``target`` of the input's shape is read as class probabilities.

    Integer targets run as one fused op (`CrossEntropyOp`): a single pass over the logits
    forward and one backward kernel, never materialising the log-probabilities.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> logits = tt.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        >>> round(cross_entropy(logits, tt.tensor([0, 2])).item(), 4)
        0.6691
    """
    name = "cross_entropy"
    input, target, weight = _check_cross_entropy(
        name, input, target, weight, reduction, label_smoothing
    )
    if target.dtype.kind in "iu" and (weight is None or not weight.requires_grad):
        return _cross_entropy_fused(input, target, weight, ignore_index, reduction, label_smoothing)
    return _cross_entropy_composed(input, target, weight, ignore_index, reduction, label_smoothing)


def _check_cross_entropy(name, input, target, weight, reduction, label_smoothing):
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
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    return input, as_tensor(target, name), _check_weight(name, weight, c)


def _cross_entropy_fused(input, target, weight, ignore_index, reduction, label_smoothing):
    """Integer targets: flatten to (M, C) logits and (M,) labels, then one `CrossEntropyOp`."""
    name = "cross_entropy"
    if input.ndim == 1:
        expected, c = (), input.shape[0]
        flat = input.reshape(1, c)
    else:
        expected, c = (input.shape[0],) + tuple(input.shape[2:]), input.shape[1]
        flat = input if input.ndim == 2 else input.permute(0, *range(2, input.ndim), 1)
        flat = flat.reshape(math.prod(expected), c)
    if tuple(target.shape) != expected:
        raise ValueError(
            f"{name}: input of shape {input.shape} needs a target of shape {expected}, "
            f"got target shape {target.shape}"
        )
    t = target.data.reshape(-1).astype(np.int64, copy=False)
    w = None if weight is None else weight.data.astype(input.dtype, copy=False)
    op = CrossEntropyOp(t, w, int(ignore_index), reduction, float(label_smoothing))
    loss = dispatch.apply(op, flat)
    return loss.reshape(*expected) if reduction == "none" else loss


class CrossEntropyOp(dispatch.Op):
    """Fused softmax + cross-entropy of (M, C) logits against integer labels ``target`` (M,).

    Per row i with label t (rows with ``ignore_index`` give 0), PyTorch's formula:
    ``loss_i = (1 - eps) w_t (lse_i - x_it) + (eps / C) sum_c w_c (lse_i - x_ic)``, with
    lse_i the row's log-sum-exp (w = 1 without class weights). 'mean' divides the sum by the
    kept rows' ``w_t`` (their count without weights), 'sum' sums, 'none' returns (M,).
    The forward saves lse (M floats) and the weight sum on the op; the backward is
    `CrossEntropyBackwardOp`, one pass: ``(softmax - target distribution) * weights * grad``.
    """

    name = "cross_entropy"

    def __init__(self, target, weight, ignore_index: int, reduction: str, label_smoothing: float):
        self.target, self.weight = target, weight
        self.ignore_index, self.reduction, self.label_smoothing = (
            ignore_index,
            reduction,
            label_smoothing,
        )
        self.lse = None  # (M,), set by the forward
        self.weight_sum = None  # sum of the kept labels' weights, set by the forward

    def _reduce(self, loss, total, weight_sum, dtype):
        self.weight_sum = float(weight_sum)
        if self.reduction == "none":
            return loss
        if self.reduction == "sum":
            return np.asarray(total, dtype=dtype)
        with np.errstate(divide="ignore", invalid="ignore"):  # all ignored: 0 / 0 = nan, as PyTorch
            return np.asarray(np.float64(total) / np.float64(weight_sum), dtype=dtype)

    def forward(self, x):
        m, c = x.shape
        t, eps = self.target, self.label_smoothing
        keep = t != self.ignore_index
        bad = keep & ((t < 0) | (t >= c))
        if bad.any():
            label = int(t[bad][0])
            raise ValueError(
                f"cross_entropy: target label {label} is out of range for {c} classes "
                f"(valid labels are 0..{c - 1}, or ignore_index={self.ignore_index})"
            )
        safe = np.where(keep, t, 0)
        w = np.ones(c, dtype=x.dtype) if self.weight is None else self.weight
        if c == 0:
            lse = np.full(m, -np.inf, dtype=x.dtype)
        else:
            mx = x.max(axis=1, keepdims=True)
            lse = (mx + np.log(np.exp(x - mx).sum(axis=1, keepdims=True)))[:, 0]
        self.lse = lse
        wt = w[safe] * keep  # (M,), 0 for ignored rows
        loss = wt * (lse - x[np.arange(m), safe])
        if eps > 0:
            smooth = (w * (lse[:, None] - x)).sum(axis=1) * keep
            loss = (1 - eps) * loss + (eps / c) * smooth
        loss = loss.astype(x.dtype, copy=False)
        return self._reduce(loss, loss.sum(dtype=np.float64), wt.sum(dtype=np.float64), x.dtype)

    def native(self, x):
        if x.dtype != np.float32:
            return None
        loss, lse, total, weight_sum = _native().cross_entropy_forward(
            x, self.target, self.weight, self.ignore_index, self.label_smoothing
        )
        self.lse = lse
        return self._reduce(loss, total, weight_sum, x.dtype)

    def backward(self, inputs, out, grad):
        return (dispatch.apply(CrossEntropyBackwardOp(self), inputs[0], grad),)


class CrossEntropyBackwardOp(dispatch.Op):
    """d(loss)/d(logits) of a `CrossEntropyOp` for inputs (logits (M, C), grad), one pass.

    dx_ij = s_i (a_i p_ij - b_ij): p = softmax(x) = exp(x - lse), s_i = grad (per row for
    'none') / weight sum for 'mean' (0 for ignored rows), a_i = (1 - eps) w_t + (eps / C) sum(w),
    b_ij = (1 - eps) w_t [j == t] + (eps / C) w_j. Its own backward (second order) is written
    with ops: d/dx is softmax's backward of G * s * a, d/dgrad sums G * (a p - b).
    """

    name = "cross_entropy_backward"

    def __init__(self, fwd: CrossEntropyOp):
        self.fwd = fwd

    def _row_scale(self, dtype):
        """keep_i / weight_sum ('mean') or keep_i, as an (M,) array."""
        f = self.fwd
        keep = f.target != f.ignore_index
        scale = 1.0
        if f.reduction == "mean":  # a zero weight sum gives inf (and nan gradients), as PyTorch
            scale = 1.0 / f.weight_sum if f.weight_sum else math.inf
        return np.where(keep, dtype.type(scale), dtype.type(0))

    def _dense_parts(self, dtype, c):
        """a (M,) and b (M, C) of the docstring (b over all rows; s zeroes the ignored ones)."""
        f, eps = self.fwd, self.fwd.label_smoothing
        w = np.ones(c, dtype=dtype) if f.weight is None else f.weight.astype(dtype, copy=False)
        safe = np.where(f.target != f.ignore_index, f.target, 0)
        wt = w[safe]
        a = (1 - eps) * wt + (eps / c) * w.sum()
        b = np.zeros((len(safe), c), dtype=dtype)
        b += (eps / c) * w
        b[np.arange(len(safe)), safe] += (1 - eps) * wt
        return a.astype(dtype), b

    def forward(self, x, g):
        f = self.fwd
        p = np.exp(x - f.lse[:, None].astype(x.dtype, copy=False))
        a, b = self._dense_parts(x.dtype, x.shape[1])
        s = self._row_scale(x.dtype) * g  # g: () or (M,)
        return (s[:, None] * (a[:, None] * p - b)).astype(x.dtype, copy=False)

    def native(self, x, g):
        if not (x.dtype == np.float32 and g.dtype == np.float32) or self.fwd.lse.dtype != x.dtype:
            return None
        f = self.fwd
        scale = 1.0
        if f.reduction == "mean":
            scale = 1.0 / f.weight_sum if f.weight_sum else math.inf
        return _native().cross_entropy_backward(
            x, f.lse, f.target, g.reshape(-1), f.weight, f.ignore_index, f.label_smoothing, scale
        )

    def backward(self, inputs, out, grad):
        x, g = inputs
        dt = x.dtype
        a, b = self._dense_parts(dt, x.shape[1])
        c = self._row_scale(dt)
        p = dispatch.apply(SoftmaxOp(1), x)
        gx = gg = None
        if x.requires_grad:
            s = (g.reshape(-1, 1) if g.ndim else g) * Tensor._wrap((c * a)[:, None])  # (M, 1)
            gx = dispatch.apply(SoftmaxBackwardOp(1), p, grad * s)
        if g.requires_grad:
            rows = (grad * (p * Tensor._wrap(a[:, None]) - Tensor._wrap(b))).sum(axis=1)
            rows = rows * Tensor._wrap(c)
            gg = rows.sum() if g.ndim == 0 else rows
        return gx, gg


def _cross_entropy_composed(input, target, weight, ignore_index, reduction, label_smoothing):
    """The composed path: ``log_softmax`` then NLL (probability targets, differentiable weights)."""
    name = "cross_entropy"
    class_dim = 0 if input.ndim == 1 else 1
    c = input.shape[class_dim]
    logp = log_softmax(input, dim=class_dim)

    if target.dtype.kind == "f":  # class probabilities
        if target.shape != input.shape:
            raise ValueError(
                f"{name}: a probability target must have the input's shape {input.shape}, "
                f"got {target.shape}"
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
    """Binary cross-entropy of probabilities ``input`` in [0, 1]; logs clamped at -100 as PyTorch.

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
    "CrossEntropyOp",
    "CrossEntropyBackwardOp",
    "mse_loss",
    "l1_loss",
    "nll_loss",
    "cross_entropy",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy",
    "check_reduction",
]
