"""The conventions at kinks and ties, pinned: relu and abs at 0, max and min with ties, x**y at
x = 0, sqrt at 0.

Finite differences cannot witness these (the derivative does not exist, or is infinite), so each
is asserted against a hand-written value, which is PyTorch's convention, and against PyTorch
itself where it is installed. No numpy warning may escape on the way.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograd import Tensor, Value, grad

pytestmark = pytest.mark.filterwarnings("error")

INF = math.inf
KINDS = ["value", "tensor", "tensor 0-d"]


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed")


def _ours(f, *xs, kind="tensor"):
    """The gradients of f at the floats xs, taken as Values, 1-entry or 0-d Tensors."""
    if kind == "value":
        nodes = [Value(x) for x in xs]
    else:
        shape = () if kind == "tensor 0-d" else (1,)
        nodes = [Tensor(np.full(shape, x), requires_grad=True) for x in xs]
    out = f(*nodes)
    (out if kind == "value" else out.sum()).backward()
    return [float(np.asarray(n.grad).reshape(-1)[0]) for n in nodes]


def _theirs(f, *xs):
    torch = _torch()
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    f(torch, *ts).backward()
    return [t.grad.item() for t in ts]


def _same(a, b):
    assert np.array_equal(np.asarray(a, float), np.asarray(b, float), equal_nan=False), (a, b)


# ---- relu and abs at 0 --------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("x, expected", [(0.0, 0.0), (-0.0, 0.0), (1e-300, 1.0), (-1e-300, 0.0)])
def test_relu_derivative_at_and_beside_zero(kind, x, expected):
    _same(_ours(lambda t: t.relu(), x, kind=kind), [expected])


@pytest.mark.parametrize("x", [0.0, -0.0, 1e-300, -1e-300])
def test_relu_at_zero_against_pytorch(x):
    _same(_ours(lambda t: t.relu(), x), _theirs(lambda torch, t: torch.relu(t), x))


def test_relu_at_zero_in_a_network_matches_the_delta_recursion():
    from nn import MLP
    from nn.delta import check

    model = MLP([2, 2, 1], activation="relu")
    for layer in model.layers:
        layer.weight.data[...] = 1.0
        layer.bias.data[...] = 0.0
    # x sums to 0 in every hidden unit: every relu sits exactly on its kink
    assert check(model, np.array([[1.0, -1.0], [0.5, -0.5]]), np.array([[1.0], [0.0]])).ok


@pytest.mark.parametrize("x, expected", [(0.0, 0.0), (0.5, 2.0), (-0.5, 0.0)])
@pytest.mark.parametrize("shape", [None, (1,), ()],
                         ids=["value", "tensor", "tensor 0-d"])
def test_second_derivative_through_relu_at_zero(shape, x, expected):
    def f(t):  # relu(x)·x: second derivative 2·[x > 0], 0 at the kink by relu's convention
        out = t.relu() * t
        return out if shape is None else out.sum()

    start = x if shape is None else np.full(shape, x)
    assert float(np.sum(grad(grad(f))(start))) == expected


def _abs(t):
    try:
        return abs(t)
    except TypeError:
        pytest.skip(f"abs() is not defined on {type(t).__name__} in this version")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("x, expected", [(0.0, 0.0), (-0.0, 0.0), (2.0, 1.0), (-2.0, -1.0)])
def test_abs_derivative_is_the_sign_zero_at_zero(kind, x, expected):
    _same(_ours(_abs, x, kind=kind), [expected])


def test_abs_at_zero_against_pytorch():
    _same(_ours(_abs, 0.0), _theirs(lambda torch, t: torch.abs(t), 0.0))


# ---- max and min with ties: the gradient shared equally among the tied entries -----------

TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
MAX_CASES = [
    ((None, False), [[0, 0.5, 0.5], [0, 0, 0]]),
    ((1, False), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]),
    ((1, True), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]),
    ((0, False), [[0, 1, 1], [1, 0, 0]]),
    (((0, 1), False), [[0, 0.5, 0.5], [0, 0, 0]]),
]


def _reduced_grad(method, a, p):
    t = Tensor(a, requires_grad=True)
    getattr(t, method)(*p).sum().backward()
    return t.grad


@pytest.mark.parametrize("p, expected", MAX_CASES, ids=[str(p) for p, _ in MAX_CASES])
def test_max_shares_the_gradient_among_ties(p, expected):
    np.testing.assert_allclose(_reduced_grad("max", TIES, p), expected, rtol=1e-15)


@pytest.mark.parametrize("p, expected", MAX_CASES, ids=[str(p) for p, _ in MAX_CASES])
def test_min_shares_the_gradient_among_ties(p, expected):
    np.testing.assert_allclose(_reduced_grad("min", -TIES, p), expected, rtol=1e-15)


@pytest.mark.parametrize("p", [p for p, _ in MAX_CASES], ids=[str(p) for p, _ in MAX_CASES])
def test_max_and_min_ties_against_pytorch_amax_amin(p):
    torch = _torch()
    for method, theirs in (("max", torch.amax), ("min", torch.amin)):
        a = TIES if method == "max" else -TIES
        t = torch.tensor(a, requires_grad=True)
        axis, keep = p
        dims = tuple(range(a.ndim)) if axis is None else axis
        theirs(t, dim=dims, keepdim=keep).sum().backward()
        np.testing.assert_allclose(_reduced_grad(method, a, p), t.grad.numpy(), rtol=1e-15)


def test_max_ties_in_float32_keep_the_dtype_and_the_shares():
    t = Tensor(np.array([2.0, 2.0, 1.0, 2.0], dtype=np.float32), requires_grad=True)
    t.max().backward()
    assert t.grad.dtype == np.float32
    np.testing.assert_allclose(t.grad, [1 / 3, 1 / 3, 0, 1 / 3], rtol=1e-6)


# ---- x**y at x = 0, and sqrt at 0 ----------------------------------------------------------

_YNEG = pytest.mark.xfail(strict=True, reason="edge bug: ∂(0**y)/∂y for y < 0 is nan "
                          "(inf · 0), PyTorch gives -inf")

# (y, ∂(0**y)/∂x, ∂(0**y)/∂y) with PyTorch's conventions
POW_AT_ZERO = [
    pytest.param(0.0, 0.0, 0.0, id="y=0"),
    pytest.param(1.0, 1.0, 0.0, id="y=1"),
    pytest.param(2.0, 0.0, 0.0, id="y=2"),
    pytest.param(3.0, 0.0, 0.0, id="y=3"),
    pytest.param(0.5, INF, 0.0, id="y=0.5"),
    pytest.param(-1.0, -INF, -INF, marks=_YNEG, id="y=-1"),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("y, dx, dy", POW_AT_ZERO)
def test_power_at_zero_base(kind, y, dx, dy):
    _same(_ours(lambda a, b: a ** b, 0.0, y, kind=kind), [dx, dy])


@pytest.mark.parametrize("y, dx, dy", POW_AT_ZERO)
def test_power_at_zero_base_against_pytorch(y, dx, dy):
    with np.errstate(all="ignore"):
        _same(_ours(lambda a, b: a ** b, 0.0, y), _theirs(lambda torch, a, b: a ** b, 0.0, y))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("y, dx", [pytest.param(0.0, 0.0, id="y=0"),
                                   (1.0, 1.0), (2.0, 0.0), (0.5, INF), (-2.0, -INF)])
def test_power_by_a_constant_at_zero(kind, y, dx):
    _same(_ours(lambda a: a ** y, 0.0, kind=kind), [dx])


@pytest.mark.parametrize("y, d2", [(2.0, 2.0), (3.0, 0.0), (4.0, 0.0)])
def test_second_derivative_of_a_power_at_zero(y, d2):
    assert grad(grad(lambda x: x ** y))(0.0) == d2
    torch = _torch()
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(t ** y, t, create_graph=True)
    (h,) = torch.autograd.grad(g, t)
    assert h.item() == d2


@pytest.mark.parametrize("kind", KINDS)
def test_sqrt_at_zero_is_infinite(kind):
    _same(_ours(lambda t: t ** 0.5, 0.0, kind=kind), [INF])


def test_sqrt_at_zero_against_pytorch():
    _same(_ours(lambda t: t ** 0.5, 0.0), _theirs(lambda torch, t: torch.sqrt(t), 0.0))
