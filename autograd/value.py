"""Value: a scalar node holding a Python float, micrograd's engine made fast and deep-safe."""

from __future__ import annotations

from numbers import Real
from operator import attrgetter
from typing import Any

import numpy as np

from autograd import rules
from autograd.graph import (
    PARENT_DATA,
    Node,
    _bump,
    _counter,
    _open,
    backward_pass,
)
from autograd.methods import ElementwiseMethods
from autograd.primitive import Primitive, apply2

_new = object.__new__
# Node's own `_parents` slot, which Value shadows with a property (see Value._parents_of).
_parents_slot = Node._parents.__get__
_set_parents = Node._parents.__set__


def _lift(x: Any, op: str) -> Value:
    """A constant Value for a plain number; anything else is refused by name."""
    if isinstance(x, Value):
        return x
    if type(x) is float or type(x) is int or _real(x):
        try:
            return Value._from_data(float(x))
        except OverflowError:
            raise ValueError(_past_range(x, f"Value {op}")) from None
    raise TypeError(f"unsupported operand for Value {op}: {type(x).__name__} ({x!r:.40}); "
                    "expected a Value or a real number")


def _real(x: Any) -> bool:
    """A real number: a Python one, or a numpy scalar of kind bool, int or float (np.bool_ is
    not registered as a Real, and a 0-d array is data for a Tensor, not a Value)."""
    if isinstance(x, np.generic):
        return x.dtype.kind in "biuf"
    return isinstance(x, Real)


def _past_range(x: int, who: str) -> str:
    """The message for an int too large for a float (float() says only OverflowError)."""
    return f"{who}: the int {str(x)[:12]}… ({len(str(abs(x)))} digits) is past the float range"


class Value(ElementwiseMethods, Node):
    """A scalar in the computation graph: `.data` is a float, `.grad` is dL/d(this) after
    `backward()`.

    >>> a = Value(2.0, label="a"); b = a * a + a
    >>> b.backward(); a.grad
    5.0
    """

    # A hot binary node's parents (see _made); None in _x for every other node, whose parents
    # are the tuple in Node's `_parents` slot.
    __slots__ = ("_x", "_y")
    _retains_grads = True
    _empty_grad = 0.0

    def __init__(self, data: float, label: str = "") -> None:
        if isinstance(data, Value):
            data = data._data
        if not _real(data):
            raise TypeError(f"Value needs a real number, got {type(data).__name__} "
                            f"({data!r:.40})")
        try:
            self._fill(float(data), True, label)
            self._x = None
        except OverflowError:
            raise ValueError(_past_range(data, "Value")) from None

    @classmethod
    def _from_data(cls, data: float, op: Any = None, args: tuple = (),
                   parents: tuple = ()) -> Value:
        """A node around an op's result: tracked when `op` is given, else a constant."""
        v = _new(cls)
        v._fill(data, op is not None, "", op, args, parents)
        v._x = None
        return v

    def _parents_of(self) -> tuple[Value | None, ...]:
        """`_parents` as every reader expects it: a hot binary node keeps its two parents in
        slots, one tracked tuple less for the cycle collector (see _made)."""
        x = self._x
        return _parents_slot(self) if x is None else (x, self._y)

    _parents = property(_parents_of, _set_parents)

    def retain_grad(self) -> None:
        """Nothing to do: a Value keeps every node's gradient (as micrograd does)."""

    def _set_data(self, x: Any) -> None:
        if type(x) is not float:
            if isinstance(x, Value) or not isinstance(x, Real):
                raise TypeError(f"Value.data must be a real number, got {type(x).__name__} "
                                f"({x!r:.40})")
            x = float(x)
        self._data = x
        _bump(self)

    data = property(attrgetter("_data"), _set_data, doc="""The float this node holds.

    Assigning it (`v.data -= lr * v.grad`) counts as an in-place change: the version goes up,
    and backward through a node recorded before the change raises RuntimeError.""")

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        g = self.grad  # a Value under create_graph, or whatever the user set
        grad = f"{g:.6g}" if _real(g) else repr(g)
        return f"Value(data={self._data:.6g}, grad={grad}{label})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter's rich display: the graph as SVG beside the repr (autograd.draw.render)."""
        # Loaded on first display: the engine needs no drawing code to run.
        from autograd.draw.render import mimebundle
        return mimebundle(self)

    # ---- arithmetic: every op goes through the shared rule table ----

    def __add__(self, other: Any) -> Value:
        if (type(other) is Value is type(self) and self.requires_grad and other.requires_grad
                and not _open.blocks):
            # rules.add's forward, written out
            return _made(self._data + other._data, rules.add, self, other)
        return apply2(rules.add, self, other if type(other) is Value else _lift(other, "+"))

    def __radd__(self, other: Any) -> Value:
        return apply2(rules.add, _lift(other, "+"), self)

    def __sub__(self, other: Any) -> Value:
        if (type(other) is Value is type(self) and self.requires_grad and other.requires_grad
                and not _open.blocks):
            # rules.sub's forward, written out
            return _made(self._data - other._data, rules.sub, self, other)
        return apply2(rules.sub, self, other if type(other) is Value else _lift(other, "-"))

    def __rsub__(self, other: Any) -> Value:
        return apply2(rules.sub, _lift(other, "-"), self)

    def __mul__(self, other: Any) -> Value:
        if (type(other) is Value is type(self) and self.requires_grad and other.requires_grad
                and not _open.blocks):
            # rules.mul's forward, written out
            return _made(self._data * other._data, rules.mul, self, other)
        return apply2(rules.mul, self, other if type(other) is Value else _lift(other, "*"))

    def __rmul__(self, other: Any) -> Value:
        return apply2(rules.mul, _lift(other, "*"), self)

    def __truediv__(self, other: Any) -> Value:
        return apply2(rules.div, self, other if type(other) is Value else _lift(other, "/"))

    def __rtruediv__(self, other: Any) -> Value:
        return apply2(rules.div, _lift(other, "/"), self)

    def __pow__(self, other: Any) -> Value:
        return apply2(rules.power, self, other if type(other) is Value else _lift(other, "**"))

    def __rpow__(self, other: Any) -> Value:
        return apply2(rules.power, _lift(other, "**"), self)

    def __neg__(self) -> Value:
        if type(self) is Value and self.requires_grad and not _open.blocks:
            x = self._data
            # rules.neg's forward, written out
            return Value._from_data(-x, rules.neg, (x,), (self,))
        return rules.neg(self)

    def __pos__(self) -> Value:
        return self

    # ---- comparisons compare data (for masks in rules and for sorting); no gradient ----

    def __lt__(self, other: Any) -> bool:
        return self._data < _lift(other, "<")._data

    def __le__(self, other: Any) -> bool:
        return self._data <= _lift(other, "<=")._data

    def __gt__(self, other: Any) -> bool:
        return self._data > _lift(other, ">")._data

    def __ge__(self, other: Any) -> bool:
        return self._data >= _lift(other, ">=")._data

    def __float__(self) -> float:
        return self._data

    def item(self) -> float:
        """The value as a float (as Tensor.item)."""
        return self.data

    def __round__(self, ndigits: int | None = None) -> float | int:
        # A rounded value is a step function of the data: no gradient, a plain number.
        return round(self.data, ndigits)

    # ---- functions ----

    def exp(self) -> Value:
        """e ** self"""
        return rules.exp(self)

    def log(self) -> Value:
        """Natural log; a non-positive value raises ValueError."""
        return rules.log(self)

    def tanh(self) -> Value:
        """Hyperbolic tangent."""
        return rules.tanh(self)

    def sigmoid(self) -> Value:
        """Logistic sigmoid 1 / (1 + e**-self), finite and silent at any magnitude."""
        return rules.sigmoid(self)

    def relu(self) -> Value:
        """max(self, 0)."""
        if type(self) is Value and self.requires_grad and not _open.blocks:
            x = self._data
            # rules.relu's forward, written out
            return Value._from_data(0.0 if x <= 0.0 else x, rules.relu, (x,), (self,))
        return rules.relu(self)

    def __abs__(self) -> Value:
        return rules.abs_(self)

    def sin(self) -> Value:
        """sin(self)."""
        return rules.sin(self)

    def cos(self) -> Value:
        """cos(self)."""
        return rules.cos(self)

    def backward(self, grad: float = 1.0, *, create_graph: bool = False) -> None:
        """Add d(self)/d(node) * grad into `.grad` of every node self depends on.

        Gradients accumulate across calls, as in micrograd and PyTorch: reset them with
        `v.grad = 0.0` (or `module.zero_grad()`). With create_graph=True the gradients are
        Values themselves, so they can be differentiated again.
        """
        if not isinstance(grad, (Real, Value)):
            raise TypeError(f"backward grad must be a number, got {type(grad).__name__}")
        seed = grad if create_graph and isinstance(grad, Value) else float(grad)
        if create_graph and not isinstance(seed, Value):
            seed = Value._from_data(seed)
        backward_pass(self, seed, create_graph=create_graph, retain_graph=True)


# ---- the hot path: + - * neg relu on Values that need gradients -----------------------------
# Written out in the methods above instead of going through apply2 and record (or apply for
# the unary ops) when no mode block is open in any thread (then recording is on and anomaly
# mode off everywhere): micrograd's demo forward takes 24 ms this way against 49 ms (CPU time,
# min of 9). A subclass of Value, a constant operand or an open mode block takes the general
# path. Each op still records its primitive from the rule table, so backward runs the one
# rule; tests/engine/test_value.py checks each against the general path.

def _made(data: float, op: Primitive, x: Value, y: Value) -> Value:
    """The tracked node `op` made from x and y (both needing a gradient): Node._fill written
    out, with the parents in two slots instead of a tuple and PARENT_DATA for their floats
    (see graph.py): the node is the one object the cycle collector tracks."""
    out = _new(Value)
    out._data = data
    out.grad = 0.0
    out.requires_grad = True
    out.label = ""
    out._op = op
    out._args = PARENT_DATA
    out._x = x
    out._y = y
    out._where = None
    out._seq = next(_counter)
    return out


def value_sum(values: Any, start: Any = 0.0) -> Value:
    """Σ values as ONE node with n parents (a fast path for micrograd's `sum(...)`)."""
    items = [_lift(v, "sum") for v in values]
    if isinstance(start, Value) or start != 0.0:
        items.append(_lift(start, "sum"))
    if not items:
        return Value._from_data(0.0)
    return rules.sum_n(*items)


def value_dot(ws: Any, xs: Any) -> Value:
    """Σ wᵢ·xᵢ as ONE node (a neuron's weighted input z without 2n intermediate nodes)."""
    ws = [_lift(w, "dot") for w in ws]
    xs = [_lift(x, "dot") for x in xs]
    if len(ws) != len(xs):
        raise ValueError(f"dot of sequences of different lengths: {len(ws)} and {len(xs)}")
    if not ws:
        return Value._from_data(0.0)  # as value_sum of nothing: dot_n of no numbers is int 0
    return rules.dot_n(*ws, *xs)
