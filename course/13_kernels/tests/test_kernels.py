"""Module 13 (kernels): the ReLU forward and backward C++ kernels (csrc/activation.cpp).

Both the vectorised, threaded kernels (``_C.relu``, ``_C.relu_backward``) and their one-thread
naive twins are compared with numpy, on sizes that exercise the vector body, the tail (fewer
elements than one vector), and the split between threads. The last tests go through the layer
(``nn.ReLU`` on the native backend), which is how a model reaches the kernel.
"""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.autograd  # noqa: F401  (records the graph: backward reaches the kernel)
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.tensor import _C

# one element, shorter than a vector, vector + tail, several vectors, large enough to be split
# between threads (and not a multiple of 16); empty arrays are checked in the shape test
SIZES = [1, 7, 16, 37, 1000, (1 << 16) + 5]


def _x(n, seed=0):
    return np.random.default_rng(seed).normal(size=n).astype(np.float32)


@pytest.mark.parametrize("fn", [_C.relu, _C.relu_naive], ids=["fast", "naive"])
@pytest.mark.parametrize("n", SIZES)
def test_relu_forward_matches_numpy(fn, n):
    x = _x(n)
    y = fn(x)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_array_equal(y, np.maximum(x, 0))


@pytest.mark.parametrize("fn", [_C.relu_backward, _C.relu_backward_naive], ids=["fast", "naive"])
@pytest.mark.parametrize("n", SIZES)
def test_relu_backward_matches_numpy(fn, n):
    x, g = _x(n), _x(n, seed=1)
    np.testing.assert_array_equal(fn(x, g), np.where(x > 0, g, 0))


@pytest.mark.parametrize("fn", [_C.relu, _C.relu_naive], ids=["fast", "naive"])
def test_relu_edge_values(fn):
    x = np.array([-0.0, 0.0, -1e-38, 1e-38, np.inf, -np.inf, np.nan, 3.0], np.float32)
    y = fn(x)
    np.testing.assert_array_equal(y[:6], np.maximum(x[:6], 0))  # tiny positives pass through
    assert y[3] > 0 and y[4] == np.inf and y[5] == 0
    assert np.isnan(y[6]) and y[7] == 3.0  # NaN stays NaN, as np.maximum and PyTorch


@pytest.mark.parametrize("fn", [_C.relu_backward, _C.relu_backward_naive], ids=["fast", "naive"])
def test_relu_backward_edge_values(fn):
    x = np.array([0.0, -0.0, 1e-38, -1.0, np.nan, np.inf], np.float32)
    g = np.full(6, 2.0, np.float32)
    np.testing.assert_array_equal(fn(x, g), [0, 0, 2, 0, 0, 2])  # the gradient at 0 is 0


def test_relu_keeps_the_shape_and_takes_strided_input():
    x = np.random.default_rng(2).normal(size=(8, 33, 5)).astype(np.float32)
    np.testing.assert_array_equal(_C.relu(x), np.maximum(x, 0))
    xt = x.transpose(2, 0, 1)  # not contiguous: the binding makes a C-contiguous copy
    np.testing.assert_array_equal(_C.relu(xt), np.maximum(xt, 0))
    empty = np.zeros((0, 3), np.float32)
    assert _C.relu(empty).shape == (0, 3) and _C.relu_backward(empty, empty).shape == (0, 3)


def test_relu_layer_runs_the_kernel_forward_and_backward():
    xs = np.random.default_rng(3).normal(size=(64, 300)).astype(np.float32)
    x = tt.tensor(xs, requires_grad=True)
    y = nn.ReLU()(x)
    np.testing.assert_array_equal(y.numpy(), np.maximum(xs, 0))
    (y * tt.tensor(np.full_like(xs, 3.0))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.where(xs > 0, 3.0, 0.0).astype(np.float32))
