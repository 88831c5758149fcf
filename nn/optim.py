"""Optimizers: SGD (the document's update), SGD with momentum, and Adam.

`SGD(params, lr=eta).step()` is `p.data -= eta * p.grad` for every parameter: with mse_loss
(the mean over the batch) that is exactly the document's update_mini_batch. step() runs once
per mini-batch, so it works in place on preallocated buffers and allocates nothing per call.
Parameters whose `.grad` is None (they took no part in the loss) are left alone.

L2 weight decay adds `weight_decay * p` to each gradient before the update (the gradient of
(weight_decay / 2) ‖p‖²), as PyTorch's `weight_decay` does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd import Tensor
from autograd.graph import changed_in_place


class Optimizer:
    """The shared part: a checked parameter list, a learning rate, zero_grad."""

    def __init__(self, params: Iterable[Tensor], lr: float, weight_decay: float = 0.0) -> None:
        self.params = _checked_params(params, type(self).__name__)
        self.lr = _checked_number(lr, "lr", type(self).__name__)
        self.weight_decay = _checked_number(weight_decay, "weight_decay", type(self).__name__)
        # One scratch array per parameter: the step's temporaries live here, not in new arrays.
        self._scratch = [np.empty_like(p.data) for p in self.params]
        for p in self.params:  # so `p.data = ...` refuses a new shape or dtype, naming us
            p._held_by = type(self).__name__

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (`p.grad = None`) before the next backward."""
        for p in self.params:
            p.grad = None

    def _gradient(self, p: Tensor, g: Any, scratch: np.ndarray) -> np.ndarray:
        """The gradient the update uses: p.grad, plus weight_decay · p when decay is on."""
        if type(g) is not np.ndarray:
            g = _raw(g)
        if self.weight_decay:
            np.multiply(p.data, self.weight_decay, out=scratch)
            scratch += g
            return scratch
        return g


class SGD(Optimizer):
    """p ← p − lr · v, with v = g (plain) or v ← momentum · v + g (heavy ball, as PyTorch)."""

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.floating)):
            raise TypeError(f"SGD momentum must be a number, got {type(momentum).__name__}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self._velocity: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient."""
        if self.momentum or self.weight_decay:
            self._step_with_extras()
            return
        # The document's update, the hot path: two in-place ufuncs per parameter, and one call
        # for all the version bumps (through the `.data` setter they cost 2% of the epoch).
        lr = self.lr
        stepped = []
        for p, buf in zip(self.params, self._scratch):
            g = p.grad
            if g is not None:
                np.multiply(g if type(g) is np.ndarray else _raw(g), lr, out=buf)
                data = p.data
                np.subtract(data, buf, out=data)
                stepped.append(p)
        changed_in_place(stepped)

    def _step_with_extras(self) -> None:
        lr = self.lr
        for i, (p, buf) in enumerate(zip(self.params, self._scratch)):
            if p.grad is None:
                continue
            g = self._gradient(p, p.grad, buf)
            if self.momentum:
                g = self._momentum(i, g)
            np.multiply(g, lr, out=buf)
            p.data -= buf

    def _momentum(self, i: int, g: np.ndarray) -> np.ndarray:
        v = self._velocity[i]
        if v is None:
            # The first step starts the velocity at the gradient itself (PyTorch's convention).
            v = self._velocity[i] = np.array(g, dtype=self.params[i].data.dtype)
        else:
            v *= self.momentum
            v += g
        return v

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, "
                f"weight_decay={self.weight_decay})")


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with bias correction; L2 decay is added to the gradient."""

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        b1, b2 = _checked_betas(betas)
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)):
            raise TypeError(f"Adam eps must be a number, got {type(eps).__name__}")
        if not (eps > 0 and math.isfinite(eps)):
            raise ValueError(f"Adam eps must be a positive number, got {eps!r}")
        self.betas = (b1, b2)
        self.eps = float(eps)
        self._m = [np.zeros_like(p.data) for p in self.params]
        self._v = [np.zeros_like(p.data) for p in self.params]
        self._t = [0] * len(self.params)
        # A second buffer: with weight decay on, the gradient itself lives in the first.
        self._tmp = [np.empty_like(p.data) for p in self.params]

    def step(self) -> None:
        """m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr·m̂ / (√v̂ + eps)."""
        b1, b2 = self.betas
        for i, (p, buf) in enumerate(zip(self.params, self._scratch)):
            if p.grad is None:
                continue
            g = self._gradient(p, p.grad, buf)
            m, v, tmp = self._m[i], self._v[i], self._tmp[i]
            self._t[i] = t = self._t[i] + 1
            m *= b1
            m += np.multiply(g, 1 - b1, out=tmp)
            v *= b2
            np.multiply(g, g, out=tmp)
            v += np.multiply(tmp, 1 - b2, out=tmp)
            # lr·m̂ / (√v̂ + eps), with m̂ = m / (1 − β₁ᵗ) and v̂ = v / (1 − β₂ᵗ)
            np.sqrt(v, out=tmp)
            tmp /= math.sqrt(1 - b2 ** t)
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= self.lr / (1 - b1 ** t)
            p.data -= tmp

    def __repr__(self) -> str:
        return (f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps}, "
                f"weight_decay={self.weight_decay})")


def _raw(g: Any) -> np.ndarray:
    """A gradient as an ndarray (it is a Tensor after a backward with create_graph=True)."""
    return np.asarray(g.data if isinstance(g, Tensor) else g)


def _checked_params(params: Iterable[Tensor], who: str) -> list[Tensor]:
    """The parameters as a list of distinct Tensors, or an error saying what is wrong."""
    if hasattr(params, "parameters") and callable(params.parameters):
        raise TypeError(f"{who} takes the parameters, not the model: {who}(model.parameters(), "
                        "...)")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{who} needs an iterable of Tensors, got "
                        f"{type(params).__name__}") from None
    if not params:
        raise ValueError(f"{who} got an empty parameter list: nothing to optimize")
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{who} parameter {i} is a {type(p).__name__}, not a Tensor "
                            "(Values are updated by hand: p.data -= lr * p.grad)")
        if not p.is_leaf:
            raise ValueError(f"{who} parameter {i} was computed by {p.op!r}, not made by you: "
                             "only leaf Tensors keep a gradient to step along")
    if len({id(p) for p in params}) != len(params):
        raise ValueError(f"{who} got the same parameter more than once; it would be updated "
                         "twice per step")
    return params


def _checked_number(x: Any, name: str, who: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)):
        raise TypeError(f"{who} {name} must be a number, got {type(x).__name__} ({x!r})")
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"{who} {name} must be a finite number >= 0, got {x!r}")
    return float(x)


def _checked_betas(betas: Any) -> tuple[float, float]:
    try:
        b1, b2 = (float(b) for b in betas)
    except (TypeError, ValueError):
        raise ValueError(f"Adam betas must be two numbers, got {betas!r}") from None
    if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
        raise ValueError(f"Adam betas must each be in [0, 1), got {betas!r}")
    return b1, b2
