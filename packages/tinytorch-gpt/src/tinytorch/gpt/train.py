"""Training a `TinyGPT` the way nanoGPT does: random windows, AdamW, a warmup schedule, clipping.

`train` runs ``max_iters`` optimizer steps. Each step draws ``batch_size`` random windows of
``block_size`` tokens from the training split (`tinytorch.data.TextDataset.get_batch`), takes
the mean next-token cross-entropy, backpropagates, clips the gradients' global norm to
``grad_clip`` (`tinytorch.optim.clip_grad_norm_`) and steps `tinytorch.optim.AdamW` with
weight decay on the 2-D weights only (matrices and embeddings; not LayerNorm weights or
biases). The learning rate warms up linearly for ``warmup_iters`` steps, then stays at its peak
and decays linearly over the last ``decay_frac`` of ``lr_decay_iters`` down to ``min_lr``
(`tinytorch.optim.WarmupStableDecayLR`), or, with ``lr_schedule="cosine"`` (nanoGPT's),
follows a cosine down to ``min_lr`` (`tinytorch.optim.WarmupCosineLR`).

Every ``eval_interval`` steps (and after the last) it estimates the train and validation
loss as the mean over ``eval_iters`` random batches of each split (eval mode, no graph), and
with ``checkpoint_path`` saves a checkpoint in `tinytorch.train`'s safe format (a zip of
``.npy`` arrays plus JSON, written atomically, never unpickled) whenever the validation
loss improves: the weights, the `GPTConfig`, the tokenizer, the `TrainConfig`, the optimizer
and scheduler state, the step, and the history. `load_gpt` reads one back.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import tinytorch.tensor as tt
from tinytorch.autograd import no_grad
from tinytorch.data import TextDataset
from tinytorch.optim import AdamW, WarmupCosineLR, WarmupStableDecayLR, clip_grad_norm_
from tinytorch.train.checkpoint import (
    CheckpointError,
    check_architecture,
    load_checkpoint,
    save_checkpoint,
)

from .config import GPTConfig
from .model import TinyGPT
from .tokenizers import tokenizer_from_dict

__all__ = [
    "TrainConfig",
    "train",
    "estimate_loss",
    "configure_optimizer",
    "make_scheduler",
    "load_gpt",
]


@dataclass(frozen=True)
class TrainConfig:
    """How `train` trains; the defaults are nanoGPT's CPU "baby" Shakespeare run, except the
    schedule.

    nanoGPT warms up for 100 steps and then decays the lr along a cosine to 1e-4
    (``lr_schedule="cosine"``). The default here, ``"wsd"``, warms up the same way, holds the
    peak lr until the last 20% of the steps and then decays linearly to ``min_lr``. Over 2000
    steps that ends about 0.06 lower in validation loss on Tiny Shakespeare, in TinyTorch and
    in PyTorch alike: a run this short is still improving when it ends, and the cosine spends
    half of it at a lower lr (see docs/gpt.md).

    Args:
        max_iters: optimizer steps.
        batch_size: windows per step.
        learning_rate: the peak learning rate, reached after warmup.
        min_lr: the learning rate at ``lr_decay_iters`` and after.
        warmup_iters: steps of linear warmup.
        lr_decay_iters: where the decay ends, at ``min_lr`` (usually ``max_iters``).
        lr_schedule: ``"wsd"`` (warmup, then the peak lr, then a linear decay over the last
            ``decay_frac`` of ``lr_decay_iters``: `tinytorch.optim.WarmupStableDecayLR`) or
            ``"cosine"`` (warmup, then a cosine decay: `tinytorch.optim.WarmupCosineLR`,
            nanoGPT's schedule).
        decay_frac: the decay's share of ``lr_decay_iters`` with ``"wsd"``.
        weight_decay: AdamW's decoupled weight decay, on 2-D weights only.
        beta1: AdamW's first-moment decay rate.
        beta2: AdamW's second-moment decay rate.
        grad_clip: the largest global gradient norm (0 disables clipping).
        eval_interval: estimate the losses every this many steps (and after the last).
        eval_iters: batches per split in each estimate.
        seed: seeds the training batches (the model's initialisation is seeded by the caller).

    Examples:
        >>> cfg = TrainConfig()
        >>> cfg.max_iters, cfg.batch_size, cfg.learning_rate, cfg.min_lr
        (2000, 12, 0.001, 0.0001)
    """

    max_iters: int = 2000
    batch_size: int = 12
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    lr_decay_iters: int = 2000
    lr_schedule: str = "wsd"
    decay_frac: float = 0.2
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_iters: int = 200
    seed: int = 1337

    def __post_init__(self):
        for name in ("max_iters", "warmup_iters"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"TrainConfig: {name} must be an int >= 0, got {value!r}")
        for name in ("batch_size", "lr_decay_iters", "eval_interval", "eval_iters"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"TrainConfig: {name} must be a positive int, got {value!r}")
        if self.lr_decay_iters <= self.warmup_iters:
            raise ValueError(
                f"TrainConfig: lr_decay_iters ({self.lr_decay_iters}) must exceed warmup_iters "
                f"({self.warmup_iters})"
            )
        if self.lr_schedule not in ("wsd", "cosine"):
            raise ValueError(
                f"TrainConfig: lr_schedule must be 'wsd' or 'cosine', got {self.lr_schedule!r}"
            )
        if not isinstance(self.decay_frac, (int, float)) or not 0 < self.decay_frac <= 1:
            raise ValueError(f"TrainConfig: decay_frac must be in (0, 1], got {self.decay_frac!r}")
        for name in ("learning_rate", "min_lr", "weight_decay", "grad_clip"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"TrainConfig: {name} must be a number >= 0, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """The inverse of `to_dict` (unknown keys raise ValueError)."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"TrainConfig: unknown field(s) {', '.join(unknown)}")
        return cls(**data)


def configure_optimizer(model: TinyGPT, config: TrainConfig) -> AdamW:
    """AdamW with weight decay on the parameters of 2 or more dimensions only (nanoGPT's rule).

    Examples:
        >>> model = TinyGPT(GPTConfig(n_layer=1, n_head=2, n_embd=8, block_size=8, vocab_size=5))
        >>> opt = configure_optimizer(model, TrainConfig())
        >>> groups = opt.param_groups
        >>> [g["weight_decay"] for g in groups], [len(g["params"]) for g in groups]
        ([0.1, 0.0], [8, 3])
    """
    params = list(model.parameters())
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    return AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=config.learning_rate,
        betas=(config.beta1, config.beta2),
    )


def make_scheduler(optimizer, config: TrainConfig):
    """The learning-rate schedule ``config`` asks for, on ``optimizer``.

    ``"wsd"``: `WarmupStableDecayLR` with a decay of ``decay_frac * lr_decay_iters`` steps (at
    least 1, and no longer than what follows the warmup); ``"cosine"``: `WarmupCosineLR`.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> opt = AdamW([tt.zeros(1, requires_grad=True)], lr=1e-3)
        >>> sched = make_scheduler(opt, TrainConfig())
        >>> [round(sched.lr_at(t)[0], 6) for t in (0, 99, 1599, 1800, 2000)]
        [1e-05, 0.001, 0.001, 0.00055, 0.0001]
    """
    c = config
    if c.lr_schedule == "cosine":
        return WarmupCosineLR(optimizer, c.warmup_iters, c.lr_decay_iters, eta_min=c.min_lr)
    decay = max(1, min(round(c.decay_frac * c.lr_decay_iters), c.lr_decay_iters - c.warmup_iters))
    return WarmupStableDecayLR(
        optimizer, c.warmup_iters, c.lr_decay_iters, decay_steps=decay, eta_min=c.min_lr
    )


def estimate_loss(
    model: TinyGPT, data: TextDataset, batch_size: int, eval_iters: int, generator=None
) -> dict[str, float]:
    """Mean loss over ``eval_iters`` random batches of each split: ``{"train": .., "val": ..}``.

    The model is put in eval mode (and back), and no graph is recorded.
    """
    was_training = model.training
    model.eval()
    out = {}
    try:
        with no_grad():
            for split in ("train", "val"):
                losses = [
                    model.loss(*data.get_batch(split, batch_size, generator=generator)).item()
                    for _ in range(eval_iters)
                ]
                out[split] = float(np.mean(losses))
    finally:
        model.train(was_training)
    return out


class _Progress:
    """A rich progress bar over the steps, or a printed line per evaluation."""

    def __init__(self, enabled: bool, total: int, log):
        self.bar = self.task = None
        self.log = log
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("train"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
            )
            self.bar.start()
            self.task = self.bar.add_task("train", total=total, info="")

    def step(self, it: int, loss: float, lr: float) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=it, info=f"loss {loss:.4f} lr {lr:.2e}")

    def message(self, text: str) -> None:
        if self.bar is not None:
            self.bar.console.print(text)
        elif self.log is not None:
            self.log(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def train(
    model: TinyGPT,
    data: TextDataset,
    config: TrainConfig | None = None,
    checkpoint_path=None,
    tokenizer=None,
    progress: bool | None = None,
    log=print,
) -> dict[str, list]:
    """Train ``model`` on ``data`` (a `tinytorch.data.TextDataset` with a 90/10 split).

    Args:
        model: the `TinyGPT` (trained in place).
        data: its ``block_size`` should be the model's; ``get_batch`` draws the windows.
        config: a `TrainConfig` (default: nanoGPT's baby run).
        checkpoint_path: save the best-validation checkpoint there (None: no checkpoint).
        tokenizer: stored in the checkpoint, so that `load_gpt` can decode samples.
        progress: a rich progress bar (default: only when stdout is a TTY).
        log: called with a line per evaluation when there is no bar (None: silent).

    Returns the history: ``iter``, ``train_loss``, ``val_loss``, ``lr``, ``time`` (seconds
    since the start) per evaluation, ``step_loss`` (every step's training loss), and
    ``train_time`` (seconds spent in training steps, evaluations excluded).

    Examples:
        >>> import tinytorch.tensor as tt
        >>> from tinytorch.data import TextDataset
        >>> _ = tt.manual_seed(0)
        >>> data = TextDataset(list(range(8)) * 40, block_size=8)
        >>> model = TinyGPT(GPTConfig(vocab_size=8, block_size=8, n_layer=1, n_head=2, n_embd=16))
        >>> cfg = TrainConfig(max_iters=60, batch_size=8, learning_rate=1e-2, warmup_iters=5,
        ...                   lr_decay_iters=60, eval_interval=30, eval_iters=2)
        >>> history = train(model, data, cfg, progress=False, log=None)
        >>> history["iter"], history["val_loss"][-1] < 0.5 < history["val_loss"][0]
        ([0, 30, 60], True)
    """
    config = TrainConfig() if config is None else config
    if data.block_size > model.config.block_size:
        raise ValueError(
            f"train: the data's windows ({data.block_size} tokens) exceed the model's "
            f"block_size {model.config.block_size}"
        )
    batch_gen = tt.Generator(config.seed)
    eval_gen = tt.Generator(config.seed + 1)
    opt = configure_optimizer(model, config)
    sched = make_scheduler(opt, config)
    history: dict[str, list] = {
        "iter": [],
        "train_loss": [],
        "val_loss": [],
        "lr": [],
        "time": [],
        "step_loss": [],
    }
    show_bar = progress if progress is not None else sys.stdout.isatty()
    bar = _Progress(show_bar, config.max_iters, log)
    best = float("inf")
    t_start = time.perf_counter()
    train_time = 0.0
    model.train()
    try:
        for it in range(config.max_iters + 1):
            if it % config.eval_interval == 0 or it == config.max_iters:
                losses = estimate_loss(
                    model, data, config.batch_size, config.eval_iters, generator=eval_gen
                )
                lr = opt.param_groups[0]["lr"]
                history["iter"].append(it)
                history["train_loss"].append(losses["train"])
                history["val_loss"].append(losses["val"])
                history["lr"].append(lr)
                history["time"].append(time.perf_counter() - t_start)
                line = (
                    f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}"
                    f" (lr {lr:.2e}, {history['time'][-1]:.1f}s)"
                )
                if checkpoint_path is not None and losses["val"] < best:
                    best = losses["val"]
                    history["train_time"] = train_time
                    save_gpt(checkpoint_path, model, tokenizer, config, opt, sched, it, history)
                    line += f", saved {checkpoint_path}"
                bar.message(line)
            if it == config.max_iters:
                break
            t0 = time.perf_counter()
            x, y = data.get_batch("train", config.batch_size, generator=batch_gen)
            opt.zero_grad()
            loss = model.loss(x, y)
            loss.backward()
            if config.grad_clip:
                clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            sched.step()
            train_time += time.perf_counter() - t0
            history["step_loss"].append(float(loss.item()))
            bar.step(it + 1, history["step_loss"][-1], opt.param_groups[0]["lr"])
    finally:
        bar.close()
    history["train_time"] = train_time
    return history


def save_gpt(
    path,
    model: TinyGPT,
    tokenizer=None,
    config: TrainConfig | None = None,
    optimizer=None,
    scheduler=None,
    step: int | None = None,
    history: dict | None = None,
):
    """Save a GPT checkpoint (safe format): weights, `GPTConfig`, tokenizer, training state.

    Examples:
        >>> import os, tempfile
        >>> from tinytorch.gpt import CharTokenizer
        >>> model = TinyGPT(GPTConfig(vocab_size=3, block_size=4, n_layer=1, n_head=1, n_embd=4))
        >>> path = save_gpt(os.path.join(tempfile.mkdtemp(), "gpt.ckpt"), model,
        ...                 CharTokenizer().fit("abc"))
        >>> model2, tok, ckpt = load_gpt(path)
        >>> model2.config == model.config, tok.decode([2, 0])
        (True, 'ca')
    """
    parts: dict[str, Any] = {
        "kind": "tinytorch-gpt",
        "model": model,
        "gpt_config": model.config.to_dict(),
    }
    if tokenizer is not None:
        parts["tokenizer"] = tokenizer.to_dict()
    if config is not None:
        parts["train_config"] = config.to_dict()
    if optimizer is not None:
        parts["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        parts["scheduler"] = scheduler.state_dict()
    if step is not None:
        parts["step"] = int(step)
    if history is not None:
        parts["history"] = history
    return save_checkpoint(path, **parts)


def load_gpt(path, model: TinyGPT | None = None, config: GPTConfig | None = None):
    """Load a GPT checkpoint: returns ``(model, tokenizer or None, checkpoint dict)``.

    Without ``model`` one is built from the checkpoint's `GPTConfig`. With ``model`` (or an
    expected ``config``), a checkpoint whose configuration differs raises
    `tinytorch.gpt.ConfigMismatchError` naming every field that differs (say ``n_layer:
    checkpoint has 4, expected 2``) before any weight is touched.
    """
    ckpt = load_checkpoint(path)
    if ckpt.get("kind") != "tinytorch-gpt" or "gpt_config" not in ckpt:
        raise CheckpointError(f"{path}: a TinyTorch checkpoint, but not of a TinyGPT")
    saved = GPTConfig.from_dict(ckpt["gpt_config"])
    expected = model.config if model is not None else config
    if expected is not None:
        expected.check_matches(saved, f"checkpoint {path}")
    if model is None:
        model = TinyGPT(saved)
    check_architecture(model, ckpt["architecture"], f"checkpoint {path}")
    model.load_state_dict(ckpt["model"])
    tok = tokenizer_from_dict(ckpt["tokenizer"]) if "tokenizer" in ckpt else None
    return model, tok, ckpt


__all__ += ["save_gpt"]
