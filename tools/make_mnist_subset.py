"""Build nn/datasets/mnist_subset.npz, the MNIST subset bundled with the package.

    python tools/make_mnist_subset.py --source ../shared/data/mnist
    python tools/make_mnist_subset.py --source ../shared/data/mnist --check

The subset is drawn from the four canonical IDX files: numpy's PCG64 generator seeded with
--seed picks --train training and --test test images without replacement, and they are kept
in their original order. The chosen indices are stored beside the pixels, so the file
documents itself. The .npz is written with fixed timestamps and maximum deflate, so the same
inputs give the same bytes; --check rebuilds the arrays and compares them with the file.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

from nn.data import FILES, read_idx

OUT = Path(__file__).resolve().parent.parent / "nn" / "datasets" / "mnist_subset.npz"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest zip timestamp: no build time in the file


def build(source: Path, n_train: int, n_test: int, seed: int) -> dict[str, np.ndarray]:
    """The subset's arrays: uint8 pixels (n, 28, 28), uint8 labels, and the chosen indices."""
    full = {key: read_idx(source / name) for key, name in FILES.items()}
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for part, n in (("train", n_train), ("test", n_test)):
        total = len(full[f"{part}_labels"])
        if not 0 < n <= total:
            raise SystemExit(f"--{part} must be between 1 and {total}, got {n}")
        idx = np.sort(rng.choice(total, size=n, replace=False))
        out[f"{part}_images"] = full[f"{part}_images"][idx]
        out[f"{part}_labels"] = full[f"{part}_labels"][idx]
        out[f"{part}_index"] = idx.astype(np.uint16)
    return out


def write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save `arrays` as a deflated .npz whose bytes depend only on the arrays."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_EPOCH)
            zf.writestr(info, buf.getvalue(), compress_type=zipfile.ZIP_DEFLATED,
                        compresslevel=9)
    tmp.replace(path)


def check(path: Path, arrays: dict[str, np.ndarray]) -> list[str]:
    """The names of the arrays in `path` that differ from `arrays` (empty when all agree)."""
    with np.load(path, allow_pickle=False) as z:
        stored = {key: z[key] for key in z.files}
    bad = [key for key, arr in arrays.items()
           if key not in stored or not np.array_equal(stored[key], arr)
           or stored[key].dtype != arr.dtype]
    return bad + sorted(set(stored) - set(arrays))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True,
                        help="folder with the four MNIST IDX .gz files")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--train", type=int, default=10_000)
    parser.add_argument("--test", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", action="store_true",
                        help="compare the arrays in --out with a fresh build instead of writing")
    args = parser.parse_args(argv)
    arrays = build(args.source, args.train, args.test, args.seed)
    if args.check:
        bad = check(args.out, arrays)
        print(f"{args.out}: " + (f"differs in {', '.join(bad)}" if bad else "matches the source"))
        return 1 if bad else 0
    write(args.out, arrays)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes, sha256 {digest})")
    for part in ("train", "test"):
        counts = np.bincount(arrays[f"{part}_labels"], minlength=10).tolist()
        print(f"  {part}: {len(arrays[f'{part}_labels'])} images, class counts {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
