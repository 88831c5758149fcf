"""Pictures of computation graphs, built up in steps that each need less than the next.

`trace` lists a graph's nodes and edges (plain lists, no graphviz), `summary` decides which
nodes a big picture draws as one box, `local` computes the local derivatives and gradients a
picture shows, `labels` writes the text, `render` builds the graphviz picture and writes files,
`frames` draws the backward pass step by step.

The package itself can be called as `draw`: `from autograd import draw; draw(root)`. The
functions `render` and `trace` are exported under their modules' names, so
`from autograd.draw import render` gives the function (import the module as
`autograd.draw.render` through `importlib.import_module` if you need it).
"""

from autograd._modules import make_callable
from autograd.draw.frames import FrameFiles, backward_frames, frame_graphs
from autograd.draw.render import (
    DEFAULT_MAX_NODES,
    DotNotFoundError,
    RenderError,
    draw,
    pipe,
    render,
)
from autograd.draw.trace import Trace, trace

__all__ = [
    "DEFAULT_MAX_NODES", "DotNotFoundError", "FrameFiles", "RenderError", "Trace",
    "backward_frames", "draw", "frame_graphs", "pipe", "render", "trace",
]

make_callable(__name__, draw)
