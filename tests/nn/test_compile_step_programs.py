"""nn.compile_step in training loops as users write them, against the eager step.

Twin models from the same seed take 60 steps each, one through `compile_step` and one eagerly
(`loss = loss_fn(model(x), y); opt.zero_grad(); loss.backward(); opt.step()`), with a decaying
learning rate written into the optimizer between steps, a short last batch each epoch and an
evaluation under no_grad now and then. The general path and the plan without fusions give
eager's numbers to the last bit; the fusions stay within their documented 1e-12 in float64."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from autograd import no_grad
from nn import (
    FUSIONS,
    MLP,
    SGD,
    Adam,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    compile_step,
    cross_entropy,
    mse_loss,
)

_RNG = np.random.default_rng(0)
_X = _RNG.random((27, 12))
_Y = _RNG.random((27, 4))
_LABELS = _RNG.integers(0, 4, 27)


def _eager_step(model, loss_fn, opt):
    def step(x, y):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def _close(a, b, tol: float, what: str) -> None:
    assert a.dtype == b.dtype, what
    if tol == 0:
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        np.testing.assert_allclose(a, b, rtol=0, atol=tol, err_msg=what)


def _twins(model_fn, opt_fn, loss_fn=mse_loss, y=_Y, dtype=np.float64, fusions=True,
           tol=0.0, steps=60, between=None):
    """Both twins through `steps` batches of 10 (every third one of 7); returns the step.
    `between(model, i)` changes both models alike after step i."""
    eager_model, fast_model = model_fn(dtype), model_fn(dtype)
    eager_opt, fast_opt = opt_fn(eager_model), opt_fn(fast_model)
    eager = _eager_step(eager_model, loss_fn, eager_opt)
    fast = compile_step(fast_model, loss_fn, fast_opt, fusions=fusions)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(steps):
            s = (i * 10) % 30
            xb, yb = _X[s:s + 10].astype(dtype), y[s:s + 10]
            yb = yb.astype(dtype) if yb.dtype.kind == "f" else yb
            _close(eager(xb, yb).data, fast(xb, yb).data, tol, f"loss {i}")
            for k, (p, q) in enumerate(zip(_tensors(eager_model), _tensors(fast_model))):
                _close(p.data, q.data, tol, f"parameter {k} after step {i}")
            for opt in (eager_opt, fast_opt):
                opt.param_groups[0]["lr"] *= 0.97
            for model in (eager_model, fast_model):
                if between is not None:
                    between(model, i)
            if i % 7 == 6:
                with no_grad():
                    _close(eager_model(_X).data, fast_model(_X).data, tol, f"eval {i}")
    return fast


def _tensors(model) -> list:
    """Every weight and bias, frozen or not (parameters() lists those requiring grad)."""
    layers = model.layers if hasattr(model, "layers") else [model]
    return [t for la in layers if hasattr(la, "weight") for t in (la.weight, la.bias)]


def _mlp(activation="sigmoid", output="sigmoid"):
    return lambda dtype: MLP([12, 6, 4], activation=activation, output_activation=output,
                             seed=5, dtype=dtype)


def _sgd(lr=3.0, **kw):
    return lambda model: SGD(model.parameters(), lr=lr, **kw)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("output", ["sigmoid", None])
def test_the_plan_without_fusions_is_eager_in_both_dtypes(dtype, output):
    """The document's network, fused plan with fusions=(): eager's bits in float32 too."""
    fast = _twins(_mlp(output=output), _sgd(), dtype=dtype, fusions=())
    assert len(fast._plans) == 2 and fast._general.tapes == 0


@pytest.mark.parametrize("output,lr", [("sigmoid", 3.0), (None, 0.5)])
@pytest.mark.parametrize("fusion", FUSIONS)
def test_each_fusion_alone_over_a_schedule(fusion, output, lr):
    """Each fusion alone, with the learning rate changing every step: within 1e-12."""
    _twins(_mlp(output=output), _sgd(lr), fusions=(fusion,), tol=1e-12)


_GENERAL = {
    "momentum and decay": (_mlp(), _sgd(0.5, momentum=0.9, weight_decay=1e-4)),
    "tanh, relu output, adam": (_mlp("tanh", "relu"), lambda m: Adam(m.parameters(), lr=0.01)),
    "sequential": (lambda dtype: Sequential(
        Linear(12, 6, rng=np.random.default_rng(1), dtype=dtype), Tanh(),
        Linear(6, 4, rng=np.random.default_rng(2), dtype=dtype), ReLU(),
        Linear(4, 4, rng=np.random.default_rng(3), dtype=dtype), Sigmoid()),
        lambda m: Adam(m.parameters(), lr=0.01)),
    "linear alone": (lambda dtype: Linear(12, 4, rng=np.random.default_rng(4), dtype=dtype),
                     _sgd(0.1, momentum=0.5)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(_GENERAL))
def test_the_general_path_is_eager_and_replays(name, dtype):
    """Other models and optimizers take the compiled general path: eager's bits, replayed."""
    model_fn, opt_fn = _GENERAL[name]
    fast = _twins(model_fn, opt_fn, dtype=dtype)
    assert fast._general.tapes == 2 and fast._general.eager_reason is None


@pytest.mark.parametrize("loss_fn,y", [(cross_entropy, _LABELS),
                                       (binary_cross_entropy, _Y.round()),
                                       (binary_cross_entropy_with_logits, _Y.round())])
def test_classification_losses_replay(loss_fn, y):
    """cross_entropy on integer labels and both binary cross-entropies go through the
    compiled general path without a CompileWarning (before, both ran eagerly with one)."""
    output = "sigmoid" if loss_fn is binary_cross_entropy else None
    fast = _twins(_mlp(output=output), _sgd(0.5, momentum=0.9), loss_fn, y, steps=12)
    assert fast._general.tapes == 2 and fast._general.eager_reason is None


def _freeze_first_layer(model, i=None):
    for t in (model.layers[0].weight, model.layers[0].bias):
        t.requires_grad = False


@pytest.mark.parametrize("fusions,tol", [(True, 1e-12), ((), 0.0)])
def test_a_layer_frozen_mid_training_is_left_as_eager_leaves_it(fusions, tol):
    """Fine-tuning: the first layer frozen after 20 steps of the document's network. The
    checked plan kept updating it (silently, 1e-3 off eager by step 22); a frozen tensor
    now leaves the plan, and the general path steps what eager steps."""
    def between(model, i):
        if i == 19:
            _freeze_first_layer(model)

    fast = _twins(_mlp(), _sgd(), fusions=fusions, tol=tol, steps=40, between=between)
    assert not any(fast._plans.values())


def test_a_model_with_a_frozen_layer_takes_the_general_path_quietly():
    """The optimizer built from parameters() of a model with a frozen layer: not the plan
    (which updates every layer, and used to warn that it disagreed with eager)."""
    def model_fn(dtype):
        model = _mlp()(dtype)
        _freeze_first_layer(model)
        return model

    fast = _twins(model_fn, _sgd(), steps=12)
    assert not fast._plans and fast._general.tapes == 2


def test_freezing_and_unfreezing_on_the_general_path():
    """Adam over the document's network, the first layer frozen after step 12 and unfrozen
    after step 25: the compiled general path captures anew each time and stays eager."""
    def between(model, i):
        if i in (12, 25):
            for t in (model.layers[0].weight, model.layers[0].bias):
                t.requires_grad = i == 25

    fast = _twins(_mlp(), lambda m: Adam(m.parameters(), lr=0.01), steps=40, between=between)
    assert fast._general.tapes == 2 and fast._general.eager_reason is None


def test_a_step_compiled_in_evaluation_mode_is_not_replayed_in_training_mode():
    """Dropout is the identity in evaluation mode: a step captured then has no mask. After
    model.train(), the step must not replay that: each call draws a new mask (eagerly)."""
    import warnings

    from autograd import CompileWarning, compile
    from nn import Sequential, mse_loss
    from nn.conv import Dropout
    from nn.layers import Linear

    model = Sequential(Linear(4, 3, seed=0), Dropout(0.5, seed=1))
    x, y = np.ones((2, 4)), np.zeros((2, 3))
    weight = model.parameters()[0]

    def step(x, y):
        weight.grad = None
        mse_loss(model(x), y).backward()

    comp = compile(step)
    model.eval()
    for _ in range(4):
        comp(x, y)
    still = weight.grad.copy()
    model.train()
    grads = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(4):
            comp(x, y)
            grads.append(weight.grad.copy())
    assert any(not np.array_equal(g, still) for g in grads)
    assert len({g.tobytes() for g in grads}) > 1  # a new mask each call
    assert [w.category for w in caught] == [CompileWarning]
    assert "random numbers" in str(caught[0].message)


def test_train_and_eval_recheck_only_when_a_mode_that_matters_changes():
    """Switching a model built of layers that never read `training` (an MLP) leaves replays
    alone; one holding a Dropout, or a module of the user's (which may read it), rechecks."""
    from autograd import compile
    from nn import MLP, Module, Sequential, mse_loss
    from nn.conv import Dropout

    model = MLP([4, 3, 2], seed=0)
    ps = list(model.parameters())
    x, y = np.ones((2, 4)), np.zeros((2, 2))

    def step(x, y):
        for p in ps:
            p.grad = None
        mse_loss(model(x), y).backward()

    comp = compile(step, strict=True)
    for _ in range(4):
        comp(x, y)
    hot = comp._hot
    model.eval()
    model.train()
    assert comp._hot is hot

    class Mine(Module):
        def __call__(self, x):
            return x

    for other in (Sequential(MLP([4, 3], seed=1), Dropout(0.5)), Mine()):
        other.train()  # already training: nothing to check again
        assert comp._hot is hot
        other.eval()
        assert comp._hot is None
        for _ in range(2):  # checked against eager, then replayed: the step reads no mode
            comp(x, y)
        assert comp._hot is hot and comp.tapes == 1
