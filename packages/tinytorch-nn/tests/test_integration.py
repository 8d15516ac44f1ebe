"""Integration: an MLP trained with a hand-written SGD step reaches 100% training accuracy on two spirals."""

import numpy as np
import tinytorch.tensor as tt
from tinytorch import nn


def two_spirals(n_per_class=100, turns=1.5, noise=0.02, seed=0):
    """Two interleaved spirals (class 0 and its point reflection, class 1): not linearly separable."""
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0.05, 1.0, n_per_class)) * turns * 2 * np.pi
    r = t / (turns * 2 * np.pi)
    arm = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    x = np.concatenate([arm, -arm]) + rng.normal(0, noise, (2 * n_per_class, 2))
    y = np.concatenate([np.zeros(n_per_class, np.int64), np.ones(n_per_class, np.int64)])
    return (2 * x).astype(np.float32), y


def test_mlp_fits_two_spirals_to_100_percent():
    x, y = two_spirals()
    tt.manual_seed(0)
    model = nn.MLP([2, 64, 64, 2], activation="tanh")
    loss_fn = nn.CrossEntropyLoss()
    X, Y = tt.tensor(x), tt.tensor(y)

    # A linear model cannot separate the spirals: the task needs the hidden layers.
    first_loss = loss_fn(model(X), Y).item()
    accuracy, losses = 0.0, []
    for step in range(2000):
        loss = loss_fn(model(X), Y)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():  # plain SGD, by hand (the optim package comes later)
            p.data -= 0.5 * p.grad.data
        losses.append(loss.item())
        if step % 25 == 0:
            model.eval()
            accuracy = float((model(X).argmax(axis=1).numpy() == y).mean())
            model.train()
            if accuracy == 1.0:
                break
    assert accuracy == 1.0, (
        f"training accuracy {accuracy:.3f} after {step + 1} steps (loss {losses[-1]:.4f})"
    )
    assert losses[-1] < 0.25 * first_loss


def test_mlp_with_batchnorm_and_dropout_trains():
    """BatchNorm and Dropout inside a model: loss falls, eval mode is deterministic."""
    x, y = two_spirals(n_per_class=60, seed=1)
    tt.manual_seed(1)
    model = nn.Sequential(
        nn.Linear(2, 64),
        nn.BatchNorm1d(64),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Linear(64, 64),
        nn.BatchNorm1d(64),
        nn.ReLU(),
        nn.Linear(64, 2),
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    X, Y = tt.tensor(x), tt.tensor(y)
    first = loss_fn(model(X), Y).item()
    for _ in range(300):
        loss = loss_fn(model(X), Y)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.2 * p.grad.data
    assert loss.item() < 0.5 * first
    model.eval()
    a, b = model(X).numpy(), model(X).numpy()
    np.testing.assert_array_equal(a, b)
    assert (a.argmax(1) == y).mean() > 0.9
