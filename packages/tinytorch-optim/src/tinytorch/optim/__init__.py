"""tinytorch.optim: optimizers, learning-rate schedulers and gradient clipping.

`SGD` (momentum, dampening, Nesterov, weight decay), `Adam` (L2 weight decay, AMSGrad) and
`AdamW` (decoupled weight decay) with PyTorch's exact update rules; param groups;
`Optimizer.state_dict` / `Optimizer.load_state_dict` as plain numbers and numpy arrays;
`Optimizer.state_bytes` (Adam keeps 2x the parameters' memory). An optimizer made without
parameters (``Adam(lr=0.001)``, as the seed's ``Trainer`` receives it) is bound later with
`Optimizer.bind`. Schedulers live in `tinytorch.optim.lr_scheduler`; `clip_grad_norm_` and
`clip_grad_value_` clip gradients in place.

Examples:
    >>> import tinytorch.tensor as tt
    >>> from tinytorch import optim
    >>> w = tt.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.Adam([w], lr=0.1)
    >>> sched = optim.lr_scheduler.StepLR(opt, step_size=10)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step(); sched.step()
    >>> [round(x, 2) for x in w.tolist()]
    [0.7, -0.7]
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LinearWarmup,
    LRScheduler,
    OneCycleLR,
    SequentialLR,
    StepLR,
    WarmupCosineLR,
    WarmupStableDecayLR,
)
from .optimizer import Optimizer
from .sgd import SGD

__version__ = "0.1.0"

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "clip_grad_norm_",
    "clip_grad_value_",
    "lr_scheduler",
    "LRScheduler",
    "LambdaLR",
    "StepLR",
    "ExponentialLR",
    "LinearLR",
    "LinearWarmup",
    "CosineAnnealingLR",
    "WarmupCosineLR",
    "WarmupStableDecayLR",
    "SequentialLR",
    "OneCycleLR",
]
