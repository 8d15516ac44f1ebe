"""Can I implement high-performance computational kernels?

The native (C++) kernels give the numpy reference's numbers: GEMM through ``matmul`` and
directly, the ReLU elementwise kernels forward and backward, across shapes that exercise the
tiled, vectorized and remainder paths.
"""

import numpy as np
import pytest

REQUIRES = ["tinytorch-tensor", "tinytorch-nn"]

tt = pytest.importorskip("tinytorch.tensor")
nn = pytest.importorskip("tinytorch.nn")


@pytest.fixture(autouse=True)
def _native():
    if not tt.native_available():
        pytest.fail("the C++ extension is not built: native kernels are unavailable")
    with tt.use_backend("native"):
        yield


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (7, 13, 5), (64, 96, 33), (130, 70, 129)])
def test_native_matmul_matches_numpy(m, k, n):
    rng = np.random.default_rng(m * k + n)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    out = (tt.tensor(a) @ tt.tensor(b)).numpy()
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


def test_gemm_matches_its_naive_reference():
    from tinytorch.tensor import _C

    rng = np.random.default_rng(0)
    a = rng.standard_normal((50, 40)).astype(np.float32)
    b = rng.standard_normal((40, 30)).astype(np.float32)
    np.testing.assert_allclose(_C.gemm(a, b), _C.gemm_naive(a, b), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("size", [1, 15, 16, 17, 1000, 4099])
def test_native_relu_forward_and_backward(size):
    x = np.random.default_rng(size).standard_normal(size).astype(np.float32)
    t = tt.tensor(x, requires_grad=True)
    y = nn.ReLU()(t)
    np.testing.assert_array_equal(y.numpy(), np.maximum(x, 0))
    y.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), (x > 0).astype(np.float32))
