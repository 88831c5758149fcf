"""Attacks on the compiled replay (written-out rules, spread sums, folded seeds, dead values,
the replay's own argument checks), each kept as a test of what the attack found. Every
compiled call is held against an eager twin: same outputs and gradients to the last bit, or a
fall back to eager with a CompileWarning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from autograd import Tensor, compile


def _quiet(fn, *args):
    """fn(*args) with every warning an error: nothing may escape a compiled call."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args)


def _bits(a, b) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.signbit(a), np.signbit(b))


def _loss_step(p, loss):
    def fn():
        p.grad = None
        out = loss(p)
        out.backward()
        return out

    return fn


# ---- numpy's error state: the capture is as silent as eager -------------------------------

NOISY = {
    "square root of negatives": lambda p: (p ** 0.5).sum(),
    "division by zero": lambda p: (p / 0.0).sum(),
    "overflow in a cast": lambda p: (p * np.float32(1.0) * 1e39).sum(),
    "reciprocal of zero": lambda p: (p ** -1).sum() / 3,
}
_NOISY_DATA = np.array([[-2.0, 0.0, 1.5], [4.0, -0.0, 9.0]], dtype=np.float32)


@pytest.mark.parametrize("loss", NOISY.values(), ids=NOISY.keys())
def test_no_numpy_warning_escapes_any_compiled_call(loss):
    """The capture walks fn's backward pass on the real numbers; inf and nan there are answers,
    as in the eager driver, not warnings."""
    p = Tensor(_NOISY_DATA.copy(), requires_grad=True)
    q = Tensor(_NOISY_DATA.copy(), requires_grad=True)
    eager, comp = _loss_step(q, loss), compile(_loss_step(p, loss), strict=True)
    for _ in range(5):
        want = _quiet(eager)
        _bits(_quiet(comp).data, want.data)
        _bits(p.grad, q.grad)
    assert comp.tapes == 1


@pytest.mark.parametrize("loss", NOISY.values(), ids=NOISY.keys())
def test_numpy_errors_set_to_raise_around_calls_raise_nothing_and_are_kept(loss):
    """A user's np.errstate(all='raise') around a compiled call: every stage (warm-up, capture,
    check, replay) is as silent as eager, and the user's state is back after each call."""
    p = Tensor(_NOISY_DATA.copy(), requires_grad=True)
    q = Tensor(_NOISY_DATA.copy(), requires_grad=True)
    eager, comp = _loss_step(q, loss), compile(_loss_step(p, loss), strict=True)
    for _ in range(5):
        with np.errstate(all="raise"):
            want, got = eager(), comp()
            assert np.geterr() == {"divide": "raise", "over": "raise", "under": "raise",
                                   "invalid": "raise"}
        _bits(got.data, want.data)
        _bits(p.grad, q.grad)
    assert comp.tapes == 1
