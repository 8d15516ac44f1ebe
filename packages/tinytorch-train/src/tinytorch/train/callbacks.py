"""Callbacks: hooks that `Trainer.fit` calls at the start and end of training, epochs and batches.

A callback subclasses `Callback` and overrides any of ``on_train_begin(trainer)``,
``on_epoch_begin(trainer, epoch)``, ``on_batch_end(trainer, step, logs)``,
``on_epoch_end(trainer, epoch, logs)`` and ``on_train_end(trainer, history)``. Setting
``trainer.stop_training = True`` ends training after the current epoch. A callback with state
(`EarlyStopping`) has `state_dict` / `load_state_dict`, which checkpoints include.

Examples:
    >>> from tinytorch.train.callbacks import EarlyStopping
    >>> stop = EarlyStopping(monitor="val_loss", patience=2)
    >>> [stop.step(v) for v in [1.0, 0.9, 0.95, 0.91]]
    [False, False, False, True]
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["Callback", "EarlyStopping", "LambdaCallback"]


class Callback:
    """Base class: every hook does nothing; override the ones you need.

    Examples:
        >>> class Printer(Callback):
        ...     def on_epoch_end(self, trainer, epoch, logs):
        ...         print(epoch, round(logs["train_loss"], 1))
        >>> Printer().on_epoch_end(None, 0, {"train_loss": 0.52})
        0 0.5
    """

    def on_train_begin(self, trainer) -> None:
        """Before the first epoch (also when resuming)."""

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        """Before each epoch (0-based)."""

    def on_batch_end(self, trainer, step: int, logs: dict[str, Any]) -> None:
        """After each optimizer step; ``step`` counts steps since the start (1-based)."""

    def on_epoch_end(self, trainer, epoch: int, logs: dict[str, Any]) -> None:
        """After each epoch's validation, with that epoch's history record."""

    def on_train_end(self, trainer, history: dict[str, list]) -> None:
        """After the last epoch."""

    def state_dict(self) -> dict:
        """State to checkpoint (none by default)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict`."""


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=fn, on_batch_end=fn2)``.

    Examples:
        >>> seen = []
        >>> cb = LambdaCallback(on_epoch_end=lambda trainer, epoch, logs: seen.append(epoch))
        >>> cb.on_epoch_end(None, 3, {}); seen
        [3]
    """

    def __init__(self, **hooks):
        names = {"on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end"}
        unknown = set(hooks) - names
        if unknown:
            raise TypeError(
                f"LambdaCallback: unknown hook(s) {sorted(unknown)}; use {sorted(names)}"
            )
        for name, fn in hooks.items():
            setattr(self, name, fn)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Args:
        monitor: a history key, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        patience: epochs without improvement before stopping.
        min_delta: the smallest change that counts as an improvement.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (min for names with "loss", else max).

    Examples:
        >>> stop = EarlyStopping(monitor="val_accuracy", patience=1)
        >>> [stop.step(v) for v in [0.5, 0.6, 0.6]]
        [False, False, True]
        >>> stop.best, stop.best_epoch
        (0.6, 1)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
    ):
        if mode not in ("min", "max", "auto"):
            raise ValueError(f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {mode!r}")
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        if min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = ("min" if "loss" in monitor else "max") if mode == "auto" else mode
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.epochs_seen = 0
        self.stopped_epoch: int | None = None

    def improved(self, value: float) -> bool:
        """Whether ``value`` beats the best so far by more than ``min_delta``."""
        # BEGIN SOLUTION 11 early_stopping
        if self.best is None:
            return not math.isnan(value)
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta
        # END SOLUTION

    def step(self, value: float) -> bool:
        """Record one epoch's value; returns True when training should stop."""
        # BEGIN SOLUTION 11 early_stopping
        value = float(value)
        epoch = self.epochs_seen
        self.epochs_seen += 1
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            return False
        self.wait += 1  # one more epoch without improvement
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False
        # END SOLUTION

    def on_epoch_end(self, trainer, epoch: int, logs: dict[str, Any]) -> None:
        """Read ``logs[monitor]`` and set ``trainer.stop_training`` when patience runs out."""
        if self.monitor not in logs or logs[self.monitor] is None:
            raise KeyError(
                f"EarlyStopping: {self.monitor!r} is not in the epoch's history "
                f"(have {sorted(k for k, v in logs.items() if v is not None)})"
            )
        if self.step(logs[self.monitor]):
            trainer.stop_training = True

    def state_dict(self) -> dict:
        """best, best_epoch, wait, epochs_seen, stopped_epoch."""
        return {
            k: getattr(self, k)
            for k in ("best", "best_epoch", "wait", "epochs_seen", "stopped_epoch")
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore `state_dict`."""
        for k, v in state.items():
            setattr(self, k, v)

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
            f"min_delta={self.min_delta}, mode={self.mode!r})"
        )
