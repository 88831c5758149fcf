"""Central finite differences for the tests: the witness that needs no derivative rules.

Deliberately independent of the engine (and of autograd.gradcheck): plain numpy on plain
functions, so a wrong rule in the engine cannot also be wrong here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

EPS = 1e-6


def central_vjp(f: Callable[[np.ndarray], Any], x: Any, v: Any = 1.0,
                eps: float = EPS) -> np.ndarray:
    """vᵀ·∂f/∂x by central differences, for f from an array (or float) to an array (or float).

    The two perturbed outputs are subtracted before they are weighted by v and summed, so the
    entries that a perturbation leaves unchanged cancel exactly and the result keeps full
    precision even for large outputs.
    """
    x = np.array(x, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    out = np.empty_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        diff = np.asarray(f(up), dtype=np.float64) - np.asarray(f(down), dtype=np.float64)
        out[i] = np.sum(diff * v) / (2 * eps)
    return out


def central_grad(f: Callable[[Any], Any], x: Any, eps: float = EPS) -> Any:
    """∂f/∂x by central differences for scalar f; a float for float x, else an array."""
    g = central_vjp(f, x, 1.0, eps)
    return float(g) if np.ndim(x) == 0 else g


def mismatch(analytic: Any, numeric: Any, rtol: float = 1e-5, atol: float = 1e-7) -> str:
    """'' when the gradients agree entrywise within atol + rtol·|numeric|, else a report."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        return f"shapes differ: analytic {a.shape}, numeric {n.shape}"
    err = np.abs(a - n)
    bad = ~(err <= atol + rtol * np.abs(n))
    if not bad.any():
        return ""
    worst = np.unravel_index(np.argmax(np.where(bad, err, -1.0)), a.shape)
    return (f"{int(bad.sum())} of {a.size} entries differ; worst at {tuple(map(int, worst))}: "
            f"analytic {a[worst]!r}, numeric {n[worst]!r} (abs error {err[worst]:.3g})")


def assert_grad_close(analytic: Any, numeric: Any, rtol: float = 1e-5,
                      atol: float = 1e-7) -> None:
    """Fail with a readable report when analytic and numeric gradients differ."""
    report = mismatch(analytic, numeric, rtol, atol)
    assert not report, report
