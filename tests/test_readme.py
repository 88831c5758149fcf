"""Every ```python block of README.md runs as written and on its own: each in a fresh
interpreter, in an empty folder, so no block can lean on another or on files lying around."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import dot_or_skip

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = [(TEXT.count("\n", 0, m.start()) + 2, m.group(1))
          for m in re.finditer(r"^```python\n(.*?)^```", TEXT, re.S | re.M)]
TIMEOUT = 300  # seconds; the longest block trains the document's network for 30 epochs


def _needs(code: str) -> None:
    """Skip (or fail, see conftest) a block whose optional tools are missing."""
    if "render(" in code or "backward_frames(" in code:
        dot_or_skip()
    if "plot_sweep(" in code:
        pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    if "gif=True" in code:
        pytest.importorskip("PIL", reason="an animated GIF needs Pillow")


def test_the_readme_has_its_blocks():
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("line, code", BLOCKS, ids=[f"line{line}" for line, _ in BLOCKS])
def test_each_readme_block_runs_on_its_own(line, code, tmp_path):
    _needs(code)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, f"README.md line {line}:\n{done.stderr}"
