"""The `deltagrad` command line (also `python -m nn`)."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from nn import __version__

# Each module adds one subcommand through its register(subparsers).
COMMANDS: tuple[str, ...] = ("train", "draw", "check")


class CommandError(Exception):
    """A problem with what the user asked for: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad option reported in one line like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    parser = _Parser(
        prog="deltagrad",
        description="Train and inspect backpropagation networks with the deltagrad engine.")
    parser.add_argument("--version", action="version", version=f"deltagrad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"nn.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except (CommandError, OSError, ValueError, TypeError) as e:
        print(f"deltagrad {args.command}: error: {e}", file=sys.stderr)
        return 2
    except MemoryError as e:
        print(f"deltagrad {args.command}: error: out of memory ({e or 'no details'}); try "
              "smaller --sizes or batches", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"deltagrad {args.command}: interrupted", file=sys.stderr)
        return 130
