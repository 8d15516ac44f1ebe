"""tinytorch.autograd: reverse-mode automatic differentiation for tinytorch tensors.

Importing this package plugs into tinytorch-tensor's dispatch point: every op on
a tensor with ``requires_grad=True`` is recorded (`graph.record`), and
``Tensor.backward()`` runs the engine (`engine.backward`). Each op's backward
rule is written with tensor ops (`rules`), so gradients can themselves be
differentiated (``create_graph=True``).

Examples:
    >>> import tinytorch.tensor as tt
    >>> import tinytorch.autograd
    >>> x = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad.tolist()
    [2.0, 4.0, 6.0]
"""

from tinytorch.tensor import dispatch as _dispatch

from . import rules
from .engine import backward
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .graph import GraphStats, Node, check_in_place, graph_stats, record
from .rules import register as register_backward

__version__ = "0.1.0"

# Install once, even if this module is reloaded.
if record not in _dispatch._hooks:
    _dispatch.add_hook(record)
    _dispatch.add_pre_hook(check_in_place)
_dispatch.set_backward_engine(backward)

__all__ = [
    "backward", "Function", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "gradcheck",
    "GradcheckError", "graph_stats", "GraphStats", "Node", "record", "rules", "register_backward",
]
