"""Drawing 20,000-node graphs: draw() summarises them and comes back in well under a second.

Three graphs of about 20,000 nodes each:

- chain:  a Value chain x·m + c, repeated 10,000 times;
- mlp:    a micrograd-style MLP loss, 3-32-32-1 on 9 samples, written as micrograd writes it
          (Σ wᵢxᵢ as a running sum of products), so every product and sum is a node;
- rnn:    a Tensor recurrence h ← tanh(W h + x) unrolled 7,000 steps.

For each: the time to build the graph, to draw it (trace, summary and Digraph, the part that
must not hang), to lay it out with graphviz's `dot` as SVG, and the number of nodes left in
the picture. The last row draws the chain without summarising (max_nodes=None) to show what
the summary saves; it is not laid out, since `dot` on 20,000 nodes takes minutes.

    python benchmarks/bench_draw.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import numpy as np

from autograd import Tensor, Value, draw, trace
from autograd.draw import DEFAULT_MAX_NODES, pipe


def chain() -> Value:
    x = Value(1.0, label="x")
    for _ in range(10_000):
        x = x * 1.0001 + 0.001
    return x


def micrograd_mlp(sizes: tuple[int, ...] = (3, 32, 32, 1), samples: int = 9) -> Value:
    rnd = random.Random(0)
    layers = [[([Value(rnd.uniform(-1, 1)) for _ in range(n_in)], Value(0.0))
               for _ in range(n_out)] for n_in, n_out in pairwise(sizes)]
    loss = Value(0.0)
    for _ in range(samples):
        a = [Value(rnd.uniform(-1, 1)) for _ in range(sizes[0])]
        for layer in layers:
            a = [sum((w * x for w, x in zip(ws, a)), b).tanh() for ws, b in layer]
        loss = loss + (a[0] - 1.0) ** 2
    return loss


def rnn(steps: int = 7_000, width: int = 8) -> Tensor:
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((width, width)) / width, requires_grad=True, label="W")
    h = Tensor(np.zeros(width))
    for _ in range(steps):
        h = (w @ h + rng.standard_normal(width)).tanh()
    return (h * h).sum()


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """(fastest wall-clock seconds, last result) over `repeat` runs."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def row(name: str, build: Callable[[], Any], repeat: int, has_dot: bool) -> bool:
    t_build, root = best(build, 1)
    n = len(trace(root).nodes)
    root.backward()
    t_draw, g = best(lambda: draw(root), repeat)
    drawn = g.source.count("shape=record") + g.source.count("shape=Mrecord")
    t_dot = best(lambda: pipe(g, "svg"), 1)[0] if has_dot else float("nan")
    ok = n >= 20_000 and drawn <= DEFAULT_MAX_NODES and t_draw < 5.0
    print(f"{name:<24}{n:>8,}{t_build:>10.2f}{t_draw:>10.3f}{t_dot:>10.2f}{drawn:>8,}"
          f"  {'ok' if ok else 'TOO SLOW OR TOO BIG'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="draw timings: best of N")
    args = parser.parse_args(argv)
    has_dot = shutil.which("dot") is not None
    if not has_dot:
        print("graphviz 'dot' not installed: the layout column shows nan")
    print(f"{'graph':<24}{'nodes':>8}{'build s':>10}{'draw s':>10}{'dot s':>10}{'drawn':>8}")
    ok = all([row("chain", chain, args.repeat, has_dot),
              row("micrograd mlp", micrograd_mlp, args.repeat, has_dot),
              row("tensor rnn", rnn, args.repeat, has_dot)])
    root = chain()
    t_full, g = best(lambda: draw(root, max_nodes=None), args.repeat)
    print(f"{'chain, max_nodes=None':<24}{len(trace(root).nodes):>8,}{'':>10}{t_full:>10.3f}"
          f"{'':>10}{g.source.count('shape=record'):>8,}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
