"""Attacks on the pictures: labels of any type and content, dot's own complaints, and picture
files that are symlinks or FIFOs."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from autograd import Value, draw
from autograd.draw import render
from autograd.draw.labels import MAX_LABEL, label_text


@pytest.mark.parametrize("label, text", [
    (3, "3"), (2.5, "2.5"), (None, "None"), (b"w", "b'w'"), (("a", 1), "('a', 1)"),
    ("a\0b", "a\\x00b"), ("two\nlines", "two\\nlines"), ("bell\x07", "bell\\x07"),
    ("tab\there", "tab\\there"), ("x" * (MAX_LABEL + 5), "x" * (MAX_LABEL - 1) + "…"),
    ("ünï ✓", "ünï ✓"),
])
def test_any_label_becomes_one_line_of_printable_text(label, text):
    assert label_text(label) == text


@pytest.mark.parametrize("label", [7, "nul\0inside", "new\nline", "{<|>}\\", "z" * 500])
def test_draw_accepts_any_label_and_puts_no_control_character_into_dot(dot, tmp_path, label):
    v = Value(1.0, label=label) * 2
    source = draw(v).source
    assert "\0" not in source and "\n" not in source.split("label=")[1].split("]")[0]
    assert render(v, tmp_path / "g.svg").read_text().startswith("<?xml")


def test_a_long_label_is_shortened_in_the_picture():
    source = draw(Value(1.0, label="q" * 200) * 2).source
    assert "q" * MAX_LABEL not in source and "q" * (MAX_LABEL - 1) + "…" in source


def test_dots_warnings_never_reach_stderr(dot, tmp_path, capfd):
    graph = draw(Value(1.0, label="a") * 2)
    graph.node("extra", shape="no-such-shape")  # dot warns: using box for unknown shape
    render(graph, tmp_path / "g.png")
    captured = capfd.readouterr()
    assert captured.err == "" and (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


def test_a_picture_through_a_symlink_lands_in_the_target(tmp_path):
    (tmp_path / "link.dot").symlink_to(tmp_path / "real.dot")
    render(Value(2.0, label="a") * 3, tmp_path / "link.dot")
    assert (tmp_path / "link.dot").is_symlink()
    assert (tmp_path / "real.dot").read_text().startswith("digraph")


def test_a_fifo_picture_target_is_refused_before_dot_runs(tmp_path, monkeypatch):
    os.mkfifo(tmp_path / "g.png")
    home = sys.modules[render.__module__]  # the module that renders, wherever it lives
    monkeypatch.setattr(home, "pipe", lambda *a: pytest.fail("dot ran"))
    with pytest.raises(OSError, match="FIFO"):
        render(Value(2.0) * 3, tmp_path / "g.png")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "g.png").st_mode)
