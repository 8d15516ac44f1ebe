"""tinytorch.nn.functional: the stateless forms of every layer and loss (what the modules call).

Examples:
    >>> import tinytorch.tensor as tt
    >>> import tinytorch.nn.functional as F
    >>> logits = tt.tensor([[2.0, 0.5, -1.0]])
    >>> F.softmax(logits, dim=1).argmax(axis=1).tolist()
    [0]
    >>> round(F.cross_entropy(logits, tt.tensor([0])).item(), 4)
    0.2413
"""

import tinytorch.autograd  # noqa: F401  (records the graph of every op below)

from .activation import (
    erf,
    gelu,
    leaky_relu,
    log_softmax,
    logsigmoid,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from .attention import causal_mask, padding_mask, scaled_dot_product_attention
from .conv import (
    adaptive_avg_pool2d,
    avg_pool2d,
    col2im,
    conv2d,
    conv_output_size,
    global_avg_pool2d,
    im2col,
    max_pool2d,
)
from .dropout import dropout
from .embedding import embedding
from .linear import linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from .normalization import batch_norm, layer_norm

__all__ = [
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "gelu",
    "silu",
    "softmax",
    "log_softmax",
    "logsigmoid",
    "softplus",
    "erf",
    "linear",
    "dropout",
    "embedding",
    "batch_norm",
    "layer_norm",
    "mse_loss",
    "l1_loss",
    "nll_loss",
    "cross_entropy",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool2d",
    "adaptive_avg_pool2d",
    "conv_output_size",
    "im2col",
    "col2im",
    "scaled_dot_product_attention",
    "causal_mask",
    "padding_mask",
]
