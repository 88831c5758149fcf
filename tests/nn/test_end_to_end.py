"""Parameters end to end in one array (MLP's) and SGD's one-subtraction step over them.

The packed step must be the step of separate arrays to the last bit, take the general path
whenever a parameter has no gradient or new data, and change nothing when it cannot finish.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Tensor
from nn import MLP, SGD, Linear, mse_loss
from nn.layers import end_to_end
from nn.optim import end_to_end_run


def _batch(sizes, m=5, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.random((m, sizes[0])).astype(dtype), rng.random((m, sizes[-1])).astype(dtype)


def _separate(model):
    """The same network with each parameter in an array of its own (what a copy gives)."""
    other = copy.deepcopy(model)
    assert end_to_end_run([p.data for p in other.parameters()]) is None
    return other


def _train(model, opt, steps, sizes, dtype=np.float64):
    for k in range(steps):
        x, y = _batch(sizes, seed=k, dtype=dtype)
        opt.zero_grad()
        mse_loss(model(x), y).backward()
        opt.step()


# ---- the layout -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_mlp_keeps_its_parameters_end_to_end_in_order(dtype):
    m = MLP([4, 3, 2], seed=0, dtype=dtype)
    params = m.parameters()
    run = end_to_end_run([p.data for p in params])
    assert run is not None and run.dtype == dtype
    assert run.size == sum(p.data.size for p in params) == 4 * 3 + 3 + 3 * 2 + 2
    np.testing.assert_array_equal(run, np.concatenate([p.data.ravel() for p in params]))
    assert all(p.version == 0 for p in params)  # moved at construction, not changed


def test_packing_keeps_the_values_shapes_and_labels():
    rng = np.random.default_rng(3)
    ws, bs = [rng.random((3, 4)), rng.random((2, 3))], [rng.random(3), rng.random(2)]
    m = MLP.from_arrays(ws, bs)
    for layer, w, b in zip(m.layers, ws, bs):
        np.testing.assert_array_equal(layer.weight.data, w)
        np.testing.assert_array_equal(layer.bias.data, b)
        assert layer.weight.data.shape == w.shape and layer.weight.label == "weight"
    layer = Linear.from_arrays(ws[0], bs[0])  # a layer alone keeps arrays of its own
    assert end_to_end_run([layer.weight.data, layer.bias.data]) is None


def test_end_to_end_run_refuses_any_other_layout():
    flat = np.arange(10.0)
    a, b = flat[:4].reshape(2, 2), flat[4:6]
    assert end_to_end_run([a, b]) is not None
    assert end_to_end_run([b, a]) is None                       # out of order
    assert end_to_end_run([a, flat[5:7]]) is None               # a gap
    assert end_to_end_run([a, flat[3:5]]) is None               # overlapping
    assert end_to_end_run([flat[:4:2], flat[4:6]]) is None      # not contiguous
    assert end_to_end_run([a.copy(), b]) is None                # arrays of their own
    assert end_to_end_run([a, np.arange(10.0)[4:6]]) is None    # two owners
    assert end_to_end_run([np.zeros((2, 5))[0], np.zeros((2, 5))[1]]) is None  # 2-d owner
    assert end_to_end_run([]) is None
    one = flat[2:9]
    np.testing.assert_array_equal(end_to_end_run([flat[2:5], flat[5:9]]), one)


def test_end_to_end_of_nothing_does_nothing():
    end_to_end([])
    t = Tensor([1.0, 2.0])
    end_to_end([t])
    assert t.data.base is not None and t.data.tolist() == [1.0, 2.0]


def test_tensors_of_several_dtypes_are_left_as_they_are():
    a, b = Tensor([1.0, 2.0]), Tensor(np.array([0.1, 0.2], np.float32))
    arrays = a.data, b.data
    end_to_end([a, b])
    assert a.data is arrays[0] and b.data is arrays[1] and b.dtype == np.float32


# ---- the packed step against the step of separate arrays ---------------------------------------

@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
       lr=st.floats(1e-3, 5.0), steps=st.integers(1, 3),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_the_packed_step_is_the_step_of_separate_arrays_to_the_last_bit(sizes, lr, steps, dtype):
    packed = MLP(sizes, seed=1, dtype=dtype)
    separate = _separate(packed)
    opts = SGD(packed.parameters(), lr=lr), SGD(separate.parameters(), lr=lr)
    assert opts[0]._packed[0] is not None and opts[1]._packed[0] is None
    for model, opt in zip((packed, separate), opts):
        _train(model, opt, steps, sizes, dtype)
    for p, q in zip(packed.parameters(), separate.parameters()):
        assert p.data.dtype == dtype
        np.testing.assert_array_equal(p.data, q.data)
        assert p.version == q.version == steps
    assert end_to_end_run([p.data for p in packed.parameters()]) is not None


def test_a_parameter_without_a_gradient_is_left_alone():
    m = MLP([3, 2, 2], seed=0)
    opt = SGD(m.parameters(), lr=0.5)
    x, y = _batch([3, 2, 2])
    mse_loss(m(x), y).backward()
    frozen = m.layers[0].bias
    frozen.grad = None
    before = {id(p): (p.data.copy(), None if p.grad is None else p.grad.copy())
              for p in m.parameters()}
    opt.step()
    np.testing.assert_array_equal(frozen.data, before[id(frozen)][0])
    assert frozen.version == 0
    for p in m.parameters():
        if p is not frozen:
            w, g = before[id(p)]
            np.testing.assert_array_equal(p.data, w - 0.5 * g)
            assert p.version == 1


def test_a_parameter_given_new_data_is_updated_there():
    m = MLP([3, 2], seed=0)
    opt = SGD(m.parameters(), lr=0.5)
    w = m.layers[0].weight
    w.data = np.ones((2, 3))  # shared, not copied: the layout is broken for good
    x, y = _batch([3, 2])
    mse_loss(m(x), y).backward()
    g = w.grad.copy()
    opt.step()
    np.testing.assert_array_equal(w.data, 1.0 - 0.5 * g)
    assert end_to_end_run([p.data for p in m.parameters()]) is None


def test_a_gradient_of_the_wrong_shape_changes_nothing():
    for model in (MLP([3, 2, 2], seed=0), _separate(MLP([3, 2, 2], seed=0))):
        opt = SGD(model.parameters(), lr=0.5)
        x, y = _batch([3, 2, 2])
        mse_loss(model(x), y).backward()
        model.layers[-1].bias.grad = np.ones(5)
        before = [p.data.copy() for p in model.parameters()]
        with pytest.raises(ValueError):
            opt.step()
        for p, w in zip(model.parameters(), before):
            np.testing.assert_array_equal(p.data, w)
            assert p.version == 0


def test_a_new_learning_rate_is_used_by_the_packed_step():
    packed = MLP([3, 4, 2], seed=2)
    separate = _separate(packed)
    for model in (packed, separate):
        opt = SGD(model.parameters(), lr=1.0)
        _train(model, opt, 1, [3, 4, 2])
        opt.lr = 0.25
        _train(model, opt, 2, [3, 4, 2])
    for p, q in zip(packed.parameters(), separate.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("extras", [{"momentum": 0.9}, {"weight_decay": 0.01},
                                    {"momentum": 0.5, "weight_decay": 0.1}])
def test_momentum_and_weight_decay_give_the_same_steps_packed_or_not(extras):
    packed = MLP([3, 4, 2], seed=2)
    separate = _separate(packed)
    for model in (packed, separate):
        _train(model, SGD(model.parameters(), lr=0.5, **extras), 3, [3, 4, 2])
    for p, q in zip(packed.parameters(), separate.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_groups_that_split_the_layout_take_the_general_path():
    m = MLP([3, 4, 2], seed=2)
    separate = _separate(m)
    opts = []
    for model in (m, separate):
        weights = [la.weight for la in model.layers]
        biases = [la.bias for la in model.layers]
        opt = SGD([{"params": weights}, {"params": biases, "lr": 0.1}], lr=0.5)
        _train(model, opt, 2, [3, 4, 2])
        opts.append(opt)
    assert opts[0]._packed == [None, None]
    for p, q in zip(m.parameters(), separate.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_a_graph_recorded_before_the_packed_step_is_refused():
    m = MLP([3, 2], seed=0)
    opt = SGD(m.parameters(), lr=0.5)
    x, y = _batch([3, 2])
    mse_loss(m(x), y).backward()
    stale = mse_loss(m(x), y)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        stale.backward()


def test_a_model_copied_or_loaded_trains_as_the_original():
    m = MLP([3, 4, 2], seed=5)
    restored = pickle.loads(pickle.dumps(m))
    loaded = MLP([3, 4, 2], seed=6).load_state_dict(m.state_dict())
    assert end_to_end_run([p.data for p in loaded.parameters()]) is not None  # in place
    for model in (m, restored, loaded):
        _train(model, SGD(model.parameters(), lr=1.5), 3, [3, 4, 2])
    for other in (restored, loaded):
        for p, q in zip(m.parameters(), other.parameters()):
            np.testing.assert_array_equal(p.data, q.data)


def test_two_models_never_share_an_array():
    a, b = MLP([3, 2], seed=0), MLP([3, 2], seed=0)
    for p, q in zip(a.parameters(), b.parameters()):
        assert not np.shares_memory(p.data, q.data)
    ps = a.parameters()
    for i, p in enumerate(ps):
        for q in ps[i + 1:]:
            assert not np.shares_memory(p.data, q.data)


@pytest.mark.parametrize("copier", [copy.deepcopy, lambda obj: pickle.loads(pickle.dumps(obj))],
                         ids=["deepcopy", "pickle"])
def test_a_model_copied_with_its_optimizer_is_stepped_in_its_own_arrays(copier):
    """The copy's parameters are arrays of their own; its optimizer must update them, not an
    array left over from the original's layout (it used to, and the weights stayed put)."""
    m = MLP([2, 3, 1], seed=0)
    opt = SGD(m.parameters(), lr=1.0)
    m2, opt2 = copier((m, opt))
    before = [p.data.copy() for p in m.parameters()]
    for q in m2.parameters():
        q.grad = np.ones(q.shape)
    opt2.step()
    for p, w in zip(m2.parameters(), before):
        np.testing.assert_array_equal(p.data, w - 1.0)
    for p, w in zip(m.parameters(), before):  # the original untouched
        np.testing.assert_array_equal(p.data, w)
    _train(m2, opt2, 2, [2, 3, 1])  # and it keeps training from there
