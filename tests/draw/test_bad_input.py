"""Bad input to the pictures: the right kind of error, with a message naming it."""

from __future__ import annotations

from autograd import Value, draw, trace
from tests.misuse import Case, each_case, expect_one_line

CASES: list[Case] = [
    ("trace(None)", lambda: trace(None), TypeError, ("Value or a Tensor", "NoneType")),
    ("draw(str)", lambda: draw("a"), TypeError, ("str",)),
    ("draw rankdir", lambda: draw(Value(1.0) * 2, rankdir="XX"), ValueError,
     ("rankdir", "LR", "XX")),
    ("draw max_nodes", lambda: draw(Value(1.0) * 2, max_nodes=-1), ValueError, ("max_nodes",)),
]


@each_case(CASES)
def test_misuse_is_named(call, kind, words):
    expect_one_line(call, kind, words)
