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
from tinytorch.tensor.ops.indexing import SetItem

from .grad_mode import is_grad_enabled


class Node:
    """How a tensor was made: the op, its inputs as they were then, and the output's array.

    Inputs that were themselves made by ops are kept as *snapshots*: new Tensor
    wrappers of the same array that remember the node that made it at record
    time. A later in-place write (``y[0] = v``) gives the tensor ``y`` a new node,
    but ops recorded before it still see the old one, as they must.
    Leaves (and constants) are kept as themselves, so gradients reach their ``.grad``.
    """

    __slots__ = ("op", "inputs", "out")

    def __init__(self, op, inputs: tuple[Tensor, ...], out):
        self.op = op
        self.inputs = inputs
        self.out = out  # the output's numpy array (not the Tensor: that would be a cycle)

    def output(self) -> Tensor:
        """The output as a tensor that carries this node (what backward rules receive as ``out``)."""
        t = Tensor._wrap(self.out)
        t._node, t._requires_grad = self, True
        return t

    def __repr__(self) -> str:
        return f"Node({self.op.name}, inputs={[t.shape for t in self.inputs]})"


def _snapshot(t: Tensor) -> Tensor:
    if t._node is None:
        return t
    s = Tensor._wrap(t.data)
    s._node, s._requires_grad = t._node, t._requires_grad
    return s


def record(op, inputs, output: Tensor) -> None:
    """Dispatch hook: give ``output`` a node when grad mode is on and an input requires grad."""
    if output.data.dtype.kind != "f" or not is_grad_enabled():
        return  # comparisons, argmax and integer results carry no gradient
    if not any(t._requires_grad for t in inputs):
        return
    output._requires_grad = True
    output._node = Node(op, tuple(_snapshot(t) for t in inputs), output.data)


def check_in_place(op, inputs) -> None:
    """Dispatch pre-hook: refuse, before anything is written, an in-place write into a leaf that requires grad."""
    if isinstance(op, SetItem) and inputs[0]._requires_grad and inputs[0]._node is None and is_grad_enabled():
        raise RuntimeError(
            "setitem: a leaf tensor that requires grad cannot be written in place (its .grad would "
            "stop meaning anything); write into a copy (y = x.clone()) or under no_grad()"
        )


def walk(root: Tensor) -> list[Node]:
    """Every node that reaches ``root``, inputs before outputs (a post-order walk).

    Iterative, so that deep graphs (a long RNN, many training steps chained) cannot
    overflow Python's recursion limit.
    """
    # BEGIN SOLUTION 09 topo_sort
    order: list[Node] = []
    if root._node is None:
        return order
    # Depth-first, with an explicit stack: a node is pushed twice, once to expand its inputs
    # and once (expanded=True) to be emitted after all of them.
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root._node, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for inp in node.inputs:
            if inp._node is not None and id(inp._node) not in seen:
                stack.append((inp._node, False))
    return order
    # END SOLUTION


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

    Examples:
        >>> import tinytorch.tensor as tt
        >>> x = tt.ones(1000, requires_grad=True)
        >>> graph_stats((x * 2).exp().sum()).nodes
        3
    """
    nodes = walk(root)
    ops: Counter[str] = Counter(node.op.name for node in nodes)
    saved: dict[int, Tensor] = {}
    leaves: set[int] = set() if root._node is not None else {id(root)}
    for node in nodes:
        for inp in node.inputs:
            saved[id(inp.data)] = inp  # a snapshot shares its tensor's array: count it once
            if inp._node is None and inp._requires_grad:
                leaves.add(id(inp))
    buffers: dict[int, int] = {}
    for t in saved.values():
        base = t.data if t.data.base is None else t.data.base
        buffers[id(base)] = base.nbytes
    return GraphStats(len(nodes), len(leaves), len(saved), sum(buffers.values()), dict(ops))
