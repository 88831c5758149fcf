"""The scalar teaching layers: by hand, and as twins of the Tensor MLP."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograd import Value
from nn import MLP, Layer, Neuron, ScalarMLP, mse_loss


def test_a_neuron_by_hand():
    n = Neuron.from_numbers([0.5, -1.0], 0.25, activation="sigmoid")
    out = n([2.0, 0.5])
    z = 0.5 * 2.0 - 1.0 * 0.5 + 0.25
    assert out.data == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-15)
    out.backward()
    s = out.data * (1 - out.data)
    assert [w.grad for w in n.w] == pytest.approx([s * 2.0, s * 0.5], rel=1e-15)
    assert n.b.grad == pytest.approx(s, rel=1e-15)


def test_neuron_inputs_may_be_values_and_get_gradients():
    n = Neuron.from_numbers([3.0, -2.0], 0.0, activation=None)
    x = [Value(1.0), Value(4.0)]
    n(x).backward()
    assert [v.grad for v in x] == [3.0, -2.0]


def test_the_weighted_sum_is_one_node():
    n = Neuron.from_numbers([1.0, 2.0, 3.0], 0.5, activation="tanh")
    out = n([1.0, 1.0, 1.0])
    assert out.op == "tanh"
    (z,) = out.parents
    assert z.op == "add" and z.parents[0].op == "dot"


def test_layer_returns_a_list_or_one_value():
    assert len(Layer(3, 4, seed=0)([1.0, 2.0, 3.0])) == 4
    assert isinstance(Layer(3, 1, seed=0)([1.0, 2.0, 3.0]), Value)


def test_parameter_order_is_neuron_by_neuron_weights_then_bias():
    layer = Layer.from_arrays([[1.0, 2.0], [3.0, 4.0]], [5.0, 6.0])
    assert [p.data for p in layer.parameters()] == [1.0, 2.0, 5.0, 3.0, 4.0, 6.0]
    assert layer.named_parameters()[2][0] == "neurons.0.b"


@pytest.mark.parametrize("hidden, output", [("sigmoid", "sigmoid"), ("tanh", None),
                                            ("relu", "identity")])
def test_scalar_mlp_is_the_twin_of_the_tensor_mlp(hidden, output):
    sizes, seed = [3, 4, 2], 9
    s = ScalarMLP(sizes, activation=hidden, output_activation=output, seed=seed)
    t = MLP(sizes, activation=hidden, output_activation=output, seed=seed)
    x, y = np.random.default_rng(0).normal(size=3), np.array([0.3, -0.2])
    out = s(list(x))
    np.testing.assert_allclose([v.data for v in out], t(x).data, rtol=1e-14)
    loss = sum((o - yi) ** 2 for o, yi in zip(out, y)) * 0.5
    loss.backward()
    mse_loss(t(x), y).backward()
    for layer_s, layer_t in zip(s.layers, t.layers):
        gw = [[w.grad for w in n.w] for n in layer_s.neurons]
        gb = [n.b.grad for n in layer_s.neurons]
        np.testing.assert_allclose(gw, layer_t.weight.grad, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(gb, layer_t.bias.grad, rtol=1e-12, atol=1e-15)


def test_scalar_mlp_from_arrays_and_repr():
    m = ScalarMLP.from_arrays([np.ones((2, 3)), np.ones((1, 2))], [np.zeros(2), np.zeros(1)],
                              activation="relu", output_activation=None)
    assert m.sizes == [3, 2, 1]
    assert m([1.0, 1.0, 1.0]).data == 6.0
    assert repr(m) == "ScalarMLP([3, 2, 1], activation='relu', output_activation=None)"


def test_scalar_refusals():
    with pytest.raises(ValueError, match="expects 2 inputs, got 3"):
        Neuron.from_numbers([1.0, 2.0], 0.0)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="unknown activation 'softplus'; valid: identity, relu"):
        ScalarMLP([2, 2], activation="softplus")
    with pytest.raises(ValueError, match="sizes must be positive ints"):
        ScalarMLP([2, 0, 1])
    with pytest.raises(ValueError, match="at least two sizes"):
        ScalarMLP([2])
    with pytest.raises(ValueError, match=r"weight \(out, in\) and bias \(out,\)"):
        Layer.from_arrays(np.ones((2, 2)), np.ones(3))


# ---- the document's neuron, defined once for examples, `deltagrad draw` and tests -------------

def test_the_document_neuron_by_hand():
    from nn.scalar import NEURON, document_neuron

    loss, v = document_neuron()
    z = 0.8 * 0.5 + 0.3 * -1.0 + 0.1
    a = 1 / (1 + math.exp(-z))
    assert v["z"].data == pytest.approx(z) and loss.data == pytest.approx(0.5 * (a - 1) ** 2)
    delta = (a - NEURON["y"]) * a * (1 - a)
    assert v["w1"].grad == pytest.approx(delta * 0.5) and v["b"].grad == pytest.approx(delta)
    assert {"x1", "x2", "w1", "w2", "b", "w1·x1", "w2·x2", "z", "a", "a − y", "L"} == set(v)


def test_the_document_neuron_takes_new_values_by_name_only():
    from nn.scalar import document_neuron

    loss, v = document_neuron(w1=0.0, y=0.0)
    assert v["w1"].data == 0.0 and loss.data == pytest.approx(0.5 * v["a"].data ** 2)
    with pytest.raises(TypeError, match="document_neuron takes x1, x2, w1, w2, b, y; got w3"):
        document_neuron(w3=1.0)


def test_the_cli_draws_the_same_neuron():
    from nn.commands.draw import neuron_loss
    from nn.scalar import document_neuron

    assert neuron_loss().data == document_neuron()[0].data
