"""`deltagrad check`: gradient checks on a small MLP or conv net, as tables, JSON and a plot.

Builds an MLP (or, with --preset conv, a small conv net) and a random batch, then runs three
experiments on its loss: `gradcheck` over every parameter entry, the three-way table
(autograd, δ recursion, central differences, per layer and parameter) and the step-size sweep
in float64 and float32. When a check fails, every
op of the graph is rechecked on its own to name the wrong rule. Exit status 1 when a check
fails, 2 for a bad option.
"""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from autograd.files import json_safe, write_json
from nn import cli
from nn.cli import CommandError
from nn.layers import ACTIVATIONS
from nn.losses import LOSSES

# (eps, atol, rtol) of the gradcheck and the table: float32 differences are best near 1e-2
# (the bottom of its V-curve) and good to about three digits there.
TOLERANCES = {"float64": (1e-6, 1e-5, 1e-3), "float32": (1e-2, 1e-3, 1e-2)}
MAX_PARAMS = 5000
MAX_BATCH = 1000  # with 5000 parameters, 10,000 forward passes of this many examples
# Below the smallest normal float64 a step loses precision and 1/eps overflows.
SMALLEST_STEP = float(np.finfo(np.float64).tiny)
# The conv preset: every kind of conv layer and both pools, small enough to difference.
CONV_IMAGE = 8
CONV_NET = "conv 2x3x3, max pool 2, conv 3x2x2 padding 1, average pool 2, dense 12-3"


def register(subparsers: Any) -> None:
    """Add the `check` subcommand."""
    p = subparsers.add_parser(
        "check", help="gradient checks on a small MLP: gradcheck, three-way table, V-curve",
        description="Check an MLP's gradients three ways (autograd, the δ recursion, central "
                    "differences), sweep the finite-difference step, and name the wrong rule "
                    "when a check fails. Exit status 1 when a check fails.")
    p.add_argument("--preset", choices=("mlp", "conv"), default="mlp",
                   help="the network checked: an MLP of --sizes, or conv: a small conv net "
                        f"on {CONV_IMAGE}x{CONV_IMAGE} images ({CONV_NET}) (mlp)")
    p.add_argument("--sizes", default="4,5,3", help="layer widths, comma-separated (4,5,3)")
    p.add_argument("--activation", choices=list(ACTIVATIONS), default="sigmoid",
                   help="hidden activation (sigmoid)")
    p.add_argument("--output-activation", choices=[*ACTIVATIONS, "none"], default=None,
                   help="output activation (default: the loss's own: mse the hidden one, "
                        "bce sigmoid, cross_entropy none)")
    p.add_argument("--loss", choices=list(LOSSES), default="mse", help="cost function (mse)")
    p.add_argument("--dtype", choices=tuple(TOLERANCES), default="float64",
                   help="precision of the model and of its checks (float64)")
    p.add_argument("--eps", type=float, help="step of the gradcheck and the table "
                                             "(1e-6 in float64, 1e-2 in float32)")
    p.add_argument("--atol", type=float, help="absolute tolerance (1e-5; float32 1e-3)")
    p.add_argument("--rtol", type=float, help="relative tolerance (1e-3; float32 1e-2)")
    p.add_argument("--eps-min", type=float, default=1e-12, help="smallest swept step (1e-12)")
    p.add_argument("--eps-max", type=float, default=1e-1, help="largest swept step (1e-1)")
    p.add_argument("--batch", type=int, default=8, help="examples in the random batch (8)")
    p.add_argument("--seed", type=int, default=0, help="seeds the weights and the batch (0)")
    p.add_argument("--json", metavar="PATH", help="write every result as JSON")
    p.add_argument("--plot", metavar="PATH", help="draw the V-curve (PNG; needs matplotlib)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the checks; 0 when all agree, 1 when one fails."""
    cfg = _config(args)
    steps = _decades(cfg["eps_min"], cfg["eps_max"])
    model, x, y = _setup(cfg)
    results = _experiments(model, x, y, cfg, steps)
    print(results["gradcheck"], end="\n\n")
    print(results["table"], end="\n\n")
    if results["culprit"] is not None:
        print(results["culprit"], end="\n\n")
    print(_sweep_text(results["sweeps"]))
    for note in results["notes"]:
        print(f"note: {note}")
    ok = bool(results["gradcheck"]) and bool(results["table"])
    if args.json:
        _write_json(Path(args.json), _payload(cfg, results, ok))
        print(f"wrote {args.json}")
    if args.plot:
        _plot(results["sweeps"], Path(args.plot), cfg)
        print(f"wrote {args.plot}")
    print("all checks agree" if ok else "a check FAILED")
    return 0 if ok else 1


# ---- options ------------------------------------------------------------------------------

def _config(args: argparse.Namespace) -> dict[str, Any]:
    sizes = _sizes(args.sizes)
    eps, atol, rtol = TOLERANCES[args.dtype]
    if args.preset == "conv":
        if args.sizes != "4,5,3":
            raise CommandError("--sizes describes an MLP; the conv preset's layers are fixed")
        sizes = [CONV_IMAGE * CONV_IMAGE, 3]
    cfg = dict(preset=args.preset, sizes=sizes, activation=args.activation, loss=args.loss,
               dtype=args.dtype,
               output_activation=_output(args), eps=_positive(args.eps, eps, "--eps"),
               atol=_positive(args.atol, atol, "--atol", zero=True),
               rtol=_positive(args.rtol, rtol, "--rtol", zero=True),
               eps_min=_positive(args.eps_min, None, "--eps-min"),
               eps_max=_positive(args.eps_max, None, "--eps-max"), batch=args.batch,
               seed=args.seed)
    if cfg["eps_min"] > cfg["eps_max"]:
        raise CommandError(f"--eps-min {args.eps_min:g} is larger than --eps-max "
                           f"{args.eps_max:g}")
    cli.check_range("--batch", args.batch, 1, MAX_BATCH)
    cli.check_seed(args.seed)
    if args.loss == "cross_entropy" and sizes[-1] < 2:
        raise CommandError(f"cross_entropy needs at least 2 output classes, --sizes ends in "
                           f"{sizes[-1]}")
    spec = LOSSES[args.loss]
    if not spec.fits(cfg["output_activation"]):
        raise CommandError(f"--loss {args.loss} is defined here for the output activation "
                           f"{spec.output or 'none'}, got {args.output_activation}; valid: "
                           + ", ".join(s.describe() for s in LOSSES.values()))
    # unwritable or coinciding outputs and an unknown plot format are refused before the checks
    cli.check_outputs({"--json": args.json, "--plot": args.plot})
    cli.check_plot(args.plot)
    return cfg


def _sizes(text: str) -> list[int]:
    return cli.parse_sizes(text, "4,5,3", MAX_PARAMS, "the checks difference every one of them")


def _output(args: argparse.Namespace) -> str | None:
    if args.output_activation is None:
        return LOSSES[args.loss].output_activation(args.activation)
    return None if args.output_activation == "none" else args.output_activation


def _positive(value: float | None, default: float | None, flag: str,
              zero: bool = False) -> float:
    value = default if value is None else value
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        raise CommandError(f"{flag} must be a {'non-negative' if zero else 'positive'} "
                           f"number, got {value:g}")
    if flag.startswith("--eps") and not SMALLEST_STEP <= value <= 1:
        raise CommandError(f"{flag} must be from {SMALLEST_STEP:g} (the smallest normal "
                           f"float64) to 1, got {value:g}")
    return float(value)


def _decades(lo: float, hi: float) -> list[float]:
    """hi, hi/10, … down to lo (lo itself included when the decades do not land on it)."""
    n = math.floor(math.log10(hi) - math.log10(lo) + 1e-9)
    steps = [hi * 10.0 ** -k for k in range(n + 1)]
    return steps if math.isclose(steps[-1], lo, rel_tol=1e-9) else [*steps, lo]


# ---- the experiments ----------------------------------------------------------------------

def _setup(cfg: dict[str, Any]) -> tuple[Any, np.ndarray, np.ndarray]:
    from nn.layers import MLP

    sizes = cfg["sizes"]
    rng = np.random.default_rng(cfg["seed"] + 1)
    if cfg.get("preset") == "conv":
        model = _conv_model(cfg)
        x = rng.standard_normal((cfg["batch"], 1, CONV_IMAGE, CONV_IMAGE))
    else:
        model = MLP(sizes, activation=cfg["activation"],
                    output_activation=cfg["output_activation"], seed=cfg["seed"],
                    dtype=np.dtype(cfg["dtype"]))
        x = rng.standard_normal((cfg["batch"], sizes[0]))
    if LOSSES[cfg["loss"]].targets == "labels":
        y = rng.integers(0, sizes[-1], cfg["batch"])
    elif cfg["loss"] == "bce":
        y = (rng.random((cfg["batch"], sizes[-1])) < 0.5).astype(np.float64)
    else:
        y = rng.random((cfg["batch"], sizes[-1]))
    return model, x, y


def _conv_model(cfg: dict[str, Any]) -> Any:
    """The conv preset's network (CONV_NET), its activations and output as configured; the
    document's N(0, 1) weights keep every gradient entry large enough for a float32 sweep."""
    from nn.conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
    from nn.layers import Linear, Sequential, activation

    rng = np.random.default_rng(cfg["seed"])
    kw = dict(rng=rng, dtype=np.dtype(cfg["dtype"]), init="normal")
    steps = [Conv2d(1, 2, 3, **kw), activation(cfg["activation"]), MaxPool2d(2),
             Conv2d(2, 3, 2, padding=1, **kw), activation(cfg["activation"]), AvgPool2d(2),
             Flatten(), Linear(12, cfg["sizes"][-1], **kw)]
    if cfg["output_activation"] is not None:
        steps.append(activation(cfg["output_activation"]))
    return Sequential(*steps)


def _experiments(model: Any, x: np.ndarray, y: np.ndarray, cfg: dict[str, Any],
                 steps: list[float]) -> dict[str, Any]:
    from nn.gradtable import find_culprit, grad_table, model_gradcheck, model_sweep

    tol = dict(eps=cfg["eps"], atol=cfg["atol"], rtol=cfg["rtol"])
    loss = cfg["loss"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = model_gradcheck(model, x, y, loss, **tol)
        table = grad_table(model, x, y, loss, **tol)
        culprit = None if report and table else find_culprit(model, x, y, loss, **tol)
        sweeps = [model_sweep(model, x, y, loss, eps=steps, dtype=d) for d in TOLERANCES]
    notes = list(dict.fromkeys(str(w.message) for w in caught))
    return dict(gradcheck=report, table=table, culprit=culprit, sweeps=sweeps, notes=notes)


def _sweep_text(sweeps: list[Any]) -> str:
    head = "step-size sweep (max relative error of the gradient; the reference is float64):"
    cols = f"  {'eps':>8}" + "".join(f"{s.dtype:>14}" for s in sweeps)
    lines = [head, cols]
    for i, row in enumerate(sweeps[0].rows):
        cells = "".join(f"{s.rows[i].max_rel_error:>14.2e}" for s in sweeps)
        lines.append(f"  {row.eps:>8.0e}{cells}")
    lines.append("  best    " + "".join(f"{f'eps {s.best.eps:.0e}':>14}" for s in sweeps))
    return "\n".join(lines)


# ---- output -------------------------------------------------------------------------------

def _payload(cfg: dict[str, Any], results: dict[str, Any], ok: bool) -> dict[str, Any]:
    culprit = results["culprit"]
    return {"config": cfg, "ok": ok, "gradcheck": results["gradcheck"].to_dict(),
            "table": results["table"].to_dict(),
            "culprit": None if culprit is None else culprit.to_dict(),
            "sweeps": [s.to_dict() for s in results["sweeps"]], "notes": results["notes"]}


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write strict JSON with the package's one writer: a non-finite error (a step too small
    or too large for the arithmetic) is null, and `non_finite` says some were."""
    data, bad = json_safe(payload)
    write_json(path, {**data, "non_finite": bad})


def _plot(sweeps: list[Any], path: Path, cfg: dict[str, Any]) -> None:
    from autograd.check import plot_sweep

    net = "conv net" if cfg.get("preset") == "conv" else "MLP " + "-".join(map(str, cfg["sizes"]))
    title = f"V-curve: {net} {cfg['activation']}, {cfg['loss']} loss"
    try:
        plot_sweep(sweeps, path, title=title)
    except ImportError as e:
        raise CommandError(str(e)) from None
    except FileNotFoundError as e:
        raise CommandError(str(e)) from None
