"""Central differences on a graph's inputs, and the analytic Jacobian they are compared with.

The inputs of a check are nodes (Values and Tensors) that `f` receives, or closes over, and
reads through `.data` at every call. A difference moves one entry of one input's data by ±h,
evaluates, and puts the entry back exactly as it was (the old number is kept, not recomputed),
even when `f` raises. The same probe serves whole functions (`gradcheck`, `sweep`) and single
primitives (the culprit finder), which move the raw arguments held in `Slot`s instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np

from autograd.graph import Node, backward_pass, enable_grad, no_grad
from autograd.tensor import Tensor
from autograd.value import Value

Evaluate = Callable[[], np.ndarray]


class PrecisionWarning(UserWarning):
    """A gradient check on low-precision (float32 or float16) data: its differences are noisy."""


class Slot:
    """A holder with a `.data` attribute, so raw arguments can be moved like a node's data."""

    __slots__ = ("data",)

    def __init__(self, data: Any) -> None:
        self.data = data


# ---- inputs -------------------------------------------------------------------------------

def as_variables(inputs: Sequence[Any], *, scalar_as_tensor: bool = False) -> list[Node]:
    """Each input as a leaf node the check can move.

    Values and leaf Tensors are used as themselves, so `f` may close over them (a model's
    parameters); arrays and computed Tensors become new leaf Tensors; numbers become Values,
    or 0-d Tensors when `scalar_as_tensor` or when other inputs are arrays (the engine does
    not mix the two kinds in one op).
    """
    if not inputs:
        raise ValueError("a gradient check needs at least one input to differentiate")
    arrays = any(isinstance(x, (Tensor, np.ndarray, list, tuple)) for x in inputs)
    return [_input_node(x, i, scalar_as_tensor or arrays) for i, x in enumerate(inputs)]


def _input_node(x: Any, i: int, scalar_as_tensor: bool) -> Node:
    if isinstance(x, Node):
        if x._op is not None:  # a computed node is checked at its value, as a new leaf
            x = x.data if isinstance(x, Value) else x.data.copy()
        else:
            return x
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (Real, np.ndarray, list, tuple)):
        raise TypeError(f"input {i} is a {type(x).__name__} ({x!r:.40}); a gradient check "
                        "needs numbers, arrays, Values or Tensors")
    if isinstance(x, Real) and not scalar_as_tensor:
        return Value(float(x))
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"input {i} has dtype {arr.dtype}; a gradient check needs real numbers")
    return Tensor(arr, requires_grad=True)


def check_finite(nodes: Sequence[Node]) -> None:
    """Refuse NaN and inf in the inputs: differences around them mean nothing."""
    for i, n in enumerate(nodes):
        if not np.all(np.isfinite(n.data)):
            raise ValueError(f"input {i} holds NaN or inf; a gradient check needs finite values")
        if np.size(n.data) == 0:
            raise ValueError(f"input {i} is empty (shape {np.shape(n.data)}): nothing to check")


@contextmanager
def prepared(nodes: Sequence[Node], dtype: Any = None) -> Iterator[None]:
    """Inputs ready to be moved: writable data (cast to `dtype` if given), tracked for grad.

    Data that is already writable and of the right dtype is moved in place; anything else is
    replaced by a copy for the duration. On exit every node gets back its own data object and
    its own requires_grad flag.
    """
    saved = [(n, n.data, n.requires_grad) for n in nodes]
    try:
        for n in nodes:
            if isinstance(n, Tensor):
                want = n.data.dtype if dtype is None else np.dtype(dtype)
                if n.data.dtype != want or not n.data.flags.writeable:
                    # a stand-in for the check only, so not a change the optimizer must see
                    n._data = np.array(n.data, dtype=want)
            n.requires_grad = True
        yield
    finally:
        for n, data, flag in reversed(saved):
            n._data = data
            n.requires_grad = flag


# ---- outputs ------------------------------------------------------------------------------

def flat_entries(out: Any) -> np.ndarray:
    """An output (node, number, array, or a list of them) as one float64 vector."""
    if isinstance(out, (list, tuple)):
        if not out:
            raise TypeError("f returned an empty sequence; a gradient check needs outputs")
        return np.concatenate([flat_entries(o) for o in out])
    data = out.data if isinstance(out, Node) else out
    if isinstance(data, (bool, np.bool_)) or not isinstance(data, (Real, np.ndarray)):
        raise TypeError(f"f returned a {type(out).__name__}; a gradient check needs a Value, "
                        "a Tensor, a number, an array or a list of them")
    return np.asarray(data, dtype=np.float64).ravel()


def analytic_jacobian(f: Callable[..., Any], nodes: Sequence[Node]) -> tuple[Any, np.ndarray]:
    """f's output and ∂f/∂inputs as an (entries, outputs) array, one backward per output."""
    with enable_grad():
        out = f(*nodes)
    columns = []
    for part in out if isinstance(out, (list, tuple)) else (out,):
        tracked = isinstance(part, Node) and part.requires_grad
        for seed in _seeds(part):
            if not tracked:
                columns.append(np.zeros(sum(np.size(n.data) for n in nodes)))
                continue
            grads = backward_pass(part, seed, wrt=tuple(nodes), retain_graph=True)
            columns.append(np.concatenate([_flat_grad(g, n) for g, n in zip(grads, nodes)]))
    return out, np.stack(columns, axis=1)


def _seeds(part: Any) -> Iterator[Any]:
    """One-hot output gradients, one per entry of `part`."""
    if isinstance(part, Value) or not isinstance(part, Tensor):
        yield from [1.0] * max(1, flat_entries(part).size)
        return
    for k in range(part.data.size):
        seed = np.zeros(part.data.shape, dtype=part.data.dtype)
        seed.flat[k] = 1.0
        yield seed


def _flat_grad(g: Any, node: Node) -> np.ndarray:
    if g is None:
        return np.zeros(np.size(node.data))
    return np.asarray(g.data if isinstance(g, Node) else g, dtype=np.float64).ravel()


def evaluator(f: Callable[..., Any], nodes: Sequence[Node]) -> Evaluate:
    """f's output as a float64 vector, computed without recording a graph."""

    def evaluate() -> np.ndarray:
        with no_grad():
            return flat_entries(f(*nodes))

    return evaluate


# ---- the probe ----------------------------------------------------------------------------

@dataclass
class Probe:
    """Differences for K entries and m outputs: central, left and right slopes, each (K, m).

    `noise` (m,) is the size of slope that round-off alone can fake: a generous multiple of
    the unit round-off of the data's dtype times |f|, over the step.
    """

    central: np.ndarray
    left: np.ndarray
    right: np.ndarray
    noise: np.ndarray


def all_entries(holders: Sequence[Any]) -> list[tuple[int, int]]:
    """(holder, flat index) for every entry of every holder, in order."""
    return [(i, k) for i, h in enumerate(holders) for k in range(np.size(h.data))]


def probe(evaluate: Evaluate, holders: Sequence[Any], entries: Sequence[tuple[int, int]],
          eps: float) -> Probe:
    """Move each entry by ±eps and difference the outputs (the steps actually taken)."""
    f0 = evaluate()
    k, m = len(entries), f0.size
    fp, fm = np.empty((k, m)), np.empty((k, m))
    hp, hm = np.empty(k), np.empty(k)
    for row, (i, flat) in enumerate(entries):
        fp[row], hp[row] = _moved(evaluate, holders[i], flat, eps, i)
        fm[row], hm[row] = _moved(evaluate, holders[i], flat, -eps, i)
        if fp[row].size != m or fm[row].size != m:
            raise ValueError(f"f's output changed size when input {i} moved: {m} entries "
                             f"at the point, {fp[row].size} and {fm[row].size} beside it")
    hm = -hm
    noise = 64 * _unit_roundoff(holders) * np.abs(f0) / eps
    with np.errstate(divide="ignore", invalid="ignore"):
        return Probe(central=(fp - fm) / (hp + hm)[:, None], left=(f0 - fm) / hm[:, None],
                     right=(fp - f0) / hp[:, None], noise=noise)


def _unit_roundoff(holders: Sequence[Any]) -> float:
    """The coarsest machine epsilon among the holders' data (Python floats are float64)."""
    return max(float(np.finfo(h.data.dtype).eps) if isinstance(h.data, np.ndarray)
               and h.data.dtype.kind == "f" else float(np.finfo(np.float64).eps)
               for h in holders)


def _moved(evaluate: Evaluate, holder: Any, flat: int, delta: float,
           i: int) -> tuple[np.ndarray, float]:
    """f with one entry moved by delta, and the step really taken; the entry is then restored."""
    data = holder.data
    index = np.unravel_index(flat, data.shape) if isinstance(data, np.ndarray) else None
    old = data if index is None else data[index]
    try:
        if index is None:
            holder.data = old + delta
            step = holder.data - old
        else:
            data[index] = old + delta
            step = float(data[index]) - float(old)
        out = evaluate()
    except (ArithmeticError, ValueError) as e:
        where = tuple(int(j) for j in index) if index is not None else ()
        raise ValueError(f"f failed with input {i} entry {where} moved by {delta:+.1e} "
                         f"({e}); a smaller eps keeps the moves inside f's domain") from None
    finally:
        if index is None:
            holder.data = old
        else:
            data[index] = old
    # A step below the data's resolution moves nothing; keep the nominal one (difference 0).
    return out, (step if step != 0 else delta)


# ---- judging ------------------------------------------------------------------------------

OK, FAIL, KINK = 0, 1, 2


def errors(analytic: np.ndarray, numeric: np.ndarray, atol: float) -> tuple[np.ndarray, ...]:
    """Absolute and relative errors; entries far below atol count by their absolute error."""
    err = np.abs(analytic - numeric)
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), atol)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(scale > 0, err / scale, err)
    return np.where(np.isnan(err), math.inf, err), np.where(np.isnan(rel), math.inf, rel)


def judge(analytic: np.ndarray, pr: Probe, atol: float, rtol: float,
          reprobe: Callable[[list[int]], Probe]) -> np.ndarray:
    """OK, FAIL or KINK for each (entry, output).

    An entry is a kink candidate when its left and right slopes disagree by more than the
    tolerance and round-off allow and the analytic value lies between them (a one-sided
    derivative, or a share of one as at tied maxima). `reprobe` measures the candidates again
    at a tenth of the step. A kink at the point keeps the disagreement as it is, where
    curvature's would shrink tenfold: such an entry is a kink whether or not it agreed, since
    agreement there means nothing. A kink just beside the point drops out at the smaller step,
    which then agrees with the analytic value: a failing entry that does so is a kink too.
    A wrong rule shows neither.
    """
    status = np.where(_close(analytic, pr.central, atol, rtol), OK, FAIL)
    jump = np.abs(pr.right - pr.left)
    lo, hi = np.minimum(pr.left, pr.right), np.maximum(pr.left, pr.right)
    tol = atol + rtol * np.maximum(np.abs(lo), np.abs(hi))
    maybe = (jump > tol) & (jump > pr.noise) & (analytic >= lo - tol) & (analytic <= hi + tol)
    rows = sorted(set(np.nonzero(maybe)[0].tolist()))
    if rows:
        small = reprobe(rows)
        small_jump = np.abs(small.right - small.left)
        ratio = small_jump / jump[rows]
        stays = (ratio > 0.3) & (ratio < 3) & (small_jump > small.noise)
        beside = (status[rows] == FAIL) & _close(analytic[rows], small.central, atol, rtol)
        sub = status[rows]
        sub[maybe[rows] & (stays | beside)] = KINK
        status[rows] = sub
    return status


def _close(a: np.ndarray, n: np.ndarray, atol: float, rtol: float) -> np.ndarray:
    """|a − n| <= atol + rtol·|n| (False where n is NaN)."""
    return np.abs(a - n) <= atol + rtol * np.abs(n)
