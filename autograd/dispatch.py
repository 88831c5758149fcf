"""numpy's functions on Tensors: `np.exp(t)`, `np.sum(t, axis=0)`, `np.dot(a, t)` record.

Tensor's `__array_ufunc__` and `__array_function__` hand numpy's calls to the two tables
below, which map each numpy function to its rule (or to an exact composition of rules in
autograd.ops). What has no gradient (comparisons, argmax, np.shape) runs on the data and
returns plain arrays. A numpy function in neither table raises TypeError naming it: a Tensor
is never silently turned into a constant array.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from autograd import factories, ops, rules
from autograd.tensor import Tensor, _binary, _operand

# ---- ufuncs ---------------------------------------------------------------------------------

_BINARY = {np.add: (rules.add, "+"), np.subtract: (rules.sub, "-"),
           np.multiply: (rules.mul, "*"), np.true_divide: (rules.div, "/"),
           np.power: (rules.power, "**"), np.matmul: (rules.matmul, "@"),
           np.maximum: (rules.maximum, "maximum"), np.minimum: (rules.minimum, "minimum")}

_UNARY = {np.negative: rules.neg, np.exp: rules.exp, np.log: rules.log, np.sin: rules.sin,
          np.cos: rules.cos, np.tanh: rules.tanh, np.absolute: rules.abs_, np.sign: rules.sign,
          np.sqrt: rules.sqrt, np.square: rules.square, np.log2: rules.log2,
          np.log10: rules.log10, np.log1p: rules.log1p, np.expm1: rules.expm1,
          np.tan: rules.tan, np.sinh: rules.sinh, np.cosh: rules.cosh, np.arcsin: rules.arcsin,
          np.arccos: rules.arccos, np.arctan: rules.arctan, np.arcsinh: rules.arcsinh,
          np.arccosh: rules.arccosh, np.arctanh: rules.arctanh,
          np.positive: lambda x: x, np.reciprocal: rules.reciprocal}

# Their outputs are booleans or integers: no gradient, so they run on the data.
_PLAIN_UFUNCS = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
                 np.isfinite, np.isnan, np.isinf, np.signbit, np.logical_and, np.logical_or,
                 np.logical_not, np.logical_xor}

_REDUCE = {np.add: "sum", np.maximum: "max", np.minimum: "min"}


def _raw(x: Any) -> Any:
    """x with every Tensor inside it (lists and tuples too) replaced by its data."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_raw(i) for i in x)
    return x


def _refuse_out(name: str, kwargs: dict[str, Any]) -> None:
    if kwargs.pop("out", None) is not None:
        raise TypeError(f"{name}(..., out=...) on a Tensor: a Tensor result is a new node in the "
                        "graph and cannot be written into an existing array; assign it instead "
                        "(y = f(t))")


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
    """numpy ufunc `ufunc.method(*inputs, **kwargs)` with a Tensor among the inputs."""
    name = f"numpy.{ufunc.__name__}"
    _refuse_out(name, kwargs)
    if ufunc in _PLAIN_UFUNCS:
        return getattr(ufunc, method)(*_raw(inputs), **kwargs)
    if method == "reduce" and ufunc in _REDUCE and not set(kwargs) - {"axis", "keepdims"}:
        return getattr(inputs[0], _REDUCE[ufunc])(kwargs.get("axis", 0),
                                                  kwargs.get("keepdims", False))
    if method != "__call__" or (ufunc not in _BINARY and ufunc not in _UNARY):
        what = name if method == "__call__" else f"{name}.{method}"
        raise TypeError(f"{what} has no gradient rule for Tensors; see autograd.dispatch for "
                        "the numpy functions that have one")
    if kwargs:
        raise TypeError(f"{name} on a Tensor takes no keyword arguments, got "
                        f"{', '.join(sorted(kwargs))}")
    if ufunc in _BINARY:
        op, sym = _BINARY[ufunc]
        x, y = (a if isinstance(a, Tensor) else _operand(a, sym) for a in inputs)
        return _binary(op, x, y, sym)
    return _UNARY[ufunc](inputs[0])


# ---- functions ------------------------------------------------------------------------------

def _where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None and y is None:
        return np.nonzero(_raw(condition))
    if isinstance(condition, Tensor):
        condition = condition.data != 0
    x, y = (a if isinstance(a, Tensor) else _operand(a, "where") for a in (x, y))
    return rules.where(np.asarray(condition, dtype=bool), x, y)


def _clip(a: Any, a_min: Any = None, a_max: Any = None) -> Tensor:
    return ops._t(a).clip(a_min, a_max)


def _plain(name: str, dtype: Any = None, out: Any = None) -> None:
    """Refuse numpy's dtype= and out= given positionally (keywords are refused earlier)."""
    if out is not None:
        _refuse_out(name, {"out": out})
    if dtype is not None:
        raise TypeError(f"{name} on a Tensor takes no dtype (a Tensor computes in its own)")


# numpy's positional orders: sum(a, axis, dtype, out, keepdims), max(a, axis, out, keepdims).
def _summing(method: str) -> Callable[..., Tensor]:
    def reduce(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
               keepdims: bool = False) -> Tensor:
        _plain(f"numpy.{method}", dtype, out)
        return getattr(ops._t(a), method)(axis, keepdims=keepdims)
    return reduce


def _extreme(method: str) -> Callable[..., Tensor]:
    def reduce(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Tensor:
        _plain(f"numpy.{method}", None, out)
        return getattr(ops._t(a), method)(axis, keepdims)
    return reduce


def _spread_arguments(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def spread(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: int = 0,
               keepdims: bool = False) -> Tensor:
        _plain(f"numpy.{fn.__name__}", dtype, out)
        return fn(a, axis, ddof, keepdims)
    return spread


def _cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Tensor:
    _plain("numpy.cumsum", dtype, out)
    return ops.cumsum(a, axis)


def _reshape(a: Any, newshape: Any = None, order: str = "C", *, shape: Any = None) -> Tensor:
    if order != "C":
        raise TypeError(f"numpy.reshape on a Tensor supports order='C' only, got {order!r}")
    return ops._t(a).reshape(newshape if shape is None else shape)


def _transpose(a: Any, axes: Any = None) -> Tensor:
    return ops._t(a).transpose(axes)


def _swapaxes(a: Any, axis1: int, axis2: int) -> Tensor:
    return ops._t(a).swapaxes(axis1, axis2)


def _ravel(a: Any, order: str = "C") -> Tensor:
    return ops.flatten(a)


def _broadcast_to(array: Any, shape: Any) -> Tensor:
    return rules.broadcast_to(ops._t(array), tuple(np.broadcast_shapes(np.shape(array), shape)))


_FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {
    np.sum: _summing("sum"), np.mean: _summing("mean"), np.prod: _summing("prod"),
    np.max: _extreme("max"), np.amax: _extreme("max"), np.min: _extreme("min"),
    np.amin: _extreme("min"), np.var: _spread_arguments(ops.var),
    np.std: _spread_arguments(ops.std),
    np.cumsum: _cumsum,
    np.diff: ops.diff, np.flip: ops.flip, np.squeeze: ops.squeeze,
    np.expand_dims: ops.expand_dims, np.moveaxis: ops.moveaxis, np.ravel: _ravel,
    np.reshape: _reshape, np.transpose: _transpose, np.swapaxes: _swapaxes,
    np.concatenate: ops.concatenate, np.stack: ops.stack, np.split: ops.split,
    np.repeat: ops.repeat, np.tile: ops.tile, np.pad: ops.pad, np.outer: ops.outer,
    np.inner: ops.inner, np.dot: ops.dot, np.tensordot: ops.tensordot, np.einsum: ops.einsum,
    np.trace: ops.matrix_trace, np.diagonal: ops.diagonal, np.linalg.norm: ops.norm,
    np.where: _where, np.clip: _clip, np.broadcast_to: _broadcast_to,
    np.zeros_like: factories.zeros_like, np.ones_like: factories.ones_like,
    np.full_like: factories.full_like,
}

# No gradient flows through these (shapes, positions, truth values): they see the data only.
_PLAIN = {np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.nonzero,
          np.flatnonzero, np.count_nonzero, np.isclose, np.allclose, np.array_equal,
          np.array_equiv, np.result_type, np.may_share_memory, np.shares_memory,
          np.iscomplexobj, np.isrealobj, np.all, np.any}

_SIGNATURES = {f: inspect.signature(impl) for f, impl in _FUNCTIONS.items()}
# How many positional arguments each takes: calls within that need no signature check (numpy's
# own dispatcher has already refused missing arguments).
_POSITIONAL = {f: sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in
                      sig.parameters.values()) for f, sig in _SIGNATURES.items()}


def array_function(func: Callable[..., Any], args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> Any:
    """numpy function `func(*args, **kwargs)` with a Tensor among the arguments."""
    name = f"{func.__module__}.{func.__name__}"
    if func in _PLAIN:
        return func(*_raw(args), **{k: _raw(v) for k, v in kwargs.items()})
    impl = _FUNCTIONS.get(func)
    if impl is not None and not kwargs and len(args) <= _POSITIONAL[func]:
        return impl(*args)
    if impl is None:
        raise TypeError(f"{name} has no gradient rule for Tensors (a Tensor is never silently "
                        "turned into a constant array); use t.data for a constant, or see "
                        "autograd.dispatch for the functions that have one")
    kwargs = dict(kwargs)
    _refuse_out(name, kwargs)
    try:
        _SIGNATURES[func].bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{name} on a Tensor: {e}; it takes {_SIGNATURES[func]}") from None
    return impl(*args, **kwargs)
