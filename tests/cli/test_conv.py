"""`deltagrad train --preset conv` and `deltagrad check --preset conv`: Nielsen's chapter-6
network from the command line, and the three-way gradient check on a conv net."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from nn.cli import build_parser, main
from nn.commands.train import CONV_DECAY, config
from nn.conv import nielsen_conv_net

QUICK = ["train", "--preset", "conv", "--epochs", "1", "--train-limit", "200"]


def test_conv_preset_is_nielsens_network():
    cfg = config(build_parser().parse_args(["train", "--preset", "conv"]))
    assert (cfg["net"], cfg["loss"], cfg["activation"], cfg["lr"], cfg["batch_size"],
            cfg["weight_decay"], cfg["dropout"]) == ("conv", "cross_entropy", "relu", 0.03, 10,
                                                     CONV_DECAY, 0.0)
    net = nielsen_conv_net(seed=0)
    shapes = [p.shape for p in net.parameters()]
    assert shapes == [(20, 1, 5, 5), (20,), (40, 20, 5, 5), (40,), (100, 640), (100,),
                      (10, 100), (10,)]


def test_conv_preset_trains_and_prints_the_documents_lines(capsys, tmp_path):
    status = main([*QUICK, "--epochs", "2", "--dropout", "0.5", "--json",
                   str(tmp_path / "h.json"), "--save", str(tmp_path / "w.npz")])
    out = capsys.readouterr().out
    assert status == 0
    assert "conv20x5x5-maxpool2-conv40x5x5-maxpool2-100-dropout 0.5-10" in out
    correct = [int(c) for c in re.findall(r"^Epoch \d+: (\d+) / 2000$", out, re.MULTILINE)]
    assert len(correct) == 2 and correct[-1] > 600  # far above the 200 of guessing
    history = json.loads((tmp_path / "h.json").read_text())
    assert history["config"]["net"] == "conv" and history["config"]["dropout"] == 0.5
    loaded = nielsen_conv_net(dropout=0.5).load(tmp_path / "w.npz")
    assert loaded.steps[1].weight.shape == (20, 1, 5, 5)


def test_conv_preset_same_seed_same_weights(capsys, tmp_path):
    def weights(seed: str, name: str) -> dict[str, np.ndarray]:
        assert main([*QUICK, "--seed", seed, "--dropout", "0.3", "--save",
                     str(tmp_path / name)]) == 0
        with np.load(tmp_path / name, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    first, again, other = weights("4", "a.npz"), weights("4", "b.npz"), weights("5", "c.npz")
    capsys.readouterr()
    assert len(first) == 8 and all(np.array_equal(first[k], again[k]) for k in first)
    assert not any(np.array_equal(first[k], other[k]) for k in first)


@pytest.mark.parametrize("extra, words", [
    (["--sizes", "784,30,10"], "--sizes describes an MLP"),
    (["--loss", "mse"], "--preset conv ends in logits"),
    (["--dropout", "1.5"], "--dropout must be in [0, 1)"),
])
def test_conv_preset_refuses_options_that_do_not_apply(capsys, extra, words):
    assert main([*QUICK, *extra]) == 2
    assert words in capsys.readouterr().err


def test_dropout_needs_the_conv_preset(capsys):
    assert main(["train", "--dropout", "0.5"]) == 2
    assert "--dropout applies to --preset conv only" in capsys.readouterr().err


@pytest.mark.parametrize("loss", ["cross_entropy", "mse", "bce"])
def test_check_conv_preset_agrees_three_ways(capsys, tmp_path, loss):
    path = tmp_path / "check.json"
    assert main(["check", "--preset", "conv", "--loss", loss, "--batch", "3",
                 "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Conv2d(1, 2, kernel_size=3" in out and "all checks agree" in out
    report = json.loads(path.read_text())
    assert report["ok"] and report["config"]["preset"] == "conv"
    shapes = [row["shape"] for row in report["table"]["rows"]]
    assert shapes[:4] == [[2, 1, 3, 3], [2], [3, 2, 2, 2], [3]]


def test_check_conv_preset_refuses_sizes(capsys):
    assert main(["check", "--preset", "conv", "--sizes", "4,3"]) == 2
    assert "--sizes describes an MLP" in capsys.readouterr().err
