"""BatchNorm1d/2d and LayerNorm: values vs numpy, running statistics, modes, gradcheck, errors."""

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.autograd import gradcheck


def gradcheck_module(module, *inputs):
    module.double()
    params = list(module.parameters())
    n = len(inputs)
    return gradcheck(lambda *a: module(*a[:n]), list(inputs) + params)


def leaf(*shape, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return tt.tensor(rng.standard_normal(shape) * scale, dtype="float64", requires_grad=True)


def _bn_ref(x, axes, eps, gamma, beta):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    shape = [1] * x.ndim
    shape[1] = -1
    return (x - mean) / np.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)


@pytest.mark.parametrize(
    "cls, shape, axes",
    [
        (nn.BatchNorm1d, (6, 3), (0,)),
        (nn.BatchNorm1d, (4, 3, 5), (0, 2)),
        (nn.BatchNorm2d, (2, 3, 4, 5), (0, 2, 3)),
    ],
)
def test_batchnorm_train_values_and_running_stats(cls, shape, axes):
    rng = np.random.default_rng(0)
    bn = cls(3, momentum=0.2).double()
    bn.weight.data[...] = rng.uniform(0.5, 2, 3)
    bn.bias.data[...] = rng.standard_normal(3)
    xs = [rng.standard_normal(shape) * 3 + 1 for _ in range(2)]
    rm, rv = np.zeros(3), np.ones(3)
    n = int(np.prod([shape[a] for a in axes]))
    for x in xs:
        y = bn(tt.tensor(x))
        np.testing.assert_allclose(
            y.numpy(),
            _bn_ref(x, axes, 1e-5, bn.weight.numpy(), bn.bias.numpy()),
            rtol=1e-10,
            atol=1e-12,
        )
        rm = 0.8 * rm + 0.2 * x.mean(axis=axes)
        rv = 0.8 * rv + 0.2 * x.var(axis=axes) * n / (n - 1)  # unbiased, as PyTorch
    np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), rv, rtol=1e-12)
    assert int(bn.num_batches_tracked.item()) == 2

    bn.eval()
    x = rng.standard_normal(shape)
    shape_c = [1] * len(shape)
    shape_c[1] = -1
    expected = (x - rm.reshape(shape_c)) / np.sqrt(
        rv.reshape(shape_c) + 1e-5
    ) * bn.weight.numpy().reshape(shape_c) + bn.bias.numpy().reshape(shape_c)
    np.testing.assert_allclose(bn(tt.tensor(x)).numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(bn.running_mean.numpy(), rm)  # eval does not update
    assert int(bn.num_batches_tracked.item()) == 2


def test_batchnorm_cumulative_average_and_no_tracking():
    bn = nn.BatchNorm1d(2, momentum=None).double()
    xs = [np.random.default_rng(i).standard_normal((5, 2)) for i in range(3)]
    for x in xs:
        bn(tt.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in xs], axis=0))
    free = nn.BatchNorm1d(2, track_running_stats=False, affine=False)
    assert list(free.state_dict()) == [] and free.running_mean is None
    x = tt.randn(4, 2)
    free.eval()
    np.testing.assert_allclose(free(x).numpy().mean(0), 0, atol=1e-6)  # batch stats even in eval


@pytest.mark.parametrize(
    "cls, shape",
    [(nn.BatchNorm1d, (5, 3)), (nn.BatchNorm1d, (3, 3, 2)), (nn.BatchNorm2d, (2, 3, 2, 2))],
)
def test_batchnorm_gradcheck_train_and_eval(cls, shape):
    bn = cls(3)
    x = leaf(*shape)
    assert gradcheck_module(bn, x)
    bn.running_var.data[...] = 2.0
    bn.eval()
    assert gradcheck_module(bn, leaf(*shape, seed=1))


def test_batchnorm_errors():
    bn = nn.BatchNorm2d(3)
    with pytest.raises(ValueError) as info:
        bn(tt.zeros(2, 4, 5, 5))
    assert "BatchNorm2d(3" in str(info.value) and "4 channels" in str(info.value)
    assert "(2, 4, 5, 5)" in str(info.value)
    with pytest.raises(ValueError, match="\\(N, C, H, W\\)"):
        bn(tt.zeros(2, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(tt.zeros(1, 3))
    assert nn.BatchNorm1d(3).eval()(tt.zeros(1, 3)).shape == (1, 3)
    for kwargs in (
        {"num_features": 0},
        {"num_features": 3, "momentum": 2.0},
        {"num_features": 3, "eps": -1},
    ):
        with pytest.raises(ValueError, match="BatchNorm1d"):
            nn.BatchNorm1d(**kwargs)


def test_batchnorm_state_dict_round_trip():
    a, b = nn.BatchNorm2d(2), nn.BatchNorm2d(2)
    a(tt.randn(3, 2, 4, 4) + 5)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b.running_mean.numpy(), a.running_mean.numpy())
    assert int(b.num_batches_tracked.item()) == 1


@pytest.mark.parametrize(
    "normalized_shape, shape", [(4, (3, 4)), ((2, 3), (2, 5, 2, 3)), ([5], (5,))]
)
def test_layernorm_values_and_gradcheck(normalized_shape, shape):
    rng = np.random.default_rng(0)
    ln = nn.LayerNorm(normalized_shape).double()
    ln.weight.data[...] = rng.uniform(0.5, 2, ln.weight.shape)
    ln.bias.data[...] = rng.standard_normal(ln.bias.shape)
    x = rng.standard_normal(shape) * 2 + 3
    k = len(ln.normalized_shape)
    axes = tuple(range(len(shape) - k, len(shape)))
    ref = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
    np.testing.assert_allclose(
        ln(tt.tensor(x)).numpy(), ref * ln.weight.numpy() + ln.bias.numpy(), rtol=1e-10
    )
    assert gradcheck_module(ln, leaf(*shape))


def test_layernorm_options_and_errors():
    assert list(nn.LayerNorm(3, elementwise_affine=False).parameters()) == []
    assert [n for n, _ in nn.LayerNorm(3, bias=False).named_parameters()] == ["weight"]
    ln = nn.LayerNorm((2, 3))
    with pytest.raises(ValueError) as info:
        ln(tt.zeros(4, 3, 2))
    assert "LayerNorm((2, 3)" in str(info.value) and "(4, 3, 2)" in str(info.value)
    with pytest.raises(ValueError):
        nn.LayerNorm(0)
    assert gradcheck_module(nn.LayerNorm(3, elementwise_affine=False), leaf(2, 3))
