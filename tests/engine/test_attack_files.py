"""Attacks on the one writer (autograd.files) and on checkpoints: symlinks, FIFOs, devices,
odd names, modes, full disks, ^C, and two writers at once. Each test is one attack; the
writer must write whole files through links, refuse what is not a regular file before any
work, and leave the old file intact whenever it fails."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autograd import files
from autograd.files import check_target, json_safe, same_file, write_bytes, write_file, write_json
from nn import MLP, CheckpointError

ROOT = Path(__file__).resolve().parent.parent


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _device(path: Path) -> Path:
    """A character device like /dev/null at path (root may make one; others skip)."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("making a device node needs root and a POSIX system")
    return path


# ---- symlinks -----------------------------------------------------------------------------

def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.npz"
    MLP([2, 2], seed=0).save(real)
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    model = MLP([2, 2], seed=5)
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    got = MLP([2, 2], seed=1).load(real).state_dict()
    assert all(np.array_equal(got[k], v) for k, v in model.state_dict().items())


def test_a_chain_of_symlinks_with_a_relative_hop_is_followed(tmp_path):
    (tmp_path / "sub").mkdir()
    write_bytes(tmp_path / "sub" / "real", b"old")
    (tmp_path / "mid").symlink_to("sub/real")
    (tmp_path / "top").symlink_to(tmp_path / "mid")
    write_bytes(tmp_path / "top", b"new")
    assert (tmp_path / "sub" / "real").read_bytes() == b"new"
    assert (tmp_path / "top").is_symlink() and (tmp_path / "mid").is_symlink()


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "later.json")
    write_json(link, {"a": 1})
    assert link.is_symlink() and (tmp_path / "later.json").read_text() == '{\n  "a": 1\n}\n'


def test_a_dangling_symlink_into_a_missing_folder_is_refused(tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone" / "x.npz")
    with pytest.raises(FileNotFoundError, match="gone"):
        MLP([2, 2], seed=0).save(link)
    assert link.is_symlink() and _listing(tmp_path) == ["link"]


def test_a_symlink_loop_is_refused_before_any_work(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    called = []
    with pytest.raises(OSError, match="symlinks loop") as info:
        write_file(tmp_path / "a", called.append)
    assert info.value.errno == errno.ELOOP and not called
    assert _listing(tmp_path) == ["a", "b"]


def test_a_symlink_to_a_folder_is_refused_as_a_folder(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "dir")
    with pytest.raises(IsADirectoryError, match="a folder"):
        MLP([2, 2], seed=0).save(tmp_path / "link")
    with pytest.raises(IsADirectoryError, match="a folder, not a regular file"):
        write_bytes(tmp_path / "link", b"x")
    assert (tmp_path / "link").is_symlink()


# ---- targets that are not regular files ---------------------------------------------------

def test_a_fifo_is_refused_without_blocking_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match=r"a FIFO \(named pipe\), not a regular file"):
        MLP([2, 2], seed=0).save(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and _listing(tmp_path) == ["pipe"]


def test_a_device_is_refused_and_stays_a_device(tmp_path):
    dev = _device(tmp_path / "null")
    with pytest.raises(OSError, match="a character device, not a regular file"):
        write_bytes(dev, b"x")
    assert stat.S_ISCHR(os.lstat(dev).st_mode)


def test_a_folder_is_refused_naming_it(tmp_path):
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        write_bytes(tmp_path, b"x")


@pytest.mark.parametrize("name", ["", "a\0b"])
def test_an_unusable_name_is_refused_clearly(name):
    with pytest.raises(OSError, match="not a usable file name"):
        write_bytes(name, b"x")


# ---- names --------------------------------------------------------------------------------

@pytest.mark.parametrize("length", [250, 255])
def test_a_long_legal_name_is_written(tmp_path, length):
    path = tmp_path / ("w" * (length - 4) + ".npz")
    MLP([2, 2], seed=0).save(path)
    assert _listing(tmp_path) == [path.name] and MLP([2, 2]).load(path)


@pytest.mark.parametrize("name", ["weights é ü 重み.npz", "with space.npz", "new\nline.npz",
                                  "-dash.npz", ".hidden.npz", "tab\tand\u200bzero-width.npz"])
def test_odd_names_are_written_and_read_back(tmp_path, name):
    MLP([2, 2], seed=0).save(tmp_path / name)
    assert _listing(tmp_path) == [name]
    MLP([2, 2], seed=1).load(tmp_path / name)


# ---- modes --------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755, 0o444])
def test_an_existing_file_keeps_its_mode(tmp_path, mode):
    path = tmp_path / "w.npz"
    MLP([2, 2], seed=0).save(path)
    path.chmod(mode)
    MLP([2, 2], seed=1).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_file_follows_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        write_bytes(tmp_path / "new", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o666 & ~mask


# ---- failures leave the old file ----------------------------------------------------------

@pytest.mark.parametrize("where", ["fsync", "replace"])
def test_a_full_disk_during_a_json_write_keeps_the_old_file(tmp_path, monkeypatch, where):
    path = tmp_path / "h.json"
    write_json(path, {"old": True})
    old = path.read_bytes()
    monkeypatch.setattr(os, where, _no_space)
    with pytest.raises(OSError) as info:
        write_json(path, {"new": True})
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC and str(path) in str(info.value)
    assert path.read_bytes() == old and _listing(tmp_path) == ["h.json"]


def test_a_half_written_file_is_never_seen(tmp_path):
    path = tmp_path / "h.json"
    write_bytes(path, b"old")

    def half(f):
        f.write(b"ne")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="unchanged"):
        write_file(path, half)
    assert path.read_bytes() == b"old" and _listing(tmp_path) == ["h.json"]


def test_ctrl_c_during_a_save_keeps_the_old_file_and_propagates(tmp_path, monkeypatch):
    path = tmp_path / "w.npz"
    MLP([2, 2], seed=0).save(path)
    old = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        MLP([2, 2], seed=1).save(path)
    assert path.read_bytes() == old and _listing(tmp_path) == ["w.npz"]


def test_non_finite_weights_never_replace_a_checkpoint(tmp_path):
    path = tmp_path / "w.npz"
    model = MLP([2, 2], seed=0)
    model.save(path)
    old = path.read_bytes()
    model.layers[0].weight.data[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"layers\.0\.weight.*NaN or infinite.*unchanged"):
        model.save(path)
    assert path.read_bytes() == old


CHILD = textwrap.dedent("""
    import sys
    from nn import MLP
    model = MLP([784, 100, 10], seed=0)
    for p in model.parameters():
        p.data[...] = float(sys.argv[2])
    for _ in range(15):
        model.save(sys.argv[1])
""")


def test_two_processes_saving_at_once_leave_one_whole_checkpoint(tmp_path):
    target = tmp_path / "w.npz"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(target), str(k)], env=env)
             for k in (1, 2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    values = {float(v) for p in MLP([784, 100, 10]).load(target).parameters()
              for v in np.unique(p.data)}
    assert values in ({1.0}, {2.0}) and _listing(tmp_path) == ["w.npz"]


# ---- reading what is not a checkpoint ------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"hello", b"PK\x03\x04 not a zip", b"\x80\x04K\x01."])
def test_a_non_checkpoint_says_so_and_never_suggests_pickle(tmp_path, content):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        MLP([2, 2]).load(path)
    text = str(info.value)
    assert str(path) in text and "not a deltagrad .npz checkpoint" in text
    assert "allow_pickle" not in text and "unsafe" not in text


def test_an_object_array_is_refused_without_numpys_advice(tmp_path):
    path = tmp_path / "x.npz"
    objects = np.empty(1, dtype=object)
    np.savez(path, **{"layers.0.weight": objects})
    with pytest.raises(CheckpointError, match="Python objects are never loaded") as info:
        MLP([2, 2]).load(path)
    assert "allow_pickle" not in str(info.value)


# ---- the helpers --------------------------------------------------------------------------

def test_same_file_sees_every_spelling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    write_bytes("a", b"x")
    os.link("a", "hard")
    Path("soft").symlink_to("a")
    for other in ("./a", "d/../a", str(tmp_path / "a"), "hard", "soft"):
        assert same_file("a", other), other
    assert same_file("new", "d/../new") and same_file("new", "./new")
    assert not same_file("a", "new") and not same_file("new", "other")


def test_check_target_returns_the_real_file(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert check_target(tmp_path / "link") == tmp_path / "real"


def test_json_is_strict_and_json_safe_turns_non_finite_into_null(tmp_path):
    with pytest.raises(ValueError):
        write_json(tmp_path / "h.json", {"x": float("nan")})
    assert not (tmp_path / "h.json").exists()
    data = {"a": [1.0, float("inf")], "b": {"c": float("-inf")}, "d": (2, "s")}
    assert json_safe(data) == ({"a": [1.0, None], "b": {"c": None}, "d": [2, "s"]}, True)
    assert json_safe({"a": 1.5}) == ({"a": 1.5}, False)


def test_the_short_temporary_name_is_used_only_for_long_targets():
    assert files._prefix("w.npz") == ".w.npz."
    assert files._prefix("w" * 250) == "."


def test_a_symlink_to_a_device_is_refused_and_both_stay(tmp_path):
    dev = _device(tmp_path / "null")
    (tmp_path / "w.npz").symlink_to(dev)
    with pytest.raises(OSError, match="character device"):
        MLP([2, 2], seed=0).save(tmp_path / "w.npz")
    assert (tmp_path / "w.npz").is_symlink() and stat.S_ISCHR(os.lstat(dev).st_mode)


# ---- plots --------------------------------------------------------------------------------

def test_plots_refuse_a_fifo_and_an_unknown_format_before_drawing(tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    from autograd.gradcheck import plot_sweep, sweep

    from autograd import Value
    from nn.plot import plot_history
    from nn.train import Epoch, History

    os.mkfifo(tmp_path / "p.png")
    history = History([Epoch(0, 1.0, 1, 2, 0.5, 0.1)])
    with pytest.raises(OSError, match="FIFO"):
        plot_history(history, tmp_path / "p.png")
    with pytest.raises(ValueError, match="does not know the format 'npz'"):
        plot_history(history, tmp_path / "c.npz")
    with pytest.raises(OSError, match="FIFO"):
        plot_sweep(sweep(lambda x: x * x, Value(1.0), eps=[1e-3, 1e-4]), tmp_path / "p.png")
    assert _listing(tmp_path) == ["p.png"] and stat.S_ISFIFO(os.lstat(tmp_path / "p.png").st_mode)


def test_a_plot_through_a_symlink_keeps_the_link_and_the_mode(tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    from nn.plot import plot_history
    from nn.train import Epoch, History

    real = tmp_path / "real.svg"
    real.write_text("old")
    real.chmod(0o600)
    (tmp_path / "c.svg").symlink_to(real)
    plot_history(History([Epoch(0, 1.0, 1, 2, 0.5, 0.1)]), tmp_path / "c.svg")
    assert (tmp_path / "c.svg").is_symlink() and real.read_text().startswith("<?xml")
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def test_a_trailing_slash_names_a_folder_and_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="ends with a slash"):
        write_bytes(f"{tmp_path}/w.npz/", b"x")
    assert _listing(tmp_path) == []


def test_a_file_used_as_a_folder_is_named(tmp_path):
    write_bytes(tmp_path / "file", b"x")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        write_bytes(tmp_path / "file" / "w.npz", b"y")
    assert (tmp_path / "file").read_bytes() == b"x"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="only root may give a file to another owner")
def test_an_existing_file_keeps_its_owner_and_group(tmp_path):
    path = tmp_path / "w.npz"
    write_bytes(path, b"old")
    os.chown(path, 1234, 5678)
    write_bytes(path, b"new")
    assert (path.stat().st_uid, path.stat().st_gid) == (1234, 5678)


def test_the_umask_is_read_without_being_changed(monkeypatch):
    if not Path("/proc/self/status").exists():
        pytest.skip("only Linux's /proc tells the umask without setting it")
    monkeypatch.setattr(os, "umask", lambda mask: pytest.fail("os.umask was called"))
    assert 0 <= files._umask() <= 0o777


def test_threads_writing_one_file_at_once_leave_one_whole_file(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "h.json"
    payloads = [{"writer": k, "data": [k] * 5000} for k in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda p: [write_json(path, p) for _ in range(10)], payloads))
    assert json.loads(path.read_text()) in payloads and _listing(tmp_path) == ["h.json"]
