"""The README's op table is the one tools/op_table.py writes from the rule table."""

from __future__ import annotations

import pytest

from tests.conftest import load_script


def _tool():
    return load_script("tools/op_table.py")


def test_readme_op_table_matches_the_rule_table():
    tool = _tool()
    assert tool.current() == tool.table(), "run: python tools/op_table.py --write"


def test_every_ruled_primitive_has_a_row():
    from autograd import rules
    from autograd.primitive import Primitive

    table = _tool().table()
    for key, attr in vars(rules).items():
        if isinstance(attr, Primitive) and attr.vjp is not None and not key.startswith("_"):
            assert f"| {key.rstrip('_')} | " in table


def test_check_mode_fails_on_a_stale_table(tmp_path, monkeypatch):
    tool = _tool()
    readme = tmp_path / "README.md"
    readme.write_text(f"{tool.BEGIN}\n| stale |\n{tool.END}\n", encoding="utf-8")
    monkeypatch.setattr(tool, "README", readme)
    assert tool.main(["--check"]) == 1
    assert tool.main(["--write"]) == 0
    assert tool.main(["--check"]) == 0
    with pytest.raises(SystemExit, match="markers"):
        readme.write_text("no markers", encoding="utf-8")
        tool.current()
