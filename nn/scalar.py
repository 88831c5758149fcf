"""The teaching versions: Neuron, Layer and ScalarMLP on `Value`, one float per node.

The same network as `nn.MLP`, written unit by unit as in section 4.1 of the document:
z = Σ wᵢxᵢ + b, a = σ(z). Every weight is its own Value, so any gradient can be read off a
single neuron and the graph of a small network can be drawn. The weighted sum is one
`value_dot` node rather than 2n additions and products: the same gradient, a graph small
enough to read, and far fewer nodes to walk.

Initialised with the same schemes, Generator and draw order as `nn.MLP`, so
ScalarMLP(sizes, seed=s) and MLP(sizes, seed=s) start from the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd import Value, value_dot
from nn.init import HIDDEN, check_sizes, draw_layers, make_rng, resolve_output
from nn.layers import ACTIVATIONS
from nn.module import Module


def _numbers(xs: Any) -> list[float]:
    """Weights as floats, or a TypeError naming what is not a number."""
    try:
        return [float(x) for x in xs]
    except (TypeError, ValueError):
        raise TypeError(f"weights and biases must be numbers, got {xs!r:.60}") from None


def _apply(name: str, z: Value) -> Value:
    if name == "identity":
        return z
    return getattr(z, name)()


def _checked_activation(name: str | None) -> str:
    if name is None:
        return "identity"
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(sorted(ACTIVATIONS))}"
                         " (or None for identity)")
    return name


class Neuron(Module):
    """One unit: a = σ(Σ wᵢxᵢ + b) with weights w (a list of Values) and bias b."""

    mode_dependent = False  # never reads `training`

    def __init__(self, nin: int, activation: str | None = "sigmoid", *, init: str = "normal",
                 seed: int | None = None, rng: np.random.Generator | None = None) -> None:
        nin = check_sizes([nin], "Neuron")[0]
        (w,), (b,) = draw_layers([nin, 1], init, make_rng(seed, rng))
        self._set(w[0], float(b[0]), activation)

    @classmethod
    def from_numbers(cls, weights: Sequence[float], bias: float,
                     activation: str | None = "sigmoid") -> Neuron:
        """A neuron with the given weights and bias."""
        neuron = cls.__new__(cls)
        neuron._set(weights, bias, activation)
        return neuron

    def _set(self, weights: Sequence[float], bias: float, activation: str | None) -> None:
        self.w = [Value(wi, label=f"w{i + 1}") for i, wi in enumerate(_numbers(weights))]
        self.b = Value(_numbers([bias])[0], label="b")
        self.activation = _checked_activation(activation)

    def __call__(self, x: Sequence[Any]) -> Value:
        if not hasattr(x, "__len__"):
            raise TypeError(f"{self!r} takes a sequence of {len(self.w)} inputs, got "
                            f"{type(x).__name__}")
        if len(x) != len(self.w):
            raise ValueError(f"{self!r} expects {len(self.w)} inputs, got {len(x)}")
        return _apply(self.activation, value_dot(self.w, x) + self.b)

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """n_out neurons reading the same inputs; returns a list of Values (one Value if n_out = 1)."""

    mode_dependent = False  # never reads `training`

    def __init__(self, nin: int, nout: int, activation: str | None = "sigmoid", *,
                 init: str = "normal", seed: int | None = None,
                 rng: np.random.Generator | None = None) -> None:
        nin, nout = check_sizes([nin, nout], "Layer")
        (w,), (b,) = draw_layers([nin, nout], init, make_rng(seed, rng))
        self._set(w, b, activation)

    def _set(self, w: np.ndarray, b: np.ndarray, activation: str | None) -> None:
        self.neurons = [Neuron.from_numbers(row, bias, activation) for row, bias in zip(w, b)]

    @classmethod
    def from_arrays(cls, weight: Any, bias: Any, activation: str | None = "sigmoid") -> Layer:
        """A layer whose neuron j has weights weight[j] and bias bias[j] (weight is (out, in))."""
        try:
            w = np.asarray(weight, dtype=np.float64)
            b = np.asarray(bias, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as e:
            raise TypeError(f"Layer needs numbers in weight (out, in) and bias (out,): {e}"
                            ) from None
        if w.ndim != 2 or w.shape[0] != b.shape[0]:
            raise ValueError(f"Layer needs weight (out, in) and bias (out,), got shapes "
                             f"{w.shape} and {b.shape}")
        layer = cls.__new__(cls)
        layer._set(w, b, activation)
        return layer

    def __call__(self, x: Sequence[Any]) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def __repr__(self) -> str:
        n = self.neurons[0]
        return f"Layer({len(n.w)}, {len(self.neurons)}, activation={n.activation!r})"


class ScalarMLP(Module):
    """nn.MLP built from Neurons: same sizes, activations, defaults and initial weights."""

    mode_dependent = False  # never reads `training`

    def __init__(self, sizes: Sequence[int], activation: str = "sigmoid",
                 output_activation: str | None = HIDDEN, *, init: str = "normal",
                 seed: int | None = None, rng: np.random.Generator | None = None) -> None:
        sizes = check_sizes(sizes, "ScalarMLP")
        if len(sizes) < 2:
            raise ValueError(f"ScalarMLP needs at least two sizes, got {sizes}")
        weights, biases = draw_layers(sizes, init, make_rng(seed, rng))
        out = resolve_output(activation, output_activation)
        self._build(weights, biases, activation, out)

    @classmethod
    def from_arrays(cls, weights: Sequence[Any], biases: Sequence[Any],
                    activation: str = "sigmoid", output_activation: str | None = HIDDEN
                    ) -> ScalarMLP:
        """A network with the given weights (out, in) and biases (out,) per layer."""
        out = resolve_output(activation, output_activation)
        model = cls.__new__(cls)
        model._build(weights, biases, activation, out)
        return model

    def _build(self, weights: Sequence[Any], biases: Sequence[Any], hidden: str,
               output: str | None) -> None:
        if len(weights) != len(biases) or not len(weights):
            raise ValueError(f"ScalarMLP needs as many biases as weights (at least one), got "
                             f"{len(weights)} and {len(biases)}")
        acts = [hidden] * (len(weights) - 1) + [output]
        self.layers = [Layer.from_arrays(w, b, a) for w, b, a in zip(weights, biases, acts)]
        for i, (a, b) in enumerate(zip(self.layers, self.layers[1:])):
            if len(a.neurons) != len(b.neurons[0].w):
                raise ValueError(f"layer {i} gives {len(a.neurons)} outputs but layer {i + 1} "
                                 f"takes {len(b.neurons[0].w)} inputs")
        self.activation = _checked_activation(hidden)
        self.output_activation = output
        self.sizes = [len(self.layers[0].neurons[0].w)] + [len(la.neurons) for la in self.layers]

    def __call__(self, x: Sequence[Any]) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
            x = [x] if isinstance(x, Value) else x
        return x[0] if len(x) == 1 else x

    def __repr__(self) -> str:
        return (f"ScalarMLP({self.sizes}, activation={self.activation!r}, "
                f"output_activation={self.output_activation!r})")


# ---- the document's single neuron --------------------------------------------------------------

# Section 4.1's neuron on two inputs: the inputs, their weights, the bias and the target.
NEURON = {"x1": 0.5, "x2": -1.0, "w1": 0.8, "w2": 0.3, "b": 0.1, "y": 1.0}


def document_neuron(**values: float) -> tuple[Value, dict[str, Value]]:
    """Section 4.1's neuron z = w1·x1 + w2·x2 + b, a = σ(z), with the quadratic cost
    L = ½(a − y)², after backward: (L, every node by its label).

    Keywords replace entries of NEURON, e.g. the weights after a step of gradient descent.
    """
    unknown = sorted(set(values) - set(NEURON))
    if unknown:
        raise TypeError(f"document_neuron takes {', '.join(NEURON)}; got {', '.join(unknown)}")
    given = {**NEURON, **values}
    v = {k: Value(given[k], label=k) for k in ("x1", "x2", "w1", "w2", "b")}
    p1, p2 = v["w1"] * v["x1"], v["w2"] * v["x2"]
    z = p1 + p2 + v["b"]
    a = z.sigmoid()
    err = a - given["y"]
    loss = 0.5 * err ** 2
    for label, node in (("w1·x1", p1), ("w2·x2", p2), ("z", z), ("a", a), ("a − y", err),
                        ("L", loss)):
        node.label = label
        v[label] = node
    loss.backward()
    return loss, v
