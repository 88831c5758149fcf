"""Bad input to nn's public API: layers, losses, optimizers, scalar models, the δ recursion,
checkpoints and data. Each misuse gets the right kind of error and a message naming it; the
hypothesis properties draw mismatched shapes and labels out of range."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autograd import Tensor, Value
from nn import (
    MLP,
    SGD,
    Adam,
    CheckpointError,
    Layer,
    Linear,
    Neuron,
    ScalarMLP,
    Sequential,
    activation,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
    one_hot,
)
from nn.data import Split, batch_slices, batches, load_mnist, read_idx
from nn.delta import backprop, check, update_mini_batch
from nn.gradtable import grad_table, model_gradcheck, model_sweep
from nn.train import evaluate, train
from tests.misuse import Case, each_case, expect, expect_one_line

FEW = settings(max_examples=50, deadline=None)


def _params() -> list[Tensor]:
    return MLP([2, 1], seed=0).parameters()


def _net() -> tuple[list[np.ndarray], list[np.ndarray]]:
    return [np.ones((3, 2)), np.ones((1, 3))], [np.zeros(3), np.zeros(1)]


def _split(n: int = 6, labels: int | None = None) -> Split:
    return Split(np.zeros((n, 4)), np.zeros(n if labels is None else labels, dtype=int))


def _train(**kwargs: Any) -> Any:
    model = MLP([4, 10], seed=0)
    options = dict(data=_split(), epochs=1, log=None, progress=False) | kwargs
    data = options.pop("data")
    optimizer = options.pop("optimizer", SGD(model.parameters(), lr=0.1))
    return train(model, optimizer, data, **options)


CASES: list[Case] = [
    # layers and networks
    ("Linear(0, 3)", lambda: Linear(0, 3), ValueError, ("positive", "0")),
    ("Linear(-1, 3)", lambda: Linear(-1, 3), ValueError, ("positive", "-1")),
    ("Linear(2.5, 3)", lambda: Linear(2.5, 3), ValueError, ("positive ints", "2.5")),
    ("Linear init", lambda: Linear(2, 3, init="foo"), ValueError,
     ("foo", "normal", "xavier", "he")),
    ("Linear seed str", lambda: Linear(2, 3, seed="a"), TypeError, ("seed",)),
    ("Linear seed < 0", lambda: Linear(2, 3, seed=-1), ValueError, ("seed", "-1")),
    ("Linear seed and rng", lambda: Linear(2, 3, seed=1, rng=np.random.default_rng()),
     ValueError, ("seed or rng",)),
    ("Linear dtype int", lambda: Linear(2, 3, dtype=int), TypeError, ("float",)),
    ("Linear width", lambda: Linear(2, 3)(np.ones(4)), ValueError, ("width 2", "(4,)")),
    ("Linear on a scalar", lambda: Linear(2, 3)(1.0), ValueError, ("width 2", "()")),
    ("Linear on strings", lambda: Linear(2, 3)(np.array([["a", "b"]])), TypeError,
     ("Linear(2, 3)", "numeric", "<U1")),
    ("Linear on objects", lambda: Linear(2, 3)(np.array([[1, None]])), TypeError,
     ("numeric", "object")),
    ("Linear on a str", lambda: Linear(2, 3)("ab"), TypeError, ("numeric", "str")),
    ("Linear.from_arrays", lambda: Linear.from_arrays(np.ones((2, 3)), np.ones(3)),
     ValueError, ("(2, 3)", "(3,)")),
    ("MLP([3])", lambda: MLP([3]), ValueError, ("two sizes",)),
    ("MLP(None)", lambda: MLP(None), TypeError, ("sequence",)),
    ("MLP('784,30')", lambda: MLP("784,30"), TypeError, ("string", "'784,30'")),
    ("MLP zero width", lambda: MLP([2, 0, 1]), ValueError, ("entry 1 is 0",)),
    ("MLP activation", lambda: MLP([2, 1], activation="foo"), ValueError,
     ("foo", "sigmoid", "relu", "tanh", "identity")),
    ("MLP output activation", lambda: MLP([2, 1], output_activation="softmax"), ValueError,
     ("softmax", "valid")),
    ("MLP.from_arrays misfit", lambda: MLP.from_arrays([np.ones((2, 3))] * 2, [np.ones(2)] * 2),
     ValueError, ("layer 0 gives 2 outputs", "layer 1 takes 3")),
    ("MLP.from_arrays counts", lambda: MLP.from_arrays([np.ones((2, 3))], []), ValueError,
     ("1 and 0",)),
    ("Sequential(3)", lambda: Sequential(3), TypeError, ("step 0", "int")),
    ("activation(3)", lambda: activation(3), ValueError, ("3", "sigmoid")),
    # losses
    ("mse shapes", lambda: mse_loss(np.ones((3, 1)), np.ones(3)), ValueError,
     ("(3, 1)", "(3,)", "never broadcast")),
    ("mse string target", lambda: mse_loss(np.ones(3), "abc"), TypeError,
     ("mse_loss", "targets", "numbers")),
    ("mse ragged target", lambda: mse_loss(np.ones(3), [[1], [1, 2]]), TypeError,
     ("mse_loss", "rectangular")),
    ("mse object target", lambda: mse_loss(np.ones(2), np.array([1, None])), TypeError,
     ("mse_loss", "object")),
    ("mse empty batch", lambda: mse_loss(np.ones((0, 3)), np.ones((0, 3))), ValueError,
     ("(0, 3)", "no entries")),
    ("bce a > 1", lambda: binary_cross_entropy(np.array([1.5]), np.array([1.0])), ValueError,
     ("[0, 1]", "1.5", "with_logits")),
    ("bce NaN", lambda: binary_cross_entropy(np.array([np.nan]), np.array([1.0])), ValueError,
     ("[0, 1]", "nan")),
    ("bce target 2", lambda: binary_cross_entropy(np.array([0.5]), np.array([2.0])),
     ValueError, ("targets y", "[0, 1]")),
    ("bce empty", lambda: binary_cross_entropy(np.ones((0, 2)), np.ones((0, 2))), ValueError,
     ("no entries",)),
    ("bce logits target", lambda: binary_cross_entropy_with_logits(np.ones(2), np.array([0, 3])),
     ValueError, ("targets y", "[0, 1]")),
    ("ce label too big", lambda: cross_entropy(np.ones((2, 3)), [0, 3]), ValueError,
     ("0..2", "3 classes", "[3]")),
    ("ce label negative", lambda: cross_entropy(np.ones((2, 3)), [0, -1]), ValueError,
     ("0..2", "[-1]")),
    ("ce float labels", lambda: cross_entropy(np.ones((2, 3)), [0.0, 1.0]), TypeError,
     ("integer", ".astype(int)")),
    ("ce string labels", lambda: cross_entropy(np.ones((2, 3)), ["a", "b"]), TypeError,
     ("integer",)),
    ("ce one-hot labels", lambda: cross_entropy(np.ones((2, 3)), np.eye(3)[:2].astype(int)),
     ValueError, ("(2, 3)", "(2,)", "not one-hot")),
    ("ce 3-d logits", lambda: cross_entropy(np.ones((2, 3, 4)), np.zeros((2, 3), int)),
     ValueError, ("(2, 3, 4)",)),
    ("ce empty batch", lambda: cross_entropy(np.ones((0, 3)), np.zeros(0, int)), ValueError,
     ("(0, 3)", "nothing to average")),
    ("ce no classes", lambda: cross_entropy(np.ones((2, 0)), np.zeros(2, int)), ValueError,
     ("(2, 0)",)),
    ("one_hot 0 classes", lambda: one_hot([0], 0), ValueError, ("at least 1",)),
    ("one_hot str classes", lambda: one_hot([0], "a"), TypeError, ("num_classes", "str")),
    # optimizers
    ("SGD(model)", lambda: SGD(MLP([2, 1]), lr=1.0), TypeError, ("model.parameters()",)),
    ("SGD lr < 0", lambda: SGD(_params(), lr=-1), ValueError, ("lr", ">= 0", "-1")),
    ("SGD lr NaN", lambda: SGD(_params(), lr=float("nan")), ValueError, ("lr", "nan")),
    ("SGD lr str", lambda: SGD(_params(), lr="0.1"), TypeError, ("lr", "str")),
    ("SGD momentum 1", lambda: SGD(_params(), lr=1, momentum=1.0), ValueError, ("[0, 1)",)),
    ("SGD momentum str", lambda: SGD(_params(), lr=1, momentum="a"), TypeError,
     ("momentum", "str")),
    ("SGD decay < 0", lambda: SGD(_params(), lr=1, weight_decay=-1), ValueError,
     ("weight_decay",)),
    ("SGD no params", lambda: SGD([], lr=1), ValueError, ("empty",)),
    ("SGD of Values", lambda: SGD([Value(1.0)], lr=1), TypeError, ("Value", "by hand")),
    ("SGD twice the same", lambda: SGD(_params() * 2, lr=1), ValueError, ("more than once",)),
    ("SGD non-leaf", lambda: SGD([Tensor(1.0, requires_grad=True) * 2], lr=1), ValueError,
     ("parameter 0", "'mul'", "leaf")),
    ("Adam betas", lambda: Adam(_params(), betas=(0.9, 1.0)), ValueError, ("[0, 1)",)),
    ("Adam eps 0", lambda: Adam(_params(), eps=0.0), ValueError, ("eps", "positive")),
    ("Adam eps True", lambda: Adam(_params(), eps=True), TypeError, ("eps", "bool")),
    # scalar models
    ("Neuron(0)", lambda: Neuron(0), ValueError, ("positive",)),
    ("Neuron inputs", lambda: Neuron(2)([1.0]), ValueError, ("expects 2 inputs", "got 1")),
    ("Neuron on an int", lambda: Neuron(2)(3), TypeError, ("sequence of 2 inputs", "int")),
    ("Neuron on strings", lambda: Neuron(2)(["a", "b"]), TypeError, ("str",)),
    ("Neuron weights str", lambda: Neuron.from_numbers(["a"], 0.0), TypeError, ("numbers",)),
    ("Layer strings", lambda: Layer.from_arrays([["a"]], [1.0]), TypeError, ("numbers",)),
    ("ScalarMLP misfit", lambda: ScalarMLP.from_arrays([np.ones((2, 3))] * 2,
                                                       [np.ones(2)] * 2),
     ValueError, ("layer 0 gives 2 outputs", "layer 1 takes 3")),
    ("ScalarMLP empty", lambda: ScalarMLP.from_arrays([], []), ValueError, ("at least one",)),
    # the δ recursion and the gradient table
    ("backprop loss", lambda: backprop(MLP([2, 1]), np.ones(2), np.ones(1), loss="foo"),
     ValueError, ("foo", "mse", "bce", "cross_entropy")),
    ("backprop width", lambda: backprop(MLP([2, 1]), np.ones(3), np.ones(1)), ValueError,
     ("width 2", "(1, 3)")),
    ("backprop targets", lambda: backprop(MLP([2, 1]), np.ones((4, 2)), np.ones(4)),
     ValueError, ("(4, 1)", "(4,)")),
    ("backprop strings", lambda: backprop(MLP([2, 1]), "ab", np.ones(1)), TypeError,
     ("numeric",)),
    ("backprop empty", lambda: backprop(MLP([2, 1]), np.ones((0, 2)), np.ones((0, 1))),
     ValueError, ("no examples",)),
    ("backprop Linear", lambda: backprop(Linear(2, 1), np.ones(2), np.ones(1)), TypeError,
     ("nn.MLP", "Linear")),
    ("backprop bce on relu", lambda: backprop(MLP([2, 1], output_activation="relu"),
                                              np.ones(2), np.ones(1), loss="bce"),
     ValueError, ("'bce'", "'relu'", "sigmoid")),
    ("update eta str", lambda: update_mini_batch(*_net(), np.ones((1, 2)), np.ones((1, 1)),
                                                 eta="a"), TypeError, ("eta",)),
    ("update eta < 0", lambda: update_mini_batch(*_net(), np.ones((1, 2)), np.ones((1, 1)),
                                                 eta=-1.0), ValueError, ("eta", "-1.0")),
    ("update misfit", lambda: update_mini_batch([np.ones((3, 2)), np.ones((1, 4))],
                                                [np.zeros(3), np.zeros(1)], np.ones((1, 2)),
                                                np.ones((1, 1)), eta=1.0),
     ValueError, ("layer 1", "(1, 4)")),
    ("update no layers", lambda: update_mini_batch([], [], np.ones((1, 2)), np.ones((1, 1)),
                                                   eta=1.0), ValueError, ("at least one",)),
    ("check loss", lambda: check(MLP([2, 1]), np.ones(2), np.ones(1), loss="x"), ValueError,
     ("'x'",)),
    ("grad_table loss", lambda: grad_table(MLP([2, 1]), np.ones((2, 2)), np.ones((2, 1)), "x"),
     ValueError, ("'x'", "mse")),
    ("grad_table strings", lambda: grad_table(MLP([2, 1]), np.array([["a", "b"]]),
                                              np.ones((1, 1))), TypeError, ("<U1",)),
    ("model_gradcheck width", lambda: model_gradcheck(MLP([2, 1]), np.ones((4, 3)),
                                                      np.ones((4, 1))),
     ValueError, ("width 2", "(4, 3)")),
    ("model_sweep dtype", lambda: model_sweep(MLP([2, 1]), np.ones((2, 2)), np.ones((2, 1)),
                                              dtype="int8"), ValueError, ("float32", "int8")),
    # data
    ("batches lengths", lambda: list(batches(np.ones(3), np.ones(4), 2)), ValueError,
     ("3 and 4",)),
    ("batches size 0", lambda: list(batches(np.ones(3), np.ones(3), 0)), ValueError,
     ("positive", "0")),
    ("batch_slices 2.0", lambda: batch_slices(3, 2.0), ValueError, ("positive integer",)),
    ("batches seed", lambda: list(batches(np.ones(3), np.ones(3), 2, rng=-1)), ValueError,
     ("non-negative", "-1")),
    # the training loop
    ("train on an array", lambda: _train(data=np.zeros((6, 4))), TypeError,
     ("Split", "ndarray")),
    ("train on nothing", lambda: _train(data=_split(0)), ValueError, ("empty",)),
    ("train mismatched split", lambda: _train(data=_split(6, labels=5)), ValueError,
     ("6 images", "5 labels")),
    ("train without optimizer", lambda: _train(optimizer=None), TypeError,
     ("zero_grad()", "step()", "NoneType")),
    ("train loss name", lambda: _train(loss="hinge"), ValueError,
     ("'hinge'", "mse", "cross_entropy", "bce")),
    ("train epochs", lambda: _train(epochs=-1), ValueError, ("epochs", "-1")),
    ("train batch size", lambda: _train(batch_size=0), ValueError, ("batch size", "0")),
    ("train seed", lambda: _train(seed=-2), ValueError, ("seed", "-2")),
    ("train test split", lambda: _train(test=np.zeros(3)), TypeError, ("test", "Split")),
    ("evaluate an array", lambda: evaluate(MLP([4, 10]), np.zeros((2, 4))), TypeError,
     ("Split",)),
    ("evaluate chunk 0", lambda: evaluate(MLP([4, 10]), _split(), chunk=0), ValueError,
     ("chunk", "0")),
]


@each_case(CASES)
def test_misuse_is_named(call, kind, words):
    expect_one_line(call, kind, words)


# ---- checkpoints and files ---------------------------------------------------------------

def test_checkpoint_paths_and_states(tmp_path):
    model = MLP([2, 3, 1], seed=0)
    state = model.state_dict()
    expect(lambda: model.save(None), TypeError, "save", "path", "NoneType")
    expect(lambda: model.load(3), TypeError, "load", "path", "int")
    expect(lambda: model.save(tmp_path), IsADirectoryError, str(tmp_path), "folder",
           "model.npz")
    expect(lambda: model.load(tmp_path / "nope.npz"), FileNotFoundError, "nope.npz")
    expect(lambda: model.load(tmp_path), FileNotFoundError, str(tmp_path))
    expect(lambda: model.load_state_dict([1, 2]), TypeError, "dict", "list")
    ragged = {**state, "layers.0.weight": [[1.0], [1.0, 2.0]]}
    expect(lambda: model.load_state_dict(ragged), CheckpointError, "'layers.0.weight'")
    strings = {k: np.full(v.shape, "a") for k, v in state.items()}
    expect(lambda: model.load_state_dict(strings), CheckpointError, "<U1", "not numbers")
    assert all(np.array_equal(p.data, state[n]) for n, p in model.named_parameters())


def test_files_that_are_not_mnist_are_named(tmp_path):
    expect(lambda: load_mnist(tmp_path / "nope"), FileNotFoundError, "nope")
    expect(lambda: load_mnist(tmp_path), FileNotFoundError, "train-images-idx3-ubyte.gz")
    MLP([2, 1]).save(tmp_path / "w.npz")
    expect(lambda: load_mnist(tmp_path / "w.npz"), FileNotFoundError, "w.npz")
    expect(lambda: read_idx(tmp_path / "w.npz"), ValueError, "w.npz", "magic number")
    expect(lambda: load_mnist(3), TypeError, "load_mnist", "path", "int")
    expect(lambda: read_idx(None), TypeError, "read_idx", "path", "NoneType")


# ---- hypothesis ---------------------------------------------------------------------------

_SHAPES = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


@FEW
@given(a=_SHAPES, y=_SHAPES, loss=st.sampled_from(["mse", "bce", "bce_logits"]))
def test_losses_never_broadcast_a_target(a, y, loss):
    assume(a != y)
    fn = {"mse": mse_loss, "bce": binary_cross_entropy,
          "bce_logits": binary_cross_entropy_with_logits}[loss]
    expect(lambda: fn(np.full(a, 0.5), np.full(y, 0.5)), ValueError, str(a), str(y),
           "never broadcast")


@FEW
@given(m=st.integers(1, 5), k=st.integers(1, 5), data=st.data())
def test_labels_out_of_range_are_named(m, k, data):
    labels = data.draw(st.lists(st.integers(-3, k + 3), min_size=m, max_size=m))
    assume(any(not 0 <= c < k for c in labels))
    bad = next(c for c in labels if not 0 <= c < k)
    message = expect(lambda: cross_entropy(np.zeros((m, k)), np.array(labels)), ValueError,
                     f"0..{k - 1}", f"{k} classes")
    assert str(bad) in message
    model = MLP([2, k], output_activation=None, seed=0)
    expect(lambda: backprop(model, np.ones((m, 2)), np.array(labels), loss="cross_entropy"),
           ValueError, f"0..{k - 1}")


@FEW
@given(width=st.integers(1, 5), given_width=st.integers(1, 5), rows=st.integers(1, 3))
def test_a_model_names_the_width_it_wants(width, given_width, rows):
    assume(width != given_width)
    model = MLP([width, 2], seed=0)
    expect(lambda: model(np.ones((rows, given_width))), ValueError, f"width {width}",
           f"({rows}, {given_width})")
