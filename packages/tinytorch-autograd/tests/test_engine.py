"""The engine and the graph: propagation, accumulation, grad mode, errors, higher order, stats."""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.autograd import enable_grad, graph_stats, is_grad_enabled, no_grad


def test_requires_grad_propagates_only_from_inputs_that_require_it(backend):
    w = tt.ones(3, requires_grad=True)
    c = tt.ones(3)
    assert (w * c).requires_grad and not (c * 2).requires_grad
    assert not (w > 0).requires_grad  # bool results carry no gradient
    assert not w.argmax().requires_grad


def test_leaf_gradients_accumulate_across_backward_calls(backend):
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_a_tensor_used_twice_gets_the_sum_of_both_paths(backend):
    x = tt.tensor([2.0], requires_grad=True)
    y = x * x + x.exp()  # dy/dx = 2x + e^x
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4 + np.exp(2)], rtol=1e-6)


def test_upstream_gradient_of_any_shape(backend):
    x = tt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (x * 2).backward(tt.tensor([[1.0, 0.0], [0.5, 2.0]]))
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, 0.0], [1.0, 4.0]])


def test_leaf_grad_is_a_writable_array_of_its_own(backend):
    x = tt.ones(2, 3, requires_grad=True)
    x.sum().backward()  # the rule broadcasts a scalar: a read-only stride-0 view
    assert x.grad.shape == (2, 3) and x.grad.data.flags.writeable and x.grad.is_contiguous()
    assert x.grad.grad is None and not x.grad.requires_grad


def test_gradient_dtype_follows_the_leaf(backend):
    x = tt.ones(3, dtype="float64", requires_grad=True)
    (x.float() * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_no_grad_records_nothing_and_enable_grad_restores(backend):
    w = tt.ones(2, requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        y = w * 2
        with enable_grad():
            z = w * 2
    assert is_grad_enabled()
    assert not y.requires_grad and y._node is None
    assert z.requires_grad


def test_detach_cuts_the_graph_but_shares_memory(backend):
    x = tt.ones(3, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d._node is None
    y = x * 2
    assert y.detach().shares_memory(y)


def test_gradient_of_a_gradient(backend):
    x = tt.tensor([1.5, -2.0], dtype="float64", requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    g = x.grad  # 3x^2, itself differentiable
    assert g.requires_grad
    x.grad = None
    g.sum().backward()  # d/dx sum(3x^2) = 6x
    np.testing.assert_allclose(x.grad.numpy(), 6 * np.array([1.5, -2.0]))


def test_deep_graphs_do_not_hit_the_recursion_limit():
    x = tt.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.backward()
    assert x.grad.tolist() == [1.0]


def test_errors_are_clear():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tt.ones(3).sum().backward()
    with pytest.raises(RuntimeError, match=r"one-element output, this one has shape \(3,\)"):
        (tt.ones(3, requires_grad=True) * 2).backward()
    with pytest.raises(ValueError, match=r"grad has shape \(2,\), the tensor has shape \(3,\)"):
        (tt.ones(3, requires_grad=True) * 2).backward(tt.ones(2))


def test_setitem_on_a_leaf_that_requires_grad_keeps_the_graph_acyclic(backend):
    x = tt.zeros(3, requires_grad=True)
    v = tt.tensor([5.0], requires_grad=True)
    y = x * 1.0
    y[0:1] = v
    y[2] = y[1] * 2  # reads y's current version, writes y again
    (y * tt.tensor([1.0, 2.0, 3.0])).sum().backward()
    # y = [v, x1, 2*x1]: dL/dv = 1, dL/dx = [0, 2 + 3*2, 0]
    np.testing.assert_allclose(v.grad.numpy(), [1.0])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 8.0, 0.0])


def test_graph_stats_counts_nodes_saved_tensors_and_bytes():
    x = tt.ones(1000, requires_grad=True)  # 4000 bytes
    loss = (x * 2).exp().sum()
    stats = graph_stats(loss)
    assert stats.nodes == 3 and stats.leaves == 1
    assert stats.ops == {"mul": 1, "exp": 1, "sum": 1}
    # saved: x and the constant 2 (mul), x*2 (exp), exp(x*2) (sum)
    assert stats.saved_tensors == 4
    assert stats.saved_bytes == 4000 + 4 + 4000 + 4000
    assert "3 nodes" in str(stats)


def test_graph_stats_counts_a_shared_buffer_once():
    x = tt.ones(10, 10, requires_grad=True)
    y = x * 1.0
    loss = (y.T * y[0]).sum()  # y.T and y[0] are views of y's buffer
    stats = graph_stats(loss)
    assert stats.saved_bytes == 400 + 4 + 400 + 400  # x, the constant, y's buffer, the product


def test_writing_into_a_leaf_that_requires_grad_is_refused_but_allowed_under_no_grad():
    w = tt.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad cannot be written in place"):
        w[0] = 1.0
    assert w.tolist() == [0.0, 0.0, 0.0]  # nothing was written
    with no_grad():
        w[0] = 1.0  # how an optimizer may update a parameter
    assert w.tolist() == [1.0, 0.0, 0.0] and w._node is None and w.requires_grad


def test_ops_recorded_before_an_in_place_write_keep_the_old_graph(backend):
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    before = y * 1.0  # recorded while y = 3x
    y[0] = 0.0  # y's node changes; `before` must still differentiate through 3x
    (before.sum() + y.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0 + 0.0, 3.0 + 3.0])


def _softplus_class():
    from tinytorch.autograd import Function

    class Softplus(Function):
        name = "softplus"

        def forward(self, x):
            return np.logaddexp(0.0, x)

        def backward(self, inputs, out, grad):
            (x,) = inputs
            return (grad / ((-x).exp() + 1),)

    return Softplus


def test_custom_function_gradcheck_and_second_order(backend, make):
    from tinytorch.autograd import backward, gradcheck

    Softplus = _softplus_class()
    assert gradcheck(lambda x: Softplus.apply(x) * 2, [make((3, 4))])
    x = tt.tensor([0.3, -1.2], dtype="float64", requires_grad=True)
    backward(Softplus.apply(x).sum(), create_graph=True)  # grad = sigmoid(x)
    g = x.grad
    x.grad = None
    g.sum().backward()  # d sigmoid / dx = s (1 - s)
    s = 1 / (1 + np.exp(-np.array([0.3, -1.2])))
    np.testing.assert_allclose(x.grad.numpy(), s * (1 - s), rtol=1e-10)


def test_an_op_without_a_rule_says_how_to_add_one():
    from tinytorch.tensor import dispatch

    class NoRule(dispatch.Op):
        name = "no_rule"

        def forward(self, x):
            return x * 1

    y = dispatch.apply(NoRule(), tt.ones(2, requires_grad=True))
    with pytest.raises(NotImplementedError, match="op 'no_rule' .* has no backward rule"):
        y.sum().backward()
