"""inf and nan are defined answers: the engine computes them without numpy's RuntimeWarnings,
forward and backward, and leaves the caller's own numpy error state as it was."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

from autograd import Tensor, detect_anomaly, grad, rules
from autograd.graph import silently


def _backward(f, x):
    t = Tensor(np.array(x, dtype=float), requires_grad=True)
    f(t).sum().backward()
    return t.grad


CASES = {
    "exp overflow": lambda: Tensor([1000.0]).exp(),
    "x / 0": lambda: Tensor([1.0]) / Tensor([0.0]),
    "0 / 0": lambda: Tensor([0.0]) / 0.0,
    "inf · 0": lambda: Tensor([np.inf]) * 0.0,
    "sum past the float range": lambda: Tensor([1e308, 1e308]).sum(),
    "matmul past the float range": lambda: Tensor([[1e200, 1e200]]) @ Tensor([[1e200], [1e200]]),
    "∂ log at 0": lambda: _backward(lambda t: t.log(), [0.0]),
    "∂ exp past the float range": lambda: _backward(lambda t: t.exp(), [1000.0]),
    "∂ x / y at y = 0": lambda: _backward(lambda t: 1.0 / t, [0.0]),
    "second derivative of log at 0": lambda: grad(
        lambda x: grad(lambda y: y.log().sum())(x).sum())(np.zeros(2)),
    # primitives called on raw arrays compute as quietly as ops (rules set no error state)
    "raw power: 0 to a negative power": lambda: rules.power(np.zeros(2), -1.0),
    "raw log at 0": lambda: rules.log(np.zeros(2)),
    "raw sin at inf": lambda: rules.sin(np.array([np.inf])),
    "raw logsumexp of -inf": lambda: rules.logsumexp(np.array([-np.inf, -np.inf])),
    "raw softmax of inf": lambda: rules.softmax(np.array([np.inf, 1.0])),
    "raw cosh past the float range": lambda: rules.cosh(np.array([1000.0])),
    "raw reciprocal of 0": lambda: rules.reciprocal(np.zeros(1)),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_no_numpy_warning_escapes(case):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CASES[case]()


def test_a_quiet_call_inside_a_quiet_call_leaves_the_callers_state():
    def inner():
        assert np.geterr()["over"] == "ignore"
        return silently(np.exp, np.array([1000.0]))  # already quiet: runs as it is

    with np.errstate(over="raise", divide="warn"):
        assert silently(inner)[0] == np.inf
        assert np.geterr()["over"] == "raise" and np.geterr()["divide"] == "warn"
        with pytest.raises(FloatingPointError):
            np.exp(np.array([1000.0]))


def test_the_callers_numpy_error_state_is_left_as_it_was():
    with np.errstate(over="raise"):
        Tensor([1000.0]).exp()
        _backward(lambda t: t.exp(), [1000.0])
        with pytest.raises(FloatingPointError):
            np.exp(np.array([1000.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning):
            np.exp(np.array([1000.0]))


def test_silence_in_one_thread_is_not_silence_in_another():
    seen = []

    def engine():
        for _ in range(2000):
            Tensor([1000.0]).exp()

    def plain():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(200):
                np.exp(np.array([1000.0]))
        seen.append(len(caught))

    threads = [threading.Thread(target=engine), threading.Thread(target=plain)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [200]


def test_anomaly_mode_still_names_the_op_that_made_an_inf():
    with detect_anomaly(), pytest.raises(FloatingPointError, match="exp"):
        Tensor([1000.0], requires_grad=True).exp()


def test_a_compiled_replay_is_as_quiet_as_eager():
    from autograd import compile

    w = Tensor(np.array([1000.0, 1.0]), requires_grad=True)

    def fn(x):
        w.grad = None
        loss = (w.exp() * x).sum()
        loss.backward()
        return loss

    step = compile(fn, strict=True)  # a warning inside the replay would make it fall back
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            loss = step(np.ones(2))
    assert loss.data == np.inf and w.grad[0] == np.inf
