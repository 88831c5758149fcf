"""The step-size sweep: finite-difference error against eps, the truncation / round-off V-curve.

A central difference is off by about f‴·eps²/6 (truncation, falling as eps shrinks) plus
u·|f|/eps (round-off, u the unit round-off of the dtype, rising as eps shrinks). Their sum is
smallest near eps ≈ u^(1/3): about 1e-5 in float64, 5e-3 in float32.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from autograd.check.fd import (
    all_entries,
    analytic_jacobian,
    as_variables,
    check_finite,
    errors,
    evaluator,
    prepared,
    probe,
)
from autograd.files import check_target, write_file
from autograd.value import Value

DEFAULT_EPS: tuple[float, ...] = tuple(10.0 ** -k for k in range(1, 13))
_DTYPES = ("float64", "float32")


class SweepRow(NamedTuple):
    """One step size and the largest errors of the differences taken with it."""

    eps: float
    max_abs_error: float
    max_rel_error: float


@dataclass
class Sweep:
    """A V-curve: one row per step size, for differences evaluated in `dtype`."""

    rows: list[SweepRow]
    dtype: str
    label: str = ""

    @property
    def best(self) -> SweepRow:
        """The row with the smallest relative error."""
        return min(self.rows, key=lambda r: (math.isnan(r.max_rel_error), r.max_rel_error))

    def __iter__(self) -> Iterator[SweepRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> SweepRow:
        return self.rows[i]

    def __str__(self) -> str:
        name = f"{self.label} " if self.label else ""
        lines = [f"step-size sweep {name}({self.dtype}):",
                 f"  {'eps':>8}{'max abs err':>14}{'max rel err':>14}"]
        best = self.best
        for r in self.rows:
            mark = "  <- best" if r is best else ""
            lines.append(f"  {r.eps:>8.0e}{r.max_abs_error:>14.2e}{r.max_rel_error:>14.2e}{mark}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"dtype": self.dtype, "label": self.label, "rows": [r._asdict() for r in self.rows]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sweep:
        """A sweep from `to_dict()` output."""
        return cls([SweepRow(**r) for r in d["rows"]], d["dtype"], d.get("label", ""))

    def plot(self, path: str | os.PathLike[str], title: str | None = None) -> Path:
        """Write this curve as a log-log image (PNG unless the suffix says otherwise)."""
        return plot_sweep(self, path, title=title)


def sweep(f: Callable[..., Any], *inputs: Any, eps: Sequence[float] = DEFAULT_EPS,
          dtype: str = "float64", atol: float = 1e-8, label: str = "") -> Sweep:
    """Central-difference error of f's gradient for each step in `eps`: the V-curve.

    The reference is the analytic gradient in float64; the differences are taken with the
    inputs in `dtype` ("float64" or "float32"), so float32 shows its much earlier minimum.
    Constants f closes over keep their own dtype: make them follow the inputs' dtype, or pass
    them as inputs. Entries smaller than atol are measured by absolute error.
    """
    if not callable(f):
        raise TypeError(f"sweep needs a function first, got a {type(f).__name__}")
    steps = _steps(eps)
    dtype = _dtype(dtype)
    nodes = as_variables(inputs, scalar_as_tensor=dtype != "float64")
    if dtype != "float64" and any(isinstance(n, Value) for n in nodes):
        raise ValueError(f"a {dtype} sweep needs arrays or Tensors: a Value holds a Python "
                         "float, which is always float64")
    check_finite(nodes)
    rows = []
    with prepared(nodes, dtype):
        with prepared(nodes, "float64"):
            _, reference = analytic_jacobian(f, nodes)
        evaluate, entries = evaluator(f, nodes), all_entries(nodes)
        for step in steps:
            err, rel = errors(reference, probe(evaluate, nodes, entries, step).central, atol)
            rows.append(SweepRow(step, float(err.max()), float(rel.max())))
    return Sweep(rows, dtype, label)


def _steps(eps: Any) -> list[float]:
    try:
        steps = [float(e) for e in np.atleast_1d(eps)]
    except (TypeError, ValueError):
        raise TypeError(f"eps must be a sequence of step sizes, got {eps!r:.60}") from None
    if not steps or any(not math.isfinite(e) or e <= 0 for e in steps):
        raise ValueError(f"eps must be one or more positive finite steps, got {eps!r:.60}")
    return steps


def _dtype(dtype: Any) -> str:
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in _DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}, got {dtype!r}")
    return name


# ---- the picture --------------------------------------------------------------------------

def plot_sweep(sweeps: Sweep | Sequence[Sweep], path: str | os.PathLike[str],
               title: str | None = None) -> Path:
    """Draw one or more sweeps log-log (error against eps) into an image file.

    Needs matplotlib (`pip install deltagrad[plot]`). The file is written whole or not at all.
    """
    figure_cls = _figure_class()
    check_target(path)  # a folder, FIFO or device is refused before anything is drawn
    sweeps = [sweeps] if isinstance(sweeps, Sweep) else list(sweeps)
    if not sweeps or not all(isinstance(s, Sweep) for s in sweeps):
        raise TypeError("plot_sweep needs a Sweep or a list of Sweeps")
    fig = figure_cls(figsize=(6.4, 4.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for s in sweeps:
        _draw(ax, s)
    _guides(ax, sweeps[0])
    ax.set(xscale="log", yscale="log", xlabel="step size eps",
           ylabel="max relative error of the gradient",
           title=title or "Central differences: truncation against round-off")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, Path(path))


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plotting the V-curve needs matplotlib: pip install deltagrad[plot]"
                          ) from None
    return Figure


def _draw(ax: Any, s: Sweep) -> None:
    xs = [r.eps for r in s.rows]
    ys = [max(r.max_rel_error, 1e-17) for r in s.rows]
    name = f"{s.label} {s.dtype}".strip()
    (line,) = ax.plot(xs, ys, "o-", ms=4, label=f"{name} (best eps {s.best.eps:.0e})")
    ax.plot([s.best.eps], [max(s.best.max_rel_error, 1e-17)], "*", ms=14,
            color=line.get_color())


def _guides(ax: Any, s: Sweep) -> None:
    """Dashed slopes through the curve's ends: ε² on the truncation side, 1/ε on round-off."""
    best = s.best.eps
    big = [r for r in s.rows if r.eps >= best]
    small = [r for r in s.rows if r.eps <= best]
    if len(big) > 1:
        top = max(big, key=lambda r: r.eps)
        xs = np.array([best, top.eps])
        ax.plot(xs, top.max_rel_error * (xs / top.eps) ** 2, "--", color="gray", lw=1,
                label="truncation ∝ eps²")
    if len(small) > 1:
        low = min(small, key=lambda r: r.eps)
        xs = np.array([low.eps, best])
        ax.plot(xs, low.max_rel_error * (low.eps / xs), ":", color="gray", lw=1,
                label="round-off ∝ 1/eps")


def _save(fig: Any, path: Path) -> Path:
    """Save through the package's one writer, so a failure leaves no half image."""
    fmt = path.suffix.lstrip(".").lower() or "png"
    meta = {"Software": None} if fmt == "png" else None
    write_file(path, lambda f: fig.savefig(f, format=fmt, metadata=meta))
    return path
