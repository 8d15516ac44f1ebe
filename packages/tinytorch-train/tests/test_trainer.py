"""Trainer: learns, records and saves its history, keeps the best epoch, stops early, resumes."""

import json

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.data import DataLoader, make_spirals
from tinytorch.optim import SGD, Adam
from tinytorch.optim.lr_scheduler import StepLR
from tinytorch.train import (
    F1,
    Accuracy,
    Callback,
    CheckpointError,
    EarlyStopping,
    LambdaCallback,
    Trainer,
    evaluate_model,
    last_checkpoint_path,
    load_checkpoint,
    load_history,
    load_model,
)


def spirals(n=400, seed=0):
    X, y = make_spirals(n, seed=seed)
    return X.astype(np.float32), y


def mlp(hidden=64, dropout=0.0):
    tt.manual_seed(0)
    layers = [nn.Linear(2, hidden), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2)]
    return nn.Sequential(*layers)


def weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_learns_spirals_and_records_history(tmp_path):
    X, y = spirals(600)
    model = mlp()
    trainer = Trainer(model, nn.CrossEntropyLoss(), Adam(lr=0.01), [Accuracy(), F1()])
    hist_path = tmp_path / "history.json"
    history = trainer.fit(
        DataLoader(X, y, batch_size=32, shuffle=True, seed=0),
        val_dataloader=DataLoader(X, y, batch_size=200),
        epochs=40,
        history_path=hist_path,
        verbose=False,
    )
    assert set(history) == {
        "epoch",
        "train_loss",
        "train_accuracy",
        "train_f1",
        "val_loss",
        "val_accuracy",
        "val_f1",
        "lr",
        "time",
    }
    assert history["epoch"] == list(range(1, 41)) and all(len(v) == 40 for v in history.values())
    assert history["train_loss"][-1] < history["train_loss"][0] / 4
    assert history["val_accuracy"][-1] > 0.95
    assert evaluate_model(model, DataLoader(X, y, batch_size=100))["accuracy"] > 0.95
    saved = load_history(hist_path)
    assert saved["val_accuracy"] == history["val_accuracy"]
    assert json.loads(hist_path.read_text())["lr"] == [0.01] * 40


def test_evaluate_model_dict_no_grad_and_mode_restored():
    X, y = spirals(100)
    model = mlp(dropout=0.5)
    model.train()
    loader = DataLoader(X, y, batch_size=30)
    a = evaluate_model(model, loader, nn.CrossEntropyLoss(), [F1()])
    b = evaluate_model(model, loader, nn.CrossEntropyLoss(), [F1()])
    assert a == b  # eval mode: dropout is off, so it is deterministic
    assert set(a) == {"accuracy", "loss", "f1"} and model.training
    assert all(p.grad is None for p in model.parameters())
    manual = nn.CrossEntropyLoss()(model.eval()(tt.tensor(X)), tt.tensor(y)).item()
    assert a["loss"] == pytest.approx(manual, rel=1e-5)


def test_save_best_keeps_the_best_epoch(tmp_path):
    X, y = spirals(200)
    Xv, yv = spirals(200, seed=1)
    model = mlp()
    snapshots = []
    keep = LambdaCallback(on_epoch_end=lambda tr, epoch, logs: snapshots.append(weights(tr.model)))
    trainer = Trainer(model, nn.CrossEntropyLoss(), SGD(lr=0.5, momentum=0.9), callbacks=[keep])
    best = tmp_path / "best_model.pkl"
    history = trainer.fit(
        DataLoader(X, y, batch_size=20, shuffle=True, seed=0),
        val_dataloader=DataLoader(Xv, yv, batch_size=50),
        epochs=12,
        save_best=True,
        checkpoint_path=best,
        verbose=False,
    )
    i = int(np.argmin(history["val_loss"]))
    assert trainer.best_epoch == i and trainer.best_value == history["val_loss"][i]
    ckpt = load_checkpoint(best)
    assert ckpt["epoch"] == i + 1 and ckpt["value"] == min(history["val_loss"])
    for k, v in snapshots[i].items():
        assert np.array_equal(ckpt["model"][k], v)
    assert last_checkpoint_path(best).exists()  # the resume checkpoint sits next to it
    fresh = mlp()
    load_model(fresh, best)
    assert evaluate_model(fresh, DataLoader(Xv, yv, batch_size=50), nn.CrossEntropyLoss())[
        "loss"
    ] == pytest.approx(history["val_loss"][i], rel=1e-5)


def test_early_stopping_stops():
    X, y = spirals(100)
    stop = EarlyStopping(monitor="val_loss", patience=2, min_delta=10.0)  # nothing improves by 10
    trainer = Trainer(mlp(), nn.CrossEntropyLoss(), Adam(lr=0.01), callbacks=[stop])
    history = trainer.fit(
        DataLoader(X, y, batch_size=50), DataLoader(X, y, batch_size=50), epochs=20, verbose=False
    )
    assert len(history["epoch"]) == 3 and stop.stopped_epoch == 2 and stop.best_epoch == 0
    with pytest.raises(KeyError, match="val_accuracy"):
        Trainer(
            mlp(), nn.CrossEntropyLoss(), Adam(lr=0.01), callbacks=[EarlyStopping("val_accuracy")]
        ).fit(DataLoader(X, y, batch_size=50), DataLoader(X, y, batch_size=50), verbose=False)


def test_scheduler_and_grad_clip():
    X, y = spirals(100)
    model = mlp()
    opt = SGD(model.parameters(), lr=0.1)
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        opt,
        scheduler=StepLR(opt, step_size=2, gamma=0.5),
        grad_clip=0.01,
    )
    history = trainer.fit(DataLoader(X, y, batch_size=50), epochs=5, verbose=False)
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_bad_arguments():
    model = mlp()
    with pytest.raises(TypeError, match="Metric"):
        Trainer(model, nn.CrossEntropyLoss(), Adam(lr=0.1), ["accuracy"])
    with pytest.raises(TypeError, match="Callback"):
        Trainer(model, nn.CrossEntropyLoss(), Adam(lr=0.1), callbacks=[print])
    trainer = Trainer(model, nn.CrossEntropyLoss(), Adam(lr=0.1))
    with pytest.raises(ValueError, match="checkpoint_every"):
        trainer.fit([], checkpoint_every=0)


class Crash(Callback):
    """Raise at a given step, standing in for a crash (the SIGKILL test does it for real)."""

    def __init__(self, at):
        self.at = at

    def on_batch_end(self, trainer, step, logs):
        if step == self.at:
            raise KeyboardInterrupt(f"crash at step {step}")


def _run(tmp_path, crash_at=None, resume=False, every="epoch", prefetch=2, transform=False):
    X, y = spirals(160)
    model = mlp(hidden=16, dropout=0.2)
    opt = Adam(model.parameters(), lr=0.01)
    tf = nn_flip() if transform else None
    loader = DataLoader(X, y, batch_size=16, shuffle=True, seed=3, prefetch=prefetch, transform=tf)
    callbacks = [Crash(crash_at)] if crash_at else []
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        opt,
        [Accuracy()],
        scheduler=StepLR(opt, step_size=1, gamma=0.9),
        callbacks=callbacks,
    )
    history = trainer.fit(
        loader,
        DataLoader(X, y, batch_size=80),
        epochs=4,
        checkpoint_path=tmp_path / "run.ckpt",
        checkpoint_every=every,
        resume=resume,
        verbose=False,
    )
    return weights(model), {k: v for k, v in history.items() if k != "time"}


class Jitter:
    """A random transform with its own generator (as RandomCrop / RandomHorizontalFlip have)."""

    def __init__(self, generator):
        self.generator = generator

    def __call__(self, x):
        arr = x.numpy() if isinstance(x, tt.Tensor) else np.asarray(x)
        return (arr + 0.05 * self.generator.numpy.standard_normal(arr.shape)).astype(np.float32)


def nn_flip():
    from tinytorch.data import Compose

    return Compose([Jitter(tt.Generator(7))])


@pytest.mark.parametrize(
    "every,crash_at,prefetch,transform",
    [
        ("epoch", 25, 2, False),  # crash in epoch 2 -> resume from the end of epoch 1
        (3, 25, 2, False),  # mid-epoch checkpoint at step 24
        (4, 37, 0, True),  # mid-epoch, with a random transform (prefetch=0)
        (4, 37, 3, True),  # ... and with a prefetch thread drawing augmentations ahead
        ("epoch", 25, 3, True),
    ],
)
def test_resume_in_process_is_exact(tmp_path, every, crash_at, prefetch, transform):
    w_ref, h_ref = _run(tmp_path / "ref", every=every, prefetch=prefetch, transform=transform)
    with pytest.raises(KeyboardInterrupt):
        _run(
            tmp_path / "cut", crash_at=crash_at, every=every, prefetch=prefetch, transform=transform
        )
    w, h = _run(tmp_path / "cut", resume=True, every=every, prefetch=prefetch, transform=transform)
    assert h == h_ref
    for k in w_ref:
        assert np.array_equal(w[k], w_ref[k]), k


def test_resume_into_another_architecture_is_a_clear_error(tmp_path):
    X, y = spirals(64)
    Trainer(mlp(hidden=16), nn.CrossEntropyLoss(), Adam(lr=0.01)).fit(
        DataLoader(X, y, batch_size=32),
        epochs=1,
        checkpoint_path=tmp_path / "r.ckpt",
        verbose=False,
    )
    other = Trainer(mlp(hidden=32), nn.CrossEntropyLoss(), Adam(lr=0.01))
    with pytest.raises(CheckpointError, match=r"0.weight: checkpoint \(16, 2\) vs model \(32, 2\)"):
        other.fit(DataLoader(X, y, batch_size=32), epochs=2, resume=tmp_path / "r.ckpt")


def test_progress_bar_and_plain_lines(capsys):
    X, y = spirals(64)
    trainer = Trainer(mlp(hidden=8), nn.CrossEntropyLoss(), Adam(lr=0.01), [Accuracy()])
    trainer.fit(DataLoader(X, y, batch_size=32), epochs=2)  # stdout is not a TTY here
    out = capsys.readouterr().out
    assert out.count("epoch ") == 2 and "train_accuracy" in out and "\x1b[" not in out
    trainer.fit(DataLoader(X, y, batch_size=32), epochs=1, progress=True)
    assert "epoch 1/1" in capsys.readouterr().out
