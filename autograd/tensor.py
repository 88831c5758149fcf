"""Tensor: an ndarray node. Same rule table and backward driver as Value, with broadcasting."""

from __future__ import annotations

from numbers import Number
from operator import attrgetter
from typing import Any

import numpy as np

from autograd import ops, rules
from autograd.graph import Node, _bump, _counter, backward_pass, settled
from autograd.methods import ElementwiseMethods
from autograd.primitive import Primitive

_new = object.__new__
_FLOATS = (np.float64, np.float32)


def _read_only_one(dtype: Any) -> np.ndarray:
    one = np.ones((), dtype)
    one.flags.writeable = False
    return one


# The seed of a loss's backward, shared: a new 0-d array a step costs as much as a small ufunc.
# Read-only, so a rule that writes into its incoming gradient fails loudly, and a leaf handed
# the seed itself gets a copy (graph.settled).
_ONE = {np.dtype(t): _read_only_one(t) for t in _FLOATS}


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """A float ndarray from array_like input, or a TypeError/ValueError that says why not."""
    if isinstance(data, Node):
        if not isinstance(data, Tensor):
            raise TypeError(f"Tensor needs array data, got a {type(data).__name__}; "
                            "use Value for scalars in the scalar engine")
        data = data._data
    if dtype is not None:
        _float_dtype(dtype)
    try:
        arr = np.array(data, dtype=dtype)
    except ValueError as e:
        if dtype is not None:  # strings and the like fail the cast: say what they are
            _as_array(data)
        what = ("has rows of different lengths" if "inhomogeneous" in str(e)
                else f"cannot become an array ({e})")
        raise ValueError(f"Tensor needs rectangular numeric data; the {type(data).__name__} "
                         f"given {what}") from None
    except TypeError as e:
        raise TypeError(f"Tensor cannot hold {type(data).__name__}: {e}") from None
    if arr.dtype.type in _FLOATS:
        return arr
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind == "f":  # half and extended precision: float32 or float64 math
        return arr.astype(np.float32 if arr.dtype.itemsize < 4 else np.float64)
    raise TypeError(f"Tensor needs real numbers; got data of dtype {arr.dtype} "
                    f"(from {type(data).__name__})")


def _float_dtype(dtype: Any) -> None:
    """Refuse a dtype a Tensor cannot compute in: casting to it would truncate or fail."""
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        kind = ""
    if kind != "f":
        raise TypeError(f"Tensor dtype must be a float type (float64 or float32), got "
                        f"{dtype!r}")


_NO_GRAD_ROOT = ("backward on a tensor that does not require grad: no input of the computation "
                "had requires_grad=True (a compiled function's replay returns constant tensors: "
                "call backward() inside the compiled function)")


def _operand(x: Any, op: str) -> Any:
    """Another operand of an arithmetic op: a Tensor, or raw numeric data used as a constant."""
    kind = type(x)
    if kind is Tensor or kind is float or kind is int:
        return x
    if isinstance(x, (np.ndarray, np.generic)):  # numpy scalars too: np.bool_ is no Number
        if x.dtype.kind in "fbiu":
            return x
    elif isinstance(x, Number) and not isinstance(x, complex):
        return x
    elif isinstance(x, (list, tuple)):
        return _as_array(x)
    raise TypeError(f"unsupported operand for Tensor {op}: {type(x).__name__} "
                    f"({x!r:.40}); expected a Tensor, an ndarray or a real number")


def _binary(op: Primitive, x: Any, y: Any, sym: str) -> Tensor:
    """op(x, y) on two operands, one of them a Tensor; a shape clash names both shapes."""
    try:
        return op(x, y)
    except OverflowError:  # only a Python int can be too large for numpy
        raise ValueError(f"an int operand of {sym} is past the float range") from None
    except ValueError as e:
        if sym == "@" and (np.ndim(x) == 0 or np.ndim(y) == 0):
            raise ValueError(f"matmul needs operands with at least one axis, got shapes "
                             f"{_shape_of(x)} and {_shape_of(y)}") from None
        if "broadcast" not in str(e) and "mismatch" not in str(e):
            raise
        what = "are not aligned for matmul" if sym == "@" else "do not broadcast"
        raise ValueError(f"shapes {_shape_of(x)} and {_shape_of(y)} {what} "
                         f"(in {sym})") from None


def _shape_of(x: Any) -> tuple[int, ...]:
    return x.shape if isinstance(x, (Tensor, np.ndarray)) else ()


class Tensor(ElementwiseMethods, Node):
    """An n-dimensional array in the computation graph (float64 unless given float32).

    >>> w = Tensor([[1.0, 2.0]], requires_grad=True)
    >>> (w @ Tensor([3.0, 4.0])).sum().backward(); w.grad
    array([[3., 4.]])
    """

    # Whether backward keeps this non-leaf's gradient (retain_grad); the constant Tensors among
    # an op's inputs, aligned with its arguments (unset when there are none); the optimizer
    # that keeps state shaped like this tensor (unset if none).
    __slots__ = ("_retain", "_consts", "_held_by")
    _shaped = True
    # Above ndarray's, so numpy defers to the Tensor in mixed operations.
    __array_priority__ = 1000.0

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """numpy ufuncs (np.exp(t), ndarray + t) recorded through the rule table."""
        # Fast path: `ndarray @ t` and the like go straight to the reflected operator, as
        # quickly as before numpy dispatch (x @ W.T with x an array runs once per batch).
        if len(inputs) == 2 and inputs[1] is self and not kwargs and method == "__call__":
            reflected = _REFLECTED.get(ufunc)
            if reflected is not None and type(inputs[0]) is np.ndarray:
                return reflected(self, inputs[0])
        return _dispatch().array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """numpy functions (np.sum(t), np.dot(a, t)) recorded through the rule table."""
        return _dispatch().array_function(func, args, kwargs)

    def __init__(self, data: Any, requires_grad: bool = False, *, dtype: Any = None,
                 label: str = "") -> None:
        self._fill(_as_array(data, dtype), bool(requires_grad), label)
        self._retain = False

    @classmethod
    def _from_data(cls, data: Any, op: Any = None, args: tuple = (),
                   parents: tuple = ()) -> Tensor:
        """A node around an op's result: tracked when `op` is given, else a constant.

        Node._fill written out, as value.py's `_made` is: every op makes one of these, and
        the call saved is 4% of recording a sigmoid."""
        t = _new(cls)
        t._data = data if type(data) is np.ndarray else np.asarray(data)
        t.grad = None
        t.requires_grad = op is not None
        t.label = ""
        t._op = op
        t._args = args
        t._parents = parents
        t._where = None
        t._seq = next(_counter)
        t._retain = False
        return t

    # ---- the data, and changes to it ----

    def _set_data(self, value: Any) -> None:
        if value is not self._data:
            self._data = _replacement(self, value)
        _bump(self)

    data = property(attrgetter("_data"), _set_data, doc="""The ndarray itself (not a copy).

    Assigning it counts as an in-place change, and so does augmented assignment
    (`p.data -= lr * p.grad` calls the setter): the version goes up, and backward through a node
    recorded before the change raises RuntimeError. New data must be real numbers (taken as
    float64 or float32); a tensor computed by an op, held by an optimizer or holding a
    gradient keeps its shape and dtype. Writing into the array (`t.data[0] = 1`) is not seen.""")

    # ---- the array side ----

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The array's dtype (float64 or float32)."""
        return self._data.dtype

    @property
    def size(self) -> int:
        """The number of entries."""
        return self._data.size

    def __len__(self) -> int:
        return len(self._data)

    # The methods below hand the numbers to the caller: they read the public `.data`, which a
    # compiled capture watches, so data-dependent Python inside a compiled fn is seen.
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (the array itself, not a copy)."""
        return self.data

    def item(self) -> float:
        """The single entry of a one-element tensor, as a float."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one entry, this one has shape "
                             f"{self.shape}")
        return float(self.data.reshape(()))

    def detach(self) -> Tensor:
        """The same data as a constant: no graph, no gradient."""
        return Tensor._from_data(self._data)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Mark this leaf as a parameter (or not); returns self."""
        if self._op is not None:
            raise RuntimeError("requires_grad_ applies to leaf tensors; use detach() to cut "
                               "a computed tensor from its graph")
        self.requires_grad = bool(flag)
        return self

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", precision=4, threshold=20,
                               prefix="Tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        op = f", op={self._op.name}" if self._op is not None else ""
        return f"Tensor({body}{extra}{op})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter's rich display: the graph as SVG beside the repr (autograd.draw.render)."""
        # Loaded on first display: the engine needs no drawing code to run.
        from autograd.draw.render import mimebundle
        return mimebundle(self)

    # ---- arithmetic with broadcasting ----

    def __add__(self, other: Any) -> Tensor:
        if type(other) is not Tensor:
            other = _operand(other, "+")
        return _binary(rules.add, self, other, "+")

    def __radd__(self, other: Any) -> Tensor:
        return _binary(rules.add, _operand(other, "+"), self, "+")

    def __sub__(self, other: Any) -> Tensor:
        if type(other) is not Tensor:
            other = _operand(other, "-")
        return _binary(rules.sub, self, other, "-")

    def __rsub__(self, other: Any) -> Tensor:
        return _binary(rules.sub, _operand(other, "-"), self, "-")

    def __mul__(self, other: Any) -> Tensor:
        if type(other) is not Tensor:
            other = _operand(other, "*")
        return _binary(rules.mul, self, other, "*")

    def __rmul__(self, other: Any) -> Tensor:
        return _binary(rules.mul, _operand(other, "*"), self, "*")

    def __truediv__(self, other: Any) -> Tensor:
        if type(other) is not Tensor:
            other = _operand(other, "/")
        return _binary(rules.div, self, other, "/")

    def __rtruediv__(self, other: Any) -> Tensor:
        return _binary(rules.div, _operand(other, "/"), self, "/")

    def __pow__(self, other: Any) -> Tensor:
        if type(other) is not Tensor:
            other = _operand(other, "**")
        return _binary(rules.power, self, other, "**")

    def __rpow__(self, other: Any) -> Tensor:
        return _binary(rules.power, _operand(other, "**"), self, "**")

    def __matmul__(self, other: Any) -> Tensor:
        if type(other) is not Tensor:
            other = _operand(other, "@")
        return _binary(rules.matmul, self, other, "@")

    def __rmatmul__(self, other: Any) -> Tensor:
        return _binary(rules.matmul, _operand(other, "@"), self, "@")


    def __neg__(self) -> Tensor:
        return rules.neg(self)

    def __pos__(self) -> Tensor:
        return self

    # Comparisons give plain boolean arrays: masks carry no gradient. == and != compare
    # entries too, as in numpy and PyTorch; a node is still hashed by identity (the backward
    # driver keys dicts by nodes, and distinct live objects never share an identity hash).
    __hash__ = Node.__hash__

    def __eq__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self.data == _compared(other)

    def __ne__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self.data != _compared(other)

    def __lt__(self, other: Any) -> np.ndarray:
        return self.data < np.asarray(other)

    def __le__(self, other: Any) -> np.ndarray:
        return self.data <= np.asarray(other)

    def __gt__(self, other: Any) -> np.ndarray:
        return self.data > np.asarray(other)

    def __ge__(self, other: Any) -> np.ndarray:
        return self.data >= np.asarray(other)

    # ---- elementwise functions ----

    def exp(self) -> Tensor:
        """eˣ elementwise."""
        return rules.exp(self)

    def log(self) -> Tensor:
        """ln x elementwise (ValueError on negative entries, -inf at zero)."""
        return rules.log(self)

    def tanh(self) -> Tensor:
        """tanh elementwise."""
        return rules.tanh(self)

    def sigmoid(self) -> Tensor:
        """σ(x) = 1 / (1 + e⁻ˣ) elementwise, stable at any magnitude."""
        return rules.sigmoid(self)

    def relu(self) -> Tensor:
        """max(x, 0) elementwise."""
        return rules.relu(self)

    def softplus(self) -> Tensor:
        """ln(1 + eˣ) elementwise, finite and exact at any magnitude."""
        return rules.softplus(self)

    def abs(self) -> Tensor:
        """|x| elementwise (gradient 0 at 0)."""
        return rules.abs_(self)

    def __abs__(self) -> Tensor:
        return rules.abs_(self)

    def sin(self) -> Tensor:
        """sin elementwise."""
        return rules.sin(self)

    def cos(self) -> Tensor:
        """cos elementwise."""
        return rules.cos(self)

    # ---- reductions ----

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Σ over axis (all axes when None)."""
        return rules.sum_(self, _axis(axis, self.ndim), keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The average over axis (all axes when None)."""
        axis = _axis(axis, self.ndim)
        n = self.size if axis is None or not self.ndim else int(
            np.prod([self.shape[a] for a in axis]))
        if n == 0:
            raise ValueError(f"mean over no entries: the tensor has shape {self.shape}")
        return rules.sum_(self, axis, keepdims) / n

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The largest entry over axis; tied maxima share the gradient."""
        return rules.max_(self, _nonempty(self, axis, "max"), keepdims)

    def min(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The smallest entry over axis."""
        return -((-self).max(axis, keepdims))

    def logsumexp(self, axis: int | tuple[int, ...] | None = None,
                  keepdims: bool = False) -> Tensor:
        """log Σ eˣ over axis, without overflow."""
        return rules.logsumexp(self, _nonempty(self, axis, "logsumexp"), keepdims)

    def softmax(self, axis: int | tuple[int, ...] | None = -1) -> Tensor:
        """e^x / Σ e^x along axis; a tuple normalises over those axes together, None over all
        entries."""
        return rules.softmax(self, _nonempty(self, axis, "softmax"))

    def log_softmax(self, axis: int | tuple[int, ...] | None = -1) -> Tensor:
        """x − logsumexp(x) along axis (a tuple of axes, or None for all entries, as softmax)."""
        return rules.log_softmax(self, _nonempty(self, axis, "log_softmax"))

    # ---- shape ----

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        """The same entries in a new shape; one dimension may be -1."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            return rules.reshape(self, shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {self.shape} "
                             f"({self.size} entries) into {shape}") from None
        except TypeError:
            raise TypeError(f"reshape needs integer sizes, got {shape!r}") from None

    @property
    def T(self) -> Tensor:
        """The axes reversed (the matrix transpose for 2-D)."""
        return rules.transpose(self, None)

    def transpose(self, *axes: int) -> Tensor:
        """Axes permuted; with no arguments, reversed."""
        if (len(axes) == 1 and isinstance(axes[0], (tuple, list))) or axes == (None,):
            axes = tuple(axes[0] or ())
        n = self.ndim
        if axes and sorted(a % n if -n <= a < n else -1 for a in axes) != list(range(n)):
            raise ValueError(f"transpose axes {axes} are not a permutation of the "
                             f"{self.ndim} axes of a tensor of shape {self.shape}")
        return rules.transpose(self, tuple(a % self.ndim for a in axes) or None)

    def swapaxes(self, a: int, b: int) -> Tensor:
        """Axes a and b exchanged (on a 0-d tensor, axes 0 and -1 are the tensor itself)."""
        a, b = _axis(a, self.ndim), _axis(b, self.ndim)
        axes = list(range(self.ndim))
        if self.ndim:
            axes[a[0]], axes[b[0]] = axes[b[0]], axes[a[0]]
        return rules.transpose(self, tuple(axes))

    def __getitem__(self, index: Any) -> Tensor:
        index = _index(index)
        try:
            return rules.getitem(self, index)
        except IndexError as e:
            what = "out of range" if "out of bounds" in str(e) else "not an index"
            raise IndexError(f"index {index!r} is {what} for a tensor of shape "
                             f"{self.shape}: {e}") from None

    # ---- gradients ----

    def backward(self, grad: Any = None, *, create_graph: bool = False,
                 retain_graph: bool | None = None) -> None:
        """Add d(self)/d(leaf) · grad into `.grad` of every leaf that requires grad.

        `grad` defaults to 1 for a one-entry tensor; any other shape needs it given (the
        vector in the vector-Jacobian product). Gradients accumulate across calls until reset
        (`p.grad = None`). The first backward frees the graph's saved inputs; backward through
        the same graph again needs retain_graph=True on the first call, and then adds the
        gradients once more. With create_graph=True the gradients are Tensors with a graph of
        their own (for gradient penalties and Hessian-vector products).
        """
        if not self.requires_grad:
            raise RuntimeError(_NO_GRAD_ROOT)
        if grad is None and not create_graph and not self._data.ndim:  # a loss
            backward_pass(self, _ONE[self._data.dtype], retain_graph=bool(retain_graph))
            return
        seed = self._seed(grad)
        if create_graph:
            seed = seed if isinstance(seed, Tensor) else Tensor._from_data(seed.copy())
        elif isinstance(seed, Tensor):
            seed = seed._data
        keep = create_graph if retain_graph is None else retain_graph
        backward_pass(self, seed, create_graph=create_graph, retain_graph=keep)

    def _seed(self, grad: Any) -> Any:
        if grad is None:
            data = self._data
            if not data.ndim:
                return _ONE[data.dtype]
            if data.size != 1:
                raise RuntimeError(f"backward of a tensor of shape {self.shape} needs grad= "
                                   "of the same shape (only one-entry outputs default to 1)")
            return np.ones(data.shape, data.dtype)
        if isinstance(grad, Tensor):
            g = grad if grad.requires_grad else grad._data.copy()
        else:
            g = _as_array(grad, self.dtype)
        if g.shape != self.shape:
            raise ValueError(f"backward grad has shape {g.shape}, the tensor has shape "
                             f"{self.shape}")
        return g

    def _deposit(self, g: Any, seen: set[int]) -> None:
        prev = self.grad
        if isinstance(g, Node):  # create_graph: a gradient with a graph of its own
            self.grad = g if prev is None else prev + g
        else:
            self.grad = settled(self, g, prev, seen)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (`.grad = None`)."""
        self.grad = None

    # ---- the numpy op set as methods (autograd.ops); elementwise ones come from the mixin ----

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        """Σ(x − mean)² / (n − ddof) over axis."""
        return ops.var(self, axis, ddof, keepdims)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        """√var over axis."""
        return ops.std(self, axis, ddof, keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Π over axis (exact where entries are zero)."""
        return ops.prod(self, axis, keepdims)

    def cumsum(self, axis: Any = None) -> Tensor:
        """Running sums along axis (flattened when None)."""
        return ops.cumsum(self, axis)

    def flip(self, axis: Any = None) -> Tensor:
        """Reversed along axis (all axes when None)."""
        return ops.flip(self, axis)

    def squeeze(self, axis: Any = None) -> Tensor:
        """Length-1 axes removed."""
        return ops.squeeze(self, axis)

    def flatten(self) -> Tensor:
        """One axis, C order."""
        return ops.flatten(self)

    ravel = flatten

    def repeat(self, repeats: Any, axis: Any = None) -> Tensor:
        """Each entry repeated along axis (numpy's repeat)."""
        return ops.repeat(self, repeats, axis)

    def diff(self, n: int = 1, axis: int = -1) -> Tensor:
        """The n-th forward difference along axis."""
        return ops.diff(self, n, axis)

    def split(self, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
        """Cut along axis into equal sections or at indices (numpy's split)."""
        return ops.split(self, indices_or_sections, axis)

    def tile(self, reps: Any) -> Tensor:
        """Repeated reps[i] times along axis i."""
        return ops.tile(self, reps)

    def moveaxis(self, source: Any, destination: Any) -> Tensor:
        """Axes moved from source to destination."""
        return ops.moveaxis(self, source, destination)

    def expand_dims(self, axis: Any) -> Tensor:
        """New length-1 axes at axis."""
        return ops.expand_dims(self, axis)

    def outer(self, other: Any) -> Tensor:
        """The outer product of the flattened tensors."""
        return ops.outer(self, other)

    def inner(self, other: Any) -> Tensor:
        """Σ over the last axes of self·other."""
        return ops.inner(self, other)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
        """The diagonal of two axes, as the last axis."""
        return ops.diagonal(self, offset, axis1, axis2)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
        """Σ of the diagonal."""
        return ops.matrix_trace(self, offset, axis1, axis2)

    def dot(self, other: Any) -> Tensor:
        """numpy's dot product."""
        return ops.dot(self, other)

    def norm(self, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:
        """‖x‖ (Euclidean by default), as np.linalg.norm."""
        return ops.norm(self, ord, axis, keepdims)

    def argmax(self, axis: int | None = None) -> Any:
        """The position of the largest entry (flat when axis is None): data, no gradient."""
        return self.data.argmax(axis)

    def argmin(self, axis: int | None = None) -> Any:
        """The position of the smallest entry (flat when axis is None): data, no gradient."""
        return self.data.argmin(axis)

    def tolist(self) -> Any:
        """The entries as (nested) Python lists of floats."""
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self._one("float"))

    def __int__(self) -> int:
        return int(self._one("int"))

    def __bool__(self) -> bool:
        return bool(self._one("bool"))

    def _one(self, what: str) -> Any:
        if self.data.size != 1:
            raise ValueError(f"{what}() of a tensor with {self.data.size} entries (shape "
                             f"{self.shape}) is ambiguous: only one-entry tensors convert")
        return self.data.reshape(())


def _compared(other: Any) -> Any:
    """The other side of == or != as numpy compares it."""
    return other.data if isinstance(other, Tensor) else other


def _replacement(t: Tensor, value: Any) -> np.ndarray:
    """New data for `t`: a float ndarray as given (shared, not copied), anything else converted
    to t's dtype; refused where t's graph, gradient or optimizer depends on its layout."""
    old = t._data
    if type(value) is np.ndarray and value.dtype.type in _FLOATS:
        new = value
    else:
        try:
            new = _as_array(value).astype(old.dtype, copy=False)
        except (TypeError, ValueError) as e:
            raise TypeError(f"Tensor.data must be real numbers: {e}") from None
    if new.shape != old.shape or new.dtype != old.dtype:
        why = _layout_fixed(t)
        if why:
            raise ValueError(f"Tensor.data: cannot replace data of shape {old.shape} and dtype "
                             f"{old.dtype} with data of shape {new.shape} and dtype "
                             f"{new.dtype}: {why}; write into it (t.data[...] = x) or make a "
                             "new Tensor")
    return new


def _layout_fixed(t: Tensor) -> str:
    """Why t's shape and dtype may not change ('' when they may)."""
    if t._op is not None:
        return f"it was computed by {t.op!r}"
    holder = getattr(t, "_held_by", None)
    if holder:
        return f"{holder} keeps state of that shape and dtype for it"
    if t.grad is not None:
        return "its accumulated .grad has that shape and dtype (reset it: t.grad = None)"
    return ""


def _axis(axis: Any, ndim: int) -> tuple[int, ...] | None:
    """A reduction axis as a tuple of non-negative ints, checked against ndim (a 0-d tensor
    takes axis 0 or -1, as in PyTorch, and reduces over no axis)."""
    if axis is None:
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"axis must be an int or a tuple of ints, got {axis!r}")
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} axes")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(out) if ndim else ()


def _nonempty(t: Tensor, axis: Any, name: str) -> tuple[int, ...] | None:
    """The checked axis of a reduction that has no value over zero entries (a max inside)."""
    axes = _axis(axis, t.ndim)
    if t.size == 0 and (axes is None or any(t.shape[a] == 0 for a in axes)):
        raise ValueError(f"{name} over an empty axis: the tensor has shape {t.shape}")
    return axes


def _index(index: Any) -> Any:
    """An index as numpy takes it; a Tensor inside it is refused (its float data could mean a
    mask or positions), and a float array is refused by numpy itself."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, Tensor):
        raise IndexError("a Tensor cannot be an index: Tensors hold floats, so a boolean mask or "
                         "integer positions would be ambiguous; index with a numpy array of "
                         "ints or bools (e.g. t.data.astype(int))")
    if isinstance(index, list):
        return np.asarray(index)
    return index


_REFLECTED = {np.add: Tensor.__radd__, np.subtract: Tensor.__rsub__,
              np.multiply: Tensor.__rmul__, np.true_divide: Tensor.__rtruediv__,
              np.power: Tensor.__rpow__, np.matmul: Tensor.__rmatmul__}


def _dispatch() -> Any:
    """The numpy dispatch tables (imported on first use: they import this module)."""
    from autograd import dispatch
    return dispatch
