"""draw, render, the Jupyter display and the backward frames."""

from __future__ import annotations

import re
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from autograd import Tensor, Value, draw, trace
from autograd.draw import DotNotFoundError, RenderError, render
from autograd.draw.frames import backward_frames, frame_graphs
from autograd.graph import toposort
from nn.scalar import document_neuron

PNG = b"\x89PNG\r\n\x1a\n"


def neuron() -> tuple[Value, dict[str, Value]]:
    """Section 4.1's neuron after backward: (L, its nodes by label)."""
    return document_neuron()


def tensor_loss(retain: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    w = Tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True, label="W")
    b = Tensor([0.1, -0.2], requires_grad=True, label="b")
    loss = (((w @ np.array([1.0, 2.0]) + b).sigmoid() - 1.0) ** 2).sum()
    loss.backward(retain_graph=retain)
    return loss, w, b


def svg_root(text: str | bytes) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag.endswith("svg")
    return root


# ---- the DOT source -------------------------------------------------------------------------

def test_value_nodes_show_label_data_and_grad_and_ops_their_name():
    loss, v = neuron()
    src = draw(loss).source
    for name in ("x1", "w1", "b", "z", "a", "L"):
        assert re.search(rf"label=\"\{{{re.escape(name)} \| data ", src), name
    assert f"data {v['w1'].data:.4f} | grad {v['w1'].grad:.4f}" in src
    assert f"grad {loss.grad:.4f}" in src
    for op in ("mul", "add", "sigmoid", "sub(·, 1)", "power(·, 2)", "mul(0.5, ·)"):
        assert f'label="{op}"' in src or f"label={op} " in src, op
    assert "rankdir=LR" in src


def test_tensor_nodes_show_shape_dtype_and_small_values_big_ones_their_range():
    loss, w, _ = tensor_loss()
    src = draw(loss).source
    assert "W | {(2, 2) float64 | data\\l[[ 0.5 , -1.  ],\\l [ 2.  ,  0.25]]\\l" in src
    gw = np.array2string(w.grad, precision=4, separator=", ", suppress_small=True)
    assert gw.splitlines()[0] in src
    big = Tensor(np.arange(40.0).reshape(8, 5), requires_grad=True, label="big")
    src = draw((big * 2).sum()).source
    assert "(8, 5) float64 | data in [0.0000, 39.0000] | grad none" in src


def test_a_graph_drawn_twice_gives_the_same_source():
    assert draw(neuron()[0]).source == draw(neuron()[0]).source
    assert draw(tensor_loss()[0]).source == draw(tensor_loss()[0]).source


def test_edges_carry_local_derivatives_so_the_chain_rule_can_be_read_off():
    loss, v = neuron()
    src = draw(loss, show_derivatives=True).source
    index = trace(loss).index()
    w1, x1 = index[v["w1"]], index[v["x1"]]
    # ∂(w1·x1)/∂w1 = x1 = 0.5 and ∂(w1·x1)/∂x1 = w1 = 0.8, on the edges into the same op
    op = re.search(rf"v{w1} -> (o\d+) \[label=0\.5000", src)[1]
    assert re.search(rf"v{x1} -> {op} \[label=0\.8000", src)
    # grad(x1) = grad(w1·x1) · 0.8, every number read from the picture
    out_grad = float(re.search(rf"v{op[1:]} \[label=\"\{{(?:w1·x1 \| )?data \S+ \| grad (\S+)\}}",
                               src)[1])
    x1_grad = float(re.search(rf"v{x1} \[label=\"\{{x1 \| data \S+ \| grad (\S+)\}}", src)[1])
    assert x1_grad == pytest.approx(out_grad * 0.8, abs=1e-4)
    assert "grad(in) = Σ over in's edges of grad(out) · label" in src
    assert not re.search(r"-> o\d+ \[label=", draw(loss).source)


def test_tensor_edges_show_small_jacobians_and_the_size_of_large_ones():
    loss, _, b = tensor_loss()
    src = draw(loss, show_derivatives=True).source
    tr = trace(loss)
    ib = tr.index()[b]
    assert re.search(rf"v{ib} -> o\d+ \[label=\"\[\[1\., 0\.\],\\l \[0\., 1\.\]\]", src)
    x = Tensor(np.ones((4, 5)), requires_grad=True)
    src = draw((x @ np.ones((5, 3))).sum(), show_derivatives=True).source
    assert 'label="J 12×20"' in src


def test_a_graph_freed_by_backward_is_still_drawn_and_says_why_derivatives_are_missing():
    loss, _, _ = tensor_loss(retain=False)
    src = draw(loss, show_derivatives=True).source
    assert "data\\l[[ 0.5 , -1.  ]" in src and "sigmoid" in src
    assert "tooltip=\"saved inputs freed by backward" in src
    assert "op(s) without local derivatives: backward freed their saved inputs" in src
    assert "fontcolor=\"#b45309\"" not in src


def test_clusters_from_a_dict_box_the_listed_nodes():
    loss, v = neuron()
    src = draw(loss, clusters={"layer 1": [v["w1"], v["w2"], v["b"], v["z"]]}).source
    body = src.split("subgraph cluster_0 {", 1)[1].split("}\n", 1)[0]
    assert 'label="layer 1"' in body
    assert body.count("| data ") == 4 and "label=add" in body


def test_a_models_layers_become_clusters_for_tensor_and_scalar_networks():
    import nn

    model = nn.MLP([3, 4, 2], seed=0)
    loss = nn.mse_loss(model(Tensor(np.ones((5, 3)))), Tensor(np.zeros((5, 2))))
    src = draw(loss, clusters=model).source
    for k in (0, 1):
        body = src.split(f"subgraph cluster_{k} {{", 1)[1].split("}\n", 1)[0]
        assert f'label="layer {k + 1} (Linear)"' in body
        assert "weight |" in body and "bias |" in body
    scalar = nn.ScalarMLP([2, 3, 1], seed=0)
    out = scalar([Value(0.5), Value(-1.0)])
    src = draw(out, clusters=scalar).source
    assert src.count("subgraph cluster_") == 2 and 'label="layer 2 (Layer)"' in src


def test_options_are_checked_by_name():
    loss, _ = neuron()
    with pytest.raises(ValueError, match="rankdir must be one of LR, TB, RL, BT, got 'XY'"):
        draw(loss, rankdir="XY")
    with pytest.raises(ValueError, match="max_nodes must be a positive int or None, got 0"):
        draw(loss, max_nodes=0)
    with pytest.raises(ValueError, match="format 'jpeg2' is not one graphviz knows"):
        draw(loss, format="jpeg2")
    with pytest.raises(TypeError, match="got list"):
        draw([loss])
    assert "rankdir=TB" in draw(loss, rankdir="TB").source


def test_user_labels_cannot_break_the_record_syntax():
    a = Value(1.0, label="{a|b} <c> \\ \"q\"")
    src = draw(a * 2).source
    assert '\\{a\\|b\\} \\<c\\> \\\\ \\"q\\"' in src


# ---- big graphs ---------------------------------------------------------------------------

def test_a_20000_node_chain_is_summarised_quickly():
    x = Value(1.0, label="x")
    for _ in range(10_000):
        x = x * 1.0001 + 0.001
    start = time.perf_counter()
    src = draw(x).source
    assert time.perf_counter() - start < 5.0
    assert "×19,999 ops" in src and "mul ×10,000, add ×9,999" in src
    assert "20,001 nodes, more than max_nodes=300: summarised" in src
    assert src.count("shape=record") + src.count("shape=Mrecord") == 3


def test_below_the_limit_or_with_max_nodes_none_every_node_is_drawn():
    x = Value(1.0)
    for _ in range(200):
        x = x * 1.0001
    assert draw(x).source.count("shape=record") == 201
    assert draw(x, max_nodes=100).source.count("shape=record") == 2
    assert draw(x, max_nodes=None).source.count("shape=record") == 201


# ---- rendering ----------------------------------------------------------------------------

def test_png_svg_and_pdf_files_come_from_dot(dot, tmp_path):
    loss, _ = neuron()
    png = render(loss, tmp_path / "n.png", show_derivatives=True)
    assert png.read_bytes().startswith(PNG)
    svg = render(draw(loss), tmp_path / "n", format="svg")
    assert svg.name == "n.svg"
    texts = "".join(svg_root(svg.read_bytes()).itertext())
    assert "x1" in texts and "sigmoid" in texts
    assert render(loss, tmp_path / "n.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.pdf", "n.png", "n.svg"]


def test_a_summarised_network_in_clusters_is_laid_out(dot, tmp_path):
    import nn

    # Without newrank, dot 2.43 put an edge between two clusters' boxes within one rank here
    # and stopped with "lost u1 u4 edge".
    model = nn.ScalarMLP([3, 4, 4, 1], seed=0)
    loss = 0.5 * (model([0.5, -1.0, 2.0]) - 1.0) ** 2
    loss.backward()
    g = draw(loss, clusters=model, max_nodes=40, rankdir="TB")
    assert "newrank=true" in g.source
    texts = "".join(svg_root(render(g, tmp_path / "m.svg").read_bytes()).itertext())
    assert "layer 3 (Layer)" in texts and "leaf ×20" in texts


def test_without_dot_the_error_says_how_to_install_it_and_source_still_works(
        tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    loss, _ = neuron()
    g = draw(loss)
    assert "sigmoid" in g.source
    with pytest.raises(DotNotFoundError, match="apt-get install graphviz") as e:
        render(g, tmp_path / "n.png")
    assert "brew install graphviz" in str(e.value) and ".source" in str(e.value)
    assert not (tmp_path / "n.png").exists()
    assert render(loss, tmp_path / "n.dot").read_text() == g.source


def test_a_dot_failure_is_reported_with_dots_message(dot, tmp_path):
    import graphviz

    g = graphviz.Digraph(body=["a -> {"])  # not valid DOT
    with pytest.raises(RenderError, match=r"dot could not make the svg picture \(.*syntax"):
        render(g, tmp_path / "bad.svg")
    assert not (tmp_path / "bad.svg").exists()


def test_render_refuses_unknown_formats_and_objects():
    loss, _ = neuron()
    with pytest.raises(ValueError, match="choose one of png, svg, pdf, dot"):
        render(loss, "x.gif")
    with pytest.raises(TypeError, match="needs a Value, a Tensor or a Digraph"):
        render("graph", "x.svg")


# ---- Jupyter ------------------------------------------------------------------------------

def test_values_and_tensors_display_their_graph_in_jupyter(dot):
    loss, _ = neuron()
    bundle = loss._repr_mimebundle_()
    assert bundle["text/plain"] == repr(loss)
    svg_root(bundle["image/svg+xml"])
    bundle = tensor_loss()[0]._repr_mimebundle_()
    assert "sigmoid" in bundle["image/svg+xml"]


def test_jupyter_falls_back_to_text_without_dot(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    loss, _ = neuron()
    assert loss._repr_mimebundle_() == {"text/plain": repr(loss)}


# ---- backward, frame by frame ------------------------------------------------------------

def _grad_fields(src: str) -> list[str]:
    return re.findall(r"\| (grad [^|}]*)\}", src)


def test_frames_reveal_gradients_in_toposort_order_without_touching_the_graph():
    loss, _ = neuron()
    grads_before = {id(n): n.grad for n in trace(loss).nodes}
    tr = trace(loss)
    index = tr.index()
    order = [index[n] for n in toposort(loss)]
    graphs = frame_graphs(loss)
    assert len(graphs) == len(tr.nodes) + 1
    assert _grad_fields(graphs[0].source) == ["grad ?"] * len(tr.nodes)
    for k, g in enumerate(graphs):
        for j, i in enumerate(order):
            field = re.search(rf"v{i} \[label=\"\{{[^\n]*?\| (grad [^|}}]*)\}}", g.source)[1]
            node = tr.nodes[i]
            assert field == ("grad ?" if j >= k else f"grad {node.grad:.4f}"), (k, j)
        if k:
            assert f'v{order[k - 1]} [label' in g.source
            assert re.search(rf'v{order[k - 1]} \[[^\n]*fillcolor="#fdba74"', g.source)
    assert {id(n): n.grad for n in trace(loss).nodes} == grads_before


def test_frames_of_a_tensor_graph_show_every_gradient_and_keep_it_usable():
    loss, w, _ = tensor_loss(retain=True)
    w_grad = w.grad.copy()
    last = frame_graphs(loss)[-1].source
    assert "grad ?" not in last and "grad none" not in last
    assert np.array2string(w.grad, precision=4, separator=", ",
                           suppress_small=True).splitlines()[0] in last
    loss.backward()  # the graph was not consumed: gradients accumulate once more
    np.testing.assert_allclose(w.grad, 2 * w_grad)


def test_frames_refuse_a_graph_too_big_to_draw_every_node():
    x = Value(1.0)
    for _ in range(50):
        x = x * 2.0
    with pytest.raises(ValueError, match="this graph has 51 nodes, more than max_nodes=20"):
        frame_graphs(x, max_nodes=20)


def test_backward_frames_writes_numbered_pictures_and_a_gif(dot, tmp_path):
    pytest.importorskip("PIL", reason="the animated GIF needs Pillow")
    x, y = Value(0.5, label="x"), Value(-2.0, label="y")
    out = (x * y).tanh()
    (tmp_path / "frame-099.png").write_bytes(b"old")
    files = backward_frames(out, tmp_path, gif=True, show_derivatives=True)
    assert [p.name for p in files.frames] == [f"frame-{k:03d}.png" for k in range(5)]
    assert all(p.read_bytes().startswith(PNG) for p in files.frames)
    assert not (tmp_path / "frame-099.png").exists()
    assert files.gif.read_bytes()[:6] == b"GIF89a"
    from PIL import Image

    with Image.open(files.gif) as im:
        assert im.n_frames == 5
    sizes = set()
    for p in files.frames:
        with Image.open(p) as im:
            sizes.add(im.size)
    assert len(sizes) == 1  # node sizes are pinned: the frames line up
    loss, _ = neuron()
    svgs = backward_frames(loss, tmp_path / "svg", format="svg").frames
    assert len(svgs) == len(trace(loss).nodes) + 1
    svg_root(svgs[-1].read_bytes())


def test_a_gif_without_pillow_says_how_to_get_it_after_writing_the_frames(
        dot, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    x = Value(2.0, label="x")
    with pytest.raises(RuntimeError, match=r"needs Pillow.*pip install pillow"):
        backward_frames(x * x, tmp_path, gif=True)
    assert len(list(tmp_path.glob("frame-*.png"))) == 3
    with pytest.raises(ValueError, match="made from PNG frames"):
        backward_frames(x * x, tmp_path, format="svg", gif=True)


# ---- the conftest helper that decides whether picture tests run -------------------------

def test_dot_tests_skip_without_dot_unless_it_is_required(monkeypatch, request):
    from tests import conftest

    monkeypatch.setattr(conftest.shutil, "which", lambda name: None)
    monkeypatch.delenv(conftest.REQUIRE_DOT, raising=False)
    with pytest.raises(pytest.skip.Exception, match="graphviz 'dot' not installed"):
        conftest.dot_or_skip()
    monkeypatch.setenv(conftest.REQUIRE_DOT, "1")
    with pytest.raises(pytest.fail.Exception, match="DELTAGRAD_REQUIRE_DOT=1 requires it"):
        conftest.dot_or_skip()
