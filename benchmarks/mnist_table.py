"""The README's full-MNIST table, reproduced: the document's network over seeds, and the nielsen
preset, trained exactly as `deltagrad train --data DIR [--preset nielsen] --seed N` trains them.

    python benchmarks/mnist_table.py --data path/to/mnist                  # the whole table
    python benchmarks/mnist_table.py --data path/to/mnist --seeds 0 --nielsen-seeds 0

Each run prints the document's "Epoch j: correct / total" lines; the end is the table in the
README's form: best test accuracy over the epochs (the range over seeds, and seed 0's), the
first epoch at 98% where one reached it, and the training time (wall clock, evaluation
excluded). --epochs and --train-limit shorten the runs for a quick check of the script itself.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # the README's figures are one-thread figures

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout too

from nn.commands.train import PRESETS, build_model  # noqa: E402
from nn.data import MNIST, Split, load_mnist  # noqa: E402
from nn.train import train  # noqa: E402

GOAL = 0.98  # the nielsen row reports the first epoch at or above this accuracy


@dataclass
class Run:
    """One training run's outcome."""

    preset: str
    seed: int
    epochs: int
    best: float
    best_epoch: int
    first_at_goal: int | None
    seconds: float


def run(preset: str, seed: int, data: MNIST, epochs: int | None, log: Any = print) -> Run:
    """Train the preset's network with `seed` (the CLI's own configuration and builder)."""
    cfg = dict(PRESETS[preset], seed=seed)
    if epochs is not None:
        cfg["epochs"] = epochs
    model, optimizer = build_model(cfg)
    history = train(model, optimizer, data.train, epochs=cfg["epochs"],
                    batch_size=cfg["batch_size"], loss=cfg["loss"], test=data.test, seed=seed,
                    progress=False, log=log)
    best = history.best()
    at_goal = [e.epoch for e in history.epochs if e.accuracy is not None and e.accuracy >= GOAL]
    return Run(preset, seed, cfg["epochs"], best.accuracy, best.epoch,
               at_goal[0] if at_goal else None, history.seconds)


def _seeds(runs: list[Run]) -> str:
    seeds = [r.seed for r in runs]
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds))


def row(runs: list[Run]) -> str:
    """One table row for the runs of one preset."""
    first = runs[0]
    name = ("document's network" if first.preset == "document"
            else f"`--preset {first.preset}`")
    accs = sorted(r.best for r in runs)
    acc = f"{100 * accs[0]:.2f}%"
    if len(runs) > 1:
        acc = f"{100 * accs[0]:.2f}-{100 * accs[-1]:.2f}% (seed {first.seed}: " \
              f"{100 * first.best:.2f}%)"
    goal = [r.first_at_goal for r in runs if r.first_at_goal is not None]
    if goal:
        acc += f" (first ≥ {100 * GOAL:.0f}% at epoch {min(goal)})"
    secs = [_secs(s) for s in sorted(r.seconds for r in runs)]
    time = f"{secs[0]} s" if len(secs) == 1 else f"{secs[0]}-{secs[-1]} s"
    epochs = f"{first.epochs} epoch{'s' if first.epochs > 1 else ''}"
    return f"| {name}, {epochs}, {_seeds(runs)} | {acc} | {time} |"


def _secs(s: float) -> str:
    return f"{s:.0f}" if s >= 10 else f"{s:.1f}"


def table(groups: list[list[Run]]) -> str:
    """The README's table for the given groups of runs."""
    head = ["| run | best test accuracy | training time |", "|---|---|---|"]
    return "\n".join(head + [row(g) for g in groups if g])


def _data(folder: str, limit: int | None) -> MNIST:
    data = load_mnist(folder)
    if limit is None:
        return data
    return MNIST(train=Split(data.train.images[:limit], data.train.labels[:limit]),
                 test=data.test, source=data.source)


def _seed_list(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be comma-separated integers, got "
                                         f"{text!r}") from None
    if any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be zero or positive, got {text!r}")
    return seeds


def main(argv: list[str] | None = None) -> int:
    """Parse the options, train every run asked for, print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, metavar="DIR",
                   help="folder with the four MNIST IDX .gz files")
    p.add_argument("--seeds", type=_seed_list, default=[0, 1, 2, 3],
                   help="seeds of the document's network, comma-separated (0,1,2,3)")
    p.add_argument("--nielsen-seeds", type=_seed_list, default=[0],
                   help="seeds of the nielsen preset ('' for none; default 0)")
    p.add_argument("--epochs", type=int, help="override every preset's epoch count")
    p.add_argument("--train-limit", type=int, metavar="N", help="first N training images only")
    p.add_argument("--json", metavar="PATH", help="also write every run as JSON")
    args = p.parse_args(argv)
    if not Path(args.data).is_dir():
        p.error(f"--data {args.data}: no such folder")
    data = _data(args.data, args.train_limit)
    groups = [[run(preset, s, data, args.epochs) for s in seeds]
              for preset, seeds in (("document", args.seeds), ("nielsen", args.nielsen_seeds))]
    print(table(groups))
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for g in groups for r in g], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
