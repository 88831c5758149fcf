"""Every file the package writes goes through autograd.files: no other module renames,
saves figures, saves arrays to a path or writes text to a path on its own."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What writing a file without the one writer looks like.
WRITES = re.compile(r"os\.replace\(|os\.rename\(|mkstemp\(|\.write_text\(|\.write_bytes\("
                    r"|savefig\((?!f,)|np\.savez\((?!f,)|open\([^)]*[\"'][wax]b?[\"']")


def test_only_autograd_files_writes_files():
    sources = [*ROOT.glob("autograd/**/*.py"), *ROOT.glob("nn/**/*.py")]
    assert len(sources) > 20
    offenders = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in sources
                 if p.name != "files.py" for m in WRITES.finditer(p.read_text())]
    assert offenders == []
