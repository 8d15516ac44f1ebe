"""Shared fixtures for the tinytorch-tensor tests.

- ``backend``: runs a test once per backend ("native" and "numpy"), inside
  ``tinytorch.tensor.use_backend(name)``. Every test of an op takes it.
- ``rng``: a seeded numpy generator, so test data are the same on every run.
- ``check``: compares a Tensor with a numpy array computed independently
  (shape, dtype and values; floats within a tolerance, everything else exactly).
"""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.tensor as tt


@pytest.fixture(params=tt.BACKENDS)
def backend(request):
    """The name of the backend the test runs on; the test body runs inside ``use_backend``."""
    with tt.use_backend(request.param):
        yield request.param


@pytest.fixture
def rng():
    """A numpy generator with a fixed seed (test data, never the code under test)."""
    return np.random.default_rng(1234)


def assert_tensor(actual, expected, dtype=None, rtol=1e-6, atol=0.0):
    """Assert that Tensor ``actual`` equals numpy ``expected``: shape, dtype (if given), values."""
    assert isinstance(actual, tt.Tensor), f"expected a Tensor, got {type(actual).__name__}"
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected {expected.shape}"
    if dtype is not None:
        want = np.dtype(dtype)
        assert actual.dtype == want, f"dtype {actual.dtype} != expected {want}"
    got = actual.numpy()
    if got.dtype.kind == "f" or expected.dtype.kind == "f":
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.fixture
def check():
    """`assert_tensor` as a fixture (in importlib mode test modules cannot import conftest)."""
    return assert_tensor
