"""Gradient-check experiments, one step at a time.

A gradient computed by backpropagation can be checked against central differences,

    ∂f/∂xᵢ ≈ (f(x + eps·eᵢ) − f(x − eps·eᵢ)) / (2·eps),

which need nothing but f itself. This script runs five small experiments:

  1. a check that passes, and what the report says;
  2. a rule that is 0.3% wrong: the check fails, and the culprit finder names the op;
  3. a kink (relu at 0), where no derivative exists: inconclusive, not failed;
  4. the three-way table on a small network: autograd, the δ recursion, differences;
  5. the V-curve: the error against eps, in float64 and float32, saved as a picture.

Run it with a folder for the picture (default: a new temporary folder):

    python examples/gradcheck_experiments.py [OUTDIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from autograd import Tensor, gradcheck, primitive
from autograd.check import locate_culprit, plot_sweep, sweep


def banner(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def smooth(x: Tensor) -> Tensor:
    """f(x) = Σ sin(x)·eˣ, a smooth function with a known gradient (cos x + sin x)·eˣ."""
    return (x.sin() * x.exp()).sum()


def first_check() -> None:
    banner("1. a check that passes")
    report = gradcheck(smooth, np.array([0.3, 1.2, -0.7]))
    print(report)


# A user-defined op whose rule is 0.3% too big: the kind of slip a check must catch.
@primitive
def cube(x):
    return x ** 3


@cube.defvjp
def cube_vjp(g, out, x):
    return (3.009 * x ** 2 * g,)  # should be 3·x²·g


def wrong_rule() -> None:
    banner("2. a rule that is 0.3% wrong")

    def f(x, w):
        h = (x @ w).tanh()
        return (cube(h) * h.sigmoid()).sum()

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    print(gradcheck(f, x, w, names=["x", "w"]))
    print("\nWhich op is wrong? Recheck every rule in the graph on its own:")
    print(locate_culprit(f, x, w))


def kink() -> None:
    banner("3. a kink: relu at 0")
    print(gradcheck(lambda x: x.relu().sum(), np.array([0.0, 1.5, -2.0])))


def three_way() -> None:
    banner("4. the three-way table on a 4-5-3 sigmoid network")
    from nn.gradtable import grad_table
    from nn.layers import MLP

    rng = np.random.default_rng(1)
    model = MLP([4, 5, 3], activation="sigmoid", seed=0)
    x, y = rng.standard_normal((8, 4)), rng.random((8, 3))
    print(grad_table(model, x, y, loss="mse"))


def v_curve(outdir: Path) -> None:
    banner("5. the V-curve: error against step size")
    x = np.array([0.3, 1.2, -0.7])
    curves = [sweep(smooth, x, dtype=d, label="Σ sin(x)·eˣ") for d in ("float64", "float32")]
    for s in curves:
        print(s)
    print("Large steps: truncation error (∝ eps²). Small steps: round-off (∝ 1/eps).")
    try:
        path = plot_sweep(curves, outdir / "vcurve.png",
                          title="Central differences of Σ sin(x)·eˣ: the V-curve")
    except ImportError as e:
        print(f"(no picture: {e})")
    else:
        print(f"wrote {path}")


def main(argv: list[str]) -> int:
    outdir = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="deltagrad-"))
    outdir.mkdir(parents=True, exist_ok=True)
    first_check()
    wrong_rule()
    kink()
    three_way()
    v_curve(outdir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
