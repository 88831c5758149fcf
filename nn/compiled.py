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

    "sgd"      the update folded into the weight-gradient matmul: W −= (η δ)ᵀ a, with η
               applied once to δᴸ (m × out) and carried down the δ recursion, instead of to
               each large gradient (out × in)
    "sigmoid"  σ(z) = ½ tanh(z/2) + ½ in place: silent at any z and exact at |z| = 1000
               with no overflow to watch for (the eager rule tries 1/(1 + e⁻ᶻ) with
               overflow raising, a new array and a change of numpy's error state a call);
               within 1e-16 of the rule in absolute terms, which is what the cost sees
    "cost"     the quadratic cost's gradient (a − y)/m taken from the forward pass's a − y,
               not recomputed
    "bias"     each bias gradient Σ δ over the batch as a BLAS dot with a vector of ones,
               twice as fast as numpy's reduction at these sizes (and summed in another
               order, within an ulp or two)

Only "cost" keeps eager's bits (EXACT_FUSIONS, what nn.train uses): without the other three
the plan computes σ with the rule's own ufuncs in place and multiplies the gradients by η as
eager SGD does, so its steps equal eager's to the last bit.

(Gathering each mini-batch into a preallocated buffer was measured too and does not pay:
`np.take(..., out=buf)` is several times slower than `x.take(idx, axis=0)`, which allocates.)

Parameters are read by reference on every call: `p.data = ...`, in-place updates and
`load_state_dict` between steps are seen. The general path follows `autograd.compile`'s rule
for the Tensors themselves: a layer given a new Tensor object (`layer.weight = Tensor(...)`)
is a new model to it, so make a new step for it (the fused plan notices and steps aside). A
layer frozen between steps (`requires_grad = False`) is left as eager leaves it: the fused plan,
which updates every layer, steps aside for the general path.

The plan is checked against the eager step on its first use for each batch shape (the
parameters it reaches must agree to 64 ulps) and falls back to the general path if they do
not. It consumes the gradients in the update, so after a fused step `.grad` is None, as after
zero_grad(); the general path leaves the last batch's gradients, as eager does. Under
`detect_anomaly()` or `no_grad()` every step takes the general path, which runs eagerly there:
a NaN raises, and backward refuses, as in eager.
"""

from __future__ import annotations

import builtins
import functools
import math
import warnings
from collections.abc import Callable, Iterable
from types import CodeType
from typing import Any

import numpy as np

from autograd import (
    CompileWarning,
    Tensor,
    changed_in_place,
    is_anomaly_enabled,
    is_grad_enabled,
    overflow_raises,
    rules,
    silently,
)
from autograd import compile as compile_fn
from nn.layers import MLP, Identity, Sigmoid
from nn.losses import mse_loss
from nn.optim import SGD, end_to_end_run, parts_of

FUSIONS = ("sgd", "sigmoid", "cost", "bias")
# The fusions that keep eager's bits: nn.train's compiled steps use these only, so `--eager`
# prints the same epoch lines however long the run (a rounding difference of 1e-16 a step,
# which "sgd", "sigmoid" and "bias" make, grows until it moves a count within a few epochs).
EXACT_FUSIONS = ("cost",)


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


class _PlanStale(Exception):
    """The model is not the one the plan was made for (a parameter changed shape or dtype, or
    a layer holds another Tensor), or the optimizer's settings left the plain SGD it does."""


class _OtherBatch(Exception):
    """The batch is not shaped like the ones the plan was made for (another plan may fit)."""


class CompiledStep:
    """The callable compile_step returns: step(x, y) -> loss (a constant Tensor)."""

    def __init__(self, model: Any, loss_fn: Any, optimizer: Any,
                 fusions: frozenset[str]) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.fusions = fusions
        self._general = compile_fn(self._backward)
        self._plans: dict[tuple[Any, ...], Any] = {}
        self._last: _MLPPlan | None = None
        self._fusable = _fusable(model, loss_fn, optimizer)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled and copied without its plans and captures, which hold the arrays of the
        model they were made for: a copy of a step and its model makes its own."""
        state = self.__dict__.copy()
        for name in ("_general", "_plans", "_last"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._general = compile_fn(self._backward)
        self._plans = {}
        self._last = None

    def _backward(self, x: Tensor, y: Tensor) -> Tensor:
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        return loss

    def __call__(self, x: Any, y: Any) -> Tensor:
        if is_anomaly_enabled() or not is_grad_enabled():
            # the fused plan neither checks each op for NaN nor records: the general path,
            # which runs eagerly in these modes, raises where eager raises
            return silently(self._general_step, _array(x, "x"), _array(y, "y"))
        # quiet as eager ops are: a diverging step computes inf and nan without warnings
        return silently(self._step, x, y)

    def _general_step(self, x: Any, y: Any) -> Tensor:
        loss = self._general(x, y)
        self.optimizer.step()
        return loss

    def _step(self, x: Any, y: Any) -> Tensor:
        last = self._last
        if last is not None:  # the steady state: a batch like the step before's
            try:
                return last.run(x, y)
            except _OtherBatch:
                pass
            except _PlanStale:
                self._decide_afresh()
        x, y = _array(x, "x"), _array(y, "y")
        self._last = None
        if self._fusable and type(x) is np.ndarray and type(y) is np.ndarray:
            try:
                loss = self._fused(x, y)
            except _PlanStale:
                self._decide_afresh()
                loss = None
            if loss is not None:
                return loss
        return self._general_step(x, y)

    def _decide_afresh(self) -> None:
        """A parameter or the optimizer changed since the plans were made: drop them."""
        self._plans.clear()
        self._fusable = _fusable(self.model, self.loss_fn, self.optimizer)

    def _fused(self, x: np.ndarray, y: np.ndarray) -> Any:
        """The step through the fused plan for this batch shape (checked against eager on
        its first call): its loss, or None when the general path must take the step."""
        key = (x.shape, x.dtype.char, y.shape, y.dtype.char)
        plan = self._plans.get(key)
        if plan is None:
            plan = _MLPPlan.build(self.model, self.optimizer, x, y, self.fusions) or False
            self._plans[key] = plan
        if plan is False or not plan.fits():
            return None
        if plan.checked:
            self._last = plan
            return plan.run(x, y)
        loss = plan.check(x, y, self._eager_step)  # the step eager took
        if not plan.checked:
            self._plans[key] = False
            warnings.warn("the fused step disagrees with eager; using the general compiled "
                          "path", CompileWarning, stacklevel=5)
        return Tensor._from_data(loss)

    def _eager_step(self, x: np.ndarray, y: np.ndarray) -> float:
        loss = self._backward(Tensor._from_data(x), Tensor._from_data(y))
        self.optimizer.step()
        return float(loss.data)


def _array(a: Any, name: str) -> Any:
    """An ndarray (a subclass such as a memmap as the plain ndarray it views), or a Tensor kept
    as it is; anything else is refused by name."""
    if type(a) is np.ndarray or isinstance(a, Tensor):
        return a
    if isinstance(a, np.ndarray):
        return a.view(np.ndarray)
    raise TypeError(f"a compiled step takes {name} as an ndarray or a Tensor, got "
                    f"{type(a).__name__}")


def _fusable(model: Any, loss_fn: Any, optimizer: Any) -> bool:
    """The document's network: an MLP of sigmoid or identity layers, mse_loss, plain SGD over
    exactly the model's weights and biases, none of them frozen (the plan updates them all)."""
    if type(model) is not MLP or loss_fn is not mse_loss or type(optimizer) is not SGD:
        return False
    if optimizer.momentum or optimizer.weight_decay or len(getattr(optimizer, "param_groups",
                                                                    [None])) != 1:
        return False
    tensors = [t for la in model.layers for t in (la.weight, la.bias)]
    if ({id(p) for p in optimizer.params} != {id(t) for t in tensors}
            or not all(t.requires_grad for t in tensors)):
        return False
    return all(type(a) in (Sigmoid, Identity) for a in model.activations)


# ---- the document's step, fused -------------------------------------------------------------

class _MLPPlan:
    """Forward, quadratic cost, δ recursion and SGD update in preallocated buffers."""

    def __init__(self, model: MLP, optimizer: SGD, x: np.ndarray, y: np.ndarray,
                 fusions: frozenset[str]) -> None:
        m, dtype = len(x), x.dtype
        self.xshape, self.yshape, self.dtype = x.shape, y.shape, dtype
        self.optimizer = optimizer
        self.checked = False
        self.scale = np.asarray(1.0, dtype) / m  # the eager seed (1.0) over m, in its dtype
        self.m = m
        self.fuse_sigmoid = "sigmoid" in fusions
        self.fold = "sgd" in fusions
        self.reuse_cost = "cost" in fusions
        self.bias_dot = "bias" in fusions
        self.layers = []
        for la, act in zip(model.layers, model.activations):
            n = la.out_features
            self.layers.append(_Layer(la, type(act) is Sigmoid,
                                      np.empty((m, n), dtype), np.empty((m, n), dtype),
                                      np.empty((m, n), dtype)))
        self.d = np.empty((m, model.layers[-1].out_features), dtype)
        self.ones = np.ones(m, dtype)
        # Parameters end to end in one array (an MLP's own layout) get their gradients laid
        # out alike, so that one subtraction updates them all.
        self.packed = end_to_end_run([t.data for la in self.layers for t in (la.w, la.b)])
        if self.packed is not None:
            self.grads = np.empty_like(self.packed)
            views = iter(parts_of(self.grads, [t.data.shape for la in self.layers
                                               for t in (la.w, la.b)]))
            for la in self.layers:
                la.gw, la.gb = next(views), next(views)
        self.run = self._generate()

    @classmethod
    def build(cls, model: MLP, optimizer: SGD, x: np.ndarray, y: np.ndarray,
              fusions: frozenset[str]) -> _MLPPlan | None:
        """A plan for batches shaped like x and y, or None when they do not fit one."""
        dtypes = {la.weight.data.dtype for la in model.layers} | {
            la.bias.data.dtype for la in model.layers} | {x.dtype, y.dtype}
        if (x.ndim != 2 or y.ndim != 2 or len(x) != len(y) or not len(x) or len(dtypes) != 1
                or x.shape[1] != model.layers[0].in_features
                or y.shape[1] != model.layers[-1].out_features):
            return None
        return cls(model, optimizer, x, y, fusions)

    def fits(self) -> bool:
        """The parameters still have the shapes and dtype the buffers were made for."""
        return all(la.fits(self.dtype) for la in self.layers)

    def check(self, x: np.ndarray, y: np.ndarray, eager: Callable[..., float]) -> np.ndarray:
        """Run the plan and the eager step from the same parameters; keep eager's result and
        return its loss. `checked` says whether the two agreed."""
        params = [t for la in self.layers for t in (la.w, la.b)]
        start = [p.data.copy() for p in params]
        loss = self.run(x, y).data
        fused = [p.data.copy() for p in params]
        for p, s in zip(params, start):
            p.data[...] = s
        eager_loss = eager(x, y)
        tol = 64 * np.finfo(self.dtype).eps
        self.checked = _agree(loss, eager_loss, tol) and all(
            _agree(f, p.data, tol, _entry_size(p.data, s)) for f, p, s in zip(fused, params, start))
        return np.asarray(eager_loss, dtype=self.dtype)

    def _generate(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """The step as one straight-line function of numpy calls (source in `.source`)."""
        names: dict[str, Any] = {"np": np, "_PlanStale": _PlanStale, "_OtherBatch": _OtherBatch,
                                 "ARRAY": np.ndarray, "XS": self.xshape, "YS": self.yshape,
                                 "DT": self.dtype, "INF": math.inf, "CHANGED": changed_in_place,
                                 "TENSOR": Tensor._from_data, "SCALE": self.scale,
                                 "OPT": self.optimizer, "ONES": self.ones,
                                 "SIG": _sigmoid_fused if self.fuse_sigmoid else _sigmoid_exact,
                                 # numbers as scalars of the dtype: a Python float costs a
                                 # float32 ufunc 0.1 µs more (numpy casts it on every call)
                                 "HALF": self.dtype.type(0.5), "ONE": self.dtype.type(1.0)}
        lines = ["def step(x, y):",
                 "    if (x.__class__ is not ARRAY or y.__class__ is not ARRAY or x.shape != XS",
                 "            or y.shape != YS or x.dtype != DT or y.dtype != DT):",
                 "        raise _OtherBatch",
                 # the settings eager SGD takes its plain update with, read on every step
                 # from the one group (as SGD.step reads them)
                 "    groups = OPT.param_groups",
                 "    if len(groups) != 1:",
                 "        raise _PlanStale",
                 "    group = groups[0]",
                 "    lr = group['lr']",
                 "    if (group['momentum'] or group['weight_decay'] or lr.__class__ is not float",
                 "            or not 0.0 <= lr < INF):",
                 "        raise _PlanStale"]
        for i, la in enumerate(self.layers):
            names.update({f"L{i}": la.module, f"W{i}": la.w, f"B{i}": la.b, f"WS{i}": la.wshape,
                          f"BS{i}": la.bshape, f"h{i}": la.h, f"d{i}": la.delta,
                          f"t{i}": la.tmp, f"gw{i}": la.gw, f"gb{i}": la.gb})
            # the layer's own tensors (one assigned a new Tensor, or frozen, is a model the
            # plan was not made for), and their arrays, read by reference
            lines += [f"    if (L{i}.weight is not W{i} or L{i}.bias is not B{i}",
                      f"            or not W{i}.requires_grad or not B{i}.requires_grad):",
                      "        raise _PlanStale",
                      f"    w{i} = W{i}.data", f"    b{i} = B{i}.data"]
            if self.packed is not None:  # the very arrays laid out end to end, or a new plan
                names.update({f"PW{i}": la.w.data, f"PB{i}": la.b.data})
                lines += [f"    if w{i} is not PW{i} or b{i} is not PB{i}:",
                          "        raise _PlanStale"]
            else:
                lines += [f"    if w{i}.shape != WS{i} or b{i}.shape != BS{i} or w{i}.dtype != DT "
                          f"or b{i}.dtype != DT:", "        raise _PlanStale"]
        lines += self._forward_lines() + self._cost_lines(names) + self._backward_lines(names)
        lines += [f"    W{i}.grad = B{i}.grad = None" for i in range(len(self.layers))]
        lines.append("    return TENSOR(loss)")
        source = "\n".join(lines)
        exec(_compiled_source(source), names)  # layer numbers only; the arrays sit in names
        step = names["step"]
        step.source = source
        return step

    def _forward_lines(self) -> list[str]:
        """z = a Wᵀ + b into h, then σ(z) in place (eager's linear adds b in place too).
        Here and below ufuncs get their output by position: 40 ns a call less than out=."""
        lines = []
        for i, la in enumerate(self.layers):
            a = f"h{i - 1}" if i else "x"
            lines += [f"    np.matmul({a}, w{i}.T, h{i})", f"    np.add(h{i}, b{i}, h{i})"]
            if la.sig:
                lines.append(f"    SIG(h{i}, {'HALF' if self.fuse_sigmoid else f't{i}'})")
        return lines

    def _cost_lines(self, names: dict[str, Any]) -> list[str]:
        """J = Σ‖a − y‖² / 2m, and δᴸ's first factor (a − y)/m: times η when the update is
        folded in, since the δ recursion is linear in δ and every δ below then carries η."""
        k = len(self.layers) - 1
        names["D"], names["M2"] = self.d, 2 * self.m
        lines = [f"    d = np.subtract(h{k}, y, D)",
                 "    loss = np.asarray(np.vdot(d, d) / M2)"]
        if not self.reuse_cost:
            lines.append(f"    d = h{k} - y")  # what the eager rule does: a − y once more
        lines.append(f"    np.multiply(d, {'SCALE * lr' if self.fold else 'SCALE'}, d{k})")
        if self.layers[k].sig:
            lines += _sigmoid_grad_lines(k)
        return lines

    def _backward_lines(self, names: dict[str, Any]) -> list[str]:
        """δˡ = δˡ⁺¹ Wˡ⁺¹ ⊙ σ′(zˡ); W −= η δᵀ aˡ⁻¹; b −= η Σ δ; each W used before its update
        (all of them at the end, in one subtraction, when the parameters lie end to end).
        Folded, δ carries η already: the update is the weight-gradient matmul and a
        subtraction, with no pass over the (out × in) gradient to scale it."""
        lines = []
        for i in range(len(self.layers) - 1, -1, -1):
            prev = f"h{i - 1}" if i else "x"
            if i:
                lines.append(f"    np.matmul(d{i}, w{i}, d{i - 1})")
                if self.layers[i - 1].sig:
                    lines += _sigmoid_grad_lines(i - 1)
            lines.append(f"    np.matmul(d{i}.T, {prev}, gw{i})")
            if self.bias_dot:  # Σ over the batch as a BLAS dot with ones: half the time
                lines.append(f"    np.dot(ONES, d{i}, out=gb{i})")
            else:
                lines.append(f"    np.add.reduce(d{i}, axis=0, out=gb{i})")
            if self.packed is None:
                if not self.fold:
                    lines += [f"    np.multiply(gw{i}, lr, gw{i})",
                              f"    np.multiply(gb{i}, lr, gb{i})"]
                lines += [f"    np.subtract(w{i}, gw{i}, w{i})",
                          f"    np.subtract(b{i}, gb{i}, b{i})"]
        if self.packed is not None:  # every parameter at once, from gradients laid out alike
            names["RUN"], names["GRADS"] = self.packed, self.grads
            if not self.fold:  # eager SGD's lr · g, for all of them in one call
                lines.append("    np.multiply(GRADS, lr, GRADS)")
            lines.append("    np.subtract(RUN, GRADS, RUN)")
        # one bump of the version counters for every parameter updated in place, as eager
        # SGD does, so a graph recorded before this step is refused by backward
        params = ", ".join(f"W{i}, B{i}" for i in range(len(self.layers)))
        return [*lines, f"    CHANGED(({params},))"]


def _agree(a: Any, b: Any, tol: float, scale: float = 1.0) -> bool:
    """a and b within tol relative, and tol · scale absolute; nan agrees with nan, as in the
    replay check of autograd.compile."""
    return bool(np.allclose(a, b, rtol=tol, atol=tol * scale, equal_nan=True))


def _entry_size(after: np.ndarray, before: np.ndarray) -> float:
    """The size of a parameter's entries before and after a step (at least 1, finite ones
    only): a fused step's rounding differs from eager's in proportion to the update, so an
    entry the update left small may differ by an ulp of the largest one (a learning rate
    of 1e6 moves every weight by about 1e4)."""
    finite = [np.abs(a[np.isfinite(a)]) for a in (after, before)]
    return max([1.0, *(float(f.max()) for f in finite if f.size)])


@functools.lru_cache(maxsize=32)
def _compiled_source(source: str) -> CodeType:
    """A plan's source compiled once: plans of one depth and fusions share the code, and a
    new model (a benchmark round, a restarted training) skips the 0.4 ms of compiling it."""
    return builtins.compile(source, "<compile_step>", "exec")


def _sigmoid_grad_lines(i: int) -> list[str]:
    """δ ⊙= σ′ = a(1 − a), in the eager rule's order: (g·a)·(1 − a)."""
    return [f"    np.multiply(d{i}, h{i}, d{i})", f"    np.subtract(ONE, h{i}, t{i})",
            f"    np.multiply(d{i}, t{i}, d{i})"]


class _Layer:
    """One layer's parameters and buffers: h holds z, then σ(z); delta is δ; tmp scratch."""

    __slots__ = ("module", "w", "b", "sig", "h", "delta", "tmp", "gw", "gb", "wshape",
                 "bshape")

    def __init__(self, module: Any, sig: bool, h: np.ndarray, delta: np.ndarray,
                 tmp: np.ndarray) -> None:
        self.module, self.w, self.b = module, module.weight, module.bias
        self.sig, self.h, self.delta, self.tmp = sig, h, delta, tmp
        self.gw, self.gb = np.empty_like(self.w.data), np.empty_like(self.b.data)
        self.wshape, self.bshape = self.w.data.shape, self.b.data.shape

    def fits(self, dtype: Any) -> bool:
        w, b = self.w.data, self.b.data
        return (w.shape == self.wshape and b.shape == self.bshape and w.dtype == dtype
                and b.dtype == dtype)


def _sigmoid_fused(h: np.ndarray, half: Any) -> None:
    """σ(z) = ½ tanh(z/2) + ½ in place (`half`: ½ in h's dtype): tanh never overflows, so
    nothing needs watching, and σ(±1000) is exactly 1 or 0. Accurate to 1e-16 absolute (not
    relative in the far left tail, which the quadratic cost and σ′ = σ(1 − σ) do not see)."""
    np.multiply(h, half, h)
    np.tanh(h, h)
    np.multiply(h, half, h)
    np.add(h, half, h)


def _sigmoid_exact(h: np.ndarray, t: np.ndarray) -> None:
    """The engine's own rule in place, to the last bit: its four ufuncs for 1 / (1 + e⁻ᶻ) with
    overflow raising (`t` is scratch), and its stable form where e⁻ᶻ overflows."""
    try:
        overflow_raises(_sigmoid_into, h, t)
    except FloatingPointError:  # h is untouched until the last, overflow-free ufunc
        h[...] = rules._sigmoid_stable(h)


def _sigmoid_into(h: np.ndarray, t: np.ndarray) -> None:
    """rules._sigmoid_direct with its result written into h."""
    np.negative(h, t)
    np.exp(t, t)
    t += 1.0
    np.reciprocal(t, h)
