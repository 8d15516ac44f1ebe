"""Module 11 (training): the Trainer's step, the accuracy metric, early stopping.

A linear regression and a 3-class problem small enough to train in well under a second; the
assertions are about behaviour (the loss falls, the weights reach the answer, training stops
when it should), not about wall-clock time.
"""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.data import DataLoader
from tinytorch.optim import SGD
from tinytorch.train import Accuracy, EarlyStopping, Trainer


def mse(out, y):
    d = out - y
    return (d * d).mean()


def regression(n=128, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    w = np.array([[1.5], [-2.0], [0.5]], np.float32)
    return X, (X @ w + 0.25).astype(np.float32), w


# ------------------------------------------------------------------ task train_step


def test_fit_updates_the_weights_and_the_loss_falls():
    X, y, w_true = regression()
    tt.manual_seed(0)
    model = nn.Linear(3, 1)
    trainer = Trainer(model, mse, SGD(lr=0.1))
    history = trainer.fit(DataLoader(X, y, batch_size=16), epochs=15, verbose=False)
    assert history["train_loss"][-1] < 1e-3 < history["train_loss"][0]
    np.testing.assert_allclose(model.weight.numpy().reshape(3, 1), w_true, atol=0.05)
    np.testing.assert_allclose(model.bias.numpy(), [0.25], atol=0.05)
    assert trainer.global_step == 15 * 8  # one optimizer step per batch


def test_each_step_starts_from_a_zeroed_gradient():
    # with stale gradients SGD would keep adding old directions: after fit, the gradient held is
    # exactly the last batch's, not a sum over batches
    X, y, _ = regression(32)
    tt.manual_seed(0)
    model = nn.Linear(3, 1)
    Trainer(model, mse, SGD(lr=0.0)).fit(DataLoader(X, y, batch_size=8), epochs=1, verbose=False)
    last = tt.tensor(X[24:]), tt.tensor(y[24:])
    model.weight.grad = None
    mse(model(last[0]), last[1]).backward()
    expected = model.weight.grad.numpy().copy()
    tt.manual_seed(0)
    model2 = nn.Linear(3, 1)
    Trainer(model2, mse, SGD(lr=0.0)).fit(DataLoader(X, y, batch_size=8), epochs=1, verbose=False)
    np.testing.assert_allclose(model2.weight.grad.numpy(), expected, rtol=1e-5)


def test_grad_clip_bounds_the_step():
    X, y, _ = regression(8)
    tt.manual_seed(0)
    model = nn.Linear(3, 1)
    before = model.weight.numpy().copy()
    y_far = y + 100.0  # a huge loss: a raw gradient step would move far
    Trainer(model, mse, SGD(lr=1.0), grad_clip=0.5).fit(
        DataLoader(X, y_far, batch_size=8), epochs=1, verbose=False
    )
    moved = np.sqrt(((model.weight.numpy() - before) ** 2).sum() + 0.0)
    assert 0 < moved <= 0.5 + 1e-5


# ------------------------------------------------------------------ task accuracy


def test_accuracy_from_logits_and_labels():
    acc = Accuracy()
    acc.update(np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 5.0]]), np.array([0, 1, 1]))
    assert acc.compute() == pytest.approx(2 / 3)
    acc.update(tt.tensor([[0.0, 1.0, 0.0]]), tt.tensor(np.array([1])))  # tensors work too
    assert acc.compute() == pytest.approx(3 / 4)
    assert (acc.correct, acc.total) == (3, 4)


def test_accuracy_accumulates_over_batches_and_resets():
    acc = Accuracy()
    assert acc.compute() == 0.0  # no division by zero before any update
    acc.update([1, 0, 1], [1, 1, 1])
    acc.update([0], [0])
    assert acc.compute() == pytest.approx(3 / 4)
    assert acc([1, 1], [1, 0]) == 0.5  # one batch alone: the running counts are untouched
    assert acc.compute() == pytest.approx(3 / 4)
    acc.reset()
    acc.update([[0.1, 0.9]], [[0.0, 1.0]])  # one-hot targets
    assert acc.compute() == 1.0


def test_accuracy_in_a_training_history():
    rng = np.random.default_rng(1)
    centres = np.array([[3, 0], [-3, 0], [0, 3]], np.float32)
    y = rng.integers(0, 3, 300)
    X = (centres[y] + rng.normal(scale=0.5, size=(300, 2))).astype(np.float32)
    tt.manual_seed(0)
    model = nn.Linear(2, 3)

    def xent(out, t):  # cross-entropy written with tensor ops
        z = out - out.max(axis=1, keepdims=True)
        logp = z - z.exp().sum(axis=1, keepdims=True).log()
        return -(logp * tt.tensor(np.eye(3, dtype=np.float32)[t.numpy()])).sum(axis=1).mean()

    history = Trainer(model, xent, SGD(lr=0.5), [Accuracy()]).fit(
        DataLoader(X, y, batch_size=50), DataLoader(X, y, batch_size=300), epochs=5, verbose=False
    )
    assert history["val_accuracy"][-1] > 0.95
    assert 0.0 <= history["train_accuracy"][0] <= 1.0


# ------------------------------------------------------------------ task early_stopping


def test_early_stopping_counts_epochs_without_improvement():
    stop = EarlyStopping(monitor="val_loss", patience=2)
    assert [stop.step(v) for v in [1.0, 0.9, 0.95, 0.91]] == [False, False, False, True]
    assert (stop.best, stop.best_epoch, stop.stopped_epoch) == (0.9, 1, 3)


def test_early_stopping_min_delta_and_max_mode():
    stop = EarlyStopping(monitor="val_accuracy", patience=1, min_delta=0.05)
    assert stop.mode == "max"
    assert stop.step(0.5) is False
    assert stop.step(0.53) is True  # +0.03 is not more than min_delta
    stop = EarlyStopping(monitor="val_loss", patience=3)
    assert [stop.step(v) for v in [5, 4, 4, 3, 3, 3, 3]] == [False] * 6 + [True]


def test_early_stopping_ends_fit():
    X, y, _ = regression(32)
    tt.manual_seed(0)
    model = nn.Linear(3, 1)
    stop = EarlyStopping(monitor="train_loss", patience=2)
    history = Trainer(model, mse, SGD(lr=0.0), callbacks=[stop]).fit(  # lr 0: never improves
        DataLoader(X, y, batch_size=8), epochs=50, verbose=False
    )
    assert len(history["train_loss"]) == 3 and stop.stopped_epoch == 2
