"""Integration: tinytorch.nn models trained with tinytorch.optim reach a low loss."""

import numpy as np
import tinytorch.tensor as tt
from tinytorch import nn, optim
from tinytorch.optim.lr_scheduler import WarmupCosineLR


def two_spirals(n_per_class=100, turns=1.25, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0.05, 1.0, n_per_class)) * turns * 2 * np.pi
    r = t / (turns * 2 * np.pi)
    arm = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    x = np.concatenate([arm, -arm]) + rng.normal(0, noise, (2 * n_per_class, 2))
    y = np.concatenate([np.zeros(n_per_class, np.int64), np.ones(n_per_class, np.int64)])
    return (2 * x).astype(np.float32), y


def test_mlp_trained_with_adam_fits_two_spirals():
    x, y = two_spirals()
    X, Y = tt.tensor(x), tt.tensor(y)
    tt.manual_seed(0)
    model = nn.MLP([2, 64, 64, 2], activation="tanh")
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(lr=0.01)  # the seed's way: made first, bound to the model later
    opt.bind(model.parameters())
    weights = [p.data for p in model.parameters()]
    first = loss_fn(model(X), Y).item()
    for _ in range(400):
        loss = loss_fn(model(X), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    final = loss_fn(model(X), Y).item()
    accuracy = float((model(X).argmax(axis=1).numpy() == y).mean())
    assert first > 0.6 and final < 0.05, (first, final)
    assert accuracy == 1.0
    assert all(p.data is w for p, w in zip(model.parameters(), weights, strict=True))


def test_regression_with_adamw_warmup_cosine_and_clipping():
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, (256, 3)).astype(np.float32)
    y = (np.sin(x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]).astype(np.float32)
    X, Y = tt.tensor(x), tt.tensor(y)
    tt.manual_seed(1)
    model = nn.MLP([3, 64, 1], activation="tanh")
    loss_fn = nn.MSELoss()
    opt = optim.AdamW(model.parameters(), lr=0.02, weight_decay=1e-4)
    sched = WarmupCosineLR(opt, warmup_steps=20, total_steps=500, eta_min=1e-4)
    first = loss_fn(model(X), Y).item()
    for _ in range(500):
        loss = loss_fn(model(X), Y)
        opt.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step()
        sched.step()
    final = loss_fn(model(X), Y).item()
    assert final < 0.01 and final < first / 50, (first, final)


def test_sgd_nesterov_decreases_the_loss():
    x, y = two_spirals(turns=0.5)
    X, Y = tt.tensor(x), tt.tensor(y)
    tt.manual_seed(2)
    model = nn.MLP([2, 32, 2], activation="tanh")
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    first = loss_fn(model(X), Y).item()
    for _ in range(200):
        loss = loss_fn(model(X), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss_fn(model(X), Y).item() < first / 5
