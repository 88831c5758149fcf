"""nn.data: IDX parsing, the bundled subset, one-hot targets, seeded batching."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn.data import (
    FILES,
    MNISTFormatError,
    _read_subset,
    as_rng,
    batches,
    load_mnist,
    one_hot,
    read_idx,
)
from tests.conftest import FULL_MNIST

# ---- synthetic IDX files ------------------------------------------------------------------

def _images(n: int, rows: int = 28, cols: int = 28, magic: int = 2051) -> bytes:
    pixels = (np.arange(n * rows * cols) % 256).astype(np.uint8)
    return struct.pack(">IIII", magic, n, rows, cols) + pixels.tobytes()


def _labels(labels: list[int], magic: int = 2049) -> bytes:
    return struct.pack(">II", magic, len(labels)) + bytes(labels)


def _write(folder: Path, name: str, raw: bytes, compress: bool = True) -> Path:
    path = folder / name
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def _folder(tmp_path: Path, n_train: int = 5, n_test: int = 3, **override: bytes) -> Path:
    """A folder with the four MNIST files; `override` replaces a file's raw bytes by key."""
    raw = {"train_images": _images(n_train), "train_labels": _labels(list(range(n_train))),
           "test_images": _images(n_test), "test_labels": _labels([9] * n_test)}
    raw.update(override)
    for key, name in FILES.items():
        _write(tmp_path, name, raw[key])
    return tmp_path


def test_read_idx_images_and_labels(tmp_path):
    imgs = read_idx(_write(tmp_path, "i.gz", _images(4, 2, 3)))
    labs = read_idx(_write(tmp_path, "l.gz", _labels([3, 1, 4])))
    assert imgs.shape == (4, 2, 3) and imgs.dtype == np.uint8
    assert imgs.ravel().tolist() == list(range(24))
    assert labs.tolist() == [3, 1, 4]


def test_read_idx_accepts_uncompressed_files(tmp_path):
    path = _write(tmp_path, "labels", _labels([7, 7]), compress=False)
    assert read_idx(path).tolist() == [7, 7]


def test_load_folder_scales_and_flattens(tmp_path):
    data = load_mnist(_folder(tmp_path))
    assert data.train.images.shape == (5, 784) and data.test.images.shape == (3, 784)
    assert data.train.images.dtype == np.float64 and data.train.labels.dtype == np.int64
    assert data.train.images[0, 255] == 1.0 and data.train.images[0, 0] == 0.0
    assert data.train.labels.tolist() == [0, 1, 2, 3, 4] and len(data.test) == 3
    assert data.source == str(tmp_path)


_BAD = [
    ("train_images", _images(5, magic=2049), "magic number 2049"),
    ("test_labels", _labels([1, 2, 3], magic=1234), "magic number 1234"),
    ("train_images", _images(5)[:-10], "truncated"),
    ("train_labels", _labels([1, 2, 3, 4, 5]) + b"\0", "trailing bytes"),
    ("test_images", _images(3)[:12], "shorter than the 16-byte image header"),
    ("test_labels", b"\0\0", "shorter than an IDX header"),
    ("train_labels", _labels([1, 2, 3]), "holds 5 images but"),
    ("train_images", _images(5, 27, 28), "must be 28x28"),
    ("train_labels", _labels([1, 2, 3, 4, 10]), "a label is 10"),
]


@pytest.mark.parametrize("key, raw, message", _BAD, ids=[m for _, _, m in _BAD])
def test_bad_files_are_named(tmp_path, key, raw, message):
    folder = _folder(tmp_path, **{key: raw})
    with pytest.raises(MNISTFormatError, match=message) as info:
        load_mnist(folder)
    named = FILES[key] if message != "holds 5 images but" else FILES["train_images"]
    assert named in str(info.value)


def test_corrupt_gzip_is_named(tmp_path):
    folder = _folder(tmp_path)
    path = folder / FILES["train_labels"]
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(MNISTFormatError, match="corrupt or truncated gzip") as info:
        load_mnist(folder)
    assert FILES["train_labels"] in str(info.value)


def test_missing_file_and_folder(tmp_path):
    folder = _folder(tmp_path)
    (folder / FILES["test_images"]).unlink()
    with pytest.raises(FileNotFoundError, match=FILES["test_images"]):
        load_mnist(folder)
    with pytest.raises(FileNotFoundError, match="MNIST folder not found"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"absent\.gz"):
        read_idx(tmp_path / "absent.gz")


def test_bad_npz_is_named(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(MNISTFormatError, match=r"bad\.npz: corrupt"):
        _read_subset(bad, "test")
    partial = tmp_path / "partial.npz"
    np.savez(partial, train_images=np.zeros((1, 28, 28), np.uint8))
    missing = r"partial\.npz: missing arrays train_labels, test_images"
    with pytest.raises(MNISTFormatError, match=missing):
        _read_subset(partial, "test")


# ---- the bundled subset -------------------------------------------------------------------

def test_bundled_subset():
    data = load_mnist()
    assert data.train.images.shape == (10_000, 784) and data.test.images.shape == (2_000, 784)
    assert data.train.images.dtype == np.float64 and data.train.labels.dtype == np.int64
    assert data.train.images.min() == 0.0 and data.train.images.max() == 1.0
    assert set(np.unique(data.test.labels)) == set(range(10))
    # Every class is present in a realistic share (MNIST's smallest class is 5, about 9%).
    assert np.bincount(data.train.labels).min() > 800
    assert "bundled" in data.source


def test_bundled_file_is_small_and_documented():
    folder = Path(__file__).resolve().parents[2] / "nn" / "datasets"
    assert (folder / "mnist_subset.npz").stat().st_size <= 3 * 2**20
    readme = (folder / "README.md").read_text()
    assert "CC BY-SA 3.0" in readme and "LeCun" in readme and "Cortes" in readme


@pytest.mark.skipif(not FULL_MNIST.is_dir(), reason=f"full MNIST not at {FULL_MNIST}")
def test_bundled_subset_is_real_mnist():
    with np.load(Path(__file__).resolve().parents[2] / "nn" / "datasets"
                 / "mnist_subset.npz", allow_pickle=False) as z:
        idx, images, labels = z["test_index"], z["test_images"], z["test_labels"]
    full_images = read_idx(FULL_MNIST / FILES["test_images"])
    full_labels = read_idx(FULL_MNIST / FILES["test_labels"])
    assert np.array_equal(full_images[idx], images)
    assert np.array_equal(full_labels[idx], labels)


# ---- one-hot and batching -----------------------------------------------------------------

def test_one_hot_targets():
    assert one_hot(np.array([2, 0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]
    targets = load_mnist().test.one_hot()
    assert targets.shape == (2000, 10) and targets.sum(axis=1).tolist() == [1.0] * 2000
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.9 for 10 classes, got \[10\]"):
        one_hot(np.array([0, 10]), 10)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), seed=st.integers(0, 2**32))
def test_batches_cover_every_example_once(n, batch_size, seed):
    x = np.arange(n * 2).reshape(n, 2)
    y = np.arange(n)
    got = list(batches(x, y, batch_size, seed))
    assert [len(b[0]) for b in got[:-1]] == [batch_size] * (len(got) - 1)
    assert 1 <= len(got[-1][0]) <= batch_size
    order = np.concatenate([b[1] for b in got])
    assert sorted(order.tolist()) == list(range(n))
    for xb, yb in got:
        assert np.array_equal(xb[:, 0], 2 * yb)  # rows stay paired with their labels


def test_batches_are_deterministic_per_seed():
    x, y = np.arange(100).reshape(50, 2), np.arange(50)
    order = [np.concatenate([b[1] for b in batches(x, y, 7, s)]) for s in (1, 1, 2)]
    assert np.array_equal(order[0], order[1])
    assert not np.array_equal(order[0], order[2])
    plain = np.concatenate([b[1] for b in batches(x, y, 7)])
    assert plain.tolist() == list(range(50))
    rng = as_rng(3)
    first, second = (np.concatenate([b[1] for b in batches(x, y, 7, rng)]) for _ in range(2))
    assert not np.array_equal(first, second)  # one Generator: a fresh order every epoch


@pytest.mark.parametrize("args, message", [
    ((np.zeros((3, 2)), np.zeros(4), 2), "same number of examples, got 3 and 4"),
    ((np.zeros((3, 2)), np.zeros(3), 0), "batch size must be a positive integer, got 0"),
    ((np.zeros((3, 2)), np.zeros(3), 2, -1), "seed must be a non-negative integer, got -1"),
])
def test_batches_refuse_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        list(batches(*args))


@pytest.mark.skipif(not FULL_MNIST.is_dir(), reason=f"full MNIST not at {FULL_MNIST}")
def test_full_mnist_matches_the_published_facts():
    data = load_mnist(FULL_MNIST)
    assert data.train.images.shape == (60_000, 784) and data.test.images.shape == (10_000, 784)
    assert data.train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert data.test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert round(data.train.images[0].sum() * 255) == 27525
    assert np.bincount(data.test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958,
                                                      1028, 974, 1009]


# ---- one seed helper, one error type ----------------------------------------------------------

def test_every_bad_seed_in_nn_raises_the_one_seed_error():
    from nn import MLP, SGD, Linear, ScalarMLP
    from nn.data import Split
    from nn.init import SeedError, make_rng
    from nn.train import train

    data = Split(np.zeros((4, 784)), np.zeros(4, dtype=np.int64))
    model = MLP([784, 10], seed=0)
    misuses = [lambda: make_rng(-1), lambda: make_rng("a"), lambda: Linear(2, 3, seed=1.5),
               lambda: ScalarMLP([2, 1], seed=-2), lambda: list(batches(np.ones(3), np.ones(3),
                                                                         2, rng=-1)),
               lambda: train(model, SGD(model.parameters(), lr=1.0), data, epochs=1, seed="x",
                             log=None),
               lambda: MLP([2, 2], seed=1, rng=np.random.default_rng(1)),
               lambda: MLP([2, 2], rng=np.random.RandomState(0))]
    for misuse in misuses:
        with pytest.raises(SeedError):
            misuse()


def test_the_seed_helper_takes_a_generator_as_seed_or_rng_and_seeds_the_same_way():
    from nn.init import make_rng

    g = np.random.default_rng(5)
    assert make_rng(g) is g and make_rng(rng=g) is g
    assert make_rng(7).random() == np.random.default_rng(7).random()


def test_an_uncompressed_images_file_reads_from_byte_16(tmp_path):
    # images have a 16-byte header (magic, count, rows, cols); a size check that took it for
    # 8 bytes would call this well-formed file one with trailing bytes
    raw = _images(3, 4, 5)
    path = _write(tmp_path, "images-idx3-ubyte", raw, compress=False)
    got = read_idx(path)
    assert got.shape == (3, 4, 5)
    np.testing.assert_array_equal(got.ravel(), np.frombuffer(raw[16:], np.uint8))
    short = _write(tmp_path, "short-idx3-ubyte", raw[:-4], compress=False)
    with pytest.raises(MNISTFormatError, match=f"truncated: {len(raw) - 4} bytes, the header "
                                               rf"\(3, 4, 5\) promises {len(raw)}"):
        read_idx(short)
