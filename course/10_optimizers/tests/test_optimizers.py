"""Module 10 (optimizers): SGD (momentum, Nesterov, weight decay), Adam, AdamW, gradient clipping.

Each optimizer runs several steps on fixed gradients and is compared with the update rule
written out in float64 numpy here. The conftest forces the numpy backend, so the optimizers'
numpy code runs (the fused C++ updates are the native backend's).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.optim import SGD, Adam, AdamW, _fused, clip_grad_norm_

STEPS = 5


def _grads(shape, steps=STEPS, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(np.float32) for _ in range(steps)]


def _run(opt_cls, p0, grads, **kw):
    p = tt.tensor(p0.copy(), requires_grad=True)
    opt = opt_cls([p], **kw)
    for g in grads:
        p.grad = tt.tensor(g)
        opt.step()
    return p.numpy(), opt


def test_the_numpy_update_path_is_the_one_under_test():
    assert _fused.kernels() is None  # the native backend would call the fused C++ kernels


# ------------------------------------------------------------------ task sgd


def _sgd_ref(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, buf = p.astype(np.float64), None
    for g in grads:
        g = g.astype(np.float64) + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


@pytest.mark.parametrize(
    "kw",
    [
        dict(lr=0.1),
        dict(lr=0.05, momentum=0.9),
        dict(lr=0.05, momentum=0.9, dampening=0.5),
        dict(lr=0.05, momentum=0.9, nesterov=True),
        dict(lr=0.1, weight_decay=0.01),
        dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True),
    ],
)
def test_sgd_matches_the_update_rule(kw):
    p0, grads = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), _grads((3, 4))
    got, _ = _run(SGD, p0, grads, **kw)
    np.testing.assert_allclose(got, _sgd_ref(p0, grads, **kw), rtol=1e-5, atol=1e-6)


def test_sgd_momentum_buffer_is_state_of_the_parameters_size():
    p0 = np.ones((10, 10), np.float32)
    _, opt = _run(SGD, p0, _grads((10, 10), 1), lr=0.1, momentum=0.9)
    assert opt.state_bytes() == p0.nbytes
    _, plain = _run(SGD, p0, _grads((10, 10), 1), lr=0.1)
    assert plain.state_bytes() == 0


def test_sgd_updates_in_place_and_leaves_the_gradient_alone():
    p = tt.tensor([1.0, 2.0], requires_grad=True)
    before = p.data
    p.grad = tt.tensor([1.0, 1.0])
    SGD([p], lr=0.5, weight_decay=1.0, momentum=0.9).step()
    assert p.data is before  # the parameter keeps its array (the model sees the update)
    np.testing.assert_allclose(p.numpy(), [1 - 0.5 * 2, 2 - 0.5 * 3])
    np.testing.assert_allclose(p.grad.numpy(), [1.0, 1.0])


# ------------------------------------------------------------------ task adam


def _adam_ref(
    p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False, amsgrad=False
):
    p = p.astype(np.float64)
    m, v, vmax = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    b1, b2 = betas
    for t, g in enumerate(grads, start=1):
        g = g.astype(np.float64)
        if weight_decay:
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        if amsgrad:
            vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1**t)
        v_hat = (vmax if amsgrad else v) / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


@pytest.mark.parametrize(
    "cls, kw",
    [
        (Adam, dict(lr=0.01)),
        (Adam, dict(lr=0.01, betas=(0.8, 0.99))),
        (Adam, dict(lr=0.01, weight_decay=0.1)),
        (Adam, dict(lr=0.01, amsgrad=True)),
        (AdamW, dict(lr=0.01)),
        (AdamW, dict(lr=0.01, weight_decay=0.5)),
    ],
)
def test_adam_matches_the_update_rule(cls, kw):
    p0, grads = np.linspace(-2, 2, 20, dtype=np.float32).reshape(4, 5), _grads((4, 5), seed=1)
    got, opt = _run(cls, p0, grads, **kw)
    ref_kw = {"weight_decay": 0.01 if cls is AdamW else 0.0, **kw}  # AdamW's default decay
    ref = _adam_ref(p0, grads, decoupled=cls is AdamW, **ref_kw)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    assert opt.state[id(opt.parameters()[0])]["step"] == STEPS


def test_adam_first_step_moves_every_weight_by_about_lr():
    # m_hat / sqrt(v_hat) = g / |g| on step 1: the step is lr * sign(g) whatever g's scale
    p = tt.tensor([1.0, 1.0, 1.0], requires_grad=True)
    p.grad = tt.tensor([100.0, -0.001, 3.0])
    Adam([p], lr=0.1).step()
    np.testing.assert_allclose(p.numpy(), [0.9, 1.1, 0.9], rtol=1e-4)


def test_adam_state_is_two_times_the_parameters():
    p0 = np.zeros((64, 32), np.float32)
    _, opt = _run(Adam, p0, _grads((64, 32), 1), lr=0.01)
    assert opt.state_bytes() == 2 * p0.nbytes


def test_adamw_decay_is_decoupled_from_the_gradient():
    p = tt.tensor([2.0], requires_grad=True)
    p.grad = tt.tensor([0.0])
    AdamW([p], lr=0.1, weight_decay=0.5).step()  # only the decay acts: 2 * (1 - 0.05)
    np.testing.assert_allclose(p.numpy(), [1.9], rtol=1e-6)


# ------------------------------------------------------------------ task clip_grad_norm


def test_clip_grad_norm_rescales_to_the_max_norm_and_returns_the_total():
    a = tt.zeros(2, requires_grad=True)
    b = tt.zeros(1, requires_grad=True)
    a.grad, b.grad = tt.tensor([3.0, 0.0]), tt.tensor([4.0])  # total norm 5
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert math.isclose(total.item(), 5.0, rel_tol=1e-6)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [0.8], rtol=1e-5)


def test_clip_grad_norm_leaves_small_gradients_alone_and_supports_inf_norm():
    a = tt.zeros(3, requires_grad=True)
    a.grad = tt.tensor([0.1, -0.2, 0.2])
    assert math.isclose(clip_grad_norm_([a], 10.0).item(), 0.3, rel_tol=1e-5)
    np.testing.assert_allclose(a.grad.numpy(), [0.1, -0.2, 0.2], rtol=1e-6)
    a.grad = tt.tensor([1.0, -4.0, 2.0])
    assert clip_grad_norm_([a], 2.0, norm_type=float("inf")).item() == 4.0
    np.testing.assert_allclose(a.grad.numpy(), [0.5, -2.0, 1.0], rtol=1e-5)


def test_sgd_with_momentum_descends_a_quadratic():
    # f(w) = sum((w - 3)^2): gradients by hand, 200 steps of heavy-ball SGD reach the minimum
    w = tt.tensor(np.zeros(4, np.float32), requires_grad=True)
    opt = SGD([w], lr=0.05, momentum=0.9)
    for _ in range(200):
        w.grad = tt.tensor(2 * (w.numpy() - 3))
        opt.step()
    np.testing.assert_allclose(w.numpy(), 3.0, atol=1e-2)
