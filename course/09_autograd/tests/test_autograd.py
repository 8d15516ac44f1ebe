"""Module 09 (autograd): the topological walk, the backward engine, and the backward rules.

Everything goes through the installed packages (`tinytorch.autograd`), so in a workspace these
tests run the student's code. Rules are checked against central finite differences in float64
(`gradcheck`) and against the formulas by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.autograd  # noqa: F401  (installs the graph hook)
import tinytorch.tensor as tt
from tinytorch.autograd import gradcheck
from tinytorch.autograd.graph import walk
from tinytorch.autograd.rules import unbroadcast


@pytest.fixture
def leaf():
    """leaf(shape) -> a float64 tensor of random values in [0.5, 1.5], requires_grad=True."""
    rng = np.random.default_rng(9)

    def make(*shape):
        return tt.tensor(rng.uniform(0.5, 1.5, size=shape), dtype="float64", requires_grad=True)

    return make


# ------------------------------------------------------------------ task topo_sort


def test_walk_of_a_leaf_is_empty():
    assert walk(tt.ones(3, requires_grad=True)) == []


def test_walk_puts_every_input_before_its_output_once(leaf):
    x = leaf(3)
    a = x * 2  # a diamond: x -> a, b -> c; and c -> d -> e with a again
    b = x.exp()
    c = a + b
    d = c * a
    e = d.sum()
    order = walk(e)
    assert len(order) == 5  # mul, exp, add, mul, sum: each node once, even if reached twice
    assert len({id(n) for n in order}) == 5
    pos = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for inp in node.inputs:
            if inp._node is not None:
                assert pos[id(inp._node)] < pos[id(node)], "an input must come before its output"
    assert order[-1] is e._node


def test_walk_handles_a_deep_chain_without_recursion():
    x = tt.ones(1, requires_grad=True)
    y = x
    for _ in range(1500):  # deeper than Python's default recursion limit
        y = y * 1.0
    assert len(walk(y)) == 1500


# ------------------------------------------------------------------ task backward


def test_backward_of_a_chain():
    x = tt.tensor([3.0], requires_grad=True)
    ((x * x) * 2).sum().backward()  # d/dx 2x^2 = 4x
    np.testing.assert_allclose(x.grad.numpy(), [12.0])


def test_a_tensor_used_twice_gets_the_sum_of_both_paths():
    x = tt.tensor([2.0], requires_grad=True)
    (x * x + x * 3).sum().backward()  # 2x + 3
    np.testing.assert_allclose(x.grad.numpy(), [7.0])


def test_diamond_gradient_flows_through_both_branches(leaf):
    x = leaf(4)
    a = x * 2
    y = (a * a + a).sum()  # dy/dx = (2a + 1) * 2
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), (2 * (2 * x.numpy()) + 1) * 2, rtol=1e-12)


def test_leaf_gradients_accumulate_across_backward_calls():
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_backward_with_an_upstream_gradient():
    x = tt.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (x * 2).backward(tt.tensor([[1.0, 0.0], [0.5, 2.0]]))
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, 0.0], [1.0, 4.0]])


def test_two_layer_network_gradients_match_the_hand_derivation():
    rng = np.random.default_rng(0)
    X, W1, W2 = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(4, 1))
    w1 = tt.tensor(W1, dtype="float64", requires_grad=True)
    w2 = tt.tensor(W2, dtype="float64", requires_grad=True)
    h = tt.tensor(X, dtype="float64") @ w1
    loss = ((h * h) @ w2).sum()
    loss.backward()
    H = X @ W1
    g_h2 = np.ones((5, 1)) @ W2.T  # d loss / d (h*h)
    np.testing.assert_allclose(w2.grad.numpy(), (H * H).T @ np.ones((5, 1)), rtol=1e-10)
    np.testing.assert_allclose(w1.grad.numpy(), X.T @ (g_h2 * 2 * H), rtol=1e-10)


# ------------------------------------------------------------------ task unbroadcast


def test_unbroadcast_sums_added_and_stretched_axes():
    g = tt.ones(2, 3, 4, dtype="float64")
    assert unbroadcast(g, (2, 3, 4)).shape == (2, 3, 4)
    r = unbroadcast(g, (3, 1))
    assert r.shape == (3, 1)
    np.testing.assert_allclose(r.numpy(), np.full((3, 1), 8.0))
    np.testing.assert_allclose(unbroadcast(g, (4,)).numpy(), np.full(4, 6.0))


def test_broadcast_add_gives_each_input_its_own_shape(leaf):
    a, b = leaf(2, 3), leaf(3)
    (a + b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.ones((2, 3)))
    np.testing.assert_allclose(b.grad.numpy(), np.full(3, 2.0))


# ------------------------------------------------------------------ task rules


@pytest.mark.parametrize(
    "name, fn, shapes",
    [
        ("mul", lambda a, b: a * b, [(2, 3), (2, 3)]),
        ("mul_broadcast", lambda a, b: a * b, [(2, 3), (1, 3)]),
        ("div", lambda a, b: a / b, [(4,), (4,)]),
        ("exp", lambda a: a.exp(), [(3, 2)]),
        ("log", lambda a: a.log(), [(5,)]),
        ("matmul", lambda a, b: a @ b, [(3, 4), (4, 2)]),
        ("matmul_batched", lambda a, b: a @ b, [(2, 3, 4), (4, 5)]),
        ("sum_axis", lambda a: a.sum(axis=1), [(3, 4)]),
        ("mean_all", lambda a: a.mean(), [(3, 4)]),
        ("mean_keepdims", lambda a: a.mean(axis=0, keepdims=True), [(3, 4)]),
    ],
)
def test_rule_matches_finite_differences(leaf, name, fn, shapes):
    assert gradcheck(fn, [leaf(*s) for s in shapes])


def test_mul_and_div_rules_by_hand():
    a = tt.tensor([2.0, 3.0], dtype="float64", requires_grad=True)
    b = tt.tensor([4.0, 5.0], dtype="float64", requires_grad=True)
    (a * b / (a + 1)).sum().backward()
    A, B = np.array([2.0, 3.0]), np.array([4.0, 5.0])
    np.testing.assert_allclose(a.grad.numpy(), B / (A + 1) - A * B / (A + 1) ** 2)
    np.testing.assert_allclose(b.grad.numpy(), A / (A + 1))


def test_exp_log_matmul_sum_by_hand():
    x = tt.tensor([[0.5, 1.0], [2.0, 0.25]], dtype="float64", requires_grad=True)
    w = tt.tensor([[1.0], [-2.0]], dtype="float64", requires_grad=True)
    (x.exp() @ w + x.log().sum(axis=1, keepdims=True)).mean().backward()
    X, W = x.numpy(), w.numpy()
    np.testing.assert_allclose(x.grad.numpy(), (np.exp(X) * W.T + 1 / X) / 2, rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), np.exp(X).T @ np.full((2, 1), 0.5), rtol=1e-12)
