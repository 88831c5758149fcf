"""Anomaly mode: inside `detect_anomaly()`, a NaN or inf made by an op raises at once, naming the
op and the line of this file that made the node, in the forward pass, in the backward pass, in
rules run on nodes (create_graph, nested grad), on Values and on Tensors alike."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import autograd
from autograd import Tensor, Value, detect_anomaly, grad
from autograd.graph import mode
from nn import MLP, mse_loss

# numpy warns as it makes the NaN; the error that follows is what these tests are about.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _next_line() -> str:
    """'this_file:N' for the line after the caller's: where the node under test is made."""
    return f"{__file__}:{inspect.currentframe().f_back.f_lineno + 1}"


def _raises(fn, *words: str) -> str:
    with pytest.raises(FloatingPointError) as info:
        fn()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"
    return str(info.value)


def _zero() -> Tensor:
    return Tensor([0.0, 1.0], requires_grad=True)


# (name, the input's first entry, the op making the NaN or inf, the op's name); the node is
# made on the lambda's own line, which the message must name.
FORWARD = [
    ("0 * inf", 0.0, lambda x: x * np.inf, "mul"),
    ("inf - inf", np.inf, lambda x: x - np.inf, "sub"),
    ("sqrt of negatives", -1.0, lambda x: x ** 0.5, "power"),
    ("division by zero", 0.0, lambda x: 1.0 / x, "div"),
    ("exp overflow", 1000.0, lambda x: x.exp(), "exp"),
    ("log at zero", 0.0, lambda x: x.log(), "log"),
]
# Python floats raise on their own for these (ValueError, ZeroDivisionError).
VALUE_FORWARD = [f for f in FORWARD if f[0] in ("0 * inf", "inf - inf", "exp overflow")]


def _line_of(fn) -> str:
    return f"{__file__}:{fn.__code__.co_firstlineno}"


@pytest.mark.parametrize("first, make, op", [f[1:] for f in FORWARD],
                         ids=[f[0] for f in FORWARD])
def test_a_forward_nan_or_inf_names_the_op_and_the_line(first, make, op):
    x = Tensor([first, 1.0], requires_grad=True)
    with detect_anomaly():
        message = _raises(lambda: make(x))
    assert message.startswith(f"{op} produced a non-finite value in the forward pass")
    assert message.endswith(f"(node made at {_line_of(make)})")


@pytest.mark.parametrize("first, make, op", [f[1:] for f in VALUE_FORWARD],
                         ids=[f[0] for f in VALUE_FORWARD])
def test_the_same_on_values(first, make, op):
    with detect_anomaly():
        message = _raises(lambda: make(Value(first)))
    assert message.startswith(f"{op} produced a non-finite value in the forward pass")
    assert message.endswith(f"(node made at {_line_of(make)})")


def test_a_backward_inf_names_the_rule_and_where_its_node_was_made():
    x = _zero()
    with detect_anomaly():
        where = _next_line()
        y = (x ** 0.5).sum()  # finite, but d√x/dx = inf at 0
        _raises(y.backward, "the gradient that 'power' passed to its input 0 is not finite",
                "backward pass", f"node made at {where}")


def test_a_backward_inf_on_values_too():
    v = Value(0.0)
    with detect_anomaly():
        where = _next_line()
        y = v ** 0.5
        _raises(y.backward, "'power'", where)
    (Value(0.0) ** 0.5).backward()  # outside the block: inf, as for a Tensor, no error


def test_outside_the_block_nothing_is_checked():
    x = _zero()
    y = (x ** 0.5).sum()
    y.backward()
    assert np.isinf(x.grad[0])
    assert np.isnan((x * np.inf).data[0])


def test_a_node_made_outside_the_block_says_its_line_is_unknown():
    x = _zero()
    y = (x ** 0.5).sum()
    with detect_anomaly():
        _raises(y.backward, "'power'", "made outside detect_anomaly()")


def test_nested_grad_names_the_rule():
    f = lambda a: a ** 1.5  # noqa: E731 (f' = 1.5 √a is finite at 0, f'' is not)
    with detect_anomaly():
        where = _next_line()
        _raises(lambda: grad(grad(f))(0.0), "'power'", "not finite", where)
        g = grad(lambda a: (a ** 1.5).sum())
        where = _next_line()
        _raises(lambda: grad(lambda a: g(a).sum())(np.zeros(2)), "'power'", where)


def test_create_graph_names_the_rule_whose_ops_made_the_nan():
    x = _zero()
    with detect_anomaly():
        made = _next_line()
        y = (x ** 0.5).sum()
        called = _next_line()
        message = _raises(lambda: y.backward(create_graph=True), "the rule of 'power'",
                          f"node made at {made}", "while computing its gradient")
    assert called in message  # the op inside the rule, made during this call


def test_the_mode_is_restored_after_an_error_and_nests():
    assert mode.anomaly is False
    with detect_anomaly():
        with detect_anomaly():
            assert mode.anomaly
        assert mode.anomaly
        with pytest.raises(FloatingPointError):
            _zero() * np.inf
        assert mode.anomaly and not mode.backward
    assert mode.anomaly is False and mode.backward is False


def test_a_healthy_training_step_is_unchanged_by_anomaly_mode():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)), rng.random((8, 3))
    grads = []
    for checked in (False, True):
        model = MLP([4, 5, 3], seed=1)
        if checked:
            with detect_anomaly():
                mse_loss(model(x), y).backward()
        else:
            mse_loss(model(x), y).backward()
        grads.append([p.grad.copy() for p in model.parameters()])
    assert all(np.array_equal(a, b) for a, b in zip(*grads))


def test_a_nan_input_to_a_model_is_caught_at_its_first_layer():
    model = MLP([2, 3, 1], seed=0)
    with detect_anomaly():
        _raises(lambda: model(np.array([[np.nan, 1.0]])), "linear produced a non-finite value",
                "nn/layers.py")


def test_exported_and_documented():
    assert "detect_anomaly" in autograd.__all__
    assert "NaN" in detect_anomaly.__doc__
