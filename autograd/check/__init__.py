"""Gradient checking: the analytic Jacobian against central differences, entry by entry.

    >>> from autograd import gradcheck, Tensor
    >>> gradcheck(lambda x: (x.sin() * x).sum(), Tensor([0.5, 1.5])).ok
    True

`fd` computes the differences, `report` compares them with the engine's gradients
(`gradcheck`, `numeric_grad`), `sweep` moves the step size (the V-curve) and `culprit`
rechecks each op of a graph on its own to name a wrong rule. The package itself can be called
as `gradcheck`: `autograd.gradcheck` is this package, so `autograd.gradcheck.sweep(...)` works.
"""

from autograd._modules import make_callable
from autograd.check.culprit import CulpritReport, OpCheck, check_graph, locate_culprit
from autograd.check.fd import PrecisionWarning
from autograd.check.report import Entry, GradcheckReport, gradcheck, numeric_grad
from autograd.check.sweep import DEFAULT_EPS, Sweep, SweepRow, plot_sweep, sweep

__all__ = [
    "DEFAULT_EPS", "CulpritReport", "Entry", "GradcheckReport", "OpCheck", "PrecisionWarning",
    "Sweep", "SweepRow", "check_graph", "gradcheck", "locate_culprit", "numeric_grad",
    "plot_sweep", "sweep",
]

make_callable(__name__, gradcheck)
