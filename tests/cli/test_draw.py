"""`deltagrad draw`: the document's neuron and a small MLP rendered to files."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from autograd import trace
from nn.cli import main
from nn.commands.draw import mlp_loss, neuron_loss


def test_the_neuron_graph_is_section_4_1s_with_its_gradients():
    loss = neuron_loss()
    nodes = {n.label: n for n in trace(loss).nodes if n.label}
    x1, w1, b, z, a = (nodes[k] for k in ("x1", "w1", "b", "z", "a"))
    assert z.data == pytest.approx(0.8 * 0.5 + 0.3 * -1.0 + 0.1)
    delta = (a.data - 1.0) * a.data * (1 - a.data)  # ∂L/∂a · σ′(z)
    assert w1.grad == pytest.approx(delta * x1.data) and b.grad == pytest.approx(delta)


def test_the_mlp_graph_has_one_cluster_per_layer_and_every_gradient():
    loss, clusters = mlp_loss([2, 3, 1], seed=0)
    assert list(clusters) == ["layer 1", "layer 2"]
    assert all(n.grad is not None for n in trace(loss).nodes)
    w1 = clusters["layer 1"][0]
    assert w1.shape == (3, 2) and w1.label == "W1"
    np.testing.assert_array_equal(mlp_loss([2, 3, 1], seed=0)[0].data, loss.data)


def test_draw_writes_svg_files(dot, tmp_path, capsys):
    assert main(["draw", "--out", str(tmp_path), "--format", "svg", "--derivatives",
                 "--rankdir", "TB"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.svg", "neuron.svg"]
    text = "".join(ET.parse(tmp_path / "neuron.svg").getroot().itertext())
    assert "w1" in text and "sigmoid" in text and "grad(out) · label" in text
    text = "".join(ET.parse(tmp_path / "mlp.svg").getroot().itertext())
    assert "layer 2" in text and "(3, 2) float64" in text
    assert f"wrote {tmp_path / 'neuron.svg'}" in capsys.readouterr().out


def test_draw_frames_writes_the_backward_pass_as_pictures_and_a_gif(dot, tmp_path, capsys):
    pytest.importorskip("PIL", reason="the animated GIF needs Pillow")
    assert main(["draw", "--what", "neuron", "--out", str(tmp_path), "--frames"]) == 0
    frames = sorted((tmp_path / "neuron-frames").glob("frame-*.png"))
    assert len(frames) == len(trace(neuron_loss()).nodes) + 1
    assert (tmp_path / "neuron-frames" / "backward.gif").read_bytes()[:6] == b"GIF89a"
    assert not (tmp_path / "mlp.png").exists()
    assert "frames of the backward pass" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "2,x"], "--sizes must be comma-separated integers like 2,3,1"),
    (["--sizes", "4"], "--sizes needs at least two positive widths"),
    (["--sizes", "3,0,1"], "--sizes needs at least two positive widths"),
])
def test_bad_sizes_are_named(argv, message, tmp_path, capsys):
    assert main(["draw", "--what", "mlp", "--out", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err


def test_an_out_path_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["draw", "--out", str(target)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_without_dot_the_command_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["draw", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deltagrad draw: error: graphviz's 'dot' program was not found")
    assert "apt-get install graphviz" in err and "brew install graphviz" in err


def test_bad_choices_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        main(["draw", "--format", "jpg"])
    assert "invalid choice: 'jpg'" in capsys.readouterr().err


def test_the_example_script_writes_its_pictures(dot, tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "examples" / "draw_graphs.py"
    spec = importlib.util.spec_from_file_location("draw_graphs", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.main(["--out", str(tmp_path), "--no-frames"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.png", "neuron.png",
                                                          "scalar_mlp.png"]
    out = capsys.readouterr().out
    backward, by_hand = re.search(r"dL/dw1: backward (\S+), chain rule by hand (\S+)", out).groups()
    assert backward == by_hand
