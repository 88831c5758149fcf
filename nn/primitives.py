"""nn's own primitives, written with the engine's public `@primitive` / `defvjp` API.

A worked example of extending the engine: each op is a forward function on raw arrays followed
by its vector-Jacobian product, exactly as the built-in rules in `autograd/rules.py`. They are
fused for speed: one node where composing Tensor ops would record several, in the two places a
training loop runs once per layer and once per mini-batch. Like every rule, the products are
plain arithmetic on their arguments, so they also run on Tensors (create_graph) and give
higher derivatives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import primitive


def rows(a: Any) -> int:
    """m, the number of examples: the rows of a batch, 1 for a single example of shape (k,)."""
    return len(a) if a.ndim >= 2 else 1


@primitive
def linear(x, w, b):
    """x @ wᵀ + b: a dense layer with weights (out, in) as in the document, a batch in rows."""
    out = x @ w.T
    if out.ndim and ((type(b) is np.ndarray and b.dtype == out.dtype) or
                     out.dtype == np.result_type(out, b)):
        out += b  # in place: saves a pass and an array per layer
        return out
    return out + b


@linear.defvjp
def linear_vjp(g, out, x, w, b, needs=(True, True, True)):
    """∂(x @ wᵀ + b) = (g @ w, gᵀ @ x, g summed over the batch)"""
    gx = g @ w if needs[0] else None
    gw = gb = None
    if needs[1]:
        if x.ndim == 1:
            gw = g.reshape((-1, 1)) * x
        else:  # a stack of batches gives a stack of gradients; the driver sums it to w's shape
            gw = (g.T if g.ndim == 2 else g.swapaxes(-1, -2)) @ x
    if needs[2]:
        # a batch in rows and a bias vector, the common case, summed here without a call
        gb = g.sum(axis=0) if g.ndim == 2 and b.ndim == 1 else _bias_gradient(g, b)
    return gx, gw, gb


def _bias_gradient(g: Any, b: Any) -> Any:
    """∂C/∂b = Σ over the batch of δ: the document's formula, summed here because it is part
    of the rule (any other bias shape is left to the driver's unbroadcast)."""
    if b.ndim != 1:
        return g
    return g.reshape((-1, g.shape[-1])).sum(axis=0)


@primitive
def quadratic_cost(a, y):
    """J = Σ‖a − y‖² / 2m over the m rows: the document's quadratic cost (section 4.2.1)."""
    d = a - y
    return np.vdot(d, d) / (2 * rows(d))


@quadratic_cost.defvjp
def quadratic_cost_vjp(g, out, a, y, needs=(True, True)):
    """∂J = (g·(a − y)/m, −g·(a − y)/m)"""
    if type(g) is np.ndarray and not g.ndim:
        g = g[()]  # the seed of backward: a numpy scalar computes the same, 0.5 µs sooner
    ga = a - y
    ga *= g / rows(a)  # in place on the fresh difference (Tensors have no *=: a new node)
    return ga, (-ga if needs[1] else None)
