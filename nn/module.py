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

import errno
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from autograd import Tensor, Value, changed_in_place, recheck_compiled
from autograd.files import write_file
from nn._npz import read_npz

Parameter = Tensor | Value


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded into this model: unreadable, or names/shapes differ."""


class Module:
    """Base class: subclasses set parameters and sub-modules as attributes and define __call__."""

    training: bool = True
    # Whether __call__ computes differently in training and evaluation (Dropout). Switching
    # such a module's mode makes compiled functions check their next call against eager
    # (recheck_compiled); nn's layers that never read `training` say False, and a module of
    # yours keeps the safe default.
    mode_dependent: bool = True

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs in a stable order; a shared parameter appears once."""
        seen: set[int] = set()
        out: list[tuple[str, Parameter]] = []
        for name, p in _walk_modules(self, ""):
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
        mode = bool(mode)
        changed = False
        for m in self.modules():
            changed = changed or (m.training is not mode and m.mode_dependent)
            m.training = mode
        if changed:  # a compiled step froze the old mode: its next call is checked again
            recheck_compiled()
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
        _write_checkpoint(path, self.state_dict())
        return path

    def load(self, path: str | os.PathLike[str]) -> Module:
        """Read parameters saved by `save` (allow_pickle=False); errors name the file."""
        path = _path(path, "load")
        state = _read_npz(path, _budget(self.named_parameters()))
        return self.load_state_dict(state, source=str(path))


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


def _walk_modules(obj: Any, name: str) -> Iterator[tuple[str, Parameter]]:
    """Every parameter reachable from obj, with its dotted name."""
    if isinstance(obj, Module):
        for key, value in vars(obj).items():
            if not key.startswith("_"):
                yield from _walk_modules(value, f"{name}.{key}" if name else key)
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from _walk_modules(item, f"{name}.{i}")
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


def _read_npz(path: Path, max_bytes: int) -> dict[str, np.ndarray]:
    """Every array of the .npz at path (at most max_bytes of data), or an error naming it."""
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    return read_npz(path, max_bytes, CheckpointError, "deltagrad .npz checkpoint")


def _budget(params: list[tuple[str, Parameter]]) -> int:
    """The most data a checkpoint of these parameters can hold: every entry in the widest
    number type, and a little more (a larger file cannot fit the model)."""
    return 16 * sum(int(np.size(p.data)) for _, p in params) + 4096


def _write_checkpoint(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays as .npz through autograd's one atomic writer; refuse non-finite weights,
    so a diverged model never replaces a good checkpoint."""
    bad = [name for name, a in arrays.items() if a.dtype.kind in "fc"
           and not np.isfinite(a).all()]
    if bad:
        raise ValueError(f"cannot save {path}: parameter {bad[0]!r} holds NaN or infinite "
                         "values (the training diverged?); any previous file is unchanged")
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"cannot save {path}: it is a folder; give a "
                                              f"file name such as {path / 'model.npz'}")
    write_file(path, lambda f: np.savez(f, **arrays))

