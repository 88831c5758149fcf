"""The δ recursion through convolutional networks: section 4.3 carried past dense layers.

Plain numpy, no autograd, for an `nn.Sequential` of Unflatten, Conv2d, MaxPool2d, AvgPool2d,
Flatten, Linear, activations and Dropout (the last only in evaluation mode, where it is the
identity). Each step takes δ of its output to δ of its input, written as the formulas are
(⋆ is cross-correlation, s the stride, and x the zero-padded input of a conv layer):

    conv     z[o] = Σ_c x[c] ⋆ K[o,c] + b[o]
             δx[c] = Σ_o (δ[o] dilated by s) full-convolved with K[o,c] flipped 180°
             ∂C/∂K[o,c] = x[c] ⋆ δ[o] (taken at stride s),  ∂C/∂b[o] = Σ over positions of δ[o]
    max pool δ of each window goes to its arg-max (the first of ties), 0 elsewhere
    avg pool δ of each window is spread evenly, δ / (kh·kw) on each of its entries
    dense    δx = δ W,  ∂C/∂W = δᵀ x,  ∂C/∂b = Σ δ               (the document's, in rows)
    σ        δz = δa ⊙ σ′(z)

The loops run over kernel offsets (i, j), never over pixels, and share no code with the
engine's rules: the conv's input gradient here is a literal full convolution with the flipped
kernel, where the engine scatters windows back; so agreement is a real check of both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from autograd import Tensor, enable_grad
from nn.conv import AvgPool2d, Conv2d, Dropout, Flatten, MaxPool2d, Unflatten
from nn.layers import Activation, Linear, Sequential

Arrays = list[np.ndarray]
_PARAMETRIC = (Conv2d, Linear)


def _offsets(k: tuple[int, int]) -> Iterator[tuple[int, int]]:
    return ((i, j) for i in range(k[0]) for j in range(k[1]))


def _kernel_tap(x: np.ndarray, i: int, j: int, s: tuple[int, int], out: tuple[int, int]
         ) -> np.ndarray:
    """The entries x[:, :, s·y + i, s·x + j] for every output position (y, x)."""
    return x[:, :, i:i + s[0] * (out[0] - 1) + 1:s[0], j:j + s[1] * (out[1] - 1) + 1:s[1]]


def _pad(x: np.ndarray, p: tuple[int, int]) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))


def _out(size: tuple[int, ...], k: tuple[int, int], s: tuple[int, int]) -> tuple[int, int]:
    return (size[0] - k[0]) // s[0] + 1, (size[1] - k[1]) // s[1] + 1


# ---- convolution --------------------------------------------------------------------------

def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, s: tuple[int, int],
                 p: tuple[int, int]) -> np.ndarray:
    """z[n,o,y,x] = b[o] + Σ_{c,i,j} K[o,c,i,j] · xp[n,c,s·y + i, s·x + j]"""
    xp = _pad(x, p)
    k = w.shape[2:]
    out = _out(xp.shape[2:], k, s)
    z = np.zeros((x.shape[0], w.shape[0], *out), dtype=np.result_type(x, w))
    for i, j in _offsets(k):
        z += np.einsum("nchw,oc->nohw", _kernel_tap(xp, i, j, s, out), w[:, :, i, j])
    return z + b.reshape(-1, 1, 1)


def conv_delta(delta: np.ndarray, w: np.ndarray, shape: tuple[int, ...], s: tuple[int, int],
               p: tuple[int, int]) -> np.ndarray:
    """δx = Σ_o (δ[o] dilated by s) full-convolved with K[o,c] flipped: zero-pad the dilated δ
    by k − 1 on each side and correlate it with the kernel turned 180°."""
    n, o, oh, ow = delta.shape
    k = w.shape[2:]
    dilated = np.zeros((n, o, s[0] * (oh - 1) + 1, s[1] * (ow - 1) + 1), dtype=delta.dtype)
    dilated[:, :, ::s[0], ::s[1]] = delta
    full = _pad(dilated, (k[0] - 1, k[1] - 1))
    flipped = w[:, :, ::-1, ::-1]
    size = (full.shape[2] - k[0] + 1, full.shape[3] - k[1] + 1)
    dxp = np.zeros((n, shape[1], shape[2] + 2 * p[0], shape[3] + 2 * p[1]), dtype=delta.dtype)
    for i, j in _offsets(k):
        # rows past the last window (when the stride does not divide) keep δ = 0
        dxp[:, :, :size[0], :size[1]] += np.einsum(
            "nohw,oc->nchw", full[:, :, i:i + size[0], j:j + size[1]], flipped[:, :, i, j])
    return dxp[:, :, p[0]:p[0] + shape[2], p[1]:p[1] + shape[3]]


def conv_nablas(x: np.ndarray, delta: np.ndarray, k: tuple[int, int], s: tuple[int, int],
                p: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """∂C/∂K[o,c,i,j] = Σ_{n,y,x} δ[n,o,y,x] · xp[n,c,s·y + i, s·x + j], ∂C/∂b[o] = Σ δ[n,o,·,·]"""
    xp = _pad(x, p)
    out = delta.shape[2:]
    nabla_w = np.zeros((delta.shape[1], x.shape[1], *k), dtype=delta.dtype)
    for i, j in _offsets(k):
        nabla_w[:, :, i, j] = np.einsum("nohw,nchw->oc", delta, _kernel_tap(xp, i, j, s, out))
    return nabla_w, delta.sum(axis=(0, 2, 3))


# ---- pooling ------------------------------------------------------------------------------

def max_pool(x: np.ndarray, k: tuple[int, int], s: tuple[int, int]
             ) -> tuple[np.ndarray, np.ndarray]:
    """(the max of each window, the offset i·kw + j of its arg-max): offsets scanned in order,
    replaced only by a strictly larger entry, so a tie keeps the first."""
    out = _out(x.shape[2:], k, s)
    best = arg = None
    for n, (i, j) in enumerate(_offsets(k)):
        v = _kernel_tap(x, i, j, s, out)
        if best is None:
            best, arg = v.copy(), np.zeros(v.shape, dtype=np.intp)
            continue
        bigger = v > best
        best[bigger] = v[bigger]
        arg[bigger] = n
    return best, arg


def max_pool_delta(delta: np.ndarray, arg: np.ndarray, shape: tuple[int, ...],
                   k: tuple[int, int], s: tuple[int, int]) -> np.ndarray:
    """δx = each window's δ at its arg-max, summed where windows overlap."""
    dx = np.zeros(shape, dtype=delta.dtype)
    for n, (i, j) in enumerate(_offsets(k)):
        _kernel_tap(dx, i, j, s, delta.shape[2:])[...] += delta * (arg == n)
    return dx


def avg_pool(x: np.ndarray, k: tuple[int, int], s: tuple[int, int]) -> np.ndarray:
    """The mean of each window: Σ over offsets / (kh·kw)."""
    out = _out(x.shape[2:], k, s)
    return sum(_kernel_tap(x, i, j, s, out) for i, j in _offsets(k)) / (k[0] * k[1])


def avg_pool_delta(delta: np.ndarray, shape: tuple[int, ...], k: tuple[int, int],
                   s: tuple[int, int]) -> np.ndarray:
    """δx = δ / (kh·kw) on every entry of each window, summed where windows overlap."""
    dx = np.zeros(shape, dtype=delta.dtype)
    for i, j in _offsets(k):
        _kernel_tap(dx, i, j, s, delta.shape[2:])[...] += delta / (k[0] * k[1])
    return dx


# ---- the walk through a Sequential --------------------------------------------------------

def _conv_steps(model: Any) -> list[Any]:
    """The steps of a Sequential, each one the δ recursion knows, or an error naming it."""
    if not isinstance(model, Sequential):
        raise TypeError(f"the δ recursion is written for nn.MLP and nn.Sequential, got "
                        f"{type(model).__name__}")
    known = (*_PARAMETRIC, MaxPool2d, AvgPool2d, Flatten, Unflatten, Dropout, Activation)
    for i, step in enumerate(model.steps):
        if not isinstance(step, known):
            raise TypeError(f"the δ recursion has no formula for step {i} ({step!r}); it "
                            "knows Conv2d, MaxPool2d, AvgPool2d, Flatten, Unflatten, Linear, "
                            "the activations and Dropout")
        if isinstance(step, Dropout) and step.training and step.p > 0:
            raise ValueError(f"step {i} ({step!r}) drops random units in training mode, so no "
                             "formula can match it: call model.eval() first")
    if not any(isinstance(step, _PARAMETRIC) for step in model.steps):
        raise ValueError(f"{model!r} has no Conv2d or Linear step: the δ recursion has no "
                         "weights to find gradients for")
    return list(model.steps)


def _forward_step(step: Any, a: np.ndarray) -> tuple[np.ndarray, Any]:
    """(the step's output, what its δ needs besides its input)."""
    if isinstance(step, Conv2d):
        return conv_forward(a, step.weight.data, step.bias.data, step.stride, step.padding), None
    if isinstance(step, Linear):
        return a @ step.weight.data.T + step.bias.data, None
    if isinstance(step, MaxPool2d):
        return max_pool(a, step.kernel_size, step.stride)
    if isinstance(step, AvgPool2d):
        return avg_pool(a, step.kernel_size, step.stride), None
    if isinstance(step, Activation):
        return _sigma(step)[0](a), None
    if isinstance(step, (Flatten, Unflatten)):
        return np.asarray(step(a)), None
    return a, None  # Dropout in evaluation mode


def _delta_step(step: Any, delta: np.ndarray, a: np.ndarray, extra: Any) -> np.ndarray:
    """δ of the step's input from δ of its output (a: the step's input)."""
    if isinstance(step, Conv2d):
        return conv_delta(delta, step.weight.data, a.shape, step.stride, step.padding)
    if isinstance(step, Linear):
        return delta @ step.weight.data
    if isinstance(step, MaxPool2d):
        return max_pool_delta(delta, extra, a.shape, step.kernel_size, step.stride)
    if isinstance(step, AvgPool2d):
        return avg_pool_delta(delta, a.shape, step.kernel_size, step.stride)
    if isinstance(step, Activation):
        return delta * _sigma(step)[1](a)
    return delta.reshape(a.shape)  # Flatten, Unflatten, Dropout in evaluation mode


def _nablas(step: Any, delta: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ over the batch of ∂C/∂W and ∂C/∂b of a Conv2d or Linear step."""
    if isinstance(step, Conv2d):
        return conv_nablas(a, delta, step.kernel_size, step.stride, step.padding)
    return delta.T @ a, delta.sum(axis=0)


def _sigma(step: Activation) -> tuple[Any, ...]:
    from nn.delta import ACTIVATIONS

    if step.name not in ACTIVATIONS:
        raise ValueError(f"the δ recursion has no σ′ for {step!r}; valid: "
                         f"{', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[step.name]


def _output_delta(steps: list[Any], loss: str, a: np.ndarray, y: np.ndarray) -> tuple[
        np.ndarray, int]:
    """(δ where the walk back starts, how many steps from the end it skips).

    mse: ∂C/∂a = a − y, taken back through the output σ like any step; bce: δᴸ = a − y at
    the input of the final sigmoid; cross_entropy: δᴸ = softmax(z) − onehot(y) on logits z.
    """
    from nn.delta import output_error
    from nn.losses import one_hot

    last = steps[-1]
    if loss == "mse":
        return a - y, 0
    if loss == "bce":
        if not (isinstance(last, Activation) and last.name == "sigmoid"):
            raise ValueError(f"loss 'bce' needs a Sigmoid as the last step, got {last!r}")
        return a - y, 1
    if isinstance(last, Activation) and last.name != "identity":
        raise ValueError(f"loss 'cross_entropy' takes logits: the last step must not be "
                         f"{last!r}")
    return output_error(loss, a, a, one_hot(y, a.shape[-1], a.dtype), "identity"), 0


def _run_conv(model: Any, x: Any, y: Any, loss: str) -> tuple[Arrays, Arrays, Arrays, int]:
    """Forward, then δ back through every step: (Σ ∂C/∂W, Σ ∂C/∂b, δ, m) per Conv2d/Linear."""
    from nn.delta import LOSSES, _check_target

    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r} for the δ recursion; valid: "
                         f"{', '.join(LOSSES)}")
    steps = _conv_steps(model)
    x, y = _conv_batch(x, y)
    inputs, extras, a = [], [], x
    for step in steps:
        inputs.append(a)
        a, extra = _forward_step(step, a)
        extras.append(extra)
    _check_target(y, a, loss)
    delta, skip = _output_delta(steps, loss, a, y)
    nw, nb, ds = [], [], []
    for k in range(len(steps) - 1 - skip, -1, -1):
        if isinstance(steps[k], _PARAMETRIC):
            w, b = _nablas(steps[k], delta, inputs[k])
            nw.append(w)
            nb.append(b)
            ds.append(delta)
        delta = _delta_step(steps[k], delta, inputs[k], extras[k])
    return nw[::-1], nb[::-1], ds[::-1], len(x)


def _conv_batch(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        x = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
        y = np.asarray(y.data if isinstance(y, Tensor) else y)
    except (TypeError, ValueError) as e:
        raise TypeError(f"x and y must be numeric arrays: {e}") from None
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty batch (m, …), got shape {x.shape}")
    return x, y


def backprop_conv(model: Sequential, x: Any, y: Any, loss: str = "mse") -> tuple[Arrays, Arrays]:
    """(∂C/∂W, ∂C/∂b) of every Conv2d and Linear step by the δ recursion, C the batch mean."""
    nw, nb, _, m = _run_conv(model, x, y, loss)
    return [w / m for w in nw], [b / m for b in nb]


# ---- the check against autograd ----------------------------------------------------------

def check_conv(model: Sequential, x: Any, y: Any, loss: str = "mse", *, atol: float = 1e-12,
          rtol: float = 1e-9) -> Any:
    """`nn.delta.check` for a Sequential: per Conv2d/Linear step, ∂C/∂W, ∂C/∂b and δ/m beside
    autograd's ∂C/∂z of that step's output."""
    from nn.delta import DeltaReport, LayerCheck, _diff

    nw, nb, ds, m = _run_conv(model, x, y, loss)
    auto_w, auto_b, auto_dz = _autograd(model, *_conv_batch(x, y), loss)
    params = [s for s in model.steps if isinstance(s, _PARAMETRIC)]
    layers = []
    for l, step in enumerate(params):  # noqa: E741 (the document's layer index)
        pairs = [(nw[l] / m, auto_w[l]), (nb[l] / m, auto_b[l]), (ds[l] / m, auto_dz[l])]
        ok = all(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)) for a, b in pairs)
        layers.append(LayerCheck(l + 1, step.weight.shape, *(_diff(a, b) for a, b in pairs),
                                 ok, (ds[l] / m).reshape(m, -1), auto_dz[l].reshape(m, -1)))
    names = [_short_name(s) for s in model.steps]
    return DeltaReport(loss, names, m, layers, atol, rtol)


def _short_name(step: Any) -> str:
    return step.name if isinstance(step, Activation) else repr(step)


def _autograd(model: Sequential, x: np.ndarray, y: np.ndarray, loss: str
              ) -> tuple[Arrays, Arrays, Arrays]:
    """∂C/∂W, ∂C/∂b and ∂C/∂z of every Conv2d/Linear step from one backward pass."""
    from nn.delta import own_gradients
    from nn.losses import get_loss

    zs: list[Tensor] = []
    with own_gradients(model.parameters()), enable_grad():
        a: Any = x
        for step in model.steps:
            a = step(a)
            if isinstance(step, _PARAMETRIC):
                a.retain_grad()
                zs.append(a)
        get_loss(loss).function(a, y).backward()
        steps = [s for s in model.steps if isinstance(s, _PARAMETRIC)]
        return ([np.array(s.weight.grad) for s in steps], [np.array(s.bias.grad) for s in steps],
                [np.array(z.grad) for z in zs])
