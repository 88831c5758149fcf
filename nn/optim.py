"""Optimizers: SGD (the document's update), SGD with momentum, and Adam.

`SGD(params, lr=eta).step()` is `p.data -= eta * p.grad` for every parameter: with mse_loss
(the mean over the batch) that is exactly the document's update_mini_batch. step() runs once
per mini-batch, so it works in place on preallocated buffers and allocates nothing per call.
The plain step scales every gradient before any parameter changes, and every step refuses a
gradient that cannot update its parameter before it changes anything. Parameters that lie end
to end in one array (an MLP's) are updated with one subtraction for all of them, to the same
numbers. Parameters whose `.grad` is None (they took no part in the loss) are left alone.

L2 weight decay adds `weight_decay * p` to each gradient before the update (the gradient of
(weight_decay / 2) ‖p‖²), as PyTorch's `weight_decay` does. Parameters come in groups, as in
PyTorch: `SGD([{"params": weights, "weight_decay": 1e-4}, {"params": biases}], lr=0.1)` decays
the weights only; each group may set its own lr and weight_decay (and momentum, betas, eps),
and `opt.param_groups[i]["lr"]` may be changed between steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from autograd import Tensor, changed_in_place


def _setting(name: str) -> property:
    """An optimizer setting as an attribute: read when every group has the same value, and
    written to every group (checked), as a schedule between steps does."""

    def read(self: Optimizer) -> Any:
        groups = self.param_groups
        if len(groups) == 1:  # the common case, read once a step by a compiled plan
            return groups[0][name]
        values = [g[name] for g in groups]
        if any(v != values[0] for v in values[1:]):
            raise AttributeError(f"the parameter groups have different values of {name} "
                                 f"{values}: read opt.param_groups[i][{name!r}]")
        return values[0]

    def write(self: Optimizer, value: Any) -> None:
        for group in self.param_groups:
            previous, group[name] = group[name], value
            try:
                self._check_group(group)
            except (TypeError, ValueError):
                group[name] = previous
                raise

    return property(read, write, doc=f"The {name} of every parameter group.")


class Optimizer:
    """The shared part: parameter groups (PyTorch's format), their checked settings, zero_grad.

    `params` is an iterable of Tensors, or of groups `{"params": [...], "lr": ..., ...}`; a
    setting a group leaves out takes the optimizer's argument. `opt.param_groups[i]["lr"]`
    may be changed between steps (a learning-rate schedule).
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        who = type(self).__name__
        self.param_groups = _checked_groups(params, defaults, who)
        self.params = _checked_params([p for g in self.param_groups for p in g["params"]], who)
        for group in self.param_groups:
            self._check_group(group)
        # One scratch array per parameter: the step's temporaries live here, not in new arrays.
        self._scratch = [np.empty_like(p.data) for p in self.params]
        for p in self.params:  # so `p.data = ...` refuses a new shape or dtype, naming us
            p._held_by = type(self).__name__

    def _check_group(self, group: dict[str, Any]) -> None:
        """Every setting of a group checked (again at each step: a schedule may change them)."""
        who = type(self).__name__
        for name in ("lr", "weight_decay"):
            group[name] = _checked_number(group[name], name, who)

    def _groups(self) -> Iterator[tuple[dict[str, Any], int, list[Tensor]]]:
        """Each group (checked), the flat index of its first parameter, and its parameters."""
        start = 0
        for group in self.param_groups:
            self._check_group(group)
            yield group, start, group["params"]
            start += len(group["params"])

    lr = _setting("lr")
    weight_decay = _setting("weight_decay")

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (`p.grad = None`) before the next backward."""
        for p in self.params:
            p.grad = None

    @staticmethod
    def _gradient(p: Tensor, g: Any, scratch: np.ndarray, decay: float) -> np.ndarray:
        """The gradient the update uses: p.grad, plus decay · p when decay is on."""
        if type(g) is not np.ndarray:
            g = _as_ndarray(g)
        if decay:
            np.multiply(p.data, decay, out=scratch)
            scratch += g
            return scratch
        return g


class SGD(Optimizer):
    """p ← p − lr · v, with v = g (plain) or v ← momentum · v + g (heavy ball, as PyTorch)."""

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})
        self._velocity: list[np.ndarray | None] = [None] * len(self.params)
        # Per group: the flat index of its first parameter, (parameter, scratch) pairs, and for
        # parameters that lie end to end in one array (an MLP's) that array and the scratch's.
        self._starts = [start for _, start, _ in self._groups()]
        self._packed = [self._pack(start, ps) for _, start, ps in self._groups()]
        self._pairs = [list(zip(ps, self._scratch[start:start + len(ps)]))
                       for _, start, ps in self._groups()]

    def __getstate__(self) -> dict[str, Any]:
        """Pickled and copied without the parameters' shared array: a copy's parameters have
        arrays of their own (a copied view is a new array), so the copy works its layout out
        again rather than subtract into an array no parameter holds."""
        state = self.__dict__.copy()
        del state["_packed"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._packed = [self._pack(start, ps) for _, start, ps in self._groups()]

    def _pack(self, start: int, params: list[Tensor]) -> tuple[Any, ...] | None:
        """(the parameters' one array, a scratch array laid out alike, and (parameter, its
        scratch, its data) for each) when they lie end to end; their scratch arrays become
        views of the new one."""
        run = end_to_end_run([p.data for p in params])
        if run is None:
            return None
        scratch = np.empty_like(run)
        bufs = parts_of(scratch, [p.data.shape for p in params])
        self._scratch[start:start + len(params)] = bufs
        return run, scratch, [(p, buf, p.data) for p, buf in zip(params, bufs)]

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        momentum = group["momentum"]
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.floating)):
            raise TypeError(f"SGD momentum must be a number, got {type(momentum).__name__}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD momentum must be in [0, 1), got {momentum!r}")
        group["momentum"] = float(momentum)

    momentum = _setting("momentum")

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient."""
        for group, start, pairs, packed in zip(self.param_groups, self._starts, self._pairs,
                                               self._packed):
            lr = group["lr"]
            # Settings are checked when they are not plain: a schedule may have changed them.
            if group["momentum"] or group["weight_decay"] or not (
                    type(lr) is float and 0.0 <= lr < math.inf):
                self._check_group(group)
                if group["momentum"] or group["weight_decay"]:
                    self._step_with_extras(group, start, group["params"])
                    continue
                lr = group["lr"]
            if packed is not None:
                # The document's update, the hot path, for parameters end to end in one array
                # (an MLP's): every gradient times lr into its part of the scratch, then one
                # subtraction for all (ufuncs in place, the output passed by position: 40 ns
                # a call less than out=), and one call for all the version bumps (through the
                # `.data` setter they cost 2% of the epoch).
                run, scratch, parts = packed
                for p, buf, data in parts:
                    g = p.grad
                    if g is None or p.data is not data:  # taking no part, or new data
                        break
                    np.multiply(g if type(g) is np.ndarray else _as_ndarray(g), lr, buf)
                else:
                    np.subtract(run, scratch, run)
                    changed_in_place(group["params"])
                    continue
            # Every gradient is scaled before any parameter changes, so one that cannot be
            # (a wrong shape) raises with nothing updated.
            stepped = []
            for p, buf in pairs:
                g = p.grad
                if g is not None:
                    np.multiply(g if type(g) is np.ndarray else _as_ndarray(g), lr, buf)
                    stepped.append((p, buf))
            for p, buf in stepped:
                data = p.data
                np.subtract(data, buf, data)
            changed_in_place([p for p, _ in stepped])

    def _step_with_extras(self, group: dict[str, Any], start: int, params: list[Tensor]
                          ) -> None:
        lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
        _check_gradient_shapes(params, start, type(self).__name__)
        for i, p in enumerate(params, start):
            if p.grad is None:
                continue
            buf = self._scratch[i]
            g = self._gradient(p, p.grad, buf, decay)
            if momentum:
                g = self._momentum(i, g, momentum)
            np.multiply(g, lr, out=buf)
            p.data -= buf

    def _momentum(self, i: int, g: np.ndarray, momentum: float) -> np.ndarray:
        v = self._velocity[i]
        if v is None:
            # The first step starts the velocity at the gradient itself (PyTorch's convention).
            v = self._velocity[i] = np.array(g, dtype=self.params[i].data.dtype)
        else:
            v *= momentum
            v += g
        return v

    def __repr__(self) -> str:
        groups = "; ".join(f"lr={g['lr']}, momentum={g['momentum']}, "
                           f"weight_decay={g['weight_decay']}" for g in self.param_groups)
        return f"SGD({groups})"


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with bias correction; L2 decay is added to the gradient."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay})
        self._m = [np.zeros_like(p.data) for p in self.params]
        self._v = [np.zeros_like(p.data) for p in self.params]
        self._t = [0] * len(self.params)
        # A second buffer: with weight decay on, the gradient itself lives in the first.
        self._tmp = [np.empty_like(p.data) for p in self.params]

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        group["betas"] = _checked_betas(group["betas"])
        eps = group["eps"]
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)):
            raise TypeError(f"Adam eps must be a number, got {type(eps).__name__}")
        if not (eps > 0 and math.isfinite(eps)):
            raise ValueError(f"Adam eps must be a positive number, got {eps!r}")
        group["eps"] = float(eps)

    betas = _setting("betas")
    eps = _setting("eps")

    def step(self) -> None:
        """m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr·m̂ / (√v̂ + eps)."""
        groups = list(self._groups())
        for _, start, params in groups:  # a bad gradient raises before any state changes
            _check_gradient_shapes(params, start, "Adam")
        for group, start, params in groups:
            for i, p in enumerate(params, start):
                if p.grad is not None:
                    self._update(i, p, group)

    def _update(self, i: int, p: Tensor, group: dict[str, Any]) -> None:
        b1, b2 = group["betas"]
        g = self._gradient(p, p.grad, self._scratch[i], group["weight_decay"])
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
        tmp += group["eps"]
        np.divide(m, tmp, out=tmp)
        tmp *= group["lr"] / (1 - b1 ** t)
        p.data -= tmp

    def __repr__(self) -> str:
        groups = "; ".join(f"lr={g['lr']}, betas={g['betas']}, eps={g['eps']}, "
                           f"weight_decay={g['weight_decay']}" for g in self.param_groups)
        return f"Adam({groups})"


def _check_gradient_shapes(params: list[Tensor], start: int, who: str) -> None:
    """Refuse, before anything changes, a gradient whose shape cannot update its parameter
    (the steps that keep state, momentum and Adam's moments, change it parameter by
    parameter)."""
    for i, p in enumerate(params, start):
        g = p.grad
        if g is None:
            continue
        shape, want = np.shape(g.data if isinstance(g, Tensor) else g), p.data.shape
        try:
            fits = np.broadcast_shapes(shape, want) == want
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{who}: the gradient of parameter {i} has shape {shape}, which "
                             f"cannot update the parameter's shape {want}; nothing was changed")


def parts_of(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """`flat` cut end to end, in order, into views of these shapes."""
    parts, at = [], 0
    for shape in shapes:
        size = math.prod(shape)
        parts.append(flat[at:at + size].reshape(shape))
        at += size
    return parts


def end_to_end_run(arrays: list[np.ndarray]) -> np.ndarray | None:
    """The 1-D view over all of `arrays` when they lie end to end, in this order, in one
    C-contiguous 1-D array (as MLP keeps its parameters); None otherwise."""
    owner = arrays[0].base if arrays else None
    if owner is None or owner.ndim != 1 or not owner.flags.c_contiguous:
        return None
    begin = at = (arrays[0].ctypes.data - owner.ctypes.data) // owner.itemsize
    for a in arrays:
        if (a.base is not owner or a.dtype != owner.dtype or not a.flags.c_contiguous
                or a.ctypes.data != owner.ctypes.data + at * owner.itemsize):
            return None
        at += a.size
    return owner[begin:at]


def _as_ndarray(g: Any) -> np.ndarray:
    """A gradient as an ndarray (it is a Tensor after a backward with create_graph=True)."""
    return np.asarray(g.data if isinstance(g, Tensor) else g)


def _checked_groups(params: Iterable[Any], defaults: dict[str, Any], who: str
                    ) -> list[dict[str, Any]]:
    """The parameter groups: one group of all params, or the given dicts with defaults filled."""
    if hasattr(params, "parameters") and callable(params.parameters):
        raise TypeError(f"{who} takes the parameters, not the model: {who}(model.parameters(), "
                        "...)")
    try:
        items = list(params)
    except TypeError:
        raise TypeError(f"{who} needs an iterable of Tensors or of parameter groups, got "
                        f"{type(params).__name__}") from None
    if not items or not all(isinstance(g, dict) for g in items):
        if any(isinstance(g, dict) for g in items):
            raise TypeError(f"{who} got a mix of Tensors and parameter groups: give a list of "
                            "groups ({'params': [...]}) or a list of Tensors")
        return [{"params": items, **defaults}]
    return [_checked_group(g, i, defaults, who) for i, g in enumerate(items)]


def _checked_group(group: dict[str, Any], i: int, defaults: dict[str, Any], who: str
                   ) -> dict[str, Any]:
    if "params" not in group:
        raise ValueError(f"{who} parameter group {i} has no 'params' entry")
    unknown = set(group) - {"params"} - set(defaults)
    if unknown:
        raise ValueError(f"{who} parameter group {i} has unknown settings {sorted(unknown)}; "
                         f"a group may set {sorted(defaults)}")
    params = group["params"]
    params = [params] if isinstance(params, Tensor) else list(params)
    if not params:
        raise ValueError(f"{who} parameter group {i} is empty")
    return {**defaults, **group, "params": params}


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
