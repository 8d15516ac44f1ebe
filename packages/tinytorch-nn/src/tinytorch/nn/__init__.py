"""tinytorch.nn: modules, layers, losses and initialisers, built on tinytorch tensors and autograd.

Importing it imports `tinytorch.autograd`, so every layer's ops are recorded and
``loss.backward()`` fills each parameter's ``.grad``.

Examples:
    >>> import tinytorch.tensor as tt
    >>> from tinytorch import nn
    >>> _ = tt.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    >>> x, y = tt.randn(8, 4), tt.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    >>> loss = nn.CrossEntropyLoss()(model(x), y)
    >>> loss.backward()
    >>> model[0].weight.grad.shape
    (16, 4)
"""

import tinytorch.autograd  # noqa: F401  (installs graph recording and Tensor.backward)

from . import functional, init
from .activation import GELU, Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh
from .attention import FeedForward, MultiHeadAttention, TransformerBlock
from .container import MLP, ModuleDict, ModuleList, Sequential
from .conv import Conv2D, Conv2d
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten
from .functional.attention import scaled_dot_product_attention
from .linear import Dense, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import IncompatibleKeys, Module, RemovableHandle, StateDictError
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, GlobalAvgPool2d, MaxPool2d

__version__ = "0.1.0"

__all__ = [
    "functional",
    "init",
    "Module",
    "Parameter",
    "StateDictError",
    "IncompatibleKeys",
    "RemovableHandle",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "GELU",
    "SiLU",
    "Softmax",
    "LogSoftmax",
    "Identity",
    "Linear",
    "Dense",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "MLP",
    "Flatten",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "Dropout",
    "Embedding",
    "MSELoss",
    "L1Loss",
    "CrossEntropyLoss",
    "NLLLoss",
    "BCEWithLogitsLoss",
    "BCELoss",
    "Conv2d",
    "Conv2D",
    "MaxPool2d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "GlobalAvgPool2d",
    "MultiHeadAttention",
    "FeedForward",
    "TransformerBlock",
    "scaled_dot_product_attention",
]
