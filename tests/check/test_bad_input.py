"""Bad input to the gradient checker: the right kind of error, with a message naming it."""

from __future__ import annotations

import numpy as np

from autograd import Tensor, gradcheck
from autograd.check import check_graph, numeric_grad, sweep
from tests.misuse import Case, each_case, expect_one_line

CASES: list[Case] = [
    ("gradcheck(non-function)", lambda: gradcheck(3, np.ones(2)), TypeError, ("function",)),
    ("gradcheck eps < 0", lambda: gradcheck(lambda x: x.sum(), np.ones(2), eps=-1), ValueError,
     ("eps",)),
    ("gradcheck NaN input", lambda: gradcheck(lambda x: x.sum(), np.array([np.nan])),
     ValueError, ("NaN",)),
    ("gradcheck empty input", lambda: gradcheck(lambda x: x.sum(), np.ones(0)), ValueError,
     ("empty",)),
    ("gradcheck no inputs", lambda: gradcheck(lambda: Tensor(1.0)), ValueError,
     ("at least one input",)),
    ("gradcheck names", lambda: gradcheck(lambda x: x.sum(), np.ones(2), names=["a", "b"]),
     ValueError, ("2 names", "1 inputs")),
    ("gradcheck f gives str", lambda: gradcheck(lambda x: "a", np.ones(2)), TypeError,
     ("str",)),
    ("numeric_grad eps 0", lambda: numeric_grad(lambda x: x.sum(), np.ones(2), eps=0),
     ValueError, ("eps",)),
    ("sweep no steps", lambda: sweep(lambda x: x.sum(), np.ones(2), eps=[]), ValueError,
     ("eps",)),
    ("sweep dtype", lambda: sweep(lambda x: x.sum(), np.ones(2), dtype="int8"), ValueError,
     ("float64", "float32", "int8")),
    ("check_graph(str)", lambda: check_graph("a"), TypeError, ("Value or Tensor", "str")),
]


@each_case(CASES)
def test_misuse_is_named(call, kind, words):
    expect_one_line(call, kind, words)
