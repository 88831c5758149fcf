"""The `deltagrad` command line (also `python -m nn`)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import itertools
import os
import sys
from pathlib import Path
from typing import NoReturn

from autograd.files import check_target, same_file
from nn import __version__

# Each module adds one subcommand through its register(subparsers).
COMMANDS: tuple[str, ...] = ("train", "draw", "check")


class CommandError(Exception):
    """A problem with what the user asked for: printed as one line, exit status 2."""


def parse_sizes(text: str, example: str, limit: int | None = None, why: str = "") -> list[int]:
    """Layer widths from "784,30,10": two or more positive integers, or a CommandError; with
    `limit`, a network of more parameters is refused, saying `why` the limit is there."""
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise CommandError(f"--sizes must be comma-separated integers like {example}, got "
                           f"{text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise CommandError(f"--sizes needs at least two positive widths, like {example}; got "
                           f"{text!r}")
    n = sum(a * b + b for a, b in itertools.pairwise(sizes))
    if limit is not None and n > limit:
        raise CommandError(f"--sizes {text} has {n} parameters; {why}, so keep to {limit} or "
                           "fewer")
    check_memory(n, f"--sizes {text}")
    return sizes


def check_range(flag: str, value: int, low: int, high: int) -> None:
    """An integer option from low to high, or a CommandError naming the bound it crosses."""
    if value < low:
        raise CommandError(f"{flag} must be at least {low}, got {value}")
    if value > high:
        raise CommandError(f"{flag} must be at most {high:,}, got {value}")


def check_seed(seed: int) -> None:
    """A seed the library takes (nn.init.make_rng), else an error naming the option."""
    from nn.init import SeedError, make_rng

    try:
        make_rng(seed)
    except SeedError as e:
        raise CommandError(f"--{e}") from None


def check_output(flag: str, path: str | None) -> None:
    """Refuse an output file that could not be written, before any work is done: a folder, a
    FIFO or device, a symlink loop, a missing or read-only folder."""
    if path is None:
        return
    try:
        real = check_target(path)
    except OSError as e:
        if e.errno == errno.EISDIR:
            raise CommandError(f"{flag} {path} is a folder; give a file name") from None
        if e.errno == errno.ENOENT:
            folder = Path(os.path.realpath(path)).parent
            raise CommandError(f"{flag} {path}: folder {folder} does not exist") from None
        raise CommandError(f"{flag} {path}: {e.strerror}") from None
    if not os.access(real.parent, os.W_OK):
        raise CommandError(f"{flag} {path}: folder {real.parent} is not writable")


def check_outputs(outputs: dict[str, str | None]) -> None:
    """Check each output path ({flag: path}) and refuse two that name one file under any
    spelling (symlink, ./, .., hard link): the second write would destroy the first."""
    given = [(flag, path) for flag, path in outputs.items() if path is not None]
    for flag, path in given:
        check_output(flag, path)
    for (fa, a), (fb, b) in itertools.combinations(given, 2):
        if same_file(a, b):
            raise CommandError(f"{fa} {a} and {fb} {b} are the same file; give each output "
                               "its own")


def check_plot(path: str | None) -> None:
    """Refuse --plot without matplotlib, or with a format matplotlib cannot write, before any
    work is done."""
    if path is None:
        return
    from nn.plot import plot_format

    try:
        plot_format(path)
    except ImportError:
        raise CommandError("--plot needs matplotlib: pip install 'deltagrad[plot]'") from None
    except ValueError as e:
        raise CommandError(f"--plot: {e}") from None


def check_memory(count: int, what: str) -> None:
    """Refuse a model of `count` float64 parameters larger than the machine's memory."""
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        if 8 * count > memory:
            raise CommandError(f"{what} has {count:,} parameters ({8 * count / 2**30:,.0f} GiB)"
                               f": it would run out of memory ({memory / 2**30:.0f} GiB here)")


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
    except (CommandError, OSError, ValueError, TypeError, ArithmeticError) as e:
        print(f"deltagrad {args.command}: error: {e}", file=sys.stderr)
        return 2
    except MemoryError as e:
        print(f"deltagrad {args.command}: error: out of memory ({e or 'no details'}); try "
              "smaller --sizes or batches", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"deltagrad {args.command}: interrupted", file=sys.stderr)
        return 130
