"""`deltagrad check`, run through nn.cli.main as the console script runs it."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import nn.layers
from autograd.check import GradcheckReport, Sweep
from nn.cli import main
from nn.gradtable import GradTable


def test_default_run_prints_the_three_experiments(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "gradcheck ok: 43 entries" in out
    assert "three-way gradient table" in out and "all three agree" in out
    assert "step-size sweep" in out and "float32" in out
    assert out.strip().endswith("all checks agree")


def test_json_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    js, png = tmp_path / "check.json", tmp_path / "v.png"
    argv = ["check", "--sizes", "3,4,2", "--activation", "tanh", "--loss", "cross_entropy",
            "--batch", "4", "--seed", "5", "--eps-min", "1e-10", "--eps-max", "1e-2",
            "--json", str(js), "--plot", str(png)]
    assert main(argv) == 0
    data = json.loads(js.read_text())
    assert data["ok"] is True and data["culprit"] is None
    assert data["config"]["sizes"] == [3, 4, 2] and data["config"]["output_activation"] is None
    assert GradcheckReport.from_dict(data["gradcheck"]).ok
    assert GradTable.from_dict(data["table"]).ok
    sweeps = [Sweep.from_dict(s) for s in data["sweeps"]]
    assert [s.dtype for s in sweeps] == ["float64", "float32"]
    assert [r.eps for r in sweeps[0]] == pytest.approx([10.0 ** -k for k in range(2, 11)])
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["check.json", "v.png"]
    assert f"wrote {png}" in capsys.readouterr().out


@pytest.mark.parametrize("extra", [["--loss", "bce", "--activation", "relu"],
                                   ["--dtype", "float32", "--activation", "tanh"]])
def test_other_losses_and_float32(extra, capsys):
    assert main(["check", "--sizes", "3,4,2", *extra]) == 0
    out = capsys.readouterr().out
    if "float32" in extra:
        assert "note: gradcheck layers.0.weight is float32" in out and ", float32" in out


def test_a_wrong_rule_fails_and_is_named(monkeypatch, capsys):
    right = nn.layers.linear.vjp

    def off(g, out, x, w, b, needs=(True, True, True)):
        gx, gw, gb = right(g, out, x, w, b, needs=needs)
        return gx, gw, (None if gb is None else gb * 1.003)

    monkeypatch.setattr(nn.layers.linear, "vjp", off)
    assert main(["check", "--sizes", "3,4,2", "--activation", "tanh"]) == 1
    out = capsys.readouterr().out
    assert "gradcheck FAILED" in out and "culprit: the rule of 'linear' is wrong" in out
    assert out.strip().endswith("a check FAILED")


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "4,x,3"], "--sizes must be comma-separated integers like 4,5,3"),
    (["--sizes", "4"], "--sizes needs at least two positive widths"),
    (["--sizes", "4,0,3"], "positive widths"),
    (["--sizes", "100,100,10"], "keep to 5000 or fewer"),
    (["--eps-min", "1e-2", "--eps-max", "1e-3"], "larger than --eps-max"),
    (["--eps", "0"], "--eps must be a positive number"),
    (["--atol", "-1"], "--atol must be a non-negative number"),
    (["--batch", "0"], "--batch must be at least 1"),
    (["--loss", "cross_entropy", "--sizes", "3,1"], "at least 2 output classes"),
    (["--loss", "bce", "--output-activation", "tanh"], "valid"),
    (["--json", "/nonexistent-folder/x.json"], "does not exist"),
])
def test_bad_options_exit_2_with_one_clear_line(argv, message, capsys):
    assert main(["check", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deltagrad check: error:") and message in err


def test_plot_without_matplotlib_names_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert main(["check", "--sizes", "2,2", "--plot", str(tmp_path / "v.png")]) == 2
    assert "pip install 'deltagrad[plot]'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_choices_are_checked_by_the_parser(capsys):
    with pytest.raises(SystemExit) as e:
        main(["check", "--activation", "softsign"])
    assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_the_model_is_seeded():
    from nn.commands.check import _setup

    cfg = dict(sizes=[3, 4, 2], activation="tanh", output_activation="tanh", seed=7, batch=3,
               loss="mse", dtype="float64")
    (m1, x1, y1), (m2, x2, y2) = _setup(cfg), _setup(cfg)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert np.array_equal(m1.layers[0].weight.data, m2.layers[0].weight.data)
