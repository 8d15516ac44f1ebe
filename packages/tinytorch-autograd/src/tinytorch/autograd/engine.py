"""The backward pass: walk the graph from the output to the leaves, applying each op's rule.

Reverse-mode differentiation in one loop: visit nodes outputs-first (the
reverse of `graph.walk`'s order), hand each node's gradient to its op's rule,
and add the resulting input gradients into a table. A node's gradient is
complete when it is visited, because every node that used its output comes earlier.
Leaves (tensors made by the user with ``requires_grad=True``) accumulate
their gradient into ``.grad``.
"""

from __future__ import annotations

from tinytorch.tensor import Tensor, ones_like

from .grad_mode import enable_grad, no_grad
from .graph import walk
from .rules import rule_for


def backward(root: Tensor, grad=None, create_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into every reachable leaf's ``.grad``.

    Args:
        root: the tensor to differentiate; without ``grad`` it must hold one element (a loss).
        grad: d(something)/d(root), the same shape as root (default: ones).
        create_graph: record the backward pass itself, so the gradients can be
            differentiated again (gradients of gradients).
    """
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no graph; create its inputs "
            "with requires_grad=True (and not inside no_grad())"
        )
    if grad is None:
        if root.size != 1:
            raise RuntimeError(
                f"backward: grad can be omitted only for a one-element output, this one has shape "
                f"{root.shape}; pass grad= of that shape"
            )
        grad = ones_like(root)
    elif not isinstance(grad, Tensor):
        grad = Tensor(grad, dtype=root.dtype)
    if grad.shape != root.shape:
        raise ValueError(f"backward: grad has shape {grad.shape}, the tensor has shape {root.shape}")

    if root._node is None:  # a leaf: its gradient is the upstream one
        _accumulate(root, grad, create_graph)
        return
    node_grads: dict[int, Tensor] = {id(root._node): grad}  # keyed by node: non-leaves
    leaf_grads: dict[int, tuple[Tensor, Tensor]] = {}  # keyed by tensor: leaves
    with enable_grad() if create_graph else no_grad():
        # BEGIN SOLUTION 09 backward
        for node in reversed(walk(root)):
            g = node_grads.pop(id(node), None)
            if g is None:
                continue  # nothing flowed here (e.g. only through an argmax)
            op, inputs = node.op, node.inputs
            in_grads = rule_for(op)(op, inputs, node.output(), g)
            for inp, ig in zip(inputs, in_grads):
                if ig is None or not inp._requires_grad:
                    continue
                if ig.shape != inp.shape:  # a broken rule must fail loudly, not corrupt .grad
                    raise RuntimeError(
                        f"backward: the rule of {op.name} gave a gradient of shape {ig.shape} "
                        f"for an input of shape {inp.shape}"
                    )
                if inp._node is None:
                    prev = leaf_grads.get(id(inp))
                    leaf_grads[id(inp)] = (inp, ig if prev is None else prev[1] + ig)
                else:
                    key = id(inp._node)
                    node_grads[key] = ig if key not in node_grads else node_grads[key] + ig
        for leaf, g in leaf_grads.values():
            _accumulate(leaf, g, create_graph)
        # END SOLUTION


def _accumulate(leaf: Tensor, g: Tensor, create_graph: bool) -> None:
    if g.dtype != leaf.dtype:
        g = g.to(leaf.dtype)
    if not create_graph:
        # A gradient may be a read-only broadcast view or share memory with another
        # tensor; .grad must be the leaf's own array (optimizers update it in place).
        if not (g.data.flags.owndata and g.data.flags.writeable):
            g = g.clone()
        g = g.detach()
    # BEGIN SOLUTION 09 backward
    # a second backward adds to what is there (zero_grad clears it between steps)
    leaf.grad = g if leaf.grad is None else leaf.grad + g
    # END SOLUTION
