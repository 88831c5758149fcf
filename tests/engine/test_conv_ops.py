"""conv2d, max_pool2d and avg_pool2d: hand-worked values, finite differences, second order,
PyTorch where installed, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor, enable_grad, gradcheck
from autograd.rules import (
    avg_pool2d,
    avg_unpool2d,
    conv2d,
    conv2d_input_grad,
    conv2d_kernel_grad,
    max_pick2d,
    max_pool2d,
    max_unpool2d,
)

RNG = np.random.default_rng(7)
# (N, C, H, W, out, kernel, stride, padding): square and oblong kernels, strides that do
# and do not divide, padding wider than the kernel's half
CONV_CASES = [
    (2, 3, 7, 6, 4, 3, 1, 0),
    (2, 2, 9, 8, 3, (3, 2), 2, 1),
    (1, 1, 5, 5, 2, 5, 1, 2),
    (3, 2, 8, 8, 2, 2, 3, 0),
    (1, 2, 6, 7, 3, (1, 3), (2, 1), (0, 2)),
]
POOL_CASES = [(2, 2), (2, 1), (3, 2), ((2, 3), None), (3, None)]


def _conv_inputs(case):
    n, c, h, w, o, k, s, p = case
    kk = (k, k) if isinstance(k, int) else k
    return (RNG.standard_normal((n, c, h, w)), RNG.standard_normal((o, c, *kk)),
            RNG.standard_normal(o), s, p)


# ---- hand-worked values ---------------------------------------------------------------------

def test_conv2d_hand_worked():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])  # x[i, j] − x[i+1, j+1] = −5 everywhere
    out = conv2d(x, w, np.array([0.5]))
    np.testing.assert_array_equal(out, np.full((1, 1, 3, 3), -4.5))
    strided = conv2d(x, np.ones((1, 1, 2, 2)), None, 2)
    np.testing.assert_array_equal(strided, [[[[10.0, 18.0], [42.0, 50.0]]]])


def test_conv2d_padding_is_zeros():
    out = conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), None, 1, 1)
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), 4.0))


def test_conv2d_gradients_hand_worked():
    x = Tensor(np.arange(9.0).reshape(1, 1, 3, 3), requires_grad=True)
    w = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    b = Tensor(np.zeros(1), requires_grad=True)
    conv2d(x, w, b).sum().backward()
    # each input pixel is counted once per window covering it
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(w.grad[0, 0], [[8, 12], [20, 24]])  # sums of the 2x2 corners
    np.testing.assert_array_equal(b.grad, [4.0])


def test_pools_hand_worked():
    x = np.array([[[[1.0, 2, 5, 0], [3, 4, 1, 1], [0, 0, 2, 2], [0, 9, 2, 2]]]])
    np.testing.assert_array_equal(max_pool2d(x, 2), [[[[4.0, 5.0], [9.0, 2.0]]]])
    np.testing.assert_array_equal(avg_pool2d(x, 2), [[[[2.5, 1.75], [2.25, 2.0]]]])
    t = Tensor(x, requires_grad=True)
    max_pool2d(t, 2).sum().backward()
    # the 2s tie in the last window: the first in scan order takes the gradient
    want = [[0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]]
    np.testing.assert_array_equal(t.grad[0, 0], want)
    t.grad = None
    avg_pool2d(t, 2).sum().backward()
    np.testing.assert_array_equal(t.grad, np.full(x.shape, 0.25))


def test_max_pool_overlapping_windows_add_up():
    x = Tensor(np.array([[[[0.0, 0, 0], [0, 9, 0], [0, 0, 0]]]]), requires_grad=True)
    max_pool2d(x, 2, 1).sum().backward()
    assert x.grad[0, 0, 1, 1] == 4.0 and x.grad.sum() == 4.0


def test_pool_leaves_the_remainder_out():
    x = Tensor(RNG.standard_normal((1, 1, 5, 5)), requires_grad=True)
    assert max_pool2d(x, 2).shape == (1, 1, 2, 2)
    max_pool2d(x, 2).sum().backward()
    assert not x.grad[0, 0, 4].any() and not x.grad[0, 0, :, 4].any()


def test_float32_stays_float32():
    x = Tensor(RNG.standard_normal((1, 2, 5, 5)).astype(np.float32), requires_grad=True)
    w = Tensor(RNG.standard_normal((3, 2, 3, 3)).astype(np.float32), requires_grad=True)
    b = Tensor(np.zeros(3, np.float32), requires_grad=True)
    out = max_pool2d(avg_pool2d(conv2d(x, w, b, 1, 1), 2, 1), 2)
    out.sum().backward()
    assert out.dtype == np.float32
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


# ---- finite differences and adjoints ------------------------------------------------------

@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_gradcheck(case):
    x, w, b, s, p = _conv_inputs(case)
    assert gradcheck(lambda x, w, b: (conv2d(x, w, b, s, p) ** 2).sum(), x, w, b).ok


@pytest.mark.parametrize("op", [max_pool2d, avg_pool2d])
@pytest.mark.parametrize("k, s", POOL_CASES)
def test_pool_gradcheck(op, k, s):
    x = RNG.standard_normal((2, 2, 7, 8))  # no ties: the max is differentiable
    assert gradcheck(lambda x: (op(x, k, s) ** 2).sum(), x).ok


def _inner(a, b):
    return float(np.vdot(a, b))


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_gradients_are_adjoint(case):
    """⟨conv(x, w), g⟩ = ⟨x, convᵀ(g, w)⟩ = ⟨w, x ⋆ g⟩: the identities the higher-order
    rules rest on."""
    x, w, _, s, p = _conv_inputs(case)
    g = RNG.standard_normal(conv2d(x, w, None, s, p).shape)
    lhs = _inner(conv2d(x, w, None, s, p), g)
    assert lhs == pytest.approx(_inner(x, conv2d_input_grad(g, w, x.shape, s, p)), rel=1e-12)
    assert lhs == pytest.approx(_inner(w, conv2d_kernel_grad(x, g, w.shape, s, p)), rel=1e-12)


@pytest.mark.parametrize("k, s", POOL_CASES)
def test_pool_spreads_are_adjoint(k, s):
    x = RNG.standard_normal((2, 3, 7, 7))
    g = RNG.standard_normal(max_pool2d(x, k, s).shape)
    h = RNG.standard_normal(x.shape)
    assert _inner(max_unpool2d(g, x, k, s), h) == pytest.approx(
        _inner(g, max_pick2d(h, x, k, s)), rel=1e-12)
    assert _inner(avg_unpool2d(g, x.shape, k, s), h) == pytest.approx(
        _inner(g, avg_pool2d(h, k, s)), rel=1e-12)


@pytest.mark.parametrize("case", CONV_CASES[:3])
def test_second_order_through_conv_and_pools(case):
    """The gradient of a gradient, checked by finite differences of the first gradient."""
    x, w, b, s, p = _conv_inputs(case)
    v = RNG.standard_normal(x.shape)

    def grad_dot_v(x, w, b):
        with enable_grad():  # gradcheck differences f with recording off
            out = max_pool2d(conv2d(x, w, b, s, p).tanh(), 2, 1) + avg_pool2d(
                conv2d(x, w, b, s, p), 2, 1)
            (out ** 2).sum().backward(create_graph=True)
        gx = x.grad
        x.grad = w.grad = b.grad = None
        return (gx * v).sum()

    assert gradcheck(grad_dot_v, x, w, b, atol=1e-4).ok


# ---- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    ((np.ones((2, 3, 5)), np.ones((1, 3, 2, 2))), ["(N, C, H, W)", "(2, 3, 5)"]),
    ((np.ones((1, 3, 5, 5)), np.ones((1, 2, 2, 2))), ["3 channels", "takes 2"]),
    ((np.ones((1, 1, 5, 5)), np.ones((2, 1, 2, 2)), np.ones(3)), ["bias of shape (2,)", "(3,)"]),
    ((np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3))), ["3x3 window", "2x2"]),
])
def test_conv2d_refuses_bad_shapes(args, words):
    with pytest.raises(ValueError) as e:
        conv2d(*args)
    for word in words:
        assert word in str(e.value)


@pytest.mark.parametrize("stride, padding, words", [
    (0, 0, "positive"), (1, -1, "non-negative"), (1.5, 0, "stride must be an int"),
    ((1, 2, 3), 0, "pair of ints"),
])
def test_conv2d_refuses_bad_stride_and_padding(stride, padding, words):
    with pytest.raises((ValueError, TypeError), match=words):
        conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 2, 2)), None, stride, padding)


def test_pools_refuse_bad_input():
    with pytest.raises(ValueError, match=r"max_pool2d needs an input \(N, C, H, W\)"):
        max_pool2d(np.ones((4, 4)), 2)
    with pytest.raises(ValueError, match="3x3 window does not fit an image of 2x2"):
        avg_pool2d(np.ones((1, 1, 2, 2)), 3)
    with pytest.raises(TypeError, match="kernel_size must be an int"):
        max_pool2d(np.ones((1, 1, 4, 4)), "2")
