"""Attacks on the `deltagrad` command line: two outputs that are one file, outputs that are
devices or FIFOs, unknown plot formats, a full disk during the JSON write, ^C, and any value
of any numeric option. Every answer is exit 0, or exit 2 (1 for a failed run) with one line
on stderr, never a traceback; no output is written when the command refuses."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nn.commands.check
import nn.commands.draw
import nn.commands.train
import nn.train
from nn.cli import main

QUICK = ["train", "--epochs", "1", "--train-limit", "100", "--sizes", "784,10"]


class _Reached(Exception):
    """Raised by a stub where the real command would start its long work."""


def _no_training(*args, **kwargs):
    raise _Reached


@pytest.fixture
def no_training(monkeypatch):
    """Options are checked for real; the training itself must never be reached."""
    monkeypatch.setattr(nn.train, "train", _no_training)


def _one_line(capsys, status: int, code: int = 2) -> str:
    err = capsys.readouterr().err
    assert status == code and err.count("\n") == 1 and "Traceback" not in err, err
    return err


# ---- two outputs, one file ----------------------------------------------------------------

def _spellings(tmp: Path) -> list[tuple[str, str]]:
    (tmp / "d").mkdir()
    (tmp / "w.npz").write_bytes(b"keep")
    os.link(tmp / "w.npz", tmp / "hard.npz")
    (tmp / "soft.npz").symlink_to(tmp / "w.npz")
    (tmp / "soft-new").symlink_to(tmp / "new.json")
    return [("w.npz", "w.npz"), ("w.npz", "./w.npz"), ("w.npz", "d/../w.npz"),
            ("w.npz", str(tmp / "w.npz")), ("w.npz", "hard.npz"), ("w.npz", "soft.npz"),
            ("new.json", "soft-new"), ("new.json", "./d/../new.json")]


@pytest.mark.parametrize("flags", [("--save", "--json"), ("--json", "--plot"),
                                   ("--save", "--plot")])
def test_two_outputs_that_are_one_file_are_refused_before_training(
        tmp_path, monkeypatch, capsys, no_training, flags):
    monkeypatch.chdir(tmp_path)
    for a, b in _spellings(tmp_path):
        status = main([*QUICK, flags[0], a, flags[1], b])
        err = _one_line(capsys, status)
        if "are the same file" not in err:  # a .npz plot is refused by format first
            assert "--plot" in err and "format" in err, err
    assert (tmp_path / "w.npz").read_bytes() == b"keep" and not (tmp_path / "new.json").exists()


def test_check_refuses_json_and_plot_in_one_file(tmp_path, capsys):
    path = str(tmp_path / "r.png")
    err = _one_line(capsys, main(["check", "--json", path, "--plot", path]))
    assert "are the same file" in err and not Path(path).exists()


# ---- outputs that are not regular files ---------------------------------------------------

@pytest.mark.parametrize("flag", ["--save", "--json", "--plot"])
@pytest.mark.parametrize("target", ["/dev/null", "/dev/full"])
def test_a_device_output_is_refused_before_training(capsys, no_training, flag, target):
    before = os.stat(target)
    err = _one_line(capsys, main([*QUICK, flag, target]))
    assert f"{flag} {target}" in err and "not a regular file" in err
    assert stat.S_ISCHR(os.stat(target).st_mode) and os.stat(target).st_ino == before.st_ino


def test_a_fifo_output_is_refused_before_training(tmp_path, capsys, no_training):
    os.mkfifo(tmp_path / "p")
    err = _one_line(capsys, main([*QUICK, "--json", str(tmp_path / "p")]))
    assert "FIFO" in err and stat.S_ISFIFO(os.lstat(tmp_path / "p").st_mode)


def test_a_symlink_loop_output_is_refused(tmp_path, capsys, no_training):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert "symlinks loop" in _one_line(capsys, main([*QUICK, "--save", str(tmp_path / "a")]))


def test_a_read_only_folder_is_refused_before_training(tmp_path, capsys, monkeypatch,
                                                         no_training):
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # root ignores real modes
    err = _one_line(capsys, main([*QUICK, "--save", str(tmp_path / "w.npz")]))
    assert f"folder {tmp_path} is not writable" in err


@pytest.mark.parametrize("name", ["c.npz", "c.docx", "c.PNGX"])
def test_an_unknown_plot_format_is_refused_before_training(tmp_path, capsys, no_training, name):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    err = _one_line(capsys, main([*QUICK, "--plot", str(tmp_path / name)]))
    assert "does not know the format" in err and "png" in err


def test_check_refuses_an_unknown_plot_format_before_the_checks(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    monkeypatch.setattr(nn.commands.check, "_setup", _no_training)
    err = _one_line(capsys, main(["check", "--plot", str(tmp_path / "v.txt")]))
    assert "does not know the format 'txt'" in err


# ---- failures while writing ---------------------------------------------------------------

def test_a_full_disk_during_the_json_write_keeps_the_old_history(tmp_path, capsys,
                                                                  monkeypatch):
    path = tmp_path / "h.json"
    path.write_text('{"old": true}\n')

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    err = _one_line(capsys, main([*QUICK, "--json", str(path)]))
    assert "No space left on device" in err and str(path) in err
    assert path.read_text() == '{"old": true}\n' and sorted(os.listdir(tmp_path)) == ["h.json"]


def test_ctrl_c_during_the_save_is_one_line_and_leaves_no_file(tmp_path, capsys, monkeypatch):
    import numpy as np

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    status = main([*QUICK, "--save", str(tmp_path / "w.npz")])
    assert "interrupted" in _one_line(capsys, status, 130)
    assert os.listdir(tmp_path) == []


def test_the_json_history_is_strict_json(tmp_path, capsys):
    path = tmp_path / "h.json"
    assert main([*QUICK, "--json", str(path)]) == 0
    data = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert data["diverged"] is False and data["divergence"] is None


# ---- errors that point to the fix ---------------------------------------------------------

def test_eps_min_below_the_smallest_normal_float_is_one_line(capsys):
    err = _one_line(capsys, main(["check", "--eps-min", "1e-320"]))
    assert "--eps-min must be from 2.22507e-308" in err


def test_a_network_too_big_for_memory_is_refused(capsys):
    err = _one_line(capsys, main([*QUICK[:-2], "--sizes", f"784,{10**40},10"]))
    assert "out of memory" in err


def test_draw_refuses_a_network_too_big_to_picture(tmp_path, capsys):
    err = _one_line(capsys, main(["draw", "--out", str(tmp_path), "--sizes", "2,1000000,1"]))
    assert "keep to 10000 or fewer" in err


def test_an_empty_test_split_is_refused_up_front(capsys, monkeypatch):
    from nn.data import MNIST, Split

    real = nn.commands.train._load

    def empty_test(folder, limit):
        data = real(folder, limit)
        return MNIST(data.train, Split(data.test.images[:0], data.test.labels[:0]), "x")

    monkeypatch.setattr(nn.commands.train, "_load", empty_test)
    err = _one_line(capsys, main(QUICK))
    assert "the test data is empty" in err


# ---- any value of any numeric option ------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(-10**40, 10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e-320", "1e308", "-0", "0", "1", "nan", "-inf", "1e400", "0x10",
                     "1_000", " 3 ", "", "٣", "1,2"]),
)
# Widths that fit easily, or that no machine's memory could hold (nothing in between: a real
# model of a few GB would be built).
WIDTHS = st.one_of(st.integers(-3, 1000), st.integers(10**13, 10**40))
SIZES = st.one_of(NUMBERS, st.tuples(st.sampled_from(["784", "4", "2"]), WIDTHS,
                                     st.sampled_from(["10", "3", "1"])).map(
                                         lambda t: ",".join(map(str, t))))
OPTIONS = {
    "train": ["--epochs", "--batch-size", "--lr", "--weight-decay", "--seed", "--train-limit",
              "--threads", "--sizes"],
    "check": ["--eps", "--atol", "--rtol", "--eps-min", "--eps-max", "--batch", "--seed",
              "--sizes"],
    "draw": ["--seed", "--sizes"],
}


def _stub_work(monkeypatch):
    monkeypatch.setattr(nn.train, "train", _no_training)
    monkeypatch.setattr(nn.commands.check, "_setup", _no_training)
    monkeypatch.setattr(nn.commands.draw, "_draw_one", _no_training)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(sorted(OPTIONS)), data=st.data())
def test_no_option_value_gives_a_traceback(command, data, tmp_path, monkeypatch, capsys):
    _stub_work(monkeypatch)
    flags = data.draw(st.lists(st.sampled_from(OPTIONS[command]), min_size=1, max_size=3,
                               unique=True))
    argv = [command, "--out", str(tmp_path)] if command == "draw" else [command]
    for flag in flags:
        argv += [f"{flag}={data.draw(SIZES if flag == '--sizes' else NUMBERS)}"]
    try:
        status = main(argv)
    except _Reached:
        status = 0  # every option passed its checks: the work would start here
    except SystemExit as e:  # argparse's own refusal of a value it cannot parse
        status = e.code
    err = capsys.readouterr().err
    assert status in (0, 2), (argv, err)
    assert "Traceback" not in err and err.count("\n") == (status == 2), (argv, err)


def test_check_with_zero_tolerances_prints_no_numpy_warning(capsys):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status = main(["check", "--eps", "1", "--atol", "0", "--rtol", "0"])
    out = capsys.readouterr().out
    assert status == 1 and "encountered in" not in out and "a check FAILED" in out


def test_draw_into_a_symlink_loop_is_one_line(tmp_path, capsys):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    err = _one_line(capsys, main(["draw", "--out", str(tmp_path / "a")]))
    assert "cannot create the folder" in err


def test_draw_onto_a_fifo_is_one_line_and_leaves_the_fifo(tmp_path, capsys):
    os.mkfifo(tmp_path / "neuron.svg")
    err = _one_line(capsys, main(["draw", "--what", "neuron", "--format", "svg",
                                  "--out", str(tmp_path)]))
    assert "FIFO" in err and stat.S_ISFIFO(os.lstat(tmp_path / "neuron.svg").st_mode)


def test_an_output_onto_the_training_data_is_refused(tmp_path, capsys, no_training):
    from nn.data import FILES

    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in FILES.values():  # tiny stand-ins: only their identity matters here
        (folder / name).write_bytes(b"data")
    link = tmp_path / "alias.gz"
    link.symlink_to(folder / FILES["test_labels"])
    for flag, target in (("--save", folder / FILES["train_images"]), ("--json", link)):
        err = _one_line(capsys, main([*QUICK, "--data", str(folder), flag, str(target)]))
        assert "would destroy the training data" in err
    assert all((folder / n).read_bytes() == b"data" for n in FILES.values())


def test_an_output_onto_the_bundled_subset_is_refused(capsys, no_training):
    import nn.data

    bundled = Path(nn.data.__file__).parent / "datasets" / nn.data.SUBSET
    before = bundled.stat()
    err = _one_line(capsys, main([*QUICK, "--save", str(bundled)]))
    assert "would destroy the training data" in err
    assert bundled.stat().st_mtime_ns == before.st_mtime_ns


@pytest.mark.parametrize("value, words", [("", "not a usable file name"),
                                          ("out/", "--json out/ is a folder")])
def test_an_empty_or_folder_like_output_name_is_refused(tmp_path, monkeypatch, capsys,
                                                        no_training, value, words):
    monkeypatch.chdir(tmp_path)
    assert words in _one_line(capsys, main([*QUICK, f"--json={value}"]))
    assert os.listdir(tmp_path) == []


def test_the_check_report_is_strict_json(tmp_path, capsys):
    path = tmp_path / "r.json"
    main(["check", "--sizes", "2,2", "--eps", "1e-300", "--json", str(path)])
    data = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert data["non_finite"] in (True, False) and data["config"]["eps"] == 1e-300


@pytest.mark.parametrize("bad", [["--sizes", "x"], ["--sizes", "2,100000,1"],
                                 ["--seed", "-1"]])
def test_a_refused_draw_leaves_no_folder_behind(tmp_path, capsys, bad):
    out = tmp_path / "pictures"
    _one_line(capsys, main(["draw", "--out", str(out), *bad]))
    assert not out.exists()
