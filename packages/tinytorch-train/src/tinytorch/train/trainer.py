"""`Trainer`: fit a model with metrics, callbacks, checkpoints, early stopping and exact resume.

`Trainer.fit` runs epochs of ``zero_grad / forward / loss / backward / (clip) / step``, then
validates, records a history (per epoch: ``train_loss``, ``train_<metric>``, ``val_loss``,
``val_<metric>``, ``lr``, ``time``), writes it as JSON, keeps the best checkpoint by a
monitored value, and writes a *resume checkpoint* after every epoch (and, if asked, every N
steps). A resume checkpoint holds the model, optimizer, scheduler, epoch and step, the train
loader's position (`DataLoader.state_dict`, which includes its random transforms' generator
states as of the last batch handed out), the default `tinytorch.tensor` generator, the
metrics' running counts, the callbacks' state and the history: ``fit(..., resume=path)``
continues bit for bit as if the run had never stopped.

Exactness caveats: a random transform that has no generator of its own draws from the default
generator in the loader's prefetch thread, interleaved with the model's own draws (dropout);
give such transforms their own `Generator`. With that, epoch and mid-epoch checkpoints
(``checkpoint_every=N``) are exact, prefetch thread or not.

Examples:
    >>> import tinytorch.tensor as tt
    >>> from tinytorch import nn
    >>> from tinytorch.data import DataLoader, make_spirals
    >>> from tinytorch.optim import Adam
    >>> from tinytorch.train import Accuracy, Trainer
    >>> _ = tt.manual_seed(0)
    >>> X, y = make_spirals(200, seed=0)
    >>> model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    >>> trainer = Trainer(model, nn.CrossEntropyLoss(), Adam(lr=0.01), [Accuracy()])
    >>> history = trainer.fit(DataLoader(X, y, batch_size=32, shuffle=True), epochs=2,
    ...                       verbose=False)
    >>> sorted(history)
    ['epoch', 'lr', 'time', 'train_accuracy', 'train_loss']
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import tinytorch.tensor as tt
from tinytorch.autograd import no_grad
from tinytorch.optim import clip_grad_norm_
from tinytorch.tensor import Tensor

from .callbacks import Callback
from .checkpoint import (
    CheckpointError,
    architecture_signature,
    atomic_write_bytes,
    check_architecture,
    load_checkpoint,
    save_checkpoint,
)
from .metrics import Accuracy, Metric

__all__ = ["Trainer", "evaluate_model", "save_history", "load_history", "last_checkpoint_path"]


# --------------------------------------------------------------------------- helpers


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[0], batch[1]
    raise ValueError(f"Trainer: each batch must be (inputs, targets); got a {type(batch).__name__}")


def _as_tensor(x):
    return x if isinstance(x, Tensor) else tt.tensor(np.asarray(x))


def _loss_value(loss) -> float:
    return float(loss.item() if hasattr(loss, "item") else loss)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def save_history(history: dict, path) -> Path:
    """Write a history dict as JSON, atomically (NaN and infinities become ``null``).

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "h.json")
        >>> p = save_history({"train_loss": [0.5, 0.25]}, path)
        >>> load_history(p)
        {'train_loss': [0.5, 0.25]}
    """

    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    text = json.dumps(clean(_jsonable(history)), indent=1)
    return atomic_write_bytes(path, text.encode("utf-8"))


def load_history(path) -> dict:
    """Read a history written by `save_history`.

    Examples:
        >>> import os, tempfile
        >>> load_history(save_history({"lr": [0.1]}, os.path.join(tempfile.mkdtemp(), "h.json")))
        {'lr': [0.1]}
    """
    return json.loads(Path(path).read_text(encoding="utf-8"))


def last_checkpoint_path(checkpoint_path) -> Path:
    """Where `Trainer.fit` writes its resume checkpoint when ``save_best`` uses ``checkpoint_path``.

    Examples:
        >>> last_checkpoint_path("runs/best_model.pkl").as_posix()
        'runs/best_model.last.pkl'
    """
    p = Path(checkpoint_path)
    return p.with_name(f"{p.stem}.last{p.suffix}")


# --------------------------------------------------------------------------- evaluation


def evaluate_model(model, loader, loss_fn=None, metrics=None) -> dict[str, float]:
    """Evaluate ``model`` on ``loader`` under ``no_grad`` and eval mode.

    Returns ``{"accuracy": ..., "loss": ... (with ``loss_fn``), <metric name>: ...}``; accuracy
    is reported for classification outputs ``(N, C)``. The model's train/eval mode is restored.

    Examples:
        >>> import numpy as np
        >>> from tinytorch import nn
        >>> from tinytorch.data import DataLoader
        >>> model = nn.Linear(2, 2)
        >>> X, y = np.ones((6, 2), np.float32), np.zeros(6, np.int64)
        >>> out = evaluate_model(model, DataLoader(X, y, batch_size=4), nn.CrossEntropyLoss())
        >>> sorted(out)
        ['accuracy', 'loss']
    """
    metrics = [m for m in (metrics or []) if isinstance(m, Metric)]
    acc = Accuracy() if not any(m.name == "accuracy" for m in metrics) else None
    for m in metrics:
        m.reset()
    was_training = getattr(model, "training", True)
    model.eval()
    loss_sum, count, classification = 0.0, 0, True
    try:
        with no_grad():
            for batch in loader:
                x, y = _split_batch(batch)
                out = model(_as_tensor(x))
                n = int(out.shape[0])
                if loss_fn is not None:
                    loss_sum += _loss_value(loss_fn(out, _as_tensor(y))) * n
                count += n
                if out.ndim != 2 or out.shape[1] < 2:
                    classification = False
                if classification and acc is not None:
                    acc.update(out, y)
                for m in metrics:
                    m.update(out, y)
    finally:
        model.train(was_training)
    result: dict[str, float] = {}
    if classification:
        result["accuracy"] = (acc or next(m for m in metrics if m.name == "accuracy")).compute()
    if loss_fn is not None:
        result["loss"] = loss_sum / count if count else float("nan")
    for m in metrics:
        result[m.name] = m.compute()
    return result


# --------------------------------------------------------------------------- trainer


class Trainer:
    """Train ``model`` with ``loss_fn`` and ``optimizer``; see `fit`.

    Args:
        model: a `tinytorch.nn.Module`.
        loss_fn: ``loss_fn(outputs, targets) -> scalar Tensor`` (e.g. ``nn.CrossEntropyLoss()``).
        optimizer: a `tinytorch.optim.Optimizer`; one made without parameters
            (``Adam(lr=0.001)``, as in the seed) is bound to ``model.parameters()`` here.
        metrics: metric objects (`Accuracy`, `F1`, ...), computed on train and validation data.
        scheduler: a learning-rate scheduler, stepped once per epoch (``scheduler_step="epoch"``)
            or after every optimizer step (``"batch"``).
        callbacks: `Callback` objects (`EarlyStopping`, ...).
        seed: a fresh `fit` calls ``tinytorch.tensor.manual_seed(seed)`` first (``None``: don't).
        grad_clip: clip the global gradient norm to this value before each step.

    Examples:
        >>> from tinytorch import nn
        >>> from tinytorch.optim import Adam
        >>> model = nn.Linear(4, 3)
        >>> trainer = Trainer(model, nn.CrossEntropyLoss(), Adam(lr=0.001), [Accuracy()])
        >>> trainer.optimizer.is_bound
        True
    """

    def __init__(
        self,
        model,
        loss_fn,
        optimizer,
        metrics=None,
        scheduler=None,
        callbacks=None,
        seed: int | None = 0,
        grad_clip: float | None = None,
        scheduler_step: str = "epoch",
    ):
        if not hasattr(model, "parameters"):
            raise TypeError(f"Trainer: model must be a Module, got {type(model).__name__}")
        if not callable(loss_fn):
            raise TypeError(f"Trainer: loss_fn must be callable, got {type(loss_fn).__name__}")
        if scheduler_step not in ("epoch", "batch"):
            raise ValueError(
                f"Trainer: scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}"
            )
        if grad_clip is not None and not grad_clip > 0:
            raise ValueError(f"Trainer: grad_clip must be > 0, got {grad_clip}")
        metrics = list(metrics or [])
        for m in metrics:
            if not isinstance(m, Metric):
                raise TypeError(
                    f"Trainer: metrics must be Metric objects (Accuracy(), F1(), ...), "
                    f"got {type(m).__name__}"
                )
        names = [m.name for m in metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"Trainer: two metrics share a name: {names}")
        callbacks = list(callbacks or [])
        for c in callbacks:
            if not isinstance(c, Callback):
                raise TypeError(
                    f"Trainer: callbacks must be Callback objects, got {type(c).__name__}"
                )
        self.model = model
        self.loss_fn = loss_fn
        if hasattr(optimizer, "is_bound") and not optimizer.is_bound:
            optimizer.bind(model.parameters())
        self.optimizer = optimizer
        self.metrics = metrics
        self.scheduler = scheduler
        self.callbacks = callbacks
        self.seed = seed
        self.grad_clip = grad_clip
        self.scheduler_step = scheduler_step
        self.stop_training = False
        self.history: dict[str, list] = {}
        self.epoch = 0
        self.global_step = 0
        self.best_value: float | None = None
        self.best_epoch: int | None = None

    # ---------------------------------------------------------------- state
    def lr(self) -> float:
        """The first param group's current learning rate."""
        return float(self.optimizer.param_groups[0]["lr"])

    def _state(
        self, train_loader, val_loader, batches_done: int, running: dict | None, extra: dict
    ) -> dict:
        return {
            "model": self.model,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "epoch": self.epoch,
            "global_step": self.global_step,
            "batches_done": batches_done,
            "running": running,
            "train_loader": train_loader.state_dict()
            if hasattr(train_loader, "state_dict")
            else None,
            "val_loader": (
                val_loader.state_dict()
                if val_loader is not None and hasattr(val_loader, "state_dict")
                else None
            ),
            "default_generator": tt.default_generator.get_state(),
            "metrics": [m.state_dict() for m in self.metrics],
            "callbacks": [c.state_dict() for c in self.callbacks],
            "history": self.history,
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            **extra,
        }

    def save_checkpoint(self, path, train_loader=None, val_loader=None, **extra) -> Path:
        """Write a checkpoint of everything `fit` needs to continue exactly (at an epoch end).

        Examples:
            >>> import os, tempfile
            >>> from tinytorch import nn
            >>> from tinytorch.optim import SGD
            >>> trainer = Trainer(nn.Linear(2, 2), nn.CrossEntropyLoss(), SGD(lr=0.1))
            >>> path = trainer.save_checkpoint(os.path.join(tempfile.mkdtemp(), "t.ckpt"))
            >>> path.name
            't.ckpt'
        """
        state = (
            self._state(train_loader, val_loader, 0, None, extra)
            if train_loader is not None
            else {
                "model": self.model,
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
                "epoch": self.epoch,
                "global_step": self.global_step,
                "history": self.history,
                **extra,
            }
        )
        return save_checkpoint(path, **state)

    def load_checkpoint(self, path, train_loader=None, val_loader=None) -> dict:
        """Restore the model, optimizer, scheduler, counters, RNG states and loaders from ``path``.

        Raises `CheckpointError` naming the keys and shapes when the checkpoint was saved from
        another architecture. Returns the checkpoint dict.

        Examples:
            >>> import os, tempfile
            >>> from tinytorch import nn
            >>> from tinytorch.optim import SGD
            >>> trainer = Trainer(nn.Linear(2, 2), nn.CrossEntropyLoss(), SGD(lr=0.1))
            >>> path = trainer.save_checkpoint(os.path.join(tempfile.mkdtemp(), "t.ckpt"))
            >>> trainer.load_checkpoint(path)["epoch"]
            0
        """
        ckpt = load_checkpoint(path)
        if "model" not in ckpt:
            raise CheckpointError(f"{path}: holds no model weights")
        check_architecture(
            self.model,
            ckpt.get("architecture") or architecture_signature(ckpt["model"]),
            f"checkpoint {path}",
        )
        self.model.load_state_dict(ckpt["model"])
        if ckpt.get("optimizer") is not None:
            self.optimizer.load_state_dict(ckpt["optimizer"])
        if ckpt.get("scheduler") is not None:
            if self.scheduler is None:
                raise CheckpointError(f"{path}: saved with a scheduler, but this Trainer has none")
            self.scheduler.load_state_dict(ckpt["scheduler"])
        self.epoch = int(ckpt.get("epoch", 0))
        self.global_step = int(ckpt.get("global_step", 0))
        self.history = {k: list(v) for k, v in (ckpt.get("history") or {}).items()}
        self.best_value = ckpt.get("best_value")
        self.best_epoch = ckpt.get("best_epoch")
        if ckpt.get("default_generator") is not None:
            tt.default_generator.set_state(ckpt["default_generator"])
        for loader, key in ((train_loader, "train_loader"), (val_loader, "val_loader")):
            if loader is not None and ckpt.get(key) is not None:
                try:
                    loader.load_state_dict(ckpt[key])
                except ValueError as exc:
                    raise CheckpointError(f"{path}: {key}: {exc}") from exc
        saved_metrics = ckpt.get("metrics") or []
        if saved_metrics and len(saved_metrics) == len(self.metrics):
            for m, s in zip(self.metrics, saved_metrics, strict=True):
                m.load_state_dict(s)
        saved_cbs = ckpt.get("callbacks") or []
        if saved_cbs and len(saved_cbs) == len(self.callbacks):
            for c, s in zip(self.callbacks, saved_cbs, strict=True):
                c.load_state_dict(s)
        return ckpt

    # ---------------------------------------------------------------- fit
    def fit(
        self,
        train_loader: Iterable,
        val_dataloader: Iterable | None = None,
        epochs: int = 1,
        save_best: bool = False,
        checkpoint_path=None,
        monitor: str = "val_loss",
        mode: str = "auto",
        resume=None,
        checkpoint_every="epoch",
        history_path=None,
        progress: bool | None = None,
        verbose: bool = True,
    ) -> dict[str, list]:
        """Train for ``epochs`` epochs in all (counting those before a resume); return the history.

        Args:
            train_loader: yields ``(inputs, targets)`` batches (a `DataLoader`).
            val_dataloader: validation batches, evaluated after every epoch.
            epochs: the total number of epochs.
            save_best: keep the best epoch's checkpoint (by ``monitor``) at ``checkpoint_path``.
            checkpoint_path: with ``save_best``, the best checkpoint; the resume checkpoint goes
                to `last_checkpoint_path` of it (``best_model.last.pkl``). Without ``save_best``,
                the resume checkpoint itself.
            monitor: the history key ``save_best`` watches (``val_*`` falls back to ``train_*``
                without validation data); ``mode``: ``"min"``, ``"max"`` or ``"auto"``.
            resume: a checkpoint path to continue from (``True``: this run's resume checkpoint,
                when it exists).
            checkpoint_every: ``"epoch"``, or an int N: also every N optimizer steps.
            history_path: also write the history as JSON there (atomically, every epoch).
            progress: a rich progress bar (default: only when stdout is a TTY).
            verbose: print one line per epoch when there is no progress bar.

        Examples:
            >>> import numpy as np
            >>> from tinytorch import nn
            >>> from tinytorch.data import DataLoader
            >>> from tinytorch.optim import SGD
            >>> X, y = np.eye(4, dtype=np.float32), np.arange(4)
            >>> trainer = Trainer(nn.Linear(4, 4), nn.CrossEntropyLoss(), SGD(lr=1.0), [Accuracy()])
            >>> h = trainer.fit(DataLoader(X, y, batch_size=4), DataLoader(X, y, batch_size=4),
            ...                 epochs=20, verbose=False)
            >>> h["val_accuracy"][-1]
            1.0
        """
        if not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
        if checkpoint_every != "epoch" and not (
            isinstance(checkpoint_every, int) and checkpoint_every > 0
        ):
            raise ValueError(
                f"fit: checkpoint_every must be 'epoch' or an int > 0, got {checkpoint_every!r}"
            )
        if save_best and checkpoint_path is None:
            checkpoint_path = "best_model.ckpt"
        if monitor.startswith("val_") and val_dataloader is None:
            monitor = "train_" + monitor[len("val_") :]
        if mode not in ("min", "max", "auto"):
            raise ValueError(f"fit: mode must be 'min', 'max' or 'auto', got {mode!r}")
        minimize = ("loss" in monitor) if mode == "auto" else mode == "min"
        resume_path = None
        if checkpoint_path is not None:
            resume_path = (
                last_checkpoint_path(checkpoint_path) if save_best else Path(checkpoint_path)
            )

        running = None
        if resume is True:
            resume = resume_path if resume_path is not None and resume_path.exists() else None
        if resume:
            ckpt = self.load_checkpoint(resume, train_loader, val_dataloader)
            running = ckpt.get("running")
        else:
            self.history, self.epoch, self.global_step = {}, 0, 0
            self.best_value, self.best_epoch = None, None
            if self.seed is not None:
                tt.manual_seed(self.seed)
        self.stop_training = False

        show_bar = progress if progress is not None else sys.stdout.isatty()
        bar = _Progress(show_bar)
        for c in self.callbacks:
            c.on_train_begin(self)
        try:
            while self.epoch < epochs and not self.stop_training:
                epoch = self.epoch
                for c in self.callbacks:
                    c.on_epoch_begin(self, epoch)
                t0 = time.perf_counter() - (running or {}).get("elapsed", 0.0)
                record = self._train_epoch(
                    train_loader,
                    val_dataloader,
                    epoch,
                    epochs,
                    running,
                    checkpoint_every,
                    resume_path,
                    bar,
                    t0,
                )
                running = None
                if val_dataloader is not None:
                    val = evaluate_model(self.model, val_dataloader, self.loss_fn, self.metrics)
                    record["val_loss"] = val["loss"]
                    for m in self.metrics:
                        record[f"val_{m.name}"] = val[m.name]
                if self.scheduler is not None and self.scheduler_step == "epoch":
                    self.scheduler.step()
                record["time"] = time.perf_counter() - t0
                for k, v in record.items():
                    self.history.setdefault(k, []).append(v)
                self.epoch = epoch + 1
                for c in self.callbacks:
                    c.on_epoch_end(self, epoch, record)
                if save_best:
                    if monitor not in record:
                        raise KeyError(
                            f"fit: monitor {monitor!r} is not in the history "
                            f"(have {sorted(record)})"
                        )
                    value = float(record[monitor])
                    better = self.best_value is None or (
                        value < self.best_value if minimize else value > self.best_value
                    )
                    if better and not math.isnan(value):
                        self.best_value, self.best_epoch = value, epoch
                        save_checkpoint(
                            checkpoint_path,
                            model=self.model,
                            epoch=epoch + 1,
                            monitor=monitor,
                            value=value,
                            history=self.history,
                        )
                if resume_path is not None:
                    save_checkpoint(
                        resume_path, **self._state(train_loader, val_dataloader, 0, None, {})
                    )
                if history_path is not None:
                    save_history(self.history, history_path)
                bar.epoch_done(record, verbose)
        finally:
            bar.close()
        for c in self.callbacks:
            c.on_train_end(self, self.history)
        return self.history

    def _train_epoch(
        self, loader, val_loader, epoch, epochs, running, checkpoint_every, resume_path, bar, t0
    ) -> dict[str, Any]:
        self.model.train()
        if running is None:
            loss_sum, count, batches_done = 0.0, 0, 0
            for m in self.metrics:
                m.reset()
        else:  # resumed mid-epoch: the metrics' counts came back with load_checkpoint
            loss_sum, count = float(running["loss_sum"]), int(running["count"])
            batches_done = int(running["batches_done"])
        total = len(loader) if hasattr(loader, "__len__") else None
        bar.start_epoch(epoch, epochs, total, batches_done)
        params = self.model.parameters()
        for batch in loader:
            x, y = _split_batch(batch)
            x, y = _as_tensor(x), _as_tensor(y)
            # BEGIN SOLUTION 11 train_step
            # one optimizer step: clear old gradients, forward, loss, backward, (clip), update
            self.optimizer.zero_grad()
            out = self.model(x)
            loss = self.loss_fn(out, y)
            loss.backward()
            if self.grad_clip is not None:
                clip_grad_norm_(params, self.grad_clip)
            self.optimizer.step()
            # END SOLUTION
            if self.scheduler is not None and self.scheduler_step == "batch":
                self.scheduler.step()
            self.global_step += 1
            batches_done += 1
            n = int(out.shape[0])
            value = _loss_value(loss)
            loss_sum += value * n
            count += n
            for m in self.metrics:
                m.update(out.detach(), y)
            if (
                isinstance(checkpoint_every, int)
                and resume_path is not None
                and self.global_step % checkpoint_every == 0
                and batches_done != total
            ):
                run = {
                    "loss_sum": loss_sum,
                    "count": count,
                    "batches_done": batches_done,
                    "elapsed": time.perf_counter() - t0,
                }
                save_checkpoint(
                    resume_path, **self._state(loader, val_loader, batches_done, run, {})
                )
            bar.batch_done(value)
            for c in self.callbacks:
                c.on_batch_end(self, self.global_step, {"loss": value, "epoch": epoch})
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / count if count else float("nan"),
        }
        for m in self.metrics:
            record[f"train_{m.name}"] = m.compute()
        record["lr"] = self.lr()
        return record

    def __repr__(self) -> str:
        return (
            f"Trainer(model={type(self.model).__name__}, optimizer="
            f"{type(self.optimizer).__name__}, metrics={[m.name for m in self.metrics]}, "
            f"epoch={self.epoch})"
        )


class _Progress:
    """A rich progress bar over an epoch's batches, or one printed line per epoch."""

    def __init__(self, enabled: bool):
        self.bar = None
        self.task = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                transient=False,
            )
            self.bar.start()

    def start_epoch(self, epoch, epochs, total, done):
        self.label = f"epoch {epoch + 1}/{epochs}"
        if self.bar is not None:
            if self.task is not None:
                self.bar.remove_task(self.task)
            self.task = self.bar.add_task(self.label, total=total, completed=done, info="")

    def batch_done(self, loss):
        if self.bar is not None:
            self.bar.update(self.task, advance=1, info=f"loss {loss:.4f}")

    def epoch_done(self, record, verbose):
        parts = [
            f"{k} {v:.4f}"
            for k, v in record.items()
            if k not in ("epoch", "time", "lr") and isinstance(v, float)
        ]
        line = f"{self.label}: " + ", ".join(parts) + f" ({record['time']:.1f}s)"
        if self.bar is not None:
            self.bar.update(self.task, info=", ".join(parts))
        elif verbose:
            print(line, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.stop()
