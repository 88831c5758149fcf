"""The three-way table (autograd, δ recursion, central differences) and the model culprit finder."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import nn.delta
import nn.layers
from nn.gradtable import (
    GradTable,
    autograd_grads,
    find_culprit,
    grad_table,
    model_gradcheck,
    model_sweep,
)
from nn.layers import MLP

OUTPUT = {"mse": "same", "bce": "sigmoid", "cross_entropy": None}


def problem(activation="sigmoid", loss="mse", sizes=(3, 4, 2), seed=0, dtype=None):
    out = activation if OUTPUT[loss] == "same" else OUTPUT[loss]
    model = MLP(list(sizes), activation=activation, output_activation=out, seed=seed,
                dtype=dtype)
    rng = np.random.default_rng(seed + 10)
    x = rng.standard_normal((5, sizes[0]))
    if loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], 5)
    elif loss == "bce":
        y = (rng.random((5, sizes[-1])) < 0.5) * 1.0
    else:
        y = rng.random((5, sizes[-1]))
    return model, x, y


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "identity"])
@pytest.mark.parametrize("loss", ["mse", "bce", "cross_entropy"])
def test_all_three_agree_for_every_activation_and_loss(activation, loss):
    model, x, y = problem(activation, loss)
    table = grad_table(model, x, y, loss)
    assert table.ok, str(table)
    assert [(r.layer, r.param) for r in table.rows] == [
        (0, "weight"), (0, "bias"), (1, "weight"), (1, "bias")]
    assert all(r.n_fd == np.prod(r.shape) for r in table.rows)
    assert max(r.autograd_delta.max_rel for r in table.rows) < 1e-12
    assert max(r.autograd_fd.max_rel for r in table.rows) < 1e-5


def test_max_entries_differences_a_reproducible_subset():
    model, x, y = problem(sizes=(6, 7, 3))
    table = grad_table(model, x, y, max_entries=10, seed=3)
    assert [r.n_fd for r in table.rows] == [10, 7, 10, 3]
    assert table == grad_table(model, x, y, max_entries=10, seed=3)
    with pytest.raises(ValueError, match="max_entries"):
        grad_table(model, x, y, max_entries=0)


def wrong_linear_rule(monkeypatch, factor=1.003):
    """Make the layers' fused linear rule give a weight gradient `factor` times too big."""
    right = nn.layers.linear.vjp

    def off(g, out, x, w, b, needs=(True, True, True)):
        gx, gw, gb = right(g, out, x, w, b, needs=needs)
        return gx, (None if gw is None else gw * factor), gb

    monkeypatch.setattr(nn.layers.linear, "vjp", off)


def test_a_wrong_engine_rule_shows_in_the_autograd_columns(monkeypatch):
    model, x, y = problem("tanh")
    wrong_linear_rule(monkeypatch)
    table = grad_table(model, x, y)
    weights = [r for r in table.rows if r.param == "weight"]
    assert not table.ok and all(not r.autograd_delta.ok for r in weights)
    assert all(not r.autograd_fd.ok and r.delta_fd.ok for r in weights)
    assert all(r.ok for r in table.rows if r.param == "bias")
    assert "DISAGREE" in str(table) and "FAIL" in str(table)
    report = find_culprit(model, x, y)
    assert report.culprit == "linear" and {c.arg for c in report.failures} == {1}


def test_a_wrong_delta_recursion_shows_in_the_delta_columns(monkeypatch):
    model, x, y = problem("tanh")
    sigma, prime = nn.delta.ACTIVATIONS["tanh"]
    monkeypatch.setitem(nn.delta.ACTIVATIONS, "tanh", (sigma, lambda z: prime(z) * 1.01))
    table = grad_table(model, x, y)
    assert not table.ok
    assert all(r.autograd_fd.ok for r in table.rows)
    assert any(not r.delta_fd.ok for r in table.rows)
    assert find_culprit(model, x, y).ok


def test_the_model_is_left_as_it_was():
    model, x, y = problem()
    params = model.parameters()
    datas = [p.data for p in params]
    before = [d.copy() for d in datas]
    params[0].grad = np.full(params[0].shape, 7.0)
    grad_table(model, x, y)
    model_gradcheck(model, x, y)
    model_sweep(model, x, y, eps=[1e-3], dtype="float32")
    assert all(p.data is d for p, d in zip(params, datas))
    assert all(np.array_equal(d, b) for d, b in zip(datas, before))
    assert np.all(params[0].grad == 7.0) and params[1].grad is None


def test_autograd_grads_match_backprop():
    model, x, y = problem("relu", "cross_entropy")
    dws, dbs = nn.delta.backprop(model, x, y, "cross_entropy")
    got = autograd_grads(model, x, y, "cross_entropy")
    for a, d in zip(got, [g for pair in zip(dws, dbs) for g in pair]):
        np.testing.assert_allclose(a, d, rtol=1e-12, atol=1e-15)


def test_text_and_json():
    model, x, y = problem("sigmoid", "bce")
    table = grad_table(model, x, y, "bce")
    text = str(table)
    assert "three-way gradient table" in text and "autograd vs δ" in text
    assert "all three agree" in text and text.count("\n") == 3 + len(table.rows)
    back = GradTable.from_dict(json.loads(table.to_json()))
    assert back == table and back.ok and json.loads(table.to_json())["ok"] is True


def test_float32_model():
    model, x, y = problem("tanh", dtype=np.float32)
    table = grad_table(model, x, y, eps=1e-2, atol=1e-3, rtol=1e-2)
    assert table.dtype == "float32" and table.exact_rtol == 1e-4 and table.ok
    assert not grad_table(model, x, y).ok  # eps 1e-6 in float32 is round-off
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert model_gradcheck(model, x, y, eps=1e-2, atol=1e-3, rtol=1e-2).ok


def test_model_gradcheck_and_sweep():
    model, x, y = problem("tanh")
    report = model_gradcheck(model, x, y)
    assert report.ok and report.names == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    s64 = model_sweep(model, x, y)
    s32 = model_sweep(model, x, y, dtype="float32")
    assert 1e-8 <= s64.best.eps <= 1e-3 and s32.best.eps > s64.best.eps


def test_unknown_loss_lists_the_valid_ones():
    model, x, y = problem()
    with pytest.raises(ValueError, match="mse, bce, cross_entropy"):
        grad_table(model, x, y, loss="hinge")


def test_the_example_runs_and_draws_its_picture(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    path = Path(__file__).resolve().parents[2] / "examples" / "gradcheck_experiments.py"
    spec = importlib.util.spec_from_file_location("gradcheck_experiments", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "culprit: the rule of 'cube' is wrong" in out and "inconclusive (1)" in out
    assert [p.name for p in tmp_path.iterdir()] == ["vcurve.png"]
