"""The three-way gradient table: autograd, the δ recursion and central differences side by side.

For an MLP, a batch and a loss, every layer's ∂C/∂W and ∂C/∂b is computed three independent
ways: by the engine's backward pass, by the document's closed-form δ recursion (`nn.delta`),
and by central differences of the loss, moving one parameter entry at a time. The table gives,
per layer and parameter, how far each pair is apart. When a check fails, `find_culprit`
rechecks every op of the loss graph on its own and names the rule that is wrong.

    >>> table = grad_table(MLP([4, 5, 3], seed=0), x, y, loss="mse")
    >>> print(table); table.ok
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from autograd import Tensor
from autograd.check import (
    DEFAULT_EPS,
    CulpritReport,
    GradcheckReport,
    Sweep,
    gradcheck,
    locate_culprit,
    numeric_grad,
    sweep,
)
from nn import delta
from nn.layers import MLP
from nn.losses import get_loss


def model_loss(model: MLP, x: Any, y: Any, loss: str = "mse") -> Callable[..., Tensor]:
    """f(*params) → the batch loss of `model` on (x, y), read through the model's own parameters.

    Pass `model.parameters()` as the inputs of a check so that they are the tensors moved. x
    and float targets follow the parameters' dtype, so a float32 sweep runs in float32.
    """
    cost = get_loss(loss).function
    x = np.asarray(x.data if isinstance(x, Tensor) else x)
    y = np.asarray(y.data if isinstance(y, Tensor) else y)
    if x.dtype.kind not in "fiub" or y.dtype.kind not in "fiub":
        raise TypeError(f"x and y must be numbers, got arrays of dtype {x.dtype} and {y.dtype}")
    first = model.parameters()[0]
    cast: dict[np.dtype, tuple[np.ndarray, np.ndarray]] = {}

    def f(*_params: Tensor) -> Tensor:
        dt = first.data.dtype
        if dt not in cast:
            cast[dt] = (x.astype(dt), y if y.dtype.kind in "iub" else y.astype(dt))
        xd, yd = cast[dt]
        return cost(model(xd), yd)

    return f


def param_names(model: MLP) -> list[str]:
    """'layers.0.weight'-style names, in the order of model.parameters()."""
    return [name for name, _ in model.named_parameters()]


def model_gradcheck(model: MLP, x: Any, y: Any, loss: str = "mse", **kwargs: Any
                    ) -> GradcheckReport:
    """`gradcheck` of the batch loss with respect to every parameter of the model."""
    return gradcheck(model_loss(model, x, y, loss), *model.parameters(),
                     names=param_names(model), **kwargs)


def model_sweep(model: MLP, x: Any, y: Any, loss: str = "mse",
                eps: Sequence[float] = DEFAULT_EPS, dtype: str = "float64") -> Sweep:
    """The step-size sweep of the batch loss's gradient with respect to every parameter."""
    return sweep(model_loss(model, x, y, loss), *model.parameters(), eps=eps, dtype=dtype,
                 label=f"MLP {model.sizes}" if isinstance(model, MLP) else repr(model))


def find_culprit(model: MLP, x: Any, y: Any, loss: str = "mse", **kwargs: Any
                 ) -> CulpritReport:
    """Recheck every op in the model's loss graph on its own; `.culprit` names a wrong rule."""
    return locate_culprit(model_loss(model, x, y, loss), *model.parameters(), **kwargs)


# ---- the table ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    """Two gradients of one parameter compared entrywise: largest errors and the verdict."""

    max_abs: float
    max_rel: float
    ok: bool


@dataclass(frozen=True)
class GradRow:
    """One parameter of one layer: its three gradients compared pairwise."""

    layer: int
    param: str
    shape: tuple[int, ...]
    n_fd: int
    grad_norm: float
    autograd_delta: Comparison
    autograd_fd: Comparison
    delta_fd: Comparison

    @property
    def ok(self) -> bool:
        """True when all three gradients agree."""
        return self.autograd_delta.ok and self.autograd_fd.ok and self.delta_fd.ok


@dataclass
class GradTable:
    """The three-way table of a model; true (`bool(table)`) when every row agrees.

    Autograd and the δ recursion are both exact, so they must agree to `exact_rtol`;
    differences carry truncation and round-off, so they are judged by atol + rtol·|numeric|.
    """

    rows: list[GradRow]
    model: str
    loss: str
    batch: int
    dtype: str
    eps: float
    atol: float
    rtol: float
    exact_rtol: float

    @property
    def ok(self) -> bool:
        """True when every row agrees."""
        return all(r.ok for r in self.rows)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = (f"three-way gradient table: {self.model}, loss {self.loss}, batch {self.batch},"
                f" {self.dtype}, eps {self.eps:.0e}")
        pairs = f"{'':<25}{'autograd vs δ':^20}{'autograd vs FD':^20}{'δ vs FD':^20}"
        cols = (f"{'layer':<6}{'param':<8}{'shape':<11}" + f"{'max abs':>10}{'max rel':>10}" * 3
                + f"{'FD entries':>12}  status")
        lines = [head, pairs, cols]
        for r in self.rows:
            cells = "".join(f"{c.max_abs:>10.1e}{c.max_rel:>10.1e}"
                            for c in (r.autograd_delta, r.autograd_fd, r.delta_fd))
            n = int(np.prod(r.shape))
            lines.append(f"{r.layer:<6}{r.param:<8}{_shape(r.shape):<11}{cells}"
                         f"{f'{r.n_fd}/{n}':>12}  {'ok' if r.ok else 'FAIL'}")
        verdict = "all three agree" if self.ok else "DISAGREE: see the rows marked FAIL"
        lines.append(f"{verdict} (autograd vs δ to rtol {self.exact_rtol:.0e}; finite "
                     f"differences to atol {self.atol:.0e} + rtol {self.rtol:.0e})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = asdict(self)
        d["ok"] = self.ok
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GradTable:
        """A table from `to_dict()` output."""
        rows = [GradRow(**{**r, "shape": tuple(r["shape"]),
                           **{k: Comparison(**r[k])
                              for k in ("autograd_delta", "autograd_fd", "delta_fd")}})
                for r in d["rows"]]
        return cls(**{**{k: v for k, v in d.items() if k != "ok"}, "rows": rows})

    def to_json(self, **kwargs: Any) -> str:
        """The table as a JSON string."""
        return json.dumps(self.to_dict(), **kwargs)


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ",".join(map(str, shape)) + ")"


def grad_table(model: MLP, x: Any, y: Any, loss: str = "mse", *, eps: float = 1e-6,
               atol: float = 1e-5, rtol: float = 1e-3, exact_rtol: float | None = None,
               max_entries: int | None = None, seed: int = 0) -> GradTable:
    """Compare autograd, the δ recursion and central differences for every layer's W and b.

    `max_entries` limits the differenced entries per parameter (drawn at random from `seed`;
    None: all). `exact_rtol` defaults to 1e-9 for float64 models and 1e-4 for float32.
    """
    get_loss(loss)
    params = model.parameters()
    dtype = params[0].data.dtype
    exact = exact_rtol if exact_rtol is not None else (1e-9 if dtype.itemsize >= 8 else 1e-4)
    auto = autograd_grads(model, x, y, loss)
    dws, dbs = delta.backprop(model, x, y, loss)
    by_delta = [g for pair in zip(dws, dbs) for g in pair]
    picks = _picks(params, max_entries, seed)
    fd = numeric_grad(model_loss(model, x, y, loss), *params, eps=eps, entries=picks)
    rows = []
    for k, (a, d, n) in enumerate(zip(auto, by_delta, fd)):
        mask = ~np.isnan(n)
        d = np.asarray(d, dtype=np.float64)
        fd_bound = atol + rtol * np.abs(n[mask])
        rows.append(GradRow(
            layer=k // 2, param="weight" if k % 2 == 0 else "bias", shape=tuple(a.shape),
            n_fd=int(mask.sum()), grad_norm=float(np.linalg.norm(a)),
            autograd_delta=_compare(a, d, exact * _scale(a, d, atol), atol),
            autograd_fd=_compare(a[mask], n[mask], fd_bound, atol),
            delta_fd=_compare(d[mask], n[mask], fd_bound, atol)))
    return GradTable(rows, repr(model), loss, int(np.shape(x)[0]) if np.ndim(x) > 1 else 1,
                     str(dtype), eps, atol, rtol, exact)


def autograd_grads(model: MLP, x: Any, y: Any, loss: str = "mse") -> list[np.ndarray]:
    """The engine's gradient of the batch loss for each parameter (float64 copies).

    The parameters' own `.grad` are left as they were.
    """
    params = model.parameters()
    saved = [p.grad for p in params]
    try:
        for p in params:
            p.grad = None
        model_loss(model, x, y, loss)().backward()
        return [np.zeros(p.data.shape) if p.grad is None
                else np.array(p.grad, dtype=np.float64) for p in params]
    finally:
        for p, g in zip(params, saved):
            p.grad = g


def _picks(params: Sequence[Tensor], max_entries: int | None,
           seed: int) -> list[np.ndarray | None]:
    if max_entries is None:
        return [None] * len(params)
    if max_entries < 1:
        raise ValueError(f"max_entries must be at least 1 (or None for all), got {max_entries}")
    rng = np.random.default_rng(seed)
    return [None if p.data.size <= max_entries
            else np.sort(rng.choice(p.data.size, max_entries, replace=False)) for p in params]


def _scale(a: np.ndarray, b: np.ndarray, atol: float) -> np.ndarray:
    """max(|a|, |b|, atol): the size an error is relative to (tiny entries count absolutely)."""
    return np.maximum(np.maximum(np.abs(a), np.abs(b)), atol)


def _compare(a: np.ndarray, b: np.ndarray, allowed: np.ndarray, atol: float) -> Comparison:
    """Entrywise: ok when |a − b| ≤ allowed everywhere; errors relative to max(|a|, |b|, atol)."""
    if a.size == 0:
        return Comparison(0.0, 0.0, True)
    err = np.abs(a - b)
    rel = err / _scale(a, b, atol)
    return Comparison(float(err.max()), float(rel.max()), bool(np.all(err <= allowed)))
