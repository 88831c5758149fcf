"""Nielsen's chapter-6 conv net, one epoch, deltagrad against PyTorch CPU eager, one thread.

The workload is `deltagrad train --preset conv`: 20 and 40 5×5 filters each followed by ReLU
and 2×2 max pooling, 100 ReLU units, 10 logits, softmax cross-entropy, plain SGD with η = 0.03
and batches of 10 (no L2 and no dropout here, so both sides compute exactly the same step).
Both engines start from the same weights and see the same batches; before printing a time the
script checks that they end at the same weights (to 1e-8 relative in float64, 1e-3 in float32,
whose rounding differs between the engines from the first step). Where the engine
has `nn.compile_step`, its compiled step is timed as a third row.

    python benchmarks/bench_conv.py [--data DIR] [--n 10000] [--repeat 1] [--dtype float32]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ETA, BATCH = 0.03, 10
TOLERANCE = {"float64": 1e-8, "float32": 1e-3}


def load(data: str | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n training images as rows in [0, 1] and their labels."""
    from nn.data import load_mnist

    ds = load_mnist(data) if data else load_mnist()
    if n > len(ds.train):
        raise SystemExit(f"--n {n} is more than the {len(ds.train)} training images")
    return ds.train.images[:n], ds.train.labels[:n]


def initial_weights(dtype: str, seed: int = 0) -> list[np.ndarray]:
    """The preset's He-normal weights (zero biases), in parameter order."""
    from nn.conv import nielsen_conv_net

    return [np.array(p.data, dtype=dtype) for p in nielsen_conv_net(seed=seed).parameters()]


def epoch_deltagrad(params: list[np.ndarray], x: np.ndarray, labels: np.ndarray
                    ) -> list[np.ndarray]:
    """deltagrad's nn library, eager: the loop `deltagrad train --eager` runs."""
    from nn import SGD, cross_entropy
    from nn.conv import nielsen_conv_net

    model = _loaded(nielsen_conv_net(dtype=params[0].dtype), params)
    opt = SGD(model.parameters(), lr=ETA)
    for k in range(0, len(x), BATCH):
        loss = cross_entropy(model(x[k:k + BATCH]), labels[k:k + BATCH])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [np.array(p.data) for p in model.parameters()]


def epoch_compiled(params: list[np.ndarray], x: np.ndarray, labels: np.ndarray
                   ) -> list[np.ndarray]:
    """deltagrad's compiled step (nn.compile_step): forward, loss, backward and SGD in one."""
    import nn
    from nn.conv import nielsen_conv_net
    from nn.losses import cross_entropy_one_hot, one_hot

    model = _loaded(nielsen_conv_net(dtype=params[0].dtype), params)
    # one-hot rows, as nn.train gives a compiled step: integer labels index the logits by
    # their values, which a replay cannot repeat (it would run eagerly, with a warning)
    targets = one_hot(labels, 10, params[0].dtype)
    step = nn.compile_step(model, cross_entropy_one_hot, nn.SGD(model.parameters(), lr=ETA))
    for k in range(0, len(x), BATCH):
        step(x[k:k + BATCH], targets[k:k + BATCH])
    return [np.array(p.data) for p in model.parameters()]


def _loaded(model, params):
    for p, w in zip(model.parameters(), params):
        p.data[...] = w
    return model


def epoch_torch(params: list[np.ndarray], x: np.ndarray, labels: np.ndarray
                ) -> list[np.ndarray]:
    """The same network in PyTorch, eager, one thread, in the weights' dtype."""
    import torch

    torch.set_num_threads(1)
    nn_ = torch.nn
    dtype = torch.from_numpy(params[0]).dtype
    model = nn_.Sequential(
        nn_.Unflatten(1, (1, 28, 28)), nn_.Conv2d(1, 20, 5), nn_.ReLU(), nn_.MaxPool2d(2),
        nn_.Conv2d(20, 40, 5), nn_.ReLU(), nn_.MaxPool2d(2), nn_.Flatten(),
        nn_.Linear(640, 100), nn_.ReLU(), nn_.Linear(100, 10)).to(dtype)
    with torch.no_grad():
        for p, w in zip(model.parameters(), params):
            p.copy_(torch.from_numpy(w))
    opt = torch.optim.SGD(model.parameters(), lr=ETA)
    xt, yt = torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))
    for k in range(0, len(x), BATCH):
        loss = nn_.functional.cross_entropy(model(xt[k:k + BATCH]), yt[k:k + BATCH])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.detach().numpy().copy() for p in model.parameters()]


def contenders() -> dict[str, Callable[..., list[np.ndarray]]]:
    """The runs available here: PyTorch and the compiled step only where they exist."""
    import nn

    out: dict[str, Callable[..., list[np.ndarray]]] = {"deltagrad eager": epoch_deltagrad}
    if hasattr(nn, "compile_step"):
        out["deltagrad compiled"] = epoch_compiled
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch not installed: only deltagrad is timed (pip install torch)")
    else:
        out["PyTorch eager"] = epoch_torch
    return out


def _same(ours: list[np.ndarray], ref: list[np.ndarray], name: str, tol: float) -> None:
    for i, (a, b) in enumerate(zip(ours, ref)):
        err = float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))
        if err > tol:
            raise SystemExit(f"{name} ends at different weights (parameter {i}: relative "
                             f"difference {err:.1e}); not timing a different computation")


def _timed(fn: Callable[..., list[np.ndarray]], *args: object
           ) -> tuple[float, float, list[np.ndarray]]:
    """(wall seconds, CPU seconds, fn's result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    final = fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, final


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="folder of the MNIST IDX files (default: bundled subset)")
    p.add_argument("--n", type=int, default=10_000, help="training images in the epoch")
    p.add_argument("--repeat", type=int, default=1, help="best of this many epochs")
    p.add_argument("--dtype", choices=tuple(TOLERANCE), default="float64",
                   help="precision of weights and images on both sides")
    args = p.parse_args()
    x, labels = load(args.data, args.n)
    x = x.astype(args.dtype)
    params = initial_weights(args.dtype)
    runs = contenders()
    for fn in runs.values():
        fn(params, x[:10 * BATCH], labels[:10 * BATCH])  # untimed: imports, first-call setup
    best = {name: (float("inf"), float("inf")) for name in runs}
    reference = None
    # Round robin, so a burst of load on a shared machine slows every engine alike.
    for _ in range(args.repeat):
        for name, fn in runs.items():
            wall, cpu, final = _timed(fn, params, x, labels)
            reference = final if reference is None else reference
            _same(final, reference, name, TOLERANCE[args.dtype])
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    _report(best, len(x), args.dtype)


def _report(best: dict[str, tuple[float, float]], n: int, dtype: str) -> None:
    print(f"one epoch of {n} images, batch {BATCH}, {dtype}, one thread; best of each")
    print(f"{'engine':20} {'wall s':>8} {'CPU s':>8} {'ms/batch':>9} {'wall vs torch':>14} "
          f"{'CPU vs torch':>13}")
    base = best.get("PyTorch eager")
    for name, (wall, cpu) in best.items():
        ratios = (f"{wall / base[0]:.2f}x", f"{cpu / base[1]:.2f}x") if base else ("-", "-")
        print(f"{name:20} {wall:8.2f} {cpu:8.2f} {1e3 * wall / (n / BATCH):9.2f} "
              f"{ratios[0]:>14} {ratios[1]:>13}")


if __name__ == "__main__":
    main()
