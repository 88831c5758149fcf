"""Cross-checks against PyTorch in float64 (optional: skipped where torch is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor, Value, hessian

torch = pytest.importorskip("torch", reason="PyTorch not installed: optional cross-check")

RTOL = 1e-10


def _pair(data: np.ndarray) -> tuple[Tensor, torch.Tensor]:
    """The same float64 data as our leaf and as a torch leaf."""
    return Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)


def _close(ours, theirs) -> None:
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    ours = ours.data if isinstance(ours, Tensor) else ours
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu"])
def test_mlp_forward_and_backward(act):
    rng = np.random.default_rng(0)
    shapes = [(8, 10), (8,), (4, 8), (4,)]
    ours, theirs = zip(*(_pair(rng.normal(size=s)) for s in shapes))
    x, y = rng.normal(size=(6, 10)), rng.uniform(size=(6, 4))

    def run(params, x, y, lib_act):
        w1, b1, w2, b2 = params
        h = lib_act(x @ w1.T + b1)
        out = (h @ w2.T + b2).sigmoid()
        return ((out - y) ** 2).sum() / (2 * len(x))

    a = run(ours, Tensor(x), Tensor(y), lambda z: getattr(z, act)())
    b = run(theirs, torch.tensor(x), torch.tensor(y), getattr(torch, act))
    a.backward()
    b.backward()
    _close(a, b)
    for p, q in zip(ours, theirs):
        _close(p.grad, q.grad)


def test_softmax_cross_entropy():
    rng = np.random.default_rng(1)
    logits, t_logits = _pair(rng.normal(size=(7, 5)) * 3.0)
    labels = rng.integers(0, 5, size=7)
    loss = -logits.log_softmax(axis=1)[np.arange(7), labels].mean()
    t_loss = torch.nn.functional.cross_entropy(t_logits, torch.tensor(labels))
    loss.backward()
    t_loss.backward()
    _close(loss, t_loss)
    _close(logits.grad, t_logits.grad)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 2)])
def test_logsumexp_and_softmax(axis):
    rng = np.random.default_rng(2)
    x, tx = _pair(rng.normal(size=(3, 4, 5)) * 10.0)
    w = rng.normal(size=(3, 4, 5))
    dims = tuple(range(3)) if axis is None else axis
    lse, t_lse = x.logsumexp(axis=axis), torch.logsumexp(tx, dim=dims)
    soft, t_soft = x.softmax(axis=1), torch.softmax(tx, dim=1)
    (lse.sum() + (soft * Tensor(w)).sum()).backward()
    (t_lse.sum() + (t_soft * torch.tensor(w)).sum()).backward()
    _close(lse, t_lse)
    _close(soft, t_soft)
    _close(x.grad, tx.grad)


@pytest.mark.parametrize(("sa", "sb"), [((2, 1, 3, 4), (5, 4, 2)), ((4,), (3, 4, 2)),
                                        ((3, 2, 4), (4,)), ((6, 4), (4, 3))])
def test_batched_matmul(sa, sb):
    rng = np.random.default_rng(3)
    a, ta = _pair(rng.normal(size=sa))
    b, tb = _pair(rng.normal(size=sb))
    out, t_out = a @ b, ta @ tb
    w = rng.normal(size=out.shape)
    out.backward(w)
    t_out.backward(torch.tensor(w))
    _close(out, t_out)
    _close(a.grad, ta.grad)
    _close(b.grad, tb.grad)


@pytest.mark.parametrize("index", [
    np.array([0, 2, 2, 4, 0]), (np.array([1, 1, 3]), np.array([0, 2, 0])),
    (slice(1, None, 2), np.array([2, 2])), "mask",
], ids=["rows-repeated", "pairs", "slice-and-array", "mask"])
def test_indexing_gradients(index):
    rng = np.random.default_rng(4)
    x, tx = _pair(rng.normal(size=(5, 3)))
    if isinstance(index, str):
        index = x.data > 0
    t_index = tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i
                    for i in (index if isinstance(index, tuple) else (index,)))
    out, t_out = x[index], tx[t_index]
    w = rng.normal(size=out.shape)
    (out * Tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    _close(out, t_out)
    _close(x.grad, tx.grad)


def test_second_derivatives():
    rng = np.random.default_rng(5)
    A, x0 = rng.normal(size=(4, 4)), rng.normal(size=4)
    ours = hessian(lambda t: (Tensor(A) @ t).tanh().sum() * t.sigmoid().sum())(x0)
    theirs = torch.autograd.functional.hessian(
        lambda t: torch.tanh(torch.tensor(A) @ t).sum() * torch.sigmoid(t).sum(),
        torch.tensor(x0))
    _close(ours, theirs)


def test_gradient_penalty_double_backward():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(5, 3))
    w, tw = _pair(rng.normal(size=3))
    f, t_f = (Tensor(X) @ w).sigmoid().sum(), torch.sigmoid(torch.tensor(X) @ tw).sum()
    f.backward(create_graph=True)
    (tg,) = torch.autograd.grad(t_f, tw, create_graph=True)
    g = w.grad
    w.grad = None
    (f + (g * g).sum()).backward()
    (t_f + (tg * tg).sum()).backward()
    _close(w.grad, tw.grad)


def test_scalar_values_match_torch():
    a, b = Value(-1.3), Value(0.7)
    out = ((a * b).exp() + (a - b).tanh() * b.sigmoid()) / (a ** 2 + 1.0) + a.relu() + b ** b
    out.backward()
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (-1.3, 0.7))
    t_out = (((ta * tb).exp() + (ta - tb).tanh() * tb.sigmoid()) / (ta ** 2 + 1.0)
             + ta.relu() + tb ** tb)
    t_out.backward()
    _close(out.data, t_out)
    _close([a.grad, b.grad], [ta.grad.item(), tb.grad.item()])


# ---- the numpy op set: numpy code on our Tensors against the same op in PyTorch ----------------

_C = np.linspace(-1.0, 1.0, 12).reshape(3, 4)

# name: (our numpy-style function, the torch function, lo, hi) on a (3, 4) input
NUMPY_OPS = {
    "abs": (np.abs, torch.abs, -2.0, 2.0),
    "sign": (lambda x: np.sign(x) * x ** 2, lambda x: torch.sign(x) * x ** 2, -2.0, 2.0),
    "sqrt": (np.sqrt, torch.sqrt, 0.2, 3.0),
    "square": (np.square, torch.square, -2.0, 2.0),
    "log2": (np.log2, torch.log2, 0.2, 3.0),
    "log10": (np.log10, torch.log10, 0.2, 3.0),
    "log1p": (np.log1p, torch.log1p, -0.8, 3.0),
    "expm1": (np.expm1, torch.expm1, -2.0, 2.0),
    "tan": (np.tan, torch.tan, -1.2, 1.2),
    "sinh": (np.sinh, torch.sinh, -2.0, 2.0),
    "cosh": (np.cosh, torch.cosh, -2.0, 2.0),
    "arcsin": (np.arcsin, torch.asin, -0.9, 0.9),
    "arccos": (np.arccos, torch.acos, -0.9, 0.9),
    "arctan": (np.arctan, torch.atan, -2.0, 2.0),
    "arcsinh": (np.arcsinh, torch.asinh, -2.0, 2.0),
    "arccosh": (np.arccosh, torch.acosh, 1.1, 3.0),
    "arctanh": (np.arctanh, torch.atanh, -0.9, 0.9),
    "maximum": (lambda x: np.maximum(x, x[::-1] * 0.5),
                lambda x: torch.maximum(x, x.flip(0) * 0.5), -2.0, 2.0),
    "minimum": (lambda x: np.minimum(x ** 2, 0.5), lambda x: torch.clamp(x ** 2, max=0.5),
                -2.0, 2.0),
    "where": (lambda x: np.where(x > 0, x ** 3, np.sin(x)),
              lambda x: torch.where(x > 0, x ** 3, torch.sin(x)), -2.0, 2.0),
    "clip": (lambda x: np.clip(x, -0.5, 0.7) ** 2, lambda x: torch.clamp(x, -0.5, 0.7) ** 2,
             -2.0, 2.0),
    "var": (lambda x: np.var(x, axis=1), lambda x: torch.var(x, dim=1, correction=0), -2.0, 2.0),
    "std": (lambda x: np.std(x, axis=0, ddof=1), lambda x: torch.std(x, dim=0), -2.0, 2.0),
    "prod": (lambda x: np.prod(x, axis=1), lambda x: torch.prod(x, dim=1), -2.0, 2.0),
    "min": (lambda x: np.min(x, axis=0), lambda x: torch.amin(x, dim=0), -2.0, 2.0),
    "cumsum": (lambda x: np.cumsum(x, axis=1) ** 2, lambda x: torch.cumsum(x, dim=1) ** 2,
               -2.0, 2.0),
    "diff": (lambda x: np.diff(x, axis=0) ** 2, lambda x: torch.diff(x, dim=0) ** 2, -2.0, 2.0),
    "flip": (lambda x: np.flip(x, 1) * x, lambda x: torch.flip(x, (1,)) * x, -2.0, 2.0),
    "squeeze/expand_dims": (lambda x: np.squeeze(np.expand_dims(x, 1) ** 3),
                            lambda x: torch.squeeze(torch.unsqueeze(x, 1) ** 3), -2.0, 2.0),
    "moveaxis": (lambda x: np.moveaxis(x, 0, 1) @ x, lambda x: torch.movedim(x, 0, 1) @ x,
                 -2.0, 2.0),
    "flatten": (lambda x: np.ravel(x) ** 2, lambda x: torch.flatten(x) ** 2, -2.0, 2.0),
    "concatenate": (lambda x: np.concatenate([x, x ** 2], axis=1),
                    lambda x: torch.cat([x, x ** 2], dim=1), -2.0, 2.0),
    "stack": (lambda x: np.stack([x, np.exp(x)], axis=2),
              lambda x: torch.stack([x, torch.exp(x)], dim=2), -2.0, 2.0),
    "split": (lambda x: np.split(x, 2, axis=1)[1] ** 3,
              lambda x: torch.split(x, 2, dim=1)[1] ** 3, -2.0, 2.0),
    "repeat": (lambda x: np.repeat(x, 2, axis=0) ** 3,
               lambda x: torch.repeat_interleave(x, 2, dim=0) ** 3, -2.0, 2.0),
    "tile": (lambda x: np.tile(x, (2, 3)) ** 2, lambda x: torch.tile(x, (2, 3)) ** 2, -2.0, 2.0),
    "pad": (lambda x: np.pad(x ** 2, ((1, 0), (2, 1))),
            lambda x: torch.nn.functional.pad(x ** 2, (2, 1, 1, 0)), -2.0, 2.0),
    "outer": (lambda x: np.outer(x, x[0]), lambda x: torch.outer(x.flatten(), x[0]), -2.0, 2.0),
    "inner": (lambda x: np.inner(x, x), lambda x: torch.inner(x, x), -2.0, 2.0),
    "dot": (lambda x: np.dot(x, x.T), lambda x: x @ x.T, -2.0, 2.0),
    "tensordot": (lambda x: np.tensordot(x, np.sin(x), axes=([0], [0])),
                  lambda x: torch.tensordot(x, torch.sin(x), dims=([0], [0])), -2.0, 2.0),
    "einsum": (lambda x: np.einsum("ij,kj->ik", x, x ** 2),
               lambda x: torch.einsum("ij,kj->ik", x, x ** 2), -2.0, 2.0),
    "trace": (lambda x: np.trace(np.dot(x, x.T)), lambda x: torch.trace(x @ x.T), -2.0, 2.0),
    "diagonal": (lambda x: np.diagonal(x, 1) ** 2, lambda x: torch.diagonal(x, 1) ** 2,
                 -2.0, 2.0),
    "norm": (lambda x: np.linalg.norm(x, axis=1), lambda x: torch.linalg.norm(x, dim=1),
             -2.0, 2.0),
    "norm all": (lambda x: np.linalg.norm(x), lambda x: torch.linalg.norm(x), -2.0, 2.0),
}


@pytest.mark.parametrize("name", sorted(NUMPY_OPS))
def test_numpy_op_gradient_and_hessian_vector_product(name):
    ours, theirs, lo, hi = NUMPY_OPS[name]
    rng = np.random.default_rng(sorted(NUMPY_OPS).index(name))
    data = rng.uniform(lo, hi, size=(3, 4))
    x, tx = _pair(data)
    out, t_out = ours(x), theirs(tx)
    _close(out, t_out)
    w, v = rng.normal(size=out.shape), rng.normal(size=data.shape)
    (out * Tensor(w)).sum().backward(create_graph=True)
    (t_grad,) = torch.autograd.grad((t_out * torch.tensor(w)).sum(), tx, create_graph=True)
    _close(x.grad, t_grad)
    g, x.grad = x.grad, None
    if not g.requires_grad:  # piecewise linear (abs, max, min): the gradient is constant
        if t_grad.requires_grad:
            (t_hvp,) = torch.autograd.grad((t_grad * torch.tensor(v)).sum(), tx)
            np.testing.assert_array_equal(t_hvp.numpy(force=True), 0.0)
        return
    (t_hvp,) = torch.autograd.grad((t_grad * torch.tensor(v)).sum(), tx)
    (g * Tensor(v)).sum().backward()
    np.testing.assert_allclose(x.grad, t_hvp.numpy(), rtol=1e-9, atol=1e-12)
