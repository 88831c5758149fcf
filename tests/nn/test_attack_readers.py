"""Hostile files against every reader: bombs, lying headers, sparse giants, pickles in disguise.

Each reader must answer with its format's error naming the file, within bounded memory. The
memory bound is tested for real: the reader runs in a subprocess whose address space is
limited (RLIMIT_AS), where reading what a bomb inflates to would raise MemoryError.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nn import MLP, CheckpointError
from nn.data import FILES, MAX_BYTES, MNISTFormatError, _read_subset, load_mnist, read_idx

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 1 << 30  # 1 GiB of address space for the reader under attack
resource = pytest.importorskip("resource", reason="RLIMIT_AS needs the POSIX resource module")

# ---- building hostile files ----------------------------------------------------------------


def _image_header(count: int, rows: int = 28, cols: int = 28) -> bytes:
    return struct.pack(">IIII", 2051, count, rows, cols)


def _label_header(count: int) -> bytes:
    return struct.pack(">II", 2049, count)


def _gzip_bomb(path: Path, head: bytes, gib: int = 3) -> Path:
    """A gzip file starting with `head` that inflates to `gib` GiB more of zeros, written as
    repeated gzip members (each 64 MiB of zeros) so building it takes well under a second."""
    zeros = gzip.compress(b"\0" * (64 << 20), compresslevel=9)
    with open(path, "wb") as f:
        f.write(gzip.compress(head))
        for _ in range(gib * 16):
            f.write(zeros)
    return path


def _npy_member(shape: tuple[int, ...], dtype: str = "<f8", body: bytes = b"") -> bytes:
    """A .npy file whose header declares `shape` but which holds only `body`."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": dtype, "fortran_order": False,
                                               "shape": shape})
    return out.getvalue() + body


def _npz(path: Path, members: dict[str, bytes],
         compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name + ".npy", data)
    return path


def _run_limited(code: str) -> str:
    """Run `code` in a fresh interpreter limited to LIMIT bytes of address space; its output."""
    prelude = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({LIMIT}, {LIMIT}))
        try:
    """)
    body = textwrap.indent(textwrap.dedent(code), "    ")
    tail = "\nexcept BaseException as e:\n    print('RAISED', type(e).__name__, e)\n"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", prelude + body + tail], env=env,
                          capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


# ---- the bombs, under a memory limit --------------------------------------------------------


@pytest.fixture(scope="module")
def image_bomb(tmp_path_factory) -> Path:
    """10 declared images, then 3 GiB of zeros: 3 MB on disk."""
    path = tmp_path_factory.mktemp("bomb") / FILES["train_images"]
    return _gzip_bomb(path, _image_header(10) + bytes(10 * 784))


def test_the_gzip_bomb_is_real_an_unbounded_read_runs_out_of_memory(image_bomb):
    assert image_bomb.stat().st_size < 4 << 20
    out = _run_limited(f"""
        import gzip
        data = gzip.open({str(image_bomb)!r}).read()
        print('READ', len(data))
    """)
    assert "RAISED MemoryError" in out, out


def test_a_gzip_bomb_after_a_small_header_is_trailing_data(image_bomb):
    out = _run_limited(f"""
        from nn.data import read_idx
        read_idx({str(image_bomb)!r})
    """)
    assert "RAISED MNISTFormatError" in out and "trailing bytes" in out, out
    assert FILES["train_images"] in out


def test_a_gzip_bomb_under_an_honest_large_header_reads_only_what_is_declared(tmp_path):
    """60,000 images declared (47 MB), 3 GiB inflated: the header's size is read, no more."""
    path = _gzip_bomb(tmp_path / "big.gz", _image_header(60000) + bytes(60000 * 784))
    out = _run_limited(f"""
        from nn.data import read_idx
        read_idx({str(path)!r})
    """)
    assert "RAISED MNISTFormatError" in out and "trailing bytes" in out, out


def test_an_npz_member_declaring_a_huge_shape_is_refused_before_allocating(tmp_path):
    path = _npz(tmp_path / "bomb.npz", {"train_images": _npy_member((1 << 40,), "|u1")})
    control = _run_limited(f"""
        import numpy as np
        np.load({str(path)!r})['train_images']
    """)
    assert "RAISED" in control and "MNISTFormatError" not in control  # numpy itself gives up
    out = _run_limited(f"""
        from pathlib import Path
        from nn.data import _read_subset
        _read_subset(Path({str(path)!r}), 'test')
    """)
    assert "RAISED MNISTFormatError" in out and "bomb.npz" in out and "declares" in out, out


def test_a_checkpoint_member_declaring_a_huge_shape_is_refused(tmp_path):
    huge = _npy_member((1 << 31, 1 << 31))
    path = _npz(tmp_path / "ckpt.npz", {"layers.0.weight": huge})
    out = _run_limited(f"""
        from nn import MLP
        MLP([2, 3, 1], seed=0).load({str(path)!r})
    """)
    assert "RAISED CheckpointError" in out and "ckpt.npz" in out and "allowed" in out, out


def test_a_deflated_checkpoint_member_that_inflates_beyond_the_model_is_refused(tmp_path):
    """A real array of 2**24 zeros (128 MiB of float64, 128 kB compressed): no 2-3-1 model
    holds that much, so it is refused from its header, before a byte of it is inflated."""
    body = _npy_member((1 << 24,))
    path = tmp_path / "zeros.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, \
            z.open("layers.0.weight.npy", "w", force_zip64=True) as f:
        f.write(body)
        chunk = bytes(1 << 24)
        for _ in range(8):
            f.write(chunk)
    assert path.stat().st_size < 4 << 20
    out = _run_limited(f"""
        from nn import MLP
        MLP([2, 3, 1], seed=0).load({str(path)!r})
    """)
    assert "RAISED CheckpointError" in out and "zeros.npz" in out, out


# ---- lying headers, without a memory limit (they fail before reading anything) ---------------


@pytest.mark.parametrize("count, rows, cols", [
    (1 << 31, 1 << 31, 1), ((1 << 32) - 1, (1 << 32) - 1, (1 << 32) - 1), (1 << 20, 28, 28 * 16),
])
def test_idx_headers_declaring_more_than_the_limit_are_refused(tmp_path, count, rows, cols):
    path = tmp_path / "h.gz"
    path.write_bytes(gzip.compress(_image_header(count, rows, cols)))
    with pytest.raises(MNISTFormatError, match=r"h\.gz: the header .* declares \d+ bytes, more "
                                               "than the limit"):
        read_idx(path)


def test_the_idx_limit_can_be_raised_or_lowered(tmp_path):
    path = tmp_path / "l.gz"
    path.write_bytes(gzip.compress(_label_header(100) + bytes(100)))
    with pytest.raises(MNISTFormatError, match="limit of 50"):
        read_idx(path, max_bytes=50)
    assert read_idx(path, max_bytes=MAX_BYTES).shape == (100,)


def test_a_gzip_header_declaring_more_than_deflate_can_hold_is_refused(tmp_path):
    """1,000 images declared in a 60-byte file: deflate cannot inflate 60 bytes to 784,016."""
    path = tmp_path / "small.gz"
    path.write_bytes(gzip.compress(_image_header(1000)))
    assert path.stat().st_size < 100
    with pytest.raises(MNISTFormatError, match="gzipped bytes can hold"):
        read_idx(path)


def test_a_sparse_3_gib_raw_idx_file_is_refused_from_its_size(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    with open(path, "wb") as f:
        f.write(_label_header(10) + bytes(10))
        f.truncate(3 << 30)  # sparse: no disk used, and reading it would take 3 GiB
    out = _run_limited(f"""
        from nn.data import read_idx
        read_idx({str(path)!r})
    """)
    assert "RAISED MNISTFormatError" in out and "trailing bytes: 3221225472 bytes" in out, out


def test_a_raw_idx_file_declaring_its_own_3_gib_size_is_over_the_limit(tmp_path):
    path = tmp_path / "labels"
    with open(path, "wb") as f:
        f.write(_label_header((3 << 30) - 8))
        f.truncate(3 << 30)
    with pytest.raises(MNISTFormatError, match="more than the limit"):
        read_idx(path)


def test_an_npz_member_whose_header_disagrees_with_the_archive_is_refused(tmp_path):
    path = _npz(tmp_path / "lie.npz", {"train_images": _npy_member((10, 28, 28), "|u1", b"12")})
    with pytest.raises(MNISTFormatError, match=r"lie\.npz.*declares shape \(10, 28, 28\)"):
        _read_subset(path, "test")


def test_an_npz_member_of_strings_or_structs_is_refused(tmp_path):
    words = _npz(tmp_path / "words.npz", {"train_images": _npy_member((1,), "<U3", bytes(12))})
    with pytest.raises(MNISTFormatError, match=r"words\.npz.*<U3 data, not real numbers"):
        _read_subset(words, "test")
    path = tmp_path / "struct.npz"
    np.savez(path, **{"layers.0.weight": np.zeros(2, dtype=[("a", "<f8")])})
    with pytest.raises(CheckpointError, match=r"struct\.npz.*not real numbers"):
        MLP([2, 3, 1], seed=0).load(path)


def test_a_non_npy_member_is_refused(tmp_path):
    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match=r"odd\.npz: member 'readme\.txt' is not"):
        MLP([2, 3, 1], seed=0).load(path)


def test_a_corrupted_member_fails_its_checksum(tmp_path):
    path = tmp_path / "flip.npz"
    model = MLP([2, 3, 1], seed=0)
    np.savez(path, **model.state_dict())  # stored, not deflated: bytes sit in the file as is
    raw = bytearray(path.read_bytes())
    at = raw.index(b"\x93NUMPY") + 130  # inside the first member's data, past its header
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"flip\.npz: corrupt or not a deltagrad \.npz "
                                              "checkpoint"):
        model.load(path)


def test_a_non_checkpoint_is_named_as_such_without_mentioning_pickles(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("just some words")
    with pytest.raises(CheckpointError) as info:
        MLP([2, 3, 1], seed=0).load(path)
    assert "not a deltagrad .npz checkpoint" in str(info.value)
    assert "pickle" not in str(info.value)


def test_honest_files_still_load(tmp_path):
    model = MLP([2, 3, 1], seed=0)
    fortran = {k: np.asfortranarray(v) for k, v in model.state_dict().items()}
    path = tmp_path / "f.npz"
    np.savez_compressed(path, **fortran)
    other = MLP([2, 3, 1], seed=1).load(path)
    assert all(np.array_equal(p.data, fortran[n]) for n, p in other.named_parameters())
    np.savez(path, **{k: v.astype(">f8") for k, v in model.state_dict().items()})
    other = MLP([2, 3, 1], seed=1).load(path)  # big-endian data, read as numpy reads it
    assert all(np.array_equal(p.data, q.data) for p, q in zip(model.parameters(),
                                                             other.parameters()))
    assert len(load_mnist().train) == 10000


def test_a_sparse_3_gib_file_behind_a_real_checkpoint_is_not_read(tmp_path):
    path = tmp_path / "padded.npz"
    MLP([2, 3, 1], seed=0).save(path)
    with open(path, "r+b") as f:
        f.truncate(3 << 30)  # the zip's directory is no longer at the end
    out = _run_limited(f"""
        from nn import MLP
        MLP([2, 3, 1], seed=0).load({str(path)!r})
    """)
    assert "RAISED CheckpointError" in out and "not a deltagrad .npz checkpoint" in out, out


def test_garbage_after_the_gzip_stream_is_named(tmp_path):
    path = tmp_path / "tail.gz"
    path.write_bytes(gzip.compress(_label_header(3) + bytes(3)) + b"not gzip at all")
    with pytest.raises(MNISTFormatError, match=r"tail\.gz: corrupt or truncated gzip"):
        read_idx(path)


@pytest.mark.parametrize("kwargs, message", [
    ({"magic": 7}, "magic must be 2051"), ({"magic": "2049"}, "magic must be"),
    ({"max_bytes": -1}, "max_bytes must be a non-negative int"),
    ({"max_bytes": 1.5}, "max_bytes must be"), ({"max_bytes": True}, "max_bytes must be"),
])
def test_read_idx_refuses_bad_arguments(tmp_path, kwargs, message):
    """magic=7 ended in a KeyError from inside the error message for a mismatched file."""
    path = tmp_path / "l.gz"
    path.write_bytes(gzip.compress(_label_header(1) + bytes(1)))
    with pytest.raises(ValueError, match=message):
        read_idx(path, **kwargs)
