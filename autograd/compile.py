"""`autograd.compile(fn)`: capture a step once, replay it as straight-line numpy.

`step = compile(fn)` returns a callable with fn's behaviour. For each input signature (the
arguments' kinds, shapes and dtypes, and whether they require grad) it

1. runs fn eagerly once (warm-up: optimizers and caches may allocate on a first call);
2. runs it eagerly again while recording every primitive call, every `backward()` and every
   `p.grad = None`, and walks each backward pass once to learn its order and shapes;
3. on the third call, runs the replay and fn eagerly side by side, records the eager run
   again, and checks that both recordings agree and that the replay gives the same outputs
   and gradients as eager;
4. from then on replays: one generated Python function of numpy calls, with no graph
   nodes, no topological sort and no dicts or sets per call.

A new shape (the last partial batch) gets a tape of its own, after the same three calls.

The rules, as tinygrad's TinyJit and `torch.compile` state theirs:

- Arguments are Tensors or ndarrays (fn receives ndarrays as constant Tensors, in every
  call; a subclass such as a memmap as the plain ndarray it views). Parameters, the leaf
  tensors fn uses that require grad, are read by reference on every call: in-place updates
  and `p.data = ...` between calls are seen. If a parameter's shape, dtype or requires_grad
  changes, the call is captured anew.
- Python values fn reads from elsewhere (globals, closure variables, tensors that do not
  require grad) are frozen at capture; arrays among them are held by reference.
- fn may call `backward()` (seeded with 1 on a one-entry tensor) and reset gradients
  (`p.grad = None`, `optimizer.zero_grad()`); calls leave the same `.grad` values as eager.
- A replayed call returns fn's result as constant Tensors (no graph): fn's own backward
  has already run.
- Not captured, and detected: Python that reads a tensor's numbers (`.item()`, `float(t)`,
  comparisons, `np.asarray(t)`, `.data` or `.grad` arithmetic, hence data-dependent `if`s),
  writes to `.data` or `.grad` inside fn (an optimizer step), ops under `no_grad` or on
  detached tensors feeding the graph, `create_graph`, `backward(grad=...)`, `retain_grad()`,
  Values, and a recording that differs between two calls (random numbers drawn inside fn).
  Anomaly mode and `no_grad` run fn eagerly. Such a fn runs eagerly from then on with one
  `CompileWarning`, or, with `strict=True`, raises `CompileError` saying why.
- The capture wraps Tensor's attributes for the capturing thread while it runs; other
  threads meanwhile run eagerly as usual.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from autograd import _capture
from autograd._capture import Backward, Capture, Reset, Tape, Uncapturable, capturing
from autograd.graph import is_grad_enabled, silently
from autograd.tensor import Tensor


class CompileWarning(UserWarning):
    """A compiled function runs eagerly: the message says what could not be captured."""


class CompileError(RuntimeError):
    """Raised instead of the warning by `compile(fn, strict=True)`."""


class _TapeStale(Exception):
    """A parameter changed shape, dtype or requires_grad since capture."""


def compile(fn: Callable[..., Any], *, strict: bool = False) -> Compiled:
    """fn, captured once per input signature and replayed without graph bookkeeping.

    See the module docstring for what is captured. With `strict`, a fn that cannot be
    captured raises CompileError instead of running eagerly with a CompileWarning.
    """
    if not callable(fn):
        raise TypeError(f"compile expects a function, got {type(fn).__name__}")
    return Compiled(fn, strict)


class Compiled:
    """The callable `compile` returns; `.eager_reason` says why it runs eagerly, if it does."""

    def __init__(self, fn: Callable[..., Any], strict: bool) -> None:
        self.fn = fn
        self.strict = strict
        self.eager_reason: str | None = None
        self._entries: dict[tuple[Any, ...], list[Any]] = {}
        self.__wrapped__ = fn
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, *args: Any) -> Any:
        key = _signature(args)
        if key is None:  # an ndarray subclass (a memmap): taken as the plain ndarray it views
            args = tuple([_base_ndarray(a) for a in args])
            key = _signature(args)
        if not is_grad_enabled():
            return self._eager(args)
        if _capture._anomaly_on():
            self._give_up("anomaly mode is on, and it checks each op as it runs")
            return self._eager(args)
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = ["capture", None]
            return self._eager(args)
        state, tape = entry
        if state == "ready":
            try:
                return _results(tape, tape.replay(*args))
            except _TapeStale:
                entry[0] = "capture"
                return self._capture_into(entry, args)
        if state == "capture":
            return self._capture_into(entry, args)
        if state == "verify":
            return self._verify(entry, args)
        return self._eager(args)

    @property
    def tapes(self) -> int:
        """How many signatures are being replayed."""
        return sum(1 for state, _ in self._entries.values() if state == "ready")

    # -- the stages --

    def _eager(self, args: tuple[Any, ...]) -> Any:
        return self.fn(*_as_tensors(args))

    def _capture_into(self, entry: list[Any], args: tuple[Any, ...]) -> Any:
        result, cap = _record(self.fn, args)
        if cap is None:  # another thread was capturing: try again on the next call
            return result
        if cap.problem is not None:
            entry[0] = "eager"
            self._give_up(cap.problem)
            return result
        try:
            cap.tape.replay = _generate(cap.tape, args)
        except Uncapturable as e:
            entry[0] = "eager"
            self._give_up(str(e))
            return result
        entry[:] = ["verify", cap.tape]
        return result

    def _verify(self, entry: list[Any], args: tuple[Any, ...]) -> Any:
        """Replay and eager side by side: the recordings, outputs and gradients must agree."""
        tape = entry[1]
        targets = _grad_targets(tape, args)
        before = [p.grad for p in targets]
        try:
            replayed = tape.replay(*args)
            why = None
        except Exception as e:  # a replay that cannot run is a replay that cannot be trusted
            replayed, why = None, f"the replay failed ({type(e).__name__}: {e})"
        replay_grads = [p.grad for p in targets]
        for p, g in zip(targets, before):
            p.grad = g
        result, cap = _record(self.fn, args)
        if cap is None:  # another thread was capturing: check on the next call
            return result
        why = why or _disagreement(tape, cap, replayed, replay_grads, targets)
        if why is not None:
            entry[:] = ["eager", None]
            self._give_up(why)
            return result
        entry[0] = "ready"
        return result

    def _give_up(self, why: str) -> None:
        message = f"compiled {getattr(self.fn, '__name__', 'function')} runs eagerly: {why}"
        if self.strict:
            raise CompileError(message)
        if self.eager_reason is None:
            self.eager_reason = why
            warnings.warn(message, CompileWarning, stacklevel=4)


# ---- arguments -----------------------------------------------------------------------------

def _signature(args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """What a tape depends on in the arguments (None if one is an ndarray subclass); refuses
    what is not an array."""
    key = []
    for i, a in enumerate(args):
        if type(a) is np.ndarray:
            key.append((False, a.shape, a.dtype.char, False))
        elif isinstance(a, Tensor):
            key.append((True, a.data.shape, a.data.dtype.char, a.requires_grad))
        elif isinstance(a, np.ndarray):
            return None
        else:
            raise TypeError(f"a compiled function takes Tensors and ndarrays; argument {i} is "
                            f"a {type(a).__name__} (bind other values with a closure or "
                            "functools.partial)")
    return tuple(key)


def _base_ndarray(a: Any) -> Any:
    """An ndarray subclass (memmap, matrix) as a plain ndarray over the same memory: numpy
    calls on it then give plain arrays, as the replay's buffers are."""
    return a.view(np.ndarray) if isinstance(a, np.ndarray) else a


def _as_tensors(args: tuple[Any, ...]) -> list[Tensor]:
    return [a if isinstance(a, Tensor) else Tensor._from_data(a) for a in args]


def _record(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, Capture | None]:
    """fn run eagerly while capturing. Inputs are marked as requiring grad meanwhile, so that
    everything computed from them is recorded; their flags and gradients are put back."""
    inputs = _as_tensors(args)
    cap = Capture(inputs)
    marked = [(t, t.grad) for t in inputs if not t.requires_grad]
    for t, _ in marked:
        t.requires_grad = True
    try:
        with capturing(cap):
            result = fn(*inputs)
            cap.on_result(result)
    except Uncapturable:
        return fn(*_as_tensors(args)), None
    finally:
        for t, g in marked:
            t.requires_grad = False
            t.grad = g
    return result, cap


def _grad_targets(tape: Tape, args: tuple[Any, ...]) -> list[Tensor]:
    """The tensors whose .grad a call may change: parameters and inputs requiring grad."""
    return tape.params + [a for a in args if isinstance(a, Tensor) and a.requires_grad]


def _results(tape: Tape, values: tuple[Any, ...]) -> Any:
    return _build(tape.outputs, values)


def _build(spec: Any, values: tuple[Any, ...]) -> Any:
    if spec is None:
        return None
    if spec[0] == "v":
        return Tensor._from_data(values[spec[1]])
    kind, items = spec
    return kind(_build(s, values) for s in items)


# ---- the check -----------------------------------------------------------------------------

def _disagreement(tape: Tape, cap: Capture, replayed: Any, grads: list[Any],
                  targets: list[Tensor]) -> str | None:
    """Why the replay cannot stand in for fn, or None when it can."""
    if cap.problem is not None:
        return cap.problem
    why = _same_recording(tape, cap.tape)
    if why is not None:
        return why
    for k in _output_slots(tape.outputs):
        if not _replay_agrees(replayed[k], cap.values[k]):
            return "the replay's output differs from eager"
    for p, g in zip(targets, grads):
        if (g is None) != (p.grad is None) or (g is not None and not _replay_agrees(g, p.grad)):
            return "the replay's gradients differ from eager"
    return None


def _same_recording(a: Tape, b: Tape) -> str | None:
    """Two calls of fn recorded the same ops on the same arguments, or a reason they did not."""
    same_params = len(a.params) == len(b.params) and all(
        x is y for x, y in zip(a.params, b.params))
    if len(a.events) != len(b.events) or len(a.ops) != len(b.ops) or not same_params:
        return "fn did different things in two calls (Python control flow on data?)"
    for x, y in zip(a.ops, b.ops):
        if x.op is not y.op or len(x.args) != len(y.args):
            return "fn called different ops in two calls (Python control flow on data?)"
        for (kx, vx), (ky, vy) in zip(x.args, y.args):
            if kx != ky or (kx == "v" and vx != vy) or (kx == "c" and not _same_constant(vx, vy)):
                return (f"an argument of {x.op.name} changed between two calls (random "
                        "numbers, or a value read from outside fn?)")
    return None


def _same_constant(x: Any, y: Any) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape
                and x.dtype == y.dtype and bool(np.array_equal(x, y)))
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return len(x) == len(y) and all(_same_constant(u, v) for u, v in zip(x, y))
    return type(x) is type(y) and bool(x == y)


def _replay_agrees(x: Any, y: Any) -> bool:
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape:
        return False
    tol = 64 * np.finfo(np.result_type(x, y, np.float32)).eps
    return bool(np.allclose(x, y, rtol=tol, atol=tol, equal_nan=True))


def _output_slots(spec: Any) -> list[int]:
    if spec is None:
        return []
    if spec[0] == "v":
        return [spec[1]]
    return [k for s in spec[1] for k in _output_slots(s)]


# ---- the replay: one generated function ----------------------------------------------------

def _generate(tape: Tape, args: tuple[Any, ...]) -> Callable[..., tuple[Any, ...]]:
    """Python source for the tape, straight-line, compiled once with exec."""
    names: dict[str, Any] = {"_asarray": np.asarray, "_TapeStale": _TapeStale}
    lines = _reads(tape, args, names)
    reset: set[int] = set()  # slots whose .grad is None at this point of the call
    for b, event in enumerate(tape.events):
        if isinstance(event, int):
            lines.append(_forward(tape, event, names))
        elif isinstance(event, Reset):
            lines.append(f"    {_grad_holder(tape, event.param)}.grad = None")
            reset.add(event.param)
        else:
            lines += _backward(tape, b, event, names, reset)
    lines.append(f"    return ({''.join(f'v{k}, ' for k in range(len(tape.kinds)))})")
    head = f"def replay({', '.join(f'a{i}' for i in range(tape.n_inputs))}):"
    source = "\n".join([head, *lines])
    exec(source, names)  # the source holds slot numbers only; values sit in names
    body = names["replay"]

    def replay(*inputs: Any) -> Any:
        # numpy's floating-point warnings off, as around every eager op and backward pass
        return silently(body, *inputs)

    replay.source = source  # type: ignore[attr-defined]
    return replay


def _reads(tape: Tape, args: tuple[Any, ...], names: dict[str, Any]) -> list[str]:
    """The inputs' arrays, and each parameter's, guarded against a changed parameter."""
    lines = []
    for i, a in enumerate(args):
        lines.append(f"    v{i} = a{i}.data" if isinstance(a, Tensor) else f"    v{i} = a{i}")
    for k, (kind, j) in enumerate(tape.kinds):
        if kind != "p":
            continue
        shape, dtype = tape.meta[k]
        names[f"P{j}"], names[f"S{k}"], names[f"D{k}"] = tape.params[j], shape, dtype
        lines += [f"    v{k} = P{j}.data",
                  f"    if v{k}.shape != S{k} or v{k}.dtype != D{k} or not P{j}.requires_grad:",
                  "        raise _TapeStale"]
    return lines


def _arg(a: tuple[str, Any], names: dict[str, Any]) -> str:
    kind, x = a
    if kind == "v":
        return f"v{x}"
    name = f"C{len(names)}"
    names[name] = x
    return name


def _forward(tape: Tape, i: int, names: dict[str, Any]) -> str:
    op = tape.ops[i]
    names[f"F{i}"] = op.op.fun
    return f"    v{op.out} = F{i}({', '.join(_arg(a, names) for a in op.args)})"


def _grad_holder(tape: Tape, k: int) -> str:
    kind, j = tape.kinds[k]
    return f"P{j}" if kind == "p" else f"a{j}"


def _backward(tape: Tape, b: int, event: Backward, names: dict[str, Any],
              reset: set[int]) -> list[str]:
    """One backward pass: each rule in the driver's order, gradients summed as it sums them,
    then added into the parameters' .grad as the driver's deposit adds them."""
    names[f"seed{b}"] = event.seed
    pending = {event.root: f"seed{b}"}
    lines = []
    for k, i, needs, routes in event.steps:
        op = tape.ops[i]
        names[f"B{i}"] = op.op.vjp
        args = "".join(f", {_arg(a, names)}" for a in op.args)
        extra = f", needs={needs!r}" if op.op.wants_needs else ""
        lines.append(f"    r = B{i}({pending.pop(k)}, v{k}{args}{extra})")
        for j, pk, fit in routes:
            expr = _reduced_expr(f"r[{j}]", fit)
            if pk in pending:
                lines.append(f"    {pending[pk]} = {pending[pk]} + {expr}")
            else:
                pending[pk] = f"g{b}_{pk}"
                lines.append(f"    g{b}_{pk} = {expr}")
    for k, copy, cast in event.deposits:
        lines += _deposit(tape, k, pending.pop(k), copy, cast, reset, names)
    return lines


def _deposit(tape: Tape, k: int, g: str, copy: bool, cast: bool, reset: set[int],
             names: dict[str, Any]) -> list[str]:
    """`holder.grad` = g, or .grad + g (Tensor._deposit written out): cast to the parameter's
    dtype, and copied when the buffer is shared, both decided at capture. Right after a reset
    in the same call, .grad is known to be None."""
    holder = _grad_holder(tape, k)
    if cast:
        names[f"D{k}"] = tape.meta[k][1]
        g, copy = f"{g}.astype(D{k})", False
    if k in reset:
        reset.discard(k)
        return [f"    {holder}.grad = {g}.copy()" if copy else f"    {holder}.grad = {g}"]
    first = "g.copy()" if copy else "g"
    return [f"    g = {g}", f"    prev = {holder}.grad",
            f"    {holder}.grad = {first} if prev is None else prev + g"]


def _reduced_expr(expr: str, fit: Any) -> str:
    """expr summed back to its operand's shape, with the sums unbroadcast would do."""
    if fit is None:
        return expr
    wrap, lead, ones = fit
    if wrap:
        expr = f"_asarray({expr})"
    if lead:
        expr = f"{expr}.sum(axis={lead!r})"
    if ones:
        expr = f"{expr}.sum(axis={ones!r}, keepdims=True)"
    return expr
