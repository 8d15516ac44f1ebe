"""Run module 11's tests on the numpy backend, as module.yaml says: the optimizer and the layers
run their numpy code (the student's), never a fused C++ path that would bypass it."""

import pytest
import tinytorch.tensor as tt


@pytest.fixture(autouse=True)
def numpy_backend():
    with tt.use_backend("numpy"):
        yield
