"""Attacks on the scalar Value hot path, its backward driver and the rules' numerics, each kept
as a test of what the attack found."""

import copy
import math
import pickle
import warnings

import numpy as np
import pytest

from autograd import Value, primitive


@primitive
def _interrupted(x):
    return x * 1.0


@_interrupted.defvjp
def _interrupted_vjp(g, out, x):
    """A rule stopped midway, as Ctrl-C would stop it."""
    raise KeyboardInterrupt("stopped inside a rule")


_NEGATIVE_ZERO = pytest.param(-0.0, marks=pytest.mark.xfail(
    strict=True, reason="a float zero is not set aside by _reach_scalar (telling -0.0 from 0.0 "
    "costs a call per node, 10% of a Value backward), so a failed pass restores 0.0"))
_ZEROS = [None, 0, np.float64(0.0), np.float32(0.0), False, _NEGATIVE_ZERO]


@pytest.mark.parametrize("old", _ZEROS, ids=repr)
def test_hot_backward_interrupted_keeps_zero_like_grads_exactly(old):
    a, b = Value(2.0), Value(3.0)
    a.grad = old
    y = _interrupted(a * b) + a * a
    with pytest.raises(KeyboardInterrupt):
        y.backward()
    assert type(a.grad) is type(old)
    assert a.grad is None if old is None else repr(a.grad) == repr(old)
    assert b.grad == 0.0


def test_hot_backward_leaf_reset_to_none_takes_the_new_gradient():
    a, b = Value(2.0), Value(3.0)
    a.grad = None
    (a * b + a * a).backward()
    assert a.grad == 7.0 and b.grad == 2.0


def test_hot_backward_numpy_zero_grad_keeps_its_type():
    a = Value(2.0)
    a.grad = np.float64(0.0)
    (a * a).backward()
    assert type(a.grad) is np.float64 and a.grad == 4.0


def test_repr_of_value_whose_grad_is_a_value_after_create_graph():
    a = Value(2.0)
    (a * a * a).backward(create_graph=True)
    assert repr(a) == "Value(data=2, grad=Value(data=12, grad=0))"


def test_repr_of_value_whose_grad_was_reset_to_none():
    a = Value(2.0, label="w")
    a.grad = None
    assert repr(a) == "Value(data=2, grad=None, label='w')"


@pytest.mark.parametrize("op", ["relu", "exp", "tanh", "sigmoid", "log", "sin"])
def test_pickle_and_deepcopy_graph_with_unary_node(op):
    a = Value(2.0)
    y = getattr(a * a, op)()
    for twin in (pickle.loads(pickle.dumps(y)), copy.deepcopy(y)):
        twin.backward()
        leaf = twin.parents[0].parents[0]
        fresh = Value(2.0)
        getattr(fresh * fresh, op)().backward()
        assert leaf.grad == pytest.approx(fresh.grad)
        assert twin._op is y._op  # the rule table's own primitive, found by name


def test_power_negative_huge_base_fractional_exponent_is_a_clear_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="not a real number"):
            Value(-1e300) ** 3.5


def test_power_huge_base_still_overflows_to_inf():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (Value(1e300) ** 3.5).data == math.inf
        assert (Value(-1e300) ** 3.0).data == -math.inf


def _snapshot(*values):
    return [(type(v.grad), repr(v.grad)) for v in values]


def test_hot_backward_old_grad_that_cannot_take_a_float_writes_nothing():
    a, b = Value(2.0), Value(3.0)
    a.grad = "set by hand"
    y = a * b
    u = y * b
    before = _snapshot(a, b, y, u)
    with pytest.raises(TypeError):
        u.backward()
    assert _snapshot(a, b, y, u) == before


def test_hot_backward_old_grad_without_truth_value_leaves_no_marks():
    a, b = Value(2.0), Value(3.0)
    a.grad = np.zeros(3)  # numpy refuses bool() of it: raised while marking reached nodes
    y = a * b
    u = y * b
    with pytest.raises(ValueError, match="truth value"):
        u.backward()
    assert (u.grad, y.grad, b.grad) == (0.0, 0.0, 0.0)
    a.grad = 0.0
    u.backward()  # the graph is usable again: no node was left marked as reached
    assert (a.grad, b.grad, y.grad, u.grad) == (9.0, 12.0, 3.0, 1.0)


def test_compiled_fn_takes_a_memmap_as_the_array_it_is(tmp_path):
    import autograd
    from autograd import Tensor

    np.save(tmp_path / "x.npy", np.arange(6.0).reshape(2, 3))
    x = np.load(tmp_path / "x.npy", mmap_mode="r")
    w = Tensor(np.ones(3), requires_grad=True)

    def step(x):
        w.grad = None
        loss = (x @ w).sum()
        loss.backward()
        return loss

    compiled = autograd.compile(step, strict=True)
    for _ in range(4):  # eager, capture, checked replay, replay
        out = compiled(x)
        assert type(out.data) is np.ndarray and out.item() == 15.0
        np.testing.assert_array_equal(w.grad, [3.0, 5.0, 7.0])


def test_value_dot_of_empty_sequences_is_a_value_as_value_sum_is():
    from autograd.value import value_dot, value_sum

    for empty in (value_dot([], []), value_sum([])):
        assert type(empty) is Value and empty.data == 0.0
        assert repr(empty) == "Value(data=0, grad=0)"


def test_pickled_tensor_graph_of_the_document_network_backpropagates():
    from autograd import Tensor
    from nn import MLP, mse_loss

    model = MLP([4, 5, 3], seed=0)
    loss = mse_loss(model(Tensor(np.ones((2, 4)))), Tensor(np.zeros((2, 3))))
    twin = pickle.loads(pickle.dumps(loss))  # sigmoid's primitive was refused by pickle
    twin.backward()
    loss.backward()
    copied = [n for n in _leaves(twin) if n.requires_grad]
    assert len(copied) == 4
    for p in copied:
        original = next(q for q in model.parameters() if q.data.shape == p.data.shape)
        np.testing.assert_allclose(p.grad, original.grad, rtol=1e-12)


def _leaves(root):
    seen, stack, leaves = set(), [root], []
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if n.is_leaf:
            leaves.append(n)
        stack.extend(n.parents)
    return leaves


def test_is_anomaly_enabled_follows_the_block():
    from autograd import detect_anomaly, enable_grad, is_anomaly_enabled

    assert not is_anomaly_enabled()
    with detect_anomaly(), enable_grad():
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()
