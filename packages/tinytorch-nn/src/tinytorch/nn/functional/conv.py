"""Convolution and pooling as functions: conv2d, im2col / col2im, max/avg/global pooling.

A convolution is a matrix product in disguise. `im2col` copies every receptive
field (the C x kh x kw patch under each output pixel) into one column of a matrix;
multiplying the (O, C*kh*kw) weight matrix by that column matrix gives every output
pixel of every filter at once. `col2im` is im2col's adjoint: it adds each column
back onto the pixels it came from (overlapping patches add up).

`conv2d` is one fused op, `Conv2dOp`, with gradient ops `Conv2dGradInput` (dx),
`Conv2dGradWeight` (dw) and `Conv2dGradBias` (db). Their numpy references are exactly
the im2col + matmul story above. On the native backend (float32) they run C++ kernels
(``csrc/conv.cpp``, explained in docs/kernels/conv.md) that pack receptive fields
straight into the GEMM's panels, so the column matrix, kh*kw copies of the input, is
never built, and autograd keeps only x and the weight for backward. Conv is bilinear,
so each gradient op's backward is made of the same three ops: gradients of any order.

Pooling ops (`MaxPool2dOp` / `MaxPoolScatter`, `AvgPool2dOp` / `AvgPool2dGrad`) work the
same way, with C++ kernels in ``csrc/pool.cpp``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from tinytorch.tensor import Tensor, dispatch
from tinytorch.tensor.dispatch import Op
from tinytorch.tensor.ops._util import as_tensor

Pair = tuple[int, int]


def _pair(op: str, what: str, value, minimum: int) -> Pair:
    """``value`` (an int or a pair of ints) as a pair, each >= ``minimum`` (errors name ``op``)."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair
    ):
        raise TypeError(f"{op}: {what} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in pair):
        raise ValueError(f"{op}: {what} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Output length of a conv or pool along one axis: floor((size + 2p - d(k-1) - 1) / s) + 1.

    Examples:
        >>> conv_output_size(32, 3, 1, 0)
        30
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


class _Geometry:
    """Kernel, stride, padding and dilation of one im2col / col2im, plus the sizes they imply."""

    def __init__(self, op: str, in_shape: tuple[int, ...], kernel_size, stride, padding, dilation):
        if len(in_shape) != 4:
            raise ValueError(
                f"{op}: expected an input of shape (N, C, H, W), got shape {tuple(in_shape)}"
            )
        self.in_shape = tuple(int(s) for s in in_shape)
        self.kernel_size = _pair(op, "kernel_size", kernel_size, 1)
        self.stride = _pair(op, "stride", stride, 1)
        self.padding = _pair(op, "padding", padding, 0)
        self.dilation = _pair(op, "dilation", dilation, 1)
        _, _, h, w = self.in_shape
        self.out_hw = tuple(
            conv_output_size(n, k, s, p, d)
            for n, k, s, p, d in zip(
                (h, w), self.kernel_size, self.stride, self.padding, self.dilation, strict=True
            )
        )
        if min(self.out_hw) < 1:
            raise ValueError(
                f"{op}: kernel_size {self.kernel_size} (dilation {self.dilation}) does not fit "
                f"an input of shape {self.in_shape} with padding {self.padding}"
            )

    def args(self) -> tuple:
        return self.in_shape, self.kernel_size, self.stride, self.padding, self.dilation


class Im2Col(Op):
    """x (N, C, H, W) -> cols (N, C*kh*kw, OH*OW): column l is output pixel l's receptive field.

    Rows are ordered (c, i, j) like a flattened (C, kh, kw) weight, so that
    ``weight.reshape(O, -1) @ cols`` is the convolution.
    """

    name = "im2col"

    def __init__(self, in_shape, kernel_size, stride=1, padding=0, dilation=1):
        self.geometry = _Geometry("im2col", in_shape, kernel_size, stride, padding, dilation)

    def forward(self, x):
        # BEGIN SOLUTION 06 im2col
        g = self.geometry
        n, c, _, _ = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = g.kernel_size, g.stride, g.padding, g.dilation
        oh, ow = g.out_hw
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
        # A strided view of every (dilated) window, no copy yet: (N, C, H', W', kh_eff, kw_eff).
        win = sliding_window_view(xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
        win = win[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :oh, :ow]  # (N, C, OH, OW, kh, kw)
        # The one copy: (N, C, kh, kw, OH, OW) in row-major order, read as (N, C*kh*kw, OH*OW).
        cols = np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3))
        return cols.reshape(n, c * kh * kw, oh * ow)
        # END SOLUTION

    def backward(self, inputs, out, grad):
        return (dispatch.apply(Col2Im(*self.geometry.args()), grad),)


class Col2Im(Op):
    """cols (N, C*kh*kw, OH*OW) -> x (N, C, H, W): each column added back onto its receptive field.

    The adjoint of `Im2Col` (same arguments): where windows overlap the values add.
    """

    name = "col2im"

    def __init__(self, out_shape, kernel_size, stride=1, padding=0, dilation=1):
        self.geometry = _Geometry("col2im", out_shape, kernel_size, stride, padding, dilation)

    def forward(self, cols):
        g = self.geometry
        n, c, h, w = g.in_shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = g.kernel_size, g.stride, g.padding, g.dilation
        oh, ow = g.out_hw
        cols = cols.reshape(n, c, kh, kw, oh, ow)
        xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
        # kh*kw strided adds, one per kernel offset, each over all (N, C, OH, OW): much faster
        # than np.add.at, and no two elements of one add overlap, so += is exact.
        for i in range(kh):
            for j in range(kw):
                rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)  # the OH rows tap (i, j) read
                cols_ = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
                xp[:, :, rows, cols_] += cols[:, :, i, j]
        return np.ascontiguousarray(xp[:, :, ph : ph + h, pw : pw + w]) if ph or pw else xp

    def backward(self, inputs, out, grad):
        return (dispatch.apply(Im2Col(*self.geometry.args()), grad),)


def _check_image(op: str, x: Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"{op}: expected an input of shape (N, C, H, W), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {x.dtype}")


def im2col(x, kernel_size, stride=1, padding=0, dilation=1) -> Tensor:
    """Unfold every receptive field of ``x`` (N, C, H, W) into a column: (N, C*kh*kw, OH*OW).

    The same as PyTorch's ``F.unfold``. Differentiable (its backward is `col2im`).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> im2col(tt.ones(2, 3, 5, 5), 3).shape
        (2, 27, 9)
    """
    x = as_tensor(x, "im2col")
    _check_image("im2col", x)
    return dispatch.apply(Im2Col(x.shape, kernel_size, stride, padding, dilation), x)


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1) -> Tensor:
    """Fold columns (N, C*kh*kw, OH*OW) into an ``output_size`` (N, C, H, W) image, adding overlaps.

    The adjoint of `im2col` (PyTorch's ``F.fold``, with the full output shape given).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> col2im(tt.ones(1, 4, 4), (1, 1, 3, 3), 2)[0, 0].tolist()
        [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    cols = as_tensor(cols, "col2im")
    op = Col2Im(tuple(output_size), kernel_size, stride, padding, dilation)
    n, c, _, _ = op.geometry.in_shape
    kh, kw = op.geometry.kernel_size
    want = (n, c * kh * kw, math.prod(op.geometry.out_hw))
    if cols.shape != want:
        raise ValueError(
            f"col2im: expected columns of shape {want} for output size {tuple(output_size)}, "
            f"got shape {cols.shape}"
        )
    return dispatch.apply(op, cols)


# ----------------------------------------------------------------------------- conv2d ops


def _native_conv():
    """The C++ extension module (``tinytorch.tensor._C``) with the conv and pool kernels."""
    from tinytorch.tensor.backend import native

    return native()


def _f32(*arrays) -> bool:
    return all(a.dtype == np.float32 for a in arrays)


def _readable(a: np.ndarray) -> np.ndarray:
    """``a`` as the conv kernels read it: any non-negative strides, else a contiguous copy."""
    if a.flags.aligned and all(s >= 0 and s % a.itemsize == 0 for s in a.strides):
        return a
    return np.ascontiguousarray(a)


class Conv2dOp(Op):
    """x (N, C, H, W), weight (O, C, kh, kw)[, bias (O,)] -> (N, O, OH, OW), in one fused op.

    The numpy reference is im2col + one matmul per image; the native kernel
    (``csrc/conv.cpp``) packs the receptive fields straight into GEMM panels and
    never builds the column matrix. Conv is bilinear, so its gradients are convs
    too: dx is `Conv2dGradInput` (grad_out, weight), dw is `Conv2dGradWeight`
    (x, grad_out), and the bias gradient is a sum. Each of those has a backward
    made of the three ops again, so gradients of any order work.
    """

    name = "conv2d"

    def __init__(self, in_shape, kernel_size, stride=1, padding=0, dilation=1):
        self.geometry = _Geometry("conv2d", in_shape, kernel_size, stride, padding, dilation)

    def forward(self, x, weight, bias=None):
        # BEGIN SOLUTION 06 conv2d
        g = self.geometry
        o = weight.shape[0]
        cols = Im2Col(*g.args()).forward(x)  # (N, C*kh*kw, OH*OW)
        out = np.matmul(weight.reshape(o, -1), cols)  # (N, O, OH*OW): one GEMM per image
        if bias is not None:
            out = out + bias.reshape(1, o, 1)  # not +=: a float64 bias promotes, as before
        return out.reshape(x.shape[0], o, *g.out_hw)
        # END SOLUTION

    def native(self, x, weight, bias=None):
        if not _f32(x, weight, *(() if bias is None else (bias,))):
            return None
        g = self.geometry
        return _native_conv().conv2d_forward(
            _readable(x), weight, bias, g.stride, g.padding, g.dilation
        )

    def backward(self, inputs, out, grad):
        x, weight = inputs[0], inputs[1]
        args = self.geometry.args()
        gx = dispatch.apply(Conv2dGradInput(*args), grad, weight) if x.requires_grad else None
        gw = dispatch.apply(Conv2dGradWeight(*args), x, grad) if weight.requires_grad else None
        if len(inputs) < 3:
            return gx, gw
        gb = dispatch.apply(Conv2dGradBias(), grad) if inputs[2].requires_grad else None
        return gx, gw, gb


class Conv2dGradInput(Op):
    """grad_out (N, O, OH, OW), weight (O, C, kh, kw) -> dL/dx (N, C, H, W) of a conv2d.

    ``col2im(weight^T @ grad_out)``: every output gradient goes back, weighted, onto the
    input pixels of its window. Its arguments are the conv's (``in_shape`` is x's shape).
    """

    name = "conv2d_grad_input"

    def __init__(self, in_shape, kernel_size, stride=1, padding=0, dilation=1):
        self.geometry = _Geometry(
            "conv2d_grad_input", in_shape, kernel_size, stride, padding, dilation
        )

    def forward(self, grad_out, weight):
        g = self.geometry
        n, o = grad_out.shape[:2]
        dcols = np.matmul(weight.reshape(o, -1).T, grad_out.reshape(n, o, -1))  # (N, CKK, P)
        return Col2Im(*g.args()).forward(dcols)

    def native(self, grad_out, weight):
        if not _f32(grad_out, weight):
            return None
        g = self.geometry
        return _native_conv().conv2d_grad_input(
            _readable(grad_out), weight, g.in_shape[2:], g.stride, g.padding, g.dilation
        )

    def backward(self, inputs, out, grad):
        grad_out, weight = inputs
        args = self.geometry.args()
        # dx is linear in grad_out (with weight as the filter) and in weight: its adjoints are
        # the forward conv of the incoming gradient, and a weight gradient with it as the input.
        d_gy = dispatch.apply(Conv2dOp(*args), grad, weight) if grad_out.requires_grad else None
        d_w = (
            dispatch.apply(Conv2dGradWeight(*args), grad, grad_out)
            if weight.requires_grad
            else None
        )
        return d_gy, d_w


class Conv2dGradWeight(Op):
    """x (N, C, H, W), grad_out (N, O, OH, OW) -> dL/dweight (O, C, kh, kw) of a conv2d.

    ``sum over n of grad_out[n] @ im2col(x)[n]^T``: each weight meets every input pixel
    it touched, times the gradient of the output it helped make.
    """

    name = "conv2d_grad_weight"

    def __init__(self, in_shape, kernel_size, stride=1, padding=0, dilation=1):
        self.geometry = _Geometry(
            "conv2d_grad_weight", in_shape, kernel_size, stride, padding, dilation
        )

    def forward(self, x, grad_out):
        g = self.geometry
        n, o = grad_out.shape[:2]
        c = x.shape[1]
        kh, kw = g.kernel_size
        cols = Im2Col(*g.args()).forward(x)  # (N, CKK, P)
        dw = np.tensordot(grad_out.reshape(n, o, -1), cols, axes=([0, 2], [0, 2]))  # (O, CKK)
        return dw.reshape(o, c, kh, kw)

    def native(self, x, grad_out):
        if not _f32(x, grad_out):
            return None
        g = self.geometry
        return _native_conv().conv2d_grad_weight(
            _readable(x), _readable(grad_out), g.kernel_size, g.stride, g.padding, g.dilation
        )

    def backward(self, inputs, out, grad):
        x, grad_out = inputs
        args = self.geometry.args()
        d_x = dispatch.apply(Conv2dGradInput(*args), grad_out, grad) if x.requires_grad else None
        d_gy = dispatch.apply(Conv2dOp(*args), x, grad) if grad_out.requires_grad else None
        return d_x, d_gy


class Conv2dGradBias(Op):
    """grad_out (N, O, OH, OW) -> dL/dbias (O,) of a conv2d: the sum over N, OH and OW.

    Its own backward spreads the incoming (O,) gradient back over every pixel.
    """

    name = "conv2d_grad_bias"

    def forward(self, grad_out):
        return grad_out.sum(axis=(0, 2, 3))

    def native(self, grad_out):
        if grad_out.dtype != np.float32:
            return None
        return _native_conv().conv2d_grad_bias(_readable(grad_out))

    def backward(self, inputs, out, grad):
        (grad_out,) = inputs
        return (grad.reshape(1, -1, 1, 1).broadcast_to(grad_out.shape),)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> Tensor:
    """2-D convolution (cross-correlation) of ``x`` (N, C, H, W) with ``weight`` (O, C, kh, kw).

    One fused op (`Conv2dOp`): on the native backend a C++ implicit-im2col GEMM,
    otherwise im2col + one matmul per image, ``weight (O, C*kh*kw) @ cols (N, C*kh*kw, OH*OW)``.
    Returns (N, O, OH, OW) with OH = floor((H + 2*padding - dilation*(kh-1) - 1) / stride) + 1.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> conv2d(tt.ones(1, 3, 5, 5), tt.ones(8, 3, 3, 3), padding=1).shape
        (1, 8, 5, 5)
    """
    x, weight = as_tensor(x, "conv2d"), as_tensor(weight, "conv2d")
    _check_image("conv2d", x)
    if weight.ndim != 4:
        raise ValueError(
            f"conv2d: expected a weight of shape (O, C, kh, kw), got shape {weight.shape}"
        )
    o, c, kh, kw = weight.shape
    if x.shape[1] != c:
        raise ValueError(
            f"conv2d: the weight {weight.shape} expects input with {c} channels, "
            f"got shape {x.shape}"
        )
    op = Conv2dOp(x.shape, (kh, kw), stride, padding, dilation)
    if bias is None:
        return dispatch.apply(op, x, weight)
    bias = as_tensor(bias, "conv2d")
    if bias.shape != (o,):
        raise ValueError(f"conv2d: expected a bias of shape ({o},), got shape {bias.shape}")
    return dispatch.apply(op, x, weight, bias)


# ----------------------------------------------------------------------------- pooling


def _plane_index_dtype(h: int, w: int):
    """int32 for per-plane indices (half of int64's memory) unless a plane is too large for it."""
    return np.int32 if h * w < 2**31 else np.int64


def _global_index(index: np.ndarray, in_shape) -> np.ndarray:
    """Per-plane indices (N, C, OH, OW) -> flat indices into the whole (N, C, H, W) input."""
    n, c, h, w = in_shape
    planes = np.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1)
    return planes * (h * w) + index


class MaxPoolScatter(Op):
    """grad (N, C, OH, OW) -> (N, C, H, W): each output's gradient goes to the element it took.

    ``index`` holds each maximum's position h*W + w within its plane (int32). The backward of
    `MaxPool2dOp`; its own backward gathers at the same places.
    """

    name = "max_pool2d_scatter"

    def __init__(self, index: np.ndarray, in_shape: tuple[int, ...]):
        self.index, self.in_shape = index, tuple(in_shape)

    def forward(self, grad):
        # bincount adds the contributions of windows that share a maximum (overlapping pools);
        # it is much faster than np.add.at.
        flat = np.bincount(
            _global_index(self.index, self.in_shape).ravel(),
            weights=grad.ravel(),
            minlength=math.prod(self.in_shape),
        )
        return flat.astype(grad.dtype, copy=False).reshape(self.in_shape)

    def native(self, grad):
        if grad.dtype != np.float32 or self.index.dtype != np.int32:
            return None
        return _native_conv().max_pool2d_backward(grad, self.index, self.in_shape[2:])

    def backward(self, inputs, out, grad):
        return (grad.reshape(-1)[_global_index(self.index, self.in_shape)],)


class MaxPool2dOp(Op):
    """Max over each window of x (N, C, H, W) -> (N, C, OH, OW); remembers where each max came from.

    Ties go to the first maximum in the window (row-major), as PyTorch. ``index`` (set by
    the forward pass) holds each maximum's position h*W + w within its plane, as int32:
    half the memory of int64 flat indices, and autograd keeps it until backward.
    """

    name = "max_pool2d"

    def __init__(self, in_shape, kernel_size, stride, padding, dilation=1):
        self.geometry = _Geometry("max_pool2d", in_shape, kernel_size, stride, padding, dilation)
        self.index: np.ndarray | None = None  # per-plane input index of each output's maximum

    def forward(self, x):
        # BEGIN SOLUTION 06 max_pool
        g = self.geometry
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = g.kernel_size, g.stride, g.padding, g.dilation
        oh, ow = g.out_hw
        # Pad with -inf so that padding never wins a max.
        xp = (
            np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
            if ph or pw
            else x
        )
        win = sliding_window_view(xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
        win = win[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :oh, :ow]  # (N, C, OH, OW, kh, kw)
        flat = win.reshape(n, c, oh, ow, kh * kw)  # a copy
        arg = flat.argmax(axis=-1)  # (N, C, OH, OW): the first maximum, as PyTorch
        out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
        ki, kj = np.divmod(arg, kw)
        rows = np.arange(oh).reshape(oh, 1) * sh + ki * dh - ph  # input row of each maximum
        cols = np.arange(ow) * sw + kj * dw - pw
        self.index = (rows * w + cols).astype(_plane_index_dtype(h, w))
        return out
        # END SOLUTION

    def native(self, x):
        if x.dtype != np.float32:
            return None
        g = self.geometry
        out, self.index = _native_conv().max_pool2d_forward(
            x, g.kernel_size, g.stride, g.padding, g.dilation
        )
        return out

    def backward(self, inputs, out, grad):
        return (dispatch.apply(MaxPoolScatter(self.index, inputs[0].shape), grad),)


def _avg_divisors(g: _Geometry, count_include_pad: bool, dtype) -> np.ndarray:
    """(OH, OW) divisors of average pooling: kh*kw, or the real (unpadded) pixels of each window."""
    kh, kw = g.kernel_size
    if count_include_pad or g.padding == (0, 0):
        return np.full(g.out_hw, kh * kw, dtype=dtype)
    _, _, h, w = g.in_shape
    ones = np.ones((1, 1, h, w), dtype=dtype)
    counts = Im2Col((1, 1, h, w), g.kernel_size, g.stride, g.padding).forward(ones).sum(axis=1)
    return counts.reshape(g.out_hw)


class AvgPool2dOp(Op):
    """Mean over each window of x (N, C, H, W) -> (N, C, OH, OW).

    ``count_include_pad`` divides by the whole window (zeros of the padding included) or
    only by its pixels inside the image. Linear in x: its backward is `AvgPool2dGrad`.
    """

    name = "avg_pool2d"

    def __init__(self, in_shape, kernel_size, stride, padding, count_include_pad=True):
        self.geometry = _Geometry("avg_pool2d", in_shape, kernel_size, stride, padding, 1)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x):
        # BEGIN SOLUTION 06 avg_pool
        g = self.geometry
        n, c, h, w = x.shape
        # Every channel is pooled the same way: fold the channels into the batch, im2col once.
        cols = Im2Col((n * c, 1, h, w), g.kernel_size, g.stride, g.padding).forward(
            x.reshape(n * c, 1, h, w)
        )  # (N*C, kh*kw, OH*OW)
        div = _avg_divisors(g, self.count_include_pad, x.dtype).reshape(1, -1)
        return (cols.sum(axis=1) / div).reshape(n, c, *g.out_hw)
        # END SOLUTION

    def native(self, x):
        if x.dtype != np.float32:
            return None
        g = self.geometry
        return _native_conv().avg_pool2d_forward(
            x, g.kernel_size, g.stride, g.padding, self.count_include_pad
        )

    def backward(self, inputs, out, grad):
        g = self.geometry
        op = AvgPool2dGrad(g.in_shape, g.kernel_size, g.stride, g.padding, self.count_include_pad)
        return (dispatch.apply(op, grad),)


class AvgPool2dGrad(Op):
    """grad (N, C, OH, OW) -> (N, C, H, W): every window element gets its output's grad / divisor.

    The adjoint of `AvgPool2dOp` (same arguments), so its own backward is `AvgPool2dOp`.
    """

    name = "avg_pool2d_grad"

    def __init__(self, in_shape, kernel_size, stride, padding, count_include_pad=True):
        self.geometry = _Geometry("avg_pool2d_grad", in_shape, kernel_size, stride, padding, 1)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, grad):
        g = self.geometry
        n, c, h, w = g.in_shape
        kh, kw = g.kernel_size
        div = _avg_divisors(g, self.count_include_pad, grad.dtype)
        scaled = (grad / div).reshape(n * c, 1, -1)  # (N*C, 1, OH*OW)
        cols = np.broadcast_to(scaled, (n * c, kh * kw, scaled.shape[-1]))
        dx = Col2Im((n * c, 1, h, w), g.kernel_size, g.stride, g.padding).forward(cols)
        return dx.reshape(n, c, h, w)

    def native(self, grad):
        if grad.dtype != np.float32:
            return None
        g = self.geometry
        return _native_conv().avg_pool2d_backward(
            grad, g.in_shape[2:], g.kernel_size, g.stride, g.padding, self.count_include_pad
        )

    def backward(self, inputs, out, grad):
        g = self.geometry
        op = AvgPool2dOp(g.in_shape, g.kernel_size, g.stride, g.padding, self.count_include_pad)
        return (dispatch.apply(op, grad),)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """Largest value in each ``kernel_size`` window of ``x`` (N, C, H, W); stride defaults to it.

    The gradient flows only to each window's maximum (the first one on ties, as PyTorch).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> max_pool2d(tt.arange(16, dtype="float32").reshape(1, 1, 4, 4), 2).tolist()
        [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    x = as_tensor(x, "max_pool2d")
    _check_image("max_pool2d", x)
    stride = kernel_size if stride is None else stride
    k = _pair("max_pool2d", "kernel_size", kernel_size, 1)
    p = _pair("max_pool2d", "padding", padding, 0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        # A window of padding alone would have no maximum (PyTorch refuses it too).
        raise ValueError(
            f"max_pool2d: padding {padding} must be at most half the kernel size {kernel_size}"
        )
    op = MaxPool2dOp(x.shape, k, stride, p, dilation)
    g = op.geometry
    for axis, name in ((0, "row"), (1, "column")):
        size, kk, s, pp, d = (x.shape[2 + axis], k[axis], g.stride[axis], p[axis], g.dilation[axis])
        for o in range(g.out_hw[axis]):
            if not any(0 <= o * s + i * d - pp < size for i in range(kk)):
                # Dilated taps can straddle a small image: no element to take the max of.
                raise ValueError(
                    f"max_pool2d: the window of output {name} {o} lies entirely in the padding "
                    f"(kernel_size {kernel_size}, dilation {dilation}, padding {padding}, "
                    f"input shape {x.shape})"
                )
    return dispatch.apply(op, x)


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad: bool = True) -> Tensor:
    """Mean of each ``kernel_size`` window of ``x`` (N, C, H, W); stride defaults to it.

    With padding, ``count_include_pad=True`` (PyTorch's default) divides by the full
    window size, zeros included; False divides by the number of real pixels.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> avg_pool2d(tt.arange(16, dtype="float32").reshape(1, 1, 4, 4), 2).tolist()
        [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    x = as_tensor(x, "avg_pool2d")
    _check_image("avg_pool2d", x)
    stride = kernel_size if stride is None else stride
    k = _pair("avg_pool2d", "kernel_size", kernel_size, 1)
    p = _pair("avg_pool2d", "padding", padding, 0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(
            f"avg_pool2d: padding {padding} must be at most half the kernel size {kernel_size}"
        )
    return dispatch.apply(AvgPool2dOp(x.shape, k, stride, p, count_include_pad), x)


def global_avg_pool2d(x, keepdims: bool = False) -> Tensor:
    """Mean over all of H and W: (N, C, H, W) -> (N, C), or (N, C, 1, 1) with ``keepdims``.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> global_avg_pool2d(tt.ones(8, 16, 7, 7)).shape
        (8, 16)
    """
    x = as_tensor(x, "global_avg_pool2d")
    _check_image("global_avg_pool2d", x)
    return x.mean(axis=(2, 3), keepdims=keepdims)


def adaptive_avg_pool2d(x, output_size) -> Tensor:
    """Average-pool ``x`` (N, C, H, W) to exactly ``output_size`` (OH, OW), whatever H and W are.

    Output cell i covers input rows floor(i*H/OH) .. ceil((i+1)*H/OH), as PyTorch.
    Size 1 is global average pooling; sizes that divide H and W are one `avg_pool2d`.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> adaptive_avg_pool2d(tt.ones(2, 3, 7, 7), 1).shape
        (2, 3, 1, 1)
    """
    x = as_tensor(x, "adaptive_avg_pool2d")
    _check_image("adaptive_avg_pool2d", x)
    oh, ow = _pair("adaptive_avg_pool2d", "output_size", output_size, 1)
    n, c, h, w = x.shape
    if (oh, ow) == (1, 1):
        return x.mean(axis=(2, 3), keepdims=True)
    if h % oh == 0 and w % ow == 0:
        return avg_pool2d(x, (h // oh, w // ow))
    from tinytorch.tensor import stack

    # Uneven windows: one mean per output cell (slow, but only for odd sizes).
    rows = []
    for i in range(oh):
        r0, r1 = (i * h) // oh, -((-(i + 1) * h) // oh)
        cells = [
            x[:, :, r0:r1, (j * w) // ow : -((-(j + 1) * w) // ow)].mean(axis=(2, 3))
            for j in range(ow)
        ]
        rows.append(stack(cells, axis=-1))  # (N, C, OW)
    return stack(rows, axis=-2)  # (N, C, OH, OW)


__all__ = [
    "Im2Col",
    "Col2Im",
    "Conv2dOp",
    "Conv2dGradInput",
    "Conv2dGradWeight",
    "Conv2dGradBias",
    "MaxPool2dOp",
    "MaxPoolScatter",
    "AvgPool2dOp",
    "AvgPool2dGrad",
    "conv_output_size",
    "im2col",
    "col2im",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool2d",
    "adaptive_avg_pool2d",
]
