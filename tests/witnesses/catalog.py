"""The op catalog: every differentiable op once, with its domain and its reference derivative.

Each entry says how to call the op (one callable that works on Values and on Tensors alike,
since both spell the ops the same way), a numpy reference for the forward pass, the domain its
inputs are drawn from, and, where a formula is known, its derivative. The hypothesis strategies
below draw inputs from those domains: floats for Values, arrays of 1-4 axes for Tensors, and
pairs of shapes that broadcast for the binary ops. The property tests walk this catalog.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograd import rules
from autograd.value import value_dot, value_sum
from nn import losses, primitives


@dataclass(frozen=True)
class Domain:
    """An interval for one argument, with points (kinks, poles) kept `margin` away."""

    lo: float
    hi: float
    avoid: tuple[float, ...] = ()
    margin: float = 0.05

    def allows(self, x: float) -> bool:
        return all(abs(x - k) > self.margin for k in self.avoid)


@dataclass(frozen=True)
class Op:
    """One catalog entry: `call` on nodes, `ref` on numpy data, `deriv` the partials."""

    name: str
    call: Callable[..., Any]
    ref: Callable[..., Any]
    domains: tuple[Domain, ...]
    deriv: Callable[..., tuple[Any, ...]] | None = None

    @property
    def arity(self) -> int:
        return len(self.domains)


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


WIDE = Domain(-3.0, 3.0)
POSITIVE = Domain(0.1, 5.0)
NONZERO = Domain(-3.0, 3.0, avoid=(0.0,), margin=0.25)

# ---- elementwise ops of one argument (Value and Tensor) -----------------------------------

UNARY = (
    Op("neg", lambda x: -x, lambda x: -x, (WIDE,), lambda x: (-np.ones_like(x),)),
    Op("exp", lambda x: x.exp(), np.exp, (Domain(-4.0, 4.0),), lambda x: (np.exp(x),)),
    Op("log", lambda x: x.log(), np.log, (POSITIVE,), lambda x: (1 / x,)),
    Op("sin", lambda x: x.sin(), np.sin, (Domain(-5.0, 5.0),), lambda x: (np.cos(x),)),
    Op("cos", lambda x: x.cos(), np.cos, (Domain(-5.0, 5.0),), lambda x: (-np.sin(x),)),
    Op("tanh", lambda x: x.tanh(), np.tanh, (Domain(-4.0, 4.0),),
       lambda x: (1 - np.tanh(x) ** 2,)),
    Op("sigmoid", lambda x: x.sigmoid(), _sigmoid, (Domain(-6.0, 6.0),),
       lambda x: (_sigmoid(x) * (1 - _sigmoid(x)),)),
    Op("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0.0),
       (Domain(-3.0, 3.0, avoid=(0.0,), margin=1e-3),), lambda x: (1.0 * (x > 0),)),
    Op("square", lambda x: x ** 2, lambda x: x ** 2, (WIDE,), lambda x: (2 * x,)),
    Op("cube", lambda x: x ** 3, lambda x: x ** 3, (WIDE,), lambda x: (3 * x ** 2,)),
    Op("sqrt", lambda x: x ** 0.5, np.sqrt, (POSITIVE,), lambda x: (0.5 / np.sqrt(x),)),
    Op("x**-1.5", lambda x: x ** -1.5, lambda x: x ** -1.5, (POSITIVE,),
       lambda x: (-1.5 * x ** -2.5,)),
    Op("x+c", lambda x: x + 1.5, lambda x: x + 1.5, (WIDE,), lambda x: (np.ones_like(x),)),
    Op("c+x", lambda x: 1.5 + x, lambda x: 1.5 + x, (WIDE,), lambda x: (np.ones_like(x),)),
    Op("x-c", lambda x: x - 0.7, lambda x: x - 0.7, (WIDE,), lambda x: (np.ones_like(x),)),
    Op("c-x", lambda x: 0.7 - x, lambda x: 0.7 - x, (WIDE,), lambda x: (-np.ones_like(x),)),
    Op("x*c", lambda x: x * -1.3, lambda x: x * -1.3, (WIDE,),
       lambda x: (np.full_like(x, -1.3),)),
    Op("c*x", lambda x: -1.3 * x, lambda x: -1.3 * x, (WIDE,),
       lambda x: (np.full_like(x, -1.3),)),
    Op("x/c", lambda x: x / 4.0, lambda x: x / 4.0, (WIDE,), lambda x: (np.full_like(x, 0.25),)),
    Op("c/x", lambda x: 2.0 / x, lambda x: 2.0 / x, (NONZERO,), lambda x: (-2.0 / x ** 2,)),
    Op("c**x", lambda x: 2.0 ** x, lambda x: 2.0 ** x, (WIDE,),
       lambda x: (2.0 ** x * math.log(2.0),)),
    Op("tanh(sin x)·x", lambda x: x.sin().tanh() * x, lambda x: np.tanh(np.sin(x)) * x,
       (WIDE,)),
)

# ---- elementwise ops of two arguments (broadcasting for Tensors) ----------------------------

BINARY = (
    Op("add", lambda x, y: x + y, np.add, (WIDE, WIDE),
       lambda x, y: (np.ones_like(x * y), np.ones_like(x * y))),
    Op("sub", lambda x, y: x - y, np.subtract, (WIDE, WIDE),
       lambda x, y: (np.ones_like(x * y), -np.ones_like(x * y))),
    Op("mul", lambda x, y: x * y, np.multiply, (WIDE, WIDE),
       lambda x, y: (y + 0 * x, x + 0 * y)),
    Op("div", lambda x, y: x / y, np.divide, (WIDE, NONZERO),
       lambda x, y: (1 / y + 0 * x, -x / y ** 2)),
    Op("pow", lambda x, y: x ** y, np.power, (Domain(0.2, 3.0), Domain(-2.0, 2.0)),
       lambda x, y: (y * x ** (y - 1), x ** y * np.log(x))),
    Op("sigmoid(x·y + x)", lambda x, y: (x * y + x).sigmoid(),
       lambda x, y: _sigmoid(x * y + x), (WIDE, WIDE)),
)

# ---- the Value fast paths: n-ary nodes that must equal the plain sums -----------------------

NARY = (
    Op("value_sum", lambda *xs: value_sum(xs), lambda *xs: sum(xs), (WIDE,)),
    Op("value_dot", lambda *xs: value_dot(xs[:len(xs) // 2], xs[len(xs) // 2:]),
       lambda *xs: sum(w * x for w, x in zip(xs[:len(xs) // 2], xs[len(xs) // 2:])),
       (WIDE,)),
)

# ---- Tensor ops with a parameter (an axis, a shape, an index) -------------------------------


@dataclass(frozen=True)
class ArrayOp:
    """A Tensor op `call(t, p)` with a numpy reference `ref(a, p)`; `params(shape)` draws p."""

    name: str
    call: Callable[[Any, Any], Any]
    ref: Callable[[np.ndarray, Any], Any]
    params: Callable[[tuple[int, ...]], st.SearchStrategy]
    domain: Domain = WIDE
    distinct: bool = False  # entries drawn distinct, where ties make the op non-differentiable
    min_side: int = 1  # 2 where an axis of one entry is degenerate (var: no spread)


@cache
def axes(ndim: int) -> st.SearchStrategy:
    """A reduction axis: None, one axis (maybe negative) or a tuple of distinct axes."""
    one = st.integers(-ndim, ndim - 1)
    some = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
    return st.one_of(st.none(), one, some.map(tuple))


@cache
def _reduction(shape: tuple[int, ...]) -> st.SearchStrategy:
    return st.tuples(axes(len(shape)), st.booleans())


@cache
def _one_axis(shape: tuple[int, ...]) -> st.SearchStrategy:
    return st.integers(-len(shape), len(shape) - 1)


@cache
def _new_shape(shape: tuple[int, ...]) -> st.SearchStrategy:
    """A shape with the same number of entries, one dimension possibly given as -1."""
    size = math.prod(shape)
    split = []
    for d in range(1, size + 1):
        if size % d == 0:
            split += [(d, size // d), (d, -1), (-1, d, 1)]
    return st.sampled_from([(size,), (-1,), tuple(reversed(shape)), *split])


@cache
def _permutation(shape: tuple[int, ...]) -> st.SearchStrategy:
    return st.permutations(range(len(shape))).map(tuple)


@cache
def indices(shape: tuple[int, ...]) -> st.SearchStrategy:
    """An index into the first axis: an int, a slice, an int array with repeats, a mask."""
    n = shape[0]
    ints = st.integers(-n, n - 1)
    slices = st.slices(n).filter(lambda s: len(range(*s.indices(n))) > 0)
    arrays = st.lists(st.integers(0, n - 1), min_size=1, max_size=2 * n).map(np.array)
    masks = st.lists(st.booleans(), min_size=n, max_size=n).filter(any).map(np.array)
    return st.one_of(ints, slices, arrays, masks)


ARRAY_OPS = (
    ArrayOp("sum", lambda t, p: t.sum(*p), lambda a, p: np.sum(a, p[0], keepdims=p[1]),
            _reduction),
    ArrayOp("mean", lambda t, p: t.mean(*p), lambda a, p: np.mean(a, p[0], keepdims=p[1]),
            _reduction),
    ArrayOp("max", lambda t, p: t.max(*p), lambda a, p: np.max(a, p[0], keepdims=p[1]),
            _reduction, distinct=True),
    ArrayOp("logsumexp", lambda t, p: t.logsumexp(*p),
            lambda a, p: np.log(np.sum(np.exp(a), p[0], keepdims=p[1])), _reduction),
    ArrayOp("softmax", lambda t, p: t.softmax(p),
            lambda a, p: np.exp(a) / np.sum(np.exp(a), p, keepdims=True), _one_axis),
    ArrayOp("log_softmax", lambda t, p: t.log_softmax(p),
            lambda a, p: a - np.log(np.sum(np.exp(a), p, keepdims=True)), _one_axis),
    ArrayOp("reshape", lambda t, p: t.reshape(p), np.reshape, _new_shape),
    ArrayOp("transpose", lambda t, p: t.transpose(p), np.transpose, _permutation),
    ArrayOp("T", lambda t, p: t.T, lambda a, p: a.T, lambda shape: st.none()),
    ArrayOp("getitem", lambda t, p: t[p], lambda a, p: a[p], indices),
)

# ---- the numpy op set ------------------------------------------------------------------------
# The same ops as numpy spells them: methods on Values and Tensors, rules in the one table.

UNIT = Domain(-0.9, 0.9)
LOW, HIGH = Domain(-3.0, -0.1), Domain(0.1, 3.0)

UNARY += (
    Op("abs", lambda x: abs(x), np.abs, (NONZERO,), lambda x: (np.sign(x),)),
    Op("sign", lambda x: x.sign() * x, lambda x: np.sign(x) * x, (NONZERO,),
       lambda x: (np.sign(x),)),
    Op("sqrt()", lambda x: x.sqrt(), np.sqrt, (POSITIVE,), lambda x: (0.5 / np.sqrt(x),)),
    Op("square()", lambda x: x.square(), np.square, (WIDE,), lambda x: (2 * x,)),
    Op("log2", lambda x: x.log2(), np.log2, (POSITIVE,), lambda x: (1 / (x * np.log(2)),)),
    Op("log10", lambda x: x.log10(), np.log10, (POSITIVE,), lambda x: (1 / (x * np.log(10)),)),
    Op("log1p", lambda x: x.log1p(), np.log1p, (Domain(-0.9, 3.0),), lambda x: (1 / (1 + x),)),
    Op("expm1", lambda x: x.expm1(), np.expm1, (WIDE,), lambda x: (np.exp(x),)),
    Op("tan", lambda x: x.tan(), np.tan, (Domain(-1.3, 1.3),),
       lambda x: (1 / np.cos(x) ** 2,)),
    Op("sinh", lambda x: x.sinh(), np.sinh, (WIDE,), lambda x: (np.cosh(x),)),
    Op("cosh", lambda x: x.cosh(), np.cosh, (WIDE,), lambda x: (np.sinh(x),)),
    Op("arcsin", lambda x: x.arcsin(), np.arcsin, (UNIT,),
       lambda x: (1 / np.sqrt(1 - x ** 2),)),
    Op("arccos", lambda x: x.arccos(), np.arccos, (UNIT,),
       lambda x: (-1 / np.sqrt(1 - x ** 2),)),
    Op("arctan", lambda x: x.arctan(), np.arctan, (WIDE,), lambda x: (1 / (1 + x ** 2),)),
    Op("arcsinh", lambda x: x.arcsinh(), np.arcsinh, (WIDE,),
       lambda x: (1 / np.sqrt(x ** 2 + 1),)),
    Op("arccosh", lambda x: x.arccosh(), np.arccosh, (Domain(1.1, 4.0),),
       lambda x: (1 / np.sqrt(x ** 2 - 1),)),
    Op("arctanh", lambda x: x.arctanh(), np.arctanh, (UNIT,), lambda x: (1 / (1 - x ** 2),)),
    Op("reciprocal", rules.reciprocal, np.reciprocal, (NONZERO,), lambda x: (-1 / x ** 2,)),
    Op("clip", lambda x: x.clip(-1.0, 1.5), lambda x: np.clip(x, -1.0, 1.5),
       (Domain(-3.0, 3.0, avoid=(-1.0, 1.5)),), lambda x: (1.0 * ((x > -1) & (x < 1.5)),)),
)


def _where(x: Any, y: Any) -> Any:
    cond = getattr(x, "data", x) > 0.5
    return rules.where(cond, x, y)


BINARY += (
    # Operands drawn from disjoint intervals, one entry per winner: a near-tie would put a
    # kink inside the finite difference. (rules.maximum rather than x.maximum(y): x may be
    # the constant operand, a float.)
    Op("maximum", rules.maximum, np.maximum, (HIGH, LOW),
       lambda x, y: (np.ones_like(x * y), np.zeros_like(x * y))),
    Op("maximum, y wins", rules.maximum, np.maximum, (LOW, HIGH),
       lambda x, y: (np.zeros_like(x * y), np.ones_like(x * y))),
    Op("minimum", rules.minimum, np.minimum, (LOW, HIGH),
       lambda x, y: (np.ones_like(x * y), np.zeros_like(x * y))),
    Op("minimum, y wins", rules.minimum, np.minimum, (HIGH, LOW),
       lambda x, y: (np.zeros_like(x * y), np.ones_like(x * y))),
    Op("where", _where, lambda x, y: np.where(x > 0.5, x, y),
       (Domain(-3.0, 3.0, avoid=(0.5,)), WIDE),
       lambda x, y: (1.0 * (x > 0.5) + 0 * y, 1.0 * (x <= 0.5) + 0 * y)),
)


@cache
def _one_axis_or_none(shape: tuple[int, ...]) -> st.SearchStrategy:
    return st.one_of(st.none(), _one_axis(shape))


@cache
def _new_axis(shape: tuple[int, ...]) -> st.SearchStrategy:
    return st.integers(-len(shape) - 1, len(shape))


@cache
def _move(shape: tuple[int, ...]) -> st.SearchStrategy:
    return st.tuples(_one_axis(shape), _one_axis(shape))


@cache
def _repeats(shape: tuple[int, ...]) -> st.SearchStrategy:
    return st.tuples(st.integers(1, 3), _one_axis_or_none(shape))


@cache
def _reps(shape: tuple[int, ...]) -> st.SearchStrategy:
    return st.lists(st.integers(1, 3), min_size=1, max_size=len(shape) + 1).map(tuple)


@cache
def _widths(shape: tuple[int, ...]) -> st.SearchStrategy:
    pair = st.tuples(st.integers(0, 2), st.integers(0, 2))
    return st.lists(pair, min_size=len(shape), max_size=len(shape)).map(tuple)


@cache
def _sections(shape: tuple[int, ...]) -> st.SearchStrategy:
    """(sections, axis) with sections dividing the axis: 1 or the axis length."""
    return _one_axis(shape).flatmap(
        lambda a: st.tuples(st.sampled_from(sorted({1, shape[a]})), st.just(a)))


@cache
def _offset(shape: tuple[int, ...]) -> st.SearchStrategy:
    n = math.prod(shape)
    return st.integers(-n + 1, n - 1)


@cache
def _spread(shape: tuple[int, ...]) -> st.SearchStrategy:
    """(axis, ddof, keepdims) for var and std, with more entries than ddof on the axes."""
    return st.tuples(axes(len(shape)), st.sampled_from([0, 1]), st.booleans())


ARRAY_OPS += (
    ArrayOp("var", lambda t, p: t.var(*p), lambda a, p: np.var(a, p[0], ddof=p[1],
                                                               keepdims=p[2]),
            _spread, min_side=2),
    ArrayOp("std", lambda t, p: t.std(*p), lambda a, p: np.std(a, p[0], ddof=p[1],
                                                               keepdims=p[2]),
            _spread, distinct=True, min_side=2),
    ArrayOp("prod", lambda t, p: t.prod(*p), lambda a, p: np.prod(a, p[0], keepdims=p[1]),
            _reduction),
    ArrayOp("min", lambda t, p: t.min(*p), lambda a, p: np.min(a, p[0], keepdims=p[1]),
            _reduction, distinct=True),
    ArrayOp("cumsum", lambda t, p: t.cumsum(p), lambda a, p: np.cumsum(a, p),
            _one_axis_or_none),
    ArrayOp("diff", lambda t, p: np.diff(t, axis=p), lambda a, p: np.diff(a, axis=p),
            _one_axis),
    ArrayOp("flip", lambda t, p: t.flip(p), np.flip, lambda shape: axes(len(shape))),
    ArrayOp("squeeze", lambda t, p: t.squeeze(), lambda a, p: np.squeeze(a),
            lambda shape: st.none()),
    ArrayOp("expand_dims", lambda t, p: np.expand_dims(t, p), np.expand_dims, _new_axis),
    ArrayOp("moveaxis", lambda t, p: np.moveaxis(t, *p), lambda a, p: np.moveaxis(a, *p),
            _move),
    ArrayOp("flatten", lambda t, p: t.flatten(), lambda a, p: a.flatten(),
            lambda shape: st.none()),
    ArrayOp("concatenate", lambda t, p: np.concatenate([t, t * t], p),
            lambda a, p: np.concatenate([a, a * a], p), _one_axis),
    ArrayOp("stack", lambda t, p: np.stack([t, t.sin()], p),
            lambda a, p: np.stack([a, np.sin(a)], p), _new_axis),
    ArrayOp("split", lambda t, p: np.concatenate(
        [s * (i + 1) for i, s in enumerate(np.split(t, *p))], p[1]),
        lambda a, p: np.concatenate([s * (i + 1) for i, s in enumerate(np.split(a, *p))], p[1]),
        _sections),
    ArrayOp("repeat", lambda t, p: t.repeat(*p), lambda a, p: np.repeat(a, *p), _repeats),
    ArrayOp("tile", lambda t, p: np.tile(t, p), np.tile, _reps),
    ArrayOp("pad", lambda t, p: np.pad(t, p), np.pad, _widths),
    ArrayOp("diagonal", lambda t, p: np.outer(t, t).diagonal(p),
            lambda a, p: np.outer(a, a).diagonal(p), _offset),
    ArrayOp("trace", lambda t, p: np.trace(np.outer(t, t.sin()), p),
            lambda a, p: np.trace(np.outer(a, np.sin(a)), p), _offset),
    ArrayOp("norm", lambda t, p: np.linalg.norm(t, axis=p[0], keepdims=p[1]),
            # numpy's norm stops at two axes; the Euclidean norm over any axes is this:
            lambda a, p: np.sqrt(np.sum(a * a, p[0], keepdims=p[1])), _reduction, NONZERO),
)


@dataclass(frozen=True)
class Product:
    """A product of two tensors `call(x, y)`, with a numpy reference and its operand shapes."""

    name: str
    call: Callable[[Any, Any], Any]
    shapes: Callable[[], st.SearchStrategy]


@st.composite
def _dims(draw: Any, n: int) -> tuple[int, ...]:
    return tuple(draw(st.integers(1, 3)) for _ in range(n))


def _product_shapes(layout: Callable[[tuple[int, ...]], tuple[tuple[int, ...], ...]], n: int
                    ) -> Callable[[], st.SearchStrategy]:
    return lambda: _dims(n).map(layout)


PRODUCTS = (
    Product("outer", np.outer, _product_shapes(lambda d: ((d[0], d[1]), (d[2],)), 3)),
    Product("inner", np.inner, _product_shapes(lambda d: ((d[0], d[2]), (d[1], d[2])), 3)),
    Product("dot", np.dot, _product_shapes(lambda d: ((d[0], d[1]), (d[1], d[2])), 3)),
    Product("dot 3-d", np.dot,
            _product_shapes(lambda d: ((d[0], d[1]), (d[2], d[1], d[3])), 4)),
    Product("tensordot", lambda x, y: np.tensordot(x, y, axes=([0, 2], [1, 0])),
            _product_shapes(lambda d: ((d[0], d[1], d[2]), (d[2], d[0], d[3])), 4)),
    Product("einsum", lambda x, y: np.einsum("ijk,kj->ik", x, y),
            _product_shapes(lambda d: ((d[0], d[1], d[2]), (d[2], d[1])), 3)),
    Product("einsum sums", lambda x, y: np.einsum("ij,k->jk", x, y),
            _product_shapes(lambda d: ((d[0], d[1]), (d[2],)), 3)),
)


# ---- hypothesis strategies ------------------------------------------------------------------


@cache
def floats_in(domain: Domain) -> st.SearchStrategy:
    """Finite floats in the domain, away from its kinks and poles."""
    return st.floats(domain.lo, domain.hi, allow_nan=False).filter(domain.allows)


@cache
def shapes(min_dims: int = 1, max_dims: int = 4, max_side: int = 3, min_side: int = 1
           ) -> st.SearchStrategy:
    """Array shapes of 1-4 axes (small: every entry costs two forward passes in the check)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


@cache
def arrays_in(domain: Domain, shape: tuple[int, ...], distinct: bool = False
              ) -> st.SearchStrategy:
    """float64 arrays of `shape` with entries in the domain."""
    elements = floats_in(domain)
    if distinct:
        # Ties (max) and near-ties make finite differences straddle a kink: keep entries apart.
        elements = st.integers(-400, 400).map(lambda k: k / 100.0)
    return hnp.arrays(np.float64, shape, elements=elements, unique=distinct)


@st.composite
def broadcast_pairs(draw: Any, max_dims: int = 4) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes that broadcast: the second drops leading axes of the first and sets some of
    the rest to 1, then the pair is shuffled so either side may be the smaller."""
    big = draw(shapes(max_dims=max_dims))
    keep = draw(st.integers(0, len(big)))
    small = [1 if draw(st.booleans()) else n for n in big[len(big) - keep:]]
    big = [1 if n != 1 and draw(st.integers(0, 4)) == 0 else n for n in big]
    pair = (tuple(big), tuple(small))
    return pair if draw(st.booleans()) else pair[::-1]


@st.composite
def matmul_shapes(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Operand shapes for @: vectors, matrices and stacks with broadcast batch axes."""
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch_a, batch_b = draw(broadcast_pairs(max_dims=2)) if draw(st.booleans()) else ((), ())
    left = draw(st.sampled_from([(k,), (*batch_a, n, k)]))
    right = draw(st.sampled_from([(k,), (*batch_b, k, m)]))
    return left, right

# ---- fixed-input entries: the ops the lists above do not reach --------------------------------
# Each is checked at inputs drawn once from `domain` with the given shapes. Shapes are chosen
# so that two inputs share a shape where the op allows it (a rule that swapped their
# gradients must then be caught), and `order=2` entries are checked to the second derivative.


@dataclass(frozen=True)
class Case:
    """`call` on Tensors, `ref` the same function on ndarrays, `shapes` one per input."""

    name: str
    call: Callable[..., Any]
    ref: Callable[..., Any]
    shapes: tuple[tuple[int, ...], ...]
    domain: Domain = WIDE
    order: int = 1



# ---- convolution and pooling: plain-loop references, sharing nothing with the rules --------

def _conv_ref(x: Any, w: Any, b: Any = None, stride: int = 1, pad: int = 0) -> Any:
    """Cross-correlation (NCHW), one output pixel at a time."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    kh, kw = w.shape[2:]
    oh, ow = (x.shape[2] - kh) // stride + 1, (x.shape[3] - kw) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    return out if b is None else out + b[None, :, None, None]


def _pool_ref(x: Any, k: int, reduce: Callable[..., Any]) -> Any:
    """reduce over each k×k window (stride k)."""
    oh, ow = x.shape[2] // k, x.shape[3] // k
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = reduce(x[:, :, i * k:(i + 1) * k, j * k:(j + 1) * k], axis=(2, 3))
    return out


# distinct entries, so every window has one arg-max
_ROUTE = np.random.default_rng(7).permutation(32).reshape(2, 1, 4, 4) / 8.0


def _conv_square(xs: tuple[int, ...], ws: tuple[int, ...], pad: int) -> tuple[Any, Any]:
    """Σ conv2d(x, w)² over an image x and a kernel w both taken from one vector v, and its
    reference: the Hessian runs the rules of conv2d's own gradient ops. With these shapes the
    δ of the output has the shape of w (or of x), so a swap of those gradients shows."""
    n = math.prod(xs)

    def call(v: Any) -> Any:
        return (rules.conv2d(v[:n].reshape(xs), v[n:].reshape(ws), None, 1, pad) ** 2).sum()

    def ref(v: Any) -> Any:
        return np.sum(_conv_ref(v[:n].reshape(xs), v[n:].reshape(ws), None, 1, pad) ** 2)

    return call, ref


_EXPONENTS = np.array([0.0, 2.0, 3.0])


def _softplus(z: Any) -> Any:
    return np.logaddexp(0.0, z)


def _linear(x: Any, w: Any, b: Any) -> Any:
    return primitives.linear(x, w, b)


def _quadratic(a: Any, y: Any) -> Any:
    return primitives.quadratic_cost(a, y)


# the losses' rules that read targets or labels (given as the second, undifferentiated input)
_LABELS = np.array([2, 0, 3])
_TARGETS = np.array([[0.0, 0.5, 1.0], [1.0, 0.0, 0.25]])


def _stack3(v: Any) -> Any:
    return rules.stack(v[0] * v[1], v[1] * v[2], v[2] * v[0] + v[0])


CASES = (
    Case("matmul", lambda x, y: x @ y, np.matmul, ((3, 3), (3, 3))),
    Case("matmul vector", lambda x, y: x @ y, np.matmul, ((2, 3), (3,))),
    Case("matmul batched", lambda x, y: x @ y, np.matmul, ((2, 2, 3), (3, 2))),
    Case("linear", _linear, lambda x, w, b: x @ w.T + b, ((3, 4), (3, 4), (3,))),
    Case("linear one example", _linear, lambda x, w, b: x @ w.T + b, ((4,), (2, 4), (2,))),
    Case("quadratic_cost", _quadratic, lambda a, y: np.sum((a - y) ** 2) / (2 * a.shape[0]),
         ((3, 2), (3, 2))),
    Case("cross_entropy's label sum", lambda x: losses._label_sum(x, _LABELS),
         lambda x: x[np.arange(3), _LABELS].sum(), ((3, 4),)),
    Case("bce's a + 1 where y = 0", lambda a: losses._one_where(a, _TARGETS, 0) * a,
         lambda a: (a + (_TARGETS == 0)) * a, ((2, 3),)),
    Case("broadcast both ways", lambda x, y: x * y - y, lambda x, y: x * y - y,
         ((2, 1, 3), (4, 1))),
    Case("softplus", lambda z: rules.softplus(z), _softplus, ((2, 3),)),
    Case("broadcast_to", lambda x: rules.broadcast_to(x, (2, 3, 2)),
         lambda x: np.broadcast_to(x, (2, 3, 2)), ((3, 1),)),
    Case("stack", lambda x, y: rules.stack(x, y, x * y), lambda x, y: np.stack([x, y, x * y]),
         ((2, 3), (2, 3))),
    Case("min", lambda x: x.min(axis=1), lambda x: np.min(x, axis=1), ((2, 3),)),
    Case("einsum", lambda x, y: np.einsum("ijk,kj->ik", x, y),
         lambda x, y: np.einsum("ijk,kj->ik", x, y), ((2, 3, 2), (2, 3))),
    Case("einsum sums", lambda x, y: np.einsum("ij,k->jk", x, y),
         lambda x, y: np.einsum("ij,k->jk", x, y), ((2, 3), (2,))),
    Case("einsum ij,jk", lambda x, y: np.einsum("ij,jk->ik", x, y),
         lambda x, y: np.einsum("ij,jk->ik", x, y), ((2, 2), (2, 2))),
    Case("conv2d", lambda x, w, b: rules.conv2d(x, w, b, 1, 1),
         lambda x, w, b: _conv_ref(x, w, b, 1, 1), ((2, 2, 5, 5), (3, 2, 3, 3), (3,))),
    Case("conv2d, kernel as large as the image", lambda x, w: rules.conv2d(x, w),
         lambda x, w: _conv_ref(x, w), ((1, 1, 3, 3), (1, 1, 3, 3))),
    Case("conv2d stride 2", lambda x, w: rules.conv2d(x, w, None, 2, 0),
         lambda x, w: _conv_ref(x, w, None, 2, 0), ((1, 2, 5, 5), (2, 2, 3, 3))),
    Case("max_pool2d", lambda x: rules.max_pool2d(x, 2), lambda x: _pool_ref(x, 2, np.max),
         ((2, 2, 4, 6),)),
    Case("avg_pool2d", lambda x: rules.avg_pool2d(x, 2), lambda x: _pool_ref(x, 2, np.mean),
         ((2, 2, 4, 6),)),
    Case("max_unpool2d", lambda g: rules.max_unpool2d(g, _ROUTE, 2),
         lambda g: np.repeat(np.repeat(g, 2, 2), 2, 3) * (
             np.repeat(np.repeat(_pool_ref(_ROUTE, 2, np.max), 2, 2), 2, 3) == _ROUTE),
         ((2, 1, 2, 2),)),
    Case("max_pick2d", lambda h: rules.max_pick2d(h, _ROUTE, 2),
         lambda h: _pool_ref(h * (np.repeat(np.repeat(
             _pool_ref(_ROUTE, 2, np.max), 2, 2), 2, 3) == _ROUTE), 2, np.sum), ((2, 1, 4, 4),)),
    # second derivatives: Hessians of scalars, and of each output of a vector function
    Case("conv2d squared, δ shaped like w", *_conv_square((1, 1, 3, 3), (1, 1, 2, 2), 0),
         ((13,),), Domain(-1.0, 1.0), order=2),
    Case("conv2d squared, δ shaped like x", *_conv_square((1, 1, 2, 2), (1, 1, 3, 3), 1),
         ((13,),), Domain(-1.0, 1.0), order=2),
    Case("average pool squared", lambda v: (rules.avg_pool2d(v.reshape(1, 2, 2, 2), 2) ** 2
                                            ).sum(),
         lambda v: np.sum(_pool_ref(v.reshape(1, 2, 2, 2), 2, np.mean) ** 2), ((8,),),
         order=2),
    # (a zero exponent: the safe base that keeps d/dx x⁰ = 0 is differentiated too)
    Case("x**[0, 2, 3]", lambda v: (v ** _EXPONENTS).sum(), lambda v: np.sum(v ** _EXPONENTS),
         ((3,),), POSITIVE, order=2),
    Case("x**y mixed partials", lambda v: v[0] ** v[1], lambda v: v[0] ** v[1], ((2,),),
         Domain(0.5, 2.0), order=2),
    Case("x**y in the base", lambda v: v ** 3.0 * v[::-1], lambda v: v ** 3.0 * v[::-1],
         ((2,),), order=2),
    Case("sin·exp·log", lambda v: (v[0].sin() * v[1].exp() + v[1].log() * v[0] ** 2).sum(),
         lambda v: np.sin(v[0]) * np.exp(v[1]) + np.log(v[1]) * v[0] ** 2, ((2,),),
         POSITIVE, order=2),
    Case("nested stack", _stack3, lambda v: np.stack([v[0] * v[1], v[1] * v[2],
                                                      v[2] * v[0] + v[0]]), ((3,),), order=2),
    Case("softmax·tanh·sigmoid", lambda v: (v.softmax() * v.tanh() + v.sigmoid() * v).sum(),
         lambda v: np.sum(np.exp(v) / np.exp(v).sum() * np.tanh(v) + v / (1 + np.exp(-v))),
         ((3,),), order=2),
    Case("logsumexp·log_softmax·max", lambda v: v.logsumexp() * v.log_softmax()[1]
         + (v * v).max() * (v / 2.0 - 1.0).sum() + v.mean() ** 2,
         lambda v: np.log(np.exp(v).sum()) * (v[1] - np.log(np.exp(v).sum()))
         + np.max(v * v) * np.sum(v / 2.0 - 1.0) + np.mean(v) ** 2,
         ((3,),), Domain(0.5, 2.0), order=2),
    Case("reshape·transpose·matmul", lambda v: (v.reshape(2, 2).T @ v.reshape(2, 2)
                                                - v.reshape(2, 2)).sum() * v[0],
         lambda v: np.sum(v.reshape(2, 2).T @ v.reshape(2, 2) - v.reshape(2, 2)) * v[0],
         ((4,),), order=2),
    Case("linear·quadratic_cost·softplus", lambda v: _quadratic(
        _linear(v.reshape(1, 4), v.reshape(1, 4) * v.reshape(1, 4), v[:1]).reshape(1, 1),
        v[1:2].reshape(1, 1) * -1.0) + rules.softplus(v).sum(),
        lambda v: (np.dot(v, v * v) + v[0] + v[1]) ** 2 / 2 + np.sum(_softplus(v)),
        ((4,),), Domain(-1.0, 1.0), order=2),
)
