"""Module 06 (spatial): im2col, conv2d, max and average pooling against naive loops."""

import numpy as np
import pytest
import tinytorch.nn.functional as F
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.nn.functional.conv import MaxPool2dOp


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tt.use_backend("numpy"):
        yield


def _img(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _naive_conv(x, w, b, stride, pad, dil=1):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * pad - dil * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[
                :,
                :,
                i * stride : i * stride + dil * (kh - 1) + 1 : dil,
                j * stride : j * stride + dil * (kw - 1) + 1 : dil,
            ]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return out + (0 if b is None else b.reshape(1, -1, 1, 1))


def test_im2col_columns_are_receptive_fields():
    x = _img(2, 3, 5, 6)
    cols = F.im2col(tt.tensor(x, dtype="float64"), 3, stride=2, padding=1)
    # OH = (5 + 2 - 2 - 1)//2 + 1 = 3, OW = (6 + 2 - 3)//2 + 1 = 3
    assert cols.shape == (2, 27, 9)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for n, pix in [(0, 0), (1, 4), (1, 8)]:
        i, j = divmod(pix, 3)
        patch = xp[n, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].reshape(-1)
        np.testing.assert_allclose(cols.data[n, :, pix], patch)


def test_im2col_with_dilation():
    x = _img(1, 1, 7, 7)
    cols = F.im2col(tt.tensor(x, dtype="float64"), 3, dilation=2)
    assert cols.shape == (1, 9, 9)
    np.testing.assert_allclose(cols.data[0, :, 0], x[0, 0, 0:5:2, 0:5:2].reshape(-1))


@pytest.mark.parametrize("stride,pad,dil", [(1, 0, 1), (2, 1, 1), (1, 2, 2)])
def test_conv2d_matches_a_naive_loop(stride, pad, dil):
    x, w, b = _img(2, 3, 8, 7), _img(4, 3, 3, 3, seed=1), _img(4, seed=2)
    out = F.conv2d(
        tt.tensor(x, dtype="float64"),
        tt.tensor(w, dtype="float64"),
        tt.tensor(b, dtype="float64"),
        stride=stride,
        padding=pad,
        dilation=dil,
    )
    want = _naive_conv(x, w, b, stride, pad, dil)
    assert out.shape == want.shape
    np.testing.assert_allclose(out.data, want, rtol=1e-10, atol=1e-12)


def test_conv2d_layer_float32():
    tt.manual_seed(0)
    conv = nn.Conv2d(3, 8, 3, padding=1)
    x = _img(2, 3, 6, 6).astype(np.float32)
    out = conv(tt.tensor(x))
    assert out.shape == (2, 8, 6, 6) and out.dtype == np.float32
    want = _naive_conv(
        x.astype(np.float64),
        conv.weight.data.astype(np.float64),
        conv.bias.data.astype(np.float64),
        1,
        1,
    )
    np.testing.assert_allclose(out.data, want, rtol=1e-4, atol=1e-5)


def test_max_pool_values_and_argmax_index():
    x = tt.arange(16, dtype="float32").reshape(1, 1, 4, 4)
    assert F.max_pool2d(x, 2).tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]
    op = MaxPool2dOp(x.shape, (2, 2), (2, 2), (0, 0))
    op.forward(x.data)
    assert op.index.reshape(-1).tolist() == [5, 7, 13, 15]  # row * W + col in the plane


def test_max_pool_with_padding_and_stride_matches_naive():
    x = _img(2, 3, 7, 7)
    out = F.max_pool2d(tt.tensor(x, dtype="float64"), 3, stride=2, padding=1)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    want = np.zeros((2, 3, 4, 4))
    for i in range(4):
        for j in range(4):
            want[:, :, i, j] = xp[:, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].max(axis=(2, 3))
    np.testing.assert_allclose(out.data, want)
    assert (
        nn.MaxPool2d(3, stride=2, padding=1)(tt.tensor(x, dtype="float64")).tolist() == out.tolist()
    )


def test_max_pool_ties_go_to_the_first_maximum():
    x = tt.ones(1, 1, 2, 2)
    op = MaxPool2dOp(x.shape, (2, 2), (2, 2), (0, 0))
    op.forward(x.data)
    assert op.index.reshape(-1).tolist() == [0]


def test_avg_pool_with_and_without_padding_counts():
    x = tt.arange(16, dtype="float32").reshape(1, 1, 4, 4)
    assert F.avg_pool2d(x, 2).tolist() == [[[[2.5, 4.5], [10.5, 12.5]]]]
    ones = tt.ones(1, 1, 3, 3)
    inc = F.avg_pool2d(ones, 3, stride=1, padding=1, count_include_pad=True)
    exc = F.avg_pool2d(ones, 3, stride=1, padding=1, count_include_pad=False)
    assert inc.data[0, 0, 0, 0] == pytest.approx(4 / 9)  # corner: 4 real pixels of 9
    assert inc.data[0, 0, 1, 1] == pytest.approx(1.0)
    np.testing.assert_allclose(exc.data, np.ones((1, 1, 3, 3)), rtol=1e-6)
