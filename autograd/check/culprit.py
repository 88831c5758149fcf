"""Locating a culprit: recheck every op of a graph on its own and name the rule that is wrong.

A whole-graph check says *that* a gradient is wrong; this says *where*. Each node remembers
its primitive (`_op`) and the raw arguments its forward pass saw (`_args`). For every argument
that carries a gradient, the node's rule is run on those arguments with a random output
gradient g, and compared with central differences of Σ g·fun(args) in that argument: the
vector-Jacobian product the backward pass relies on, tested alone. The arguments are copied to
float64 first, so the recheck is sharp even when the graph ran in float32.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from autograd.check.fd import FAIL, KINK, Slot, as_variables, errors, judge, prepared, probe
from autograd.graph import Node, apply_rule, enable_grad, saved_args, toposort, unbroadcast

_STATUS = {0: "ok", FAIL: "FAIL", KINK: "kink"}


@dataclass(frozen=True)
class OpCheck:
    """The recheck of one node's rule for one argument.

    `node` is the position in forward order (0 is the first op applied); status is "ok",
    "FAIL", "kink" (the argument sits where the op has no derivative) or "skipped" (the op
    could not be evaluated beside the point; `note` says why).
    """

    op: str
    node: int
    label: str
    arg: int
    shape: tuple[int, ...]
    n_checked: int
    max_abs_error: float
    max_rel_error: float
    status: str
    note: str = ""


@dataclass
class CulpritReport:
    """Every rule of a graph rechecked; `culprit` names the first wrong one in forward order."""

    checks: list[OpCheck]
    eps: float
    atol: float
    rtol: float

    @property
    def failures(self) -> list[OpCheck]:
        """The checks that failed, in forward order."""
        return [c for c in self.checks if c.status == "FAIL"]

    @property
    def culprits(self) -> list[str]:
        """The names of the ops with a wrong rule, each once, in forward order."""
        return list(dict.fromkeys(c.op for c in self.failures))

    @property
    def culprit(self) -> str | None:
        """The first op whose rule is wrong, or None when every rule agrees."""
        names = self.culprits
        return names[0] if names else None

    @property
    def ok(self) -> bool:
        """True when no rule disagrees with its differences."""
        return not self.failures

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        n_nodes = len({c.node for c in self.checks})
        if self.ok:
            head = (f"every rule agrees with central differences ({len(self.checks)} checks "
                    f"on {n_nodes} nodes, eps {self.eps:.0e})")
        else:
            names = ", ".join(repr(n) for n in self.culprits)
            head = (f"culprit: the rule of {names} is wrong ({len(self.failures)} of "
                    f"{len(self.checks)} checks on {n_nodes} nodes failed)")
        shown = [c for c in self.checks if c.status != "ok"]
        if not shown:
            return head
        rows = [f"  {c.node:>5}  {c.op + (f' [{c.label}]' if c.label else ''):<20.20}"
                f"{c.arg:>4}  {c.shape!s:<12.12}{c.n_checked:>8}{c.max_abs_error:>13.1e}"
                f"{c.max_rel_error:>13.1e}  {c.status} {c.note}".rstrip() for c in shown]
        return "\n".join([head, f"  {'node':>5}  {'op':<20}{'arg':>4}  {'shape':<12}"
                                f"{'entries':>8}{'max abs err':>13}{'max rel err':>13}  status",
                          *rows])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, with the culprit's name."""
        return {"culprit": self.culprit, "eps": self.eps, "atol": self.atol, "rtol": self.rtol,
                "checks": [asdict(c) for c in self.checks]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CulpritReport:
        """A report from `to_dict()` output."""
        checks = [OpCheck(**{**c, "shape": tuple(c["shape"])}) for c in d["checks"]]
        return cls(checks, d["eps"], d["atol"], d["rtol"])

    def to_json(self, **kwargs: Any) -> str:
        """The report as a JSON string."""
        return json.dumps(self.to_dict(), **kwargs)


def locate_culprit(f: Callable[..., Any], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
                   rtol: float = 1e-3, max_entries: int = 64, seed: int = 0) -> CulpritReport:
    """Build f's graph at `inputs` (as `gradcheck` takes them) and recheck every rule in it."""
    if not callable(f):
        raise TypeError(f"locate_culprit needs a function first, got a {type(f).__name__}")
    nodes = as_variables(inputs)
    with prepared(nodes), enable_grad():
        out = f(*nodes)
    parts = out if isinstance(out, (list, tuple)) else [out]
    roots = [p for p in parts if isinstance(p, Node) and p.requires_grad]
    return check_graph(roots, eps=eps, atol=atol, rtol=rtol, max_entries=max_entries, seed=seed)


def check_graph(roots: Node | Sequence[Node], *, eps: float = 1e-6, atol: float = 1e-5,
                rtol: float = 1e-3, max_entries: int = 64, seed: int = 0) -> CulpritReport:
    """Recheck the rule of every op the root(s) depend on, each against its own differences.

    Arguments with more than `max_entries` entries are checked on that many, drawn at random
    (reproducibly, from `seed`). The graph must still hold its saved inputs: build it afresh,
    or run backward with retain_graph=True.
    """
    if eps <= 0 or atol < 0 or rtol < 0:
        raise ValueError(f"need eps > 0, atol >= 0, rtol >= 0; got {eps}, {atol}, {rtol}")
    if isinstance(roots, Node):
        roots = [roots]
    bad = [r for r in roots if not isinstance(r, Node)] if isinstance(roots, Sequence) else [roots]
    if bad:
        raise TypeError(f"check_graph needs a Value or Tensor (or a list of them), got "
                        f"{type(bad[0]).__name__}")
    seen: dict[int, Node] = {}
    for root in roots:
        seen.update((id(n), n) for n in toposort(root) if n._op is not None)
    ops = sorted(seen.values(), key=lambda n: n._seq)
    rng = np.random.default_rng(seed)
    checks = []
    for pos, node in enumerate(ops):
        checks += _check_node(node, pos, rng, eps, atol, rtol, max_entries)
    return CulpritReport(checks, eps, atol, rtol)


def _check_node(node: Node, pos: int, rng: np.random.Generator, eps: float, atol: float,
                rtol: float, max_entries: int) -> list[OpCheck]:
    op = node._op
    if node._args is None:
        raise RuntimeError(f"the {op.name!r} node's saved inputs were freed by backward; "
                           "rebuild the graph (or backward with retain_graph=True) to check it")
    slots = [Slot(_as64(a)) for a in saved_args(node)]
    args = [s.data for s in slots]
    out = op(*args)  # through the primitive: quiet, as ops are
    # The driver hands rules a Python float for Value nodes and an ndarray (0-d for a full
    # reduction) for Tensor nodes; np.float64 is a float subclass, hence the exact test.
    g = np.asarray(rng.standard_normal(np.shape(out)))
    g = float(g) if type(out) is float else g

    def value() -> np.ndarray:
        return np.array([np.sum(g * op(*[s.data for s in slots]))], dtype=np.float64)

    base = dict(op=op.name, node=pos, label=node.label)
    try:
        grads = _padded(apply_rule(node, g, args, out), len(args))
    except Exception as e:  # a rule that raises is as wrong as one that miscounts
        return [OpCheck(**base, arg=i, shape=np.shape(a), n_checked=0, max_abs_error=np.inf,
                        max_rel_error=np.inf, status="FAIL", note=f"rule raised {e!r:.80}")
                for i, (a, p) in enumerate(zip(args, node._parents)) if p is not None]
    return [_check_arg(value, slots, i, grads[i], rng, base, eps, atol, rtol, max_entries)
            for i, p in enumerate(node._parents) if p is not None]


def _padded(grads: Any, n: int) -> list[Any]:
    """A rule's gradients, one per argument (rules may stop before trailing constants)."""
    grads = list(grads)
    return grads + [None] * (n - len(grads))


def _check_arg(value: Callable[[], np.ndarray], slots: list[Slot], i: int, gi: Any,
               rng: np.random.Generator, base: dict[str, Any], eps: float, atol: float,
               rtol: float, max_entries: int) -> OpCheck:
    arg = slots[i].data
    size = int(np.size(arg))
    picked = np.arange(size) if size <= max_entries else np.sort(
        rng.choice(size, max_entries, replace=False))
    entries = [(i, int(k)) for k in picked]
    common = dict(base, arg=i, shape=tuple(np.shape(arg)), n_checked=len(entries))
    try:
        analytic = _fitted(gi, arg)[picked][:, None]
    except ValueError as e:
        return OpCheck(**common, max_abs_error=np.inf, max_rel_error=np.inf, status="FAIL",
                       note=str(e))
    try:
        pr = probe(value, slots, entries, eps)
        status = judge(analytic, pr, atol, rtol,
                       lambda rows: probe(value, slots, [entries[r] for r in rows], eps / 10))
    except ValueError as e:
        return OpCheck(**common, max_abs_error=np.nan, max_rel_error=np.nan, status="skipped",
                       note=str(e).split(";")[0])
    err, rel = errors(analytic, pr.central, atol)
    judged = status != KINK
    worst = FAIL if (status == FAIL).any() else (KINK if (status == KINK).any() else 0)
    return OpCheck(**common, max_abs_error=float(err[judged].max(initial=0.0)),
                   max_rel_error=float(rel[judged].max(initial=0.0)), status=_STATUS[worst])


def _as64(a: Any) -> Any:
    """A float argument as a private float64 copy (Python floats stay floats); others as is."""
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return np.array(a, dtype=np.float64)
    if isinstance(a, np.floating):
        return np.float64(a)
    return a


def _fitted(gi: Any, arg: Any) -> np.ndarray:
    """The rule's gradient for `arg`, summed back to its shape as the backward driver does."""
    shape = np.shape(arg)
    if gi is None:
        return np.zeros(int(np.prod(shape, dtype=int)))
    gi = gi.data if isinstance(gi, Node) else gi
    if np.shape(gi) != shape:
        try:
            gi = unbroadcast(np.asarray(gi), shape)
        except (ValueError, IndexError):
            gi = None
        if gi is None or np.shape(gi) != shape:
            raise ValueError(f"the rule gave a gradient that does not sum to the argument's "
                             f"shape {shape}")
    return np.asarray(gi, dtype=np.float64).ravel()
