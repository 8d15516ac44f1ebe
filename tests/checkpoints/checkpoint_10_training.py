"""Can I build complete training loops for end-to-end learning?

A Trainer fits a small MLP to the two-spirals data set (not linearly separable) to high
accuracy, records a history, and evaluates a held-out set.
"""

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


def test_trainer_learns_spirals():
    tt.manual_seed(0)
    X, y = data.make_spirals(400, seed=0)
    Xv, yv = data.make_spirals(200, seed=1)
    model = nn.Sequential(
        nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2)
    )
    trainer = train.Trainer(model, nn.CrossEntropyLoss(), optim.Adam(lr=0.01), [train.Accuracy()])
    history = trainer.fit(
        data.DataLoader(X, y, batch_size=32, shuffle=True, seed=0),
        data.DataLoader(Xv, yv, batch_size=100),
        epochs=40,
        verbose=False,
    )
    assert len(history["train_loss"]) == 40
    assert history["train_loss"][-1] < history["train_loss"][0] / 2
    assert history["val_accuracy"][-1] > 0.9
    result = train.evaluate_model(
        model, data.DataLoader(Xv, yv, batch_size=100), nn.CrossEntropyLoss(), [train.Accuracy()]
    )
    assert result["accuracy"] > 0.9
