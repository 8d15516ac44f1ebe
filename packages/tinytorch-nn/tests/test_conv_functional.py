"""conv2d, im2col and col2im against a naive numpy loop, gradcheck, and errors."""

import numpy as np
import pytest
import tinytorch.autograd  # noqa: F401  (records the graph)
import tinytorch.tensor as tt
from tinytorch.autograd import enable_grad, gradcheck
from tinytorch.nn.functional.conv import Col2Im, Im2Col, col2im, conv2d, conv_output_size, im2col


def naive_conv2d(x, w, b=None, stride=(1, 1), padding=(1, 1), dilation=(1, 1)):
    """Direct loops over every output element: slow, obviously right."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=np.float64)
    xp[:, :, ph : ph + h, pw : pw + wd] = x
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, oh, ow))
    for ni in range(n):
        for oi in range(o):
            for y in range(oh):
                for x_ in range(ow):
                    acc = 0.0 if b is None else float(b[oi])
                    for ci in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                acc += (
                                    xp[ni, ci, y * sh + i * dh, x_ * sw + j * dw] * w[oi, ci, i, j]
                                )
                    out[ni, oi, y, x_] = acc
    return out


@pytest.fixture(params=["native", "numpy"])
def backend(request):
    with tt.use_backend(request.param):
        yield request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def leaf(rng, shape, dtype="float64"):
    return tt.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=True)


CONFIGS = [  # (x shape, w shape, stride, padding, dilation)
    ((2, 3, 7, 7), (4, 3, 3, 3), 1, 0, 1),
    ((2, 3, 7, 7), (4, 3, 3, 3), 1, 1, 1),
    ((1, 2, 8, 6), (3, 2, 3, 2), 2, 1, 1),
    ((2, 1, 9, 7), (2, 1, 3, 3), (2, 1), (0, 2), 1),
    ((1, 2, 9, 9), (2, 2, 3, 3), 1, 2, 2),
    ((3, 4, 5, 5), (5, 4, 1, 1), 1, 0, 1),
    ((1, 1, 4, 4), (1, 1, 4, 4), 1, 0, 1),  # kernel as big as the image: one output pixel
]


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


@pytest.mark.parametrize("xs, ws, stride, padding, dilation", CONFIGS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_matches_naive_loop(backend, rng, xs, ws, stride, padding, dilation, dtype):
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    out = conv2d(
        tt.tensor(x, dtype=dtype),
        tt.tensor(w, dtype=dtype),
        tt.tensor(b, dtype=dtype),
        stride=stride,
        padding=padding,
        dilation=dilation,
    )
    want = naive_conv2d(x, w, b, _pair(stride), _pair(padding), _pair(dilation))
    assert out.dtype == np.dtype(dtype)
    assert out.shape == want.shape
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(out.data, want, rtol=tol, atol=tol)


def test_conv2d_output_is_contiguous_nchw(rng):
    out = conv2d(tt.randn(2, 3, 8, 8), tt.randn(5, 3, 3, 3), padding=1)
    assert out.shape == (2, 5, 8, 8) and out.is_contiguous()


def test_conv_output_size_formula():
    assert conv_output_size(32, 3, 1, 0) == 30
    assert conv_output_size(32, 3, 1, 1) == 32
    assert conv_output_size(32, 3, 2, 1) == 16
    assert conv_output_size(7, 3, 1, 0, dilation=2) == 3


def test_im2col_columns_are_receptive_fields(rng):
    x = rng.standard_normal((2, 3, 5, 4))
    cols = im2col(tt.tensor(x, dtype="float64"), (2, 3), stride=(1, 1), padding=(1, 0)).data
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    oh, ow = 6, 2
    assert cols.shape == (2, 3 * 2 * 3, oh * ow)
    for n in range(2):
        for y in range(oh):
            for x_ in range(ow):
                np.testing.assert_array_equal(
                    cols[n, :, y * ow + x_], xp[n, :, y : y + 2, x_ : x_ + 3].reshape(-1)
                )


@pytest.mark.parametrize(
    "stride, padding, dilation", [(1, 0, 1), (2, 1, 1), ((1, 2), (2, 1), 1), (1, 1, 2)]
)
def test_col2im_is_the_adjoint_of_im2col(rng, stride, padding, dilation):
    # <im2col(x), y> == <x, col2im(y)> for all x, y: the defining property of an adjoint.
    shape = (2, 3, 7, 6)
    x = rng.standard_normal(shape)
    cols = im2col(tt.tensor(x, dtype="float64"), 3, stride, padding, dilation)
    y = rng.standard_normal(cols.shape)
    back = col2im(tt.tensor(y, dtype="float64"), shape, 3, stride, padding, dilation)
    np.testing.assert_allclose((cols.data * y).sum(), (x * back.data).sum(), rtol=1e-12)


def test_col2im_counts_overlaps():
    out = col2im(tt.ones(1, 4, 4), (1, 1, 3, 3), 2)
    np.testing.assert_array_equal(out.data[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@pytest.mark.parametrize("xs, ws, stride, padding, dilation", CONFIGS[:5])
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_gradcheck(rng, xs, ws, stride, padding, dilation, bias):
    x, w = leaf(rng, xs), leaf(rng, ws)
    b = leaf(rng, ws[0]) if bias else None
    inputs = [x, w] + ([b] if bias else [])
    assert gradcheck(
        lambda x, w, *b: conv2d(x, w, b[0] if b else None, stride, padding, dilation), inputs
    )


def test_im2col_and_col2im_gradcheck(rng):
    x = leaf(rng, (2, 2, 5, 5))
    assert gradcheck(lambda x: im2col(x, 3, 2, 1), [x])
    cols = leaf(rng, (2, 2 * 9, 9))
    assert gradcheck(lambda c: col2im(c, (2, 2, 5, 5), 3, 2, 1), [cols])


def test_conv2d_second_order_gradient(rng):
    # d/dw of dL/dx: runs Col2Im's backward (Im2Col) and matmul's double backward.
    x0 = rng.standard_normal((1, 2, 5, 5))
    w = leaf(rng, (3, 2, 3, 3))

    def grad_x(w):
        with enable_grad():
            x = tt.tensor(x0, dtype="float64", requires_grad=True)
            (conv2d(x, w, padding=1) ** 2).sum().backward(create_graph=True)
            return x.grad

    assert gradcheck(grad_x, [w])


def test_conv2d_float32_gradients_match_float64(rng):
    x64, w64 = leaf(rng, (2, 3, 8, 8)), leaf(rng, (4, 3, 3, 3))
    x32 = tt.tensor(x64.data, dtype="float32", requires_grad=True)
    w32 = tt.tensor(w64.data, dtype="float32", requires_grad=True)
    for x, w in ((x64, w64), (x32, w32)):
        (conv2d(x, w, stride=2, padding=1) ** 2).sum().backward()
    np.testing.assert_allclose(x32.grad.data, x64.grad.data, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(w32.grad.data, w64.grad.data, rtol=1e-4, atol=1e-4)
    assert x32.grad.dtype == np.float32


def test_conv2d_errors():
    with pytest.raises(
        ValueError,
        match=r"conv2d: the weight \(4, 3, 3, 3\) expects input with 3 channels, "
        r"got shape \(2, 5, 8, 8\)",
    ):
        conv2d(tt.ones(2, 5, 8, 8), tt.ones(4, 3, 3, 3))
    with pytest.raises(
        ValueError, match=r"expected an input of shape \(N, C, H, W\), got shape \(3, 8, 8\)"
    ):
        conv2d(tt.ones(3, 8, 8), tt.ones(4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"bias of shape \(4,\)"):
        conv2d(tt.ones(1, 3, 8, 8), tt.ones(4, 3, 3, 3), tt.ones(5))
    with pytest.raises(ValueError, match="does not fit"):
        conv2d(tt.ones(1, 3, 2, 2), tt.ones(4, 3, 3, 3))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        conv2d(tt.ones(1, 3, 8, 8), tt.ones(4, 3, 3, 3), stride=0)
    with pytest.raises(TypeError, match="padding must be an int or a pair"):
        conv2d(tt.ones(1, 3, 8, 8), tt.ones(4, 3, 3, 3), padding=1.5)
    with pytest.raises(ValueError, match=r"col2im: expected columns of shape \(1, 4, 16\)"):
        col2im(tt.ones(1, 9, 5), (1, 1, 3, 3), 2, padding=1)


def test_ops_are_recorded_by_name(rng):
    x = leaf(rng, (1, 1, 4, 4))
    y = conv2d(x, tt.ones(1, 1, 3, 3, dtype="float64"))
    stats = tinytorch.autograd.graph_stats(y.sum())
    assert stats.ops.get("conv2d") == 1  # one fused op (it used to be im2col + matmul)
    assert tinytorch.autograd.graph_stats(im2col(x, 3).sum()).ops.get("im2col") == 1
    assert isinstance(Im2Col((1, 1, 4, 4), 3), tt.dispatch.Op) and issubclass(
        Col2Im, tt.dispatch.Op
    )
