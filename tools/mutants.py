"""Mutation report: small deliberate bugs, one at a time, each run against the tests meant to
catch it; prints killed / survived and the kill rate.

    python tools/mutants.py                 # every mutant
    python tools/mutants.py --list          # names only
    python tools/mutants.py -k adam -k idx  # the mutants whose names contain a word

Two kinds of mutant. Hand-written ones replace one piece of text in one file (the driver's
accumulation, unbroadcast, Adam's bias correction, the IDX header, the δ recursion's output
error, weight decay, relu at 0, the stack rule's order...). Rule mutants are made for every
primitive found in autograd and nn (tests/witnesses/mutation.py walks them, so new rules join): its
rule scaled by 1.001, and, where the witnesses show two inputs with different gradients of
one shape, those two swapped. Each mutant is applied in a temporary copy of the tree, never
in the tree itself; the copy's tests run with -x, so a killed mutant costs one failing test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("autograd", "nn", "tests", "benchmarks", "examples", "tools", "pyproject.toml")


@dataclass(frozen=True)
class Mutant:
    """Replace `old` (which must occur once) by `new` in `path`; `old` None appends `new`."""

    name: str
    path: str
    old: str | None
    new: str
    tests: tuple[str, ...]


def _m(name: str, path: str, old: str, new: str, *tests: str) -> Mutant:
    return Mutant(name, path, old, new, tuple(f"tests/{t}" for t in tests))


G, T, R = "autograd/graph.py", "autograd/tensor.py", "autograd/rules.py"
C = "autograd/compile.py"
HAND = [
    _m("driver: a second path's gradient overwrites the first", G,
       "pending[p] = pending[p] + gp if p in pending else gp", "pending[p] = gp",
       "engine/test_higher_order.py", "engine/test_driver.py"),
    _m("driver, Tensor fast path: a second path's gradient overwrites the first", G,
       "p.grad = gp if before is _REACHED else before + gp", "p.grad = gp",
       "engine/test_driver.py"),
    _m("driver, Tensor fast path: a failed pass leaves gradients half-written", G,
       "            node.grad = kept.get(node)\n        raise", "        raise",
       "engine/test_driver.py"),
    _m("driver, Tensor fast path: newest node last in the topological order", G,
       "order.sort(key=_creation, reverse=True)", "order.sort(key=_creation)",
       "engine/test_driver.py"),
    _m("driver, Value fast path: a second path's gradient overwrites the first", G,
       "x.grad = gx if was is _REACHED else was + gx", "x.grad = gx", "engine/test_value.py"),
    _m("driver: Value leaves forget earlier backward calls", G,
       "(node, old + node.grad)", "(node, node.grad)", "engine/test_value.py"),
    _m("driver, readable loop: Value leaves forget earlier backward calls", G,
       "self.grad = self.grad + g", "self.grad = g", "engine/test_driver.py"),
    _m("driver, Value fast path: a failed pass leaves gradients half-written", G,
       "            node.grad = kept.get(node, 0.0)\n        raise", "        raise",
       "engine/test_driver.py"),
    _m("driver: Tensor leaves forget earlier backward calls", G,
       "        total = old + g\n", "        total = g\n",
       "engine/test_tensor_backward.py", "engine/test_tensor.py"),
    _m("driver: newest node last in the topological order", G,
       "return sorted(seen, key=_creation, reverse=True)", "return sorted(seen, key=_creation)",
       "engine/test_tensor_backward.py", "engine/test_driver.py"),
    _m("driver, Value fast path: newest node last in the topological order", G,
       "nodes.sort(key=_creation, reverse=True)", "nodes.sort(key=_creation)",
       "engine/test_value.py"),
    _m("unbroadcast: size-1 axes averaged, not summed", G,
       "g = g.sum(axis=ones, keepdims=True)", "g = g.mean(axis=ones, keepdims=True)",
       "engine/test_mutation.py", "engine/test_tensor_backward.py"),
    _m("unbroadcast: leading axes averaged, not summed", G,
       "g = g.sum(axis=_LEADING[lead]", "g = g.mean(axis=_LEADING[lead]",
       "engine/test_mutation.py", "engine/test_tensor_backward.py"),
    _m("Value, hot path: subtraction swaps its operands", "autograd/value.py",
       "_made(self._data - other._data", "_made(other._data - self._data",
       "engine/test_value.py"),
    _m("Value: reflected subtraction swaps its operands", "autograd/value.py",
       'return apply2(rules.sub, _lift(other, "-"), self)',
       'return apply2(rules.sub, self, _lift(other, "-"))', "engine/test_value.py"),
    _m("relu: derivative 1 at 0", R, "return (g * _mask(_not(d <= 0)),)",
       "return (g * _mask(_not(d < 0)),)", "engine/test_conventions.py"),
    _m("max: every tie gets the whole gradient", R,
       "share = hit / hit.sum(axis=axis, keepdims=True)", "share = hit * 1.0",
       "engine/test_conventions.py"),
    _m("power: ln x at 0 taken as nan", R, "(0.0 if x == 0.0 else math.nan)", "math.nan",
       "engine/test_conventions.py"),
    _m("stack: the rule reverses its pieces", R,
       "return tuple(g[i] for i in range(len(xs)))",
       "return tuple(g[i] for i in reversed(range(len(xs))))", "engine/test_nested.py"),
    _m("functional: a nested grad differentiates the outer variable itself",
       "autograd/functional.py",
       "return rules.identity(x), True", "return x, True", "engine/test_higher_order.py",
       "engine/test_nested.py"),
    _m("linear: bias gradient averaged over the batch", "nn/primitives.py",
       "gb = g.sum(axis=0) if", "gb = g.mean(axis=0) if",
       "nn/test_layers.py", "nn/test_delta.py"),
    _m("quadratic cost: 1/m instead of 1/(2m)", "nn/primitives.py",
       "return np.vdot(d, d) / (2 * rows(d))", "return np.vdot(d, d) / rows(d)",
       "nn/test_losses.py"),
    _m("δ recursion: output error without σ′(zᴸ)", "nn/losses.py",
       "return cost_derivative(a, y) * prime(z)", "return cost_derivative(a, y)",
       "nn/test_delta.py"),
    _m("δ recursion: hidden δ without σ′(zˡ)", "nn/delta.py",
       "delta = (delta @ weights[l + 1]) * ACTIVATIONS[acts[l]][1](zs[l])",
       "delta = delta @ weights[l + 1]", "nn/test_delta.py"),
    _m("δ recursion: σ′ 0.05% wrong", "nn/delta.py", "    return s * (1 - s)\n",
       "    return s * (1 - s) * 1.0005\n", "nn/test_delta.py"),
    _m("cross_entropy: summed over the batch, not averaged", "nn/losses.py",
       "return 0.0 - picked * (1.0 / rows(z))", "return 0.0 - picked", "nn/test_losses.py"),
    _m("nielsen init: standard deviation 1/n_in", "nn/init.py",
       "rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)",
       "rng.standard_normal((n_out, n_in)) / n_in", "nn/test_layers.py"),
    _m("SGD: the plain step climbs", "nn/optim.py",
       "np.subtract(data, buf, data)", "np.add(data, buf, data)", "nn/test_optim.py"),
    _m("SGD, parameters end to end: the one subtraction climbs", "nn/optim.py",
       "np.subtract(run, scratch, run)", "np.add(run, scratch, run)",
       "nn/test_end_to_end.py", "nn/test_optim.py"),
    _m("SGD, parameters end to end: new data unnoticed", "nn/optim.py",
       "if g is None or p.data is not data:", "if g is None:", "nn/test_end_to_end.py"),
    _m("nn.train: an inexact fusion among the exact ones", "nn/compiled.py",
       'EXACT_FUSIONS = ("cost",)', 'EXACT_FUSIONS = ("cost", "sigmoid")',
       "nn/test_compile_step.py"),
    _m("compile_step, parameters end to end: the one subtraction climbs", "nn/compiled.py",
       'lines.append("    np.subtract(RUN, GRADS, RUN)")',
       'lines.append("    np.add(RUN, GRADS, RUN)")', "nn/test_compile_step.py"),
    _m("compile_step, parameters end to end: new data unnoticed", "nn/compiled.py",
       'lines += [f"    if w{i} is not PW{i} or b{i} is not PB{i}:",',
       'lines += [f"    if False:",', "nn/test_compile_step.py"),
    _m("weight decay: the wrong sign", "nn/optim.py",
       "np.multiply(p.data, decay, out=scratch)",
       "np.multiply(p.data, -decay, out=scratch)", "nn/test_optim.py"),
    _m("momentum: the velocity never decays", "nn/optim.py", "v *= momentum", "v *= 1.0",
       "nn/test_optim.py"),
    _m("Adam: no bias correction of m", "nn/optim.py", "tmp *= group[\"lr\"] / (1 - b1 ** t)",
       "tmp *= group[\"lr\"]", "nn/test_optim.py"),
    _m("Adam: no bias correction of v", "nn/optim.py", "tmp /= math.sqrt(1 - b2 ** t)",
       "tmp /= 1.0", "nn/test_optim.py"),
    _m("IDX header: read little-endian", "nn/data.py",
       'found, count = struct.unpack(">II", head)',
       'found, count = struct.unpack("<II", head)', "nn/test_data.py"),
    _m("IDX header: images start after 8 bytes", "nn/data.py",
       'return (count, *struct.unpack(">II", dims)), 16',
       'return (count, *struct.unpack(">II", dims)), 8',
       "nn/test_data.py"),
    _m("data: pixels scaled by 1/256", "nn/data.py", "x /= 255.0", "x /= 256.0",
       "nn/test_data.py"),
    _m("data: the last, smaller batch dropped", "nn/data.py",
       "for k in range(0, n, batch_size)]", "for k in range(0, n - batch_size + 1, batch_size)]",
       "nn/test_data.py"),
    _m("training: batches never shuffled", "nn/train.py", "rng.permutation(len(data))",
       "np.arange(len(data))", "nn/test_train.py", "engine/test_reproducibility.py"),
    _m("compile: one gradient buffer handed to two parameters uncopied", "autograd/compile.py",
       'first = "g.copy()" if copy else "g"', 'first = "g"', "engine/test_compile.py"),
    _m("compile: recheck_compiled marks no tape", C,
       'entry[0] = "recheck"\n\n    def _verify', 'pass\n\n    def _verify',
       "engine/test_compile.py", "nn/test_compile_step_programs.py"),
    _m("compile: a recheck during a call is forgotten", C,
       'if self._rechecks != epoch:  # set, then checked: _recheck marks after counting',
       'if False:', "engine/test_compile.py"),
    _m("nn: train() and eval() switch modes without a recheck", "nn/module.py",
       "            recheck_compiled()", "            pass", "nn/test_compile_step_programs.py"),
    _m("compile: a gradient added into .grad replaces it", "autograd/compile.py",
       '.grad = {first} if prev is None else {total}"', '.grad = {first}"',
       "engine/test_compile.py"),
    _m("compile: the written-out sigmoid rule loses its (1 − σ)", C,
       'return [f"{gs} * {out} * ({one} - {out})"]', 'return [f"{gs} * {out}"]',
       "engine/test_compile.py"),
    _m("compile: the written-out square rule drops its 2", C,
       'return [f"{gs} * {y} * {x}", None]  # the rule\'s x ** 1',
       'return [f"{gs} * {x}", None]  #',
       "engine/test_compile.py"),
    _m("compile: a negated spread gradient keeps its sign", C,
       'return [_Spread(f"-{g.name}", g.shape) if spread',
       'return [_Spread(g.name, g.shape) if spread',
       "engine/test_compile.py"),
    _m("compile: the seed's folded scale forgotten", C,
       'names[f"K{b}"] = np.asarray(value) if routes[0][2] else value',
       'names[f"K{b}"] = event.seed', "engine/test_compile.py"),
    _m("compile: a forward value a rule reads is dropped", C,
       "line.droppable and line.slot not in read:", "line.droppable:", "engine/test_compile.py"),
    _m("compile: a Python number beside float32 taken as float64", C,
       "cast = np.dtype(dtype).type(x)", "cast = np.float64(x)", "engine/test_compile.py"),
    _m("compile: a weight's gradient laid out against the weight", C,
       "if {like}.flags.f_contiguous and not", "if not {like}.flags.f_contiguous and not",
       "engine/test_compile.py"),
    _m("compile: the replay takes arrays of another shape", C,
       'f"    if v{i}.shape != S{i} or v{i}.dtype != D{i}:"', 'f"    if v{i}.dtype != D{i}:"',
       "engine/test_compile.py", "engine/test_attack_replay.py"),
    _m("compile_step: the plan's check passes whatever it compares", "nn/compiled.py",
       "return bool(np.allclose(a, b, rtol=tol, atol=tol * scale, equal_nan=True))",
       "return True",
       "nn/test_compile_step.py"),
    _m("compile_step: the bias update skipped", "nn/compiled.py",
       'f"    np.subtract(b{i}, gb{i}, b{i})"', 'f"    pass"', "nn/test_compile_step.py"),
]

_SCALE = """

def _mutant(p):
    rule = p.vjp

    def scaled(*args, **kwargs):
        return tuple(None if g is None else g * 1.001 for g in rule(*args, **kwargs))
    p.vjp = scaled


_mutant({attr})
"""

_SWAP = """

def _mutant(p):
    import numpy
    rule = p.vjp

    def swapped(*args, **kwargs):
        gs = list(rule(*args, **kwargs))
        live = [i for i, g in enumerate(gs) if g is not None]
        shape = [numpy.shape(getattr(gs[i], "data", gs[i])) for i in live]
        for k, i in enumerate(live):
            for j, s in zip(live[k + 1:], shape[k + 1:]):
                if s == shape[k]:
                    gs[i], gs[j] = gs[j], gs[i]
                    return tuple(gs)
        return tuple(gs)
    p.vjp = swapped


_mutant({attr})
"""

RULE_TESTS = ("tests/engine/test_mutation.py",)


def rule_mutants() -> list[Mutant]:
    """A scaled rule for every primitive, and a swapped one where a swap changes something."""
    sys.path[:0] = [str(ROOT)]
    from tests.witnesses.mutation import Swapped, coverage, gives_only_zeros, primitives, replaced

    out = []
    for qualname, p in primitives().items():
        module, attr = qualname.rsplit(".", 1)
        path = module.replace(".", "/") + ".py"
        if not gives_only_zeros(p, coverage()[qualname]):  # else scaling changes nothing
            out.append(Mutant(f"rule {qualname} scaled by 1.001", path, None,
                              _SCALE.format(attr=attr), RULE_TESTS))
        swap = Swapped(p.vjp)
        with replaced(p, swap):
            for w in coverage()[qualname]:
                w.run()
        if swap.changed:
            out.append(Mutant(f"rule {qualname} with two inputs' gradients swapped", path, None,
                              _SWAP.format(attr=attr), RULE_TESTS))
    return out


def _copy(dest: Path) -> None:
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / name)


def mutated(text: str, m: Mutant) -> str:
    """The file's text with the mutant applied; a mutant whose text is gone is an error."""
    if m.old is None:
        return text + m.new
    count = text.count(m.old)
    if count != 1:
        raise ValueError(f"mutant {m.name!r}: its text occurs {count} times in {m.path}, "
                         f"not once: {m.old!r}")
    return text.replace(m.old, m.new)


def run(m: Mutant, tree: Path, timeout: float) -> tuple[str, float]:
    """('killed' | 'survived' | 'timeout', seconds) for one mutant in the copy `tree`."""
    target = tree / m.path
    original = target.read_text()
    target.write_text(mutated(original, m))
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p",
             "no:xdist", *m.tests], cwd=tree, capture_output=True, timeout=timeout,
            env={**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"})
        verdict = "killed" if done.returncode in (1, 2, 3) else "survived"
        if done.returncode not in (0, 1, 2, 3):
            raise RuntimeError(f"mutant {m.name!r}: pytest exit {done.returncode}\n"
                               f"{done.stdout.decode()[-2000:]}")
    except subprocess.TimeoutExpired:
        verdict = "timeout"
    finally:
        target.write_text(original)
    return verdict, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the mutants asked for; exit 1 when one survives."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-k", action="append", default=[], metavar="WORD",
                   help="only mutants whose name contains WORD (repeatable)")
    p.add_argument("--list", action="store_true", help="print the mutants' names and stop")
    p.add_argument("--no-rules", action="store_true", help="hand-written mutants only")
    p.add_argument("--timeout", type=float, default=600, help="seconds per mutant (600)")
    args = p.parse_args(argv)
    mutants = HAND + ([] if args.no_rules else rule_mutants())
    mutants = [m for m in mutants if not args.k or any(w in m.name for w in args.k)]
    for m in mutants:  # every text still there, before any time is spent
        mutated((ROOT / m.path).read_text(), m)
    if args.list:
        print("\n".join(m.name for m in mutants))
        return 0
    return _report(mutants, args.timeout)


def _report(mutants: list[Mutant], timeout: float) -> int:
    survivors = []
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        tree = Path(tmp)
        _copy(tree)
        for i, m in enumerate(mutants, 1):
            verdict, seconds = run(m, tree, timeout)
            print(f"{i:3}/{len(mutants)}  {verdict:8}  {seconds:5.1f} s  {m.name}", flush=True)
            if verdict == "survived":
                survivors.append(m.name)
    killed = len(mutants) - len(survivors)
    print(f"\nkilled {killed} / {len(mutants)} ({100 * killed / max(len(mutants), 1):.1f}%)"
          + "".join(f"\n  survived: {name}" for name in survivors))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
