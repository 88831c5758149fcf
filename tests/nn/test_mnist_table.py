"""benchmarks/mnist_table.py, the script behind the README's full-MNIST table: its rows, and a
short run on a small folder of IDX files."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from nn.data import FILES
from tests.conftest import load_script

table = load_script("benchmarks/mnist_table.py")


def _folder(tmp_path: Path, n_train: int = 40, n_test: int = 20) -> Path:
    """The four IDX files: random images, labels 0-9 in turn."""
    rng = np.random.default_rng(0)
    for key, n in (("train", n_train), ("test", n_test)):
        pixels = rng.integers(0, 256, n * 784, dtype=np.uint8).tobytes()
        images = struct.pack(">IIII", 2051, n, 28, 28) + pixels
        labels = struct.pack(">II", 2049, n) + bytes(i % 10 for i in range(n))
        (tmp_path / FILES[f"{key}_images"]).write_bytes(gzip.compress(images))
        (tmp_path / FILES[f"{key}_labels"]).write_bytes(gzip.compress(labels))
    return tmp_path


def _run(preset, seed, best, seconds, first=None, epochs=30):
    return table.Run(preset, seed, epochs, best, 5, first, seconds)


def test_rows_in_the_readme_form():
    doc = [_run("document", s, b, t) for s, b, t in
           [(0, 0.9536, 35.2), (1, 0.9532, 33.4), (2, 0.9554, 38.0), (3, 0.9540, 36.0)]]
    nielsen = [_run("nielsen", 0, 0.9811, 173.4, first=41, epochs=60)]
    assert table.row(doc) == ("| document's network, 30 epochs, seeds 0-3 | 95.32-95.54% "
                              "(seed 0: 95.36%) | 33-38 s |")
    assert table.row(nielsen) == ("| `--preset nielsen`, 60 epochs, seed 0 | 98.11% "
                                  "(first ≥ 98% at epoch 41) | 173 s |")
    assert table.table([doc, []]).splitlines()[0] == "| run | best test accuracy | training time |"


def test_a_short_run_on_a_folder_of_idx_files(tmp_path, capsys):
    (tmp_path / "mnist").mkdir()
    folder = _folder(tmp_path / "mnist")
    out = tmp_path / "runs.json"
    assert table.main(["--data", str(folder), "--seeds", "0,1", "--nielsen-seeds", "2",
                       "--epochs", "2", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.count("Epoch 1: ") == 3
    assert "| document's network, 2 epochs, seeds 0-1 |" in text
    assert "| `--preset nielsen`, 2 epochs, seed 2 |" in text
    runs = json.loads(out.read_text())
    assert [(r["preset"], r["seed"]) for r in runs] == [("document", 0), ("document", 1),
                                                        ("nielsen", 2)]
    assert all(0 <= r["best"] <= 1 and r["epochs"] == 2 for r in runs)


def test_same_seed_same_figures(tmp_path):
    data = table.load_mnist(_folder(tmp_path))
    a, b = (table.run("document", 3, data, 1, log=None) for _ in range(2))
    assert (a.best, a.best_epoch) == (b.best, b.best_epoch)


@pytest.mark.parametrize("args, message", [
    (["--seeds", "0,x"], "comma-separated integers"),
    (["--seeds", "-1"], "zero or positive"),
    (["--data", "/no/such/folder"], "no such folder"),
])
def test_bad_options_are_named(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit):
        table.main(["--data", str(tmp_path), *args])
    assert message in capsys.readouterr().err
