"""micrograd's demo step, the same Python code on micrograd's Value and on ours.

The step is the one in micrograd's demo notebook: MLP(2, [16, 16, 1]) built as in micrograd's
nn.py, 100 two-moons points, the max-margin loss (1 − yᵢ·scoreᵢ)₊ averaged plus an L2 term
1e-4·Σp², zero grads, backward. It is written once, as functions of the Value class, so the
two engines run identical code. The two engines' gradients are compared (1e-12), then the step
is timed again with our fast paths (value_dot for each neuron's weighted sum, value_sum for the
sums).

    python benchmarks/bench_micrograd.py [--repeat 5] [--gc-off] [--steps 10]

A second table times steady-state training steps (forward, backward and the demo's SGD
update, step after step) with the cycle collector on, as users run it, and off, side by side.

micrograd is optional (`pip install micrograd`); without it only our timings are printed.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from itertools import pairwise

import numpy as np

from autograd import Value
from autograd.value import value_dot, value_sum

SIZES = (2, 16, 16, 1)
ALPHA = 1e-4


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 1) -> tuple[list, list]:
    """Two interleaving half circles (sklearn's make_moons, in numpy); labels are ±1."""
    rng = np.random.default_rng(seed)
    top, bottom = n // 2 + n % 2, n // 2
    t_top, t_bottom = np.linspace(0, np.pi, top), np.linspace(0, np.pi, bottom)
    X = np.concatenate([np.stack([np.cos(t_top), np.sin(t_top)], 1),
                        np.stack([1 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)], 1)])
    X += rng.normal(scale=noise, size=X.shape)
    y = np.concatenate([-np.ones(top), np.ones(bottom)])
    return X.tolist(), y.tolist()


# ---- micrograd's nn.py as data: a layer is a list of neurons (w list, b, nonlinear) ----------

def build_mlp(value_cls: type, seed: int = 1337) -> list[list[tuple[list, object, bool]]]:
    """MLP(2, [16, 16, 1]): weights uniform(−1, 1), biases 0, ReLU except on the last layer."""
    rng = random.Random(seed)
    layers = []
    for k, (n_in, n_out) in enumerate(pairwise(SIZES)):
        nonlin = k != len(SIZES) - 2
        layers.append([([value_cls(rng.uniform(-1, 1)) for _ in range(n_in)], value_cls(0.0),
                        nonlin) for _ in range(n_out)])
    return layers


def parameters(model: list) -> list:
    return [p for layer in model for w, b, _ in layer for p in (*w, b)]


def neuron(w: list, b: object, x: list) -> object:
    """micrograd's Neuron.__call__ before its nonlinearity, verbatim."""
    return sum((wi * xi for wi, xi in zip(w, x)), b)


def fast_neuron(w: list, b: object, x: list) -> object:
    """The same with our fast path: Σ wᵢxᵢ as one dot node."""
    return value_dot(w, x) + b


def forward(model: list, x: list, fast: bool) -> object:
    """The network's score for one input: neurons layer by layer, relu where nonlinear."""
    act = fast_neuron if fast else neuron
    for layer in model:
        x = [act(w, b, x).relu() if nonlin else act(w, b, x) for w, b, nonlin in layer]
    return x[0]


def loss(model: list, X: list, y: list, value_cls: type, fast: bool = False) -> object:
    """The demo's loss: mean max-margin loss plus alpha·Σp²."""
    inputs = [list(map(value_cls, row)) for row in X]
    scores = [forward(model, x, fast) for x in inputs]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    if fast:
        data_loss = value_sum(losses) * (1.0 / len(losses))
        params = parameters(model)
        return data_loss + ALPHA * value_dot(params, params)
    data_loss = sum(losses) * (1.0 / len(losses))
    return data_loss + ALPHA * sum(p * p for p in parameters(model))


def backward(model: list, total: object) -> None:
    """Zero the gradients, then backpropagate."""
    for p in parameters(model):
        p.grad = 0.0
    total.backward()


# ---- timing ------------------------------------------------------------------------------

def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        if not gc.isenabled():
            gc.collect()  # free the last graphs outside the timing, or memory grows unbounded
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def time_engine(value_cls: type, X: list, y: list, repeat: int, fast: bool = False) -> dict:
    """Best-of-`repeat` seconds for the step, and for its forward and backward halves."""
    model = build_mlp(value_cls)

    def step():
        backward(model, loss(model, X, y, value_cls, fast))

    step_s = best_of(repeat, step)
    fwd_s = best_of(repeat, lambda: loss(model, X, y, value_cls, fast))
    bwd = []
    for _ in range(repeat):
        total = loss(model, X, y, value_cls, fast)
        bwd.append(best_of(1, lambda total=total: backward(model, total)))
    return {"step": step_s, "forward": fwd_s, "backward": min(bwd)}


def training_steps(value_cls: type, X: list, y: list, steps: int, collector: bool,
                   fast: bool = False) -> list[float]:
    """Seconds of each of `steps` training steps in steady state (forward, zero grads,
    backward, SGD update, as the demo's loop), after two untimed ones. With `collector` the
    cycle collector runs as it does for users, inside the timed steps; without, it is off and
    run between steps, untimed."""
    model = build_mlp(value_cls)
    params = parameters(model)
    was = gc.isenabled()
    (gc.enable if collector else gc.disable)()
    times = []
    try:
        for k in range(steps + 2):
            if not collector:
                gc.collect()
            start = time.perf_counter()
            backward(model, loss(model, X, y, value_cls, fast))
            rate = 1.0 - 0.9 * k / 100
            for p in params:
                p.data -= rate * p.grad
            times.append(time.perf_counter() - start)
    finally:
        (gc.enable if was else gc.disable)()
    return times[2:]


def steady_state(engines: list[tuple[str, type, bool]], X: list, y: list, steps: int) -> None:
    """Per-step min and median of steady training, collector on and off, side by side."""
    print(f"\nsteady-state training steps ({steps} timed after 2), ms per step")
    print(f"{'engine':<24}{'gc on min':>10}{'gc on med':>10}{'gc off min':>11}"
          f"{'gc off med':>11}")
    base = None
    for name, cls, fast in engines:
        on = training_steps(cls, X, y, steps, True, fast)
        off = training_steps(cls, X, y, steps, False, fast)
        row = [min(on), statistics.median(on), min(off), statistics.median(off)]
        base = base or row
        ratios = " ".join(f"{b / r:.1f}x" for b, r in zip(base[1::2], row[1::2]))
        print(f"{name:<24}{row[0] * 1e3:>10.1f}{row[1] * 1e3:>10.1f}{row[2] * 1e3:>11.1f}"
              f"{row[3] * 1e3:>11.1f}   vs first row (median, on/off) {ratios}")


def gradients(value_cls: type, X: list, y: list, fast: bool = False) -> tuple[float, list]:
    model = build_mlp(value_cls)
    total = loss(model, X, y, value_cls, fast)
    backward(model, total)
    return total.data, [p.grad for p in parameters(model)]


def _same(a: tuple[float, list], b: tuple[float, list], rtol: float = 1e-12) -> bool:
    pairs = [(a[0], b[0]), *zip(a[1], b[1])]
    return all(math.isclose(u, v, rel_tol=rtol, abs_tol=1e-15) for u, v in pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (best is kept)")
    parser.add_argument("--points", type=int, default=100, help="two-moons points")
    parser.add_argument("--steps", type=int, default=10,
                        help="timed steady-state training steps per engine (10)")
    parser.add_argument("--gc-off", action="store_true",
                        help="time with Python's cycle collector off (shows what it costs)")
    args = parser.parse_args(argv)
    if args.gc_off:
        gc.disable()
    X, y = make_moons(args.points)
    ours = gradients(Value, X, y)
    fast = gradients(Value, X, y, fast=True)
    print(f"micrograd demo step: MLP{list(SIZES)}, {len(parameters(build_mlp(Value)))} "
          f"parameters, {len(X)} points, best of {args.repeat}, cycle collector "
          f"{'off' if args.gc_off else 'on'}")
    if not _same(ours, fast):
        print("FAIL: the fast-path step's gradients differ from the plain step's")
        return 1
    rows = [("deltagrad, same code", time_engine(Value, X, y, args.repeat)),
            ("deltagrad, fast paths", time_engine(Value, X, y, args.repeat, fast=True))]
    try:
        from micrograd.engine import Value as MicroValue
    except ImportError:
        print("micrograd not installed (pip install micrograd): comparison skipped")
        _report(rows, None)
        steady_state([("deltagrad, same code", Value, False),
                      ("deltagrad, fast paths", Value, True)], X, y, args.steps)
        return 0
    if not _same(gradients(MicroValue, X, y), ours):
        print("FAIL: micrograd's and deltagrad's gradients differ")
        return 1
    print(f"gradients equal to 1e-12: micrograd = deltagrad = deltagrad fast paths "
          f"(loss {ours[0]:.12f})")
    base = time_engine(MicroValue, X, y, args.repeat)
    _report([("micrograd", base), *rows], base["step"])
    steady_state([("micrograd", MicroValue, False), ("deltagrad, same code", Value, False),
                  ("deltagrad, fast paths", Value, True)], X, y, args.steps)
    return 0


def _report(rows: list[tuple[str, dict]], base: float | None) -> int:
    print(f"{'engine':<24}{'step ms':>10}{'forward ms':>12}{'backward ms':>13}"
          f"{'speed-up':>10}")
    for name, t in rows:
        ratio = f"{base / t['step']:.1f}x" if base else "-"
        print(f"{name:<24}{t['step'] * 1e3:>10.1f}{t['forward'] * 1e3:>12.1f}"
              f"{t['backward'] * 1e3:>13.1f}{ratio:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
