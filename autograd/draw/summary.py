"""Summarising big graphs: which nodes a picture draws as one box, and a caption saying so.

A picture of 20,000 nodes is neither readable nor quick to lay out, so above a node limit the
graph is reduced in up to three steps, stopping as soon as it fits:

1. fuse: an op whose result is used once, by a later op, joins that op's box. A chain of
   single-use ops becomes one "×N ops" box; a micrograd neuron's products and running sum
   become one box whose output is the neuron's activation.
2. group by op and depth: boxes and nodes of the same op at the same distance from the leaves
   (and in the same cluster) share one box; the leaves of each cluster share one box.
3. group by op: as 2, ignoring depth.

The root always stays a node of its own, so the picture ends at the value that was drawn.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from autograd.draw.trace import Trace, depths


class Summary(NamedTuple):
    """Units of the picture: `members[u]` are the node indices drawn as unit u (one node for an
    ordinary node, several for a box); `unit_of[i]` is node i's unit; `notes` describe what
    was collapsed (empty when nothing was)."""

    unit_of: list[int]
    members: list[list[int]]
    fused: list[bool]
    notes: list[str]


def one_per_node(tr: Trace) -> Summary:
    """Every node drawn by itself."""
    n = len(tr.nodes)
    return Summary(list(range(n)), [[i] for i in range(n)], [False] * n, [])


def summarise(tr: Trace, max_nodes: int | None, where: list[int] | None = None) -> Summary:
    """Reduce the graph to at most `max_nodes` units when it has more (see the module doc).

    `where` gives each node's cluster (-1 for none); no box mixes clusters.
    """
    n = len(tr.nodes)
    if max_nodes is None or n <= max_nodes:
        return one_per_node(tr)
    where = where if where is not None else [-1] * n
    unit_of = fused_of = _fuse(tr, where)
    notes = [f"{n:,} nodes, more than max_nodes={max_nodes:,}: summarised "
             "(max_nodes=None draws every node)",
             f"single-use ops fused into their consumer: {_count(unit_of):,} units"]
    if _count(unit_of) > max_nodes:
        depth = depths(tr)
        unit_of = _group(tr, unit_of, where, depth)
        notes.append(f"grouped by op and depth: {_count(unit_of):,} units")
    if _count(unit_of) > max_nodes:
        unit_of = _group(tr, unit_of, where, None)
        notes.append(f"grouped by op: {_count(unit_of):,} units")
    return _members(tr, unit_of, fused_of, notes)


def _count(unit_of: list[int]) -> int:
    return len(set(unit_of))


def _fuse(tr: Trace, where: list[int]) -> list[int]:
    """Unit numbers after fusing each single-use op into its consumer."""
    consumers = [0] * len(tr.nodes)
    consumer = [-1] * len(tr.nodes)
    for p, c, _ in tr.edges:
        consumers[p] += 1
        consumer[p] = c
    root = tr.root
    unit_of = list(range(len(tr.nodes)))
    for i in range(root - 1, -1, -1):  # consumers come later, so their unit is settled
        c = consumer[i]
        if (consumers[i] == 1 and c != root and tr.nodes[i]._op is not None
                and where[i] == where[c]):
            unit_of[i] = unit_of[c]
    return unit_of


def _group(tr: Trace, unit_of: list[int], where: list[int],
           depth: list[int] | None) -> list[int]:
    """Merge units sharing (cluster, op of their output[, its depth]); the root stays alone."""
    heads: dict[int, int] = {}
    for i, u in enumerate(unit_of):
        heads[u] = i  # nodes come in topological order, so the last member is the output
    keys: dict[tuple, int] = {}
    merged: dict[int, int] = {}
    for u, head in heads.items():
        node = tr.nodes[head]
        if head == tr.root:
            key: tuple = ("root",)
        else:
            key = (where[head], node.op, -1 if depth is None or node._op is None
                   else depth[head])
        merged[u] = keys.setdefault(key, u)
    return [merged[u] for u in unit_of]


def _members(tr: Trace, unit_of: list[int], fused_of: list[int],
             notes: list[str]) -> Summary:
    """Renumber units 0..k-1 in order of first appearance and list their members.

    A unit is a fused box when all its members came from one fused unit (`fused_of`): then it
    has a single output, its last member.
    """
    number: dict[int, int] = {}
    members: list[list[int]] = []
    new_of = []
    for i, u in enumerate(unit_of):
        k = number.setdefault(u, len(members))
        if k == len(members):
            members.append([])
        members[k].append(i)
        new_of.append(k)
    fused = [len(m) > 1 and all(fused_of[i] == fused_of[m[0]] for i in m) for m in members]
    return Summary(new_of, members, fused, notes)


def op_counts(tr: Trace, members: list[int]) -> list[tuple[str, int]]:
    """The ops inside a box, most frequent first ('leaf' for leaves)."""
    counts = Counter(tr.nodes[i].op or "leaf" for i in members)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
