"""Backward through a chain of a million Value nodes, and where micrograd's recursion gives out.

The chain alternates x·m and x + c, so ∂out/∂x = m^(n/2) is known in closed form and the
result is checked, not just survived. micrograd's topological sort is recursive and stops
with RecursionError at about Python's recursion limit (1,000 frames); ours is iterative.

    python benchmarks/bench_deep_chain.py [--nodes 1000000]
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from autograd import Value

FACTOR, SHIFT = 1.0000001, 1e-3


def chain(value_cls: type, nodes: int) -> tuple[object, object]:
    """(leaf, out): `nodes` ops after the leaf, alternately ·FACTOR and +SHIFT."""
    x = value_cls(0.5)
    out = x
    for i in range(nodes):
        out = out * FACTOR if i % 2 == 0 else out + SHIFT
    return x, out


def run_ours(nodes: int) -> int:
    start = time.perf_counter()
    x, out = chain(Value, nodes)
    built = time.perf_counter()
    out.backward()
    done = time.perf_counter()
    expected = FACTOR ** ((nodes + 1) // 2)
    ok = math.isclose(x.grad, expected, rel_tol=1e-9)
    print(f"deltagrad: {nodes:,} nodes, forward {built - start:.2f} s, "
          f"backward {done - built:.2f} s; dout/dx = {x.grad:.12g} "
          f"(closed form {expected:.12g}: {'ok' if ok else 'WRONG'})")
    return 0 if ok else 1


def run_micrograd(depths: tuple[int, ...] = (250, 500, 900, 1000, 2000)) -> None:
    try:
        from micrograd.engine import Value as MicroValue
    except ImportError:
        print("micrograd not installed (pip install micrograd): its depth limit not shown")
        return
    print(f"micrograd (recursion limit {sys.getrecursionlimit()}):")
    for depth in depths:
        _, out = chain(MicroValue, depth)
        try:
            out.backward()
        except RecursionError as e:
            print(f"  {depth:>6,} nodes: RecursionError ({e})")
            return
        print(f"  {depth:>6,} nodes: ok")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000, help="length of the chain")
    args = parser.parse_args(argv)
    run_micrograd()
    return run_ours(args.nodes)


if __name__ == "__main__":
    sys.exit(main())
