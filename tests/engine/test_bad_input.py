"""Bad input to the engine's public API: the right kind of error, with a message naming the problem.

A table of hand-picked misuses (each with the exception class and words the message must hold),
then hypothesis properties: garbage given to Tensor() and Value() never becomes a silent object
array or a bare numpy error, and shape pairs that do not broadcast, or matrices that do not
align, are refused with both shapes named.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autograd import (
    Tensor,
    Value,
    detect_anomaly,
    grad,
    jacobian,
    primitive,
    value_and_grad,
    vjp,
)
from autograd.value import value_dot, value_sum
from tests.misuse import NUMPY_WORDS, Case, each_case, expect, expect_one_line

FEW = settings(max_examples=60, deadline=None)

def _leaf(*shape: int) -> Tensor:
    return Tensor(np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape), requires_grad=True)


CASES: list[Case] = [
    # Tensor construction
    ("Tensor(None)", lambda: Tensor(None), TypeError, ("real numbers", "NoneType")),
    ("Tensor(str)", lambda: Tensor("abc"), TypeError, ("real numbers", "str")),
    ("Tensor(ragged)", lambda: Tensor([[1, 2], [3]]), ValueError, ("rectangular",)),
    ("Tensor(complex)", lambda: Tensor([1 + 2j]), TypeError, ("real numbers", "complex")),
    ("Tensor(Value)", lambda: Tensor(Value(1.0)), TypeError, ("Value",)),
    ("Tensor(dtype=int)", lambda: Tensor([1.5], dtype=int), TypeError, ("float type",)),
    ("Tensor(dtype=foo)", lambda: Tensor([1.0], dtype="foo"), TypeError, ("float type", "foo")),
    ("Tensor(str, dtype)", lambda: Tensor("a", dtype=np.float64), TypeError, ("real numbers",)),
    # Value construction and operands
    ("Value(None)", lambda: Value(None), TypeError, ("real number", "NoneType")),
    ("Value(array)", lambda: Value(np.ones(2)), TypeError, ("real number", "ndarray")),
    ("Value + str", lambda: Value(1.0) + "a", TypeError, ("Value +", "str")),
    ("Value + Tensor", lambda: Value(1.0) + Tensor(1.0), TypeError, ("Value +", "Tensor")),
    ("value_dot lengths", lambda: value_dot([1.0], [1.0, 2.0]), ValueError, ("1 and 2",)),
    ("value_sum strings", lambda: value_sum(["a"]), TypeError, ("str",)),
    ("Value.backward(str)", lambda: Value(1.0).backward("a"), TypeError, ("number",)),
    ("log(-1) of a Value", lambda: Value(-1.0).log(), ValueError, ("non-positive", "-1.0")),
    ("(-1) ** 0.5 of a Value", lambda: Value(-1.0) ** 0.5, ValueError, ("not a real number",)),
    # Tensor operands and shapes
    ("Tensor + None", lambda: Tensor(1.0) + None, TypeError, ("Tensor +", "NoneType")),
    ("Tensor + str array", lambda: Tensor([1.0]) + np.array(["a"]), TypeError, ("ndarray",)),
    ("Tensor + object array", lambda: Tensor([1.0]) + np.array([None]), TypeError,
     ("ndarray",)),
    ("Tensor + ragged list", lambda: Tensor([1.0]) + [[1], [1, 2]], ValueError,
     ("rectangular",)),
    ("matmul of a scalar", lambda: Tensor(2.0) @ Tensor([1.0]), ValueError,
     ("at least one axis", "()", "(1,)")),
    ("log of negatives", lambda: Tensor([1.0, -2.0]).log(), ValueError, ("negative", "1 of 2")),
    ("reshape to 4x2", lambda: Tensor(np.ones(6)).reshape(4, 2), ValueError,
     ("(6,)", "(4, 2)")),
    ("reshape to a string", lambda: Tensor(np.ones(6)).reshape("a"), TypeError,
     ("integer sizes",)),
    ("sum over axis 5", lambda: Tensor(np.ones(6)).sum(axis=5), ValueError, ("axis 5",)),
    ("sum over axis 'a'", lambda: Tensor(np.ones(6)).sum(axis="a"), TypeError, ("axis",)),
    ("repeated axis", lambda: Tensor(np.ones((2, 2))).sum(axis=(0, 0)), ValueError,
     ("repeated",)),
    ("mean of nothing", lambda: Tensor(np.ones(0)).mean(), ValueError, ("no entries", "(0,)")),
    ("max of nothing", lambda: Tensor(np.ones(0)).max(), ValueError, ("empty",)),
    ("softmax of nothing", lambda: Tensor(np.ones((3, 0))).softmax(), ValueError,
     ("empty axis", "(3, 0)")),
    ("logsumexp of nothing", lambda: Tensor(np.ones(0)).logsumexp(), ValueError,
     ("empty axis",)),
    ("transpose out of range", lambda: Tensor(np.ones((2, 3))).transpose(0, 5), ValueError,
     ("(0, 5)", "not a permutation", "(2, 3)")),
    ("swapaxes out of range", lambda: Tensor(np.ones((2, 3))).swapaxes(0, 5), ValueError,
     ("axis 5",)),
    ("index out of range", lambda: Tensor(np.ones(3))[5], IndexError,
     ("5 is out of range", "(3,)")),
    ("index 1.5", lambda: Tensor(np.ones(3))[1.5], IndexError, ("1.5 is not an index", "(3,)")),
    ("too many indices", lambda: Tensor(np.ones(3))[0, 0], IndexError,
     ("(0, 0) is not an index", "(3,)")),
    ("Tensor as index", lambda: Tensor(np.ones(3))[Tensor([0.0])], IndexError,
     ("cannot be an index",)),
    ("item of many", lambda: Tensor(np.ones(3)).item(), ValueError, ("(3,)",)),
    ("backward without grad", lambda: Tensor(1.0).backward(), RuntimeError,
     ("does not require grad",)),
    ("backward of a vector", lambda: (_leaf(3) * 2).backward(), RuntimeError,
     ("shape (3,)", "grad=")),
    ("backward grad shape", lambda: (_leaf(3) * 2).backward(np.ones(4)), ValueError,
     ("(4,)", "(3,)")),
    ("backward grad string", lambda: (_leaf(3) * 2).backward("a"), TypeError,
     ("real numbers",)),
    ("requires_grad_ on a result", lambda: (_leaf(2) * 2).requires_grad_(), RuntimeError,
     ("leaf",)),
    # functional API
    ("grad(non-function)", lambda: grad(3), TypeError, ("grad", "function", "int")),
    ("grad argnum 'a'", lambda: grad(lambda x: x, argnum="a"), TypeError, ("argnum",)),
    ("grad argnum out of range", lambda: grad(lambda x: x, argnum=3)(1.0), IndexError,
     ("argnum 3", "1 arguments")),
    ("grad w.r.t. a string", lambda: grad(lambda x: x)("a"), TypeError, ("str",)),
    ("grad w.r.t. None", lambda: grad(lambda x: x)(None), TypeError, ("NoneType",)),
    ("grad of a vector", lambda: grad(lambda x: x * 2)(np.ones(3)), TypeError,
     ("one scalar output", "(3,)", "jacobian")),
    ("grad of a float", lambda: grad(lambda x: 3.0)(1.0), TypeError, ("float",)),
    ("value_and_grad(None)", lambda: value_and_grad(None), TypeError, ("function",)),
    ("vjp vector shape", lambda: vjp(lambda x: x * 2, np.ones(3))[1](np.ones(4)), ValueError,
     ("(4,)", "(3,)")),
    ("vjp returning a float", lambda: vjp(lambda x: 1.0, np.ones(3)), TypeError, ("float",)),
    ("jacobian(non-function)", lambda: jacobian(3), TypeError, ("jacobian", "function")),
    # user primitives
    ("primitive(3)", lambda: primitive(3), TypeError, ("function", "int")),
    ("defvjp(3)", lambda: primitive(lambda x: x).defvjp(3), TypeError, ("function",)),
    ("primitive without rule", lambda: primitive(np.sin, "mysin")(_leaf(2)), TypeError,
     ("mysin", "no rule", "defvjp")),
]


@each_case(CASES)
def test_misuse_is_named(call, kind, words):
    expect_one_line(call, kind, words)


def test_a_failed_op_leaves_anomaly_mode_off():
    with pytest.raises(FloatingPointError), detect_anomaly():
        _leaf(2) * np.inf
    assert np.isinf((_leaf(2) * np.inf).data).all()  # outside the block: no check


# ---- hypothesis: garbage in, a clear error out --------------------------------------------

_GARBAGE = st.one_of(
    st.none(), st.text(max_size=4), st.binary(max_size=4), st.complex_numbers(),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.sets(st.integers(), max_size=3), st.builds(object), st.just(lambda: 1),
    st.just(Ellipsis), st.just(np.datetime64("2020-01-01")),
    st.lists(st.one_of(st.text(max_size=2), st.none(), st.complex_numbers()), min_size=1,
             max_size=3),
)


def _ragged() -> st.SearchStrategy:
    row = st.lists(st.floats(-5, 5), min_size=1, max_size=3)
    return st.lists(row, min_size=2, max_size=3).filter(lambda r: len({len(x) for x in r}) > 1)


_ANYTHING = st.one_of(_GARBAGE, _ragged(), st.floats(allow_nan=False), st.integers(-9, 9),
                      st.booleans(), st.lists(st.floats(-5, 5), max_size=3),
                      st.builds(lambda n: np.arange(n, dtype=np.int8), st.integers(0, 3)))


@FEW
@given(data=_ANYTHING)
def test_tensor_of_anything_is_a_float_array_or_a_clear_error(data):
    try:
        t = Tensor(data)
    except (TypeError, ValueError) as e:
        assert str(e).startswith("Tensor "), str(e)
        assert not any(w in str(e) for w in NUMPY_WORDS), str(e)
        return
    assert t.dtype in (np.float64, np.float32)  # never an object, string or int array


@FEW
@given(data=st.one_of(_GARBAGE, _ragged(), st.floats(), st.integers(-9, 9)))
def test_value_of_anything_is_a_float_or_a_clear_error(data):
    try:
        v = Value(data)
    except TypeError as e:
        assert str(e).startswith("Value needs a real number"), str(e)
        return
    assert type(v.data) is float


@FEW
@given(data=_GARBAGE)
def test_garbage_operands_are_refused_by_name(data):
    t = Tensor([1.0, 2.0], requires_grad=True)
    for op in ("+", "*", "-", "/", "**", "@"):
        with pytest.raises((TypeError, ValueError)) as info:
            eval(f"t {op} data", {"t": t, "data": data})
        assert "Tensor" in str(info.value) or "shapes" in str(info.value), str(info.value)


@st.composite
def _clashing_shapes(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes that do not broadcast: equal-aligned axes where both sizes differ and
    neither is 1, with any extra leading axes on one side."""
    a = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    b = list(a)
    i = draw(st.integers(0, len(a) - 1))
    a[i] = draw(st.integers(2, 4))
    b[i] = draw(st.integers(2, 4).filter(lambda n: n != a[i]))
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    pair = (tuple(lead + a), tuple(b))
    return pair if draw(st.booleans()) else pair[::-1]


@FEW
@given(shapes=_clashing_shapes(), op=st.sampled_from(["+", "-", "*", "/", "**"]),
       raw=st.sampled_from(["none", "left", "right"]))
def test_shapes_that_do_not_broadcast_are_named(shapes, op, raw):
    a, b = shapes
    x = np.ones(a) if raw == "left" else Tensor(np.ones(a), requires_grad=True)
    y = np.ones(b) if raw == "right" else Tensor(np.ones(b), requires_grad=True)
    message = expect(lambda: eval(f"x {op} y", {"x": x, "y": y}), ValueError,
                     str(a), str(b), "broadcast")
    assert f"(in {op})" in message


@FEW
@given(m=st.integers(1, 4), k=st.integers(1, 4), j=st.integers(1, 4), n=st.integers(1, 4),
       batch=st.sampled_from([(), (2,)]))
def test_matrices_that_do_not_align_are_named(m, k, j, n, batch):
    assume(k != j)
    a, b = batch + (m, k), (j, n)
    x = Tensor(np.ones(a), requires_grad=True)
    expect(lambda: x @ Tensor(np.ones(b)), ValueError, str(a), str(b), "matmul")
    expect(lambda: np.ones(a) @ Tensor(np.ones(b)), ValueError, str(a), str(b))


@FEW
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple),
       axis=st.integers(-8, 8))
def test_an_axis_out_of_range_is_named_for_every_reduction(shape, axis):
    assume(not -len(shape) <= axis < len(shape))
    t = Tensor(np.ones(shape))
    for reduce in (t.sum, t.mean, t.max, t.logsumexp, t.softmax, t.log_softmax):
        expect(lambda reduce=reduce: reduce(axis=axis), ValueError, f"axis {axis}",
               f"{len(shape)} axes")

