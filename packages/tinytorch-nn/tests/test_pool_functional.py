"""max_pool2d, avg_pool2d, global and adaptive average pooling: naive loops, ties, gradcheck."""

import numpy as np
import pytest
import tinytorch.autograd  # noqa: F401  (records the graph)
import tinytorch.tensor as tt
from tinytorch.autograd import enable_grad, gradcheck
from tinytorch.nn.functional.conv import (
    adaptive_avg_pool2d,
    avg_pool2d,
    global_avg_pool2d,
    max_pool2d,
)


def naive_pool(x, k, s, p, reduce, pad_value, count_include_pad=True):
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * p, w + 2 * p), pad_value, dtype=np.float64)
    xp[:, :, p : p + h, p : p + w] = x
    real = np.zeros((h + 2 * p, w + 2 * p))
    real[p : p + h, p : p + w] = 1
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = np.zeros((n, c, oh, ow))
    for y in range(oh):
        for x_ in range(ow):
            win = xp[:, :, y * s : y * s + k, x_ * s : x_ * s + k]
            if reduce == "max":
                out[:, :, y, x_] = win.max(axis=(2, 3))
            else:
                count = (
                    k * k
                    if count_include_pad
                    else real[y * s : y * s + k, x_ * s : x_ * s + k].sum()
                )
                out[:, :, y, x_] = win.sum(axis=(2, 3)) / count
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def leaf(rng, shape):
    return tt.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=True)


POOLS = [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0), (3, 3, 0)]  # kernel, stride, padding


@pytest.mark.parametrize("k, s, p", POOLS)
def test_max_pool_matches_naive(rng, k, s, p):
    x = rng.standard_normal((2, 3, 7, 8))
    out = max_pool2d(tt.tensor(x, dtype="float32"), k, s, p)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, naive_pool(x, k, s, p, "max", -np.inf), rtol=1e-6)


@pytest.mark.parametrize("k, s, p", POOLS)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_matches_naive(rng, k, s, p, count_include_pad):
    x = rng.standard_normal((2, 3, 7, 8))
    out = avg_pool2d(tt.tensor(x, dtype="float64"), k, s, p, count_include_pad=count_include_pad)
    np.testing.assert_allclose(
        out.data, naive_pool(x, k, s, p, "avg", 0.0, count_include_pad), rtol=1e-12
    )


def test_stride_defaults_to_kernel():
    x = tt.arange(16, dtype="float32").reshape(1, 1, 4, 4)
    assert max_pool2d(x, 2).tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]
    assert avg_pool2d(x, 2).tolist() == [[[[2.5, 4.5], [10.5, 12.5]]]]


@pytest.mark.parametrize("k, s, p", POOLS)
def test_max_pool_gradcheck(rng, k, s, p):
    x = leaf(rng, (2, 2, 6, 7))
    assert gradcheck(lambda x: max_pool2d(x, k, s, p), [x])


@pytest.mark.parametrize("k, s, p", POOLS)
def test_avg_pool_gradcheck(rng, k, s, p):
    x = leaf(rng, (2, 2, 6, 7))
    assert gradcheck(lambda x: avg_pool2d(x, k, s, p), [x])
    assert gradcheck(lambda x: avg_pool2d(x, k, s, p, count_include_pad=False), [x])


def test_max_pool_ties_go_to_the_first_maximum():
    x = tt.ones(1, 1, 4, 4, requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    want = np.zeros((4, 4))
    want[::2, ::2] = 1  # the top-left element of each window, as PyTorch
    np.testing.assert_array_equal(x.grad.data[0, 0], want)


def test_max_pool_overlapping_windows_add_gradients():
    # With stride 1, the global maximum is the max of all four 2x2 windows: it gets 4.
    x = tt.tensor([[[[0.0, 1.0, 0.0], [2.0, 9.0, 3.0], [0.0, 4.0, 0.0]]]], requires_grad=True)
    max_pool2d(x, 2, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], [[0, 0, 0], [0, 4, 0], [0, 0, 0]])


def test_max_pool_second_order(rng):
    # The scatter's backward is a gather: gradients of gradients flow through max pooling.
    x0 = rng.standard_normal((1, 2, 4, 4))
    w = leaf(rng, (1, 2, 2, 2))

    def grad_x(w):
        with enable_grad():
            x = tt.tensor(x0, dtype="float64", requires_grad=True)
            (max_pool2d(x, 2) * w).sum().backward(create_graph=True)
            return x.grad * x.grad

    assert gradcheck(grad_x, [w])


def test_global_and_adaptive_average(rng):
    x = rng.standard_normal((2, 3, 5, 6))
    t = tt.tensor(x, dtype="float64")
    np.testing.assert_allclose(global_avg_pool2d(t).data, x.mean(axis=(2, 3)))
    assert global_avg_pool2d(t, keepdims=True).shape == (2, 3, 1, 1)
    np.testing.assert_allclose(adaptive_avg_pool2d(t, 1).data, x.mean(axis=(2, 3), keepdims=True))
    # Divisible: one avg_pool2d. Uneven: windows [floor(i*H/OH), ceil((i+1)*H/OH)).
    np.testing.assert_allclose(adaptive_avg_pool2d(t, (5, 3)).data, naive_adaptive(x, 5, 3))
    np.testing.assert_allclose(adaptive_avg_pool2d(t, (3, 4)).data, naive_adaptive(x, 3, 4))


def naive_adaptive(x, oh, ow):
    h, w = x.shape[2:]
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, r1 = int(np.floor(i * h / oh)), int(np.ceil((i + 1) * h / oh))
            c0, c1 = int(np.floor(j * w / ow)), int(np.ceil((j + 1) * w / ow))
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out


def test_global_and_adaptive_gradcheck(rng):
    x = leaf(rng, (2, 2, 5, 6))
    assert gradcheck(global_avg_pool2d, [x])
    assert gradcheck(lambda x: adaptive_avg_pool2d(x, (3, 4)), [x])
    assert gradcheck(lambda x: adaptive_avg_pool2d(x, (5, 2)), [x])


def test_pool_errors():
    with pytest.raises(
        ValueError,
        match=r"max_pool2d: expected an input of shape \(N, C, H, W\), got shape \(4, 4\)",
    ):
        max_pool2d(tt.ones(4, 4), 2)
    with pytest.raises(ValueError, match="padding 2 must be at most half the kernel size 2"):
        max_pool2d(tt.ones(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(ValueError, match="avg_pool2d: padding"):
        avg_pool2d(tt.ones(1, 1, 4, 4), 3, padding=2)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        avg_pool2d(tt.ones(1, 1, 4, 4), 0)
    with pytest.raises(ValueError, match="does not fit"):
        max_pool2d(tt.ones(1, 1, 2, 2), 3)
    with pytest.raises(TypeError, match="floating-point"):
        max_pool2d(tt.ones(1, 1, 4, 4, dtype="int64"), 2)
