"""benchmarks/bench_numpy.py runs, checks the engines agree, and prints its table."""

from __future__ import annotations

import numpy as np

from tests.conftest import load_script


def _bench():
    return load_script("benchmarks/bench_numpy.py")


def test_the_benchmark_runs_and_prints_ratios(capsys):
    assert _bench().main(["--batch", "4", "--calls", "2", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "deltagrad (np.tanh, np.dot on Tensors)" in out and "1.00x" in out


def test_its_gradients_are_the_numpy_functions_gradients():
    bench = _bench()
    data = bench.inputs(3)
    grads = bench.deltagrad_grad(data)()
    w1, b1, w2, b2, x, y = (data[k] for k in ("w1", "b1", "w2", "b2", "x", "y"))
    h = np.tanh(x @ w1 + b1)
    out = np.tanh(h @ w2 + b2)
    d_out = 2 * (out - y) / len(x) * (1 - out ** 2)
    d_h = d_out @ w2.T * (1 - h ** 2)
    for ours, expected in zip(grads, (x.T @ d_h, d_h.sum(0), h.T @ d_out, d_out.sum(0))):
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)
