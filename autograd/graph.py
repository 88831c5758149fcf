"""The computation graph: nodes, grad mode, topological order and the one backward driver.

Every `Value` and `Tensor` is a `Node`. A node made by a primitive remembers the primitive
(`_op`), the raw arguments the forward pass saw (`_args`) and, aligned with them, the parent
nodes that need a gradient (`_parents`, None where an argument is a constant). That is all the
backward driver needs: it walks the graph once in reverse topological order and asks each
node's rule for the gradients of its parents. No recursion anywhere, so a chain of a million
nodes is as easy as a chain of ten.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from operator import attrgetter
from typing import Any

import numpy as np

# Creation order is a topological order: every node is made after its parents.
_counter = itertools.count()


class _GradMode:
    """Process-wide switches, read on every recorded op."""

    __slots__ = ("enabled", "anomaly", "backward")

    def __init__(self) -> None:
        self.enabled = True
        self.anomaly = False
        # True while anomaly mode runs rules on nodes (create_graph): ops recorded then belong
        # to a backward pass, and a NaN they make is reported as the rule's.
        self.backward = False


mode = _GradMode()


@contextmanager
def no_grad() -> Iterator[None]:
    """Run the block without recording: ops on nodes give constants (evaluation, SGD updates)."""
    previous, mode.enabled = mode.enabled, False
    try:
        yield
    finally:
        mode.enabled = previous


@contextmanager
def enable_grad() -> Iterator[None]:
    """Record inside the block even when an outer `no_grad()` is active."""
    previous, mode.enabled = mode.enabled, True
    try:
        yield
    finally:
        mode.enabled = previous


def is_grad_enabled() -> bool:
    """True when ops on nodes are being recorded."""
    return mode.enabled


class Node:
    """A value in the graph. Subclasses say what data is (a float, an ndarray)."""

    __slots__ = ("data", "grad", "requires_grad", "label", "_op", "_args", "_parents",
                 "_retain", "_where", "_seq")

    # Values keep every node's gradient (micrograd's behaviour, what a picture of the graph
    # wants); Tensors keep only the leaves' unless asked (`retain_grad`), as PyTorch does.
    _retains_grads = False
    # Tensors broadcast, so the driver must sum their gradients back to the parent's shape.
    _shaped = False
    # What .grad holds before any backward: 0.0 for a Value (as in micrograd), None for a Tensor.
    _empty_grad: Any = None

    def _fill(self, data: Any, requires_grad: bool, label: str, op: Any = None,
              args: tuple[Any, ...] | None = (), parents: tuple[Node | None, ...] = ()) -> None:
        """Set every slot: the one place where a node is made whole."""
        self.data = data
        self.grad = self._empty_grad
        self.requires_grad = requires_grad
        self.label = label
        self._op = op
        self._args = args
        self._parents = parents
        self._retain = False
        self._where = None
        self._seq = next(_counter)

    @property
    def is_leaf(self) -> bool:
        """True for nodes made by the user rather than by an op."""
        return self._op is None

    @property
    def op(self) -> str:
        """The name of the primitive that made this node ('' for a leaf)."""
        return "" if self._op is None else self._op.name

    @property
    def parents(self) -> tuple[Node, ...]:
        """The nodes this one was computed from that carry a gradient, in argument order."""
        return tuple(p for p in self._parents if p is not None)

    def retain_grad(self) -> None:
        """Keep this non-leaf node's gradient after backward."""
        self._retain = True

    def _deposit(self, g: Any, seen: set[int]) -> None:
        """Add one backward pass's gradient into `.grad` (floats; Tensor overrides)."""
        self.grad = self.grad + g


def toposort(root: Node) -> list[Node]:
    """The nodes `root` depends on through gradient-carrying edges, root first.

    Every node is created after its parents, so creation order (`_seq`) is a topological
    order: collect what is reachable, then sort newest first. Each node then comes before
    the nodes it was computed from, the order in which backward can finish each gradient.
    """
    seen = {root}
    stack = [root]
    while stack:
        for p in stack.pop()._parents:
            if p is not None and p not in seen:
                seen.add(p)
                stack.append(p)
    return sorted(seen, key=_creation, reverse=True)


_creation = attrgetter("_seq")


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum `g` down to `shape`: the adjoint of broadcasting an operand of that shape up to g's.

    This is the one place broadcasting is undone. Written with `.sum` alone, so it works
    on ndarrays and, under create_graph, on Tensors.
    """
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead > 0:
        g = g.sum(axis=_LEADING[lead] if lead < len(_LEADING) else tuple(range(lead)))
        if g.shape == shape:
            return g
    if lead >= 0:
        ones = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
        g = g.sum(axis=ones, keepdims=True)
    if g.shape != shape:
        raise ValueError(f"a gradient of shape {g.shape} does not reduce to shape {shape}")
    return g


_LEADING = [tuple(range(n)) for n in range(8)]


def backprop(root: Node, seed: Any, *, wrt: tuple[Node, ...] | None = None,
             create_graph: bool = False, retain_graph: bool = False) -> list[Any] | None:
    """The backward driver: apply the chain rule from `root`, seeded with dL/droot = `seed`.

    Without `wrt`, gradients are added into `.grad` of the leaves (and of nodes that retain
    theirs). With `wrt`, nothing is written: the gradients with respect to those nodes are
    returned, in order (None where a node does not influence root). With `create_graph`, the
    rules run on nodes, so the gradients are themselves differentiable. Unless the graph is
    retained, each node's saved inputs are dropped once its rule has run.
    """
    anomaly = mode.anomaly
    enabled, mode.enabled = mode.enabled, create_graph
    inside, mode.backward = mode.backward, anomaly and create_graph
    # The pass makes no reference cycles; pausing the cycle collector saves seconds on graphs
    # of a million nodes, which it would otherwise rescan over and over.
    collecting = gc.isenabled()
    gc.disable()
    try:
        found = _pass(root, seed, wrt, create_graph, retain_graph or create_graph, anomaly,
                      inside)
    finally:
        mode.enabled = enabled
        mode.backward = inside
        if collecting:
            gc.enable()
    return None if wrt is None else [found.get(n) for n in wrt]


def _pass(root: Node, seed: Any, wrt: tuple[Node, ...] | None, create_graph: bool,
          keep: bool, anomaly: bool, inside: bool) -> dict[Node, Any]:
    """One walk over the graph in reverse topological order; returns the `wrt` gradients."""
    stop = frozenset(wrt or ())
    found: dict[Node, Any] = {}
    pending: dict[Node, Any] = {root: seed}
    seen: set[int] = set()
    try:
        for node in toposort(root):
            g = pending.pop(node, None)
            if g is None:
                continue
            op = node._op
            if wrt is not None:
                if node in stop:
                    found[node] = g
                    continue
            elif op is None or node._retains_grads or node._retain:
                node._deposit(g, seen)
            if op is None:
                continue
            # One step of the chain rule, written out here rather than called: this loop runs
            # once per node, and on a scalar graph a call costs a tenth of the whole pass.
            args = node._args
            if args is None or create_graph or op.wants_needs:
                grads = _rule(node, op, g, create_graph)
            else:
                grads = op.vjp(g, node.data, *args)
            parents = node._parents
            shaped = node._shaped  # an op's inputs are all of its output's kind
            for p, gp in zip(parents, grads):
                if p is None or gp is None:
                    continue
                if shaped:
                    gp = _shape_like(gp, p, op, parents)
                if anomaly:
                    _check_gradient(node, _position(parents, p), gp)
                if p in pending:
                    pending[p] = pending[p] + gp
                else:
                    pending[p] = gp
            if not keep:
                node._args = None
    except FloatingPointError as e:
        # An op inside a rule run on nodes made the NaN: name the rule. (A gradient found
        # not finite after the rule ran is named by _check_gradient already.)
        if not mode.backward or inside or str(e).startswith("the gradient"):
            raise
        raise FloatingPointError(f"the rule of {node.op!r}{where_text(node)} made a "
                                 f"non-finite value while computing its gradient: {e}") from None
    return found


def _rule(node: Node, op: Any, g: Any, create_graph: bool) -> tuple[Any, ...]:
    """The node's rule applied to g: one gradient per argument of its op."""
    args = node._args
    if args is None:
        raise RuntimeError(
            f"backward through the graph a second time: the {op.name!r} node's saved inputs "
            "were freed by the first backward; pass retain_graph=True to the first one")
    out = node.data
    if create_graph:
        args = tuple([a if p is None else p for a, p in zip(args, node._parents)])
        out = node
    if op.wants_needs:
        return op.vjp(g, out, *args, needs=tuple([p is not None for p in node._parents]))
    return op.vjp(g, out, *args)


def _shape_like(gp: Any, p: Node, op: Any, parents: tuple[Node | None, ...]) -> Any:
    """A Tensor input's gradient as an array (or Tensor) of the input's shape."""
    if type(gp) is not np.ndarray and not isinstance(gp, Node):
        gp = np.asarray(gp)
    if gp.shape != p.data.shape:
        gp = _fit(gp, p.data.shape, op, _position(parents, p))
    return gp


def _position(parents: tuple[Node | None, ...], p: Node) -> int:
    """Where p is among parents, by identity (tuple.index would call a Tensor's elementwise ==)."""
    return next(i for i, q in enumerate(parents) if q is p)


def _fit(gp: Any, shape: tuple[int, ...], op: Any, i: int) -> Any:
    """Undo broadcasting of input i's gradient, or say which rule returned a misshapen one."""
    try:
        return unbroadcast(gp, shape)
    except ValueError:
        raise ValueError(f"the rule of {op.name!r} returned a gradient of shape {gp.shape} for "
                         f"its input {i} of shape {shape}; a rule returns one gradient per "
                         "input, shaped like that input") from None


def _check_gradient(node: Node, i: int, gp: Any) -> None:
    """Anomaly mode: a rule that produced NaN or inf is named, with where its node was made."""
    data = gp.data if isinstance(gp, Node) else gp
    if not np.all(np.isfinite(data)):
        raise FloatingPointError(f"the gradient that {node._op.name!r} passed to its input "
                                 f"{i} is not finite in the backward pass{where_text(node)}")


def where_text(node: Node) -> str:
    """' (node made at file:line)' for a node recorded in anomaly mode; else why it is unknown."""
    where = node._where
    if where is None:
        return " (node made outside detect_anomaly(), so its line is unknown)"
    return f" (node made at {where.filename}:{where.lineno})"


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Inside the block, a NaN or inf made by an op, forward or backward, raises at once,
    naming the op and the line that created its node (slower: use it to hunt a NaN)."""
    previous, mode.anomaly = mode.anomaly, True
    try:
        yield
    finally:
        mode.anomaly = previous


def owned(g: np.ndarray | Any, seen: set[int]) -> np.ndarray:
    """`g` as an ndarray no other gradient shares, copying only when it might be shared.

    Rules may pass the incoming gradient on unchanged (add gives it to both operands) or as a
    view (reshape, transpose), so two leaves could end up holding one buffer and an in-place
    update of one would corrupt the other. `seen` holds the buffers already handed out in this
    pass.
    """
    if type(g) is not np.ndarray:
        return np.array(g)
    base = g
    while base.base is not None:
        base = base.base
    key = id(base)
    if key in seen or not g.flags.writeable:
        return g.copy()
    seen.add(key)
    return g
