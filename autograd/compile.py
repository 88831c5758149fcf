"""`autograd.compile(fn)`: capture a step once, replay it as straight-line numpy.

`step = compile(fn)` returns a callable with fn's behaviour. For each input signature (the
arguments' kinds, shapes and dtypes, whether they require grad, and which of them are one
Tensor passed twice) it

1. runs fn eagerly once (warm-up: optimizers and caches may allocate on a first call);
2. runs it eagerly again while recording every primitive call, every `backward()` and every
   `p.grad = None`, and walks each backward pass once to learn its order and shapes;
3. on the third call, runs the replay and fn eagerly side by side, records the eager run
   again, and checks that both recordings agree and that the replay gives the same outputs
   and gradients as eager;
4. from then on replays: one generated Python function of numpy calls, with no graph
   nodes, no topological sort and no dicts or sets per call. The hottest rules are written
   into it as expressions (bit for bit the rule's numpy calls), a full sum's gradient stays
   one number while elementwise rules use it, and forward values nothing reads are skipped.

A new shape (the last partial batch) gets a tape of its own, after the same three calls.

The rules, as tinygrad's TinyJit and `torch.compile` state theirs:

- Arguments are Tensors or ndarrays (fn receives ndarrays as constant Tensors, in every
  call; an ndarray subclass such as a memmap as the plain ndarray it views; a Tensor subclass
  is a kind of its own). A replay first takes only the very Tensor arguments it was
  recorded with: fn may also read one of them from elsewhere (a parameter passed in as well),
  so the first call with other Tensors runs the replay and fn side by side again, as in step
  3; if fn did reach the recorded Tensor another way, that signature runs eagerly.
  Parameters, the leaf tensors fn uses that require grad, are read by reference on every
  call: in-place updates and `p.data = ...` between calls are seen. If a parameter's shape,
  dtype or requires_grad changes, the call is captured anew.
- Python values fn reads from elsewhere (globals, closure variables, tensors that do not
  require grad) are frozen at capture; arrays among them are held by reference. Such a
  tensor that comes to require grad (a layer unfrozen) is a parameter, and one given another
  array (`t.data = ...`, a target network copied anew): either is captured anew. After
  changing such a value, call `recheck_compiled()`: each replayed signature's next call is
  checked against eager and captured anew if they disagree (that call costs about two
  eager ones). nn's `Module.train()` and `eval()` call it when the mode of a module that
  reads it changes (Dropout, or a module of yours), so such a model switched between
  training and evaluation is never replayed in the mode it was captured in.
- fn may call `backward()` (seeded with 1 on a one-entry tensor) and reset gradients
  (`p.grad = None`, `optimizer.zero_grad()`); calls leave the same `.grad` values as eager.
- A replayed call returns fn's result as constant Tensors (no graph): fn's own backward
  has already run.
- Not captured, and detected: Python that reads a tensor's numbers (`.item()`, `float(t)`,
  comparisons, `np.asarray(t)`, `.data` or `.grad` arithmetic, hence data-dependent `if`s),
  writes to `.data` or `.grad` inside fn (an optimizer step), ops under `no_grad` or on
  detached tensors feeding the graph, `create_graph`, `backward(grad=...)`, `retain_grad()`,
  Values, `detect_anomaly()` inside fn (a replay checks no op), and a recording that differs
  between two calls (random numbers drawn inside fn). Anomaly mode and `no_grad` around a
  call run that call eagerly. Such a fn runs eagerly from then on with one
  `CompileWarning`, or, with `strict=True`, raises `CompileError` saying why.
- The capture wraps Tensor's attributes for the capturing thread while it runs; other
  threads meanwhile run eagerly as usual.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from autograd import _capture, graph, rules
from autograd._capture import Backward, Capture, Op, Reset, Tape, Uncapturable, capturing
from autograd.graph import _open, is_grad_enabled, overflow_raises, silently
from autograd.tensor import Tensor


class CompileWarning(UserWarning):
    """A compiled function runs eagerly: the message says what could not be captured."""


class CompileError(RuntimeError):
    """Raised instead of the warning by `compile(fn, strict=True)`."""


class _TapeStale(Exception):
    """A parameter changed shape, dtype or requires_grad since capture."""


class _OtherSignature(Exception):
    """The arguments are not of the signature the replay was made for."""


def compile(fn: Callable[..., Any], *, strict: bool = False) -> Compiled:
    """fn, captured once per input signature and replayed without graph bookkeeping.

    See the module docstring for what is captured. With `strict`, a fn that cannot be
    captured raises CompileError instead of running eagerly with a CompileWarning.
    """
    if not callable(fn):
        raise TypeError(f"compile expects a function, got {type(fn).__name__}")
    return Compiled(fn, strict)


def recheck_compiled() -> None:
    """Say that Python values compiled functions froze at capture may have changed (a flag, a
    module switched between training and evaluation): the next call of every replayed
    signature runs the replay and fn side by side, and where they disagree fn is captured
    anew. That next call costs about two eager ones. nn's `Module.train` and `eval` call it
    when the mode of a module with `mode_dependent` set changes."""
    with _every_lock:
        alive = list(_every_compiled)
    for compiled in alive:
        compiled._recheck()


class Compiled:
    """The callable `compile` returns; `.eager_reason` says why it runs eagerly, if it does."""

    def __init__(self, fn: Callable[..., Any], strict: bool) -> None:
        self.fn = fn
        self.strict = strict
        self.eager_reason: str | None = None
        self._entries: dict[tuple[Any, ...], list[Any]] = {}
        self._hot: Any = None  # the replay of the signature called last, if it has one
        # Changed by each recheck_compiled: a call that began before one trusts no tape it
        # replayed, captured or checked meanwhile (it may have read the old Python state).
        self._rechecks = 0
        self.__wrapped__ = fn
        self.__doc__ = getattr(fn, "__doc__", None)
        with _every_lock:
            _every_compiled.add(self)

    def __call__(self, *args: Any) -> Any:
        hot = self._hot
        if hot is not None and not _open.blocks:  # no mode block open: grad on, no anomaly
            # The tape replayed last, straight away: its first lines check the arguments'
            # kinds, shapes and dtypes as the signature would, and the parameters'.
            try:
                return _build(hot.outputs, hot(*args))
            except (_OtherSignature, _TapeStale):
                self._hot = None
        epoch = self._rechecks  # read before any entry's state
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
                values = tape.replay(*args)
                self._hot = tape.replay
                if self._rechecks != epoch:  # set, then checked: _recheck clears it after
                    self._hot = None        # changing the count
                return _results(tape, values)
            except _OtherSignature:  # other Tensors than those recorded: checked once
                entry[0] = "verify"
                return self._verify(entry, args, epoch)
            except _TapeStale:
                entry[0] = "capture"
                return self._capture_into(entry, args, epoch)
        if state == "capture":
            return self._capture_into(entry, args, epoch)
        if state == "verify":
            return self._verify(entry, args, epoch)
        if state == "recheck":
            return self._verify(entry, args, epoch, anew=True)
        return self._eager(args)

    @property
    def tapes(self) -> int:
        """How many signatures are being replayed."""
        return sum(1 for state, _ in self._entries.values() if state == "ready")

    # -- the stages --

    def _eager(self, args: tuple[Any, ...]) -> Any:
        return self.fn(*_as_tensors(args))

    def _settle(self, entry: list[Any], state: str, epoch: int) -> None:
        """entry's new state, or "recheck" if recheck_compiled ran since the call began."""
        entry[0] = state
        if self._rechecks != epoch:  # set, then checked: _recheck marks after counting
            entry[0] = "recheck"

    def _capture_into(self, entry: list[Any], args: tuple[Any, ...], epoch: int) -> Any:
        result, cap = _record(self.fn, args)
        if cap is None:  # another thread was capturing: try again on the next call
            return result
        if cap.problem is not None:
            entry[0] = "eager"
            self._give_up(cap.problem)
            return result
        tape = cap.tape
        # A Tensor argument may also be one fn reads from elsewhere (a parameter passed in):
        # the replay first takes only the Tensors recorded, and the one for any Tensors is
        # trusted once a call with others has been checked against eager.
        tape.pins = [(i, a) for i, a in enumerate(args) if isinstance(a, Tensor)]
        try:
            tape.replay = _generate(tape, args, pinned=True)
            tape.loose = _generate(tape, args) if tape.pins else tape.replay
        except Uncapturable as e:
            entry[0] = "eager"
            self._give_up(str(e))
            return result
        entry[1] = tape
        self._settle(entry, "verify", epoch)
        return result

    def _recheck(self) -> None:
        self._rechecks = next(_recheck_clock)  # first: see _settle and the ready branch
        self._hot = None  # before the states: a call now in the hot path finds no replay
        for entry in list(self._entries.values()):
            if entry[0] in ("ready", "verify"):  # a tape captured before the change
                entry[0] = "recheck"

    def _verify(self, entry: list[Any], args: tuple[Any, ...], epoch: int,
                anew: bool = False) -> Any:
        """Replay and eager side by side: the recordings, outputs and gradients must agree.
        Where they do not, fn runs eagerly from then on; or, `anew` (Python state it froze
        changed), is captured again from the next call."""
        tape = entry[1]
        loose = any(args[i] is not a for i, a in tape.pins)  # other Tensors than recorded
        replay = tape.loose if loose else tape.replay
        targets = _grad_targets(tape, args)
        before = [p.grad for p in targets]
        try:
            replayed = replay(*args)
            why = None
        except _TapeStale:  # changed since capture, as a ready tape may: captured anew
            if anew:  # nothing to compare with: the state it froze changed too
                return self._capture_into(entry, args, epoch)
            return self._capture_again(entry, args, epoch)
        except Exception as e:  # a replay that cannot run is a replay that cannot be trusted
            replayed, why = None, f"the replay failed ({type(e).__name__}: {e})"
        replay_grads = [p.grad for p in targets]
        for p, g in zip(targets, before):
            p.grad = g
        result, cap = _record(self.fn, args)
        if cap is None:  # another thread was capturing: check on the next call
            return result
        why = why or _disagreement(tape, cap, replayed, replay_grads, targets)
        if why is not None and anew and cap.problem is None:
            entry[:] = ["capture", None]  # this call ran eagerly: its result stands
            return result
        if why is not None:
            entry[:] = ["eager", None]
            self._give_up(why)
            return result
        if loose:
            tape.replay, tape.pins = replay, []
        self._settle(entry, "ready", epoch)
        return result

    def _capture_again(self, entry: list[Any], args: tuple[Any, ...], epoch: int) -> Any:
        """A tape stale before its check, captured anew from this call; unless this call
        recorded other constants (a frozen tensor given a new array on every call), which it
        would do again on the next: then fn runs eagerly."""
        old = entry[1]
        result = self._capture_into(entry, args, epoch)
        why = _same_recording(old, entry[1]) if entry[0] == "verify" else None
        if why is not None:
            entry[:] = ["eager", None]
            self._give_up(why, stacklevel=5)
        return result

    def _give_up(self, why: str, stacklevel: int = 4) -> None:
        message = f"compiled {getattr(self.fn, '__name__', 'function')} runs eagerly: {why}"
        if self.strict:
            raise CompileError(message)
        if self.eager_reason is None:
            self.eager_reason = why
            warnings.warn(message, CompileWarning, stacklevel=stacklevel)


# Every compiled function alive, for recheck_compiled (held weakly: compiling makes no leak).
_every_compiled: weakref.WeakSet[Compiled] = weakref.WeakSet()
# A WeakSet copied while another thread adds would raise. Reentrant: a finalizer that the
# collector runs inside the lock may switch a module's mode.
_every_lock = threading.RLock()
_recheck_clock = itertools.count(1)  # each recheck a new number, whichever thread runs it


# ---- arguments -----------------------------------------------------------------------------

def _signature(args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """What a tape depends on in the arguments (None if one is an ndarray subclass); refuses
    what is not an array."""
    key = []
    for i, a in enumerate(args):
        if type(a) is np.ndarray:
            key.append((False, a.shape, a.dtype, False))
        elif isinstance(a, Tensor):
            # its class (a subclass takes other operators), and where the same Tensor was
            # first passed: a Tensor passed twice is one leaf to the tape
            same = next(j for j, b in enumerate(args) if b is a)
            key.append((type(a), a.data.shape, a.data.dtype, bool(a.requires_grad), same))
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
    return _build(tape.replay.outputs, values)


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
    for i, k in enumerate(_output_slots(tape.outputs)):
        if not _replay_agrees(replayed[i], cap.values[k]):
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
                and x.dtype == y.dtype and _same_entries(x, y))
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return len(x) == len(y) and all(_same_constant(u, v) for u, v in zip(x, y))
    if type(x) is not type(y):
        return False
    if isinstance(x, (float, np.floating)):
        return _same_entries(np.asarray(x), np.asarray(y))
    return bool(x == y)


def _same_entries(x: np.ndarray, y: np.ndarray) -> bool:
    """Equal arrays of one shape and dtype; floats by their bits, so that nan is itself and
    -0.0 is not 0.0 (x * -0.0 and x * 0.0 differ in sign)."""
    if x.dtype.kind in "fc":
        return x.tobytes() == y.tobytes()
    return bool(np.array_equal(x, y))


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

def _generate(tape: Tape, args: tuple[Any, ...], *,
              pinned: bool = False) -> Callable[..., tuple[Any, ...]]:
    """Python source for the tape, straight-line, compiled once with exec. The replay returns
    the arrays of fn's result, in the order of `_output_slots`. A `pinned` replay takes only
    the very Tensor arguments recorded."""
    names: dict[str, Any] = {"_asarray": np.asarray, "_add_reduce": np.add.reduce,
                             "_TapeStale": _TapeStale}
    lines: list[Any] = _reads(tape, args, names, pinned)
    reset: set[int] = set()  # slots whose .grad is None at this point of the call
    for b, event in enumerate(tape.events):
        if isinstance(event, int):
            lines.append(_forward(tape, event, names))
        elif isinstance(event, Reset):
            lines.append(f"    {_grad_holder(tape, event.param)}.grad = None")
            reset.add(event.param)
        else:
            lines += _backward(tape, b, event, names, reset)
    outputs = _output_slots(tape.outputs)
    lines.append(f"    return ({''.join(f'v{k}, ' for k in outputs)})")
    n = tape.n_inputs
    head = "def replay(*args):"
    lines[:0] = [f"    if len(args) != {n}:", "        raise _OtherSignature"] + (
        [f"    {''.join(f'a{i}, ' for i in range(n))}= args"] if n else [])
    lines = _live(lines)
    # numpy's floating-point warnings off, as around every eager op and backward pass:
    # `silently` written out, two calls less a replay
    names["_errors"], names["_SILENT"] = graph._np_errors, graph._SILENT
    lines = ["    token = _errors.set(_SILENT)", "    try:",
             *["    " + line.replace("\n", "\n    ") for line in lines],
             "    finally:", "        _errors.reset(token)"]
    source = "\n".join([head, *lines])
    exec(source, names)  # the source holds slot numbers only; values sit in names
    replay = names["replay"]
    replay.source = source  # type: ignore[attr-defined]
    replay.outputs = _positions(tape.outputs, {k: i for i, k in enumerate(outputs)})  # type: ignore[attr-defined]
    return replay


class _Forward(str):
    """A forward line `    vK = expr`, with its slot; `droppable` when the op cannot fail on
    any numbers (an arithmetic operator, a sum, a transpose), so that a value nothing reads
    need not be computed."""

    slot: str
    droppable: bool


def _live(lines: list[str]) -> list[str]:
    """The lines without the forward values nothing reads: neither fn's result nor a rule.
    A loss that fn does not return is such a value (its gradient needs only the numbers it
    was computed from)."""
    kept: list[str] = []
    read: set[str] = set()
    for line in reversed(lines):
        if isinstance(line, _Forward) and line.droppable and line.slot not in read:
            continue
        read.update(_SLOT.findall(line.split("=", 1)[1] if isinstance(line, _Forward) else line))
        kept.append(line)
    return kept[::-1]


_SLOT = re.compile(r"\bv\d+\b")


def _positions(spec: Any, where: dict[int, int]) -> Any:
    """fn's result structure with slots replaced by their places in the replay's return."""
    if spec is None:
        return None
    if spec[0] == "v":
        return ("v", where[spec[1]])
    return (spec[0], tuple(_positions(s, where) for s in spec[1]))


def _reads(tape: Tape, args: tuple[Any, ...], names: dict[str, Any],
           pinned: bool) -> list[str]:
    """The inputs' arrays, and each parameter's, guarded against a changed parameter."""
    names["_ndarray"] = np.ndarray
    names["_OtherSignature"] = _OtherSignature
    lines = []
    for i, a in enumerate(args):
        shape, dtype = tape.meta[i]
        names[f"S{i}"], names[f"D{i}"] = shape, dtype
        if isinstance(a, Tensor):
            lines += [*_tensor_check(args, i, names, pinned), f"    v{i} = a{i}.data"]
        else:
            lines += [f"    if type(a{i}) is not _ndarray:", "        raise _OtherSignature",
                      f"    v{i} = a{i}"]
        lines += [f"    if v{i}.shape != S{i} or v{i}.dtype != D{i}:",
                  "        raise _OtherSignature"]
    for k, (kind, j) in enumerate(tape.kinds):
        if kind != "p":
            continue
        shape, dtype = tape.meta[k]
        names[f"P{j}"], names[f"S{k}"], names[f"D{k}"] = tape.params[j], shape, dtype
        lines += [f"    v{k} = P{j}.data",
                  f"    if v{k}.shape != S{k} or v{k}.dtype != D{k} or not P{j}.requires_grad:",
                  "        raise _TapeStale"]
    # a constant of the tape that has become a parameter, or been given another array (a
    # target network copied anew): the tape holds the array it had at capture
    for j, t in enumerate(tape.frozen):
        names[f"Q{j}"], names[f"QA{j}"] = t, t._data
        lines += [f"    if Q{j}.requires_grad or Q{j}._data is not QA{j}:",
                  "        raise _TapeStale"]
    return lines


def _tensor_check(args: tuple[Any, ...], i: int, names: dict[str, Any],
                  pinned: bool) -> list[str]:
    """Tensor argument i is of the recorded kind: pinned, the very Tensor recorded (which
    settles its class and which arguments it is); else of its class and passed where it was."""
    a = args[i]
    flag = "not " if a.requires_grad else ""
    if pinned:
        names[f"X{i}"] = a
        return [f"    if a{i} is not X{i} or {flag}a{i}.requires_grad:",
                "        raise _OtherSignature"]
    names[f"T{i}"] = type(a)
    return [f"    if type(a{i}) is not T{i} or {flag}a{i}.requires_grad:",
            "        raise _OtherSignature", *_aliases(args, i)]


def _aliases(args: tuple[Any, ...], i: int) -> list[str]:
    """Checks that Tensor argument i is the same object as an earlier Tensor argument exactly
    where it was at capture (nothing to check when fewer than two arguments are Tensors)."""
    lines = []
    for j in range(i):
        if isinstance(args[j], Tensor):
            test = "is not" if args[j] is args[i] else "is"
            lines += [f"    if a{i} {test} a{j}:", "        raise _OtherSignature"]
    return lines


def _arg(a: tuple[str, Any], names: dict[str, Any]) -> str:
    kind, x = a
    if kind == "v":
        return f"v{x}"
    name = f"C{len(names)}"
    names[name] = x
    return name


def _forward(tape: Tape, i: int, names: dict[str, Any]) -> _Forward:
    op = tape.ops[i]
    args = _forward_args(tape, op, names)
    expr = _inline_forward(tape, op, args)
    # an operator on integers can raise (0 ** -1): only float arithmetic is left undone
    droppable = expr is not None and all(
        kind == "c" or tape.meta[x][1].kind == "f" for kind, x in op.args)
    if expr is None and op.op is rules.sigmoid and _is_array(tape, op.args[0]) and (
            tape.meta[op.args[0][1]][1].kind == "f"):
        # sigmoid's own function past its checks of x, which the tape has made once
        names["_overflow_raises"] = overflow_raises
        names["_sigmoid_direct"] = rules._sigmoid_direct
        names["_sigmoid_stable"] = rules._sigmoid_stable
        line = _Forward(f"    try:\n        v{op.out} = _overflow_raises(_sigmoid_direct, "
                        f"{args[0]})\n    except FloatingPointError:\n"
                        f"        v{op.out} = _sigmoid_stable({args[0]})")
        line.slot, line.droppable = f"v{op.out}", False
        return line
    if expr is None:
        names[f"F{i}"] = op.op.fun
        expr = f"F{i}({', '.join(args)})"
    line = _Forward(f"    v{op.out} = {expr}")
    line.slot, line.droppable = f"v{op.out}", droppable
    return line


def _grad_holder(tape: Tape, k: int) -> str:
    kind, j = tape.kinds[k]
    return f"P{j}" if kind == "p" else f"a{j}"


def _backward(tape: Tape, b: int, event: Backward, names: dict[str, Any],
              reset: set[int]) -> list[str]:
    """One backward pass: each rule in the driver's order, gradients summed as it sums them,
    then added into the parameters' .grad as the driver's deposit adds them."""
    names[f"seed{b}"] = event.seed
    pending: dict[int, str | _Spread] = {event.root: f"seed{b}"}
    lines: list[str] = []
    for k, i, needs, routes, gtype in event.steps:
        op = tape.ops[i]
        g = pending.pop(k)
        if g == f"seed{b}" and _folds(tape, op, needs, routes):
            # the seed scaled by a constant, spread by a sum: the same number on every call
            rule = functools.partial(op.op.vjp, needs=needs) if op.op.wants_needs else op.op.vjp
            value = silently(rule, event.seed, None, event.seed, op.args[1][1])[0]
            names[f"K{b}"] = np.asarray(value) if routes[0][2] else value
            pending[routes[0][1]] = f"K{b}"
            continue
        exprs = _inline_vjp(tape, op, g, k, needs, gtype, names)
        if exprs is None:
            names[f"B{i}"] = op.op.vjp
            args = "".join(f", {_arg(a, names)}" for a in op.args)
            extra = f", needs={needs!r}" if op.op.wants_needs else ""
            lines.append(f"    r = B{i}({_spread_out(g)}, v{k}{args}{extra})")
            exprs = [f"r[{j}]" for j in range(len(op.args))]
        for j, pk, fit in routes:
            expr = exprs[j]
            if fit is not None:
                expr = _reduced_expr(_spread_out(expr), fit)
            name = f"g{b}_{pk}"
            if pk not in pending:
                lines.append(f"    {name} = {_scalar_of(expr)}")
                pending[pk] = _Spread(name, expr.shape) if isinstance(expr, _Spread) else name
                continue
            # a spread number adds to an array of its shape as its array would, bit for bit
            have = pending[pk]
            both = isinstance(have, _Spread) and isinstance(expr, _Spread)
            lines.append(f"    {name} = {_scalar_of(have)} + ({_scalar_of(expr)})")
            pending[pk] = _Spread(name, have.shape) if both else name  # type: ignore[union-attr]
    for k, copy, cast in event.deposits:
        lines += _deposit(tape, k, _spread_out(pending.pop(k)), copy, cast, reset, names)
    return lines


def _folds(tape: Tape, op: Op, needs: tuple[bool, ...], routes: list[Any]) -> bool:
    """Whether a rule met by the seed gives a constant that only a full sum's rule reads:
    x / c or x · c (a mean, a loss over the batch size) feeding Σ."""
    if (op.op is not rules.div and op.op is not rules.mul) or needs[1] or len(routes) != 1:
        return False
    j, pk, fit = routes[0]
    kind, index = tape.kinds[pk]
    if j != 0 or op.args[1][0] != "c" or type(op.args[1][1]) not in (int, float) or (
            kind != "op" or fit not in (None, (True, (), ()))):
        return False
    target = tape.ops[index]
    return target.op is rules.sum_ and target.args[1:] == _FULL_SUM and _is_array(
        tape, target.args[0])


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
    # numpy adds two 0-d arrays into a scalar: wrapped back, as eager's settled does
    total = "prev + g"
    if not tape.meta[k][0]:
        names["_asarray"] = np.asarray
        total = "_asarray(prev + g)"
    return [f"    g = {g}", f"    prev = {holder}.grad",
            f"    {holder}.grad = {first} if prev is None else {total}"]


def _reduced_expr(expr: str, fit: Any) -> str:
    """expr summed back to its operand's shape, with the sums unbroadcast would do."""
    if fit is None:
        return expr
    if not expr.isidentifier() and not expr.startswith("r["):
        expr = f"({expr})"
    wrap, lead, ones = fit
    if wrap:
        expr = f"_asarray({expr})"
    if lead:  # numpy's add.reduce, as ndarray.sum calls it, without the method's wrapper
        expr = f"_add_reduce({expr}, {lead[0] if len(lead) == 1 else lead!r})"
    if ones:
        expr = f"{expr}.sum(axis={ones!r}, keepdims=True)"
    return expr


# ---- the hottest rules, written into the replay ---------------------------------------------
# A call through the rule table costs a call, a `needs` tuple, a result tuple and its indexing:
# about 0.4 µs an op, a tenth of a small training step. For the ops a training step is made of,
# the replay writes the rule's own expression in its place, only for the gradients it routes.
# Each form is the rule's numpy calls in the rule's order, so a replay stays bit-identical to
# eager, and a gradient the rule shares between two operands (add's g) is shared here too, as
# the capture's copy decision assumes. Anything off the plain case runs the rule itself.
#
# Two rewrites keep the bits and save a numpy call each:
# - A Python number beside an array becomes a numpy scalar of the array's dtype, the value
#   numpy would cast it to anyway (a Python int costs a ufunc twice a float64's).
# - The gradient of a sum of everything is one number spread over the summed shape; it stays
#   one number (a `_Spread`) while the rules after it are elementwise and meet an operand of
#   that shape, which gives each entry the same arithmetic on the same number.

_BINARY = {rules.add: "+", rules.sub: "-", rules.mul: "*", rules.div: "/", rules.matmul: "@"}
_FULL_SUM = (("c", None), ("c", False))  # sum_'s axis and keepdims for a sum of everything
# The rules written out below, as the table has them: a rule given anew with defvjp is called.
_WRITTEN_OUT = {p: p.vjp for p in (rules.add, rules.sub, rules.mul, rules.div, rules.neg,
                                   rules.matmul, rules.transpose, rules.sum_, rules.power,
                                   rules.sigmoid)}


class _Spread:
    """A gradient equal to one number (`name`, an expression of a 0-d value) at every entry
    of the array of shape `shape` (the name of the shape constant)."""

    def __init__(self, name: str, shape: str) -> None:
        self.name, self.shape = name, shape


def _spread_out(g: str | _Spread) -> str:
    """g as an expression of its array: a spread number filled into a fresh one, as sum's
    rule fills it."""
    return f"_broadcast({g.name}, {g.shape})" if isinstance(g, _Spread) else g


def _scalar_of(g: str | _Spread) -> str:
    return g.name if isinstance(g, _Spread) else g


def _slot_shape(tape: Tape, a: tuple[str, Any]) -> tuple[int, ...] | None:
    """The shape of an argument that is a slot (fixed per tape), else None."""
    return tape.meta[a[1]][0] if a[0] == "v" else None


def _is_array(tape: Tape, a: tuple[str, Any]) -> bool:
    """Whether an argument is a slot that holds an ndarray of one axis or more on every call
    (a 0-d result of numpy may be a numpy scalar instead)."""
    return a[0] == "v" and len(tape.meta[a[1]][0]) > 0


def _number(x: Any, dtype: Any, names: dict[str, Any]) -> str | None:
    """A Python number, as the numpy scalar of `dtype` numpy would cast it to when it meets
    an array of that dtype; None if it is not such a number or the cast is not plain."""
    if type(x) not in (int, float) or dtype is None or np.dtype(dtype).kind != "f":
        return None
    if type(x) is int and abs(x) > 2 ** 53:
        return None
    with np.errstate(all="ignore"):
        cast = np.dtype(dtype).type(x)
    if np.isfinite(x) and not np.isfinite(cast):  # overflows the dtype: leave it to numpy
        return None
    name = f"C{len(names)}"
    names[name] = cast
    return name


def _written(a: tuple[str, Any], beside: Any, names: dict[str, Any]) -> str:
    """An argument as the replay writes it, a number as a scalar of the dtype beside it."""
    if a[0] == "c":
        cast = _number(a[1], beside, names)
        if cast is not None:
            return cast
    return _arg(a, names)


def _dtype_of(tape: Tape, a: tuple[str, Any]) -> Any:
    return tape.meta[a[1]][1] if a[0] == "v" else None


def _inline_forward(tape: Tape, op: Op, args: list[str]) -> str | None:
    """The forward of op written out, or None where the rule's function must run."""
    p = op.op
    if p in _BINARY:
        return f"{args[0]} {_BINARY[p]} {args[1]}"
    if p is rules.neg:
        return f"-{args[0]}"
    if p is rules.transpose and op.args[1] == ("c", None):
        return f"{args[0]}.transpose()"
    if p is rules.sum_ and op.args[1:] == _FULL_SUM:
        return f"{args[0]}.sum()"
    if p is rules.power and _is_array(tape, op.args[0]):
        return f"{args[0]} ** {args[1]}"  # power's float path is for two Python floats only
    return None


def _forward_args(tape: Tape, op: Op, names: dict[str, Any]) -> list[str]:
    """op's arguments as the replay writes them: for an elementwise op of an array and a
    Python number, the number as a scalar of the array's dtype."""
    a = op.args
    if op.op in _BINARY and op.op is not rules.matmul and len(a) == 2:
        return [_written(a[0], _dtype_of(tape, a[1]), names),
                _written(a[1], _dtype_of(tape, a[0]), names)]
    return [_arg(x, names) for x in a]


def _inline_vjp(tape: Tape, op: Op, g: str | _Spread, k: int, needs: tuple[bool, ...],
                gtype: Any, names: dict[str, Any]) -> list[Any] | None:
    """The gradients op's rule returns, one per argument (an expression, a _Spread, or None
    where not needed), or None where the rule itself must run (k: the slot of op's output)."""
    p, a, out = op.op, op.args, f"v{k}"
    if _WRITTEN_OUT.get(p) is not p.vjp or p.vjp is None:
        return None
    spread = isinstance(g, _Spread)
    if p is rules.add:
        return [g, g]
    if p is rules.sub:
        return [g, (_Spread(f"-{g.name}", g.shape) if spread else f"-{g}") if needs[1] else None]
    if p is rules.neg:
        return [_Spread(f"-{g.name}", g.shape) if spread else f"-{g}"]
    shape = _slot_shape(tape, a[0])
    if spread and shape != names[g.shape]:
        # the rules below meet g with an operand of its own shape; any other shape gets g's
        # array, as the rule would
        return None
    gs = _scalar_of(g)
    if p is rules.sigmoid:
        one = _number(1, tape.meta[k][1], names) or "1.0"
        return [f"{gs} * {out} * ({one} - {out})"]
    if p is rules.transpose and a[1] == ("c", None) and not spread:
        return [f"{g}.transpose()", None]
    if p is rules.sum_ and a[1:] == _FULL_SUM and _is_array(tape, a[0]) and not spread:
        names["_broadcast"] = rules.broadcast_to.fun
        names[f"S{a[0][1]}"] = shape
        return [_Spread(g, f"S{a[0][1]}"), None, None]
    if p is rules.power and not needs[1] and _is_array(tape, a[0]) and a[1][0] == "c" and (
            type(a[1][1]) in (int, float) and a[1][1] != 0):
        y, x = _arg(a[1], names), _arg(a[0], names)
        if a[1][1] == 2:
            return [f"{gs} * {y} * {x}", None]  # the rule's x ** 1, which is x
        less = f"C{len(names)}"
        names[less] = a[1][1] - 1
        return [f"{gs} * {y} * {x} ** {less}", None]
    if p is rules.mul or p is rules.div:
        if spread and not (a[1][0] == "c" and type(a[1][1]) in (int, float) and not needs[1]):
            return None  # a spread g stays one number only when scaled by a number
        beside = None if spread else gtype
        x, y = _written(a[0], beside, names), _written(a[1], beside, names)
        if spread:
            return [_Spread(f"{gs} {_BINARY[p]} {y}", g.shape), None]
        if p is rules.mul:
            return [f"{g} * {y}" if needs[0] else None, f"{g} * {x}" if needs[1] else None]
        return [f"{g} / {y}" if needs[0] else None,
                f"-{g} * {out} / {y}" if needs[1] else None]
    if p is rules.matmul and not spread and _is_array(tape, a[0]) and _is_array(tape, a[1]) and (
            len(shape) == len(_slot_shape(tape, a[1])) == 2):
        x, y = _arg(a[0], names), _arg(a[1], names)
        return [_laid_out_like(f"{g} @ {y}.T", f"({y} @ {g}.T).T", x) if needs[0] else None,
                _laid_out_like(f"{x}.T @ {g}", f"({g}.T @ {x}).T", y) if needs[1] else None]
    return None


def _laid_out_like(plain: str, transposed: str, like: str) -> str:
    """rules._matmul_like written out for 2-d operands: the product laid out in memory like
    `like` (a transposed matrix gets the transposed product of the transposes)."""
    return (f"({transposed} if {like}.flags.f_contiguous and not {like}.flags.c_contiguous "
            f"else {plain})")
