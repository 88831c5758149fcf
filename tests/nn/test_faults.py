"""Faults: a save killed at any moment, a full disk, a read-only folder, a checkpoint that would
run pickled code. The previous checkpoint must survive each of them, and nothing is executed."""

from __future__ import annotations

import errno
import os
import pickle
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nn.module
from nn import MLP, CheckpointError
from nn.cli import main

ROOT = Path(__file__).resolve().parents[2]
SIZES = [784, 500, 10]  # 3 MB a checkpoint: a save takes long enough to be killed inside it
# What a killed save can leave behind: mkstemp's hidden file beside the target.
TEMP = re.compile(r"^\.ckpt\.npz\.[A-Za-z0-9_]+\.tmp$")

CHILD = textwrap.dedent("""
    import sys
    from nn import MLP
    model = MLP({sizes}, seed=0)
    k = 0
    while True:
        for p in model.parameters():
            p.data[...] = k
        model.save(sys.argv[1])
        print(k, flush=True)
        k += 1
""")


def _constant(path: Path) -> float:
    """The one value every parameter of the checkpoint holds (the child fills them all with k)."""
    model = MLP(SIZES, seed=1).load(path)
    values = {float(v) for p in model.parameters() for v in np.unique(p.data)}
    assert len(values) == 1, f"a mix of states in {path}: {sorted(values)[:5]}"
    return values.pop()


def _first_line(proc: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the saving child printed nothing"
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return line


def test_a_save_killed_at_any_moment_leaves_a_whole_checkpoint(tmp_path):
    script = tmp_path / "saver.py"
    script.write_text(CHILD.format(sizes=SIZES))
    target = tmp_path / "ckpt.npz"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    moments = random.Random(7)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, str(script), str(target)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _first_line(proc, timeout=30)  # one complete save exists (from this child or before)
            time.sleep(moments.uniform(0.02, 0.2))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            proc.stdout.close()
            proc.stderr.close()
        k = _constant(target)
        assert k == int(k) >= 0
        temps = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
        assert all(TEMP.match(name) for name in temps), temps
        for name in temps:
            (tmp_path / name).unlink()
    # Loading ignores a half-written temporary file lying beside the checkpoint.
    (tmp_path / ".ckpt.npz.abc123.tmp").write_bytes(target.read_bytes()[:1000])
    assert _constant(target) == k


# ---- refusing pickled code ----------------------------------------------------------------

class Payload:
    """Unpickling this creates a file: the proof that pickled code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _evil_files(folder: Path, marker: Path) -> list[Path]:
    raw = folder / "raw-pickle.npz"
    raw.write_bytes(pickle.dumps({"layers.0.weight": Payload(marker)}))
    inside = folder / "object-array.npz"
    objects = np.empty(1, dtype=object)
    objects[0] = Payload(marker)
    np.savez(inside, **{"layers.0.weight": objects})
    single = folder / "object.npy"
    np.save(single, objects, allow_pickle=True)
    renamed = folder / "npy-named.npz"
    renamed.write_bytes(single.read_bytes())
    zipped = folder / "pickle-in-zip.npz"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("layers.0.weight.npy", pickle.dumps(Payload(marker)))
    return [raw, inside, renamed, zipped]


def test_loading_never_runs_pickled_code(tmp_path):
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(Payload(control)))
    assert control.exists()  # the payload is live: unpickled, it makes its file
    marker = tmp_path / "marker"
    model = MLP([2, 3, 1], seed=0)
    before = model.state_dict()
    for path in _evil_files(tmp_path, marker):
        with pytest.raises(CheckpointError) as info:
            model.load(path)
        assert str(path) in str(info.value)
        assert not marker.exists(), f"loading {path.name} ran pickled code"
    assert all(np.array_equal(p.data, before[n]) for n, p in model.named_parameters())


def test_no_loader_in_the_package_allows_pickle():
    sources = [*ROOT.glob("autograd/*.py"), *ROOT.glob("nn/**/*.py")]
    for path in sources:
        text = path.read_text()
        assert "allow_pickle=True" not in text, path
        assert not re.search(r"^\s*import pickle|pickle\.loads?\(", text, re.M), path
        for call in re.findall(r"np\.load\(([^)]*)\)", text):
            assert "allow_pickle=False" in call, f"{path}: np.load({call})"


# ---- full disk, read-only folder ----------------------------------------------------------

def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _saved(tmp_path: Path) -> tuple[MLP, Path, bytes]:
    model = MLP([3, 4, 2], seed=0)
    path = tmp_path / "w.npz"
    model.save(path)
    for p in model.parameters():
        p.data += 1.0  # the next save would change the file
    return model, path, path.read_bytes()


def _half_write(file, **arrays):
    file.write(b"PK\x03\x04 half of a zip")
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("where, fail", [
    ("os.replace", _no_space), ("os.fsync", _no_space), ("numpy.savez", _half_write),
    ("tempfile.mkstemp", _no_space),
])
def test_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch, where, fail):
    model, path, old = _saved(tmp_path)
    module, name = where.rsplit(".", 1)
    monkeypatch.setattr(sys.modules[module], name, fail)
    with pytest.raises(OSError) as info:
        model.save(path)
    assert info.value.errno == errno.ENOSPC
    assert str(path) in str(info.value) and "No space left on device" in str(info.value)
    assert "unchanged" in str(info.value)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]  # no temporary file left


def test_a_read_only_folder_is_a_permission_error(tmp_path, monkeypatch):
    model, path, old = _saved(tmp_path)

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkstemp", refused)  # what a read-only folder does
    with pytest.raises(PermissionError) as info:
        model.save(path)
    assert str(path) in str(info.value) and "Permission denied" in str(info.value)
    monkeypatch.undo()
    assert path.read_bytes() == old


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into read-only folders: the monkeypatched test covers it")
def test_a_really_read_only_folder(tmp_path):
    model, path, old = _saved(tmp_path)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match=re.escape(str(path))):
            model.save(path)
    finally:
        tmp_path.chmod(0o755)
    assert path.read_bytes() == old


def test_the_cli_reports_a_full_disk_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(nn.module.os, "replace", _no_space)
    out = tmp_path / "w.npz"
    status = main(["train", "--epochs", "1", "--train-limit", "50", "--sizes", "784,10",
                   "--save", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("deltagrad train: error: [Errno 28] cannot save")
    assert str(out) in err and not out.exists()


def test_a_picture_on_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    from autograd import Value
    from autograd.draw import render

    path = render(Value(2.0, label="a") * 3, tmp_path / "g.dot")
    old = path.read_bytes()
    monkeypatch.setattr(os, "replace", _no_space)
    with pytest.raises(OSError) as info:
        render(Value(5.0, label="b") * 3, path)
    assert info.value.errno == errno.ENOSPC and str(path) in str(info.value)
    monkeypatch.undo()
    assert path.read_bytes() == old and sorted(p.name for p in tmp_path.iterdir()) == ["g.dot"]
