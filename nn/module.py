"""Module: the base of every layer and network. Finds parameters, resets gradients, saves.

A module's parameters are found by walking its public attributes in the order they were set:
a Tensor that requires grad, a Value, another Module, or a list or tuple of those. Names are
dotted paths (`layers.0.weight`), the keys of a saved checkpoint. Attributes whose names start
with an underscore are private working state and are not walked.

Checkpoints are .npz files. Saving writes a temporary file in the same folder and renames it
over the target, so a crash mid-save leaves the old checkpoint intact; loading uses
allow_pickle=False and checks every name and shape before changing anything. A process killed
outright mid-save (SIGKILL, power loss) cannot remove its temporary file: a hidden
`.NAME.<random>.tmp` may be left beside the target. Nothing reads it; it is safe to delete.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from autograd import Tensor, Value
from autograd.graph import changed_in_place

Parameter = Tensor | Value


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded into this model: unreadable, or names/shapes differ."""


class Module:
    """Base class: subclasses set parameters and sub-modules as attributes and define __call__."""

    training: bool = True

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs in a stable order; a shared parameter appears once."""
        seen: set[int] = set()
        out: list[tuple[str, Parameter]] = []
        for name, p in _walk(self, ""):
            if id(p) not in seen:
                seen.add(id(p))
                out.append((name, p))
        return out

    def parameters(self) -> list[Parameter]:
        """The parameters in the order of `named_parameters()` (what an optimizer takes)."""
        return [p for _, p in self.named_parameters()]

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module, depth first."""
        yield self
        for value in _public(self):
            for child in _children(value):
                yield from child.modules()

    def zero_grad(self) -> None:
        """Forget accumulated gradients: None for Tensors, 0.0 for Values (their convention)."""
        for p in self.parameters():
            p.grad = 0.0 if isinstance(p, Value) else None

    def train(self, mode: bool = True) -> Module:
        """Put this module and its sub-modules in training mode (or evaluation, mode=False)."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: `train(False)`."""
        return self.train(False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's data, keyed by its dotted name."""
        return {name: np.array(p.data) for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any], source: str = "state dict") -> Module:
        """Copy `state` into the parameters after checking every name and shape.

        Nothing changes unless everything matches: a missing or unexpected name, or a shape
        that differs, raises CheckpointError naming `source`, the parameter and both shapes.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict needs a dict of arrays keyed by parameter name, "
                            f"got {type(state).__name__}")
        params = self.named_parameters()
        arrays = _checked(params, state, source)
        for (_, p), arr in zip(params, arrays):
            if isinstance(p, Value):
                p.data = float(arr)
            else:
                p.data[...] = arr
        changed_in_place([p for _, p in params if not isinstance(p, Value)])  # Values: setter
        return self

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the parameters to `path` (.npz) atomically; returns the path written."""
        path = _path(path, "save")
        _write_atomic(path, self.state_dict())
        return path

    def load(self, path: str | os.PathLike[str]) -> Module:
        """Read parameters saved by `save` (allow_pickle=False); errors name the file."""
        path = _path(path, "load")
        return self.load_state_dict(_read_npz(path), source=str(path))


# ---- walking the attributes ----------------------------------------------------------------

def _public(module: Module) -> Iterator[Any]:
    for name, value in vars(module).items():
        if not name.startswith("_"):
            yield value


def _children(value: Any) -> Iterator[Module]:
    if isinstance(value, Module):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _children(item)


def _walk(obj: Any, name: str) -> Iterator[tuple[str, Parameter]]:
    """Every parameter reachable from obj, with its dotted name."""
    if isinstance(obj, Module):
        for key, value in vars(obj).items():
            if not key.startswith("_"):
                yield from _walk(value, f"{name}.{key}" if name else key)
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from _walk(item, f"{name}.{i}")
    elif isinstance(obj, Tensor):
        if obj.requires_grad and obj.is_leaf:
            yield name, obj
    elif isinstance(obj, Value) and obj.is_leaf:
        yield name, obj


# ---- checkpoints ---------------------------------------------------------------------------

def _path(path: Any, verb: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{verb} needs a file path (str or Path), got {type(path).__name__}")
    return Path(path)


def _checked(params: list[tuple[str, Parameter]], state: dict[str, Any], source: str
             ) -> list[np.ndarray]:
    """The arrays of `state` in parameter order, after checking names, dtypes and shapes."""
    names = [name for name, _ in params]
    missing = [n for n in names if n not in state]
    unexpected = [k for k in state if k not in set(names)]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected)}")
        raise CheckpointError(f"{source} does not fit this model: {'; '.join(parts)}")
    arrays = []
    for name, p in params:
        try:
            arr = np.asarray(state[name])
        except ValueError as e:
            raise CheckpointError(f"{source}: parameter {name!r} is not an array: {e}") from None
        want = np.shape(p.data)
        if arr.dtype.kind not in "fiub":
            raise CheckpointError(f"{source}: parameter {name!r} holds {arr.dtype} data, "
                                  "not numbers")
        if arr.shape != want:
            raise CheckpointError(f"{source}: parameter {name!r} has shape {arr.shape} there, "
                                  f"but the model's {name!r} has shape {want}")
        arrays.append(arr)
    return arrays


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the .npz at path, or an error naming the file and what is wrong."""
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    try:
        stored = np.load(path, allow_pickle=False)
        if not isinstance(stored, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{path} holds a single .npy array, not a .npz checkpoint")
        with stored:
            return {key: stored[key] for key in stored.files}
    except CheckpointError:
        raise
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
        raise CheckpointError(f"{path} is not a readable .npz checkpoint: {e}") from None


def _write_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays as .npz to a temporary file beside path, then rename it over path.

    os.replace is atomic within one filesystem, hence the temporary file in the same folder:
    a reader sees the old file or the new one, never half of either.
    """
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot save {path}: folder {folder} does not exist")
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"cannot save {path}: it is a folder; give a "
                                              f"file name such as {path / 'model.npz'}")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(e, OSError):
            text = f"cannot save {path} (any previous file is unchanged): {e.strerror or e}"
            # OSError(errno, text) builds the matching subclass (PermissionError, ...).
            raise (OSError(e.errno, text) if e.errno else OSError(text)) from None
        raise
    _sync_folder(folder)


def _umask() -> int:
    """The process umask (mkstemp makes 0600 files; a checkpoint should get the usual mode)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable where the platform allows it."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
