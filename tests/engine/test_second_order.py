"""Second order over the whole op catalog, and the products of two tensors at first order.

Under create_graph every rule runs on nodes, so its own graph is differentiated again. The
Hessian-vector product H·v that comes out is checked through uᵀ(Hv), against the mixed second
central difference of the numpy reference along u and v, which uses no rule at all.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Tensor, Value, grad
from tests.witnesses.catalog import (
    ARRAY_OPS,
    BINARY,
    PRODUCTS,
    UNARY,
    ArrayOp,
    arrays_in,
    floats_in,
    shapes,
)
from tests.witnesses.finite_differences import assert_grad_close, central_vjp

FEWEST = settings(max_examples=8, deadline=None)
H = 1e-4


def _ids(ops):
    return [op.name for op in ops]


def _mixed_second_difference(phi, x, u, v):
    """uᵀ ∇²phi(x) v by central differences of phi itself."""
    total = 0.0
    for a, b, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
        total += sign * float(phi(x + a * H * u + b * H * v))
    return total / (4 * H * H)


def _hvp(call, xs, i, w, v):
    """H·v of sum(w·call(*xs)) with respect to xs[i], by double backward."""
    ts = [Tensor(x, requires_grad=True) for x in xs]
    (call(*ts) * w).sum().backward(create_graph=True)
    g = ts[i].grad
    if g is None or not g.requires_grad:  # a gradient independent of x: H = 0 (linear ops)
        return np.zeros_like(xs[i])
    for t in ts:
        t.grad = None
    (g * v).sum().backward()
    return ts[i].grad


def _check_hvp(call, ref, xs, i, seed):
    rng = np.random.default_rng(seed)
    w = rng.uniform(-1, 1, size=np.shape(ref(*xs)))
    u, v = (rng.uniform(-1, 1, size=xs[i].shape) for _ in range(2))

    def phi(a):
        return np.sum(w * ref(*xs[:i], a, *xs[i + 1:]))

    hv = _hvp(call, xs, i, w, v)
    ours = float(np.sum(u * (np.zeros_like(xs[i]) if hv is None else hv)))
    expected = _mixed_second_difference(phi, xs[i], u, v)
    assert ours == pytest.approx(expected, rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("op", UNARY + BINARY, ids=_ids(UNARY + BINARY))
@FEWEST
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_hessian_vector_product_of_elementwise_ops(op, data, seed):
    shape = data.draw(shapes(max_dims=2))
    xs = [data.draw(arrays_in(d, shape)) for d in op.domains]
    for i in range(op.arity):
        _check_hvp(op.call, op.ref, xs, i, seed)


@pytest.mark.parametrize("op", ARRAY_OPS, ids=_ids(ARRAY_OPS))
@FEWEST
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_hessian_vector_product_of_array_ops(op: ArrayOp, data, seed):
    shape = data.draw(shapes(max_dims=3, min_side=op.min_side))
    x = data.draw(arrays_in(op.domain, shape, distinct=op.distinct))
    p = data.draw(op.params(shape))
    _check_hvp(lambda t: op.call(t, p), lambda a: op.ref(a, p), [x], 0, seed)


@pytest.mark.parametrize("op", UNARY, ids=_ids(UNARY))
@FEWEST
@given(data=st.data())
def test_second_derivative_on_values(op, data):
    x = data.draw(floats_in(op.domains[0]))
    second = grad(grad(op.call))(x)
    f = op.ref
    expected = (float(f(x + H)) - 2 * float(f(x)) + float(f(x - H))) / H ** 2
    assert second == pytest.approx(expected, rel=1e-4, abs=1e-4)
    # The same through a one-entry Tensor: Value and Tensor agree at second order too.
    on_tensor = grad(grad(lambda t: op.call(t).sum()))(np.array([x]))
    assert float(on_tensor[0]) == pytest.approx(second, rel=1e-12, abs=1e-12)
    assert isinstance(op.call(Value(x)), Value)


@pytest.mark.parametrize("op", PRODUCTS, ids=_ids(PRODUCTS))
@FEWEST
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_products_first_and_second_order(op, data, seed):
    sx, sy = data.draw(op.shapes())
    x = data.draw(arrays_in(UNARY[0].domains[0], sx))
    y = data.draw(arrays_in(UNARY[0].domains[0], sy))
    tx, ty = Tensor(x, requires_grad=True), Tensor(y, requires_grad=True)
    out = op.call(tx, ty)
    np.testing.assert_allclose(out.data, op.call(x, y), rtol=1e-12, atol=1e-12)
    w = np.random.default_rng(seed).uniform(-1, 1, size=out.shape)
    out.backward(w)
    assert_grad_close(tx.grad, central_vjp(lambda a: op.call(a, y), x, w))
    assert_grad_close(ty.grad, central_vjp(lambda b: op.call(x, b), y, w))
    for i in range(2):
        _check_hvp(op.call, op.call, [x, y], i, seed)
