"""Where the nn path spends its time, phase by phase, against hand-written numpy.

The document's workload (784-30-10 sigmoid, quadratic cost, SGD eta = 3.0, batch 10) over n
MNIST images, cut after the forward pass, after the backward pass, and after the update, for
both the numpy floor and nn (MLP, mse_loss, SGD). Times are CPU time of this process
(time.process_time), best of --repeat interleaved runs, so other work on the machine inflates
them much less than wall-clock time. The difference between two rows is that phase's cost.

    python benchmarks/bench_nn_phases.py [--n 10000] [--repeat 7]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from itertools import pairwise  # noqa: E402

import numpy as np  # noqa: E402

from nn import MLP, SGD, mse_loss  # noqa: E402
from nn.data import load_mnist  # noqa: E402

ETA, BATCH, SIZES = 3.0, 10, [784, 30, 10]
PHASES = ("forward", "+ backward", "+ update")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def floor(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, upto: int) -> None:
    """The δ recursion by hand, stopped after phase `upto` (0, 1 or 2)."""
    w1, b1, w2, b2 = (p.copy() for p in params)
    for k in range(0, len(x), BATCH):
        xb, yb = x[k:k + BATCH], y[k:k + BATCH]
        a1 = _sigmoid(xb @ w1.T + b1)
        a2 = _sigmoid(a1 @ w2.T + b2)
        if upto == 0:
            continue
        d2 = (a2 - yb) * a2 * (1 - a2) / len(xb)
        d1 = (d2 @ w2) * a1 * (1 - a1)
        gw2, gb2, gw1, gb1 = d2.T @ a1, d2.sum(0), d1.T @ xb, d1.sum(0)
        if upto == 1:
            continue
        w2 -= ETA * gw2
        b2 -= ETA * gb2
        w1 -= ETA * gw1
        b1 -= ETA * gb1


def library(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, upto: int) -> None:
    """nn.MLP + mse_loss + SGD, stopped after phase `upto`."""
    model = MLP.from_arrays(params[::2], params[1::2])
    opt = SGD(model.parameters(), lr=ETA)
    for k in range(0, len(x), BATCH):
        loss = mse_loss(model(x[k:k + BATCH]), y[k:k + BATCH])
        if upto == 0:
            continue
        opt.zero_grad()
        loss.backward()
        if upto == 1:
            continue
        opt.step()


def measure(repeat: int, x: np.ndarray, y: np.ndarray) -> dict[tuple[str, int], float]:
    """Best CPU seconds per (contender, phase), runs interleaved so drifts hit all alike."""
    rng = np.random.default_rng(0)
    params = []
    for n_in, n_out in pairwise(SIZES):
        params += [rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)]
    contenders: dict[str, Callable[..., None]] = {"numpy floor": floor, "nn": library}
    best: dict[tuple[str, int], float] = {}
    for _ in range(repeat):
        for name, fn in contenders.items():
            for upto in range(3):
                t = time.process_time()
                fn(params, x, y, upto)
                key = (name, upto)
                best[key] = min(best.get(key, np.inf), time.process_time() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="training images (default 10000)")
    ap.add_argument("--repeat", type=int, default=7, help="interleaved runs; best is kept")
    args = ap.parse_args()
    ds = load_mnist()
    x, y = ds.train.images[:args.n], np.eye(10)[ds.train.labels[:args.n]]
    best = measure(args.repeat, x, y)
    per = 1e6 * BATCH / len(x)
    print(f"{len(x)} bundled MNIST images, batch {BATCH}: CPU µs per mini-batch (best of "
          f"{args.repeat})")
    print(f"{'after':12s} {'numpy floor':>12s} {'nn':>8s} {'nn − floor':>11s} {'ratio':>6s}")
    for upto, phase in enumerate(PHASES):
        f, n = best["numpy floor", upto] * per, best["nn", upto] * per
        print(f"{phase:12s} {f:12.1f} {n:8.1f} {n - f:11.1f} {n / f:6.2f}")


if __name__ == "__main__":
    main()
