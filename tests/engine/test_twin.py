"""The twin check: one small MLP written twice, from scalar Values and from Tensors.

The two engines share the rule table but not the code paths (scalar arithmetic on floats
against broadcasting, matmul and reductions on arrays), so equal gradients to 1e-12 say the
array machinery adds nothing and loses nothing.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from autograd import Tensor, Value
from autograd.value import value_dot, value_sum

SIZES = (3, 4, 2)


def _params(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(n_out, n_in)), rng.normal(size=n_out))
            for n_in, n_out in pairwise(SIZES)]


def _data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 1)
    return rng.normal(size=(5, SIZES[0])), rng.uniform(size=(5, SIZES[-1]))


def _value_mlp(params, x, y, fast: bool):
    """Tanh hidden layer, sigmoid output, J = 1/(2m) Σ ‖a − y‖², one Value per weight."""
    layers = [([[Value(v) for v in row] for row in w], [Value(v) for v in b]) for w, b in params]
    losses = []
    for xi, yi in zip(x, y):
        a = [float(v) for v in xi]
        for k, (w, b) in enumerate(layers):
            if fast:
                z = [value_sum([value_dot(row, a), bj]) for row, bj in zip(w, b)]
            else:
                z = [sum((wij * aj for wij, aj in zip(row, a)), bj) for row, bj in zip(w, b)]
            a = [zj.tanh() if k < len(layers) - 1 else zj.sigmoid() for zj in z]
        losses.append(sum((aj - float(t)) ** 2 for aj, t in zip(a, yi)))
    loss = sum(losses) / (2 * len(x))
    loss.backward()
    grads = [(np.array([[v.grad for v in row] for row in w]), np.array([v.grad for v in b]))
             for w, b in layers]
    return loss.data, grads


def _tensor_mlp(params, x, y):
    layers = [(Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)) for w, b in params]
    a = Tensor(x)
    for k, (w, b) in enumerate(layers):
        z = a @ w.T + b
        a = z.tanh() if k < len(layers) - 1 else z.sigmoid()
    loss = ((a - Tensor(y)) ** 2).sum() / (2 * len(x))
    loss.backward()
    return loss.item(), [(w.grad, b.grad) for w, b in layers]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("fast", [False, True], ids=["plain", "fast-paths"])
def test_value_and_tensor_mlps_have_the_same_gradients(seed, fast):
    params = _params(seed)
    x, y = _data(seed)
    v_loss, v_grads = _value_mlp(params, x, y, fast)
    t_loss, t_grads = _tensor_mlp(params, x, y)
    assert v_loss == pytest.approx(t_loss, rel=1e-12)
    for (vw, vb), (tw, tb) in zip(v_grads, t_grads):
        np.testing.assert_allclose(vw, tw, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(vb, tb, rtol=1e-12, atol=1e-14)
    assert any(np.abs(tw).max() > 1e-3 for tw, _ in t_grads)  # not a vacuous match
