"""benchmarks/bench_mnist_epoch.py: every contender trains the same network to the same
weights as the numpy floor, and the script prints its table."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tests.conftest import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/bench_mnist_epoch.py")


def test_every_contender_ends_at_the_floors_weights(bench):
    x, y = bench.load(None, 60)  # the bundled images
    params = bench.initial_weights()
    floor = bench.epoch_numpy(params, x, y)
    rows = bench.contenders(skip_document=False)
    assert len(rows) >= 12
    for name, fn, dtype in rows:
        final = fn(params, x.astype(dtype), y.astype(dtype))
        tol = 1e-3 if dtype == np.float32 else 1e-10
        worst = max(float(np.abs(a - b).max()) for a, b in zip(final, floor))
        assert worst <= tol, name
        if dtype == np.float32 and "float32" in name:
            assert all(w.dtype == np.float32 for w in final), name


def test_the_table_has_a_row_for_each_contender(bench, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["bench", "--n", "40", "--repeat", "1",
                                      "--skip-document"])
    bench.main()
    out = capsys.readouterr().out
    assert "threadpool" in out
    for name in ("numpy by hand (floor)", "deltagrad nn compiled, float32",
                 "nn compiled, only 'bias' fused", "deltagrad Tensor ops compiled"):
        assert name in out
    assert "gather of one shuffled batch" in out


def test_whole_runs_train_as_the_command_does(bench, capsys, monkeypatch):
    """--train builds the model and optimizer with `deltagrad train`'s own code, and prints
    both loops per seed and dtype."""
    from nn.commands import train as command

    built = []
    original = command.build_model
    monkeypatch.setattr(command, "build_model", lambda cfg: built.append(cfg) or original(cfg))
    bench.compare_training(None, 1, [0])
    assert [cfg["dtype"] for cfg in built] == ["float64", "float64", "float32", "float32"]
    assert all(cfg["lr"] == bench.ETA and list(cfg["sizes"]) == list(bench.SIZES) for cfg in built)
    out = capsys.readouterr().out
    for run in ("numpy loop by hand, float64", "deltagrad train, float64",
                "numpy loop by hand, float32", "deltagrad train, float32",
                "deltagrad train --fuse, float32"):
        assert run in out
