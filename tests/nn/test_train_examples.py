"""The MNIST and two-moons examples run and learn (shortened)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mnist_network_prints_the_documents_lines(capsys, monkeypatch):
    example = _example("mnist_network")
    monkeypatch.setattr(sys, "argv", ["mnist_network.py", "--epochs", "2"])
    example.main()
    lines = capsys.readouterr().out.splitlines()
    scores = [int(re.fullmatch(r"Epoch \d: (\d+) / 2000", line).group(1)) for line in lines]
    assert len(scores) == 2 and scores[-1] > 1400  # chance: 200


def test_two_moons_separates_the_moons(capsys):
    example = _example("two_moons_scalar")
    from nn import ScalarMLP

    points, labels = example.two_moons(40, noise=0.1, seed=1)
    assert points.shape == (40, 2) and set(np.unique(labels)) == {-1.0, 1.0}
    model = ScalarMLP([2, 8, 8, 1], activation="tanh", output_activation=None, seed=1)
    first, _ = example.loss_and_accuracy(model, points, labels)
    accuracy = example.fit(model, points, labels, steps=40)
    last, _ = example.loss_and_accuracy(model, points, labels)
    assert last.data < first.data / 2 and accuracy >= 0.85
    assert "step  39" in capsys.readouterr().out


def test_two_moons_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    example = _example("two_moons_scalar")
    from nn import ScalarMLP

    points, labels = example.two_moons(10, noise=0.1, seed=0)
    model = ScalarMLP([2, 4, 1], activation="tanh", output_activation=None, seed=0)
    example.plot(model, points, labels, tmp_path / "moons.png")
    assert (tmp_path / "moons.png").read_bytes()[:4] == b"\x89PNG"


def test_conv_network_checks_its_gradients_and_learns(capsys, monkeypatch):
    example = _example("conv_network")
    monkeypatch.setattr(sys, "argv", ["conv_network.py", "--epochs", "1", "--train-limit",
                                      "300"])
    example.main()
    first, *epochs = capsys.readouterr().out.splitlines()
    assert first.startswith("δ recursion vs autograd on one batch") and first.endswith("(ok)")
    scores = [int(re.fullmatch(r"Epoch \d: (\d+) / 2000", line).group(1)) for line in epochs]
    assert len(scores) == 1 and scores[0] > 800  # chance: 200
