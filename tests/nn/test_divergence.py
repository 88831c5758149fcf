"""Divergence: a training run whose loss or weights stop being finite says where in one line,
stops, exits non-zero, keeps the previous checkpoint, writes strict JSON that says the run
diverged, and lets no numpy warning escape (every test here runs with warnings as errors)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from nn import MLP, SGD
from nn.cli import main
from nn.data import load_mnist
from nn.train import Diverged, History, train

DIVERGING = ["train", "--epochs", "2", "--train-limit", "200", "--sizes", "784,30,10",
             "--activation", "relu", "--loss", "cross_entropy", "--lr", "1e300"]


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_the_cli_says_where_in_one_line_and_keeps_the_checkpoint(tmp_path, capsys):
    save, history = tmp_path / "w.npz", tmp_path / "h.json"
    MLP([784, 30, 10], seed=3).save(save)
    old = save.read_bytes()
    status = main([*DIVERGING, "--save", str(save), "--json", str(history)])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1, err
    assert err.startswith("deltagrad train: training diverged at epoch 0, step ")
    assert "the loss is nan" in err and "smaller learning rate" in err
    assert err.rstrip().endswith(f"the weights were not saved; the history is in {history}")
    assert save.read_bytes() == old
    data = json.loads(history.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert data["diverged"] is True and data["divergence"]["epoch"] == 0
    assert data["divergence"]["step"] >= 1 and data["config"]["lr"] == 1e300


def test_the_run_is_stopped_at_the_first_bad_step(capsys):
    data = load_mnist()
    model = MLP([784, 30, 10], activation="relu", output_activation=None, seed=0)
    with pytest.raises(Diverged) as info:
        train(model, SGD(model.parameters(), lr=1e300), data.train, epochs=3, batch_size=10,
              loss="cross_entropy", test=data.test, seed=0)
    e = info.value
    assert (e.epoch, e.history.epochs) == (0, []) and e.history.divergence["step"] == e.step
    assert "Epoch" not in capsys.readouterr().out  # no epoch completed


class _Poison:
    """An optimizer whose last step of each epoch makes a weight infinite (the loss of that
    step is still finite: only the weight check can see it)."""

    def __init__(self, model, steps):
        self.model, self.steps, self.count = model, steps, 0

    def zero_grad(self):
        self.model.zero_grad()

    def step(self):
        self.count += 1
        if self.count == self.steps:
            self.model.layers[0].weight.data[0, 0] = np.inf


def test_a_non_finite_weight_after_the_last_step_is_caught():
    data = load_mnist()
    model = MLP([784, 10], seed=0)
    part = type(data.train)(data.train.images[:30], data.train.labels[:30])
    with pytest.raises(Diverged, match=r"epoch 0, step 2: parameter layers\.0\.weight"):
        train(model, _Poison(model, 3), part, epochs=2, batch_size=10, seed=0, log=None)


def test_a_non_finite_loss_before_any_update_points_at_the_setup():
    data = load_mnist()
    model = MLP([784, 10], seed=0)
    model.layers[0].weight.data[...] = np.nan
    with pytest.raises(Diverged, match="step 0: the loss is nan; before any update"):
        train(model, SGD(model.parameters(), lr=0.1), data.train, epochs=1, log=None)


def test_history_json_turns_non_finite_numbers_into_null():
    from nn.train import Epoch

    h = History([Epoch(0, float("nan"), 1, 2, 0.5, 0.1)])
    d = h.to_dict()
    assert d["epochs"][0]["loss"] is None and d["diverged"] is True
    json.dumps(d, allow_nan=False)
    assert History([Epoch(0, 1.0, 1, 2, 0.5, 0.1)]).to_dict()["diverged"] is False


def test_an_empty_test_split_is_refused_before_training():
    data = load_mnist()
    empty = type(data.test)(data.test.images[:0], data.test.labels[:0])
    model = MLP([784, 10], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match="the test data is empty"):
        train(model, SGD(model.parameters(), lr=0.1), data.train, epochs=1, test=empty)
    assert all(np.array_equal(p, model.state_dict()[k]) for k, p in before.items())


@pytest.mark.parametrize("extra", [[], ["--activation", "relu"], ["--optimizer", "adam"],
                                   ["--activation", "tanh", "--loss", "bce"],
                                   ["--activation", "relu", "--loss", "cross_entropy"]])
def test_a_huge_learning_rate_gives_no_numpy_warning(capsys, extra):
    status = main(["train", "--epochs", "2", "--train-limit", "300", "--sizes", "784,30,10",
                   "--lr", "1e6", *extra])
    err = capsys.readouterr().err
    assert status in (0, 1) and err.count("\n") == (status == 1), err
    assert "Warning" not in err and "encountered" not in err
