"""The independent witnesses, and the tools to find out which rules each of them would catch.

A witness computes a gradient with the engine and compares it with a reference that shares
no derivative rule with it: central finite differences of the catalog's numpy reference
(tests/witnesses/finite_differences.py), finite differences of finite differences for second
derivatives, and the
document's δ recursion (nn.delta, plain numpy) for networks. `run()` returns '' when the two
agree and a report when they do not.

The rules are found by walking the modules of `autograd` and `nn` for Primitive objects, so a
rule added anywhere in them joins the mutation test without being listed.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

import autograd
import nn
from autograd import Primitive, Tensor, Value, hessian, jacobian
from nn import MLP
from nn.delta import check as delta_check
from tests.witnesses.catalog import ARRAY_OPS, BINARY, CASES, NARY, UNARY, ArrayOp, Case, Domain, Op
from tests.witnesses.finite_differences import central_vjp, mismatch

# A mutant scales a rule's gradients by this: 0.1% wrong, far above the witnesses' tolerance.
FACTOR = 1.0 + 1e-3


# ---- the rule table, found rather than listed ------------------------------------------------

@cache
def primitives() -> dict[str, Primitive]:
    """Every Primitive defined at module level in autograd and nn, by 'module.name'."""
    found: dict[str, Primitive] = {}
    seen: set[int] = set()
    for package in (autograd, nn):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith("__main__"):
                continue  # running it would start the command line
            try:
                module = importlib.import_module(info.name)
            except ImportError as e:
                if (e.name or "").split(".")[0] in ("autograd", "nn"):
                    raise
                continue  # an optional library (matplotlib, graphviz) is absent: no rules there
            for attr, obj in sorted(vars(module).items()):
                if isinstance(obj, Primitive) and id(obj) not in seen:
                    seen.add(id(obj))
                    found[f"{info.name}.{attr}"] = obj
    return found


@contextmanager
def replaced(p: Primitive, rule: Callable[..., tuple[Any, ...]]) -> Iterator[None]:
    """`p`'s rule replaced by `rule` inside the block, restored however the block ends."""
    saved = p.vjp
    p.vjp = rule
    try:
        yield
    finally:
        p.vjp = saved


def scaled(rule: Callable[..., tuple[Any, ...]]) -> Callable[..., tuple[Any, ...]]:
    """`rule` with every gradient it returns multiplied by FACTOR."""
    def mutant(*args: Any, **kwargs: Any) -> tuple[Any, ...]:
        return tuple(None if g is None else g * FACTOR for g in rule(*args, **kwargs))
    return mutant


@dataclass
class Swapped:
    """`rule` with the gradients of its first two same-shaped inputs exchanged; `changed`
    counts the calls where that made a difference (add's two gradients are equal: no mutant)."""

    rule: Callable[..., tuple[Any, ...]]
    changed: int = 0

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        grads = list(self.rule(*args, **kwargs))
        pair = _same_shaped(grads)
        if pair is not None:
            i, j = pair
            if not np.array_equal(_raw(grads[i]), _raw(grads[j])):
                self.changed += 1
            grads[i], grads[j] = grads[j], grads[i]
        return tuple(grads)


def _raw(g: Any) -> Any:
    return g.data if isinstance(g, (Value, Tensor)) else g


def _same_shaped(grads: list[Any]) -> tuple[int, int] | None:
    live = [i for i, g in enumerate(grads) if g is not None]
    for k, i in enumerate(live):
        for j in live[k + 1:]:
            if np.shape(_raw(grads[i])) == np.shape(_raw(grads[j])):
                return i, j
    return None


# ---- witnesses -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Witness:
    """A named check: `run()` is '' when the engine agrees with an independent reference."""

    name: str
    run: Callable[[], str]


def _inputs(domains: tuple[Domain, ...], shapes: tuple[tuple[int, ...], ...], seed: int
            ) -> list[Any]:
    """One input per domain, drawn away from its kinks; a float where the shape is None."""
    rng = np.random.default_rng(seed)
    out = []
    for d, shape in zip(domains, shapes):
        a = rng.uniform(d.lo, d.hi, size=shape or (1,))
        while not all(d.allows(float(v)) for v in a.ravel()):
            a = rng.uniform(d.lo, d.hi, size=shape or (1,))
        out.append(float(a[0]) if shape is None else a)
    return out


def first_order(call: Callable[..., Any], ref: Callable[..., Any], xs: list[Any],
                seed: int = 0) -> str:
    """Every input's vector-Jacobian product against central differences of `ref`."""
    nodes = [Value(x) if isinstance(x, float) else Tensor(x, requires_grad=True) for x in xs]
    out = call(*nodes)
    w = np.random.default_rng(seed).uniform(0.5, 1.5, np.shape(out.data))
    out.backward(float(w) if isinstance(out, Value) else w)
    reports = []
    for i, (x, node) in enumerate(zip(xs, nodes)):
        def partial(xi: Any, i: int = i) -> Any:
            return ref(*xs[:i], xi, *xs[i + 1:])
        numeric = central_vjp(partial, x, w)
        analytic = 0.0 if node.grad is None else node.grad
        report = mismatch(analytic, numeric if np.ndim(x) else float(numeric))
        reports += [f"input {i}: {report}"] if report else []
    return "; ".join(reports)


def numeric_second(f: Callable[[np.ndarray], Any], v: np.ndarray, h: float = 1e-4
                   ) -> np.ndarray:
    """∂²f/∂vᵢ∂vⱼ by central differences of central differences: shape f(v).shape + (n, n)."""
    n = v.size
    out = np.empty(np.shape(f(v)) + (n, n))

    def at(i: int, j: int, si: float, sj: float) -> np.ndarray:
        u = v.astype(np.float64).copy()
        u[i] += si * h
        u[j] += sj * h
        return np.asarray(f(u), dtype=np.float64)

    for i in range(n):
        for j in range(n):
            d = at(i, j, 1, 1) - at(i, j, 1, -1) - at(i, j, -1, 1) + at(i, j, -1, -1)
            out[..., i, j] = d / (4 * h * h)
    return out


def second_order(call: Callable[[Any], Any], ref: Callable[[np.ndarray], Any],
                 v: np.ndarray) -> str:
    """jacobian(jacobian(f)) (and hessian(f) for a scalar f) against finite differences of
    finite differences of `ref`."""
    numeric = numeric_second(ref, v)
    found = {"jacobian(jacobian(f))": jacobian(jacobian(call))(v)}
    if numeric.ndim == 2:
        found["hessian(f)"] = hessian(call)(v)
    reports = [f"{k}: {r}" for k, a in found.items()
               if (r := mismatch(a, numeric, rtol=1e-5, atol=1e-6))]
    return "; ".join(reports)


# how many arguments the n-ary Value ops are checked with (value_dot: two weights, two inputs)
_NARY_WIDTH = {"value_sum": 3, "value_dot": 4}


def _op_witnesses(op: Op, k: int) -> list[Witness]:
    """An Op as a Value witness (floats) and a Tensor one (arrays that broadcast)."""
    n = _NARY_WIDTH.get(op.name, op.arity)
    domains = op.domains * n if op.arity == 1 else op.domains
    floats = _inputs(domains, (None,) * n, seed=k)
    out = [Witness(f"Value {op.name}", lambda: first_order(op.call, op.ref, floats, k))]
    if op in NARY:
        return out
    shapes = ((2, 3), (3,), (1, 3))[:n] if n > 1 else ((2, 3),)
    arrays = _inputs(domains, shapes, seed=k)
    out.append(Witness(f"Tensor {op.name}", lambda: first_order(op.call, op.ref, arrays, k)))
    return out


# (op name, the parameters it is checked with)
_PARAMS: dict[str, list[Any]] = {
    "sum": [(None, False), (1, True), ((0, 2), False)],
    "mean": [(None, False), (-1, False)],
    "max": [(None, False), (1, False), ((0, 2), True)],
    "logsumexp": [(None, False), (0, True)],
    "softmax": [0, -1],
    "log_softmax": [1, -1],
    "reshape": [(6, 2), (-1,)],
    "transpose": [(2, 0, 1)],
    "T": [None],
    "getitem": [1, slice(0, 2), np.array([0, 1, 1]), np.array([True, False])],
    "var": [(None, 0, False), (1, 1, True)],
    "std": [(None, 1, False), ((0, 2), 0, True)],
    "prod": [(None, False), (1, True)],
    "min": [(None, False), (-1, True)],
    "cumsum": [None, 1],
    "diff": [0, -1],
    "flip": [None, (0, 2)],
    "squeeze": [None],
    "expand_dims": [0, -1],
    "moveaxis": [(0, -1)],
    "flatten": [None],
    "concatenate": [1],
    "stack": [0, -1],
    "split": [(2, 0), (3, 1)],
    "repeat": [(2, None), (3, 1)],
    "tile": [(2,), (1, 2, 1)],
    "pad": [((1, 0), (0, 2), (1, 1))],
    "diagonal": [0, 2, -3],
    "trace": [0, -1],
    "norm": [(None, False), ((0, 2), True)],
}


def _array_witnesses(op: ArrayOp, k: int) -> list[Witness]:
    """An ArrayOp on a (2, 3, 2) array with each of its parameters in _PARAMS."""
    if op.name not in _PARAMS:
        raise KeyError(f"no parameters for the catalog's array op {op.name!r}: add them to "
                       "_PARAMS in tests/witnesses/mutation.py")
    rng = np.random.default_rng(k)
    # distinct entries: max has no derivative at a tie
    x = rng.permutation(12).reshape(2, 3, 2) / 4.0 - 1.0 if op.distinct else rng.uniform(
        op.domain.lo, op.domain.hi, (2, 3, 2))
    return [Witness(f"Tensor {op.name} {p!r}".replace("\n", ""),
                    lambda p=p: first_order(lambda t: op.call(t, p), lambda a: op.ref(a, p),
                                            [x], k))
            for p in _PARAMS[op.name]]


def _case_witness(case: Case, k: int) -> Witness:
    xs = _inputs((case.domain,) * len(case.shapes), case.shapes, seed=k)
    if case.order == 2:
        return Witness(f"second order {case.name}",
                       lambda: second_order(case.call, case.ref, xs[0]))
    return Witness(f"Tensor {case.name}", lambda: first_order(case.call, case.ref, xs, k))


# (hidden activation, output activation, loss, sizes): the δ recursion's networks
_NETWORKS = [
    ("sigmoid", "sigmoid", "mse", [4, 5, 3]),
    ("tanh", "sigmoid", "bce", [4, 3, 2]),
    ("relu", None, "cross_entropy", [4, 6, 3]),
    ("tanh", "tanh", "mse", [3, 4, 4, 2]),
]


def _delta_witness(hidden: str, output: str | None, loss: str, sizes: list[int],
                   k: int) -> Witness:
    """nn.delta.check on a small network: autograd against the document's δ recursion."""
    def run() -> str:
        rng = np.random.default_rng(k)
        model = MLP(sizes, activation=hidden, output_activation=output)
        for layer in model.layers:
            layer.weight.data[...] = rng.normal(0.0, 1.0, layer.weight.shape)
            layer.bias.data[...] = rng.normal(0.0, 1.0, layer.bias.shape)
        x = rng.normal(0.0, 1.0, (5, sizes[0]))
        y = (rng.integers(0, sizes[-1], 5) if loss == "cross_entropy"
             else rng.uniform(0.1, 0.9, (5, sizes[-1])))
        report = delta_check(model, x, y, loss)
        return "" if report.ok else str(report)
    return Witness(f"δ recursion {hidden}→{output} {loss} {sizes}", run)


@cache
def witnesses() -> tuple[Witness, ...]:
    """Every witness: the catalog's ops, its fixed cases, and the δ recursion's networks."""
    out: list[Witness] = []
    for k, op in enumerate(UNARY + BINARY + NARY):
        out += _op_witnesses(op, k)
    for k, op in enumerate(ARRAY_OPS):
        out += _array_witnesses(op, k)
    out += [_case_witness(c, k) for k, c in enumerate(CASES)]
    out += [_delta_witness(*net, k) for k, net in enumerate(_NETWORKS)]
    return tuple(out)


@cache
def coverage() -> dict[str, tuple[Witness, ...]]:
    """For each primitive's name, the witnesses during which its rule runs."""
    calls: dict[str, set[str]] = {name: set() for name in primitives()}
    current = [""]

    def recorder(name: str, rule: Callable[..., Any]) -> Callable[..., Any]:
        def recording(*args: Any, **kwargs: Any) -> Any:
            calls[name].add(current[0])
            return rule(*args, **kwargs)
        return recording

    saved = {name: p.vjp for name, p in primitives().items()}
    try:
        for name, p in primitives().items():
            if p.vjp is not None:
                p.vjp = recorder(name, p.vjp)
        for w in witnesses():
            current[0] = w.name
            w.run()
    finally:
        for name, p in primitives().items():
            p.vjp = saved[name]
    return {name: tuple(w for w in witnesses() if w.name in calls[name]) for name in calls}


def gives_only_zeros(p: Any, ws: tuple[Witness, ...]) -> bool:
    """Whether every gradient p's rule returns while the witnesses run is zero (sign, a step):
    then a rule scaled by any factor is the rule itself, a mutant nothing can kill."""
    rule, nonzero = p.vjp, []

    def watched(*args: Any, **kwargs: Any) -> Any:
        grads = rule(*args, **kwargs)
        nonzero.extend(bool(np.any(getattr(g, "data", g))) for g in grads if g is not None)
        return grads

    with replaced(p, watched):
        for w in ws:
            w.run()
    return not any(nonzero)
