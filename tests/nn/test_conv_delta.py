"""The δ recursion through conv nets (nn.delta_conv) against autograd, to 1e-10 in float64
for every stride, padding and pooling combination; its formulas one by one; and a wrong rule
caught."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import rules
from nn import (
    AvgPool2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from nn.delta import backprop, check
from nn.delta_conv import (
    avg_pool,
    avg_pool_delta,
    conv_delta,
    conv_forward,
    conv_nablas,
    max_pool,
    max_pool_delta,
)
from nn.gradtable import grad_table

RNG = np.random.default_rng(5)
POOLS = {"max": MaxPool2d, "avg": AvgPool2d, "none": None}


def conv_net(stride: int, padding: int, pool: str, out: int = 3, act=ReLU) -> Sequential:
    """conv 3x3 (stride, padding) → σ → pool 2 → conv 2x2 → flatten → dense; sized for 9x10."""
    steps = [Conv2d(2, 3, 3, stride, padding, seed=1), act()]
    if POOLS[pool] is not None:
        steps.append(POOLS[pool](2, stride=1 if stride > 1 else 2))
    steps += [Conv2d(3, 2, 2, seed=2), Tanh(), Flatten()]
    net = Sequential(*steps)
    width = int(np.prod(net(np.zeros((1, 2, 9, 10))).shape[1:]))
    return Sequential(*steps, Linear(width, out, seed=3))


@pytest.mark.parametrize("stride, padding, pool",
                         list(itertools.product((1, 2, 3), (0, 1, 2), POOLS)))
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_delta_agrees_with_autograd(stride, padding, pool, loss):
    net = conv_net(stride, padding, pool)
    x = RNG.standard_normal((3, 2, 9, 10))
    y = RNG.integers(0, 3, 3) if loss == "cross_entropy" else RNG.random((3, 3))
    report = check(net, x, y, loss, atol=1e-14, rtol=1e-10)
    assert report.ok, report
    assert [c.weight_shape for c in report.layers][:2] == [(3, 2, 3, 3), (2, 3, 2, 2)]


def test_max_pool_ties_go_where_autograd_sends_them():
    """Integer images through ReLU make many tied maxima (zeros above all)."""
    net = conv_net(1, 1, "max")
    x = RNG.integers(-1, 2, (4, 2, 9, 10)).astype(np.float64)
    for layer in (net.steps[0], net.steps[3]):
        layer.weight.data[...] = RNG.integers(-1, 2, layer.weight.shape)
    report = check(net, x, RNG.integers(0, 3, 4), "cross_entropy", atol=1e-14, rtol=1e-10)
    assert report.ok, report


def test_bce_with_a_sigmoid_output_and_oblong_kernels():
    net = Sequential(Conv2d(1, 2, (3, 2), (2, 1), (1, 0), seed=0), Sigmoid(), AvgPool2d((2, 1)),
                     Flatten(), Linear(2 * 2 * 4, 2, seed=1), Sigmoid())
    x = RNG.standard_normal((2, 1, 7, 5))
    y = (RNG.random((2, 2)) < 0.5).astype(float)
    assert check(net, x, y, "bce", atol=1e-14, rtol=1e-10).ok


def test_backprop_returns_mean_gradients_per_parametric_layer():
    net = conv_net(2, 1, "avg")
    x, y = RNG.standard_normal((4, 2, 9, 10)), RNG.integers(0, 3, 4)
    dws, dbs = backprop(net, x, y, "cross_entropy")
    params = [s for s in net.steps if isinstance(s, (Conv2d, Linear))]
    assert [d.shape for d in dws] == [p.weight.shape for p in params]
    assert [d.shape for d in dbs] == [p.bias.shape for p in params]
    # the batch cost is a mean: one example repeated gives the one-example gradient
    one = backprop(net, x[:1], y[:1], "cross_entropy")[0][0]
    twice = backprop(net, np.repeat(x[:1], 2, 0), np.repeat(y[:1], 2), "cross_entropy")[0][0]
    np.testing.assert_allclose(one, twice, rtol=1e-12)


def test_grad_table_handles_conv_nets():
    net = conv_net(1, 1, "max")
    x, y = RNG.standard_normal((2, 2, 9, 10)), RNG.integers(0, 3, 2)
    table = grad_table(net, x, y, "cross_entropy")
    assert table.ok, table
    assert len(table.rows) == 6


# ---- the formulas one at a time -----------------------------------------------------------

def test_conv_forward_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    np.testing.assert_array_equal(conv_forward(x, w, np.array([1.0]), (1, 1), (0, 0)),
                                  np.full((1, 1, 3, 3), -4.0))


@pytest.mark.parametrize("s, p", [((1, 1), (0, 0)), ((2, 2), (1, 1)), ((3, 2), (2, 0))])
def test_conv_delta_is_the_adjoint_of_the_forward(s, p):
    """⟨conv(x), δ⟩ = ⟨x, full conv of δ with the flipped kernel⟩ = ⟨K, x ⋆ δ⟩."""
    x, w = RNG.standard_normal((2, 3, 8, 9)), RNG.standard_normal((4, 3, 3, 2))
    z = conv_forward(x, w, np.zeros(4), s, p)
    d = RNG.standard_normal(z.shape)
    nabla_w, nabla_b = conv_nablas(x, d, (3, 2), s, p)
    assert np.vdot(z, d) == pytest.approx(np.vdot(x, conv_delta(d, w, x.shape, s, p)))
    assert np.vdot(z, d) == pytest.approx(np.vdot(w, nabla_w))
    np.testing.assert_allclose(nabla_b, d.sum(axis=(0, 2, 3)))


def test_max_pool_routes_to_the_first_arg_max():
    x = np.array([[[[1.0, 7, 7, 0], [7, 2, 1, 1]]]])
    top, arg = max_pool(x, (2, 2), (2, 2))
    np.testing.assert_array_equal(top, [[[[7.0, 7.0]]]])
    np.testing.assert_array_equal(arg, [[[[1, 0]]]])
    dx = max_pool_delta(np.array([[[[2.0, 3.0]]]]), arg, x.shape, (2, 2), (2, 2))
    np.testing.assert_array_equal(dx, [[[[0, 2, 3, 0], [0, 0, 0, 0]]]])


def test_avg_pool_spreads_evenly():
    x = np.arange(8.0).reshape(1, 1, 2, 4)
    np.testing.assert_array_equal(avg_pool(x, (2, 2), (2, 2)), [[[[2.5, 4.5]]]])
    dx = avg_pool_delta(np.array([[[[4.0, 8.0]]]]), x.shape, (2, 2), (2, 2))
    np.testing.assert_array_equal(dx, [[[[1, 1, 2, 2], [1, 1, 2, 2]]]])


# ---- a real witness, and refusals ---------------------------------------------------------

def test_a_slightly_wrong_conv_rule_is_caught(monkeypatch):
    right = rules.conv2d.vjp

    def wrong(g, out, x, w, b=None, stride=1, padding=0, needs=(True, True, True)):
        gx, gw, gb = right(g, out, x, w, b, stride, padding, needs)
        return gx, gw * 1.0005, gb

    monkeypatch.setattr(rules.conv2d, "vjp", wrong)
    net = conv_net(1, 0, "max")
    report = check(net, RNG.standard_normal((2, 2, 9, 10)), RNG.integers(0, 3, 2),
                   "cross_entropy")
    assert not report.ok
    assert [c.ok for c in report.layers] == [False, False, True]


def test_dropout_in_training_mode_is_refused():
    net = Sequential(Conv2d(1, 1, 2), Flatten(), Dropout(0.5), Linear(9, 2))
    x, y = np.zeros((1, 1, 4, 4)), np.array([1])
    with pytest.raises(ValueError, match=r"Dropout\(p=0.5\)\) drops random units.*model.eval"):
        check(net, x, y, "cross_entropy")
    net.eval()
    assert check(net, x, y, "cross_entropy").ok


def test_unknown_steps_and_models_are_refused():
    with pytest.raises(TypeError, match="no formula for step 1"):
        backprop(Sequential(Flatten(), lambda t: t), np.zeros((1, 4)), np.zeros((1, 4)))
    with pytest.raises(TypeError, match=r"nn\.MLP and nn\.Sequential, got Conv2d"):
        backprop(Conv2d(1, 1, 1), np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"cross_entropy.*logits"):
        backprop(Sequential(Flatten(), Linear(4, 2), Sigmoid()), np.zeros((1, 4)), [0],
                 "cross_entropy")
    with pytest.raises(ValueError, match="'bce' needs a Sigmoid"):
        backprop(Sequential(Flatten(), Linear(4, 2)), np.zeros((1, 4)), np.zeros((1, 2)), "bce")


# ---- properties over random geometries -----------------------------------------------------

@st.composite
def _geometry(draw):
    """A conv layer and a pool that fit: kernel, stride, padding, image and pool sizes."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s, p = (draw(st.integers(1, 3)), draw(st.integers(1, 3))), (draw(st.integers(0, 2)),
                                                                 draw(st.integers(0, 2)))
    h = draw(st.integers(max(1, kh - 2 * p[0]), 9))
    w = draw(st.integers(max(1, kw - 2 * p[1]), 9))
    oh, ow = (h + 2 * p[0] - kh) // s[0] + 1, (w + 2 * p[1] - kw) // s[1] + 1
    pool = draw(st.integers(1, max(1, min(oh, ow, 3))))
    return (kh, kw), s, p, (h, w), pool, draw(st.integers(1, 3)), draw(st.sampled_from(list(POOLS)))


@settings(max_examples=40, deadline=None)
@given(_geometry(), st.integers(0, 2 ** 16))
def test_delta_agrees_with_autograd_on_random_geometries(geometry, seed):
    k, s, p, (h, w), pool, stride, kind = geometry
    rng = np.random.default_rng(seed)
    steps = [Conv2d(2, 3, k, s, p, rng=rng), Tanh()]
    if POOLS[kind] is not None:
        steps.append(POOLS[kind](pool, stride=stride))
    steps.append(Flatten())
    body = Sequential(*steps)
    x = rng.standard_normal((2, 2, h, w))
    width = int(np.prod(body(x).shape[1:]))
    net = Sequential(*steps, Linear(width, 3, rng=rng))
    report = check(net, x, rng.integers(0, 3, 2), "cross_entropy", atol=1e-14, rtol=1e-10)
    assert report.ok, report
