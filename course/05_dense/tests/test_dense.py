"""Module 05 (dense): Sequential applies layers in order; MLP builds the layer stack."""

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch import nn


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tt.use_backend("numpy"):
        yield


class AddConst(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, x):
        return x + self.c


class Double(nn.Module):
    def forward(self, x):
        return x * 2


def test_sequential_applies_layers_in_order():
    net = nn.Sequential(AddConst(1.0), Double(), AddConst(-3.0))
    assert net(tt.tensor([0.0, 1.0])).tolist() == [-1.0, 1.0]  # ((x + 1) * 2) - 3
    net2 = nn.Sequential([Double(), AddConst(1.0)])  # the seed's list form
    assert net2(tt.tensor([1.0])).tolist() == [3.0]
    assert nn.Sequential()(tt.tensor([5.0])).tolist() == [5.0]


def test_sequential_of_linear_layers_matches_manual_composition():
    tt.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    h = np.maximum(x @ net[0].weight.data.T + net[0].bias.data, 0)
    want = h @ net[2].weight.data.T + net[2].bias.data
    np.testing.assert_allclose(net(tt.tensor(x)).data, want, rtol=1e-5, atol=1e-6)


def test_mlp_structure():
    net = nn.MLP([2, 16, 16, 3], activation="tanh")
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert net.num_parameters() == 371  # (2*16+16) + (16*16+16) + (16*3+3)
    assert net(tt.randn(5, 2)).shape == (5, 3)


def test_mlp_output_activation_and_dropout():
    net = nn.MLP([4, 8, 2], output_activation="softmax", dropout=0.5)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "Softmax"]
    net.eval()
    out = net(tt.randn(3, 4))
    np.testing.assert_allclose(out.data.sum(axis=1), [1.0, 1.0, 1.0], rtol=1e-5)


def test_mlp_of_two_sizes_is_one_linear_layer():
    net = nn.MLP([3, 1])
    assert [type(m).__name__ for m in net] == ["Linear"]
    with pytest.raises(ValueError):
        nn.MLP([3])
