"""Can I create and manipulate the building blocks of ML?

Tensors: creation, dtype and shape, elementwise arithmetic with broadcasting, reductions,
reshapes and views, and matrix multiplication, checked against numpy.
"""

import numpy as np
import pytest

REQUIRES = ["tinytorch-tensor"]

tt = pytest.importorskip("tinytorch.tensor")


def test_creation_shape_dtype():
    x = tt.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.shape == (2, 3)
    assert x.dtype == tt.float32
    assert tt.zeros(3, 4).numpy().sum() == 0
    assert tt.ones(2, 2).numpy().tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_elementwise_with_broadcasting():
    a = tt.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = tt.tensor([10.0, 20.0, 30.0])
    assert (a + b).numpy().tolist() == [[11.0, 22.0, 33.0], [14.0, 25.0, 36.0]]
    assert (a * 2).numpy().tolist() == [[2.0, 4.0, 6.0], [8.0, 10.0, 12.0]]
    assert (a - b).numpy()[1].tolist() == [-6.0, -15.0, -24.0]
    np.testing.assert_allclose((a / b).numpy(), a.numpy() / b.numpy(), rtol=1e-6)


def test_reductions():
    a = tt.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert float(a.sum().item()) == 21.0
    assert a.sum(axis=0).numpy().tolist() == [5.0, 7.0, 9.0]
    np.testing.assert_allclose(a.mean(axis=1).numpy(), [2.0, 5.0])


def test_reshape_and_transpose():
    x = tt.arange(6, dtype="float32")
    y = x.reshape(2, 3)
    assert y.shape == (2, 3)
    assert y.T.shape == (3, 2)
    assert y.T.numpy().tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]


def test_matmul_matches_numpy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((16, 32)).astype(np.float32)
    b = rng.standard_normal((32, 8)).astype(np.float32)
    out = (tt.tensor(a) @ tt.tensor(b)).numpy()
    assert out.shape == (16, 8)
    np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-4)
