# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 11 lab: the training loop, metrics and early stopping
#
# You implement the core of `Trainer.fit` (one optimizer step per batch), the `Accuracy`
# metric and `EarlyStopping` in `tinytorch-train`. This lab trains a small MLP on the spirals
# dataset with your code, watches early stopping end a run, and profiles where a training
# step's time goes.

# %%
import time

import numpy as np
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.data import DataLoader, make_spirals
from tinytorch.optim import SGD, Adam
from tinytorch.train import Accuracy, EarlyStopping, Trainer

tt.set_backend("numpy")  # the module's tests run numpy too: your optimizer's update runs


def mlp(hidden=64):
    tt.manual_seed(0)
    return nn.Sequential(
        nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2)
    )


X, y = make_spirals(600, seed=0)
X = X.astype(np.float32)
Xv, yv = make_spirals(300, seed=1)
Xv = Xv.astype(np.float32)
train = DataLoader(X, y, batch_size=32, shuffle=True, seed=0)
val = DataLoader(Xv, yv, batch_size=300)
print(f"{len(X)} training points, {len(train)} batches per epoch")

# %% [markdown]
# ## 1. Fit, with accuracy in the history

# %% tags=["tests"]
trainer = Trainer(mlp(), nn.CrossEntropyLoss(), Adam(lr=0.01), [Accuracy()])
history = trainer.fit(train, val, epochs=30, verbose=False)
for e in (0, 9, 19, 29):
    print(
        f"epoch {e + 1:2d}: train loss {history['train_loss'][e]:.3f}, "
        f"train acc {history['train_accuracy'][e]:.3f}, val acc {history['val_accuracy'][e]:.3f}"
    )
assert len(history["train_loss"]) == 30 and trainer.global_step == 30 * len(train)
assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]  # the loss falls
assert history["val_accuracy"][-1] > 0.8  # spirals are learned (0.5 is chance)

# %% [markdown]
# ## 2. Early stopping
#
# Watch `val_loss`; stop when it has not improved by more than `min_delta` for `patience`
# epochs. With a learning rate this high the validation loss soon stops falling.

# %% tags=["tests"]
stop = EarlyStopping(monitor="val_loss", patience=3, min_delta=1e-3)
trainer = Trainer(mlp(), nn.CrossEntropyLoss(), Adam(lr=0.05), [Accuracy()], callbacks=[stop])
history = trainer.fit(train, val, epochs=100, verbose=False)
print(
    f"ran {len(history['val_loss'])} of 100 epochs; best val_loss {stop.best:.3f} "
    f"at epoch {stop.best_epoch + 1}; stopped after epoch {stop.stopped_epoch + 1}"
)
losses = history["val_loss"]
assert len(losses) < 100 and stop.stopped_epoch == len(losses) - 1
assert stop.stopped_epoch - stop.best_epoch == stop.patience  # patience epochs without progress
assert stop.best == losses[stop.best_epoch]
assert all(v >= stop.best - stop.min_delta for v in losses[stop.best_epoch + 1 :])

# %% [markdown]
# ## 3. Where a step's time goes
#
# The same step `fit` runs, taken apart: forward, loss, backward, optimizer update, and the
# metric update. Best of 30 steps each (the minimum is the stable estimate on a busy machine).

# %%
model, loss_fn, acc = mlp(256), nn.CrossEntropyLoss(), Accuracy()
opt = Adam(model.parameters(), lr=1e-3)
xb, yb = tt.tensor(X[:128]), tt.tensor(y[:128])
phases = {"zero_grad": [], "forward": [], "loss": [], "backward": [], "step": [], "metric": []}
for _ in range(30):
    t = [time.perf_counter()]
    opt.zero_grad()
    t.append(time.perf_counter())
    out = model(xb)
    t.append(time.perf_counter())
    loss = loss_fn(out, yb)
    t.append(time.perf_counter())
    loss.backward()
    t.append(time.perf_counter())
    opt.step()
    t.append(time.perf_counter())
    acc.update(out.detach(), yb)
    t.append(time.perf_counter())
    for k, (a, b) in zip(phases, zip(t, t[1:], strict=False), strict=True):
        phases[k].append(b - a)
best = {k: 1e3 * min(v) for k, v in phases.items()}
total = sum(best.values())
for k, ms in best.items():
    print(f"{k:9s} {ms:6.3f} ms  {100 * ms / total:5.1f}%")
print(f"parameters: {sum(p.size for p in model.parameters()):,}")


# %% [markdown]
# ## Check yourself
#
# `fit` on a linear model with plain SGD, two batches, one epoch, against the two steps
# written out by hand in numpy (a loop that forgets `zero_grad` accumulates the first batch's
# gradient into the second step); then the accuracy metric and early stopping on known numbers.

# %% tags=["tests"]
rng = np.random.default_rng(0)
Xs, ys = rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 1)).astype(np.float32)
tt.manual_seed(0)
lin = nn.Linear(3, 1)
W, b = lin.weight.numpy().astype(np.float64), lin.bias.numpy().astype(np.float64)
trainer = Trainer(lin, nn.MSELoss(), SGD(lr=0.1))
trainer.fit(DataLoader(Xs, ys, batch_size=4), epochs=1, verbose=False)
for xb_, yb_ in ((Xs[:4], ys[:4]), (Xs[4:], ys[4:])):  # the two steps by hand
    err = xb_ @ W.T + b - yb_  # (4, 1)
    W, b = W - 0.1 * 2 * err.T @ xb_ / err.size, b - 0.1 * 2 * err.sum(0) / err.size
assert np.allclose(lin.weight.numpy(), W, atol=1e-5) and np.allclose(lin.bias.numpy(), b, atol=1e-5)

acc = Accuracy()
acc.update(tt.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0]]), tt.tensor([0, 1, 1]))
assert acc.compute() == 2 / 3
acc.update(tt.tensor([[0.0, 1.0]]), tt.tensor([1]))  # accumulates over batches
assert (acc.correct, acc.total, acc.compute()) == (3, 4, 0.75)
acc.reset()
assert acc.compute() == 0.0

stop = EarlyStopping(monitor="val_loss", patience=2, min_delta=0.01)
assert [stop.step(v) for v in (1.0, 0.95, 0.945, 0.948)] == [False, False, False, True]
assert (stop.best, stop.best_epoch, stop.stopped_epoch) == (0.95, 1, 3)
print("module 11 lab: all checks passed")
