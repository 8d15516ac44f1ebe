"""The graph: a `Node` on every tensor an op made from tensors that require grad.

Recording happens in one dispatch hook (`record`): after each op, if grad mode
is on and any input requires grad, the output gets a node holding the op (its
attributes are what the backward rule reads) and its inputs. The inputs are
the *saved tensors*: they stay alive as long as the graph does, which is the
memory cost of autograd that `graph_stats` measures.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tinytorch.tensor import Tensor

from .grad_mode import is_grad_enabled


class Node:
    """How a tensor was made: the op and the input tensors (which it keeps alive)."""

    __slots__ = ("op", "inputs")

    def __init__(self, op, inputs: tuple[Tensor, ...]):
        self.op = op
        self.inputs = inputs

    def __repr__(self) -> str:
        return f"Node({self.op.name}, inputs={[t.shape for t in self.inputs]})"


def record(op, inputs, output: Tensor) -> None:
    """Dispatch hook: give ``output`` a node when grad mode is on and an input requires grad."""
    if output.data.dtype.kind != "f" or not is_grad_enabled():
        return  # comparisons, argmax and integer results carry no gradient
    for t in inputs:
        if t._requires_grad:
            output._requires_grad = True
            output._node = Node(op, inputs)
            return


def walk(root: Tensor) -> list[Tensor]:
    """Every tensor that requires grad and reaches ``root``, inputs before outputs (post-order).

    Iterative, so that deep graphs (a long RNN, many training steps chained) cannot
    overflow Python's recursion limit.
    """
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t._node is not None:
            for inp in t._node.inputs:
                if inp._requires_grad and id(inp) not in seen:
                    stack.append((inp, False))
    return order


@dataclass
class GraphStats:
    """What a graph holds: its nodes, the tensors they keep alive, and those tensors' bytes."""

    nodes: int
    leaves: int
    saved_tensors: int
    saved_bytes: int
    ops: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        ops = ", ".join(f"{k} x{v}" for k, v in sorted(self.ops.items()))
        return (f"{self.nodes} nodes, {self.leaves} leaves, {self.saved_tensors} saved tensors "
                f"({self.saved_bytes / 1024:.1f} KiB): {ops}")


def graph_stats(root: Tensor) -> GraphStats:
    """Count the nodes of ``root``'s graph, the tensors they save, and those tensors' bytes.

    Saved tensors are the distinct inputs the nodes keep alive (constants included);
    bytes count each distinct memory buffer once, so views of one array are not double counted.

    Example:
        >>> import tinytorch.tensor as tt
        >>> x = tt.ones(1000, requires_grad=True)
        >>> graph_stats((x * 2).exp().sum()).nodes
        3
    """
    nodes, leaves = 0, 0
    ops: Counter[str] = Counter()
    saved: dict[int, Tensor] = {}
    for t in walk(root):
        if t._node is None:
            leaves += 1
            continue
        nodes += 1
        ops[t._node.op.name] += 1
        for inp in t._node.inputs:
            saved[id(inp)] = inp
    buffers: dict[int, int] = {}
    for t in saved.values():
        base = t.data if t.data.base is None else t.data.base
        buffers[id(base)] = max(buffers.get(id(base), 0), base.nbytes)
    return GraphStats(nodes, leaves, len(saved), sum(buffers.values()), dict(ops))
