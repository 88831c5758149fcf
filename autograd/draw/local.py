"""Local derivatives and every node's gradient, computed from the rules without touching
the graph: what a picture of the chain rule shows.

For a node out = f(x₁, …, xₙ), the local derivative on the edge from xᵢ is ∂out/∂xᵢ, and the
chain rule reads grad(xᵢ) = Σ over xᵢ's outgoing edges of grad(out) · ∂out/∂xᵢ. Both are
computed here by calling each node's rule on its saved inputs, the same call the backward
driver makes; nothing is written to `.grad` and the saved inputs are left in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd.draw.trace import Trace
from autograd.graph import Node, apply_rule, unbroadcast
from autograd.rules import data_of

# Jacobians up to this many entries are computed and shown in full; larger ones by shape.
SMALL_JACOBIAN = 16


def freed(node: Node) -> bool:
    """True when a backward without retain_graph has dropped the node's saved inputs."""
    return node._op is not None and node._args is None


def _pullback(node: Node, g: Any) -> tuple[Any, ...]:
    """The node's rule applied to the incoming gradient g: one entry per argument."""
    grads = apply_rule(node, g)
    return tuple(grads) + (None,) * (len(node._parents) - len(grads))


def scalar_partials(node: Node) -> tuple[float | None, ...]:
    """∂out/∂xᵢ for each argument of a Value node (None for constant arguments).

    >>> from autograd import Value
    >>> x = Value(3.0); y = Value(4.0)
    >>> scalar_partials(x * y)
    (4.0, 3.0)
    """
    if node._op is None:
        return ()
    if node._args is None:
        raise RuntimeError(f"the {node.op!r} node's saved inputs were freed by backward; "
                           "build the graph again or pass retain_graph=True to backward")
    grads = _pullback(node, 1.0)
    return tuple([None if p is None or g is None else float(data_of(g))
                  for p, g in zip(node._parents, grads)])


def jacobian_of(node: Node, slot: int) -> np.ndarray | None:
    """∂out/∂x for argument `slot` of a Tensor node, shape out.shape + x.shape, or None when
    it has more than SMALL_JACOBIAN entries (then only its shape is worth showing)."""
    parent = node._parents[slot]
    out_shape = np.shape(node.data)
    in_shape = np.shape(parent.data)
    m, n = int(np.prod(out_shape)), int(np.prod(in_shape))
    if m * n > SMALL_JACOBIAN:
        return None
    rows = []
    for k in range(m):
        e = np.zeros(m, dtype=np.asarray(node.data).dtype)
        e[k] = 1.0
        g = data_of(_pullback(node, e.reshape(out_shape))[slot])
        rows.append(np.zeros(in_shape) if g is None else unbroadcast(np.asarray(g), in_shape))
    return np.stack(rows).reshape(out_shape + in_shape)


def node_grads(tr: Trace) -> list[Any]:
    """d root / d node for every node of the trace (root seeded with 1), nothing written.

    The root must be a scalar: a Value or a one-entry Tensor. Nodes the root does not depend
    on through their inputs cannot occur in a trace, so every entry is a float or an array.
    """
    root = tr.nodes[tr.root]
    data = np.asarray(root.data)
    if data.size != 1:
        raise ValueError(f"gradients need a one-entry output (a loss); the root has shape "
                         f"{data.shape}")
    index = tr.index()
    grads: list[Any] = [None] * len(tr.nodes)
    grads[tr.root] = 1.0 if isinstance(root.data, float) else np.ones_like(data)
    for i in range(tr.root, -1, -1):
        node, g = tr.nodes[i], grads[i]
        if node._op is None or g is None:
            continue
        if node._args is None:
            scalar_partials(node)  # raises the explanation
        for p, gp in zip(node._parents, _pullback(node, g)):
            if p is None or gp is None:
                continue
            gp = data_of(gp)
            if p._shaped and np.shape(gp) != p.data.shape:
                gp = unbroadcast(np.asarray(gp), p.data.shape)
            j = index[p]
            grads[j] = gp if grads[j] is None else grads[j] + gp
    return grads
