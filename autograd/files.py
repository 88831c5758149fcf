"""The one writer for every file deltagrad writes: checkpoints, JSON, plots, pictures, frames.

`write_file(path, fill)` calls `fill(f)` on a temporary file in the target's folder, then
flushes, fsyncs and renames it over the target and fsyncs the folder: a reader sees the old
file or the new one, never half of either, and a failure (full disk, ^C) removes the
temporary file and leaves the old file as it was. The target is resolved first, so a
symlink is written *through* (the link stays a link); an existing file keeps its mode (and
owner, where the process may) and a new one follows the umask; a target that is not a
regular file (folder, FIFO, device, a symlink loop) is refused before any work. `same_file`
tells whether two output paths name one file under any spelling (symlink, `./`, `..`, hard
link). The rename gives the target's name a new file: another hard link to the old file
keeps the old contents.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["check_target", "json_safe", "same_file", "write_bytes",
           "write_file", "write_json", "write_text"]

# Linux's NAME_MAX: a temporary name longer than this cannot be created.
_NAME_MAX = 255
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def check_target(path: str | os.PathLike[str]) -> Path:
    """The real file `path` names (symlinks followed), checked to be writable as a regular
    file in an existing folder; otherwise an OSError naming `path`
    (FileNotFoundError, IsADirectoryError, ... as the errno says), before any work."""
    name = os.fspath(path)
    if not isinstance(name, str) or not name or "\0" in name:
        raise OSError(errno.EINVAL, f"cannot save to {name!r}: not a usable file name")
    if name.endswith(("/", os.sep)):
        raise OSError(errno.EISDIR, f"cannot save {name}: it ends with a slash, so it names a "
                                    "folder; give a file name")
    real = Path(os.path.realpath(name))
    if os.path.islink(real):  # realpath stops at a link it cannot follow: a loop
        raise OSError(errno.ELOOP, f"cannot save {name}: the symlinks loop")
    _check_kind(name, real)
    _check_folder(name, real.parent)
    return real


def _check_kind(name: str, real: Path) -> None:
    """Refuse an existing target that is not a regular file, saying what it is."""
    try:
        mode = os.stat(real).st_mode
    except OSError:
        return  # missing (or unreachable: the folder check says why)
    if not stat.S_ISREG(mode):
        kind = next((k for test, k in _KINDS if test(mode)), "not a regular file")
        code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
        raise OSError(code, f"cannot save {name}: it is {kind}, not a regular file")


def _check_folder(name: str, folder: Path) -> None:
    """Refuse a target whose folder is missing or is not a folder."""
    if folder.is_dir():
        return
    if folder.exists():
        raise OSError(errno.ENOTDIR, f"cannot save {name}: {folder} is a file, not a folder")
    raise OSError(errno.ENOENT, f"cannot save {name}: folder {folder} does not exist")


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file: the same inode when both exist, else the same real
    path (symlinks, `.` and `..` resolved)."""
    with contextlib.suppress(OSError):
        sa, sb = os.stat(a), os.stat(b)
        return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)
    return os.path.realpath(a) == os.path.realpath(b)


def write_file(path: str | os.PathLike[str], fill: Callable[[IO[bytes]], Any]) -> Path:
    """Write the bytes `fill(f)` writes to the binary file f into `path`, atomically (see the
    module's docstring); returns `path` as a Path. Failures are OSErrors naming `path`."""
    real = check_target(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=_prefix(real.name), suffix=".tmp", dir=real.parent)
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            _keep_owner_and_mode(f.fileno(), real)
            os.fsync(f.fileno())
        os.replace(tmp, real)
    except BaseException as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(e, OSError):
            raise _named(e, path) from None
        raise
    _sync_folder(real.parent)
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` into `path` atomically."""
    return write_file(path, lambda f: f.write(data))


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` as UTF-8 into `path` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write `data` as strict JSON (no NaN or Infinity: ValueError) into `path` atomically."""
    return write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def json_safe(data: Any) -> tuple[Any, bool]:
    """`data` with every non-finite float replaced by None, and whether any was."""
    if isinstance(data, float) and not math.isfinite(data):
        return None, True
    if isinstance(data, dict):
        pairs = [(k, json_safe(v)) for k, v in data.items()]
        return {k: v for k, (v, _) in pairs}, any(bad for _, (_, bad) in pairs)
    if isinstance(data, list | tuple):
        items = [json_safe(v) for v in data]
        return [v for v, _ in items], any(bad for _, bad in items)
    return data, False


def _prefix(name: str) -> str:
    """`.name.` when the temporary name still fits the file system's limit, else `.` alone:
    a target with a 250-character name must be writable too."""
    long = f".{name}."
    return long if len(os.fsencode(long)) + 12 <= _NAME_MAX else "."


def _keep_owner_and_mode(fd: int, real: Path) -> None:
    """Give the new file the old one's permission bits (and owner and group, where the process
    may), or for a new file the bits the umask allows."""
    try:
        old = os.stat(real)
    except FileNotFoundError:
        os.fchmod(fd, 0o666 & ~_umask())
        return
    with contextlib.suppress(PermissionError, AttributeError):
        os.fchown(fd, old.st_uid, old.st_gid)
    os.fchmod(fd, stat.S_IMODE(old.st_mode))


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (setting it to read it
    would race with other threads creating files)."""
    with (contextlib.suppress(OSError, ValueError, StopIteration),
          open("/proc/self/status", encoding="ascii") as status):
        return int(next(ln for ln in status if ln.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _named(e: OSError, path: str | os.PathLike[str]) -> OSError:
    """The same kind of OSError (PermissionError, ...), naming the target."""
    text = f"cannot save {os.fspath(path)} (any previous file is unchanged): {e.strerror or e}"
    return OSError(e.errno, text) if e.errno else OSError(text)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable where the platform allows it."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
