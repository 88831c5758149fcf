"""Version counters: an input changed in place between forward and backward makes backward
raise (as PyTorch does) instead of giving a gradient computed from the new data; `.data`
assignment checks what it is given."""

from __future__ import annotations

import numpy as np
import pytest
from autograd.gradcheck import sweep

from autograd import Tensor, Value, grad
from autograd.graph import backward_pass, changed_in_place
from nn import MLP, SGD, Adam, mse_loss

INPLACE = "modified by an inplace operation"


def _weights() -> Tensor:
    return Tensor([1.0, 2.0, 3.0], requires_grad=True, label="w")


# ---- in-place changes that backward must refuse ------------------------------------------

def test_augmented_assignment_on_data_between_forward_and_backward_raises():
    w = _weights()
    loss = (w * w).sum()
    w.data -= 1.0
    with pytest.raises(RuntimeError, match=INPLACE) as e:
        loss.backward()
    assert "input 0 of 'mul'" in str(e.value) and "'w'" in str(e.value)
    assert w.grad is None  # nothing was deposited before the refusal


def test_data_assignment_between_forward_and_backward_raises():
    w = _weights()
    loss = (w * w).sum()
    w.data = np.array([5.0, 6.0, 7.0])
    with pytest.raises(RuntimeError, match=INPLACE):
        loss.backward()


def test_a_constant_input_changed_in_place_is_caught_too():
    w = _weights()
    x = Tensor([1.0, 1.0, 1.0])  # no gradient, but mul's rule for w reads it
    loss = (w * x).sum()
    x.data += 1.0
    with pytest.raises(RuntimeError, match="input 1 of 'mul'"):
        loss.backward()


def test_an_optimizer_step_between_forward_and_backward_raises():
    model = MLP([3, 4, 2], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    x, y = np.ones((5, 3)), np.zeros((5, 2))
    late = mse_loss(model(x), y)  # recorded before the step below
    mse_loss(model(x), y).backward()
    opt.step()
    with pytest.raises(RuntimeError, match=INPLACE):
        late.backward()


def test_adam_steps_count_as_changes():
    w = _weights()
    opt = Adam([w], lr=0.1)
    (w * w).sum().backward()
    late = (w * 2.0).sum()
    opt.step()
    assert w.version == 1
    with pytest.raises(RuntimeError, match=INPLACE):
        late.backward()


def test_value_data_assignment_between_forward_and_backward_raises():
    a = Value(2.0, label="a")
    out = a * a + 1.0
    a.data -= 0.5
    with pytest.raises(RuntimeError, match=r"input \d of 'mul' \(a Value labelled 'a'\)"):
        out.backward()


def test_a_second_backward_through_a_retained_graph_after_a_step_raises():
    w = _weights()
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match=INPLACE):
        loss.backward()


def test_wrt_and_create_graph_passes_check_versions_as_well():
    w = _weights()
    loss = (w * w).sum()
    w.data += 1.0
    with pytest.raises(RuntimeError, match=INPLACE):
        backward_pass(loss, np.array(1.0), wrt=(w,))
    with pytest.raises(RuntimeError, match=INPLACE):
        backward_pass(loss, Tensor(1.0), create_graph=True)


def test_a_change_deep_in_a_graph_names_the_op_that_saved_it():
    w = _weights()
    h = w * 2.0
    loss = h.exp().sum()
    h.data += 1.0  # a non-leaf changed: exp's rule would use the new data
    with pytest.raises(RuntimeError, match="'exp'"):
        loss.backward()


# ---- what must keep working --------------------------------------------------------------

def test_changes_before_the_forward_pass_are_fine():
    w = _weights()
    w.data -= 1.0
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, 2 * np.array([0.0, 1.0, 2.0]))
    assert w.version == 1


def test_a_training_loop_steps_after_backward_without_complaint():
    model = MLP([3, 4, 2], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    x, y = np.ones((5, 3)), np.zeros((5, 2))
    for _ in range(3):
        opt.zero_grad()
        mse_loss(model(x), y).backward()
        opt.step()
    assert all(p.version == 3 for p in model.parameters())


def test_a_change_to_a_tensor_outside_the_graph_is_fine():
    w, other = _weights(), _weights()
    loss = (w * w).sum()
    other.data += 1.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0, 6.0])
    assert (w.version, other.version) == (0, 1)


def test_functional_grad_after_changes_is_fine():
    w = _weights()
    w.data *= 2.0
    np.testing.assert_array_equal(grad(lambda t: (t * t).sum())(w.data), [4.0, 8.0, 12.0])
    assert w.version == 1


# ---- counting ----------------------------------------------------------------------------

def test_versions_count_every_change_the_library_sees():
    w = _weights()
    assert w.version == 0
    w.data += 1.0
    w.data = np.zeros(3)
    w.data -= np.ones(3)
    assert w.version == 3
    changed_in_place([w])
    assert w.version == 4
    v = Value(1.0)
    v.data = 2.0
    v.data *= 3.0
    assert v.version == 2 and v.data == 6.0


def test_writing_into_the_array_is_not_seen_and_keeps_the_version():
    w = _weights()
    w.data[0] = 9.0
    assert w.version == 0


def test_sgd_bumps_only_the_parameters_it_updated():
    w, unused = _weights(), _weights()
    opt = SGD([w, unused], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert (w.version, unused.version) == (1, 0)


# ---- .data assignment checks --------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.array([1j, 2j, 3j]), np.array(["a", "b", "c"]),
                                 np.array([object(), None, 1], dtype=object), "abc"])
def test_tensor_data_refuses_data_that_is_not_real_numbers(bad):
    w = _weights()
    with pytest.raises(TypeError, match=r"Tensor\.data must be real numbers"):
        w.data = bad
    assert w.version == 0 and w.data.dtype == np.float64


def test_tensor_data_converts_integers_to_the_tensors_dtype():
    t = Tensor([1.0, 2.0], dtype=np.float32)
    t.data = [3, 4]
    assert t.data.dtype == np.float32 and t.data.tolist() == [3.0, 4.0]


def test_tensor_data_shares_a_float_array():
    t = Tensor([1.0, 2.0])
    new = np.array([5.0, 6.0])
    t.data = new
    assert t.data is new and t.version == 1


def test_a_leaf_without_optimizer_may_change_shape():
    t = Tensor([1.0, 2.0], requires_grad=True)
    t.data = np.zeros((2, 3))
    assert t.shape == (2, 3) and t.version == 1


def test_a_computed_tensor_keeps_its_shape_and_dtype():
    h = _weights() * 2.0
    with pytest.raises(ValueError, match=r"shape \(3,\).*shape \(2,\).*computed by 'mul'"):
        h.data = np.zeros(2)
    with pytest.raises(ValueError, match="computed by 'mul'"):
        h.data = np.zeros(3, dtype=np.float32)


def test_a_tensor_with_a_gradient_keeps_its_shape_until_the_gradient_is_reset():
    w = _weights()
    (w * w).sum().backward()
    with pytest.raises(ValueError, match=r"accumulated \.grad has that shape"):
        w.data = np.zeros((2, 3))
    w.grad = None
    w.data = np.zeros((2, 3))
    assert w.shape == (2, 3) and w.version == 1


def test_an_optimized_tensor_keeps_its_shape_and_dtype():
    w = _weights()
    SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="SGD keeps state of that shape and dtype"):
        w.data = np.zeros((3, 1))
    with pytest.raises(ValueError, match=r"dtype float64 with data of shape .* dtype float32"):
        w.data = np.zeros(3, dtype=np.float32)
    w.data = np.ones(3)  # same shape and dtype: fine
    assert w.version == 1


@pytest.mark.parametrize("bad", ["2.0", 1j, None, [1.0], Value(1.0)])
def test_value_data_refuses_anything_but_a_real_number(bad):
    v = Value(1.0)
    with pytest.raises(TypeError, match=r"Value\.data must be a real number"):
        v.data = bad
    assert v.data == 1.0 and v.version == 0


def test_value_data_takes_ints_and_numpy_floats_as_floats():
    v = Value(1.0)
    v.data = 3
    assert type(v.data) is float and v.data == 3.0
    v.data = np.float32(0.5)
    assert type(v.data) is float and v.data == 0.5


def test_loading_weights_between_forward_and_backward_raises():
    model = MLP([3, 2], seed=0)
    loss = mse_loss(model(np.ones((4, 3))), np.zeros((4, 2)))
    model.load_state_dict(MLP([3, 2], seed=1).state_dict())
    assert all(p.version == 1 for p in model.parameters())
    with pytest.raises(RuntimeError, match=INPLACE):
        loss.backward()


def test_a_step_size_sweep_may_widen_an_optimized_float32_tensor_for_the_check():
    w = Tensor(np.array([0.3, 0.7], dtype=np.float32), requires_grad=True)
    SGD([w], lr=0.1)
    before = w.data
    rows = sweep(lambda t: (t * t).sum(), w, eps=[1e-3])
    assert len(rows) == 1 and rows[0][1] < 1e-6
    assert w.data is before and w.version == 0  # put back as it was, no change counted
