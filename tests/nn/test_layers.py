"""Linear, activations, MLP, Sequential and the initialisers."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor, grad
from nn import (
    ACTIVATIONS,
    MLP,
    Identity,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    activation,
    init,
    mse_loss,
)
from nn.layers import linear
from tests.witnesses.finite_differences import assert_grad_close, central_grad

RNG = np.random.default_rng(7)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---- Linear -----------------------------------------------------------------------------------

def test_linear_shapes_follow_the_document():
    layer = Linear(4, 3, seed=0)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    assert layer.weight.requires_grad and layer.bias.requires_grad


def test_linear_computes_x_wt_plus_b_on_rows_and_on_one_example():
    layer = Linear.from_arrays([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [0.5, -0.5, 1.0])
    x = np.array([[1.0, 1.0], [2.0, -1.0]])
    np.testing.assert_array_equal(layer(x).data, [[3.5, 6.5, 12.0], [0.5, 1.5, 5.0]])
    np.testing.assert_array_equal(layer(x[1]).data, [0.5, 1.5, 5.0])
    np.testing.assert_array_equal(layer([2.0, -1.0]).data, [0.5, 1.5, 5.0])


def test_linear_gradients_match_finite_differences():
    w, b, x = RNG.normal(size=(3, 4)), RNG.normal(size=3), RNG.normal(size=(5, 4))
    v = RNG.normal(size=(5, 3))

    def f(w_, b_, x_):
        return (linear(x_, w_, b_) * v).sum()

    for i, arg in enumerate((w, b, x)):
        def g(a, i=i):
            args = [w, b, x]
            args[i] = a
            return float(np.sum((args[2] @ args[0].T + args[1]) * v))
        analytic = grad(f, argnum=i)(w, b, x)
        assert_grad_close(analytic, central_grad(g, arg))


def test_linear_gradient_of_one_example_has_the_parameters_shapes():
    layer = Linear(4, 3, seed=1)
    x = RNG.normal(size=4)
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, np.tile(x, (3, 1)))
    np.testing.assert_allclose(layer.bias.grad, np.ones(3))


def test_linear_rule_is_differentiable_again():
    # d/dw of ‖∂L/∂x‖² where L = Σ v ⊙ (x wᵀ + b): ∂L/∂x = v w, so the result is 2 vᵀ v w.
    w0, x, v = RNG.normal(size=(3, 4)), RNG.normal(size=(2, 4)), RNG.normal(size=(2, 3))
    w = Tensor(w0, requires_grad=True)
    xt = Tensor(x, requires_grad=True)
    (linear(xt, w, Tensor(np.zeros(3))) * v).sum().backward(create_graph=True)
    gx = xt.grad
    w.grad = None  # keep only the second backward's contribution
    (gx * gx).sum().backward()
    np.testing.assert_allclose(w.grad, 2 * v.T @ v @ w0, rtol=1e-12)


def test_input_width_mismatch_names_both():
    with pytest.raises(ValueError, match=r"width 4.*got shape \(2, 5\)"):
        Linear(4, 3, seed=0)(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"width 4.*got shape \(\)"):
        Linear(4, 3, seed=0)(np.float64(1.0))
    with pytest.raises(ValueError, match=r"width 784.*got shape \(10, 28, 28\)"):
        MLP([784, 30, 10], seed=0)(np.ones((10, 28, 28)))


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="numeric"):
        Linear(2, 1, seed=0)(["a", "b"])


@pytest.mark.parametrize("sizes", [[784], [], [3, 0, 2], [3, -1], [3, 2.5], [3, True], "abc"])
def test_bad_sizes_are_refused(sizes):
    with pytest.raises((ValueError, TypeError), match="sizes"):
        MLP(sizes)


def test_from_arrays_checks_the_shapes_chain():
    with pytest.raises(ValueError, match="layer 0 gives 3 outputs but layer 1 takes 4"):
        MLP.from_arrays([np.ones((3, 2)), np.ones((1, 4))], [np.ones(3), np.ones(1)])
    with pytest.raises(ValueError, match=r"\(3, 2\) and \(4,\)"):
        Linear.from_arrays(np.ones((3, 2)), np.ones(4))


# ---- activations ------------------------------------------------------------------------------

def test_activation_registry_and_modules():
    z = Tensor([-2.0, 0.0, 3.0])
    assert set(ACTIVATIONS) == {"sigmoid", "tanh", "relu", "identity"}
    np.testing.assert_allclose(Sigmoid()(z).data, _sigmoid(z.data))
    np.testing.assert_allclose(Tanh()(z).data, np.tanh(z.data))
    np.testing.assert_array_equal(ReLU()(z).data, [0.0, 0.0, 3.0])
    assert Identity()(z) is z
    assert isinstance(activation(None), Identity)
    assert isinstance(activation("relu"), ReLU)


@pytest.mark.parametrize("bad", ["sigmod", "softmax", "", 3])
def test_unknown_activation_lists_the_valid_names(bad):
    with pytest.raises(ValueError, match="valid: identity, relu, sigmoid, tanh"):
        MLP([2, 2], activation=bad)
    with pytest.raises(ValueError, match="valid: identity, relu, sigmoid, tanh"):
        MLP([2, 2], output_activation=bad)


# ---- MLP --------------------------------------------------------------------------------------

def test_mlp_is_the_documents_feedforward():
    m = MLP([5, 4, 3], seed=3)
    x = RNG.random((6, 5))
    a = x
    for layer in m.layers:
        a = _sigmoid(a @ layer.weight.data.T + layer.bias.data)
    np.testing.assert_allclose(m(x).data, a, rtol=1e-14)
    np.testing.assert_allclose(m(x[2]).data, a[2], rtol=1e-14)


def test_output_activation_defaults_to_the_hidden_one_and_none_gives_logits():
    assert MLP([2, 3, 1], activation="tanh").output_activation == "tanh"
    m = MLP([2, 3, 4], activation="relu", output_activation=None, seed=0)
    x = RNG.random((2, 2))
    h = np.maximum(x @ m.layers[0].weight.data.T + m.layers[0].bias.data, 0)
    np.testing.assert_allclose(m(x).data, h @ m.layers[1].weight.data.T + m.layers[1].bias.data)
    assert [type(a) for a in m.activations] == [ReLU, Identity]


def test_layers_are_the_linear_layers_in_order():
    m = MLP([784, 30, 10])
    assert [(la.in_features, la.out_features) for la in m.layers] == [(784, 30), (30, 10)]
    assert m.sizes == [784, 30, 10]
    assert repr(m) == "MLP([784, 30, 10], activation='sigmoid', output_activation='sigmoid')"


def test_float32_is_kept_when_asked():
    m = MLP([3, 2], dtype=np.float32, seed=0)
    assert m.layers[0].weight.dtype == np.float32
    assert m(np.ones((1, 3), dtype=np.float32)).dtype == np.float32


def test_mlp_trains_on_a_tiny_problem():
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    m = MLP([2, 8, 1], seed=0)
    first = mse_loss(m(x), y).item()
    for _ in range(1000):
        loss = mse_loss(m(x), y)
        m.zero_grad()
        loss.backward()
        for p in m.parameters():
            p.data -= 3.0 * p.grad
    assert loss.item() < first / 10


# ---- Sequential -------------------------------------------------------------------------------

def test_sequential_applies_steps_in_order():
    first, second = Linear(3, 4, seed=0), Linear(4, 2, seed=1)
    seq = Sequential(first, Tanh(), second)
    x = RNG.random((5, 3))
    np.testing.assert_allclose(seq(x).data, second(first(x).tanh()).data)
    assert seq.layers == [first, second] and len(seq) == 3 and seq[1].name == "tanh"
    assert [type(s) for s in seq] == [Linear, Tanh, Linear]


def test_sequential_refuses_non_callables():
    with pytest.raises(TypeError, match="step 1 is a int"):
        Sequential(Linear(1, 1, seed=0), 3)


# ---- initialisers -----------------------------------------------------------------------------

def test_same_seed_same_weights_bit_for_bit():
    for scheme in ("normal", "nielsen", "xavier", "he"):
        a = MLP([20, 10, 5], init=scheme, seed=42)
        b = MLP([20, 10, 5], init=scheme, rng=np.random.default_rng(42))
        assert all(p.data.tobytes() == q.data.tobytes()
                   for p, q in zip(a.parameters(), b.parameters()))
    assert not np.array_equal(MLP([3, 2], seed=1).layers[0].weight.data,
                              MLP([3, 2], seed=2).layers[0].weight.data)


def test_normal_init_draws_like_the_document():
    # The document: biases = [randn(y, 1) for ...] first, then weights = [randn(y, x) for ...]
    m = MLP([4, 3, 2], seed=5)
    rng = np.random.default_rng(5)
    biases = [rng.standard_normal((y, 1)) for y in (3, 2)]
    weights = [rng.standard_normal((y, x)) for x, y in ((4, 3), (3, 2))]
    for layer, w, b in zip(m.layers, weights, biases):
        np.testing.assert_array_equal(layer.weight.data, w)
        np.testing.assert_array_equal(layer.bias.data, b[:, 0])


@pytest.mark.parametrize("scheme, std, zero_bias", [
    ("normal", lambda n_in, n_out: 1.0, False),
    ("nielsen", lambda n_in, n_out: 1 / np.sqrt(n_in), False),
    ("he", lambda n_in, n_out: np.sqrt(2 / n_in), True),
    ("xavier", lambda n_in, n_out: np.sqrt(2 / (n_in + n_out)), True),
])
def test_init_scales(scheme, std, zero_bias):
    n_in, n_out = 400, 300
    layer = Linear(n_in, n_out, init=scheme, seed=0)
    w = layer.weight.data
    assert abs(w.mean()) < 0.01 * std(n_in, n_out) * 10
    assert w.std() == pytest.approx(std(n_in, n_out), rel=0.02)
    assert (not layer.bias.data.any()) == zero_bias
    if scheme == "xavier":
        assert np.abs(w).max() <= np.sqrt(6 / (n_in + n_out))


def test_bad_init_and_seed_arguments():
    with pytest.raises(ValueError, match="unknown init 'gauss'; valid: glorot, he, nielsen"):
        MLP([2, 2], init="gauss")
    with pytest.raises(ValueError, match="seed or rng, not both"):
        MLP([2, 2], seed=1, rng=np.random.default_rng(1))
    with pytest.raises(TypeError, match=r"seed must be a non-negative integer, got 1\.5"):
        MLP([2, 2], seed=1.5)
    with pytest.raises(TypeError, match="numpy Generator"):
        MLP([2, 2], rng=np.random.RandomState(0))


def test_draw_layers_shapes():
    ws, bs = init.draw_layers([5, 4, 3], "he", np.random.default_rng(0))
    assert [w.shape for w in ws] == [(4, 5), (3, 4)]
    assert [b.shape for b in bs] == [(4,), (3,)]
