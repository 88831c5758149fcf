"""The structure of a computation graph as plain lists: nodes, edges, depths and groups.

`trace(root)` is what every picture starts from, and it needs nothing but the engine: no
graphviz, no drawing. Nodes are numbered by a depth-first walk from the root that visits each
node's inputs in argument order and lists a node after all of its inputs, so the numbering
depends only on the graph's shape: the same computation always gets the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np

from autograd.graph import PARENT_DATA, Node

Edge = tuple[int, int, int]  # (input's index, output's index, argument position)


class Trace(NamedTuple):
    """A graph as lists: `nodes` with every input before its outputs (root last), and `edges`
    from input to output, one per gradient-carrying argument (x * x gives two)."""

    nodes: list[Node]
    edges: list[Edge]

    @property
    def root(self) -> int:
        """The index of the node the trace started from."""
        return len(self.nodes) - 1

    def index(self) -> dict[Node, int]:
        """Each node's position in `nodes`."""
        return {n: i for i, n in enumerate(self.nodes)}


def trace(root: Node) -> Trace:
    """The nodes `root` depends on through gradient-carrying edges, and those edges.

    Iterative, so a chain of a million nodes is fine.

    >>> from autograd import Value
    >>> a = Value(2.0, label="a"); b = a * a
    >>> t = trace(b); [n.label or n.op for n in t.nodes], t.edges
    (['a', 'mul'], [(0, 1, 0), (0, 1, 1)])
    """
    if not isinstance(root, Node):
        raise TypeError(f"trace needs a Value or a Tensor, got {type(root).__name__}")
    index: dict[Node, int] = {}
    nodes: list[Node] = []
    entered = {root}
    stack = [(root, iter(root._parents))]
    while stack:
        node, inputs = stack[-1]
        for p in inputs:
            if p is not None and p not in entered:
                entered.add(p)
                stack.append((p, iter(p._parents)))
                break
        else:
            stack.pop()
            index[node] = len(nodes)
            nodes.append(node)
    edges = [(index[p], i, slot) for i, n in enumerate(nodes)
             for slot, p in enumerate(n._parents) if p is not None]
    return Trace(nodes, edges)


def depths(tr: Trace) -> list[int]:
    """The longest path from a leaf to each node (0 for leaves)."""
    depth = [0] * len(tr.nodes)
    for p, c, _ in tr.edges:  # edges come grouped by output, outputs in topological order
        if depth[p] + 1 > depth[c]:
            depth[c] = depth[p] + 1
    return depth


# ---- clusters: which nodes belong to which named group ----------------------------------

def cluster_of(tr: Trace, clusters: Any) -> tuple[list[int], list[str]]:
    """For each node the number of its cluster (-1 for none), and the clusters' names.

    `clusters` is None, a mapping {name: nodes} taken as given, or a model: an object with
    `.layers` (each with `.parameters()`) or with `.named_parameters()`. For a model, layer k's
    cluster holds its parameters, whatever is computed from them alone (such as Wᵀ), and the
    ops that consume those (W x and + b): the layer's own arithmetic, not its inputs. "Alone"
    means from parameters and settings such as an axis; a float or array argument is data
    from outside (x), so W·x is a consumer, not part of the parameters' computation. (Where
    backward has freed the graph's saved inputs, a layer holds its parameters and their
    direct consumers.)
    """
    if clusters is None:
        return [-1] * len(tr.nodes), []
    if isinstance(clusters, Mapping):
        names = [str(k) for k in clusters]
        return _given(tr, list(clusters.values())), names
    layers = _layers(clusters)
    return _owned(tr, [ps for _, ps in layers]), [name for name, _ in layers]


def _given(tr: Trace, groups: list[Iterable[Node]]) -> list[int]:
    index = tr.index()
    where = [-1] * len(tr.nodes)
    for k, group in enumerate(groups):
        if isinstance(group, Node):
            group = [group]
        for node in group:
            if not isinstance(node, Node):
                raise TypeError(f"clusters must list Values or Tensors, got "
                                f"{type(node).__name__} in cluster {k}")
            i = index.get(node)
            if i is not None and where[i] < 0:
                where[i] = k
    return where


def _layers(model: Any) -> list[tuple[str, list[Node]]]:
    """[(name, parameters)] for each layer of a model, found by duck typing."""
    layers = getattr(model, "layers", None)
    if layers is not None:
        return [(f"layer {k + 1} ({type(m).__name__})", list(m.parameters()))
                for k, m in enumerate(layers)]
    named = getattr(model, "named_parameters", None)
    if named is None:
        raise TypeError(f"clusters must be None, a dict {{name: nodes}} or a model with "
                        f".layers or .named_parameters(); got {type(model).__name__}")
    groups: dict[str, list[Node]] = {}
    for name, p in named():
        prefix = name.rpartition(".")[0] or type(model).__name__
        groups.setdefault(prefix, []).append(p)
    return list(groups.items())


def _owned(tr: Trace, params: list[list[Node]]) -> list[int]:
    """Each layer's parameters, what is computed from them alone, and its direct consumers."""
    where = _given(tr, params)
    pure = [w >= 0 for w in where]
    inputs: list[list[int]] = [[] for _ in tr.nodes]
    for p, c, _ in tr.edges:
        inputs[c].append(p)
    for c, ps in enumerate(inputs):
        if not ps or where[c] >= 0:
            continue
        owners = {where[p] for p in ps if pure[p]}
        if owners:
            where[c] = min(owners)
            pure[c] = (not _takes_data(tr.nodes[c])
                       and all(pure[p] and where[p] == where[c] for p in ps))
    return where


def _takes_data(node: Node) -> bool:
    """True when an argument comes from outside the graph as data (a float or an array, such
    as a batch x or a scalar input), rather than as a setting (an int axis or index, a shape,
    None)."""
    args = node._args
    if args is None:
        return True  # freed by backward: cannot tell, so assume it does
    if args is PARENT_DATA:
        return False  # every argument is a parent
    return any(p is None and isinstance(a, (float, np.floating, np.ndarray))
               for a, p in zip(args, node._parents))
