"""The composite ops of the numpy op set: exact compositions of the rules in the one table.

Each is written with ruled primitives (indexing, reshape, transpose, sum, matmul, multiply),
so its gradient, at every order, is the chain rule through those rules: nothing new to get
wrong. Tensor methods and numpy's functions (`np.var(t)`, `np.tensordot(a, t)`) both land
here. Arguments that are not Tensors (an ndarray in `np.dot(a, t)`) become constants.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from autograd import rules, tensor

if TYPE_CHECKING:
    from autograd.tensor import Tensor


def _t(x: Any) -> Tensor:
    """x as a Tensor: itself, or a constant for raw data."""
    return x if isinstance(x, tensor.Tensor) else tensor.Tensor(x)


def _axis1(axis: Any, ndim: int, name: str) -> int:
    """One axis as a non-negative int, checked against ndim."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis {axis} is out of range for {ndim} axes")
    return int(axis) % ndim


def _axes(axis: Any, ndim: int, name: str) -> tuple[int, ...]:
    """Axes (None for all) as a tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(_axis1(a, ndim, name) for a in (axis if isinstance(axis, (tuple, list))
                                                 else (axis,)))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name}: repeated axis in {axis!r}")
    return axes


def _along(ndim: int, axis: int, index: Any) -> tuple[Any, ...]:
    """An index that applies `index` to one axis and keeps the others whole."""
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


# ---- statistics ---------------------------------------------------------------------------

def var(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Σ(x − mean)² / (n − ddof) over axis."""
    x = _t(x)
    axes = _axes(axis, x.ndim, "var")
    n = math.prod(x.shape[a] for a in axes)
    if n - ddof <= 0:
        raise ValueError(f"var over {n} entries with ddof={ddof}: no degrees of freedom left")
    d = x - x.mean(axes, keepdims=True)
    return (d * d).sum(axes, keepdims=keepdims) / (n - ddof)


def std(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """√var over axis."""
    return rules.sqrt(var(x, axis, ddof, keepdims))


def prod(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Π x over axis: halves multiplied pairwise, exact where entries are zero."""
    x = _t(x)
    for a in sorted(_axes(axis, x.ndim, "prod")):
        x = _prod_along(x, a)
    if keepdims:
        return x
    kept = _axes(axis, x.ndim, "prod")
    return x.reshape(tuple(n for i, n in enumerate(x.shape) if i not in kept))


def _prod_along(x: Tensor, axis: int) -> Tensor:
    """Π x along one axis, keeping it with length 1 (log₂ n products, no division by x)."""
    if x.shape[axis] == 0:
        return tensor.Tensor(np.ones(x.shape[:axis] + (1,) + x.shape[axis + 1:], dtype=x.dtype))
    while x.shape[axis] > 1:
        n = x.shape[axis]
        half = x[_along(x.ndim, axis, slice(0, n // 2))] * x[
            _along(x.ndim, axis, slice(n // 2, 2 * (n // 2)))]
        if n % 2:
            half = concatenate([half, x[_along(x.ndim, axis, slice(n - 1, n))]], axis)
        x = half
    return x


def cumsum(x: Any, axis: Any = None) -> Tensor:
    """Running sums along axis (of the flattened tensor when axis is None)."""
    x = _t(x)
    if axis is None:
        return rules.cumsum(x.reshape(-1), 0)
    return rules.cumsum(x, _axis1(axis, x.ndim, "cumsum"))


def diff(x: Any, n: int = 1, axis: int = -1) -> Tensor:
    """The n-th forward difference along axis: x[1:] − x[:-1], n times."""
    x = _t(x)
    axis = _axis1(axis, x.ndim, "diff")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"diff: n must be a non-negative int, got {n!r}")
    for _ in range(n):
        x = x[_along(x.ndim, axis, slice(1, None))] - x[_along(x.ndim, axis, slice(None, -1))]
    return x


# ---- shapes -------------------------------------------------------------------------------

def flip(x: Any, axis: Any = None) -> Tensor:
    """The entries in reverse order along axis (all axes when None)."""
    x = _t(x)
    axes = _axes(axis, x.ndim, "flip")
    return x[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(x.ndim))]


def squeeze(x: Any, axis: Any = None) -> Tensor:
    """The length-1 axes removed (only those in axis, when given)."""
    x = _t(x)
    axes = _axes(axis, x.ndim, "squeeze") if axis is not None else tuple(
        i for i, n in enumerate(x.shape) if n == 1)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has length {x.shape[a]}, not 1")
    return x.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))


def expand_dims(x: Any, axis: Any) -> Tensor:
    """New length-1 axes at the positions in axis (of the result)."""
    x = _t(x)
    ndim = x.ndim + (len(axis) if isinstance(axis, (tuple, list)) else 1)
    axes = _axes(axis, ndim, "expand_dims")
    sizes = iter(x.shape)
    return x.reshape(tuple(1 if i in axes else next(sizes) for i in range(ndim)))


def moveaxis(x: Any, source: Any, destination: Any) -> Tensor:
    """Axes moved from source to destination, the others keeping their order."""
    x = _t(x)
    src = _axes(source, x.ndim, "moveaxis")
    dst = _axes(destination, x.ndim, "moveaxis")
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: {len(src)} source axes but {len(dst)} destinations")
    order = [i for i in range(x.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return x.transpose(tuple(order))


def flatten(x: Any) -> Tensor:
    """The entries as one axis (C order)."""
    return _t(x).reshape(-1)


def concatenate(xs: Any, axis: Any = 0) -> Tensor:
    """The tensors joined along an existing axis (flattened first when axis is None)."""
    xs = [_t(x) for x in xs]
    if not xs:
        raise ValueError("concatenate needs at least one array")
    if axis is None:
        xs, axis = [x.reshape(-1) for x in xs], 0
    if xs[0].ndim == 0:
        raise ValueError("concatenate needs arrays with at least one axis, got a 0-d one")
    axis = _axis1(axis, xs[0].ndim, "concatenate")
    for x in xs[1:]:
        if x.ndim != xs[0].ndim or any(a != b for i, (a, b) in enumerate(zip(x.shape, xs[0].shape))
                                       if i != axis):
            raise ValueError(f"concatenate along axis {axis}: shapes "
                             f"{[t.shape for t in xs]} differ off that axis")
    return rules.concatenate(axis, *xs)


def stack(xs: Any, axis: int = 0) -> Tensor:
    """The tensors (all of one shape) stacked along a new axis."""
    xs = [_t(x) for x in xs]
    if not xs:
        raise ValueError("stack needs at least one array")
    if any(x.shape != xs[0].shape for x in xs):
        raise ValueError(f"stack needs arrays of one shape, got {[x.shape for x in xs]}")
    return concatenate([expand_dims(x, axis) for x in xs], axis)


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """x cut along axis into equal sections, or at the given indices."""
    x = _t(x)
    axis = _axis1(axis, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: an axis of length {n} does not divide into {k} equal "
                             "sections")
        cuts = [n // k * i for i in range(1, k)]
    else:
        cuts = [int(c) for c in indices_or_sections]
    edges = [0, *cuts, n]
    return [x[_along(x.ndim, axis, slice(a, max(a, b)))] for a, b in pairwise(edges)]


def repeat(x: Any, repeats: Any, axis: Any = None) -> Tensor:
    """Each entry repeated along axis (of the flattened tensor when None), by indexing."""
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = _axis1(axis, x.ndim, "repeat")
    index = np.repeat(np.arange(x.shape[axis]), repeats)
    return x[_along(x.ndim, axis, index)]


def tile(x: Any, reps: Any) -> Tensor:
    """x repeated reps[i] times along axis i, by indexing."""
    x = _t(x)
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    if len(reps) > x.ndim:
        x = x.reshape((1,) * (len(reps) - x.ndim) + x.shape)
    reps = (1,) * (x.ndim - len(reps)) + reps
    for axis, r in enumerate(reps):
        if r != 1:
            x = x[_along(x.ndim, axis, np.tile(np.arange(x.shape[axis]), r))]
    return x


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Tensor:
    """x surrounded by constant_values (mode 'constant', the one mode with a rule)."""
    x = _t(x)
    if mode != "constant":
        raise TypeError(f"pad: mode {mode!r} has no gradient rule; only 'constant' does")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
    if (widths < 0).any():
        raise ValueError(f"pad: widths must be non-negative, got {pad_width!r}")
    if np.ndim(constant_values) != 0:
        raise TypeError("pad: constant_values must be one number for a Tensor")
    return rules.pad(x, tuple(map(tuple, widths.tolist())), float(constant_values))


# ---- products -----------------------------------------------------------------------------

def outer(a: Any, b: Any) -> Tensor:
    """a (flattened) as a column times b (flattened) as a row."""
    return _t(a).reshape(-1, 1) * _t(b).reshape(1, -1)


def tensordot(a: Any, b: Any, axes: Any = 2) -> Tensor:
    """Σ over a's axes[0] and b's axes[1] of a·b, as one matmul of two reshaped tensors."""
    a, b = _t(a), _t(b)
    if isinstance(axes, (int, np.integer)):
        axes = (list(range(a.ndim - axes, a.ndim)), list(range(axes)))
    ia, ib = (_axes(ax, t.ndim, "tensordot") for ax, t in zip(axes, (a, b)))
    if [a.shape[i] for i in ia] != [b.shape[i] for i in ib]:
        raise ValueError(f"tensordot: the summed axes of shapes {a.shape} and {b.shape} "
                         "differ in length")
    fa = [i for i in range(a.ndim) if i not in ia]
    fb = [i for i in range(b.ndim) if i not in ib]
    k = math.prod(a.shape[i] for i in ia)
    left = a.transpose(tuple(fa + list(ia))).reshape(-1, k)
    right = b.transpose(tuple(list(ib) + fb)).reshape(k, -1)
    return (left @ right).reshape(tuple(a.shape[i] for i in fa) + tuple(b.shape[i] for i in fb))


def dot(a: Any, b: Any) -> Tensor:
    """numpy's dot: a product for scalars, matmul up to 2-D, else Σ over a's last, b's
    second-to-last axis."""
    a, b = _t(a), _t(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim == 1 or (a.ndim <= 2 and b.ndim <= 2):
        return a @ b
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 2]))


def inner(a: Any, b: Any) -> Tensor:
    """Σ over the last axes of a and b of a·b (a product for scalars)."""
    a, b = _t(a), _t(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """numpy's einsum on letter subscripts (explicit or implicit output)."""
    if not isinstance(subscripts, str):
        raise TypeError("einsum needs the subscripts as a string first")
    return rules.einsum(subscripts, *(_t(x) for x in operands))


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The entries x[..., i, i + offset] of the two axes, as a last axis (numpy's order)."""
    x = _t(x)
    if x.ndim < 2:
        raise ValueError(f"diagonal needs at least 2 axes, got shape {x.shape}")
    a1, a2 = _axis1(axis1, x.ndim, "diagonal"), _axis1(axis2, x.ndim, "diagonal")
    if a1 == a2:
        raise ValueError("diagonal: axis1 and axis2 must differ")
    m = moveaxis(x, (a1, a2), (-2, -1))
    rows, cols = m.shape[-2], m.shape[-1]
    start_r, start_c = max(-offset, 0), max(offset, 0)
    k = max(0, min(rows - start_r, cols - start_c))
    i = np.arange(k)
    return m[..., start_r + i, start_c + i]


def matrix_trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """Σ of the diagonal."""
    return diagonal(x, offset, axis1, axis2).sum(-1)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:
    """‖x‖: Euclidean/Frobenius by default; ord 1, inf, -inf or p > 0 for vector norms."""
    x = _t(x)
    axes = None if axis is None else _axes(axis, x.ndim, "norm")
    vector = x.ndim == 1 if axes is None else len(axes) == 1
    if ord in (None, "fro") or (ord == 2 and vector):
        return rules.norm(x, axes, keepdims)
    if not vector:
        raise TypeError(f"norm: ord={ord!r} is supported for vectors (one axis); matrix norms "
                        "other than 'fro' have no rule")
    a = abs(x)
    if ord == math.inf:
        return a.max(axes, keepdims)
    if ord == -math.inf:
        return a.min(axes, keepdims)
    if isinstance(ord, bool) or not isinstance(ord, (int, float)) or not ord > 0:
        raise ValueError(f"norm: ord must be positive, inf or -inf, got {ord!r}")
    if ord == 1:
        return a.sum(axes, keepdims)
    return (a ** ord).sum(axes, keepdims) ** (1.0 / ord)
