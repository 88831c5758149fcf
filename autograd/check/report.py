"""Gradient checks: the analytic Jacobian against central differences, entry by entry.

    >>> from autograd import gradcheck, Tensor
    >>> report = gradcheck(lambda x: (x.sin() * x).sum(), Tensor([0.5, 1.5]))
    >>> report.ok
    True

`gradcheck` reports how far apart the two are and where, `sweep` shows how that distance moves
with the step size (the truncation / round-off V-curve), and `locate_culprit` rechecks each
primitive of a graph on its own to name the rule that is wrong. Entries where the function has
a kink (relu at 0, tied maxima) have no derivative to compare with: they are listed as
inconclusive, never as failures.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from autograd.check.fd import (
    FAIL,
    KINK,
    OK,
    PrecisionWarning,
    all_entries,
    analytic_jacobian,
    as_variables,
    check_finite,
    errors,
    evaluator,
    judge,
    prepared,
    probe,
)
from autograd.graph import Node
from autograd.tensor import Tensor

__all__ = ["Entry", "GradcheckReport", "gradcheck", "numeric_grad"]

_STATUS = {OK: "ok", FAIL: "FAIL", KINK: "kink"}
_LISTED = 50  # failures and kinks kept in a report (the counts are always complete)


@dataclass(frozen=True)
class Entry:
    """One compared entry: ∂output[output]/∂input[index] by rule (analytic) and by difference."""

    input: int
    index: tuple[int, ...]
    output: tuple[int, ...]
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    status: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Entry:
        """The inverse of `dataclasses.asdict` after a JSON round trip (lists back to tuples)."""
        return cls(**{**d, "index": tuple(d["index"]), "output": tuple(d["output"])})


@dataclass
class GradcheckReport:
    """What a gradient check found; true (`bool(report)`) when every conclusive entry agrees.

    `max_abs_error` and `max_rel_error` run over the conclusive entries; the relative error is
    |a − n| / max(|a|, |n|, atol). `worst` holds the entries nearest to failing (or furthest
    past it), `failures` and `inconclusive` up to 50 entries each, with complete counts in
    `n_failures` and `n_inconclusive`.
    """

    ok: bool
    max_abs_error: float
    max_rel_error: float
    worst: list[Entry]
    failures: list[Entry]
    inconclusive: list[Entry]
    n_checked: int
    n_failures: int
    n_inconclusive: int
    names: list[str]
    eps: float
    atol: float
    rtol: float
    dtype: str
    sweep: Any = field(default=None, repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "ok" if self.ok else f"FAILED ({self.n_failures} of {self.n_checked} entries)"
        lines = [f"gradcheck {verdict}: {self.n_checked} entries, eps {self.eps:.0e}, "
                 f"atol {self.atol:.0e}, rtol {self.rtol:.0e}, {self.dtype}",
                 f"max abs error {self.max_abs_error:.2e}, max rel error "
                 f"{self.max_rel_error:.2e}"]
        if self.worst:
            lines += ["worst entries:", *_table(self.worst, self.names)]
        if self.n_inconclusive:
            lines += [f"inconclusive ({self.n_inconclusive}): the left and right slopes "
                      "differ, a kink (relu at 0, tied maxima) at or within eps of the point:",
                      *_table(self.inconclusive[:5], self.names)]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (`json.dumps(report.to_dict())`)."""
        d = asdict(self)
        d.pop("sweep")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GradcheckReport:
        """A report from `to_dict()` output, e.g. read back from a JSON file."""
        lists = {k: [Entry.from_dict(e) for e in d[k]]
                 for k in ("worst", "failures", "inconclusive")}
        return cls(**{**d, **lists})

    def to_json(self, **kwargs: Any) -> str:
        """The report as a JSON string."""
        return json.dumps(self.to_dict(), **kwargs)


def _table(entries: Sequence[Entry], names: Sequence[str]) -> list[str]:
    w = min(24, max(len("input"), *(len(names[e.input]) for e in entries))) + 2
    head = (f"  {'input':<{w}}{'index':<10}{'output':<8}{'analytic':>13}{'numeric':>13}"
            f"{'abs err':>10}{'rel err':>10}  status")
    rows = [f"  {names[e.input]:<{w}.{w - 2}}{_idx(e.index):<10}{_idx(e.output):<8}"
            f"{e.analytic:>13.5e}{e.numeric:>13.5e}{e.abs_error:>10.1e}{e.rel_error:>10.1e}"
            f"  {e.status}" for e in entries]
    return [head, *rows]


def _idx(index: tuple[int, ...]) -> str:
    return "(" + ",".join(map(str, index)) + ")"


# ---- the check ----------------------------------------------------------------------------

def gradcheck(f: Callable[..., Any], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, names: Sequence[str] | None = None) -> GradcheckReport:
    """Compare f's gradient (by backward) with central differences on every input entry.

    `inputs` are numbers, arrays, Values or Tensors; leaf Values and Tensors are used as
    themselves, so f may also close over them (a model's parameters), and their data is moved
    in place and restored exactly. f returns a Value, a Tensor, a number, an array or a list of
    them; for several outputs the whole Jacobian is compared. An entry fails where
    |analytic − numeric| > atol + rtol·|numeric|.
    """
    _check_settings(f, eps, atol, rtol)
    nodes = as_variables(inputs)
    names = _names(names, nodes)
    check_finite(nodes)
    _warn_precision(nodes, names)
    with prepared(nodes):
        out, analytic = analytic_jacobian(f, nodes)
        evaluate = evaluator(f, nodes)
        entries = all_entries(nodes)
        pr = probe(evaluate, nodes, entries, eps)
        status = judge(analytic, pr, atol, rtol,
                       lambda rows: probe(evaluate, nodes, [entries[r] for r in rows], eps / 10))
        shapes = [np.shape(n.data) for n in nodes]
        dtype = _dtype_name(nodes)
    out_shape = np.shape(out.data) if isinstance(out, Node) else None
    where = [(i, np.unravel_index(k, shapes[i])) for i, k in entries]
    return _report(analytic, pr.central, status, where, out_shape,
                   dict(names=names, eps=eps, atol=atol, rtol=rtol, dtype=dtype))


def _check_settings(f: Any, eps: float, atol: float, rtol: float) -> None:
    if not callable(f):
        raise TypeError(f"gradcheck needs a function first, got a {type(f).__name__}")
    if not isinstance(eps, (int, float)) or not math.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a positive finite step, got {eps!r}")
    for name, tol in (("atol", atol), ("rtol", rtol)):
        if not isinstance(tol, (int, float)) or not math.isfinite(tol) or tol < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {tol!r}")


def _names(names: Sequence[str] | None, nodes: Sequence[Node]) -> list[str]:
    if names is None:
        return [n.label or f"input {i}" for i, n in enumerate(nodes)]
    names = [str(n) for n in names]
    if len(names) != len(nodes):
        raise ValueError(f"{len(names)} names for {len(nodes)} inputs")
    return names


def _warn_precision(nodes: Sequence[Node], names: Sequence[str]) -> None:
    for n, name in zip(nodes, names):
        if isinstance(n, Tensor) and n.data.dtype.itemsize < 8:
            warnings.warn(
                f"gradcheck {name} is {n.data.dtype}: its central differences keep only "
                "about half of its ~7 digits (errors near 1e-3 at best, and worse at eps 1e-6),"
                " so tight tolerances fail and loose ones hide wrong rules; check in float64 "
                "(np.float64 arrays, Tensor(..., dtype=np.float64))",
                PrecisionWarning, stacklevel=3)
            return


def _dtype_name(nodes: Sequence[Node]) -> str:
    kinds = {str(n.data.dtype) if isinstance(n, Tensor) else "float64" for n in nodes}
    return "/".join(sorted(kinds))


def _report(analytic: np.ndarray, numeric: np.ndarray, status: np.ndarray,
            where: list[tuple[int, tuple[Any, ...]]], out_shape: tuple[int, ...] | None,
            settings: dict[str, Any]) -> GradcheckReport:
    err, rel = errors(analytic, numeric, settings["atol"])
    with np.errstate(divide="ignore", invalid="ignore"):  # zero tolerance: inf ranks first
        badness = err / (settings["atol"] + settings["rtol"] * np.abs(numeric))
    conclusive = status != KINK

    def entry(r: int, c: int) -> Entry:
        i, index = where[r]
        output = np.unravel_index(c, out_shape) if out_shape is not None else (c,)
        return Entry(i, tuple(int(j) for j in index), tuple(int(j) for j in output),
                     float(analytic[r, c]), float(numeric[r, c]), float(err[r, c]),
                     float(rel[r, c]), _STATUS[int(status[r, c])])

    def pick(mask: np.ndarray, k: int) -> list[Entry]:
        flat = np.flatnonzero(mask)
        order = flat[np.argsort(-badness.ravel()[flat], kind="stable")][:k]
        return [entry(*divmod(int(o), status.shape[1])) for o in order]

    n_fail = int((status == FAIL).sum())
    return GradcheckReport(
        ok=n_fail == 0, max_abs_error=float(err[conclusive].max(initial=0.0)),
        max_rel_error=float(rel[conclusive].max(initial=0.0)), worst=pick(conclusive, 5),
        failures=pick(status == FAIL, _LISTED), inconclusive=pick(status == KINK, _LISTED),
        n_checked=int(status.size), n_failures=n_fail,
        n_inconclusive=int((status == KINK).sum()), **settings)


def numeric_grad(f: Callable[..., Any], *inputs: Any, eps: float = 1e-6,
                 entries: Sequence[Sequence[int] | None] | None = None) -> list[np.ndarray]:
    """Central differences of a scalar f for each input, float64 arrays shaped like them.

    `entries` may give, per input, the flat indices to difference (None: all); the others are
    NaN. Inputs are moved in place and restored exactly, as in `gradcheck`.
    """
    _check_settings(f, eps, 0.0, 0.0)
    nodes = as_variables(inputs)
    if entries is not None and len(entries) != len(nodes):
        raise ValueError(f"entries has {len(entries)} items for {len(nodes)} inputs")
    picked = [(i, int(k)) for i, n in enumerate(nodes)
              for k in (range(np.size(n.data)) if entries is None or entries[i] is None
                        else entries[i])]
    with prepared(nodes):
        pr = probe(evaluator(f, nodes), nodes, picked, eps)
    if pr.central.shape[1] != 1:
        raise ValueError(f"numeric_grad needs a scalar f; it returned {pr.central.shape[1]} "
                         "entries (use gradcheck for the whole Jacobian)")
    grads = [np.full(np.shape(n.data), np.nan) for n in nodes]
    for (i, k), value in zip(picked, pr.central[:, 0]):
        grads[i].flat[k] = value
    return grads

