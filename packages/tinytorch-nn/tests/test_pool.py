"""Pooling layers: shapes, repr, errors, gradcheck, and parity with PyTorch (ties included)."""

import numpy as np
import pytest
import tinytorch.autograd  # noqa: F401  (records the graph)
import tinytorch.tensor as tt
from tinytorch.autograd import gradcheck
from tinytorch.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, GlobalAvgPool2d, MaxPool2d


def close(actual, expected, rtol):
    expected = np.asarray(expected)
    np.testing.assert_allclose(
        actual, expected, rtol=rtol, atol=rtol * max(1.0, float(np.abs(expected).max()))
    )


def test_shapes():
    x = tt.randn(2, 3, 8, 9)
    assert MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert MaxPool2d(3, stride=2, padding=1)(x).shape == (2, 3, 4, 5)
    assert AvgPool2d((2, 3))(x).shape == (2, 3, 4, 3)
    assert GlobalAvgPool2d()(x).shape == (2, 3)
    assert GlobalAvgPool2d(keepdims=True)(x).shape == (2, 3, 1, 1)
    assert AdaptiveAvgPool2d(1)(x).shape == (2, 3, 1, 1)
    assert AdaptiveAvgPool2d((3, 2))(x).shape == (2, 3, 3, 2)
    assert list(MaxPool2d(2).parameters()) == []


def test_repr():
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=2)"
    assert repr(MaxPool2d(3, 2, 1)) == "MaxPool2d(kernel_size=3, stride=2, padding=1)"
    assert (
        repr(AvgPool2d(2, count_include_pad=False))
        == "AvgPool2d(kernel_size=2, count_include_pad=False)"
    )
    assert repr(AdaptiveAvgPool2d(1)) == "AdaptiveAvgPool2d(output_size=1)"
    assert repr(GlobalAvgPool2d()) == "GlobalAvgPool2d()"


def test_errors_name_the_layer():
    with pytest.raises(
        ValueError,
        match=r"MaxPool2d\(kernel_size=2\): expected input of shape \(N, C, H, W\), "
        r"got shape \(3, 8, 8\)",
    ):
        MaxPool2d(2)(tt.ones(3, 8, 8))
    with pytest.raises(ValueError, match=r"GlobalAvgPool2d\(\): expected input"):
        GlobalAvgPool2d()(tt.ones(8, 8))
    with pytest.raises(ValueError, match="MaxPool2d: padding 2 must be at most half"):
        MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match="AvgPool2d: kernel_size must be >= 1"):
        AvgPool2d(0)
    with pytest.raises(ValueError, match="output_size must be >= 1"):
        AdaptiveAvgPool2d(0)


@pytest.mark.parametrize(
    "layer",
    [
        MaxPool2d(2),
        MaxPool2d(3, 2, 1),
        AvgPool2d(2),
        AvgPool2d(3, 1, 1),
        AvgPool2d(3, 2, 1, count_include_pad=False),
        GlobalAvgPool2d(),
        AdaptiveAvgPool2d((2, 3)),
    ],
    ids=repr,
)
def test_gradcheck(layer):
    x = tt.tensor(
        np.random.default_rng(0).standard_normal((2, 2, 6, 7)), dtype="float64", requires_grad=True
    )
    assert gradcheck(layer, [x])


@pytest.mark.parametrize(
    "ours, make_ref",
    [
        (MaxPool2d(2), lambda nn: nn.MaxPool2d(2)),
        (MaxPool2d(3, 2, 1), lambda nn: nn.MaxPool2d(3, 2, 1)),
        (MaxPool2d((2, 3), (1, 2)), lambda nn: nn.MaxPool2d((2, 3), (1, 2))),
        (AvgPool2d(2), lambda nn: nn.AvgPool2d(2)),
        (AvgPool2d(3, 2, 1), lambda nn: nn.AvgPool2d(3, 2, 1)),
        (
            AvgPool2d(3, 2, 1, count_include_pad=False),
            lambda nn: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
        ),
        (AdaptiveAvgPool2d(1), lambda nn: nn.AdaptiveAvgPool2d(1)),
        (AdaptiveAvgPool2d((3, 4)), lambda nn: nn.AdaptiveAvgPool2d((3, 4))),
    ],
    ids=lambda v: repr(v) if not callable(v) or hasattr(v, "forward") else "",
)
@pytest.mark.parametrize("ties", [False, True])
def test_parity_with_pytorch(ours, make_ref, ties):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((2, 3, 9, 10)).astype(np.float32)
    if ties:  # few distinct values: many windows hold several equal maxima
        x_np = np.round(x_np).astype(np.float32)
    x, xr = tt.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    out, out_ref = ours(x), make_ref(torch.nn)(xr)
    close(out.data, out_ref.detach().numpy(), 1e-5)
    g = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(tt.tensor(g))
    out_ref.backward(torch.from_numpy(g))
    close(x.grad.data, xr.grad.numpy(), 1e-4)


def test_global_avg_pool_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    x_np = np.random.default_rng(0).standard_normal((4, 8, 5, 5)).astype(np.float32)
    x, xr = tt.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    out, out_ref = GlobalAvgPool2d()(x), xr.mean(dim=(2, 3))
    close(out.data, out_ref.detach().numpy(), 1e-5)
    out.sum().backward()
    out_ref.sum().backward()
    close(x.grad.data, xr.grad.numpy(), 1e-4)
