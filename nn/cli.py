"""The `deltagrad` command line (also `python -m nn`)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import NoReturn

from nn import __version__

# Each module adds one subcommand through its register(subparsers).
COMMANDS: tuple[str, ...] = ("train", "draw", "check")


class CommandError(Exception):
    """A problem with what the user asked for: printed as one line, exit status 2."""


def parse_sizes(text: str, example: str) -> list[int]:
    """Layer widths from "784,30,10": two or more positive integers, or a CommandError."""
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise CommandError(f"--sizes must be comma-separated integers like {example}, got "
                           f"{text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise CommandError(f"--sizes needs at least two positive widths, like {example}; got "
                           f"{text!r}")
    return sizes


def check_seed(seed: int) -> None:
    """A seed the library takes (nn.init.make_rng), else an error naming the option."""
    from nn.init import SeedError, make_rng

    try:
        make_rng(seed)
    except SeedError as e:
        raise CommandError(f"--{e}") from None


def check_output(flag: str, path: str | None) -> None:
    """Refuse an output file that could not be written, before any work is done."""
    if path is None:
        return
    folder = Path(path).parent
    if Path(path).is_dir():
        raise CommandError(f"{flag} {path} is a folder; give a file name")
    if not folder.is_dir():
        raise CommandError(f"{flag} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise CommandError(f"{flag} {path}: folder {folder} is not writable")


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad option reported in one line like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def version() -> str:
    """The version, and where the engine is imported from: the unrelated HIPS `autograd`
    package has the same import name, and this shows which one Python finds."""
    import autograd

    where = Path(autograd.__file__).resolve().parent
    if getattr(autograd, "__version__", None) != __version__ or not hasattr(autograd, "Value"):
        return (f"deltagrad {__version__}; but the `autograd` imported from {where} is not "
                "deltagrad's engine (uninstall the other package named autograd)")
    return f"deltagrad {__version__} (engine: autograd at {where})"


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    parser = _Parser(
        prog="deltagrad",
        description="Train and inspect backpropagation networks with the deltagrad engine.")
    parser.add_argument("--version", action="version", version=version())
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
