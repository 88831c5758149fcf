"""The δ recursion: by hand, against autograd for every combination, and over a whole epoch."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nn import MLP, SGD, Linear, Sequential, binary_cross_entropy, cross_entropy, mse_loss
from nn import delta as nd
from nn.delta import backprop, check, update_mini_batch

HIDDEN = ["sigmoid", "tanh", "relu", "identity"]
# (loss, output activation): every pairing the recursion supports
OUTPUTS = [("mse", "sigmoid"), ("mse", "tanh"), ("mse", "relu"), ("mse", None),
           ("bce", "sigmoid"), ("cross_entropy", None)]


def _targets(loss, rng, m, k):
    if loss == "cross_entropy":
        return rng.integers(0, k, size=m)
    return rng.random((m, k))  # in [0, 1]: fine for mse, required for bce


# ---- by hand ----------------------------------------------------------------------------------

def _mazur_net():
    """A 2-2-1 sigmoid net with the weights of Matt Mazur's well-known worked example."""
    return MLP.from_arrays([[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45]]],
                           [[0.35, 0.35], [0.60]])


def test_a_2_2_1_sigmoid_net_by_hand():
    m, x, y = _mazur_net(), np.array([0.05, 0.10]), np.array([0.01])
    out_h1, out_h2, out_o = 0.593269992, 0.596884378, 0.75136507  # published values
    np.testing.assert_allclose(m(x).data, [out_o], rtol=1e-8)
    assert mse_loss(m(x), y).item() == pytest.approx(0.274811083, rel=1e-8)
    delta_o = (out_o - 0.01) * out_o * (1 - out_o)                    # δᴸ = (a − y) σ′(z)
    assert delta_o == pytest.approx(0.138498562, rel=1e-7)
    delta_h1 = 0.40 * delta_o * out_h1 * (1 - out_h1)                  # δˡ = Wᵀδ ⊙ σ′(z)
    delta_h2 = 0.45 * delta_o * out_h2 * (1 - out_h2)
    dW, db = backprop(m, x, y, "mse")
    np.testing.assert_allclose(dW[1], [[delta_o * out_h1, delta_o * out_h2]], rtol=1e-7)
    np.testing.assert_allclose(dW[1][0, 0], 0.082167041, rtol=1e-7)    # published ∂E/∂w5
    np.testing.assert_allclose(db[1], [delta_o], rtol=1e-7)
    np.testing.assert_allclose(dW[0], [[delta_h1 * 0.05, delta_h1 * 0.10],
                                       [delta_h2 * 0.05, delta_h2 * 0.10]], rtol=1e-7)
    np.testing.assert_allclose(db[0], [delta_h1, delta_h2], rtol=1e-7)


def test_the_same_by_autograd():
    m, x, y = _mazur_net(), np.array([0.05, 0.10]), np.array([0.01])
    mse_loss(m(x), y).backward()
    dW, db = backprop(m, x, y, "mse")
    for layer, w, b in zip(m.layers, dW, db):
        np.testing.assert_allclose(layer.weight.grad, w, rtol=1e-13)
        np.testing.assert_allclose(layer.bias.grad, b, rtol=1e-13)


def test_output_errors_by_hand():
    a, y, z = np.array([[0.7, 0.2]]), np.array([[1.0, 0.0]]), np.array([[0.3, -0.1]])
    np.testing.assert_allclose(nd.output_error("bce", a, z, y, "sigmoid"), [[-0.3, 0.2]])
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(nd.output_error("cross_entropy", a, z, y, "identity"),
                               p - y, rtol=1e-15)
    np.testing.assert_allclose(nd.output_error("mse", a, z, y, "identity"), a - y)


# ---- against autograd, every combination ------------------------------------------------------

@pytest.mark.parametrize("loss, output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
@settings(max_examples=12, deadline=None)
@given(widths=st.lists(st.integers(1, 6), min_size=1, max_size=3),
       n_in=st.integers(1, 6), n_out=st.integers(1, 5), m=st.integers(1, 5),
       seed=st.integers(0, 2**32 - 1))
def test_delta_recursion_agrees_with_autograd(hidden, loss, output, widths, n_in, n_out, m,
                                              seed):
    if loss == "cross_entropy":
        n_out = max(n_out, 2)
    rng = np.random.default_rng(seed)
    model = MLP([n_in, *widths, n_out], activation=hidden, output_activation=output, rng=rng)
    x, y = rng.normal(size=(m, n_in)), _targets(loss, rng, m, n_out)
    if loss == "bce":
        # σ(z) rounds to exactly 0 or 1 past |z| ≈ 37, and the cost on probabilities then has
        # ∂C/∂a = ±1/0: the case binary_cross_entropy_with_logits exists for
        a = model(x).data
        assume(a.min() > 0.0 and a.max() < 1.0)
    report = check(model, x, y, loss)
    # within 1e-12 + 1e-9·|g| entry by entry: a relative bound alone would fail where a
    # saturated softmax leaves 1 − p ≈ 1e-7 and both sides round it differently
    assert report.ok, str(report)
    dW, db = backprop(model, x, y, loss)
    scale = max(1.0, *(float(np.abs(g).max()) for g in dW + db))
    assert report.max_abs <= 1e-12 * scale, str(report)


@pytest.mark.parametrize("loss, output", OUTPUTS)
def test_backprop_equals_the_gradients_autograd_leaves_on_the_model(loss, output):
    rng = np.random.default_rng(3)
    model = MLP([4, 5, 3], activation="tanh", output_activation=output, rng=rng)
    x, y = rng.normal(size=(6, 4)), _targets(loss, rng, 6, 3)
    costs = {"mse": mse_loss, "bce": binary_cross_entropy, "cross_entropy": cross_entropy}
    costs[loss](model(x), y).backward()
    dW, db = backprop(model, x, y, loss)
    for layer, w, b in zip(model.layers, dW, db):
        np.testing.assert_allclose(layer.weight.grad, w, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(layer.bias.grad, b, rtol=1e-12, atol=1e-15)


def test_check_catches_a_wrong_derivative(monkeypatch):
    rng = np.random.default_rng(0)
    model = MLP([3, 4, 2], rng=rng)
    x, y = rng.normal(size=(5, 3)), rng.random((5, 2))
    sigma, prime = nd.ACTIVATIONS["sigmoid"]
    monkeypatch.setitem(nd.ACTIVATIONS, "sigmoid", (sigma, lambda z: prime(z) * 1.0005))
    report = check(model, x, y, "mse")
    assert not report.ok
    assert 1e-4 < report.max_rel < 2e-3
    assert "MISMATCH" in str(report)


def test_check_report_reads_and_serialises():
    rng = np.random.default_rng(1)
    model = MLP([3, 4, 2], activation="relu", output_activation=None, rng=rng)
    x, y = rng.normal(size=(5, 3)), np.array([0, 1, 1, 0, 1])
    report = check(model, x, y, "cross_entropy")
    text = str(report)
    assert "loss cross_entropy" in text and "relu → identity" in text and "batch of 5" in text
    assert "δ/m" in text and "∂C/∂z" in text and text.rstrip().splitlines()[-1].startswith("ok")
    data = json.loads(report.to_json())
    assert data["ok"] is True and data["batch"] == 5 and len(data["layers"]) == 2
    layer = data["layers"][1]
    assert layer["weight_shape"] == [2, 4]
    np.testing.assert_allclose(layer["delta_over_m"], layer["dC_dz"], rtol=1e-12, atol=1e-17)
    assert set(layer["dW"]) == {"max_abs", "max_rel"}


def test_check_leaves_the_models_gradients_alone():
    rng = np.random.default_rng(2)
    model = MLP([3, 2], rng=rng)
    x, y = rng.normal(size=(4, 3)), rng.random((4, 2))
    mse_loss(model(x), 2 * y).backward()
    before = [p.grad.copy() for p in model.parameters()]
    check(model, x, y, "mse")
    assert all(np.array_equal(p.grad, g) for p, g in zip(model.parameters(), before))


def test_one_example_is_a_batch_of_one():
    rng = np.random.default_rng(4)
    model = MLP([3, 4, 2], output_activation=None, rng=rng)
    x = rng.normal(size=3)
    dW1, db1 = backprop(model, x, 1, "cross_entropy")
    dW2, db2 = backprop(model, x[None, :], [1], "cross_entropy")
    assert all(np.array_equal(a, b) for a, b in zip(dW1 + db1, dW2 + db2))
    assert check(model, x, 1, "cross_entropy").ok


# ---- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("loss, output", [("bce", None), ("bce", "tanh"),
                                          ("cross_entropy", "sigmoid")])
def test_unsupported_combinations_name_the_valid_ones(loss, output):
    model = MLP([2, 3], output_activation=output, seed=0)
    y = np.zeros(1, dtype=int) if loss == "cross_entropy" else np.zeros((1, 3))
    with pytest.raises(ValueError, match=r"'bce' with a 'sigmoid' output.*'cross_entropy' with"):
        backprop(model, np.zeros((1, 2)), y, loss)


def test_other_refusals():
    model = MLP([2, 3], seed=0)
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'.*valid: mse, bce, cross_entropy"):
        backprop(model, np.zeros((1, 2)), np.zeros((1, 3)), "hinge")
    with pytest.raises(TypeError, match=r"written for nn\.MLP and nn\.Sequential, got Linear"):
        backprop(Linear(2, 3), np.zeros((1, 2)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"Sequential\(\) has no Conv2d or Linear step"):
        backprop(Sequential(), np.zeros((1, 2)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"width 2.*got \(4, 5\)"):
        backprop(model, np.zeros((4, 5)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"targets of shape \(4, 3\), got \(4, 1\)"):
        backprop(model, np.zeros((4, 2)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.2"):
        check(MLP([2, 3], output_activation=None, seed=0), np.zeros((1, 2)), [3],
              "cross_entropy")


# ---- one epoch, two ways ------------------------------------------------------------------------

def _document_network(weights, biases):
    """The document's NeuralNetwork (section 5.3), verbatim apart from taking its weights."""

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    def sigmoid_prime(z):
        return sigmoid(z) * (1 - sigmoid(z))

    class NeuralNetwork:
        def __init__(self):
            self.num_layers = len(weights) + 1
            self.biases = [b.reshape(-1, 1).copy() for b in biases]
            self.weights = [w.copy() for w in weights]

        def backprop(self, x, y):
            nabla_b = [np.zeros(b.shape) for b in self.biases]
            nabla_w = [np.zeros(w.shape) for w in self.weights]
            activation = x
            activations = [x]
            zs = []
            for b, w in zip(self.biases, self.weights):
                z = np.dot(w, activation) + b
                zs.append(z)
                activation = sigmoid(z)
                activations.append(activation)
            delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
            nabla_b[-1] = delta
            nabla_w[-1] = np.dot(delta, activations[-2].transpose())
            for l in range(2, self.num_layers):  # noqa: E741
                z = zs[-l]
                sp = sigmoid_prime(z)
                delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
                nabla_b[-l] = delta
                nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
            return (nabla_b, nabla_w)

        def cost_derivative(self, output_activations, y):
            return (output_activations - y)

        def update_mini_batch(self, mini_batch, eta):
            nabla_b = [np.zeros(b.shape) for b in self.biases]
            nabla_w = [np.zeros(w.shape) for w in self.weights]
            for x, y in mini_batch:
                delta_nabla_b, delta_nabla_w = self.backprop(x, y)
                nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
                nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
            self.weights = [w - (eta / len(mini_batch)) * nw
                            for w, nw in zip(self.weights, nabla_w)]
            self.biases = [b - (eta / len(mini_batch)) * nb
                           for b, nb in zip(self.biases, nabla_b)]

    return NeuralNetwork()


def _mnist_like(n, seed):
    """n images in [0, 1] (mostly dark, like MNIST strokes) with one-hot targets."""
    rng = np.random.default_rng(seed)
    x = np.where(rng.random((n, 784)) < 0.2, rng.random((n, 784)), 0.0)
    return x, np.eye(10)[rng.integers(0, 10, n)]


def test_batched_update_is_the_documents_per_example_update():
    x, y = _mnist_like(30, seed=5)
    model = MLP([784, 30, 10], seed=5)
    weights, biases, _ = nd.network(model)
    doc = _document_network(weights, biases)
    for k in range(0, 30, 10):
        doc.update_mini_batch([(xi[:, None], yi[:, None]) for xi, yi in
                               zip(x[k:k + 10], y[k:k + 10])], 3.0)
        weights, biases = update_mini_batch(weights, biases, x[k:k + 10], y[k:k + 10], 3.0)
    for ours, theirs in zip(weights + biases, doc.weights + doc.biases):
        np.testing.assert_allclose(ours, theirs.reshape(ours.shape), rtol=0, atol=1e-12)


def test_one_epoch_through_autograd_and_sgd_ends_at_the_documents_weights():
    x, y = _mnist_like(200, seed=6)
    model = MLP([784, 30, 10], seed=6)
    weights = [w.copy() for w in nd.network(model)[0]]
    biases = [b.copy() for b in nd.network(model)[1]]
    opt = SGD(model.parameters(), lr=3.0)
    for k in range(0, 200, 10):
        loss = mse_loss(model(x[k:k + 10]), y[k:k + 10])
        opt.zero_grad()
        loss.backward()
        opt.step()
        weights, biases = update_mini_batch(weights, biases, x[k:k + 10], y[k:k + 10], 3.0)
    moved = np.abs(model.layers[0].weight.data - nd.network(MLP([784, 30, 10], seed=6))[0][0])
    assert moved.max() > 1e-3  # the epoch did train
    for layer, w, b in zip(model.layers, weights, biases):
        np.testing.assert_allclose(layer.weight.data, w, rtol=0, atol=1e-10)
        np.testing.assert_allclose(layer.bias.data, b, rtol=0, atol=1e-10)


def test_update_mini_batch_leaves_its_inputs_and_keeps_bias_shapes():
    rng = np.random.default_rng(8)
    weights = [rng.normal(size=(3, 2)), rng.normal(size=(1, 3))]
    biases = [rng.normal(size=(3, 1)), rng.normal(size=1)]  # the document's (n, 1) is fine
    copies = [a.copy() for a in weights + biases]
    new_w, new_b = update_mini_batch(weights, biases, rng.random((4, 2)), rng.random((4, 1)),
                                     0.5)
    assert all(np.array_equal(a, c) for a, c in zip(weights + biases, copies))
    assert [b.shape for b in new_b] == [(3, 1), (1,)]
    assert not np.array_equal(new_w[0], weights[0])
