"""MNIST: the four IDX files of the full set, a real subset bundled with the package, batching.

`load_mnist()` returns the bundled subset (10,000 training and 2,000 test images chosen from
the full set, see nn/datasets/README.md); `load_mnist(folder)` reads the four canonical IDX
files from a folder. Either way the images come as float64 rows of 784 pixels in [0, 1] and
the labels as integers 0-9, the layout the document's network is trained on.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO

import numpy as np

from nn._npz import MAX_RATIO, read_npz
from nn.init import make_rng
from nn.losses import one_hot

PIXELS = 28 * 28
CLASSES = 10
IMAGES_MAGIC = 2051  # 0x0803: unsigned bytes, 3 dimensions (count, rows, columns)
LABELS_MAGIC = 2049  # 0x0801: unsigned bytes, 1 dimension (count)
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
SUBSET = "mnist_subset.npz"
# A sane limit on what one file may declare: over five times the largest MNIST file (47 MB).
MAX_BYTES = 1 << 28
_MAGIC = {key: IMAGES_MAGIC if key.endswith("images") else LABELS_MAGIC for key in FILES}
_KIND = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}


class MNISTFormatError(ValueError):
    """An MNIST file that exists but is not what it should be (corrupt, truncated, wrong kind)."""


@dataclass(frozen=True)
class Split:
    """One part of the data set: `images` (n, 784) float64 in [0, 1], `labels` (n,) int64."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def one_hot(self) -> np.ndarray:
        """The labels as one-hot rows (n, 10): the targets of the quadratic cost."""
        return one_hot(self.labels, CLASSES)


@dataclass(frozen=True)
class MNIST:
    """The training and test splits, and where they came from (a folder or the bundled file)."""

    train: Split
    test: Split
    source: str


def load_mnist(folder: str | Path | None = None) -> MNIST:
    """The bundled subset (no argument), or the full set from the four IDX files in `folder`.

    A missing folder or file raises FileNotFoundError; a corrupt, truncated or mismatched file
    raises MNISTFormatError (a ValueError) naming the file and what is wrong with it.
    """
    if folder is None:
        return _load_bundled()
    folder = _path(folder, "load_mnist")
    if not folder.is_dir():
        raise FileNotFoundError(f"MNIST folder not found: {folder} (it should hold "
                                f"{', '.join(FILES.values())})")
    paths = {key: _find(folder, name) for key, name in FILES.items()}
    arrays = {key: read_idx(path, _MAGIC[key]) for key, path in paths.items()}
    where = {key: str(path) for key, path in paths.items()}
    return MNIST(train=_split(arrays, "train", where), test=_split(arrays, "test", where),
                 source=str(folder))


# ---- shuffling and batching ---------------------------------------------------------------

as_rng = make_rng  # the name nn.data gave the seed helper before nn.init.make_rng was the one


def batch_slices(n: int, batch_size: int) -> list[slice]:
    """The slices cutting n examples into consecutive mini-batches (the last may be smaller)."""
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) \
            or batch_size < 1:
        raise ValueError(f"batch size must be a positive integer, got {batch_size!r}")
    return [slice(k, min(k + batch_size, n)) for k in range(0, n, batch_size)]


Batch = tuple[np.ndarray, np.ndarray]


def batches(x: np.ndarray, y: np.ndarray, batch_size: int,
            rng: int | np.random.Generator | None = None) -> Iterator[Batch]:
    """Mini-batches (x_batch, y_batch) that together hold every example exactly once.

    The order is shuffled by `rng` (a Generator, or a seed: the same seed gives the same
    batches); rng=None keeps the examples in order.
    """
    if len(x) != len(y):
        raise ValueError(f"x and y must hold the same number of examples, got {len(x)} "
                         f"and {len(y)}")
    cuts = batch_slices(len(x), batch_size)
    if rng is None:
        for s in cuts:
            yield x[s], y[s]
        return
    order = make_rng(rng).permutation(len(x))
    for s in cuts:
        idx = order[s]
        yield x[idx], y[idx]


# ---- reading files ------------------------------------------------------------------------

def _path(path: object, who: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{who} needs a path (str or Path), got {type(path).__name__}")
    return Path(path)


def _find(folder: Path, name: str) -> Path:
    """The file `name` in folder, or its decompressed twin (same name without .gz)."""
    for path in (folder / name, folder / name.removesuffix(".gz")):
        if path.is_file():
            return path
    raise FileNotFoundError(f"MNIST file not found: {folder / name}")


def read_idx(path: str | Path, magic: int | None = None, max_bytes: int | None = None
             ) -> np.ndarray:
    """An MNIST IDX file (gzipped or not) as a uint8 array, every header field and size checked.

    Images come as (count, rows, columns), labels as (count,); `magic` (2051 or 2049) insists
    on one of the two. A missing file raises FileNotFoundError; a wrong magic number, a
    truncated body, trailing bytes, or a header declaring more than `max_bytes` (default
    MAX_BYTES) or more than the file can hold raise MNISTFormatError naming the file. Memory
    stays within what the header declares, whatever the file inflates to.
    """
    path = _path(path, "read_idx")
    if magic is not None and magic not in _KIND:
        raise ValueError(f"read_idx magic must be {IMAGES_MAGIC} (images), {LABELS_MAGIC} "
                         f"(labels) or None, got {magic!r}")
    limit = MAX_BYTES if max_bytes is None else max_bytes
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
        raise ValueError(f"read_idx max_bytes must be a non-negative int, got {max_bytes!r}")
    if not path.is_file():
        raise FileNotFoundError(f"MNIST file not found: {path}")
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rb") as f:
            shape, start = _idx_header(f, path, magic)
            body = math.prod(shape)  # Python ints: no overflow, whatever the header says
            _check_declared(path, shape, start + body, limit, gzipped)
            return _idx_body(f, path, shape, start, body).reshape(shape)
    except (OSError, EOFError, zlib.error) as e:
        raise MNISTFormatError(f"{path}: corrupt or truncated gzip data ({e})") from None


def _idx_header(f: IO[bytes], path: Path, magic: int | None) -> tuple[tuple[int, ...], int]:
    """The shape an IDX header declares, and the header's length."""
    head = f.read(8)
    if len(head) < 8:
        raise MNISTFormatError(f"{path}: truncated: {len(head)} bytes, shorter than an IDX "
                               "header")
    found, count = struct.unpack(">II", head)
    if magic is not None and found != magic:
        raise MNISTFormatError(f"{path}: magic number {found}, expected {magic} "
                               f"(MNIST {_KIND[magic]})")
    if found == LABELS_MAGIC:
        return (count,), 8
    if found != IMAGES_MAGIC:
        raise MNISTFormatError(f"{path}: not an MNIST IDX file: magic number {found}, expected "
                               f"{IMAGES_MAGIC} (images) or {LABELS_MAGIC} (labels)")
    dims = f.read(8)
    if len(dims) < 8:
        raise MNISTFormatError(f"{path}: truncated: {8 + len(dims)} bytes, shorter than the "
                               "16-byte image header")
    return (count, *struct.unpack(">II", dims)), 16


def _check_declared(path: Path, shape: tuple[int, ...], expected: int, limit: int,
                    gzipped: bool) -> None:
    """Refuse, before allocating, a declared size over the limit or beyond what the file holds:
    its own size, or what deflate can inflate its bytes to."""
    size = path.stat().st_size
    if expected > limit:
        raise MNISTFormatError(f"{path}: the header {shape} declares {expected} bytes, more "
                               f"than the limit of {limit} (read_idx's max_bytes)")
    if not gzipped and size != expected:
        what = "truncated" if size < expected else "has trailing bytes"
        raise MNISTFormatError(f"{path}: {what}: {size} bytes, the header {shape} promises "
                               f"{expected}")
    if gzipped and expected > MAX_RATIO * size + 4096:
        raise MNISTFormatError(f"{path}: the header {shape} declares {expected} bytes, more "
                               f"than {size} gzipped bytes can hold")


def _idx_body(f: IO[bytes], path: Path, shape: tuple[int, ...], start: int, body: int
              ) -> np.ndarray:
    """The `body` bytes of pixels or labels after the header, read in chunks into one array,
    and nothing after them."""
    out = np.empty(body, np.uint8)
    view = memoryview(out)
    pos = 0
    expected = start + body
    while pos < body:
        got = f.readinto(view[pos:pos + (1 << 20)])
        if not got:
            raise MNISTFormatError(f"{path}: truncated: {start + pos} bytes, the header {shape} "
                                   f"promises {expected}")
        pos += got
    if f.read(1):
        raise MNISTFormatError(f"{path}: has trailing bytes: more than the {expected} bytes "
                               f"the header {shape} promises")
    return out


def _split(arrays: dict[str, np.ndarray], part: str, where: dict[str, str]) -> Split:
    """The checked, scaled Split for `part` ("train" or "test") from raw uint8 arrays.

    `where` names the origin of each array (a file, or an entry of the bundled file).
    """
    ki, kl = f"{part}_images", f"{part}_labels"
    images, labels = arrays[ki], arrays[kl]
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise MNISTFormatError(f"{where[ki]}: pixels and labels must be uint8, got "
                               f"{images.dtype} and {labels.dtype}")
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise MNISTFormatError(f"{where[ki]}: images must be 28x28, got shape {images.shape}")
    if labels.ndim != 1:
        raise MNISTFormatError(f"{where[kl]}: labels must be 1-D, got shape {labels.shape}")
    if len(images) != len(labels):
        raise MNISTFormatError(f"{where[ki]} holds {len(images)} images but {where[kl]} "
                               f"holds {len(labels)} labels")
    if labels.size and labels.max() >= CLASSES:
        raise MNISTFormatError(f"{where[kl]}: a label is {labels.max()}, digits are 0-9")
    x = images.reshape(len(images), PIXELS).astype(np.float64)
    x /= 255.0
    return Split(images=x, labels=labels.astype(np.int64))


def _load_bundled() -> MNIST:
    """The subset shipped in nn/datasets (uint8, compressed), checked like the IDX files."""
    with resources.as_file(resources.files("nn") / "datasets" / SUBSET) as path:
        if not path.is_file():
            raise FileNotFoundError(f"the bundled MNIST subset is missing: {path}")
        return _read_subset(path, f"bundled subset ({path.name})")


def _read_subset(path: Path, source: str) -> MNIST:
    """An .npz holding the four uint8 arrays under the keys of FILES."""
    arrays = read_npz(path, MAX_BYTES, MNISTFormatError, "MNIST .npz file")
    missing = [key for key in FILES if key not in arrays]
    if missing:
        raise MNISTFormatError(f"{path}: missing arrays {', '.join(missing)}")
    where = {key: f"{path} [{key}]" for key in FILES}
    return MNIST(train=_split(arrays, "train", where), test=_split(arrays, "test", where),
                 source=source)
