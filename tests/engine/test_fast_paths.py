"""The eager Tensor path's speed tricks give what the general path gives.

Each trick has a general form it must agree with: sigmoid's unscanned formula against the
textbook formula and the overflow-safe one, and so on for the others below.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from autograd import Tensor
from autograd.rules import sigmoid


@pytest.fixture(autouse=True)
def _no_numpy_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


# ---- sigmoid: no scan of the input ----------------------------------------------------------

@pytest.mark.parametrize("dtype, low", [(np.float64, -709.7), (np.float32, np.float32(-88.7))])
def test_sigmoid_is_the_textbook_formula_to_the_last_bit_wherever_it_does_not_overflow(dtype,
                                                                                        low):
    """Down to where e⁻ˣ overflows, σ is 1 / (1 + e⁻ˣ) exactly, as the numpy floor writes it
    (a scan that switched formulas early gave other last bits between −709.7 and −700)."""
    x = np.linspace(low, 40, 4001).astype(dtype)
    with np.errstate(all="ignore"):
        expected = np.reciprocal(np.exp(-x) + dtype(1))
    got = sigmoid(x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_falls_back_to_the_stable_formula_when_any_entry_overflows(dtype):
    x = np.array([-745.0, -720.0, -1000.0, -math.inf, -100.0, 0.0, 3.0, 1000.0], dtype)
    with np.errstate(all="ignore"):
        e = np.exp(-np.abs(x))
        expected = np.where(x >= 0, 1.0, e) / (1.0 + e)
    got = sigmoid(x)
    np.testing.assert_array_equal(got, expected.astype(dtype))
    if dtype is np.float64:
        assert 0 < got[1] < 2.3e-308  # σ(−720) is a subnormal, not 1 / inf = 0


def test_sigmoid_restores_the_callers_numpy_error_state_even_after_an_overflow():
    with np.errstate(all="raise"):
        before = np.geterr()
        out = Tensor([-1000.0, 0.0]).sigmoid()
        assert np.geterr() == before
    assert out.data.tolist() == [0.0, 0.5]
    before = np.geterr()
    assert sigmoid(np.array([-1000.0, 2.0]))[0] == 0.0  # the raw function, outside any node
    assert np.geterr() == before


# ---- the backward driver's common case -----------------------------------------------------

def test_a_float32_leaf_gets_its_gradient_in_float32_from_a_float64_rule():
    w = Tensor(np.ones(3, np.float32), requires_grad=True)
    (w * np.arange(3.0)).sum().backward()  # the product is float64: so is its rule's gradient
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [0.0, 1.0, 2.0]


def test_a_leaf_never_shares_its_gradient_buffer_with_another_leaf():
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    (a + b).sum().backward()  # add passes one array to both operands
    a.grad += 1.0
    assert b.grad.tolist() == [1.0, 1.0, 1.0] and a.grad is not b.grad


def test_a_rule_returning_a_python_float_for_a_0d_tensor_gives_an_array_gradient():
    from autograd import primitive

    @primitive
    def triple(x):
        return x * 3.0

    @triple.defvjp
    def triple_vjp(g, out, x):
        return (float(g) * 3.0,)

    t = Tensor(2.0, requires_grad=True)
    triple(t).backward()
    assert type(t.grad) is np.ndarray and t.grad.shape == () and t.grad == 3.0


# ---- forward recording ---------------------------------------------------------------------

def test_a_quiet_primitive_sets_numpys_state_itself_and_others_are_run_silently():
    from autograd import primitive
    from autograd.rules import exp

    assert sigmoid.quiet and not exp.quiet

    @primitive
    def loud(x):
        return np.exp(x)  # overflows at 1000: apply must silence it

    @loud.defvjp
    def loud_vjp(g, out, x):
        return (g * out,)

    t = Tensor([1000.0, -1000.0], requires_grad=True)
    assert loud(t).data.tolist() == [math.inf, 0.0]
    assert t.sigmoid().data.tolist() == [1.0, 0.0]


@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid", "relu"])
def test_the_elementwise_methods_record_the_same_node_as_their_primitive(name):
    import autograd.rules as rules

    x = Tensor([0.5, 2.0], requires_grad=True)
    by_method, by_rule = getattr(x, name)(), getattr(rules, name)(x)
    assert by_method.op == by_rule.op == name and by_method.parents == (x,)
    np.testing.assert_array_equal(by_method.data, by_rule.data)


def test_power_and_log_give_their_ieee_answers_silently_whatever_the_callers_numpy_state():
    from autograd.rules import log, power

    with np.errstate(all="raise"):
        before = np.geterr()
        assert power(np.array([0.0, 2.0]), -1.0).tolist() == [math.inf, 0.5]
        assert power(np.array([1e300]), 2.0).tolist() == [math.inf]
        assert np.isnan(power(np.array([-2.0]), 0.5)[0])  # no complex numbers: nan
        assert log(np.array([0.0, 1.0])).tolist() == [-math.inf, 0.0]
        t = Tensor([0.0, 3.0], requires_grad=True)
        (t ** 2.0).sum().backward()
        assert np.geterr() == before
    assert t.grad.tolist() == [0.0, 6.0]


@pytest.mark.parametrize("arity", [1, 2, 3, 4])
def test_a_rule_is_told_which_arguments_want_a_gradient_on_every_path(arity):
    """The plain pass spells out `needs` for two and three arguments; every arity agrees with
    the general pass (wrt=...) and names exactly the arguments recorded with a gradient."""
    from autograd import grad, primitive

    seen = []

    @primitive
    def total(*xs):
        return sum(xs)

    @total.defvjp
    def total_vjp(g, out, *xs, needs=None):
        seen.append(needs)
        return tuple(g if n else None for n in needs)

    for wanted in range(arity):
        args = [Tensor(np.ones(2), requires_grad=(i == wanted)) for i in range(arity)]
        total(*args).sum().backward()
        expected = tuple(i == wanted for i in range(arity))
        assert seen[-1] == expected
        assert args[wanted].grad.tolist() == [1.0, 1.0]
        rest = [np.ones(2)] * arity

        def f(t, wanted=wanted, rest=rest):
            return total(*rest[:wanted], t, *rest[wanted + 1:]).sum()

        assert grad(f)(np.ones(2)).tolist() == [1.0, 1.0]
        assert seen[-1] == expected


def test_transpose_and_sum_methods_record_the_same_nodes_as_their_primitives():
    import autograd.rules as rules

    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    for by_method, by_rule in [(x.T, rules.transpose(x, None)),
                               (x.sum(), rules.sum_(x, None, False)),
                               (x.sum(axis=-1, keepdims=True), rules.sum_(x, (1,), True))]:
        assert by_method.op == by_rule.op and by_method.parents == (x,)
        np.testing.assert_array_equal(by_method.data, by_rule.data)
    (x.T.sum() + x.sum(axis=0).sum()).backward()
    assert x.grad.tolist() == [[2.0] * 3] * 2


def test_a_misshapen_gradient_names_the_rule_and_the_input_it_was_for():
    """The input's position is found only when the gradient does not fit (the common case of a
    bias's broadcast gradient does not pay for it)."""
    from autograd import primitive

    @primitive
    def pair(x, y):
        return x + y

    @pair.defvjp
    def pair_vjp(g, out, x, y):
        return g, np.ones(7)

    x, y = Tensor(np.ones((2, 3)), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"the rule of 'pair' returned a gradient of shape \(7,\) "
                                         r"for its input 1 of shape \(3,\)"):
        pair(x, y).sum().backward()
    b = Tensor(np.ones(3), requires_grad=True)
    (x + b).sum().backward()  # broadcast undone: (2, 3) summed to (3,)
    assert b.grad.tolist() == [2.0, 2.0, 2.0]
