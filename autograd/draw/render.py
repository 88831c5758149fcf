"""Pictures of computation graphs: values, gradients, shapes and the chain rule on the edges.

`draw(root)` returns a `graphviz.Digraph`; its `.source` is the DOT text (no system program
needed) and `render(...)` (or graphviz's own `.render`) turns it into PNG, SVG or PDF with the
system `dot`. Every value node is a record (label | data | grad; for a Tensor, its shape and
dtype, and the entries of small arrays); every op is a small ellipse between its inputs and
its output. `mimebundle` is the Jupyter display Value and Tensor call: in a notebook, a node
shows its graph (or its text when `dot` is missing).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograd.draw.labels import (
    array_text,
    box_fields,
    caption_text,
    number,
    op_text,
    record_label,
    value_fields,
)
from autograd.draw.local import freed, jacobian_of, scalar_partials
from autograd.draw.summary import Summary, summarise
from autograd.draw.trace import Trace, cluster_of, trace
from autograd.files import check_target, write_bytes
from autograd.graph import Node

if TYPE_CHECKING:
    import graphviz

DEFAULT_MAX_NODES = 300
RANKDIRS = ("LR", "TB", "RL", "BT")
RENDER_FORMATS = ("png", "svg", "pdf", "dot")
INSTALL_DOT = (
    "graphviz's 'dot' program was not found on PATH; it turns the picture into PNG, SVG or "
    "PDF. Install it with 'sudo apt-get install graphviz' (Debian, Ubuntu), 'brew install "
    "graphviz' (macOS) or 'conda install -c conda-forge graphviz'. Without it, the Digraph's "
    ".source still gives the DOT text, and render(..., format='dot') writes it to a file.")

_COLORS = {"leaf": "#dbeafe", "root": "#fde68a", "node": "white", "box": "#f3f4f6",
           "done": "#dcfce7", "newest": "#fdba74", "waiting": "#f3f4f6"}


class RenderError(RuntimeError):
    """A picture could not be made from the DOT text (which `.source` still gives)."""


class DotNotFoundError(RenderError):
    """The system graphviz program `dot` is missing; the message says how to install it."""


class Frame:
    """What one frame of the backward pass shows: `grads` for every node, revealed only for
    the nodes in `shown`; `newest` is the node that has just received its gradient. `sizes`
    (node name -> (width, height) in inches) pins each node's size, so that every frame has
    the same layout however long its gradients' text is."""

    def __init__(self, grads: list[Any], shown: frozenset[int], newest: int | None,
                 caption: str, sizes: dict[str, tuple[str, str]] | None = None) -> None:
        self.grads = grads
        self.shown = shown
        self.newest = newest
        self.caption = caption
        self.sizes = sizes or {}


def draw(root: Node, *, rankdir: str = "LR", show_derivatives: bool = False,
         clusters: Any = None, max_nodes: int | None = DEFAULT_MAX_NODES,
         format: str = "svg") -> graphviz.Digraph:
    """The graph that computed `root`, as a graphviz Digraph (`.source` is its DOT text).

    show_derivatives: label each edge input → op with the local derivative ∂out/∂in (a
      number for Values; the Jacobian for small Tensors, its size otherwise), so that
      grad(in) = Σ over in's edges of grad(out) · label.
    clusters: None; {name: [nodes]} to box those nodes together; or a model (with `.layers`
      or `.named_parameters()`) to box each layer's parameters with the ops that use them.
    max_nodes: above this many nodes the picture is summarised (single-use ops fused, then
      grouped by op) and the caption says how; None draws every node.
    format: the output format `.render()` and `.pipe()` use by default.

    >>> from autograd import Value
    >>> a = Value(2.0, label="a"); b = (a * a).tanh(); b.label = "b"
    >>> "tanh" in draw(b).source
    True
    """
    check_options(rankdir, max_nodes, format)
    tr = trace(root)
    where, names = cluster_of(tr, clusters)
    plan = summarise(tr, max_nodes, where)
    return build(tr, plan, where, names, rankdir=rankdir, show_derivatives=show_derivatives,
                 format=format)


def check_options(rankdir: str, max_nodes: int | None, fmt: str) -> None:
    import graphviz

    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 1):
        raise ValueError(f"max_nodes must be a positive int or None, got {max_nodes!r}")
    if fmt not in graphviz.FORMATS:
        raise ValueError(f"format {fmt!r} is not one graphviz knows; use png, svg or pdf")


def build(tr: Trace, plan: Summary, where: list[int], names: list[str], *,
          rankdir: str = "LR", show_derivatives: bool = False, format: str = "svg",
          frame: Frame | None = None) -> graphviz.Digraph:
    """The Digraph of a traced graph drawn unit by unit (see autograd.draw.summary)."""
    return _Builder(tr, plan, where, show_derivatives, frame).digraph(names, rankdir, format)


class _Builder:
    """Turns a trace and its summary into DOT statements, in the trace's order."""

    def __init__(self, tr: Trace, plan: Summary, where: list[int], show_derivatives: bool,
                 frame: Frame | None) -> None:
        self.tr, self.plan, self.where = tr, plan, where
        self.derivatives = show_derivatives
        self.frame = frame
        self.notes = list(plan.notes)
        self.freed = 0
        self.failed: list[str] = []
        self.partials: dict[int, tuple[Any, ...]] = {}

    def digraph(self, names: list[str], rankdir: str, fmt: str) -> graphviz.Digraph:
        import graphviz

        g = graphviz.Digraph("deltagrad", format=fmt)
        # newrank: rank the whole graph at once, so no edge between clusters ends up within
        # one rank (dot 2.43 cannot draw such a flat edge next to a record and gives up).
        g.attr(rankdir=rankdir, newrank="true", fontname="Helvetica", fontsize="11",
               labelloc="b", labeljust="l", nodesep="0.25", ranksep="0.35")
        g.attr("node", fontname="Helvetica", fontsize="10", margin="0.08,0.04")
        g.attr("edge", fontname="Helvetica", fontsize="9", arrowsize="0.6", color="#555555")
        by_cluster: dict[int, list[int]] = {}
        for u, members in enumerate(self.plan.members):
            by_cluster.setdefault(self.where[members[0]], []).append(u)
        for u in by_cluster.pop(-1, []):
            self._unit(g, u)
        for k, units in sorted(by_cluster.items()):
            with g.subgraph(name=f"cluster_{k}") as s:
                s.attr(label=graphviz.nohtml(names[k]), style="rounded,dashed",
                       color="#6b7280", labeljust="l", labelloc="t")
                for u in units:
                    self._unit(s, u)
        self._edges(g)
        caption = self._caption()
        if caption:
            g.attr(label=graphviz.nohtml(caption))
        return g

    # ---- nodes ----

    def _unit(self, g: graphviz.Digraph, u: int) -> None:
        members = self.plan.members[u]
        if len(members) > 1:
            self._box(g, u, members)
            return
        i = members[0]
        node = self.tr.nodes[i]
        g.node(f"v{i}", _nohtml(record_label(value_fields(node, *self._grad(i)))), shape="record",
               style="filled", fillcolor=self._fill(i), **self._font(i))
        if node._op is not None:
            self._op(g, i, node)

    def _op(self, g: graphviz.Digraph, i: int, node: Node) -> None:
        tip = (node._op.vjp.__doc__ or node.op).strip().splitlines()[0]
        if freed(node):
            tip = "saved inputs freed by backward: no local derivatives (retain_graph=True)"
        g.node(f"o{i}", _nohtml(op_text(node)), shape="ellipse", style="filled",
               fillcolor="#eeeeee", fontsize="9", height="0.3", margin="0.04,0.02",
               tooltip=_nohtml(tip))
        g.edge(f"o{i}", f"v{i}")

    def _box(self, g: graphviz.Digraph, u: int, members: list[int]) -> None:
        fields = box_fields(self.tr, members, self.plan.fused[u])
        g.node(f"u{u}", _nohtml(record_label(fields)), shape="Mrecord", style="filled,dashed",
               fillcolor=_COLORS["box"])

    def _grad(self, i: int) -> tuple[Any, bool]:
        """(gradient to show, whether it is still hidden) for node i."""
        f = self.frame
        if f is None:
            return self.tr.nodes[i].grad, False
        return f.grads[i], i not in f.shown

    def _fill(self, i: int) -> str:
        f = self.frame
        if f is not None:
            return _COLORS["newest" if i == f.newest else "done" if i in f.shown
                           else "waiting"]
        if i == self.tr.root:
            return _COLORS["root"]
        return _COLORS["leaf" if self.tr.nodes[i]._op is None else "node"]

    def _font(self, i: int) -> dict[str, str]:
        f = self.frame
        if f is None:
            return {}
        attrs = {"fontcolor": "#6b7280", "color": "#9ca3af"} if i not in f.shown else {}
        size = f.sizes.get(f"v{i}")
        if size is not None:
            attrs.update(width=size[0], height=size[1])
        return attrs

    # ---- edges ----

    def _edges(self, g: graphviz.Digraph) -> None:
        unit_of, members = self.plan.unit_of, self.plan.members
        grouped: dict[tuple[str, str], int] = {}
        for p, c, slot in self.tr.edges:
            up, uc = unit_of[p], unit_of[c]
            if up == uc and len(members[up]) > 1:
                continue  # inside one box
            src = f"v{p}" if len(members[up]) == 1 else f"u{up}"
            dst = f"o{c}" if len(members[uc]) == 1 else f"u{uc}"
            if src[0] == "v" and dst[0] == "o":
                g.edge(src, dst, **self._derivative(p, c, slot))
            else:
                grouped[src, dst] = grouped.get((src, dst), 0) + 1
        for (src, dst), n in grouped.items():
            g.edge(src, dst, **({"label": f"×{n:,}"} if n > 1 else {}))

    def _derivative(self, p: int, c: int, slot: int) -> dict[str, str]:
        """The edge label ∂out/∂in for input slot `slot` of node c (empty when off)."""
        if not self.derivatives:
            return {}
        node = self.tr.nodes[c]
        if freed(node):
            if c not in self.partials:
                self.partials[c] = ()
                self.freed += 1
            return {}
        try:
            text = self._local(node, c, slot)
        except (ArithmeticError, ValueError, TypeError, RuntimeError) as e:
            self.failed.append(f"{node.op}: {e}")
            return {}
        return {"label": _nohtml(text), "fontcolor": "#b45309"}

    def _local(self, node: Node, c: int, slot: int) -> str:
        if not node._shaped:
            if c not in self.partials:
                self.partials[c] = scalar_partials(node)
            return number(self.partials[c][slot])
        jac = jacobian_of(node, slot)
        if jac is not None:
            return array_text(jac)
        m, n = node.data.size, node._parents[slot].data.size
        return f"J {m:,}×{n:,}"

    # ---- caption ----

    def _caption(self) -> str:
        lines = list(self.notes)
        if self.derivatives:
            lines.append("edge labels: local derivative ∂out/∂in; "
                         "grad(in) = Σ over in's edges of grad(out) · label")
            if self.freed:
                lines.append(f"{self.freed} op(s) without local derivatives: backward freed "
                             "their saved inputs (call backward with retain_graph=True)")
            lines += [f"no local derivative for {f}" for f in self.failed[:3]]
        if self.frame is not None:
            lines.append(self.frame.caption)
        return caption_text(lines)


def _nohtml(text: str) -> str:
    import graphviz

    return graphviz.nohtml(text)


# ---- rendering ---------------------------------------------------------------------------

def render(graph: Node | graphviz.Digraph, path: str | os.PathLike, *,
           format: str | None = None, **options: Any) -> Path:
    """Write a picture of `graph` (a Value, a Tensor or a Digraph from draw) to `path`.

    The format comes from `format` or the file's suffix (png, svg, pdf; dot writes the DOT
    text and needs no graphviz program). `options` go to draw. The file is written whole or
    not at all. Returns the path written.
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".") or "svg").lower()
    if fmt not in RENDER_FORMATS:
        raise ValueError(f"cannot render {str(path)!r} as {fmt!r}: choose one of "
                         f"{', '.join(RENDER_FORMATS)}")
    if not path.suffix:
        path = path.with_suffix(f".{fmt}")
    if isinstance(graph, Node):
        graph = draw(graph, **options)
    elif not hasattr(graph, "pipe") or options:
        raise TypeError(f"render needs a Value, a Tensor or a Digraph (with no draw options), "
                        f"got {type(graph).__name__}")
    _make_folder(path)
    check_target(path)  # a folder, FIFO or device is refused before dot runs
    data = graph.source.encode() if fmt == "dot" else pipe(graph, fmt)
    write_atomic(path, data)
    return path


def pipe(graph: graphviz.Digraph, fmt: str) -> bytes:
    """The picture's bytes from the system `dot`: DotNotFoundError says how to get it, and a
    RenderError carries dot's own complaint."""
    import graphviz

    try:
        return graph.pipe(format=fmt, quiet=True)  # dot's warnings stay out of stderr
    except graphviz.ExecutableNotFound:
        raise DotNotFoundError(INSTALL_DOT) from None
    except graphviz.CalledProcessError as e:
        said = (e.stderr or b"").decode(errors="replace").strip().splitlines()
        raise RenderError(f"graphviz's dot could not make the {fmt} picture ("
                          f"{said[-1] if said else f'exit status {e.returncode}'}); the DOT "
                          "text is in the Digraph's .source") from None


def write_atomic(path: Path, data: bytes) -> None:
    """Write data to path with the package's one writer (autograd.files), creating missing
    folders first: whole or not at all, through symlinks, keeping the file's mode."""
    _make_folder(path)
    write_bytes(path, data)


def _make_folder(path: Path) -> None:
    """The folder of a picture, created when missing; an OSError naming path otherwise."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(e.errno, f"cannot save {path}: {e.strerror or e}") from None


# ---- Jupyter -----------------------------------------------------------------------------

def mimebundle(node: Node) -> dict[str, str]:
    """Jupyter's rich display of a Value or Tensor: its graph as SVG, and its repr as text.

    Only the text when the picture cannot be made (no `dot`): a display hook must never
    hide the value itself.
    """
    bundle = {"text/plain": repr(node)}
    with contextlib.suppress(Exception):
        bundle["image/svg+xml"] = draw(node).pipe(format="svg", encoding="utf-8", quiet=True)
    return bundle
