"""The document's closed-form δ recursion (section 4.3): the reference every gradient meets.

The document is the reference text of this project: a tutorial on the two basic algorithms of
backpropagation (the neuron, the costs, the δ recursion) and the network.py of Nielsen's
*Neural Networks and Deep Learning*, chapter 1. Section numbers here and elsewhere are the
tutorial's; function names (backprop, update_mini_batch, cost_derivative) are network.py's.

Plain numpy, no autograd, written as the document writes it, with a batch as the rows of x
(so a column vector of the document is a row here, and Wᵀδ becomes δW):

    zˡ = aˡ⁻¹ (Wˡ)ᵀ + bˡ,  aˡ = σ(zˡ)                        forward
    δᴸ = ∂C/∂aᴸ ⊙ σ′(zᴸ)                                      output error
    δˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ σ′(zˡ)                                 back one layer
    ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ,  ∂C/∂bˡ = δˡ                          per example, then the mean

δ is the document's per-example error; the gradients of the batch cost C (a mean) are the
per-example ones averaged. Supported: hidden σ in sigmoid / tanh / relu / identity; "mse" with
any output σ, "bce" with a sigmoid output (δᴸ = a − y: ∂C/∂a = (a − y) / (a(1 − a)) and
σ′ = a(1 − a) cancel, which also keeps it finite when σ saturates), and "cross_entropy" on
logits (output None: δᴸ = softmax(z) − onehot(y)).

`backprop` and `check` also take an `nn.Sequential` of conv layers, pools, Flatten, Linear and
activations: `nn.delta_conv` carries the recursion through them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograd import Tensor, enable_grad
from nn.layers import MLP
from nn.losses import LOSSES, cost_derivative, get_loss, one_hot

Arrays = list[np.ndarray]

__all__ = ["ACTIVATIONS", "DeltaReport", "LayerCheck", "backprop", "check", "cost_derivative",
           "deltas", "feedforward", "nablas", "network", "output_error", "sigmoid",
           "sigmoid_prime", "update_mini_batch"]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e⁻ᶻ), from e^(−|z|) so it never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    """σ′(z) = σ(z)(1 − σ(z))  (section 4.1.3)"""
    s = sigmoid(z)
    return s * (1 - s)


# name -> (σ, σ′)
ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], ...]] = {
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(z.dtype)),
    "identity": (lambda z: z, np.ones_like),
}

# ---- the recursion -----------------------------------------------------------------------------

def feedforward(weights: Arrays, biases: Arrays, acts: Sequence[str], x: np.ndarray
                ) -> tuple[Arrays, Arrays]:
    """The weighted inputs zˡ and activations aˡ of every layer (a⁰ = x), rows = examples."""
    activation = x
    activations = [x]
    zs = []
    for w, b, name in zip(weights, biases, acts):
        z = activation @ w.T + b
        zs.append(z)
        activation = ACTIVATIONS[name][0](z)
        activations.append(activation)
    return zs, activations


def output_error(loss: str, a: np.ndarray, z: np.ndarray, y: np.ndarray, act: str
                 ) -> np.ndarray:
    """δᴸ = ∂C/∂aᴸ ⊙ σ′(zᴸ), per example (each loss's own form: nn.losses.LOSSES)."""
    return get_loss(loss).output_error(a, z, y, ACTIVATIONS[act][1])


def deltas(weights: Arrays, zs: Arrays, acts: Sequence[str], delta: np.ndarray) -> Arrays:
    """Every δˡ from δᴸ: δˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ σ′(zˡ), which for rows is δˡ⁺¹ Wˡ⁺¹ ⊙ σ′(zˡ)."""
    out = [delta]
    for l in range(len(weights) - 2, -1, -1):  # noqa: E741 (the document's layer index)
        delta = (delta @ weights[l + 1]) * ACTIVATIONS[acts[l]][1](zs[l])
        out.append(delta)
    return out[::-1]


def nablas(deltas_: Arrays, activations: Arrays) -> tuple[Arrays, Arrays]:
    """Σ over the batch of ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ and ∂C/∂bˡ = δˡ (the document's nabla_w, b)."""
    nabla_w = [d.T @ a for d, a in zip(deltas_, activations[:-1])]
    nabla_b = [d.sum(axis=0) for d in deltas_]
    return nabla_w, nabla_b


def _run(weights: Arrays, biases: Arrays, acts: Sequence[str], x: np.ndarray, y: Any,
         loss: str) -> tuple[Arrays, Arrays, Arrays, Arrays, int]:
    """Forward and backward on a batch: (nabla_w, nabla_b, deltas, zs, m)."""
    _check_combination(loss, acts)
    x, y = _batch(x, y, loss, weights)
    zs, activations = feedforward(weights, biases, acts, x)
    _check_target(y, activations[-1], loss)
    labels = get_loss(loss).targets == "labels"
    target = one_hot(y, weights[-1].shape[0], x.dtype) if labels else y
    ds = deltas(weights, zs, acts, output_error(loss, activations[-1], zs[-1], target, acts[-1]))
    nabla_w, nabla_b = nablas(ds, activations)
    return nabla_w, nabla_b, ds, zs, len(x)


# ---- the public entry points -------------------------------------------------------------------

def backprop(model: MLP, x: Any, y: Any, loss: str = "mse") -> tuple[Arrays, Arrays]:
    """(∂C/∂Wˡ for every layer, ∂C/∂bˡ for every layer) by the δ recursion, C the batch mean.

    x is a batch (rows) or one example; y the targets (same shape as the output) or, for
    "cross_entropy", integer labels. The model is read, not changed.
    """
    if not isinstance(model, MLP):
        from nn import delta_conv

        return delta_conv.backprop_conv(model, x, y, loss)
    weights, biases, acts = network(model)
    nabla_w, nabla_b, _, _, m = _run(weights, biases, acts, x, y, loss)
    return [nw / m for nw in nabla_w], [nb / m for nb in nabla_b]


def update_mini_batch(weights: Sequence[Any], biases: Sequence[Any], x: Any, y: Any,
                      eta: float, activation: str = "sigmoid",
                      output_activation: str | None = "sigmoid", loss: str = "mse"
                      ) -> tuple[Arrays, Arrays]:
    """The document's update_mini_batch on a whole batch at once; returns the new weights and
    biases (the inputs are not changed).

    w ← w − (η / m) Σ δ aᵀ and b ← b − (η / m) Σ δ over the m examples (rows) of x. The
    defaults are the document's network: sigmoid everywhere, quadratic cost.
    """
    if isinstance(eta, bool) or not isinstance(eta, (int, float, np.floating, np.integer)):
        raise TypeError(f"eta must be a number, got {type(eta).__name__} ({eta!r})")
    if not (np.isfinite(eta) and eta >= 0):
        raise ValueError(f"eta (the learning rate) must be a finite number >= 0, got {eta!r}")
    ws, bs = _arrays(weights, biases)
    acts = [activation] * (len(ws) - 1) + [_name(output_activation)]
    flat = [b.reshape(-1) for b in bs]
    nabla_w, nabla_b, _, _, m = _run(ws, flat, acts, x, y, loss)
    new_w = [w - (eta / m) * nw for w, nw in zip(ws, nabla_w)]
    new_b = [b - (eta / m) * nb.reshape(b.shape) for b, nb in zip(bs, nabla_b)]
    return new_w, new_b


def _arrays(weights: Sequence[Any], biases: Sequence[Any]) -> tuple[Arrays, Arrays]:
    """Weights (out, in) and biases (out,) as float arrays whose layers fit together."""
    try:
        ws = [np.asarray(w, dtype=np.float64) for w in weights]
        bs = [np.asarray(b, dtype=np.float64) for b in biases]
    except (TypeError, ValueError) as e:
        raise TypeError(f"weights and biases must be numeric arrays: {e}") from None
    if not ws or len(ws) != len(bs):
        raise ValueError(f"need as many biases as weights (at least one), got {len(ws)} "
                         f"and {len(bs)}")
    for i, (w, b) in enumerate(zip(ws, bs)):
        fits = w.ndim == 2 and b.size == w.shape[0] and (i == 0 or w.shape[1] == len(bs[i - 1]))
        if not fits:
            raise ValueError(f"layer {i}: weight of shape {w.shape} and bias of shape "
                             f"{b.shape} do not fit (weight (out, in), bias (out,), in = the "
                             "previous layer's out)")
    return ws, bs


def network(model: MLP) -> tuple[Arrays, Arrays, list[str]]:
    """The weights, biases and per-layer activation names of an MLP, as numpy arrays."""
    if not isinstance(model, MLP):
        raise TypeError(f"the δ recursion is written for nn.MLP, got {type(model).__name__}")
    weights = [layer.weight.data for layer in model.layers]
    biases = [layer.bias.data for layer in model.layers]
    acts = [model.activation] * (len(weights) - 1) + [_name(model.output_activation)]
    return weights, biases, acts


def _name(act: str | None) -> str:
    return "identity" if act is None else act


# ---- the check against autograd ----------------------------------------------------------------

def check(model: MLP, x: Any, y: Any, loss: str = "mse", *, atol: float = 1e-12,
          rtol: float = 1e-9) -> DeltaReport:
    """Layer by layer, how far autograd's gradients are from the δ recursion's.

    Compares ∂C/∂Wˡ and ∂C/∂bˡ, and puts δˡ beside autograd's ∂C/∂zˡ (δˡ is per example and
    C the batch mean, so ∂C/∂zˡ = δˡ / m). The report is ok when every entry agrees within
    atol + rtol·|autograd's entry|. The model's own gradients are left as they were.
    A Sequential (convolutional layers, pooling, Flatten) is checked by `nn.delta_conv`.
    """
    if not isinstance(model, MLP):
        from nn import delta_conv

        return delta_conv.check_conv(model, x, y, loss, atol=atol, rtol=rtol)
    weights, biases, acts = network(model)
    nabla_w, nabla_b, ds, _, m = _run(weights, biases, acts, x, y, loss)
    xb, yb = _batch(x, y, loss, weights)
    auto_w, auto_b, auto_dz = _autograd_gradients(model, xb, yb, loss)
    layers = []
    for l in range(len(weights)):  # noqa: E741 (the document's layer index)
        pairs = [(nabla_w[l] / m, auto_w[l]), (nabla_b[l] / m, auto_b[l]), (ds[l] / m, auto_dz[l])]
        ok = all(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)) for a, b in pairs)
        layers.append(LayerCheck(l + 1, weights[l].shape, *(_diff(a, b) for a, b in pairs),
                                 ok, ds[l] / m, auto_dz[l]))
    return DeltaReport(loss, acts, m, layers, atol, rtol)


def _autograd_gradients(model: MLP, x: np.ndarray, y: np.ndarray, loss: str
                        ) -> tuple[Arrays, Arrays, Arrays]:
    """∂C/∂Wˡ, ∂C/∂bˡ and ∂C/∂zˡ from one backward pass through the model's own layers.

    retain_grad() on each zˡ rather than a functional grad: one backward pass over the very
    graph the training loop differentiates then gives every ∂C/∂zˡ together with ∂C/∂W and
    ∂C/∂b, where a functional grad would have to rebuild the network as a function of each zˡ.
    """
    zs: list[Tensor] = []
    with own_gradients(model.parameters()), enable_grad():
        a: Any = x
        for layer, act in zip(model.layers, model.activations):
            z = layer(a)
            z.retain_grad()
            zs.append(z)
            a = act(z)
        get_loss(loss).function(a, y).backward()
        return ([np.array(la.weight.grad) for la in model.layers],
                [np.array(la.bias.grad) for la in model.layers],
                [np.array(z.grad) for z in zs])


@contextmanager
def own_gradients(params: Sequence[Any]) -> Iterator[None]:
    """Inside the block the parameters' .grad start empty; after it, whatever they held before
    is back: a check's backward pass leaves a training run's gradients as they were."""
    saved = [p.grad for p in params]
    try:
        for p in params:
            p.grad = None
        yield
    finally:
        for p, g in zip(params, saved):
            p.grad = g


def _diff(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    """(max |ours − theirs|, max relative difference).

    The relative difference of an entry is |ours − theirs| / max(|ours|, |theirs|, floor),
    with floor = 1e-8 of the array's largest entry: an entry that cancels to almost nothing
    is judged on the scale of the array, not on its own rounding noise.
    """
    d = np.abs(ours - theirs)
    if d.size == 0:
        return 0.0, 0.0
    floor = 1e-8 * max(float(np.abs(theirs).max()), float(np.abs(ours).max()), 1e-300)
    scale = np.maximum(np.maximum(np.abs(ours), np.abs(theirs)), floor)
    return float(d.max()), float((d / scale).max())


@dataclass
class LayerCheck:
    """One layer's comparison: (max abs, max rel) for ∂C/∂W, ∂C/∂b and δ/m against ∂C/∂z."""

    layer: int
    weight_shape: tuple[int, ...]
    dW: tuple[float, float]
    db: tuple[float, float]
    delta: tuple[float, float]
    ok: bool
    delta_over_m: np.ndarray = field(repr=False)
    dC_dz: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers and lists, ready for JSON."""
        pair = lambda p: {"max_abs": p[0], "max_rel": p[1]}  # noqa: E731
        return {"layer": self.layer, "weight_shape": list(self.weight_shape),
                "dW": pair(self.dW), "db": pair(self.db), "delta": pair(self.delta),
                "ok": self.ok,
                "delta_over_m": self.delta_over_m.tolist(), "dC_dz": self.dC_dz.tolist()}


@dataclass
class DeltaReport:
    """The δ recursion against autograd, layer by layer (see `check`)."""

    loss: str
    activations: list[str]
    batch: int
    layers: list[LayerCheck]
    atol: float
    rtol: float

    @property
    def max_abs(self) -> float:
        """The largest absolute difference anywhere (∂C/∂W, ∂C/∂b or δ)."""
        return max(max(c.dW[0], c.db[0], c.delta[0]) for c in self.layers)

    @property
    def max_rel(self) -> float:
        """The largest relative difference anywhere (see `_diff` for its definition)."""
        return max(max(c.dW[1], c.db[1], c.delta[1]) for c in self.layers)

    @property
    def ok(self) -> bool:
        """True when every entry of every layer agrees within atol + rtol·|autograd's|."""
        return all(c.ok for c in self.layers)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data: summary numbers, then each layer with its δ and ∂C/∂z."""
        return {"loss": self.loss, "activations": list(self.activations),
                "batch": self.batch, "max_abs": self.max_abs, "max_rel": self.max_rel,
                "atol": self.atol, "rtol": self.rtol, "ok": self.ok,
                "layers": [c.to_dict() for c in self.layers]}

    def to_json(self, indent: int | None = 2) -> str:
        """to_dict() as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        head = (f"δ recursion vs autograd: loss {self.loss}, activations "
                f"{' → '.join(self.activations)}, batch of {self.batch}")
        cols = f"{'layer':>5}  {'W shape':>10}  " + "  ".join(
            f"{n + ' ' + k:>12}" for n in ("dW", "db", "δ") for k in ("abs", "rel"))
        rows = [f"{c.layer:>5}  {c.weight_shape!s:>10}  " + "  ".join(
            f"{v:>12.2e}" for p in (c.dW, c.db, c.delta) for v in p) for c in self.layers]
        side = ["δˡ/m beside autograd's ∂C/∂zˡ (first example, first units):"]
        for c in self.layers:
            side.append(f"  layer {c.layer}  δ/m   {_few(c.delta_over_m)}")
            side.append(f"  {'':>7}  ∂C/∂z {_few(c.dC_dz)}")
        verdict = (f"{'ok' if self.ok else 'MISMATCH'}: tolerance {self.atol:.0e} + "
                   f"{self.rtol:.0e}·|autograd|; largest differences {self.max_abs:.2e} "
                   f"absolute, {self.max_rel:.2e} relative")
        return "\n".join([head, cols, *rows, *side, verdict])


def _few(a: np.ndarray, n: int = 4) -> str:
    first = a[0] if a.ndim > 1 else a
    body = ", ".join(f"{v: .6e}" for v in first[:n])
    return f"[{body}{', …' if first.size > n else ''}]"


# ---- checks -------------------------------------------------------------------------------------

def _check_combination(loss: str, acts: Sequence[str]) -> None:
    spec = get_loss(loss)
    for name in acts:
        if name not in ACTIVATIONS:
            raise ValueError(f"the δ recursion has no σ′ for activation {name!r}; valid: "
                             f"{', '.join(ACTIVATIONS)}")
    output = None if acts[-1] == "identity" else acts[-1]
    if not spec.fits(output):
        raise ValueError(
            f"loss {loss!r} with output activation {acts[-1]!r} is not supported; valid: "
            + ", ".join(spec.describe() for spec in LOSSES.values()))


def _batch(x: Any, y: Any, loss: str, weights: Arrays) -> tuple[np.ndarray, np.ndarray]:
    """x and y as a batch of rows (one example becomes a batch of one)."""
    try:
        x = np.asarray(x.data if hasattr(x, "data") else x, dtype=np.float64)
        y = np.asarray(y.data if hasattr(y, "data") else y)
    except (TypeError, ValueError) as e:
        raise TypeError(f"x and y must be numeric arrays: {e}") from None
    if x.size == 0:
        raise ValueError(f"x of shape {x.shape} holds no examples: nothing to average over")
    if x.ndim == 1:
        x = x[None, :]
        y = y[None] if get_loss(loss).targets == "labels" else y.reshape(1, *y.shape)
    width = weights[0].shape[1]
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"the network takes inputs of width {width}: x must have shape "
                         f"(m, {width}) or ({width},), got {np.shape(x)}")
    return x, y


def _check_target(y: np.ndarray, a: np.ndarray, loss: str) -> None:
    labels = get_loss(loss).targets == "labels"
    want = a.shape[:-1] if labels else a.shape
    if y.shape != want:
        what = "labels" if labels else "targets"
        raise ValueError(f"{loss}: outputs of shape {a.shape} need {what} of shape {want}, "
                         f"got {y.shape}")
    if not labels and y.dtype.kind not in "fiub":
        raise TypeError(f"{loss}: targets must be numbers, got dtype {y.dtype}")
