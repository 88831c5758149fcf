"""Primitives: functions on raw data (floats, ndarrays) that know their vector-Jacobian product.

A primitive called on plain numbers or arrays just computes. Called with a `Value` or a
`Tensor` among its arguments, it computes on their data and records a node, so the backward
driver can later call its rule. Users make their own with the same two decorators the built-in
table uses::

    @primitive
    def cube(x):
        return x ** 3

    @cube.defvjp
    def cube_vjp(g, out, x):
        return (3 * x ** 2 * g,)
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from autograd.graph import _SILENT, Node, _local, _np_errors, _open, mode, silently, where_text

# Frames inside the engine are skipped: anomaly mode names the caller's line.
_ENGINE = os.path.dirname(os.path.abspath(__file__)) + os.sep

Rule = Callable[..., tuple[Any, ...]]


def _primitive_named(module: str, name: str) -> Primitive:
    """The primitive `name` of `module` (how a pickled primitive is found again)."""
    return getattr(importlib.import_module(module), name)


class Primitive:
    """A differentiable function: `fun` on raw data, `vjp` giving one gradient per argument.

    `vjp(g, out, *args)` receives the gradient of the loss with respect to the output, the
    output, and the arguments as the forward pass saw them; it returns a tuple with one entry
    per argument (None, or fewer entries, for arguments that are not differentiable such as an
    axis). A rule that also takes a keyword `needs` is told which arguments want a gradient,
    so it can skip costly ones (matmul does).
    """

    __slots__ = ("fun", "name", "vjp", "wants_needs", "quiet", "__wrapped__", "__dict__")

    def __init__(self, fun: Callable[..., Any], name: str | None = None) -> None:
        if not callable(fun):
            raise TypeError(f"primitive expects a function, got {type(fun).__name__}")
        self.fun = fun
        # sum_ and max_ avoid shadowing builtins in code; pictures and errors say sum and max.
        self.name = name or fun.__name__.rstrip("_")
        self.__doc__ = fun.__doc__
        self.__wrapped__ = fun
        self.vjp: Rule | None = None
        self.wants_needs = False
        # True when `fun` keeps numpy's floating-point warnings in by itself (sigmoid, which
        # tries a formula with overflow raising): calling it then sets no state of its own.
        self.quiet = False

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickled by reference, as functions are, where the primitive is its module's global
        of its function's name (a decorated function): pickling the function inside would
        find the Primitive under that name and refuse it."""
        module = getattr(self.fun, "__module__", None)
        name = getattr(self.fun, "__qualname__", None)
        if module and name and getattr(sys.modules.get(module), name, None) is self:
            return _primitive_named, (module, name)
        return super().__reduce_ex__(protocol)

    def defvjp(self, vjp: Rule) -> Rule:
        """Register the rule `vjp(g, out, *args) -> tuple`; usable as a decorator."""
        if not callable(vjp):
            raise TypeError(f"defvjp expects a function, got {type(vjp).__name__}")
        self.vjp = vjp
        self.wants_needs = "needs" in inspect.signature(vjp).parameters
        return vjp

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The function on the data of `args`: a node, recorded if grad is on, when any argument
        is a node; the plain result otherwise."""
        if kwargs:
            args = self._positional(args, kwargs)
        kind = None
        raw = []
        parents = []
        tracked = constants = False
        for a in args:
            if isinstance(a, Node):
                if kind is not type(a):
                    if kind is not None:
                        raise TypeError(f"{self.name}: cannot mix {kind.__name__} and "
                                        f"{type(a).__name__} in one operation")
                    kind = type(a)
                raw.append(a._data)
                if a.requires_grad:
                    parents.append(a)
                    tracked = True
                    continue
                constants = True
            else:
                raw.append(a)
            parents.append(None)
        if kind is None:  # no node among the arguments: a plain function call
            return self.fun(*args) if self.quiet else silently(self.fun, *args)
        # `silently` written out: one call less on every op
        if self.quiet or _np_errors.get() is _SILENT:
            data = self.fun(*raw)
        else:
            token = _np_errors.set(_SILENT)
            try:
                data = self.fun(*raw)
            finally:
                _np_errors.reset(token)
        if not tracked or (_open.blocks and not _local.enabled):
            return kind._from_data(data)
        # `record` written out, for the same reason
        if self.vjp is None:
            _no_rule(self)
        out = kind._from_data(data, self, tuple(raw), tuple(parents))
        if _open.blocks and _local.anomaly:
            _check_anomaly(self, out)
        if constants and kind._shaped:  # checked by backward too (a Value's float cannot change)
            out._consts = tuple([a if isinstance(a, Node) else None for a in args])
        return out

    def _positional(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """Keyword arguments moved into place, so rules always see positional ones."""
        bound = inspect.signature(self.fun).bind(*args, **kwargs)
        bound.apply_defaults()
        return bound.args

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def primitive(fun: Callable[..., Any], name: str | None = None) -> Primitive:
    """Make `fun` (written for floats and/or ndarrays) a primitive; give it a rule with defvjp."""
    return Primitive(fun, name)


def apply2(op: Primitive, x: Node, y: Node) -> Node:
    """A primitive call on two nodes of one kind: the hot path of scalar arithmetic, kept lean.

    A constant operand here is a Value (a float, which cannot change under the saved
    argument), so unlike `Primitive.__call__` it is not kept for the version check.
    """
    xd = x._data
    yd = y._data
    data = op.fun(xd, yd)
    if (x.requires_grad or y.requires_grad) and (not _open.blocks or _local.enabled):
        return record(type(x), op, data, (xd, yd), (x if x.requires_grad else None,
                                                    y if y.requires_grad else None))
    return type(x)._from_data(data)


def record(kind: type[Node], op: Primitive, data: Any, raw: tuple[Any, ...],
           parents: tuple[Node | None, ...]) -> Node:
    """A tracked node of class `kind` made by `op` from the raw arguments `raw`."""
    if op.vjp is None:
        _no_rule(op)
    out = kind._from_data(data, op, raw, parents)
    if _open.blocks and _local.anomaly:
        _check_anomaly(op, out)
    return out


def _no_rule(op: Primitive) -> None:
    raise TypeError(f"primitive {op.name!r} has no rule: give it one with "
                    f"@{op.name}.defvjp before differentiating through it")


def _check_anomaly(op: Primitive, out: Node) -> None:
    """Anomaly mode: remember where the node was made; refuse a forward NaN or inf."""
    frames = [f for f in traceback.extract_stack() if not f.filename.startswith(_ENGINE)]
    out._where = frames[-1] if frames else None
    if not np.all(np.isfinite(out._data)):
        phase = "" if mode.backward else " in the forward pass"
        raise FloatingPointError(f"{op.name} produced a non-finite value{phase}"
                                 f"{where_text(out)}")
