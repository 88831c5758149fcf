"""The finite-difference witness is itself checked: it must catch a rule that is slightly wrong."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograd import Tensor, Value, primitive
from tests.witnesses.finite_differences import (
    assert_grad_close,
    central_grad,
    central_vjp,
    mismatch,
)


@primitive
def _cube(x):
    return x ** 3


@_cube.defvjp
def _cube_vjp(g, out, x):
    """Deliberately 0.3% too large: the helper must notice."""
    return (1.003 * 3 * x ** 2 * g,)


@primitive
def _sin_with_a_wrong_rule(x):
    return np.sin(x)


@_sin_with_a_wrong_rule.defvjp
def _cos_sign_wrong_at_one_entry(g, out, x):
    """Right everywhere except entry 2 of an array, where the sign is flipped."""
    d = np.cos(x)
    d[2] = -d[2]
    return (g * d,)


def test_numeric_grad_is_accurate_on_known_derivatives():
    assert central_grad(math.exp, 1.3) == pytest.approx(math.exp(1.3), rel=1e-9)
    assert central_grad(math.sin, 0.4) == pytest.approx(math.cos(0.4), rel=1e-9)
    x = np.array([[0.5, -1.0], [2.0, 0.1]])
    np.testing.assert_allclose(central_grad(lambda a: np.sum(a ** 3), x), 3 * x ** 2,
                               rtol=1e-8)


def test_numeric_vjp_weights_each_output():
    x = np.array([1.0, 2.0, 3.0])
    v = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(central_vjp(np.exp, x, v), v * np.exp(x), rtol=1e-9)


def test_rejects_a_gradient_three_tenths_of_a_percent_wrong():
    exact = np.array([0.7, -2.5, 11.0])
    assert mismatch(exact, exact) == ""
    assert mismatch(exact * 1.003, exact) != ""
    with pytest.raises(AssertionError, match="3 of 3 entries differ"):
        assert_grad_close(exact * 1.003, exact)


def test_report_names_the_worst_entry():
    numeric = np.zeros((2, 3))
    analytic = numeric.copy()
    analytic[1, 2] = 1e-3
    assert "worst at (1, 2)" in mismatch(analytic, numeric)


def test_rejects_a_shape_mismatch():
    assert "shapes differ" in mismatch(np.zeros(3), np.zeros((3, 1)))


def test_rejects_nan():
    assert mismatch(np.array([np.nan]), np.array([1.0])) != ""


def test_catches_a_scalar_rule_that_is_slightly_wrong():
    x = Value(1.7)
    _cube(x).backward()
    with pytest.raises(AssertionError):
        assert_grad_close(x.grad, central_grad(lambda t: t ** 3, 1.7))


def test_catches_a_tensor_rule_wrong_at_a_single_entry():
    data = np.array([0.1, 0.2, 0.3, 0.4])
    t = Tensor(data, requires_grad=True)
    w = np.ones(4)
    _sin_with_a_wrong_rule(t).backward(w)
    with pytest.raises(AssertionError, match="1 of 4 entries differ; worst at \\(2,\\)"):
        assert_grad_close(t.grad, central_vjp(np.sin, data, w))
