"""The one table of derivative rules.

Each primitive is a forward function on raw data (a float or an ndarray) followed at once by
its vector-Jacobian product `name_vjp(g, out, *args) -> tuple`, one entry per argument, with
its formula as the docstring. Rules are plain arithmetic on their arguments, their methods
(.sum, .reshape, .T) and other primitives, never numpy functions, so the same rule runs on
floats and ndarrays for a first derivative, and on Values and Tensors (recording a new graph)
for higher derivatives. Masks, which carry no gradient, are taken from the raw data.
Broadcasting is not the rules' business: the backward driver sums each gradient back to its
operand's shape. Nor are numpy's floating-point warnings: every way into a rule (an op, a
backward pass, a primitive called on raw data, a compiled replay) runs it under
`graph.silently`, so the ±inf and nan that are a rule's IEEE answer come without a warning,
and rules do not set numpy's error state themselves. The one exception is marked `quiet`:
sigmoid tries its textbook formula with overflow raising, and keeps numpy quiet itself.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from autograd.graph import _OVERFLOW_RAISES, Node, _np_errors, silently
from autograd.primitive import primitive


def data_of(x: Any) -> Any:
    """The raw data under a node, or x itself: for masks and shapes, which carry no gradient."""
    return x.data if isinstance(x, Node) else x


def _mask(cond: Any) -> Any:
    """A condition on raw data as a factor any node can take: a Python bool for one entry
    (a numpy bool scalar is not a number to Value or Tensor), else the boolean ndarray."""
    if isinstance(cond, np.ndarray) and cond.ndim:
        return cond
    return bool(cond)


def _not(cond: Any) -> Any:
    """The negation of a mask (in place for a fresh boolean array)."""
    return np.logical_not(cond, out=cond) if isinstance(cond, np.ndarray) else not cond


def _any(cond: Any) -> bool:
    """Whether a mask holds anywhere (a Python bool for a float's mask, else an array's)."""
    return cond if type(cond) is bool else bool(np.any(cond))


@primitive
def _unit_where(x, cond):
    """x with 1 where `cond` holds: a safe base or denominator (cond carries no gradient)."""
    if type(x) is float:
        return 1.0 if cond else x
    return np.where(cond, np.ones((), dtype=np.result_type(x, np.float32)), x)


@_unit_where.defvjp
def _unit_where_vjp(g, out, x, cond):
    """∂ = g·[not cond]"""
    return (g * _mask(_not(np.array(cond))),)


# ---- arithmetic ---------------------------------------------------------------------------

add = primitive(operator.add)


@add.defvjp
def add_vjp(g, out, x, y):
    """∂(x + y) = (g, g)"""
    return g, g


sub = primitive(operator.sub)


@sub.defvjp
def sub_vjp(g, out, x, y):
    """∂(x − y) = (g, −g)"""
    return g, -g


mul = primitive(operator.mul)


@mul.defvjp
def mul_vjp(g, out, x, y):
    """∂(x·y) = (g·y, g·x)"""
    return g * y, g * x


div = primitive(operator.truediv, "div")


@div.defvjp
def div_vjp(g, out, x, y, needs=(True, True)):
    """∂(x / y) = (g / y, −g·out / y)"""
    # `needs`: dividing by a constant (a mean, a loss over the batch size) skips the three
    # array ops of the divisor's gradient
    return g / y, (-g * out / y if needs[1] else None)


neg = primitive(operator.neg)


@neg.defvjp
def neg_vjp(g, out, x):
    """∂(−x) = −g"""
    return (-g,)


@primitive
def power(x, y):
    """x ** y; zero to a negative power and results past the float range are ±inf (as in
    numpy), and for floats a negative base with a fractional exponent is an error, not complex.
    """
    if type(x) is float and type(y) is float:
        return _float_power(x, y)
    return x ** y  # ±inf is the answer


def _float_power(x: float, y: float) -> float:
    """x ** y on Python floats, with numpy's IEEE answers where Python raises."""
    try:
        out = x ** y
    except (ZeroDivisionError, OverflowError):
        if x < 0.0 and y != y // 1.0:  # Python checks the range before the sign
            _not_real(x, y)
        with np.errstate(divide="ignore", over="ignore"):
            return float(np.power(np.float64(x), np.float64(y)))
    if type(out) is complex:
        _not_real(x, y)
    return out


def _not_real(x: float, y: float) -> None:
    raise ValueError(f"{x!r} ** {y!r} is not a real number (negative base, fractional "
                     "exponent)")


@power.defvjp
def power_vjp(g, out, x, y, needs=(True, True)):
    """∂(xʸ) = (g·y·xʸ⁻¹, g·out·ln x), with y·xʸ⁻¹ = 0 where y = 0 and out·ln x = 0 at x = 0
    (the limits PyTorch uses: d/dx x⁰ is 0 even at x = 0)"""
    gx = gy = None
    if needs[0]:
        if type(x) is np.ndarray and (type(y) is float or type(y) is int) and y != 0:
            # x ** (y − 1) itself (what power computes): a constant exponent, as in (a − y)²,
            # needs no safe base and no primitive call in a plain backward pass
            gx = g * y * x ** (y - 1)
        else:
            # power, not **: a float 0 to a negative power is inf here too, not
            # ZeroDivisionError
            gx = g * y * power(_safe_base(x, y), y - 1)
    if needs[1]:
        gy = g * out * _log_base(x)
    return gx, gy


def _safe_base(x, y):
    """x, with 1 where y = 0: there y·xʸ⁻¹ is 0, and 0·0⁻¹ = 0·inf must not make it nan."""
    yd = data_of(y)
    if type(yd) is float:  # the scalar engine's hot path
        return x if yd != 0.0 else _unit_where(x, True)
    zero = _mask(yd == 0)
    return _unit_where(x, zero) if _any(zero) else x


@primitive
def _log_base(x):
    """ln x for x > 0, 0 at x = 0 (where xʸ = 0 for y > 0), nan below: the ln x of ∂xʸ/∂y."""
    if type(x) is float:
        return math.log(x) if x > 0.0 else (0.0 if x == 0.0 else math.nan)
    x = np.asarray(x)
    out = np.log(np.where(x > 0, x, 1.0))
    return np.where(x < 0, np.nan, out)


@_log_base.defvjp
def _log_base_vjp(g, out, x):
    """∂ln x = g / x where x > 0 (0 elsewhere, where ln was replaced)"""
    positive = _mask(data_of(x) > 0)
    return (g * positive / _unit_where(x, _not(np.array(positive))),)


@primitive
def identity(x):
    """x itself (marks a fresh variable to differentiate with respect to)."""
    return x


@identity.defvjp
def identity_vjp(g, out, x):
    """∂x = g"""
    return (g,)


# ---- n-ary scalar sums: one node where a chain of + would make n (Value.value_sum, value_dot)

def _sum_n(*xs):
    """x₁ + … + xₙ, left to right as a chain of + would add them."""
    return sum(xs)


sum_n = primitive(_sum_n, "sum")


@sum_n.defvjp
def sum_n_vjp(g, out, *xs):
    """∂(x₁ + … + xₙ) = (g, …, g)"""
    return (g,) * len(xs)


def _dot_n(*xs):
    """w₁x₁ + … + wₙxₙ for xs = (w₁, …, wₙ, x₁, …, xₙ): a neuron's weighted input."""
    n = len(xs) // 2
    return sum(map(operator.mul, xs[:n], xs[n:]))


dot_n = primitive(_dot_n, "dot")


@dot_n.defvjp
def dot_n_vjp(g, out, *xs):
    """∂(Σ wᵢxᵢ) = (g·x₁, …, g·xₙ, g·w₁, …, g·wₙ)"""
    n = len(xs) // 2
    return tuple(g * x for x in xs[n:]) + tuple(g * w for w in xs[:n])


# ---- elementwise functions ----------------------------------------------------------------

@primitive
def exp(x):
    """eˣ (inf, not OverflowError, past the float range)."""
    if type(x) is float:
        return math.inf if x >= 709.78 else math.exp(x)  # nan stays nan
    return np.exp(x)


@exp.defvjp
def exp_vjp(g, out, x):
    """∂eˣ = g·out"""
    return (g * out,)


@primitive
def log(x):
    """ln x; a float must be positive, an array entry below zero is an error."""
    if type(x) is float:
        if x <= 0.0:
            raise ValueError(f"log of a non-positive number: {x!r}")
        return math.log(x)
    x = np.asarray(x)
    if (x < 0).any():
        raise ValueError(f"log of a negative number: {int((x < 0).sum())} of {x.size} "
                         f"entries are below zero (smallest {float(x.min())!r})")
    return np.log(x)


@log.defvjp
def log_vjp(g, out, x):
    """∂ln x = g / x"""
    return (g / x,)


@primitive
def sin(x):
    """sin x (nan at ±inf, as numpy, not a ValueError)"""
    if type(x) is float:
        return math.sin(x) if math.isfinite(x) else math.nan
    return np.sin(x)  # nan at ±inf is the answer


@sin.defvjp
def sin_vjp(g, out, x):
    """∂sin x = g·cos x"""
    return (g * cos(x),)


@primitive
def cos(x):
    """cos x (nan at ±inf, as numpy, not a ValueError)"""
    if type(x) is float:
        return math.cos(x) if math.isfinite(x) else math.nan
    return np.cos(x)  # nan at ±inf is the answer


@cos.defvjp
def cos_vjp(g, out, x):
    """∂cos x = −g·sin x"""
    return (-g * sin(x),)


@primitive
def tanh(x):
    """tanh x (library tanh: stable at any |x|)."""
    return math.tanh(x) if type(x) is float else np.tanh(x)


@tanh.defvjp
def tanh_vjp(g, out, x):
    """∂tanh x = g·(1 − out²)"""
    return (g * (1.0 - out * out),)


@primitive
def sigmoid(x):
    """σ(x) = 1 / (1 + e⁻ˣ), exact and silent at any x."""
    if type(x) is float:
        if x >= 0.0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    if type(x) is not np.ndarray or x.dtype.kind != "f" or not x.ndim:
        return _other_sigmoid(x)
    # The common case, tried first with no scan of x (this runs twice per layer in training):
    # where e⁻ˣ does not overflow, 1 / (1 + e⁻ˣ) is accurate to an ulp. `overflow_raises`
    # written out, one call less.
    token = _np_errors.set(_OVERFLOW_RAISES)
    try:
        return _sigmoid_direct(x)
    except FloatingPointError:  # some x below −709.78 (float32: −88.72)
        return silently(_sigmoid_stable, x)
    finally:
        _np_errors.reset(token)


@sigmoid.defvjp
def sigmoid_vjp(g, out, x):
    """∂σ(x) = g·out·(1 − out)"""
    return (g * out * (1.0 - out),)


sigmoid.quiet = True  # its function keeps numpy's warnings in by itself


def _other_sigmoid(x: Any) -> Any:
    """σ of data other than a float or a float array with axes (ints, 0-d arrays, lists)."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":  # complex would recurse below: refuse it by name
        raise TypeError(f"sigmoid needs real numbers, got data of dtype {x.dtype}")
    # as a float array with an axis: ufuncs give 0-d results as scalars
    return sigmoid.fun(x.astype(np.result_type(x, np.float32)).reshape(-1)).reshape(x.shape)


def _sigmoid_stable(x: np.ndarray) -> np.ndarray:
    """σ without overflow: e = e^(−|x|) ≤ 1; σ = 1/(1 + e) for x ≥ 0 and e/(1 + e) below,
    exact into the subnormal range and for −inf (e underflows to 0 silently)."""
    e = np.abs(x)
    np.negative(e, out=e)
    np.exp(e, out=e)
    d = e + 1.0
    np.copyto(e, 1.0, where=x >= 0)
    return np.divide(e, d, out=d)


def _sigmoid_direct(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e⁻ˣ) in one buffer (e⁻ˣ = inf at x = −inf raises nothing: inf is exact)."""
    t = np.negative(x)
    np.exp(t, t)  # the output by position: 40 ns a call less than out=
    t += 1.0
    return np.reciprocal(t, t)


@primitive
def relu(x):
    """max(x, 0); nan stays nan (as numpy and PyTorch)"""
    if type(x) is float:
        return 0.0 if x <= 0.0 else x
    return np.maximum(x, 0)


@relu.defvjp
def relu_vjp(g, out, x):
    """∂relu x = g·[not x ≤ 0] (0 at x = 0, and g at nan, as PyTorch)"""
    d = data_of(x)
    if type(d) is float:  # the scalar engine's hot path
        return (g * (0.0 if d <= 0.0 else 1.0),)
    return (g * _mask(_not(d <= 0)),)


@primitive
def abs_(x):
    """|x|"""
    return abs(x) if type(x) is float else np.abs(x)


@abs_.defvjp
def abs_vjp(g, out, x):
    """∂|x| = g·sign x (0 at x = 0 and at nan, as PyTorch)"""
    d = data_of(x)
    if type(d) is float:
        return (g * float((d > 0) - (d < 0)),)
    return (g * np.subtract(d > 0, d < 0, dtype=np.result_type(d, np.float32)),)


@primitive
def softplus(x):
    """ln(1 + eˣ), via logaddexp: exact as x → −∞ and never overflowing."""
    if type(x) is float:
        return max(x, 0.0) + math.log1p(math.exp(-abs(x)))
    return np.logaddexp(0.0, x)


@softplus.defvjp
def softplus_vjp(g, out, x):
    """∂ln(1 + eˣ) = g·σ(x)"""
    return (g * sigmoid(x),)


# ---- reductions ---------------------------------------------------------------------------

def _kept_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """The shape of a reduction over `axis` with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _kept(g, x, axis, keepdims):
    """`g` (the gradient of a reduction) reshaped to broadcast against x."""
    return g if keepdims else g.reshape(_kept_shape(x.shape, axis))


@primitive
def sum_(x, axis=None, keepdims=False):
    """Σ x over `axis`."""
    return x.sum(axis=axis, keepdims=keepdims)


@sum_.defvjp
def sum_vjp(g, out, x, axis=None, keepdims=False):
    """∂Σx = g broadcast back over the summed axes"""
    # a sum of everything has one number to spread: it broadcasts with no reshape
    return (broadcast_to(g if axis is None else _kept(g, x, axis, keepdims), x.shape),)


@primitive
def max_(x, axis=None, keepdims=False):
    """max x over `axis`."""
    return x.max(axis=axis, keepdims=keepdims)


@max_.defvjp
def max_vjp(g, out, x, axis=None, keepdims=False):
    """∂max x = g·[x = max] / #ties (ties share the gradient equally, as PyTorch's amax)"""
    hit = np.asarray(data_of(x) == data_of(_kept(out, x, axis, keepdims)))
    share = hit / hit.sum(axis=axis, keepdims=True)  # a nan max matches nothing: nan, as PyTorch
    return (_kept(g, x, axis, keepdims) * share,)


def _shifted(x, axis):
    """x − max x along axis: exact, and ≤ 0. A row whose max is ±inf or nan gives nan, as in
    PyTorch (the softmax of [inf, 1] has no value)."""
    # x − m is −inf for an entry more than the float range below the max (e^−inf = 0), and
    # inf − inf is the nan a row with an infinite max has
    return x - np.max(x, axis=axis, keepdims=True)


def _squeezed(out, axis):
    """A keepdims reduction's result with the reduced axes dropped."""
    return out.reshape(()) if axis is None else np.squeeze(out, axis=axis)


@primitive
def logsumexp(x, axis=None, keepdims=False):
    """log Σ eˣ over `axis`, shifted by the max so it neither overflows nor underflows."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else _squeezed(out, axis)


@logsumexp.defvjp
def logsumexp_vjp(g, out, x, axis=None, keepdims=False):
    """∂logΣeˣ = g·softmax(x) (softmax itself, not e^(x − out): out has lost the low bits of a
    huge maximum)"""
    return (_kept(g, x, axis, keepdims) * softmax(x, axis),)


@primitive
def log_softmax(x, axis=-1):
    """(x − m) − log Σ e^(x − m) along `axis` (m the max): exact up to the float limit."""
    s = _shifted(x, axis)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


@log_softmax.defvjp
def log_softmax_vjp(g, out, x, axis=-1):
    """∂log softmax = g − e^out·Σg"""
    return (g - exp(out) * g.sum(axis=axis, keepdims=True),)


@primitive
def softmax(x, axis=-1):
    """e^(x − m) / Σ e^(x − m) along `axis` (m the max)."""
    e = np.exp(_shifted(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


@softmax.defvjp
def softmax_vjp(g, out, x, axis=-1):
    """∂softmax = out·(g − Σ g·out)"""
    return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)


# ---- shape --------------------------------------------------------------------------------

@primitive
def reshape(x, shape):
    """x with a new shape (same entries, C order)."""
    return x.reshape(shape)


@reshape.defvjp
def reshape_vjp(g, out, x, shape):
    """∂reshape = g reshaped back"""
    return (g.reshape(x.shape),)


@primitive
def transpose(x, axes=None):
    """x with its axes permuted (reversed when axes is None)."""
    return x.transpose(axes)


@transpose.defvjp
def transpose_vjp(g, out, x, axes=None):
    """∂transpose = g transposed by the inverse permutation"""
    return (g.transpose() if axes is None else g.transpose(tuple(np.argsort(axes))),)


@primitive
def broadcast_to(x, shape):
    """x repeated along new and length-1 axes to fill `shape` (a fresh, writable array)."""
    if type(x) is np.ndarray and x.dtype.kind == "f":  # a gradient: np.result_type costs more
        out = np.empty(shape, x.dtype)
    else:
        out = np.empty(shape, dtype=np.result_type(x, np.float32))
    out[...] = x
    return out


@broadcast_to.defvjp
def broadcast_to_vjp(g, out, x, shape):
    """∂broadcast = g (the backward driver sums it back to x's shape)"""
    return (g,)


@primitive
def getitem(x, index):
    """x[index]"""
    return x[index]


@getitem.defvjp
def getitem_vjp(g, out, x, index):
    """∂x[i] = g scattered into zeros at i (repeated indices add up)"""
    return (untake(g, index, x.shape),)


@primitive
def untake(g, index, shape):
    """zeros(shape) with g added at `index`: the adjoint of indexing."""
    out = np.zeros(shape, dtype=np.result_type(g, np.float32))
    np.add.at(out, index, g)
    return out


@untake.defvjp
def untake_vjp(h, out, g, index, shape):
    """∂untake = h[index]"""
    return (h[index],)


@primitive
def masked_sum(x, mask):
    """Σ x over the entries where the boolean `mask` holds (the others are never touched, so a
    −inf among them cannot make 0·(−inf) = nan, as multiplying by the mask would)."""
    return x[mask].sum()


@masked_sum.defvjp
def masked_sum_vjp(g, out, x, mask):
    """∂Σ x[mask] = g·mask"""
    return (g * mask,)


@primitive
def stack(*xs):
    """The arrays xs stacked along a new first axis."""
    return np.stack(xs)


@stack.defvjp
def stack_vjp(g, out, *xs):
    """∂stack = (g[0], g[1], …)"""
    return tuple(g[i] for i in range(len(xs)))


# ---- linear algebra -----------------------------------------------------------------------

def _mT(a):
    """Swap the last two axes (the matrix transpose of a stack of matrices)."""
    return a.T if a.ndim == 2 else a.swapaxes(-1, -2)


def _matmul_like(a, b, like):
    """a @ b, laid out in memory like `like` (a transposed matrix, W.T in x @ W.T, gets a
    transposed gradient, so W's own gradient comes out contiguous: no copy, fast updates)."""
    d = data_of(like)
    if d.ndim == 2 and d.flags.f_contiguous and not d.flags.c_contiguous:
        return _mT(_mT(b) @ _mT(a))
    return a @ b


@primitive
def matmul(x, y):
    """x @ y (matrix, matrix-vector, vector-matrix and batched)."""
    return x @ y


@matmul.defvjp
def matmul_vjp(g, out, x, y, needs=(True, True)):
    """∂(x @ y) = (g @ yᵀ, xᵀ @ g), a vector operand taken as a one-row or one-column matrix"""
    vx, vy = x.ndim == 1, y.ndim == 1
    x2 = x.reshape((1, -1)) if vx else x
    y2 = y.reshape((-1, 1)) if vy else y
    if vx:
        g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:])
    if vy:
        g = g.reshape(g.shape + (1,))
    # The driver sums gx back to x's shape (batch axes, and the row added to a vector x).
    gx = _matmul_like(g, _mT(y2), x) if needs[0] else None
    gy = _matmul_like(_mT(x2), g, y) if needs[1] else None
    if vy and gy is not None:
        gy = gy.reshape(gy.shape[:-1])
    return gx, gy


# ---- the numpy op set: elementwise functions ----------------------------------------------
# Forward passes run numpy's own function on a float or an array (so a Value and a one-entry
# Tensor agree to the last bit); a value outside the domain is refused by name, as log does.

def _ufunc(f, x, name, bad=None, what=""):
    """f(x) for a float or an array; entries where `bad` holds raise ValueError naming f."""
    if bad is not None and np.any(bad):
        count = int(np.sum(bad))
        first = np.asarray(x)[np.asarray(bad)].flat[0] if np.ndim(x) else x
        raise ValueError(f"{name} of {what}: {count} of {np.size(x)} entries are outside "
                         f"its domain (first {float(first)!r})")
    # the domain's edges give ±inf silently, as log does
    out = f(x)
    return float(out) if type(x) is float else out


def _sign_of(x):
    """sign x from the raw data (−1, 0 or 1): a mask, carrying no gradient."""
    d = data_of(x)
    return float(np.sign(d)) if type(d) is float else np.sign(d)


def _masks(m):
    """A condition and its negation as multipliers: bools for a scalar, bool arrays otherwise."""
    m = data_of(m)
    if np.ndim(m) == 0:
        return bool(m), not bool(m)
    m = np.asarray(m, dtype=bool)
    return m, ~m


@primitive
def reciprocal(x):
    """1 / x, ±inf at 0 without a warning (the derivative at a pole of sqrt, log, artanh)."""
    if type(x) is float:
        return 1.0 / x if x else math.copysign(math.inf, x)
    return 1.0 / x


@reciprocal.defvjp
def reciprocal_vjp(g, out, x):
    """∂(1/x) = −g·out²"""
    return (-g * out * out,)


@primitive
def sign(x):
    """sign x ∈ {−1, 0, 1}"""
    return _ufunc(np.sign, x, "sign")


@sign.defvjp
def sign_vjp(g, out, x):
    """∂sign x = 0"""
    return (g * 0.0,)


@primitive
def sqrt(x):
    """√x (ValueError below zero)."""
    return _ufunc(np.sqrt, x, "sqrt", np.less(x, 0), "a negative number")


@sqrt.defvjp
def sqrt_vjp(g, out, x):
    """∂√x = g / (2·out)"""
    return (g * 0.5 * reciprocal(out),)


@primitive
def square(x):
    """x²"""
    return _ufunc(np.square, x, "square")


@square.defvjp
def square_vjp(g, out, x):
    """∂x² = 2·g·x"""
    return (2 * g * x,)


@primitive
def log2(x):
    """log₂ x (ValueError below zero, −inf at zero)."""
    return _ufunc(np.log2, x, "log2", np.less(x, 0), "a negative number")


@log2.defvjp
def log2_vjp(g, out, x):
    """∂log₂ x = g / (x·ln 2)"""
    return (g * reciprocal(x * math.log(2.0)),)


@primitive
def log10(x):
    """log₁₀ x (ValueError below zero, −inf at zero)."""
    return _ufunc(np.log10, x, "log10", np.less(x, 0), "a negative number")


@log10.defvjp
def log10_vjp(g, out, x):
    """∂log₁₀ x = g / (x·ln 10)"""
    return (g * reciprocal(x * math.log(10.0)),)


@primitive
def log1p(x):
    """ln(1 + x), exact for tiny x (ValueError below −1)."""
    return _ufunc(np.log1p, x, "log1p", np.less(x, -1), "a number below -1")


@log1p.defvjp
def log1p_vjp(g, out, x):
    """∂ln(1 + x) = g / (1 + x)"""
    return (g * reciprocal(1 + x),)


@primitive
def expm1(x):
    """eˣ − 1, exact for tiny x."""
    return _ufunc(np.expm1, x, "expm1")


@expm1.defvjp
def expm1_vjp(g, out, x):
    """∂(eˣ − 1) = g·(out + 1)"""
    return (g * (out + 1),)


@primitive
def tan(x):
    """tan x"""
    return _ufunc(np.tan, x, "tan")


@tan.defvjp
def tan_vjp(g, out, x):
    """∂tan x = g·(1 + out²)"""
    return (g * (1 + out * out),)


@primitive
def sinh(x):
    """sinh x"""
    return _ufunc(np.sinh, x, "sinh")


@sinh.defvjp
def sinh_vjp(g, out, x):
    """∂sinh x = g·cosh x"""
    return (g * cosh(x),)


@primitive
def cosh(x):
    """cosh x"""
    return _ufunc(np.cosh, x, "cosh")


@cosh.defvjp
def cosh_vjp(g, out, x):
    """∂cosh x = g·sinh x"""
    return (g * sinh(x),)


def _outside_unit(x):
    return np.greater(np.abs(x), 1)


@primitive
def arcsin(x):
    """arcsin x (ValueError outside [−1, 1])."""
    return _ufunc(np.arcsin, x, "arcsin", _outside_unit(x), "a number outside [-1, 1]")


@arcsin.defvjp
def arcsin_vjp(g, out, x):
    """∂arcsin x = g / √(1 − x²)"""
    return (g * reciprocal(sqrt((1 - x) * (1 + x))),)


@primitive
def arccos(x):
    """arccos x (ValueError outside [−1, 1])."""
    return _ufunc(np.arccos, x, "arccos", _outside_unit(x), "a number outside [-1, 1]")


@arccos.defvjp
def arccos_vjp(g, out, x):
    """∂arccos x = −g / √(1 − x²)"""
    return (-g * reciprocal(sqrt((1 - x) * (1 + x))),)


@primitive
def arctan(x):
    """arctan x"""
    return _ufunc(np.arctan, x, "arctan")


@arctan.defvjp
def arctan_vjp(g, out, x):
    """∂arctan x = g / (1 + x²)"""
    return (g / (1 + x * x),)


@primitive
def arcsinh(x):
    """arsinh x"""
    return _ufunc(np.arcsinh, x, "arcsinh")


@arcsinh.defvjp
def arcsinh_vjp(g, out, x):
    """∂arsinh x = g / √(x² + 1)"""
    return (g / sqrt(x * x + 1),)


@primitive
def arccosh(x):
    """arcosh x (ValueError below 1)."""
    return _ufunc(np.arccosh, x, "arccosh", np.less(x, 1), "a number below 1")


@arccosh.defvjp
def arccosh_vjp(g, out, x):
    """∂arcosh x = g / √((x − 1)(x + 1))"""
    return (g * reciprocal(sqrt((x - 1) * (x + 1))),)


@primitive
def arctanh(x):
    """artanh x (ValueError outside [−1, 1], ±inf at ±1)."""
    return _ufunc(np.arctanh, x, "arctanh", _outside_unit(x), "a number outside [-1, 1]")


@arctanh.defvjp
def arctanh_vjp(g, out, x):
    """∂artanh x = g / ((1 − x)(1 + x))"""
    return (g * reciprocal((1 - x) * (1 + x)),)


# ---- the numpy op set: elementwise functions of several arguments --------------------------

def _larger(x, y):
    """1 where x > y, ½ where they tie, 0 below: who gets the gradient of max(x, y)."""
    a, b = data_of(x), data_of(y)
    share = np.greater(a, b) + 0.5 * np.equal(a, b)
    return float(share) if np.ndim(share) == 0 else share


@primitive
def maximum(x, y):
    """max(x, y) elementwise."""
    if type(x) is float and type(y) is float:
        return float(np.maximum(x, y))
    return np.maximum(x, y)


@maximum.defvjp
def maximum_vjp(g, out, x, y):
    """∂max(x, y) = (g·[x > y], g·[y > x]), ties sharing g equally (as PyTorch)"""
    share = _larger(x, y)
    return g * share, g * (1 - share)


@primitive
def minimum(x, y):
    """min(x, y) elementwise."""
    if type(x) is float and type(y) is float:
        return float(np.minimum(x, y))
    return np.minimum(x, y)


@minimum.defvjp
def minimum_vjp(g, out, x, y):
    """∂min(x, y) = (g·[x < y], g·[y < x]), ties sharing g equally (as PyTorch)"""
    share = _larger(y, x)
    return g * share, g * (1 - share)


@primitive
def where(condition, x, y):
    """x where condition holds, else y (condition is data: it carries no gradient)."""
    if np.ndim(condition) == 0 and type(x) is float and type(y) is float:
        return x if condition else y
    return np.where(condition, x, y)


@where.defvjp
def where_vjp(g, out, condition, x, y):
    """∂where(c, x, y) = (·, g·c, g·¬c)"""
    yes, no = _masks(condition)
    return None, g * yes, g * no


@primitive
def clip(x, lo, hi):
    """x limited to [lo, hi] (either bound None for no limit)."""
    out = np.clip(x, lo, hi)
    return float(out) if type(x) is float else out


@clip.defvjp
def clip_vjp(g, out, x, lo, hi):
    """∂clip(x, lo, hi) = g·[lo ≤ x ≤ hi] (the bounds included, as PyTorch)"""
    d = data_of(x)
    inside = np.ones(np.shape(d), dtype=bool)
    if lo is not None:
        inside &= np.greater_equal(d, lo)
    if hi is not None:
        inside &= np.less_equal(d, hi)
    return (g * _masks(inside)[0], None, None)


# ---- the numpy op set: reductions, scans, shapes, products -----------------------------------

def _reverse(x, axis):
    """x reversed along one axis, by indexing (so it works on arrays and nodes alike)."""
    return x[(slice(None),) * axis + (slice(None, None, -1),)]


@primitive
def cumsum(x, axis):
    """Running sums of x along `axis` (an int: the caller flattens for axis=None)."""
    return np.cumsum(x, axis=axis)


@cumsum.defvjp
def cumsum_vjp(g, out, x, axis):
    """∂cumsum = the running sums of g taken from the end"""
    return (_reverse(cumsum(_reverse(g, axis), axis), axis),)


@primitive
def concatenate(axis, *xs):
    """The arrays xs joined along `axis` (first, so the arrays can follow in any number)."""
    return np.concatenate(xs, axis=axis)


@concatenate.defvjp
def concatenate_vjp(g, out, axis, *xs):
    """∂concatenate = g cut back into the pieces"""
    grads, start = [], 0
    for x in xs:
        stop = start + x.shape[axis]
        grads.append(g[(slice(None),) * axis + (slice(start, stop),)])
        start = stop
    return (None, *grads)


@primitive
def pad(x, widths, value):
    """x surrounded by `value`: widths[i] = (before, after) entries added on axis i."""
    return np.pad(x, widths, mode="constant", constant_values=value)


@pad.defvjp
def pad_vjp(g, out, x, widths, value):
    """∂pad = g with the padding cut off"""
    return (g[tuple(slice(b, b + n) for (b, _), n in zip(widths, x.shape))],)


@primitive
def norm(x, axis=None, keepdims=False):
    """√Σx² over `axis`: the Euclidean (Frobenius) norm."""
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


def _positive_or_one(x):
    """x where it is positive, 1 elsewhere: a safe denominator."""
    return _unit_where(x, _mask(np.asarray(data_of(x)) <= 0))


@norm.defvjp
def norm_vjp(g, out, x, axis=None, keepdims=False):
    """∂‖x‖ = g·x / ‖x‖, taken as 0 where ‖x‖ = 0 (as PyTorch)"""
    return (_kept(g, x, axis, keepdims) * x / _positive_or_one(_kept(out, x, axis, keepdims)),)


def _einsum_parts(subscripts: str, n: int) -> tuple[list[str], str]:
    """The subscripts of the n operands and of the output (implicit form made explicit)."""
    spec = subscripts.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != n or not all(t.isalpha() or not t for t in terms + [output]):
        raise ValueError(f"einsum subscripts {subscripts!r} are not letters for each of the {n} "
                         "operands (ellipsis '...' is not supported)")
    if any(len(set(t)) != len(t) for t in terms):
        raise ValueError(f"einsum subscripts {subscripts!r} repeat a letter within one operand "
                         "(a diagonal); take np.diagonal first")
    if not arrow:
        letters = "".join(terms)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return terms, output


@primitive
def einsum(subscripts, *xs):
    """Σ over the repeated letters of the product of xs, as numpy's einsum."""
    terms, output = _einsum_parts(subscripts, len(xs))
    return np.einsum(",".join(terms) + "->" + output, *xs)


@einsum.defvjp
def einsum_vjp(g, out, subscripts, *xs):
    """∂einsum: for operand i, the einsum of g with the other operands onto i's letters"""
    terms, output = _einsum_parts(subscripts, len(xs))
    grads = [None]
    for i, (term, x) in enumerate(zip(terms, xs)):
        others = [(t, o) for j, (t, o) in enumerate(zip(terms, xs)) if j != i]
        known = output + "".join(t for t, _ in others)
        # Letters only x has, summed away in the output: ones of their length bring them back.
        alone = [(c, np.ones(x.shape[term.index(c)])) for c in term if c not in known]
        parts = [(output, g), *others, *alone]
        grads.append(einsum(",".join(t for t, _ in parts) + "->" + term, *(a for _, a in parts)))
    return tuple(grads)


# ---- convolution and pooling ----------------------------------------------------------------
# Images are NCHW: (examples, channels, height, width); a kernel is (out, in, kh, kw). Windows
# are strided views of a zero-padded copy, so the arithmetic is one tensordot (BLAS) per call
# and the only Python loops run over kernel offsets, never over pixels. Every rule here is
# written with other primitives of this section, so it records under create_graph: any order
# of derivative works (the pooling masks, like relu's, are constant where they are defined).

def int_pair(v, name):
    """(a, a) from an int a, or a pair of ints as a tuple; anything else is an error."""
    pair = (v, v) if isinstance(v, (int, np.integer)) else v
    ints = isinstance(pair, (tuple, list)) and all(isinstance(a, (int, np.integer)) for a in pair)
    if not ints or len(pair) != 2:
        raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
    return int(pair[0]), int(pair[1])


def _out_size(size, k, s, p, what):
    """Output height and width of a window of k sliding by s over size padded by p."""
    (h, w), (kh, kw), (sh, sw), (ph, pw) = size, k, s, p
    if min(sh, sw) < 1 or min(ph, pw) < 0 or min(kh, kw) < 1:
        raise ValueError(f"{what}: kernel {k} and stride {s} must be positive and padding {p} "
                         "non-negative")
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(f"{what}: a {kh}x{kw} window does not fit an image of {h}x{w} "
                         f"(padding {ph}, {pw})")
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def _windows(x, k, s, p):
    """The (N, C, OH, OW, kh, kw) view of x's k-windows at stride s after zero padding p."""
    if p != (0, 0):
        x = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    win = np.lib.stride_tricks.sliding_window_view(x, k, axis=(2, 3))
    return win[:, :, ::s[0], ::s[1]]


def _spread(cols, shape, k, s, p):
    """The adjoint of _windows: (N, C, OH, OW, kh, kw) windows added back into an image of
    `shape`, one strided slice per kernel offset (a window's offsets never collide)."""
    n, c, h, w = shape
    out = np.zeros((n, c, h + 2 * p[0], w + 2 * p[1]), dtype=cols.dtype)
    for i, j, tap in _taps(out, k, s, cols.shape[2:4]):
        tap += cols[..., i, j]
    return out[:, :, p[0]:p[0] + h, p[1]:p[1] + w]


def _check_conv(x, w, b):
    """Refuse shapes a convolution cannot take, naming both."""
    if np.ndim(x) != 4 or np.ndim(w) != 4:
        raise ValueError(f"conv2d needs an input (N, C, H, W) and a kernel (out, in, kh, kw), "
                         f"got shapes {np.shape(x)} and {np.shape(w)}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"conv2d: input of shape {x.shape} has {x.shape[1]} channels but the "
                         f"kernel of shape {w.shape} takes {w.shape[1]}")
    if b is not None and np.shape(b) != (w.shape[0],):
        raise ValueError(f"conv2d: a kernel of shape {w.shape} needs a bias of shape "
                         f"({w.shape[0]},), got {np.shape(b)}")


@primitive
def conv2d(x, w, b=None, stride=1, padding=0):
    """z[n,o] = Σ_c x[n,c] ⋆ w[o,c] + b[o]: cross-correlation (as in PyTorch), NCHW."""
    _check_conv(x, w, b)
    s, p = int_pair(stride, "stride"), int_pair(padding, "padding")
    _out_size(x.shape[2:], w.shape[2:], s, p, "conv2d")
    win = _windows(x, w.shape[2:], s, p)
    z = np.tensordot(win, w, axes=((1, 4, 5), (1, 2, 3))).transpose(0, 3, 1, 2)
    z = np.ascontiguousarray(z)
    if b is not None:
        z += b.reshape(-1, 1, 1)
    return z


@conv2d.defvjp
def conv2d_vjp(g, out, x, w, b=None, stride=1, padding=0, needs=(True, True, True)):
    """∂z = (g full-convolved with the flipped kernel, x ⋆ g, Σ g over n, h, w)"""
    gx = conv2d_input_grad(g, w, x.shape, stride, padding) if needs[0] else None
    gw = conv2d_kernel_grad(x, g, w.shape, stride, padding) if needs[1] else None
    gb = g.sum(axis=(0, 2, 3)) if b is not None and needs[2] else None
    return gx, gw, gb


@primitive
def conv2d_input_grad(g, w, shape, stride=1, padding=0):
    """∂C/∂x of conv2d for x of `shape`: Σ_o g[n,o] full-convolved with w[o,c] (transposed conv)."""
    s, p = int_pair(stride, "stride"), int_pair(padding, "padding")
    cols = np.tensordot(g, w, axes=((1,), (0,))).transpose(0, 3, 1, 2, 4, 5)
    return _spread(cols, shape, w.shape[2:], s, p)


@conv2d_input_grad.defvjp
def conv2d_input_grad_vjp(h, out, g, w, shape, stride=1, padding=0, needs=(True, True)):
    """∂(convᵀ(g, w)) = (conv2d(h, w), h ⋆ g): the adjoint of the adjoint is the conv"""
    gg = conv2d(h, w, None, stride, padding) if needs[0] else None
    gw = conv2d_kernel_grad(h, g, w.shape, stride, padding) if needs[1] else None
    return gg, gw


@primitive
def conv2d_kernel_grad(x, g, shape, stride=1, padding=0):
    """∂C/∂w of conv2d for w of `shape`: Σ_n x[n,c] ⋆ g[n,o] (correlation of input and δ)."""
    s, p = int_pair(stride, "stride"), int_pair(padding, "padding")
    win = _windows(x, shape[2:], s, p)
    return np.tensordot(g, win, axes=((0, 2, 3), (0, 2, 3)))


@conv2d_kernel_grad.defvjp
def conv2d_kernel_grad_vjp(h, out, x, g, shape, stride=1, padding=0, needs=(True, True)):
    """∂(x ⋆ g) = (convᵀ(g, h), conv2d(x, h)): bilinear, each part a conv of the other"""
    gx = conv2d_input_grad(g, h, x.shape, stride, padding) if needs[0] else None
    gg = conv2d(x, h, None, stride, padding) if needs[1] else None
    return gx, gg


def _pool_args(x, kernel_size, stride, what):
    """(k, s, output size) checked against an (N, C, H, W) input; stride None means k."""
    if np.ndim(x) != 4:
        raise ValueError(f"{what} needs an input (N, C, H, W), got shape {np.shape(x)}")
    k = int_pair(kernel_size, "kernel_size")
    s = k if stride is None else int_pair(stride, "stride")
    return k, s, _out_size(x.shape[2:], k, s, (0, 0), what)


def _tap(x, i, j, s, out):
    """The view x[:, :, s·y + i, s·x + j] over the output positions (y, x) of shape `out`."""
    return x[:, :, i:i + s[0] * (out[0] - 1) + 1:s[0], j:j + s[1] * (out[1] - 1) + 1:s[1]]


def _taps(x, k, s, out):
    """(i, j, _tap(x, i, j, s, out)) for each kernel offset (i, j), in scan order."""
    for i in range(k[0]):
        for j in range(k[1]):
            yield i, j, _tap(x, i, j, s, out)


def _max_hits(x, k, s):
    """(i, j, mask of the windows whose arg-max is offset (i, j)) for each offset: the
    first offset equal to the window's max in scan order, so ties go to the first (PyTorch's
    rule)."""
    top = max_pool2d.fun(x, k, s)
    free = np.ones(top.shape, dtype=bool)
    for i, j, tap in _taps(x, k, s, top.shape[2:]):
        hit = (tap == top) & free
        free &= ~hit
        yield i, j, hit


@primitive
def max_pool2d(x, kernel_size, stride=None):
    """out[n,c,i,j] = max of x[n,c] over window (i, j)."""
    k, s, size = _pool_args(x, kernel_size, stride, "max_pool2d")
    # One elementwise maximum per kernel offset: far faster than a reduction over the
    # window view's two short trailing axes.
    out = None
    for _, _, tap in _taps(x, k, s, size):
        out = tap.copy() if out is None else np.maximum(out, tap, out=out)
    return out


@max_pool2d.defvjp
def max_pool2d_vjp(g, out, x, kernel_size, stride=None):
    """∂max pool = g routed to each window's arg-max (ties: the first, as in PyTorch)"""
    return (max_unpool2d(g, x, kernel_size, stride),)


@primitive
def max_unpool2d(g, x, kernel_size, stride=None):
    """zeros like x with each g[n,c,i,j] added at the arg-max of x's window (i, j)."""
    k, s, _ = _pool_args(x, kernel_size, stride, "max_unpool2d")
    out = np.zeros(x.shape, dtype=np.result_type(g, np.float32))
    for i, j, hit in _max_hits(x, k, s):
        _tap(out, i, j, s, g.shape[2:])[...] += g * hit
    return out


@max_unpool2d.defvjp
def max_unpool2d_vjp(h, out, g, x, kernel_size, stride=None):
    """∂unpool = (h read at each window's arg-max of x, nothing for x: the routing is constant)"""
    return max_pick2d(h, x, kernel_size, stride), None


@primitive
def max_pick2d(h, x, kernel_size, stride=None):
    """h[n,c] read at the arg-max of each of x's windows: the adjoint of max_unpool2d."""
    k, s, _ = _pool_args(x, kernel_size, stride, "max_pick2d")
    out = 0.0
    for i, j, hit in _max_hits(x, k, s):
        out = out + _tap(h, i, j, s, hit.shape[2:]) * hit
    return out


@max_pick2d.defvjp
def max_pick2d_vjp(g, out, h, x, kernel_size, stride=None):
    """∂pick = (g put back at the arg-max, nothing for x)"""
    return max_unpool2d(g, x, kernel_size, stride), None


@primitive
def avg_pool2d(x, kernel_size, stride=None):
    """out[n,c,i,j] = mean of x[n,c] over window (i, j)."""
    k, s, size = _pool_args(x, kernel_size, stride, "avg_pool2d")
    return sum(tap for _, _, tap in _taps(x, k, s, size)) / (k[0] * k[1])


@avg_pool2d.defvjp
def avg_pool2d_vjp(g, out, x, kernel_size, stride=None):
    """∂average pool = g / (kh·kw) spread over each window"""
    return (avg_unpool2d(g, x.shape, kernel_size, stride),)


@primitive
def avg_unpool2d(g, shape, kernel_size, stride=None):
    """An image of `shape` with g[n,c,i,j] / (kh·kw) added over window (i, j)."""
    k = int_pair(kernel_size, "kernel_size")
    s = k if stride is None else int_pair(stride, "stride")
    cols = np.broadcast_to((g / (k[0] * k[1]))[..., None, None], g.shape + k)
    return _spread(cols, shape, k, s, (0, 0))


@avg_unpool2d.defvjp
def avg_unpool2d_vjp(h, out, g, shape, kernel_size, stride=None):
    """∂spread = average pool of h (the two are adjoint)"""
    return (avg_pool2d(h, kernel_size, stride),)
