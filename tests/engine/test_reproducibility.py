"""Reproducibility: one seed, one result, bit for bit: within a process, across processes, and
whatever order Python hashes strings (PYTHONHASHSEED) or lays out objects in memory (which
moves every id-keyed dict and set)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from autograd import Tensor
from nn import MLP, SGD, ScalarMLP, mse_loss
from nn.data import Split
from nn.train import train

ROOT = Path(__file__).resolve().parents[2]
HASH_SEEDS = ("0", "1", "4242")


def _run_all(commands: list[list[str]], seeds: tuple[str, ...], cwd: Path) -> list[str]:
    """Run each command under its PYTHONHASHSEED, all at once; their stdout, in order."""
    procs = []
    for command, seed in zip(commands, seeds):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT),
               "OPENBLAS_NUM_THREADS": "1"}
        procs.append(subprocess.Popen(command, env=env, cwd=cwd, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outs.append(out)
    return outs


def _arrays(path: Path) -> dict[str, bytes]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k].tobytes() for k in z.files}


def test_deltagrad_train_is_bit_identical_across_processes(tmp_path):
    commands = [[sys.executable, "-m", "nn", "train", "--train-limit", "300", "--epochs", "2",
                 "--sizes", "784,16,10", "--seed", "3", "--save", f"w{i}.npz", "--json",
                 f"h{i}.json"] for i in range(2)]
    _run_all(commands, HASH_SEEDS[:2], tmp_path)
    first, second = _arrays(tmp_path / "w0.npz"), _arrays(tmp_path / "w1.npz")
    assert first.keys() == second.keys() and len(first) == 4
    assert first == second
    histories = [json.loads((tmp_path / f"h{i}.json").read_text()) for i in range(2)]
    runs = [[(e["loss"], e["correct"]) for e in h["epochs"]] for h in histories]
    assert runs[0] == runs[1] and len(runs[0]) == 2


# Gradients of graphs with fan-out and shared nodes (what a dict or set walk could reorder),
# printed exactly: hex floats for Values, a digest of the bytes for arrays.
GRADIENTS = textwrap.dedent("""
    import hashlib
    import numpy as np
    from autograd import Tensor, Value, grad, hessian
    from nn import MLP, ScalarMLP, cross_entropy, mse_loss

    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((16, 5)), rng.integers(0, 3, 16)
    model = MLP([5, 7, 3], activation="tanh", output_activation=None, seed=1)
    cross_entropy(model(x), labels).backward()
    digest = hashlib.sha256()
    for p in model.parameters():
        digest.update(p.grad.tobytes())
    print(digest.hexdigest())

    net = ScalarMLP([3, 4, 2], seed=2)
    out = net([0.3, -1.2, 0.7])
    loss = sum((o - t) ** 2 for o, t in zip(out, (1.0, 0.0)))
    loss.backward()
    print(" ".join(float(p.grad).hex() for p in net.parameters()))

    w = Tensor(rng.standard_normal((4, 4)), requires_grad=True)
    shared = w.tanh()
    y = ((shared @ shared) * shared + shared.T).sum() + mse_loss(shared, np.eye(4))
    y.backward()
    print(hashlib.sha256(w.grad.tobytes()).hexdigest())
    h = hessian(lambda v: ((v * v).sum() * v.sin()).sum())(rng.standard_normal(4))
    print(hashlib.sha256(np.asarray(h).tobytes()).hexdigest())
""")


def test_gradients_do_not_depend_on_hash_order_or_memory_layout(tmp_path):
    outs = _run_all([[sys.executable, "-c", GRADIENTS]] * 3, HASH_SEEDS, tmp_path)
    assert len(outs[0].splitlines()) == 4
    assert outs[0] == outs[1] == outs[2]


def test_the_same_seed_gives_the_same_weights_and_outputs():
    x = np.random.default_rng(5).standard_normal((6, 4))
    a, b = MLP([4, 8, 3], seed=11), MLP([4, 8, 3], seed=11)
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))
    assert np.array_equal(a(x).data, b(x).data)
    # The scalar twin draws the very same numbers; it lists each neuron's weights, then its bias.
    scalar = ScalarMLP([4, 8, 3], seed=11)
    theirs = [float(v) for la in a.layers
              for row, b in zip(la.weight.data, la.bias.data) for v in (*row, b)]
    assert [p.data for p in scalar.parameters()] == theirs


def test_training_twice_in_one_process_is_bit_identical():
    rng = np.random.default_rng(0)
    data = Split(rng.random((60, 784)), rng.integers(0, 10, 60))
    results = []
    for _ in range(2):
        model = MLP([784, 12, 10], output_activation=None, seed=4)
        history = train(model, SGD(model.parameters(), lr=0.5, momentum=0.9), data, epochs=2,
                        batch_size=7, loss="cross_entropy", seed=9, log=None, progress=False)
        results.append(([p.data.tobytes() for p in model.parameters()], history.loss))
    assert results[0] == results[1]


def test_gradients_accumulate_in_the_same_order_every_time():
    # Many paths into one leaf: the sum of their gradients is formed in creation order, so
    # repeated runs agree to the last bit, not just to rounding.
    rng = np.random.default_rng(1)
    data = rng.standard_normal((5, 5)) * 1e3
    grads = []
    for _ in range(3):
        w = Tensor(data, requires_grad=True)
        parts = [(w * float(k)).sin() for k in range(1, 40)]
        total = parts[0]
        for part in parts[1:]:
            total = total + part * parts[0]
        (total.sum() + mse_loss(w, np.zeros((5, 5)))).backward()
        grads.append(w.grad.tobytes())
    assert grads[0] == grads[1] == grads[2]
