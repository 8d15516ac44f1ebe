"""The Conv2d layer: shapes, init, errors, repr, gradcheck, and parity with PyTorch."""

import math

import numpy as np
import pytest
import tinytorch.autograd  # noqa: F401  (records the graph)
import tinytorch.tensor as tt
from tinytorch.autograd import gradcheck
from tinytorch.nn.conv import Conv2d


def close(actual, expected, rtol):
    """Relative closeness, with an absolute floor scaled to the values (for elements near 0)."""
    expected = np.asarray(expected)
    np.testing.assert_allclose(
        actual, expected, rtol=rtol, atol=rtol * max(1.0, float(np.abs(expected).max()))
    )


def test_shapes_and_parameters():
    conv = Conv2d(3, 16, kernel_size=3, padding=1)
    assert conv(tt.randn(2, 3, 8, 8)).shape == (2, 16, 8, 8)
    assert [(n, p.shape) for n, p in conv.named_parameters()] == [
        ("weight", (16, 3, 3, 3)),
        ("bias", (16,)),
    ]
    assert conv.weight.dtype == np.float32 and conv.weight.requires_grad
    assert Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2))(tt.randn(1, 3, 9, 9)).shape == (
        1,
        8,
        5,
        9,
    )
    assert Conv2d(3, 8, 3, stride=2)(tt.randn(1, 3, 32, 32)).shape == (1, 8, 15, 15)
    assert Conv2d(3, 8, 3, stride=2).output_shape((1, 3, 32, 32)) == (1, 8, 15, 15)
    no_bias = Conv2d(3, 8, 3, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]


def test_same_and_valid_padding():
    x = tt.randn(1, 2, 7, 6)
    assert Conv2d(2, 4, 3, padding="same")(x).shape == (1, 4, 7, 6)
    assert Conv2d(2, 4, 5, padding="same", dilation=2)(x).shape == (1, 4, 7, 6)
    assert Conv2d(2, 4, 3, padding="valid")(x).shape == (1, 4, 5, 4)
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        Conv2d(2, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding='same' needs an odd kernel"):
        Conv2d(2, 4, 2, padding="same")


def test_pytorch_default_init_bounds():
    tt.manual_seed(0)
    conv = Conv2d(16, 32, 3)
    bound = 1 / math.sqrt(
        16 * 9
    )  # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for p in (conv.weight, conv.bias):
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.9 * bound  # spread over the range, not all near 0
    assert abs(float(conv.weight.data.std()) - bound / math.sqrt(3)) < 0.05 * bound


def test_seeded_init_is_reproducible():
    tt.manual_seed(3)
    a = Conv2d(3, 4, 3)
    tt.manual_seed(3)
    b = Conv2d(3, 4, 3)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)


def test_wrong_channel_count_names_layer_and_shapes():
    conv = Conv2d(3, 16, kernel_size=3)
    with pytest.raises(ValueError) as err:
        conv(tt.ones(8, 4, 32, 32))
    assert (
        str(err.value)
        == "Conv2d(3, 16, kernel_size=3): expected input with 3 channels, got shape (8, 4, 32, 32)"
    )
    with pytest.raises(
        ValueError, match=r"expected input of shape \(N, 3, H, W\), got shape \(3, 32, 32\)"
    ):
        conv(tt.ones(3, 32, 32))
    with pytest.raises(TypeError, match="expected a Tensor"):
        conv(np.ones((1, 3, 8, 8)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="in_channels must be >= 1"):
        Conv2d(0, 4, 3)
    with pytest.raises(TypeError, match="out_channels must be an int"):
        Conv2d(3, 4.0, 3)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        Conv2d(3, 4, 0)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        Conv2d(3, 4, 3, stride=0)
    with pytest.raises(ValueError, match="padding must be"):
        Conv2d(3, 4, 3, padding="full")


def test_repr():
    assert repr(Conv2d(3, 16, kernel_size=3)) == "Conv2d(3, 16, kernel_size=3)"
    assert repr(Conv2d(3, 16, (3, 5), stride=2, padding=1, bias=False)) == (
        "Conv2d(3, 16, kernel_size=(3, 5), stride=2, padding=1, bias=False)"
    )


@pytest.mark.parametrize(
    "stride, padding, bias", [(1, 0, True), (2, 1, True), (1, 1, False), ((2, 1), (0, 1), True)]
)
def test_gradcheck_float64(stride, padding, bias):
    tt.manual_seed(0)
    conv = Conv2d(2, 3, 3, stride=stride, padding=padding, bias=bias).double()
    x = tt.randn(2, 2, 5, 6, dtype="float64", requires_grad=True)
    params = list(conv.parameters())
    assert all(p.dtype == np.float64 for p in params)

    def run(x, *ps):
        return conv(x)

    assert gradcheck(run, [x, *params])


def test_backward_fills_parameter_grads():
    conv = Conv2d(3, 4, 3, padding=1)
    (conv(tt.randn(2, 3, 6, 6)) ** 2).mean().backward()
    assert conv.weight.grad.shape == (4, 3, 3, 3) and conv.bias.grad.shape == (4,)
    assert np.abs(conv.weight.grad.data).sum() > 0


def test_state_dict_round_trip():
    a, b = Conv2d(3, 4, 3), Conv2d(3, 4, 3)
    b.load_state_dict(a.state_dict())
    x = tt.randn(1, 3, 5, 5)
    np.testing.assert_array_equal(a(x).data, b(x).data)


# ------------------------------------------------------------------------------ PyTorch parity


@pytest.mark.parametrize(
    "cin, cout, k, stride, padding, dilation, bias",
    [
        (3, 8, 3, 1, 0, 1, True),
        (3, 8, 3, 1, 1, 1, True),
        (4, 6, (3, 2), (2, 1), (1, 0), 1, False),
        (2, 5, 5, 2, 2, 1, True),
        (3, 4, 3, 1, 2, 2, True),
        (16, 32, 1, 1, 0, 1, True),
    ],
)
def test_parity_with_pytorch(cin, cout, k, stride, padding, dilation, bias):
    torch = pytest.importorskip("torch")
    tt.manual_seed(1)
    ours = Conv2d(cin, cout, k, stride=stride, padding=padding, dilation=dilation, bias=bias)
    ref = torch.nn.Conv2d(
        cin, cout, k, stride=stride, padding=padding, dilation=dilation, bias=bias
    )
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ours.weight.data))
        if bias:
            ref.bias.copy_(torch.from_numpy(ours.bias.data))
    x_np = np.random.default_rng(0).standard_normal((4, cin, 11, 10)).astype(np.float32)
    x = tt.tensor(x_np, requires_grad=True)
    xr = torch.tensor(x_np, requires_grad=True)
    out, out_ref = ours(x), ref(xr)
    close(out.data, out_ref.detach().numpy(), 1e-5)
    g = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    out.backward(tt.tensor(g))
    out_ref.backward(torch.from_numpy(g))
    close(x.grad.data, xr.grad.numpy(), 1e-4)
    close(ours.weight.grad.data, ref.weight.grad.numpy(), 1e-4)
    if bias:
        close(ours.bias.grad.data, ref.bias.grad.numpy(), 1e-4)
