"""`nn.compile_step(model, loss_fn, optimizer)`: forward, loss, backward and the optimizer's
step on one mini-batch, as one compiled call.

    step = compile_step(model, mse_loss, SGD(model.parameters(), lr=3.0))
    for xb, yb in batches:
        loss = step(xb, yb)        # a constant Tensor: the batch's loss before the update

Any model, loss and optimizer work: zero_grad, forward, loss and backward run under
`autograd.compile` (captured once per batch shape, checked against eager, then replayed), and
the optimizer's own in-place `step()` follows. The document's network, an MLP of sigmoid (or
identity) layers with `mse_loss` and plain SGD, gets a hand-fused plan instead: preallocated
buffers for every activation, δ and gradient, and four fusions, each of which can be turned
off (`fusions=`) to measure it alone:

    "sgd"      the update folded into the weight-gradient matmul: W −= (η δ)ᵀ a, scaling the
               small δ (m × out) instead of the large gradient (out × in)
    "sigmoid"  σ(z) = exp(−ln(1 + e⁻ᶻ)) in place, exact and silent at any z, without the
               eager rule's per-call overflow scan (z.min())
    "cost"     the quadratic cost's gradient (a − y)/m taken from the forward pass's a − y,
               not recomputed
    "gather"   (in nn.train) each mini-batch taken into a preallocated buffer

The plan is checked against the eager step on its first use for each batch shape (the
parameters it reaches must agree to 64 ulps) and falls back to the general path if they do
not. It consumes the gradients in the update, so after a fused step `.grad` is None, as after
zero_grad(); the general path leaves the last batch's gradients, as eager does.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from autograd import CompileWarning, Tensor
from autograd import compile as compile_fn
from nn.layers import MLP, Identity, Sigmoid
from nn.losses import mse_loss
from nn.optim import SGD

FUSIONS = ("sgd", "sigmoid", "cost")


def compile_step(model: Callable[[Any], Tensor], loss_fn: Callable[[Tensor, Any], Tensor],
                 optimizer: Any, *, fusions: bool | Iterable[str] = True) -> CompiledStep:
    """One call does optimizer.zero_grad(), loss_fn(model(x), y).backward() and
    optimizer.step(); returns the loss. `fusions` (True: all, False: none, or names from
    FUSIONS) applies to the document's network only."""
    if not callable(model) or not callable(loss_fn):
        raise TypeError("compile_step needs a callable model and a callable loss_fn, got "
                        f"{type(model).__name__} and {type(loss_fn).__name__}")
    if not (callable(getattr(optimizer, "zero_grad", None))
            and callable(getattr(optimizer, "step", None))):
        raise TypeError(f"optimizer must have zero_grad() and step() (nn.SGD, nn.Adam), got "
                        f"{type(optimizer).__name__}")
    return CompiledStep(model, loss_fn, optimizer, _fusion_names(fusions))


def _fusion_names(fusions: bool | Iterable[str]) -> frozenset[str]:
    if fusions is True:
        return frozenset(FUSIONS)
    if fusions is False:
        return frozenset()
    names = frozenset(fusions)
    unknown = sorted(names - set(FUSIONS))
    if unknown:
        raise ValueError(f"unknown fusions {unknown}; valid: {', '.join(FUSIONS)}")
    return names


class CompiledStep:
    """The callable compile_step returns: step(x, y) -> loss (a constant Tensor)."""

    def __init__(self, model: Any, loss_fn: Any, optimizer: Any,
                 fusions: frozenset[str]) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.fusions = fusions
        self._general = compile_fn(self._backward)
        self._plans: dict[tuple[Any, ...], Any] = {}
        self._fusable = _fusable(model, loss_fn, optimizer)

    def _backward(self, x: Tensor, y: Tensor) -> Tensor:
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        return loss

    def __call__(self, x: Any, y: Any) -> Tensor:
        x, y = _array(x, "x"), _array(y, "y")
        if self._fusable and type(x) is np.ndarray and type(y) is np.ndarray:
            loss = self._fused(x, y)
            if loss is not None:
                return Tensor._from_data(loss)
        loss = self._general(x, y)
        self.optimizer.step()
        return loss

    def _fused(self, x: np.ndarray, y: np.ndarray) -> Any:
        """The step through the fused plan for this batch shape: its loss, or None when the
        general path must take the step (first call of a shape, or no plan)."""
        key = (x.shape, x.dtype.char, y.shape, y.dtype.char)
        plan = self._plans.get(key)
        if plan is None:
            plan = _MLPPlan.build(self.model, self.optimizer, x, y, self.fusions)
            self._plans[key] = plan if plan is not None else False
            return None
        if plan is False or not plan.fits():
            return None
        if plan.checked:
            return plan(x, y)
        loss = plan.check(x, y, self._eager_step)  # the step eager took
        if not plan.checked:
            self._plans[key] = False
            warnings.warn("the fused step disagrees with eager; using the general compiled "
                          "path", CompileWarning, stacklevel=3)
        return loss

    def _eager_step(self, x: np.ndarray, y: np.ndarray) -> float:
        loss = self._backward(Tensor._from_data(x), Tensor._from_data(y))
        self.optimizer.step()
        return float(loss.data)


def _array(a: Any, name: str) -> Any:
    """An ndarray, or a Tensor kept as it is; anything else is refused by name."""
    if isinstance(a, (np.ndarray, Tensor)):
        return a
    raise TypeError(f"a compiled step takes {name} as an ndarray or a Tensor, got "
                    f"{type(a).__name__}")


def _fusable(model: Any, loss_fn: Any, optimizer: Any) -> bool:
    """The document's network: an MLP of sigmoid or identity layers, mse_loss, plain SGD over
    exactly the model's parameters."""
    if type(model) is not MLP or loss_fn is not mse_loss or type(optimizer) is not SGD:
        return False
    if optimizer.momentum or optimizer.weight_decay or len(getattr(optimizer, "param_groups",
                                                                    [None])) != 1:
        return False
    if {id(p) for p in optimizer.params} != {id(p) for p in model.parameters()}:
        return False
    return all(type(a) in (Sigmoid, Identity) for a in model.activations)


# ---- the document's step, fused -------------------------------------------------------------

class _MLPPlan:
    """Forward, quadratic cost, δ recursion and SGD update in preallocated buffers."""

    def __init__(self, model: MLP, optimizer_lr: Callable[[], float], m: int, dtype: Any,
                 fusions: frozenset[str]) -> None:
        self.layers = [(la.weight, la.bias, type(act) is Sigmoid)
                       for la, act in zip(model.layers, model.activations)]
        self.shapes = [(w.data.shape, b.data.shape, w.data.dtype) for w, b, _ in self.layers]
        self.lr = optimizer_lr
        self.fusions = fusions
        self.checked = False
        self.m = m
        self.scale = np.asarray(1.0, dtype) / m  # the eager seed (1.0) over m, in its dtype
        widths = [w.data.shape[0] for w, _, _ in self.layers]
        self.h = [np.empty((m, n), dtype) for n in widths]      # z, then σ(z) in place
        self.delta = [np.empty((m, n), dtype) for n in widths]
        self.tmp = [np.empty((m, n), dtype) for n in widths]
        self.gw = [np.empty_like(w.data) for w, _, _ in self.layers]
        self.gb = [np.empty_like(b.data) for _, b, _ in self.layers]
        self.d = np.empty((m, widths[-1]), dtype)

    @classmethod
    def build(cls, model: MLP, optimizer: SGD, x: np.ndarray, y: np.ndarray,
              fusions: frozenset[str]) -> _MLPPlan | None:
        """A plan for batches shaped like x and y, or None when they do not fit one."""
        dtype = model.layers[0].weight.data.dtype
        dtypes = {la.weight.data.dtype for la in model.layers} | {x.dtype, y.dtype}
        if (x.ndim != 2 or y.ndim != 2 or len(x) != len(y) or not len(x) or dtypes != {dtype}
                or x.shape[1] != model.layers[0].in_features
                or y.shape[1] != model.layers[-1].out_features):
            return None
        return cls(model, lambda: optimizer.lr, len(x), dtype, fusions)

    def fits(self) -> bool:
        """The parameters still have the shapes and dtype the buffers were made for."""
        return all((w.data.shape, b.data.shape, w.data.dtype) == s
                   for (w, b, _), s in zip(self.layers, self.shapes))

    def check(self, x: np.ndarray, y: np.ndarray, eager: Callable[..., float]) -> np.ndarray:
        """Run the plan and the eager step from the same parameters; keep eager's result and
        return its loss. `checked` says whether the two agreed."""
        params = [t for w, b, _ in self.layers for t in (w, b)]
        start = [p.data.copy() for p in params]
        loss = self(x, y)
        fused = [p.data.copy() for p in params]
        for p, s in zip(params, start):
            p.data[...] = s
        eager_loss = eager(x, y)
        tol = 64 * np.finfo(self.scale.dtype).eps
        self.checked = bool(np.isclose(loss, eager_loss, rtol=tol, atol=tol)) and all(
            np.allclose(f, p.data, rtol=tol, atol=tol) for f, p in zip(fused, params))
        return np.asarray(eager_loss, dtype=self.scale.dtype)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        a = x
        for (w, b, sig), h in zip(self.layers, self.h):
            np.matmul(a, w.data.T, out=h)
            h += b.data
            if sig:
                self._sigmoid(h)
            a = h
        loss = self._cost(a, y)
        self._backward(x, self.lr())
        return loss

    def _sigmoid(self, h: np.ndarray) -> None:
        if "sigmoid" in self.fusions:
            # σ(z) = exp(−softplus(−z)): logaddexp never overflows and exp only underflows
            # (silently, to the exact 0), so no scan of z is needed.
            np.negative(h, out=h)
            np.logaddexp(0.0, h, out=h)
            np.negative(h, out=h)
            np.exp(h, out=h)
        else:
            h[...] = _eager_sigmoid(h)

    def _cost(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """J = Σ‖a − y‖² / 2m, and δᴸ's first factor ∂J/∂a = (a − y)/m into delta[-1]."""
        d = np.subtract(a, y, out=self.d)
        loss = np.asarray(np.vdot(d, d) / (2 * self.m))
        if "cost" not in self.fusions:
            d = a - y  # what the eager rule does: a − y once more
        np.multiply(d, self.scale, out=self.delta[-1])
        if self.layers[-1][2]:
            self._sigmoid_grad(-1)
        return loss

    def _sigmoid_grad(self, i: int) -> None:
        """delta[i] ⊙= σ′ = a(1 − a), in the eager rule's order: (g·a)·(1 − a)."""
        a, t = self.h[i], self.tmp[i]
        self.delta[i] *= a
        np.subtract(1.0, a, out=t)
        self.delta[i] *= t

    def _backward(self, x: np.ndarray, lr: float) -> None:
        """δˡ = δˡ⁺¹ Wˡ⁺¹ ⊙ σ′(zˡ); W −= η δᵀ aˡ⁻¹; b −= η Σ δ; each W used before its update."""
        for i in range(len(self.layers) - 1, -1, -1):
            w, b, _ = self.layers[i]
            delta = self.delta[i]
            prev = self.h[i - 1] if i else x
            if i:
                np.matmul(delta, w.data, out=self.delta[i - 1])
                if self.layers[i - 1][2]:
                    self._sigmoid_grad(i - 1)
            gw, gb = self.gw[i], self.gb[i]
            if "sgd" in self.fusions:
                np.multiply(delta, lr, out=self.tmp[i])
                np.matmul(self.tmp[i].T, prev, out=gw)
            else:
                np.matmul(delta.T, prev, out=gw)
                gw *= lr
            np.sum(delta, axis=0, out=gb)
            gb *= lr
            w.data -= gw
            b.data -= gb
        for w, b, _ in self.layers:
            w.grad = b.grad = None


def _eager_sigmoid(z: np.ndarray) -> np.ndarray:
    from autograd.rules import sigmoid

    return sigmoid.fun(z)
