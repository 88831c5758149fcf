"""Derivatives of derivatives: the functional API against formulas derived by hand.

Every rule is plain arithmetic on its arguments, so running it on nodes records a new graph;
these tests check that the recorded graph is right to the third order, for floats (Values) and
arrays (Tensors), and that grad, value_and_grad, vjp, jacobian and hessian fit together.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograd import Tensor, Value, grad, hessian, jacobian, value_and_grad, vjp
from tests.witnesses.finite_differences import assert_grad_close, central_vjp


def _s(x):
    return 1.0 / (1.0 + np.exp(-x))


# (f on nodes, [f, f′, f″, f‴] on numpy floats/arrays, points in the domain)
CASES = {
    "poly": (lambda x: x ** 4 - 2.0 * x ** 3 + x,
             [lambda x: x ** 4 - 2 * x ** 3 + x, lambda x: 4 * x ** 3 - 6 * x ** 2 + 1,
              lambda x: 12 * x ** 2 - 12 * x, lambda x: 24 * x - 12], (-1.3, 0.4, 2.1)),
    "exp": (lambda x: x.exp(), [np.exp] * 4, (-2.0, 0.0, 1.5)),
    "sin": (lambda x: x.sin(), [np.sin, np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x)],
            (-2.0, 0.3, 1.9)),
    "tanh": (lambda x: x.tanh(),
             [np.tanh, lambda x: 1 - np.tanh(x) ** 2,
              lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
              lambda x: (1 - np.tanh(x) ** 2) * (6 * np.tanh(x) ** 2 - 2)], (-1.1, 0.2, 2.0)),
    "sigmoid": (lambda x: x.sigmoid(),
                [_s, lambda x: _s(x) * (1 - _s(x)),
                 lambda x: _s(x) * (1 - _s(x)) * (1 - 2 * _s(x)),
                 lambda x: _s(x) * (1 - _s(x)) * (1 - 6 * _s(x) + 6 * _s(x) ** 2)],
                (-2.5, 0.0, 0.7)),
    "log": (lambda x: x.log(),
            [np.log, lambda x: 1 / x, lambda x: -1 / x ** 2, lambda x: 2 / x ** 3],
            (0.3, 1.0, 4.2)),
    "x**2.5": (lambda x: x ** 2.5,
               [lambda x: x ** 2.5, lambda x: 2.5 * x ** 1.5, lambda x: 3.75 * x ** 0.5,
                lambda x: 1.875 * x ** -0.5], (0.5, 1.0, 3.0)),
    "3**x": (lambda x: 3.0 ** x,
             [lambda x: 3.0 ** x] + [lambda x, k=k: 3.0 ** x * math.log(3.0) ** k
                                     for k in (1, 2, 3)], (-1.0, 0.5, 2.0)),
    "1/x": (lambda x: 1.0 / x,
            [lambda x: 1 / x, lambda x: -1 / x ** 2, lambda x: 2 / x ** 3,
             lambda x: -6 / x ** 4], (-2.0, 0.5, 3.0)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_third_derivative_of_a_float_function(name):
    f, derivs, points = CASES[name]
    d1, d2, d3 = grad(f), grad(grad(f)), grad(grad(grad(f)))
    for x in points:
        for k, d in enumerate((d1, d2, d3), start=1):
            got = d(x)
            assert isinstance(got, float)
            assert got == pytest.approx(derivs[k](x), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_third_derivative_of_an_array_function(name):
    """For elementwise f, ∂ᵏ/∂xᵏ Σ f(x) is f⁽ᵏ⁾ at each entry."""
    f, derivs, points = CASES[name]
    x = np.array(points)
    d1 = grad(lambda t: f(t).sum())
    d2 = grad(lambda t: d1(t).sum())
    d3 = grad(lambda t: d2(t).sum())
    for k, d in enumerate((d1, d2, d3), start=1):
        got = d(x)
        assert isinstance(got, np.ndarray) and got.shape == x.shape
        np.testing.assert_allclose(got, derivs[k](x), rtol=1e-12, atol=1e-12)


def test_partial_derivatives_of_x_to_the_y():
    """f = xʸ: ∂f/∂y = xʸ ln x, ∂²f/∂y² = xʸ ln²x, ∂³f/∂y³ = xʸ ln³x."""
    x, y = 1.7, 2.3
    dy = grad(lambda a, b: a ** b, argnum=1)
    assert dy(x, y) == pytest.approx(x ** y * math.log(x), rel=1e-14)
    dyy = grad(lambda a, b: dy(a, b), argnum=1)
    dyyy = grad(lambda a, b: dyy(a, b), argnum=1)
    assert dyy(x, y) == pytest.approx(x ** y * math.log(x) ** 2, rel=1e-13)
    assert dyyy(x, y) == pytest.approx(x ** y * math.log(x) ** 3, rel=1e-13)


def test_mixed_partial_of_x_to_the_y():
    """∂²(xʸ)/∂x∂y = xʸ⁻¹ (1 + y ln x), whichever order the derivatives are taken in."""
    x, y = 1.7, 2.3
    expected = x ** (y - 1) * (1 + y * math.log(x))
    dx_of_dy = grad(grad(lambda a, b: a ** b, argnum=1), argnum=0)
    dy_of_dx = grad(grad(lambda a, b: a ** b, argnum=0), argnum=1)
    assert dx_of_dy(x, y) == pytest.approx(expected, rel=1e-13)
    assert dy_of_dx(x, y) == pytest.approx(expected, rel=1e-13)


def test_grad_with_a_tuple_of_argnums():
    """Arguments not differentiated are passed through as they are (here plain floats)."""
    def f(a, b, c):
        return a * b + c ** 2 * a

    ga, gc = grad(f, argnum=(0, 2))(0.5, 1.2, -3.0)
    assert (ga, gc) == (1.2 + 9.0, -3.0)
    (gb,) = grad(f, argnum=(1,))(0.5, 1.2, -3.0)
    assert gb == 0.5
    assert grad(f, argnum=-1)(0.5, 1.2, -3.0) == -3.0
    with pytest.raises(IndexError, match="argnum 3 is out of range for 3 arguments"):
        grad(f, argnum=3)(0.5, 1.2, -3.0)


def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose():
    A = np.random.default_rng(3).normal(size=(4, 4))
    x = np.random.default_rng(4).normal(size=4)
    H = hessian(lambda t: t @ (Tensor(A) @ t))(x)
    assert H.shape == (4, 4)
    np.testing.assert_allclose(H, A + A.T, rtol=1e-13, atol=1e-14)


def test_hessian_of_a_scalar_function_and_of_a_nonlinear_one():
    assert hessian(lambda t: t.tanh())(0.5) == pytest.approx(
        CASES["tanh"][1][2](0.5), rel=1e-13)
    x = np.array([0.3, -0.7])
    H = hessian(lambda t: (t[0] * t[1]).exp())(x)  # e^(ab)·[[b², 1 + ab], [1 + ab, a²]]
    a, b = x
    expected = np.exp(a * b) * np.array([[b * b, 1 + a * b], [1 + a * b, a * a]])
    np.testing.assert_allclose(H, expected, rtol=1e-13)


_M = np.random.default_rng(0).normal(size=(3, 4))
COMPOSITES = {
    "softmax": lambda t: (t.reshape(2, 3).softmax(axis=1) * Tensor(_M[:2, :3])).sum(),
    "log_softmax": lambda t: (t.reshape(3, 2).log_softmax(axis=0) ** 2).sum(),
    "logsumexp": lambda t: t.reshape(2, 3).logsumexp(axis=1).sum() * t.sum(),
    "max": lambda t: (t.reshape(2, 3).max(axis=1) ** 3).sum(),
    "min": lambda t: (t.reshape(3, 2).min(axis=0) * t[:2]).sum(),
    "matvec": lambda t: ((Tensor(_M[:, :3]) @ t[:3]).tanh() @ Tensor(_M[:, 3])) * (t[3:] @ t[3:]),
    "vecvec": lambda t: (t[:3] @ t[3:]) ** 2,
    "broadcast": lambda t: (t.reshape(2, 1, 3) * t.reshape(3, 2).T.reshape(1, 2, 3)).sigmoid()
    .mean(),
    "index": lambda t: (t[np.array([0, 0, 5, 2])] ** 2 * t[1]).sum(),
    "div-pow": lambda t: (t.exp() / (1.0 + t * t) ** 1.5).sum(),
}


@pytest.mark.parametrize("name", list(COMPOSITES))
def test_hessian_of_array_ops_matches_differences_of_the_gradient(name):
    """Every array rule run on nodes (the second-order graph) against central differences of
    the first-order gradient, which the property tests check against the function itself."""
    f = COMPOSITES[name]
    x = np.array([0.3, -0.5, 0.9, 1.2, -0.1, 0.7])
    H = hessian(f)(x)
    first = grad(f)
    numeric = np.stack([central_vjp(first, x, e) for e in np.eye(x.size)])
    assert_grad_close(H, numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("f", "x", "shape"), [
    (lambda t: t.sin(), 0.4, ()),
    (lambda t: t.sum(), np.ones(4), (4,)),
    (lambda t: Tensor(np.arange(6.0).reshape(2, 3)) @ t, np.ones(3), (2, 3)),
    (lambda t: t.exp(), np.ones((2, 3)), (2, 3, 2, 3)),
    (lambda t: t.sum(axis=0), np.ones((3, 2)), (2, 3, 2)),
], ids=["scalar", "sum", "linear-map", "elementwise", "reduction"])
def test_jacobian_shapes(f, x, shape):
    J = jacobian(f)(x)
    assert np.shape(J) == shape


def test_jacobian_values():
    M = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(jacobian(lambda t: Tensor(M) @ t)(np.ones(3)), M)
    x = np.array([[0.1, 0.2], [0.3, 0.4]])
    J = jacobian(lambda t: t.exp())(x)
    np.testing.assert_allclose(J.reshape(4, 4), np.diag(np.exp(x).ravel()), rtol=1e-15)
    assert jacobian(lambda t: t * t)(3.0) == 6.0


def test_value_and_grad_for_floats_and_arrays():
    value, slope = value_and_grad(lambda t: t.exp() * t)(1.5)
    assert value == pytest.approx(1.5 * math.exp(1.5), rel=1e-15)
    assert slope == pytest.approx(2.5 * math.exp(1.5), rel=1e-15)
    x = np.array([1.0, -2.0, 3.0])
    value, g = value_and_grad(lambda t: (t * t).sum())(x)
    assert float(value) == 14.0
    np.testing.assert_array_equal(g, 2 * x)


def test_vjp_is_the_transposed_jacobian_applied_to_v():
    M = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]])
    x = np.array([0.2, -0.4, 0.9])

    def f(t):
        return (Tensor(M) @ t).tanh()

    out, pullback = vjp(f, x)
    np.testing.assert_allclose(out, np.tanh(M @ x), rtol=1e-15)
    J = jacobian(f)(x)
    for v in (np.array([1.0, 0.0]), np.array([0.3, -2.0])):
        np.testing.assert_allclose(pullback(v), v @ J, rtol=1e-14)
    out, pullback = vjp(lambda t: t.sin(), 0.5)
    assert pullback(2.0) == pytest.approx(2 * math.cos(0.5), rel=1e-15)


def test_grad_of_a_function_of_nodes():
    """A node that carries a gradient (every Value does) is differentiated through: the result
    is a node, so it can be differentiated again. A constant Tensor is plain data."""
    x = Value(2.0)
    slope = grad(lambda t: t ** 3)(x)
    assert isinstance(slope, Value) and slope.data == 12.0
    slope.backward()  # d/dx 3x² = 6x
    assert x.grad == 12.0
    np.testing.assert_array_equal(grad(lambda t: (t ** 3).sum())(Tensor([1.0, 2.0])),
                                  [3.0, 12.0])


def test_grad_of_a_constant_function_is_zero():
    assert grad(lambda t: Value(2.0))(1.0) == 0.0
    np.testing.assert_array_equal(grad(lambda t: Tensor(3.0))(np.ones(2)), np.zeros(2))
