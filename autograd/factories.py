"""Tensor factories, as PyTorch users expect them: zeros, ones, full, randn, rand, arange, eye
and the *_like forms, each with requires_grad= and dtype= (float64 unless told float32).

Random ones draw from numpy's global generator (seed it with np.random.seed), or from the
Generator given as rng=.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd.tensor import Tensor


def _checked_shape(shape: tuple[Any, ...], name: str) -> tuple[int, ...]:
    """zeros(2, 3) and zeros((2, 3)) alike; sizes must be non-negative ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{name}: sizes must be non-negative ints, got {shape!r}")
    return tuple(int(n) for n in shape)


def _make(data: np.ndarray, requires_grad: bool, dtype: Any) -> Tensor:
    return Tensor(data, requires_grad=requires_grad, dtype=np.float64 if dtype is None else dtype)


def zeros(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A tensor of zeros: zeros(2, 3) or zeros((2, 3))."""
    return _make(np.zeros(_checked_shape(shape, "zeros")), requires_grad, dtype)


def ones(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A tensor of ones."""
    return _make(np.ones(_checked_shape(shape, "ones")), requires_grad, dtype)


def full(shape: Any, fill_value: float, *, requires_grad: bool = False,
         dtype: Any = None) -> Tensor:
    """A tensor of one value."""
    shape = _checked_shape((shape,), "full")
    return _make(np.full(shape, float(fill_value)), requires_grad, dtype)


def _generator(rng: Any) -> Any:
    if rng is None:
        return np.random
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    return rng


def randn(*shape: Any, requires_grad: bool = False, dtype: Any = None, rng: Any = None
          ) -> Tensor:
    """Standard normal entries."""
    data = _generator(rng).standard_normal(_checked_shape(shape, "randn"))
    return _make(np.asarray(data), requires_grad, dtype)


def rand(*shape: Any, requires_grad: bool = False, dtype: Any = None, rng: Any = None
         ) -> Tensor:
    """Uniform entries in [0, 1)."""
    gen = _generator(rng)
    size = _checked_shape(shape, "rand")
    data = gen.random(size) if gen is not np.random else np.random.random_sample(size)
    return _make(np.asarray(data), requires_grad, dtype)


def arange(start: float, stop: float | None = None, step: float = 1, *,
           requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """start, start + step, … below stop (arange(n) is 0 … n − 1), as floats."""
    if step == 0:
        raise ValueError("arange: step must not be zero")
    return _make(np.arange(start, stop, step, dtype=np.float64) if stop is not None
                 else np.arange(start, dtype=np.float64), requires_grad, dtype)


def eye(n: int, m: int | None = None, *, requires_grad: bool = False, dtype: Any = None
        ) -> Tensor:
    """The n × m identity (square when m is None)."""
    _checked_shape((n,) if m is None else (n, m), "eye")
    return _make(np.eye(n, m), requires_grad, dtype)


def _like(x: Any, dtype: Any) -> tuple[tuple[int, ...], Any]:
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if dtype is None:
        dtype = data.dtype if data.dtype.kind == "f" else np.float64
    return data.shape, dtype


def zeros_like(x: Any, dtype: Any = None, *, requires_grad: bool = False) -> Tensor:
    """Zeros of x's shape (and dtype unless given)."""
    shape, dtype = _like(x, dtype)
    return _make(np.zeros(shape), requires_grad, dtype)


def ones_like(x: Any, dtype: Any = None, *, requires_grad: bool = False) -> Tensor:
    """Ones of x's shape (and dtype unless given)."""
    shape, dtype = _like(x, dtype)
    return _make(np.ones(shape), requires_grad, dtype)


def full_like(x: Any, fill_value: float, dtype: Any = None, *,
              requires_grad: bool = False) -> Tensor:
    """fill_value in x's shape (and dtype unless given)."""
    shape, dtype = _like(x, dtype)
    return _make(np.full(shape, float(fill_value)), requires_grad, dtype)


def randn_like(x: Any, dtype: Any = None, *, requires_grad: bool = False, rng: Any = None
               ) -> Tensor:
    """Standard normal entries in x's shape."""
    shape, dtype = _like(x, dtype)
    return randn(shape, requires_grad=requires_grad, dtype=dtype, rng=rng)


def rand_like(x: Any, dtype: Any = None, *, requires_grad: bool = False, rng: Any = None
              ) -> Tensor:
    """Uniform [0, 1) entries in x's shape."""
    shape, dtype = _like(x, dtype)
    return rand(shape, requires_grad=requires_grad, dtype=dtype, rng=rng)
