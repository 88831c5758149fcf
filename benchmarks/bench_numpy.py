"""Plain numpy code, differentiated: one small MLP loss written with np.tanh and np.dot, its
gradient timed on deltagrad (the Tensor goes into numpy's own functions), HIPS autograd (the
same source text with `autograd.numpy` as np) and PyTorch (the same lines with torch's names).

    python benchmarks/bench_numpy.py [--batch 64] [--calls 200] [--repeat 5] [--hips PYTHON]

HIPS autograd's import name clashes with ours, so it runs in a child process with its own
Python, given by --hips (a venv where `pip install autograd` was run), from a folder outside
this repository; without it, its row is skipped. Before timing, every engine's gradients are
compared with deltagrad's (1e-10).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

SIZES = (20, 32, 5)

# The function under test, as a user writes it: numpy calls only.
SOURCE = '''
def loss(w1, b1, w2, b2, x, y):
    h = np.tanh(np.dot(x, w1) + b1)
    out = np.tanh(np.dot(h, w2) + b2)
    return np.sum((out - y) ** 2) / x.shape[0]
'''

HIPS_SCRIPT = '''
import json, sys, time
import numpy as onp
import autograd.numpy as np
from autograd import grad
exec(sys.argv[1])
data = onp.load(sys.argv[2])
args = [data[k] for k in ("w1", "b1", "w2", "b2", "x", "y")]
g = grad(loss, argnum=(0, 1, 2, 3))
calls, repeat = int(sys.argv[3]), int(sys.argv[4])
best = float("inf")
for _ in range(repeat):
    t = time.perf_counter()
    for _ in range(calls):
        grads = g(*args)
    best = min(best, time.perf_counter() - t)
onp.savez(sys.argv[5], *grads)
print(json.dumps(best / calls))
'''


def inputs(batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Weights, biases, a batch of inputs and targets (float64)."""
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = SIZES
    return {"w1": rng.normal(size=(n_in, n_hidden)) / np.sqrt(n_in),
            "b1": rng.normal(size=n_hidden), "w2": rng.normal(size=(n_hidden, n_out)),
            "b2": rng.normal(size=n_out), "x": rng.normal(size=(batch, n_in)),
            "y": rng.uniform(-1, 1, size=(batch, n_out))}


def deltagrad_grad(data: dict[str, np.ndarray]) -> Callable[[], list[np.ndarray]]:
    from autograd import grad

    scope = {"np": np}
    exec(SOURCE, scope)
    g = grad(scope["loss"], argnum=(0, 1, 2, 3))
    args = [data[k] for k in ("w1", "b1", "w2", "b2", "x", "y")]
    return lambda: list(g(*args))


def torch_grad(data: dict[str, np.ndarray]) -> Callable[[], list[np.ndarray]] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    ps = [torch.tensor(data[k], requires_grad=True) for k in ("w1", "b1", "w2", "b2")]
    x, y = torch.tensor(data["x"]), torch.tensor(data["y"])

    def run() -> list[np.ndarray]:
        w1, b1, w2, b2 = ps
        h = torch.tanh(torch.matmul(x, w1) + b1)
        out = torch.tanh(torch.matmul(h, w2) + b2)
        loss = torch.sum((out - y) ** 2) / x.shape[0]
        return [g.numpy() for g in torch.autograd.grad(loss, ps)]

    return run


def best_time(fn: Callable[[], list[np.ndarray]], calls: int, repeat: int
              ) -> tuple[float, list[np.ndarray]]:
    """Seconds per call, best of `repeat` runs of `calls` calls; and the last gradients."""
    best, grads = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(calls):
            grads = fn()
        best = min(best, time.perf_counter() - t)
    return best / calls, grads


def hips(python: str, data: dict[str, np.ndarray], calls: int, repeat: int
         ) -> tuple[float, list[np.ndarray]]:
    """HIPS autograd's time per call and gradients, from a child process outside the repo."""
    # Without our PYTHONPATH: this repository's `autograd` would shadow HIPS's.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "in.npz", **data)
        out = subprocess.run([python, "-c", HIPS_SCRIPT, SOURCE, "in.npz", str(calls),
                              str(repeat), "out.npz"], cwd=tmp, capture_output=True, text=True,
                             env=env)
        if out.returncode:
            raise RuntimeError(f"HIPS autograd's run failed:\n{out.stderr}")
        with np.load(Path(tmp) / "out.npz") as f:
            grads = [f[f"arr_{i}"] for i in range(4)]
    return json.loads(out.stdout), grads


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64, help="rows in the batch (64)")
    ap.add_argument("--calls", type=int, default=200, help="gradient calls per timing (200)")
    ap.add_argument("--repeat", type=int, default=5, help="timings per engine; best kept (5)")
    ap.add_argument("--hips", metavar="PYTHON", help="a Python with HIPS autograd installed")
    args = ap.parse_args(argv)
    data = inputs(args.batch)
    ours, reference = best_time(deltagrad_grad(data), args.calls, args.repeat)
    rows = [("deltagrad (np.tanh, np.dot on Tensors)", ours, 0.0)]
    contenders = []
    run = torch_grad(data)
    if run is not None:
        import torch

        contenders.append((f"PyTorch {torch.__version__} CPU", lambda: best_time(
            run, args.calls, args.repeat)))
    if args.hips:
        contenders.append(("HIPS autograd", lambda: hips(args.hips, data, args.calls,
                                                         args.repeat)))
    for name, timed in contenders:
        seconds, grads = timed()
        err = max(float(np.abs(a - b).max()) for a, b in zip(grads, reference))
        if err > 1e-10:
            print(f"{name}: gradients differ from deltagrad's by {err:.3g}", file=sys.stderr)
            return 1
        rows.append((name, seconds, err))
    print(f"gradient of an MLP {'-'.join(map(str, SIZES))} loss written in numpy, batch "
          f"{args.batch}, best of {args.repeat} x {args.calls} calls")
    print(f"{'engine':40} {'us/call':>9} {'vs deltagrad':>13} {'max |g - ours|':>15}")
    for name, seconds, err in rows:
        print(f"{name:40} {seconds * 1e6:9.1f} {seconds / ours:12.2f}x {err:15.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
