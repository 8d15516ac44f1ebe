import numpy as np
import pytest
import tinytorch.autograd  # noqa: F401  (installs the graph hook)
import tinytorch.tensor as tt


@pytest.fixture(params=["native", "numpy"])
def backend(request):
    """Run the test on each backend."""
    with tt.use_backend(request.param):
        yield request.param


@pytest.fixture
def make():
    """make(shape, low=-1, high=1) -> a float64 leaf with random values, requires_grad=True."""
    rng = np.random.default_rng(0)

    def _make(shape, low=-1.0, high=1.0):
        return tt.tensor(rng.uniform(low, high, size=shape), dtype="float64", requires_grad=True)

    return _make
