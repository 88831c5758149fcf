"""Convolutional layers on NCHW images: Conv2d, MaxPool2d, AvgPool2d, Flatten, Unflatten, Dropout.

Nielsen's chapter-6 network is built from these and Linear, composed with Sequential. A layer
refuses an input that does not fit with an error naming the layer, the shape it expects and
the shape it got. `Dropout` acts in training mode only (`model.train()`, the default) and is
the identity after `model.eval()`; its masks come from a seeded Generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor, avg_pool2d, conv2d, max_pool2d
from nn.init import make_rng, scheme
from nn.module import Module


def _int_pair(v: Any, name: str) -> tuple[int, int]:
    """(a, a) from an int a, or a pair of ints; anything else is an error naming the option
    (the layer needs the sizes when it is made, before conv2d sees them)."""
    pair = (v, v) if isinstance(v, (int, np.integer)) else v
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2
            and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in pair)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
    return int(pair[0]), int(pair[1])


def _input(layer: Module, x: Any) -> Any:
    """x as a Tensor or float array, or a TypeError naming the layer."""
    if isinstance(x, (Tensor, np.ndarray)) and x.dtype.kind == "f":
        return x
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{layer!r} needs numeric input, got {type(x).__name__}: {e}") from None


def _need_images(layer: Module, x: Any, channels: int | None, k: tuple[int, int],
                 pad: tuple[int, int] = (0, 0)) -> None:
    """Refuse anything but (N, channels, H, W) with H, W at least the (padded) window."""
    shape = tuple(x.shape)
    c = "C" if channels is None else channels
    want = f"(N, {c}, H, W) with H ≥ {k[0] - 2 * pad[0]} and W ≥ {k[1] - 2 * pad[1]}"
    fits = (len(shape) == 4 and (channels is None or shape[1] == channels)
            and shape[2] + 2 * pad[0] >= k[0] and shape[3] + 2 * pad[1] >= k[1])
    if not fits:
        raise ValueError(f"{layer!r} expects input of shape {want}, got shape {shape}")


class Conv2d(Module):
    """z[n,o] = Σ_c x[n,c] ⋆ W[o,c] + b[o] (cross-correlation, as in PyTorch), NCHW.

    weight is (out_channels, in_channels, kh, kw) and bias (out_channels,). Weights are drawn
    by an `nn.init` scheme with fan-in in_channels·kh·kw (default "he"); biases start at zero
    unless the scheme draws them N(0, 1).
    """

    mode_dependent = False  # never reads `training`

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0, *,
                 init: str = "he", seed: int | None = None,
                 rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Conv2d {name} must be a positive int, got {v!r}")
        self.kernel_size = _int_pair(kernel_size, "Conv2d kernel_size")
        self.stride = _int_pair(stride, "Conv2d stride")
        self.padding = _int_pair(padding, "Conv2d padding")
        if min(self.kernel_size + self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"Conv2d needs kernel_size and stride ≥ 1 and padding ≥ 0, got "
                             f"{kernel_size!r}, {stride!r}, {padding!r}")
        chosen, gen = scheme(init), make_rng(seed, rng)
        fan_in = in_channels * self.kernel_size[0] * self.kernel_size[1]
        w = chosen.weights(gen, out_channels, fan_in).reshape(
            out_channels, in_channels, *self.kernel_size)
        b = gen.standard_normal(out_channels) if chosen.normal_biases else np.zeros(out_channels)
        dtype = np.float64 if dtype is None else dtype
        self.weight = Tensor(w, requires_grad=True, dtype=dtype, label="weight")
        self.bias = Tensor(b, requires_grad=True, dtype=dtype, label="bias")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)

    def __call__(self, x: Any) -> Tensor:
        x = _input(self, x)
        _need_images(self, x, self.in_channels, self.kernel_size, self.padding)
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def __repr__(self) -> str:
        k = self.kernel_size[0] if self.kernel_size[0] == self.kernel_size[1] else self.kernel_size
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={k}, "
                f"stride={_short(self.stride)}, padding={_short(self.padding)})")


def _short(pair: tuple[int, int]) -> Any:
    return pair[0] if pair[0] == pair[1] else pair


class _Pool(Module):
    """A pooling layer: a kernel_size window moving by stride (default: the window)."""

    mode_dependent = False  # never reads `training`

    _op: Any = None

    def __init__(self, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None) -> None:
        name = type(self).__name__
        self.kernel_size = _int_pair(kernel_size, f"{name} kernel_size")
        self.stride = self.kernel_size if stride is None else _int_pair(stride, f"{name} stride")
        if min(self.kernel_size + self.stride) < 1:
            raise ValueError(f"{name} needs kernel_size and stride ≥ 1, got {kernel_size!r}, "
                             f"{stride!r}")

    def __call__(self, x: Any) -> Any:
        x = _input(self, x)
        _need_images(self, x, None, self.kernel_size)
        return type(self)._op(x, self.kernel_size, self.stride)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(kernel_size={_short(self.kernel_size)}, "
                f"stride={_short(self.stride)})")


class MaxPool2d(_Pool):
    """The largest entry of each window; its gradient goes to the arg-max (first of ties)."""

    _op = max_pool2d


class AvgPool2d(_Pool):
    """The mean of each window; its gradient is spread evenly over the window."""

    _op = avg_pool2d


class Flatten(Module):
    """(N, d₁, d₂, …) → (N, d₁·d₂·…): images into the rows a Linear layer takes."""

    mode_dependent = False  # never reads `training`

    def __call__(self, x: Any) -> Any:
        x = _input(self, x)
        if x.ndim < 2:
            raise ValueError(f"{self!r} expects a batch (N, …) of at least 2 dimensions, got "
                             f"shape {tuple(x.shape)}")
        return x.reshape(x.shape[0], -1)

    def __repr__(self) -> str:
        return "Flatten()"


class Unflatten(Module):
    """(N, d) → (N, *shape): rows of pixels (MNIST's 784) back into images (1, 28, 28)."""

    mode_dependent = False  # never reads `training`

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(int(d) for d in shape)
        if not self.shape or min(self.shape) < 1:
            raise ValueError(f"Unflatten needs a shape of positive sizes, got {shape!r}")

    def __call__(self, x: Any) -> Any:
        x = _input(self, x)
        width = int(np.prod(self.shape))
        if x.ndim != 2 or x.shape[1] != width:
            raise ValueError(f"{self!r} expects input of shape (N, {width}), got shape "
                             f"{tuple(x.shape)}")
        return x.reshape(x.shape[0], *self.shape)

    def __repr__(self) -> str:
        return f"Unflatten({self.shape})"


class Dropout(Module):
    """In training mode, each entry is zeroed with probability p and the rest scaled by
    1/(1 − p), so the expected output is the input (inverted dropout, as in PyTorch); in
    evaluation mode the identity. Masks come from a Generator seeded by `seed` (or `rng`)."""

    # A new mask each training step: nn.train runs such a model's steps eagerly, since a
    # compiled replay would keep the first mask.
    draws_random = True

    def __init__(self, p: float = 0.5, *, seed: int | None = None,
                 rng: np.random.Generator | None = None) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout probability p must be a number in [0, 1), got {p!r}")
        self.p = float(p)
        self._rng = make_rng(seed, rng)

    def __call__(self, x: Any) -> Any:
        if not self.training or self.p == 0.0:
            return x
        x = _input(self, x)
        keep = self._rng.random(x.shape) >= self.p
        return x * (keep * (1.0 / (1.0 - self.p))).astype(x.dtype)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p:g})"


def nielsen_conv_net(hidden: int = 100, *, activation: str = "relu", dropout: float = 0.0,
                     init: str = "he", seed: int | None = None,
                     rng: np.random.Generator | None = None, dtype: Any = None) -> Any:
    """Nielsen's chapter-6 network for MNIST rows of 784 pixels: 20 5×5 filters → max pool 2
    → 40 5×5 filters → max pool 2 → `hidden` fully connected units (→ Dropout(dropout) when
    dropout > 0) → 10 logits for softmax cross-entropy. One Generator draws every layer in
    order, so one seed gives the same weights."""
    from nn.layers import Linear, Sequential
    from nn.layers import activation as act

    gen = make_rng(seed, rng)
    steps: list[Any] = [Unflatten((1, 28, 28))]
    for c_in, c_out in ((1, 20), (20, 40)):
        steps += [Conv2d(c_in, c_out, 5, init=init, rng=gen, dtype=dtype), act(activation),
                  MaxPool2d(2)]
    steps += [Flatten(), Linear(40 * 4 * 4, hidden, init=init, rng=gen, dtype=dtype),
              act(activation)]
    if dropout > 0:
        steps.append(Dropout(dropout, rng=gen))
    steps.append(Linear(hidden, 10, init=init, rng=gen, dtype=dtype))
    return Sequential(*steps)
