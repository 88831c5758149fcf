"""nn's fused primitives: their fast branches give exactly what the general branches give."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor
from nn.primitives import _bias_gradient, linear, linear_vjp, quadratic_cost, quadratic_cost_vjp

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("xdt, bdt", [(np.float64, np.float64), (np.float64, np.float32),
                                      (np.float32, np.float64), (np.float32, np.float32)])
def test_linear_adds_the_bias_in_place_only_where_the_dtype_allows(xdt, bdt):
    x, w = RNG.standard_normal((4, 3)).astype(xdt), RNG.standard_normal((2, 3)).astype(xdt)
    b = RNG.standard_normal(2).astype(bdt)
    out = linear(x, w, b)
    assert out.dtype == np.result_type(x, b)
    np.testing.assert_array_equal(out, x @ w.T + b)


def test_linear_takes_a_python_number_as_its_bias():
    x, w = RNG.standard_normal((4, 3)), RNG.standard_normal((2, 3))
    np.testing.assert_array_equal(linear(x, w, 0.5), x @ w.T + 0.5)


@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 5, 4)])
def test_the_bias_gradient_is_the_batch_sum_of_delta_for_every_batch_shape(shape):
    g = RNG.standard_normal(shape)
    expected = g.reshape((-1, 4)).sum(axis=0)
    got = _bias_gradient(g, np.zeros(4))
    assert got.shape == (4,)
    np.testing.assert_array_equal(got, expected)
    assert _bias_gradient(g, np.zeros((1, 4))) is g  # another bias shape: the driver sums it


def test_the_quadratic_cost_rule_gives_the_same_bits_for_the_seed_as_for_any_array():
    a, y = RNG.random((10, 10)), np.eye(10)
    seed = np.array(1.0)
    got = quadratic_cost_vjp(seed, None, a, y, needs=(True, True))
    assert type(got[0]) is np.ndarray
    np.testing.assert_array_equal(got[0], (a - y) * (np.array(1.0) / 10))
    np.testing.assert_array_equal(got[1], -got[0])
    scaled = quadratic_cost_vjp(np.array(0.25), None, a, y, needs=(True, False))
    np.testing.assert_array_equal(scaled[0], (a - y) * (np.array(0.25) / 10))


def test_the_quadratic_cost_keeps_float32_through_its_seed():
    a = Tensor(RNG.random((3, 2)).astype(np.float32), requires_grad=True)
    y = np.zeros((3, 2), np.float32)
    quadratic_cost(a, y).backward()
    assert a.grad.dtype == np.float32
    np.testing.assert_allclose(a.grad, a.data / 3, rtol=1e-6)


def test_linear_rule_on_a_batch_matches_the_general_reshape_path():
    x, w = RNG.standard_normal((6, 3)), RNG.standard_normal((2, 3))
    g = RNG.standard_normal((6, 2))
    gx, gw, gb = linear_vjp(g, None, x, w, np.zeros(2))
    np.testing.assert_array_equal(gb, g.reshape((-1, 2)).sum(axis=0))
    np.testing.assert_array_equal(gw, g.T @ x)
    np.testing.assert_array_equal(gx, g @ w)
