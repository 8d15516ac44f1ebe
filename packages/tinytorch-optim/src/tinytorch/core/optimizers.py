"""The seed's ``tinytorch.core.optimizers``: `tinytorch.optim` re-exported (aliases, no new code).

``Adam(lr=0.001)`` may be made without parameters, as the seed's ``Trainer(model, loss,
Adam(lr=0.001), [Accuracy()])`` does; the trainer binds it with ``optimizer.bind(params)``.

Examples:
    >>> import tinytorch.tensor as tt
    >>> from tinytorch.core.optimizers import Adam
    >>> opt = Adam(lr=0.001)
    >>> opt = opt.bind([tt.zeros(3, requires_grad=True)])
    >>> opt.param_groups[0]["lr"]
    0.001
"""

from tinytorch.optim import *  # noqa: F403  (every public name of tinytorch.optim)
from tinytorch.optim import __all__ as _optim_all

__all__ = list(_optim_all)
