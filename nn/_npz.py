"""Reading .npz files within bounded memory: every size is checked before anything is allocated.

numpy's np.load allocates the shape a member's header declares before it reads a byte of the
member, so a 3 MB file can ask for terabytes. Here each member's .npy header is parsed first;
its size (in Python ints, which cannot overflow) must equal the size the archive records for
the member, fit what deflate can produce from the compressed bytes, and stay within a limit;
then exactly that many bytes are read, and one more to catch data beyond the declared end.
Object arrays (pickles) are never read.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np

# Deflate's best ratio is about 1032:1: no honest member inflates to more than this many times
# its compressed size (plus a little for the headers).
MAX_RATIO = 1032
_SLACK = 4096
_CHUNK = 1 << 20
_KINDS = "biuf"  # bool, integers, floats: the only data a checkpoint or data set holds
_NPY_MAGIC = b"\x93NUMPY"


def read_npz(path: Path, max_bytes: int, error: type[ValueError], what: str
             ) -> dict[str, np.ndarray]:
    """The arrays of the .npz at path, keyed by name; `error(message)` for anything wrong.

    `what` says what the file should be ("deltagrad .npz checkpoint"); messages start with
    the path.
    At most `max_bytes` of array data are read in all.
    """
    with open(path, "rb") as f:
        head = f.read(len(_NPY_MAGIC))
    if head == _NPY_MAGIC:
        raise error(f"{path} holds a single .npy array, not a {what}")
    try:
        with zipfile.ZipFile(path) as z:
            return _npy_members(z, path, max_bytes, error)
    # (zipfile raises NotImplementedError for a compression method it does not know)
    except (OSError, EOFError, ValueError, zlib.error, zipfile.BadZipFile,
            NotImplementedError) as e:
        if isinstance(e, error):
            raise
        raise error(f"{path}: corrupt or not a {what} ({e})") from None


def _npy_members(z: zipfile.ZipFile, path: Path, budget: int, error: type[ValueError]
             ) -> dict[str, np.ndarray]:
    """Every member as an array, the sizes of all of them together kept within `budget`."""
    size = os.path.getsize(path)
    out = {}
    for info in z.infolist():
        if not info.filename.endswith(".npy"):
            raise error(f"{path}: member {info.filename!r} is not a .npy array")
        if info.compress_size > size:
            raise error(f"{path}: member {info.filename!r} claims {info.compress_size} "
                        f"compressed bytes, more than the file's {size}")
        arr = _member(z, info, path, budget, error)
        budget -= arr.nbytes
        out[info.filename[:-4]] = arr
    return out


def _member(z: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, budget: int,
            error: type[ValueError]) -> np.ndarray:
    """One member's array, its header checked against the archive and the budget first."""
    name = f"{path}: member {info.filename!r}"
    with z.open(info) as f:
        version = np.lib.format.read_magic(f)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(f)
        if dtype.hasobject or dtype.kind not in _KINDS or dtype.fields is not None:
            raise error(f"{name} holds {dtype} data, not real numbers (Python objects are "
                        "never loaded)")
        nbytes = math.prod(shape) * dtype.itemsize
        _check_size(nbytes, info, f.tell(), budget, f"{name} declares shape {shape} of {dtype}",
                    error)
        data = _read_exactly(f, nbytes, name, error)
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C")


def _check_size(nbytes: int, info: zipfile.ZipInfo, header: int, budget: int, declared: str,
                error: type[ValueError]) -> None:
    """Refuse a declared size the archive cannot hold or the budget does not allow."""
    if nbytes > budget:
        raise error(f"{declared} ({nbytes} bytes): more than the {budget} bytes allowed")
    if header + nbytes != info.file_size:
        raise error(f"{declared} ({nbytes} bytes), but the archive records "
                    f"{info.file_size - header} bytes of data for it")
    if info.compress_type != zipfile.ZIP_STORED and \
            info.file_size > MAX_RATIO * info.compress_size + _SLACK:
        raise error(f"{declared} ({nbytes} bytes), more than {info.compress_size} "
                    "compressed bytes can hold")


def _read_exactly(f: IO[bytes], nbytes: int, name: str, error: type[ValueError]) -> bytearray:
    """nbytes from f in chunks (never a second full-size copy), and nothing after them."""
    buf = bytearray(nbytes)
    view = memoryview(buf)
    pos = 0
    while pos < nbytes:
        chunk = f.read(min(_CHUNK, nbytes - pos))
        if not chunk:
            raise error(f"{name} is truncated: {pos} of {nbytes} bytes")
        view[pos:pos + len(chunk)] = chunk
        pos += len(chunk)
    if f.read(1):
        raise error(f"{name} has data beyond the {nbytes} bytes its header declares")
    return buf
