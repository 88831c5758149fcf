"""Optimizers against steps worked by hand, and their refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograd import Tensor, Value
from nn import MLP, SGD, Adam, Linear


def _param(values, grad=None):
    p = Tensor(values, requires_grad=True)
    p.grad = None if grad is None else np.array(grad, dtype=np.float64)
    return p


def _half_square_step(opt, p):
    """One step on f(p) = ½‖p‖², whose gradient is p itself."""
    opt.zero_grad()
    ((p * p).sum() * 0.5).backward()
    opt.step()


# ---- SGD ---------------------------------------------------------------------------------------

def test_sgd_is_p_minus_lr_grad():
    p = _param([1.0, -2.0], [0.5, 0.25])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -2.025], rtol=1e-15)


def test_sgd_weight_decay_adds_wd_times_p_to_the_gradient():
    p = _param([1.0, -2.0], [0.5, 0.25])
    SGD([p], lr=0.1, weight_decay=0.1).step()
    # g + wd·p = [0.6, 0.05]
    np.testing.assert_allclose(p.data, [0.94, -2.005], rtol=1e-15)


def test_sgd_momentum_by_hand():
    p = _param([1.0])
    opt = SGD([p], lr=0.1, momentum=0.5)
    seen = []
    for _ in range(3):
        _half_square_step(opt, p)
        seen.append(p.data[0])
    # v₁ = 1 → p = 0.9;  v₂ = 0.5 + 0.9 = 1.4 → p = 0.76;  v₃ = 0.7 + 0.76 = 1.46 → p = 0.614
    np.testing.assert_allclose(seen, [0.9, 0.76, 0.614], rtol=1e-14)


def test_step_works_in_place_and_leaves_the_gradient_alone():
    p = _param([1.0, 2.0], [0.5, 0.5])
    data = p.data
    for opt in (SGD([p], lr=0.1), SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1),
                Adam([p], weight_decay=0.1)):
        opt.step()
        assert p.data is data
        np.testing.assert_array_equal(p.grad, [0.5, 0.5])


def test_parameters_without_a_gradient_are_skipped():
    used, unused = _param([1.0], [1.0]), _param([5.0])
    for opt in (SGD([used, unused], lr=0.5), SGD([used, unused], lr=0.5, momentum=0.9),
                Adam([used, unused])):
        opt.step()
    assert unused.data[0] == 5.0 and used.data[0] < 1.0


def test_gradients_kept_as_tensors_are_used_as_arrays():
    # backward(create_graph=True) leaves Tensor gradients; a step still reads their numbers
    for make in (lambda ps: SGD(ps, lr=0.5), lambda ps: SGD(ps, lr=0.5, momentum=0.5),
                 lambda ps: Adam(ps, lr=0.5)):
        p = Tensor([2.0], requires_grad=True)
        (p * p).sum().backward(create_graph=True)
        assert isinstance(p.grad, Tensor)
        make([p]).step()
        assert p.data[0] < 2.0


def test_zero_grad_clears_every_parameter():
    a, b = _param([1.0], [1.0]), _param([2.0], [3.0])
    SGD([a, b], lr=0.1).zero_grad()
    assert a.grad is None and b.grad is None


def test_float32_parameters_stay_float32():
    m = MLP([3, 2], dtype=np.float32, seed=0)
    m(np.ones((2, 3), dtype=np.float32)).sum().backward()
    for opt in (SGD(m.parameters(), lr=0.1, momentum=0.9), Adam(m.parameters())):
        opt.step()
    assert all(p.dtype == np.float32 for p in m.parameters())


def test_sgd_on_a_model_is_the_documents_update():
    m = MLP([4, 3, 2], seed=0)
    x, y = np.random.default_rng(0).random((5, 4)), np.random.default_rng(1).random((5, 2))
    before = [p.data.copy() for p in m.parameters()]
    (((m(x) - y) ** 2).sum() / 10).backward()
    grads = [p.grad.copy() for p in m.parameters()]
    SGD(m.parameters(), lr=3.0).step()
    for p, w, g in zip(m.parameters(), before, grads):
        np.testing.assert_array_equal(p.data, w - 3.0 * g)


# ---- Adam -------------------------------------------------------------------------------------

def test_adam_first_two_steps_by_hand():
    p = _param([1.0, -1.0], [0.5, -2.0])
    opt = Adam([p], lr=0.1)
    opt.step()
    # step 1: m̂ = g and v̂ = g², so each entry moves lr · g / (|g| + eps) ≈ lr · sign(g)
    np.testing.assert_allclose(p.data, [1.0 - 0.1 * 0.5 / (0.5 + 1e-8),
                                        -1.0 + 0.1 * 2.0 / (2.0 + 1e-8)], rtol=1e-15)
    first = p.data.copy()
    p.grad = np.array([0.25, 1.0])
    opt.step()
    for i, (g1, g2) in enumerate([(0.5, 0.25), (-2.0, 1.0)]):
        m = 0.9 * (0.1 * g1) + 0.1 * g2
        v = 0.999 * (0.001 * g1 * g1) + 0.001 * g2 * g2
        m_hat, v_hat = m / (1 - 0.9 ** 2), v / (1 - 0.999 ** 2)
        assert p.data[i] == pytest.approx(first[i] - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8),
                                          rel=1e-14)


def test_adam_weight_decay_is_added_to_the_gradient():
    # with decay, step 1 moves by lr · sign(g + wd·p): here g = 0.1, wd·p = −0.5, so +lr
    p = _param([-1.0], [0.1])
    Adam([p], lr=0.01, weight_decay=0.5).step()
    assert p.data[0] == pytest.approx(-1.0 + 0.01, rel=1e-7)


def test_adam_converges_on_a_quadratic():
    p = _param([3.0, -4.0])
    opt = Adam([p], lr=0.1)
    for _ in range(500):
        _half_square_step(opt, p)
    assert np.abs(p.data).max() < 1e-2


# ---- refusals ----------------------------------------------------------------------------------

def test_bad_hyper_parameters_are_refused():
    ps = Linear(2, 2, seed=0).parameters()
    with pytest.raises(ValueError, match=r"lr must be a finite number >= 0, got -0\.1"):
        SGD(ps, lr=-0.1)
    with pytest.raises(ValueError, match="lr must be a finite number"):
        Adam(ps, lr=float("nan"))
    with pytest.raises(TypeError, match="lr must be a number"):
        SGD(ps, lr="0.1")
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        SGD(ps, lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        SGD(ps, lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="weight_decay"):
        SGD(ps, lr=0.1, weight_decay=-1.0)
    with pytest.raises(ValueError, match=r"betas must each be in \[0, 1\)"):
        Adam(ps, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="betas must be two numbers"):
        Adam(ps, betas=0.9)
    with pytest.raises(ValueError, match="eps must be a positive number"):
        Adam(ps, eps=0.0)


def test_bad_parameter_lists_are_refused():
    layer = Linear(2, 2, seed=0)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam(iter(()))
    with pytest.raises(TypeError, match="parameter 1 is a ndarray, not a Tensor"):
        SGD([layer.weight, np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="parameter 0 is a Value"):
        SGD([Value(1.0)], lr=0.1)
    with pytest.raises(TypeError, match=r"not the model: SGD\(model.parameters\(\)"):
        SGD(layer, lr=0.1)
    with pytest.raises(ValueError, match="same parameter more than once"):
        SGD([layer.weight, layer.weight], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        SGD(3, lr=0.1)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1),
                                  lambda ps: SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: SGD(ps, lr=0.1, weight_decay=0.01),
                                  lambda ps: Adam(ps)],
                         ids=["sgd", "momentum", "decay", "adam"])
def test_a_gradient_that_cannot_update_its_parameter_changes_nothing(make):
    m = MLP([2, 3, 1], seed=0)
    ps = m.parameters()
    opt = make(ps)
    for p in ps:
        p.grad = np.ones(p.shape)
    ps[3].grad = np.ones(5)
    before = [p.data.copy() for p in ps]
    with pytest.raises(ValueError):
        opt.step()
    for p, w in zip(ps, before):
        np.testing.assert_array_equal(p.data, w)
        assert p.version == 0
    if isinstance(opt, Adam):
        assert opt._t == [0, 0, 0, 0]
    elif opt.momentum:
        assert all(v is None for v in opt._velocity)
