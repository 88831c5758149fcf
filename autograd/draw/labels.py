"""The text inside a graph picture: numbers, arrays, record fields, op names and captions.

Everything returned here is ready for graphviz: user text is escaped for record labels, and
multi-line text ends each line with DOT's left-justifying line break `\\l`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd.draw.summary import op_counts
from autograd.draw.trace import Trace
from autograd.graph import PARENT_DATA, Node

# Arrays up to this many entries are written out in full; larger ones by their range.
SMALL_ARRAY = 12
# Longer labels are cut (with an ellipsis): a label is a name, and the box should stay small.
MAX_LABEL = 40
_RECORD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\{}|<>"})
_LINE = "\\l"


def escape(text: str) -> str:
    """`text` safe inside a record label (braces, bars and angle brackets are structure)."""
    return text.translate(_RECORD_SPECIAL)


def label_text(label: Any) -> str:
    """A node's label as one line of plain text: str(label), control characters (NUL, new
    lines, ...) written as escapes, and shortened with an ellipsis past MAX_LABEL characters."""
    text = label if isinstance(label, str) else str(label)
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


def number(x: Any) -> str:
    """A float in at most ten characters: fixed point in [1e-3, 1e4), scientific outside."""
    x = float(x.data if isinstance(x, Node) else x)
    if x == 0.0 or not math.isfinite(x) or 1e-3 <= abs(x) < 1e4:
        return f"{x:.4f}" if math.isfinite(x) else str(x)
    return f"{x:.3e}"


def array_text(a: Any) -> str:
    """A small array written out, one line per row, each line left-justified."""
    text = np.array2string(np.asarray(a), precision=4, separator=", ", suppress_small=True,
                           max_line_width=48)
    return _LINE.join(escape(line) for line in text.splitlines()) + _LINE


def record_label(fields: list[str]) -> str:
    """A record label from already escaped fields, drawn side by side in a left-right graph."""
    return "{" + " | ".join(fields) + "}"  # nested, a record turns its fields by 90°


def value_fields(node: Node, grad: Any, hidden: bool = False) -> list[str]:
    """A value node's fields: label, data and grad (for a Tensor also shape and dtype).

    `hidden` shows the gradient as '?' (a frame of the backward pass before it arrives).
    """
    fields = [escape(label_text(node.label))] if node.label else []
    data = node.data
    grad_text = "grad ?" if hidden else _grad_text(grad)
    if isinstance(data, np.ndarray):
        # Shape, data and grad stacked at right angles to the label: compact for arrays.
        stack = [escape(f"{data.shape} {data.dtype}"), _array_field("data", data), grad_text]
        return fields + [record_label(stack)]
    return fields + [f"data {number(data)}", grad_text]


def _grad_text(grad: Any) -> str:
    if grad is None:
        return "grad none"
    grad = grad.data if isinstance(grad, Node) else grad
    if isinstance(grad, np.ndarray):
        return _array_field("grad", grad)
    return f"grad {number(grad)}"


def _array_field(name: str, a: Any) -> str:
    a = np.asarray(a)
    if a.size <= SMALL_ARRAY:
        text = array_text(a)
        one_line = text.count(_LINE) == 1
        return f"{name} {text}" if one_line else f"{name}{_LINE}{text}"
    return f"{name} in [{number(a.min())}, {number(a.max())}]"


def op_text(node: Node) -> str:
    """The op's name, with its constant arguments when it has numeric ones: sub(·, 1)."""
    args = node._args
    if args is None or args is PARENT_DATA:  # freed, or no constant arguments
        return node.op
    parts = []
    shown = False
    for a, p in zip(args, node._parents):
        if p is not None:
            parts.append("·")
        elif _is_number(a):
            parts.append(f"{float(a):g}")
            shown = True
        elif isinstance(a, np.ndarray) and a.dtype.kind in "fiu":
            parts.append(f"{a.tolist()}" if a.size <= 3 else f"array{a.shape}")
            shown = True
    return f"{node.op}({', '.join(parts)})" if shown else node.op


def _is_number(a: Any) -> bool:
    return isinstance(a, (int, float, np.number)) and not isinstance(a, (bool, np.bool_))


def box_fields(tr: Trace, members: list[int], fused: bool) -> list[str]:
    """A summary box's fields: its size, its ops, and its output (fused) or value ranges."""
    counts = op_counts(tr, members)
    ops = ", ".join(f"{op} ×{k:,}" if k > 1 else op for op, k in counts[:3])
    if len(counts) > 3:
        ops += ", …"
    n = len(members)
    if fused:
        fields = [f"×{n:,} ops", escape(ops)]
    else:
        fields = [escape(ops)] if len(counts) == 1 else [f"{n:,} nodes", escape(ops)]
    if fused:
        head = tr.nodes[max(members)]
        return fields + value_fields(head, head.grad)
    nodes = [tr.nodes[i] for i in members]
    if isinstance(nodes[0].data, np.ndarray):
        shapes = {n.data.shape for n in nodes}
        return fields + [escape(f"{shapes.pop()} each" if len(shapes) == 1
                                else f"{len(shapes)} shapes")]
    return fields + [_range("data", [n.data for n in nodes]),
                     _range("grad", [n.grad for n in nodes])]


def _range(name: str, xs: list[Any]) -> str:
    xs = [float(x.data if isinstance(x, Node) else x) for x in xs]
    return f"{name} in [{number(min(xs))}, {number(max(xs))}]"


def caption_text(lines: list[str]) -> str:
    """Caption lines for the picture's label, left-justified."""
    return "".join(line.replace("\\", "\\\\") + _LINE for line in lines)
