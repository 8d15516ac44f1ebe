"""Normalisation: `batch_norm` (statistics over the batch), `layer_norm` (over each sample).

Both compute ``x_hat = (x - mean) * inv_std`` with ``inv_std = 1 / sqrt(var + eps)`` over a
*group* of numbers, then an optional affine ``x_hat * weight + bias``. BatchNorm's group is one
channel across the batch (and H, W); LayerNorm's is one sample's last dims. The variance used to
normalise is the biased one (divide by n), as in PyTorch; BatchNorm's running variance tracks
the unbiased one (n - 1).

Each is one fused op (`BatchNormOp`, `LayerNormOp`) with a C++ kernel (``csrc/norm.cpp``) for
float32 and a numpy reference for the rest. The forward saves only the per-group ``mean`` and
``inv_std`` (a few floats per channel or row), not ``x_hat``; the backward recomputes ``x_hat``
on the fly. Composing the same formula from ``mean``, ``var``, ``sub``, ``mul``... makes about
a dozen passes over memory and ten graph nodes, several keeping a tensor of x's size alive.

The backward over a group of M numbers has a closed form (u = dy * weight):

    dx = inv_std * (u - mean(u) - x_hat * mean(u * x_hat)),   dweight = sum(dy * x_hat),
    dbias = sum(dy)

computed by one kernel (`NormBackward`), which hands dweight and dbias to a second op
(`NormParamGrad`) so that each gradient is its own node in the graph (an op has one output).
The backward of those two ops (gradients of gradients) is written with tensor ops, from the
closed-form second derivatives, so higher-order gradients keep working.
"""

from __future__ import annotations

import math

import numpy as np
from tinytorch.tensor import Tensor, dispatch
from tinytorch.tensor.dispatch import Op
from tinytorch.tensor.dtypes import result_type
from tinytorch.tensor.ops._util import as_tensor, cast_to


def _native():
    from tinytorch.tensor.backend import native

    return native()


def _all_float32(*arrays) -> bool:
    return all(a is None or a.dtype == np.float32 for a in arrays)


class _Groups:
    """Which numbers of ``x`` form one normalisation group, and how the parameters broadcast.

    ``stat_axes``: the axes a group spans (reduced for mean and variance).
    ``stat_shape``: the per-group statistics reshaped to broadcast against x.
    ``param_shape``: weight and bias reshaped to broadcast against x;
    ``param_axes``: the axes summed to get their gradients; ``params``: their own shape.
    """

    def __init__(self, kind: str, shape: tuple[int, ...], k: int = 1):
        nd = len(shape)
        self.kind, self.shape = kind, tuple(shape)
        if kind == "batch":  # x (N, C, ...): a group is one channel
            c = shape[1]
            self.stat_axes = (0,) + tuple(range(2, nd))
            self.param_axes = self.stat_axes
            self.stat_shape = self.param_shape = (1, c) + (1,) * (nd - 2)
            self.params = (c,)
            self.group_size = math.prod(shape) // c if c else 0
        else:  # x (..., *normalized_shape): a group is one sample's last k dims
            self.stat_axes = tuple(range(nd - k, nd))
            self.param_axes = tuple(range(nd - k))
            self.stat_shape = tuple(shape[: nd - k]) + (1,) * k
            self.param_shape = self.params = tuple(shape[nd - k :])
            self.group_size = math.prod(self.params)

    # The kernels take x in its own shape (BatchNorm: (N, C, ...); LayerNorm: the last k dims
    # normalised) and return results of that shape: no reshape, so a gradient is an array of
    # its own, which autograd can store in a leaf's .grad without a defensive copy.

    # --- tensor-op helpers for the double backward (differentiable in every argument)
    def stats(self, x: Tensor, eps: float):
        """mean, inv_std, x_hat of x, as tensor ops (so that they depend on x in the graph)."""
        mu = x.mean(axis=self.stat_axes, keepdims=True)
        inv_std = 1.0 / (x.var(axis=self.stat_axes, keepdims=True, correction=0) + eps).sqrt()
        return mu, inv_std, (x - mu) * inv_std

    def mean(self, v: Tensor) -> Tensor:
        return v.mean(axis=self.stat_axes, keepdims=True)

    def project(self, v: Tensor, x_hat: Tensor) -> Tensor:
        """P(v) = v - mean(v) - x_hat * mean(v * x_hat): the core of the training backward."""
        return v - self.mean(v) - x_hat * self.mean(v * x_hat)

    def sum_params(self, v: Tensor) -> Tensor:
        return v.sum(axis=self.param_axes).reshape(self.params)


class _Stats:
    """The saved per-group statistics: flat arrays ``mean`` and ``inv_std`` (one per group)."""

    def __init__(self, mean: np.ndarray, inv_std: np.ndarray):
        self.mean, self.inv_std = mean, inv_std

    def constants(self, groups: _Groups, dtype) -> tuple[Tensor, Tensor]:
        """mean and inv_std as constant tensors shaped to broadcast against x."""
        return (
            Tensor._wrap(self.mean.reshape(groups.stat_shape).astype(dtype, copy=False)),
            Tensor._wrap(self.inv_std.reshape(groups.stat_shape).astype(dtype, copy=False)),
        )


# ----------------------------------------------------------------------------- backward ops


class NormBackward(Op):
    """(dy, x, weight or nothing) -> dx: the fused BatchNorm / LayerNorm input gradient.

    One kernel pass also computes dweight and dbias when asked (``need_params``); they are
    kept in ``self.params`` for the `NormParamGrad` node that follows, so the sums over the
    group are made once. ``training=False`` (BatchNorm in eval mode): the statistics are
    constants and ``dx = weight * inv_std * dy``.
    """

    def __init__(
        self,
        groups: _Groups,
        stats: _Stats,
        eps: float,
        training: bool,
        has_weight: bool,
        need_params: bool,
    ):
        self.name = f"{groups.kind}_norm_backward"
        self.groups, self.stats, self.eps = groups, stats, eps
        self.training, self.has_weight, self.need_params = training, has_weight, need_params
        self.params: np.ndarray | None = None  # (2, *params): dweight, dbias

    def forward(self, dy, x, weight=None):
        g = self.groups
        m = self.stats.mean.reshape(g.stat_shape)
        s = self.stats.inv_std.reshape(g.stat_shape)
        x_hat = (x - m) * s
        u = dy * weight.reshape(g.param_shape) if weight is not None else dy
        if self.training:
            ax = g.stat_axes
            dx = s * (
                u
                - u.mean(axis=ax, keepdims=True)
                - x_hat * (u * x_hat).mean(axis=ax, keepdims=True)
            )
        else:
            dx = s * u
        if self.need_params:
            self.params = np.stack(
                [
                    (dy * x_hat).sum(axis=g.param_axes).reshape(g.params),
                    dy.sum(axis=g.param_axes).reshape(g.params),
                ]
            )
        return dx.astype(np.result_type(dy, x), copy=False)

    def native(self, dy, x, weight=None):
        if not _all_float32(dy, x, weight, self.stats.mean, self.stats.inv_std):
            return None
        dx, dw, db = _run_backward(
            self.groups,
            self.stats,
            dy,
            x,
            weight,
            self.training,
            need_dx=True,
            need_params=self.need_params,
        )
        if self.need_params:
            self.params = np.stack([dw.reshape(self.groups.params), db.reshape(self.groups.params)])
        return dx

    def backward(self, inputs, out, grad):
        """Gradients of dx with respect to dy, x and weight (G = grad, u = dy * weight):

        training:  d dy = weight * inv_std * P(G),   d weight = sum(dy * inv_std * P(G)),
                   d x = -inv_std^2 * (x_hat mean(G P(u)) + mean(G x_hat) P(u) + mean(u x_hat) P(G))
        eval:      d dy = weight * inv_std * G,      d weight = sum(G * inv_std * dy),   d x = 0
        """
        dy, x = inputs[0], inputs[1]
        w = inputs[2] if self.has_weight else None
        g = self.groups
        wv = w.reshape(g.param_shape) if w is not None else None
        d_dy = None
        if self.training:
            _, s, x_hat = g.stats(x, self.eps)
            pg = g.project(grad, x_hat)
            if dy.requires_grad:
                d_dy = s * pg if wv is None else wv * s * pg
            d_w = g.sum_params(dy * s * pg) if w is not None and w.requires_grad else None
            d_x = None
            if x.requires_grad:
                u = dy if wv is None else dy * wv
                pu = g.project(u, x_hat)
                d_x = -(s * s) * (
                    x_hat * g.mean(grad * pu) + g.mean(grad * x_hat) * pu + g.mean(u * x_hat) * pg
                )
        else:
            _, s = self.stats.constants(g, x.dtype)
            if dy.requires_grad:
                d_dy = s * grad if wv is None else wv * s * grad
            d_w = g.sum_params(grad * s * dy) if w is not None and w.requires_grad else None
            d_x = None
        return (d_dy, d_x) + ((d_w,) if self.has_weight else ())


class NormParamGrad(Op):
    """dy, x -> (2, *params): ``[dweight, dbias] = [sum(dy * x_hat), sum(dy)]`` per parameter.

    Takes the values `NormBackward` (``source``) already computed when there is one; otherwise
    runs the backward kernel without dx.
    """

    def __init__(
        self,
        groups: _Groups,
        stats: _Stats,
        eps: float,
        training: bool,
        source: NormBackward | None = None,
    ):
        self.name = f"{groups.kind}_norm_param_grad"
        self.groups, self.stats, self.eps, self.training = groups, stats, eps, training
        self.source = source

    def _from_source(self):
        src, self.source = self.source, None
        if src is None or src.params is None:
            return None
        params, src.params = src.params, None
        return params

    def forward(self, dy, x):
        params = self._from_source()
        if params is not None:
            return params
        g = self.groups
        x_hat = (x - self.stats.mean.reshape(g.stat_shape)) * self.stats.inv_std.reshape(
            g.stat_shape
        )
        return np.stack(
            [
                (dy * x_hat).sum(axis=g.param_axes).reshape(g.params),
                dy.sum(axis=g.param_axes).reshape(g.params),
            ]
        )

    def native(self, dy, x):
        if self.source is not None and self.source.params is not None:
            return self._from_source()
        if not _all_float32(dy, x, self.stats.mean, self.stats.inv_std):
            return None
        _, dw, db = _run_backward(
            self.groups, self.stats, dy, x, None, self.training, need_dx=False, need_params=True
        )
        return np.stack([dw.reshape(self.groups.params), db.reshape(self.groups.params)])

    def backward(self, inputs, out, grad):
        """With gw, gb = grad[0], grad[1]: d dy = gw * x_hat + gb; d x = inv_std * P(gw * dy)
        (training) or gw * inv_std * dy (eval)."""
        dy, x = inputs
        g = self.groups
        gw, gb = grad[0].reshape(g.param_shape), grad[1].reshape(g.param_shape)
        if self.training:
            _, s, x_hat = g.stats(x, self.eps)
            d_x = s * g.project(gw * dy, x_hat) if x.requires_grad else None
        else:
            m, s = self.stats.constants(g, x.dtype)
            x_hat = (x - m) * s
            d_x = gw * s * dy if x.requires_grad else None
        return (gw * x_hat + gb if dy.requires_grad else None), d_x


def _run_backward(groups, stats, dy, x, weight, training, need_dx, need_params):
    C = _native()
    dyk, xk = np.ascontiguousarray(dy), np.ascontiguousarray(x)
    w = None if weight is None else np.ascontiguousarray(weight).reshape(-1)
    if groups.kind == "batch":
        return C.batch_norm_backward(
            dyk, xk, stats.mean, stats.inv_std, w, training, need_dx, need_params
        )
    return C.layer_norm_backward(
        dyk, xk, stats.mean, stats.inv_std, w, need_dx, need_params, len(groups.params)
    )


class _NormOp(Op):
    """Shared backward of the two forward ops: one `NormBackward` node for dx and one
    `NormParamGrad` node for dweight and dbias, each only when some input needs it."""

    groups: _Groups
    stats: _Stats
    training: bool = True
    eps: float

    def _split(self, xs):
        it = iter(xs[1:])
        w = next(it) if self.has_weight else None
        b = next(it) if self.has_bias else None
        return xs[0], w, b

    def backward(self, inputs, out, grad):
        x, w, b = self._split(inputs)
        need_w = w is not None and w.requires_grad
        need_b = b is not None and b.requires_grad
        need_params = need_w or need_b
        dx = d_params = None
        bwd = None
        if x.requires_grad:
            bwd = NormBackward(
                self.groups, self.stats, self.eps, self.training, w is not None, need_params
            )
            dx = dispatch.apply(bwd, grad, x, *(() if w is None else (w,)))
        if need_params:
            d_params = dispatch.apply(
                NormParamGrad(self.groups, self.stats, self.eps, self.training, bwd), grad, x
            )
        grads = [dx]
        if w is not None:
            grads.append(d_params[0] if need_w else None)
        if b is not None:
            grads.append(d_params[1] if need_b else None)
        return tuple(grads)


# ----------------------------------------------------------------------------- forward ops


class BatchNormOp(_NormOp):
    """BatchNorm: ``y = (x - mean) * inv_std * weight + bias`` per channel of x (N, C, ...).

    Inputs: x, then weight (C,) if ``has_weight``, then bias (C,) if ``has_bias``.

    ``training=True``: mean and biased variance of each channel over the batch (and every dim
    after C), kept in ``self.stats`` and ``self.var`` (for the running statistics).
    ``training=False``: ``mean`` and ``inv_std`` (C,) are given (from the running statistics).
    """

    name = "batch_norm"

    def __init__(
        self,
        shape,
        eps: float,
        training: bool,
        has_weight: bool,
        has_bias: bool,
        mean: np.ndarray | None = None,
        inv_std: np.ndarray | None = None,
    ):
        self.groups = _Groups("batch", shape)
        self.eps, self.training = float(eps), training
        self.has_weight, self.has_bias = has_weight, has_bias
        self.stats = None if training else _Stats(mean, inv_std)
        self.var: np.ndarray | None = None

    def forward(self, *xs):
        x, w, b = self._split(xs)
        g = self.groups
        if self.training:
            mean = x.mean(axis=g.stat_axes)
            self.var = x.var(axis=g.stat_axes)
            self.stats = _Stats(mean, (1.0 / np.sqrt(self.var + self.eps)).astype(x.dtype))
        st = self.stats
        y = (x - st.mean.reshape(g.stat_shape)) * st.inv_std.reshape(g.stat_shape)
        if w is not None:
            y = y * w.reshape(g.param_shape)
        if b is not None:
            y = y + b.reshape(g.param_shape)
        return y

    def native(self, *xs):
        x, w, b = self._split(xs)
        if not _all_float32(x, w, b) or (
            not self.training and not _all_float32(self.stats.mean, self.stats.inv_std)
        ):
            return None
        C = _native()
        xk = np.ascontiguousarray(x)
        if self.training:
            y, mean, inv_std, self.var = C.batch_norm_forward(xk, w, b, self.eps)
            self.stats = _Stats(mean, inv_std)
        else:
            y = C.batch_norm_eval(xk, self.stats.mean, self.stats.inv_std, w, b)
        return y


class LayerNormOp(_NormOp):
    """LayerNorm: x (..., *normalized_shape) normalised over its last ``k`` dims.

    Inputs: x, then weight (normalized_shape) if ``has_weight``, then bias if ``has_bias``.
    Keeps the mean and inv_std of each of the R leading positions, flat (R,), in ``self.stats``.
    """

    name = "layer_norm"

    def __init__(self, shape, k: int, eps: float, has_weight: bool, has_bias: bool):
        self.groups = _Groups("layer", shape, k)
        self.eps, self.has_weight, self.has_bias = float(eps), has_weight, has_bias
        self.stats: _Stats | None = None

    def forward(self, *xs):
        x, w, b = self._split(xs)
        ax = self.groups.stat_axes
        mean = x.mean(axis=ax, keepdims=True)
        inv_std = (1.0 / np.sqrt(x.var(axis=ax, keepdims=True) + self.eps)).astype(x.dtype)
        self.stats = _Stats(mean.reshape(-1), inv_std.reshape(-1))
        y = (x - mean) * inv_std
        if w is not None:
            y = y * w
        if b is not None:
            y = y + b
        return y

    def native(self, *xs):
        x, w, b = self._split(xs)
        if not _all_float32(x, w, b) or self.groups.group_size == 0:
            return None
        C = _native()

        def flat(a):
            return None if a is None else np.ascontiguousarray(a).reshape(-1)

        y, mean, rstd = C.layer_norm_forward(
            np.ascontiguousarray(x), flat(w), flat(b), self.eps, len(self.groups.params)
        )
        self.stats = _Stats(mean, rstd)
        return y


# ----------------------------------------------------------------------------- functions


def _common_dtype(op: str, *ts):
    present = [t for t in ts if t is not None]
    dt = result_type(*(t.data for t in present))
    if dt.kind != "f":
        dt = np.dtype(np.float32)
    return tuple(None if t is None else cast_to(t, dt, op) for t in ts)


def batch_norm(
    x,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
    num_batches_tracked: Tensor | None = None,
) -> Tensor:
    """Normalise each channel (dim 1) of ``x`` (N, C, ...) over the batch and every other dim.

    Training (or no running statistics): use this batch's mean and biased variance, and
    update ``running_mean`` / ``running_var`` in place:
    ``running = (1 - momentum) * running + momentum * batch_stat`` (unbiased variance); with
    ``momentum=None`` a cumulative average over ``num_batches_tracked`` batches.
    Evaluation: use the running statistics.

    One fused op (`BatchNormOp`, C++ for float32); its backward is one fused kernel too.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> x = tt.tensor([[1.0], [3.0]])
        >>> rm, rv = tt.zeros(1), tt.ones(1)
        >>> [round(v, 3) for v in batch_norm(x, rm, rv, training=True).reshape(-1).tolist()]
        [-1.0, 1.0]
        >>> # 0.9 * 0 + 0.1 * 2, 0.9 * 1 + 0.1 * 2 (unbiased)
        >>> round(rm.item(), 4), round(rv.item(), 4)
        (0.2, 1.1)
    """
    x = as_tensor(x, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    weight = None if weight is None else as_tensor(weight, "batch_norm")
    bias = None if bias is None else as_tensor(bias, "batch_norm")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.size != c:
            raise ValueError(
                f"batch_norm: {name} of shape {p.shape} does not match the {c} channels of "
                f"input shape {x.shape}"
            )
    x, weight, bias = _common_dtype("batch_norm", x, weight, bias)
    weight = None if weight is None else weight.reshape(c)
    bias = None if bias is None else bias.reshape(c)
    params = tuple(p for p in (weight, bias) if p is not None)
    use_batch = training or running_mean is None or running_var is None
    if use_batch:
        n = x.size // c if c else 0
        if training and n <= 1:
            raise ValueError(
                "batch_norm: expected more than 1 value per channel when training, got input "
                f"shape {x.shape}"
            )
        op = BatchNormOp(x.shape, eps, True, weight is not None, bias is not None)
        y = dispatch.apply(op, x, *params)
        if training and running_mean is not None and running_var is not None:
            if num_batches_tracked is not None:
                num_batches_tracked.data[...] += 1
            if momentum is None:
                factor = (
                    1.0 / float(num_batches_tracked.data)
                    if num_batches_tracked is not None
                    else 0.0
                )
            else:
                factor = momentum
            batch_var = op.var * (n / (n - 1))
            running_mean.data[...] = (1 - factor) * running_mean.data + factor * op.stats.mean
            running_var.data[...] = (1 - factor) * running_var.data + factor * batch_var
        return y
    dt = x.dtype
    mean = running_mean.data.reshape(c).astype(dt)
    inv_std = (1.0 / np.sqrt(running_var.data.reshape(c).astype(dt) + dt.type(eps))).astype(dt)
    op = BatchNormOp(x.shape, eps, False, weight is not None, bias is not None, mean, inv_std)
    return dispatch.apply(op, x, *params)


def layer_norm(
    x, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims of ``x`` (each sample on its own).

    ``weight`` and ``bias``, when given, have shape ``normalized_shape``. One fused op
    (`LayerNormOp`, C++ for float32) with a fused backward.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> y = layer_norm(tt.tensor([[1.0, 2.0, 3.0]]), (3,))
        >>> [round(v, 3) for v in y.reshape(-1).tolist()]
        [-1.225, 0.0, 1.225]
    """
    x = as_tensor(x, "layer_norm")
    normalized_shape = (
        (normalized_shape,)
        if isinstance(normalized_shape, (int, np.integer))
        else tuple(normalized_shape)
    )
    k = len(normalized_shape)
    if x.ndim < k or tuple(x.shape[x.ndim - k :]) != normalized_shape:
        raise ValueError(
            f"layer_norm: input of shape {x.shape} does not end with normalized_shape "
            f"{normalized_shape}"
        )
    weight = None if weight is None else as_tensor(weight, "layer_norm")
    bias = None if bias is None else as_tensor(bias, "layer_norm")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != normalized_shape:
            raise ValueError(
                f"layer_norm: {name} of shape {p.shape} does not match normalized_shape "
                f"{normalized_shape} (input shape {x.shape})"
            )
    x, weight, bias = _common_dtype("layer_norm", x, weight, bias)
    op = LayerNormOp(x.shape, k, eps, weight is not None, bias is not None)
    return dispatch.apply(op, x, *(p for p in (weight, bias) if p is not None))


__all__ = ["batch_norm", "layer_norm"]
