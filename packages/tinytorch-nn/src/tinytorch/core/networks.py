"""The seed's ``tinytorch.core.networks``: `Sequential`, `MLP`, `create_mlp`.

Examples:
    >>> from tinytorch.core.tensor import randn
    >>> from tinytorch.core.layers import Dense
    >>> from tinytorch.core.activations import ReLU
    >>> from tinytorch.core.networks import Sequential
    >>> Sequential([Dense(784, 128), ReLU(), Dense(128, 10)])(randn(4, 784)).shape
    (4, 10)
"""

from tinytorch.nn import MLP, ReLU, Sequential


def create_mlp(
    input_size: int, hidden_sizes, output_size: int, activation=ReLU, output_activation=None
) -> MLP:
    """The seed's MLP builder: ``create_mlp(784, [128, 64], 10)`` is ``MLP([784, 128, 64, 10])``.

    ``activation`` and ``output_activation`` are Module classes (``ReLU``, ``Sigmoid``) or
    names, as `tinytorch.nn.MLP` takes them; the output has no activation by default (logits).

    Examples:
        >>> create_mlp(4, [8], 2)
        MLP(
          (0): Linear(in_features=4, out_features=8, bias=True)
          (1): ReLU()
          (2): Linear(in_features=8, out_features=2, bias=True)
        )
    """
    hidden = [hidden_sizes] if isinstance(hidden_sizes, int) else list(hidden_sizes)
    return MLP(
        [input_size, *hidden, output_size],
        activation=activation,
        output_activation=output_activation,
    )


__all__ = ["Sequential", "MLP", "create_mlp"]
