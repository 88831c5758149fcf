"""Capturing one eager call of a function as a tape: the primitive calls, the backward passes
and the gradient resets it made, in order, with every argument traced to where it came from.

While a capture runs, a few attributes of `Tensor` and `Value` are wrapped (for the capturing
thread only; other threads pass straight through): node creation (`_from_data`), `backward`,
and the `.data` and `.grad` slots, so that reading a tensor's numbers into Python or numpy
(`.item()`, `.data` arithmetic, comparisons, `np.asarray(t)`) is seen and refused. The
wrapping is undone when the call ends. Everything this module knows about the graph's own
attributes sits in `_node_parts` and `_order`, the adapter to the backward driver.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd import graph
from autograd.tensor import _NO_GRAD_ROOT, Tensor
from autograd.value import Value

# Code in these folders reads .data to compute; anywhere else it is an escape into Python.
_ENGINE = os.path.dirname(os.path.abspath(__file__)) + os.sep
# Methods of the engine that hand a tensor's numbers to the caller (they read the public
# `.data`, not the `_data` slot, so that the watch on `.data` sees them).
_ESCAPES = frozenset({"item", "numpy", "tolist", "__array__", "__float__", "__int__",
                      "__bool__", "__index__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__",
                      "__ge__", "argmax", "argmin", "__iter__", "__format__"})


class Uncapturable(Exception):
    """fn did something a replay could not repeat; the message says what."""


# ---- the adapter: the one place that knows the driver's node attributes --------------------

def _node_parts(node: Any) -> tuple[Any, tuple[Any, ...] | None, tuple[Any, ...]]:
    """(op, raw args, parents) of a node, as the backward driver reads them."""
    return node._op, node._args, node._parents


def _order(root: Any) -> list[Any]:
    """The nodes backward visits from root, in the driver's order."""
    return graph.toposort(root)


def _anomaly_on() -> bool:
    """True when anomaly mode is on (read where the driver keeps it)."""
    probe = getattr(graph, "is_anomaly_enabled", None)
    return bool(probe()) if probe is not None else bool(graph.mode.anomaly)


# ---- what a tape holds ---------------------------------------------------------------------

@dataclass
class Op:
    """One primitive call: out = op.fun(*args); args are ("v", slot) or ("c", constant)."""

    op: Any
    args: tuple[tuple[str, Any], ...]
    out: int


@dataclass
class Backward:
    """One backward pass from `root`: `steps` in the driver's order, then the deposits."""

    root: int
    seed: np.ndarray
    # (slot of a node, its op's index in the tape, needs per argument, [(arg i, parent slot,
    # None, or the reduction that undoes broadcasting: (as array, leading axes, ones axes))],
    # the dtype of the gradient the rule receives (None if it is not a numpy value))
    steps: list[tuple[int, int, tuple[bool, ...], list[tuple[int, int, Any]], Any]]
    # (parameter slot, copy before handing out, cast to the parameter's dtype first)
    deposits: list[tuple[int, bool, bool]]


@dataclass
class Reset:
    """`p.grad = None` on a parameter."""

    param: int


@dataclass
class Tape:
    """Slots 0..n_inputs-1 are the inputs, then the parameters (leaves read by reference),
    then op outputs. `events` is the call in order; `outputs` the structure of fn's result."""

    n_inputs: int
    params: list[Tensor] = field(default_factory=list)
    kinds: list[tuple[str, int]] = field(default_factory=list)  # ("in"|"p"|"op", index)
    events: list[Any] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    meta: list[tuple[tuple[int, ...], Any]] = field(default_factory=list)
    outputs: Any = None
    # leaf tensors fn computed with that required no grad: constants while they require none
    frozen: list[Tensor] = field(default_factory=list)

    def param_signature(self) -> tuple[Any, ...]:
        """What the tape assumes of its parameters: shape, dtype, still requiring grad."""
        return tuple((p.data.shape, p.data.dtype, p.requires_grad) for p in self.params)


# ---- the capture ---------------------------------------------------------------------------

class Capture:
    """Run fn once eagerly on `inputs` (Tensors) and build its Tape."""

    def __init__(self, inputs: list[Tensor]) -> None:
        self.inputs = inputs
        self.tape = Tape(n_inputs=len(inputs))
        self.slot: dict[int, int] = {}
        self.live: list[bool] = []
        self.keep: list[Any] = []  # holds every object whose id is a key, so ids stay unique
        self.values: list[Any] = []  # each slot's array in this call
        self.untracked: set[int] = set()
        self.problem: str | None = None
        self.thread = threading.get_ident()
        for i, t in enumerate(inputs):
            if t.requires_grad and t._op is not None:
                self.flag(f"argument {i} was computed with a graph of its own; pass a leaf "
                          "(detach() it, or make it a parameter)")
            self._new_slot(t, t.requires_grad, ("in", i))

    # -- slots --

    def _new_slot(self, node: Any, live: bool, kind: tuple[str, int]) -> int:
        k = len(self.live)
        data = node.data
        self.slot[id(node)] = k
        self.slot.setdefault(id(data), k)
        self.keep += [node, data]
        self.values.append(data)
        self.live.append(live)
        self.tape.kinds.append(kind)
        self.tape.meta.append((data.shape, data.dtype))
        return k

    def _param(self, node: Any) -> int:
        """The slot of a leaf: an input, a known parameter, or a new parameter."""
        k = self.slot.get(id(node))
        if k is not None:
            return k
        if node._op is not None:
            self.flag("fn uses a tensor computed outside it, with a graph of its own; pass it "
                      "in as an argument or detach() it")
        self.tape.params.append(node)
        return self._new_slot(node, True, ("p", len(self.tape.params) - 1))

    def flag(self, why: str) -> None:
        """Remember the first reason the call cannot be replayed; the run goes on eagerly."""
        if self.problem is None:
            self.problem = why

    # -- events --

    def on_op(self, op: Any, raw: tuple[Any, ...], parents: tuple[Any, ...], out: Any) -> None:
        self._unchecked()
        args = []
        live = False
        for a, p in zip(raw, parents):
            if p is not None:
                k = self._param(p) if p._op is None else self.slot.get(id(p))
                if k is None:
                    self.flag(f"{op.name} uses a tensor computed outside fn")
                    return
                args.append(("v", k))
                live = live or self.live[k]
            else:
                args.append(self._constant(a, op))
        self.tape.ops.append(Op(op, tuple(args), len(self.live)))
        self.tape.events.append(len(self.tape.ops) - 1)
        self._new_slot(out, live, ("op", len(self.tape.ops) - 1))

    def _constant(self, a: Any, op: Any) -> tuple[str, Any]:
        """An argument that is not a tracked node: a known array's slot, or a true constant."""
        if isinstance(a, np.ndarray):
            if id(a) in self.slot:
                return ("v", self.slot[id(a)])
            if id(a) in self.untracked:
                self.flag(f"{op.name} uses the result of an untracked op inside fn (under "
                          "no_grad, on tensors that need no grad, or detach()); its value "
                          "would be frozen")
        elif isinstance(a, (Tensor, Value)):
            self.flag(f"{op.name} got a node as a raw argument")
        return ("c", a)

    def on_untracked(self, node: Any) -> None:
        self.untracked.add(id(node.data))
        self.keep += [node, node.data]

    def on_reset(self, node: Any) -> None:
        if node._op is None and node.requires_grad:
            self.tape.events.append(Reset(self._param(node)))

    def _unchecked(self) -> None:
        if _anomaly_on():
            self.flag("fn turns on detect_anomaly(): a replay checks no op for nan or inf")

    def on_backward(self, root: Any, grad: Any, create_graph: bool) -> None:
        self._unchecked()
        k = self.slot.get(id(root))
        if k is not None and not self.live[k]:
            # requires_grad only because the inputs are marked while capturing: eager refuses
            raise RuntimeError(_NO_GRAD_ROOT)
        if create_graph:
            self.flag("backward(create_graph=True) inside fn: the gradient's own graph "
                      "cannot be replayed")
        elif grad is not None:
            self.flag("backward(grad=...) inside fn: only a one-entry output seeded with 1 "
                      "is captured")
        elif id(root) not in self.slot:
            self.flag("backward from a tensor fn did not compute")
        if self.problem is None:
            # the rules run on the real numbers, as silently as the driver runs them
            self.tape.events.append(graph.silently(self._plan, root))

    def _plan(self, root: Any) -> Backward:
        """Walk the graph in the driver's order once, on the real numbers, to learn each
        gradient's shape and which gradients handed to parameters are shared or views."""
        seed = np.ones(root.data.shape, dtype=root.data.dtype)
        pending: dict[int, Any] = {self.slot[id(root)]: seed}
        steps, deposits, handed = [], [], []
        for node in _order(root):
            k = self.slot.get(id(node))
            if k is None:
                self.flag("backward reaches a tensor computed outside fn")
                break
            g = pending.pop(k, None)
            if g is None or not self.live[k]:
                continue
            if node._op is None:
                deposits.append(k)
                handed.append(g)
                continue
            if node._retain:
                self.flag("retain_grad() on a tensor inside fn: replay keeps no nodes")
            steps.append(self._step(node, k, g, pending))
        copies = self._shared(handed, seed)
        casts = [np.asarray(g).dtype != self.tape.meta[k][1] for k, g in zip(deposits, handed)]
        return Backward(self.slot[id(root)], seed, steps, list(zip(deposits, copies, casts)))

    def _shared(self, handed: list[Any], seed: np.ndarray) -> list[bool]:
        """Which gradients must be copied before a parameter keeps them: those sharing memory
        with another one handed out, with the seed or with a forward value, as the driver's
        `settled` decides it."""
        count: dict[int, int] = {}
        for a in [seed, *self.values, *handed]:
            if isinstance(a, np.ndarray):
                key = id(_base(a))
                count[key] = count.get(key, 0) + 1
        return [not g.flags.writeable or count[id(_base(g))] > 1 for g in handed]

    def _step(self, node: Any, k: int, g: Any, pending: dict[int, Any]) -> Any:
        """One node's rule, run for real; records where each gradient goes and its shape."""
        _, _, parents = _node_parts(node)
        index = self.tape.kinds[k][1]
        vals = [a if kind == "c" else self.values[a] for kind, a in self.tape.ops[index].args]
        needs = tuple(p is not None and self.live[self.slot[id(p)]] for p in parents)
        grads = graph.apply_rule(node, g, vals, node.data, needs)
        routes = []
        for i, (p, gp) in enumerate(zip(parents, grads)):
            if p is None or gp is None or not needs[i]:
                continue
            pk = self.slot[id(p)]
            fit = None
            if type(gp) is not np.ndarray or gp.shape != p.data.shape:
                fit = _reduction(np.shape(gp), p.data.shape, type(gp) is not np.ndarray)
                gp = graph.unbroadcast(np.asarray(gp), p.data.shape)
            pending[pk] = gp if pk not in pending else pending[pk] + gp
            routes.append((i, pk, fit))
        return (k, index, needs, routes, getattr(g, "dtype", None))

    def on_result(self, result: Any) -> None:
        self.tape.outputs = self._structure(result)
        self.tape.frozen = self._frozen()

    def _frozen(self) -> list[Tensor]:
        """The leaf tensors requiring no grad that recorded ops took as constants (apply keeps
        them in `_consts` for the version check), each once; inputs are not among them."""
        found: dict[int, Tensor] = {}
        for node in self.keep:
            for c in getattr(node, "_consts", None) or ():
                if isinstance(c, Tensor) and c._op is None and id(c) not in self.slot:
                    found[id(c)] = c
        return list(found.values())

    def _structure(self, r: Any) -> Any:
        if r is None:
            return None
        if isinstance(r, Tensor):
            k = self.slot.get(id(r))
            if k is None:
                self.flag("fn returns a tensor it did not compute from its arguments")
            return ("v", k)
        if isinstance(r, (tuple, list)):
            return (type(r), tuple(self._structure(x) for x in r))
        self.flag(f"fn returns a {type(r).__name__}; a compiled fn returns None, a Tensor, "
                  "or a tuple or list of Tensors")
        return None


def _reduction(have: tuple[int, ...], want: tuple[int, ...],
               wrap: bool) -> tuple[bool, tuple[int, ...], tuple[int, ...]]:
    """The sums that take a gradient of shape `have` to `want`, as graph.unbroadcast does
    them, worked out once: (wrap in an array first, leading axes, axes kept at length 1)."""
    lead = len(have) - len(want)
    if lead < 0:
        raise Uncapturable(f"a gradient of shape {have} cannot reduce to shape {want}")
    rest = have[lead:]
    ones = tuple(i for i, n in enumerate(want) if n == 1 and rest[i] != 1)
    return wrap, tuple(range(lead)), ones


def _base(a: np.ndarray) -> Any:
    """The object that owns a's memory: an ndarray, or the buffer under it (an array over a
    memory map ends in the mmap object, which has no `base` of its own)."""
    while a is not None:
        a, owner = getattr(a, "base", None), a
    return owner


# ---- the wrapping: on for one call, in one thread -------------------------------------------

_LOCK = threading.Lock()
_active: Capture | None = None


def _slot_descriptor(cls: type, name: str) -> Any:
    for c in cls.__mro__:
        if name in c.__dict__:
            return c.__dict__[name]
    raise AttributeError(name)


def _here() -> Capture | None:
    """The capture under way in this thread, if any."""
    cap = _active
    return cap if cap is not None and cap.thread == threading.get_ident() else None


def _outside_engine() -> bool:
    """True when the caller of the slot's getter or setter is user code or an escape method."""
    code = sys._getframe(2).f_code
    return not code.co_filename.startswith(_ENGINE) or code.co_name in _ESCAPES


# Where nodes are made: their slots set for the first time.
_MAKERS = ("_fill", "_from_data")
# The backward driver gathers each pass's gradients in the `.grad` slots and sets them back
# after: bookkeeping, not a reset by fn.
_DRIVER = graph.backward_pass.__code__.co_filename


def _watched(name: str, base: Any) -> property:
    """The `.data` or `.grad` slot, watched: reads and writes from outside the engine."""

    def get(self: Any) -> Any:
        cap = _here()
        if cap is not None and _outside_engine():
            cap.flag(f"fn reads .{name} of a tensor (.item(), .data or .grad arithmetic, "
                     "a comparison, np.asarray(t)): data-dependent Python cannot be replayed")
        return base.__get__(self, type(self))

    def put(self: Any, value: Any) -> None:
        cap = _here()
        caller = sys._getframe(1).f_code
        if cap is not None and caller.co_name not in _MAKERS and caller.co_filename != _DRIVER:
            if name == "grad" and value is None:
                cap.on_reset(self)
            elif _outside_engine():
                cap.flag(f"fn assigns .{name} of a tensor (an optimizer step or a manual "
                         "update inside fn): in-place changes are not captured")
        base.__set__(self, value)

    return property(get, put)


def _wrapped_from_data(original: Any) -> classmethod:
    def make(cls: type, data: Any, op: Any = None, args: tuple = (), parents: tuple = ()) -> Any:
        out = original.__func__(cls, data, op, args, parents)
        cap = _here()
        if cap is not None:
            if cls is not Tensor:
                cap.flag("fn computes on Values: only Tensor code is compiled")
            elif op is None:
                cap.on_untracked(out)
            else:
                cap.on_op(op, args, parents, out)
        return out

    return classmethod(make)


def _wrapped_backward(original: Any) -> Any:
    def backward(self: Any, *args: Any, **kwargs: Any) -> None:
        cap = _here()
        if cap is not None:
            if isinstance(self, Tensor):
                grad = args[0] if args else kwargs.get("grad")
                cap.on_backward(self, grad, bool(kwargs.get("create_graph", False)))
            else:
                cap.flag("fn runs backward on a Value: only Tensor code is compiled")
        return original(self, *args, **kwargs)

    return backward


class capturing:
    """Context manager: wrap the classes for `cap`'s thread, and unwrap on the way out."""

    def __init__(self, cap: Capture) -> None:
        self.cap = cap
        self.saved: list[tuple[type, str, Any]] = []

    def __enter__(self) -> Capture:
        global _active
        if not _LOCK.acquire(blocking=False):
            raise Uncapturable("another thread is capturing")
        _active = self.cap
        with graph._open_lock:  # as a mode block does: Value's hot path off, so that every
            graph._open.blocks += 1  # Value op reaches Value._from_data, where it is flagged
        for cls in (Tensor, Value):
            self._swap(cls, "_from_data", _wrapped_from_data(cls.__dict__["_from_data"]))
            self._swap(cls, "backward", _wrapped_backward(cls.__dict__["backward"]))
        for name in ("data", "grad"):
            self._swap(Tensor, name, _watched(name, _slot_descriptor(Tensor, name)))
        return self.cap

    def _swap(self, cls: type, name: str, new: Any) -> None:
        self.saved.append((cls, name, cls.__dict__.get(name)))
        setattr(cls, name, new)

    def __exit__(self, *exc: Any) -> None:
        global _active
        for cls, name, old in reversed(self.saved):
            if old is None:
                delattr(cls, name)
            else:
                setattr(cls, name, old)
        _active = None
        with graph._open_lock:
            graph._open.blocks -= 1
        _LOCK.release()
