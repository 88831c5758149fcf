"""The convolutional layers: shapes, seeded weights, Sequential, checkpoints, train/eval and
Dropout, gradcheck of a whole conv net, and errors that name the layer and both shapes."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor, gradcheck, no_grad
from nn import (
    AvgPool2d,
    CheckpointError,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Tanh,
    Unflatten,
    cross_entropy,
)

RNG = np.random.default_rng(3)


def small_net(seed: int = 0) -> Sequential:
    """784 pixels → 2 filters 3x3 → max pool → 3 filters 2x2 → avg pool → 4 logits."""
    return Sequential(Unflatten((1, 28, 28)), Conv2d(1, 2, 3, seed=seed), ReLU(), MaxPool2d(2),
                      Conv2d(2, 3, 2, stride=2, padding=1, seed=seed + 1), Tanh(),
                      AvgPool2d(2), Flatten(), Dropout(0.5, seed=seed), Linear(27, 4, seed=seed))


def test_conv2d_shapes_and_parameters():
    layer = Conv2d(3, 5, (3, 2), stride=2, padding=1, seed=0)
    assert layer.weight.shape == (5, 3, 3, 2) and layer.bias.shape == (5,)
    assert layer(RNG.standard_normal((4, 3, 9, 8))).shape == (4, 5, 5, 5)
    assert repr(layer) == "Conv2d(3, 5, kernel_size=(3, 2), stride=2, padding=1)"
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]


def test_conv2d_init_is_seeded_and_scaled():
    a, b = Conv2d(4, 8, 5, seed=1), Conv2d(4, 8, 5, seed=1)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert not np.array_equal(a.weight.data, Conv2d(4, 8, 5, seed=2).weight.data)
    # He normal: variance 2 / fan-in with fan-in = 4·5·5
    assert np.var(Conv2d(4, 200, 5, seed=0).weight.data) == pytest.approx(2 / 100, rel=0.05)
    assert not a.bias.data.any()
    assert Conv2d(1, 2, 3, dtype=np.float32).weight.dtype == np.float32


def test_pools_flatten_unflatten_shapes():
    x = RNG.standard_normal((2, 3, 7, 9))
    assert MaxPool2d(2)(x).shape == (2, 3, 3, 4)
    assert AvgPool2d(3, stride=1)(x).shape == (2, 3, 5, 7)
    assert Flatten()(x).shape == (2, 189)
    assert Unflatten((3, 7, 9))(Flatten()(x)).shape == x.shape
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2)"


def test_sequential_conv_net_runs_and_trains_one_step():
    net = small_net()
    x, y = RNG.random((5, 784)), RNG.integers(0, 4, 5)
    loss = cross_entropy(net(x), y)
    loss.backward()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["steps.1.weight", "steps.1.bias", "steps.4.weight", "steps.4.bias",
                     "steps.9.weight", "steps.9.bias"]
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())


def test_checkpoint_round_trip(tmp_path):
    net, other = small_net(0), small_net(5)
    path = net.save(tmp_path / "conv.npz")
    other.load(path)
    for a, b in zip(net.parameters(), other.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    wrong = small_net()
    wrong.steps[4] = Conv2d(2, 5, 2)
    with pytest.raises(CheckpointError, match=r"steps.4.weight.*\(3, 2, 2, 2\).*\(5, 2, 2, 2\)"):
        wrong.load(path)
    with pytest.raises(CheckpointError, match=r"unexpected steps\.9\.weight"):
        Sequential(*small_net().steps[:9]).load(path)


def test_train_and_eval_reach_every_step():
    net = small_net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_dropout_only_in_training_mode():
    x = np.ones((200, 50))
    layer = Dropout(0.3, seed=0)
    out = np.asarray(layer(x))
    assert set(np.unique(out)) == {0.0, 1 / 0.7}
    assert abs((out == 0).mean() - 0.3) < 0.02
    layer.eval()
    assert layer(x) is x


def test_dropout_is_seeded():
    x = np.ones((4, 30))
    np.testing.assert_array_equal(np.asarray(Dropout(0.5, seed=9)(x)),
                                  np.asarray(Dropout(0.5, seed=9)(x)))
    assert not np.array_equal(np.asarray(Dropout(0.5, seed=9)(x)),
                              np.asarray(Dropout(0.5, seed=8)(x)))


def test_dropout_gradient_flows_through_kept_units_only():
    x = Tensor(np.ones((3, 40)), requires_grad=True)
    out = Dropout(0.5, seed=1)(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)  # 2 where kept, 0 where dropped


def test_gradcheck_of_a_conv_net():
    net = small_net()
    net.eval()  # Dropout's fresh masks would make the loss a different function per call
    x, y = RNG.random((3, 784)), RNG.integers(0, 4, 3)
    report = gradcheck(lambda *_: cross_entropy(net(x), y), *net.parameters())
    assert report.ok, report


def test_eval_mode_output_is_deterministic():
    net = small_net().eval()
    x = RNG.random((2, 784))
    with no_grad():
        np.testing.assert_array_equal(net(x).data, net(x).data)


# ---- errors that name the layer and the shapes --------------------------------------------

@pytest.mark.parametrize("layer, shape, words", [
    (Conv2d(3, 4, 3), (2, 1, 8, 8), ["Conv2d(3, 4, kernel_size=3", "(N, 3, H, W)",
                                     "(2, 1, 8, 8)"]),
    (Conv2d(1, 4, 5), (2, 1, 4, 4), ["H ≥ 5", "(2, 1, 4, 4)"]),
    (Conv2d(1, 4, 5, padding=1), (2, 1, 2, 2), ["H ≥ 3", "(2, 1, 2, 2)"]),
    (Conv2d(1, 4, 3), (1, 8, 8), ["(N, 1, H, W)", "(1, 8, 8)"]),
    (MaxPool2d(4), (1, 2, 3, 9), ["MaxPool2d(kernel_size=4", "(1, 2, 3, 9)"]),
    (AvgPool2d(2), (5, 5), ["AvgPool2d", "(5, 5)"]),
    (Flatten(), (5,), ["Flatten()", "(5,)"]),
    (Unflatten((1, 28, 28)), (2, 700), ["(N, 784)", "(2, 700)"]),
])
def test_layers_refuse_shapes_that_do_not_fit(layer, shape, words):
    with pytest.raises(ValueError) as e:
        layer(np.zeros(shape))
    for word in words:
        assert word in str(e.value)


def test_linear_after_flatten_names_both_widths():
    net = Sequential(Conv2d(1, 2, 3), Flatten(), Linear(10, 2))
    with pytest.raises(ValueError, match=r"Linear\(10, 2\) expects inputs of width 10.*\(1, 18\)"):
        net(np.zeros((1, 1, 5, 5)))


@pytest.mark.parametrize("make, kind, words", [
    (lambda: Conv2d(0, 2, 3), ValueError, "in_channels must be a positive int"),
    (lambda: Conv2d(1, 2, 0), ValueError, "kernel_size and stride ≥ 1"),
    (lambda: Conv2d(1, 2, 3, padding=-1), ValueError, "padding ≥ 0"),
    (lambda: Conv2d(1, 2, 2.5), TypeError, "kernel_size must be an int"),
    (lambda: Conv2d(1, 2, 3, init="bogus"), ValueError, "unknown init"),
    (lambda: MaxPool2d(2, stride=0), ValueError, "stride ≥ 1"),
    (lambda: Dropout(1.0), ValueError, r"in \[0, 1\)"),
    (lambda: Dropout("half"), ValueError, "must be a number"),
    (lambda: Unflatten((0, 3)), ValueError, "positive sizes"),
])
def test_bad_layer_arguments(make, kind, words):
    with pytest.raises(kind, match=words):
        make()


def test_non_numeric_input_names_the_layer():
    with pytest.raises(TypeError, match=r"MaxPool2d.*needs numeric input"):
        MaxPool2d(2)([["a", "b"], ["c", "d"]])


def test_draw_boxes_conv_layers_with_shapes():
    from autograd import draw

    net = Sequential(Conv2d(1, 2, 3, seed=0), ReLU(), MaxPool2d(2), Flatten(), Linear(18, 3))
    assert net.layers == [net.steps[0], net.steps[4]]
    loss = cross_entropy(net(RNG.random((2, 1, 8, 8))), np.array([0, 2]))
    loss.backward()
    source = draw(loss, clusters=net).source
    assert 'label="layer 1 (Conv2d)"' in source and 'label="layer 2 (Linear)"' in source
    assert "(2, 1, 3, 3) float64" in source and "label=max_pool2d" in source


def test_training_with_dropout_runs_eagerly_without_a_compile_warning():
    import warnings

    from nn import SGD, Dropout, Linear, Sequential
    from nn.data import Split
    from nn.train import train

    rng = np.random.default_rng(0)
    model = Sequential(Linear(6, 8, seed=0), Dropout(0.5, seed=1), Linear(8, 10, seed=2))
    data = Split(rng.random((40, 6)), rng.integers(0, 10, 40))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a CompileWarning would fail here
        history = train(model, SGD(model.parameters(), lr=0.1), data, epochs=2, batch_size=10,
                        loss="cross_entropy", seed=0, log=None)
    assert len(history.epochs) == 2
