"""`deltagrad train`: the document's MNIST experiment from the command line.

With no options it trains the section-5 network (784-30-10, sigmoid, quadratic cost,
mini-batch SGD with η = 3.0, batch 10, standard-normal weights) for 30 epochs on the MNIST
subset bundled with the package; `--data DIR` trains on the full set instead.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from autograd.files import same_file, write_json
from nn import cli
from nn.cli import CommandError
from nn.losses import LOSSES
from nn.train import Diverged

OPTIMIZERS = ("sgd", "momentum", "adam")
ACTIVATIONS = ("sigmoid", "tanh", "relu")
INITS = ("normal", "nielsen", "xavier", "he")
DTYPES = ("float64", "float32")
MOMENTUM = 0.9
MAX_THREADS = 1024
# Far beyond any useful run, yet small enough that no count overflows numpy's integers.
LIMITS = {"epochs": 1_000_000, "batch_size": 10_000_000, "train_limit": 2**62}
# Nielsen's network2 (Neural Networks and Deep Learning, ch. 3): sigmoid outputs with the
# cross-entropy of section 4.2.2 per unit, N(0, 1/n_in) weights, L2 cost λ/(2n) Σw² with
# λ = 5.0 over n = 50,000 images, η = 0.1, 60 epochs: 98.04% in the book. Its update
# w ← (1 − ηλ/n) w − η ∂C₀/∂w is SGD with weight_decay = λ/n added to the gradient.
NIELSEN_DECAY = 5.0 / 50_000
# Nielsen's chapter-6 network (network3.py): two conv-pool layers of 20 and 40 5×5 filters,
# 100 fully connected units, ReLU throughout, softmax cross-entropy, η = 0.03, batch 10, and
# L2 with λ = 0.1 over n = 50,000 images (99.23% after 60 epochs in the book). Ten epochs keep
# the bundled subset to a few minutes; --epochs sets the real run.
CONV_DECAY = 0.1 / 50_000

PRESETS: dict[str, dict[str, Any]] = {
    "document": dict(sizes=[784, 30, 10], epochs=30, batch_size=10, lr=3.0, loss="mse",
                     optimizer="sgd", activation="sigmoid", init="normal", weight_decay=0.0),
    "nielsen": dict(sizes=[784, 100, 10], epochs=60, batch_size=10, lr=0.1, loss="bce",
                    optimizer="sgd", activation="sigmoid", init="nielsen",
                    weight_decay=NIELSEN_DECAY),
    "conv": dict(net="conv", sizes=[784, 100, 10], epochs=10, batch_size=10, lr=0.03,
                 loss="cross_entropy", optimizer="sgd", activation="relu", init="he",
                 weight_decay=CONV_DECAY, dropout=0.0),
}


def register(subparsers: Any) -> None:
    """Add the `train` subcommand."""
    p = subparsers.add_parser(
        "train", help="train an MLP on MNIST (the document's 784-30-10 network by default)",
        description="Train an MLP on MNIST and print 'Epoch j: correct / total' after each "
                    "epoch. With no options: the document's section-5 network on the bundled "
                    "subset.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_epilog())
    p.add_argument("--data", metavar="DIR",
                   help="folder with the four MNIST IDX .gz files (default: the bundled subset)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="document",
                   help="starting configuration; the options below override it "
                        "(default: document)")
    p.add_argument("--sizes", help="layer widths, comma-separated (document: 784,30,10)")
    p.add_argument("--epochs", type=int, help="passes over the training set (30)")
    p.add_argument("--batch-size", type=int, help="examples per mini-batch (10)")
    p.add_argument("--lr", type=float, help="learning rate η (document: 3.0)")
    p.add_argument("--loss", choices=list(LOSSES), help="cost function (document: mse)")
    p.add_argument("--optimizer", choices=OPTIMIZERS,
                   help=f"update rule (sgd; momentum is SGD with momentum {MOMENTUM})")
    p.add_argument("--activation", choices=ACTIVATIONS, help="hidden activation (sigmoid)")
    p.add_argument("--init", choices=INITS, help="weight initialiser (document: normal)")
    p.add_argument("--weight-decay", type=float, metavar="L2",
                   help="L2 decay of the weights, weight_decay * w added to their gradient; "
                        "biases are not decayed (document: 0)")
    p.add_argument("--dropout", type=float, metavar="P",
                   help="conv preset: Dropout(P) after the fully connected layer (0: none)")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the weights and the shuffling: same seed, same weights (0)")
    p.add_argument("--train-limit", type=int, metavar="N",
                   help="train on the first N training images only (quick runs)")
    p.add_argument("--save", metavar="PATH", help="write the trained weights (.npz)")
    p.add_argument("--json", metavar="PATH", help="write the configuration and history (JSON)")
    p.add_argument("--plot", metavar="PATH",
                   help="draw loss and accuracy curves to an image (needs matplotlib)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: when stdout is a terminal)")
    p.add_argument("--eager", action="store_true",
                   help="run each step eagerly instead of compiled (nn.compile_step): slower, "
                        "same epoch lines")
    p.add_argument("--fuse", action="store_true",
                   help="compile with all four fusions of nn.FUSIONS: 5-10%% faster, but they "
                        "round differently (within 1e-12 a step), so the epoch lines part "
                        "from --eager's after a few epochs")
    p.add_argument("--dtype", choices=DTYPES, default="float64",
                   help="float type of weights, data and arithmetic (float64)")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="BLAS threads (1: mini-batches are too small to gain from more, and "
                        "extra threads slow training down on a busy machine)")
    p.set_defaults(run=run)


def _epilog() -> str:
    lines = ["presets:"]
    for name, cfg in PRESETS.items():
        sizes = "conv20-pool-conv40-pool-100-10" if cfg.get("net") == "conv" else \
            "--sizes " + ",".join(map(str, cfg["sizes"]))
        lines.append(f"  {name:9} {sizes} --epochs {cfg['epochs']} --loss {cfg['loss']} "
                     f"--lr {cfg['lr']} --init {cfg['init']} "
                     f"--weight-decay {cfg['weight_decay']:g}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Check the options, load the data, train, report, then write what was asked for."""
    from nn.compiled import EXACT_FUSIONS
    from nn.train import train

    cfg = config(args)
    cli.check_range("--threads", args.threads, 1, MAX_THREADS)
    _check_outputs(args)
    data = _load(args.data, cfg["train_limit"])
    model, optimizer = build_model(cfg)
    print(f"Training {_network_name(cfg)} ({cfg['activation']}, {cfg['loss']}, "
          f"{cfg['optimizer']} lr={cfg['lr']:g}, batch {cfg['batch_size']}, init "
          f"{cfg['init']}, seed {cfg['seed']}) on {len(data.train)} images from "
          f"{data.source}; testing on {len(data.test)}")
    try:
        with threadpool_limits(limits=args.threads, user_api="blas"):
            history = train(model, optimizer, data.train, epochs=cfg["epochs"],
                            batch_size=cfg["batch_size"], loss=cfg["loss"], test=data.test,
                            seed=cfg["seed"], progress=args.progress,
                            compiled=not cfg["eager"],
                            fusions=True if cfg.get("fuse") else EXACT_FUSIONS)
    except Diverged as e:
        return _diverged(args, cfg, e)
    _summary(history)
    _write(args, cfg, model, history)
    return 0


def _diverged(args: argparse.Namespace, cfg: dict[str, Any], e: Diverged) -> int:
    """Say where training diverged in one line; keep any previous checkpoint and plot, and
    write the JSON history (it says the run diverged). Exit status 1."""
    wrote = args.json and e.history is not None
    if wrote:
        write_json(args.json, {"config": cfg, **e.history.to_dict()})
    print(f"deltagrad train: {e}; the weights were not saved"
          + (f"; the history is in {args.json}" if wrote else ""), file=sys.stderr)
    return 1


def _network_name(cfg: dict[str, Any]) -> str:
    """How the network is named in the first line of output."""
    if cfg.get("net") == "conv":
        drop = f"-dropout {cfg['dropout']:g}" if cfg["dropout"] else ""
        return f"784-conv20x5x5-maxpool2-conv40x5x5-maxpool2-{cfg['sizes'][1]}{drop}-10"
    return "-".join(map(str, cfg["sizes"]))


def config(args: argparse.Namespace) -> dict[str, Any]:
    """The preset with the given options laid over it, every value checked."""
    cfg = dict(PRESETS[args.preset])
    for key in ("epochs", "batch_size", "lr", "loss", "optimizer", "activation", "init",
                "weight_decay"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    if args.sizes is not None:
        if cfg.get("net") == "conv":
            raise CommandError("--sizes describes an MLP; the conv preset's layers are fixed")
        cfg["sizes"] = _mnist_sizes(args.sizes)
    if args.dropout is not None:
        if cfg.get("net") != "conv":
            raise CommandError("--dropout applies to --preset conv only")
        if not 0.0 <= args.dropout < 1.0:
            raise CommandError(f"--dropout must be in [0, 1), got {args.dropout:g}")
        cfg["dropout"] = args.dropout
    if cfg.get("net") == "conv" and cfg["loss"] != "cross_entropy":
        raise CommandError("--preset conv ends in logits: it trains with --loss cross_entropy "
                           "only")
    if args.fuse and args.eager:
        raise CommandError("--fuse chooses the compiled step's fusions; --eager runs no "
                           "compiled step: give one of them")
    cfg.update(preset=args.preset, seed=args.seed, train_limit=args.train_limit,
               data=args.data, dtype=args.dtype, eager=args.eager, fuse=args.fuse)
    _check(cfg)
    return cfg


def _mnist_sizes(text: str) -> list[int]:
    """"784,30,10" as [784, 30, 10], checked for MNIST: 784 inputs, 10 outputs."""
    sizes = cli.parse_sizes(text, "784,30,10")
    if sizes[0] != 784:
        raise CommandError(f"--sizes must start with 784 (28x28 MNIST pixels), got {sizes[0]}")
    if sizes[-1] != 10:
        raise CommandError(f"--sizes must end with 10 (the digits 0-9), got {sizes[-1]}")
    return sizes


def _check(cfg: dict[str, Any]) -> None:
    for key in ("epochs", "batch_size", "train_limit"):
        if cfg[key] is not None:
            cli.check_range(f"--{key.replace('_', '-')}", cfg[key], 1, LIMITS[key])
    if not (math.isfinite(cfg["lr"]) and cfg["lr"] > 0):
        raise CommandError(f"--lr must be a positive number, got {cfg['lr']:g}")
    if not (math.isfinite(cfg["weight_decay"]) and cfg["weight_decay"] >= 0):
        raise CommandError(f"--weight-decay must be zero or positive, got "
                           f"{cfg['weight_decay']:g}")
    cli.check_seed(cfg["seed"])


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse unwritable or coinciding output paths, a missing matplotlib and an unknown plot
    format before training, not after."""
    outputs = {f"--{flag}": getattr(args, flag) for flag in ("save", "json", "plot")}
    cli.check_outputs(outputs)
    for flag, path in outputs.items():
        for data in _data_files(args.data) if path is not None else ():
            if data.exists() and same_file(path, data):
                raise CommandError(f"{flag} {path} is the data file {data}: writing it would "
                                   "destroy the training data")
    cli.check_plot(args.plot)


def _data_files(folder: str | None) -> list[Path]:
    """The files training reads: the bundled subset, or the IDX files of --data (gzipped or
    not)."""
    from nn import data

    if folder is None:
        return [Path(data.__file__).parent / "datasets" / data.SUBSET]
    return [Path(folder) / n for name in data.FILES.values()
            for n in (name, name.removesuffix(".gz"))]


def _load(folder: str | None, limit: int | None) -> Any:
    """The data set, with the training split cut to its first `limit` images."""
    from nn.data import MNIST, Split, load_mnist

    if folder is not None and not Path(folder).is_dir():
        what = "is a file, not a folder" if Path(folder).exists() else "no such folder"
        raise CommandError(f"--data {folder}: {what} (it should hold the four MNIST IDX .gz "
                           "files)")
    data = load_mnist(folder)
    if limit is None:
        return data
    if limit > len(data.train):
        raise CommandError(f"--train-limit {limit} is more than the {len(data.train)} "
                           f"training images in {data.source}")
    part = Split(data.train.images[:limit], data.train.labels[:limit])
    return MNIST(train=part, test=data.test, source=data.source)


def build_model(cfg: dict[str, Any]) -> tuple[Any, Any]:
    """The model and optimizer the configuration describes."""
    from nn.optim import SGD, Adam

    model = _model(cfg)
    lr, decay = cfg["lr"], cfg["weight_decay"]
    params = weight_decay_groups(model.parameters(), decay)
    if cfg["optimizer"] == "adam":
        return model, Adam(params, lr=lr, weight_decay=decay)
    momentum = MOMENTUM if cfg["optimizer"] == "momentum" else 0.0
    return model, SGD(params, lr=lr, momentum=momentum, weight_decay=decay)


def weight_decay_groups(params: Any, decay: float) -> list[dict[str, Any]]:
    """Two parameter groups: weights (two or more axes) decayed, biases not, as in Nielsen's
    network2, whose L2 term λ/(2n) Σw² sums over the weights only. Without decay, one group
    in the parameters' order: the document's update, which compile_step fuses and SGD applies
    to an MLP's parameters with one subtraction (two groups would take neither path)."""
    params = list(params)
    if not decay:
        return [{"params": params, "weight_decay": 0.0}]
    groups = [{"params": [p for p in params if p.ndim > 1], "weight_decay": decay},
              {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def _model(cfg: dict[str, Any]) -> Any:
    """The preset's network: Nielsen's chapter-6 conv net, or an MLP of the given sizes."""
    from nn.conv import nielsen_conv_net
    from nn.layers import MLP

    if cfg.get("net") == "conv":
        return nielsen_conv_net(cfg["sizes"][1], activation=cfg["activation"],
                                dropout=cfg["dropout"], init=cfg["init"], seed=cfg["seed"],
                                dtype=cfg.get("dtype", "float64"))
    output = LOSSES[cfg["loss"]].output_activation(cfg["activation"])
    return MLP(cfg["sizes"], activation=cfg["activation"], output_activation=output,
               init=cfg["init"], seed=cfg["seed"], dtype=cfg.get("dtype", "float64"))


def _summary(history: Any) -> None:
    best = history.best()
    print(f"Best: epoch {best.epoch}, {best.correct} / {best.total} "
          f"({100 * best.accuracy:.2f}%); training {history.seconds:.1f} s "
          f"(CPU {history.cpu_seconds:.1f} s)")


def _write(args: argparse.Namespace, cfg: dict[str, Any], model: Any, history: Any) -> None:
    if args.save:
        model.save(args.save)
        print(f"Saved the weights to {args.save}")
    if args.json:
        write_json(args.json, {"config": cfg, **history.to_dict()})
        print(f"Wrote the history to {args.json}")
    if args.plot:
        from nn.plot import plot_history

        plot_history(history, args.plot, title=f"{_network_name(cfg)} "
                                               f"{cfg['loss']}, lr {cfg['lr']:g}")
        print(f"Drew the curves to {args.plot}")
