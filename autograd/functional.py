"""Functional differentiation: grad, value_and_grad, vjp, jacobian, hessian.

Each takes a function and gives a function. Plain floats and arrays go in and come out, so
`grad(f)(2.0)` is a float and `grad(f)(np.ones(3))` an ndarray. Called on a Value or Tensor
that is itself being differentiated, they record their own backward pass, which is how
`grad(grad(f))` and `hessian` get derivatives of any order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd import rules
from autograd.graph import Node, backward_pass, enable_grad
from autograd.tensor import Tensor, _as_array
from autograd.value import Value


def _wrt_node(x: Any) -> tuple[Node, bool]:
    """A fresh node to differentiate with respect to, and whether x was itself a traced node.

    A traced x (from an outer grad) is passed through an identity op, so the gradient found
    here stays a function of the outer variable.
    """
    if isinstance(x, Node):
        if x.requires_grad:
            return rules.identity(x), True
        x = x.data
    if isinstance(x, (bool, str)) or x is None:
        raise TypeError(f"cannot differentiate with respect to a {type(x).__name__}")
    if isinstance(x, (float, int, np.floating, np.integer)) and not isinstance(x, np.ndarray):
        return Value(float(x)), False
    return Tensor(_as_array(x), requires_grad=True), False


def _zeros_like(x: Node, traced: bool) -> Any:
    zero = 0.0 if isinstance(x, Value) else np.zeros_like(x.data)
    if not traced:
        return zero
    return Value._from_data(zero) if isinstance(x, Value) else Tensor._from_data(zero)


def _seed(out: Node, traced: bool) -> Any:
    one = 1.0 if isinstance(out, Value) else np.ones_like(out.data)
    if traced:
        return Value._from_data(one) if isinstance(out, Value) else Tensor._from_data(one)
    return one


def _scalar_output(out: Any, name: str) -> None:
    size = 1 if isinstance(out, Value) else getattr(out, "size", None)
    if not isinstance(out, Node) or size != 1:
        what = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
        raise TypeError(f"{name} needs a function with one scalar output (a Value or a "
                        f"one-entry Tensor), got {what}; use jacobian for vector outputs")


def value_and_grad(f: Callable[..., Any], argnum: int | Sequence[int] = 0
                   ) -> Callable[..., tuple[Any, Any]]:
    """A function returning (f(*args), ∂f/∂args[argnum]); f must give one scalar."""
    _callable(f, "value_and_grad")
    argnums = _argnums(argnum)

    def value_and_grad_f(*args: Any) -> tuple[Any, Any]:
        args = list(args)
        for i in argnums:
            if not -len(args) <= i < len(args):
                raise IndexError(f"argnum {i} is out of range for {len(args)} arguments")
        # Traced arguments (an outer grad's variables) make this pass record its own backward,
        # so what it returns can be differentiated again, even with respect to other args.
        traced = any(isinstance(a, Node) and a.requires_grad for a in args)
        made = [_wrt_node(args[i]) for i in argnums]
        for i, (node, _) in zip(argnums, made):
            args[i] = node
        with enable_grad():
            out = f(*args)
        if isinstance(out, Node) and not out.requires_grad:
            grads = [_zeros_like(n, traced) for n, _ in made]
        else:
            _scalar_output(out, "grad")
            grads = backward_pass(out, _seed(out, traced), wrt=tuple(n for n, _ in made),
                             create_graph=traced)
            grads = [_zeros_like(n, traced) if g is None else g
                     for g, (n, _) in zip(grads, made)]
        if not traced:
            out, grads = rules.data_of(out), [_as_raw_like(g, n) for g, (n, _) in zip(grads, made)]
        return out, grads[0] if isinstance(argnum, int) else tuple(grads)

    return value_and_grad_f


def _callable(f: Any, name: str) -> None:
    if not callable(f):
        raise TypeError(f"{name} needs a function to differentiate, got {type(f).__name__}")


def _argnums(argnum: Any) -> tuple[int, ...]:
    """argnum as a non-empty tuple of ints, or a TypeError saying what it should be."""
    nums = (argnum,) if isinstance(argnum, int) else argnum
    try:
        nums = tuple(nums)
    except TypeError:
        nums = ()
    if not nums or not all(isinstance(i, int) and not isinstance(i, bool) for i in nums):
        raise TypeError(f"argnum must be an int or a sequence of ints, got {argnum!r}")
    return nums


def _as_raw_like(g: Any, node: Node) -> Any:
    """A first-order gradient as the caller's type: float for a Value, ndarray for a Tensor."""
    g = rules.data_of(g)
    return float(g) if isinstance(node, Value) else np.asarray(g, dtype=node.data.dtype)


def grad(f: Callable[..., Any], argnum: int | Sequence[int] = 0) -> Callable[..., Any]:
    """∂f/∂args[argnum] as a function; nest it for higher derivatives: grad(grad(f))."""
    _callable(f, "grad")
    vg = value_and_grad(f, argnum)

    def grad_f(*args: Any) -> Any:
        return vg(*args)[1]

    return grad_f


def vjp(f: Callable[[Any], Any], x: Any) -> tuple[Any, Callable[[Any], Any]]:
    """(f(x), v ↦ vᵀ·∂f/∂x): the output and its vector-Jacobian product, reusable."""
    _callable(f, "vjp")
    node, traced = _wrt_node(x)
    with enable_grad():
        out = f(node)
    if not isinstance(out, Node):
        raise TypeError(f"vjp needs f to return a Value or Tensor, got {type(out).__name__}")

    def vjp_fn(v: Any) -> Any:
        if not out.requires_grad:
            return _zeros_like(node, traced)
        seed = _vjp_seed(out, v, traced)
        (g,) = backward_pass(out, seed, wrt=(node,), create_graph=traced, retain_graph=True)
        g = _zeros_like(node, traced) if g is None else g
        return g if traced else _as_raw_like(g, node)

    return (out if traced else rules.data_of(out)), vjp_fn


def _vjp_seed(out: Node, v: Any, traced: bool) -> Any:
    if isinstance(out, Value):
        seed = float(rules.data_of(v))
        return Value._from_data(seed) if traced else seed
    if isinstance(v, Tensor) and traced:
        seed = v
    else:
        seed = _as_array(rules.data_of(v), out.dtype)
        if traced:
            seed = Tensor._from_data(seed)
    if seed.shape != out.shape:
        raise ValueError(f"vjp vector has shape {seed.shape}, the output has shape "
                         f"{out.shape}")
    return seed


def jacobian(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """∂f/∂x as an array of shape f(x).shape + x.shape (a float for scalar to scalar)."""
    _callable(f, "jacobian")

    def jacobian_f(x: Any) -> Any:
        out, pullback = vjp(f, x)
        out_shape = np.shape(rules.data_of(out))
        in_shape = np.shape(rules.data_of(x))
        rows = []
        for i in range(int(np.prod(out_shape, dtype=int))):
            e = np.zeros(int(np.prod(out_shape, dtype=int)))
            e[i] = 1.0
            rows.append(pullback(e.reshape(out_shape) if out_shape else e[0]))
        if not rows:  # a zero-size output: its jacobian has no entries either
            dtype = np.asarray(rules.data_of(x)).dtype
            return np.zeros(out_shape + in_shape, dtype if dtype.kind == "f" else np.float64)
        if isinstance(out, Node):
            return _stack(rows, out_shape + in_shape)
        if not out_shape and not in_shape:
            return float(rows[0])
        return np.stack([np.asarray(r) for r in rows]).reshape(out_shape + in_shape)

    return jacobian_f


def _stack(rows: list[Any], shape: tuple[int, ...]) -> Any:
    """Stack traced rows into one node (so a jacobian can itself be differentiated)."""
    if isinstance(rows[0], Value):
        return rows[0]
    return rules.stack(*rows).reshape(shape)


def hessian(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """∂²f/∂x² for scalar f, shape x.shape + x.shape (a float for scalar x)."""
    return jacobian(grad(f))
