"""The backward pass, frame by frame: gradients arriving in reverse topological order.

Frame 0 shows the forward pass (values, no gradients); frame k shows the gradients of the
first k nodes of `autograd.graph.toposort(root)`: the root first, then each node once every
op that used it has passed its share back. The gradients are computed once from the rules
(autograd.draw.local.node_grads) and revealed step by step, so the user's graph is left exactly
as it was: no `.grad` changes, no saved inputs freed, backward can still be called on it.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from autograd.draw.labels import label_text
from autograd.draw.local import node_grads
from autograd.draw.render import DEFAULT_MAX_NODES, Frame, build, check_options, pipe, write_atomic
from autograd.draw.summary import one_per_node
from autograd.draw.trace import cluster_of, trace
from autograd.files import write_file
from autograd.graph import Node, toposort

if TYPE_CHECKING:
    import graphviz

FRAME_FORMATS = ("png", "svg", "pdf")
_NEEDS_PILLOW = ("an animated GIF needs Pillow, which deltagrad does not depend on: "
                 "pip install pillow")


class FrameFiles(NamedTuple):
    """What backward_frames wrote: the frames in order, and the GIF (None when not asked)."""

    frames: list[Path]
    gif: Path | None


def frame_graphs(root: Node, *, rankdir: str = "LR", show_derivatives: bool = False,
                 clusters: Any = None, max_nodes: int | None = DEFAULT_MAX_NODES,
                 format: str = "png", sizes: dict[str, tuple[str, str]] | None = None
                 ) -> list[graphviz.Digraph]:
    """One Digraph per step of the backward pass from `root` (a Value or one-entry Tensor).

    Options are draw's; `sizes` pins node sizes (see node_sizes). Every node is drawn, so a
    graph above max_nodes is refused.
    """
    check_options(rankdir, max_nodes, format)
    tr = trace(root)
    n = len(tr.nodes)
    if max_nodes is not None and n > max_nodes:
        raise ValueError(f"backward frames draw every node: this graph has {n:,} nodes, more "
                         f"than max_nodes={max_nodes:,}; raise max_nodes or draw a smaller "
                         "graph")
    grads = node_grads(tr)
    index = tr.index()
    order = [index[node] for node in toposort(root)]
    where, names = cluster_of(tr, clusters)
    plan = one_per_node(tr)
    graphs = []
    for k in range(n + 1):
        frame = Frame(grads, frozenset(order[:k]), order[k - 1] if k else None,
                      _caption(tr, order, k), sizes)
        graphs.append(build(tr, plan, where, names, rankdir=rankdir, format=format,
                            show_derivatives=show_derivatives, frame=frame))
    return graphs


def _caption(tr: Any, order: list[int], k: int) -> str:
    n = len(order)
    if k == 0:
        return (f"frame 0 of {n}: the forward pass has computed every value; "
                "backward starts at the root with grad 1")
    node = tr.nodes[order[k - 1]]
    name = label_text(node.label) if node.label else (
        f"the {node.op} node" if node.op else "a leaf")
    what = "the root: grad 1" if k == 1 else f"{name} has its gradient"
    return (f"frame {k} of {n}: {what} (orange); green: gradient known; "
            "grey: waiting for the ops that use it")


def backward_frames(root: Node, folder: str | os.PathLike, *, format: str = "png",
                    gif: bool | str | os.PathLike = False, duration_ms: int = 800,
                    **options: Any) -> FrameFiles:
    """Write the backward pass from `root` as numbered pictures frame-000.<format>, … in
    `folder`, and with `gif` (True, or a path) an animated GIF of the PNG frames.

    Options are draw's (show_derivatives, rankdir, clusters, max_nodes). Needs graphviz's
    `dot`; the GIF also needs Pillow (not a dependency of deltagrad): without it, the frames
    are written and a RuntimeError says how to get the GIF.
    """
    if format not in FRAME_FORMATS:
        raise ValueError(f"frame format must be one of {', '.join(FRAME_FORMATS)}, "
                         f"got {format!r}")
    if gif and format != "png":
        raise ValueError(f"an animated GIF is made from PNG frames; got format={format!r}")
    folder = Path(folder)
    # Lay out the last frame, where every gradient is showing, and give each frame its node
    # sizes: the pictures then line up exactly and the GIF does not jump.
    sizes = node_sizes(frame_graphs(root, format=format, **options)[-1])
    graphs = frame_graphs(root, format=format, sizes=sizes, **options)
    paths = [folder / f"frame-{k:03d}.{format}" for k in range(len(graphs))]
    # Each frame is a separate `dot` process: run them side by side.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for path, data in zip(paths, pool.map(lambda g: pipe(g, format), graphs)):
            write_atomic(path, data)
    _remove_stale(folder, format, len(paths))
    if not gif:
        return FrameFiles(paths, None)
    target = folder / "backward.gif" if gif is True else Path(gif)
    write_gif(paths, target, duration_ms)
    return FrameFiles(paths, target)


def node_sizes(graph: graphviz.Digraph) -> dict[str, tuple[str, str]]:
    """Each node's (width, height) in inches as `dot` lays the graph out."""
    layout = json.loads(pipe(graph, "json"))
    return {o["name"]: (o["width"], o["height"]) for o in layout.get("objects", [])
            if "width" in o}


def _remove_stale(folder: Path, fmt: str, count: int) -> None:
    """Delete frames left over from an earlier, longer run, so the folder holds one sequence."""
    pattern = re.compile(rf"frame-(\d{{3,}})\.{fmt}")
    for p in folder.iterdir():
        m = pattern.fullmatch(p.name)
        if m and int(m.group(1)) >= count:
            p.unlink()


def _rgb(image_module: Any, path: Path) -> Any:
    """The PNG at path as an RGB image, its file closed (Image.open keeps it open)."""
    with image_module.open(path) as im:
        return im.convert("RGB")


def write_gif(pngs: list[Path], target: Path, duration_ms: int = 800) -> Path:
    """An animated GIF of the PNG frames, each centred on a canvas as large as the largest;
    the last frame stays three times as long. Needs Pillow."""
    try:
        from PIL import Image
    except ImportError:
        raise RuntimeError(f"{_NEEDS_PILLOW}; the {len(pngs)} PNG frames are in "
                           f"{pngs[0].parent if pngs else target.parent}") from None
    images = [_rgb(Image, p) for p in pngs]
    width = max(im.width for im in images)
    height = max(im.height for im in images)
    # One palette for all frames, from the last (every colour is on it): GIF frames are
    # paletted, and quantising each large frame on its own takes seconds.
    palette = images[-1].quantize(colors=64, method=Image.Quantize.FASTOCTREE)
    frames = []
    for im in images:
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(im, ((width - im.width) // 2, (height - im.height) // 2))
        frames.append(canvas.quantize(palette=palette, dither=Image.Dither.NONE))
    durations = [duration_ms] * (len(frames) - 1) + [3 * duration_ms]
    target.parent.mkdir(parents=True, exist_ok=True)
    write_file(target, lambda f: frames[0].save(f, format="GIF", save_all=True,
                                                append_images=frames[1:], duration=durations,
                                                loop=0))
    return target
