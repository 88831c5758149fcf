"""conv2d and pooling against PyTorch in float64, gradients to 1e-9 relative (optional:
skipped where torch is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

from autograd import Tensor
from autograd.rules import avg_pool2d, conv2d, max_pool2d

torch = pytest.importorskip("torch", reason="PyTorch not installed: optional cross-check")
F = torch.nn.functional
RNG = np.random.default_rng(11)


def _close(ours, theirs, rel=1e-9):
    theirs = theirs.detach().numpy()
    scale = max(float(np.abs(theirs).max()), 1e-300)
    assert float(np.abs(np.asarray(ours) - theirs).max()) <= rel * scale


@pytest.mark.parametrize("shape, out, k, s, p", [
    ((2, 3, 7, 6), 4, 3, 1, 0),
    ((2, 2, 9, 8), 3, (3, 2), 2, 1),
    ((1, 1, 28, 28), 20, 5, 1, 0),
    ((4, 20, 12, 12), 40, 5, 1, 0),
    ((3, 2, 8, 8), 2, 2, 3, 0),
    ((1, 2, 6, 7), 3, (1, 3), (2, 1), (0, 2)),
])
def test_conv2d_matches_torch(shape, out, k, s, p):
    kk = (k, k) if isinstance(k, int) else k
    arrays = RNG.standard_normal(shape), RNG.standard_normal((out, shape[1], *kk)), \
        RNG.standard_normal(out)
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    z = conv2d(*ours, s, p)
    zt = F.conv2d(*theirs, stride=s, padding=p)
    g = RNG.standard_normal(z.shape)
    (z * g).sum().backward()
    (zt * torch.tensor(g)).sum().backward()
    _close(z.data, zt)
    for a, b in zip(ours, theirs):
        _close(a.grad, b.grad)


@pytest.mark.parametrize("name, k, s", [("max", 2, None), ("max", 3, 2), ("max", 2, 1),
                                        ("avg", 2, None), ("avg", (2, 3), 1)])
def test_pools_match_torch_with_ties(name, k, s):
    # integers make ties everywhere: PyTorch's tie rule is the reference
    x = RNG.integers(0, 3, (2, 3, 7, 7)).astype(np.float64)
    ours, theirs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    op, top = (max_pool2d, F.max_pool2d) if name == "max" else (avg_pool2d, F.avg_pool2d)
    z, zt = op(ours, k, s), top(theirs, k, s)
    g = RNG.standard_normal(z.shape)
    (z * g).sum().backward()
    (zt * torch.tensor(g)).sum().backward()
    _close(z.data, zt)
    _close(ours.grad, theirs.grad)


def test_second_derivative_matches_torch():
    x, w, b, v = (RNG.standard_normal(s) for s in ((2, 2, 7, 7), (3, 2, 3, 3), (3,), (2, 2, 7, 7)))

    def loss(conv, pool, xs, ws, bs):
        z = conv(xs, ws, bs, 2, 1).tanh()
        return ((pool[0](z, 2, 1) + pool[1](z, 2, 1)) ** 2).sum()

    ours = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    loss(conv2d, (max_pool2d, avg_pool2d), *ours).backward(create_graph=True)
    gx = ours[0].grad
    for t in ours:
        t.grad = None
    (gx * v).sum().backward()
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    conv = lambda x, w, b, s, p: F.conv2d(x, w, b, stride=s, padding=p)  # noqa: E731
    (gxt,) = torch.autograd.grad(loss(conv, (F.max_pool2d, F.avg_pool2d), *theirs), theirs[0],
                                 create_graph=True)
    (gxt * torch.tensor(v)).sum().backward()
    _close(gx.data, gxt)
    for a, t in zip(ours, theirs):
        _close(a.grad, t.grad)
