"""Plain numpy code, differentiated as written: a battery of functions of one array that call
only `np.` functions and operators. Each gives its gradient and its Hessian through deltagrad
(the Tensor goes into numpy's own functions), checked against central differences of the
function itself (tests/fd.py), which know nothing of the rules.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograd import grad, hessian
from tests.witnesses.finite_differences import assert_grad_close, central_grad

# Entries apart from each other, from zero and from ±1: no kink or tie is near.
X = np.array([[0.61, -0.37, 0.83], [-0.72, 0.24, 0.45]])
C = np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]])
W1 = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
W2 = np.linspace(0.5, -0.5, 8).reshape(4, 2)


def _split_sum(x):
    a, b = np.split(x, [1], axis=1)
    return np.sum(a * a) + np.sum(np.exp(b))


def _mlp(x):
    return np.sum(np.tanh(np.dot(np.tanh(np.dot(x, W1)), W2)))


def _softmax_loss(x):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    return np.sum(e / np.sum(e, axis=1, keepdims=True) * C)


BATTERY = {
    "exp": lambda x: np.sum(np.exp(x)),
    "log": lambda x: np.sum(np.log(x ** 2 + 1)),
    "sin*cos": lambda x: np.sum(np.sin(x) * np.cos(x)),
    "tanh^2": lambda x: np.sum(np.tanh(x) ** 2),
    "abs": lambda x: np.sum(np.abs(x) * x),
    "sqrt": lambda x: np.sum(np.sqrt(x ** 2 + 1)),
    "square": lambda x: np.sum(np.square(x) * x),
    "log2": lambda x: np.sum(np.log2(x ** 2 + 2)),
    "log10": lambda x: np.sum(np.log10(np.exp(x) + 1)),
    "log1p": lambda x: np.sum(np.log1p(x ** 2)),
    "expm1": lambda x: np.sum(np.expm1(x) * x),
    "tan": lambda x: np.sum(np.tan(x / 2)),
    "sinh*cosh": lambda x: np.sum(np.sinh(x) * np.cosh(x)),
    "arcsin": lambda x: np.sum(np.arcsin(x / 2) * x),
    "arccos": lambda x: np.sum(np.arccos(x / 2) ** 2),
    "arctan": lambda x: np.sum(np.arctan(x) * x),
    "arcsinh": lambda x: np.sum(np.arcsinh(2 * x) ** 2),
    "arccosh": lambda x: np.sum(np.arccosh(x ** 2 + 1.5)),
    "arctanh": lambda x: np.sum(np.arctanh(x / 2) * np.exp(x)),
    "maximum": lambda x: np.sum(np.maximum(x, 0.1) ** 3),
    "minimum": lambda x: np.sum(np.minimum(x, np.sin(2 * x)) ** 2),
    "where": lambda x: np.sum(np.where(x > 0, x ** 3, np.exp(x))),
    "clip": lambda x: np.sum(np.clip(x, -0.5, 0.5) ** 3 + x ** 2),
    "var": lambda x: np.var(x * x),
    "std axis": lambda x: np.sum(np.std(x, axis=0) * np.array([1.0, 2.0, 3.0])),
    "var ddof": lambda x: np.sum(np.var(np.exp(x), axis=1, ddof=1)),
    "prod": lambda x: np.prod(x + 1.5),
    "prod axis": lambda x: np.sum(np.prod(x, axis=1) ** 2),
    "cumsum": lambda x: np.sum(np.cumsum(x, axis=1) ** 2),
    "cumsum flat": lambda x: np.sum(np.sin(np.cumsum(x))),
    "diff": lambda x: np.sum(np.diff(x, axis=1) ** 2),
    "diff n=2": lambda x: np.sum(np.diff(np.exp(x), n=2) ** 2),
    "flip": lambda x: np.sum(np.flip(x, axis=0) * x * x),
    "squeeze/expand_dims": lambda x: np.sum(np.squeeze(np.expand_dims(x, 0)) ** 4),
    "moveaxis": lambda x: np.sum((np.moveaxis(x, 0, 1) @ x) ** 2),
    "ravel": lambda x: np.sum(np.ravel(x) ** 3 * np.arange(6)),
    "reshape": lambda x: np.sum(np.tanh(np.reshape(x, (3, 2)) @ np.ones((2, 2)))),
    "transpose": lambda x: np.sum(np.exp(np.transpose(x) @ C)),
    "swapaxes": lambda x: np.sum(np.swapaxes(x, 0, 1) ** 2 * C.T),
    "concatenate": lambda x: np.sum(np.concatenate([x, x ** 2], axis=0) ** 2),
    "concatenate flat": lambda x: np.sum(np.sin(np.concatenate([x, np.exp(x)], axis=None))),
    "stack": lambda x: np.sum(np.stack([x, np.sin(x)], axis=1) ** 3),
    "split": _split_sum,
    "repeat": lambda x: np.sum(np.repeat(x, 2, axis=0) ** 3),
    "repeat flat": lambda x: np.sum(np.sin(np.repeat(x, [1, 2, 1, 3, 1, 2]))),
    "tile": lambda x: np.sum(np.tile(x, (2, 1)) ** 2 * np.tile(C, (2, 1))),
    "pad": lambda x: np.sum(np.exp(np.pad(x, 1))) + np.sum(np.pad(x, ((0, 0), (1, 2))) ** 3
                                                          * np.arange(6)),
    "outer": lambda x: np.sum(np.outer(x, x) ** 2),
    "inner": lambda x: np.sum(np.inner(x, x) ** 2),
    "dot": lambda x: np.sum(np.dot(x, np.transpose(x)) ** 2),
    "dot 3-d": lambda x: np.sum(np.dot(np.reshape(x, (1, 2, 3)), np.stack([x.T, x.T])) ** 2),
    "tensordot": lambda x: np.sum(np.tensordot(x, x, axes=([0], [0])) ** 2),
    "einsum": lambda x: np.einsum("ij,ij->", x, x * x),
    "einsum implicit": lambda x: np.sum(np.einsum("ij,kj", x, np.sin(x)) ** 2),
    "einsum sum-out": lambda x: np.sum(np.einsum("ij->i", np.exp(x)) ** 2),
    "trace": lambda x: np.trace(np.dot(x, np.transpose(x)) ** 2),
    "diagonal": lambda x: np.sum(np.diagonal(np.outer(x, np.exp(x)), offset=1) ** 2),
    "norm": lambda x: np.linalg.norm(x) ** 3,
    "norm axis": lambda x: np.sum(np.linalg.norm(x, axis=1)),
    "norm ord=1": lambda x: np.linalg.norm(np.ravel(x) * np.ravel(x) + x.ravel(), ord=1),
    "norm ord=3": lambda x: np.linalg.norm(np.ravel(x), ord=3),
    "mean": lambda x: np.sum(np.mean(x, axis=0) ** 2),
    "max": lambda x: np.max(np.sin(x)),
    "min axis": lambda x: np.sum(np.min(np.cos(x), axis=1)),
    "logsumexp": lambda x: np.log(np.sum(np.exp(x))),
    "softmax": _softmax_loss,
    "sigmoid": lambda x: np.sum(1.0 / (1.0 + np.exp(-x))),
    "power": lambda x: np.sum(np.power(x ** 2 + 1, 1.5)),
    "mlp": _mlp,
    "broadcast_to": lambda x: np.sum(np.broadcast_to(x, (4, 2, 3)) ** 2 * np.arange(3)),
    "sign": lambda x: np.sum(np.sign(x) * x ** 3),
    "negative": lambda x: np.sum(np.negative(x) * np.exp(x)),
    "reciprocal": lambda x: np.sum(np.reciprocal(x + 2)),
    "log abs": lambda x: np.sum(np.log(np.abs(x))),
    "ndarray @ x": lambda x: np.sum(np.tanh(C.T @ x)),
    "ndarray ** x": lambda x: np.sum(np.array(2.0) ** x),
    "add.reduce": lambda x: np.sum(np.add.reduce(x, axis=0) ** 2),
    "where masks": lambda x: np.sum(np.where(np.abs(x) < 0.5, np.sin(x), np.cos(x))),
    "sum keepdims": lambda x: np.sum(x / np.sum(x * x, axis=0, keepdims=True)),
}


def test_the_battery_is_large_enough():
    assert len(BATTERY) >= 60


@pytest.mark.parametrize("name", sorted(BATTERY))
def test_gradient_of_plain_numpy_code(name):
    f = BATTERY[name]
    assert_grad_close(grad(f)(X), central_grad(f, X), rtol=1e-6, atol=1e-8)


def _numeric_hessian(f, x, h=1e-4):
    """Second central differences of f itself (four evaluations per entry pair)."""
    flat = x.ravel()
    n = flat.size
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            total = 0.0
            for si, sj, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                y = flat.copy()
                y[i] += si * h
                y[j] += sj * h
                total += sign * float(f(y.reshape(x.shape)))
            out[i, j] = total / (4 * h * h)
    return out.reshape(x.shape + x.shape)


@pytest.mark.parametrize("name", sorted(BATTERY))
def test_hessian_of_plain_numpy_code(name):
    f = BATTERY[name]
    h = hessian(f)(X)
    assert h.shape == X.shape + X.shape
    assert_grad_close(h, _numeric_hessian(f, X), rtol=1e-4, atol=1e-5)
