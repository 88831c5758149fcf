"""Hostile numbers: 0-d arrays, 1e300, -0.0, nan and inf, subnormals, empty batches, bool and int
arrays, numpy scalars, mixed float32/float64, non-contiguous and read-only arrays.

Each test is one attack; the expected values are worked by hand.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import nn
from autograd import Tensor, Value, grad

TINY = 5e-324  # the smallest subnormal


@pytest.fixture(autouse=True)
def _no_numpy_warnings():
    """A defined inf or nan is computed silently: any numpy RuntimeWarning fails the attack."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


# ---- Values: the float paths agree with the array paths ----------------------------------------


@pytest.mark.parametrize("base, exponent, want", [
    (10.0, 400.0, math.inf), (-10.0, 401.0, -math.inf), (-10.0, 400.0, math.inf),
    (0.0, -1.0, math.inf), (-0.0, -1.0, -math.inf),
])
def test_value_power_past_the_float_range_is_inf_not_overflowerror(base, exponent, want):
    """10.0 ** 400.0 raised OverflowError from deep inside the engine."""
    assert (Value(base) ** exponent).data == want
    assert (Tensor(np.array(base)) ** exponent).item() == want


@pytest.mark.parametrize("op", ["sin", "cos"])
@pytest.mark.parametrize("x", [math.inf, -math.inf, math.nan])
def test_value_sin_and_cos_at_inf_are_nan_as_for_arrays(op, x):
    """math.sin(inf) raised 'math domain error' where np.sin gives nan."""
    assert math.isnan(getattr(Value(x), op)().data)
    assert math.isnan(getattr(Tensor([x]), op)().data[0])


@pytest.mark.parametrize("op", ["exp", "relu", "sigmoid", "tanh", "log", "sin"])
def test_nan_stays_nan_through_every_value_op(op):
    """Value(nan).exp() was inf and Value(nan).relu() was 0, where the arrays give nan."""
    assert math.isnan(getattr(Value(math.nan), op)().data)
    assert math.isnan(getattr(Tensor([math.nan]), op)().data[0])


def test_relu_gradient_at_nan_passes_the_gradient_as_pytorch():
    assert grad(lambda v: v.relu())(math.nan) == 1.0
    assert grad(lambda t: t.relu().sum())(np.array([math.nan, -1.0])).tolist() == [1.0, 0.0]


@pytest.mark.parametrize("scalar", [np.True_, np.float32(2.0), np.int8(3), np.uint64(4),
                                    np.float64(5.0)])
def test_numpy_scalars_are_numbers_to_value_and_tensor(scalar):
    """np.bool_ is no numbers.Real: Value and Tensor arithmetic refused np.True_ (the mask a
    0-d comparison makes)."""
    assert (Value(1.0) * scalar).data == float(scalar)
    assert Value(scalar).data == float(scalar)
    assert (Tensor([1.0]) * scalar).data.tolist() == [float(scalar)]
    assert (scalar + Tensor([1.0])).data.tolist() == [float(scalar) + 1.0]


def test_a_numpy_complex64_scalar_is_refused():
    """np.complex64 is a numbers.Number but not a Python complex: it slipped through."""
    with pytest.raises(TypeError, match="complex64"):
        Tensor([1.0]) + np.complex64(1j)
    with pytest.raises(TypeError):
        Value(1.0) + np.complex64(1j)


# ---- extreme magnitudes ----------------------------------------------------------------------


def test_1e300_squared_overflows_to_inf_with_a_finite_gradient():
    x = Value(1e300)
    y = x * x
    y.backward()
    assert y.data == math.inf and x.grad == 2e300


def test_subnormals_survive_every_op():
    assert Tensor([TINY]).sigmoid().data[0] == 0.5
    assert grad(lambda v: v * 2.0)(TINY) == 2.0
    assert grad(lambda t: (t * t).sum())(np.array([TINY])).tolist() == [2 * TINY]
    assert Value(TINY).log().data == pytest.approx(-744.44007192138122)
    assert 0 < Tensor([-740.0]).exp().data[0] < 2.3e-308  # a subnormal, not 0 or a warning


def test_minus_zero_through_power_relu_and_abs():
    assert grad(lambda v: v ** 0.0)(-0.0) == 0.0
    assert grad(lambda v: v ** 2.0)(-0.0) == 0.0
    assert grad(lambda v: v.relu())(-0.0) == 0.0
    assert grad(lambda t: abs(t).sum())(np.array([-0.0])).tolist() == [0.0]


def test_sigmoid_and_tanh_are_exact_at_infinities():
    t = Tensor([-math.inf, math.inf])
    assert t.sigmoid().data.tolist() == [0.0, 1.0]
    assert t.tanh().data.tolist() == [-1.0, 1.0]
    assert Value(-math.inf).sigmoid().data == 0.0


def test_a_minus_inf_logit_that_is_not_the_label_costs_nothing():
    """The one-hot mask made 0 · −inf = nan of a loss that is exactly 0."""
    z = np.array([[0.0, -math.inf]])
    assert nn.cross_entropy(z, [0]).item() == 0.0
    assert grad(lambda t: nn.cross_entropy(t, [0]))(z).tolist() == [[0.0, 0.0]]
    assert nn.cross_entropy(z, [1]).item() == math.inf


def test_max_with_a_nan_gives_nan_gradients_silently_as_amax():
    g = grad(lambda t: t.max())(np.array([1.0, math.nan]))
    assert np.isnan(g).all()


def test_logsumexp_of_minus_infinities_is_minus_inf():
    assert Tensor([-math.inf, -math.inf]).logsumexp().item() == -math.inf


# ---- empty batches ---------------------------------------------------------------------------


def test_an_empty_batch_through_linear_gives_zero_gradients():
    layer = nn.Linear(3, 2, seed=0)
    out = layer(np.zeros((0, 3)))
    assert out.shape == (0, 2)
    (out * 1.0).sum().backward()
    assert layer.weight.grad.tolist() == [[0.0] * 3] * 2 and layer.bias.grad.tolist() == [0, 0]


@pytest.mark.parametrize("loss", [nn.mse_loss, nn.binary_cross_entropy])
def test_losses_refuse_an_empty_batch(loss):
    with pytest.raises(ValueError, match="no entries"):
        loss(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="no examples"):
        nn.cross_entropy(np.zeros((0, 3)), np.zeros(0, int))


def test_reductions_over_an_empty_axis_are_refused_or_empty():
    empty = Tensor(np.ones((0, 3)))
    with pytest.raises(ValueError, match="empty axis"):
        empty.max(axis=0)
    assert empty.max(axis=1).shape == (0,)
    assert empty.softmax(axis=1).shape == (0, 3)
    with pytest.raises(ValueError, match="mean over no entries"):
        empty.mean()


# ---- dtypes and layouts ----------------------------------------------------------------------


@pytest.mark.parametrize("x", [np.array([[1, 0, 1]], np.int8), np.array([[True, False, True]]),
                               np.array([[1, 0, 1]], np.uint64)], ids=["int8", "bool", "uint64"])
def test_int_and_bool_inputs_are_numbers(x):
    layer = nn.Linear.from_arrays(np.ones((1, 3)), np.zeros(1))
    assert layer(x).data.tolist() == [[2.0]]
    assert Tensor(x).dtype == np.float64


def test_bool_labels_are_refused_by_cross_entropy():
    with pytest.raises(TypeError, match="integer class indices"):
        nn.cross_entropy(np.zeros((2, 2)), np.array([True, False]))


def test_mixed_float32_and_float64_keep_the_parameters_dtype():
    w = Tensor(np.ones(3, np.float32), requires_grad=True)
    (w * np.arange(3.0)).sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [0.0, 1.0, 2.0]
    model = nn.MLP([3, 2], dtype=np.float32, seed=0)
    nn.mse_loss(model(np.ones((2, 3))), np.zeros((2, 2))).backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_non_contiguous_and_read_only_inputs():
    x = np.arange(12.0).reshape(3, 4)[:, ::2]
    x.setflags(write=False)
    layer = nn.Linear.from_arrays(np.ones((1, 2)), np.zeros(1))
    layer(x).sum().backward()
    assert layer.weight.grad.tolist() == [[12.0, 18.0]]  # columns 0, 4, 8 and 2, 6, 10
    t = Tensor(x, requires_grad=True)
    seed = np.ones((3, 2))
    seed.setflags(write=False)
    (t * 2.0).backward(seed)
    t.grad += 1.0  # the gradient is the tensor's own, writable array, not the read-only seed
    assert t.grad.tolist() == [[3.0, 3.0]] * 3


def test_fortran_ordered_and_0d_inputs():
    x = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    assert grad(lambda t: (t * t).sum())(x).tolist() == (2 * x).tolist()
    with pytest.raises(ValueError, match="expects inputs of width 3"):
        nn.Linear(3, 1, seed=0)(np.array(1.0))
    assert Tensor(np.float32(2.0)).shape == () and Tensor(np.float32(2.0)).dtype == np.float32


def test_an_int_past_the_float_range_is_a_clear_error():
    """float(10**400) raised a bare OverflowError from inside Value and Tensor arithmetic."""
    with pytest.raises(ValueError, match=r"Value: the int 1000.*401 digits.*float range"):
        Value(10 ** 400)
    with pytest.raises(ValueError, match=r"Value \*: the int .* float range"):
        Value(1.0) * 10 ** 400
    with pytest.raises(ValueError, match=r"int operand of \+ is past the float range"):
        Tensor([1.0]) + 10 ** 400
    with pytest.raises(ValueError, match=r"int operand of - is past the float range"):
        10 ** 400 - Tensor([1.0])
    assert (Tensor([1.0]) * 2 ** 70).data[0] == 2.0 ** 70  # big but within range: fine


@pytest.mark.parametrize("row, soft, log_soft, lse", [
    ([math.inf, 1.0], [math.nan] * 2, [math.nan] * 2, math.inf),
    ([-math.inf, -math.inf], [math.nan] * 2, [math.nan] * 2, -math.inf),
    ([-math.inf, 1.0], [0.0, 1.0], [-math.inf, 0.0], 1.0),
    ([math.nan, 1.0], [math.nan] * 2, [math.nan] * 2, math.nan),
])
def test_the_softmax_family_on_infinite_and_nan_rows_gives_pytorchs_values(row, soft, log_soft,
                                                                            lse):
    """A row whose max is infinite or nan has no softmax: nan throughout, as in PyTorch."""
    t = Tensor(row)
    np.testing.assert_array_equal(t.softmax().data, soft)
    np.testing.assert_array_equal(t.log_softmax().data, log_soft)
    np.testing.assert_array_equal(t.logsumexp().data, lse)
