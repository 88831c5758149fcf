"""Hypothesis properties over the op catalog: every rule against central differences.

For Values the inputs are floats from each op's domain; for Tensors, arrays of 1-4 axes and,
for the binary ops, pairs of shapes that broadcast. A tensor output is weighted by a random
cotangent w before comparing, so the whole vector-Jacobian product is checked, not just its
sum. All in float64, against tests/fd.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Tensor, Value
from tests.witnesses.catalog import (
    ARRAY_OPS,
    BINARY,
    NARY,
    UNARY,
    WIDE,
    ArrayOp,
    Domain,
    Op,
    arrays_in,
    broadcast_pairs,
    floats_in,
    matmul_shapes,
    shapes,
)
from tests.witnesses.finite_differences import assert_grad_close, central_grad, central_vjp

FEW = settings(max_examples=40, deadline=None)
FEWER = settings(max_examples=25, deadline=None)
FEWEST = settings(max_examples=12, deadline=None)


def _ids(ops):
    return [op.name for op in ops]


def _cotangent(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape)


# ---- Values -------------------------------------------------------------------------------

@pytest.mark.parametrize("op", UNARY + BINARY, ids=_ids(UNARY + BINARY))
@FEW
@given(data=st.data())
def test_value_gradient_matches_finite_differences(op, data):
    xs = [data.draw(floats_in(d)) for d in op.domains]
    nodes = [Value(x) for x in xs]
    out = op.call(*nodes)
    out.backward()
    assert out.data == pytest.approx(float(op.ref(*xs)), rel=1e-12, abs=1e-12)
    for i, node in enumerate(nodes):
        def partial(t, i=i):
            return op.ref(*xs[:i], t, *xs[i + 1:])
        assert_grad_close(node.grad, central_grad(partial, xs[i]))
    if op.deriv is not None:
        expected = op.deriv(*np.array(xs))
        assert_grad_close([n.grad for n in nodes], expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", BINARY, ids=_ids(BINARY))
@FEW
@given(data=st.data())
def test_value_binary_op_with_a_constant_operand(op, data):
    """x op c and c op x: the reflected forms and the rules' skipped partials."""
    x, y = (data.draw(floats_in(d)) for d in op.domains)
    left, right = Value(x), Value(y)
    op.call(left, y).backward()
    op.call(x, right).backward()
    assert_grad_close(left.grad, central_grad(lambda t: op.ref(t, y), x))
    assert_grad_close(right.grad, central_grad(lambda t: op.ref(x, t), y))


@pytest.mark.parametrize("op", NARY, ids=_ids(NARY))
@FEW
@given(xs=st.lists(floats_in(WIDE), min_size=2, max_size=80).filter(lambda v: len(v) % 2 == 0))
def test_value_fast_paths_match_finite_differences(op, xs):
    nodes = [Value(x) for x in xs]
    out = op.call(*nodes)
    out.backward()
    assert out.data == pytest.approx(op.ref(*xs), rel=1e-12, abs=1e-12)
    numeric = central_vjp(lambda a: op.ref(*a), np.array(xs))
    assert_grad_close([n.grad for n in nodes], numeric)


@pytest.mark.parametrize("op", UNARY + BINARY, ids=_ids(UNARY + BINARY))
@FEW
@given(data=st.data())
def test_value_and_tensor_agree_on_scalars(op, data):
    xs = [data.draw(floats_in(d)) for d in op.domains]
    values = [Value(x) for x in xs]
    tensors = [Tensor(x, requires_grad=True) for x in xs]
    v_out, t_out = op.call(*values), op.call(*tensors)
    v_out.backward()
    t_out.backward()
    assert t_out.item() == pytest.approx(v_out.data, rel=1e-12, abs=1e-300)
    for v, t in zip(values, tensors):
        assert t.grad.shape == ()
        assert float(t.grad) == pytest.approx(v.grad, rel=1e-12, abs=1e-15)


def _common(domains: list[Domain]) -> Domain:
    lo, hi = max(d.lo for d in domains), min(d.hi for d in domains)
    return Domain(lo, hi, tuple(k for d in domains for k in d.avoid),
                  max(d.margin for d in domains))


@FEW
@given(data=st.data(), a=floats_in(WIDE), b=floats_in(WIDE))
def test_backward_is_linear(data, a, b):
    """∂(a·f + b·g) = a·∂f + b·∂g, for f and g drawn from the catalog."""
    f, g = data.draw(st.sampled_from(UNARY)), data.draw(st.sampled_from(UNARY))
    domain = _common([f.domains[0], g.domains[0]])
    if domain.lo >= domain.hi:
        return
    x = data.draw(floats_in(domain))
    grads = []
    for build in (lambda v: a * f.call(v) + b * g.call(v), f.call, g.call):
        v = Value(x)
        build(v).backward()
        grads.append(v.grad)
    assert grads[0] == pytest.approx(a * grads[1] + b * grads[2], rel=1e-10, abs=1e-12)


# ---- Tensors ------------------------------------------------------------------------------

@pytest.mark.parametrize("op", UNARY, ids=_ids(UNARY))
@FEWER
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_tensor_elementwise_gradient(op, data, seed):
    x = data.draw(arrays_in(op.domains[0], data.draw(shapes())))
    w = _cotangent(seed, x.shape)
    t = Tensor(x, requires_grad=True)
    out = op.call(t)
    np.testing.assert_allclose(out.data, op.ref(x), rtol=1e-12, atol=1e-12)
    out.backward(w)
    assert t.grad.shape == x.shape
    assert_grad_close(t.grad, central_vjp(op.ref, x, w))
    if op.deriv is not None:
        assert_grad_close(t.grad, op.deriv(x)[0] * w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", BINARY, ids=_ids(BINARY))
@FEWER
@given(data=st.data(), pair=broadcast_pairs(), seed=st.integers(0, 2**32 - 1))
def test_tensor_broadcast_pair_gradient(op, data, pair, seed):
    x = data.draw(arrays_in(op.domains[0], pair[0]))
    y = data.draw(arrays_in(op.domains[1], pair[1]))
    tx, ty = Tensor(x, requires_grad=True), Tensor(y, requires_grad=True)
    out = op.call(tx, ty)
    assert out.shape == np.broadcast_shapes(x.shape, y.shape)
    w = _cotangent(seed, out.shape)
    out.backward(w)
    assert tx.grad.shape == x.shape and ty.grad.shape == y.shape
    assert_grad_close(tx.grad, central_vjp(lambda a: op.ref(a, y), x, w))
    assert_grad_close(ty.grad, central_vjp(lambda b: op.ref(x, b), y, w))


@pytest.mark.parametrize("op", ARRAY_OPS, ids=_ids(ARRAY_OPS))
@FEWER
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_tensor_array_op_gradient(op, data, seed):
    shape = data.draw(shapes(min_side=op.min_side))
    x = data.draw(arrays_in(op.domain, shape, distinct=op.distinct))
    p = data.draw(op.params(shape))
    t = Tensor(x, requires_grad=True)
    out = op.call(t, p)
    expected = op.ref(x, p)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    w = _cotangent(seed, out.shape)
    out.backward(w)
    assert t.grad.shape == x.shape
    assert_grad_close(t.grad, central_vjp(lambda a: op.ref(a, p), x, w))


@FEW
@given(data=st.data(), pair=matmul_shapes(), seed=st.integers(0, 2**32 - 1))
def test_tensor_matmul_gradient(data, pair, seed):
    x = data.draw(arrays_in(WIDE, pair[0]))
    y = data.draw(arrays_in(WIDE, pair[1]))
    tx, ty = Tensor(x, requires_grad=True), Tensor(y, requires_grad=True)
    out = tx @ ty
    np.testing.assert_allclose(out.data, x @ y, rtol=1e-12, atol=1e-12)
    w = _cotangent(seed, out.shape)
    out.backward(w)
    assert tx.grad.shape == x.shape and ty.grad.shape == y.shape
    assert_grad_close(tx.grad, central_vjp(lambda a: a @ y, x, w))
    assert_grad_close(ty.grad, central_vjp(lambda b: x @ b, y, w))


@pytest.mark.parametrize("op", ARRAY_OPS + UNARY, ids=_ids(ARRAY_OPS + UNARY))
@FEWEST
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_create_graph_gives_the_same_first_gradient(op, data, seed):
    """Under create_graph every rule runs on Tensors instead of arrays: same numbers, and a
    gradient that is itself a Tensor in the graph."""
    shape = data.draw(shapes(min_side=getattr(op, "min_side", 1)))
    domain = getattr(op, "domain", None) or op.domains[0]
    x = data.draw(arrays_in(domain, shape, distinct=getattr(op, "distinct", False)))
    p = data.draw(op.params(shape)) if isinstance(op, ArrayOp) else None

    def run(t):
        return op.call(t, p) if isinstance(op, ArrayOp) else op.call(t)

    plain, traced = Tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    w = _cotangent(seed, run(plain).shape)
    run(plain).backward(w)
    run(traced).backward(w, create_graph=True)
    assert isinstance(traced.grad, Tensor) and traced.grad.shape == x.shape
    np.testing.assert_allclose(traced.grad.data, plain.grad, rtol=1e-13, atol=1e-15)


_MATMUL = Op("matmul", lambda x, y: x @ y, np.matmul, (WIDE, WIDE))


@pytest.mark.parametrize("op", BINARY + (_MATMUL,), ids=_ids(BINARY + (_MATMUL,)))
@FEWEST
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_create_graph_gives_the_same_first_gradient_when_broadcasting(op, data, seed):
    """Under create_graph, broadcasting is undone on Tensors: same numbers as on arrays."""
    pair = data.draw(matmul_shapes() if op is _MATMUL else broadcast_pairs())
    xs = [data.draw(arrays_in(d, s)) for d, s in zip(op.domains, pair)]
    plain = [Tensor(x, requires_grad=True) for x in xs]
    traced = [Tensor(x, requires_grad=True) for x in xs]
    w = _cotangent(seed, op.call(*plain).shape)
    op.call(*plain).backward(w)
    op.call(*traced).backward(w, create_graph=True)
    for p, t in zip(plain, traced):
        assert isinstance(t.grad, Tensor) and t.grad.shape == p.shape
        np.testing.assert_allclose(t.grad.data, p.grad, rtol=1e-13, atol=1e-15)
