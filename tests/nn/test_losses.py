"""The document's costs: hand values, gradients, shape and label checks, stability."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

from autograd import Tensor
from nn import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    one_hot,
)
from tests.witnesses.finite_differences import assert_grad_close, central_grad

RNG = np.random.default_rng(11)


def _grad_of(loss_fn, a, y):
    t = Tensor(a, requires_grad=True)
    loss_fn(t, y).backward()
    return t.grad


# ---- hand values ------------------------------------------------------------------------------

def test_mse_by_hand():
    # 1/(2m) Σ‖a − y‖² with m = 2 rows: (0 + 1 + 4 + 9) / 4
    assert mse_loss(Tensor([[1.0, 2.0], [3.0, 4.0]]), np.ones((2, 2))).item() == 3.5
    # one example counts as m = 1: ½ (0.5² + 1²)
    assert mse_loss(Tensor([0.5, 2.0]), np.array([0.0, 1.0])).item() == 0.625


def test_mse_gradient_is_a_minus_y_over_m():
    a, y = RNG.random((4, 3)), RNG.random((4, 3))
    np.testing.assert_allclose(_grad_of(mse_loss, a, y), (a - y) / 4, rtol=1e-15)


def test_mse_gradient_flows_to_a_target_that_needs_it():
    a, y = Tensor(RNG.random((2, 3)), requires_grad=True), Tensor(RNG.random((2, 3)),
                                                                   requires_grad=True)
    mse_loss(a, y).backward()
    np.testing.assert_allclose(y.grad, -a.grad, rtol=1e-15)


def test_bce_by_hand():
    # −½ [log 0.8 + log(1 − 0.4)]
    loss = binary_cross_entropy(Tensor([[0.8], [0.4]]), np.array([[1.0], [0.0]]))
    assert loss.item() == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2, rel=1e-15)
    # soft target: −[0.3 log 0.5 + 0.7 log 0.5] = log 2
    assert binary_cross_entropy(Tensor([0.5]), [0.3]).item() == pytest.approx(math.log(2))


def test_bce_gradient_matches_finite_differences():
    a, y = RNG.uniform(0.05, 0.95, (3, 2)), RNG.random((3, 2))
    analytic = _grad_of(binary_cross_entropy, a, y)
    assert_grad_close(analytic, central_grad(lambda t: binary_cross_entropy(t, y).item(), a))


def test_bce_at_the_edges_is_exact_and_silent():
    a = Tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    y = np.array([0.0, 1.0, 1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        right = binary_cross_entropy(a[:2], y[:2])
        right.backward()
    assert right.item() == 0.0
    # ∂/∂a of −[log(1 − a)] at a = 0 is 1 (over m = 1); of −log a at a = 1 is −1
    np.testing.assert_array_equal(a.grad, [1.0, -1.0, 0.0, 0.0])
    with np.errstate(divide="ignore"):
        wrong = binary_cross_entropy(a[2:].detach(), y[2:])
    assert wrong.item() == math.inf  # a confident wrong answer: infinite, not clipped


def test_bce_refuses_values_outside_the_unit_interval():
    with pytest.raises(ValueError, match=r"predictions a must lie in \[0, 1\].*with_logits"):
        binary_cross_entropy(Tensor([1.5]), [1.0])
    with pytest.raises(ValueError, match="targets y must lie"):
        binary_cross_entropy(Tensor([0.5]), [2.0])


def test_bce_with_logits_equals_bce_of_the_sigmoid():
    z, y = RNG.normal(size=(4, 3)) * 3, RNG.random((4, 3))
    a = 1 / (1 + np.exp(-z))
    assert binary_cross_entropy_with_logits(Tensor(z), y).item() == pytest.approx(
        binary_cross_entropy(Tensor(a), y).item(), rel=1e-12)
    np.testing.assert_allclose(_grad_of(binary_cross_entropy_with_logits, z, y),
                               (a - y) / 4, rtol=1e-12)


def test_bce_with_logits_is_finite_and_silent_at_1000():
    z = Tensor([1000.0, -1000.0, 1000.0, -1000.0], requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = binary_cross_entropy_with_logits(z, y)
        loss.backward()
    assert loss.item() == 2000.0  # two confident wrong answers cost |z| each
    np.testing.assert_array_equal(z.grad, [0.0, 0.0, 1.0, -1.0])


def test_cross_entropy_by_hand():
    # equal logits over k classes: log k whatever the label
    assert cross_entropy(Tensor(np.zeros((3, 4))), [0, 1, 3]).item() == pytest.approx(
        math.log(4), rel=1e-15)
    z = np.array([[2.0, 1.0, 0.1]])
    expected = -math.log(math.exp(2.0) / (math.exp(2.0) + math.exp(1.0) + math.exp(0.1)))
    assert cross_entropy(Tensor(z), np.array([0])).item() == pytest.approx(expected, rel=1e-14)
    assert cross_entropy(Tensor(z[0]), 0).item() == pytest.approx(expected, rel=1e-14)


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_m():
    z, labels = RNG.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0])
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(_grad_of(cross_entropy, z, labels),
                               (p - np.eye(3)[labels]) / 5, rtol=1e-12, atol=1e-16)


def test_cross_entropy_is_finite_and_silent_at_1000():
    z = Tensor([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = cross_entropy(z, [2, 1])
        loss.backward()
    assert loss.item() == 1000.0  # (2000 + 0) / 2
    np.testing.assert_allclose(z.grad, [[0.5, 0.0, -0.5], [0.0, 0.0, 0.0]], atol=1e-300)


# ---- shapes and labels ------------------------------------------------------------------------

@pytest.mark.parametrize("loss", [mse_loss, binary_cross_entropy,
                                  binary_cross_entropy_with_logits])
@pytest.mark.parametrize("a_shape, y_shape", [((4, 1), (4,)), ((4,), (4, 1)), ((2, 3), (3,)),
                                              ((2, 3), (1, 3))])
def test_no_silent_broadcasting(loss, a_shape, y_shape):
    pattern = rf"{re.escape(str(a_shape))}.*{re.escape(str(y_shape))}"
    with pytest.raises(ValueError, match=pattern):
        loss(Tensor(np.full(a_shape, 0.5)), np.full(y_shape, 0.5))


def test_cross_entropy_label_checks():
    z = Tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.3 for 4 classes, got \[4, -1\]"):
        cross_entropy(z, [4, 0, -1])
    with pytest.raises(TypeError, match=r"integer class indices.*astype\(int\)"):
        cross_entropy(z, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(TypeError, match="integer class indices"):
        cross_entropy(z, np.array([0.5, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"labels of shape \(3,\), got shape \(3, 4\) \(one "):
        cross_entropy(z, np.eye(4)[[0, 1, 2]].astype(int))
    with pytest.raises(ValueError, match=r"labels of shape \(3,\), got shape \(2,\)"):
        cross_entropy(z, [0, 1])
    with pytest.raises(ValueError, match=r"logits of shape \(m, k\) or \(k,\)"):
        cross_entropy(Tensor(np.zeros((2, 2, 2))), np.zeros((2, 2), dtype=int))


def test_one_hot():
    np.testing.assert_array_equal(one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    assert one_hot(np.array(1), 2).tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match=r"0\.\.2"):
        one_hot([3], 3)


def test_losses_accept_plain_arrays_and_return_tensors():
    assert isinstance(mse_loss(np.ones(2), np.zeros(2)), Tensor)
    assert mse_loss([1.0, 1.0], [0.0, 0.0]).item() == 1.0


# ---- the registry: one list of losses, read by delta, gradtable, train and the CLI -----------

def test_the_registry_names_each_loss_with_its_function_and_output_layer():
    from nn.losses import HIDDEN, LOSSES

    assert list(LOSSES) == ["mse", "bce", "cross_entropy"]
    assert [spec.function for spec in LOSSES.values()] == [mse_loss, binary_cross_entropy,
                                                          cross_entropy]
    assert [spec.output for spec in LOSSES.values()] == [HIDDEN, "sigmoid", None]
    assert LOSSES["mse"].output_activation("tanh") == "tanh"
    assert LOSSES["bce"].output_activation("tanh") == "sigmoid"
    assert LOSSES["cross_entropy"].output_activation("tanh") is None
    assert LOSSES["mse"].fits("relu") and LOSSES["bce"].fits("sigmoid")
    assert not LOSSES["bce"].fits("tanh") and not LOSSES["cross_entropy"].fits("sigmoid")


def test_registry_targets_are_one_hot_rows_or_the_labels():
    from nn.losses import LOSSES

    labels = np.array([2, 0])
    np.testing.assert_array_equal(LOSSES["mse"].targets_of(labels, 3), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(LOSSES["cross_entropy"].targets_of(labels, 3), labels)


def test_an_unknown_loss_name_lists_the_registry():
    from nn.losses import get_loss

    with pytest.raises(ValueError, match="unknown loss 'hinge'; valid: mse, bce, cross_entropy"):
        get_loss("hinge")
    with pytest.raises(ValueError, match="unknown loss"):
        get_loss(["mse"])


def test_every_reader_takes_its_loss_names_from_the_registry():
    import argparse

    from nn.commands import check, train
    from nn.losses import LOSSES

    for command in (check, train):
        parser = argparse.ArgumentParser()
        command.register(parser.add_subparsers())
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        (loss,) = [a for a in next(iter(sub.choices.values()))._actions if a.dest == "loss"]
        assert loss.choices == list(LOSSES)


def test_same_as_hidden_is_one_marker_for_networks_and_losses():
    import inspect

    from nn import MLP, ScalarMLP
    from nn.init import HIDDEN
    from nn.losses import LOSSES

    for cls in (MLP, ScalarMLP):
        assert inspect.signature(cls).parameters["output_activation"].default is HIDDEN
        assert inspect.signature(cls.from_arrays).parameters["output_activation"].default \
            is HIDDEN
    assert LOSSES["mse"].output is HIDDEN and repr(HIDDEN) == "<same as activation>"
