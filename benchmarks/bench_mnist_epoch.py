"""One epoch of the document's workload, written many ways, timed side by side in one run.

The workload (seed.md section 5): a 784-30-10 sigmoid network, quadratic cost
J = 1/(2m) Σ‖a − y‖², mini-batch SGD with η = 3.0 and batches of 10, one epoch over 10,000 real
MNIST training images, all on one thread. Each contender starts from the same weights and sees the
same batches, and must end at the hand-written numpy floor's weights (to 1e-8; float32 rows
show their own distance). Each contender runs --repeat rounds (at least 5 for the note); the
table gives the minimum and the median and each one's ratio to the floor's, and the median of
the per-round ratios (each round's time over the floor's in the same round), and the BLAS
thread pools in use are printed first (threadpoolctl). Float32 rows are given the images in
float32, converted once before timing, as `nn.train` converts them once a run.

Rows: the numpy floor; the best hand-tuned numpy (preallocated buffers, the SGD step folded
into the weight-gradient matmul); deltagrad's Tensor ops and nn, eager and compiled
(`autograd.compile`, `nn.compile_step`); the compiled nn step with no fusion and with each
fusion alone; float32 versions of the floor and of compiled nn; PyTorch; HIPS autograd; the
document's per-example loop. A last line times the mini-batch gather with and without a
preallocated buffer.

    python benchmarks/bench_mnist_epoch.py [--data DIR] [--n 10000] [--repeat 5]

With --train E it instead runs the whole of `deltagrad train` and `deltagrad train --fuse`
(E epochs, the document's configuration, seeds given by --seeds) against the same training
written by hand in numpy, in one process: same initial weights, same shuffles, so close
accuracies are expected (not equal: rounding differs by 1e-16 a step, and 180,000 steps
amplify it); training CPU time excludes evaluation for both.

    python benchmarks/bench_mnist_epoch.py --data DIR --train 30 [--seeds 0,1,2]

HIPS autograd, when installed (`pip install --target benchmarks/.deps/hips autograd`, or any folder
given by --hips), runs in a separate process: its import name clashes with ours.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ETA, BATCH, SIZES = 3.0, 10, (784, 30, 10)


def load(data: str | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n training images as rows in [0, 1] and their one-hot targets."""
    from nn.data import load_mnist

    beside = HERE.parent.parent / "shared" / "data" / "mnist"  # a checkout beside the data
    folder = data or (str(beside) if beside.is_dir() else None)
    ds = load_mnist(folder) if folder else load_mnist()
    x, labels = ds.train.images[:n], ds.train.labels[:n]
    return x, np.eye(10)[labels]


def initial_weights(seed: int = 0) -> list[np.ndarray]:
    """[W1, b1, W2, b2], standard normal as in the document."""
    rng = np.random.default_rng(seed)
    out = []
    for n_in, n_out in itertools.pairwise(SIZES):
        out += [rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)]
    return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _numpy_step(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray,
                xb: np.ndarray, yb: np.ndarray) -> None:
    """One SGD step of the document's network by hand, in place: the δ recursion written out."""
    a1 = _sigmoid(xb @ w1.T + b1)
    a2 = _sigmoid(a1 @ w2.T + b2)
    d2 = (a2 - yb) * a2 * (1 - a2) / len(xb)
    d1 = (d2 @ w2) * a1 * (1 - a1)
    w2 -= ETA * (d2.T @ a1)
    b2 -= ETA * d2.sum(0)
    w1 -= ETA * (d1.T @ xb)
    b1 -= ETA * d1.sum(0)


def epoch_numpy(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The floor: the δ recursion by hand, batched (what the engine must come close to)."""
    w1, b1, w2, b2 = (p.copy() for p in params)
    for k in range(0, len(x), BATCH):
        xb, yb = x[k:k + BATCH], y[k:k + BATCH]
        _numpy_step(w1, b1, w2, b2, xb, yb)
    return [w1, b1, w2, b2]


def epoch_tensor(params: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                 compiled: bool = False) -> list[np.ndarray]:
    """deltagrad's Tensor ops, written as a newcomer would write them; with `compiled`, the
    forward and backward of each step under autograd.compile."""
    from autograd import Tensor, compile

    w1, b1, w2, b2 = ps = [Tensor(p, requires_grad=True) for p in params]

    def grads(xb, yb):
        a1 = (xb @ w1.T + b1).sigmoid()
        a2 = (a1 @ w2.T + b2).sigmoid()
        loss = ((a2 - yb) ** 2).sum() / (2 * len(xb))
        for p in ps:
            p.grad = None
        loss.backward()

    step = compile(grads, strict=True) if compiled else grads
    for k in range(0, len(x), BATCH):
        step(x[k:k + BATCH], y[k:k + BATCH])
        for p in ps:
            p.data -= ETA * p.grad
    return [p.data for p in ps]


def epoch_nn(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """deltagrad's nn library: MLP, mse_loss and SGD, the way the README shows them."""
    from nn import MLP, SGD, mse_loss

    model = MLP(list(SIZES), activation="sigmoid")
    for layer, (w, b) in zip(model.layers, zip(params[::2], params[1::2])):
        layer.weight.data[...] = w
        layer.bias.data[...] = b
    opt = SGD(model.parameters(), lr=ETA)
    for k in range(0, len(x), BATCH):
        loss = mse_loss(model(x[k:k + BATCH]), y[k:k + BATCH])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [t for layer in model.layers for t in (layer.weight.data, layer.bias.data)]


def epoch_numpy_tuned(params: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                      dtype: Any = np.float64) -> list[np.ndarray]:
    """The best hand-written numpy we know: every buffer preallocated, in-place ufuncs, the
    learning rate applied to δ (m x out) inside the weight-gradient matmul, not to the
    (out x in) gradient."""
    w1, b1, w2, b2 = (p.astype(dtype) for p in params)
    x, y = x.astype(dtype, copy=False), y.astype(dtype, copy=False)
    m = BATCH
    a1, a2 = np.empty((m, SIZES[1]), dtype), np.empty((m, SIZES[2]), dtype)
    d1, d2 = np.empty_like(a1), np.empty_like(a2)
    t1, t2 = np.empty_like(a1), np.empty_like(a2)
    g1, g2 = np.empty_like(w1), np.empty_like(w2)
    gb1, gb2 = np.empty_like(b1), np.empty_like(b2)
    scale = dtype(ETA / m)
    for k in range(0, len(x), m):
        xb, yb = x[k:k + m], y[k:k + m]
        np.matmul(xb, w1.T, out=a1)
        a1 += b1
        _sigmoid_inplace(a1)
        np.matmul(a1, w2.T, out=a2)
        a2 += b2
        _sigmoid_inplace(a2)
        np.subtract(a2, yb, out=d2)       # δ² = (a − y) σ′ η/m, η/m folded in here
        d2 *= a2
        np.subtract(1.0, a2, out=t2)
        d2 *= t2
        d2 *= scale
        np.matmul(d2, w2, out=d1)         # δ¹ before W² moves
        d1 *= a1
        np.subtract(1.0, a1, out=t1)
        d1 *= t1
        np.matmul(d2.T, a1, out=g2)
        w2 -= g2
        b2 -= np.sum(d2, axis=0, out=gb2)
        np.matmul(d1.T, xb, out=g1)
        w1 -= g1
        b1 -= np.sum(d1, axis=0, out=gb1)
    return [w1, b1, w2, b2]


def _sigmoid_inplace(z: np.ndarray) -> None:
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1.0
    np.reciprocal(z, out=z)


def epoch_numpy_f32(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The floor's loop in float32."""
    f32 = [p.astype(np.float32) for p in params]
    return epoch_numpy(f32, x.astype(np.float32), y.astype(np.float32))


def epoch_nn_compiled(params: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                      fusions: Any = True, dtype: Any = np.float64) -> list[np.ndarray]:
    """deltagrad's nn with one nn.compile_step call per batch."""
    from nn import MLP, SGD, compile_step, mse_loss

    model = MLP.from_arrays(params[::2], params[1::2], dtype=dtype)
    step = compile_step(model, mse_loss, SGD(model.parameters(), lr=ETA), fusions=fusions)
    x, y = x.astype(dtype, copy=False), y.astype(dtype, copy=False)
    for k in range(0, len(x), BATCH):
        step(x[k:k + BATCH], y[k:k + BATCH])
    return [t for layer in model.layers for t in (layer.weight.data, layer.bias.data)]


def epoch_document(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The document's own per-example loop (column vectors, summed nablas)."""
    w1, b1, w2, b2 = (p.copy() for p in params)
    weights, biases = [w1, w2], [b1[:, None], b2[:, None]]
    for k in range(0, len(x), BATCH):
        nw = [np.zeros_like(w) for w in weights]
        nb = [np.zeros_like(b) for b in biases]
        for xi, yi in zip(x[k:k + BATCH], y[k:k + BATCH]):
            acts, zs = [xi[:, None]], []
            for w, b in zip(weights, biases):
                zs.append(w @ acts[-1] + b)
                acts.append(_sigmoid(zs[-1]))
            delta = (acts[-1] - yi[:, None]) * _sigmoid(zs[-1]) * (1 - _sigmoid(zs[-1]))
            grads_w, grads_b = [delta @ acts[-2].T], [delta]
            sp = _sigmoid(zs[0]) * (1 - _sigmoid(zs[0]))
            delta = (weights[1].T @ delta) * sp
            grads_w.insert(0, delta @ acts[0].T)
            grads_b.insert(0, delta)
            nw = [a + g for a, g in zip(nw, grads_w)]
            nb = [a + g for a, g in zip(nb, grads_b)]
        m = len(x[k:k + BATCH])
        weights = [w - ETA / m * g for w, g in zip(weights, nw)]
        biases = [b - ETA / m * g for b, g in zip(biases, nb)]
    return [weights[0], biases[0][:, 0], weights[1], biases[1][:, 0]]


def epoch_torch(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """PyTorch CPU, float64, the same loop."""
    import torch

    torch.set_num_threads(1)
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    w1, b1, w2, b2 = ps
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for k in range(0, len(x), BATCH):
        xb, yb = xt[k:k + BATCH], yt[k:k + BATCH]
        a2 = torch.sigmoid(torch.sigmoid(xb @ w1.T + b1) @ w2.T + b2)
        loss = ((a2 - yb) ** 2).sum() / (2 * len(xb))
        for p in ps:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in ps:
                p -= ETA * p.grad
    return [p.detach().numpy() for p in ps]


HIPS_SCRIPT = """
import sys, time, json, numpy as onp
import autograd.numpy as np
from autograd import grad
d = onp.load(sys.argv[1])
x, y, params, repeat = d["x"], d["y"], [d[f"p{i}"] for i in range(4)], int(sys.argv[2])
def loss(ps, xb, yb):
    w1, b1, w2, b2 = ps
    s = lambda z: 1.0 / (1.0 + np.exp(-z))
    a2 = s(np.dot(s(np.dot(xb, w1.T) + b1), w2.T) + b2)
    return np.sum((a2 - yb) ** 2) / (2 * len(xb))
g = grad(loss)
best = 1e9
for _ in range(repeat):
    ps = [p.copy() for p in params]
    t = time.perf_counter()
    for k in range(0, len(x), 10):
        gs = g(ps, x[k:k + 10], y[k:k + 10])
        ps = [p - 3.0 * q for p, q in zip(ps, gs)]
    best = min(best, time.perf_counter() - t)
onp.savez(sys.argv[3], *ps)
print(json.dumps(best))
"""


def run_hips(folder: str, params: list[np.ndarray], x: np.ndarray, y: np.ndarray,
             repeat: int, tmp: Path) -> tuple[float, list[np.ndarray]] | None:
    """Time HIPS autograd in a child process with `folder` first on its path."""
    if not (Path(folder) / "autograd" / "numpy").is_dir():
        return None
    np.savez(tmp / "in.npz", x=x, y=y, **{f"p{i}": p for i, p in enumerate(params)})
    env = dict(os.environ, PYTHONPATH=folder)
    out = subprocess.run([sys.executable, "-c", HIPS_SCRIPT, str(tmp / "in.npz"), str(repeat),
                          str(tmp / "out.npz")], env=env, capture_output=True, text=True,
                         check=True, cwd=tmp)
    with np.load(tmp / "out.npz") as f:
        final = [f[f"arr_{i}"] for i in range(4)]
    return json.loads(out.stdout), final


def timed(fn, params, x, y, clock) -> tuple[float, list[np.ndarray]]:
    """One run's time on `clock`, and the weights it ended at."""
    t = clock()
    final = fn(params, x, y)
    return clock() - t, final


def contenders(skip_document: bool) -> list[tuple[str, Any, Any]]:
    """(row name, epoch function, dtype of the images it takes) in table order, after the
    floor."""
    from functools import partial

    from nn.compiled import FUSIONS

    rows = [("numpy hand-tuned (prealloc, fused)", epoch_numpy_tuned),
            ("deltagrad nn compiled", epoch_nn_compiled),
            ("deltagrad Tensor ops compiled", partial(epoch_tensor, compiled=True)),
            ("deltagrad nn eager (MLP, SGD)", epoch_nn),
            ("deltagrad Tensor ops eager", epoch_tensor),
            ("nn compiled, no fusion", partial(epoch_nn_compiled, fusions=False))]
    rows += [(f"nn compiled, only '{f}' fused", partial(epoch_nn_compiled, fusions=[f]))
             for f in FUSIONS]
    rows += [("numpy floor, float32", epoch_numpy_f32),
             ("numpy hand-tuned, float32", partial(epoch_numpy_tuned, dtype=np.float32)),
             ("deltagrad nn compiled, float32", partial(epoch_nn_compiled, dtype=np.float32))]
    for k, (name, fn) in enumerate(rows):  # float32 rows take the images in float32
        rows[k] = (name, fn, np.float32 if name.endswith("float32") else np.float64)
    try:
        import torch

        rows.append((f"PyTorch {torch.__version__} CPU", epoch_torch, np.float64))
    except ImportError:
        print("PyTorch not installed: its row is skipped")
    if not skip_document:
        rows.append(("document's per-example loop", epoch_document, np.float64))
    return rows


def gather_microseconds(x: np.ndarray, y: np.ndarray, n: int = 2000) -> tuple[float, float]:
    """µs per batch to gather 10 shuffled rows of x and y: x.take, then take into a buffer."""
    idx = np.random.default_rng(0).permutation(len(x))
    xb, yb = np.empty((BATCH, x.shape[1])), np.empty((BATCH, y.shape[1]))
    out = []
    for into in (False, True):
        t = time.perf_counter()
        for k in range(n):
            s = idx[(k * BATCH) % (len(x) - BATCH):][:BATCH]
            if into:
                np.take(x, s, axis=0, out=xb, mode="clip")  # "raise" would buffer the out
                np.take(y, s, axis=0, out=yb, mode="clip")
            else:
                x.take(s, axis=0)
                y.take(s, axis=0)
        out.append((time.perf_counter() - t) / n * 1e6)
    return out[0], out[1]


def train_numpy(data: Any, epochs: int, seed: int, dtype: Any) -> tuple[float, int]:
    """The document's training loop by hand (the floor's step), shuffled as nn.train shuffles:
    (training CPU seconds, best test count)."""
    from nn import MLP
    from nn.data import as_rng

    model = MLP(list(SIZES), seed=seed)
    w1, b1, w2, b2 = (t.data.astype(dtype) for la in model.layers for t in (la.weight, la.bias))
    x, y = data.train.images.astype(dtype), np.eye(10, dtype=dtype)[data.train.labels]
    rng, seconds, best = as_rng(seed), 0.0, 0
    with np.errstate(over="ignore"):  # float32's e⁻ᶻ overflows for z < −88 (σ is then 0)
        for _ in range(epochs):
            seconds, best = _numpy_epoch(x, y, (w1, b1, w2, b2), data, rng, seconds, best)
    return seconds, best


def _numpy_epoch(x: np.ndarray, y: np.ndarray, params: tuple[np.ndarray, ...], data: Any,
                 rng: np.random.Generator, seconds: float, best: int) -> tuple[float, int]:
    """One shuffled epoch of the floor's step, then the test count."""
    w1, b1, w2, b2 = params
    t = time.process_time()
    order = rng.permutation(len(x))
    for k in range(0, len(x), BATCH):
        idx = order[k:k + BATCH]
        xb, yb = x.take(idx, axis=0), y.take(idx, axis=0)
        _numpy_step(w1, b1, w2, b2, xb, yb)
    seconds += time.process_time() - t
    out = _sigmoid(_sigmoid(data.test.images @ w1.T + b1) @ w2.T + b2)
    best = max(best, int((out.argmax(1) == data.test.labels).sum()))
    return seconds, best


def train_deltagrad(data: Any, epochs: int, seed: int, dtype: Any,
                    compiled: bool = True, fuse: bool = False) -> tuple[float, int]:
    """nn.train, as `deltagrad train [--fuse]` runs it (its model and optimizer, built by
    the command's own code): (training CPU seconds, best test count)."""
    from nn.commands.train import PRESETS, build_model
    from nn.compiled import EXACT_FUSIONS
    from nn.train import train

    model, optimizer = build_model(dict(PRESETS["document"], seed=seed,
                                        dtype=np.dtype(dtype).name))
    history = train(model, optimizer, data.train, epochs=epochs,
                    batch_size=BATCH, test=data.test, seed=seed, log=None, progress=False,
                    compiled=compiled, fusions=True if fuse else EXACT_FUSIONS)
    return history.cpu_seconds, history.best().correct


def compare_training(folder: str | None, epochs: int, seeds: list[int]) -> None:
    """deltagrad train against the numpy loop, per seed and dtype, in one process."""
    import warnings

    from nn.data import load_mnist

    data = load_mnist(folder)
    total = len(data.test)
    print(f"{epochs} epochs of the document's training on {len(data.train)} images from "
          f"{data.source}; training CPU seconds, best test accuracy")
    print(f"{'run':32s} {'seed':>4s} {'seconds':>8s} {'x numpy f64':>11s} {'best':>14s}")
    for seed in seeds:
        floor = None
        for dtype in (np.float64, np.float32):
            base, base_best = train_numpy(data, epochs, seed, dtype)
            floor = floor or base
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a fallback from the compiled step is an error
                ours, best = train_deltagrad(data, epochs, seed, dtype)
                fused, fused_best = train_deltagrad(data, epochs, seed, dtype, fuse=True)
            name = np.dtype(dtype).name
            for run, t, b in ((f"numpy loop by hand, {name}", base, base_best),
                              (f"deltagrad train, {name}", ours, best),
                              (f"deltagrad train --fuse, {name}", fused, fused_best)):
                print(f"{run:32s} {seed:4d} {t:8.1f} {t / floor:11.2f} "
                      f"{b:6d} ({100 * b / total:.2f}%)", flush=True)


def print_table(rows: list[tuple[str, list[float], float]], floor: list[float]) -> None:
    """min and median seconds, their ratios to the floor's, and the median of the rounds'
    own ratios (each round's time over the floor's in that round: a burst of load elsewhere
    that spans a round cancels out of it)."""
    fmin, fmed = min(floor), float(np.median(floor))
    print(f"{'contender':36s} {'min s':>7s} {'median s':>9s} {'x floor min':>11s} "
          f"{'x floor med':>11s} {'x floor paired':>14s} {'max |W - W_floor|':>18s}")
    for name, times, err in rows:
        tmin, tmed = min(times), float(np.median(times))
        paired = (f"{float(np.median([t / f for t, f in zip(times, floor)])):14.2f}"
                  if len(times) == len(floor) else f"{'':14s}")
        print(f"{name:36s} {tmin:7.3f} {tmed:9.3f} {tmin / fmin:11.2f} {tmed / fmed:11.2f} "
              f"{paired} {err:18.1e}")


def main() -> None:
    import tempfile

    from threadpoolctl import threadpool_info

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="folder with the four MNIST IDX .gz files")
    ap.add_argument("--n", type=int, default=10_000, help="training images (default 10000)")
    ap.add_argument("--repeat", type=int, default=5, help="rounds per contender (default 5)")
    ap.add_argument("--hips", default=str(HERE / ".deps" / "hips"),
                    help="folder where HIPS autograd is installed (pip install --target)")
    ap.add_argument("--skip-document", action="store_true", help="skip the slow per-example loop")
    ap.add_argument("--train", type=int, metavar="EPOCHS",
                    help="compare whole training runs instead (see the module docstring)")
    ap.add_argument("--seeds", default="0", help="seeds for --train, comma-separated (0)")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="process CPU time (default: steadier on a shared machine) or wall time")
    args = ap.parse_args()
    for pool in threadpool_info():
        print(f"threadpool: {pool.get('internal_api')} {pool.get('version')} "
              f"threads={pool.get('num_threads')} ({pool.get('filepath')})")
    if args.train:
        compare_training(args.data, args.train, [int(s) for s in args.seeds.split(",")])
        return
    x, y = load(args.data, args.n)
    params = initial_weights()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    table = [("numpy by hand (floor)", epoch_numpy, np.float64),
             *contenders(args.skip_document)]
    # The images in each dtype, converted once (as nn.train converts them once a run), so
    # a float32 row times its epoch, not a conversion of the whole set.
    data = {dtype: (x.astype(dtype), y.astype(dtype)) for dtype in (np.float64, np.float32)}
    times: dict[str, list[float]] = {name: [] for name, _, _ in table}
    finals: dict[str, list[np.ndarray]] = {}
    # Rounds interleave the contenders, so a burst of load elsewhere hits them all alike.
    for _ in range(args.repeat):
        for name, fn, dtype in table:
            t, finals[name] = timed(fn, params, *data[dtype], clock)
            times[name].append(t)
    floor = finals["numpy by hand (floor)"]
    rows = [(name, times[name], max(float(np.abs(a - b).max())
                                    for a, b in zip(finals[name], floor)))
            for name, _, _ in table]
    floor_times = times["numpy by hand (floor)"]
    with tempfile.TemporaryDirectory() as tmp:
        hips = run_hips(args.hips, params, x, y, args.repeat, Path(tmp))
    if hips is None:
        print(f"HIPS autograd not found in {args.hips}: its row is skipped")
    else:
        rows.append(("HIPS autograd (best only)", [hips[0]],
                     max(float(np.abs(a - b).max()) for a, b in zip(hips[1], floor))))
    print(f"\none epoch, {len(x)} MNIST images, 784-30-10 sigmoid, quadratic cost, "
          f"SGD eta={ETA}, batch {BATCH}, one thread, {args.repeat} rounds, {args.clock} time")
    print_table(rows, floor_times)
    plain, into = gather_microseconds(x, y)
    print(f"\ngather of one shuffled batch: x.take {plain:.2f} us, into a buffer {into:.2f} us")


if __name__ == "__main__":
    main()
