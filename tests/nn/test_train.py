"""nn.train: the document's training loop and evaluation, on the bundled MNIST subset."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor
from nn import MLP, SGD, Adam
from nn.data import Split, as_rng, load_mnist
from nn.train import Epoch, History, evaluate, train


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def _small(mnist, n: int = 2000) -> Split:
    return Split(mnist.train.images[:n], mnist.train.labels[:n])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def test_short_run_beats_chance_by_far(mnist):
    model = MLP([784, 30, 10], init="nielsen", seed=1)
    lines: list[str] = []
    history = train(model, SGD(model.parameters(), lr=3.0), _small(mnist), epochs=1,
                    test=mnist.test, seed=1, log=lines.append)
    (epoch,) = history.epochs
    assert epoch.total == 2000 and epoch.accuracy > 0.6  # chance is 0.1
    assert lines == [f"Epoch 0: {epoch.correct} / 2000"]
    assert epoch.seconds > 0 and epoch.cpu_seconds > 0 and np.isfinite(epoch.loss)


@pytest.mark.parametrize("loss, output, optimizer", [
    ("cross_entropy", None, lambda p: SGD(p, lr=0.5)),
    ("bce", "sigmoid", lambda p: SGD(p, lr=0.5)),
    ("mse", "sigmoid", lambda p: Adam(p, lr=0.01)),
])
def test_every_loss_learns(mnist, loss, output, optimizer):
    model = MLP([784, 30, 10], output_activation=output, init="nielsen", seed=2)
    history = train(model, optimizer(model.parameters()), _small(mnist, 1000), epochs=2,
                    loss=loss, test=mnist.test, seed=2, log=None)
    assert history.epochs[-1].accuracy > 0.6
    assert history.loss[1] < history.loss[0]


def test_one_epoch_is_the_documents_update(mnist):
    """train() with mse and SGD makes exactly the document's update_mini_batch, batch by batch."""
    data = _small(mnist, 95)  # 9 full batches of 10 and one of 5
    model = MLP([784, 16, 10], seed=3)
    ws = [la.weight.data.copy() for la in model.layers]
    bs = [la.bias.data.copy() for la in model.layers]
    train(model, SGD(model.parameters(), lr=3.0), data, epochs=1, batch_size=10, seed=4,
          log=None)
    y = np.eye(10)[data.labels]
    order = as_rng(4).permutation(len(data))
    for k in range(0, len(data), 10):
        idx = order[k:k + 10]
        a0, m = data.images[idx], len(idx)
        a1 = _sigmoid(a0 @ ws[0].T + bs[0])
        a2 = _sigmoid(a1 @ ws[1].T + bs[1])
        d2 = (a2 - y[idx]) * a2 * (1 - a2)
        d1 = (d2 @ ws[1]) * a1 * (1 - a1)
        ws[1] -= 3.0 / m * d2.T @ a1
        bs[1] -= 3.0 / m * d2.sum(axis=0)
        ws[0] -= 3.0 / m * d1.T @ a0
        bs[0] -= 3.0 / m * d1.sum(axis=0)
    for layer, w, b in zip(model.layers, ws, bs):
        np.testing.assert_allclose(layer.weight.data, w, rtol=0, atol=1e-12)
        np.testing.assert_allclose(layer.bias.data, b, rtol=0, atol=1e-12)


def _trained(seed: int, mnist) -> dict[str, np.ndarray]:
    model = MLP([784, 20, 10], seed=seed)
    train(model, SGD(model.parameters(), lr=3.0), _small(mnist, 300), epochs=2, seed=seed,
          log=None)
    return model.state_dict()


def test_same_seed_same_weights_bit_for_bit(mnist):
    first, again, other = _trained(5, mnist), _trained(5, mnist), _trained(6, mnist)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not any(np.array_equal(first[k], other[k]) for k in first)


def test_evaluate_counts_argmax_hits():
    labels = np.array([0, 1, 2, 3, 4, 5])
    split = Split(np.zeros((6, 784)), labels)
    guesses = np.array([0, 1, 2, 9, 9, 5])

    def model(x):
        return Tensor(np.eye(10)[guesses[:len(x)]])

    assert evaluate(model, split) == 4
    chunks: list[int] = []

    def counting(x):
        chunks.append(len(x))
        return Tensor(np.eye(10)[labels[sum(chunks) - len(x):sum(chunks)]])

    assert evaluate(counting, split, chunk=4) == 6 and chunks == [4, 2]


def test_without_test_data_says_complete(mnist):
    model = MLP([784, 10], seed=0)
    lines: list[str] = []
    history = train(model, SGD(model.parameters(), lr=1.0), _small(mnist, 50), epochs=2,
                    seed=0, log=lines.append)
    assert lines == ["Epoch 0 complete", "Epoch 1 complete"]
    assert history.best() is None and history.accuracy == [None, None]
    assert history.to_dict()["best"] is None


def test_history_reports_the_best_epoch():
    history = History()
    for j, correct in enumerate([50, 80, 80, 70]):
        history.epochs.append(Epoch(j, 1.0 / (j + 1), correct, 100, correct / 100, 0.5, 0.25))
    assert history.best().epoch == 1
    assert history.seconds == 2.0 and history.cpu_seconds == 1.0
    out = history.to_dict()
    assert out["best"]["correct"] == 80 and len(out["epochs"]) == 4


def test_progress_bar_only_when_asked(mnist, capsys):
    model = MLP([784, 10], seed=0)
    opt = SGD(model.parameters(), lr=1.0)
    train(model, opt, _small(mnist, 40), epochs=1, test=mnist.test, seed=0, progress=False)
    plain = capsys.readouterr()
    assert plain.out.startswith("Epoch 0: ") and plain.out.count("\n") == 1
    assert plain.err == ""
    train(model, opt, _small(mnist, 40), epochs=1, test=mnist.test, seed=0, progress=True)
    assert "batch" in capsys.readouterr().out  # tqdm's bar, unit "batch"


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": -1}, "epochs must be a non-negative integer, got -1"),
    ({"loss": "hinge"}, "unknown loss 'hinge'; valid: mse, bce, cross_entropy"),
    ({"batch_size": 0}, "batch size must be a positive integer, got 0"),
])
def test_bad_arguments_are_refused(mnist, kwargs, message):
    model = MLP([784, 10], seed=0)
    with pytest.raises(ValueError, match=message):
        train(model, SGD(model.parameters(), lr=1.0), _small(mnist, 20), log=None, **kwargs)
