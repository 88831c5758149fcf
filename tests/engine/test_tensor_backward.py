"""Tensor.backward: what it refuses, what it keeps, what a second pass does, differentiable
gradients (create_graph), stability far out, and float32 kept end to end."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from autograd import Tensor, no_grad


def _quiet():
    """Turn every numpy warning into an error except underflow, which numpy ignores by default:
    e⁻¹⁰⁰⁰ rounding to 0 is the right answer, not a fault."""
    return np.errstate(over="raise", divide="raise", invalid="raise", under="ignore")


# ---- what backward refuses ------------------------------------------------------------------

def test_non_scalar_output_needs_an_explicit_grad():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\) needs grad="):
        (x * 2.0).backward()


def test_explicit_grad_of_the_wrong_shape_is_refused():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        (x * 2.0).backward(np.ones(3))


def test_backward_without_any_tracked_input_says_so():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0, 2.0]) * 2.0).sum().backward()


def test_one_entry_outputs_default_to_a_unit_seed():
    x = Tensor([[3.0]], requires_grad=True)
    (x * x).backward()
    np.testing.assert_array_equal(x.grad, [[6.0]])


# ---- a second pass --------------------------------------------------------------------------

def test_second_backward_over_a_freed_graph_raises():
    """Without retain_graph the first backward frees each node's saved inputs (the buffers a
    rule needs), so a second backward through the same graph is an error that says how to
    keep them, rather than a silent wrong answer."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_second_backward_with_retain_graph_adds_the_gradients_again():
    """With retain_graph=True on the first call the graph survives, and the second backward
    adds its gradients onto the first (gradients accumulate until reset, as in PyTorch):
    two passes give twice the gradient."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    loss.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


def test_saved_inputs_are_released_after_backward():
    x = Tensor([1.0, 2.0], requires_grad=True)
    hidden = x.exp()
    loss = hidden.sum()
    loss.backward()
    assert hidden._args is None and loss._args is None


def test_gradients_accumulate_across_graphs_until_reset():
    x = Tensor([1.0, -1.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 1.0])
    x.grad = None
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


# ---- what backward keeps --------------------------------------------------------------------

def test_non_leaf_gradients_are_kept_only_on_request():
    x = Tensor([1.0, 2.0], requires_grad=True)
    dropped, kept = x * 2.0, x * 3.0
    kept.retain_grad()
    (dropped * kept).sum().backward()
    assert dropped.grad is None
    np.testing.assert_array_equal(kept.grad, [2.0, 4.0])
    np.testing.assert_array_equal(x.grad, [12.0, 24.0])


@pytest.mark.parametrize("run", [
    lambda x, y: (x + y).sum().backward(),
    lambda x, y: (x - y).sum().backward(),
    lambda x, y: (x + y).backward(np.ones(2)),
    lambda x, y: (x.reshape(2, 1) + y.reshape(2, 1)).sum().backward(),
    lambda x, y: (x.T + y.T).sum().backward(),
    lambda x, y: (x[None] + y[None]).sum().backward(),
], ids=["add", "sub", "add-explicit-seed", "reshape", "transpose", "getitem"])
def test_leaf_gradients_never_alias_each_other(run):
    """An in-place update of one leaf's grad (an optimizer step) must not touch another's."""
    x, y = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    run(x, y)
    before = y.grad.copy()
    x.grad += 5.0
    x.grad *= 2.0
    np.testing.assert_array_equal(y.grad, before)


def test_leaf_grad_does_not_alias_the_seed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    seed = np.ones(2)
    (x * 1.0).backward(seed)
    x.grad += 1.0
    np.testing.assert_array_equal(seed, [1.0, 1.0])


# ---- create_graph: gradients that can be differentiated -------------------------------------

def test_create_graph_gives_a_differentiable_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad  # 3x², itself a Tensor with a graph
    assert isinstance(g, Tensor) and g.requires_grad
    np.testing.assert_array_equal(g.data, [3.0, 12.0])
    x.grad = None
    (g * g).sum().backward()  # d/dx Σ (3x²)² = 36x³
    np.testing.assert_allclose(x.grad, 36 * x.data ** 3, rtol=1e-15)


def test_gradient_penalty():
    """L = f(w) + λ‖∂f/∂w‖², f = Σ tanh(X w): the penalty's gradient goes through the first one."""
    rng = np.random.default_rng(1)
    X, w0, lam = rng.normal(size=(5, 3)), rng.normal(size=3), 0.3
    w = Tensor(w0, requires_grad=True)
    f = (Tensor(X) @ w).tanh().sum()
    f.backward(create_graph=True)
    g = w.grad
    w.grad = None
    (f + lam * (g * g).sum()).backward()
    # By hand: g = Xᵀ(1 − t²) with t = tanh(Xw); ∂‖g‖²/∂w = 2 Xᵀ diag(−2t(1 − t²)) X g.
    t = np.tanh(X @ w0)
    g_ref = X.T @ (1 - t ** 2)
    expected = g_ref + lam * 2 * X.T @ (-2 * t * (1 - t ** 2) * (X @ g_ref))
    np.testing.assert_allclose(w.grad, expected, rtol=1e-12)


def test_hessian_vector_product_matches_the_explicit_hessian():
    """f(x) = Σ eˣ ⊙ (A x): H = diag(eˣ ⊙ Ax) + diag(eˣ) A + (diag(eˣ) A)ᵀ."""
    A = np.array([[2.0, 1.0, 0.0], [0.5, 3.0, -1.0], [0.0, 1.5, 1.0]])
    x0, v = np.array([0.3, -0.2, 0.5]), np.array([0.3, 0.7, -1.1])
    x = Tensor(x0, requires_grad=True)
    (x.exp() * (Tensor(A) @ x)).sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    (g * Tensor(v)).sum().backward()
    e = np.exp(x0)
    H = np.diag(e * (A @ x0)) + np.diag(e) @ A + (np.diag(e) @ A).T
    np.testing.assert_allclose(x.grad, H @ v, rtol=1e-13)


def test_no_grad_makes_constants():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        y = x * 2.0
        x.data -= 0.5 * np.ones(2)
    assert not y.requires_grad and y.is_leaf
    np.testing.assert_array_equal(x.data, [0.5, 1.5])


# ---- stability far out ----------------------------------------------------------------------

FAR = np.array([[1000.0, -1000.0, 0.0, 3.0], [-1000.0, -1000.0, 999.0, 1000.0]])


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softmax", "log_softmax", "logsumexp"])
def test_squashing_ops_are_finite_and_silent_at_1000(name):
    x = Tensor(FAR, requires_grad=True)
    with warnings.catch_warnings(), _quiet():
        warnings.simplefilter("error")
        out = getattr(x, name)() if name != "logsumexp" else x.logsumexp(axis=1)
        out.backward(np.linspace(-1.0, 1.0, out.size).reshape(out.shape))
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad))


def test_far_out_values_are_right():
    x = Tensor(FAR)
    with warnings.catch_warnings(), _quiet():
        warnings.simplefilter("error")
        np.testing.assert_allclose(x.sigmoid().data[0, :2], [1.0, 0.0], rtol=0, atol=1e-300)
        np.testing.assert_allclose(x.logsumexp(axis=1).data,
                                   [1000.0, 1000.0 + np.log1p(np.exp(-1.0))], rtol=1e-15)
        expected = -2000.0 - np.log1p(np.exp(-1.0))
        np.testing.assert_allclose(x.log_softmax().data[1, :2], [expected] * 2, rtol=1e-15)
        np.testing.assert_allclose(x.softmax().data.sum(axis=1), 1.0, rtol=1e-15)
        all_far = Tensor([-1000.0, -1000.0]).logsumexp()
        assert all_far.item() == pytest.approx(-1000.0 + np.log(2.0), rel=1e-15)


# ---- float32 end to end ---------------------------------------------------------------------

def test_float32_stays_float32_through_forward_and_backward():
    f32 = np.float32
    x = Tensor(np.array([[0.5, -1.0, 2.0]], dtype=f32), requires_grad=True)
    w = Tensor(np.ones((3, 2), dtype=f32) * f32(0.1), requires_grad=True)
    b = Tensor(np.zeros(2, dtype=f32), requires_grad=True)
    h = (x @ w + b).sigmoid()
    out = (h.tanh() * 2.0 + h.softmax(axis=1) + h.log_softmax(axis=1)).relu()
    loss = (out.exp().logsumexp(axis=1) + (out ** 2).mean() - out.max()).sum() / 3.0
    assert h.dtype == np.float32 and out.dtype == np.float32 and loss.dtype == np.float32
    loss.backward()
    for leaf in (x, w, b):
        assert leaf.grad.dtype == np.float32
        assert np.all(np.isfinite(leaf.grad))


def test_dividing_by_a_constant_computes_no_gradient_for_it():
    from autograd import rules

    g, x = np.ones(3), np.arange(1.0, 4.0)
    gx, gy = rules.div_vjp(g, x / 4.0, x, 4.0, needs=(True, False))
    assert gy is None
    np.testing.assert_array_equal(gx, g / 4.0)
    t = Tensor(x, requires_grad=True)
    (t / 4.0).sum().backward()  # the driver asks for the numerator's gradient only
    np.testing.assert_array_equal(t.grad, np.full(3, 0.25))
    y = Tensor([4.0, 2.0, 1.0], requires_grad=True)
    (Tensor(x) / y).sum().backward()  # and for the divisor's alone
    np.testing.assert_array_equal(y.grad, -x / y.data ** 2)


@pytest.mark.parametrize("y", [2, 3, 1, -1, -2.0, 0.5, 2.5, -0.5])
def test_a_constant_exponents_gradient_is_the_general_rules_to_the_last_bit(y):
    import warnings

    from autograd import rules

    x = np.array([0.0, 0.5, 1.0, 2.0, 3.25, 1e-300, 1e300])
    g = np.linspace(-1.0, 2.0, x.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 to a negative power: inf
        out = x ** y
        fast = rules.power_vjp(g, out, x, y, needs=(True, False))[0]
        general = rules.power_vjp(g, out, x, np.asarray(float(y)), needs=(True, False))[0]
    np.testing.assert_array_equal(fast, general)


def test_the_gradient_of_a_full_sum_fills_the_operands_shape_in_its_dtype():
    from autograd import rules

    for dtype in (np.float64, np.float32):
        x = np.ones((3, 4), dtype)
        (g,) = rules.sum_vjp(np.asarray(2.5, dtype), None, x)
        assert g.shape == (3, 4) and g.dtype == dtype and np.all(g == 2.5)
        (g,) = rules.sum_vjp(np.full((1, 1), 2.5, dtype), None, x, None, True)
        assert g.shape == (3, 4) and g.dtype == dtype and np.all(g == 2.5)
