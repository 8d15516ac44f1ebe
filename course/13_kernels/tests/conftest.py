"""Module 13's tests run the native backend: the C++ kernels are what they test."""

import pytest
import tinytorch.tensor as tt


@pytest.fixture(autouse=True)
def native_backend():
    if not tt.backend.native_available():
        pytest.fail("module 13 needs the C++ extension tinytorch.tensor._C (rebuild it)")
    with tt.use_backend("native"):
        yield
