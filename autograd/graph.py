"""The computation graph: nodes, per-thread modes, topological order and the one backward driver.

Every `Value` and `Tensor` is a `Node`. A node made by a primitive remembers the primitive
(`_op`), the raw arguments the forward pass saw (`_args`) and, aligned with them, the parent
nodes that need a gradient (`_parents`, None where an argument is a constant). That is all the
backward driver needs: it walks the graph once in reverse topological order and asks each
node's rule for the gradients of its parents. No recursion anywhere, so a chain of a million
nodes is as easy as a chain of ten.

Threads. Grad mode (`no_grad`, `enable_grad`) and anomaly mode (`detect_anomaly`) are per
thread (thread-local: a new thread starts with recording on and anomaly mode off, whatever its
parent has; asyncio tasks of one thread share its modes), so a `no_grad()` block in one thread
never changes what another thread records. Building graphs, backward and optimizer steps are
safe in several threads at once as long as each thread works on its own nodes: two models
trained in two threads give each exactly its single-thread result. Reading shared parameters
in one thread (evaluation under `no_grad()`) while another updates them does not crash, but
the reader may see a half-updated step; and a graph recorded in one thread from parameters
another thread then updates is refused by backward, as any in-place change is. Not
thread-safe: one graph used from two threads at once (two backward passes through it, or
building on it while another thread runs backward through it), and two threads updating the
same parameters or `.grad` at once.
"""

from __future__ import annotations

import gc
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from operator import attrgetter
from typing import Any

import numpy as np

# Creation order is a topological order: every node is made after its parents. The same clock
# stamps in-place changes, so "changed after that node was recorded" is one comparison.
_counter = itertools.count()

# ---- modes, one set per thread --------------------------------------------------------------

class _ThreadModes(threading.local):
    """The calling thread's switches (each thread starts with recording on, anomaly off)."""

    def __init__(self) -> None:
        self.enabled = True
        self.anomaly = False
        # True while anomaly mode runs rules on nodes (create_graph): ops recorded then belong
        # to a backward pass, and a NaN they make is reported as the rule's.
        self.backward = False


_local = _ThreadModes()


class _Open:
    """How many mode blocks are open now, in all threads together. While none is, every thread
    has the default modes, so the hot path (grad mode is read on every recorded op) reads this
    plain attribute instead of the thread-local one: 50 ns a read for threading.local, and
    140 ns an op for two ContextVar reads, measured against 570 ns for a whole Value multiply."""

    __slots__ = ("blocks",)

    def __init__(self) -> None:
        self.blocks = 0


_open = _Open()
_open_lock = threading.Lock()


class _Modes:
    """The calling thread's switches, read-only: `mode.enabled`, `mode.anomaly`, `mode.backward`."""

    __slots__ = ()

    @property
    def enabled(self) -> bool:
        """True when ops on nodes are being recorded."""
        return not _open.blocks or _local.enabled

    @property
    def anomaly(self) -> bool:
        """True inside `detect_anomaly()`."""
        return bool(_open.blocks) and _local.anomaly

    @property
    def backward(self) -> bool:
        """True while anomaly mode runs rules on nodes."""
        return bool(_open.blocks) and _local.backward


mode = _Modes()


@contextmanager
def _switched(name: str, value: bool) -> Iterator[None]:
    """One switch set to `value` inside the block, in this thread only."""
    with _open_lock:
        _open.blocks += 1
    previous = getattr(_local, name)
    setattr(_local, name, value)
    try:
        yield
    finally:
        setattr(_local, name, previous)
        with _open_lock:
            _open.blocks -= 1


def no_grad() -> Any:
    """Run the block without recording: ops on nodes give constants (evaluation, SGD updates).

    Per thread: other threads keep recording.
    """
    return _switched("enabled", False)


def enable_grad() -> Any:
    """Record inside the block even when an outer `no_grad()` is active (in this thread)."""
    return _switched("enabled", True)


def is_grad_enabled() -> bool:
    """True when ops on nodes are being recorded in the calling thread."""
    return mode.enabled


def is_anomaly_enabled() -> bool:
    """True inside `detect_anomaly()` in the calling thread."""
    return mode.anomaly


def detect_anomaly() -> Any:
    """Inside the block, a NaN or inf made by an op, forward or backward, raises at once,
    naming the op and the line that created its node (slower: use it to hunt a NaN).
    Per thread, like grad mode."""
    return _switched("anomaly", True)


# ---- nodes and their versions -------------------------------------------------------------

class Node:
    """A value in the graph. Subclasses say what data is (a float, an ndarray) and define the
    `data` property, whose setter checks the new data and calls `_bump`."""

    __slots__ = ("_data", "grad", "requires_grad", "label", "_op", "_args", "_parents",
                 "_where", "_seq", "_change")

    # Values keep every node's gradient (micrograd's behaviour, what a picture of the graph
    # wants); Tensors keep only the leaves' unless asked (`retain_grad`), as PyTorch does.
    _retains_grads = False
    # Tensors broadcast, so the driver must sum their gradients back to the parent's shape.
    _shaped = False
    # What .grad holds before any backward: 0.0 for a Value (as in micrograd), None for a Tensor.
    _empty_grad: Any = None

    def _fill(self, data: Any, requires_grad: bool, label: str, op: Any = None,
              args: tuple[Any, ...] | None = (), parents: tuple[Node | None, ...] = ()) -> None:
        """Set every slot a node needs: the one place where a node is made whole.

        `_change` (the version and the clock reading of the latest in-place change) stays
        unset until a change: most nodes never have one. Slots cost even unset: one more on
        every node made the cycle collector's share of building a 100,000-node Value chain
        8% slower, which is why `_retain` lives on Tensor only.
        """
        self._data = data
        self.grad = self._empty_grad
        self.requires_grad = requires_grad
        self.label = label
        self._op = op
        self._args = args
        self._parents = parents
        self._where = None
        self._seq = next(_counter)

    @property
    def version(self) -> int:
        """How many in-place changes the library has seen on this node's data (0 at first)."""
        return getattr(self, "_change", _UNCHANGED)[0]

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


# The clock reading of the latest in-place change anywhere. Backward compares it with the
# graph's oldest node and skips the per-input check when nothing changed since the graph was
# built, the case of every training step (the update comes after backward).
_latest_change = [-1]
_UNCHANGED = (0, -1)  # (version, clock) of a node never changed in place
_change_lock = threading.Lock()


def changed_in_place(nodes: Iterable[Node]) -> None:
    """Count an in-place change of each node's data that `.data` assignment did not see (an
    optimizer writing into the arrays): each gets a new version, stamped with the clock."""
    _change_lock.acquire()  # not `with`: a quarter of the call's cost
    try:
        clock = _latest_change[0] = next(_counter)  # one reading serves the whole batch
        for node in nodes:
            node._change = (getattr(node, "_change", _UNCHANGED)[0] + 1, clock)
    finally:
        _change_lock.release()


def _bump(node: Node) -> None:
    """`changed_in_place` for one node, written out: the `.data` setters call it on every
    `p.data -= lr * p.grad`, where the extra call and tuple cost 1% of an epoch."""
    _change_lock.acquire()
    try:
        clock = _latest_change[0] = next(_counter)
        node._change = (getattr(node, "_change", _UNCHANGED)[0] + 1, clock)
    finally:
        _change_lock.release()


def _inputs(node: Node) -> Iterator[tuple[int, Node]]:
    """(position, input node) for each argument of `node` that was a node when recorded (for
    a Value node: each that needs a gradient; a constant float cannot change under it)."""
    consts = getattr(node, "_consts", None) or ()
    for i, p in enumerate(node._parents):
        if p is not None:
            yield i, p
        elif i < len(consts) and consts[i] is not None:
            yield i, consts[i]


def stale_input(node: Node) -> tuple[int, Node] | None:
    """The first input of `node` changed in place after `node` was recorded, with its position."""
    for i, p in _inputs(node):
        if getattr(p, "_change", _UNCHANGED)[1] > node._seq:
            return i, p
    return None


# A binary node made by value.py's hot path keeps no tuple of its inputs' floats: `_args` holds
# PARENT_DATA, and the floats are its parents' data, unchanged as long as the versions check
# passes. With its parents in two slots (value.py) the node is then the one object of three
# that the cycle collector tracks, and the collector's share of micrograd's demo forward falls
# from about 130 ms to about 28 (CPU time, median of 11: 52 ms with the collector on, 24 off,
# against 183 and 52 before the hot path; one full collection a step instead of two or three,
# over a third of the objects).
class _ParentData:
    """The marker's type: one object, which pickling and copying keep as that object (a
    pickled graph of Values is found by `is` again when it is loaded)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "PARENT_DATA"

    def __reduce__(self) -> str:
        return "PARENT_DATA"  # by reference: this module's PARENT_DATA


PARENT_DATA = _ParentData()


def saved_args(node: Node) -> tuple[Any, ...] | None:
    """The raw arguments node's op saw (None once backward freed them): `_args`, with
    PARENT_DATA read from the parents. A reader other than the backward driver, which checks
    every version first, reads `_args` through here."""
    args = node._args
    if args is not PARENT_DATA:
        return args
    if _latest_change[0] > node._seq and stale_input(node) is not None:
        raise RuntimeError(f"the inputs of this {node.op!r} node changed in place after it was "
                           "recorded, and it keeps no copy of them: compute the graph again")
    return tuple([p._data for p in node._parents])


def check_versions(order: list[Node]) -> None:
    """Refuse to run backward through a node one of whose inputs changed in place since it was
    recorded: its rule would compute with the new data, a silently wrong gradient."""
    for oldest in reversed(order):  # leaves are the oldest nodes: few steps back
        if oldest._op is not None:
            break
    else:
        return
    if _latest_change[0] < oldest._seq:
        return
    for node in order:
        found = node._op is not None and stale_input(node)
        if found:
            i, p = found
            what = f"a Tensor of shape {p._data.shape}" if node._shaped else "a Value"
            label = f" labelled {p.label!r}" if p.label else ""
            where = where_text(node) if node._where is not None else ""
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: input {i} of {node.op!r} ({what}{label}) is at version "
                f"{p.version}, changed after the node was recorded{where}; compute "
                "the graph again after the change, or change a copy")


# ---- order and shapes -----------------------------------------------------------------------

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


# ---- the backward driver ------------------------------------------------------------------

# ---- numpy's floating-point warnings --------------------------------------------------------
# inf and nan are the engine's defined IEEE answers (exp(1000), 1/0, 0·inf), computed silently
# as PyTorch does; a NaN hunt is what detect_anomaly() is for. numpy's errstate costs about
# 0.9 µs a call, a fifth of a small op, so the variable in which numpy ≥ 2 keeps its error
# state is set directly (`_np_errors`: get, set, reset), at about a third of the cost.

class _Seterr:
    """numpy 1.x's error state (per thread, behind seterr) with a context variable's three
    calls: `get` never returns the silent state itself, so every `silently` sets it."""

    __slots__ = ()

    def get(self) -> dict[str, str]:
        return np.geterr()

    def set(self, state: dict[str, str]) -> dict[str, str]:
        return np.seterr(**state)

    def reset(self, old: dict[str, str]) -> None:
        np.seterr(**old)


try:
    from numpy._core._ufunc_config import _extobj_contextvar as _np_errors
except ImportError:  # numpy 1.x
    _np_errors = _Seterr()
    _SILENT: Any = {"all": "ignore"}
    _OVERFLOW_RAISES: Any = {"all": "ignore", "over": "raise"}
else:
    with np.errstate(all="ignore"):
        _SILENT = _np_errors.get()
    with np.errstate(all="ignore", over="raise"):
        _OVERFLOW_RAISES = _np_errors.get()


def silently(fun: Callable[..., Any], *args: Any) -> Any:
    """fun(*args) with numpy's floating-point warnings off (and restored after), as every op,
    backward pass and compiled replay runs: for code beside the engine that computes on raw
    arrays (a fused training step), where inf and nan are answers, not accidents."""
    if _np_errors.get() is _SILENT:
        # Already silent (an outer `silently`): setting the variable again would cost 0.3 µs,
        # and as much again in the ufuncs inside, which find numpy's state cached no more.
        return fun(*args)
    token = _np_errors.set(_SILENT)
    try:
        return fun(*args)
    finally:
        _np_errors.reset(token)


def overflow_raises(fun: Callable[..., Any], *args: Any) -> Any:
    """fun(*args) with an overflow raising FloatingPointError and numpy's other floating-point
    warnings off: a formula exact wherever it does not overflow can try first, with no scan
    of its input (sigmoid: a `min` over the input costs as much as its exp)."""
    token = _np_errors.set(_OVERFLOW_RAISES)
    try:
        return fun(*args)
    finally:
        _np_errors.reset(token)


# One backward pass at a time, in all threads: two passes through a shared leaf would both add
# into its `.grad` (read, add, write) and the fast paths mark the slots they walk, so running
# them side by side lost a gradient now and then. Reentrant: a rule may run a backward pass of
# its own (the functional API inside a custom rule).
_backward_lock = threading.RLock()


def backward_pass(root: Node, seed: Any, *, wrt: tuple[Node, ...] | None = None,
             create_graph: bool = False, retain_graph: bool = False) -> list[Any] | None:
    """The backward driver: apply the chain rule from `root`, seeded with dL/droot = `seed`.

    Without `wrt`, gradients are added into `.grad` of the leaves (and of nodes that retain
    theirs). With `wrt`, nothing is written: the gradients with respect to those nodes are
    returned, in order (None where a node does not influence root). With `create_graph`, the
    rules run on nodes, so the gradients are themselves differentiable. Unless the graph is
    retained, each node's saved inputs are dropped once its rule has run.
    """
    _backward_lock.acquire()  # not `with`: half the cost (1k instructions a pass)
    try:
        if wrt is None and not create_graph and not (_open.blocks and _local.anomaly):
            if root._shaped:
                _backward_tensors(root, seed, not retain_graph)
            else:
                _backward_scalar(root, seed, not retain_graph)
            return None
        order = toposort(root)
        check_versions(order)
        run = _Run(wrt, create_graph, retain_graph or create_graph)
        with _collector_paused, _Backward(create_graph):
            silently(_walk, order, seed, run)
        return None if wrt is None else [run.found.get(n) for n in wrt]
    finally:
        _backward_lock.release()


def _walk(order: list[Node], seed: Any, run: _Run) -> None:
    """Reverse mode itself: newest node first, each hands its gradient to its parents."""
    shaped = order[0]._shaped  # one graph holds one kind of node
    anomaly = run.anomaly
    pending = {order[0]: seed}
    for node in order:
        g = pending.pop(node, None)
        if g is None or run.arrive(node, g):
            continue
        for p, gp in zip(node._parents, run.rule(node, g)):
            if p is not None and gp is not None:
                if shaped:
                    gp = _shape_like(gp, p, node)
                if anomaly:
                    _check_gradient(node, p, gp)
                pending[p] = pending[p] + gp if p in pending else gp
        if run.frees:
            node._args = None


# ---- fast path for Tensors ------------------------------------------------------------------
# A plain backward through Tensors (no wrt, no create_graph, no anomaly mode) gathers each
# node's gradient in its own `.grad` slot, as the Value path below does, instead of a set for
# the search and a dict of pending gradients: the search marks every node it reaches with
# _REACHED, setting aside the gradients already there (leaves that accumulate, nodes that
# retain theirs); the walk sums into the slots and hands each op node's gradient to its rule,
# newest first, then settles the leaves, which need no place in the order. If anything raises,
# every slot gets its old gradient back, so a refused backward writes nothing.
# tests/engine/test_driver.py runs it against `_walk`.

_REACHED = ("reached by this backward pass, no gradient yet",)
_ARRAY = np.ndarray  # read once an edge: a global, not np's attribute


def _backward_tensors(root: Node, seed: Any, frees: bool) -> None:
    """backward_pass's plain case for a graph of Tensors."""
    order: list[Node] = []
    leaves: list[Node] = []
    kept: dict[Node, Any] = {}
    try:
        _reach(root, order, leaves, kept)
        if order and _latest_change[0] >= order[-1]._seq:  # check_versions' first test
            check_versions(order)
        root.grad = seed
        if len(order) < _FEW:
            _walk_plain(order, leaves, frees, kept)
        else:
            with _collector_paused:
                _walk_plain(order, leaves, frees, kept)
    except BaseException:
        for node in order + leaves:
            node.grad = kept.get(node)
        raise


def _reach(root: Node, order: list[Node], leaves: list[Node], kept: dict[Node, Any]) -> None:
    """toposort's order of the nodes made by ops into `order`, and the leaves into `leaves`
    (they need no place in the order: nothing runs after them), each node marked _REACHED in
    `.grad` on the way and its old gradient, if any, put in `kept` (all filled in place for a
    caller whose search fails)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node is None:  # a constant argument
            continue
        old = node.grad
        if old is _REACHED:  # reached before, by another path
            continue
        if old is not None:
            kept[node] = old
        node.grad = _REACHED
        if node._op is None:
            leaves.append(node)
        else:
            order.append(node)
            stack.extend(node._parents)
    order.sort(key=_creation, reverse=True)


def _walk_plain(order: list[Node], leaves: list[Node], frees: bool,
                kept: dict[Node, Any]) -> None:
    """`_walk` for Tensors whose `.grad` slots gather this pass's gradients, the leaves'
    settled last, with numpy's warnings off (`silently` written out: two calls less a pass)."""
    token = None if _np_errors.get() is _SILENT else _np_errors.set(_SILENT)
    try:
        seen: set[int] = set()
        for node in order:
            g = node.grad
            if g is _REACHED:  # no gradient reached it
                node.grad = kept.get(node)
                continue
            op = node._op
            node.grad = settled(node, g, kept.get(node), seen) if node._retain else None
            args = node._args
            if args is None:
                _freed(node)
            if op.wants_needs:
                grads = op.vjp(g, node._data, *args, needs=_needs(node._parents))
            else:
                grads = op.vjp(g, node._data, *args)
            for p, gp in zip(node._parents, grads):
                if p is None or gp is None:
                    continue
                if gp.__class__ is not _ARRAY or gp.shape != p._data.shape:
                    gp = _shape_like(gp, p, node)
                before = p.grad
                p.grad = gp if before is _REACHED else before + gp
            if frees:
                node._args = None
        for leaf in leaves:
            g = leaf.grad
            leaf.grad = kept.get(leaf) if g is _REACHED else settled(leaf, g, kept.get(leaf), seen)
    finally:
        if token is not None:
            _np_errors.reset(token)


def settled(node: Node, g: Any, old: Any, seen: set[int]) -> Any:
    """The gradient a Tensor keeps after a backward pass: g added to the one it had, or g
    itself, an array of the node's dtype that no other gradient shares.

    Rules may pass the incoming gradient on unchanged (add gives it to both operands) or as a
    view (reshape, transpose), so two leaves could end up holding one buffer and an in-place
    update of one would corrupt the other: g is copied when it might be shared. `seen` holds
    the buffers already handed out in this pass.
    """
    if type(g) is not np.ndarray or g.dtype != node._data.dtype:
        g = np.asarray(g).astype(node._data.dtype)  # a new array, which nothing else holds
    if old is not None:
        total = old + g
        # numpy gives the sum of two 0-d arrays as a scalar: a gradient stays an array
        return np.asarray(total) if isinstance(total, np.generic) else total
    base = g
    while base.base is not None:
        base = base.base
    key = id(base)
    if key in seen or not g.flags.writeable:
        return g.copy()
    seen.add(key)
    return g


# ---- fast path for Values -----------------------------------------------------------------
# A plain backward through Values (no wrt, no create_graph, no anomaly mode) without the set,
# the pending dict and the `_deposit` call per node of toposort and `_walk_plain`: the search
# for the reachable nodes marks each in its own `.grad` slot (setting aside an old gradient
# that is not 0), the slot then gathers the gradient of this pass, and the old gradients are
# added back at the end, or restored if anything raises, so a refused backward writes nothing.
# The binary ops of value.py's hot path, by far the most common nodes, are handled without a
# loop over their two parents. micrograd's demo backward: 36 against 72 ms through toposort
# and `_walk_plain` (CPU time, min of 9). A zero gradient may keep the sign its rule gave it
# (-0.0 where the general loop adds it to 0.0). tests/engine/test_driver.py runs it against
# `_walk`.

def _backward_scalar(root: Node, seed: Any, frees: bool) -> None:
    """backward_pass's plain case for a graph of Values."""
    order: list[Node] = []
    kept: dict[Node, Any] = {}
    try:
        _reach_scalar(root, order, kept)
        check_versions(order)
        root.grad = seed
        _quietly_walk(order, _walk_scalar, order, frees)
        # Node._deposit for the gradients that were not 0 (None, like 0.0, is a reset one),
        # summed before any is written: an old gradient that cannot take a float writes nothing
        summed = [(node, old + node.grad) for node, old in kept.items() if old is not None]
    except BaseException:
        for node in order:
            node.grad = kept.get(node, 0.0)
        raise
    for node, total in summed:
        node.grad = total


def _reach_scalar(root: Node, nodes: list[Node], kept: dict[Node, Any]) -> None:
    """toposort's order for Values into `nodes`, each node marked _REACHED in `.grad` on the
    way (no set), and the old gradients that were not 0 into `kept` (filled in place, so a
    caller whose search fails midway knows what to restore). Parents are pushed unchecked and
    checked when popped: 15 against 19 ms on micrograd's demo for checking each before the
    push."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node is None:  # a constant argument
            continue
        old = node.grad
        if old is _REACHED:  # reached before, by another path
            continue
        if old or old.__class__ is not float:
            # anything but a float zero is restored exactly if the pass fails (-0.0 comes back
            # as 0.0: telling them apart costs 10% of a backward)
            kept[node] = old
        node.grad = _REACHED
        nodes.append(node)
        x = node._x  # a hot binary node keeps its parents in _x and _y (value.py)
        if x is None:
            stack.extend(node._parents)
        else:
            stack.append(x)
            stack.append(node._y)
    nodes.sort(key=_creation, reverse=True)


def _walk_scalar(order: list[Node], frees: bool) -> None:
    """`_walk_plain` for Values whose `.grad` slots gather this pass's gradients."""
    for node in order:
        g = node.grad
        if g is _REACHED:  # no gradient reached it
            node.grad = 0.0
            continue
        op = node._op
        if op is None:
            continue
        if node._args is PARENT_DATA:  # x op y, both needing a gradient
            x = node._x
            y = node._y
            gx, gy = op.vjp(g, node._data, x._data, y._data)
            was = x.grad
            x.grad = gx if was is _REACHED else was + gx
            was = y.grad  # read after x's: x and y may be one node (x * x)
            y.grad = gy if was is _REACHED else was + gy
        else:
            for p, gp in zip(node._parents, apply_rule(node, g)):
                if p is not None and gp is not None:
                    was = p.grad
                    p.grad = gp if was is _REACHED else was + gp
        if frees:
            node._args = None


# ---- applying a rule ----------------------------------------------------------------------

def apply_rule(node: Node, g: Any, args: Any = None, out: Any = None,
               needs: tuple[bool, ...] | None = None) -> Any:
    """`node`'s rule at g: `vjp(g, out, *args)`, one gradient per argument of its op (a rule may
    stop early or give None for arguments that take none). By default `args` and `out` are
    what the forward pass saw, and the gradients needed are the parents'; the culprit finder,
    create_graph and a compiled capture pass others."""
    op = node._op
    if args is None:
        args = node._args
        if args is None:
            _freed(node)
        if args is PARENT_DATA:
            args = saved_args(node)
    if out is None:
        out = node._data
    if op.wants_needs:
        return op.vjp(g, out, *args, needs=_needs(node._parents) if needs is None else needs)
    return op.vjp(g, out, *args)


def _needs(parents: tuple[Node | None, ...]) -> tuple[bool, ...]:
    """Which arguments want a gradient: those recorded with a parent node."""
    if len(parents) == 2:  # most ops; spelled out, this is a quarter of the list's cost
        return parents[0] is not None, parents[1] is not None
    if len(parents) == 3:
        return parents[0] is not None, parents[1] is not None, parents[2] is not None
    return tuple([p is not None for p in parents])


class _Run:
    """One backward pass's settings and the rare cases, so the loop in `_walk` stays short."""

    __slots__ = ("wrt", "found", "seen", "rule", "frees", "anomaly", "names_rules")

    def __init__(self, wrt: tuple[Node, ...] | None, create_graph: bool, keep: bool) -> None:
        self.wrt = None if wrt is None else frozenset(wrt)
        self.found: dict[Node, Any] = {}  # the gradients asked for by `wrt`
        self.seen: set[int] = set()  # gradient buffers already handed to a leaf
        self.anomaly = bool(_open.blocks) and _local.anomaly
        # Rules named in NaN reports: only the outermost anomaly pass that runs rules on nodes.
        self.names_rules = self.anomaly and create_graph and not mode.backward
        self.rule = self._rule_on_nodes if create_graph else apply_rule
        self.frees = not keep

    def arrive(self, node: Node, g: Any) -> bool:
        """Hand g to whoever keeps it at `node`; True where the walk stops (leaves, wrt)."""
        if self.wrt is not None:
            if node in self.wrt:
                self.found[node] = g
                return True
        elif node._op is None or node._retains_grads or node._retain:
            node._deposit(g, self.seen)
        return node._op is None

    def _rule_on_nodes(self, node: Node, g: Any) -> Any:
        """create_graph: the rule run on the parent nodes, so its ops are recorded too."""
        args = tuple([a if p is None else p for a, p in zip(saved_args(node) or (),
                                                            node._parents)])
        try:
            return apply_rule(node, g, args if node._args is not None else None, node)
        except FloatingPointError as e:
            if not self.names_rules or str(e).startswith("the gradient"):
                raise
            raise FloatingPointError(f"the rule of {node.op!r}{where_text(node)} made a non-"
                                     f"finite value while computing its gradient: {e}") from None


def _freed(node: Node) -> None:
    raise RuntimeError(
        f"backward through the graph a second time: the {node.op!r} node's saved inputs "
        "were freed by the first backward; pass retain_graph=True to the first one")


class _Backward:
    """The modes a backward pass that records runs in, restored after it: recording only under
    create_graph, whose ops then count as backward ops for anomaly mode. A plain pass leaves the
    modes alone: its rules run on raw data, so there is nothing to record."""

    __slots__ = ("enabled", "backward")

    def __init__(self, create_graph: bool) -> None:
        self.enabled = create_graph
        self.backward = create_graph and mode.anomaly

    def __enter__(self) -> None:
        with _open_lock:
            _open.blocks += 1
        local = _local
        self.enabled, local.enabled = local.enabled, self.enabled
        self.backward, local.backward = local.backward, self.backward

    def __exit__(self, *exc: Any) -> None:
        local = _local
        local.enabled, local.backward = self.enabled, self.backward
        with _open_lock:
            _open.blocks -= 1


class _CollectorPaused:
    """The cycle collector off while any backward pass runs, in any thread: the pass makes no
    reference cycles, and the collector would rescan a graph of a million nodes over and over
    (seconds). Classes, not @contextmanager, here: 1 µs less per backward, about 1% of a
    mini-batch step of bench_mnist_epoch."""

    __slots__ = ("passes", "collecting")

    def __init__(self) -> None:
        self.passes = 0
        self.collecting = False

    def __enter__(self) -> None:
        with _open_lock:
            if self.passes == 0:
                self.collecting = gc.isenabled()
                gc.disable()
            self.passes += 1

    def __exit__(self, *exc: Any) -> None:
        with _open_lock:
            self.passes -= 1
            if self.passes == 0 and self.collecting:
                gc.enable()


_collector_paused = _CollectorPaused()
# Below this many nodes a plain backward pass leaves the collector on: the pass allocates too
# few objects to set off more than one young-generation collection, which scans only them,
# and pausing and resuming (two locks and two gc calls) cost 2-4% of a mini-batch step of the
# document's network (9 nodes).
_FEW = 100


def _quietly_walk(order: list[Node], walk: Callable[..., None], *args: Any) -> None:
    """walk(*args) with numpy's warnings off, and the collector paused for a large graph."""
    if len(order) < _FEW:
        silently(walk, *args)
        return
    with _collector_paused:
        silently(walk, *args)


def _shape_like(gp: Any, p: Node, node: Node) -> Any:
    """A Tensor input's gradient as an array (or Tensor) of the input's shape."""
    if type(gp) is not np.ndarray and not isinstance(gp, Node):
        gp = np.asarray(gp)
    if gp.shape != p._data.shape:
        gp = _fit(gp, p, node)
    return gp


def _position(parents: tuple[Node | None, ...], p: Node) -> int:
    """Where p is among parents, by identity (tuple.index would call a Tensor's elementwise ==)."""
    return next(i for i, q in enumerate(parents) if q is p)


def _fit(gp: Any, p: Node, node: Node) -> Any:
    """Undo broadcasting of input p's gradient, or say which rule returned a misshapen one (p's
    position is looked up only then: it costs more than the sum of a bias's gradient)."""
    shape = p._data.shape
    try:
        return unbroadcast(gp, shape)
    except ValueError:
        raise ValueError(f"the rule of {node.op!r} returned a gradient of shape {gp.shape} for "
                         f"its input {_position(node._parents, p)} of shape {shape}; a rule "
                         "returns one gradient per input, shaped like that input") from None


def _check_gradient(node: Node, p: Node, gp: Any) -> None:
    """Anomaly mode: a rule that produced NaN or inf is named, with where its node was made."""
    data = gp._data if isinstance(gp, Node) else gp
    if not np.all(np.isfinite(data)):
        raise FloatingPointError(f"the gradient that {node._op.name!r} passed to its input "
                                 f"{_position(node._parents, p)} is not finite in the backward "
                                 f"pass{where_text(node)}")


def where_text(node: Node) -> str:
    """' (node made at file:line)' for a node recorded in anomaly mode; else why it is unknown."""
    where = node._where
    if where is None:
        return " (node made outside detect_anomaly(), so its line is unknown)"
    return f" (node made at {where.filename}:{where.lineno})"
