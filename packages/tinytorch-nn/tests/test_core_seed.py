"""The seed's `tinytorch.core.*` modules: the original README's code runs verbatim.

Also: `tinytorch.core` is a namespace package (later packages add modules to it), and the
docstring examples of the conv / pooling / attention / core modules run (doctest).
"""

import doctest
import importlib
import inspect
from pathlib import Path

import numpy as np
import pytest
import tinytorch.nn as nn
import tinytorch.tensor as tt

CORE_MODULES = [
    "tensor",
    "activations",
    "layers",
    "dense",
    "networks",
    "spatial",
    "attention",
    "autograd",
]
DOCUMENTED = [
    "tinytorch.nn.conv",
    "tinytorch.nn.pooling",
    "tinytorch.nn.attention",
    "tinytorch.nn.functional.conv",
    "tinytorch.nn.functional.attention",
    *(f"tinytorch.core.{m}" for m in CORE_MODULES),
]


def test_core_is_a_namespace_package_without_init():
    import tinytorch.core

    assert getattr(tinytorch.core, "__file__", None) is None  # a namespace package has no __init__
    core_dir = Path(__file__).resolve().parent.parent / "src" / "tinytorch" / "core"
    assert core_dir.is_dir() and not (core_dir / "__init__.py").exists()
    assert str(core_dir) in list(tinytorch.core.__path__)


def test_seed_readme_cnn_runs_verbatim():
    # The original README's model (its data and Trainer lines come from later packages).
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Dense
    from tinytorch.core.networks import Sequential
    from tinytorch.core.spatial import Conv2D
    from tinytorch.core.tensor import Tensor

    model = Sequential(
        [
            Conv2D(3, 32, kernel_size=3),
            ReLU(),
            Conv2D(32, 64, kernel_size=3),
            ReLU(),
            Dense(64 * 28 * 28, 128),
            ReLU(),
            Dense(128, 10),
        ]
    )
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32))
    out = model(x)
    assert out.shape == (2, 10)
    out.sum().backward()
    assert model[0].weight.grad.shape == (32, 3, 3, 3)
    assert model[4].weight.grad.shape == (128, 64 * 28 * 28)


def test_brief_seed_snippet_runs_verbatim():
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Dense
    from tinytorch.core.networks import Sequential
    from tinytorch.core.spatial import Conv2D
    from tinytorch.core.tensor import Tensor

    model = Sequential([Conv2D(3, 64, kernel_size=3), ReLU(), Dense(64 * 30 * 30, 10)])
    assert model(Tensor(np.zeros((1, 3, 32, 32), dtype=np.float32))).shape == (1, 10)


def test_seed_names_are_the_real_classes():
    from tinytorch.core import activations, attention, dense, layers, networks, spatial, tensor

    assert tensor.Tensor is tt.Tensor and tensor.Parameter is nn.Parameter
    assert tensor.randn is tt.randn and tensor.matmul is tt.matmul
    assert activations.ReLU is nn.ReLU and activations.Softmax is nn.Softmax
    assert layers.Dense is nn.Dense and layers.Linear is nn.Linear and layers.Module is nn.Module
    assert networks.Sequential is nn.Sequential and dense.Sequential is nn.Sequential
    assert networks.MLP is nn.MLP and dense.MLP is nn.MLP
    assert (
        spatial.Conv2D is nn.Conv2d
        and spatial.Conv2d is nn.Conv2d
        and spatial.Flatten is nn.Flatten
    )
    assert issubclass(spatial.MaxPool2D, nn.MaxPool2d) and issubclass(
        spatial.AvgPool2D, nn.AvgPool2d
    )
    assert attention.MultiHeadAttention is nn.MultiHeadAttention
    assert attention.TransformerBlock is nn.TransformerBlock
    for mod in (tensor, activations, layers, dense, networks, spatial, attention):
        for name in mod.__all__:
            assert hasattr(mod, name), (
                f"{mod.__name__}.__all__ lists {name!r}, which it does not define"
            )


def test_seed_spatial_adapters():
    from tinytorch.core.spatial import AvgPool2D, Conv2d, MaxPool2D, flatten

    x = tt.randn(2, 4, 8, 8)
    assert MaxPool2D(pool_size=(2, 2))(x).shape == (2, 4, 4, 4)
    assert MaxPool2D(2)(x).shape == (2, 4, 4, 4)
    assert MaxPool2D(kernel_size=4)(x).shape == (2, 4, 2, 2)
    assert AvgPool2D()(x).shape == (2, 4, 4, 4)
    assert flatten(x).shape == (2, 256)
    conv = Conv2d(in_channels=4, out_channels=2, kernel_size=(3, 3))
    assert conv(x).shape == (2, 2, 6, 6)
    np.testing.assert_array_equal(MaxPool2D(2)(x).data, nn.MaxPool2d(2)(x).data)


def test_seed_networks_and_autograd_adapters():
    from tinytorch.core.autograd import Variable, enable_autograd, gradcheck, no_grad
    from tinytorch.core.networks import create_mlp

    enable_autograd()
    mlp = create_mlp(4, [8, 8], 3)
    assert isinstance(mlp, nn.MLP) and mlp.sizes == [4, 8, 8, 3]
    assert mlp(tt.randn(5, 4)).shape == (5, 3)
    x = Variable([1.0, -2.0])
    assert x.requires_grad and isinstance(x, tt.Tensor)
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, -4.0]
    with no_grad():
        assert not (x * 2).requires_grad
    assert gradcheck(lambda a: (a * a).sum(), [tt.randn(3, dtype="float64", requires_grad=True)])


def test_seed_attention_module():
    from tinytorch.core.attention import (
        MultiHeadAttention,
        causal_mask,
        scaled_dot_product_attention,
    )

    x = tt.randn(2, 5, 8)
    assert MultiHeadAttention(8, 2)(x, mask=causal_mask(5)).shape == (2, 5, 8)
    assert scaled_dot_product_attention(x, x, x).shape == (2, 5, 8)


def test_nn_exports_the_conv_pool_attention_layers():
    for name in (
        "Conv2d",
        "Conv2D",
        "MaxPool2d",
        "AvgPool2d",
        "AdaptiveAvgPool2d",
        "GlobalAvgPool2d",
        "MultiHeadAttention",
        "TransformerBlock",
    ):
        assert hasattr(nn, name), f"tinytorch.nn has no {name}"
    import tinytorch.nn.functional as F

    for name in (
        "conv2d",
        "max_pool2d",
        "avg_pool2d",
        "im2col",
        "col2im",
        "scaled_dot_product_attention",
    ):
        assert hasattr(F, name), f"tinytorch.nn.functional has no {name}"


@pytest.mark.parametrize("module_name", DOCUMENTED)
def test_public_names_have_docstrings_with_examples(module_name):
    mod = importlib.import_module(module_name)
    for name in mod.__all__:
        obj = getattr(mod, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if obj.__module__ != module_name:
            continue  # re-exported: documented where it is defined
        doc = inspect.getdoc(obj) or ""
        assert doc, f"{module_name}.{name} has no docstring"
        if not issubclass(obj, tt.dispatch.Op) if inspect.isclass(obj) else True:
            assert "Example" in doc or ">>>" in doc, (
                f"{module_name}.{name}'s docstring has no example"
            )


@pytest.mark.parametrize("module_name", DOCUMENTED)
def test_docstring_examples_run(module_name):
    mod = importlib.import_module(module_name)
    tt.manual_seed(0)
    result = doctest.testmod(
        mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.attempted > 0, f"{module_name} has no docstring examples"
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {module_name}"
