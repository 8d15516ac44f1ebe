"""Can I optimize neural networks with sophisticated algorithms?

SGD (with momentum) and Adam minimize a quadratic; one SGD step is exactly
``p - lr * grad``; Adam's first step moves each parameter by about ``lr``.
"""

import numpy as np
import pytest

REQUIRES = ["tinytorch-tensor", "tinytorch-autograd", "tinytorch-optim"]

tt = pytest.importorskip("tinytorch.tensor")
pytest.importorskip("tinytorch.autograd")
optim = pytest.importorskip("tinytorch.optim")
nn = pytest.importorskip("tinytorch.nn")


def quadratic_run(opt_factory, steps):
    p = nn.Parameter(tt.tensor([3.0, -2.0]))
    opt = opt_factory([p])
    target = np.array([1.0, 1.0], dtype=np.float32)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((p - tt.tensor(target)) * (p - tt.tensor(target))).sum()
        loss.backward()
        opt.step()
    return p.numpy()


def test_one_sgd_step_is_exact():
    p = nn.Parameter(tt.tensor([1.0, 2.0]))
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.1 * 2.0, 2.0 - 0.1 * 4.0], rtol=1e-6)


@pytest.mark.parametrize(
    "factory,steps",
    [
        (lambda ps: optim.SGD(ps, lr=0.1), 100),
        (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9), 200),
        (lambda ps: optim.Adam(ps, lr=0.1), 300),
    ],
)
def test_optimizers_reach_the_minimum(factory, steps):
    np.testing.assert_allclose(quadratic_run(factory, steps), [1.0, 1.0], atol=1e-2)


def test_adam_first_step_size_is_lr():
    p = nn.Parameter(tt.tensor([5.0, -5.0]))
    opt = optim.Adam([p], lr=0.01)
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_allclose(p.numpy(), [5.0 - 0.01, -5.0 + 0.01], atol=1e-5)
