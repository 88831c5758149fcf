"""Layers on Tensors: Linear, the activation modules, MLP and Sequential.

As in the document, a layer's weight is (out, in) and a batch is the rows of x, so a layer
computes z = x Wᵀ + b and then a = σ(z). The forward pass of an MLP runs once per mini-batch
in a training loop, so it is kept lean: one node per layer for z (the fused `linear` of
`nn.primitives` rather than transpose, matmul and add) and one for σ, and no checks beyond
the input width.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from autograd import Tensor, rules
from nn.init import HIDDEN, check_sizes, draw_layers, make_rng, resolve_output
from nn.module import Module
from nn.optim import parts_of
from nn.primitives import linear

# ---- activations ------------------------------------------------------------------------------

class Activation(Module):
    """An elementwise function with no parameters; subclasses name themselves in the registry."""

    mode_dependent = False  # never reads `training`

    name = ""
    fn: Callable[[Any], Any] = staticmethod(lambda x: x)

    def __call__(self, x: Any) -> Tensor:
        if type(x) is not Tensor:
            x = Tensor(x)  # raw data is checked as any Tensor's: complex or strings refused
        return self.fn(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    """σ(z) = 1 / (1 + e⁻ᶻ), stable at any |z|."""

    name = "sigmoid"
    fn = rules.sigmoid  # the primitive itself: Tensor.sigmoid is one call more


class Tanh(Activation):
    """tanh z."""

    name = "tanh"
    fn = rules.tanh  # the primitive itself: Tensor.tanh is one call more


class ReLU(Activation):
    """max(z, 0)."""

    name = "relu"
    fn = rules.relu  # the primitive itself: Tensor.relu is one call more


class Identity(Activation):
    """z itself: a layer whose output is its weighted input (logits, regression)."""

    name = "identity"


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, Identity)
}


def activation(name: str | None) -> Activation:
    """The activation module called `name` (None means identity), or a ValueError listing
    the valid names."""
    if name is None:
        return Identity()
    if isinstance(name, str) and name in ACTIVATIONS:
        return ACTIVATIONS[name]()
    valid = ", ".join(sorted(ACTIVATIONS))
    raise ValueError(f"unknown activation {name!r}; valid: {valid} (or None for identity)")


# ---- Linear -----------------------------------------------------------------------------------

class Linear(Module):
    """z = x Wᵀ + b with W of shape (out, in) and b of shape (out,), as in the document."""

    mode_dependent = False  # never reads `training`

    def __init__(self, in_features: int, out_features: int, *, init: str = "normal",
                 seed: int | None = None, rng: np.random.Generator | None = None,
                 dtype: Any = None) -> None:
        in_features, out_features = check_sizes([in_features, out_features], "Linear")
        (w,), (b,) = draw_layers([in_features, out_features], init, make_rng(seed, rng))
        self._set(w, b, dtype)

    @classmethod
    def from_arrays(cls, weight: Any, bias: Any, dtype: Any = None) -> Linear:
        """A layer holding copies of the given weight (out, in) and bias (out,)."""
        w = _float_array(weight, dtype)
        b = _float_array(bias, w.dtype).reshape(-1)
        if w.ndim != 2 or w.shape[0] != b.shape[0] or 0 in w.shape:
            raise ValueError(f"Linear needs weight (out, in) and bias (out,), got shapes "
                             f"{np.shape(weight)} and {np.shape(bias)}")
        layer = cls.__new__(cls)
        layer._set(w, b, dtype)
        return layer

    def _set(self, w: np.ndarray, b: np.ndarray, dtype: Any) -> None:
        dtype = w.dtype if dtype is None else dtype
        self.weight = Tensor(w, requires_grad=True, dtype=dtype, label="weight")
        self.bias = Tensor(b, requires_grad=True, dtype=dtype, label="bias")
        self.out_features, self.in_features = w.shape

    def __call__(self, x: Any) -> Tensor:
        if type(x) is not Tensor and (type(x) is not np.ndarray or x.dtype.kind not in "fiub"):
            x = self._checked_input(x)
        try:
            return linear(x, self.weight, self.bias)
        except (TypeError, ValueError):
            # numpy's message names no layer: a wrong width (or no axis) is said again here
            self._checked_input(x)
            raise

    def _checked_input(self, x: Any) -> Any:
        """x as an array or Tensor of width in_features, or a ValueError naming both."""
        if not isinstance(x, (Tensor, np.ndarray)):
            try:
                x = np.asarray(x, dtype=self.weight.dtype)
            except (TypeError, ValueError) as e:
                raise TypeError(f"{self!r} needs numeric input, got {type(x).__name__}: "
                                f"{e}") from None
        if x.dtype.kind not in "fiub":  # complex would compute on silently; strings fail late
            raise TypeError(f"{self!r} needs numeric input (real numbers), got an array of "
                            f"dtype {x.dtype}")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r} expects inputs of width {self.in_features} (shape "
                             f"(m, {self.in_features}) or ({self.in_features},)), got shape "
                             f"{tuple(x.shape)}")
        return x

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"


def _float_array(a: Any, dtype: Any) -> np.ndarray:
    """A copy of `a` as floats: `dtype` when given, else float32 kept and the rest float64."""
    arr = np.array(a)
    if dtype is None:
        dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"layer parameters must be numbers, got dtype {arr.dtype}")
    return arr.astype(dtype)


# ---- networks ---------------------------------------------------------------------------------

def end_to_end(tensors: list[Tensor]) -> None:
    """Move the tensors' data into one new array, end to end in this order, each tensor keeping
    its shape as a view of its part (values, dtype and version unchanged). An optimizer then
    updates them all with one numpy call: SGD's plain step on the document's network makes
    three calls fewer, 2-4% of an eager step at a batch of 10. Tensors of several dtypes are
    left as they are (one array has one dtype)."""
    if not tensors or len({t._data.dtype for t in tensors}) != 1:
        return
    flat = np.empty(sum(t._data.size for t in tensors), tensors[0]._data.dtype)
    for t, part in zip(tensors, parts_of(flat, [t._data.shape for t in tensors])):
        part[...] = t._data
        t._data = part  # moved, not changed: no new version


class MLP(Module):
    """The document's fully connected network: Linear layers with σ after each.

    MLP([784, 30, 10]) is the section-5 network (sigmoid everywhere, standard-normal weights
    and biases). `output_activation` defaults to `activation`; None leaves the last layer's
    weighted inputs as they are (logits for cross_entropy). `layers` are the Linear layers.

    The weights and biases lie end to end in one array, in `parameters()` order, each
    Tensor's data a view of its part; SGD and compile_step then update them all with one
    numpy call. Writing into them (`t.data[...] = x`, load_state_dict) keeps that layout;
    giving one new data (`t.data = x`) leaves it, and optimizers then update each alone.
    """

    mode_dependent = False  # never reads `training`

    def __init__(self, sizes: Sequence[int], activation: str = "sigmoid",
                 output_activation: str | None = HIDDEN, *, init: str = "normal",
                 seed: int | None = None, rng: np.random.Generator | None = None,
                 dtype: Any = None) -> None:
        sizes = check_sizes(sizes, "MLP")
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least two sizes (inputs and outputs), got {sizes}")
        weights, biases = draw_layers(sizes, init, make_rng(seed, rng))
        out = resolve_output(activation, output_activation)
        self._build(weights, biases, activation, out, dtype)

    @classmethod
    def from_arrays(cls, weights: Sequence[Any], biases: Sequence[Any],
                    activation: str = "sigmoid", output_activation: str | None = HIDDEN,
                    dtype: Any = None) -> MLP:
        """A network holding copies of the given weights (out, in) and biases (out,)."""
        if len(weights) != len(biases) or not weights:
            raise ValueError(f"MLP.from_arrays needs as many biases as weights (at least "
                             f"one), got {len(weights)} and {len(biases)}")
        out = resolve_output(activation, output_activation)
        model = cls.__new__(cls)
        model._build(weights, biases, activation, out, dtype)
        return model

    def _build(self, weights: Sequence[Any], biases: Sequence[Any], hidden: str,
               output: str | None, dtype: Any) -> None:
        self.layers = [Linear.from_arrays(w, b, dtype) for w, b in zip(weights, biases)]
        for i, (a, b) in enumerate(zip(self.layers, self.layers[1:])):
            if a.out_features != b.in_features:
                raise ValueError(f"layer {i} gives {a.out_features} outputs but layer {i + 1} "
                                 f"takes {b.in_features} inputs")
        end_to_end([t for la in self.layers for t in (la.weight, la.bias)])
        acts = [activation(hidden) for _ in self.layers[:-1]] + [activation(output)]
        self.activation = hidden
        self.output_activation = output
        self.sizes = [self.layers[0].in_features] + [la.out_features for la in self.layers]
        self.activations = acts
        # Identity is skipped outright: no node for it in the graph.
        self._steps = [(la, None if isinstance(a, Identity) else a.fn)
                       for la, a in zip(self.layers, acts)]

    def __call__(self, x: Any) -> Tensor:
        for layer, act in self._steps:
            x = layer(x)
            if act is not None:
                x = act(x)
        return x

    def __repr__(self) -> str:
        return (f"MLP({self.sizes}, activation={self.activation!r}, "
                f"output_activation={self.output_activation!r})")


class Sequential(Module):
    """Modules applied in order: Sequential(Linear(2, 8), Tanh(), Linear(8, 1))."""

    mode_dependent = False  # never reads `training`

    def __init__(self, *steps: Module) -> None:
        for i, step in enumerate(steps):
            if not callable(step):
                raise TypeError(f"Sequential step {i} is a {type(step).__name__}, "
                                "not a module or function")
        self.steps = list(steps)

    @property
    def layers(self) -> list[Module]:
        """The steps that hold parameters (Linear, Conv2d, ...), in order: what `draw` boxes
        as layers."""
        return [s for s in self.steps if isinstance(s, Module) and s.parameters()]

    def __call__(self, x: Any) -> Any:
        for step in self.steps:
            x = step(x)
        return x

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i: int) -> Module:
        return self.steps[i]

    def __iter__(self) -> Iterator[Module]:
        return iter(self.steps)

    def __repr__(self) -> str:
        inner = ", ".join(repr(s) for s in self.steps)
        return f"Sequential({inner})"
