"""`deltagrad train`: runs, outputs, presets, reproducibility and one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nn import MLP
from nn.cli import build_parser, main
from nn.commands.train import NIELSEN_DECAY, config
from tests.conftest import FULL_MNIST

QUICK = ["train", "--epochs", "1", "--train-limit", "300"]


def _run(capsys, *extra: str) -> tuple[int, str, str]:
    status = main([*QUICK, *extra])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_quick_run_prints_the_documents_lines(capsys, tmp_path):
    status, out, err = _run(capsys, "--epochs", "2", "--json", str(tmp_path / "h.json"),
                            "--save", str(tmp_path / "w.npz"))
    assert status == 0 and err == ""
    epochs = re.findall(r"^Epoch (\d+): (\d+) / 2000$", out, flags=re.MULTILINE)
    assert [e for e, _ in epochs] == ["0", "1"]
    history = json.loads((tmp_path / "h.json").read_text())
    assert history["config"]["sizes"] == [784, 30, 10] and history["config"]["lr"] == 3.0
    assert [e["correct"] for e in history["epochs"]] == [int(c) for _, c in epochs]
    assert history["best"]["correct"] == max(int(c) for _, c in epochs)
    model = MLP([784, 30, 10]).load(tmp_path / "w.npz")
    assert model.layers[0].weight.shape == (30, 784)


def _weights(capsys, tmp_path: Path, seed: str) -> dict[str, np.ndarray]:
    path = tmp_path / f"w{seed}-{len(list(tmp_path.iterdir()))}.npz"
    assert _run(capsys, "--sizes", "784,12,10", "--seed", seed, "--save", str(path))[0] == 0
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def test_same_seed_same_weights_bit_for_bit(capsys, tmp_path):
    first, again = _weights(capsys, tmp_path, "7"), _weights(capsys, tmp_path, "7")
    other = _weights(capsys, tmp_path, "8")
    assert first.keys() == again.keys() and len(first) == 4
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not any(np.array_equal(first[k], other[k]) for k in first)


def test_options_reach_the_model(capsys):
    status, out, _ = _run(capsys, "--sizes", "784,16,8,10", "--loss", "cross_entropy",
                          "--optimizer", "momentum", "--lr", "0.1", "--activation", "relu",
                          "--init", "he", "--batch-size", "25")
    assert status == 0
    assert "784-16-8-10 (relu, cross_entropy, momentum lr=0.1, batch 25, init he" in out
    assert re.search(r"^Epoch 0: \d+ / 2000$", out, flags=re.MULTILINE)


def test_presets_and_overrides():
    parser = build_parser()
    nielsen = config(parser.parse_args(["train", "--preset", "nielsen", "--lr", "0.2"]))
    assert nielsen["sizes"] == [784, 100, 10] and nielsen["init"] == "nielsen"
    assert nielsen["lr"] == 0.2 and nielsen["epochs"] == 60 and nielsen["loss"] == "bce"
    assert nielsen["weight_decay"] == NIELSEN_DECAY == 1e-4
    document = config(parser.parse_args(["train"]))
    assert (document["sizes"], document["loss"], document["optimizer"], document["lr"],
            document["batch_size"], document["epochs"], document["init"]) == (
        [784, 30, 10], "mse", "sgd", 3.0, 10, 30, "normal")


@pytest.mark.parametrize("options, message", [
    (["--sizes", "784,thirty,10"], "--sizes must be comma-separated integers"),
    (["--sizes", "100,30,10"], "--sizes must start with 784 (28x28 MNIST pixels), got 100"),
    (["--sizes", "784,30,5"], "--sizes must end with 10 (the digits 0-9), got 5"),
    (["--sizes", "784"], "--sizes needs at least two positive widths"),
    (["--lr", "0"], "--lr must be a positive number, got 0"),
    (["--lr", "-3"], "--lr must be a positive number, got -3"),
    (["--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["--weight-decay", "-1"], "--weight-decay must be zero or positive"),
    (["--threads", "0"], "--threads must be at least 1, got 0"),
    (["--train-limit", "99999"], "--train-limit 99999 is more than the 10000 training images"),
    (["--data", "/no/such/folder"], "--data /no/such/folder: no such folder"),
    (["--save", "/no/such/folder/w.npz"], "--save /no/such/folder/w.npz: folder /no/such/folder "
                                          "does not exist"),
])
def test_bad_options_give_one_line(capsys, options, message):
    status, out, err = _run(capsys, *options)
    assert status == 2 and out == ""
    assert err.startswith(f"deltagrad train: error: {message}")
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("options, message", [
    (["--epochs", "abc"], "argument --epochs: invalid int value: 'abc'"),
    (["--loss", "hinge"], "argument --loss: invalid choice: 'hinge'"),
])
def test_unparsable_options_give_one_line(capsys, options, message):
    with pytest.raises(SystemExit) as exit_:
        main([*QUICK, *options])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and err.count("\n") == 1


def test_output_path_that_is_a_folder(capsys, tmp_path):
    status, out, err = _run(capsys, "--json", str(tmp_path))
    assert status == 2 and out == ""
    assert err == f"deltagrad train: error: --json {tmp_path} is a folder; give a file name\n"


def test_folder_without_mnist_files_names_the_file(capsys, tmp_path):
    status, _, err = _run(capsys, "--data", str(tmp_path))
    assert status == 2 and "train-images-idx3-ubyte.gz" in err and err.count("\n") == 1


def test_plot_without_matplotlib_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    status, out, err = _run(capsys, "--plot", str(tmp_path / "c.png"))
    assert status == 2 and out == ""
    assert err == "deltagrad train: error: --plot needs matplotlib: pip install " \
                  "'deltagrad[plot]'\n"


def test_plot_draws_an_image(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    status, _, _ = _run(capsys, "--plot", str(tmp_path / "c.png"))
    assert status == 0
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_python_dash_m_nn_train(tmp_path):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "nn", *QUICK, "--sizes", "784,10"],
                          capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^Epoch 0: \d+ / 2000$", done.stdout, flags=re.MULTILINE)
    bad = subprocess.run([sys.executable, "-m", "nn", "train", "--lr", "nan"],
                         capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr == "deltagrad train: error: --lr must be a positive number, got nan\n"


@pytest.mark.skipif(not FULL_MNIST.is_dir(), reason=f"full MNIST not at {FULL_MNIST}")
def test_full_mnist_folder(capsys):
    status, out, _ = _run(capsys, "--data", str(FULL_MNIST), "--train-limit", "2000", "--init",
                          "nielsen")
    assert status == 0
    correct = int(re.search(r"^Epoch 0: (\d+) / 10000$", out, flags=re.MULTILINE).group(1))
    assert correct > 6000


def test_training_runs_with_one_blas_thread_by_default(capsys, monkeypatch):
    """Mini-batches of 10 gain nothing from BLAS threads, and on a busy machine extra threads
    slow training down severalfold, so `deltagrad train` limits BLAS to --threads (1)."""
    from threadpoolctl import threadpool_info

    import nn.train

    seen = []
    original = nn.train.train

    def spy(*args, **kwargs):
        seen.append([p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"])
        return original(*args, **kwargs)

    monkeypatch.setattr(nn.train, "train", spy)
    assert _run(capsys)[0] == 0
    if not seen[0]:
        pytest.skip("threadpoolctl finds no BLAS library in this numpy build")
    assert all(n == 1 for n in seen[0])
