"""Pictures of backpropagation: the chain rule, read off a graph.

Four pictures, written to a folder (default ./graphs):

1. neuron.png — the tutorial's single neuron (section 4.1), z = w₁x₁ + w₂x₂ + b, a = σ(z),
   L = ½(a − y)², with every value, every gradient, and on each edge the local derivative
   ∂out/∂in. Pick any node: its grad is the sum, over its outgoing edges, of the grad of the
   op's output times the number on the edge. That is the chain rule, and all backward does.
2. scalar_mlp.png — a 3-4-4-1 network of Neurons (nn.ScalarMLP), one node per number,
   grouped by layer. It has more nodes than max_nodes, so the picture summarises it: each
   box stands for several nodes and says which.
3. mlp.png — the same network on Tensors (nn.MLP): one node per layer, shapes and values.
4. neuron-frames/ — the neuron's backward pass frame by frame: gradients arrive from the loss
   back to the inputs in reverse topological order (and neuron_backward.gif, with Pillow).

Needs graphviz's `dot` (apt-get install graphviz, brew install graphviz). Without it the
script prints the DOT text instead, which https://dreampuf.github.io/GraphvizOnline renders.

    python examples/draw_graphs.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nn
from autograd import Tensor, Value, draw, trace
from autograd.draw import DotNotFoundError, render
from autograd.draw.frames import backward_frames
from nn.scalar import document_neuron


def single_neuron() -> Value:
    """Section 4.1's neuron on two inputs with target y = 1, after backward."""
    return document_neuron()[0]


def check_chain_rule(loss: Value) -> None:
    """Print dL/dw1 as backward found it and as the picture's edges give it."""
    nodes = {n.label: n for n in trace(loss).nodes}
    a, x1, w1 = nodes["a"], nodes["x1"], nodes["w1"]
    by_hand = (a.data - 1.0) * a.data * (1 - a.data) * x1.data  # dL/da · σ′(z) · x1
    print(f"dL/dw1: backward {w1.grad:.6f}, chain rule by hand {by_hand:.6f}")


def scalar_mlp() -> tuple[Value, nn.ScalarMLP]:
    model = nn.ScalarMLP([3, 4, 4, 1], seed=0)
    x = [Value(v, label=f"x{i + 1}") for i, v in enumerate([0.5, -1.0, 2.0])]
    loss = 0.5 * (model(x) - 1.0) ** 2
    loss.label = "L"
    loss.backward()
    return loss, model


def tensor_mlp() -> tuple[Tensor, nn.MLP]:
    model = nn.MLP([3, 4, 4, 1], seed=0)
    loss = nn.mse_loss(model(Tensor([[0.5, -1.0, 2.0]])), Tensor([[1.0]]))
    loss.backward()
    return loss, model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="graphs", help="folder for the pictures (graphs)")
    parser.add_argument("--no-frames", action="store_true", help="skip the backward frames")
    args = parser.parse_args(argv)
    out = Path(args.out)
    neuron = single_neuron()
    check_chain_rule(neuron)
    loss, model = scalar_mlp()
    tloss, tmodel = tensor_mlp()
    # Top to bottom reads best on a page; the default, rankdir="LR", suits a wide screen.
    try:
        print("wrote", render(neuron, out / "neuron.png", show_derivatives=True, rankdir="TB"))
        print("wrote", render(loss, out / "scalar_mlp.png", clusters=model, max_nodes=40,
                              rankdir="TB"))
        print("wrote", render(tloss, out / "mlp.png", clusters=tmodel, rankdir="TB"))
    except DotNotFoundError as e:
        print(e, "\n\nThe neuron's graph in DOT:\n")
        print(draw(neuron, show_derivatives=True).source)
        return 1
    if args.no_frames:
        return 0
    try:
        files = backward_frames(neuron, out / "neuron-frames", rankdir="TB",
                                gif=out / "neuron_backward.gif")
        print(f"wrote {len(files.frames)} frames and {files.gif}")
    except RuntimeError as e:  # no Pillow: the PNG frames are there, the GIF is not
        print(e)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
