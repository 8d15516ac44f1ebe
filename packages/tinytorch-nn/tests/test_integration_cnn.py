"""A small CNN overfits one batch of CIFAR-shaped data: conv, pooling, autograd, GEMM.

Memorising 32 random images is the classic smoke test of a training stack: if any
gradient were wrong (a transposed kernel, a pooling gradient sent to the wrong pixel),
the loss would stall far above zero. The optimizer is written out here (Adam, a few
lines of numpy), since tinytorch-optim sits above this package.
"""

import numpy as np
import tinytorch.nn as nn
import tinytorch.tensor as tt


class AdamForTest:
    """Adam (Kingma & Ba), updating each parameter's array in place."""

    def __init__(self, params, lr=3e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.t = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.t += 1
        for p, m, v in zip(self.params, self.m, self.v, strict=True):
            g = p.grad.data
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            m_hat = m / (1 - self.b1**self.t)
            v_hat = v / (1 - self.b2**self.t)
            p.data -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(p.data.dtype)


def small_cnn():
    # x: (N, 3, 32, 32) -> (N, 16, 16, 16) -> (N, 32, 8, 8) -> (N, 2048) -> (N, 10)
    return nn.Sequential(
        nn.Conv2d(3, 16, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 8 * 8, 10),
    )


def test_small_cnn_overfits_one_cifar_shaped_batch():
    tt.manual_seed(0)
    rng = np.random.default_rng(0)
    x = tt.tensor(rng.standard_normal((32, 3, 32, 32)).astype(np.float32))
    y = tt.tensor(rng.integers(0, 10, 32))
    model = small_cnn()
    loss_fn = nn.CrossEntropyLoss()
    opt = AdamForTest(model.parameters())

    first = None
    for _ in range(300):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
        if loss.item() < 0.05:
            break
    assert first > 1.5  # ~ln(10) at the start: the model did not know the labels
    assert loss.item() < 0.05, f"loss only fell from {first:.3f} to {loss.item():.3f}"
    model.eval()
    assert (model(x).argmax(axis=1).data == y.data).all()
    # Every parameter was trained (each got a gradient and moved).
    for name, p in model.named_parameters():
        assert p.grad is not None and np.abs(p.grad.data).sum() > 0, f"{name} got no gradient"


def test_seed_style_cnn_with_global_pooling_learns():
    # The seed's style (Conv2D, Dense straight after a conv) plus global average pooling.
    from tinytorch.core.layers import Dense
    from tinytorch.core.spatial import Conv2D, GlobalAvgPool2d

    tt.manual_seed(1)
    rng = np.random.default_rng(1)
    # Two classes that differ in colour balance, which global pooling can see.
    y_np = rng.integers(0, 2, 32)
    x_np = rng.standard_normal((32, 3, 16, 16)).astype(np.float32)
    x_np[:, 0] += np.where(y_np == 1, 1.0, -1.0)[:, None, None].astype(np.float32)
    x, y = tt.tensor(x_np), tt.tensor(y_np)
    model = nn.Sequential(Conv2D(3, 8, kernel_size=3), nn.ReLU(), GlobalAvgPool2d(), Dense(8, 2))
    loss_fn = nn.CrossEntropyLoss()
    opt = AdamForTest(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
    assert (model(x).argmax(axis=1).data == y_np).mean() == 1.0
