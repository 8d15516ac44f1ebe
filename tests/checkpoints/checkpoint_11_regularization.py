"""Can I prevent overfitting and build robust models?

Dropout zeroes about p of the activations and rescales the rest in training, and is the
identity in evaluation; weight decay shrinks weights; early stopping ends a run whose
validation loss stops improving.
"""

import numpy as np
import pytest

REQUIRES = [
    "tinytorch-tensor",
    "tinytorch-nn",
    "tinytorch-optim",
    "tinytorch-data",
    "tinytorch-train",
]

tt = pytest.importorskip("tinytorch.tensor")
nn = pytest.importorskip("tinytorch.nn")
optim = pytest.importorskip("tinytorch.optim")
data = pytest.importorskip("tinytorch.data")
train = pytest.importorskip("tinytorch.train")


def test_dropout_train_and_eval():
    tt.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = tt.tensor(np.ones((200, 100), dtype=np.float32))
    out = drop(x).numpy()
    zero = (out == 0).mean()
    assert 0.2 < zero < 0.3
    np.testing.assert_allclose(out[out != 0], 1 / 0.75, rtol=1e-6)
    drop.eval()
    np.testing.assert_array_equal(drop(x).numpy(), x.numpy())


def test_weight_decay_shrinks_weights():
    p = nn.Parameter(tt.tensor([2.0, -2.0]))
    opt = optim.SGD([p], lr=0.1, weight_decay=0.5)
    (p * 0).sum().backward()  # zero loss gradient: only the decay acts
    opt.step()
    np.testing.assert_allclose(p.numpy(), [2.0 * (1 - 0.05), -2.0 * (1 - 0.05)], rtol=1e-6)


def test_early_stopping_ends_the_run():
    tt.manual_seed(0)
    X, y = data.make_blobs(64, centers=2, seed=0)
    rng = np.random.default_rng(0)
    yv = rng.integers(0, 2, 64)  # random validation labels: val loss cannot keep improving
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    stopper = train.EarlyStopping(monitor="val_loss", patience=2)
    trainer = train.Trainer(model, nn.CrossEntropyLoss(), optim.Adam(lr=0.05), callbacks=[stopper])
    history = trainer.fit(
        data.DataLoader(X, y, batch_size=16),
        data.DataLoader(X, yv, batch_size=64),
        epochs=50,
        verbose=False,
    )
    assert len(history["val_loss"]) < 50
