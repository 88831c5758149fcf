"""`deltagrad draw`: pictures of the document's single neuron and of a small MLP's loss graph.

The neuron is section 4.1's: z = Σ wᵢxᵢ + b, a = σ(z), with the quadratic loss
L = ½(a − y)², built from Values so every number is on the picture. The MLP is a 2-layer
sigmoid network on Tensors, z¹ = W¹x + b¹, a¹ = σ(z¹), z² = W²a¹ + b², a² = σ(z²),
L = ½‖a² − y‖², with weights (out, in) as in the document and one box per layer. Both are
backpropagated once, so the pictures show gradients too.
"""

from __future__ import annotations

import argparse
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from nn import cli
from nn.cli import CommandError

WHAT = ("neuron", "mlp", "all")
FORMATS = ("png", "svg", "pdf")
MAX_PARAMS = 10_000


def register(subparsers: Any) -> None:
    """Add the `draw` subcommand."""
    p = subparsers.add_parser(
        "draw", help="render the single neuron's and a small MLP's graphs as images",
        description="Render the computation graph of the document's single neuron "
                    "(section 4.1) and of a small MLP's loss, with values and gradients, to "
                    "image files. Needs graphviz's 'dot' program.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--what", choices=WHAT, default="all", help="which graph to draw")
    p.add_argument("--out", metavar="DIR", default="graphs", help="folder for the images")
    p.add_argument("--format", choices=FORMATS, default="png", help="image format")
    p.add_argument("--rankdir", choices=("LR", "TB"), default="LR",
                   help="layout: left to right, or top to bottom (reads best on a page)")
    p.add_argument("--derivatives", action="store_true",
                   help="label each edge with its local derivative ∂out/∂in")
    p.add_argument("--frames", action="store_true",
                   help="also draw the backward pass step by step, one image per step, and "
                        "an animated GIF when the format is png and Pillow is installed")
    p.add_argument("--sizes", default="2,3,1", help="the MLP's layer widths, comma-separated")
    p.add_argument("--seed", type=int, default=0, help="seeds the MLP's weights and input")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Draw the chosen graphs into args.out and print each file written."""
    from autograd.draw import RenderError

    cli.check_seed(args.seed)
    sizes = None
    if args.what in ("mlp", "all"):
        sizes = cli.parse_sizes(args.sizes, "2,3,1", MAX_PARAMS,
                                "a picture of more is unreadable and slow to lay out")
    out = _folder(args.out)  # only once every option is known to be good
    graphs = {}
    if args.what in ("neuron", "all"):
        graphs["neuron"] = (neuron_loss(), None)
    if sizes is not None:
        graphs["mlp"] = mlp_loss(sizes, args.seed)
    try:
        for name, (loss, clusters) in graphs.items():
            _draw_one(name, loss, clusters, out, args)
    except RenderError as e:  # dot missing, or dot failing
        raise CommandError(str(e)) from None
    return 0


def _folder(text: str) -> Path:
    """The --out folder, created when missing; a CommandError when it cannot be."""
    out = Path(text)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {str(out)!r} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CommandError(f"--out {str(out)!r}: cannot create the folder "
                           f"({e.strerror or e})") from None
    return out


def _draw_one(name: str, loss: Any, clusters: Any, out: Path,
              args: argparse.Namespace) -> None:
    from autograd.draw import backward_frames, render

    options = dict(show_derivatives=args.derivatives, clusters=clusters, rankdir=args.rankdir)
    path = render(loss, out / f"{name}.{args.format}", **options)
    print(f"wrote {path}")
    if not args.frames:
        return
    gif = args.format == "png" and _has_pillow()
    files = backward_frames(loss, out / f"{name}-frames", format=args.format, gif=gif,
                            **options)
    print(f"wrote {len(files.frames)} frames of the backward pass to "
          f"{files.frames[0].parent}")
    if files.gif is not None:
        print(f"wrote {files.gif}")
    elif args.format == "png":
        print("no animated GIF: it needs Pillow, which deltagrad does not depend on "
              "(pip install pillow)")


def _has_pillow() -> bool:
    try:
        import PIL  # noqa: F401
    except ImportError:
        return False
    return True




def neuron_loss() -> Any:
    """Section 4.1's neuron after backward (nn.scalar.document_neuron): every node carries its
    gradient."""
    from nn.scalar import document_neuron

    return document_neuron()[0]


def mlp_loss(sizes: list[int], seed: int = 0) -> tuple[Any, dict[str, list[Any]]]:
    """An MLP's quadratic loss on one random example, after a backward that keeps every node's
    gradient and the graph (so local derivatives can still be drawn), and its layers as
    clusters for draw."""
    from autograd import Tensor, trace

    rng = np.random.default_rng(seed)
    a = Tensor(rng.uniform(0, 1, sizes[0]), requires_grad=True, label="x")
    y = np.eye(sizes[-1])[0]
    clusters = {}
    for k, (n_in, n_out) in enumerate(pairwise(sizes), start=1):
        w = Tensor(rng.standard_normal((n_out, n_in)), requires_grad=True, label=f"W{k}")
        b = Tensor(rng.standard_normal(n_out), requires_grad=True, label=f"b{k}")
        wa = w @ a
        z = wa + b
        a = z.sigmoid()
        z.label, a.label = f"z{k}", f"a{k}"
        clusters[f"layer {k}"] = [w, b, wa, z, a]
    loss = 0.5 * ((a - y) ** 2).sum()
    loss.label = "L"
    for node in trace(loss).nodes:
        node.retain_grad()  # Tensors keep only the leaves' gradients unless asked
    loss.backward(retain_graph=True)
    return loss, clusters
