"""Write the README's op table from the rule table and the numpy dispatch tables.

Every primitive in autograd.rules with a rule is a row (its rule's one-line formula), with the
numpy functions that reach it; then the composite ops of autograd.ops, each with the first
line of its docstring. The README holds the table between two marker lines.

    python tools/op_table.py            print the table
    python tools/op_table.py --write    replace the table in README.md
    python tools/op_table.py --check    exit 1 when README.md's table is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN = "<!-- op table: written by tools/op_table.py from the rule table; do not edit -->"
END = "<!-- end of op table -->"


def _cell(doc: str) -> str:
    """A docstring's first paragraph on one line, safe inside a Markdown table."""
    return " ".join(doc.split("\n\n")[0].split()).replace("|", "\\|")


def _numpy_names() -> dict[object, list[str]]:
    """For each rule or composite op, the numpy spellings that dispatch to it."""
    import numpy as np

    from autograd import dispatch

    names: dict[object, list[str]] = {}
    for ufunc, (op, _) in dispatch._BINARY.items():
        names.setdefault(op, []).append(f"np.{ufunc.__name__}")
    for ufunc, op in dispatch._UNARY.items():
        names.setdefault(op, []).append(f"np.{ufunc.__name__}")
    for func, impl in dispatch._FUNCTIONS.items():
        prefix = "np.linalg." if func is np.linalg.norm else "np."
        names.setdefault(impl, []).append(prefix + func.__name__)
        # A numpy function reaching a rule through a wrapper shares the rule's name.
        names.setdefault(func.__name__, []).append(prefix + func.__name__)
    return names


def table() -> str:
    """The op table as Markdown."""
    from autograd import ops, rules
    from autograd.primitive import Primitive

    names = _numpy_names()
    rows = ["| op | derivative rule (from the rule table) | numpy spellings |", "|---|---|---|"]
    for key, attr in vars(rules).items():
        if isinstance(attr, Primitive) and attr.vjp is not None and not key.startswith("_"):
            spell = ", ".join(sorted(set(names.get(attr, []) + names.get(key.rstrip("_"), []))))
            rows.append(f"| {key.rstrip('_')} | {_cell(attr.vjp.__doc__)} | {spell} |")
    rows += ["", "| composite op (exact composition of rules) | definition | numpy spellings |",
             "|---|---|---|"]
    for name in sorted(n for n in vars(ops) if not n.startswith("_")):
        fn = getattr(ops, name)
        if callable(fn) and getattr(fn, "__module__", "") == ops.__name__:
            spell = ", ".join(sorted(set(names.get(fn, []) + names.get(name, []))))
            rows.append(f"| {name} | {_cell(fn.__doc__)} | {spell} |")
    return "\n".join(rows)


def current() -> str:
    """The table now in README.md."""
    text = README.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{README} has no op table markers ({BEGIN!r} ... {END!r})")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="replace the table in README.md")
    mode.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    args = ap.parse_args(argv)
    new = table()
    if args.check:
        if current() != new:
            print("README.md's op table is out of date: run python tools/op_table.py --write",
                  file=sys.stderr)
            return 1
        return 0
    if args.write:
        text = README.read_text(encoding="utf-8")
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        README.write_text(f"{head}{BEGIN}\n{new}\n{END}{tail}", encoding="utf-8")
        return 0
    print(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
