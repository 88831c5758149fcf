"""Attacks on nn.compile_step, each compared with the eager step on a twin model."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor
from nn import MLP, SGD, compile_step, mse_loss

_RNG = np.random.default_rng(7)
_X, _Y = _RNG.standard_normal((6, 4)), _RNG.random((6, 3))


def _twins(dtype=None):
    pairs = []
    for _ in range(2):
        model = MLP([4, 5, 3], seed=1, dtype=dtype)
        pairs.append((model, SGD(model.parameters(), lr=0.5)))
    (eager, opt_e), (comp, opt_c) = pairs
    return eager, opt_e, comp, compile_step(comp, mse_loss, opt_c)


def _eager_step(model, opt, x, y):
    loss = mse_loss(model(Tensor(x)), Tensor(y))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def _same_parameters(a, b):
    for p, q in zip(a.parameters(), b.parameters()):
        assert p.data.dtype == q.data.dtype
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-15)


# The first batch of a shape the fused plan cannot take (its build gives no plan) crashed with
# AttributeError ('NoneType' object has no attribute 'fits') instead of taking the general path.

@pytest.mark.parametrize("cast", [np.float32, np.float16], ids=["float32", "float16"])
def test_first_batch_of_other_dtype_takes_the_general_path(cast):
    eager, opt_e, comp, step = _twins()
    x = _X.astype(cast)
    assert step(x, _Y).item() == pytest.approx(_eager_step(eager, opt_e, x, _Y), rel=1e-12)
    _same_parameters(comp, eager)


def test_float32_model_with_float64_batch_from_the_first_step():
    eager, opt_e, comp, step = _twins(np.float32)
    for _ in range(2):
        loss = step(_X, _Y).item()
        assert loss == pytest.approx(_eager_step(eager, opt_e, _X, _Y), rel=1e-6)
    _same_parameters(comp, eager)


def test_int_batch_after_a_float_one():
    eager, opt_e, comp, step = _twins()
    step(_X, _Y)
    _eager_step(eager, opt_e, _X, _Y)
    xi = np.rint(_X * 3).astype(np.int64)
    assert step(xi, _Y).item() == pytest.approx(_eager_step(eager, opt_e, xi, _Y), rel=1e-12)
    _same_parameters(comp, eager)


@pytest.mark.parametrize("x, y, match", [
    (_X[:0], _Y[:0], "no entries"),
    (_X, _Y[:, 0], "differ"),
    (_X, _Y[:, :1], "differ"),
    (_X, _Y[:5], "differ"),
], ids=["0 rows", "y (m,)", "y (m, 1)", "y short"])
def test_bad_batch_after_a_good_one_is_the_eager_error(x, y, match):
    eager, opt_e, comp, step = _twins()
    step(_X, _Y)
    _eager_step(eager, opt_e, _X, _Y)
    with pytest.raises(ValueError, match=match):
        _eager_step(eager, opt_e, x, y)
    with pytest.raises(ValueError, match=match):
        step(x, y)
    _same_parameters(comp, eager)


# An ndarray subclass (a memmap, as np.load(..., mmap_mode="r") gives) was refused with
# TypeError by the general compiled path, where the eager step takes it as any array.

def test_memmap_batches_step_as_eager(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, _X)
    x = np.load(path, mmap_mode="r")
    eager, opt_e, comp, step = _twins()
    for _ in range(4):  # the first call, the check and the steady state
        assert step(x, _Y).item() == pytest.approx(_eager_step(eager, opt_e, x, _Y), rel=1e-12)
    _same_parameters(comp, eager)


class _Marked(np.ndarray):
    """An ndarray subclass that says nothing about its numbers."""


def test_ndarray_subclass_batches_in_the_general_path_step_as_eager():
    eager, opt_e, comp, step = _twins(np.float32)  # float64 batches: the general path
    x, y = _X.view(_Marked), _Y.view(_Marked)
    for _ in range(4):
        assert step(x, y).item() == pytest.approx(_eager_step(eager, opt_e, x, y), rel=1e-6)
    _same_parameters(comp, eager)


# The fused plan ignored the modes: under detect_anomaly() a NaN batch wrote NaN into every
# weight where eager raises FloatingPointError naming the op, and under no_grad() it trained
# where eager's backward raises RuntimeError.

def _steady(step, eager, opt_e):
    for _ in range(3):  # the first call, the check and the steady state of the fused plan
        step(_X, _Y)
        _eager_step(eager, opt_e, _X, _Y)


def test_detect_anomaly_stops_a_nan_step_as_eager_does():
    from autograd import CompileWarning, detect_anomaly

    eager, opt_e, comp, step = _twins()
    _steady(step, eager, opt_e)
    x = _X.copy()
    x[0, 0] = np.nan
    with detect_anomaly():
        with pytest.raises(FloatingPointError, match="linear produced a non-finite value"):
            _eager_step(eager, opt_e, x, _Y)
        with (pytest.warns(CompileWarning, match="anomaly mode"),
              pytest.raises(FloatingPointError, match="linear produced a non-finite value")):
            step(x, _Y)
    _same_parameters(comp, eager)
    assert all(np.isfinite(p.data).all() for p in comp.parameters())


def test_no_grad_refuses_the_step_as_eager_does():
    from autograd import no_grad

    eager, opt_e, comp, step = _twins()
    _steady(step, eager, opt_e)
    with no_grad():
        with pytest.raises(RuntimeError, match="does not require grad"):
            _eager_step(eager, opt_e, _X, _Y)
        with pytest.raises(RuntimeError, match="does not require grad"):
            step(_X, _Y)
    _same_parameters(comp, eager)
    assert step(_X, _Y).item() == pytest.approx(_eager_step(eager, opt_e, _X, _Y), rel=1e-12)
