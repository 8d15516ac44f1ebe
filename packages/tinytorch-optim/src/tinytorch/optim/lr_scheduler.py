"""Learning-rate schedulers: a schedule is a function of the step number.

Each scheduler here is written in closed form, ``lr_at(t)`` (the learning rate of every param
group at step ``t``), so its whole state is ``last_epoch`` plus its hyperparameters, and resuming
from a `LRScheduler.state_dict` is exact. Call ``scheduler.step()`` once per optimizer step (or
per epoch, for epoch-based schedules), **after** ``optimizer.step()``, as in PyTorch:

    optimizer.step()
    scheduler.step()

Making a scheduler records each group's starting ``lr`` as ``initial_lr`` and sets step 0's lr.
The lr sequences equal PyTorch's (tested step by step where PyTorch is installed).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import Any

from .optimizer import Optimizer


def _per_group(name: str, optimizer: Optimizer, value) -> list:
    """One value per param group: a scalar is repeated, a list must have one entry per group."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"expected {n} values for {name} (one per param group), got {len(value)}"
            )
        return list(value)
    return [value] * n


def _positive_int(owner: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")
    return value


class LRScheduler:
    """Base class: sets every param group's ``lr`` to ``lr_at(step)`` on each `step`.

    Subclasses implement ``lr_at(t) -> list[float]`` (one lr per param group) from
    ``self.base_lrs`` (each group's ``initial_lr``).

    Args:
        optimizer: a bound `Optimizer` (bind a deferred one before making its scheduler).
        last_epoch: the index of the last step taken; -1 starts a new schedule.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.optim import SGD
        >>> class Halving(LRScheduler):
        ...     def lr_at(self, t):
        ...         return [base * 0.5**t for base in self.base_lrs]
        >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = Halving(opt)
        >>> for _ in range(2):
        ...     opt.step(); sched.step()
        >>> sched.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(
                f"{type(self).__name__}: {type(optimizer).__name__} is not an optimizer"
            )
        if not optimizer.param_groups:
            raise RuntimeError(
                f"{type(self).__name__}: the optimizer has no parameters yet; call "
                "optimizer.bind(model.parameters()) before making its scheduler"
            )
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{type(self).__name__}: param group {i} has no 'initial_lr' "
                        "(needed to resume with last_epoch != -1)"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = []
        self.step()

    def lr_at(self, t: int) -> list[float]:  # pragma: no cover - abstract
        """The learning rate of every param group at step ``t`` (closed form)."""
        raise NotImplementedError

    def get_lr(self) -> list[float]:
        """The learning rates for the current step (``lr_at(last_epoch)``).

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import SGD
            >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=1.0)
            >>> StepLR(opt, step_size=1, gamma=0.5).get_lr()
            [1.0]
        """
        return self.lr_at(self.last_epoch)

    def step(self) -> None:
        """Advance one step and write the new learning rate into every param group.

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import SGD
            >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=1.0)
            >>> sched = StepLR(opt, step_size=1, gamma=0.5)
            >>> sched.step()
            >>> opt.param_groups[0]["lr"]
            0.5
        """
        self.last_epoch += 1
        lrs = [float(lr) for lr in self.lr_at(self.last_epoch)]
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = lrs

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last `step` (one per param group).

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import SGD
            >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=0.1)
            >>> LambdaLR(opt, lambda t: 10.0).get_last_lr()
            [1.0]
        """
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state as plain data (its step and hyperparameters; no functions).

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import SGD
            >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=0.1)
            >>> sd = StepLR(opt, step_size=3).state_dict()
            >>> sd["last_epoch"], sd["step_size"]
            (0, 3)
        """
        return {
            k: (list(v) if isinstance(v, list) else v)
            for k, v in self.__dict__.items()
            if k not in ("optimizer", "lr_lambdas", "_schedulers")
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a `state_dict` (the optimizer's own state dict restores the current lrs).

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import SGD
            >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=0.1)
            >>> sched = StepLR(opt, step_size=3)
            >>> sched.load_state_dict({**sched.state_dict(), "last_epoch": 7})
            >>> sched.last_epoch
            7
        """
        unknown = set(state_dict) - set(self.state_dict())
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: unknown key(s) {sorted(unknown)} "
                "(a state dict from another scheduler?)"
            )
        self.__dict__.update(
            {k: (list(v) if isinstance(v, list) else v) for k, v in state_dict.items()}
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"


class LambdaLR(LRScheduler):
    """``lr = initial_lr * lr_lambda(t)``: any schedule, given as a function of the step.

    Args:
        optimizer: a bound optimizer.
        lr_lambda: a function of the step ``t`` giving a multiplicative factor, or a list of
            them (one per param group). Functions are not part of `state_dict`.
        last_epoch: -1 to start.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.optim import SGD
        >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = LambdaLR(opt, lambda t: 1 / (1 + t))
        >>> sched.step(); sched.step()
        >>> round(sched.get_last_lr()[0], 4)
        0.3333
    """

    def __init__(
        self, optimizer: Optimizer, lr_lambda: Callable | Sequence[Callable], last_epoch: int = -1
    ):
        lambdas = _per_group("lr_lambda", optimizer, lr_lambda)
        if not all(callable(f) for f in lambdas):
            raise TypeError(
                "LambdaLR: lr_lambda must be a function of the step (or a list of them)"
            )
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> list[float]:
        """``initial_lr * lr_lambda(t)`` for each param group."""
        # lr_t = lr_0 * f(t)
        return [base * f(t) for base, f in zip(self.base_lrs, self.lr_lambdas, strict=True)]


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` steps: ``lr_0 * gamma ** (t // step_size)``.

    Args:
        optimizer: a bound optimizer.
        step_size: steps (usually epochs) between decays.
        gamma: the decay factor.
        last_epoch: -1 to start.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.optim import SGD
        >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = StepLR(opt, step_size=2, gamma=0.1)
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(round(sched.get_last_lr()[0], 6)); sched.step()
        >>> lrs
        [1.0, 1.0, 0.1, 0.1, 0.01]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ):
        self.step_size = _positive_int("StepLR", "step_size", step_size)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> list[float]:
        """``lr_0 * gamma ** (t // step_size)`` for each group."""
        # lr_t = lr_0 * gamma^floor(t / step_size)
        return [base * self.gamma ** (t // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every step: ``lr_0 * gamma ** t``.

    Args:
        optimizer: a bound optimizer.
        gamma: the decay factor.
        last_epoch: -1 to start.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.optim import SGD
        >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = ExponentialLR(opt, gamma=0.5)
        >>> sched.step(); sched.step()
        >>> sched.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> list[float]:
        """``lr_0 * gamma ** t`` for each group."""
        return [base * self.gamma**t for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the lr linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` steps.

    ``lr_t = lr_0 * (start + (end - start) * min(t, total_iters) / total_iters)``, then constant
    (PyTorch's ``LinearLR``).

    Args:
        optimizer: a bound optimizer.
        start_factor: the factor at step 0, in (0, 1].
        end_factor: the factor from step ``total_iters`` on, in [0, 1].
        total_iters: the length of the ramp.
        last_epoch: -1 to start.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.optim import SGD
        >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = LinearLR(opt, start_factor=0.5, end_factor=1.0, total_iters=2)
        >>> lrs = []
        >>> for _ in range(4):
        ...     lrs.append(sched.get_last_lr()[0]); sched.step()
        >>> lrs
        [0.5, 0.75, 1.0, 1.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = _positive_int("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> list[float]:
        """The linearly interpolated factor times ``lr_0``, for each group."""
        # factor_t = start + (end - start) * min(t, T) / T
        frac = min(t, self.total_iters) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * frac
        return [base * factor for base in self.base_lrs]


class LinearWarmup(LRScheduler):
    """Linear warmup, then constant: step ``t`` uses ``lr_0 * min(1, (t + 1) / warmup_steps)``.

    The first step already uses ``lr_0 / warmup_steps`` (never a wasted zero-lr step); step
    ``warmup_steps - 1`` and every later one use ``lr_0``. Equal to PyTorch's
    ``LinearLR(start_factor=1/warmup_steps, end_factor=1, total_iters=warmup_steps-1)``.

    Args:
        optimizer: a bound optimizer.
        warmup_steps: the number of warmup steps (>= 1).
        last_epoch: -1 to start.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.optim import SGD
        >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = LinearWarmup(opt, warmup_steps=4)
        >>> lrs = []
        >>> for _ in range(6):
        ...     lrs.append(sched.get_last_lr()[0]); sched.step()
        >>> lrs
        [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    """

    def __init__(self, optimizer: Optimizer, warmup_steps: int, last_epoch: int = -1):
        self.warmup_steps = _positive_int("LinearWarmup", "warmup_steps", warmup_steps)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> list[float]:
        """``lr_0 * min(1, (t + 1) / warmup_steps)`` for each group."""
        factor = min(1.0, (t + 1) / self.warmup_steps)
        return [base * factor for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine decay from ``lr_0`` to ``eta_min`` over ``T_max`` steps (SGDR without restarts).

    ``lr_t = eta_min + (lr_0 - eta_min) * (1 + cos(pi * t / T_max)) / 2``; past ``T_max`` the
    cosine continues (back up), as PyTorch's does; see `WarmupCosineLR` for a schedule that
    stays at its minimum.

    Args:
        optimizer: a bound optimizer.
        T_max: the half period, in steps.
        eta_min: the smallest lr.
        last_epoch: -1 to start.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.optim import SGD
        >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = CosineAnnealingLR(opt, T_max=2)
        >>> lrs = []
        >>> for _ in range(3):
        ...     lrs.append(round(sched.get_last_lr()[0], 6)); sched.step()
        >>> lrs
        [1.0, 0.5, 0.0]
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ):  # noqa: N803
        self.T_max = _positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = float(eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> list[float]:
        """The cosine-annealed lr of each group at step ``t``."""
        # lr_t = eta_min + (lr_0 - eta_min) * (1 + cos(pi * t / T_max)) / 2
        c = (1 + math.cos(math.pi * t / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * c for base in self.base_lrs]


class WarmupCosineLR(LRScheduler):
    """Linear warmup then cosine decay to ``eta_min`` at ``total_steps``, then flat (nanoGPT's).

    Steps ``t < warmup_steps`` use ``lr_0 * (t + 1) / warmup_steps`` (as `LinearWarmup`); from
    ``warmup_steps`` to ``total_steps`` the lr follows a half cosine from ``lr_0`` down to
    ``eta_min``; after ``total_steps`` it stays at ``eta_min``. Up to ``total_steps`` this equals
    PyTorch's ``SequentialLR([LinearLR(1/W, 1, W-1), CosineAnnealingLR(total - W, eta_min)],
    milestones=[W])``.

    Args:
        optimizer: a bound optimizer.
        warmup_steps: steps of linear warmup (0 for none).
        total_steps: the step at which the decay reaches ``eta_min`` (> ``warmup_steps``).
        eta_min: the final lr.
        last_epoch: -1 to start.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.optim import AdamW
        >>> opt = AdamW([tt.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = WarmupCosineLR(opt, warmup_steps=2, total_steps=4, eta_min=0.1)
        >>> lrs = []
        >>> for _ in range(6):
        ...     lrs.append(round(sched.get_last_lr()[0], 4)); sched.step()
        >>> lrs
        [0.5, 1.0, 1.0, 0.55, 0.1, 0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int,
        total_steps: int,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ):
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(
                f"WarmupCosineLR: warmup_steps must be an int >= 0, got {warmup_steps!r}"
            )
        _positive_int("WarmupCosineLR", "total_steps", total_steps)
        if total_steps <= warmup_steps:
            raise ValueError(
                f"WarmupCosineLR: total_steps ({total_steps}) must exceed "
                f"warmup_steps ({warmup_steps})"
            )
        self.warmup_steps, self.total_steps, self.eta_min = (
            warmup_steps,
            total_steps,
            float(eta_min),
        )
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> list[float]:
        """Warmup, cosine, or ``eta_min``, for each group at step ``t``."""
        out = []
        for base in self.base_lrs:
            if t < self.warmup_steps:
                lr = base * (t + 1) / self.warmup_steps  # linear warmup
            elif t >= self.total_steps:
                lr = self.eta_min  # after the decay: flat
            else:
                # progress in [0, 1): eta_min + (lr_0 - eta_min) * (1 + cos(pi * progress)) / 2
                progress = (t - self.warmup_steps) / (self.total_steps - self.warmup_steps)
                lr = self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * progress)) / 2
            out.append(lr)
        return out


class WarmupStableDecayLR(LRScheduler):
    """Linear warmup, a constant lr, then a linear decay to ``eta_min`` over the last steps.

    "Warmup-stable-decay" (WSD): steps ``t < warmup_steps`` use ``lr_0 * (t + 1) /
    warmup_steps``; the lr then stays at ``lr_0`` until ``total_steps - decay_steps``, falls
    linearly to ``eta_min`` at ``total_steps``, and stays there. Against a cosine over the same
    steps it spends far more of the run at the peak lr (the mean lr over a run is about 0.88
    ``lr_0`` with a 20% decay, against 0.5 ``lr_0`` for a cosine), which is what a short run
    that is still improving when it ends needs; the final decay still anneals the weights.

    Args:
        optimizer: a bound optimizer.
        warmup_steps: steps of linear warmup (0 for none).
        total_steps: the step at which the decay reaches ``eta_min``.
        decay_steps: the length of the final linear decay (>= 1).
        eta_min: the final lr.
        last_epoch: -1 to start.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.optim import AdamW
        >>> opt = AdamW([tt.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = WarmupStableDecayLR(opt, warmup_steps=2, total_steps=8, decay_steps=4)
        >>> lrs = []
        >>> for _ in range(10):
        ...     lrs.append(round(sched.get_last_lr()[0], 4)); sched.step()
        >>> lrs
        [0.5, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int,
        total_steps: int,
        decay_steps: int,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ):
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(
                f"WarmupStableDecayLR: warmup_steps must be an int >= 0, got {warmup_steps!r}"
            )
        _positive_int("WarmupStableDecayLR", "total_steps", total_steps)
        _positive_int("WarmupStableDecayLR", "decay_steps", decay_steps)
        if warmup_steps + decay_steps > total_steps:
            raise ValueError(
                f"WarmupStableDecayLR: warmup_steps ({warmup_steps}) + decay_steps "
                f"({decay_steps}) exceed total_steps ({total_steps})"
            )
        self.warmup_steps, self.total_steps, self.decay_steps = (
            warmup_steps,
            total_steps,
            decay_steps,
        )
        self.eta_min = float(eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> list[float]:
        """Warmup, constant, linear decay, or ``eta_min``, for each group at step ``t``."""
        decay_start = self.total_steps - self.decay_steps
        out = []
        for base in self.base_lrs:
            if t < self.warmup_steps:
                lr = base * (t + 1) / self.warmup_steps  # linear warmup
            elif t < decay_start:
                lr = base  # the stable phase
            elif t < self.total_steps:
                remaining = (self.total_steps - t) / self.decay_steps  # 1 -> 1/decay_steps
                lr = self.eta_min + (base - self.eta_min) * remaining
            else:
                lr = self.eta_min
            out.append(lr)
        return out


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` from its step 0, ...

    Each scheduler sees the step count since its own milestone, as in PyTorch's
    ``SequentialLR`` (e.g. warmup for 100 steps, then cosine: ``milestones=[100]``).

    Args:
        optimizer: the bound optimizer every scheduler drives.
        schedulers: the schedulers, in order (made on the same optimizer).
        milestones: the steps at which the next scheduler takes over (increasing,
            ``len(schedulers) - 1`` of them).
        last_epoch: -1 to start.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.optim import SGD
        >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=1.0)
        >>> warm = LinearWarmup(opt, warmup_steps=2)
        >>> decay = StepLR(opt, step_size=1, gamma=0.5)
        >>> sched = SequentialLR(opt, [warm, decay], milestones=[2])
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(sched.get_last_lr()[0]); sched.step()
        >>> lrs
        [0.5, 1.0, 1.0, 0.5, 0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ):
        schedulers, milestones = list(schedulers), [int(m) for m in milestones]
        if not schedulers:
            raise ValueError("SequentialLR: needs at least one scheduler")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} "
                "milestones, "
                f"got {len(milestones)}"
            )
        if any(b <= a for a, b in zip(milestones[:-1], milestones[1:], strict=True)) or any(
            m <= 0 for m in milestones
        ):
            raise ValueError(
                f"SequentialLR: milestones must be positive and increasing, got {milestones}"
            )
        for i, s in enumerate(schedulers):
            if s.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: scheduler {i} drives a different optimizer")
        self._schedulers = schedulers
        self.milestones = milestones
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t: int) -> list[float]:
        """The active scheduler's lr, at the steps since its milestone."""
        i = bisect.bisect_right(self.milestones, t)
        start = self.milestones[i - 1] if i > 0 else 0
        return self._schedulers[i].lr_at(t - start)

    def state_dict(self) -> dict[str, Any]:
        """Its own state plus each scheduler's (under ``"schedulers"``).

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import SGD
            >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=1.0)
            >>> s = SequentialLR(opt, [LinearWarmup(opt, 2), StepLR(opt, 1)], milestones=[2])
            >>> len(s.state_dict()["schedulers"])
            2
        """
        return {**super().state_dict(), "schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore its own state and each scheduler's.

        Examples:
            >>> import tinytorch.tensor as tt
            >>> from tinytorch.optim import SGD
            >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=1.0)
            >>> s = SequentialLR(opt, [LinearWarmup(opt, 2), StepLR(opt, 1)], milestones=[2])
            >>> s.load_state_dict(s.state_dict())
        """
        state_dict = dict(state_dict)
        subs = state_dict.pop("schedulers", [])
        if len(subs) != len(self._schedulers):
            raise ValueError(
                f"SequentialLR.load_state_dict: {len(subs)} scheduler states for "
                f"{len(self._schedulers)} schedulers"
            )
        super().load_state_dict(state_dict)
        for s, sd in zip(self._schedulers, subs, strict=True):
            s.load_state_dict(sd)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin): warm up to ``max_lr``, then anneal far below the start.

    PyTorch's formulas. Over ``total_steps`` steps, phase 1 (the first ``pct_start`` of them)
    goes from ``max_lr / div_factor`` up to ``max_lr``; phase 2 goes down to
    ``max_lr / div_factor / final_div_factor``. Each phase interpolates with
    ``anneal(start, end, pct)``: ``end + (start - end) * (1 + cos(pi * pct)) / 2`` ('cos') or
    ``start + (end - start) * pct`` ('linear'). With ``cycle_momentum`` the momentum (SGD) or
    beta1 (Adam) moves the opposite way, between ``max_momentum`` and ``base_momentum``.
    ``three_phase`` adds a symmetric way back to the start before the final annealing.
    Stepping past ``total_steps`` is an error.

    Args:
        optimizer: a bound optimizer.
        max_lr: the peak lr (or one per param group).
        total_steps: the number of steps in the cycle (or give ``epochs`` and ``steps_per_epoch``).
        epochs: with ``steps_per_epoch``, an alternative to ``total_steps``.
        steps_per_epoch: see ``epochs``.
        pct_start: the fraction of the cycle spent increasing the lr.
        anneal_strategy: 'cos' or 'linear'.
        cycle_momentum: also cycle momentum / beta1 (needs an optimizer that has one).
        base_momentum: the momentum at the peak lr.
        max_momentum: the momentum at the start and the end.
        div_factor: initial lr = ``max_lr / div_factor``.
        final_div_factor: final lr = initial lr / ``final_div_factor``.
        three_phase: use three phases (up, down to the initial lr, then annihilate).
        last_epoch: -1 to start.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.optim import SGD
        >>> opt = SGD([tt.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
        >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=5, pct_start=0.4, div_factor=10,
        ...                    final_div_factor=10)
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(round(sched.get_last_lr()[0], 4)); opt.step(); sched.step()
        >>> lrs
        [0.1, 1.0, 0.7525, 0.2575, 0.01]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ):
        if not getattr(optimizer, "param_groups", None):
            raise RuntimeError("OneCycleLR: bind the optimizer to its parameters first")
        if total_steps is not None:
            self.total_steps = _positive_int("OneCycleLR", "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = _positive_int("OneCycleLR", "epochs", epochs) * _positive_int(
                "OneCycleLR", "steps_per_epoch", steps_per_epoch
            )
        else:
            raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
        if not 0 <= pct_start <= 1 or isinstance(pct_start, bool):
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = bool(cycle_momentum)
        n = self.total_steps
        # (end_step, start key, end key, start momentum key, end momentum key)
        if three_phase:
            self.phases = [
                [float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
                [
                    float(2 * pct_start * n) - 2,
                    "max_lr",
                    "initial_lr",
                    "base_momentum",
                    "max_momentum",
                ],
                [n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"],
            ]
        else:
            self.phases = [
                [float(pct_start * n) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
                [n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"],
            ]
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group, peak in zip(groups, _per_group("max_lr", optimizer, max_lr), strict=True):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    f"OneCycleLR: {type(optimizer).__name__} has no momentum or betas to cycle; "
                    "pass cycle_momentum=False"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            if last_epoch == -1:
                highs = _per_group("max_momentum", optimizer, max_momentum)
                lows = _per_group("base_momentum", optimizer, base_momentum)
                for group, high, low in zip(groups, highs, lows, strict=True):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            # end + (start - end) * (1 + cos(pi * pct)) / 2
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        # start + (end - start) * pct
        return (end - start) * pct + start

    def lr_at(self, t: int) -> list[float]:
        """The lr of each group at step ``t`` (and, with momentum cycling, sets the momentum)."""
        if t > self.total_steps:
            raise ValueError(
                f"OneCycleLR: tried to step {t} times, but total_steps is {self.total_steps}"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, lr0, lr1, m0, m1) in enumerate(self.phases):
                if t <= end_step or i == len(self.phases) - 1:
                    pct = (t - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m0], group[m1], pct))
                    break
                start_step = end_step
        return lrs


__all__ = [
    "LRScheduler",
    "LambdaLR",
    "StepLR",
    "ExponentialLR",
    "LinearLR",
    "LinearWarmup",
    "CosineAnnealingLR",
    "WarmupCosineLR",
    "SequentialLR",
    "OneCycleLR",
]
