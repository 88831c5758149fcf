"""The functional API nested: jacobian(jacobian(f)), jacobian(grad(f)), hessian, mixed partials.

Each result is checked against finite differences of finite differences of the same function
written in numpy (no derivative rule involved), and against torch.autograd.functional where
PyTorch is installed. The functions are chosen with non-symmetric Jacobians, so a rule that
put the rows of a nested Jacobian in the wrong order (stack's, for one) cannot pass.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor, grad, hessian, jacobian, rules
from tests.witnesses.finite_differences import assert_grad_close, central_grad
from tests.witnesses.mutation import numeric_second, replaced

RTOL, ATOL = 1e-5, 1e-6


# Written without stack: a field built by stacking would be reversed twice by a reversed
# stack rule (once in each jacobian) and come out right.
def _field(v):
    """R³ → R³ with a non-symmetric Jacobian and non-zero second derivatives."""
    return v * v[_NEXT] ** 2 + (v[_LAST] * v).sin() + (v * 2.0).exp() * v[_LAST] - v ** 3


def _field_np(v):
    return v * v[_NEXT] ** 2 + np.sin(v[_LAST] * v) + np.exp(2 * v) * v[_LAST] - v ** 3


_NEXT, _LAST = np.array([1, 2, 0]), np.array([2, 0, 1])


def _scalar(v):
    """A scalar whose Hessian has unequal off-diagonal contributions from each factor."""
    return (v[0] ** 3 * v[1] + (v[0] * v[1]).tanh() * v[2] + v[2].exp() * v[0]).sum()


def _scalar_np(v):
    return v[0] ** 3 * v[1] + np.tanh(v[0] * v[1]) * v[2] + np.exp(v[2]) * v[0]


V = np.array([0.7, -1.2, 0.4])


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed")


def test_jacobian_of_a_non_symmetric_field_against_finite_differences():
    jac = jacobian(_field)(V)
    numeric = np.stack([central_grad(lambda v, i=i: _field_np(v)[i], V) for i in range(3)])
    assert_grad_close(jac, numeric)
    assert not np.allclose(jac, jac.T)  # the test means something only if it is not symmetric


def test_jacobian_of_jacobian_against_finite_differences_of_finite_differences():
    nested = jacobian(jacobian(_field))(V)
    assert nested.shape == (3, 3, 3)
    assert_grad_close(nested, numeric_second(_field_np, V), RTOL, ATOL)


def test_jacobian_of_jacobian_catches_a_stack_rule_that_reverses_its_pieces():
    def reversed_pieces(g, out, *xs):
        return tuple(g[i] for i in reversed(range(len(xs))))

    with replaced(rules.stack, reversed_pieces):
        wrong = jacobian(jacobian(_field))(V)
    assert not np.allclose(wrong, numeric_second(_field_np, V), RTOL, ATOL)


def test_jacobian_of_grad_is_the_hessian_against_finite_differences():
    h = numeric_second(_scalar_np, V)
    assert_grad_close(jacobian(grad(_scalar))(V), h, RTOL, ATOL)
    assert_grad_close(hessian(_scalar)(V), h, RTOL, ATOL)
    assert_grad_close(jacobian(jacobian(_scalar))(V), h, RTOL, ATOL)


def test_third_order_nesting_against_finite_differences_of_the_hessian_entries():
    third = jacobian(hessian(_scalar))(V)
    assert third.shape == (3, 3, 3)
    numeric = np.stack([numeric_second(lambda v, k=k: _grad_np(v)[k], V)
                        for k in range(3)])
    assert_grad_close(third, numeric, 1e-4, 1e-5)


def _grad_np(v):
    """∂_scalar/∂v written out by hand (third-order reference: FD² of these)."""
    x, y, z = v
    t = np.tanh(x * y)
    return np.array([3 * x ** 2 * y + (1 - t * t) * y * z + np.exp(z),
                     x ** 3 + (1 - t * t) * x * z,
                     t + np.exp(z) * x])


def _f2(x, y):
    """Two arguments, mixed partial ∂²f/∂x∂y ≠ what swapping the roles of x and y would give."""
    return x ** 3 * rules.sin(y) + rules.exp(x * y) + x * y * y


def _f2_np(x, y):
    return x ** 3 * np.sin(y) + np.exp(x * y) + x * y * y


@pytest.mark.parametrize("x, y", [(0.6, -0.9), (1.3, 0.4), (-0.8, 2.0)])
def test_mixed_partials_in_two_float_arguments(x, y):
    dxdy = grad(grad(_f2, 0), 1)(x, y)
    dydx = grad(grad(_f2, 1), 0)(x, y)
    numeric = numeric_second(lambda v: _f2_np(v[0], v[1]), np.array([x, y]))[0, 1]
    assert dxdy == pytest.approx(numeric, rel=RTOL, abs=ATOL)
    assert dydx == pytest.approx(numeric, rel=RTOL, abs=ATOL)
    dxdx = grad(grad(_f2, 0), 0)(x, y)
    assert dxdx == pytest.approx(6 * x * np.sin(y) + y * y * np.exp(x * y), rel=1e-12)


def test_mixed_partials_in_two_array_arguments():
    a, b = np.array([0.5, -0.3]), np.array([1.1, 0.2])

    def f(x, y):
        return (x * x * y + (x @ y) * x.sin()).sum()

    def f_np(v):
        x, y = v[:2], v[2:]
        return np.sum(x * x * y + (x @ y) * np.sin(x))

    cross = jacobian(lambda y: grad(f, 0)(Tensor(a), y))(b)
    numeric = numeric_second(f_np, np.concatenate([a, b]))[:2, 2:]
    assert_grad_close(cross, numeric, RTOL, ATOL)


def test_nested_jacobian_against_pytorch():
    torch = _torch()
    tf = torch.autograd.functional

    def field_t(v):
        nxt, last = v[_NEXT], v[_LAST]
        return v * nxt ** 2 + torch.sin(last * v) + torch.exp(2 * v) * last - v ** 3

    v = torch.tensor(V, dtype=torch.float64)
    theirs = tf.jacobian(lambda u: tf.jacobian(field_t, u, create_graph=True), v)
    np.testing.assert_allclose(jacobian(jacobian(_field))(V), theirs.numpy(), rtol=1e-12,
                               atol=1e-12)


def test_hessian_and_mixed_partials_against_pytorch():
    torch = _torch()

    def scalar_t(v):
        return v[0] ** 3 * v[1] + torch.tanh(v[0] * v[1]) * v[2] + torch.exp(v[2]) * v[0]

    v = torch.tensor(V, dtype=torch.float64)
    theirs = torch.autograd.functional.hessian(scalar_t, v).numpy()
    np.testing.assert_allclose(hessian(_scalar)(V), theirs, rtol=1e-12, atol=1e-12)
    x, y = (torch.tensor(t, dtype=torch.float64, requires_grad=True) for t in (0.6, -0.9))
    (gx,) = torch.autograd.grad(x ** 3 * torch.sin(y) + torch.exp(x * y) + x * y * y, x,
                                create_graph=True)
    (gxy,) = torch.autograd.grad(gx, y)
    assert grad(grad(_f2, 0), 1)(0.6, -0.9) == pytest.approx(gxy.item(), rel=1e-12)


def test_an_inner_grad_does_not_confuse_its_variable_with_the_outer_one():
    # d/dx [d/dy (x·y) at y = x] = d/dx x = 1: the inner derivative holds x fixed even though
    # y starts at x's value (perturbation confusion would give 2).
    assert grad(lambda x: grad(lambda y: x * y)(x))(3.0) == 1.0
    a = np.array([1.0, 2.0])
    outer = jacobian(lambda x: grad(lambda y: (x * y * y).sum())(x))(a)
    np.testing.assert_allclose(outer, np.diag(4 * a), rtol=1e-15)  # ∂(2xy)/∂x at y = x
