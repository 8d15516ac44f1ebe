"""Run module 10's tests on the numpy backend: the optimizers' numpy update code (the student's)
is what runs, never the fused C++ update that the native backend would pick."""

import pytest
import tinytorch.tensor as tt


@pytest.fixture(autouse=True)
def numpy_backend():
    with tt.use_backend("numpy"):
        yield
