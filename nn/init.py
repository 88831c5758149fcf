"""Initialisers: where the first weights come from.

Every scheme is driven by a numpy Generator, so one seed gives the same weights bit for bit.
A scheme draws the weight matrix (out, in) of one layer and says whether its biases are drawn
too (standard normal, as the document does) or start at zero.

    normal   the document's: every weight and bias ~ N(0, 1)
    nielsen  weights ~ N(0, 1/n_in), biases ~ N(0, 1) (Nielsen, network2's default)
    xavier   weights ~ U(±√(6/(n_in + n_out))), biases 0 (Glorot and Bengio, 2010)
    he       weights ~ N(0, 2/n_in), biases 0 (He et al., 2015; for ReLU layers)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np

Draw = Callable[[np.random.Generator, int, int], np.ndarray]


def normal(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    """Weights ~ N(0, 1): the document's `np.random.randn(y, x)`."""
    return rng.standard_normal((n_out, n_in))


def nielsen(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    """Weights ~ N(0, 1/n_in), so a unit's weighted input starts with variance about 1."""
    return rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)


def xavier(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    """Weights ~ U(−a, a) with a = √(6 / (n_in + n_out)) (Glorot uniform)."""
    a = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=(n_out, n_in))


def he(rng: np.random.Generator, n_out: int, n_in: int) -> np.ndarray:
    """Weights ~ N(0, 2/n_in) (He normal): keeps the variance through ReLU layers."""
    return rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)


class Scheme(NamedTuple):
    """How one initialiser fills a layer: its weight draw and whether biases are N(0, 1)."""

    weights: Draw
    normal_biases: bool


SCHEMES: dict[str, Scheme] = {
    "normal": Scheme(normal, True),
    "nielsen": Scheme(nielsen, True),
    "xavier": Scheme(xavier, False),
    "glorot": Scheme(xavier, False),
    "he": Scheme(he, False),
}


def scheme(name: str) -> Scheme:
    """The scheme called `name`, or a ValueError listing the valid names."""
    try:
        return SCHEMES[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(SCHEMES))
        raise ValueError(f"unknown init {name!r}; valid: {valid}") from None


class _Hidden:
    """The default output activation: the hidden layers' own, as in the document's network."""

    def __repr__(self) -> str:
        return "<same as activation>"


HIDDEN: Any = _Hidden()


def resolve_output(hidden: str, output: Any) -> str | None:
    """The output layer's activation: `output`, or the hidden layers' one when it is HIDDEN."""
    return hidden if output is HIDDEN else output


class SeedError(TypeError, ValueError):
    """A seed or random Generator that cannot be used. One type for every such mistake; it is
    both a TypeError and a ValueError so that either `except` catches it."""


def make_rng(seed: int | np.random.Generator | None = None,
             rng: np.random.Generator | None = None) -> np.random.Generator:
    """The Generator to draw from, for everything in nn that draws random numbers.

    A Generator given as `rng` (or as `seed`) is used itself; otherwise a fresh one is seeded
    with `seed` (None: from the OS). A SeedError says what is wrong with the arguments.
    """
    if rng is not None and seed is not None:
        raise SeedError("give seed or rng, not both")
    given = seed if rng is None else rng
    if isinstance(given, np.random.Generator):
        return given
    if rng is not None:
        raise SeedError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got "
                        f"{type(rng).__name__}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or seed < 0):
        raise SeedError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng(seed)


def check_sizes(sizes: Any, what: str) -> list[int]:
    """Layer widths as a list of positive ints, or a ValueError saying which one is wrong."""
    if isinstance(sizes, (str, bytes)):
        raise TypeError(f"{what} sizes must be a sequence of ints such as [784, 30, 10], got "
                        f"the string {sizes!r}")
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"{what} sizes must be a sequence of ints, got "
                        f"{type(sizes).__name__}") from None
    for i, n in enumerate(sizes):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{what} sizes must be positive ints; entry {i} is {n!r} "
                             f"(in {sizes!r})")
    return [int(n) for n in sizes]


def draw_layers(sizes: Sequence[int], init: str, rng: np.random.Generator
                ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights (out, in) and biases (out,) for consecutive layer widths `sizes`.

    Biases are drawn first, all of them, then the weights: the document's order
    (`self.biases = [randn(y, 1) ...]` before `self.weights = [randn(y, x) ...]`), so a
    hand-written network using the same Generator starts from the same numbers.
    """
    chosen = scheme(init)
    pairs = list(pairwise(sizes))
    if chosen.normal_biases:
        biases = [rng.standard_normal(n_out) for _, n_out in pairs]
    else:
        biases = [np.zeros(n_out) for _, n_out in pairs]
    weights = [chosen.weights(rng, n_out, n_in) for n_in, n_out in pairs]
    return weights, biases
