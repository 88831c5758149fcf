"""Optimizer parameter groups (PyTorch's format) and the nielsen preset's weights-only decay,
checked against Nielsen's network2.py update_mini_batch, ported here from its formulas."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor
from nn.commands.train import PRESETS, build_model, weight_decay_groups
from nn.data import Split, load_mnist
from nn.optim import SGD, Adam
from nn.train import train


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return [Tensor(rng.normal(size=s), requires_grad=True) for s in ((3, 4), (3,), (2, 3), (2,))]


def _loss(ps, x):
    w1, b1, w2, b2 = ps
    return (((x @ w1.T + b1).tanh() @ w2.T + b2) ** 2).sum()


def _run(make, steps=5, schedule=None):
    ps = _params()
    opt = make(ps)
    x = Tensor(np.linspace(-1, 1, 8).reshape(2, 4))
    for k in range(steps):
        if schedule:
            schedule(opt, k)
        opt.zero_grad()
        _loss(ps, x).backward()
        opt.step()
    return [p.data.copy() for p in ps], opt


def _split_run(make_a, make_b, steps=5):
    """The first two parameters under one optimizer, the last two under another."""
    ps = _params()
    opts = [make_a(ps[:2]), make_b(ps[2:])]
    x = Tensor(np.linspace(-1, 1, 8).reshape(2, 4))
    for _ in range(steps):
        for o in opts:
            o.zero_grad()
        _loss(ps, x).backward()
        for o in opts:
            o.step()
    return [p.data for p in ps]


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
def test_groups_equal_separate_optimizers(kind):
    def make(params, lr, decay):
        if kind == "adam":
            return Adam(params, lr=lr, weight_decay=decay)
        return SGD(params, lr=lr, momentum=0.9 if kind == "momentum" else 0.0,
                   weight_decay=decay)

    grouped, _ = _run(lambda ps: make([{"params": ps[:2], "weight_decay": 0.3},
                                       {"params": ps[2:], "lr": 0.02}], 0.05, 0.0))
    separate = _split_run(lambda ps: make(ps, 0.05, 0.3), lambda ps: make(ps, 0.02, 0.0))
    for a, b in zip(grouped, separate):
        np.testing.assert_array_equal(a, b)


def test_param_groups_are_readable_and_lr_can_change_between_steps():
    def schedule(opt, k):
        for group in opt.param_groups:
            group["lr"] = 0.1 / (k + 1)

    scheduled, opt = _run(lambda ps: SGD(ps, lr=0.1), schedule=schedule)
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["lr"] == pytest.approx(0.02)
    assert opt.param_groups[0]["weight_decay"] == 0.0 and len(opt.param_groups[0]["params"]) == 4
    fixed, _ = _run(lambda ps: SGD(ps, lr=0.1))
    assert not np.allclose(scheduled[0], fixed[0])
    # By hand: the same schedule through the lr attribute, which sets every group.
    by_hand, _ = _run(lambda ps: SGD(ps, lr=0.1),
                      schedule=lambda opt, k: setattr(opt, "lr", 0.1 / (k + 1)))
    for a, b in zip(scheduled, by_hand):
        np.testing.assert_array_equal(a, b)


def test_lr_attribute_is_ambiguous_across_groups():
    ps = _params()
    opt = SGD([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.5}], lr=0.1)
    with pytest.raises(AttributeError, match="different values of lr"):
        _ = opt.lr


@pytest.mark.parametrize(("groups", "error", "match"), [
    (lambda ps: [{"params": ps[:2], "lr": 0.1, "nesterov": True}], ValueError, "unknown"),
    (lambda ps: [{"lr": 0.1}], ValueError, "no 'params'"),
    (lambda ps: [{"params": ps[:2]}, ps[2]], TypeError, "mix"),
    (lambda ps: [{"params": ps[:2]}, {"params": ps[1:]}], ValueError, "more than once"),
    (lambda ps: [{"params": ps, "lr": -1.0}], ValueError, "lr must be"),
    (lambda ps: [{"params": []}], ValueError, "empty"),
])
def test_bad_groups_are_refused(groups, error, match):
    with pytest.raises(error, match=match):
        SGD(groups(_params()), lr=0.1)


def test_a_bad_lr_set_between_steps_is_refused_at_the_step():
    ps = _params()
    opt = Adam(ps)
    opt.param_groups[0]["lr"] = "fast"
    with pytest.raises(TypeError, match="lr must be a number"):
        opt.step()


def test_weight_decay_groups_split_weights_from_biases():
    ps = _params()
    groups = weight_decay_groups(ps, 0.5)
    assert [len(g["params"]) for g in groups] == [2, 2]
    assert all(p.ndim == 2 for p in groups[0]["params"]) and groups[0]["weight_decay"] == 0.5
    assert groups[1]["weight_decay"] == 0.0


def test_without_decay_deltagrad_train_takes_the_fused_and_packed_steps():
    """The document's preset (no decay) gives one group in the parameters' order: compile_step
    fuses it and eager SGD updates the MLP with one subtraction. With decay, two groups."""
    from nn import mse_loss
    from nn.compiled import _fusable

    cfg = dict(PRESETS["document"], seed=0, dtype="float64")
    model, opt = build_model(cfg)
    assert len(opt.param_groups) == 1 and opt.params == model.parameters()
    assert _fusable(model, mse_loss, opt) and opt._packed[0] is not None
    cfg["weight_decay"] = 0.01
    model, opt = build_model(cfg)
    assert len(opt.param_groups) == 2 and opt._packed == [None, None]


# ---- Nielsen's network2.py, update_mini_batch with L2, ported from its formulas ----------------

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _nielsen_backprop(weights, biases, x, y):
    """One example (column vectors): cross-entropy cost, so δᴸ = aᴸ − y."""
    activation, activations, zs = x, [x], []
    for w, b in zip(weights, biases):
        z = w @ activation + b
        zs.append(z)
        activation = _sigmoid(z)
        activations.append(activation)
    delta = activations[-1] - y
    nabla_b, nabla_w = [delta], [delta @ activations[-2].T]
    for layer in range(2, len(weights) + 1):
        sp = _sigmoid(zs[-layer]) * (1 - _sigmoid(zs[-layer]))
        delta = (weights[-layer + 1].T @ delta) * sp
        nabla_b.insert(0, delta)
        nabla_w.insert(0, delta @ activations[-layer - 1].T)
    return nabla_b, nabla_w


def _nielsen_update(weights, biases, batch, eta, lmbda, n):
    """w ← (1 − ηλ/n) w − (η/m) Σ ∂C/∂w;  b ← b − (η/m) Σ ∂C/∂b."""
    nabla_b = [np.zeros_like(b) for b in biases]
    nabla_w = [np.zeros_like(w) for w in weights]
    for x, y in batch:
        db, dw = _nielsen_backprop(weights, biases, x, y)
        nabla_b = [nb + d for nb, d in zip(nabla_b, db)]
        nabla_w = [nw + d for nw, d in zip(nabla_w, dw)]
    m = len(batch)
    weights = [(1 - eta * (lmbda / n)) * w - (eta / m) * nw for w, nw in zip(weights, nabla_w)]
    biases = [b - (eta / m) * nb for b, nb in zip(biases, nabla_b)]
    return weights, biases


def test_nielsen_preset_reproduces_network2_with_l2():
    data = load_mnist()
    steps, size = 50, PRESETS["nielsen"]["batch_size"]
    part = Split(data.train.images[:steps * size], data.train.labels[:steps * size])
    cfg = dict(PRESETS["nielsen"], seed=3)
    model, opt = build_model(cfg)
    weights = [layer.weight.data.copy() for layer in model.layers]
    biases = [layer.bias.data.reshape(-1, 1).copy() for layer in model.layers]
    train(model, opt, part, epochs=1, batch_size=size, loss="bce", seed=7, log=None)

    order = np.random.default_rng(7).permutation(len(part.images))
    eye = np.eye(10)
    for k in range(steps):
        idx = order[k * size:(k + 1) * size]
        batch = [(part.images[i].reshape(-1, 1), eye[part.labels[i]].reshape(-1, 1))
                 for i in idx]
        weights, biases = _nielsen_update(weights, biases, batch, cfg["lr"], 5.0, 50_000)
    for layer, w, b in zip(model.layers, weights, biases):
        np.testing.assert_allclose(layer.weight.data, w, rtol=0, atol=1e-12)
        np.testing.assert_allclose(layer.bias.data, b.ravel(), rtol=0, atol=1e-12)
    # Decaying the biases too (one group of every parameter) misses network2 by far more.
    model2, _ = build_model(cfg)
    every = SGD(model2.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    train(model2, every, part, epochs=1, batch_size=size, loss="bce", seed=7, log=None)
    assert np.abs(model2.layers[0].bias.data - biases[0].ravel()).max() > 1e-6
