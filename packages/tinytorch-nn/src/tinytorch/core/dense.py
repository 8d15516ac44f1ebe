"""The seed's ``tinytorch.core.dense`` (course module 05): `tinytorch.core.networks`'s names.

Examples:
    >>> from tinytorch.core.dense import MLP
    >>> MLP([2, 16, 3]).num_parameters()
    99
"""

from tinytorch.core.networks import MLP, Sequential, create_mlp
from tinytorch.nn import Dense

__all__ = ["Sequential", "MLP", "create_mlp", "Dense"]
