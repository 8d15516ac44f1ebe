"""Module and Parameter: registration, tree walks, state_dict, modes, dtype, repr, hooks."""

import copy

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.nn import Module, Parameter, StateDictError


class Block(Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(4)
        self.scale = Parameter(np.ones(4, dtype=np.float32))
        self.register_buffer("steps", tt.zeros(1))
        self.register_buffer("cache", tt.zeros(2), persistent=False)

    def forward(self, x):
        return self.norm(self.fc(x)) * self.scale


class Net(Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(4, 2, bias=False)

    def forward(self, x):
        return self.head(self.block(x))


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = Parameter([1.0, 2.0])
    assert isinstance(p, tt.Tensor) and p.requires_grad and p.dtype == np.float32
    assert repr(p).startswith("Parameter containing:")
    assert type(p * 2) is tt.Tensor
    (p * p).sum().backward()
    assert p.grad.tolist() == [2.0, 4.0]
    assert not Parameter([1.0], requires_grad=False).requires_grad
    with pytest.raises(TypeError):
        Parameter([1, 2])  # integers cannot require grad


def test_parameter_deepcopy_keeps_values_not_memory():
    p = Parameter([1.0, 2.0])
    q = copy.deepcopy(p)
    assert isinstance(q, Parameter) and q.requires_grad and q.tolist() == [1.0, 2.0]
    q.data[0] = 5
    assert p.tolist() == [1.0, 2.0]


def test_named_parameters_buffers_children_in_registration_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "block.scale",
        "block.fc.weight",
        "block.fc.bias",
        "block.norm.weight",
        "block.norm.bias",
        "head.weight",
    ]
    assert [n for n, _ in net.named_buffers()] == [
        "block.steps",
        "block.cache",
        "block.norm.running_mean",
        "block.norm.running_var",
        "block.norm.num_batches_tracked",
    ]
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "block.norm", "head"]
    assert len(list(net.modules())) == 5
    assert net.num_parameters() == 4 + 12 + 4 + 4 + 4 + 8
    assert [n for n, _ in net.named_parameters(recurse=False)] == []
    assert all(isinstance(p, Parameter) for p in net.parameters())


def test_shared_parameter_listed_once():
    a = nn.Linear(3, 3)
    seq = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias"]


def test_assignment_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        m.weight = tt.zeros(2, 2)  # a plain Tensor where a Parameter is registered
    m.bias = None
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    m.extra = Parameter([1.0])
    assert "extra" in dict(m.named_parameters())
    del m.extra
    assert "extra" not in dict(m.named_parameters())
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = m.nope

    class Forgot(Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Forgot()
    with pytest.raises(ValueError):
        Module().register_buffer("a.b", tt.zeros(1))
    with pytest.raises(TypeError):
        Module().register_buffer("a", np.zeros(1))
    with pytest.raises(KeyError):
        m.register_buffer("weight", tt.zeros(1))


def test_state_dict_contains_parameters_and_persistent_buffers():
    net = Net()
    sd = net.state_dict()
    # PyTorch's order: each module's own parameters, then its buffers, then its children.
    assert list(sd) == [
        "block.scale",
        "block.steps",
        "block.fc.weight",
        "block.fc.bias",
        "block.norm.weight",
        "block.norm.bias",
        "block.norm.running_mean",
        "block.norm.running_var",
        "block.norm.num_batches_tracked",
        "head.weight",
    ]
    assert "block.cache" not in sd
    assert not sd["block.fc.weight"].requires_grad
    assert sd["block.fc.weight"].shares_memory(net.block.fc.weight)
    assert net.state_dict(keep_vars=True)["head.weight"] is net.head.weight


def test_load_state_dict_round_trip_in_place():
    a, b = Net(), Net()
    weight = b.block.fc.weight
    a.block.norm.running_mean.data[:] = 3.0
    result = b.load_state_dict({k: v.numpy().copy() for k, v in a.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b.block.fc.weight is weight  # copied in place: optimizers keep their references
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        np.testing.assert_array_equal(va.numpy(), vb.numpy(), err_msg=k)
    assert b.block.norm.running_mean.tolist() == [3.0] * 4


def test_load_state_dict_errors_name_layer_parameter_and_shapes():
    net = Net()
    sd = dict(net.state_dict())
    sd["block.fc.weight"] = tt.zeros(4, 5)
    with pytest.raises(StateDictError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    assert "block.fc" in msg and "Linear(in_features=3, out_features=4" in msg
    assert "'weight'" in msg and "(4, 3)" in msg and "(4, 5)" in msg
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)

    before = net.block.fc.bias.numpy().copy()
    sd = dict(net.state_dict())
    del sd["head.weight"]
    sd["block.fc.bias"] = tt.ones(4)
    sd["head.bias"] = tt.zeros(2)
    with pytest.raises(StateDictError, match="missing keys: 'head.weight'") as info:
        net.load_state_dict(sd)
    assert "unexpected keys: 'head.bias'" in str(info.value)
    assert info.value.missing_keys == ["head.weight"] and info.value.unexpected_keys == [
        "head.bias"
    ]
    np.testing.assert_array_equal(net.block.fc.bias.numpy(), before)  # nothing written on error

    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["head.weight"] and result.unexpected_keys == ["head.bias"]
    assert net.block.fc.bias.tolist() == [1.0] * 4

    sd = dict(net.state_dict())
    sd["head.weight"] = tt.zeros(3, 3)
    with pytest.raises(StateDictError, match="head"):
        net.load_state_dict(sd, strict=False)  # shapes are checked even when not strict


def test_train_eval_apply_zero_grad_requires_grad():
    net = Net()
    assert net.training and net.block.norm.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())

    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "BatchNorm1d", "Block", "Linear", "Net"]

    net(tt.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert net.num_parameters(trainable_only=True) == 0


def test_double_converts_floats_and_keeps_identity():
    net = Net()
    w = net.head.weight
    net.double()
    assert net.head.weight is w and w.dtype == np.float64
    assert net.block.norm.running_var.dtype == np.float64
    assert net.block.norm.num_batches_tracked.dtype == np.int64
    assert net(tt.randn(4, 3, dtype="float64")).dtype == np.float64
    net.float()
    assert w.dtype == np.float32
    with pytest.raises(TypeError):
        net.to("int64")


def test_repr_is_nested_like_pytorch():
    text = repr(Net())
    assert text == (
        "Net(\n"
        "  (block): Block(\n"
        "    (fc): Linear(in_features=3, out_features=4, bias=True)\n"
        "    (norm): BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        "  )\n"
        "  (head): Linear(in_features=4, out_features=2, bias=False)\n"
        ")"
    )
    assert repr(nn.ReLU()) == "ReLU()"


def test_forward_hooks_and_missing_forward():
    m = nn.Linear(2, 2)
    calls = []
    h = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape))
    pre = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    out = m(tt.ones(1, 2))
    np.testing.assert_allclose(out.numpy(), m.bias.numpy()[None])
    h.remove()
    pre.remove()
    m(tt.ones(1, 2))
    assert calls == [(1, 2)]
    with pytest.raises(NotImplementedError, match="Module.forward"):
        Module()(1)


def test_deepcopy_of_a_model_is_independent():
    net = Net()
    clone = copy.deepcopy(net)
    clone.head.weight.data[...] = 0
    assert net.head.weight.numpy().any()
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in net.named_parameters()]
