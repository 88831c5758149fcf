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
